"""办件统计 for the approval desk (5.1.2.2.7) and the window (5.1.2.5.8), services.md §5.4.

Everything is counted from the application events (办件行为) in a period of China days, joined to their
applications for the channel, the item and the region:

* accepted: ACCEPT events; completed: events entering a completed status (不受理, 准予, 不准予, 终止, 撤销,
  作废); both split online / window by the application's channel;
* overdue completions: completions after the application's due date; overdue open cases (超期未办结): accepted,
  not completed and past their due date at the moment asked (`as_of`), whatever the period;
* submitted (个人/企业办件量): first submissions (SUBMIT, RECEIVE_WALK_IN); mailed (邮寄): MAIL events;
* steps: visits to the approval steps, entered in the period, and the average time from each entry into a
  step to the case's next event (a failed inspection's re-inspection counts in the same visit);
* evaluations: EVALUATE events with the application's rating (好差评; 差评 = rating 2 or less).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from subgraphs.common.china_time import CHINA as CHINA  # re-exported
from subgraphs.common.china_time import today_in_china as today_in_china
from subgraphs.common.errors import bad_input
from subgraphs.common.regions import in_subtree
from subgraphs.services import models
from subgraphs.services.status import STAGE_OF, Action, ApplicationStage, ApplicationStatus

MAX_DAYS = 3 * 366
COMPLETED = tuple(s.value for s, stage in STAGE_OF.items() if stage is ApplicationStage.COMPLETED)
STEPS = (ApplicationStatus.SITE_INSPECTION, ApplicationStatus.EXPERT_REVIEW, ApplicationStatus.SECTION_REVIEW,
         ApplicationStatus.LEADER_APPROVAL)
E, Ap, BI = models.ApplicationEvent, models.Application, models.BusinessItem


class Period(Enum):
    THIS_WEEK = "THIS_WEEK"  # 本周: Monday to today
    LAST_WEEK = "LAST_WEEK"  # 上周: Monday to Sunday before this week
    LAST_MONTH = "LAST_MONTH"  # 近一个月: the 30 days up to today
    THIS_YEAR = "THIS_YEAR"  # 本年: 1 January to today
    LAST_YEAR = "LAST_YEAR"  # 上年


def days_of(period: Period, today: date) -> tuple[date, date]:
    """The first and last China day of `period` seen from `today`."""
    monday = today - timedelta(days=today.weekday())
    if period is Period.THIS_WEEK:
        return monday, today
    if period is Period.LAST_WEEK:
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if period is Period.LAST_MONTH:
        return today - timedelta(days=29), today
    if period is Period.THIS_YEAR:
        return date(today.year, 1, 1), today
    return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)


def start_of(day: date) -> datetime:
    """The moment a China day begins, in UTC."""
    return datetime.combine(day, time(), CHINA).astimezone(UTC)


def check_days(first: date, last: date) -> None:
    if last < first:
        raise bad_input("`to` is before `from`.", argument="to")
    if (last - first).days >= MAX_DAYS:
        raise bad_input(f"The period is longer than {MAX_DAYS} days.", argument="to", maximum=MAX_DAYS)


@dataclass(frozen=True)
class Scope:
    """Which applications count: the caller's visibility and the optional filters."""

    visible: ColumnElement[bool]
    region_code: str | None = None
    organization_id: str | None = None
    item_id: str | None = None
    business_item_id: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        out = [self.visible]
        if self.region_code is not None:
            out.append(in_subtree(cast(QueryableAttribute[str], Ap.region_code), self.region_code))
        if self.organization_id is not None:
            out.append(Ap.organization_id == self.organization_id)
        if self.item_id is not None:
            out.append(Ap.business_item_id.in_(select(BI.id).where(BI.item_id == self.item_id)))
        if self.business_item_id is not None:
            out.append(Ap.business_item_id == self.business_item_id)
        return out


@dataclass
class Counts:
    accepted_online: int = 0
    accepted_window: int = 0
    completed_online: int = 0
    completed_window: int = 0
    overdue_completed: int = 0

    @property
    def accepted(self) -> int:
        return self.accepted_online + self.accepted_window

    @property
    def completed(self) -> int:
        return self.completed_online + self.completed_window


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    counts: Counts


@dataclass(frozen=True)
class StepFigures:
    step: ApplicationStatus
    entered: int  # visits that began in the period
    left: int  # of those, visits the case has left
    average_hours: float | None  # calendar hours per visit left


@dataclass(frozen=True)
class Evaluations:
    count: int
    average: float | None
    distribution: dict[int, int]
    bad: int


@dataclass
class Figures:
    first: date
    last: date
    counts: Counts
    submitted_individual: int
    submitted_legal_entity: int
    mailed: int
    overdue_open: int
    outcomes: dict[ApplicationStatus, int]
    by_item: list[Group]
    by_business_item: list[Group]
    steps: list[StepFigures]
    evaluations: Evaluations


def _in(first: date, last: date) -> ColumnElement[bool]:
    return and_(E.at >= start_of(first), E.at < start_of(last + timedelta(days=1)))


_ACCEPT = E.action == Action.ACCEPT.value
_DONE = and_(E.to_status.in_(COMPLETED), or_(E.from_status.is_(None), E.from_status.not_in(COMPLETED)))
_LATE = and_(_DONE, Ap.due_at.is_not(None), E.at > Ap.due_at)


def _sum(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _counts_query(first: date, last: date, scope: Scope, *group: Any) -> Select[Any]:
    return (
        select(*group, Ap.channel, _sum(_ACCEPT), _sum(_DONE), _sum(_LATE))
        .select_from(E)
        .join(Ap, Ap.id == E.application_id)
        .where(_in(first, last), or_(_ACCEPT, _DONE), *scope.conditions())
        .group_by(*group, Ap.channel)
    )


def _add(counts: Counts, channel: str, accepted: int, completed: int, late: int) -> None:
    if channel == "WINDOW":
        counts.accepted_window += int(accepted)
        counts.completed_window += int(completed)
    else:
        counts.accepted_online += int(accepted)
        counts.completed_online += int(completed)
    counts.overdue_completed += int(late)


async def _groups(session: AsyncSession, first: date, last: date, scope: Scope, id_column: Any,
                  name_column: Any, top: int) -> list[Group]:
    stmt = _counts_query(first, last, scope, id_column, name_column)
    if id_column is models.ServiceItem.id:
        stmt = stmt.join(BI, BI.id == Ap.business_item_id).join(models.ServiceItem,
                                                               models.ServiceItem.id == BI.item_id)
    else:
        stmt = stmt.join(BI, BI.id == Ap.business_item_id)
    found: dict[str, Group] = {}
    for group_id, name, channel, accepted, completed, late in await session.execute(stmt):
        group = found.setdefault(group_id, Group(group_id, name, Counts()))
        _add(group.counts, channel, accepted, completed, late)
    ranked = sorted(found.values(), key=lambda g: (-g.counts.accepted, -g.counts.completed, g.id))
    return ranked[:top]


async def _steps(session: AsyncSession, first: date, last: date, scope: Scope) -> list[StepFigures]:
    following = (
        select(E.application_id, E.from_status, E.to_status, E.at,
               func.lead(E.at).over(partition_by=E.application_id, order_by=E.seq).label("next_at"),
               func.lead(E.to_status).over(partition_by=E.application_id, order_by=E.seq).label("next_to"))
        .select_from(E)
        .join(Ap, Ap.id == E.application_id)
        .where(E.application_id.in_(
            select(E.application_id).where(_in(first, last), E.to_status.in_([s.value for s in STEPS]))),
               *scope.conditions())
        .subquery()
    )
    seconds = _seconds(session, following.c.at, following.c.next_at)
    entering = or_(following.c.from_status.is_(None), following.c.from_status != following.c.to_status)
    in_period = and_(following.c.at >= start_of(first), following.c.at < start_of(last + timedelta(days=1)))
    leaving = and_(following.c.next_at.is_not(None), following.c.next_to != following.c.to_status)
    stmt = (
        select(following.c.to_status, _sum(entering), _sum(leaving),
               func.sum(case((following.c.next_at.is_not(None), seconds), else_=literal(0))))
        .where(following.c.to_status.in_([s.value for s in STEPS]), in_period)
        .group_by(following.c.to_status)
    )
    rows = {status: (entered, left, total) for status, entered, left, total in await session.execute(stmt)}
    out = []
    for step in STEPS:
        entered, left, total = rows.get(step.value, (0, 0, 0))
        average = round(float(total) / int(left) / 3600, 2) if int(left) else None
        out.append(StepFigures(step, int(entered), int(left), average))
    return out


def _seconds(session: AsyncSession, start: Any, end: Any) -> Any:
    """`end - start` in seconds, in the backend's own words."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400


async def _evaluations(session: AsyncSession, first: date, last: date, scope: Scope) -> Evaluations:
    stmt = (
        select(Ap.rating, func.count(distinct(E.application_id)))
        .select_from(E)
        .join(Ap, Ap.id == E.application_id)
        .where(_in(first, last), E.action == Action.EVALUATE.value, Ap.rating.is_not(None), *scope.conditions())
        .group_by(Ap.rating)
    )
    distribution = dict.fromkeys(range(1, 6), 0)
    for rating, count in await session.execute(stmt):
        distribution[int(rating or 0)] = int(count)
    count = sum(distribution.values())
    average = round(sum(r * n for r, n in distribution.items()) / count, 2) if count else None
    return Evaluations(count, average, distribution, distribution[1] + distribution[2])


async def figures(session: AsyncSession, first: date, last: date, as_of: datetime, scope: Scope,
                  top: int = 10) -> Figures:
    """Every figure of the period [first, last] (China days) for the applications `scope` admits."""
    check_days(first, last)
    counts = Counts()
    for channel, accepted, completed, late in await session.execute(_counts_query(first, last, scope)):
        _add(counts, channel, accepted, completed, late)
    outcome_rows = await session.execute(
        select(E.to_status, func.count()).select_from(E).join(Ap, Ap.id == E.application_id)
        .where(_in(first, last), _DONE, *scope.conditions()).group_by(E.to_status))
    outcomes = {ApplicationStatus(s): 0 for s in COMPLETED}
    for status, count in outcome_rows:
        outcomes[ApplicationStatus(status)] = int(count)
    submissions = await session.execute(
        select(Ap.applicant_type, func.count(distinct(E.application_id)))
        .select_from(E).join(Ap, Ap.id == E.application_id)
        .where(_in(first, last), E.action.in_([Action.SUBMIT.value, Action.RECEIVE_WALK_IN.value]),
               *scope.conditions())
        .group_by(Ap.applicant_type))
    submitted = {kind: int(n) for kind, n in submissions}
    mailed = await session.scalar(
        select(func.count()).select_from(E).join(Ap, Ap.id == E.application_id)
        .where(_in(first, last), E.action == Action.MAIL.value, *scope.conditions()))
    overdue_open = await session.scalar(
        select(func.count()).select_from(Ap).where(
            Ap.accepted_at.is_not(None), Ap.accepted_at < as_of, Ap.due_at < as_of,
            or_(Ap.completed_at.is_(None), Ap.completed_at >= as_of), *scope.conditions()))
    return Figures(
        first=first, last=last, counts=counts,
        submitted_individual=submitted.get("INDIVIDUAL", 0), submitted_legal_entity=submitted.get("LEGAL_ENTITY", 0),
        mailed=int(mailed or 0), overdue_open=int(overdue_open or 0), outcomes=outcomes,
        by_item=await _groups(session, first, last, scope, models.ServiceItem.id, models.ServiceItem.name, top),
        by_business_item=await _groups(session, first, last, scope, BI.id, BI.name, top),
        steps=await _steps(session, first, last, scope),
        evaluations=await _evaluations(session, first, last, scope),
    )


def period_days(period: Period | None, first: date | None, last: date | None,
                today: date) -> tuple[date, date]:
    """The days asked for: a named period, or an explicit `from`/`to` (both), not both kinds."""
    if period is not None and (first is not None or last is not None):
        raise bad_input("Give either a period or `from` and `to`, not both.", argument="period")
    if period is not None:
        return days_of(period, today)
    if first is None or last is None:
        if first is None and last is None:
            return days_of(Period.LAST_MONTH, today)
        raise bad_input("Give both `from` and `to`.", argument="from" if first is None else "to")
    check_days(first, last)
    return first, last

