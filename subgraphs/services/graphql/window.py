"""The window (窗口端): appointments (预约), handover slips (办件交接单) and the case search (办件查询).
The rules live in domain/appointments.py, domain/handover.py and domain/case_queries.py."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Self

import strawberry
from sqlalchemy import select

from subgraphs.common.errors import forbidden
from subgraphs.common.paging import Connection
from subgraphs.common.scope import region_scope
from subgraphs.services import models
from subgraphs.services.access import Desk, check_desk, is_manager
from subgraphs.services.applications import newest_first_page
from subgraphs.services.domain import appointments as rules
from subgraphs.services.domain import handover
from subgraphs.services.domain.case_queries import CaseFilter, case_query
from subgraphs.services.status import ApplicationStage, ApplicationStatus
from subgraphs.services.types import Application, BusinessItem, Info

strawberry.enum(
    rules.AppointmentStatus, name="AppointmentStatus",
    description="预约状态 (window): BOOKED 已预约, CONFIRMED 成功, REJECTED 不成功, DONE 已经办理, CANCELLED 已取消, "
                "MISSED 已失效 (the slot passed unhandled).")
strawberry.enum(
    rules.CitizenAppointmentStatus, name="CitizenAppointmentStatus",
    description="我的预约: NORMAL 正常, EXPIRING 即将失效 (within 24 h of the slot), HANDLED 已经办理, "
                "CANCELLED 已取消, REJECTED 预约不成功, EXPIRED 已失效.")
MY_APPOINTMENTS_LIMIT = 100


def _now() -> datetime:
    return datetime.now(UTC)


@strawberry.type(description="预约: a visit to a hall's window for a business item.")
class Appointment:
    id: strawberry.ID
    applicant_uid: strawberry.ID = strawberry.field(description="The person who booked.")
    region_code: str = strawberry.field(description="The hall's region.")
    hall: str = strawberry.field(description="Hall code (e.g. 320100-hall-1).")
    slot_start: datetime
    slot_end: datetime
    status: rules.AppointmentStatus
    reason: str | None = strawberry.field(description="不成功: the window's reason.")
    suggested_slot: datetime | None = strawberry.field(description="不成功: the next time the window suggests.")
    application_id: strawberry.ID | None = strawberry.field(description="已经办理: the application received.")
    reminded_at: datetime | None = strawberry.field(description="When the reminder of the day before was sent.")
    created_at: datetime
    row: strawberry.Private[models.Appointment]

    @classmethod
    def from_row(cls, row: models.Appointment) -> Self:
        return cls(
            id=strawberry.ID(row.id), applicant_uid=strawberry.ID(row.applicant_uid), region_code=row.region_code,
            hall=row.hall_code, slot_start=row.slot_start, slot_end=row.slot_end,
            status=rules.AppointmentStatus(row.status), reason=row.reason, suggested_slot=row.suggested_slot,
            application_id=strawberry.ID(row.application_id) if row.application_id else None,
            reminded_at=row.reminded_at, created_at=row.created_at, row=row)

    @strawberry.field(description="我的预约 status: 正常, 即将失效, 已经办理, 已取消 (and 预约不成功, 已失效).")
    def citizen_status(self) -> rules.CitizenAppointmentStatus:
        return rules.citizen_status(self.row, _now())

    @strawberry.field(description="The citizen status in the tender's words, e.g. 即将失效.")
    def citizen_status_label(self) -> str:
        return rules.CITIZEN_LABELS[rules.citizen_status(self.row, _now())]

    @strawberry.field(description="业务办理项 the appointment is for.")
    async def business_item(self, info: Info) -> BusinessItem:
        row = await info.context.loaders.business_item.load(self.row.business_item_id)
        assert row is not None, "the foreign key keeps every appointment's business item"
        return BusinessItem.from_row(row)


@strawberry.type(description="办件交接单: one hall's walk-in cases of one day, handed to the divisions.")
class HandoverSlip:
    id: strawberry.ID
    hall: str
    day: date = strawberry.field(description="The China calendar day.")
    created_by: str
    created_at: datetime
    row: strawberry.Private[models.HandoverSlip]

    @classmethod
    def from_row(cls, row: models.HandoverSlip) -> Self:
        return cls(id=strawberry.ID(row.id), hall=row.hall_code, day=row.day, created_by=row.created_by,
                   created_at=row.created_at, row=row)

    @strawberry.field(description="The cases on the slip, in the order they were put on it.")
    async def applications(self, info: Info) -> list[Application]:
        rows = await info.context.loaders.application.load_many(list(self.row.application_ids))
        return [Application.from_row(r) for r in rows if r is not None]


@strawberry.type(description="A printable file.")
class WindowFile:
    file_name: str
    content_type: str
    content: str = strawberry.field(description="The file's text (a CSV starts with a UTF-8 byte-order mark).")


@strawberry.input(description="办件查询: every condition given must hold; times are half-open (from <= t < to).")
class WindowCaseFilter:
    region_code: str | None = strawberry.field(default=None, description="受理地 and its subtree.")
    created_from: datetime | None = None
    created_to: datetime | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None
    item_id: strawberry.ID | None = strawberry.field(default=None, description="事项.")
    business_item_id: strawberry.ID | None = strawberry.field(default=None, description="业务办理项.")
    applicant_uid: strawberry.ID | None = None
    applicant_name: str | None = strawberry.field(default=None, description="申请人姓名, exact.")
    statuses: list[ApplicationStatus] | None = None
    stage: ApplicationStage | None = None
    channel: str | None = strawberry.field(default=None, description="e.g. WINDOW or ONLINE.")

    def to_domain(self) -> CaseFilter:
        return CaseFilter(
            region_code=self.region_code, created_from=self.created_from, created_to=self.created_to,
            submitted_from=self.submitted_from, submitted_to=self.submitted_to,
            item_id=str(self.item_id) if self.item_id else None,
            business_item_id=str(self.business_item_id) if self.business_item_id else None,
            applicant_uid=str(self.applicant_uid) if self.applicant_uid else None,
            applicant_name=self.applicant_name, statuses=tuple(self.statuses or ()), stage=self.stage,
            channel=self.channel)


@strawberry.type
class WindowQueries:
    @strawberry.field(description="我的预约: the signed-in citizen's appointments, latest slot first.")
    async def my_appointments(self, info: Info) -> list[Appointment]:
        caller = info.context.caller
        if caller is None or caller.person_uid is None:
            raise forbidden("我的预约 needs a citizen account linked to a person.")
        A = models.Appointment
        async with info.context.session() as session:
            rows = (await session.scalars(select(A).where(A.applicant_uid == caller.person_uid)
                                          .order_by(A.slot_start.desc(), A.id).limit(MY_APPOINTMENTS_LIMIT))).all()
        return [Appointment.from_row(r) for r in rows]

    @strawberry.field(description="A hall's appointments of one China day, by slot (window staff of the region).")
    async def hall_appointments(self, info: Info, hall: str, day: date,
                                status: rules.AppointmentStatus | None = None) -> list[Appointment]:
        caller = info.context.caller
        check_desk(caller, "A hall's appointments", Desk.WINDOW)
        A = models.Appointment
        start, end = rules.china_day_bounds(day)
        stmt = select(A).where(A.hall_code == rules.check_hall(hall), A.slot_start >= start, A.slot_start < end)
        if not is_manager(caller):
            stmt = stmt.where(region_scope(caller).condition(A.region_code))
        if status is not None:
            stmt = stmt.where(A.status == status.value)
        async with info.context.session() as session:
            rows = (await session.scalars(stmt.order_by(A.slot_start, A.created_at, A.id))).all()
        return [Appointment.from_row(r) for r in rows]

    @strawberry.field(description="The hall's handover slip of a day, as made so far (null: none yet).")
    async def handover_slip(self, info: Info, hall: str, day: date) -> HandoverSlip | None:
        check_desk(info.context.caller, "The handover slip", Desk.WINDOW)
        async with info.context.session() as session:
            row = await handover.find_slip(session, rules.check_hall(hall), day)
        return HandoverSlip.from_row(row) if row else None

    @strawberry.field(description="办件交接单 as a CSV to print (办件编号, 事项, 申请人, 收件时间, 材料份数).")
    async def handover_slip_csv(self, info: Info, hall: str, day: date) -> WindowFile | None:
        check_desk(info.context.caller, "The handover slip", Desk.WINDOW)
        async with info.context.session() as session:
            row = await handover.find_slip(session, rules.check_hall(hall), day)
            if row is None:
                return None
            lines = await handover.slip_lines(session, row)
        return WindowFile(file_name=handover.slip_file_name(row), content_type="text/csv; charset=utf-8",
                          content=handover.slip_csv(lines))

    @strawberry.field(description="办件查询: cases by region, time, item, business item, applicant, status, "
                                  "stage or channel, newest first, within the caller's queues.")
    async def window_cases(self, info: Info, filter: WindowCaseFilter | None = None, first: int = 20,
                           after: str | None = None) -> Connection[Application]:
        stmt = case_query(info.context.caller, (filter or WindowCaseFilter()).to_domain())
        async with info.context.session() as session:
            return await newest_first_page(session, stmt, Application.from_row, first, after)


@strawberry.type
class WindowMutations:
    @strawberry.mutation(description="在线预约: book a slot (on the hour, 09:00-16:00 China time, Monday-Friday, "
                                     "at most 30 days ahead; 4 places per hall and slot).")
    async def book_appointment(self, info: Info, business_item_id: strawberry.ID, hall: str, slot: datetime,
                               region_code: str | None = None) -> Appointment:
        booking = rules.Booking(business_item_id=str(business_item_id), hall_code=hall, slot_start=slot,
                                region_code=region_code)
        async with info.context.transaction() as session:
            row = await rules.book(session, info.context.caller, booking, _now())
        return Appointment.from_row(row)

    @strawberry.mutation(description="预约取消: only before the slot starts and before handling.")
    async def cancel_appointment(self, info: Info, id: strawberry.ID) -> Appointment:
        async with info.context.transaction() as session:
            row = await rules.cancel(session, info.context.caller, str(id), _now())
        return Appointment.from_row(row)

    @strawberry.mutation(description="预约处理 成功 (window).")
    async def confirm_appointment(self, info: Info, id: strawberry.ID) -> Appointment:
        async with info.context.transaction() as session:
            row = await rules.confirm(session, info.context.caller, str(id), _now())
        return Appointment.from_row(row)

    @strawberry.mutation(description="预约处理 不成功 (window): the reason, and optionally the next time offered.")
    async def reject_appointment(self, info: Info, id: strawberry.ID, reason: str,
                                 suggested_slot: datetime | None = None) -> Appointment:
        async with info.context.transaction() as session:
            row = await rules.reject(session, info.context.caller, str(id), reason, suggested_slot, _now())
        return Appointment.from_row(row)

    @strawberry.mutation(description="已经办理: the window received an application for the appointment.")
    async def complete_appointment(self, info: Info, id: strawberry.ID,
                                   application_id: strawberry.ID) -> Appointment:
        async with info.context.transaction() as session:
            row = await rules.mark_handled(session, info.context.caller, str(id), str(application_id), _now())
        return Appointment.from_row(row)

    @strawberry.mutation(description="办件交接: make (or bring up to date) the hall's slip of a day (default: "
                                     "today in China); its new walk-in cases move to 交接 (HANDOVER).")
    async def create_handover_slip(self, info: Info, hall: str, day: date | None = None) -> HandoverSlip:
        now = _now()
        async with info.context.transaction() as session:
            row = await handover.make_slip(session, info.context.caller, hall, day or rules.china_today(now), now)
        return HandoverSlip.from_row(row)


queries: list[type] = [WindowQueries]
mutations: list[type] = [WindowMutations]
