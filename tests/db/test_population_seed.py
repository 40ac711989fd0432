"""population's seed on a database: what it writes hangs together (every reference resolves, the statistics
tallies are exact, the number counters continue after the seeded numbers), and SQLite and PostgreSQL get the
same rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from support import create_pg_database, drop_pg_database, make_runtime

from db.seed.population import person_no
from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.population import models
from subgraphs.population.app import definition
from subgraphs.population.domain import tally

PERSONS = 300
OPTIONS = SeedOptions(seed=20260101, persons=PERSONS)


@pytest.fixture(scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    path: Path = tmp_path_factory.mktemp("population-seed") / "p.db"
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{path}", seed_options=OPTIONS)
    yield runtime
    await runtime.engine.dispose()


async def rows(runtime: Runtime, model: type[models.Base]) -> list[Any]:
    async with runtime.sessions() as session:
        return list(await session.scalars(select(model)))


async def test_counts(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        async def count(model: type[models.Base]) -> int:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

        assert await count(models.Person) == PERSONS
        assert 5_000 < await count(models.Region) < 20_000
        assert 50 < await count(models.Household) <= PERSONS
        assert await count(models.MarriageEvent) > PERSONS // 3
        assert await count(models.Child) > PERSONS // 4
        assert await count(models.DeathRecord) > 0
        assert await count(models.DeathRecordEvent) >= await count(models.DeathRecord)
        assert await count(models.DispatchOrder) == await count(models.DispatchEvent)
        levels = dict((await session.execute(
            select(models.Region.level, func.count()).group_by(models.Region.level))).all())
        assert set(levels) == {"PROVINCE", "CITY", "COUNTY", "TOWNSHIP", "VILLAGE", "GROUP"}
        historic = await session.scalar(select(models.Region).where(models.Region.code == "320611"))
        assert historic is not None and historic.name == "港闸区" and historic.valid_to is not None


async def test_every_reference_resolves(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        violations = (await session.execute(text("PRAGMA foreign_key_check"))).all()
        assert violations == []
        codes = set(await session.scalars(select(models.Region.code)))
        households = set(await session.scalars(select(models.Household.number)))
        uids = set(await session.scalars(select(models.Person.uid)))
    persons = await rows(runtime, models.Person)
    for p in persons:
        assert {p.household_region_code, p.residence_region_code, p.management_region_code} <= codes
        assert p.household_no in households
    for m in await rows(runtime, models.MarriageEvent):
        assert m.person_uid in uids
        assert {m.spouse_household_region_code, m.spouse_residence_region_code} <= codes
    for c in await rows(runtime, models.Child):
        assert c.parent_uid in uids and c.region_code in codes
        assert c.child_uid is None or c.child_uid in uids
    for d in await rows(runtime, models.DeathRecord):
        assert d.person_uid is None or d.person_uid in uids
        assert d.responsible_region_code in codes
    for o in await rows(runtime, models.DispatchOrder):
        assert o.person_uid in uids and {o.origin_region_code, o.target_region_code} <= codes


async def test_person_records_hang_together(runtime: Runtime) -> None:
    persons = {p.uid: p for p in await rows(runtime, models.Person)}
    events: dict[str, list[models.MarriageEvent]] = {}
    for m in await rows(runtime, models.MarriageEvent):
        events.setdefault(m.person_uid, []).append(m)
    children: dict[str, list[models.Child]] = {}
    for c in await rows(runtime, models.Child):
        children.setdefault(c.parent_uid, []).append(c)
    derived = {"DIVORCE": "DIVORCED", "WIDOWED": "WIDOWED"}
    for uid, p in persons.items():
        history = sorted(events.get(uid, []), key=lambda m: m.event_date)
        assert p.marital_status == (derived.get(history[-1].kind, "MARRIED") if history else "UNMARRIED")
        kids = children.get(uid, [])
        assert p.children_count == len(kids)
        assert p.boys_count == sum(c.sex == "MALE" for c in kids)
        assert p.youngest_child_birth_date == max((c.birth_date for c in kids), default=None)
    dead = [p for p in persons.values() if p.status == "DEAD"]
    synced = {d.person_uid for d in await rows(runtime, models.DeathRecord) if d.status == "SYNCED"}
    assert {p.uid for p in dead} == synced
    numbers = [c.id_number for c in await rows(runtime, models.Child) if c.id_number]
    assert len(numbers) == len(set(numbers))


async def tally_rows(runtime: Runtime) -> dict[str, set[tuple[Any, ...]]]:
    out: dict[str, set[tuple[Any, ...]]] = {}
    async with runtime.sessions() as session:
        for model in (models.PersonTally, models.EventTally, models.WorkTally):
            table: Any = model.__table__
            out[table.name] = {tuple(r) for r in (await session.execute(select(table))).all()}
    return out


async def test_tallies_are_exact(runtime: Runtime) -> None:
    seeded = await tally_rows(runtime)
    persons = await rows(runtime, models.Person)
    counted = [p for p in persons if p.status == "NORMAL" and not p.deleted]
    province = Counter[str]()
    for region, _sex, _month, mobility, _type, count in seeded["person_tally"]:
        if region == "320000":
            province[mobility] += count
    assert sum(province.values()) == len(counted)
    assert province["MOBILE"] == sum(p.mobility == "MOBILE" for p in counted)
    births = sum(c for region, kind, *_rest, c in seeded["event_tally"] if region == "320000" and kind == tally.BIRTH)
    assert births == len(await rows(runtime, models.Child))
    pending = sum(c for region, kind, _d, c in seeded["work_tally"]
                  if region == "320000" and kind == tally.DISPATCH_PENDING)
    assert pending == sum(o.status == "PENDING" for o in await rows(runtime, models.DispatchOrder))
    # A rebuild from the records finds nothing to change (rolled back: the module's database stays as seeded).
    async with runtime.sessions() as session, session.begin():
        await tally.rebuild(session)
        rebuilt: dict[str, set[tuple[Any, ...]]] = {}
        for model in (models.PersonTally, models.EventTally, models.WorkTally):
            table: Any = model.__table__
            rebuilt[table.name] = {tuple(r) for r in (await session.execute(select(table))).all()}
        await session.rollback()
    assert rebuilt == seeded


async def test_counters_continue_the_sequences(runtime: Runtime) -> None:
    counters = {c.name: c.last_value for c in await rows(runtime, models.Counter)}
    persons = await rows(runtime, models.Person)
    assert counters["person-no"] == PERSONS
    assert max(p.person_no for p in persons) == person_no(PERSONS)
    assert person_no(counters["person-no"] + 1) not in {p.person_no for p in persons}
    last_by_county: dict[str, int] = {}
    for h in await rows(runtime, models.Household):
        assert len(h.number) == 15 and h.number.isdigit()
        last_by_county[h.number[:6]] = max(last_by_county.get(h.number[:6], 0), int(h.number[6:]))
    assert len([name for name in counters if name.startswith("household:")]) == 95
    for county, last in last_by_county.items():
        assert counters[f"household:{county}"] == last


@pytest.mark.postgres
async def test_postgres_gets_the_same_rows(runtime: Runtime) -> None:
    url = await create_pg_database("jshealth_test_popseed")
    try:
        pg = await make_runtime(definition, url, seed_options=OPTIONS)
        try:
            for model in (models.Person, models.Household, models.MarriageEvent, models.Child, models.DeathRecord,
                          models.DeathRecordEvent, models.DispatchOrder, models.Counter, models.PersonTally):
                table: Any = model.__table__
                ordered = select(table).order_by(*table.primary_key.columns)
                async with runtime.sessions() as lite, pg.sessions() as other:
                    assert (await lite.execute(ordered)).all() == (await other.execute(ordered)).all(), table.name
        finally:
            await pg.engine.dispose()
    finally:
        await drop_pg_database(url)


async def test_codes_are_the_domains_code_sets(runtime: Runtime) -> None:
    from enum import Enum

    from subgraphs.population import codes
    from subgraphs.population.domain import deaths, dispatch, family, support

    def values(enum: type[Enum]) -> set[str]:
        return {str(member.value) for member in enum}

    persons = await rows(runtime, models.Person)
    for column, enum in (("sex", codes.Sex), ("status", codes.PersonStatus), ("identity_kind", codes.IdentityKind),
                         ("person_type", codes.PersonType), ("mobility", codes.Mobility),
                         ("marital_status", codes.MaritalStatus), ("hukou_type", codes.HukouType),
                         ("education", codes.Education), ("relation_to_head", codes.RelationToHead)):
        assert {getattr(p, column) for p in persons} - {None} <= values(enum), column
    assert {p.ethnicity for p in persons} <= set(codes.ETHNICITIES)
    assert {m.kind for m in await rows(runtime, models.MarriageEvent)} <= values(family.MarriageKind)
    children = await rows(runtime, models.Child)
    assert {c.blood_relation for c in children} <= values(family.BloodRelation)
    assert {c.policy_attribute for c in children} - {None} <= values(family.PolicyAttribute)
    assert {c.health_status for c in children} - {None} <= values(family.HealthStatus)
    assert {c.source for c in children} <= values(family.ChildSource)
    reports = await rows(runtime, models.DeathRecord)
    assert {d.status for d in reports} <= values(deaths.DeathStatus)
    assert {d.source for d in reports} <= values(deaths.DeathSource)
    assert {d.routed_by for d in reports} <= values(deaths.Routing)
    orders = await rows(runtime, models.DispatchOrder)
    assert {o.scope for o in orders} <= values(dispatch.DispatchScope)
    assert {o.direction for o in orders} <= values(dispatch.DispatchDirection)
    assert {s.kind for s in await rows(runtime, models.SupportEnrollment)} <= values(support.SupportKind)
