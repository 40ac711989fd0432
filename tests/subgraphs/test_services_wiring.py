"""How the service hall's areas meet: a walk-in for an appointment makes it 已经办理 and lands on the hall's
handover slip; a 停服 notice in force pauses online submission but not the window; an approval publishes
its 公示 through the bus without anyone asking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from support import count_statements, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.bus import InProcessBus
from subgraphs.common.caller import Caller
from subgraphs.common.validators import make_resident_id
from subgraphs.services import models
from subgraphs.services.app import definition
from subgraphs.services.domain.appointments import china_day_bounds, china_today

HALL = "320102-hall-1"
ID_NUMBER = make_resident_id("320102", date(1990, 1, 1), 321)
CITIZEN = Caller(subject="u-wiring", client_id="portal", scopes=frozenset(), person_uid="P-wiring",
                 region_code="320102")
WINDOW = Caller(subject="u-window", client_id="hall", scopes=frozenset(), roles=("SERVICE_WINDOW",),
                region_code="320102", organization_id="org-320102-hc", data_scope="OWN_ORG")
MANAGER = Caller(subject="u-admin", client_id="console", scopes=frozenset(), roles=("SERVICE_ADMIN",))

WALK_IN = """mutation($input: CreateApplicationInput!, $hall: String, $apt: ID) {
  receiveWalkIn(input: $input, hall: $hall, appointmentId: $apt) { id status channel } }"""
CREATE = """mutation($input: CreateApplicationInput!) { createApplication(input: $input) { id status } }"""
SUBMIT = "mutation($id: ID!) { submitApplication(id: $id) { id status } }"
NOTICE = """mutation($n: NoticeInput!) { createNotice(notice: $n) { id blocksSubmission } }"""


async def fresh(tmp_path: Path) -> Runtime:
    return await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")


async def personal_item(runtime: Runtime) -> str:
    async with runtime.sessions() as session:
        found = await session.scalar(
            select(models.BusinessItem.id).join(models.ServiceItem)
            .where(models.ServiceItem.party == "INDIVIDUAL", models.BusinessItem.enabled.is_(True),
                   models.BusinessItem.licence_type.is_(None))
            .order_by(models.BusinessItem.seq).limit(1))
    assert found is not None
    return found


async def test_walk_in_for_an_appointment_is_handled_and_handed_over(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    item = await personal_item(runtime)
    day = china_today(datetime.now(UTC)) + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    now = datetime.now(UTC)
    async with runtime.sessions() as session, session.begin():
        session.add(models.Appointment(
            id="apt-wiring", applicant_uid="P-wiring", business_item_id=item, region_code="320102", hall_code=HALL,
            slot_start=china_day_bounds(day)[0] + timedelta(hours=10),
            slot_end=china_day_bounds(day)[0] + timedelta(hours=11), status="CONFIRMED", created_at=now,
            updated_at=now))
    variables = {"input": {"businessItemId": item, "applicantUid": "P-wiring", "applicantName": "钱七",
                           "applicantIdNumber": ID_NUMBER, "organizationId": "org-320102-hc"},
                 "hall": HALL, "apt": "apt-wiring"}
    received = (await execute(runtime, WALK_IN, variables, caller=WINDOW))["receiveWalkIn"]
    assert (received["status"], received["channel"]) == ("RECEIVED", "WINDOW")
    async with runtime.sessions() as session:
        appointment = await session.get(models.Appointment, "apt-wiring")
        application = await session.get(models.Application, received["id"])
    assert appointment is not None and (appointment.status, appointment.application_id) == ("DONE", received["id"])
    assert application is not None and application.form_data["hall"] == HALL

    slip = await execute(runtime, """mutation($hall: String!) { createHandoverSlip(hall: $hall) {
        applications { id status } } }""", {"hall": HALL}, caller=WINDOW)
    assert {"id": received["id"], "status": "HANDOVER"} in slip["createHandoverSlip"]["applications"]


async def test_a_service_stop_pauses_online_submission_only(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    item = await personal_item(runtime)
    now = datetime.now(UTC)
    stop = {"kind": "SERVICE_STOP", "title": "系统升级停服", "content": "升级期间暂停线上申报",
            "validFrom": (now - timedelta(hours=1)).isoformat(), "validTo": (now + timedelta(hours=2)).isoformat()}
    assert (await execute(runtime, NOTICE, {"n": stop}, caller=MANAGER))["createNotice"]["blocksSubmission"]
    draft = (await execute(runtime, CREATE, {"input": {"businessItemId": item}}, caller=CITIZEN))["createApplication"]
    errors = await errors_of(runtime, SUBMIT, {"id": draft["id"]}, caller=CITIZEN)
    assert errors[0].extensions["code"] == "INVALID_STATE" and "系统升级停服" in errors[0].message
    async with runtime.sessions() as session:
        row = await session.get(models.Application, draft["id"])
    assert row is not None and row.status == "NEW"
    variables = {"input": {"businessItemId": item, "applicantUid": "P-wiring", "applicantName": "钱七",
                           "applicantIdNumber": ID_NUMBER, "organizationId": "org-320102-hc"}}
    received = (await execute(runtime, WALK_IN, variables, caller=WINDOW))["receiveWalkIn"]
    assert received["status"] == "RECEIVED"


async def test_an_approval_is_published_by_the_subgraphs_own_consumer(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    assert isinstance(runtime.bus, InProcessBus)
    async with runtime.sessions() as session:
        application = await session.scalar(
            select(models.Application).join(models.BusinessItem).join(models.ServiceItem)
            .where(models.Application.status == "LEADER_APPROVAL", models.ServiceItem.power_type == "LICENSING")
            .limit(1))
    assert application is not None, "the seed has licensing cases waiting for the leader"
    from subgraphs.services.domain import workflow
    from subgraphs.services.status import Action

    async with runtime.sessions() as session, session.begin():
        row = await session.get(models.Application, application.id)
        assert row is not None
        await session.execute(models.Publicity.__table__.delete().where(
            models.Publicity.application_id == row.id))
        await workflow.transition(session, row, Action.APPROVE, actor="u-leader")
    await runtime.relay.relay_once()
    await runtime.bus.drain()
    async with runtime.sessions() as session:
        published = await session.scalar(select(models.Publicity).where(
            models.Publicity.application_id == application.id))
    assert published is not None and published.kind == "LICENSING"


async def test_a_queue_page_with_timelines_costs_a_fixed_number_of_statements(sqlite_runtime: Any) -> None:
    runtime = await sqlite_runtime(definition)
    query = """query($first: Int!) { applicationQueue(first: $first) { edges { node { id
        events { seq action } documents { kind } materials { name } } } } }"""
    counts = {}
    for first in (5, 40):
        with count_statements(runtime) as statements:
            data = await execute(runtime, query, {"first": first}, caller=MANAGER)
        assert len(data["applicationQueue"]["edges"]) == first
        assert any(edge["node"]["events"] for edge in data["applicationQueue"]["edges"])
        counts[first] = len(statements)
    assert counts[5] == counts[40], counts
