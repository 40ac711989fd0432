"""办件交接单: "当天窗口收到的办件，需导出办件交接单及办理材料移交给相应办理处室" (services.md §1.2, L4758-L4768).

A slip covers one hall and one China calendar day (unique). Making it collects the hall's walk-in
applications (channel WINDOW) still RECEIVED that were received that day, and moves each to HANDOVER through
the workflow. Asking again for the same hall and day returns the same slip with the cases received since
added (a late walk-in is not left behind); cases already on it stay on it.

Which hall received a case: Application.form_data["hall"] (the intake records the hall code there); a
case without it belongs to the hall of the staff member's organisation, i.e. it is collected when its
organization_id is the caller's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.masking import mask_name
from subgraphs.common.spreadsheet import csv_text
from subgraphs.services import models
from subgraphs.services.access import Desk, actor_of, check_desk, staff_sees
from subgraphs.services.domain.appointments import CHINA, check_hall, china_day_bounds
from subgraphs.services.domain.workflow import transition
from subgraphs.services.status import Action, ApplicationStatus

HALL_KEY = "hall"  # Application.form_data key the intake writes the hall code under
WINDOW_CHANNEL = "WINDOW"
CSV_HEADER = ("办件编号", "事项", "申请人", "收件时间", "材料份数")


def _received_at(application: models.Application) -> datetime:
    return application.submitted_at or application.created_at


def _of_hall(application: models.Application, hall_code: str, caller: Caller | None) -> bool:
    hall = (application.form_data or {}).get(HALL_KEY)
    if hall is not None:
        return hall == hall_code
    return caller is not None and caller.organization_id is not None \
        and application.organization_id == caller.organization_id


async def _received_today(session: AsyncSession, caller: Caller | None, hall_code: str,
                          day: date) -> list[models.Application]:
    Ap = models.Application
    start, end = china_day_bounds(day)
    received = func.coalesce(Ap.submitted_at, Ap.created_at)
    rows = (await session.scalars(
        select(Ap).where(Ap.channel == WINDOW_CHANNEL, Ap.status == ApplicationStatus.RECEIVED.value,
                         received >= start, received < end, staff_sees(caller))
        .order_by(received, Ap.id))).all()
    return [row for row in rows if _of_hall(row, hall_code, caller)]


async def find_slip(session: AsyncSession, hall_code: str, day: date) -> models.HandoverSlip | None:
    S = models.HandoverSlip
    return await session.scalar(select(S).where(S.hall_code == hall_code, S.day == day))


async def make_slip(session: AsyncSession, caller: Caller | None, hall_code: str, day: date,
                    now: datetime) -> models.HandoverSlip:
    """The hall's slip of `day`, made or brought up to date; its new cases move to HANDOVER."""
    check_desk(caller, "The handover slip", Desk.WINDOW)
    hall_code = check_hall(hall_code)
    actor = actor_of(caller)
    slip = await find_slip(session, hall_code, day)
    if slip is None:
        try:
            async with session.begin_nested():
                slip = models.HandoverSlip(id=f"hs-{uuid.uuid4().hex}", hall_code=hall_code, day=day,
                                           application_ids=[], created_by=actor, created_at=now)
                session.add(slip)
        except IntegrityError:
            # Another window of the hall made it at the same moment: add to theirs.
            slip = await find_slip(session, hall_code, day)
            assert slip is not None
    new = [a for a in await _received_today(session, caller, hall_code, day) if a.id not in slip.application_ids]
    for application in new:
        await transition(session, application, Action.HANDOVER, actor=actor, at=now, caller=caller,
                         comment=f"办件交接单 {hall_code} {day.isoformat()}")
    if new:
        # A new list, not an in-place append: the JSON column only notices assignment.
        slip.application_ids = [*slip.application_ids, *(a.id for a in new)]
    await session.flush()
    return slip


@dataclass(frozen=True)
class SlipLine:
    number: str
    item: str
    applicant: str
    received_at: datetime
    materials: int


async def slip_lines(session: AsyncSession, slip: models.HandoverSlip) -> list[SlipLine]:
    """The slip's cases in the order they were put on it, as printed."""
    Ap, M, B = models.Application, models.ApplicationMaterial, models.BusinessItem
    ids: Sequence[str] = slip.application_ids
    if not ids:
        return []
    rows = {a.id: a for a in (await session.scalars(select(Ap).where(Ap.id.in_(ids)))).all()}
    items = {b.id: b for b in (await session.scalars(
        select(B).where(B.id.in_({a.business_item_id for a in rows.values()})))).all()}
    counts = dict((await session.execute(
        select(M.application_id, func.count()).where(M.application_id.in_(ids), M.superseded_at.is_(None))
        .group_by(M.application_id))).all())
    lines = []
    for application_id in ids:
        a = rows.get(application_id)
        if a is None:
            continue
        business = items[a.business_item_id]
        lines.append(SlipLine(number=a.number, item=f"{business.item.name}（{business.name}）",
                              applicant=mask_name(a.applicant_name) or "", received_at=_received_at(a),
                              materials=int(counts.get(a.id, 0))))
    return lines


def slip_csv(lines: Sequence[SlipLine]) -> str:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese columns right; a cell Excel would run as
    a formula (an applicant's name, an item's name) is written as text."""
    return csv_text(CSV_HEADER, ([line.number, line.item, line.applicant,
                                  line.received_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"), line.materials]
                                 for line in lines))


def slip_file_name(slip: models.HandoverSlip) -> str:
    return f"办件交接单-{slip.hall_code}-{slip.day:%Y%m%d}.csv"
