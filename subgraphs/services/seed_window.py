"""Seeds the window and publicity (after the applications): appointments in every state for the seeded
individual applicants, a few notices, and the publicity of every seeded APPROVED application of a
licensing or filing item.

`now` is the seed's "now" (the applications seed's); appointments lie from 6 weeks before it to 4 weeks
after, so the reminders job and 我的预约 have something to show. Everything follows from `seed` and the
rows already seeded: ids are apt-seed-<serial>, notice-seed-<n> and publicity_id(application id).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.services import models
from subgraphs.services.domain.appointments import (
    CHINA,
    CLOSES,
    OPENS,
    SLOT,
    SLOT_CAPACITY,
    AppointmentStatus,
    china_day_bounds,
    china_today,
)
from subgraphs.services.domain.publicity import DECISION_KIND, KIND_OF_POWER, NoticeKind, publicity_row

APPOINTMENTS = 300
DAYS_BEFORE, DAYS_AFTER = 42, 28
PAST = ((AppointmentStatus.DONE, 55), (AppointmentStatus.MISSED, 15), (AppointmentStatus.CANCELLED, 15),
        (AppointmentStatus.REJECTED, 15))
FUTURE = ((AppointmentStatus.BOOKED, 40), (AppointmentStatus.CONFIRMED, 35), (AppointmentStatus.CANCELLED, 15),
          (AppointmentStatus.REJECTED, 10))
REASONS = ("该时段窗口已约满", "所选事项需先在线预审", "办理地点调整，请改约其他时段", "材料不齐，请补齐后再约")
LIVE_OR_DONE = {AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.DONE}


def hall_of(region_code: str | None) -> tuple[str, str]:
    """(region, hall code): the city's first hall (the code convention of domain/appointments.py)."""
    city = (region_code or "320100")[:4] + "00"
    return city, f"{city}-hall-1"


def _slot(rng: random.Random, now: datetime) -> datetime:
    while True:
        day = china_today(now) + timedelta(days=rng.randint(-DAYS_BEFORE, DAYS_AFTER))
        if day.weekday() < 5:
            start, _ = china_day_bounds(day)
            return start + timedelta(hours=rng.randrange(OPENS, CLOSES))


def _pick(rng: random.Random, weighted: tuple[tuple[AppointmentStatus, int], ...]) -> AppointmentStatus:
    return rng.choices([s for s, _ in weighted], [w for _, w in weighted])[0]


async def _appointments(session: AsyncSession, seed: int, now: datetime) -> list[dict[str, object]]:
    Ap = models.Application
    rows = (await session.execute(
        select(Ap.applicant_uid, Ap.id, Ap.business_item_id, Ap.region_code)
        .where(Ap.applicant_type == "INDIVIDUAL").order_by(Ap.applicant_uid, Ap.id))).all()
    cases: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for uid, application_id, business_item_id, region in rows:
        cases[uid].append((application_id, business_item_id, region))
    if not cases:
        return []
    rng = random.Random(f"jshealth-services-window:{seed}")
    uids = sorted(cases)
    taken: Counter[tuple[str, datetime]] = Counter()
    out: list[dict[str, object]] = []
    tomorrow = china_today(now) + timedelta(days=1)
    while len(out) < min(APPOINTMENTS, 3 * len(uids)):
        uid = rng.choice(uids)
        application_id, business_item_id, region_code = rng.choice(cases[uid])
        region, hall = hall_of(region_code)
        start = _slot(rng, now)
        past = start + SLOT <= now
        status = _pick(rng, PAST if past else FUTURE)
        if status in LIVE_OR_DONE:
            if taken[(hall, start)] >= SLOT_CAPACITY:
                continue
            taken[(hall, start)] += 1
        booked = start - timedelta(days=rng.randint(1, 20), minutes=rng.randrange(600))
        day = start.astimezone(CHINA).date()
        # Reminders went out the morning before for what was live then; tomorrow's are the job's to send.
        reminded = (china_day_bounds(day)[0] - timedelta(hours=16)
                    if day < tomorrow and status in LIVE_OR_DONE | {AppointmentStatus.MISSED} else None)
        rejected = status is AppointmentStatus.REJECTED
        suggested = start + timedelta(days=7) if rejected and rng.random() < 0.6 else None
        out.append({
            "id": f"apt-seed-{len(out) + 1:06d}", "applicant_uid": uid, "business_item_id": business_item_id,
            "region_code": region, "hall_code": hall, "slot_start": start, "slot_end": start + SLOT,
            "status": status.value, "reason": rng.choice(REASONS) if rejected else None, "suggested_slot": suggested,
            "application_id": application_id if status is AppointmentStatus.DONE else None,
            "reminded_at": reminded, "created_at": booked,
            "updated_at": min(now, start) if status is not AppointmentStatus.BOOKED else booked,
        })
    return out


def _notices(now: datetime) -> list[dict[str, object]]:
    """One ended, three in force, one to come; none that blocks submission now or later."""
    notices = [
        (NoticeKind.HOLIDAY_SUSPENSION, "国庆假期暂停线上办理通知",
         "国庆假期期间（10月1日至10月8日）暂停线上办理，10月9日起恢复。假期提交的申请顺延至节后受理。",
         now - timedelta(days=95), now - timedelta(days=85), True),
        (NoticeKind.SYSTEM_UPDATE, "卫生健康政务服务系统更新通知",
         "系统已完成更新：新增预约提醒、办件交接单打印与许可/备案结果自动公示。", now - timedelta(days=3), None, False),
        (NoticeKind.ITEM_UPDATE, "办理事项更新公告",
         "护士执业注册、医师执业注册等事项的办事指南已按省政务服务事项库更新，请按新指南准备材料。",
         now - timedelta(days=20), now + timedelta(days=60), False),
        (NoticeKind.UPGRADE, "一件事平台升级公告", "出生一件事办理页面已升级，办理流程不变。",
         now - timedelta(days=1), now + timedelta(days=13), False),
        (NoticeKind.MAINTENANCE, "系统维护公告", "系统将于维护时段内短暂不可用，请错峰办理。",
         now + timedelta(days=10), now + timedelta(days=10, hours=4), False),
    ]
    return [{"id": f"notice-seed-{i}", "kind": kind.value, "title": title, "content": content,
             "valid_from": start, "valid_to": end, "blocks_submission": blocks, "created_by": "seed",
             "created_at": start - timedelta(days=1)}
            for i, (kind, title, content, start, end, blocks) in enumerate(notices, 1)]


async def _publicity(session: AsyncSession) -> list[models.Publicity]:
    Ap, B, It, D = models.Application, models.BusinessItem, models.ServiceItem, models.ApplicationDocument
    approved = (await session.execute(
        select(Ap, B).join(B, B.id == Ap.business_item_id).join(It, It.id == B.item_id)
        .where(Ap.status == "APPROVED", It.power_type.in_(list(KIND_OF_POWER))).order_by(Ap.id))).all()
    documents: dict[str, models.ApplicationDocument] = {}
    for document in (await session.scalars(
            select(D).where(D.kind == DECISION_KIND).order_by(D.application_id, D.issued_at, D.id))).all():
        documents[document.application_id] = document  # the newest wins
    return [publicity_row(a, b, KIND_OF_POWER[b.item.power_type], documents.get(a.id),
                          a.completed_at or a.updated_at) for a, b in approved]


async def seed_window(session: AsyncSession, seed: int, now: datetime) -> None:
    appointments = await _appointments(session, seed, now)
    if appointments:
        await session.execute(insert(models.Appointment), appointments)
    await session.execute(insert(models.Notice), _notices(now))
    session.add_all(await _publicity(session))
    await session.flush()
