"""态势告警: the monitoring platform reports its alerts here, and the province's administrators triage them
(研判处置). A report is idempotent by the platform's alert id: a repeat changes nothing, and an update of the
same alert changes only its status and handling time."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.outbox import emit, utcnow
from subgraphs.security import models
from subgraphs.security.access import actor_of, check_admin, is_admin

REPORT_SCOPE = "security:alerts:report"
SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
STATUSES = ("OPEN", "HANDLED", "FALSE_POSITIVE")
OUTCOMES = ("HANDLED", "FALSE_POSITIVE")
MAX_BATCH = 500


@dataclass(frozen=True)
class ReportedAlert:
    source_id: str
    severity: str
    category: str
    detected_at: datetime
    attack_ip: str | None = None
    host: str | None = None
    status: str = "OPEN"
    handled_at: datetime | None = None


@dataclass
class ReportOutcome:
    created: int
    updated: int
    unchanged: int
    alerts: list[models.SecurityAlert]


def city_of(region_code: str | None) -> str | None:
    return None if region_code is None else region_code[:4] + "00"


def _aware(value: datetime) -> datetime:
    # A platform that sends a time without an offset means UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _check(alert: ReportedAlert, index: int) -> None:
    where = {"argument": f"alerts[{index}]"}
    if not alert.source_id.strip() or len(alert.source_id) > 64:
        raise bad_input("sourceId must be 1-64 characters.", **where)
    if alert.severity not in SEVERITIES or alert.status not in STATUSES:
        raise bad_input("Unknown severity or status.", **where)
    if not alert.category.strip() or len(alert.category) > 32:
        raise bad_input("category must be 1-32 characters.", **where)
    if alert.attack_ip is not None:
        try:
            ipaddress.ip_address(alert.attack_ip)
        except ValueError:
            raise bad_input(f"attackIp {alert.attack_ip!r} is not an IPv4 or IPv6 address.", **where) from None
    if alert.status == "OPEN" and alert.handled_at is not None:
        raise bad_input("An OPEN alert has no handledAt.", **where)


def _payload(row: models.SecurityAlert) -> dict[str, object]:
    return {"id": row.id, "sourceId": row.source_id, "orgId": row.org_id, "regionCode": row.region_code,
            "severity": row.severity, "category": row.category, "status": row.status,
            "attackIp": row.attack_ip, "incidentId": row.incident_id}


async def report_alerts(session: AsyncSession, caller: Caller | None,
                        alerts: list[ReportedAlert]) -> ReportOutcome:
    """Store the platform's alerts, new or updated, each with its event."""
    if not (is_admin(caller) or (caller is not None and REPORT_SCOPE in caller.scopes)):
        raise forbidden(f"Reporting alerts needs the scope {REPORT_SCOPE}.")
    if len(alerts) > MAX_BATCH:
        raise bad_input(f"At most {MAX_BATCH} alerts per report.", limit=MAX_BATCH)
    if len({a.source_id for a in alerts}) != len(alerts):
        raise bad_input("A report names each sourceId once.")
    for index, alert in enumerate(alerts):
        _check(alert, index)
    known = {r.source_id: r for r in await session.scalars(
        select(models.SecurityAlert).where(models.SecurityAlert.source_id.in_([a.source_id for a in alerts])))}
    hosts = {a.host for a in alerts if a.host}
    assets = {r.host: r for r in await session.scalars(
        select(models.Asset).where(models.Asset.host.in_(hosts)))} if hosts else {}
    now = utcnow()
    outcome = ReportOutcome(0, 0, 0, [])
    for alert in alerts:
        handled_at = _aware(alert.handled_at) if alert.handled_at else (now if alert.status != "OPEN" else None)
        row = known.get(alert.source_id)
        if row is None:
            asset = assets.get(alert.host) if alert.host else None
            row = models.SecurityAlert(
                id=alert_id_of(alert.source_id),
                source_id=alert.source_id, severity=alert.severity, category=alert.category,
                attack_ip=alert.attack_ip, asset_id=asset.id if asset else None,
                org_id=asset.owner_id if asset else None, region_code=city_of(asset.region_code) if asset else None,
                detected_at=_aware(alert.detected_at), status=alert.status, handled_at=handled_at,
                handled_by=actor_of(caller) if handled_at else None)
            session.add(row)
            outcome.created += 1
            emit(session, models.OutboxEvent, "security.alert.reported", _payload(row))
        elif row.status == alert.status and (alert.handled_at is None or row.handled_at == handled_at):
            outcome.unchanged += 1
        else:
            row.status = alert.status
            row.handled_at = handled_at
            row.handled_by = actor_of(caller) if handled_at else None
            outcome.updated += 1
            emit(session, models.OutboxEvent, "security.alert.updated", _payload(row))
        outcome.alerts.append(row)
    await session.flush()
    return outcome


def alert_id_of(source_id: str) -> str:
    """Our id of the platform's alert: a digest, stable for the same alert and within our id's length."""
    return "alr-" + hashlib.sha256(source_id.encode()).hexdigest()[:32]


async def handle_alert(session: AsyncSession, caller: Caller | None, alert_id: str, outcome: str,
                       incident_id: str | None) -> models.SecurityAlert:
    """研判处置: an administrator decides an open alert (handled or a false positive), optionally escalated."""
    check_admin(caller, "Handling alerts")
    if outcome not in OUTCOMES:
        raise bad_input(f"outcome must be one of {', '.join(OUTCOMES)}.")
    row = await session.get(models.SecurityAlert, alert_id, with_for_update=True)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No alert {alert_id}.", id=alert_id)
    if row.status != "OPEN":
        raise domain_error(ErrorCode.INVALID_STATE, f"Alert {alert_id} is {row.status}: it was already "
                           "handled; allowed actions: none.", state=row.status, allowed=[])
    if incident_id is not None:
        if outcome != "HANDLED":
            raise bad_input("Only a handled alert (not a false positive) is escalated to an incident.")
        if await session.get(models.SecurityIncident, incident_id) is None:
            raise domain_error(ErrorCode.NOT_FOUND, f"No incident {incident_id}.", incidentId=incident_id)
    row.status = outcome
    row.handled_at = utcnow()
    row.handled_by = actor_of(caller)
    row.incident_id = incident_id
    emit(session, models.OutboxEvent, "security.alert.handled", _payload(row))
    await session.flush()
    return row
