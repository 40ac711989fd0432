"""数据规模完整 (QC-SCALE-COMPLETE): the coverage report shows, per issuing authority, the licences collected
each China month and the months inside its active span with none."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.licences import models
from subgraphs.licences.app import definition

QUERY = """query($t: LicenceTypeCode!, $a: Date!, $b: Date!) {
  licenceCoverage(type: $t, firstMonth: $a, lastMonth: $b) { issuerName months { month count } missingMonths } }"""


async def add(runtime: Runtime, issuer: str, *collected: datetime) -> None:
    async with runtime.sessions() as session, session.begin():
        for i, at in enumerate(collected):
            number = f"COV-{issuer[:2]}-{at:%Y%m%d%H}-{i}"
            session.add(models.Licence(
                id=f"lic-cov-{number}", number=number, type_code="BLOOD_DONATION", business_key=number,
                holder_kind="PERSON", holder_name="张三", issuer_name=issuer, issued_at=at.date(), fields={},
                collection_source="test", collected_at=at, ingested_at=at, created_at=at))


async def report(runtime: Runtime) -> dict[str, dict[str, object]]:
    data = await execute(runtime, QUERY, {"t": "BLOOD_DONATION", "a": "2024-01-01", "b": "2024-12-01"})
    return {c["issuerName"]: c for c in data["licenceCoverage"] if c["issuerName"].startswith("测试")}


async def check(runtime: Runtime) -> None:
    # 测试甲 sent in January, February and May: March and April are missing. The last record of 29 February
    # 17:00 UTC is 1 March 01:00 in China, so it counts for March.
    await add(runtime, "测试甲中心血站", datetime(2024, 1, 10, 2, tzinfo=UTC), datetime(2024, 2, 3, 2, tzinfo=UTC),
              datetime(2024, 5, 20, 2, tzinfo=UTC), datetime(2024, 5, 21, 2, tzinfo=UTC))
    await add(runtime, "测试乙中心血站", datetime(2024, 2, 29, 17, tzinfo=UTC), datetime(2024, 4, 1, 2, tzinfo=UTC))
    found = await report(runtime)
    assert found["测试甲中心血站"] == {"issuerName": "测试甲中心血站", "months": [
        {"month": "2024-01", "count": 1}, {"month": "2024-02", "count": 1}, {"month": "2024-05", "count": 2}],
        "missingMonths": ["2024-03", "2024-04"]}
    assert found["测试乙中心血站"]["months"] == [{"month": "2024-03", "count": 1}, {"month": "2024-04", "count": 1}]
    assert found["测试乙中心血站"]["missingMonths"] == []


async def test_coverage_shows_missing_months_per_issuer(tmp_path: Path) -> None:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'l.db'}")
    try:
        await check(runtime)
        errors = await errors_of(runtime, QUERY, {"t": "BLOOD_DONATION", "a": "2024-05-01", "b": "2024-01-01"})
        assert errors[0].extensions["code"] == "BAD_USER_INPUT"
        clerk = Caller(subject="usr-clerk", client_id="portal", scopes=frozenset(), roles=("MEDICAL_STAFF",))
        errors = await errors_of(runtime, QUERY, {"t": "BLOOD_DONATION", "a": "2024-01-01", "b": "2024-12-01"},
                                 caller=clerk)
        assert errors[0].extensions["code"] == "FORBIDDEN"
    finally:
        await runtime.engine.dispose()


@pytest.mark.postgres
async def test_coverage_on_postgresql(tmp_path: Path) -> None:
    url = await create_pg_database("jshealth_lic")
    try:
        runtime = await make_runtime(definition, url)
        try:
            await check(runtime)
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)


def test_months_between_crosses_years() -> None:
    from subgraphs.licences.domain.coverage import months_between

    assert months_between("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]
