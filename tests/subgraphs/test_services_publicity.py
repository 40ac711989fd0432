"""services, publicity (许可公示 / 备案公示, published once per approved application) and notices (通知公告),
with the submission block of a 停服公告; one flow on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from support import create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.bus import Event, InProcessBus
from subgraphs.common.caller import Caller
from subgraphs.services import models
from subgraphs.services.app import definition
from subgraphs.services.domain.publicity import publicity_id, publish_for, submission_blocked
from subgraphs.services.publicity_events import COMPLETED_TOPIC, application_completed, consumers
from subgraphs.services.status import Action

LICENSING_PERSON = "bi-005-01"  # 职业病诊断执业医师资格认定 (个人, 行政许可)
FILING_ENTITY = "bi-053-01"  # 食品安全企业标准备案 (法人, 行政备案)
CONFIRMATION = "bi-042-01"  # 对医师（含助理）资格的认定 (行政确认: not published)
SINCE = datetime(2026, 6, 1, tzinfo=UTC)  # after every seeded publicity
MANAGER = Caller(subject="admin-1", client_id="console", scopes=frozenset(), roles=("SERVICE_ADMIN",))
WINDOW = Caller(subject="window-1", client_id="console", scopes=frozenset(), roles=("SERVICE_WINDOW",),
                region_code="320100", data_scope="OWN_ORG")


async def fresh(tmp_path: Path) -> Runtime:
    return await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")


def codes(errors: list[Any]) -> list[str]:
    return [e.extensions["code"] for e in errors]


async def approved(runtime: Runtime, app_id: str, business_item: str, *, name: str = "张三丰",
                   entity: bool = False, status: str = "APPROVED", decision: bool = True) -> str:
    at = SINCE + timedelta(days=1)
    async with runtime.sessions() as session, session.begin():
        session.add(models.Application(
            id=app_id, number=f"JSPUB{app_id}", business_item_id=business_item, applicant_uid=f"uid-{app_id}",
            status=status, created_at=at, updated_at=at, completed_at=at, applicant_name=name, region_code="320102",
            applicant_type="LEGAL_ENTITY" if entity else "INDIVIDUAL", applicant_org_id="org-x" if entity else None))
        await session.flush()
        if decision:
            session.add(models.ApplicationDocument(
                id=f"doc-{app_id}", application_id=app_id, kind="APPROVAL_DECISION", number=f"苏卫准〔2026〕{app_id}号",
                title="准予行政许可决定书", content="准予。", issued_by="leader", issued_at=at))
    return app_id


def completed(app_id: str, business_item: str, power: str, outcome: str = "APPROVED",
              event_id: str | None = None) -> Event:
    return Event(id=event_id or str(uuid.uuid4()), topic=COMPLETED_TOPIC, source="services",
                 payload={"applicationId": app_id, "outcome": outcome, "businessItemId": business_item,
                          "powerType": power, "regionCode": "320102"},
                 occurred_at=SINCE + timedelta(days=2))


async def publicities(runtime: Runtime, app_id: str) -> list[models.Publicity]:
    async with runtime.sessions() as session:
        return list((await session.scalars(select(models.Publicity).where(
            models.Publicity.application_id == app_id))).all())


async def test_an_approved_licence_is_published_once_with_the_person_masked(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    app_id = await approved(runtime, "p-lic-1", LICENSING_PERSON)
    event = completed(app_id, LICENSING_PERSON, "LICENSING")
    assert await application_completed(runtime.sessions, event) == publicity_id(app_id)
    # The same event again, and the same completion under another event id: nothing new.
    assert await application_completed(runtime.sessions, event) is None
    await application_completed(runtime.sessions, completed(app_id, LICENSING_PERSON, "LICENSING"))
    [row] = await publicities(runtime, app_id)
    assert (row.kind, row.subject, row.region_code) == ("LICENSING", "张**", "320102")
    assert row.decision == "准予行政许可决定书：职业病诊断执业医师资格认定（职业病诊断执业医师资格证补发）"
    assert row.decision_number == "苏卫准〔2026〕p-lic-1号"
    assert row.published_at == SINCE + timedelta(days=2)


async def test_filing_organisations_in_full_and_what_is_not_published(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    filing = await approved(runtime, "p-fil-1", FILING_ENTITY, name="南京某食品有限公司", entity=True, decision=False)
    async with runtime.sessions() as session, session.begin():
        row = await publish_for(session, filing, SINCE)
        assert row is not None
        assert (row.kind, row.subject, row.decision_number) == ("FILING", "南京某食品有限公司", None)
        assert row.decision == "予以备案：食品安全企业标准备案（食品企业标准备案）"
    # 行政确认 is not published; nor is a refusal, whatever the event says.
    confirmation = await approved(runtime, "p-con-1", CONFIRMATION)
    denied = await approved(runtime, "p-den-1", LICENSING_PERSON, status="REJECTED")
    assert await application_completed(runtime.sessions, completed(confirmation, CONFIRMATION, "CONFIRMATION")) is None
    assert await application_completed(runtime.sessions, completed(denied, LICENSING_PERSON, "LICENSING")) is None
    assert await application_completed(runtime.sessions, completed(denied, LICENSING_PERSON, "LICENSING",
                                                                   outcome="REJECTED")) is None
    async with runtime.sessions() as session:
        assert await publish_for(session, confirmation, SINCE) is None
    assert await publicities(runtime, confirmation) == [] and await publicities(runtime, denied) == []


async def test_publicities_are_public_newest_first_by_kind_and_region(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    # Delivered through the bus to the subscription the subgraph registers.
    bus = InProcessBus()
    for group, pattern, handler in consumers(runtime):
        bus.subscribe(group, pattern, handler)
    for i in range(3):
        app_id = await approved(runtime, f"p-list-{i}", LICENSING_PERSON)
        event = completed(app_id, LICENSING_PERSON, "LICENSING")
        await bus.publish(Event(id=event.id, topic=event.topic, source=event.source, payload=event.payload,
                                occurred_at=SINCE + timedelta(days=3, hours=i)))
    filing = await approved(runtime, "p-list-f", FILING_ENTITY, name="苏州某公司", entity=True)
    await bus.publish(completed(filing, FILING_ENTITY, "FILING"))
    await bus.drain()

    query = """query($kind: PublicityKind, $after: String, $from: DateTime) {
      publicities(kind: $kind, publishedFrom: $from, regionCode: "320100", first: 2, after: $after) {
        nodes { id kind kindLabel subject decisionNumber businessItem { id } } pageInfo { hasNextPage endCursor } } }"""
    anonymous = Caller(subject=None, client_id=None, scopes=frozenset())
    first = (await execute(runtime, query, {"kind": "LICENSING", "from": SINCE.isoformat()},
                           caller=anonymous))["publicities"]
    assert [n["id"] for n in first["nodes"]] == [publicity_id("p-list-2"), publicity_id("p-list-1")]
    assert first["nodes"][0]["kindLabel"] == "许可公示" and first["nodes"][0]["subject"] == "张**"
    rest = (await execute(runtime, query, {"kind": "LICENSING", "from": SINCE.isoformat(),
                                           "after": first["pageInfo"]["endCursor"]}))["publicities"]
    assert [n["id"] for n in rest["nodes"]] == [publicity_id("p-list-0")]
    assert not rest["pageInfo"]["hasNextPage"]
    filings = (await execute(runtime, query, {"kind": "FILING", "from": SINCE.isoformat()}))["publicities"]["nodes"]
    assert [(n["kindLabel"], n["subject"]) for n in filings] == [("备案公示", "苏州某公司")]


# --- notices --------------------------------------------------------------------------------------------


CREATE = """mutation($n: NoticeInput!) { createNotice(notice: $n) {
  id kind kindLabel title blocksSubmission validFrom validTo } }"""
NOTICES = """query($at: DateTime) { notices(activeOn: $at) { id kind title } }"""


def notice(kind: str, start: datetime, end: datetime | None = None, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "title": f"{kind} 通知", "content": "内容", "validFrom": start.isoformat(),
            "validTo": end.isoformat() if end else None, **extra}


async def test_notices_in_force_and_the_submission_block(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    now = datetime.now(UTC)
    refused = await errors_of(runtime, CREATE, {"n": notice("SYSTEM_UPDATE", now)}, caller=WINDOW)
    assert codes(refused) == ["FORBIDDEN"]
    bad = [notice("ITEM_UPDATE", now, blocksSubmission=True), notice("SERVICE_STOP", now, blocksSubmission=False),
           notice("SYSTEM_UPDATE", now, now - timedelta(hours=1)), {**notice("UPGRADE", now), "title": " "}]
    for n in bad:
        assert codes(await errors_of(runtime, CREATE, {"n": n}, caller=MANAGER)) == ["BAD_USER_INPUT"], n

    update = (await execute(runtime, CREATE, {"n": notice("SYSTEM_UPDATE", now - timedelta(days=1))},
                            caller=MANAGER))["createNotice"]
    assert (update["kindLabel"], update["blocksSubmission"]) == ("系统更新通知", False)
    stop = (await execute(runtime, CREATE, {"n": notice("SERVICE_STOP", now + timedelta(days=1),
                                                        now + timedelta(days=1, hours=6))}, caller=MANAGER))[
        "createNotice"]
    assert (stop["kindLabel"], stop["blocksSubmission"]) == ("停服公告", True)

    mine = {update["id"], stop["id"]}
    shown_now = {n["id"] for n in (await execute(runtime, NOTICES, {}))["notices"]} & mine
    during = (now + timedelta(days=1, hours=1)).isoformat()
    shown_during = {n["id"] for n in (await execute(runtime, NOTICES, {"at": during}))["notices"]} & mine
    assert (shown_now, shown_during) == ({update["id"]}, mine)
    async with runtime.sessions() as session:
        assert await submission_blocked(session, now) is None
        blocking = await submission_blocked(session, now + timedelta(days=1, hours=1))
        assert blocking is not None and blocking.id == stop["id"]

    # Corrected, then withdrawn: a withdrawn notice is never in force again and blocks nothing.
    corrected = {**notice("SERVICE_STOP", now + timedelta(days=1), now + timedelta(days=1, hours=8)),
                 "title": "停服公告（更正）"}
    changed = await execute(runtime, """mutation($id: ID!, $n: NoticeInput!) {
      updateNotice(id: $id, notice: $n) { title validTo } }""", {"id": stop["id"], "n": corrected}, caller=MANAGER)
    assert changed["updateNotice"]["title"] == "停服公告（更正）"
    withdraw = "mutation($id: ID!) { withdrawNotice(id: $id) { id validFrom validTo } }"
    assert codes(await errors_of(runtime, withdraw, {"id": stop["id"]}, caller=WINDOW)) == ["FORBIDDEN"]
    await execute(runtime, withdraw, {"id": stop["id"]}, caller=MANAGER)
    await execute(runtime, withdraw, {"id": update["id"]}, caller=MANAGER)
    assert codes(await errors_of(runtime, withdraw, {"id": update["id"]}, caller=MANAGER)) == ["INVALID_STATE"]
    shown_during = {n["id"] for n in (await execute(runtime, NOTICES, {"at": during}))["notices"]} & mine
    assert shown_during == set()
    async with runtime.sessions() as session:
        assert await submission_blocked(session, now + timedelta(days=1, hours=1)) is None


# --- PostgreSQL -------------------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_approval_publishes_and_slots_fill_on_postgresql() -> None:
    workflow = pytest.importorskip("subgraphs.services.domain.workflow", reason="workflow not yet merged")
    url = await create_pg_database("jshealth_svc")
    try:
        runtime = await make_runtime(definition, url)
        try:
            await _approve_and_publish(runtime, workflow)
            await _concurrent_bookings(runtime)
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)


async def _approve_and_publish(runtime: Runtime, workflow: Any) -> None:
    app_id = await approved(runtime, "p-pg-1", LICENSING_PERSON, status="LEADER_APPROVAL", decision=False)
    async with runtime.sessions() as session, session.begin():
        application = await session.get(models.Application, app_id)
        await workflow.transition(session, application, Action.APPROVE, actor="leader-1")
    for group, pattern, handler in consumers(runtime):
        runtime.bus.subscribe(group, pattern, handler)
    await runtime.relay.relay_once()
    assert isinstance(runtime.bus, InProcessBus)
    await runtime.bus.drain()
    [row] = await publicities(runtime, app_id)
    async with runtime.sessions() as session:
        number = await session.scalar(select(models.ApplicationDocument.number).where(
            models.ApplicationDocument.application_id == app_id,
            models.ApplicationDocument.kind == "APPROVAL_DECISION"))
    assert (row.kind, row.subject, row.decision_number) == ("LICENSING", "张**", number)


async def _concurrent_bookings(runtime: Runtime) -> None:
    import asyncio

    from subgraphs.services.domain.appointments import SLOT_CAPACITY, china_day_bounds, china_today

    day = china_today(datetime.now(UTC)) + timedelta(days=3)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    at = china_day_bounds(day)[0] + timedelta(hours=11)
    book = """mutation($slot: DateTime!) {
      bookAppointment(businessItemId: "bi-068-01", hall: "320500-hall-1", slot: $slot) { id } }"""

    async def one(i: int) -> bool:
        caller = Caller(subject=f"u-{i}", client_id="portal", scopes=frozenset(), person_uid=f"pg-person-{i}")
        result = await runtime.definition.schema.execute(book, variable_values={"slot": at.isoformat()},
                                                         context_value=runtime.context(caller=caller))
        return result.errors is None

    outcomes = await asyncio.gather(*(one(i) for i in range(SLOT_CAPACITY + 3)))
    assert sum(outcomes) == SLOT_CAPACITY
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(models.Appointment).where(
            models.Appointment.hall_code == "320500-hall-1", models.Appointment.slot_start == at)) == SLOT_CAPACITY
