"""security seed: a year of incidents with every disposal state, progress that agrees with the reports, and
the monitoring alerts of the last 30 days and of the world's "today"."""

from __future__ import annotations

import ipaddress
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from support import TEST_SEED, execute, make_runtime

from db.seed.world import WORLD_DATE, organizations
from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.security import models
from subgraphs.security.app import definition
from subgraphs.security.seed import world_assets
from subgraphs.security.seed_incidents import CHINA, alerts_of, incidents_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DOC_NETS = [ipaddress.ip_network(n) for n in ("198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]


async def rows(runtime: Runtime, table: Any) -> list[Any]:
    async with runtime.sessions() as session:
        return list((await session.scalars(select(table))).all())


async def test_a_year_of_incidents_in_every_city(sqlite_runtime: Any) -> None:
    runtime: Runtime = await sqlite_runtime(definition)
    incidents = await rows(runtime, models.SecurityIncident)
    assert len(incidents) == len(incidents_of(TEST_SEED, NOW)) > 13 * 12
    months = {(i.region_code, i.issued_at.astimezone(CHINA).month) for i in incidents}
    cities = {o.region_code[:4] + "00" for o in organizations(TEST_SEED)} - {"320000"}
    assert months == {(c, m) for c in cities for m in range(1, 13)}  # every city, every month
    assert all(i.issued_at.astimezone(CHINA).year == 2025 for i in incidents)
    severity = Counter(i.severity for i in incidents)
    assert severity["GENERAL"] > severity["SIGNIFICANT"] > severity["MAJOR"] + severity["EXTRAORDINARY"] > 0
    # Affected assets are the affected organisation's own, and every incident sits in its org's city.
    owner = {a.id: a.owner_id for a in world_assets(TEST_SEED)}
    region = {o.id: o.region_code for o in organizations(TEST_SEED)}
    for i in incidents:
        assert i.affected_asset_ids and all(owner[a] == i.affected_org_id for a in i.affected_asset_ids)
        assert i.region_code == region[i.affected_org_id][:4] + "00"
    # The affected organisation and its health commission receive each notice.
    recipients = await rows(runtime, models.IncidentRecipient)
    by_incident: dict[str, set[str]] = {}
    for r in recipients:
        by_incident.setdefault(r.incident_id, set()).add(r.org_id)
    kinds = {o.id: o.kind for o in organizations(TEST_SEED)}
    for i in incidents:
        others = by_incident[i.id] - {i.affected_org_id}
        assert i.affected_org_id in by_incident[i.id] and len(others) == 1
        assert kinds[others.pop()] == "HEALTH_COMMISSION"
    assert any(r.viewed_at is None for r in recipients) and any(r.reminders for r in recipients)


async def test_every_disposal_state_and_progress_agrees_with_reports(sqlite_runtime: Any) -> None:
    runtime: Runtime = await sqlite_runtime(definition)
    incidents = {i.id: i for i in await rows(runtime, models.SecurityIncident)}
    reports = {r.incident_id: r for r in await rows(runtime, models.DisposalReport)}
    changes = await rows(runtime, models.DisposalChangeRequest)
    assert {r.status for r in reports.values()} == {"DRAFT", "SUBMITTED", "CHANGE_REQUESTED"}
    assert {c.status for c in changes} == {"PENDING", "APPROVED", "REJECTED"}
    pending = Counter(c.report_id for c in changes if c.status == "PENDING")
    for r in reports.values():
        # A report under a change request has exactly one pending request; no other report has one.
        assert pending[r.id] == (1 if r.status == "CHANGE_REQUESTED" else 0)
        assert (r.submitted_at is None) == (r.status == "DRAFT")
    for c in changes:
        if c.status != "PENDING":
            assert c.reviewed_by and c.reviewed_at and c.reviewed_at >= c.requested_at
    for i in incidents.values():
        report = reports.get(i.id)
        done = (report is not None and report.status == "SUBMITTED" and report.content["controlled"] is True
                and report.content["impactRemoved"] is True)
        expected = "COMPLETED" if done else ("HANDLING" if report else "NOT_HANDLED")
        assert i.progress == expected, i.id
        assert (i.completed_at is not None) == done
    assert set(Counter(i.progress for i in incidents.values())) == {"NOT_HANDLED", "HANDLING", "COMPLETED"}
    overdue = [i for i in incidents.values() if i.progress != "COMPLETED" and i.deadline < NOW]
    assert overdue


async def test_alerts_of_the_last_30_days_and_today(sqlite_runtime: Any) -> None:
    runtime: Runtime = await sqlite_runtime(definition)
    alerts = await rows(runtime, models.SecurityAlert)
    china_days = {a.detected_at.astimezone(CHINA).date() for a in alerts}
    assert min(china_days) == WORLD_DATE - timedelta(days=30) and max(china_days) == WORLD_DATE
    assert all(a.detected_at <= NOW for a in alerts)
    assert any(a.detected_at.astimezone(CHINA).date() == WORLD_DATE for a in alerts)  # "today"
    for a in alerts:
        if a.attack_ip is not None:
            assert any(ipaddress.ip_address(a.attack_ip) in net for net in DOC_NETS)
        assert (a.handled_at is None) == (a.status == "OPEN")
        if a.handled_at is not None:
            assert a.detected_at <= a.handled_at <= NOW
    incident_ids = {i.id for i in await rows(runtime, models.SecurityIncident)}
    escalated = [a for a in alerts if a.incident_id]
    assert escalated and all(a.incident_id in incident_ids for a in escalated)
    assert {a.status for a in alerts} == {"OPEN", "HANDLED", "FALSE_POSITIVE"}


def test_the_plan_is_deterministic() -> None:
    first, again, other = incidents_of(7, NOW), incidents_of(7, NOW), incidents_of(8, NOW)
    assert [i.row for i in first] == [i.row for i in again] and [i.row for i in first] != [i.row for i in other]
    assert alerts_of(7, NOW, first) == alerts_of(7, NOW, again)


async def test_two_seeds_of_a_small_world_are_identical(tmp_path: Path) -> None:
    options = SeedOptions(seed=TEST_SEED, persons=50)
    snapshots = []
    for name in ("a", "b"):
        runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}",
                                     seed_options=options)
        try:
            incidents = [(i.id, i.number, i.severity, i.progress, i.issued_at, i.affected_asset_ids)
                         for i in sorted(await rows(runtime, models.SecurityIncident), key=lambda i: i.id)]
            alerts = [(a.id, a.source_id, a.attack_ip, a.status, a.detected_at, a.incident_id)
                      for a in sorted(await rows(runtime, models.SecurityAlert), key=lambda a: a.id)]
            snapshots.append((incidents, alerts))
        finally:
            await runtime.engine.dispose()
    assert snapshots[0] == snapshots[1] and snapshots[0][0] and snapshots[0][1]
    assert date(2025, 1, 1) <= min(i[4] for i in snapshots[0][0]).astimezone(CHINA).date()


async def test_the_seeded_board_shows_the_world_day(sqlite_runtime: Any) -> None:
    """The board asked at the world date sees the seeded "today" and the seeded year."""
    runtime: Runtime = await sqlite_runtime(definition)
    query = """query($at: DateTime) { securityStatistics(at: $at, since: "2025-01-01", until: "2025-12-31") {
                 today incidents { total completed quarterly { period issued } }
                 alerts { detectedToday handledToday attackIpsToday topAttackIps { key count } } } }"""
    data = (await execute(runtime, query, {"at": "2026-01-01T00:00:00Z"}))["securityStatistics"]
    alerts = await rows(runtime, models.SecurityAlert)
    incidents = await rows(runtime, models.SecurityIncident)
    today = [a for a in alerts if a.detected_at.astimezone(CHINA).date() == WORLD_DATE]
    assert data["today"] == "2026-01-01"
    assert data["alerts"]["detectedToday"] == len(today) > 0
    assert data["alerts"]["attackIpsToday"] == len({a.attack_ip for a in today if a.attack_ip})
    assert len(data["alerts"]["topAttackIps"]) == 5
    assert data["incidents"]["total"] == len(incidents)
    assert data["incidents"]["completed"] == sum(i.progress == "COMPLETED" for i in incidents)
    assert [q["period"] for q in data["incidents"]["quarterly"]] == [f"2025-Q{n}" for n in range(1, 5)]
