"""`python -m subgraphs.services.jobs.reminders [--at ISO-TIME]`: the appointments' daily job, on the services
database named by DATABASE_URL. The deployment runs it once a day (cron, e.g. `0 8 * * *` China time);
running it more often is harmless.

* 提前1天提醒: one outbox event "services.appointment.reminder" {appointmentId, applicantUid, slotStart, hall}
  for every live (BOOKED or CONFIRMED) appointment whose slot falls on tomorrow's China date, exactly once
  (Appointment.reminded_at); the notification service turns it into the SMS / e-mail.
* 已失效: live appointments whose slot is over without handling become MISSED.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.config import database_url
from db.engine import make_engine, make_sessionmaker
from subgraphs.common.outbox import emit
from subgraphs.services import models
from subgraphs.services.domain.appointments import LIVE, AppointmentStatus, china_day_bounds, china_today

DOMAIN = "services"
REMINDER_TOPIC = "services.appointment.reminder"


@dataclass(frozen=True)
class ReminderReport:
    reminded: int
    missed: int


async def remind(session: AsyncSession, now: datetime) -> ReminderReport:
    """Send tomorrow's reminders and mark the missed appointments, in the caller's transaction."""
    A = models.Appointment
    start, end = china_day_bounds(china_today(now) + timedelta(days=1))
    due = (await session.scalars(
        select(A).where(A.status.in_(LIVE), A.reminded_at.is_(None), A.slot_start >= start, A.slot_start < end)
        .order_by(A.slot_start, A.id).with_for_update(skip_locked=True))).all()
    for row in due:
        emit(session, models.OutboxEvent, REMINDER_TOPIC, {
            "appointmentId": row.id, "applicantUid": row.applicant_uid, "slotStart": row.slot_start.isoformat(),
            "hall": row.hall_code})
        row.reminded_at = now
    missed = await session.execute(
        update(A).where(A.status.in_(LIVE), A.slot_end <= now)
        .values(status=AppointmentStatus.MISSED.value, updated_at=now))
    return ReminderReport(reminded=len(due), missed=int(getattr(missed, "rowcount", 0) or 0))


async def run(url: str, now: datetime) -> ReminderReport:
    engine = make_engine(DOMAIN, url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await remind(session, now)
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m subgraphs.services.jobs.reminders", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--at", type=datetime.fromisoformat, default=None,
                        help="run as if it were this time (ISO 8601 with offset; default: now)")
    args = parser.parse_args(argv)
    now = args.at or datetime.now(UTC)
    if now.tzinfo is None:
        parser.error("--at needs a time zone, e.g. 2026-03-02T08:00:00+08:00")
    print(f"appointment reminders as of {now.isoformat()} …")
    report = asyncio.run(run(database_url(), now))
    print(f"reminded {report.reminded} appointment(s) of tomorrow, marked {report.missed} missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
