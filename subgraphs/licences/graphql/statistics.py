"""Statistics of the licence library (统计分析, 5.1.3.6): totals per type, combined counts, the valid total, the
daily increment trend and presentation usage. For licence managers; figures are computed when asked, with
statuses as of today in Beijing (domain/statistics.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from subgraphs.common.errors import bad_input
from subgraphs.licences.access import check_manager
from subgraphs.licences.codes import LicenceTypeCode, PresentationResult, type_info
from subgraphs.licences.domain import statistics
from subgraphs.licences.domain.statistics import Dimension, ValidityWindow
from subgraphs.licences.status import LicenceStatus, today_in_china
from subgraphs.licences.types import Info, Organization

LicenceDimension = strawberry.enum(
    Dimension, name="LicenceDimension",
    description="统计维度: TYPE 证照类型, ISSUER 发证机关, STATUS 证照状态, VALIDITY_WINDOW 有效期限, "
                "HOLDER_KIND 持证主体.")
LicenceValidityWindow = strawberry.enum(
    ValidityWindow, name="LicenceValidityWindow",
    description="有效期限 seen from today: EXPIRED (ended), NEAR_EXPIRY (临期: ends within LICENCES_NEAR_EXPIRY_DAYS, "
                "default 90), WITHIN_YEAR, LATER, NEVER (the type has no end date).")


@strawberry.type(description="证照总量 of one type.")
class LicenceTypeTotals:
    type: LicenceTypeCode
    type_name: str = strawberry.field(description="证照名称.")
    collected: int = strawberry.field(description="归集数据总量: every stored record, invalidated ones included.")
    generated: int = strawberry.field(description="已制证数据总量: records with a generated electronic licence.")
    valid: int = strawberry.field(description="有效.")
    expired: int = strawberry.field(description="过期.")
    invalid: int = strawberry.field(description="无效 (revoked or invalidated).")
    near_expiry: int = strawberry.field(description="临期: valid, ending soon (a part of valid).")


@strawberry.input(description="Which licences a combined count covers; each list, when given, allows any of its "
                              "values.")
class LicenceCountFilter:
    types: list[LicenceTypeCode] | None = None
    issuer_org_ids: list[strawberry.ID] | None = None
    issuer_names: list[str] | None = None
    statuses: list[LicenceStatus] | None = None
    validity_windows: list[LicenceValidityWindow] | None = None  # type: ignore[valid-type]


@strawberry.type(description="One group of a combined count: only the dimensions asked for are set.")
class LicenceCount:
    count: int
    type: LicenceTypeCode | None
    issuer_org_id: strawberry.ID | None
    issuer_name: str | None
    status: LicenceStatus | None
    validity_window: LicenceValidityWindow | None  # type: ignore[valid-type]
    holder_kind: str | None

    @strawberry.field(description="发证机关 as an organisation.")
    def issuer(self) -> Organization | None:
        return Organization(id=self.issuer_org_id) if self.issuer_org_id else None


@strawberry.type(name="LicenceDailyCount", description="A count on one China day.")
class DailyCount:
    day: date
    count: int


@strawberry.type(name="LicenceTypeCount", description="A count of one licence type.")
class TypeCount:
    type: LicenceTypeCode
    count: int


@strawberry.type(name="PresentationClientCount",
                 description="Successful presentations by one calling system (调用系统).")
class ClientCount:
    client_id: str
    client_name: str | None = strawberry.field(description="The registered name; null for an unregistered id.")
    count: int


@strawberry.type(name="PresentationResultCount", description="Presentation requests with one result.")
class ResultCount:
    result: PresentationResult
    count: int


@strawberry.type(name="LicencePresentationStatistics", description="亮证统计 over a range of China days.")
class PresentationStatistics:
    presented: int = strawberry.field(description="Successful presentations (result PRESENTED).")
    by_type: list[TypeCount] = strawberry.field(description="Successful presentations per licence type.")
    by_client: list[ClientCount] = strawberry.field(description="Successful presentations per calling system, "
                                                                "most first.")
    by_day: list[DailyCount] = strawberry.field(description="Successful presentations per day, every day.")
    by_result: list[ResultCount] = strawberry.field(description="Every request by result.")


def _range(first: date, last: date) -> None:
    if last < first:
        raise bad_input("`to` is before `from`.", argument="to")
    if (last - first).days >= statistics.MAX_TREND_DAYS:
        raise bad_input(f"The range is longer than {statistics.MAX_TREND_DAYS} days.", argument="to",
                        maximum=statistics.MAX_TREND_DAYS)


@strawberry.type
class StatisticsQueries:
    @strawberry.field(description="按证照分类总量统计 (L5301): per type, in the tender's order.")
    async def licence_totals(self, info: Info) -> list[LicenceTypeTotals]:
        check_manager(info.context.caller, "Licence statistics")
        async with info.context.session() as session:
            totals = await statistics.totals_per_type(session, today_in_china())
        return [LicenceTypeTotals(type=t.type, type_name=type_info(t.type).name, collected=t.collected,
                                  generated=t.generated, valid=t.valid, expired=t.expired, invalid=t.invalid,
                                  near_expiry=t.near_expiry) for t in totals]

    @strawberry.field(description="有效证照总量 (L5305), optionally of some types.")
    async def valid_licence_total(self, info: Info, types: list[LicenceTypeCode] | None = None) -> int:
        check_manager(info.context.caller, "Licence statistics")
        async with info.context.session() as session:
            return await statistics.valid_total(session, today_in_china(), types)

    @strawberry.field(description="多条件组合统计 (L5303): licence counts grouped by any combination of type, issuer, "
                                  "status, validity window and holder kind, largest group first. No dimension: "
                                  "the filtered total as one row.")
    async def licence_counts(self, info: Info, group_by: list[LicenceDimension],  # type: ignore[valid-type]
                             filter: LicenceCountFilter | None = None) -> list[LicenceCount]:
        check_manager(info.context.caller, "Licence statistics")
        where = filter or LicenceCountFilter()
        criteria = statistics.CountFilter(
            types=list(where.types or []), issuer_org_ids=[str(i) for i in where.issuer_org_ids or []],
            issuer_names=list(where.issuer_names or []), statuses=list(where.statuses or []),
            windows=[ValidityWindow(w) for w in where.validity_windows or []])
        async with info.context.session() as session:
            rows = await statistics.combined_counts(session, today_in_china(), [Dimension(d) for d in group_by],
                                                    criteria)
        return [LicenceCount(count=r.count, type=r.type,
                             issuer_org_id=strawberry.ID(r.issuer_org_id) if r.issuer_org_id else None,
                             issuer_name=r.issuer_name, status=r.status, validity_window=r.window,
                             holder_kind=r.holder_kind) for r in rows]

    @strawberry.field(description="增量趋势 (L5308): licences stored (入库) per China day from `from` to `to` "
                                  f"(at most {statistics.MAX_TREND_DAYS} days), every day listed.")
    async def licence_increment_trend(self, info: Info, from_: Annotated[date, strawberry.argument(name="from")],
                                      to: date,
                                      types: list[LicenceTypeCode] | None = None) -> list[DailyCount]:
        check_manager(info.context.caller, "Licence statistics")
        _range(from_, to)
        async with info.context.session() as session:
            days = await statistics.daily_increments(session, from_, to, types)
        return [DailyCount(day=d, count=n) for d, n in days.items()]

    @strawberry.field(description="亮证统计 (L5292, L5310): presentations by type, calling system and China day from "
                                  "`from` to `to`, and all requests by result.")
    async def presentation_statistics(self, info: Info, from_: Annotated[date, strawberry.argument(name="from")],
                                      to: date,
                                      types: list[LicenceTypeCode] | None = None) -> PresentationStatistics:
        check_manager(info.context.caller, "Licence statistics")
        _range(from_, to)
        async with info.context.session() as session:
            figures = await statistics.presentation_figures(session, from_, to, types)
        return PresentationStatistics(
            presented=figures.presented,
            by_type=[TypeCount(type=t, count=n) for t, n in figures.by_type.items()],
            by_client=[ClientCount(client_id=c, client_name=name, count=n) for c, name, n in figures.by_client],
            by_day=[DailyCount(day=d, count=n) for d, n in figures.by_day.items()],
            by_result=[ResultCount(result=PresentationResult(r.value), count=n)
                       for r, n in figures.by_result.items()],
        )


queries: list[type] = [StatisticsQueries]
mutations: list[type] = []
