"""The network-security board's figures (网络安全看板) and the incident reports' statistics, counted from the
tables as they stand, within the caller's data scope.

"Today" is a China (UTC+8) calendar day: the day of `at`. Periods are China dates, both ends included.
Open counts (open incidents, open alerts) are the current state, whatever `at` says.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from subgraphs.common.caller import Caller
from subgraphs.common.china_time import CHINA as CHINA  # re-exported
from subgraphs.common.china_time import china_day_bounds as china_day_bounds
from subgraphs.common.china_time import today_in_china as today_in_china
from subgraphs.common.errors import forbidden
from subgraphs.security import models
from subgraphs.security.access import is_admin, org_condition

WEB_KINDS = ("DOMAIN", "APPLICATION")
HIGH_SEVERITIES = ("HIGH", "CRITICAL")
HANDLED = ("HANDLED", "FALSE_POSITIVE")
TOP_IPS = 5


def check_scope(caller: Caller | None) -> None:
    """Admins see all, a city's commission (CROSS_ORG / ALL) its region, a unit its organisation."""
    if is_admin(caller) or (caller is not None and not caller.anonymous and (
            caller.organization_id or (caller.data_scope in ("CROSS_ORG", "ALL") and caller.region_code))):
        return
    raise forbidden("The security statistics are for security administrators, health commissions and units.")


def china_date(at: datetime) -> date:
    return today_in_china(at)


def day_start(day: date) -> datetime:
    """China midnight of `day`, in UTC."""
    return china_day_bounds(day)[0]


@dataclass(frozen=True)
class Window:
    """The board's clock: today (a China day) and the reporting period (China dates, inclusive)."""

    today: date
    since: date
    until: date

    @property
    def today_bounds(self) -> tuple[datetime, datetime]:
        return day_start(self.today), day_start(self.today + timedelta(days=1))

    @property
    def period_bounds(self) -> tuple[datetime, datetime]:
        return day_start(self.since), day_start(self.until + timedelta(days=1))


def share(part: int, whole: int) -> float:
    """part / whole to four places; 0 when there is nothing to divide."""
    return round(part / whole, 4) if whole else 0.0


# --- incidents -------------------------------------------------------------------------------------------

def _incidents_seen(caller: Caller | None) -> ColumnElement[bool]:
    return org_condition(caller, models.SecurityIncident.affected_org_id, models.SecurityIncident.region_code)


async def open_incidents(session: AsyncSession, caller: Caller | None) -> list[tuple[str, str | None, int]]:
    """(severity, city, count) of the incidents not yet completed."""
    t = models.SecurityIncident
    rows = await session.execute(
        select(t.severity, t.region_code, func.count())
        .where(_incidents_seen(caller), t.progress != "COMPLETED")
        .group_by(t.severity, t.region_code).order_by(t.severity, t.region_code))
    return [(s, r, n) for s, r, n in rows.all()]


@dataclass
class UnitFigures:
    org_id: str
    total: int = 0
    completed: int = 0
    on_time: int = 0  # completed by the deadline


@dataclass
class IncidentFigures:
    total: int = 0
    completed: int = 0
    overdue: int = 0  # not completed and past the deadline at `at`
    by_type: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[str] = field(default_factory=Counter)
    by_progress: Counter[str] = field(default_factory=Counter)
    by_unit: dict[str, UnitFigures] = field(default_factory=dict)
    monthly: dict[str, list[int]] = field(default_factory=dict)  # YYYY-MM: [issued, completed]
    quarterly: dict[str, list[int]] = field(default_factory=dict)  # YYYY-Qn: [issued, completed]


async def incident_figures(session: AsyncSession, caller: Caller | None, window: Window,
                           at: datetime) -> IncidentFigures:
    """The incidents issued in the period by type, severity, progress, unit, month and quarter."""
    t = models.SecurityIncident
    start, end = window.period_bounds
    rows = await session.execute(
        select(t.issued_at, t.incident_type, t.severity, t.progress, t.affected_org_id, t.completed_at, t.deadline)
        .where(_incidents_seen(caller), t.issued_at >= start, t.issued_at < end))
    out = IncidentFigures()
    for issued, kind, severity, progress, org_id, completed_at, deadline in rows.all():
        done = progress == "COMPLETED"
        out.total += 1
        out.completed += done
        out.overdue += not done and deadline < at
        out.by_type[kind] += 1
        out.by_severity[severity] += 1
        out.by_progress[progress] += 1
        unit = out.by_unit.setdefault(org_id, UnitFigures(org_id))
        unit.total += 1
        unit.completed += done
        unit.on_time += done and completed_at is not None and completed_at <= deadline
        local = issued.astimezone(CHINA)
        for key, table in ((f"{local:%Y-%m}", out.monthly), (f"{local.year}-Q{(local.month - 1) // 3 + 1}",
                                                             out.quarterly)):
            counts = table.setdefault(key, [0, 0])
            counts[0] += 1
            counts[1] += done
    return out


# --- assets and 等保 --------------------------------------------------------------------------------------

def _assets_seen(caller: Caller | None) -> ColumnElement[bool]:
    return org_condition(caller, models.Asset.owner_id, models.Asset.region_code)


async def asset_counts(session: AsyncSession, caller: Caller | None) -> list[tuple[str | None, str, str, int]]:
    """(city, kind, status, count) of the assets."""
    a = models.Asset
    rows = await session.execute(
        select(a.region_code, a.kind, a.status, func.count()).where(_assets_seen(caller))
        .group_by(a.region_code, a.kind, a.status))
    return [(_city(r), k, s, n) for r, k, s, n in rows.all()]


def _city(region_code: str | None) -> str | None:
    return None if region_code is None else region_code[:4] + "00"


@dataclass
class Coverage:
    systems: int = 0
    with_record: int = 0
    with_filing: int = 0
    evaluated: int = 0  # assessed (测评) in the year of `at`


async def protection_coverage(session: AsyncSession, caller: Caller | None,
                              year: int) -> tuple[Coverage, dict[int, Coverage], dict[str | None, Coverage]]:
    """等保 coverage of the systems (application assets in use): overall, per level, per city. A system
    counts once, by its highest-level record; per level, `systems` is the systems recorded at that level."""
    a, p = models.Asset, models.ProtectionRecord
    rows = await session.execute(
        select(a.id, a.region_code, p.level, p.filing_number, p.evaluated_on)
        .outerjoin(p, p.asset_id == a.id)
        .where(_assets_seen(caller), a.kind == "APPLICATION", a.status == "IN_USE"))
    systems: dict[str, tuple[str | None, int | None, bool, bool]] = {}
    for asset_id, region, level, filing, evaluated_on in rows.all():
        old = systems.get(asset_id)
        mine = (_city(region), level, filing is not None, evaluated_on is not None and evaluated_on.year == year)
        old_level = None if old is None else old[1]
        if old is None or old_level is None:
            systems[asset_id] = mine
        elif level is not None:
            systems[asset_id] = (old[0], max(old_level, level), old[2] or mine[2], old[3] or mine[3])
    total = Coverage()
    by_level: dict[int, Coverage] = defaultdict(Coverage)
    by_city: dict[str | None, Coverage] = defaultdict(Coverage)
    for city, top_level, filed, evaluated in systems.values():
        targets = [total, by_city[city]] + ([by_level[top_level]] if top_level is not None else [])
        for c in targets:
            c.systems += 1
            c.with_record += top_level is not None
            c.with_filing += filed
            c.evaluated += evaluated
    return total, dict(sorted(by_level.items())), dict(sorted(by_city.items(), key=lambda kv: kv[0] or ""))


# --- tickets ---------------------------------------------------------------------------------------------

@dataclass
class HandlerFigures:
    handler: str
    tickets: int
    rated: int
    average_rating: float | None


async def ticket_figures(session: AsyncSession, caller: Caller | None
                         ) -> tuple[list[tuple[str, int]], list[tuple[str, int]], list[HandlerFigures]]:
    """Tickets by state, by fault type, and by handler with the requesters' average rating."""
    t = models.OpsTicket
    seen = org_condition(caller, t.org_id, t.region_code)
    by_state = await session.execute(
        select(t.status, func.count()).where(seen).group_by(t.status).order_by(t.status))
    by_fault = await session.execute(
        select(t.fault_type, func.count()).where(seen).group_by(t.fault_type).order_by(t.fault_type))
    by_handler = await session.execute(
        select(t.handler, func.count(), func.count(t.rating), func.avg(t.rating))
        .where(seen, t.handler.is_not(None)).group_by(t.handler).order_by(t.handler))
    handlers = [HandlerFigures(h, n, r, None if avg is None else round(float(avg), 2))
                for h, n, r, avg in by_handler.all()]
    return ([(s, n) for s, n in by_state.all()], [(f, n) for f, n in by_fault.all()], handlers)


# --- alerts ----------------------------------------------------------------------------------------------

@dataclass
class AlertFigures:
    detected_today: int
    handled_today: int
    attack_ips_today: int
    detected_in_period: int
    top_attack_ips: list[tuple[str, int]]
    high_severity_open: int
    website_vulnerabilities: int  # open VULNERABILITY alerts on websites (DOMAIN / APPLICATION assets in use)
    vulnerable_websites: int
    websites: int  # DOMAIN / APPLICATION assets in use


async def alert_figures(session: AsyncSession, caller: Caller | None, window: Window) -> AlertFigures:
    s = models.SecurityAlert
    # Alerts without an organisation (no asset matched) are only the administrators' to see.
    seen = org_condition(caller, cast(QueryableAttribute[str], s.org_id), s.region_code)
    day_from, day_to = window.today_bounds
    start, end = window.period_bounds
    today = and_(s.detected_at >= day_from, s.detected_at < day_to)

    async def count(*where: ColumnElement[bool], what: ColumnElement[int] | None = None) -> int:
        return int(await session.scalar(select(what if what is not None else func.count()).where(seen, *where))
                   or 0)

    top = await session.execute(
        select(s.attack_ip, func.count().label("n"))
        .where(seen, s.attack_ip.is_not(None), s.detected_at >= start, s.detected_at < end)
        .group_by(s.attack_ip).order_by(func.count().desc(), s.attack_ip).limit(TOP_IPS))
    a = models.Asset
    web_vuln = (select(func.count(), func.count(distinct(s.asset_id))).join(a, a.id == s.asset_id)
                .where(seen, s.category == "VULNERABILITY", s.status == "OPEN", a.kind.in_(WEB_KINDS),
                       a.status == "IN_USE"))
    vulnerabilities, vulnerable = (await session.execute(web_vuln)).one()
    websites = await session.scalar(
        select(func.count()).where(_assets_seen(caller), a.kind.in_(WEB_KINDS), a.status == "IN_USE"))
    return AlertFigures(
        detected_today=await count(today),
        handled_today=await count(s.status.in_(HANDLED), s.handled_at >= day_from, s.handled_at < day_to),
        attack_ips_today=await count(today, s.attack_ip.is_not(None), what=func.count(distinct(s.attack_ip))),
        detected_in_period=await count(s.detected_at >= start, s.detected_at < end),
        top_attack_ips=[(str(ip), n) for ip, n in top.all()],
        high_severity_open=await count(s.status == "OPEN", s.severity.in_(HIGH_SEVERITIES)),
        website_vulnerabilities=int(vulnerabilities or 0), vulnerable_websites=int(vulnerable or 0),
        websites=int(websites or 0),
    )
