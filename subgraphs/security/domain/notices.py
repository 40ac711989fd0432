"""网络安全通知 (5.3.12): notices to units, their delivery per unit, and the materials units must submit.

Delivery: UNREAD -> READ (已读) or REFUSED (拒收, with a reason). An edit tells the units why and puts every
delivery back to UNREAD, so each unit reads the new text; a withdrawal ends the notice, also with a reason.

Materials (材料报送): a delivery is MISSING until every required code has a file, then COMPLETE; the
administrator may return it as NON_COMPLIANT with 修改要求, and the unit's next upload makes it COMPLETE again
when nothing required is missing (earlier files are kept: the trail). `remind_missing` is the daily job of
补报提醒: deliveries still MISSING past the deadline or within a day of it get one reminder per (China) day.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, exists, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.outbox import emit
from subgraphs.security import models
from subgraphs.security.access import actor_of, check_admin, is_admin
from subgraphs.security.domain.drills import check_file, max_bytes

NOTICE_TYPES = {"POLICY": "政策文件", "ARRANGEMENT": "工作部署", "RISK": "风险提示"}
CHANNELS = ("POPUP", "EMAIL", "SMS")  # 系统内消息弹窗, 企业邮箱, 手机短信
MATERIAL_FORMATS = frozenset({"PDF", "DOCX", "XLSX", "ZIP", "PNG", "JPEG"})
MAX_MATERIAL_ENV = "SECURITY_MAX_MATERIAL_BYTES"
REMIND_WINDOW = timedelta(days=1)
REMINDER_CHANNELS = ["SMS", "POPUP"]  # 短信+系统消息
# Reminders count per calendar day where the units work.
CHINA = timezone(timedelta(hours=8))


def _event(session: AsyncSession, action: str, payload: dict[str, Any]) -> None:
    emit(session, models.OutboxEvent, f"security.notice.{action}", payload)


def _clean_channels(channels: list[str]) -> list[str]:
    chosen = [c for c in CHANNELS if c in set(channels)]
    if not chosen or set(channels) - set(CHANNELS):
        raise bad_input("Choose one or more channels of POPUP, EMAIL, SMS.", field="channels")
    return chosen


def _clean_materials(materials: list[dict[str, Any]], deadline: datetime | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in materials:
        code, name = str(m.get("code", "")).strip(), str(m.get("name", "")).strip()
        if not code or not name or len(code) > 32:
            raise bad_input("Every material needs a code (at most 32 characters) and a name.", field="materials")
        if any(o["code"] == code for o in out):
            raise bad_input(f"The material code {code} appears twice.", field="materials")
        out.append({"code": code, "name": name, "required": bool(m.get("required", True))})
    if out and deadline is None:
        raise bad_input("Materials to submit need a deadline.", field="materialDeadline")
    return out


def _required_codes(notice: models.SecurityNotice) -> set[str]:
    return {m["code"] for m in notice.materials if m.get("required", True)}


async def publish(session: AsyncSession, caller: Caller | None, *, notice_type: str, title: str, content: str,
                  channels: list[str], org_ids: list[str], materials: list[dict[str, Any]],
                  material_deadline: datetime | None, now: datetime) -> models.SecurityNotice:
    check_admin(caller, "Publishing a security notice")
    if notice_type not in NOTICE_TYPES:
        raise bad_input(f"Unknown notice type {notice_type}.", field="noticeType", allowed=list(NOTICE_TYPES))
    if not title.strip() or not content.strip():
        raise bad_input("A notice needs a title and content.", field="title")
    orgs = sorted({o.strip() for o in org_ids if o.strip()})
    if not orgs:
        raise bad_input("Choose the receiving units.", field="orgIds")
    notice = models.SecurityNotice(
        id=f"ntc-{uuid.uuid4().hex[:24]}", notice_type=notice_type, title=title.strip(), content=content,
        channels=_clean_channels(channels), materials=_clean_materials(materials, material_deadline),
        material_deadline=material_deadline, status="PUBLISHED", sender=actor_of(caller), published_at=now,
        updated_at=now,
    )
    session.add(notice)
    await session.flush()
    for org in orgs:
        session.add(models.NoticeDelivery(notice_id=notice.id, org_id=org, status="UNREAD", reminders=0,
                                          material_status="MISSING" if notice.materials else None))
    _event(session, "published", {"noticeId": notice.id, "noticeType": notice_type, "orgIds": orgs,
                                  "channels": notice.channels})
    await session.flush()
    return notice


async def get_notice(session: AsyncSession, notice_id: str) -> models.SecurityNotice:
    notice = await session.get(models.SecurityNotice, notice_id)
    if notice is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No notice {notice_id}.")
    return notice


def _check_published(notice: models.SecurityNotice) -> None:
    if notice.status != "PUBLISHED":
        raise domain_error(ErrorCode.INVALID_STATE, f"The notice is {notice.status}.", status=notice.status,
                           allowedActions=[])


async def deliveries_of(session: AsyncSession, notice_id: str) -> list[models.NoticeDelivery]:
    return list((await session.scalars(select(models.NoticeDelivery).where(
        models.NoticeDelivery.notice_id == notice_id).order_by(models.NoticeDelivery.org_id))).all())


async def edit(session: AsyncSession, caller: Caller | None, notice_id: str, *, reason: str,
               title: str | None = None, content: str | None = None, channels: list[str] | None = None,
               materials: list[dict[str, Any]] | None = None, material_deadline: datetime | None = None,
               now: datetime) -> models.SecurityNotice:
    """Change a published notice; the reason goes to the units and every delivery is unread again."""
    check_admin(caller, "Editing a security notice")
    notice = await get_notice(session, notice_id)
    _check_published(notice)
    why = reason.strip()
    if not why:
        raise bad_input("The reason for the change is required (the units are told).", field="reason")
    if title is not None:
        if not title.strip():
            raise bad_input("The title cannot be empty.", field="title")
        notice.title = title.strip()
    if content is not None:
        notice.content = content
    if channels is not None:
        notice.channels = _clean_channels(channels)
    if material_deadline is not None:
        notice.material_deadline = material_deadline
    if materials is not None:
        notice.materials = _clean_materials(materials, notice.material_deadline)
    notice.edit_reason, notice.updated_at = why[:200], now
    for d in await deliveries_of(session, notice.id):
        d.status, d.read_at, d.refusal_reason = "UNREAD", None, None
        await _recompute(session, notice, d)
    _event(session, "edited", {"noticeId": notice.id, "reason": notice.edit_reason})
    await session.flush()
    return notice


async def withdraw(session: AsyncSession, caller: Caller | None, notice_id: str, reason: str,
                   now: datetime) -> models.SecurityNotice:
    check_admin(caller, "Withdrawing a security notice")
    notice = await get_notice(session, notice_id)
    _check_published(notice)
    if not reason.strip():
        raise bad_input("The reason for withdrawing is required (the units are told).", field="reason")
    notice.status, notice.edit_reason, notice.updated_at = "WITHDRAWN", reason.strip()[:200], now
    _event(session, "withdrawn", {"noticeId": notice.id, "reason": notice.edit_reason})
    return notice


async def own_delivery(session: AsyncSession, caller: Caller | None,
                       notice_id: str) -> tuple[models.SecurityNotice, models.NoticeDelivery]:
    """The caller's organisation's delivery of a notice (units act on their own delivery only)."""
    org = caller.organization_id if caller and not caller.anonymous else None
    delivery = None if org is None else await session.scalar(select(models.NoticeDelivery).where(
        models.NoticeDelivery.notice_id == notice_id, models.NoticeDelivery.org_id == org))
    if delivery is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No notice {notice_id} was sent to the caller's organisation.")
    return await get_notice(session, notice_id), delivery


def _delivery_event(session: AsyncSession, action: str, d: models.NoticeDelivery, **extra: Any) -> None:
    _event(session, action, {"noticeId": d.notice_id, "orgId": d.org_id, "status": d.status,
                             "materialStatus": d.material_status, **extra})


async def receive(session: AsyncSession, caller: Caller | None, notice_id: str, *, refuse: bool,
                  reason: str | None, now: datetime) -> models.NoticeDelivery:
    """已读 or 拒收 (with a reason) by the receiving unit, from UNREAD only."""
    notice, d = await own_delivery(session, caller, notice_id)
    _check_published(notice)
    if d.status != "UNREAD":
        raise domain_error(ErrorCode.INVALID_STATE, f"The notice is already {d.status}.", status=d.status,
                           allowedActions=[])
    if refuse:
        why = (reason or "").strip()
        if not why:
            raise bad_input("拒收 needs a reason.", field="reason")
        d.status, d.refusal_reason = "REFUSED", why[:200]
    else:
        d.status = "READ"
    d.read_at = now
    _delivery_event(session, "refused" if refuse else "read", d)
    return d


async def _files_by_code(session: AsyncSession, delivery_id: int) -> set[str]:
    return set((await session.scalars(select(models.NoticeMaterial.code).where(
        models.NoticeMaterial.delivery_id == delivery_id))).all())


async def _recompute(session: AsyncSession, notice: models.SecurityNotice, d: models.NoticeDelivery) -> None:
    if not notice.materials:
        d.material_status = None
        return
    if d.material_status == "NON_COMPLIANT":
        return  # stays returned until the unit uploads again
    have = await _files_by_code(session, d.id)
    complete = _required_codes(notice) <= have and bool(have)
    d.material_status = "COMPLETE" if complete else "MISSING"


async def submit_material(session: AsyncSession, caller: Caller | None, notice_id: str, code: str, name: str,
                          content_base64: str, now: datetime) -> models.NoticeMaterial:
    """A unit uploads one of the notice's materials; earlier files stay (the resubmission trail)."""
    notice, d = await own_delivery(session, caller, notice_id)
    _check_published(notice)
    if code not in {m["code"] for m in notice.materials}:
        raise bad_input(f"The notice asks for no material {code}.", field="code",
                        allowed=[m["code"] for m in notice.materials])
    checked = check_file(name, content_base64, MATERIAL_FORMATS, max_bytes(MAX_MATERIAL_ENV))
    material = models.NoticeMaterial(
        id=f"nmt-{uuid.uuid4().hex[:24]}", delivery_id=d.id, code=code, name=checked.name,
        content_type=checked.content_type, size=len(checked.content), sha256=checked.sha256,
        content=checked.content, submitted_by=actor_of(caller), submitted_at=now)
    session.add(material)
    await session.flush()
    if d.material_status == "NON_COMPLIANT":
        d.material_status = "MISSING"  # a resubmission: judged afresh below
    await _recompute(session, notice, d)
    d.submitted_at = now
    _delivery_event(session, "material-submitted", d, code=code, materialId=material.id)
    return material


async def return_material(session: AsyncSession, caller: Caller | None, delivery_id: int, note: str,
                          now: datetime) -> models.NoticeDelivery:
    """不符合要求: the administrator sends a complete submission back with 修改要求."""
    check_admin(caller, "Reviewing submitted materials")
    d = await session.get(models.NoticeDelivery, delivery_id)
    if d is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No delivery {delivery_id}.")
    if d.material_status != "COMPLETE":
        raise domain_error(ErrorCode.INVALID_STATE, f"Only a complete submission can be returned; this one is "
                           f"{d.material_status}.", status=d.material_status, allowedActions=[])
    if not note.strip():
        raise bad_input("修改要求 is required.", field="note")
    d.material_status, d.review_note = "NON_COMPLIANT", note.strip()[:500]
    _delivery_event(session, "material-returned", d, note=d.review_note)
    return d


async def remind_missing(session: AsyncSession, now: datetime) -> int:
    """Job: one reminder per China day for each delivery still MISSING within a day of its deadline or
    past it; how many reminders were sent."""
    rows = (await session.execute(
        select(models.NoticeDelivery, models.SecurityNotice.channels)
        .join(models.SecurityNotice, models.SecurityNotice.id == models.NoticeDelivery.notice_id)
        .where(models.SecurityNotice.status == "PUBLISHED", models.NoticeDelivery.material_status == "MISSING",
               models.SecurityNotice.material_deadline.is_not(None),
               models.SecurityNotice.material_deadline <= now + REMIND_WINDOW)
        .order_by(models.NoticeDelivery.id)
    )).all()
    today = now.astimezone(CHINA).date()
    sent = 0
    for d, _ in rows:
        if d.last_reminded_at is not None and d.last_reminded_at.astimezone(CHINA).date() >= today:
            continue
        d.reminders += 1
        d.last_reminded_at = now
        _event(session, "material-reminder", {"noticeId": d.notice_id, "orgId": d.org_id,
                                              "channels": REMINDER_CHANNELS, "reminders": d.reminders})
        sent += 1
    return sent


def delivery_visible(caller: Caller | None) -> ColumnElement[bool]:
    """Administrators see every delivery; a unit its own organisation's."""
    if is_admin(caller):
        return true()
    org = caller.organization_id if caller and not caller.anonymous else None
    return models.NoticeDelivery.org_id == org if org else models.NoticeDelivery.id.is_(None)


def notice_visible(caller: Caller | None) -> ColumnElement[bool]:
    if is_admin(caller):
        return true()
    d = models.NoticeDelivery
    return exists().where(d.notice_id == models.SecurityNotice.id, delivery_visible(caller))


def check_may_see_delivery(caller: Caller | None, d: models.NoticeDelivery) -> None:
    if not is_admin(caller) and (caller is None or caller.organization_id != d.org_id):
        raise forbidden("A unit sees its own deliveries and materials only.")
