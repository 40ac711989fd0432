"""services, the window (窗口端): appointments and their state machine, reminders, handover slips, the case
search, the window seed."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from support import errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.services import models
from subgraphs.services.app import definition
from subgraphs.services.domain.appointments import CHINA, SLOT_CAPACITY, china_day_bounds, china_today
from subgraphs.services.jobs import reminders
from subgraphs.services.seed_window import seed_window

HALL = "320100-hall-1"
ITEM = "bi-068-01"  # 医师多执业机构备案 (个人)


def citizen(uid: str = "person-window-1") -> Caller:
    return Caller(subject=f"user-{uid}", client_id="portal", scopes=frozenset(), person_uid=uid)


def window(region: str = "320100", org: str = "org-320100-hc") -> Caller:
    return Caller(subject=f"window-{region}", client_id="portal", scopes=frozenset(), organization_id=org,
                  region_code=region, roles=("SERVICE_WINDOW",), data_scope="OWN_ORG")


def slot(days_ahead: int, hour: int = 10, now: datetime | None = None) -> datetime:
    """The first weekday at least `days_ahead` China days from now, at `hour` China time."""
    day = china_today(now or datetime.now(UTC)) + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return china_day_bounds(day)[0] + timedelta(hours=hour)


async def fresh(tmp_path: Path) -> Runtime:
    return await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")


def codes(errors: list[Any]) -> list[str]:
    return [e.extensions["code"] for e in errors]


BOOK = """mutation($item: ID!, $hall: String!, $slot: DateTime!) {
  bookAppointment(businessItemId: $item, hall: $hall, slot: $slot) {
    id status citizenStatus citizenStatusLabel regionCode hall slotStart slotEnd businessItem { id } } }"""
CANCEL = "mutation($id: ID!) { cancelAppointment(id: $id) { id status citizenStatusLabel } }"
CONFIRM = "mutation($id: ID!) { confirmAppointment(id: $id) { id status } }"
REJECT = """mutation($id: ID!, $reason: String!, $next: DateTime) {
  rejectAppointment(id: $id, reason: $reason, suggestedSlot: $next) {
    id status reason suggestedSlot citizenStatus } }"""


async def book(runtime: Runtime, who: Caller, at: datetime, hall: str = HALL) -> dict[str, Any]:
    data = await execute(runtime, BOOK, {"item": ITEM, "hall": hall, "slot": at.isoformat()}, caller=who)
    return dict(data["bookAppointment"])


async def add_appointment(runtime: Runtime, start: datetime, status: str = "BOOKED", uid: str = "person-window-1",
                          **extra: Any) -> str:
    now = datetime.now(UTC)
    row_id = f"apt-test-{uid}-{start:%Y%m%d%H%M}-{status}"
    async with runtime.sessions() as session, session.begin():
        session.add(models.Appointment(
            id=row_id, applicant_uid=uid, business_item_id=ITEM, region_code="320100", hall_code=HALL,
            slot_start=start, slot_end=start + timedelta(hours=1), status=status, created_at=now, updated_at=now,
            **extra))
    return row_id


# --- appointments -----------------------------------------------------------------------------------------


async def test_book_confirm_and_cancel_before_the_slot(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    at = slot(3)
    booked = await book(runtime, citizen(), at)
    assert booked["status"] == "BOOKED"
    assert (booked["citizenStatus"], booked["citizenStatusLabel"]) == ("NORMAL", "正常")
    assert (booked["regionCode"], booked["hall"], booked["businessItem"]) == ("320100", HALL, {"id": ITEM})
    assert datetime.fromisoformat(booked["slotEnd"]) - datetime.fromisoformat(booked["slotStart"]) == timedelta(hours=1)

    confirmed = await execute(runtime, CONFIRM, {"id": booked["id"]}, caller=window())
    assert confirmed["confirmAppointment"]["status"] == "CONFIRMED"
    # Confirming twice is not a move the state machine has.
    assert codes(await errors_of(runtime, CONFIRM, {"id": booked["id"]}, caller=window())) == ["INVALID_STATE"]
    # Someone else may not cancel it; the applicant may, before the slot.
    assert codes(await errors_of(runtime, CANCEL, {"id": booked["id"]}, caller=citizen("someone-else"))) == [
        "FORBIDDEN"]
    cancelled = (await execute(runtime, CANCEL, {"id": booked["id"]}, caller=citizen()))["cancelAppointment"]
    assert (cancelled["status"], cancelled["citizenStatusLabel"]) == ("CANCELLED", "已取消")
    assert codes(await errors_of(runtime, CANCEL, {"id": booked["id"]}, caller=citizen())) == ["INVALID_STATE"]
    assert codes(await errors_of(runtime, CONFIRM, {"id": booked["id"]}, caller=window())) == ["INVALID_STATE"]

    mine = await execute(runtime, "{ myAppointments { id status } }", caller=citizen())
    assert mine["myAppointments"] == [{"id": booked["id"], "status": "CANCELLED"}]
    assert codes(await errors_of(runtime, "{ myAppointments { id } }", caller=window())) == ["FORBIDDEN"]


async def test_slot_rules(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    monday = slot(3)
    while monday.astimezone(CHINA).weekday() != 0:
        monday += timedelta(days=1)
    saturday = monday - timedelta(days=2)
    bad = [saturday, monday - timedelta(hours=2),  # 08:00
           monday + timedelta(hours=7),  # 17:00, closed
           monday + timedelta(minutes=30), slot(0) - timedelta(days=2), slot(31)]
    for moment in bad:
        errors = await errors_of(runtime, BOOK, {"item": ITEM, "hall": HALL, "slot": moment.isoformat()},
                                 caller=citizen())
        assert codes(errors) == ["BAD_USER_INPUT"], moment
    # 16:00 is the last slot of the day.
    assert (await book(runtime, citizen(), monday + timedelta(hours=6)))["status"] == "BOOKED"
    errors = await errors_of(runtime, BOOK, {"item": "bi-nope", "hall": HALL, "slot": slot(4).isoformat()},
                             caller=citizen())
    assert codes(errors) == ["NOT_FOUND"]
    # Without a person behind the account there is no one to book for; a hall code must say its region.
    errors = await errors_of(runtime, BOOK, {"item": ITEM, "hall": HALL, "slot": slot(4).isoformat()}, caller=window())
    assert codes(errors) == ["FORBIDDEN"]
    errors = await errors_of(runtime, BOOK, {"item": ITEM, "hall": "main-hall", "slot": slot(4).isoformat()},
                             caller=citizen())
    assert codes(errors) == ["BAD_USER_INPUT"]


async def test_a_slot_takes_four_and_a_cancellation_frees_a_place(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    at = slot(5, hour=14)
    ids = [(await book(runtime, citizen(f"p-{i}"), at))["id"] for i in range(SLOT_CAPACITY)]
    full = await errors_of(runtime, BOOK, {"item": ITEM, "hall": HALL, "slot": at.isoformat()}, caller=citizen("p-x"))
    assert codes(full) == ["CONFLICT"]
    # Another hall, or another hour, still has room; the same person cannot book the same time twice.
    assert (await book(runtime, citizen("p-x"), at, hall="320200-hall-1"))["regionCode"] == "320200"
    twice = await errors_of(runtime, BOOK, {"item": ITEM, "hall": HALL, "slot": at.isoformat()}, caller=citizen("p-0"))
    assert codes(twice) == ["CONFLICT"]
    await execute(runtime, CANCEL, {"id": ids[0]}, caller=citizen("p-0"))
    assert (await book(runtime, citizen("p-y"), at))["status"] == "BOOKED"


async def test_reject_needs_a_reason_and_the_windows_region(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    booked = await book(runtime, citizen(), slot(4))
    assert codes(await errors_of(runtime, REJECT, {"id": booked["id"], "reason": " "}, caller=window())) == [
        "BAD_USER_INPUT"]
    # Another city's window, and a citizen, may not process it.
    other = await errors_of(runtime, REJECT, {"id": booked["id"], "reason": "已约满"}, caller=window("320200"))
    assert codes(other) == ["FORBIDDEN"]
    assert codes(await errors_of(runtime, CONFIRM, {"id": booked["id"]}, caller=citizen())) == ["FORBIDDEN"]
    suggested = slot(8, hour=15)
    rejected = (await execute(runtime, REJECT, {"id": booked["id"], "reason": "该时段窗口已约满",
                                                "next": suggested.isoformat()}, caller=window()))["rejectAppointment"]
    assert (rejected["status"], rejected["reason"], rejected["citizenStatus"]) == ("REJECTED", "该时段窗口已约满",
                                                                                    "REJECTED")
    assert datetime.fromisoformat(rejected["suggestedSlot"]) == suggested
    assert codes(await errors_of(runtime, CANCEL, {"id": booked["id"]}, caller=citizen())) == ["INVALID_STATE"]


async def test_no_cancelling_once_the_slot_started_or_it_was_handled(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    now = datetime.now(UTC)
    started = await add_appointment(runtime, now - timedelta(minutes=10), "CONFIRMED")
    soon = await add_appointment(runtime, now + timedelta(hours=5), "CONFIRMED")
    handled = await add_appointment(runtime, now + timedelta(days=2), "DONE")
    assert codes(await errors_of(runtime, CANCEL, {"id": started}, caller=citizen())) == ["INVALID_STATE"]
    assert codes(await errors_of(runtime, CANCEL, {"id": handled}, caller=citizen())) == ["INVALID_STATE"]
    mine = {a["id"]: a for a in (await execute(
        runtime, "{ myAppointments { id citizenStatus citizenStatusLabel } }", caller=citizen()))["myAppointments"]}
    assert mine[soon]["citizenStatusLabel"] == "即将失效"
    assert mine[handled]["citizenStatusLabel"] == "已经办理"
    assert mine[started]["citizenStatus"] == "EXPIRING"  # under way: neither over nor cancellable


async def test_the_window_records_the_application_that_handled_it(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    booked = await book(runtime, citizen(), slot(3))
    application = await add_application(runtime, "app-handled", "ACCEPTED", applicant_uid="person-window-1")
    other = await add_application(runtime, "app-other", "ACCEPTED", applicant_uid="someone-else")
    complete = """mutation($id: ID!, $app: ID!) {
      completeAppointment(id: $id, applicationId: $app) { status applicationId } }"""
    wrong = await errors_of(runtime, complete, {"id": booked["id"], "app": other}, caller=window())
    assert codes(wrong) == ["BAD_USER_INPUT"]
    done = await execute(runtime, complete, {"id": booked["id"], "app": application}, caller=window())
    assert done["completeAppointment"] == {"status": "DONE", "applicationId": application}
    assert codes(await errors_of(runtime, CANCEL, {"id": booked["id"]}, caller=citizen())) == ["INVALID_STATE"]


async def test_hall_appointments_of_a_day(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    at = slot(3)
    first = await book(runtime, citizen("p-1"), at)
    await book(runtime, citizen("p-2"), at + timedelta(hours=2))
    day = at.astimezone(CHINA).date().isoformat()
    query = 'query($day: Date!) { hallAppointments(hall: "320100-hall-1", day: $day) { id applicantUid slotStart } }'
    rows = (await execute(runtime, query, {"day": day}, caller=window()))["hallAppointments"]
    assert [r["applicantUid"] for r in rows] == ["p-1", "p-2"] and rows[0]["id"] == first["id"]
    assert (await execute(runtime, query, {"day": day}, caller=window("320200")))["hallAppointments"] == []
    assert codes(await errors_of(runtime, query, {"day": day}, caller=citizen())) == ["FORBIDDEN"]


# --- reminders -------------------------------------------------------------------------------------------


async def test_reminders_go_once_for_tomorrow_and_past_slots_become_missed(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    runtime = await fresh(tmp_path)
    # 20:00 UTC on a Monday is 04:00 on Tuesday in China: "tomorrow" is Wednesday, whatever UTC says.
    now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    tuesday, wednesday, thursday = (china_day_bounds(date(2026, 3, d))[0] for d in (3, 4, 5))
    due = [await add_appointment(runtime, wednesday + timedelta(hours=9), "BOOKED", uid="a"),
           await add_appointment(runtime, wednesday + timedelta(hours=16), "CONFIRMED", uid="b")]
    await add_appointment(runtime, wednesday + timedelta(hours=10), "CANCELLED", uid="c")
    await add_appointment(runtime, tuesday + timedelta(hours=9), "CONFIRMED", uid="d")  # today (China)
    await add_appointment(runtime, thursday + timedelta(hours=9), "BOOKED", uid="e")
    missed = await add_appointment(runtime, china_day_bounds(date(2026, 3, 2))[0] + timedelta(hours=15), "CONFIRMED",
                                   uid="f")
    done = await add_appointment(runtime, china_day_bounds(date(2026, 3, 2))[0] + timedelta(hours=10), "DONE", uid="g")

    for expected in (2, 0):
        async with runtime.sessions() as session, session.begin():
            report = await reminders.remind(session, now)
        assert report.reminded == expected
    async with runtime.sessions() as session:
        events = (await session.scalars(select(models.OutboxEvent).where(
            models.OutboxEvent.topic == "services.appointment.reminder"))).all()
        statuses = {r.id: r.status for r in await session.execute(select(models.Appointment.id,
                                                                                     models.Appointment.status))}
    assert sorted(e.payload["appointmentId"] for e in events) == sorted(due)
    first = next(e.payload for e in events if e.payload["appointmentId"] == due[0])
    assert first == {"appointmentId": due[0], "applicantUid": "a", "hall": HALL,
                     "slotStart": (wednesday + timedelta(hours=9)).isoformat()}
    assert (statuses[missed], statuses[done]) == ("MISSED", "DONE")
    assert [statuses[i] for i in due] == ["BOOKED", "CONFIRMED"]

    # The command line: the same job on DATABASE_URL, saying what it did.
    await runtime.engine.dispose()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
        status = await asyncio.to_thread(reminders.main, ["--at", (now + timedelta(days=1)).isoformat()])
    assert status == 0
    assert "reminded 1 appointment(s) of tomorrow" in capsys.readouterr().out


# --- handover slips --------------------------------------------------------------------------------------


async def add_application(runtime: Runtime, app_id: str, status: str, *, applicant_uid: str = "p-1",
                          region: str | None = "320102", org: str | None = None, channel: str = "ONLINE",
                          received: datetime | None = None, name: str | None = "王小明", hall: str | None = None,
                          business_item: str = ITEM, materials: int = 0) -> str:
    at = received or datetime.now(UTC)
    async with runtime.sessions() as session, session.begin():
        session.add(models.Application(
            id=app_id, number=f"JSTEST{app_id}", business_item_id=business_item, applicant_uid=applicant_uid,
            status=status, created_at=at, submitted_at=at, updated_at=at, applicant_name=name, region_code=region,
            organization_id=org, channel=channel, form_data={"hall": hall} if hall else {}))
        await session.flush()
        for i in range(materials):
            session.add(models.ApplicationMaterial(
                id=f"mat-{app_id}-{i}", application_id=app_id, name=f"材料{i}", source="UPLOAD",
                uploaded_by="window", uploaded_at=at))
    return app_id


SLIP = """mutation($day: Date) { createHandoverSlip(hall: "320100-hall-1", day: $day) {
  id hall day applications { id status } } }"""
SLIP_CSV = 'query($day: Date!) { handoverSlipCsv(hall: "320100-hall-1", day: $day) { fileName contentType content } }'


async def test_handover_slip_hands_over_the_days_walk_ins_once(tmp_path: Path) -> None:
    pytest.importorskip("subgraphs.services.domain.workflow", reason="workflow not yet merged")
    runtime = await fresh(tmp_path)
    now = datetime.now(UTC)
    day = china_today(now)
    first = await add_application(runtime, "app-w1", "RECEIVED", channel="WINDOW", hall=HALL, materials=3,
                                  name="欧阳娜娜", received=now - timedelta(minutes=2))
    # Received by this window's organisation without a hall recorded: this hall's too.
    by_org = await add_application(runtime, "app-w2", "RECEIVED", channel="WINDOW", org="org-320100-hc",
                                   received=now - timedelta(minutes=1))
    await add_application(runtime, "app-w3", "RECEIVED", channel="WINDOW", hall="320100-hall-2")  # another hall
    await add_application(runtime, "app-w4", "RECEIVED", channel="WINDOW", hall=HALL,
                          received=china_day_bounds(day)[0] - timedelta(hours=1))  # yesterday
    await add_application(runtime, "app-w5", "PRE_REVIEW", channel="ONLINE", hall=HALL)  # online

    variables = {"day": day.isoformat()}
    slip = (await execute(runtime, SLIP, variables, caller=window()))["createHandoverSlip"]
    assert slip["applications"] == [{"id": first, "status": "HANDOVER"}, {"id": by_org, "status": "HANDOVER"}]
    # A late walk-in joins the same slip; those already on it stay.
    late = await add_application(runtime, "app-w6", "RECEIVED", channel="WINDOW", hall=HALL)
    again = (await execute(runtime, SLIP, variables, caller=window()))["createHandoverSlip"]
    assert again["id"] == slip["id"]
    assert [a["id"] for a in again["applications"]] == [first, by_org, late]
    async with runtime.sessions() as session:
        events = (await session.scalars(select(models.ApplicationEvent).where(
            models.ApplicationEvent.action == "HANDOVER", models.ApplicationEvent.application_id.like("app-w%")))).all()
        assert sorted(e.application_id for e in events) == sorted([first, by_org, late])
        assert await session.scalar(select(func.count()).select_from(models.HandoverSlip)) == 1

    file = (await execute(runtime, SLIP_CSV, variables, caller=window()))["handoverSlipCsv"]
    assert file["fileName"] == f"办件交接单-{HALL}-{day:%Y%m%d}.csv"
    assert file["content"].startswith("\ufeff办件编号,事项,申请人,收件时间,材料份数")
    rows = list(csv.reader(io.StringIO(file["content"].lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == ["JSTESTapp-w1", "JSTESTapp-w2", "JSTESTapp-w6"]
    assert (rows[1][1], rows[1][2], rows[1][4]) == ("医师多执业机构备案（医师多执业机构备案）", "欧***", "3")
    assert rows[1][3] == (now - timedelta(minutes=2)).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")

    shown = await execute(runtime, 'query($day: Date!) { handoverSlip(hall: "320100-hall-1", day: $day) { id } }',
                          variables, caller=window())
    assert shown["handoverSlip"] == {"id": slip["id"]}
    assert codes(await errors_of(runtime, SLIP, variables, caller=citizen())) == ["FORBIDDEN"]


async def test_a_handover_slip_cell_excel_would_run_is_written_as_text(tmp_path: Path) -> None:
    pytest.importorskip("subgraphs.services.domain.workflow", reason="workflow not yet merged")
    runtime = await fresh(tmp_path)
    day = china_today(datetime.now(UTC))
    await add_application(runtime, "app-f1", "RECEIVED", channel="WINDOW", hall=HALL, name='=HYPERLINK("x")')
    await execute(runtime, SLIP, {"day": day.isoformat()}, caller=window())
    file = (await execute(runtime, SLIP_CSV, {"day": day.isoformat()}, caller=window()))["handoverSlipCsv"]
    rows = list(csv.reader(io.StringIO(file["content"].lstrip("\ufeff"))))
    assert rows[0] == ["办件编号", "事项", "申请人", "收件时间", "材料份数"]
    assert rows[1][0] == "JSTESTapp-f1" and rows[1][2].startswith("'=")  # the masked name, as text


# --- the case search -------------------------------------------------------------------------------------


CASES = """query($filter: WindowCaseFilter, $after: String) {
  windowCases(filter: $filter, first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }"""


SINCE = datetime(2026, 2, 2, 2, tzinfo=UTC)  # after every seeded application


async def case_ids(runtime: Runtime, filter: dict[str, Any], who: Caller | None = None) -> list[str]:
    filter = {"createdFrom": SINCE.isoformat(), **filter}
    ids: list[str] = []
    after = None
    while True:
        page = (await execute(runtime, CASES, {"filter": filter, "after": after}, caller=who or window()))[
            "windowCases"]
        ids += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


async def test_case_search_by_each_condition_within_the_callers_queues(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    base = SINCE
    await add_application(runtime, "q1", "RECEIVED", region="320102", channel="WINDOW", received=base, name="李雷")
    await add_application(runtime, "q2", "ACCEPTED", region="320105", received=base + timedelta(days=1), name="韩梅梅",
                          business_item="bi-005-01")
    await add_application(runtime, "q3", "APPROVED", region="320100", received=base + timedelta(days=2), name="李雷",
                          applicant_uid="p-3")
    await add_application(runtime, "q4", "RECEIVED", region="320205", received=base + timedelta(days=3), name="李雷")
    await add_application(runtime, "q5", "DRAFT", region=None, org="org-320100-hc",
                          received=base + timedelta(days=4))

    # Nanjing's window: Nanjing's cases and its organisation's, newest first, paged.
    assert await case_ids(runtime, {}) == ["q5", "q3", "q2", "q1"]
    assert await case_ids(runtime, {}, Caller(subject="m", client_id="x", scopes=frozenset({"services:admin"}))) == [
        "q5", "q4", "q3", "q2", "q1"]
    assert await case_ids(runtime, {"regionCode": "320102"}) == ["q1"]
    assert await case_ids(runtime, {"applicantName": "李雷"}) == ["q3", "q1"]
    assert await case_ids(runtime, {"applicantUid": "p-3"}) == ["q3"]
    assert await case_ids(runtime, {"businessItemId": "bi-005-01"}) == ["q2"]
    assert await case_ids(runtime, {"itemId": "item-005"}) == ["q2"]
    assert await case_ids(runtime, {"createdFrom": (base + timedelta(days=1)).isoformat(),
                                    "createdTo": (base + timedelta(days=2)).isoformat()}) == ["q2"]
    assert await case_ids(runtime, {"submittedFrom": (base + timedelta(days=2)).isoformat()}) == ["q5", "q3"]
    assert await case_ids(runtime, {"statuses": ["RECEIVED", "APPROVED"]}) == ["q3", "q1"]
    assert await case_ids(runtime, {"stage": "IN_PROGRESS"}) == ["q2"]
    assert await case_ids(runtime, {"channel": "WINDOW"}) == ["q1"]
    errors = await errors_of(runtime, CASES, {"filter": {}}, caller=citizen())
    assert codes(errors) == ["FORBIDDEN"]
    errors = await errors_of(runtime, CASES, {"filter": {"createdFrom": base.isoformat(),
                                                         "createdTo": base.isoformat()}}, caller=window())
    assert codes(errors) == ["BAD_USER_INPUT"]


# --- the seed ---------------------------------------------------------------------------------------------


async def test_window_seed(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with runtime.sessions() as session, session.begin():
        if not await session.scalar(select(func.count()).select_from(models.Appointment)):
            await seed_window(session, 20260101, now)
    async with runtime.sessions() as session:
        appointments = (await session.scalars(select(models.Appointment))).all()
        notices = (await session.scalars(select(models.Notice))).all()
        publicity = (await session.scalars(select(models.Publicity))).all()
        approved = await session.scalar(
            select(func.count()).select_from(models.Application)
            .join(models.BusinessItem, models.BusinessItem.id == models.Application.business_item_id)
            .join(models.ServiceItem, models.ServiceItem.id == models.BusinessItem.item_id)
            .where(models.Application.status == "APPROVED",
                   models.ServiceItem.power_type.in_(["LICENSING", "FILING"])))
    assert len(appointments) >= 100
    assert set(Counter(a.status for a in appointments)) == {"BOOKED", "CONFIRMED", "REJECTED", "DONE", "CANCELLED",
                                                            "MISSED"}
    live = Counter((a.hall_code, a.slot_start) for a in appointments if a.status in ("BOOKED", "CONFIRMED", "DONE"))
    assert max(live.values()) <= SLOT_CAPACITY
    for a in appointments:
        local = a.slot_start.astimezone(CHINA)
        assert local.weekday() < 5 and 9 <= local.hour < 17
        assert (a.status in ("BOOKED", "CONFIRMED")) == (a.slot_end > now) or a.status not in (
            "BOOKED", "CONFIRMED", "MISSED", "DONE")
        assert (a.status == "REJECTED") == (a.reason is not None)
    assert any(n.kind == "SYSTEM_UPDATE" and n.valid_from <= now and n.valid_to is None for n in notices)
    assert any(n.valid_to is not None and n.valid_to < now for n in notices)
    assert not any(n.blocks_submission and (n.valid_to is None or n.valid_to > now) for n in notices)
    assert len(publicity) == approved and approved
    assert {p.kind for p in publicity} <= {"LICENSING", "FILING"}
