"""调度 between regions through population's GraphQL API: 调出 (push) to the receiver's 待处理任务 inbox and
its confirmation, rejection or withdrawal; 调入 (pull) completing at once with a notice at the origin; "查无
此人" for absent and out-of-region cases alike; the guards (open orders, dead cases, targets); the history
views and the pending-task tally."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from identity_callers import caller_of
from sqlalchemy import select
from support import TEST_SEED, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.caller import Caller
from subgraphs.common.validators import make_resident_id
from subgraphs.population import models
from subgraphs.population.app import definition
from subgraphs.population.domain import tally
from subgraphs.population.domain.changes import person_written, snapshot

SZ_TOWN, SZ_TOWN_2, SZ_CITY = "320505001", "320506001", "320500"
NJ_TOWN, NJ_COUNTY, NJ_CITY = "320102001", "320102", "320100"
SZ_TOWN_USER = caller_of("u-sz-town", region=SZ_TOWN, data_scope="CROSS_ORG")
SZ_TOWN_2_USER = caller_of("u-sz-town-2", region=SZ_TOWN_2, data_scope="CROSS_ORG")
SZ_CITY_USER = caller_of("u-sz-city", region=SZ_CITY, data_scope="CROSS_ORG")
NJ_TOWN_USER = caller_of("u-nj-town", region=NJ_TOWN, data_scope="CROSS_ORG")
NJ_CITY_USER = caller_of("u-nj-city", region=NJ_CITY, data_scope="CROSS_ORG")

_numbers = itertools.count(1)


@pytest.fixture(scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    path: Path = tmp_path_factory.mktemp("dispatch") / "population.db"
    rt = await make_runtime(definition, f"sqlite+aiosqlite:///{path}",
                            seed_options=SeedOptions(seed=TEST_SEED, persons=0))
    yield rt
    await rt.engine.dispose()


async def new_person(runtime: Runtime, managed_at: str) -> models.Person:
    n = next(_numbers)
    born = date(1960, 1, 1) + timedelta(days=41 * n)
    id_number = make_resident_id(managed_at[:6], born, 2 * (n % 400) + 1)
    row = models.Person(uid=f"T{uuid.uuid4().hex[:16].upper()}", person_no=f"TP{n:08d}", identity_code=id_number,
                        id_number=id_number, name="陈晓明", sex="MALE", birth_date=born,
                        household_region_code=managed_at, residence_region_code=managed_at,
                        management_region_code=managed_at, created_at=datetime.now(UTC))
    async with runtime.sessions() as session, session.begin():
        await person_written(session, row, actor="test", action="CREATE", before=None)
    return row


ORDER = """id direction scope status contact contactPhone reason decisionComment originAcknowledgedAt
  person { personNo name idNumber case { uid } } originRegion { code } targetRegion { code }
  events { action fromStatus toStatus comment }"""
PUSH = f"mutation($input: PushDispatchInput!) {{ pushDispatch(input: $input) {{ {ORDER} }} }}"
PULL = f"mutation($input: PullDispatchInput!) {{ pullDispatch(input: $input) {{ {ORDER} }} }}"
CONFIRM = f"mutation($id: ID!) {{ confirmDispatch(id: $id) {{ {ORDER} }} }}"
REJECT = f"mutation($id: ID!, $reason: String!) {{ rejectDispatch(id: $id, reason: $reason) {{ {ORDER} }} }}"
CANCEL = f"mutation($id: ID!) {{ cancelDispatch(id: $id, reason: \"填错了\") {{ {ORDER} }} }}"
ACKNOWLEDGE = f"mutation($id: ID!) {{ acknowledgeDispatchNotice(id: $id) {{ {ORDER} }} }}"
INBOX = f"query {{ pendingDispatchTasks(first: 100) {{ nodes {{ {ORDER} }} }} }}"
NOTICES = "query { dispatchNotices(first: 100) { nodes { id } } }"
HISTORY = """query($side: DispatchSide!, $locality: DispatchLocality!, $from: Date, $to: Date, $idNumber: String) {
  dispatchHistory(side: $side, locality: $locality, from: $from, to: $to, idNumber: $idNumber, first: 100) {
    nodes { id status direction createdAt } } }"""
PERSON = "query($uid: ID!) { person(uid: $uid) { uid managementRegion { code } dispatchOrders { id status } } }"


def form(person: models.Person | str, target: str | None = None, **more: Any) -> dict[str, Any]:
    id_number = person if isinstance(person, str) else person.id_number
    values: dict[str, Any] = {"idNumber": id_number, "contact": "周主任", "contactPhone": "0512-65230000",
                              "reason": "长期居住地变更", "address": "虎丘区测试街道1号", **more}
    if target is not None:
        values["targetRegionCode"] = target
    return {"input": values}


def code_of(error: Any) -> str:
    return str(error.extensions["code"])


async def ids_in(runtime: Runtime, query: str, caller: Caller | None, variables: dict[str, Any] | None = None
                 ) -> list[str]:
    data = await execute(runtime, query, variables, caller=caller)
    return [node["id"] for node in next(iter(data.values()))["nodes"]]


async def pending_at(runtime: Runtime, region: str) -> int:
    async with runtime.sessions() as session:
        row = await session.get(models.WorkTally, {"region_code": region, "kind": tally.DISPATCH_PENDING,
                                                   "detail": ""})
    return row.count if row else 0


async def assert_tallies_match_rebuild(runtime: Runtime) -> None:
    """The live pending-dispatch tally equals a recount from the orders (the recount is rolled back)."""
    async def rows(session: Any) -> set[tuple[Any, ...]]:
        W = models.WorkTally
        return set((await session.execute(select(W.region_code, W.count).where(
            W.kind == tally.DISPATCH_PENDING, W.count != 0))).all())

    async with runtime.sessions() as session:
        transaction = await session.begin()
        live = await rows(session)
        await tally.rebuild(session)
        fresh = await rows(session)
        await transaction.rollback()
    assert live == fresh


async def managed_at(runtime: Runtime, uid: str) -> str:
    async with runtime.sessions() as session:
        row = await session.get(models.Person, uid)
    assert row is not None
    return row.management_region_code


async def test_push_lands_in_the_targets_inbox_and_confirming_moves_the_case(runtime: Runtime) -> None:
    person = await new_person(runtime, SZ_TOWN)
    pending_before = await pending_at(runtime, NJ_CITY)
    order = (await execute(runtime, PUSH, form(person, NJ_TOWN), caller=SZ_TOWN_USER))["pushDispatch"]
    assert (order["direction"], order["scope"], order["status"]) == ("PUSH", "WITHIN_PROVINCE", "PENDING")
    assert (order["originRegion"], order["targetRegion"]) == ({"code": SZ_TOWN}, {"code": NJ_TOWN})
    assert await pending_at(runtime, NJ_CITY) == pending_before + 1
    await assert_tallies_match_rebuild(runtime)

    # The receiver's inbox shows the task with the person masked; the origin's inbox does not.
    inbox = (await execute(runtime, INBOX, caller=NJ_TOWN_USER))["pendingDispatchTasks"]["nodes"]
    [task] = [t for t in inbox if t["id"] == order["id"]]
    assert person.id_number is not None
    assert task["person"] == {"personNo": person.person_no, "name": "陈**", "case": None,
                              "idNumber": f"{person.id_number[:6]}********{person.id_number[-4:]}"}
    assert (task["contact"], task["contactPhone"], task["reason"]) == ("周主任", "0512-65230000", "长期居住地变更")
    assert order["id"] not in await ids_in(runtime, INBOX, SZ_TOWN_USER)
    # The city above sees the task but only township-level users handle it.
    assert order["id"] in await ids_in(runtime, INBOX, NJ_CITY_USER)
    [error] = await errors_of(runtime, CONFIRM, {"id": order["id"]}, caller=NJ_CITY_USER)
    assert code_of(error) == "FORBIDDEN"
    [error] = await errors_of(runtime, CONFIRM, {"id": order["id"]}, caller=SZ_TOWN_USER)
    assert code_of(error) == "FORBIDDEN"

    confirmed = (await execute(runtime, CONFIRM, {"id": order["id"]}, caller=NJ_TOWN_USER))["confirmDispatch"]
    assert confirmed["status"] == "CONFIRMED"
    assert [(e["action"], e["fromStatus"], e["toStatus"]) for e in confirmed["events"]] == [
        ("PUSHED", None, "PENDING"), ("CONFIRMED", "PENDING", "CONFIRMED")]
    assert confirmed["person"]["case"] == {"uid": person.uid}
    assert await managed_at(runtime, person.uid) == NJ_TOWN
    assert await pending_at(runtime, NJ_CITY) == pending_before
    await assert_tallies_match_rebuild(runtime)

    # The origin's city no longer sees the case; the target's does, with its dispatch history.
    assert (await execute(runtime, PERSON, {"uid": person.uid}, caller=SZ_CITY_USER))["person"] is None
    shown = (await execute(runtime, PERSON, {"uid": person.uid}, caller=NJ_CITY_USER))["person"]
    assert shown["managementRegion"] == {"code": NJ_TOWN}
    assert shown["dispatchOrders"] == [{"id": order["id"], "status": "CONFIRMED"}]
    async with runtime.sessions() as session:
        actions = (await session.scalars(select(models.PersonHistory.action).where(
            models.PersonHistory.person_uid == person.uid).order_by(models.PersonHistory.at))).all()
    assert actions == ["CREATE", "DISPATCH"]

    # Both sides keep it in their history: 本地调出历史 at the origin, 异地调出历史 (with status) at the target.
    today = datetime.now(timezone(timedelta(hours=8))).date().isoformat()
    outgoing = {"side": "OUTGOING", "locality": "LOCAL", "idNumber": person.id_number}
    assert await ids_in(runtime, HISTORY, SZ_TOWN_USER, outgoing) == [order["id"]]
    assert await ids_in(runtime, HISTORY, NJ_TOWN_USER, {"side": "INCOMING", "locality": "OTHER"}) == [order["id"]]
    assert await ids_in(runtime, HISTORY, NJ_TOWN_USER, {"side": "INCOMING", "locality": "LOCAL"}) == []
    assert await ids_in(runtime, HISTORY, SZ_TOWN_USER, {**outgoing, "from": "2000-01-01", "to": "2000-12-31"}) == []
    assert order["id"] in await ids_in(runtime, HISTORY, SZ_TOWN_USER, {**outgoing, "to": today})
    assert await ids_in(runtime, HISTORY, NJ_CITY_USER, outgoing) == []


async def test_the_receiver_rejects_and_the_origin_cancels(runtime: Runtime) -> None:
    person = await new_person(runtime, SZ_TOWN)
    order = (await execute(runtime, PUSH, form(person, SZ_TOWN_2), caller=SZ_TOWN_USER))["pushDispatch"]
    assert order["scope"] == "WITHIN_PROVINCE"  # 320505 and 320506: two counties of one city

    [error] = await errors_of(runtime, REJECT, {"id": order["id"], "reason": " "}, caller=SZ_TOWN_2_USER)
    assert code_of(error) == "BAD_USER_INPUT"
    rejected = (await execute(runtime, REJECT, {"id": order["id"], "reason": "查无此户，无法接收"},
                              caller=SZ_TOWN_2_USER))["rejectDispatch"]
    assert (rejected["status"], rejected["decisionComment"]) == ("REJECTED", "查无此户，无法接收")
    assert await managed_at(runtime, person.uid) == SZ_TOWN
    [error] = await errors_of(runtime, CONFIRM, {"id": order["id"]}, caller=SZ_TOWN_2_USER)
    assert (code_of(error), error.extensions["status"]) == ("INVALID_STATE", "REJECTED")

    again = (await execute(runtime, PUSH, form(person, SZ_TOWN_2), caller=SZ_TOWN_USER))["pushDispatch"]
    [error] = await errors_of(runtime, CANCEL, {"id": again["id"]}, caller=SZ_TOWN_2_USER)
    assert code_of(error) == "FORBIDDEN"  # the receiver rejects, it does not cancel
    cancelled = (await execute(runtime, CANCEL, {"id": again["id"]}, caller=SZ_TOWN_USER))["cancelDispatch"]
    assert cancelled["status"] == "CANCELLED"
    assert again["id"] not in await ids_in(runtime, INBOX, SZ_TOWN_2_USER)
    [error] = await errors_of(runtime, CANCEL, {"id": again["id"]}, caller=SZ_TOWN_USER)
    assert (code_of(error), error.extensions["status"]) == ("INVALID_STATE", "CANCELLED")
    # Another region neither sees nor touches the order.
    [error] = await errors_of(runtime, CONFIRM, {"id": again["id"]}, caller=NJ_TOWN_USER)
    assert code_of(error) == "NOT_FOUND"
    await assert_tallies_match_rebuild(runtime)


async def test_pull_completes_at_once_with_a_notice_at_the_origin(runtime: Runtime) -> None:
    person = await new_person(runtime, SZ_TOWN)
    order = (await execute(runtime, PULL, form(person), caller=NJ_TOWN_USER))["pullDispatch"]
    assert (order["direction"], order["status"], order["targetRegion"]) == ("PULL", "COMPLETED", {"code": NJ_TOWN})
    assert order["person"]["case"] == {"uid": person.uid}  # it is the receiver's case now
    assert await managed_at(runtime, person.uid) == NJ_TOWN

    assert order["id"] in await ids_in(runtime, NOTICES, SZ_TOWN_USER)
    assert order["id"] in await ids_in(runtime, NOTICES, SZ_CITY_USER)
    assert order["id"] not in await ids_in(runtime, NOTICES, NJ_TOWN_USER)
    [error] = await errors_of(runtime, ACKNOWLEDGE, {"id": order["id"]}, caller=NJ_TOWN_USER)
    assert code_of(error) == "FORBIDDEN"
    seen = (await execute(runtime, ACKNOWLEDGE, {"id": order["id"]}, caller=SZ_TOWN_USER))["acknowledgeDispatchNotice"]
    assert seen["originAcknowledgedAt"] is not None
    assert [e["action"] for e in seen["events"]] == ["PULLED", "ACKNOWLEDGED"]
    assert order["id"] not in await ids_in(runtime, NOTICES, SZ_TOWN_USER)

    # 本地调入历史 at the receiver, 异地调入历史 at the origin.
    assert order["id"] in await ids_in(runtime, HISTORY, NJ_TOWN_USER, {"side": "INCOMING", "locality": "LOCAL"})
    assert order["id"] in await ids_in(runtime, HISTORY, SZ_TOWN_USER, {"side": "OUTGOING", "locality": "OTHER"})
    assert order["id"] not in await ids_in(runtime, HISTORY, SZ_TOWN_USER,
                                           {"side": "OUTGOING", "locality": "LOCAL"})

    # Pulling a case already managed here is the tender's disabled 调入 button.
    [error] = await errors_of(runtime, PULL, form(person), caller=NJ_TOWN_USER)
    assert (code_of(error), error.extensions["reason"]) == ("INVALID_STATE", "ALREADY_MANAGED_HERE")
    # Above township level the receiving township is named; the province operator (anonymous here) too.
    [error] = await errors_of(runtime, PULL, form(person), caller=SZ_CITY_USER)
    assert (code_of(error), error.extensions["field"]) == ("BAD_USER_INPUT", "targetRegionCode")
    [error] = await errors_of(runtime, PULL, form(person, NJ_TOWN), caller=SZ_CITY_USER)
    assert code_of(error) == "FORBIDDEN"
    back = (await execute(runtime, PULL, form(person, SZ_TOWN)))["pullDispatch"]
    assert (back["originRegion"], back["targetRegion"]) == ({"code": NJ_TOWN}, {"code": SZ_TOWN})
    await assert_tallies_match_rebuild(runtime)


async def test_no_such_person_whether_absent_or_managed_elsewhere(runtime: Runtime) -> None:
    person = await new_person(runtime, SZ_TOWN)
    absent = make_resident_id("320505", date(1970, 3, 3), 999)
    messages = []
    for variables, caller in ((form(person, NJ_TOWN), NJ_TOWN_USER), (form(person, NJ_TOWN), SZ_TOWN_2_USER),
                              (form(absent, NJ_TOWN), SZ_TOWN_USER)):
        [error] = await errors_of(runtime, PUSH, variables, caller=caller)
        messages.append((code_of(error), error.message, sorted(error.extensions)))
    assert messages == [("NOT_FOUND", "查无此人", ["code"])] * 3
    [error] = await errors_of(runtime, PULL, form(absent), caller=NJ_TOWN_USER)
    assert (code_of(error), error.message) == ("NOT_FOUND", "查无此人")
    [error] = await errors_of(runtime, PUSH, form("12345", NJ_TOWN), caller=SZ_TOWN_USER)
    assert (code_of(error), error.extensions["field"]) == ("BAD_USER_INPUT", "idNumber")


async def test_guards_open_orders_dead_cases_and_targets(runtime: Runtime) -> None:
    person = await new_person(runtime, SZ_TOWN)
    for target in (NJ_COUNTY, SZ_TOWN, "320505999"):
        [error] = await errors_of(runtime, PUSH, form(person, target), caller=SZ_TOWN_USER)
        assert (code_of(error), error.extensions["field"]) == ("BAD_USER_INPUT", "targetRegionCode"), target
    [error] = await errors_of(runtime, PUSH, form(person, NJ_TOWN, contactPhone="电话"), caller=SZ_TOWN_USER)
    assert (code_of(error), error.extensions["field"]) == ("BAD_USER_INPUT", "contactPhone")

    order = (await execute(runtime, PUSH, form(person, NJ_TOWN), caller=SZ_TOWN_USER))["pushDispatch"]
    [error] = await errors_of(runtime, PUSH, form(person, SZ_TOWN_2), caller=SZ_TOWN_USER)
    assert (code_of(error), error.extensions["orderId"]) == ("CONFLICT", order["id"])
    [error] = await errors_of(runtime, PULL, form(person), caller=SZ_TOWN_2_USER)
    assert code_of(error) == "CONFLICT"

    # A death synced while the order pends cancels it; a dead case is not dispatched.
    report = {"input": {"source": "COMMUNITY", "idNumber": person.id_number, "name": person.name,
                        "deathDate": "2026-01-05"}}
    record_id = (await execute(runtime, "mutation($input: ReportDeathInput!) { reportDeath(input: $input) "
                                        "{ record { id } } }", report))["reportDeath"]["record"]["id"]
    for step in ("claimDeathRecord(id: $id) { id }", "processDeathRecord(id: $id, feedback: \"已核实\") { id }"):
        await execute(runtime, f"mutation($id: ID!) {{ {step} }}", {"id": record_id}, caller=SZ_TOWN_USER)
    synced = await execute(runtime, "mutation($id: ID!) { syncDeathRecord(id: $id) { dispatchCancelled } }",
                           {"id": record_id}, caller=SZ_TOWN_USER)
    assert synced["syncDeathRecord"]["dispatchCancelled"] == 1
    assert order["id"] not in await ids_in(runtime, INBOX, NJ_TOWN_USER)
    [error] = await errors_of(runtime, PUSH, form(person, NJ_TOWN), caller=SZ_TOWN_USER)
    assert (code_of(error), error.extensions["status"]) == ("INVALID_STATE", "DEAD")

    cancelled = await new_person(runtime, SZ_TOWN)
    async with runtime.sessions() as session, session.begin():
        row = await session.get(models.Person, cancelled.uid)
        assert row is not None
        before = snapshot(row)
        row.status, row.cancelled_on, row.cancel_reason = "CANCELLED", date(2026, 1, 1), "迁出省外"
        await person_written(session, row, actor="test", action="CANCEL", before=before)
    [error] = await errors_of(runtime, PULL, form(cancelled), caller=NJ_TOWN_USER)
    assert (code_of(error), error.extensions["status"]) == ("INVALID_STATE", "CANCELLED")
    await assert_tallies_match_rebuild(runtime)


async def test_the_inbox_pages_oldest_first(runtime: Runtime) -> None:
    pushed = [(await execute(runtime, PUSH, form(await new_person(runtime, SZ_TOWN), "320505003"),
                             caller=SZ_TOWN_USER))["pushDispatch"]["id"] for _ in range(3)]
    query = """query($after: String) { pendingDispatchTasks(first: 1, after: $after) {
      nodes { id targetRegion { code } } pageInfo { hasNextPage endCursor } } }"""
    caller = caller_of("u-sz-town-3", region="320505003", data_scope="CROSS_ORG")
    seen: list[str] = []
    after = None
    while True:
        page = (await execute(runtime, query, {"after": after}, caller=caller))["pendingDispatchTasks"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == pushed


@pytest.mark.postgres
async def test_push_and_confirm_on_postgresql(pg_url: str) -> None:
    rt = await make_runtime(definition, pg_url, seed_options=SeedOptions(seed=TEST_SEED, persons=0))
    try:
        person = await new_person(rt, SZ_TOWN)
        order = (await execute(rt, PUSH, form(person, NJ_TOWN), caller=SZ_TOWN_USER))["pushDispatch"]
        [error] = await errors_of(rt, PUSH, form(person, SZ_TOWN_2), caller=SZ_TOWN_USER)
        assert code_of(error) == "CONFLICT"
        assert order["id"] in await ids_in(rt, INBOX, NJ_TOWN_USER)
        await execute(rt, CONFIRM, {"id": order["id"]}, caller=NJ_TOWN_USER)
        assert await managed_at(rt, person.uid) == NJ_TOWN
        pulled = (await execute(rt, PULL, form(person), caller=SZ_TOWN_USER))["pullDispatch"]
        assert order["id"] != pulled["id"] and await managed_at(rt, person.uid) == SZ_TOWN
        assert await ids_in(rt, HISTORY, NJ_TOWN_USER, {"side": "OUTGOING", "locality": "OTHER",
                                                         "idNumber": person.id_number}) == [pulled["id"]]
        await assert_tallies_match_rebuild(rt)
    finally:
        await rt.engine.dispose()
