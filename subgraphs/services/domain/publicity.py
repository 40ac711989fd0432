"""公示公开 and 通知公告 (services.md §1.2, §5.1 rule 8; L1347-L1355).

Publicity: "许可、备案结果自动公示". An APPROVED application of a licensing item (行政许可) is published as
许可公示, of a filing item (行政备案) as 备案公示; other items publish nothing (处罚公示 is not this system's).
One publicity per application (Publicity.application_id is unique, and the id is derived from it).
The subject is the applicant as published: an organisation's name in full (Application.applicant_name, else
form_data["applicant"]["name"], else the organisation id), a person's name masked (张*). The decision names
the item and business item; with the application's 准予决定书 (ApplicationDocument kind APPROVAL_DECISION, the
newest) it starts with the document's title and carries its number (文号).

Notices: kinds below, in force from valid_from until valid_to (half-open; open-ended without valid_to).
Withdrawing a notice ends it now. A notice that blocks submission (停服, or a 放假暂停线上办理通知 that says so)
makes `submission_blocked` answer it: the applications' submit checks it and refuses while it is in force.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.common.masking import mask_name
from subgraphs.services import models
from subgraphs.services.access import actor_of, check_manager
from subgraphs.services.status import ApplicationStatus

DECISION_KIND = "APPROVAL_DECISION"  # ApplicationDocument.kind of the 准予决定书
MAX_DECISION = 500


class PublicityKind(Enum):
    LICENSING = "LICENSING"  # 许可公示
    FILING = "FILING"  # 备案公示


# ServiceItem.power_type codes (vocabulary.PowerType) that publish.
KIND_OF_POWER = {"LICENSING": PublicityKind.LICENSING, "FILING": PublicityKind.FILING}


def publicity_id(application_id: str) -> str:
    """Derived from the application, so a replay anywhere computes the same id."""
    return "pub-" + hashlib.sha256(application_id.encode()).hexdigest()[:32]


def _filed_name(application: models.Application) -> str | None:
    filed = (application.form_data or {}).get("applicant")
    name = filed.get("name") if isinstance(filed, dict) else None
    return application.applicant_name or (name if isinstance(name, str) and name else None)


def subject_of(application: models.Application) -> str:
    """The applicant as published: a legal entity's name (as filed) in full, a person's masked."""
    name = _filed_name(application)
    if application.applicant_type == "LEGAL_ENTITY":
        return name or application.applicant_org_id or "申请单位"
    return mask_name(name) or "申请人"


def decision_text(kind: PublicityKind, business_item: models.BusinessItem,
                  document: models.ApplicationDocument | None = None) -> str:
    """"<the decision>：<item>（<business item>）", the decision being the 准予决定书's title when there is one."""
    what = f"{business_item.item.name}（{business_item.name}）"
    if document is not None:
        return f"{document.title}：{what}"
    return f"准予行政许可：{what}" if kind is PublicityKind.LICENSING else f"予以备案：{what}"


def publicity_row(application: models.Application, business: models.BusinessItem, kind: PublicityKind,
                  document: models.ApplicationDocument | None, at: datetime) -> models.Publicity:
    return models.Publicity(
        id=publicity_id(application.id), kind=kind.value, application_id=application.id,
        business_item_id=business.id, subject=subject_of(application)[:200],
        decision=decision_text(kind, business, document)[:MAX_DECISION],
        decision_number=document.number if document else None, region_code=application.region_code,
        published_at=at)


async def publish_for(session: AsyncSession, application_id: str, at: datetime) -> models.Publicity | None:
    """The application's publicity, made if due and not made yet; None when the application is not one
    to publish (unknown, not approved, not a licensing or filing item)."""
    existing = await session.scalar(select(models.Publicity).where(models.Publicity.application_id == application_id))
    if existing is not None:
        return existing
    application = await session.get(models.Application, application_id)
    if application is None or application.status != ApplicationStatus.APPROVED.value:
        return None
    business = await session.get(models.BusinessItem, application.business_item_id)
    assert business is not None, "the foreign key keeps every application's business item"
    kind = KIND_OF_POWER.get(business.item.power_type)
    if kind is None:
        return None
    D = models.ApplicationDocument
    document = await session.scalar(select(D).where(D.application_id == application_id, D.kind == DECISION_KIND)
                                    .order_by(D.issued_at.desc(), D.id.desc()).limit(1))
    row = publicity_row(application, business, kind, document, at)
    session.add(row)
    await session.flush()
    return row


# --- notices ----------------------------------------------------------------------------------------------


class NoticeKind(Enum):
    HOLIDAY_SUSPENSION = "HOLIDAY_SUSPENSION"  # 放假暂停线上办理通知
    ITEM_UPDATE = "ITEM_UPDATE"  # 办理事项更新公告
    SYSTEM_UPDATE = "SYSTEM_UPDATE"  # 系统更新通知
    SERVICE_STOP = "SERVICE_STOP"  # 停服公告
    MAINTENANCE = "MAINTENANCE"  # 维护公告
    UPGRADE = "UPGRADE"  # 升级公告


NOTICE_LABELS = {
    NoticeKind.HOLIDAY_SUSPENSION: "放假暂停线上办理通知", NoticeKind.ITEM_UPDATE: "办理事项更新公告",
    NoticeKind.SYSTEM_UPDATE: "系统更新通知", NoticeKind.SERVICE_STOP: "停服公告",
    NoticeKind.MAINTENANCE: "维护公告", NoticeKind.UPGRADE: "升级公告",
}
# The kinds that may stop online submission; 停服 always does.
BLOCKING_KINDS = frozenset({NoticeKind.SERVICE_STOP, NoticeKind.HOLIDAY_SUSPENSION})
MAX_TITLE = 200
MAX_CONTENT = 20_000


@dataclass(frozen=True)
class NoticeInput:
    kind: NoticeKind
    title: str
    content: str
    valid_from: datetime
    valid_to: datetime | None = None
    blocks_submission: bool | None = None  # None: what the kind implies (停服 blocks)


def _checked(data: NoticeInput) -> tuple[str, str, bool]:
    title, content = data.title.strip(), data.content.strip()
    if not title or len(title) > MAX_TITLE:
        raise bad_input(f"A notice's title is 1-{MAX_TITLE} characters.", argument="title")
    if not content or len(content) > MAX_CONTENT:
        raise bad_input(f"A notice's content is 1-{MAX_CONTENT} characters.", argument="content")
    for name, moment in (("validFrom", data.valid_from), ("validTo", data.valid_to)):
        if moment is not None and moment.tzinfo is None:
            raise bad_input(f"{name} needs a time zone.", argument=name)
    if data.valid_to is not None and data.valid_to <= data.valid_from:
        raise bad_input("validTo must be after validFrom.", argument="validTo")
    blocks = data.kind is NoticeKind.SERVICE_STOP if data.blocks_submission is None else data.blocks_submission
    if blocks and data.kind not in BLOCKING_KINDS:
        raise bad_input("Only a 停服公告 or a 放假暂停线上办理通知 may stop online submission.",
                        argument="blocksSubmission")
    if not blocks and data.kind is NoticeKind.SERVICE_STOP:
        raise bad_input("A 停服公告 always stops online submission.", argument="blocksSubmission")
    return title, content, blocks


async def create_notice(session: AsyncSession, caller: Caller | None, data: NoticeInput,
                        now: datetime) -> models.Notice:
    check_manager(caller, "Publishing a notice")
    title, content, blocks = _checked(data)
    row = models.Notice(id=f"notice-{uuid.uuid4().hex}", kind=data.kind.value, title=title, content=content,
                        valid_from=data.valid_from, valid_to=data.valid_to, blocks_submission=blocks,
                        created_by=actor_of(caller), created_at=now)
    session.add(row)
    await session.flush()
    return row


async def _notice(session: AsyncSession, notice_id: str) -> models.Notice:
    row = await session.get(models.Notice, notice_id, with_for_update=True)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No notice {notice_id!r}.", argument="id")
    return row


async def update_notice(session: AsyncSession, caller: Caller | None, notice_id: str, data: NoticeInput,
                        now: datetime) -> models.Notice:
    """Replace a notice's text, kind and period (a correction; the notice keeps its id)."""
    check_manager(caller, "Changing a notice")
    row = await _notice(session, notice_id)
    if row.valid_to is not None and row.valid_to <= now:
        raise domain_error(ErrorCode.INVALID_STATE, "The notice has ended or was withdrawn; publish a new one.")
    title, content, blocks = _checked(data)
    row.kind, row.title, row.content = data.kind.value, title, content
    row.valid_from, row.valid_to, row.blocks_submission = data.valid_from, data.valid_to, blocks
    return row


async def withdraw_notice(session: AsyncSession, caller: Caller | None, notice_id: str,
                          now: datetime) -> models.Notice:
    """下架: the notice ends now (one not yet in force never will be)."""
    check_manager(caller, "Withdrawing a notice")
    row = await _notice(session, notice_id)
    if row.valid_to is not None and row.valid_to <= now:
        raise domain_error(ErrorCode.INVALID_STATE, "The notice has already ended.")
    row.valid_to = max(now, row.valid_from)
    return row


def in_force(at: datetime) -> list[ColumnElement[bool]]:
    N = models.Notice
    return [N.valid_from <= at, or_(N.valid_to.is_(None), N.valid_to > at)]


async def active_notices(session: AsyncSession, at: datetime, kind: NoticeKind | None = None) -> list[models.Notice]:
    N = models.Notice
    stmt = select(N).where(*in_force(at))
    if kind is not None:
        stmt = stmt.where(N.kind == kind.value)
    return list((await session.scalars(stmt.order_by(N.valid_from.desc(), N.id))).all())


async def submission_blocked(session: AsyncSession, at: datetime) -> models.Notice | None:
    """The notice that stops online submission at `at`, if any (the one in force longest first)."""
    N = models.Notice
    return await session.scalar(select(N).where(N.blocks_submission.is_(True), *in_force(at))
                                .order_by(N.valid_from, N.id).limit(1))
