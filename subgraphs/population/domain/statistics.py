"""Population statistics for the cockpit and the reports, read from the tallies (domain/tally.py).

Every figure comes from the tally rows of exactly one region code (and, for the breakdown by area, of its
child regions in one more statement); person rows are never scanned, so a figure costs the same for a
village and for the province of 90 million. The tallies move in the transaction that changes a record,
so the figures are current when read.

口径 (definitions used by the monthly reports):

* Counted persons: status NORMAL (not cancelled, not dead), not deleted, by management region (管理地).
  The register is the current one (tallies keep no history); a statistics month in the past only moves
  the age reference, and persons born after that month are left out (they were not born yet).
* Age: completed years at the END of the statistics month, from the birth month alone:
  age = Y - y - (1 if M < m else 0) for statistics month Y-M and birth month y-m. A person whose
  birthday falls in the statistics month has reached it by the month's end. Exact without a birth day.
* Births and deaths: by the day they happened (birth date, death date), births in the parent's
  management region at registration (Child.region_code) by birth order 1 / 2 / 3+, synced deaths by
  source, in the deceased's management region.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import case, extract, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.common.scope import RegionScope
from subgraphs.population import models
from subgraphs.population.codes import AGE_BAND_BOUNDS, AgeBand
from subgraphs.population.domain import tally

CHINA = timezone(timedelta(hours=8))  # statistics months and days are Beijing time
MAX_RANGE_YEARS = 20  # the longest range a birth or death statistic covers
MAX_DAY_BUCKETS = 366  # the longest range grouped by day


@strawberry.enum(description="统计周期: the bucket of a time series (日 / 月 / 季度 / 年).")
class StatisticsInterval(Enum):
    DAY = "DAY"
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


def now() -> datetime:
    return datetime.now(UTC)


def china_today() -> date:
    return datetime.now(CHINA).date()


# --- scope -----------------------------------------------------------------------------------------


def figures_region(scope: RegionScope, requested: str) -> str:
    """The region whose figures a caller gets for `requested`: the requested region when it lies within
    the caller's data scope; the caller's own region when the request is wider (a city user asking for
    the province gets its city, and the answer's regionCode says so); FORBIDDEN when the two regions are
    disjoint or the caller may see no region at all."""
    scope.check_request(requested)
    if scope.everything or scope.region is None or scope.allows(requested):
        return requested
    return scope.region


async def require_region(session: AsyncSession, code: str) -> models.Region:
    row = await session.get(models.Region, code)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No region has code {code}.", argument="regionCode")
    return row


# --- months and ages -------------------------------------------------------------------------------


def parse_month(value: str | None, argument: str = "asOfMonth") -> tuple[int, int]:
    """A statistics month "YYYY-MM" (None: the current month, Beijing time); not after the current month."""
    today = china_today()
    if value is None:
        return today.year, today.month
    try:
        year, month = (int(part) for part in value.split("-"))
        date(year, month, 1)
        if len(value) != 7:
            raise ValueError(value)
    except ValueError as exc:
        raise bad_input(f"{argument} must be a month written YYYY-MM, got {value!r}.", argument=argument) from exc
    if (year, month) > (today.year, today.month):
        raise bad_input(f"{argument} {value} is after the current month.", argument=argument)
    if year < 1900:
        raise bad_input(f"{argument} {value} is before 1900.", argument=argument)
    return year, month


def age_at_month_end(birth_month: int, year: int, month: int) -> int:
    """Completed years at the end of month `year`-`month` of a person born in `birth_month` (yyyymm)."""
    born_year, born_month = divmod(birth_month, 100)
    return year - born_year - (1 if month < born_month else 0)


def band_birth_months(band: AgeBand, year: int, month: int) -> tuple[int | None, int]:
    """(exclusive lower, inclusive upper) birth month (yyyymm) of the persons whose age at the end of
    `year`-`month` lies in the band; None: no lower bound. age >= a holds exactly when the birth month is
    at most (Y - a)·100 + M, which follows from the age formula."""
    low, high = AGE_BAND_BOUNDS[band]
    upper = (year - low) * 100 + month
    lower = None if high is None else (year - high - 1) * 100 + month
    return lower, upper


# --- population structure --------------------------------------------------------------------------


@dataclass
class SexCounts:
    total: int = 0
    male: int = 0
    female: int = 0

    def add(self, sex: str, count: int) -> None:
        self.total += count
        if sex == "MALE":
            self.male += count
        elif sex == "FEMALE":
            self.female += count


@dataclass
class PopulationFigures:
    region_code: str
    year: int
    month: int
    read_at: datetime
    people: SexCounts = field(default_factory=SexCounts)
    mobility: dict[str, int] = field(default_factory=dict)
    person_types: dict[str, int] = field(default_factory=dict)
    age_bands: dict[AgeBand, SexCounts] = field(default_factory=dict)


async def population_figures(session: AsyncSession, region_code: str, year: int, month: int) -> PopulationFigures:
    """The population of one region at the end of a statistics month, from its person tally rows.

    The bands overlap (15 is in two, 65+ inside 60-79 and 80+), so the rows are grouped by the disjoint
    birth-month segments between every band bound (one CASE per row, a few dozen groups) and each band is
    the sum of its segments: the database does one comparison chain per row instead of one sum per band."""
    T = models.PersonTally
    ranges = {band: band_birth_months(band, year, month) for band in AgeBand}
    cuts = sorted({bound for lower, upper in ranges.values() for bound in (lower, upper) if bound is not None})
    # Segment i holds the birth months in (cuts[i-1], cuts[i]]; the WHERE clause stops at the last cut.
    segment = case(*((T.birth_month <= cut, i) for i, cut in enumerate(cuts)), else_=len(cuts)).label("segment")
    rows = await session.execute(
        select(T.sex, T.mobility, T.person_type, segment, func.sum(T.count).label("count"))
        .where(T.region_code == region_code, T.birth_month <= year * 100 + month)
        .group_by(T.sex, T.mobility, T.person_type, segment))
    segments_of = {band: [i for i, cut in enumerate(cuts) if cut <= upper and (lower is None or (
        i > 0 and cuts[i - 1] >= lower))] for band, (lower, upper) in ranges.items()}
    band_of_segment: dict[int, list[AgeBand]] = defaultdict(list)
    for band, segments in segments_of.items():
        for i in segments:
            band_of_segment[i].append(band)
    figures = PopulationFigures(region_code, year, month, now(),
                                age_bands={band: SexCounts() for band in AgeBand})
    for sex, mobility, person_type, segment_index, total in rows:
        count = int(total or 0)
        figures.people.add(sex, count)
        figures.mobility[mobility] = figures.mobility.get(mobility, 0) + count
        figures.person_types[person_type] = figures.person_types.get(person_type, 0) + count
        for band in band_of_segment.get(int(segment_index), ()):
            figures.age_bands[band].add(sex, count)
    return figures


@dataclass(frozen=True)
class AreaCount:
    region: models.Region
    total: int


async def child_region_totals(session: AsyncSession, region_code: str, year: int, month: int) -> list[AreaCount]:
    """地域分析: the persons of every current child region of `region_code` (the next level down), in code
    order, in one statement: from the totals tally for the current month (nobody is born after it), from the
    month rows of the person tally for a past month (leaving out persons born after it)."""
    today = china_today()
    R = models.Region
    children = list((await session.scalars(
        select(R).where(R.parent_code == region_code, or_(R.valid_to.is_(None), R.valid_to > today))
        .order_by(R.code))).all())
    if not children:
        return []
    codes = [c.code for c in children]
    if (year, month) >= (today.year, today.month):
        total = models.PersonTotal
        query = select(total.region_code, func.sum(total.count)).where(total.region_code.in_(codes))
        query = query.group_by(total.region_code)
    else:
        tally = models.PersonTally
        query = (select(tally.region_code, func.sum(tally.count))
                 .where(tally.region_code.in_(codes), tally.birth_month <= year * 100 + month)
                 .group_by(tally.region_code))
    totals = dict((await session.execute(query)).all())
    return [AreaCount(child, int(totals.get(child.code) or 0)) for child in children]


# --- births and deaths -----------------------------------------------------------------------------


def check_range(start: date, end: date, interval: StatisticsInterval) -> None:
    if start > end:
        raise bad_input("from must not be after to.", argument="from")
    if end.toordinal() - start.toordinal() + 1 > MAX_RANGE_YEARS * 366 or end.year - start.year > MAX_RANGE_YEARS:
        raise bad_input(f"A range covers at most {MAX_RANGE_YEARS} years.", argument="to", maximumYears=MAX_RANGE_YEARS)
    if interval is StatisticsInterval.DAY and end.toordinal() - start.toordinal() + 1 > MAX_DAY_BUCKETS:
        raise bad_input(f"Grouped by day, a range covers at most {MAX_DAY_BUCKETS} days.", argument="to",
                        maximumDays=MAX_DAY_BUCKETS)


@dataclass(frozen=True)
class Bucket:
    period: str  # 2026-03-14, 2026-03, 2026-Q1, 2026
    start: date  # within the requested range
    end: date


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_bucket(start: date, interval: StatisticsInterval) -> date:
    if interval is StatisticsInterval.DAY:
        return start + timedelta(days=1)
    if interval is StatisticsInterval.YEAR:
        return date(start.year + 1, 1, 1)
    months = 3 if interval is StatisticsInterval.QUARTER else 1
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def bucket_start(day: date, interval: StatisticsInterval) -> date:
    """The calendar start of the bucket that holds `day`."""
    if interval is StatisticsInterval.DAY:
        return day
    if interval is StatisticsInterval.YEAR:
        return date(day.year, 1, 1)
    if interval is StatisticsInterval.QUARTER:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return _month_start(day)


def period_label(start: date, interval: StatisticsInterval) -> str:
    if interval is StatisticsInterval.DAY:
        return start.isoformat()
    if interval is StatisticsInterval.YEAR:
        return f"{start.year}"
    if interval is StatisticsInterval.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


def buckets(start: date, end: date, interval: StatisticsInterval) -> list[Bucket]:
    """Every bucket from `start` to `end`, each clipped to the range (the first and last may be partial)."""
    out: list[Bucket] = []
    calendar_start = bucket_start(start, interval)
    while calendar_start <= end:
        following = _next_bucket(calendar_start, interval)
        out.append(Bucket(period_label(calendar_start, interval), max(calendar_start, start),
                          min(following - timedelta(days=1), end)))
        calendar_start = following
    return out


@dataclass
class EventFigures:
    """Births or deaths of a region over a range: totals, per detail (birth order or source), per bucket."""

    region_code: str
    start: date
    end: date
    interval: StatisticsInterval
    read_at: datetime
    totals: SexCounts = field(default_factory=SexCounts)
    by_detail: dict[str, SexCounts] = field(default_factory=dict)
    buckets: list[tuple[Bucket, SexCounts, dict[str, SexCounts]]] = field(default_factory=list)


async def event_figures(session: AsyncSession, kind: str, region_code: str, start: date, end: date,
                        interval: StatisticsInterval, details: Iterable[str] = ()) -> EventFigures:
    """Births (kind tally.BIRTH) or deaths (tally.DEATH) of one region, from its event tally rows grouped
    in the database by day, month or year; `details` are listed even when nothing happened."""
    check_range(start, end, interval)
    T = models.EventTally
    parts: list[Any]
    if interval is StatisticsInterval.DAY:
        parts = [T.day]
    elif interval is StatisticsInterval.YEAR:
        parts = [extract("year", T.day)]
    else:  # quarters are folded from months
        parts = [extract("year", T.day), extract("month", T.day)]
    columns = [p.label(f"p{i}") for i, p in enumerate(parts)]
    rows = await session.execute(
        select(*columns, T.detail, T.sex, func.sum(T.count).label("count"))
        .where(T.region_code == region_code, T.kind == kind, T.day >= start, T.day <= end)
        .group_by(*parts, T.detail, T.sex))
    figures = EventFigures(region_code, start, end, interval, now(),
                           by_detail={detail: SexCounts() for detail in details})
    per_bucket: dict[date, tuple[SexCounts, dict[str, SexCounts]]] = {
        b.start: (SexCounts(), {d: SexCounts() for d in details}) for b in buckets(start, end, interval)}
    for row in rows:
        values = row._mapping
        if interval is StatisticsInterval.DAY:
            first_day = values["p0"]
        elif interval is StatisticsInterval.YEAR:
            first_day = date(int(values["p0"]), 1, 1)
        else:
            first_day = date(int(values["p0"]), int(values["p1"]), 1)
        key = max(bucket_start(first_day, interval), start)
        count = int(values["count"] or 0)
        figures.totals.add(row.sex, count)
        figures.by_detail.setdefault(row.detail, SexCounts()).add(row.sex, count)
        bucket_total, bucket_details = per_bucket[key]
        bucket_total.add(row.sex, count)
        bucket_details.setdefault(row.detail, SexCounts()).add(row.sex, count)
    figures.buckets = [(b, *per_bucket[b.start]) for b in buckets(start, end, interval)]
    return figures


# --- open work -------------------------------------------------------------------------------------


@dataclass
class WorkFigures:
    region_code: str
    read_at: datetime
    pending_dispatch_tasks: int = 0
    unclaimed_deaths: int = 0
    open_check_items: dict[str, int] = field(default_factory=dict)


async def work_figures(session: AsyncSession, region_code: str) -> WorkFigures:
    """The home workbench's to-do counters of one region, from its work tally rows."""
    T = models.WorkTally
    figures = WorkFigures(region_code, now())
    open_checks: dict[str, int] = defaultdict(int)
    for kind, detail, count in (await session.execute(
            select(T.kind, T.detail, T.count).where(T.region_code == region_code))).all():
        if kind == tally.DISPATCH_PENDING:
            figures.pending_dispatch_tasks += int(count)
        elif kind == tally.DEATH_UNCLAIMED:
            figures.unclaimed_deaths += int(count)
        elif kind == tally.CHECK_OPEN and count:
            open_checks[detail] += int(count)
    figures.open_check_items = dict(sorted(open_checks.items()))
    return figures
