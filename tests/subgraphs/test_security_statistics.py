"""security statistics: every figure of the network-security board against a small, hand-counted data set,
the China day behind "today", the data scope, and the monitoring platform's alert reports and triage."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from support import create_pg_database, drop_pg_database, errors_of, execute

from db.engine import make_engine
from db.migrate import upgrade
from subgraphs.common.app import Runtime
from subgraphs.common.bus import InProcessBus
from subgraphs.common.caller import Caller
from subgraphs.security import models
from subgraphs.security.app import definition

H1, H2, S1 = "org-320100-h1", "org-320100-h2", "org-320200-h1"  # two Nanjing hospitals, one in Wuxi
# 2026-03-10 10:00 in China: "today" is the China day 2026-03-09T16:00Z .. 2026-03-10T16:00Z.
AT = "2026-03-10T02:00:00Z"

ADMIN = Caller(subject="u-admin", client_id="portal", scopes=frozenset(), roles=("SECURITY_ADMIN",),
               data_scope="ALL", region_code="320000")
NANJING = Caller(subject="u-nj", client_id="portal", scopes=frozenset(), organization_id="org-320100-hc",
                 region_code="320100", roles=("UNIT_SECURITY_ADMIN",), data_scope="CROSS_ORG")
HOSPITAL = Caller(subject="u-h1", client_id="portal", scopes=frozenset(), organization_id=H1,
                  region_code="320100", roles=("UNIT_SECURITY_ADMIN",), data_scope="OWN_ORG")
STRANGER = Caller(subject="u-x", client_id="portal", scopes=frozenset())
PLATFORM = Caller(subject="monitor", client_id="monitor", scopes=frozenset({"security:alerts:report"}))


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def incident(id: str, org: str, region: str, severity: str, kind: str, progress: str, issued: str,
             deadline: str, completed: str | None = None) -> dict[str, Any]:
    return {"id": id, "number": id, "title": id, "description": "", "incident_type": kind, "severity": severity,
            "affected_org_id": org, "affected_asset_ids": [], "region_code": region, "requirements": "",
            "measures_advice": "", "reporter": "admin", "issued_at": t(issued), "deadline": t(deadline),
            "progress": progress, "completed_at": t(completed) if completed else None, "updated_at": t(issued)}


INCIDENTS = [
    incident("I1", H1, "320100", "GENERAL", "HACKING", "COMPLETED", "2026-01-05T02:00", "2026-01-20T00:00",
             "2026-01-10T00:00"),  # on time
    incident("I2", H1, "320100", "SIGNIFICANT", "VIRUS", "HANDLING", "2026-02-10T02:00", "2026-02-20T00:00"),  # overdue
    incident("I3", H2, "320100", "GENERAL", "HACKING", "NOT_HANDLED", "2026-03-01T02:00", "2026-03-16T00:00"),
    incident("I4", S1, "320200", "MAJOR", "DATA_LEAK", "COMPLETED", "2026-02-01T02:00", "2026-02-06T00:00",
             "2026-02-08T00:00"),  # late
    # Last year: outside the default period, but still open.
    incident("I5", S1, "320200", "GENERAL", "HACKING", "NOT_HANDLED", "2025-12-20T02:00", "2026-01-04T00:00"),
    # 2026-01-31T17:00Z is 1 February in China: a February incident.
    incident("I6", H1, "320100", "GENERAL", "VIRUS", "COMPLETED", "2026-01-31T17:00", "2026-02-15T00:00",
             "2026-02-02T00:00"),
]


def asset(id: str, kind: str, status: str, owner: str, region: str) -> dict[str, Any]:
    return {"id": id, "kind": kind, "host": f"{id}.example", "name": id, "status": status, "owner_id": owner,
            "region_code": region, "created_at": t("2025-01-01T00:00")}


ASSETS = [
    asset("A1", "DOMAIN", "IN_USE", H1, "320100"),
    asset("A2", "APPLICATION", "IN_USE", H1, "320100"),
    asset("A3", "APPLICATION", "IN_USE", H1, "320100"),
    asset("A4", "APPLICATION", "DISABLED", H1, "320100"),  # not a system in use
    asset("A5", "DOMAIN", "IN_USE", H2, "320100"),
    asset("A6", "APPLICATION", "IN_USE", H2, "320100"),
    asset("A7", "SERVER", "SCRAPPED", S1, "320200"),
    asset("A8", "APPLICATION", "IN_USE", S1, "320200"),
    asset("A9", "IP", "IN_USE", S1, "320200"),
]


def record(id: str, asset_id: str, org: str, level: int, filing: str | None, evaluated: date | None) -> dict[str, Any]:
    return {"id": id, "system_name": id, "org_id": org, "region_code": "320100", "asset_id": asset_id,
            "level": level, "filing_number": filing, "evaluated_on": evaluated, "evidence": [],
            "created_at": t("2025-01-01T00:00"), "updated_at": t("2025-01-01T00:00")}


RECORDS = [
    record("P1", "A2", H1, 3, "F-001", date(2026, 2, 1)),  # evaluated this year
    record("P2", "A3", H1, 2, None, None),
    record("P3", "A6", H2, 3, "F-002", date(2025, 11, 1)),  # evaluated last year
    record("P4", "A4", H1, 2, "F-003", date(2026, 1, 10)),  # its system is disabled: not counted
]


def ticket(id: str, org: str, region: str, fault: str, status: str, handler: str | None,
           rating: int | None) -> dict[str, Any]:
    return {"id": id, "number": id, "requester": "u", "org_id": org, "region_code": region, "fault_type": fault,
            "description": "", "origin": "REQUESTED", "status": status, "handler": handler, "rating": rating,
            "created_at": t("2026-01-01T00:00"), "updated_at": t("2026-01-01T00:00")}


TICKETS = [
    ticket("T1", H1, "320100", "NETWORK", "CLOSED", "eng-a", 5),
    ticket("T2", H1, "320100", "SERVER", "CLOSED", "eng-a", 4),
    ticket("T3", H2, "320100", "NETWORK", "IN_PROGRESS", "eng-b", None),
    ticket("T4", S1, "320200", "SERVER", "SUBMITTED", None, None),
    ticket("T5", S1, "320200", "NETWORK", "EVALUATED", "eng-b", 2),
]


def alert(id: str, org: str | None, asset_id: str | None, severity: str, category: str, ip: str | None,
          detected: str, status: str, handled: str | None = None) -> dict[str, Any]:
    return {"id": id, "source_id": id, "severity": severity, "category": category, "attack_ip": ip,
            "asset_id": asset_id, "org_id": org, "region_code": None if org is None else org[4:8] + "00",
            "detected_at": t(detected), "status": status, "handled_at": t(handled) if handled else None}


ALERTS = [
    alert("L1", H1, "A1", "HIGH", "WEB_ATTACK", "198.51.100.7", "2026-03-09T15:59", "OPEN"),  # China 23:59: yesterday
    alert("L2", H1, "A1", "MEDIUM", "WEB_ATTACK", "198.51.100.7", "2026-03-09T16:00", "HANDLED",
          "2026-03-09T17:00"),  # China midnight: today, handled today
    alert("L3", H1, "A2", "LOW", "SCAN", "203.0.113.5", "2026-03-10T01:00", "FALSE_POSITIVE", "2026-03-10T01:30"),
    alert("L4", H2, "A5", "CRITICAL", "VULNERABILITY", None, "2026-03-10T01:00", "OPEN"),
    alert("L5", H2, "A6", "HIGH", "VULNERABILITY", None, "2026-03-05T00:00", "OPEN"),
    alert("L6", S1, "A8", "LOW", "BRUTE_FORCE", "2001:db8::1", "2026-03-10T02:00", "OPEN"),
    alert("L7", S1, "A8", "MEDIUM", "VULNERABILITY", None, "2026-03-01T00:00", "HANDLED",
          "2026-03-09T15:00"),  # handled at China 23:00 yesterday
    alert("L8", H1, "A2", "HIGH", "VULNERABILITY", None, "2026-03-02T00:00", "OPEN"),
    alert("L9", S1, "A8", "MEDIUM", "WEB_ATTACK", "198.51.100.7", "2026-02-20T00:00", "HANDLED", "2026-02-21T00:00"),
    alert("L10", S1, "A8", "LOW", "SCAN", "203.0.113.5", "2026-02-10T00:00", "HANDLED", "2026-02-11T00:00"),
    alert("L11", None, None, "MEDIUM", "SCAN", "203.0.113.9", "2026-03-10T03:00", "OPEN"),  # no asset: admins only
    alert("L12", H1, "A4", "HIGH", "VULNERABILITY", None, "2026-03-03T00:00", "OPEN"),  # disabled system
    alert("L13", H2, "A5", "LOW", "SCAN", "198.51.100.23", "2025-12-30T00:00", "HANDLED",
          "2025-12-30T01:00"),  # last year
]

BOARD = """query($at: DateTime) { securityStatistics(at: $at) {
  today since until
  openIncidents { severity regionCode count }
  incidents { total completed completionRate overdue byType { key count } bySeverity { key count }
    byProgress { key count } byUnit { orgId total completed onTime completionRate }
    monthly { period issued completed } quarterly { period issued completed completionRate } }
  assets { total byStatus { key count } byKind { key count } byCity { regionCode kind status count } }
  protection { total { key systems withRecord withFiling evaluatedThisYear recordRatio filingRatio evaluationRatio }
    byLevel { key systems withRecord withFiling evaluatedThisYear }
    byCity { key systems withRecord withFiling evaluatedThisYear } }
  tickets { byState { key count } byFaultType { key count } byHandler { handler tickets rated averageRating } }
  alerts { detectedToday handledToday attackIpsToday detectedInPeriod topAttackIps { key count }
    highSeverityOpen websiteVulnerabilities vulnerableWebsites websites vulnerableWebsiteShare }
} }"""


async def empty_runtime(url: str) -> Runtime:
    """A migrated, unseeded security database holding only the test's rows."""
    engine = make_engine(definition.name, url)
    await upgrade(engine, definition.name)
    return Runtime(definition, engine, InProcessBus())


async def fixture_runtime(url: str) -> Runtime:
    runtime = await empty_runtime(url)
    async with runtime.sessions() as session, session.begin():
        for table, rows in ((models.Asset, ASSETS), (models.SecurityIncident, INCIDENTS),
                            (models.ProtectionRecord, RECORDS), (models.OpsTicket, TICKETS),
                            (models.SecurityAlert, ALERTS)):
            await session.execute(insert(table), rows)
    return runtime


def counts(items: list[dict[str, Any]]) -> dict[str, int]:
    return {i["key"]: i["count"] for i in items}


async def board(runtime: Runtime, caller: Caller, at: str = AT) -> dict[str, Any]:
    return (await execute(runtime, BOARD, {"at": at}, caller=caller))["securityStatistics"]


async def check_admin_board(runtime: Runtime) -> None:
    b = await board(runtime, ADMIN)
    assert (b["today"], b["since"], b["until"]) == ("2026-03-10", "2026-01-01", "2026-03-10")
    # Open: I2 (较大, Nanjing), I3 (一般, Nanjing), I5 (一般, Wuxi, issued last year).
    assert b["openIncidents"] == [{"severity": "GENERAL", "regionCode": "320100", "count": 1},
                                  {"severity": "GENERAL", "regionCode": "320200", "count": 1},
                                  {"severity": "SIGNIFICANT", "regionCode": "320100", "count": 1}]
    inc = b["incidents"]
    # Issued this year: I1, I2, I3, I4, I6; completed I1, I4, I6; overdue I2 only (I3's deadline is ahead).
    assert (inc["total"], inc["completed"], inc["completionRate"], inc["overdue"]) == (5, 3, 0.6, 1)
    assert counts(inc["byType"]) == {"DATA_LEAK": 1, "HACKING": 2, "VIRUS": 2}
    assert counts(inc["bySeverity"]) == {"GENERAL": 3, "MAJOR": 1, "SIGNIFICANT": 1}
    assert counts(inc["byProgress"]) == {"COMPLETED": 3, "HANDLING": 1, "NOT_HANDLED": 1}
    # H1: I1 (on time), I2, I6 (on time); I4 was completed late.
    assert inc["byUnit"] == [
        {"orgId": H1, "total": 3, "completed": 2, "onTime": 2, "completionRate": 0.6667},
        {"orgId": H2, "total": 1, "completed": 0, "onTime": 0, "completionRate": 0.0},
        {"orgId": S1, "total": 1, "completed": 1, "onTime": 0, "completionRate": 1.0}]
    # I6 (31 January UTC, 1 February in China) is a February incident.
    assert inc["monthly"] == [{"period": "2026-01", "issued": 1, "completed": 1},
                              {"period": "2026-02", "issued": 3, "completed": 2},
                              {"period": "2026-03", "issued": 1, "completed": 0}]
    assert inc["quarterly"] == [{"period": "2026-Q1", "issued": 5, "completed": 3, "completionRate": 0.6}]

    assets = b["assets"]
    assert assets["total"] == 9
    assert counts(assets["byStatus"]) == {"DISABLED": 1, "IN_USE": 7, "SCRAPPED": 1}
    assert counts(assets["byKind"]) == {"APPLICATION": 5, "DOMAIN": 2, "IP": 1, "SERVER": 1}
    assert assets["byCity"] == [
        {"regionCode": "320100", "kind": "APPLICATION", "status": "DISABLED", "count": 1},
        {"regionCode": "320100", "kind": "APPLICATION", "status": "IN_USE", "count": 3},
        {"regionCode": "320100", "kind": "DOMAIN", "status": "IN_USE", "count": 2},
        {"regionCode": "320200", "kind": "APPLICATION", "status": "IN_USE", "count": 1},
        {"regionCode": "320200", "kind": "IP", "status": "IN_USE", "count": 1},
        {"regionCode": "320200", "kind": "SERVER", "status": "SCRAPPED", "count": 1}]

    # Systems in use: A2, A3, A6, A8. Recorded A2, A3, A6; filed A2, A6; evaluated in 2026: A2.
    p = b["protection"]
    assert p["total"] == {"key": "ALL", "systems": 4, "withRecord": 3, "withFiling": 2, "evaluatedThisYear": 1,
                          "recordRatio": 0.75, "filingRatio": 0.5, "evaluationRatio": 0.25}
    assert p["byLevel"] == [
        {"key": "2", "systems": 1, "withRecord": 1, "withFiling": 0, "evaluatedThisYear": 0},
        {"key": "3", "systems": 2, "withRecord": 2, "withFiling": 2, "evaluatedThisYear": 1}]
    assert p["byCity"] == [
        {"key": "320100", "systems": 3, "withRecord": 3, "withFiling": 2, "evaluatedThisYear": 1},
        {"key": "320200", "systems": 1, "withRecord": 0, "withFiling": 0, "evaluatedThisYear": 0}]

    tickets = b["tickets"]
    assert counts(tickets["byState"]) == {"CLOSED": 2, "EVALUATED": 1, "IN_PROGRESS": 1, "SUBMITTED": 1}
    assert counts(tickets["byFaultType"]) == {"NETWORK": 3, "SERVER": 2}
    assert tickets["byHandler"] == [{"handler": "eng-a", "tickets": 2, "rated": 2, "averageRating": 4.5},
                                    {"handler": "eng-b", "tickets": 2, "rated": 1, "averageRating": 2.0}]

    a = b["alerts"]
    # Today: L2 (China midnight), L3, L4, L6, L11; not L1 (one minute before midnight).
    assert a["detectedToday"] == 5
    # Handled today: L2, L3 (a false positive is triaged too); L7 was handled at 23:00 yesterday.
    assert a["handledToday"] == 2
    # 198.51.100.7 (L2), 203.0.113.5 (L3), 2001:db8::1 (L6), 203.0.113.9 (L11).
    assert a["attackIpsToday"] == 4
    assert a["detectedInPeriod"] == 12  # all but L13 (last year)
    assert a["topAttackIps"] == [{"key": "198.51.100.7", "count": 3}, {"key": "203.0.113.5", "count": 2},
                                 {"key": "2001:db8::1", "count": 1}, {"key": "203.0.113.9", "count": 1}]
    assert a["highSeverityOpen"] == 5  # L1, L4, L5, L8, L12
    # Open vulnerabilities on websites in use: L4 (A5), L5 (A6), L8 (A2); L12's system is disabled.
    # Websites in use: A1, A2, A3, A5, A6, A8.
    assert (a["websiteVulnerabilities"], a["vulnerableWebsites"], a["websites"]) == (3, 3, 6)
    assert a["vulnerableWebsiteShare"] == 0.5


async def test_every_figure_of_the_board(tmp_path: Path) -> None:
    runtime = await fixture_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        await check_admin_board(runtime)
    finally:
        await runtime.engine.dispose()


async def test_today_is_a_china_day(tmp_path: Path) -> None:
    runtime = await fixture_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        # One second before China midnight it is still 9 March: L1 was detected and L7 handled that day.
        a = (await board(runtime, ADMIN, "2026-03-09T15:59:59Z"))["alerts"]
        assert (a["detectedToday"], a["handledToday"], a["attackIpsToday"]) == (1, 1, 1)
        # From China midnight on, today is the 10th, and all of the 10th's alerts count.
        b = await board(runtime, ADMIN, "2026-03-09T16:00:00Z")
        assert b["today"] == "2026-03-10" and b["alerts"]["detectedToday"] == 5
        # A time without an offset is UTC.
        assert (await board(runtime, ADMIN, "2026-03-09T15:59:59"))["today"] == "2026-03-09"
        # 2026-03-10 is a period of one China day.
        one_day = await execute(runtime, 'query($at: DateTime) { securityStatistics(at: $at, since: "2026-03-10") '
                                         '{ alerts { detectedInPeriod topAttackIps { key count } } } }', {"at": AT},
                                caller=ADMIN)
        figures = one_day["securityStatistics"]["alerts"]
        assert figures["detectedInPeriod"] == 5
        assert figures["topAttackIps"][0] == {"key": "198.51.100.7", "count": 1}
        errors = await errors_of(runtime, '{ securityStatistics(since: "2026-03-10", until: "2026-03-01") { today } }',
                                 caller=ADMIN)
        assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    finally:
        await runtime.engine.dispose()


async def test_each_caller_counts_its_own_scope(tmp_path: Path) -> None:
    runtime = await fixture_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        nj = await board(runtime, NANJING)
        assert nj["openIncidents"] == [{"severity": "GENERAL", "regionCode": "320100", "count": 1},
                                       {"severity": "SIGNIFICANT", "regionCode": "320100", "count": 1}]
        assert nj["incidents"]["total"] == 4  # I1, I2, I3, I6
        assert nj["assets"]["total"] == 6  # A1-A6
        assert nj["protection"]["total"]["systems"] == 3
        assert counts(nj["tickets"]["byState"]) == {"CLOSED": 2, "IN_PROGRESS": 1}
        assert nj["tickets"]["byHandler"] == [{"handler": "eng-a", "tickets": 2, "rated": 2, "averageRating": 4.5},
                                              {"handler": "eng-b", "tickets": 1, "rated": 0, "averageRating": None}]
        a = nj["alerts"]
        # Not L6 (Wuxi) nor L11 (no organisation).
        assert (a["detectedToday"], a["handledToday"], a["attackIpsToday"], a["highSeverityOpen"]) == (3, 2, 2, 5)
        assert (a["websiteVulnerabilities"], a["websites"], a["vulnerableWebsiteShare"]) == (3, 5, 0.6)

        h1 = await board(runtime, HOSPITAL)
        assert h1["openIncidents"] == [{"severity": "SIGNIFICANT", "regionCode": "320100", "count": 1}]
        assert h1["incidents"]["total"] == 3 and [u["orgId"] for u in h1["incidents"]["byUnit"]] == [H1]
        assert h1["assets"]["total"] == 4
        assert h1["protection"]["total"]["systems"] == 2 and h1["protection"]["total"]["withFiling"] == 1
        assert counts(h1["tickets"]["byState"]) == {"CLOSED": 2}
        a = h1["alerts"]
        assert (a["detectedToday"], a["handledToday"], a["highSeverityOpen"]) == (2, 2, 3)  # L2, L3; L1, L8, L12
        assert (a["websiteVulnerabilities"], a["websites"], a["vulnerableWebsiteShare"]) == (1, 3, 0.3333)

        for caller in (STRANGER, PLATFORM):
            errors = await errors_of(runtime, "{ securityStatistics { today } }", caller=caller)
            assert errors[0].extensions["code"] == "FORBIDDEN"
    finally:
        await runtime.engine.dispose()


REPORT = """mutation($alerts: [AlertInput!]!) { reportAlerts(alerts: $alerts) {
  created updated unchanged alerts { id sourceId status assetId orgId regionCode handledAt } } }"""
HANDLE = """mutation($id: ID!, $outcome: AlertOutcome!, $incident: ID) {
  handleAlert(id: $id, outcome: $outcome, incidentId: $incident) { id status handledBy incidentId } }"""
TODAY = "{ securityStatistics { alerts { detectedToday handledToday attackIpsToday highSeverityOpen } } }"


async def outbox_topics(runtime: Runtime) -> list[str]:
    async with runtime.sessions() as session:
        return list((await session.scalars(select(models.OutboxEvent.topic).order_by(
            models.OutboxEvent.created_at))).all())


async def test_alert_reports_are_idempotent_and_triage_counts_today(tmp_path: Path) -> None:
    runtime = await fixture_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        now = datetime.now(UTC).isoformat()
        batch = [{"sourceId": "P-1", "severity": "HIGH", "category": "WEB_ATTACK", "detectedAt": now,
                  "attackIp": "203.0.113.77", "host": "A1.example"},
                 {"sourceId": "P-2", "severity": "LOW", "category": "SCAN", "detectedAt": now,
                  "attackIp": "2001:db8::9"}]
        first = (await execute(runtime, REPORT, {"alerts": batch}, caller=PLATFORM))["reportAlerts"]
        assert (first["created"], first["updated"], first["unchanged"]) == (2, 0, 0)
        hit, loose = first["alerts"]
        # The asset is found by its host; its owner and city come with it.
        assert (hit["assetId"], hit["orgId"], hit["regionCode"], hit["status"]) == ("A1", H1, "320100", "OPEN")
        assert (loose["assetId"], loose["orgId"]) == (None, None)
        before = (await execute(runtime, TODAY, caller=ADMIN))["securityStatistics"]["alerts"]
        assert (before["detectedToday"], before["handledToday"], before["attackIpsToday"]) == (2, 0, 2)

        again = (await execute(runtime, REPORT, {"alerts": batch}, caller=PLATFORM))["reportAlerts"]
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
        assert [a["id"] for a in again["alerts"]] == [hit["id"], loose["id"]]
        # The platform closes P-2 itself: the same alert, now handled.
        closed = [{**batch[1], "status": "FALSE_POSITIVE"}]
        update = (await execute(runtime, REPORT, {"alerts": closed}, caller=PLATFORM))["reportAlerts"]
        assert (update["created"], update["updated"]) == (0, 1) and update["alerts"][0]["handledAt"]

        handled = (await execute(runtime, HANDLE, {"id": hit["id"], "outcome": "HANDLED", "incident": "I1"},
                                 caller=ADMIN))["handleAlert"]
        assert handled == {"id": hit["id"], "status": "HANDLED", "handledBy": "u-admin", "incidentId": "I1"}
        after = (await execute(runtime, TODAY, caller=ADMIN))["securityStatistics"]["alerts"]
        assert (after["detectedToday"], after["handledToday"]) == (2, 2)
        assert after["highSeverityOpen"] == before["highSeverityOpen"] - 1
        assert await outbox_topics(runtime) == ["security.alert.reported", "security.alert.reported",
                                                "security.alert.updated", "security.alert.handled"]

        # A decided alert is not decided twice.
        errors = await errors_of(runtime, HANDLE, {"id": hit["id"], "outcome": "FALSE_POSITIVE"}, caller=ADMIN)
        assert errors[0].extensions["code"] == "INVALID_STATE" and "HANDLED" in errors[0].message
    finally:
        await runtime.engine.dispose()


async def test_alert_input_and_permissions_are_checked(tmp_path: Path) -> None:
    runtime = await fixture_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        good = {"sourceId": "Q-1", "severity": "LOW", "category": "SCAN", "detectedAt": "2026-03-10T00:00:00Z"}
        for caller in (HOSPITAL, NANJING):
            errors = await errors_of(runtime, REPORT, {"alerts": [good]}, caller=caller)
            assert errors[0].extensions["code"] == "FORBIDDEN"
        for bad in ({**good, "attackIp": "999.1.1.1"}, {**good, "sourceId": ""},
                    {**good, "handledAt": "2026-03-10T01:00:00Z"}):
            errors = await errors_of(runtime, REPORT, {"alerts": [bad]}, caller=PLATFORM)
            assert errors[0].extensions["code"] == "BAD_USER_INPUT"
        errors = await errors_of(runtime, REPORT, {"alerts": [good, good]}, caller=PLATFORM)
        assert errors[0].extensions["code"] == "BAD_USER_INPUT"
        # Only administrators triage; unknown alerts and incidents are NOT_FOUND.
        errors = await errors_of(runtime, HANDLE, {"id": "L1", "outcome": "HANDLED"}, caller=PLATFORM)
        assert errors[0].extensions["code"] == "FORBIDDEN"
        errors = await errors_of(runtime, HANDLE, {"id": "nope", "outcome": "HANDLED"}, caller=ADMIN)
        assert errors[0].extensions["code"] == "NOT_FOUND"
        errors = await errors_of(runtime, HANDLE, {"id": "L1", "outcome": "HANDLED", "incident": "I-none"},
                                 caller=ADMIN)
        assert errors[0].extensions["code"] == "NOT_FOUND"
        async with runtime.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(models.OutboxEvent)) == 0
            assert await session.scalar(select(models.SecurityAlert.status).where(models.SecurityAlert.id == "L1")) \
                == "OPEN"
    finally:
        await runtime.engine.dispose()


@pytest.mark.postgres
async def test_the_board_on_postgres() -> None:
    url = await create_pg_database("jshealth_sec")
    try:
        runtime = await fixture_runtime(url)
        try:
            await check_admin_board(runtime)
            report = [{"sourceId": "PG-1", "severity": "CRITICAL", "category": "MALWARE",
                       "detectedAt": datetime.now(UTC).isoformat(), "host": "A8.example"}]
            data = await execute(runtime, REPORT, {"alerts": report}, caller=PLATFORM)
            assert data["reportAlerts"]["alerts"][0]["regionCode"] == "320200"
            again = await execute(runtime, REPORT, {"alerts": report}, caller=PLATFORM)
            assert again["reportAlerts"]["unchanged"] == 1
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)
