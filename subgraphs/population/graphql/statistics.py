"""Population statistics (人口统计) for the cockpit and the reports: population structure, births, deaths and
the workbench counters of one region, read from the statistics tallies (domain/statistics.py)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.scope import region_scope
from subgraphs.population.codes import AGE_BAND_BOUNDS, AGE_BAND_LABELS, AgeBand, PersonType
from subgraphs.population.domain import statistics, tally
from subgraphs.population.domain.statistics import StatisticsInterval
from subgraphs.population.types import Info, Region

REGION_HELP = ("区划代码. Must lie within your data scope; a region wider than your scope (the province for a "
               "city user) gives the figures of your own region, which regionCode then names.")


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


async def _figures_region(info: Info, session: AsyncSession, requested: str) -> str:
    """The region whose figures the caller gets (its own when it asked for a wider one); an unknown region is
    NOT_FOUND. Read in the session of the figures: one connection checkout per request."""
    code = statistics.figures_region(region_scope(info.context.caller), requested)
    if code == requested:
        await statistics.require_region(session, code)
    return code


async def _region(info: Info, code: str) -> Region | None:
    row = await info.context.loaders.region.load(code)
    return Region.from_row(row) if row else None


@strawberry.type(description="按性别的人数: a count split by sex.")
class SexCount:
    total: int = strawberry.field(description="合计: all persons.")
    male: int = strawberry.field(description="男性人数.")
    female: int = strawberry.field(description="女性人数.")

    @classmethod
    def of(cls, counts: statistics.SexCounts) -> SexCount:
        return cls(total=counts.total, male=counts.male, female=counts.female)


@strawberry.type(description="年龄段人数 (年龄分析统计 / 人口结构分析): the persons of one age band by sex.")
class AgeBandCount:
    band: AgeBand = strawberry.field(description="年龄段.")
    label: str = strawberry.field(description="年龄段名称, e.g. 0-3岁.")
    min_age: int = strawberry.field(description="最小年龄 (completed years, inclusive).")
    max_age: int | None = strawberry.field(description="最大年龄 (inclusive); null: no upper bound.")
    total: int = strawberry.field(description="人数.")
    male: int = strawberry.field(description="男性人数.")
    female: int = strawberry.field(description="女性人数.")
    share: float = strawberry.field(description="占比: share of the region's total (0 to 1).")


@strawberry.type(description="人员类型人数: the persons of one person type.")
class PersonTypeCount:
    person_type: PersonType = strawberry.field(description="人员类型.")
    count: int = strawberry.field(description="人数.")
    share: float = strawberry.field(description="占比 (0 to 1).")


@strawberry.type(description="地域分析统计: the persons managed in one child region.")
class AreaCount:
    region_code: strawberry.ID = strawberry.field(description="下级区划代码.")
    name: str = strawberry.field(description="区划名称.")
    total: int = strawberry.field(description="人数.")
    share: float = strawberry.field(description="占比: share of the parent region's total (0 to 1).")

    @strawberry.field(description="The child region.")
    async def region(self, info: Info) -> Region | None:
        return await _region(info, str(self.region_code))


@strawberry.type(description="人口整体统计 / 人口画像: the population of a region (管理地) at the end of a "
                             "statistics month. Persons counted: status NORMAL, not deleted. Age: completed "
                             "years at the end of the statistics month, from the birth month.")
class PopulationStatistics:
    region_code: strawberry.ID = strawberry.field(
        description="The region these figures are for: the requested one, or your own region when the request "
                    "was wider than your data scope.")
    requested_region_code: strawberry.ID = strawberry.field(description="The region asked for.")
    as_of_month: str = strawberry.field(description="统计月份 YYYY-MM: ages are taken at its end.")
    as_of: datetime = strawberry.field(description="When the figures were read (they are current at that moment).")
    total: int = strawberry.field(description="总人数.")
    male: int = strawberry.field(description="男性人数.")
    male_share: float = strawberry.field(description="男性占比 (0 to 1).")
    female: int = strawberry.field(description="女性人数.")
    female_share: float = strawberry.field(description="女性占比 (0 to 1).")
    mobile: int = strawberry.field(description="流动人口数.")
    mobile_share: float = strawberry.field(description="流动人口占比 (0 to 1).")
    resident: int = strawberry.field(description="常住人口数.")
    resident_share: float = strawberry.field(description="常住人口占比 (0 to 1).")
    aged65_plus: int = strawberry.field(description="65岁以上老年人数 (elderly board).")
    aged65_plus_share: float = strawberry.field(description="65岁以上老人占比: share of the region's total (0 to 1).")
    by_person_type: list[PersonTypeCount] = strawberry.field(description="按人员类型.")
    age_bands: list[AgeBandCount] = strawberry.field(
        description="年龄段: 0-3, 4-15 (4 to 14), 15-59, 60-79, 80+ (these add up to the total) and the "
                    "overlapping 65+.")
    as_of_year: strawberry.Private[int]
    as_of_month_number: strawberry.Private[int]

    @strawberry.field(description="The region these figures are for.")
    async def region(self, info: Info) -> Region | None:
        return await _region(info, str(self.region_code))

    @strawberry.field(description="地域分析统计: the persons of every child region (the next level down) and "
                                  "their share of this region's total.")
    async def by_child_region(self, info: Info) -> list[AreaCount]:
        async with info.context.reading() as session:
            areas = await statistics.child_region_totals(session, str(self.region_code), self.as_of_year,
                                                         self.as_of_month_number)
        return [AreaCount(region_code=strawberry.ID(a.region.code), name=a.region.name, total=a.total,
                          share=_share(a.total, self.total)) for a in areas]

    @classmethod
    def of(cls, figures: statistics.PopulationFigures, requested: str) -> PopulationStatistics:
        total = figures.people.total
        bands = [
            AgeBandCount(band=band, label=AGE_BAND_LABELS[band], min_age=AGE_BAND_BOUNDS[band][0],
                         max_age=AGE_BAND_BOUNDS[band][1], total=counts.total, male=counts.male,
                         female=counts.female, share=_share(counts.total, total))
            for band, counts in figures.age_bands.items()
        ]
        elderly = figures.age_bands[AgeBand.AGE_65_PLUS].total
        mobile = figures.mobility.get("MOBILE", 0)
        resident = figures.mobility.get("RESIDENT", 0)
        return cls(
            region_code=strawberry.ID(figures.region_code), requested_region_code=strawberry.ID(requested),
            as_of_month=f"{figures.year:04d}-{figures.month:02d}", as_of=figures.read_at, total=total,
            male=figures.people.male, male_share=_share(figures.people.male, total),
            female=figures.people.female, female_share=_share(figures.people.female, total),
            mobile=mobile, mobile_share=_share(mobile, total), resident=resident,
            resident_share=_share(resident, total), aged65_plus=elderly, aged65_plus_share=_share(elderly, total),
            by_person_type=[PersonTypeCount(person_type=kind, count=figures.person_types.get(kind.value, 0),
                                            share=_share(figures.person_types.get(kind.value, 0), total))
                            for kind in PersonType],
            age_bands=bands, as_of_year=figures.year, as_of_month_number=figures.month)


# --- births and deaths -----------------------------------------------------------------------------


@strawberry.enum(description="孩次: birth order: FIRST 一孩, SECOND 二孩, THIRD_OR_MORE 三孩及以上.")
class BirthOrderGroup(Enum):
    FIRST = "FIRST"
    SECOND = "SECOND"
    THIRD_OR_MORE = "THIRD_OR_MORE"


BIRTH_ORDER_LABELS = {BirthOrderGroup.FIRST: "一孩", BirthOrderGroup.SECOND: "二孩",
                      BirthOrderGroup.THIRD_OR_MORE: "三孩及以上"}
# The EventTally detail of each (tally.birth_order_bucket).
BIRTH_ORDER_DETAILS = {BirthOrderGroup.FIRST: tally.birth_order_bucket(1), BirthOrderGroup.SECOND:
                       tally.birth_order_bucket(2), BirthOrderGroup.THIRD_OR_MORE: tally.birth_order_bucket(3)}


@strawberry.type(description="孩次分析统计: the births of one birth order by sex.")
class BirthOrderCount:
    order: BirthOrderGroup = strawberry.field(description="孩次.")
    label: str = strawberry.field(description="孩次名称: 一孩, 二孩, 三孩及以上.")
    total: int = strawberry.field(description="出生人数.")
    male: int = strawberry.field(description="男孩.")
    female: int = strawberry.field(description="女孩.")
    share: float = strawberry.field(description="占比 of the births counted alongside (0 to 1).")


@strawberry.type(description="死亡人数 by source (数据来源: 公安销户 / 医院死亡证明 / 社区上报 / ...) and sex.")
class DeathSourceCount:
    source: str = strawberry.field(description="数据来源 code of the death record.")
    total: int = strawberry.field(description="死亡人数.")
    male: int = strawberry.field(description="男性.")
    female: int = strawberry.field(description="女性.")
    share: float = strawberry.field(description="占比 of the deaths counted alongside (0 to 1).")


def _orders(by_detail: dict[str, statistics.SexCounts], whole: int) -> list[BirthOrderCount]:
    out = []
    for order in BirthOrderGroup:
        counts = by_detail.get(BIRTH_ORDER_DETAILS[order], statistics.SexCounts())
        out.append(BirthOrderCount(order=order, label=BIRTH_ORDER_LABELS[order], total=counts.total,
                                   male=counts.male, female=counts.female, share=_share(counts.total, whole)))
    return out


def _sources(by_detail: dict[str, statistics.SexCounts], whole: int) -> list[DeathSourceCount]:
    return [DeathSourceCount(source=source, total=c.total, male=c.male, female=c.female,
                             share=_share(c.total, whole)) for source, c in sorted(by_detail.items())]


@strawberry.type(description="One period of a births series.")
class BirthBucket:
    period: str = strawberry.field(description="统计期: 2026-03-14 (day), 2026-03 (month), 2026-Q1, 2026.")
    start: date = strawberry.field(description="First day counted (the range's start for a partial first period).")
    end: date = strawberry.field(description="Last day counted (the range's end for a partial last period).")
    total: int = strawberry.field(description="出生人数.")
    male: int = strawberry.field(description="男孩.")
    female: int = strawberry.field(description="女孩.")
    by_order: list[BirthOrderCount] = strawberry.field(description="按孩次.")


@strawberry.type(description="One period of a deaths series.")
class DeathBucket:
    period: str = strawberry.field(description="统计期: 2026-03-14 (day), 2026-03 (month), 2026-Q1, 2026.")
    start: date = strawberry.field(description="First day counted (the range's start for a partial first period).")
    end: date = strawberry.field(description="Last day counted (the range's end for a partial last period).")
    total: int = strawberry.field(description="死亡人数.")
    male: int = strawberry.field(description="男性.")
    female: int = strawberry.field(description="女性.")
    by_source: list[DeathSourceCount] = strawberry.field(description="按数据来源.")


@strawberry.type
class _RangeFigures:
    """The fields every statistic over a date range starts with (inherited, never a type of its own)."""

    region_code: strawberry.ID = strawberry.field(description="The region these figures are for.")
    requested_region_code: strawberry.ID = strawberry.field(description="The region asked for.")
    from_: date = strawberry.field(name="from", description="First day of the range.")
    to: date = strawberry.field(description="Last day of the range.")
    group_by: StatisticsInterval = strawberry.field(description="统计周期 of the buckets.")
    as_of: datetime = strawberry.field(description="When the figures were read.")


@strawberry.type(description="出生人口统计 (孩次分析, 子女结构分析): births in a region over a date range, by "
                             "birth order and sex, in total and per period (every period listed, empty ones "
                             "with zeros).")
class BirthStatistics(_RangeFigures):
    total: int = strawberry.field(description="出生人数.")
    male: int = strawberry.field(description="男孩.")
    female: int = strawberry.field(description="女孩.")
    by_order: list[BirthOrderCount] = strawberry.field(description="按孩次: 一孩, 二孩, 三孩及以上.")
    buckets: list[BirthBucket] = strawberry.field(description="Per period, in time order.")


@strawberry.type(description="死亡人口统计: synced deaths in a region (the deceased's 管理地) over a date range, by "
                             "source and sex, in total and per period (every period listed).")
class DeathStatistics(_RangeFigures):
    total: int = strawberry.field(description="死亡人数.")
    male: int = strawberry.field(description="男性.")
    female: int = strawberry.field(description="女性.")
    by_source: list[DeathSourceCount] = strawberry.field(description="按数据来源.")
    buckets: list[DeathBucket] = strawberry.field(description="Per period, in time order.")


# --- workbench ---------------------------------------------------------------------------------------


@strawberry.type(description="核查项分类计数: open check items of one category.")
class CheckCategoryCount:
    category: str = strawberry.field(description="核查分类 code.")
    count: int = strawberry.field(description="未处理数.")


@strawberry.type(description="首页待办计数: the workbench to-dos of a region and its subtree.")
class WorkCounters:
    region_code: strawberry.ID = strawberry.field(description="The region these counters are for.")
    requested_region_code: strawberry.ID = strawberry.field(description="The region asked for.")
    as_of: datetime = strawberry.field(description="When the counters were read.")
    pending_dispatch_tasks: int = strawberry.field(description="待处理调度: dispatch orders awaiting this region.")
    unclaimed_deaths: int = strawberry.field(description="死亡待认领: death records routed here, not yet claimed.")
    open_check_items: int = strawberry.field(description="数据核查: open check items.")
    open_check_items_by_category: list[CheckCategoryCount] = strawberry.field(description="按核查分类.")


# --- root fields -------------------------------------------------------------------------------------

RegionArgument = Annotated[strawberry.ID, strawberry.argument(description=REGION_HELP)]
FromArgument = Annotated[date, strawberry.argument(name="from", description="First day (inclusive).")]
ToArgument = Annotated[date, strawberry.argument(description="Last day (inclusive); at most 20 years after from "
                                                             "(366 days when grouped by day).")]
GroupArgument = Annotated[StatisticsInterval, strawberry.argument(description="统计周期 of the buckets.")]


@strawberry.type
class StatisticsQuery:
    @strawberry.field(description="人口整体统计 / 年龄分析 / 地域分析: the population of a region at the end of a "
                                  "statistics month, from the statistics tallies (current as read).")
    async def population_statistics(
        self, info: Info, region_code: RegionArgument,
        as_of_month: Annotated[str | None, strawberry.argument(
            description="统计月份 YYYY-MM (default: the current month, Beijing time); not in the future.")] = None,
    ) -> PopulationStatistics:
        year, month = statistics.parse_month(as_of_month)
        async with info.context.reading() as session:
            code = await _figures_region(info, session, str(region_code))
            figures = await statistics.population_figures(session, code, year, month)
        return PopulationStatistics.of(figures, str(region_code))

    @strawberry.field(description="出生人口统计 (孩次分析统计): births in a region over a date range by birth order "
                                  "and sex, per day, month, quarter or year.")
    async def birth_statistics(
        self, info: Info, region_code: RegionArgument, from_: FromArgument, to: ToArgument,
        group_by: GroupArgument = StatisticsInterval.MONTH,
    ) -> BirthStatistics:
        statistics.check_range(from_, to, group_by)
        async with info.context.reading() as session:
            code = await _figures_region(info, session, str(region_code))
            f = await statistics.event_figures(session, tally.BIRTH, code, from_, to, group_by,
                                               details=BIRTH_ORDER_DETAILS.values())
        return BirthStatistics(
            region_code=strawberry.ID(code), requested_region_code=region_code, from_=from_, to=to,
            group_by=group_by, as_of=f.read_at, total=f.totals.total, male=f.totals.male, female=f.totals.female,
            by_order=_orders(f.by_detail, f.totals.total),
            buckets=[BirthBucket(period=b.period, start=b.start, end=b.end, total=c.total, male=c.male,
                                 female=c.female, by_order=_orders(d, c.total)) for b, c, d in f.buckets])

    @strawberry.field(description="死亡人口统计: synced deaths in a region over a date range by source and sex, per "
                                  "day, month, quarter or year.")
    async def death_statistics(
        self, info: Info, region_code: RegionArgument, from_: FromArgument, to: ToArgument,
        group_by: GroupArgument = StatisticsInterval.MONTH,
    ) -> DeathStatistics:
        statistics.check_range(from_, to, group_by)
        async with info.context.reading() as session:
            code = await _figures_region(info, session, str(region_code))
            f = await statistics.event_figures(session, tally.DEATH, code, from_, to, group_by)
        return DeathStatistics(
            region_code=strawberry.ID(code), requested_region_code=region_code, from_=from_, to=to,
            group_by=group_by, as_of=f.read_at, total=f.totals.total, male=f.totals.male, female=f.totals.female,
            by_source=_sources(f.by_detail, f.totals.total),
            buckets=[DeathBucket(period=b.period, start=b.start, end=b.end, total=c.total, male=c.male,
                                 female=c.female, by_source=_sources(d, c.total)) for b, c, d in f.buckets])

    @strawberry.field(description="首页待办: pending dispatch tasks, unclaimed deaths and open check items of a "
                                  "region and its subtree.")
    async def work_counters(self, info: Info, region_code: RegionArgument) -> WorkCounters:
        async with info.context.reading() as session:
            code = await _figures_region(info, session, str(region_code))
            w = await statistics.work_figures(session, code)
        return WorkCounters(
            region_code=strawberry.ID(code), requested_region_code=region_code, as_of=w.read_at,
            pending_dispatch_tasks=w.pending_dispatch_tasks, unclaimed_deaths=w.unclaimed_deaths,
            open_check_items=sum(w.open_check_items.values()),
            open_check_items_by_category=[CheckCategoryCount(category=k, count=v)
                                          for k, v in w.open_check_items.items()])


queries: list[type] = [StatisticsQuery]
mutations: list[type] = []
