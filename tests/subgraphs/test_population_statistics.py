"""Population statistics (populationStatistics, birthStatistics, deathStatistics, workCounters) and the tally
rebuild job, on SQLite and on PostgreSQL (the tally SQL differs). Every expected figure is counted here in
plain Python over the rows of the database, never taken from the seed's numbers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from support import create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.caller import Caller
from subgraphs.common.regions import subtree_prefix
from subgraphs.common.validators import make_resident_id
from subgraphs.population import models
from subgraphs.population.app import definition
from subgraphs.population.codes import AGE_BAND_BOUNDS, AgeBand
from subgraphs.population.domain import tally
from subgraphs.population.domain.changes import person_written, snapshot
from subgraphs.population.jobs import tally as tally_job

PERSONS = 160
PROVINCE = "320000"
TODAY = datetime.now(UTC).astimezone().date()

POPULATION = """
query($region: ID!, $month: String) {
  populationStatistics(regionCode: $region, asOfMonth: $month) {
    regionCode requestedRegionCode asOfMonth asOf total male female maleShare femaleShare mobile resident
    mobileShare residentShare aged65Plus aged65PlusShare
    byPersonType { personType count share }
    ageBands { band label minAge maxAge total male female share }
    byChildRegion { regionCode name total share region { code } }
  }
}"""

BIRTHS = """
query($region: ID!, $from: Date!, $to: Date!, $groupBy: StatisticsInterval!) {
  birthStatistics(regionCode: $region, from: $from, to: $to, groupBy: $groupBy) {
    regionCode from to groupBy total male female
    byOrder { order label total male female }
    buckets { period start end total male female byOrder { order total } }
  }
}"""

DEATHS = """
query($region: ID!, $from: Date!, $to: Date!, $groupBy: StatisticsInterval!) {
  deathStatistics(regionCode: $region, from: $from, to: $to, groupBy: $groupBy) {
    regionCode total male female
    bySource { source total male female }
    buckets { period start end total bySource { source total } }
  }
}"""

WORK = """
query($region: ID!) {
  workCounters(regionCode: $region) {
    regionCode requestedRegionCode asOf pendingDispatchTasks unclaimedDeaths openCheckItems
    openCheckItemsByCategory { category count }
  }
}"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                   ) -> AsyncIterator[tuple[Runtime, str]]:
    """A seeded population database (the seed ends with tally.rebuild)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('statistics') / 'g.db'}"
    else:
        url = await create_pg_database("jshealth_stats")
    runtime = await make_runtime(definition, url, seed_options=SeedOptions(persons=PERSONS))
    try:
        yield runtime, url
    finally:
        await runtime.engine.dispose()
        if request.param == "postgresql":
            await drop_pg_database(url)


# --- helpers -------------------------------------------------------------------------------------------


def month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def completed_years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


async def expected_population(runtime: Runtime, code: str, year: int, month: int) -> dict[str, Any]:
    """The figures of populationStatistics, counted over the person rows (age on the month's last day)."""
    end = month_end(year, month)
    prefix = subtree_prefix(code)
    P = models.Person
    async with runtime.sessions() as session:
        rows = (await session.execute(select(P.management_region_code, P.sex, P.birth_date, P.mobility,
                                             P.person_type, P.status, P.deleted))).all()
        children = (await session.scalars(select(models.Region.code).where(models.Region.parent_code == code)
                                          .order_by(models.Region.code))).all()
    counted = [r for r in rows if r.status == "NORMAL" and not r.deleted and r.birth_date <= end
               and r.management_region_code.startswith(prefix)]
    bands: dict[str, Counter[str]] = {}
    for band, (low, high) in AGE_BAND_BOUNDS.items():
        members = [r for r in counted if low <= completed_years(r.birth_date, end) and
                   (high is None or completed_years(r.birth_date, end) <= high)]
        bands[band.value] = Counter(r.sex for r in members)
    by_child = {child: sum(1 for r in counted if r.management_region_code.startswith(subtree_prefix(child)))
                for child in children}
    return {"total": len(counted), "sex": Counter(r.sex for r in counted),
            "mobility": Counter(r.mobility for r in counted), "types": Counter(r.person_type for r in counted),
            "bands": bands, "children": by_child}


async def population(runtime: Runtime, region: str, month: str | None = None,
                     caller: Caller | None = None) -> dict[str, Any]:
    data = await execute(runtime, POPULATION, {"region": region, "month": month}, caller=caller)
    return dict(data["populationStatistics"])


def bands_of(figures: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {b["band"]: {"total": b["total"], "male": b["male"], "female": b["female"]} for b in figures["ageBands"]}


async def busiest_regions(runtime: Runtime) -> tuple[str, str]:
    """The city with the most persons and its county with the most persons."""
    async with runtime.sessions() as session:
        codes = (await session.scalars(select(models.Person.management_region_code)
                                       .where(models.Person.status == "NORMAL"))).all()
    city = Counter(c[:4] + "00" for c in codes).most_common(1)[0][0]
    county = Counter(c[:6] for c in codes if c.startswith(city[:4])).most_common(1)[0][0]
    return city, county


async def a_township(runtime: Runtime, county: str) -> str:
    async with runtime.sessions() as session:
        code = await session.scalar(select(models.Region.code).where(models.Region.parent_code == county)
                                    .order_by(models.Region.code).limit(1))
    return code or county


async def add_person(runtime: Runtime, region: str, born: date, *, sex: str = "FEMALE",
                     mobility: str = "RESIDENT", person_type: str = "HOUSEHOLD_REGISTERED") -> str:
    """A new person written the one way persons are written (changes.person_written)."""
    async with runtime.sessions() as session, session.begin():
        while True:
            number = make_resident_id(region[:6], born, (uuid.uuid4().int % 500) * 2 + (sex == "MALE"))
            if await session.scalar(select(models.Person.uid).where(models.Person.id_number == number)) is None:
                break
        uid = f"T{uuid.uuid4().hex[:20]}"
        row = models.Person(uid=uid, person_no=f"T{uuid.uuid4().hex[:12]}", identity_code=number, id_number=number,
                            name="测试人", sex=sex, birth_date=born, mobility=mobility, person_type=person_type,
                            household_region_code=region, residence_region_code=region,
                            management_region_code=region, created_at=datetime.now(UTC))
        await person_written(session, row, actor="test", action="CREATE", before=None)
    return uid


async def cancel_person(runtime: Runtime, uid: str) -> None:
    async with runtime.sessions() as session, session.begin():
        row = await session.get(models.Person, uid)
        assert row is not None
        before = snapshot(row)
        row.status, row.cancelled_on, row.cancel_reason = "CANCELLED", TODAY, "测试注销"
        await person_written(session, row, actor="test", action="CANCEL", before=before)


def city_user(region: str) -> Caller:
    return Caller(subject="usr-city", client_id="portal-web", scopes=frozenset({"openid"}), region_code=region,
                  data_scope="OWN_ORG", roles=("HEALTH_OFFICER",))


# --- population structure ------------------------------------------------------------------------------


async def test_the_tallies_have_no_drift_after_the_seed(database: tuple[Runtime, str]) -> None:
    _, url = database
    report = await tally_job.check(url, progress=False)
    assert report.total == 0, report.sample


async def test_population_figures_equal_a_count_of_the_person_rows(database: tuple[Runtime, str]) -> None:
    runtime, _ = database
    city, county = await busiest_regions(runtime)
    for code in (PROVINCE, city, county):
        figures = await population(runtime, code)
        year, month = (int(p) for p in figures["asOfMonth"].split("-"))
        expected = await expected_population(runtime, code, year, month)
        assert figures["regionCode"] == code
        assert figures["total"] == expected["total"] > 0
        assert (figures["male"], figures["female"]) == (expected["sex"]["MALE"], expected["sex"]["FEMALE"])
        assert figures["maleShare"] == pytest.approx(expected["sex"]["MALE"] / expected["total"])
        assert (figures["mobile"], figures["resident"]) == (expected["mobility"]["MOBILE"],
                                                            expected["mobility"]["RESIDENT"])
        assert {t["personType"]: t["count"] for t in figures["byPersonType"] if t["count"]} == dict(expected["types"])
        bands = bands_of(figures)
        for band, sexes in expected["bands"].items():
            assert bands[band] == {"total": sum(sexes.values()), "male": sexes["MALE"], "female": sexes["FEMALE"]}
        assert figures["aged65Plus"] == bands["AGE_65_PLUS"]["total"]
        assert sum(bands[b.value]["total"] for b in AgeBand if b is not AgeBand.AGE_65_PLUS) == figures["total"]
        assert {c["regionCode"]: c["total"] for c in figures["byChildRegion"]} == expected["children"]
        assert all(c["region"]["code"] == c["regionCode"] for c in figures["byChildRegion"])


async def test_age_is_taken_at_the_end_of_the_statistics_month(database: tuple[Runtime, str]) -> None:
    runtime, _ = database
    township = await a_township(runtime, (await busiest_regions(runtime))[1])
    before = bands_of(await population(runtime, township, "2025-06"))
    # Birthdays in June 2025 are reached by the end of June; July birthdays are not.
    for born in (date(2010, 6, 30), date(2010, 7, 1), date(1960, 6, 1), date(1960, 7, 31), date(1945, 6, 15),
                 date(2025, 6, 20), date(2025, 7, 2)):
        await add_person(runtime, township, born)
    after = await population(runtime, township, "2025-06")
    moved = {band: after_band["total"] - before[band]["total"] for band, after_band in bands_of(after).items()}
    assert moved == {"AGE_0_3": 1, "AGE_4_15": 1, "AGE_15_59": 1, "AGE_60_79": 2, "AGE_80_PLUS": 1,
                     "AGE_65_PLUS": 2}
    # The same persons a month later: the July birthdays are reached, the July 2025 baby is born.
    july = await expected_population(runtime, township, 2025, 7)
    figures = await population(runtime, township, "2025-07")
    assert figures["total"] == july["total"]
    assert {b: c["total"] for b, c in bands_of(figures).items()} == {
        b: sum(s.values()) for b, s in july["bands"].items()}


async def test_a_write_moves_the_figures_at_once(database: tuple[Runtime, str]) -> None:
    runtime, _ = database
    city, county = await busiest_regions(runtime)
    township = await a_township(runtime, county)
    start = {code: await population(runtime, code) for code in (PROVINCE, county, township)}
    uid = await add_person(runtime, township, date(1950, 3, 3), sex="MALE", mobility="MOBILE",
                           person_type="INTER_PROVINCE_INFLOW")
    for code in (PROVINCE, county, township):
        now = await population(runtime, code)
        assert now["total"] == start[code]["total"] + 1
        assert now["male"] == start[code]["male"] + 1
        assert now["mobile"] == start[code]["mobile"] + 1
        assert now["aged65Plus"] == start[code]["aged65Plus"] + 1
    province = await population(runtime, PROVINCE)
    child = next(c for c in province["byChildRegion"] if c["regionCode"] == city)
    assert child["total"] == next(c for c in start[PROVINCE]["byChildRegion"] if c["regionCode"] == city)["total"] + 1
    await cancel_person(runtime, uid)
    for code in (PROVINCE, county, township):
        now = await population(runtime, code)
        assert (now["total"], now["male"], now["mobile"]) == (
            start[code]["total"], start[code]["male"], start[code]["mobile"])


async def test_scope_narrows_to_the_callers_region_or_refuses(database: tuple[Runtime, str]) -> None:
    runtime, _ = database
    city, _county = await busiest_regions(runtime)
    other_city = "320100" if city != "320100" else "320200"
    narrowed = await population(runtime, PROVINCE, caller=city_user(city))
    assert (narrowed["regionCode"], narrowed["requestedRegionCode"]) == (city, PROVINCE)
    assert narrowed["total"] == (await population(runtime, city))["total"]
    errors = await errors_of(runtime, POPULATION, {"region": other_city}, caller=city_user(city))
    assert errors[0].extensions["code"] == "FORBIDDEN"
    system = Caller(subject="sys", client_id="sys", scopes=frozenset())
    assert (await errors_of(runtime, WORK, {"region": PROVINCE}, caller=system))[0].extensions["code"] == "FORBIDDEN"
    assert (await errors_of(runtime, POPULATION, {"region": "329900"}))[0].extensions["code"] == "NOT_FOUND"
    for month in ("2025-13", "2025-6", "next", f"{TODAY.year + 1}-01"):
        error = (await errors_of(runtime, POPULATION, {"region": PROVINCE, "month": month}))[0]
        assert (error.extensions["code"], error.extensions["argument"]) == ("BAD_USER_INPUT", "asOfMonth")


# --- births and deaths ---------------------------------------------------------------------------------


async def add_births_and_deaths(runtime: Runtime, county: str) -> None:
    """Children of persons in `county` and elsewhere, and synced and unsynced deaths, straight into the
    tables (as an import would), made exact with the rebuild job afterwards."""
    now = datetime.now(UTC)
    async with runtime.sessions() as session, session.begin():
        P = models.Person
        parents = list((await session.scalars(select(P).where(P.status == "NORMAL").order_by(P.uid).limit(40))).all())
        local = [p for p in parents if p.management_region_code.startswith(county)] or parents[:1]
        days = [date(2024, 1, 1), date(2024, 1, 31), date(2024, 2, 29), date(2024, 12, 31), date(2025, 3, 31),
                date(2025, 4, 1), date(2025, 7, 15), date(2023, 12, 31)]
        for i, day in enumerate(days):
            parent = local[i % len(local)] if i % 3 else parents[i % len(parents)]
            session.add(models.Child(id=str(uuid.uuid4()), parent_uid=parent.uid, name=f"孩{i}",
                                     sex="MALE" if i % 2 else "FEMALE", birth_date=day, birth_order=i % 5,
                                     region_code=parent.management_region_code, created_at=now,
                                     deleted=(i == 6)))
        for i, day in enumerate(days[:6]):
            person = local[i % len(local)] if i % 2 else parents[(i * 7) % len(parents)]
            session.add(models.DeathRecord(
                id=str(uuid.uuid4()), person_uid=person.uid, id_number=person.id_number, name=person.name,
                source=("POLICE", "HOSPITAL", "COMMUNITY")[i % 3], death_date=day, cause="测试",
                responsible_region_code=person.management_region_code, routed_by="HUKOU",
                status="SYNCED" if i != 4 else "CLAIMED", created_at=now))


async def expected_events(runtime: Runtime, code: str, start: date, end: date) -> dict[str, Counter[Any]]:
    prefix = subtree_prefix(code)
    async with runtime.sessions() as session:
        children = (await session.scalars(select(models.Child).where(models.Child.deleted.is_(False)))).all()
        deaths = (await session.execute(select(models.DeathRecord, models.Person).join(
            models.Person, models.Person.uid == models.DeathRecord.person_uid)
            .where(models.DeathRecord.status == "SYNCED"))).all()
    births = [c for c in children if c.region_code.startswith(prefix) and start <= c.birth_date <= end]
    died = [(d, p) for d, p in deaths if p.management_region_code.startswith(prefix) and start <= d.death_date <= end]
    order = {1: "FIRST", 2: "SECOND"}
    return {
        "births": Counter(c.sex for c in births),
        "orders": Counter(order.get(c.birth_order, "THIRD_OR_MORE" if c.birth_order >= 3 else "FIRST")
                          for c in births),
        "births_by_day": Counter(c.birth_date.isoformat() for c in births),
        "births_by_month": Counter(f"{c.birth_date:%Y-%m}" for c in births),
        "births_by_quarter": Counter(f"{c.birth_date.year}-Q{(c.birth_date.month - 1) // 3 + 1}" for c in births),
        "deaths": Counter(p.sex for _d, p in died),
        "sources": Counter(d.source for d, _p in died),
        "deaths_by_year": Counter(f"{d.death_date.year}" for d, _p in died),
    }


async def test_births_and_deaths_over_a_range(database: tuple[Runtime, str]) -> None:
    runtime, url = database
    _city, county = await busiest_regions(runtime)
    await add_births_and_deaths(runtime, county)
    await tally_job.rebuild(url, progress=False)
    start, end = date(2024, 1, 1), date(2025, 6, 30)
    for code in (PROVINCE, county):
        expected = await expected_events(runtime, code, start, end)
        variables = {"region": code, "from": start.isoformat(), "to": end.isoformat(), "groupBy": "MONTH"}
        births = (await execute(runtime, BIRTHS, variables))["birthStatistics"]
        assert (births["total"], births["male"], births["female"]) == (
            sum(expected["births"].values()), expected["births"]["MALE"], expected["births"]["FEMALE"])
        assert {o["order"]: o["total"] for o in births["byOrder"] if o["total"]} == dict(expected["orders"])
        assert [b["period"] for b in births["buckets"]][:3] == ["2024-01", "2024-02", "2024-03"]
        assert len(births["buckets"]) == 18
        assert {b["period"]: b["total"] for b in births["buckets"] if b["total"]} == dict(expected["births_by_month"])
        quarters = (await execute(runtime, BIRTHS, {**variables, "groupBy": "QUARTER"}))["birthStatistics"]
        assert {b["period"]: b["total"] for b in quarters["buckets"] if b["total"]} == dict(
            expected["births_by_quarter"])
        assert quarters["buckets"][-1] == {**quarters["buckets"][-1], "period": "2025-Q2", "end": "2025-06-30"}
        deaths = (await execute(runtime, DEATHS, {**variables, "groupBy": "YEAR"}))["deathStatistics"]
        assert (deaths["total"], deaths["male"], deaths["female"]) == (
            sum(expected["deaths"].values()), expected["deaths"]["MALE"], expected["deaths"]["FEMALE"])
        assert {s["source"]: s["total"] for s in deaths["bySource"]} == dict(expected["sources"])
        assert {b["period"]: b["total"] for b in deaths["buckets"] if b["total"]} == dict(expected["deaths_by_year"])
    days = (await execute(runtime, BIRTHS, {"region": PROVINCE, "from": "2024-01-30", "to": "2024-03-01",
                                            "groupBy": "DAY"}))["birthStatistics"]
    assert len(days["buckets"]) == 32
    by_day = (await expected_events(runtime, PROVINCE, date(2024, 1, 30), date(2024, 3, 1)))["births_by_day"]
    assert {b["period"]: b["total"] for b in days["buckets"] if b["total"]} == dict(by_day)
    assert by_day["2024-01-31"] >= 1 and by_day["2024-02-29"] >= 1
    # A birth recorded the way the family area records one moves the figures at once.
    async with runtime.sessions() as session, session.begin():
        await tally.event(session, tally.BIRTH, county, date(2024, 1, 31), tally.birth_order_bucket(2), "MALE")
    again = (await execute(runtime, BIRTHS, {"region": PROVINCE, "from": "2024-01-30", "to": "2024-03-01",
                                             "groupBy": "DAY"}))["birthStatistics"]
    assert again["total"] == days["total"] + 1
    assert next(o for o in again["byOrder"] if o["order"] == "SECOND")["male"] == next(
        o for o in days["byOrder"] if o["order"] == "SECOND")["male"] + 1
    await tally_job.rebuild(url, progress=False)  # the tally row above has no child record behind it


async def test_statistics_ranges_are_bounded(database: tuple[Runtime, str]) -> None:
    runtime, _ = database
    for query, start, end, group in ((BIRTHS, "2000-01-01", "2021-01-01", "YEAR"),
                                     (DEATHS, "2024-01-01", "2025-01-05", "DAY"),
                                     (BIRTHS, "2025-02-01", "2025-01-01", "MONTH")):
        error = (await errors_of(runtime, query, {"region": PROVINCE, "from": start, "to": end, "groupBy": group}))[0]
        assert error.extensions["code"] == "BAD_USER_INPUT"


# --- workbench -----------------------------------------------------------------------------------------


async def test_work_counters_count_the_open_work(database: tuple[Runtime, str]) -> None:
    runtime, url = database
    city, county = await busiest_regions(runtime)
    township = await a_township(runtime, county)
    now = datetime.now(UTC)
    async with runtime.sessions() as session, session.begin():
        people = list((await session.scalars(select(models.Person).order_by(models.Person.uid).limit(6))).all())
        for i, person in enumerate(people[:3]):
            session.add(models.DispatchOrder(
                id=str(uuid.uuid4()), person_uid=person.uid, direction="IN", scope="PROVINCE",
                origin_region_code=person.management_region_code, target_region_code=township,
                status="PENDING" if i < 2 else "REJECTED", created_by="test", created_at=now))
        for i, status in enumerate(("UNCLAIMED", "RETURNED", "CLAIMED")):
            session.add(models.DeathRecord(
                id=str(uuid.uuid4()), person_uid=None, id_number=None, name=f"死者{i}", source="POLICE",
                death_date=date(2026, 1, 2), responsible_region_code=township, routed_by="HUKOU", status=status,
                created_at=now))
        for i, person in enumerate(people[3:6]):
            session.add(models.CheckItem(
                id=str(uuid.uuid4()), person_uid=person.uid, rule_id=f"TEST-{i}",
                category=("ID_NUMBER", "ID_NUMBER", "SEX")[i], dimension="VALIDITY", region_code=township,
                status=("OPEN", "IN_PROGRESS", "RESOLVED")[i], detail="测试", created_at=now))
    await tally_job.rebuild(url, progress=False)
    async with runtime.sessions() as session:
        orders = (await session.scalars(select(models.DispatchOrder.target_region_code)
                                        .where(models.DispatchOrder.status == "PENDING"))).all()
        deaths = (await session.scalars(select(models.DeathRecord.responsible_region_code).where(
            models.DeathRecord.status.in_(("UNCLAIMED", "RETURNED"))))).all()
        checks = (await session.execute(select(models.CheckItem.region_code, models.CheckItem.category)
                                        .where(models.CheckItem.status != "RESOLVED"))).all()
    for code in (PROVINCE, city, township):
        prefix = subtree_prefix(code)
        counters = (await execute(runtime, WORK, {"region": code}))["workCounters"]
        assert counters["pendingDispatchTasks"] == sum(1 for c in orders if c.startswith(prefix))
        assert counters["unclaimedDeaths"] == sum(1 for c in deaths if c and c.startswith(prefix))
        by_category = Counter(category for region, category in checks if region.startswith(prefix))
        assert counters["openCheckItems"] == sum(by_category.values())
        assert {c["category"]: c["count"] for c in counters["openCheckItemsByCategory"]} == dict(by_category)
    at_township = (await execute(runtime, WORK, {"region": township}))["workCounters"]
    assert at_township["pendingDispatchTasks"] >= 2 and at_township["unclaimedDeaths"] >= 2


# --- the rebuild job -----------------------------------------------------------------------------------


async def test_check_finds_no_drift_after_writes_and_finds_a_corrupted_row(database: tuple[Runtime, str]) -> None:
    runtime, url = database
    _city, county = await busiest_regions(runtime)
    township = await a_township(runtime, county)
    # Writes made through the write path keep the tallies exact.
    uid = await add_person(runtime, township, date(1990, 1, 1))
    await add_person(runtime, township, date(2001, 5, 5), sex="MALE")
    await cancel_person(runtime, uid)
    assert await tally_job.run(url, check_only=True, progress=False) == 0
    T = models.PersonTally
    async with runtime.sessions() as session, session.begin():
        row = (await session.scalars(select(T).where(T.region_code == county).order_by(T.birth_month).limit(1))).one()
        key = (row.sex, row.birth_month)
        await session.execute(update(T).where(T.region_code == county, T.sex == row.sex,
                                              T.birth_month == row.birth_month, T.mobility == row.mobility,
                                              T.person_type == row.person_type).values(count=T.count + 5))
        await session.execute(update(models.WorkTally).values(count=models.WorkTally.count + 1))
    report = await tally_job.check(url, progress=False)
    assert report.differing_rows["person_tally"] == 1
    assert report.differing_rows["work_tally"] > 0
    wrong = next(d for d in report.sample if d.table == "person_tally")
    assert (wrong.key["region_code"], wrong.key["sex"], wrong.key["birth_month"]) == (county, *key)
    assert wrong.live == wrong.fresh + 5
    assert await tally_job.run(url, check_only=True, progress=False) == 1
    # The check changed nothing; the rebuild repairs.
    assert (await tally_job.check(url, progress=False)).total == report.total
    rebuilt = await tally_job.rebuild(url, progress=False)
    assert rebuilt.person_rows > 0
    assert await tally_job.run(url, check_only=True, progress=False) == 0


async def test_the_job_runs_from_the_command_line(database: tuple[Runtime, str]) -> None:
    runtime, url = database
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("one command-line run is enough")
    env = {**os.environ, "DATABASE_URL": url}
    rebuilt = subprocess.run([sys.executable, "-m", "subgraphs.population.jobs.tally", "--quiet"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "person_tally" in rebuilt.stdout and "rebuilt in" in rebuilt.stdout
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(models.PersonTally).where(models.PersonTally.region_code == PROVINCE)
                              .values(count=models.PersonTally.count + 1))
    checked = subprocess.run([sys.executable, "-m", "subgraphs.population.jobs.tally", "--check", "--quiet"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 1
    assert "DRIFT" in checked.stdout and "region_code=320000" in checked.stdout
    await tally_job.rebuild(url, progress=False)


def test_bands_partition_ages() -> None:
    # The 口径 in one place: every age falls in exactly one of the five reporting bands.
    for age in range(0, 120):
        hits = [b for b, (low, high) in AGE_BAND_BOUNDS.items()
                if b is not AgeBand.AGE_65_PLUS and low <= age and (high is None or age <= high)]
        assert len(hits) == 1, age
