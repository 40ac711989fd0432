"""预约 (appointments) at a service hall's window (services.md §1.2, §2.5, §5.1 rule 13).

States (Appointment.status):

    BOOKED ──confirm──▶ CONFIRMED ──handled──▶ DONE       (已经办理: an application was received for it)
      │  └──reject──▶ REJECTED (不成功: reason, optional suggested slot)
      ├──cancel──▶ CANCELLED (citizen; only before the slot starts and before handling)
      └──slot passed unhandled──▶ MISSED (the reminders job)

BOOKED and CONFIRMED are the live states ("正常"); a confirmed one may still be cancelled or missed, and a
window may handle a BOOKED one directly (a walk-in that had booked). REJECTED, DONE, CANCELLED and MISSED
are final.

Slots: one hour, starting on the hour from 09:00 to 16:00 China time, Monday to Friday, in the future and
at most 30 days ahead; at most SLOT_CAPACITY live appointments per hall and slot. Public holidays are not
known to the system (a 放假暂停线上办理通知 tells citizens).

Halls: a hall code names a hall of a region. The guides (ServiceGuide.halls) list halls without codes, so
the code convention is "<region code>-hall-<n>" (e.g. 320100-hall-1); any code is accepted, and a code in
that form gives the region when none is passed.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.china_time import CHINA as CHINA  # re-exported
from subgraphs.common.china_time import china_day_bounds as china_day_bounds
from subgraphs.common.china_time import today_in_china as today_in_china
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.scope import region_scope
from subgraphs.services import models
from subgraphs.services.access import Desk, check_desk, is_manager

OPENS, CLOSES = 9, 17  # working hours, China time
SLOT = timedelta(hours=1)
SLOT_CAPACITY = 4
HORIZON = timedelta(days=30)
EXPIRING_WITHIN = timedelta(hours=24)  # 即将失效
MAX_REASON = 200
_HALL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_REGION_OF_HALL = re.compile(r"^(\d{6}|\d{9}|\d{12})-")


class AppointmentStatus(Enum):
    BOOKED = "BOOKED"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    DONE = "DONE"
    CANCELLED = "CANCELLED"
    MISSED = "MISSED"


LIVE = frozenset({AppointmentStatus.BOOKED.value, AppointmentStatus.CONFIRMED.value})


class CitizenAppointmentStatus(Enum):
    """我的预约 as the tender words it (正常 / 即将失效 / 已经办理 / 已取消), plus the two ends it does not name."""

    NORMAL = "NORMAL"
    EXPIRING = "EXPIRING"
    HANDLED = "HANDLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


CITIZEN_LABELS = {
    CitizenAppointmentStatus.NORMAL: "正常",
    CitizenAppointmentStatus.EXPIRING: "即将失效",
    CitizenAppointmentStatus.HANDLED: "已经办理",
    CitizenAppointmentStatus.CANCELLED: "已取消",
    CitizenAppointmentStatus.REJECTED: "预约不成功",
    CitizenAppointmentStatus.EXPIRED: "已失效",
}


def citizen_status(row: models.Appointment, now: datetime) -> CitizenAppointmentStatus:
    status = AppointmentStatus(row.status)
    if status is AppointmentStatus.DONE:
        return CitizenAppointmentStatus.HANDLED
    if status is AppointmentStatus.CANCELLED:
        return CitizenAppointmentStatus.CANCELLED
    if status is AppointmentStatus.REJECTED:
        return CitizenAppointmentStatus.REJECTED
    # MISSED, or live with the slot over but not yet marked by the daily job.
    if status is AppointmentStatus.MISSED or row.slot_end <= now:
        return CitizenAppointmentStatus.EXPIRED
    if row.slot_start - now <= EXPIRING_WITHIN:
        return CitizenAppointmentStatus.EXPIRING
    return CitizenAppointmentStatus.NORMAL


def china_today(now: datetime) -> date:
    return today_in_china(now)


def check_slot(slot_start: datetime, now: datetime, argument: str = "slot") -> datetime:
    """The slot as an aware UTC time, or BAD_USER_INPUT saying which rule it breaks."""
    if slot_start.tzinfo is None:
        raise bad_input("A slot needs a time zone (e.g. 2026-03-02T09:00:00+08:00).", argument=argument)
    local = slot_start.astimezone(CHINA)
    if local.weekday() >= 5:
        raise bad_input("Halls take appointments Monday to Friday only.", argument=argument)
    if local.minute or local.second or local.microsecond or not OPENS <= local.hour < CLOSES:
        raise bad_input(f"A slot starts on the hour between {OPENS:02d}:00 and {CLOSES - 1:02d}:00 China time.",
                        argument=argument, opens=f"{OPENS:02d}:00", closes=f"{CLOSES:02d}:00")
    slot = local.astimezone(UTC)
    if slot <= now:
        raise bad_input("The slot has already started.", argument=argument)
    if slot > now + HORIZON:
        raise bad_input(f"Appointments open at most {HORIZON.days} days ahead.", argument=argument,
                        maximumDays=HORIZON.days)
    return slot


def check_hall(hall_code: str) -> str:
    hall_code = hall_code.strip()
    if not _HALL_CODE.match(hall_code):
        raise bad_input("A hall code is 1-40 letters, digits, '-', '_' or '.', e.g. 320100-hall-1.", argument="hall")
    return hall_code


def region_of_hall(hall_code: str, region_code: str | None) -> str:
    if region_code is not None and region_code.strip():
        region_code = region_code.strip()
        if not region_code.isdigit() or len(region_code) not in (6, 9, 12):
            raise bad_input(f"{region_code!r} is not a region code (6, 9 or 12 digits).", argument="regionCode")
        return region_code
    match = _REGION_OF_HALL.match(hall_code)
    if match is None:
        raise bad_input("Say the hall's region (regionCode): the hall code does not start with one.",
                        argument="regionCode")
    return match.group(1)


async def _lock_slot(session: AsyncSession, hall_code: str, slot: datetime) -> None:
    """Serialise bookings of one hall slot on PostgreSQL so two cannot both take its last place (SQLite
    writers are serialised by the database anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        key = f"appointment:{hall_code}:{slot.isoformat()}"
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


async def live_count(session: AsyncSession, hall_code: str, slot: datetime) -> int:
    A = models.Appointment
    return int(await session.scalar(
        select(func.count()).select_from(A).where(A.hall_code == hall_code, A.slot_start == slot,
                                                  A.status.in_(LIVE))) or 0)


@dataclass(frozen=True)
class Booking:
    business_item_id: str
    hall_code: str
    slot_start: datetime
    region_code: str | None = None


async def book(session: AsyncSession, caller: Caller | None, booking: Booking, now: datetime) -> models.Appointment:
    """在线预约 by a citizen (the person behind the account)."""
    if caller is None or caller.person_uid is None:
        raise forbidden("Booking an appointment needs a citizen account linked to a person.")
    hall = check_hall(booking.hall_code)
    region = region_of_hall(hall, booking.region_code)
    slot = check_slot(booking.slot_start, now)
    item = await session.get(models.BusinessItem, booking.business_item_id)
    if item is None or not item.enabled:
        raise domain_error(ErrorCode.NOT_FOUND, f"No business item {booking.business_item_id!r} takes appointments.",
                           argument="businessItemId")
    await _lock_slot(session, hall, slot)
    A = models.Appointment
    mine = await session.scalar(select(A.id).where(A.applicant_uid == caller.person_uid, A.slot_start == slot,
                                                   A.status.in_(LIVE)))
    if mine is not None:
        raise domain_error(ErrorCode.CONFLICT, "You already have an appointment at that time.", appointmentId=mine)
    if await live_count(session, hall, slot) >= SLOT_CAPACITY:
        raise domain_error(ErrorCode.CONFLICT, "That slot of the hall is full; choose another time.",
                           capacity=SLOT_CAPACITY)
    row = models.Appointment(
        id=f"apt-{uuid.uuid4().hex}", applicant_uid=caller.person_uid, business_item_id=item.id,
        region_code=region, hall_code=hall, slot_start=slot, slot_end=slot + SLOT,
        status=AppointmentStatus.BOOKED.value, created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    return row


async def _load(session: AsyncSession, appointment_id: str) -> models.Appointment:
    row = await session.get(models.Appointment, appointment_id, with_for_update=True)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No appointment {appointment_id!r}.", argument="id")
    return row


def _illegal(row: models.Appointment, what: str) -> Exception:
    return domain_error(ErrorCode.INVALID_STATE, f"An appointment that is {row.status} cannot be {what}.",
                        status=row.status)


def check_window_of(caller: Caller | None, row: models.Appointment, what: str) -> None:
    """Window staff act on the appointments of their region (managers: all)."""
    check_desk(caller, what, Desk.WINDOW)
    if not is_manager(caller) and not region_scope(caller).allows(row.region_code):
        raise forbidden(f"The appointment's hall is in region {row.region_code}, outside your data scope.")


async def cancel(session: AsyncSession, caller: Caller | None, appointment_id: str,
                 now: datetime) -> models.Appointment:
    """预约取消: only the applicant, only before handling ("在未办理前")."""
    row = await _load(session, appointment_id)
    if caller is None or caller.person_uid is None or caller.person_uid != row.applicant_uid:
        raise forbidden("Only the person who booked an appointment may cancel it.")
    if row.status not in LIVE:
        raise _illegal(row, "cancelled")
    if row.slot_start <= now:
        raise domain_error(ErrorCode.INVALID_STATE, "The slot has started: the appointment can no longer be "
                           "cancelled.", status=row.status)
    row.status, row.updated_at = AppointmentStatus.CANCELLED.value, now
    return row


async def confirm(session: AsyncSession, caller: Caller | None, appointment_id: str,
                  now: datetime) -> models.Appointment:
    """预约处理 成功 (window)."""
    row = await _load(session, appointment_id)
    check_window_of(caller, row, "Confirming an appointment")
    if row.status != AppointmentStatus.BOOKED.value:
        raise _illegal(row, "confirmed")
    if row.slot_end <= now:
        raise domain_error(ErrorCode.INVALID_STATE, "The slot is over.", status=row.status)
    row.status, row.updated_at = AppointmentStatus.CONFIRMED.value, now
    return row


async def reject(session: AsyncSession, caller: Caller | None, appointment_id: str, reason: str,
                 suggested_slot: datetime | None, now: datetime) -> models.Appointment:
    """预约处理 不成功 (window): a reason, and optionally the next time the hall can offer."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise bad_input(f"A rejection needs a reason of 1-{MAX_REASON} characters.", argument="reason")
    row = await _load(session, appointment_id)
    check_window_of(caller, row, "Rejecting an appointment")
    if row.status != AppointmentStatus.BOOKED.value:
        raise _illegal(row, "rejected")
    suggested = check_slot(suggested_slot, now, "suggestedSlot") if suggested_slot is not None else None
    row.status, row.reason, row.suggested_slot, row.updated_at = (
        AppointmentStatus.REJECTED.value, reason, suggested, now)
    return row


async def mark_handled(session: AsyncSession, caller: Caller | None, appointment_id: str, application_id: str,
                       now: datetime) -> models.Appointment:
    """已经办理: the window received an application for the appointment (the intake calls this, or the
    window does afterwards). The application must be the appointment's applicant's."""
    row = await _load(session, appointment_id)
    check_window_of(caller, row, "Recording a handled appointment")
    if row.status not in LIVE:
        raise _illegal(row, "handled")
    application = await session.get(models.Application, application_id)
    if application is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No application {application_id!r}.", argument="applicationId")
    if application.applicant_uid != row.applicant_uid:
        raise bad_input("The application is not the appointment's applicant's.", argument="applicationId")
    row.status, row.application_id, row.updated_at = AppointmentStatus.DONE.value, application_id, now
    return row
