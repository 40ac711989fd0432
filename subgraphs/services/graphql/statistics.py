"""办件统计 for the approval desk and the window (services.md §5.4): one root field, figures for a period of
China days (本周, 上周, 近一个月, 本年, 上年 or from/to), computed from the application events when asked
(domain/statistics.py). Staff see their organisation's and region's cases, managers all; others are
refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import strawberry

from subgraphs.common.errors import bad_input
from subgraphs.services.access import Desk, check_desk, staff_sees
from subgraphs.services.domain import statistics
from subgraphs.services.domain.statistics import Counts, Group, Period
from subgraphs.services.status import ApplicationStatus
from subgraphs.services.types import BusinessItem, Info, ServiceItem

MAX_TOP = 100

strawberry.enum(
    Period, name="ApplicationPeriod",
    description="按时间: THIS_WEEK 本周 (Monday to today), LAST_WEEK 上周 (Monday to Sunday), LAST_MONTH 近一个月 "
                "(the 30 days up to today), THIS_YEAR 本年, LAST_YEAR 上年; China days.")


@strawberry.type(description="A count split by channel: online (网上) and at the window (窗口).")
class ChannelCount:
    online: int
    window: int

    @strawberry.field(description="Both channels.")
    def total(self) -> int:
        return self.online + self.window


@strawberry.type(description="受理、办结 and late completions of one group of applications in the period.")
class ApplicationCounts:
    accepted: ChannelCount = strawberry.field(description="受理: ACCEPT events in the period (线上/窗口受理数).")
    completed: ChannelCount = strawberry.field(
        description="办结: cases reaching a completed status (不受理, 准予, 不准予, 终止, 撤销, 作废) in the period.")
    overdue_completed: int = strawberry.field(description="Completions in the period after the due date.")

    @classmethod
    def of(cls, counts: Counts) -> ApplicationCounts:
        return cls(accepted=ChannelCount(online=counts.accepted_online, window=counts.accepted_window),
                   completed=ChannelCount(online=counts.completed_online, window=counts.completed_window),
                   overdue_completed=counts.overdue_completed)


@strawberry.type(description="办件分析 按事项: the figures of one service item.")
class ItemApplicationCounts:
    item_id: strawberry.ID
    item_name: str
    counts: ApplicationCounts

    @strawberry.field(description="The service item.")
    async def item(self, info: Info) -> ServiceItem | None:
        row = await info.context.loaders.service_item.load(str(self.item_id))
        return ServiceItem.from_row(row) if row else None


@strawberry.type(description="办件分析 按业务办理项: the figures of one business item.")
class BusinessItemApplicationCounts:
    business_item_id: strawberry.ID
    business_item_name: str
    counts: ApplicationCounts

    @strawberry.field(description="The business item.")
    async def business_item(self, info: Info) -> BusinessItem | None:
        row = await info.context.loaders.business_item.load(str(self.business_item_id))
        return BusinessItem.from_row(row) if row else None


@strawberry.type(description="按事项办理环节: visits to one approval step that began in the period.")
class StepApplicationCounts:
    step: ApplicationStatus
    entered: int = strawberry.field(description="Visits to the step that began in the period.")
    left: int = strawberry.field(description="Of those, visits the case has already left.")
    average_hours: float | None = strawberry.field(
        description="Average calendar hours a visit that was left spent at the step; null without any.")


@strawberry.type(description="Cases reaching one completed status in the period.")
class OutcomeCount:
    status: ApplicationStatus
    count: int


@strawberry.type(description="Evaluations with one rating.")
class RatingCount:
    rating: int
    count: int


@strawberry.type(description="好差评统计: evaluations given in the period.")
class EvaluationFigures:
    count: int
    average_rating: float | None = strawberry.field(description="Null without evaluations.")
    distribution: list[RatingCount] = strawberry.field(description="Ratings 1 (非常不满意) to 5 (非常满意).")
    bad: int = strawberry.field(description="差评: rating 2 or less, to be rectified.")


@strawberry.type(description="办件统计 of a period (China days, both ends included).")
class ApplicationStatistics:
    from_: date = strawberry.field(name="from")
    to: date
    totals: ApplicationCounts = strawberry.field(description="办件总览/办件概况.")
    submitted_individual: int = strawberry.field(description="个人办件量: cases first submitted in the period.")
    submitted_legal_entity: int = strawberry.field(description="企业办件量: legal entities' cases submitted.")
    mailed: int = strawberry.field(description="Certificates mailed (邮寄) in the period.")
    overdue_open: int = strawberry.field(
        description="超期未办结: accepted cases not completed and past their due date at the moment asked "
                    "(the end of `today` when given), whatever the period.")
    outcomes: list[OutcomeCount] = strawberry.field(description="办结 by outcome, every completed status listed.")
    by_item: list[ItemApplicationCounts] = strawberry.field(description="按事项, most accepted first (top N).")
    by_business_item: list[BusinessItemApplicationCounts] = strawberry.field(
        description="按业务办理项, most accepted first (top N).")
    by_step: list[StepApplicationCounts] = strawberry.field(
        description="按办理环节: 现场勘验, 专家评审, 承办科室审核, 领导审批.")
    evaluations: EvaluationFigures


def _group(group: Group) -> tuple[strawberry.ID, str, ApplicationCounts]:
    return strawberry.ID(group.id), group.name, ApplicationCounts.of(group.counts)


@strawberry.type
class StatisticsQueries:
    @strawberry.field(description="办件统计 (5.1.2.2.7, 5.1.2.5.8) for a period: `period`, or `from` and `to` "
                                  "(default: 近一个月). `today` (China) replaces the current day, for reports "
                                  "as of a past day. Optionally one region (its subtree), organisation, item or "
                                  "business item. For the window, the approval desk, leaders (their "
                                  "organisation's and region's cases) and managers (all).")
    async def application_statistics(
        self,
        info: Info,
        period: Period | None = None,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
        today: date | None = None,
        region_code: str | None = None,
        organization_id: strawberry.ID | None = None,
        item_id: strawberry.ID | None = None,
        business_item_id: strawberry.ID | None = None,
        top: int = 10,
    ) -> ApplicationStatistics:
        caller = info.context.caller
        check_desk(caller, "Application statistics", Desk.WINDOW, Desk.APPROVER, Desk.LEADER)
        if not 1 <= top <= MAX_TOP:
            raise bad_input(f"top must be between 1 and {MAX_TOP}.", argument="top", maximum=MAX_TOP)
        now = datetime.now(UTC)
        day = today or statistics.today_in_china(now)
        as_of = statistics.start_of(day + timedelta(days=1)) if today else now
        first, last = statistics.period_days(period, from_, to, day)
        scope = statistics.Scope(
            visible=staff_sees(caller), region_code=region_code,
            organization_id=str(organization_id) if organization_id else None,
            item_id=str(item_id) if item_id else None,
            business_item_id=str(business_item_id) if business_item_id else None)
        async with info.context.session() as session:
            figures = await statistics.figures(session, first, last, as_of, scope, top)
        evaluations = figures.evaluations
        return ApplicationStatistics(
            from_=figures.first, to=figures.last, totals=ApplicationCounts.of(figures.counts),
            submitted_individual=figures.submitted_individual,
            submitted_legal_entity=figures.submitted_legal_entity, mailed=figures.mailed,
            overdue_open=figures.overdue_open,
            outcomes=[OutcomeCount(status=s, count=n) for s, n in figures.outcomes.items()],
            by_item=[ItemApplicationCounts(item_id=i, item_name=n, counts=c)
                     for i, n, c in map(_group, figures.by_item)],
            by_business_item=[BusinessItemApplicationCounts(business_item_id=i, business_item_name=n, counts=c)
                              for i, n, c in map(_group, figures.by_business_item)],
            by_step=[StepApplicationCounts(step=s.step, entered=s.entered, left=s.left,
                                           average_hours=s.average_hours) for s in figures.steps],
            evaluations=EvaluationFigures(
                count=evaluations.count, average_rating=evaluations.average,
                distribution=[RatingCount(rating=r, count=n) for r, n in evaluations.distribution.items()],
                bad=evaluations.bad),
        )


queries: list[type] = [StatisticsQueries]
mutations: list[type] = []
