"""Statistics for the network-security board, and the monitoring platform's alerts (态势告警): reported by the
platform (reportAlerts), triaged by the province's administrators (handleAlert)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import Self

import strawberry

from subgraphs.common.errors import bad_input
from subgraphs.common.outbox import utcnow
from subgraphs.security import models
from subgraphs.security.domain import alerts as alert_domain
from subgraphs.security.domain import statistics
from subgraphs.security.domain.statistics import Window
from subgraphs.security.types import Info

MAX_PERIOD_DAYS = 3 * 366


@strawberry.enum(description="告警级别 of a monitoring alert.")
class SecurityAlertSeverity(Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = strawberry.enum_value("HIGH", description="高危")
    CRITICAL = strawberry.enum_value("CRITICAL", description="严重")


@strawberry.enum(description="告警状态: open, or decided (研判处置) as handled or a false positive.")
class SecurityAlertStatus(Enum):
    OPEN = strawberry.enum_value("OPEN", description="待研判")
    HANDLED = strawberry.enum_value("HANDLED", description="已处置")
    FALSE_POSITIVE = strawberry.enum_value("FALSE_POSITIVE", description="误报")


@strawberry.enum(description="研判结论 of an alert.")
class AlertOutcome(Enum):
    HANDLED = "HANDLED"
    FALSE_POSITIVE = "FALSE_POSITIVE"


@strawberry.type(description="态势告警: an alert of the provincial monitoring platform.")
class SecurityAlert:
    id: strawberry.ID
    source_id: str = strawberry.field(description="The platform's alert id.")
    severity: SecurityAlertSeverity
    category: str = strawberry.field(description="e.g. WEB_ATTACK, VULNERABILITY, MALWARE, BRUTE_FORCE, SCAN.")
    attack_ip: str | None = strawberry.field(description="攻击IP (v4 or v6).")
    asset_id: strawberry.ID | None = strawberry.field(description="The asset hit, resolved by its host.")
    org_id: strawberry.ID | None = strawberry.field(description="The asset's owner.")
    region_code: str | None = strawberry.field(description="The owner's city.")
    detected_at: datetime
    status: SecurityAlertStatus
    handled_at: datetime | None
    handled_by: str | None
    incident_id: strawberry.ID | None = strawberry.field(description="The incident it was escalated to.")

    @classmethod
    def from_row(cls, row: models.SecurityAlert) -> Self:
        def opt(v: str | None) -> strawberry.ID | None:
            return None if v is None else strawberry.ID(v)

        return cls(id=strawberry.ID(row.id), source_id=row.source_id, severity=SecurityAlertSeverity(row.severity),
                   category=row.category, attack_ip=row.attack_ip, asset_id=opt(row.asset_id),
                   org_id=opt(row.org_id), region_code=row.region_code, detected_at=row.detected_at,
                   status=SecurityAlertStatus(row.status), handled_at=row.handled_at, handled_by=row.handled_by,
                   incident_id=opt(row.incident_id))


@strawberry.input(description="An alert as the monitoring platform reports it; resent to report a change.")
class AlertInput:
    source_id: str = strawberry.field(description="The platform's alert id: a report is idempotent by it.")
    severity: SecurityAlertSeverity
    category: str
    detected_at: datetime
    attack_ip: str | None = None
    host: str | None = strawberry.field(default=None, description="The asset's domain or IP (Asset.host).")
    status: SecurityAlertStatus = SecurityAlertStatus.OPEN
    handled_at: datetime | None = None


@strawberry.type(description="What a report changed: new alerts, updated ones (status), repeats.")
class ReportAlertsPayload:
    created: int
    updated: int
    unchanged: int
    alerts: list[SecurityAlert]


@strawberry.type(description="A count under a key (a code, an organisation id, a month).")
class SecurityCount:
    key: str
    count: int


@strawberry.type(description="Open incidents of one severity in one city.")
class OpenIncidentCount:
    severity: str = strawberry.field(description="GENERAL 一般, SIGNIFICANT 较大, MAJOR 重大, EXTRAORDINARY 特别重大.")
    region_code: str | None = strawberry.field(description="The affected organisation's city.")
    count: int


@strawberry.type(description="Incidents issued in one month or quarter, and how many are completed.")
class IncidentPeriodCount:
    period: str = strawberry.field(description="YYYY-MM or YYYY-Qn (China dates).")
    issued: int
    completed: int
    completion_rate: float


@strawberry.type(description="单位处置效率: one unit's incidents in the period.")
class IncidentUnitCount:
    org_id: strawberry.ID
    total: int
    completed: int
    on_time: int = strawberry.field(description="Completed by the deadline.")
    completion_rate: float


@strawberry.type(description="事件统计: the incidents issued in the period.")
class IncidentStatistics:
    total: int
    completed: int
    completion_rate: float = strawberry.field(description="completed / total (0 to 1).")
    overdue: int = strawberry.field(description="Not completed and past the deadline at `at`.")
    by_type: list[SecurityCount]
    by_severity: list[SecurityCount]
    by_progress: list[SecurityCount]
    by_unit: list[IncidentUnitCount] = strawberry.field(description="Most incidents first.")
    monthly: list[IncidentPeriodCount]
    quarterly: list[IncidentPeriodCount]


@strawberry.type(description="Assets of one kind in one status in one city.")
class AssetCount:
    region_code: str | None
    kind: str
    status: str
    count: int


@strawberry.type(description="Assets by status, by kind, and per city.")
class AssetStatistics:
    total: int
    by_status: list[SecurityCount]
    by_kind: list[SecurityCount]
    by_city: list[AssetCount]


@strawberry.type(description="等保 coverage of systems (application assets in use).")
class ProtectionCoverage:
    key: str = strawberry.field(description="ALL, a level (1-4) or a city code.")
    systems: int
    with_record: int
    with_filing: int
    evaluated_this_year: int
    record_ratio: float
    filing_ratio: float
    evaluation_ratio: float

    @classmethod
    def of(cls, key: str, c: statistics.Coverage) -> Self:
        return cls(key=key, systems=c.systems, with_record=c.with_record, with_filing=c.with_filing,
                   evaluated_this_year=c.evaluated, record_ratio=statistics.share(c.with_record, c.systems),
                   filing_ratio=statistics.share(c.with_filing, c.systems),
                   evaluation_ratio=statistics.share(c.evaluated, c.systems))


@strawberry.type(description="等保 coverage: overall, per level, per city.")
class ProtectionStatistics:
    total: ProtectionCoverage
    by_level: list[ProtectionCoverage]
    by_city: list[ProtectionCoverage]


@strawberry.type(description="One ops engineer's tickets and the requesters' average rating.")
class TicketHandlerCount:
    handler: str
    tickets: int
    rated: int
    average_rating: float | None


@strawberry.type(description="运维工单 by state, fault type and handler.")
class TicketStatistics:
    by_state: list[SecurityCount]
    by_fault_type: list[SecurityCount]
    by_handler: list[TicketHandlerCount]


@strawberry.type(description="态势告警 figures of the board.")
class AlertStatistics:
    detected_today: int = strawberry.field(description="态势告警数量 today (China day of `at`).")
    handled_today: int = strawberry.field(description="今日研判处置告警条数: handled or false positive today.")
    attack_ips_today: int = strawberry.field(description="攻击IP: distinct attacking addresses today.")
    detected_in_period: int
    top_attack_ips: list[SecurityCount] = strawberry.field(description="攻击TOP5 over the period.")
    high_severity_open: int = strawberry.field(description="高危事件: open HIGH / CRITICAL alerts.")
    website_vulnerabilities: int = strawberry.field(description="云监测网站漏洞: open vulnerability alerts.")
    vulnerable_websites: int
    websites: int = strawberry.field(description="Domain and application assets in use.")
    vulnerable_website_share: float = strawberry.field(description="云监测网站漏洞占比 (0 to 1).")


def _counts(pairs: object) -> list[SecurityCount]:
    return [SecurityCount(key=str(k), count=int(n)) for k, n in pairs]  # type: ignore[attr-defined]


def _periods(table: dict[str, list[int]]) -> list[IncidentPeriodCount]:
    return [IncidentPeriodCount(period=k, issued=i, completed=c, completion_rate=statistics.share(c, i))
            for k, (i, c) in sorted(table.items())]


@strawberry.type(description="网络安全看板: the board's figures within your data scope.")
class SecurityStatistics:
    at: datetime = strawberry.field(description="The moment the figures are for.")
    today: date = strawberry.field(description="Today: the China date of `at`.")
    since: date = strawberry.field(description="The period's first China date.")
    until: date = strawberry.field(description="The period's last China date.")

    @property
    def _window(self) -> Window:
        return Window(today=self.today, since=self.since, until=self.until)

    @strawberry.field(description="Open incidents (progress not COMPLETED) by severity and city.")
    async def open_incidents(self, info: Info) -> list[OpenIncidentCount]:
        async with info.context.session() as session:
            rows = await statistics.open_incidents(session, info.context.caller)
        return [OpenIncidentCount(severity=s, region_code=r, count=n) for s, r, n in rows]

    @strawberry.field(description="Incidents issued in the period by type, severity, progress, unit and month.")
    async def incidents(self, info: Info) -> IncidentStatistics:
        async with info.context.session() as session:
            f = await statistics.incident_figures(session, info.context.caller, self._window, self.at)
        units = sorted(f.by_unit.values(), key=lambda u: (-u.total, u.org_id))
        return IncidentStatistics(
            total=f.total, completed=f.completed, completion_rate=statistics.share(f.completed, f.total),
            overdue=f.overdue, by_type=_counts(sorted(f.by_type.items())),
            by_severity=_counts(sorted(f.by_severity.items())), by_progress=_counts(sorted(f.by_progress.items())),
            by_unit=[IncidentUnitCount(org_id=strawberry.ID(u.org_id), total=u.total, completed=u.completed,
                                       on_time=u.on_time, completion_rate=statistics.share(u.completed, u.total))
                     for u in units],
            monthly=_periods(f.monthly), quarterly=_periods(f.quarterly))

    @strawberry.field(description="Assets by status and kind, and per city.")
    async def assets(self, info: Info) -> AssetStatistics:
        async with info.context.session() as session:
            rows = await statistics.asset_counts(session, info.context.caller)
        by_status: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        cities: dict[tuple[str, str, str], int] = {}
        for city, kind, status, n in rows:
            by_status[status] = by_status.get(status, 0) + n
            by_kind[kind] = by_kind.get(kind, 0) + n
            key = (city or "", kind, status)
            cities[key] = cities.get(key, 0) + n
        return AssetStatistics(
            total=sum(by_status.values()), by_status=_counts(sorted(by_status.items())),
            by_kind=_counts(sorted(by_kind.items())),
            by_city=[AssetCount(region_code=c or None, kind=k, status=s, count=n)
                     for (c, k, s), n in sorted(cities.items())])

    @strawberry.field(description="等保 coverage of the systems in use: recorded, filed, evaluated this year.")
    async def protection(self, info: Info) -> ProtectionStatistics:
        async with info.context.session() as session:
            total, levels, cities = await statistics.protection_coverage(
                session, info.context.caller, self.today.year)
        return ProtectionStatistics(
            total=ProtectionCoverage.of("ALL", total),
            by_level=[ProtectionCoverage.of(str(level), c) for level, c in levels.items()],
            by_city=[ProtectionCoverage.of(city or "", c) for city, c in cities.items()])

    @strawberry.field(description="运维工单 by state, fault type and handler.")
    async def tickets(self, info: Info) -> TicketStatistics:
        async with info.context.session() as session:
            states, faults, handlers = await statistics.ticket_figures(session, info.context.caller)
        return TicketStatistics(
            by_state=_counts(states), by_fault_type=_counts(faults),
            by_handler=[TicketHandlerCount(handler=h.handler, tickets=h.tickets, rated=h.rated,
                                           average_rating=h.average_rating) for h in handlers])

    @strawberry.field(description="态势告警: today's counts, the period's 攻击TOP5, open high-severity alerts.")
    async def alerts(self, info: Info) -> AlertStatistics:
        async with info.context.session() as session:
            f = await statistics.alert_figures(session, info.context.caller, self._window)
        return AlertStatistics(
            detected_today=f.detected_today, handled_today=f.handled_today, attack_ips_today=f.attack_ips_today,
            detected_in_period=f.detected_in_period, top_attack_ips=_counts(f.top_attack_ips),
            high_severity_open=f.high_severity_open, website_vulnerabilities=f.website_vulnerabilities,
            vulnerable_websites=f.vulnerable_websites, websites=f.websites,
            vulnerable_website_share=statistics.share(f.vulnerable_websites, f.websites))


@strawberry.type
class StatisticsQueries:
    @strawberry.field(description="网络安全看板 statistics within your data scope (admins: all; a city's health "
                                  "commission: its region; a unit: its own). `at` (default now) fixes today, a "
                                  "China day; the period (China dates, inclusive) defaults to `at`'s year so far.")
    def security_statistics(self, info: Info, at: datetime | None = None, since: date | None = None,
                            until: date | None = None) -> SecurityStatistics:
        statistics.check_scope(info.context.caller)
        moment = utcnow() if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC))
        today = statistics.china_date(moment)
        first = since or today.replace(month=1, day=1)
        last = until or today
        if first > last:
            raise bad_input("since is after until.", argument="since")
        if (last - first).days > MAX_PERIOD_DAYS:
            raise bad_input(f"The period spans at most {MAX_PERIOD_DAYS} days.", argument="since")
        return SecurityStatistics(at=moment, today=today, since=first, until=last)


@strawberry.type
class AlertMutations:
    @strawberry.mutation(description="The monitoring platform reports alerts (scope security:alerts:report): new "
                                     "ones are stored, a resent one updates its status; repeats change nothing.")
    async def report_alerts(self, info: Info, alerts: list[AlertInput]) -> ReportAlertsPayload:
        reported = [_reported(a) for a in alerts]
        async with info.context.transaction() as session:
            outcome = await alert_domain.report_alerts(session, info.context.caller, reported)
            return ReportAlertsPayload(created=outcome.created, updated=outcome.updated,
                                       unchanged=outcome.unchanged,
                                       alerts=[SecurityAlert.from_row(r) for r in outcome.alerts])

    @strawberry.mutation(description="研判处置: decide an open alert as handled or a false positive, optionally "
                                     "escalated to an incident (administrators).")
    async def handle_alert(self, info: Info, id: strawberry.ID, outcome: AlertOutcome,
                           incident_id: strawberry.ID | None = None) -> SecurityAlert:
        async with info.context.transaction() as session:
            row = await alert_domain.handle_alert(session, info.context.caller, str(id), outcome.name,
                                            None if incident_id is None else str(incident_id))
            return SecurityAlert.from_row(row)


def _reported(a: AlertInput) -> alert_domain.ReportedAlert:
    return alert_domain.ReportedAlert(source_id=a.source_id, severity=a.severity.name, category=a.category,
                                detected_at=a.detected_at, attack_ip=a.attack_ip, host=a.host,
                                status=a.status.name, handled_at=a.handled_at)


queries: list[type] = [StatisticsQueries]
mutations: list[type] = [AlertMutations]
