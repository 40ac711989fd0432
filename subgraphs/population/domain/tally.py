"""Statistics tallies, kept in step with the records by the transaction that changes them.

At 90 million persons a total by region cannot be counted when asked. Every write that changes what a
statistic counts calls one of the functions here in its own transaction, which adds or subtracts one on
the tally row of every region level that contains the record's region (province, city, county, township,
village, group). A region's figures are then read from its own rows, whose number does not grow with the
population. `rebuild` recomputes every tally from the records and `drift` compares the live tallies with
such a computation (`python -m subgraphs.population.jobs.tally [--check]`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    extract,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from tqdm import tqdm

from subgraphs.population import models

COUNTED_STATUS = "NORMAL"
# Work kinds of WorkTally.
DISPATCH_PENDING = "DISPATCH_PENDING"
DEATH_UNCLAIMED = "DEATH_UNCLAIMED"
CHECK_OPEN = "CHECK_OPEN"
BIRTH = "BIRTH"
DEATH = "DEATH"


def region_levels(code: str) -> list[str]:
    """Every region level that contains `code`, the province first and `code` itself last."""
    levels = [code[:2] + "0000"]
    if code[2:4] != "00":
        levels.append(code[:4] + "00")
    if code[4:6] != "00":
        levels.append(code[:6])
    levels += [code[:n] for n in (9, 12, 15) if len(code) >= n]
    return levels


def birth_month(day: date) -> int:
    return day.year * 100 + day.month


def birth_order_bucket(order: int) -> str:
    """The EventTally detail of a birth: "1", "2" or "3+" (an order below 1 counts as a first child)."""
    return "3+" if order >= 3 else "2" if order == 2 else "1"


@dataclass(frozen=True)
class PersonKey:
    """What the person tally counts a person under; None for a person it does not count."""

    region_code: str
    sex: str
    birth_month: int
    mobility: str
    person_type: str


_KEY_FIELDS = ("deleted", "status", "birth_date", "management_region_code", "sex", "mobility", "person_type")
_COLUMN_DEFAULTS: dict[str, Any] = {
    name: column.default.arg for name in _KEY_FIELDS
    if (column := models.Person.__table__.c[name]).default is not None and column.default.is_scalar
}


def person_key(values: Mapping[str, Any] | models.Person | None) -> PersonKey | None:
    """The tally key of a person row or of a snapshot of one (domain/changes.py)."""
    if values is None:
        return None
    fields: Mapping[str, Any] = values if isinstance(values, Mapping) else {
        name: getattr(values, name) for name in _KEY_FIELDS}
    # A new row snapshotted before its first flush has None where the column default will be written.
    fields = {name: _COLUMN_DEFAULTS.get(name) if fields.get(name) is None else fields.get(name)
              for name in _KEY_FIELDS}
    if fields.get("deleted") or fields.get("status") != COUNTED_STATUS:
        return None
    born = fields["birth_date"]
    if isinstance(born, str):
        born = date.fromisoformat(born)
    return PersonKey(str(fields["management_region_code"]), str(fields["sex"]), birth_month(born),
                     str(fields["mobility"]), str(fields["person_type"]))


def _insert_for(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def _bump(session: AsyncSession, model: type[models.Base], keys: Sequence[dict[str, Any]], delta: int) -> None:
    if not keys or delta == 0:
        return
    table: Any = model.__table__
    stmt = _insert_for(session)(table).values([{**key, "count": delta} for key in keys])
    key_columns = [c.name for c in table.primary_key.columns]
    stmt = stmt.on_conflict_do_update(index_elements=key_columns, set_={"count": table.c.count + stmt.excluded.count})
    await session.execute(stmt)


async def person_changed(session: AsyncSession, before: PersonKey | None, after: PersonKey | None) -> None:
    """Moves a person between tally rows (None: not counted before / not counted after)."""
    if before == after:
        return
    for key, delta in ((before, -1), (after, 1)):
        if key is not None:
            levels = region_levels(key.region_code)
            await _bump(session, models.PersonTally, [
                {"region_code": level, "sex": key.sex, "birth_month": key.birth_month, "mobility": key.mobility,
                 "person_type": key.person_type}
                for level in levels
            ], delta)
            await _bump(session, models.PersonTotal, [
                {"region_code": level, "sex": key.sex, "mobility": key.mobility, "person_type": key.person_type}
                for level in levels
            ], delta)


async def event(session: AsyncSession, kind: str, region_code: str, day: date, detail: str, sex: str,
                delta: int = 1) -> None:
    """A birth (detail: birth-order bucket) or a death (detail: source) counted on `day`."""
    await _bump(session, models.EventTally, [
        {"region_code": level, "kind": kind, "day": day, "detail": detail, "sex": sex}
        for level in region_levels(region_code)
    ], delta)


async def work(session: AsyncSession, kind: str, region_code: str, detail: str = "", delta: int = 1) -> None:
    """Open work (a pending dispatch task, an unclaimed death, an open check item) added or closed."""
    await _bump(session, models.WorkTally, [
        {"region_code": level, "kind": kind, "detail": detail} for level in region_levels(region_code)
    ], delta)


# --- rebuild and drift check ---------------------------------------------------------------------

TALLIES: tuple[type[models.Base], ...] = (models.PersonTally, models.PersonTotal, models.EventTally,
                                          models.WorkTally)


def _level_expressions(code: Any) -> list[tuple[ColumnElement[str], ColumnElement[bool] | None]]:
    """(region code at the level, which rows have that level) for every level, as region_levels does."""
    sub = func.substr
    return [
        (cast(sub(code, 1, 2) + literal("0000"), String), None),
        (cast(sub(code, 1, 4) + literal("00"), String), sub(code, 3, 2) != "00"),
        (cast(sub(code, 1, 6), String), sub(code, 5, 2) != "00"),
        (cast(sub(code, 1, 9), String), func.length(code) >= 9),
        (cast(sub(code, 1, 12), String), func.length(code) >= 12),
        (cast(sub(code, 1, 15), String), func.length(code) >= 15),
    ]


def _columns(model: type[models.Base]) -> list[str]:
    """The tally's columns in the order the fresh selects produce them: the key, then `count`."""
    return [c.name for c in model.__table__.columns]


def _own_region(code: Any) -> list[tuple[ColumnElement[str], ColumnElement[bool] | None]]:
    """The record's own region only (the finest grain, rolled up to the levels afterwards)."""
    return [(cast(code, String), None)]


def fresh_selects(model: type[models.Base], *, levels: Any = _level_expressions) -> list[Any]:
    """The SELECTs that compute `model`'s rows from the records, one per region level (and per source for
    the event and work tallies), each producing the tally's columns in table order.

    Grouping expressions carry bound parameters (the "0000" of a province code, the 100 of a yyyymm);
    SQLAlchemy renders the GROUP BY with the same parameters as the select list, which PostgreSQL needs to
    see that they are the same expression."""
    P, C, D, DO, K = models.Person, models.Child, models.DeathRecord, models.DispatchOrder, models.CheckItem
    selects: list[Any] = []

    def add(query: Any, where: ColumnElement[bool] | None) -> None:
        selects.append(query if where is None else query.where(where))

    if model is models.PersonTally:
        month = cast(extract("year", P.birth_date) * 100 + extract("month", P.birth_date), Integer)
        for region, where in levels(P.management_region_code):
            add(select(region.label("region_code"), P.sex, month.label("birth_month"), P.mobility, P.person_type,
                       func.count().label("count"))
                .where(P.status == COUNTED_STATUS, P.deleted.is_(False))
                .group_by(region, P.sex, month, P.mobility, P.person_type), where)
    elif model is models.PersonTotal:
        for region, where in levels(P.management_region_code):
            add(select(region.label("region_code"), P.sex, P.mobility, P.person_type, func.count().label("count"))
                .where(P.status == COUNTED_STATUS, P.deleted.is_(False))
                .group_by(region, P.sex, P.mobility, P.person_type), where)
    elif model is models.EventTally:
        # As birth_order_bucket: 3 and more together, an order below 1 (a data error) as a first child.
        order = case((C.birth_order >= 3, literal("3+")), (C.birth_order == 2, literal("2")), else_=literal("1"))
        for region, where in levels(C.region_code):
            add(select(region.label("region_code"), literal(BIRTH).label("kind"), C.birth_date.label("day"),
                       order.label("detail"), C.sex, func.count().label("count"))
                .where(C.deleted.is_(False)).group_by(region, C.birth_date, order, C.sex), where)
        for region, where in levels(P.management_region_code):
            add(select(region.label("region_code"), literal(DEATH).label("kind"), D.death_date.label("day"),
                       D.source.label("detail"), P.sex, func.count().label("count"))
                .join(P, P.uid == D.person_uid).where(D.status == "SYNCED")
                .group_by(region, D.death_date, D.source, P.sex), where)
    elif model is models.WorkTally:
        work_sources: list[tuple[str, Any, Any, Any]] = [
            (DISPATCH_PENDING, DO.target_region_code, literal(""), DO.status == "PENDING"),
            (DEATH_UNCLAIMED, D.responsible_region_code, literal(""),
             (D.status.in_(("UNCLAIMED", "RETURNED"))) & D.responsible_region_code.is_not(None)),
            (CHECK_OPEN, K.region_code, K.category, K.status != "RESOLVED"),
        ]
        for kind, code_column, detail, open_condition in work_sources:
            for region, where in levels(code_column):
                add(select(region.label("region_code"), literal(kind).label("kind"), detail.label("detail"),
                           func.count().label("count"))
                    .where(open_condition).group_by(region, detail), where)
    else:
        raise ValueError(f"{model.__name__} is not a tally")
    return selects


@dataclass(frozen=True)
class RebuildReport:
    person_rows: int
    event_rows: int
    work_rows: int


async def _lock_tallies(session: AsyncSession) -> None:
    """On PostgreSQL, holds back writers' tally updates until the rebuild commits (readers go on reading the
    old figures). Without it a writer that adds a new tally row while the rebuild inserts the same key at
    another level could deadlock with it; with it the writer waits, then adds its change to the rebuilt
    figures, which did not see its uncommitted record."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite has one writer at a time anyway
    prepare = session.get_bind().dialect.identifier_preparer.quote
    names = ", ".join(prepare(model.__tablename__) for model in TALLIES)
    await session.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))


_LEVELS = 6  # province, city, county, township, village, group (_level_expressions)


async def _rebuild_tally(session: AsyncSession, model: type[models.Base], bar: Any) -> None:
    """Each source table is read once, grouped by the record's own region into a temporary table; every
    region level is then a small GROUP BY over that table. (Grouping the records once per level read a
    10-million-row table six times over.)"""
    table: Any = model.__table__
    stage = Table(f"{table.name}_stage", MetaData(), *(Column(c.name, c.type) for c in table.columns),
                  prefixes=["TEMPORARY"])
    await session.run_sync(lambda sync: stage.create(sync.connection()))
    for stmt in fresh_selects(model, levels=_own_region):
        await session.execute(insert(stage).from_select(_columns(model), stmt))
        bar.update()
    others = [stage.c[c.name] for c in table.primary_key.columns if c.name != "region_code"]
    for region, where in _level_expressions(stage.c.region_code):
        # In key order: a region's rows then lie together on disk, and a statistic reads a few pages rather
        # than one page per row (at 10 million persons a city's deaths of a year were 1,946 rows on 1,805 pages).
        rollup = (select(region.label("region_code"), *others, func.sum(stage.c["count"]).label("count"))
                  .group_by(region, *others).order_by(region, *others))
        await session.execute(insert(table).from_select(_columns(model),
                                                        rollup if where is None else rollup.where(where)))
        bar.update()
    await session.run_sync(lambda sync: stage.drop(sync.connection()))


async def rebuild(session: AsyncSession, *, progress: bool = False) -> RebuildReport:
    """Recomputes every tally from the records, in the caller's transaction (readers see the old figures
    until it commits)."""
    await _lock_tallies(session)
    await _rebuild_tables(session, TALLIES, "tallies", progress)

    async def rows(model: type[models.Base]) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return RebuildReport(await rows(models.PersonTally), await rows(models.EventTally), await rows(models.WorkTally))


async def rebuild_one(session: AsyncSession, model: type[models.Base], *, progress: bool = False) -> None:
    """Recomputes one tally table from the records, without the lock `rebuild` takes: for a bulk load that
    nothing else writes to, which may then rebuild the tables side by side (bench/population.py)."""
    if model not in TALLIES:
        raise ValueError(f"{model.__name__} is not a tally")
    await _rebuild_tables(session, (model,), model.__tablename__, progress)


async def _rebuild_tables(session: AsyncSession, tables: Sequence[type[models.Base]], desc: str,
                          progress: bool) -> None:
    for model in tables:
        await session.execute(delete(model))
    steps = sum(len(fresh_selects(model, levels=_own_region)) + _LEVELS for model in tables)
    with tqdm(total=steps, desc=desc, unit="step", file=sys.stderr, disable=not progress) as bar:
        for model in tables:
            await _rebuild_tally(session, model, bar)


@dataclass(frozen=True)
class TallyDifference:
    """One tally row whose live count differs from the records (0: no row)."""

    table: str
    key: dict[str, Any]
    live: int
    fresh: int


@dataclass(frozen=True)
class DriftReport:
    differing_rows: dict[str, int]  # per tally table
    sample: list[TallyDifference]

    @property
    def total(self) -> int:
        return sum(self.differing_rows.values())


async def drift(session: AsyncSession, *, progress: bool = False, sample: int = 20) -> DriftReport:
    """Compares the live tallies with a fresh computation from the records, writing nothing (no row is
    locked, writers go on). Each tally is compared in one statement; on PostgreSQL run it in a REPEATABLE READ
    transaction (jobs/tally.py does) so that the three see one snapshot. Live rows of count 0 count as no
    row."""
    differing: dict[str, int] = {}
    found: list[TallyDifference] = []
    for model in tqdm(TALLIES, desc="check", unit="table", file=sys.stderr, disable=not progress):
        table: Any = model.__table__
        keys = [c.name for c in table.primary_key.columns]
        fresh = union_all(*fresh_selects(model)).cte("fresh")
        live = table.alias("live")
        same_key = and_(*(live.c[k] == fresh.c[k] for k in keys))
        wrong_live = (select(*(live.c[k] for k in keys), live.c.count.label("live"), fresh.c["count"].label("fresh"))
                      .select_from(live.outerjoin(fresh, same_key))
                      .where(live.c.count != 0, or_(fresh.c["count"].is_(None), fresh.c["count"] != live.c.count)))
        missing = (select(*(fresh.c[k] for k in keys), literal(0).label("live"), fresh.c["count"].label("fresh"))
                   .select_from(fresh.outerjoin(live, and_(same_key, live.c.count != 0)))
                   .where(live.c.count.is_(None)))
        count = 0
        result = await session.stream(union_all(wrong_live, missing))
        async for row in result:
            count += 1
            if len(found) < sample:
                values = row._mapping
                found.append(TallyDifference(model.__tablename__, {k: values[k] for k in keys},
                                             int(values["live"]), int(values["fresh"] or 0)))
        differing[model.__tablename__] = count
    return DriftReport(differing, found)
