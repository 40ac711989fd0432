"""Incident notices (网络安全事件通报): issuing, who sees them, the recipients' view status and reminders
(催办), the progress kept from the disposal reports, and the events the cockpit counts.

An incident's region_code is the affected organisation's city, as the board counts incidents (and the seed
writes them): a city's commission with a regional data scope sees its city's incidents.

Only the affected organisation must dispose of an incident: the other recipients (its city's commission, a
sister hospital running the same system) are told so that they can check themselves, and their reports,
if they file any, are kept in the archive but do not hold the incident open.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.regions import city_code_of
from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.common.outbox import emit
from subgraphs.common.regions import subtree_prefix
from subgraphs.security import access, models

TYPES = {
    "HACKING": "黑客攻击", "DATA_LEAK": "数据泄露", "VIRUS": "病毒感染", "WEB_DEFACEMENT": "网页篡改",
    "DDOS": "拒绝服务攻击", "VULNERABILITY": "安全漏洞", "OTHER": "其他",
}  # fmt: skip
SEVERITIES = {"GENERAL": "一般", "SIGNIFICANT": "较大", "MAJOR": "重大", "EXTRAORDINARY": "特别重大"}
NOT_HANDLED, HANDLING, COMPLETED = "NOT_HANDLED", "HANDLING", "COMPLETED"
PROGRESS = {NOT_HANDLED: "未处置", HANDLING: "处置中", COMPLETED: "已完成"}
NUMBER_PREFIX = "JSWA"
MAX_RECIPIENTS = 200
NUMBER_ATTEMPTS = 3


def now_utc() -> datetime:
    return datetime.now(UTC)


def not_found(message: str, **details: object) -> Exception:
    return domain_error(ErrorCode.NOT_FOUND, message, **details)


@dataclass(frozen=True)
class NewIncident:
    title: str
    description: str
    incident_type: str
    severity: str
    affected_org_id: str
    deadline: datetime
    affected_asset_ids: Sequence[str] = ()
    recipient_org_ids: Sequence[str] = ()
    affected_data: str | None = None
    requirements: str = ""
    measures_advice: str = ""
    region_code: str | None = None


def is_overdue(row: models.SecurityIncident, at: datetime | None = None) -> bool:
    return row.progress != COMPLETED and row.deadline < (at or now_utc())


def overdue_condition(at: datetime | None = None) -> ColumnElement[bool]:
    moment = at or now_utc()
    return (models.SecurityIncident.progress != COMPLETED) & (models.SecurityIncident.deadline < moment)


def event_payload(row: models.SecurityIncident, **more: object) -> dict[str, object]:
    """What every incident event carries: the cockpit counts open incidents by severity and city."""
    return {
        "incidentId": row.id, "severity": row.severity, "orgId": row.affected_org_id,
        "regionCode": row.region_code, "progress": row.progress,
        **more,
    }


def emit_incident(session: AsyncSession, row: models.SecurityIncident, action: str, **more: object) -> None:
    emit(session, models.OutboxEvent, f"security.incident.{action}", event_payload(row, **more))


# --- who sees what ---------------------------------------------------------------------------------------


def visible_condition(caller: Caller | None) -> ColumnElement[bool]:
    """Incidents of the caller's organisation (or region, for a regional data scope), and those issued to
    the caller's organisation as a recipient."""
    own = access.org_condition(caller, models.SecurityIncident.affected_org_id, models.SecurityIncident.region_code)
    if access.is_admin(caller) or caller is None or not caller.organization_id:
        return own
    recipient = exists().where(models.IncidentRecipient.incident_id == models.SecurityIncident.id,
                               models.IncidentRecipient.org_id == caller.organization_id)
    return or_(own, recipient)


def oversees(caller: Caller | None, row: models.SecurityIncident) -> bool:
    """The whole incident (every recipient and report): admins, the affected organisation, its region."""
    return access.sees_org(caller, row.affected_org_id, row.region_code)


async def visible_incident(session: AsyncSession, caller: Caller | None, incident_id: str, *,
                           for_update: bool = False) -> models.SecurityIncident:
    """The incident if the caller may see it; NOT_FOUND otherwise (the same answer: nothing to learn by
    guessing ids)."""
    stmt = select(models.SecurityIncident).where(models.SecurityIncident.id == incident_id,
                                                 visible_condition(caller))
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=models.SecurityIncident)
    row = await session.scalar(stmt)
    if row is None:
        raise not_found(f"No incident {incident_id}.", argument="id")
    return row


# --- issuing ---------------------------------------------------------------------------------------------


async def _next_number(session: AsyncSession, at: datetime) -> str:
    prefix = f"{NUMBER_PREFIX}-{at.year}-"
    last = await session.scalar(select(func.max(models.SecurityIncident.number))
                                .where(models.SecurityIncident.number.like(f"{prefix}%")))
    serial = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{serial:06d}"


async def _add_numbered(session: AsyncSession, row: models.SecurityIncident, at: datetime) -> None:
    """Insert with the next free number; a concurrent issue that took it first makes us take the next."""
    for attempt in range(NUMBER_ATTEMPTS):
        row.number = await _next_number(session, at)
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
            return
        except IntegrityError:
            if attempt == NUMBER_ATTEMPTS - 1:
                raise domain_error(ErrorCode.CONFLICT, "Could not allocate an incident number; try again.") from None


def _check_text(value: str, argument: str, limit: int | None = None) -> str:
    text = value.strip()
    if not text:
        raise bad_input(f"{argument} must not be empty.", argument=argument)
    if limit is not None and len(text) > limit:
        raise bad_input(f"{argument} is longer than {limit} characters.", argument=argument, limit=limit)
    return text


def _region_of(new: NewIncident, assets: Sequence[models.Asset]) -> str:
    if new.region_code is not None:
        subtree_prefix(new.region_code)  # refuses what is not a region code
        return city_code_of(new.region_code)
    # security keeps no organisations: the owner's region travels on its registered assets.
    regions = {city_code_of(a.region_code) for a in assets if a.region_code}
    if len(regions) == 1:
        return regions.pop()
    raise bad_input("regionCode is needed: the affected assets do not tell the affected organisation's region.",
                    argument="regionCode")


async def issue(session: AsyncSession, caller: Caller | None, new: NewIncident) -> models.SecurityIncident:
    """通报: a new incident notice, issued to the affected organisation and the other recipients."""
    access.check_admin(caller, "Issuing an incident notice")
    if new.incident_type not in TYPES:
        raise bad_input(f"Unknown incident type {new.incident_type}.", argument="incidentType")
    if new.severity not in SEVERITIES:
        raise bad_input(f"Unknown severity {new.severity}.", argument="severity")
    title = _check_text(new.title, "title", 200)
    description = _check_text(new.description, "description")
    org_id = _check_text(new.affected_org_id, "affectedOrgId", 40)
    at = now_utc()
    if new.deadline.tzinfo is None:
        raise bad_input("deadline needs a time zone.", argument="deadline")
    if new.deadline <= at:
        raise bad_input("The deadline (整改时限) must lie in the future.", argument="deadline")
    asset_ids = list(dict.fromkeys(new.affected_asset_ids))
    assets = list((await session.scalars(select(models.Asset).where(models.Asset.id.in_(asset_ids)))).all())
    found = {a.id: a for a in assets}
    missing = [i for i in asset_ids if i not in found]
    if missing:
        raise bad_input(f"No asset {', '.join(missing)}.", argument="affectedAssetIds", missing=missing)
    foreign = [a.id for a in assets if a.owner_id != org_id]
    if foreign:
        raise bad_input(f"The assets {', '.join(foreign)} do not belong to {org_id}.", argument="affectedAssetIds",
                        foreign=foreign)
    recipients = list(dict.fromkeys([org_id, *(r.strip() for r in new.recipient_org_ids if r.strip())]))
    if len(recipients) > MAX_RECIPIENTS:
        raise bad_input(f"At most {MAX_RECIPIENTS} recipients.", argument="recipientOrgIds")
    row = models.SecurityIncident(
        id=f"inc-{uuid.uuid4().hex[:20]}", number="", title=title,
        description=description, incident_type=new.incident_type, severity=new.severity,
        affected_org_id=org_id, affected_asset_ids=asset_ids, affected_data=new.affected_data,
        region_code=_region_of(new, assets), requirements=new.requirements,
        measures_advice=new.measures_advice, reporter=access.actor_of(caller), issued_at=at,
        deadline=new.deadline, progress=NOT_HANDLED, updated_at=at,
    )
    await _add_numbered(session, row, at)
    session.add_all(models.IncidentRecipient(incident_id=row.id, org_id=r, reminders=0) for r in recipients)
    await session.flush()
    emit_incident(session, row, "issued", recipients=recipients)
    return row


# --- recipients ------------------------------------------------------------------------------------------


async def recipients_of(session: AsyncSession, incident_id: str) -> list[models.IncidentRecipient]:
    rows = await session.scalars(select(models.IncidentRecipient)
                                 .where(models.IncidentRecipient.incident_id == incident_id)
                                 .order_by(models.IncidentRecipient.id))
    return list(rows)


async def recipient(session: AsyncSession, incident_id: str, org_id: str) -> models.IncidentRecipient | None:
    return await session.scalar(select(models.IncidentRecipient).where(
        models.IncidentRecipient.incident_id == incident_id, models.IncidentRecipient.org_id == org_id))


async def mark_viewed(session: AsyncSession, caller: Caller | None, incident_id: str,
                      org_id: str | None = None) -> models.IncidentRecipient:
    """查看状态: the caller's organisation (an admin may name one) has read the notice; the first view counts."""
    row = await visible_incident(session, caller, incident_id)
    org = org_id if org_id is not None and access.is_admin(caller) else (caller.organization_id if caller else None)
    if org is None:
        raise bad_input("Which recipient viewed the notice? Name orgId.", argument="orgId")
    entry = await recipient(session, row.id, org)
    if entry is None:
        raise not_found(f"{org} is not a recipient of incident {row.number}.", argument="orgId")
    if entry.viewed_at is None:
        entry.viewed_at = now_utc()
        emit_incident(session, row, "viewed", recipientOrgId=org)
    return entry


async def remind(session: AsyncSession, caller: Caller | None,
                 incident_id: str) -> tuple[models.SecurityIncident, list[models.IncidentRecipient]]:
    """手动催办: count a reminder on every recipient that has not viewed the notice yet."""
    access.check_admin(caller, "Reminding recipients")
    row = await visible_incident(session, caller, incident_id, for_update=True)
    at = now_utc()
    unviewed = [r for r in await recipients_of(session, row.id) if r.viewed_at is None]
    for entry in unviewed:
        entry.reminders += 1
        entry.last_reminded_at = at
    if unviewed:
        emit_incident(session, row, "reminded", recipientOrgIds=[r.org_id for r in unviewed])
    return row, unviewed


# --- progress --------------------------------------------------------------------------------------------


def disposed(report: models.DisposalReport) -> bool:
    content = report.content or {}
    return report.status == "SUBMITTED" and content.get("controlled") is True and content.get("impactRemoved") is True


async def recompute_progress(session: AsyncSession, row: models.SecurityIncident) -> bool:
    """Progress from the reports: none saved, 未处置; the affected organisation's submitted report says the
    incident is controlled and its impact removed, 已完成; anything between, 处置中. True if it changed."""
    reports = list((await session.scalars(select(models.DisposalReport)
                                          .where(models.DisposalReport.incident_id == row.id))).all())
    own = next((r for r in reports if r.org_id == row.affected_org_id), None)
    if own is not None and disposed(own):
        progress = COMPLETED
    elif reports:
        progress = HANDLING
    else:
        progress = NOT_HANDLED
    if progress == row.progress:
        return False
    row.progress = progress
    row.completed_at = now_utc() if progress == COMPLETED else None
    return True
