"""Statistics tallies, kept in step with the records by the transaction that changes them.

At 90 million persons a total by region cannot be counted when asked. Every write that changes what a
statistic counts calls one of the functions here in its own transaction, which adds or subtracts one on
the tally row of every region level that contains the record's region (province, city, county, township,
village, group). A region's figures are then read from its own rows, whose number does not grow with the
population. `rebuild` recomputes every tally from the records (`python -m subgraphs.population.jobs tally`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Integer, String, case, cast, delete, extract, func, insert, literal, select
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
    return "3+" if order >= 3 else str(max(order, 1))


@dataclass(frozen=True)
class PersonKey:
    """What the person tally counts a person under; None for a person it does not count."""

    region_code: str
    sex: str
    birth_month: int
    mobility: str
    person_type: str


_KEY_FIELDS = ("deleted", "status", "birth_date", "management_region_code", "sex", "mobility", "person_type")


def person_key(values: Mapping[str, Any] | models.Person | None) -> PersonKey | None:
    """The tally key of a person row or of a snapshot of one (domain/changes.py)."""
    if values is None:
        return None
    fields: Mapping[str, Any] = values if isinstance(values, Mapping) else {
        name: getattr(values, name) for name in _KEY_FIELDS}
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
            await _bump(session, models.PersonTally, [
                {"region_code": level, "sex": key.sex, "birth_month": key.birth_month, "mobility": key.mobility,
                 "person_type": key.person_type}
                for level in region_levels(key.region_code)
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


# --- rebuild ---------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class RebuildReport:
    person_rows: int
    event_rows: int
    work_rows: int


async def rebuild(session: AsyncSession, *, progress: bool = False) -> RebuildReport:
    """Recomputes every tally from the records, in the caller's transaction (readers see the old figures
    until it commits)."""
    P, C, D, DO, K = models.Person, models.Child, models.DeathRecord, models.DispatchOrder, models.CheckItem
    month = cast(extract("year", P.birth_date) * 100 + extract("month", P.birth_date), Integer)
    order_bucket = case((C.birth_order >= 3, literal("3+")), else_=cast(C.birth_order, String))
    steps: list[tuple[str, Any]] = []
    q: Any
    for region, where in _level_expressions(P.management_region_code):
        q = (select(region, P.sex, month, P.mobility, P.person_type, func.count())
             .where(P.status == COUNTED_STATUS, P.deleted.is_(False))
             .group_by(region, P.sex, month, P.mobility, P.person_type))
        steps.append(("persons", insert(models.PersonTally).from_select(
            ["region_code", "sex", "birth_month", "mobility", "person_type", "count"],
            q if where is None else q.where(where))))
    for region, where in _level_expressions(C.region_code):
        q = (select(region, literal(BIRTH), C.birth_date, order_bucket, C.sex, func.count())
             .where(C.deleted.is_(False)).group_by(region, C.birth_date, order_bucket, C.sex))
        steps.append(("births", insert(models.EventTally).from_select(
            ["region_code", "kind", "day", "detail", "sex", "count"], q if where is None else q.where(where))))
    for region, where in _level_expressions(P.management_region_code):
        q = (select(region, literal(DEATH), D.death_date, D.source, P.sex, func.count())
             .join(P, P.uid == D.person_uid).where(D.status == "SYNCED")
             .group_by(region, D.death_date, D.source, P.sex))
        steps.append(("deaths", insert(models.EventTally).from_select(
            ["region_code", "kind", "day", "detail", "sex", "count"], q if where is None else q.where(where))))
    work_sources: list[tuple[str, Any, Any, Any]] = [
        (DISPATCH_PENDING, DO.target_region_code, literal(""), DO.status == "PENDING"),
        (DEATH_UNCLAIMED, D.responsible_region_code, literal(""),
         (D.status.in_(("UNCLAIMED", "RETURNED"))) & D.responsible_region_code.is_not(None)),
        (CHECK_OPEN, K.region_code, K.category, K.status != "RESOLVED"),
    ]
    for kind, code_column, detail, open_condition in work_sources:
        for region, where in _level_expressions(code_column):
            q = select(region, literal(kind), detail, func.count()).where(open_condition).group_by(region, detail)
            steps.append((kind.lower(), insert(models.WorkTally).from_select(
                ["region_code", "kind", "detail", "count"], q if where is None else q.where(where))))

    for model in (models.PersonTally, models.EventTally, models.WorkTally):
        await session.execute(delete(model))
    for _name, stmt in tqdm(steps, desc="tallies", unit="step", file=sys.stderr, disable=not progress):
        await session.execute(stmt)

    async def rows(model: type[models.Base]) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return RebuildReport(await rows(models.PersonTally), await rows(models.EventTally), await rows(models.WorkTally))
