"""Statistics of the licence library (5.1.3.6, licences.md §6): totals per type, combined counts, the valid
total, the daily increment trend and presentation usage.

Every figure is one GROUP BY statement. The status of a licence depends on the day it is read
(status.py), so it is computed in SQL by `status_expression(today)` with today as a bound parameter, never
read from a stored flag that would go stale overnight (the tender wants real-time figures, L5299).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.china_time import china_day_bounds
from subgraphs.licences import models
from subgraphs.licences.codes import LICENCE_TYPES, LicenceTypeCode, PresentationResult
from subgraphs.licences.status import LicenceStatus

NEAR_EXPIRY_ENV = "LICENCES_NEAR_EXPIRY_DAYS"
DEFAULT_NEAR_EXPIRY_DAYS = 90
YEAR_DAYS = 365
MAX_TREND_DAYS = 366

L = models.Licence


def near_expiry_days() -> int:
    """临期: how many days before its last day a valid licence counts as near expiry (the tender names the
    reminder, not the period; 90 days unless configured)."""
    raw = os.environ.get(NEAR_EXPIRY_ENV, "").strip()
    return int(raw) if raw.isdigit() else DEFAULT_NEAR_EXPIRY_DAYS


def is_near_expiry(valid_until: date | None, status: LicenceStatus, today: date) -> bool:
    return (status is LicenceStatus.VALID and valid_until is not None
            and valid_until <= today + timedelta(days=near_expiry_days()))


class ValidityWindow(Enum):
    """When a licence's validity ends, seen from today (有效期限 as a statistics dimension)."""

    EXPIRED = "EXPIRED"  # ended before today
    NEAR_EXPIRY = "NEAR_EXPIRY"  # ends within near_expiry_days() (临期)
    WITHIN_YEAR = "WITHIN_YEAR"  # ends later, within a year
    LATER = "LATER"  # ends more than a year from today
    NEVER = "NEVER"  # no end date: the type has no validity


def invalid_condition() -> ColumnElement[bool]:
    return or_(L.valid_flag == false(), L.revoked_at.is_not(None))


def status_expression(today: date) -> ColumnElement[str]:
    """licence_status() in SQL: INVALID before EXPIRED before VALID."""
    return case(
        (invalid_condition(), literal(LicenceStatus.INVALID.value)),
        (and_(L.valid_until.is_not(None), L.valid_until < today), literal(LicenceStatus.EXPIRED.value)),
        else_=literal(LicenceStatus.VALID.value),
    )


def status_condition(status: LicenceStatus, today: date) -> ColumnElement[bool]:
    """The licences whose status today is `status`, written so the database can use its indexes."""
    if status is LicenceStatus.INVALID:
        return invalid_condition()
    not_invalid = and_(L.valid_flag == true(), L.revoked_at.is_(None))
    if status is LicenceStatus.EXPIRED:
        return and_(not_invalid, L.valid_until.is_not(None), L.valid_until < today)
    return and_(not_invalid, or_(L.valid_until.is_(None), L.valid_until >= today))


def window_expression(today: date) -> ColumnElement[str]:
    near = today + timedelta(days=near_expiry_days())
    return case(
        (L.valid_until.is_(None), literal(ValidityWindow.NEVER.value)),
        (L.valid_until < today, literal(ValidityWindow.EXPIRED.value)),
        (L.valid_until <= near, literal(ValidityWindow.NEAR_EXPIRY.value)),
        (L.valid_until <= today + timedelta(days=YEAR_DAYS), literal(ValidityWindow.WITHIN_YEAR.value)),
        else_=literal(ValidityWindow.LATER.value),
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# --- totals per type -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeTotals:
    type: LicenceTypeCode
    collected: int = 0  # 归集数据总量: every stored record, invalidated ones included
    generated: int = 0  # 已制证数据总量: those with an electronic licence
    valid: int = 0
    expired: int = 0
    invalid: int = 0
    near_expiry: int = 0


async def totals_per_type(session: AsyncSession, today: date) -> list[TypeTotals]:
    """One row per type in the tender's order, zeros for a type with no licences yet."""
    status = status_expression(today)
    near = today + timedelta(days=near_expiry_days())
    E = models.ElectronicLicence
    stmt = (
        select(
            L.type_code, func.count(L.id), func.count(E.id),
            _count_if(status == LicenceStatus.VALID.value), _count_if(status == LicenceStatus.EXPIRED.value),
            _count_if(status == LicenceStatus.INVALID.value),
            _count_if(and_(status == LicenceStatus.VALID.value, L.valid_until.is_not(None), L.valid_until <= near)),
        )
        .select_from(L).outerjoin(E, E.licence_id == L.id)
        .group_by(L.type_code)
    )
    found = {row[0]: row for row in (await session.execute(stmt)).all()}
    out = []
    for code in LICENCE_TYPES:
        row = found.get(str(code.value))
        if row is None:
            out.append(TypeTotals(type=code))
        else:
            out.append(TypeTotals(type=code, collected=row[1], generated=row[2], valid=int(row[3]),
                                  expired=int(row[4]), invalid=int(row[5]), near_expiry=int(row[6])))
    return out


async def valid_total(session: AsyncSession, today: date, types: list[LicenceTypeCode] | None = None) -> int:
    """有效证照总量 (L5305)."""
    stmt = select(func.count()).select_from(L).where(status_condition(LicenceStatus.VALID, today))
    if types:
        stmt = stmt.where(L.type_code.in_([t.value for t in types]))
    return int(await session.scalar(stmt) or 0)


# --- combined counts -------------------------------------------------------------------------------


class Dimension(Enum):
    TYPE = "TYPE"
    ISSUER = "ISSUER"
    STATUS = "STATUS"
    VALIDITY_WINDOW = "VALIDITY_WINDOW"
    HOLDER_KIND = "HOLDER_KIND"


@dataclass(frozen=True)
class CountFilter:
    types: list[LicenceTypeCode] = field(default_factory=list)
    issuer_org_ids: list[str] = field(default_factory=list)
    issuer_names: list[str] = field(default_factory=list)
    statuses: list[LicenceStatus] = field(default_factory=list)
    windows: list[ValidityWindow] = field(default_factory=list)


@dataclass(frozen=True)
class CountRow:
    count: int
    type: LicenceTypeCode | None = None
    issuer_org_id: str | None = None
    issuer_name: str | None = None
    status: LicenceStatus | None = None
    window: ValidityWindow | None = None
    holder_kind: str | None = None


def _filtered(stmt: Select[Any], where: CountFilter, today: date) -> Select[Any]:
    if where.types:
        stmt = stmt.where(L.type_code.in_([t.value for t in where.types]))
    if where.issuer_org_ids:
        stmt = stmt.where(L.issuer_org_id.in_(where.issuer_org_ids))
    if where.issuer_names:
        stmt = stmt.where(L.issuer_name.in_(where.issuer_names))
    if where.statuses:
        stmt = stmt.where(or_(*(status_condition(s, today) for s in where.statuses)))
    if where.windows:
        stmt = stmt.where(window_expression(today).in_([w.value for w in where.windows]))
    return stmt


async def combined_counts(session: AsyncSession, today: date, dimensions: list[Dimension],
                          where: CountFilter) -> list[CountRow]:
    """多条件组合统计 (L5303, L840): licence counts grouped by any combination of the dimensions, largest
    group first; no dimension gives one row, the filtered total."""
    columns: dict[Dimension, list[Any]] = {
        Dimension.TYPE: [L.type_code],
        Dimension.ISSUER: [L.issuer_org_id, L.issuer_name],
        Dimension.STATUS: [status_expression(today)],
        Dimension.VALIDITY_WINDOW: [window_expression(today)],
        Dimension.HOLDER_KIND: [L.holder_kind],
    }
    chosen = list(dict.fromkeys(dimensions))
    group = [c.label(f"g{i}") for i, c in enumerate(c for d in chosen for c in columns[d])]
    count = func.count().label("n")
    stmt = _filtered(select(*group, count).select_from(L), where, today)
    if group:
        stmt = stmt.group_by(*group).order_by(count.desc(), *group)
    out = []
    for row in (await session.execute(stmt)).all():
        values = iter(row[:-1])
        parts: dict[str, Any] = {}
        for d in chosen:
            if d is Dimension.TYPE:
                parts["type"] = LicenceTypeCode(next(values))
            elif d is Dimension.ISSUER:
                parts["issuer_org_id"], parts["issuer_name"] = next(values), next(values)
            elif d is Dimension.STATUS:
                parts["status"] = LicenceStatus(next(values))
            elif d is Dimension.VALIDITY_WINDOW:
                parts["window"] = ValidityWindow(next(values))
            else:
                parts["holder_kind"] = next(values)
        out.append(CountRow(count=int(row[-1]), **parts))
    return out


# --- trends ----------------------------------------------------------------------------------------


def china_day(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    """The China date of a UTC moment column, in the database's own dialect (China keeps no DST, so SQLite
    can shift by eight hours)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", column))
    return func.date(column, "+8 hours")


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC moments from the start of China day `first` up to (excluding) the day after `last`."""
    return china_day_bounds(first)[0], china_day_bounds(last)[1]


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def daily_increments(session: AsyncSession, first: date, last: date,
                           types: list[LicenceTypeCode] | None = None) -> dict[date, int]:
    """增量趋势 (L5308): licences stored (入库, by ingested_at) per China day, every day of the range."""
    start, end = day_bounds(first, last)
    day = china_day(session, L.ingested_at).label("day")
    stmt = (select(day, func.count()).where(L.ingested_at >= start, L.ingested_at < end)
            .group_by(day))
    if types:
        stmt = stmt.where(L.type_code.in_([t.value for t in types]))
    found = {_as_date(d): int(n) for d, n in (await session.execute(stmt)).all()}
    return {d: found.get(d, 0) for d in days_between(first, last)}


# --- presentations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PresentationFigures:
    by_type: dict[LicenceTypeCode, int]
    by_client: list[tuple[str, str | None, int]]  # client id, registered name, count
    by_day: dict[date, int]
    by_result: dict[PresentationResult, int]

    @property
    def presented(self) -> int:
        return self.by_result.get(PresentationResult.PRESENTED, 0)


async def presentation_figures(session: AsyncSession, first: date, last: date,
                               types: list[LicenceTypeCode] | None = None) -> PresentationFigures:
    """亮证统计 (L5292, L5310): successful presentations by type, calling system and China day, and every
    request by result."""
    P, C = models.PresentationRecord, models.PresentationClient
    start, end = day_bounds(first, last)
    window = [P.presented_at >= start, P.presented_at < end]
    if types:
        window.append(P.type_code.in_([t.value for t in types]))
    presented = [*window, P.result == PresentationResult.PRESENTED.value]
    by_type = {LicenceTypeCode(t): int(n) for t, n in (await session.execute(
        select(P.type_code, func.count()).where(*presented).group_by(P.type_code))).all()}
    by_client: list[tuple[str, str | None, int]] = [(c, name, int(n)) for c, name, n in (await session.execute(
        select(P.client_id, C.name, func.count().label("n")).select_from(P)
        .outerjoin(C, C.client_id == P.client_id).where(*presented)
        .group_by(P.client_id, C.name).order_by(func.count().desc(), P.client_id))).all()]
    day = china_day(session, P.presented_at).label("day")
    days = {_as_date(d): int(n) for d, n in (await session.execute(
        select(day, func.count()).where(*presented).group_by(day))).all()}
    by_result = {PresentationResult(r): int(n) for r, n in (await session.execute(
        select(P.result, func.count()).where(*window).group_by(P.result))).all()}
    return PresentationFigures(
        by_type={code: by_type.get(code, 0) for code in LICENCE_TYPES},
        by_client=by_client,
        by_day={d: days.get(d, 0) for d in days_between(first, last)},
        by_result={r: by_result.get(r, 0) for r in PresentationResult},
    )
