"""security: operations tickets (运维工单): every legal move, every illegal one refused, directed dispatch,
re-dispatch, rating, the unrated-ticket job and who sees what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from support import create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.security import models
from subgraphs.security.app import definition
from subgraphs.security.domain import tickets as domain

HOSPITAL = "org-320102-h1"
OTHER_HOSPITAL = "org-320583-h2"


def caller(subject: str, *roles: str, org: str | None = None, region: str | None = None) -> Caller:
    return Caller(subject=subject, client_id=None, scopes=frozenset(), organization_id=org, region_code=region,
                  roles=roles, data_scope="OWN_ORG")


REQUESTER = caller("usr-req", "UNIT_SECURITY_ADMIN", org=HOSPITAL, region="320102")
STRANGER = caller("usr-other", "UNIT_SECURITY_ADMIN", org=OTHER_HOSPITAL, region="320583")
DISPATCHER = caller("usr-disp", "OPS_DISPATCHER")
ENG_A = caller("usr-eng-a", "OPS_ENGINEER")
ENG_B = caller("usr-eng-b", "OPS_ENGINEER")

TICKET = "id number status handler dispatchCount result rating comment allowedActions origin regionCode " \
         "events { action fromStatus toStatus actor handler reason rating }"


async def fresh(tmp_path: Path) -> Runtime:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    await only_staff(runtime, [("usr-eng-a", ["NETWORK"], "320100"), ("usr-eng-b", ["NETWORK", "SERVER"], "320500"),
                               ("usr-eng-c", ["DATABASE"], "320100")])
    return runtime


async def only_staff(runtime: Runtime, staff: list[tuple[str, list[str], str]]) -> None:
    """Retire the seeded staff and their open tickets so a test controls who is recommended."""
    async with runtime.context().sessions() as session, session.begin():
        await session.execute(update(models.OpsStaff).values(active=False))
        await session.execute(update(models.OpsTicket).where(models.OpsTicket.status.in_(
            ["DISPATCHED", "IN_PROGRESS"])).values(handler="usr-retired"))
        session.add_all([models.OpsStaff(user_id=u, name=u, skills=s, region_code=r, active=True)
                         for u, s, r in staff])


async def request(runtime: Runtime, fault: str = "NETWORK") -> dict[str, Any]:
    data = await execute(runtime, f'mutation {{ requestTicket(faultType: {fault}, description: "三楼断网") '
                                  f'{{ {TICKET} }} }}', caller=REQUESTER)
    return dict(data["requestTicket"])


async def act(runtime: Runtime, mutation: str, id: str, who: Caller, args: str = "") -> dict[str, Any]:
    data = await execute(runtime, f'mutation {{ {mutation}(id: "{id}"{args}) {{ {TICKET} }} }}', caller=who)
    return dict(data[mutation])


async def codes(runtime: Runtime, mutation: str, id: str, who: Caller, args: str = "") -> list[str]:
    errors = await errors_of(runtime, f'mutation {{ {mutation}(id: "{id}"{args}) {{ id }} }}', caller=who)
    return [e.extensions["code"] for e in errors]


async def topics(runtime: Runtime, ticket_id: str) -> list[str]:
    async with runtime.context().sessions() as session:
        rows = await session.scalars(select(models.OutboxEvent).order_by(models.OutboxEvent.created_at))
        return [r.topic for r in rows if r.payload.get("ticketId") == ticket_id]


async def test_request_dispatch_handle_rate_close(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    t = await request(runtime)
    assert t["status"] == "SUBMITTED" and t["origin"] == "REQUESTED" and t["regionCode"] == "320100"
    assert set(t["allowedActions"]) == {"REJECT", "DISPATCH"}
    # No handler named: the recommendation (NETWORK skill, no load, same city) is used.
    t = await act(runtime, "dispatchTicket", t["id"], DISPATCHER)
    assert (t["status"], t["handler"], t["dispatchCount"]) == ("DISPATCHED", "usr-eng-a", 1)
    t = await act(runtime, "acceptTicket", t["id"], ENG_A)
    assert t["status"] == "IN_PROGRESS"
    assert await codes(runtime, "resolveTicket", t["id"], ENG_A, ', result: " "') == ["BAD_USER_INPUT"]
    t = await act(runtime, "resolveTicket", t["id"], ENG_A, ', result: "更换交换机端口"')
    assert (t["status"], t["result"]) == ("RESOLVED", "更换交换机端口")
    t = await act(runtime, "rateTicket", t["id"], REQUESTER, ', rating: 5, comment: "很快"')
    assert (t["status"], t["rating"], t["comment"]) == ("EVALUATED", 5, "很快")
    t = await act(runtime, "closeTicket", t["id"], DISPATCHER)
    assert t["status"] == "CLOSED" and t["allowedActions"] == []
    assert [e["action"] for e in t["events"]] == ["SUBMITTED", "DISPATCH", "ACCEPT", "RESOLVE", "EVALUATE", "CLOSE"]
    assert t["events"][-1]["actor"] == "usr-disp" and t["events"][4]["rating"] == 5
    assert await topics(runtime, t["id"]) == [f"security.ticket.{a}" for a in
                                              ("submitted", "dispatch", "accept", "resolve", "evaluate", "close")]


async def test_centre_dispatch_reject_reopen(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    data = await execute(runtime, 'mutation { createDispatchedTicket(input: {requester: "usr-req", '
                                  f'orgId: "{HOSPITAL}", '
                                  'regionCode: "320102", faultType: SERVER, description: "服务器宕机", '
                                  f'handler: "usr-eng-b"}}) {{ {TICKET} }} }}', caller=DISPATCHER)
    t = data["createDispatchedTicket"]
    assert (t["origin"], t["status"], t["handler"]) == ("CENTRE", "DISPATCHED", "usr-eng-b")
    assert [e["action"] for e in t["events"]] == ["SUBMITTED", "DISPATCH"]
    # Only dispatchers file for others.
    errors = await errors_of(runtime, 'mutation { createDispatchedTicket(input: {requester: "x", orgId: "o", '
                                      'faultType: SERVER, description: "d"}) { id } }', caller=REQUESTER)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    # 审核驳回 with a reason.
    rejected = await request(runtime)
    assert await codes(runtime, "rejectTicket", rejected["id"], DISPATCHER, ', reason: ""') == ["BAD_USER_INPUT"]
    r = await act(runtime, "rejectTicket", rejected["id"], DISPATCHER, ', reason: "非运维范围"')
    assert r["status"] == "REJECTED" and r["events"][-1]["reason"] == "非运维范围"
    # The requester says it is not fixed: back to the handler, who resolves again.
    await act(runtime, "acceptTicket", t["id"], ENG_B)
    await act(runtime, "resolveTicket", t["id"], ENG_B, ', result: "重启"')
    assert await codes(runtime, "reopenTicket", t["id"], REQUESTER, ', reason: ""') == ["BAD_USER_INPUT"]
    t = await act(runtime, "reopenTicket", t["id"], REQUESTER, ', reason: "又宕机了"')
    assert t["status"] == "IN_PROGRESS" and t["handler"] == "usr-eng-b"
    t = await act(runtime, "resolveTicket", t["id"], ENG_B, ', result: "更换电源"')
    assert t["status"] == "RESOLVED" and t["result"] == "更换电源"


async def test_redispatch_needs_reason_and_another_handler(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    t = await request(runtime)
    t = await act(runtime, "dispatchTicket", t["id"], DISPATCHER, ', handler: "usr-eng-a"')
    assert await codes(runtime, "redispatchTicket", t["id"], DISPATCHER, ', reason: "  "') == ["BAD_USER_INPUT"]
    assert await codes(runtime, "redispatchTicket", t["id"], DISPATCHER,
                       ', reason: "请假", handler: "usr-eng-a"') == ["BAD_USER_INPUT"]
    assert await codes(runtime, "redispatchTicket", t["id"], DISPATCHER,
                       ', reason: "请假", handler: "usr-nobody"') == ["BAD_USER_INPUT"]
    # Without a name the next recommendation other than the current handler; any skill when named.
    t = await act(runtime, "redispatchTicket", t["id"], DISPATCHER, ', reason: "原处理人请假"')
    assert (t["status"], t["handler"], t["dispatchCount"]) == ("DISPATCHED", "usr-eng-b", 2)
    last = t["events"][-1]
    assert (last["action"], last["reason"], last["handler"]) == ("REDISPATCH", "原处理人请假", "usr-eng-b")
    await act(runtime, "acceptTicket", t["id"], ENG_B)
    t = await act(runtime, "redispatchTicket", t["id"], DISPATCHER, ', reason: "需要数据库支持", handler: "usr-eng-c"')
    assert (t["status"], t["handler"], t["dispatchCount"]) == ("DISPATCHED", "usr-eng-c", 3)
    # The former handler no longer sees it, let alone acts on it.
    assert await codes(runtime, "acceptTicket", t["id"], ENG_B) == ["NOT_FOUND"]


async def test_every_illegal_move_is_refused_with_the_allowed_actions(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    t = await request(runtime)
    async with runtime.context().sessions() as session, session.begin():
        row = await session.get(models.OpsTicket, t["id"])
        assert row is not None
        now = datetime.now(UTC)
        refused = 0
        for status in domain.Status:
            for action in domain.Action:
                if (status, action) in domain.TRANSITIONS:
                    continue
                row.status = status.value
                with pytest.raises(Exception) as info:
                    await domain.transition(session, None, row, action, domain.Step(reason="r", rating=5), now)
                ext = info.value.extensions  # type: ignore[attr-defined]
                assert ext["code"] == "INVALID_STATE" and ext["status"] == status.value
                assert ext["allowedActions"] == domain.allowed_actions(status.value)
                refused += 1
        assert refused == len(domain.Status) * len(domain.Action) - len(domain.TRANSITIONS)
        await session.rollback()
    # Through the API too: a submitted ticket cannot be accepted, rated or closed.
    for mutation, args in (("acceptTicket", ""), ("rateTicket", ", rating: 5"), ("closeTicket", "")):
        errors = await errors_of(runtime, f'mutation {{ {mutation}(id: "{t["id"]}"{args}) {{ id }} }}',
                                 caller=DISPATCHER if mutation != "rateTicket" else REQUESTER)
        assert errors[0].extensions["code"] == "INVALID_STATE"
        assert errors[0].extensions["allowedActions"] == ["REJECT", "DISPATCH"]


async def test_recommendation_by_skill_load_and_region(tmp_path: Path) -> None:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    await only_staff(runtime, [("usr-n-sz", ["NETWORK"], "320500"), ("usr-n-nj", ["NETWORK", "OTHER"], "320100"),
                               ("usr-n-busy", ["NETWORK"], "320100"), ("usr-db", ["DATABASE"], "320100")])
    async with runtime.context().sessions() as session, session.begin():
        session.add(models.OpsStaff(user_id="usr-n-off", name="off", skills=["NETWORK"], region_code="320100",
                                    active=False))
        now = datetime.now(UTC)
        session.add(models.OpsTicket(id="tkt-load", number="YWLOAD", requester="u", org_id="o", fault_type="NETWORK",
                                     description="d", origin="REQUESTED", status="IN_PROGRESS", handler="usr-n-busy",
                                     created_at=now, updated_at=now))
    data = await execute(runtime, '{ recommendHandlers(faultType: NETWORK, regionCode: "320102") '
                                  '{ userId openTickets skills } }', caller=DISPATCHER)
    ranked = [s["userId"] for s in data["recommendHandlers"]]
    # Skilled and active only; idle before busy; among the idle, the requester's city (Nanjing) first.
    assert ranked == ["usr-n-nj", "usr-n-sz", "usr-n-busy"]
    assert data["recommendHandlers"][2]["openTickets"] == 1
    data = await execute(runtime, '{ recommendHandlers(faultType: NETWORK, regionCode: "320506") { userId } }',
                         caller=DISPATCHER)
    assert [s["userId"] for s in data["recommendHandlers"]][:2] == ["usr-n-sz", "usr-n-nj"]
    errors = await errors_of(runtime, "{ recommendHandlers(faultType: NETWORK) { userId } }", caller=REQUESTER)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    data = await execute(runtime, "{ opsStaff(faultType: DATABASE) { userId } }", caller=DISPATCHER)
    assert [s["userId"] for s in data["opsStaff"]] == ["usr-db"]


async def test_rating_rules_and_unrated_tickets_close_after_seven_days(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    t = await request(runtime)
    await act(runtime, "dispatchTicket", t["id"], DISPATCHER)
    await act(runtime, "acceptTicket", t["id"], ENG_A)
    await act(runtime, "resolveTicket", t["id"], ENG_A, ', result: "ok"')
    for stars in (0, 6):
        assert await codes(runtime, "rateTicket", t["id"], REQUESTER, f", rating: {stars}") == ["BAD_USER_INPUT"]
    # Only the requester rates; the handler cannot rate their own work.
    assert await codes(runtime, "rateTicket", t["id"], ENG_A, ", rating: 5") == ["FORBIDDEN"]
    async with runtime.context().sessions() as session, session.begin():
        resolved = datetime.now(UTC) - timedelta(days=6)
        await session.execute(update(models.OpsTicket).where(models.OpsTicket.id == t["id"])
                              .values(resolved_at=resolved))
        await domain.close_unrated(session, resolved + timedelta(days=6, hours=23))
        row = await session.get(models.OpsTicket, t["id"])
        assert row is not None and row.status == "RESOLVED"
        assert await domain.close_unrated(session, resolved + timedelta(days=7, seconds=1)) >= 1
    data = await execute(runtime, f'{{ opsTicket(id: "{t["id"]}") {{ {TICKET} closedAt }} }}', caller=REQUESTER)
    closed = data["opsTicket"]
    assert closed["status"] == "CLOSED" and closed["rating"] is None and closed["closedAt"]
    assert closed["events"][-1]["action"] == "EXPIRE" and closed["events"][-1]["actor"] == "system"
    assert await codes(runtime, "rateTicket", t["id"], REQUESTER, ", rating: 4") == ["INVALID_STATE"]


async def test_who_sees_and_does_what(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    t = await request(runtime)
    # The requester sees the ticket but does not dispatch it.
    assert await codes(runtime, "dispatchTicket", t["id"], REQUESTER) == ["FORBIDDEN"]
    # Another hospital does not even see it.
    assert await codes(runtime, "dispatchTicket", t["id"], STRANGER) == ["NOT_FOUND"]
    data = await execute(runtime, f'{{ opsTicket(id: "{t["id"]}") {{ id }} }}', caller=STRANGER)
    assert data["opsTicket"] is None
    await act(runtime, "dispatchTicket", t["id"], DISPATCHER, ', handler: "usr-eng-a"')
    # Only the assigned engineer accepts.
    assert await codes(runtime, "acceptTicket", t["id"], ENG_B) == ["NOT_FOUND"]
    assert await codes(runtime, "acceptTicket", t["id"], caller("usr-eng-a")) == ["FORBIDDEN"]
    mine = await execute(runtime, "{ opsTickets(first: 100) { edges { node { id handler orgId } } } }", caller=ENG_A)
    assert [e["node"]["id"] for e in mine["opsTickets"]["edges"]] == [t["id"]]
    own = await execute(runtime, "{ opsTickets(first: 100) { edges { node { orgId } } } }", caller=REQUESTER)
    assert {e["node"]["orgId"] for e in own["opsTickets"]["edges"]} == {HOSPITAL}
    everything = await execute(runtime, "{ opsTickets(first: 100) { edges { node { orgId } } } }",
                               caller=DISPATCHER)
    assert len({e["node"]["orgId"] for e in everything["opsTickets"]["edges"]}) > 1
    anonymous_user = Caller(subject=None, client_id=None, scopes=frozenset())
    errors = await errors_of(runtime, 'mutation { requestTicket(faultType: OTHER, description: "x") { id } }',
                             caller=anonymous_user)
    assert errors[0].extensions["code"] == "FORBIDDEN"


async def test_seeded_tickets_follow_the_state_machine(sqlite_runtime: Any) -> None:
    runtime: Runtime = await sqlite_runtime(definition)
    async with runtime.context().sessions() as session:
        tickets = {t.id: t for t in await session.scalars(select(models.OpsTicket))}
        events = list(await session.scalars(select(models.OpsTicketEvent).order_by(models.OpsTicketEvent.id)))
        staff = list(await session.scalars(select(models.OpsStaff)))
    assert len(staff) >= 25 and len(tickets) >= 200
    assert {t.status for t in tickets.values()} >= {"CLOSED", "REJECTED", "RESOLVED"}
    last: dict[str, str] = {}
    for e in events:
        if e.action == "SUBMITTED":
            last[e.ticket_id] = e.to_status
            continue
        status = last[e.ticket_id]
        assert domain.TRANSITIONS[(domain.Status(status), domain.Action(e.action))] == e.to_status
        if e.action == "REDISPATCH":
            assert e.detail["reason"] and e.detail["handler"] != e.detail["previousHandler"]
        last[e.ticket_id] = e.to_status
    assert all(tickets[i].status == s for i, s in last.items())
    ratings = [t.rating for t in tickets.values() if t.rating]
    assert sum(r >= 4 for r in ratings) > 0.7 * len(ratings)


@pytest.mark.postgres
async def test_ticket_flow_on_postgres() -> None:
    url = await create_pg_database("jshealth_sec_tickets")
    try:
        runtime = await make_runtime(definition, url)
        try:
            await only_staff(runtime, [("usr-eng-a", ["NETWORK"], "320100")])
            t = await request(runtime)
            t = await act(runtime, "dispatchTicket", t["id"], DISPATCHER)
            t = await act(runtime, "acceptTicket", t["id"], ENG_A)
            t = await act(runtime, "resolveTicket", t["id"], ENG_A, ', result: "ok"')
            t = await act(runtime, "rateTicket", t["id"], REQUESTER, ", rating: 4")
            t = await act(runtime, "closeTicket", t["id"], DISPATCHER)
            assert t["status"] == "CLOSED" and len(t["events"]) == 6
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)
