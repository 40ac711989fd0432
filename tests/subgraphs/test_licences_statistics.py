"""licences statistics: totals per type, combined counts, the valid total, the increment trend and presentation
usage, each checked against a count of the rows themselves, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from support import TEST_SEED, create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.caller import Caller
from subgraphs.licences import models
from subgraphs.licences.app import definition
from subgraphs.licences.codes import LICENCE_TYPES, LicenceOperation, type_info
from subgraphs.licences.domain.changes import licence_written
from subgraphs.licences.domain.statistics import near_expiry_days
from subgraphs.licences.status import LicenceStatus, licence_status, today_in_china

MANAGER = Caller(subject="u-officer", client_id="c-console", scopes=frozenset(), roles=("LICENCE_OFFICER",))
CITIZEN = Caller(subject="u-citizen", client_id="c-app", scopes=frozenset(), person_uid="R-1")
TODAY = today_in_china()
SEED = SeedOptions(seed=TEST_SEED, persons=40)


async def add(runtime: Runtime, number: str, *, type: str = "NURSE_PRACTICE", valid_until: date | None = None,
              revoked: bool = False, valid_flag: bool = True, ingested_at: datetime | None = None,
              issuer: str = "统计测试卫健委", generate: bool = True) -> None:
    now = datetime.now(UTC)
    row = models.Licence(
        id=f"lic-s-{type[:4].lower()}-{number}", number=number, type_code=type, business_key=number,
        holder_kind=type_info(type).holder_kind.value,
        holder_name="统计", issuer_org_id=f"org-{issuer}", issuer_name=issuer, issued_at=date(2024, 1, 1),
        valid_from=date(2024, 1, 1), valid_until=valid_until, revoked_at=TODAY if revoked else None,
        valid_flag=valid_flag, fields={}, collection_source="t", ingested_at=ingested_at or now, created_at=now)
    async with runtime.sessions() as session, session.begin():
        session.add(row)
        if generate:
            await licence_written(session, row, operation=LicenceOperation.COLLECTED, operator="test")


async def populate(runtime: Runtime) -> None:
    await add(runtime, "S-1", valid_until=TODAY + timedelta(days=10))  # valid, near expiry
    await add(runtime, "S-2", valid_until=TODAY + timedelta(days=200))  # valid, within a year
    await add(runtime, "S-3", valid_until=TODAY - timedelta(days=1))  # expired
    await add(runtime, "S-4", valid_until=TODAY + timedelta(days=900), revoked=True)  # invalid
    await add(runtime, "S-5", valid_until=TODAY + timedelta(days=900), valid_flag=False)  # invalid
    await add(runtime, "S-6", type="BLOOD_DONATION", generate=False)  # never expires, not generated
    await add(runtime, "S-7", type="HEALTH_CERTIFICATE", valid_until=TODAY, issuer="另一体检中心")


async def rows_of(runtime: Runtime) -> tuple[list[models.Licence], set[str]]:
    async with runtime.sessions() as session:
        rows = list((await session.scalars(select(models.Licence))).all())
        generated = set((await session.scalars(select(models.ElectronicLicence.licence_id))).all())
    return rows, generated


def window(row: models.Licence) -> str:
    end = row.valid_until
    if end is None:
        return "NEVER"
    if end < TODAY:
        return "EXPIRED"
    if end <= TODAY + timedelta(days=near_expiry_days()):
        return "NEAR_EXPIRY"
    return "WITHIN_YEAR" if end <= TODAY + timedelta(days=365) else "LATER"


TOTALS = "{ licenceTotals { type typeName collected generated valid expired invalid nearExpiry } }"
COUNTS = """query($g: [LicenceDimension!]!, $f: LicenceCountFilter) { licenceCounts(groupBy: $g, filter: $f) {
    count type issuerName issuerOrgId status validityWindow holderKind } }"""


async def check_figures(runtime: Runtime) -> None:
    """Every licence figure against a count of the rows."""
    rows, generated = await rows_of(runtime)
    status = {r.id: licence_status(r, TODAY) for r in rows}

    totals = (await execute(runtime, TOTALS, caller=MANAGER))["licenceTotals"]
    assert [t["type"] for t in totals] == [t.value for t in LICENCE_TYPES]
    for entry in totals:
        mine = [r for r in rows if r.type_code == entry["type"]]
        assert entry == {
            "type": entry["type"], "typeName": type_info(entry["type"]).name,
            "collected": len(mine), "generated": sum(r.id in generated for r in mine),
            "valid": sum(status[r.id] is LicenceStatus.VALID for r in mine),
            "expired": sum(status[r.id] is LicenceStatus.EXPIRED for r in mine),
            "invalid": sum(status[r.id] is LicenceStatus.INVALID for r in mine),
            "nearExpiry": sum(status[r.id] is LicenceStatus.VALID and window(r) == "NEAR_EXPIRY" for r in mine),
        }

    valid = (await execute(runtime, "{ validLicenceTotal }", caller=MANAGER))["validLicenceTotal"]
    assert valid == sum(s is LicenceStatus.VALID for s in status.values())
    nurses = (await execute(runtime, "{ validLicenceTotal(types: [NURSE_PRACTICE]) }", caller=MANAGER))
    assert nurses["validLicenceTotal"] == sum(
        s is LicenceStatus.VALID and r.type_code == "NURSE_PRACTICE" for r in rows for s in [status[r.id]])

    data = await execute(runtime, COUNTS, {"g": ["TYPE", "STATUS", "VALIDITY_WINDOW"]}, caller=MANAGER)
    got = {(c["type"], c["status"], c["validityWindow"]): c["count"] for c in data["licenceCounts"]}
    assert got == Counter((r.type_code, status[r.id].value, window(r)) for r in rows)
    counts = [c["count"] for c in data["licenceCounts"]]
    assert counts == sorted(counts, reverse=True)
    assert all(c["issuerName"] is None and c["holderKind"] is None for c in data["licenceCounts"])

    data = await execute(runtime, COUNTS, {"g": ["ISSUER", "HOLDER_KIND"]}, caller=MANAGER)
    got = {(c["issuerOrgId"], c["issuerName"], c["holderKind"]): c["count"] for c in data["licenceCounts"]}
    assert got == Counter((r.issuer_org_id, r.issuer_name, r.holder_kind) for r in rows)

    where = {"statuses": ["VALID", "EXPIRED"], "issuerNames": ["统计测试卫健委", "另一体检中心"]}
    data = await execute(runtime, COUNTS, {"g": ["STATUS"], "f": where}, caller=MANAGER)
    assert {c["status"]: c["count"] for c in data["licenceCounts"]} == {"VALID": 4, "EXPIRED": 1}
    data = await execute(runtime, COUNTS, {"g": [], "f": {"validityWindows": ["NEVER"], "types": ["BLOOD_DONATION"]}},
                         caller=MANAGER)
    assert data["licenceCounts"] == [{"count": sum(r.type_code == "BLOOD_DONATION" and r.valid_until is None
                                                   for r in rows), "type": None, "issuerName": None,
                                      "issuerOrgId": None, "status": None, "validityWindow": None,
                                      "holderKind": None}]


async def test_figures_match_the_rows(tmp_path: Path) -> None:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'l.db'}", seed_options=SEED)
    try:
        await populate(runtime)
        await check_figures(runtime)
        # The seven test licences by themselves: one issuer's.
        data = await execute(runtime, COUNTS, {"g": ["STATUS"], "f": {"issuerNames": ["统计测试卫健委"]}},
                             caller=MANAGER)
        assert {c["status"]: c["count"] for c in data["licenceCounts"]} == {"VALID": 3, "EXPIRED": 1, "INVALID": 2}
    finally:
        await runtime.engine.dispose()


TREND = """query($from: Date!, $to: Date!, $t: [LicenceTypeCode!]) { licenceIncrementTrend(from: $from, to: $to,
    types: $t) { day count } }"""


async def check_trend(runtime: Runtime) -> None:
    # 15:59 UTC is 23:59 in Beijing on the 1st; 16:00 UTC is already the 2nd there.
    await add(runtime, "T-1", ingested_at=datetime(2031, 3, 1, 15, 59, tzinfo=UTC))
    await add(runtime, "T-2", ingested_at=datetime(2031, 3, 1, 16, 0, tzinfo=UTC))
    await add(runtime, "T-3", type="BLOOD_DONATION", ingested_at=datetime(2031, 3, 2, 3, 0, tzinfo=UTC))
    await add(runtime, "T-4", ingested_at=datetime(2031, 3, 4, 16, 0, tzinfo=UTC))  # the 5th: outside
    data = await execute(runtime, TREND, {"from": "2031-03-01", "to": "2031-03-04"}, caller=MANAGER)
    assert data["licenceIncrementTrend"] == [{"day": "2031-03-01", "count": 1}, {"day": "2031-03-02", "count": 2},
                                             {"day": "2031-03-03", "count": 0}, {"day": "2031-03-04", "count": 0}]
    data = await execute(runtime, TREND, {"from": "2031-03-02", "to": "2031-03-02", "t": ["NURSE_PRACTICE"]},
                         caller=MANAGER)
    assert data["licenceIncrementTrend"] == [{"day": "2031-03-02", "count": 1}]


async def test_daily_increment_trend_by_china_day(tmp_path: Path) -> None:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'l.db'}", seed_options=SEED)
    try:
        await check_trend(runtime)
        errors = await errors_of(runtime, TREND, {"from": "2031-03-02", "to": "2031-03-01"}, caller=MANAGER)
        assert (errors[0].extensions["code"], errors[0].extensions["argument"]) == ("BAD_USER_INPUT", "to")
        errors = await errors_of(runtime, TREND, {"from": "2030-01-01", "to": "2031-03-01"}, caller=MANAGER)
        assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    finally:
        await runtime.engine.dispose()


PRESENTATIONS = """query($from: Date!, $to: Date!) { presentationStatistics(from: $from, to: $to) { presented
    byType { type count } byClient { clientId clientName count } byDay { day count } byResult { result count } } }"""


async def check_presentations(runtime: Runtime) -> None:
    at = datetime(2031, 5, 1, 2, 0, tzinfo=UTC)
    records = [  # (client, type, result, hours after `at`)
        ("c-t-sfb", "NURSE_PRACTICE", "PRESENTED", 0), ("c-t-sfb", "NURSE_PRACTICE", "PRESENTED", 1),
        ("c-t-sfb", "HEALTH_CERTIFICATE", "PRESENTED", 20), ("c-t-wx", "NURSE_PRACTICE", "PRESENTED", 2),
        ("c-t-wx", "NURSE_PRACTICE", "DENIED", 3), ("c-t-gone", "BLOOD_DONATION", "NOT_FOUND", 4),
        ("c-t-sfb", "NURSE_PRACTICE", "PRESENTED", 24 * 10),  # outside the range
    ]
    async with runtime.sessions() as session, session.begin():
        # Appended past the hash chain (seq is the chain's numbering, domain/chain.py): only the figures matter.
        last = await session.scalar(select(func.max(models.PresentationRecord.seq))) or 0
        for client, name in (("c-t-sfb", "苏服办"), ("c-t-wx", "江苏健康通")):
            session.add(models.PresentationClient(
                client_id=client, name=name, allowed_types=["NURSE_PRACTICE"], allowed_scenarios=["x"],
                daily_limit=10, yearly_limit=100, registered_by="test", registered_at=at))
        for i, (client, type_code, result, hours) in enumerate(records):
            session.add(models.PresentationRecord(
                seq=last + 1 + i, id=f"pr-t-{i}", presented_at=at + timedelta(hours=hours), client_id=client,
                operator="op", scenario="x", type_code=type_code, result=result, prev_hash="0" * 64, hash=f"{i:064d}"))
    data = (await execute(runtime, PRESENTATIONS, {"from": "2031-05-01", "to": "2031-05-02"},
                          caller=MANAGER))["presentationStatistics"]
    assert data["presented"] == 4
    assert {t["type"]: t["count"] for t in data["byType"] if t["count"]} == {"NURSE_PRACTICE": 3,
                                                                              "HEALTH_CERTIFICATE": 1}
    assert len(data["byType"]) == 11
    assert data["byClient"] == [{"clientId": "c-t-sfb", "clientName": "苏服办", "count": 3},
                                {"clientId": "c-t-wx", "clientName": "江苏健康通", "count": 1}]
    # 02:00 UTC + 20 h is 06:00 on the 2nd in Beijing.
    assert data["byDay"] == [{"day": "2031-05-01", "count": 3}, {"day": "2031-05-02", "count": 1}]
    assert {r["result"]: r["count"] for r in data["byResult"] if r["count"]} == {
        "PRESENTED": 4, "DENIED": 1, "NOT_FOUND": 1}


async def test_presentation_statistics(tmp_path: Path) -> None:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'l.db'}", seed_options=SEED)
    try:
        await check_presentations(runtime)
    finally:
        await runtime.engine.dispose()


@pytest.mark.parametrize("query", [TOTALS, "{ validLicenceTotal }", '{ licenceCounts(groupBy: [TYPE]) { count } }',
                                   '{ licenceIncrementTrend(from: "2031-01-01", to: "2031-01-02") { day } }',
                                   '{ presentationStatistics(from: "2031-01-01", to: "2031-01-02") { presented } }'])
async def test_statistics_are_for_managers(sqlite_runtime: Any, query: str) -> None:
    runtime = await sqlite_runtime(definition)
    errors = await errors_of(runtime, query, caller=CITIZEN)
    assert errors[0].extensions["code"] == "FORBIDDEN"


@pytest.mark.postgres
async def test_statistics_on_postgresql() -> None:
    url = await create_pg_database("jshealth_lic")
    runtime = await make_runtime(definition, url, seed_options=SEED)
    try:
        await populate(runtime)
        await check_figures(runtime)
        await check_trend(runtime)
        await check_presentations(runtime)
    finally:
        await runtime.engine.dispose()
        await drop_pg_database(url)
