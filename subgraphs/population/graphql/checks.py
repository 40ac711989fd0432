"""Data-quality checks (数据核查): the rule registry, check items by region and category with their counts
(cards), national feedback (国家反馈) from systems, and runs of the batch job."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from aiodataloader import DataLoader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.common.caller import Caller
from subgraphs.common.context import SubgraphContext
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.paging import Connection, PageRequest, check_first, keyset_page
from subgraphs.common.regions import in_subtree, subtree_prefix
from subgraphs.common.scope import RegionScope, region_scope
from subgraphs.common.validators import InvalidIdNumber, parse_resident_id
from subgraphs.population import models
from subgraphs.population.domain import checks, tally
from subgraphs.population.domain.changes import actor_of
from subgraphs.population.domain.rules import (
    BY_ID,
    CATEGORY_LABELS,
    DIMENSION_LABELS,
    RULES,
    Category,
    CheckStatus,
    Dimension,
    Rule,
)
from subgraphs.population.domain.rules_core import OPEN_STATUSES
from subgraphs.population.jobs.checks import RunOptions, count_persons, run_checks
from subgraphs.population.loaders import Loaders

if TYPE_CHECKING:
    from subgraphs.population.types import Person, Region

Info = strawberry.Info[SubgraphContext[Loaders], Any]
PersonType = Annotated["Person", strawberry.lazy("subgraphs.population.types")]
RegionType = Annotated["Region", strawberry.lazy("subgraphs.population.types")]

# The scope a system needs to push national feedback (国家反馈) into the graph.
FEEDBACK_SCOPE = "population:feedback"
# Largest region (in persons) whose check run may be started through GraphQL; bigger ones belong to the CLI.
MAX_GRAPHQL_RUN_PERSONS = 20_000
DETAIL_LENGTH = checks.DETAIL_LENGTH
REASON_LENGTH = 200


@strawberry.enum(description="国家反馈类别: 婚姻信息 / 人口基础信息.")
class NationalFeedbackKind(Enum):
    MARRIAGE = "MARRIAGE"
    BASIC = "BASIC"


@strawberry.enum(description="核查批处理状态: 运行中 / 成功 / 失败.")
class CheckRunStatus(Enum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(description="核查规则: one data-quality rule of the registry.")
class CheckRule:
    id: strawberry.ID = strawberry.field(description="Stable rule id (DQ-01 …), stored on each check item.")
    dimension: Dimension = strawberry.field(description="数据质量维度 (DQ-31).")
    dimension_label: str = strawberry.field(description="The dimension in Chinese (准确性 …).")
    category: Category = strawberry.field(description="核查类别 its items are counted under.")
    category_label: str = strawberry.field(description="The category in Chinese (身份证号码错误 …).")
    description: str = strawberry.field(description="规则说明 (Chinese).")
    description_en: str = strawberry.field(description="The rule in English.")
    covers: list[str] = strawberry.field(description="The rules of the domain report (§3: DQ-xx, §3.6) it implements.")
    runs_on_write: bool = strawberry.field(description="Checked on every write of a person (else: by the batch job "
                                                       "only, for rules across records).")
    reviewable: bool = strawberry.field(description="核实确认 allowed: staff may confirm a finding of this rule as "
                                                    "correct data (confirmCheckItem); other findings clear only by "
                                                    "fixing the record.")

    @classmethod
    def of(cls, rule: Rule) -> CheckRule:
        return cls(id=strawberry.ID(rule.id), dimension=rule.dimension,
                   dimension_label=DIMENSION_LABELS[rule.dimension], category=rule.category,
                   category_label=CATEGORY_LABELS[rule.category],
                   description=rule.description, description_en=rule.description_en, covers=list(rule.covers),
                   runs_on_write=rule.runs_on_write, reviewable=rule.reviewable)


@strawberry.type(description="核查项: one data-quality finding on a person by one rule. 处理 (editing the record) "
                             "clears it automatically (自动消除).")
class CheckItem:
    id: strawberry.ID = strawberry.field(description="The item's id (one item per person and rule, reopened when "
                                                     "the finding comes back).")
    row: strawberry.Private[models.CheckItem]

    @classmethod
    def from_row(cls, row: models.CheckItem) -> CheckItem:
        return cls(id=strawberry.ID(row.id), row=row)

    @strawberry.field(description="The rule's id (DQ-01 …).")
    def rule_id(self) -> str:
        return self.row.rule_id

    @strawberry.field(description="The rule that found it; null for a rule since retired.")
    def rule(self) -> CheckRule | None:
        found = BY_ID.get(self.row.rule_id)
        return CheckRule.of(found) if found else None

    @strawberry.field(description="核查类别.")
    def category(self) -> Category:
        return Category(self.row.category)

    @strawberry.field(description="The category in Chinese (身份证号码错误 …).")
    def category_label(self) -> str:
        return CATEGORY_LABELS[Category(self.row.category)]

    @strawberry.field(description="数据质量维度.")
    def dimension(self) -> Dimension:
        return Dimension(self.row.dimension)

    @strawberry.field(description="状态: OPEN 待处理, IN_PROGRESS 处理中, RESOLVED 已消除.")
    def status(self) -> CheckStatus:
        return CheckStatus(self.row.status)

    @strawberry.field(description="问题说明: what is wrong, readable; ID numbers masked.")
    def detail(self) -> str:
        return self.row.detail

    @strawberry.field(description="When the finding was made (for national feedback: when it arrived).")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When it was cleared.")
    def resolved_at(self) -> datetime | None:
        return self.row.resolved_at

    @strawberry.field(description="Who cleared it (the editor whose change fixed the record, or the batch job).")
    def resolved_by(self) -> str | None:
        return self.row.resolved_by

    @strawberry.field(description="管理地: the region the item is counted in (the person's management region).")
    async def region(self, info: Info) -> RegionType | None:
        from subgraphs.population.types import Region

        row = await info.context.loaders.region.load(self.row.region_code)
        return Region.from_row(row) if row else None

    @strawberry.field(description="The person the item is about; null outside the caller's data scope.")
    async def person(self, info: Info) -> PersonType | None:
        from subgraphs.population.types import Person, visible

        row = await info.context.loaders.person.load(self.row.person_uid)
        return Person.from_row(row) if row and visible(info, row) else None


@strawberry.type(description="核查卡片: the open items of one category in a region.")
class CheckCategoryCard:
    category: Category = strawberry.field(description="核查类别.")
    label: str = strawberry.field(description="The category in Chinese.")
    open_count: int = strawberry.field(description="Open items (OPEN and IN_PROGRESS) in the region's subtree.")


@strawberry.type(description="核查项统计: the cards of a region, read from its tally rows (no counting of items).")
class CheckItemCounts:
    region_code: strawberry.ID = strawberry.field(description="The region counted (the caller's own region when "
                                                              "the one asked for is wider than the data scope).")
    requested_region_code: strawberry.ID = strawberry.field(description="The region asked for.")
    total: int = strawberry.field(description="All open items of the region's subtree.")
    categories: list[CheckCategoryCard] = strawberry.field(description="One card per category, the tender's five "
                                                                        "first, zero counts included.")


@strawberry.type(description="核查批处理: one run of the batch data-quality job.")
class CheckRun:
    id: strawberry.ID = strawberry.field(description="The run's id.")
    started_at: datetime = strawberry.field(description="开始时间.")
    finished_at: datetime | None = strawberry.field(description="结束时间; null while running.")
    persons_checked: int = strawberry.field(description="Persons whose per-person rules were evaluated.")
    items_opened: int = strawberry.field(description="Items opened or reopened by the run.")
    items_resolved: int = strawberry.field(description="Items the run found fixed and cleared.")
    status: CheckRunStatus = strawberry.field(description="运行状态.")

    @classmethod
    def from_row(cls, row: models.CheckRun) -> CheckRun:
        return cls(id=strawberry.ID(row.id), started_at=row.started_at, finished_at=row.finished_at,
                   persons_checked=row.persons_checked, items_opened=row.items_opened,
                   items_resolved=row.items_resolved, status=CheckRunStatus(row.status))


@strawberry.input(description="国家反馈: one finding of the national platform on a person.")
class NationalFeedbackInput:
    id_number: str = strawberry.field(description="The person's resident ID number (18 or legacy 15 digits).")
    kind: NationalFeedbackKind = strawberry.field(description="婚姻信息 or 人口基础信息.")
    detail: str = strawberry.field(description=f"What the national platform reports (at most {DETAIL_LENGTH} "
                                               "characters; ID numbers in it are masked).")


class OpenCheckItemsByPerson(DataLoader[str, list[models.CheckItem]]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, uids: Sequence[str]) -> list[list[models.CheckItem]]:
        K = models.CheckItem
        async with self.sessions() as session:
            rows = await session.scalars(select(K).where(K.person_uid.in_(uids), K.status.in_(OPEN_STATUSES))
                                         .order_by(K.person_uid, K.rule_id))
        found: dict[str, list[models.CheckItem]] = defaultdict(list)
        for row in rows:
            found[row.person_uid].append(row)
        return [found.get(uid, []) for uid in uids]


@strawberry.type
class PersonCheckFields:
    """Person fields of this area (types.Person inherits them)."""

    if TYPE_CHECKING:
        row: models.Person

    @strawberry.field(description="核查项: the person's open data-quality items.")
    async def check_items(self, info: Info) -> list[CheckItem]:
        rows = await info.context.loaders.of(OpenCheckItemsByPerson).load(self.row.uid)
        return [CheckItem.from_row(r) for r in rows]


# --- access -------------------------------------------------------------------------------------------------


def _scope(info: Info) -> RegionScope:
    scope = region_scope(info.context.caller)
    if not scope.everything and scope.region is None:
        raise forbidden("Your account may not see data-quality items (no data scope).")
    return scope


def _may_send_feedback(caller: Caller | None) -> bool:
    if caller is None or caller.anonymous:
        return region_scope(caller).everything  # development only (JSHEALTH_ANONYMOUS_SCOPE=all)
    return FEEDBACK_SCOPE in caller.scopes


async def _item_in_scope(info: Info, session: AsyncSession, item_id: str) -> models.CheckItem:
    scope = _scope(info)
    item = await session.get(models.CheckItem, item_id)
    if item is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No check item has id {item_id}.", argument="id")
    if not scope.allows(item.region_code):
        raise forbidden(f"Check item {item_id} is outside your data scope.", argument="id")
    return item


# --- root fields --------------------------------------------------------------------------------------------


@strawberry.type
class CheckQuery:
    @strawberry.field(description="核查规则: the data-quality rules, in the order they are listed to users.")
    def check_rules(self) -> list[CheckRule]:
        return [CheckRule.of(r) for r in RULES]

    @strawberry.field(description="核查项 of a region's subtree within the caller's data scope, by id. Without "
                                  "`status`: the open ones (OPEN and IN_PROGRESS), the to-do list.")
    async def check_items(self, info: Info, region_code: strawberry.ID, category: Category | None = None,
                          status: CheckStatus | None = None, first: int = 20,
                          after: str | None = None) -> Connection[CheckItem]:
        scope = _scope(info)
        code = str(region_code)
        subtree_prefix(code)
        scope.check_request(code)
        K = models.CheckItem
        stmt = select(K).where(in_subtree(K.region_code, code), scope.condition(K.region_code),
                               K.status == status.value if status else K.status.in_(OPEN_STATUSES))
        if category is not None:
            stmt = stmt.where(K.category == category.value)
        async with info.context.reading() as session:
            return await keyset_page(session, stmt, order_by=[K.id], sort_key=lambda row: [row.id],
                                     to_node=CheckItem.from_row, page=PageRequest(first=first, after=after))

    @strawberry.field(description="核查项 by id; null when there is none or it is outside the data scope.")
    async def check_item(self, info: Info, id: strawberry.ID) -> CheckItem | None:
        scope = _scope(info)
        async with info.context.reading() as session:
            row = await session.get(models.CheckItem, str(id))
        return CheckItem.from_row(row) if row and scope.allows(row.region_code) else None

    @strawberry.field(description="核查卡片: open items per category in a region (its subtree), from the region's "
                                  "tally rows. A region wider than the data scope is narrowed to the caller's own.")
    async def check_item_counts(self, info: Info, region_code: strawberry.ID) -> CheckItemCounts:
        scope = _scope(info)
        code = str(region_code)
        subtree_prefix(code)
        scope.check_request(code)
        if not scope.allows(code) and scope.region is not None:
            code = scope.region
        W = models.WorkTally
        async with info.context.reading() as session:
            rows = await session.execute(select(W.detail, W.count).where(W.region_code == code,
                                                                         W.kind == tally.CHECK_OPEN))
            counts = {detail: int(count) for detail, count in rows}
        cards = [CheckCategoryCard(category=c, label=CATEGORY_LABELS[c], open_count=max(counts.get(c.value, 0), 0))
                 for c in Category]
        return CheckItemCounts(region_code=strawberry.ID(code), requested_region_code=region_code,
                               total=sum(c.open_count for c in cards), categories=cards)

    @strawberry.field(description="核查批处理: the latest runs of the batch job, newest first.")
    async def check_runs(self, info: Info, first: int = 20) -> list[CheckRun]:
        _scope(info)
        check_first(first)
        R = models.CheckRun
        async with info.context.reading() as session:
            rows = await session.scalars(select(R).order_by(R.started_at.desc(), R.id).limit(first))
            return [CheckRun.from_row(r) for r in rows]


@strawberry.type
class CheckMutation:
    @strawberry.mutation(description="国家反馈: a national finding on a person's marriage or basic information, "
                                     f"recorded as a check item. For systems with the {FEEDBACK_SCOPE} scope. The "
                                     "item clears at the next edit of the person.")
    async def record_national_feedback(self, info: Info, input: NationalFeedbackInput) -> CheckItem:
        if not _may_send_feedback(info.context.caller):
            raise forbidden(f"Recording national feedback needs the {FEEDBACK_SCOPE} scope.", scope=FEEDBACK_SCOPE)
        number, detail = input.id_number.strip(), input.detail.strip()
        if not number:
            raise bad_input("idNumber is required.", argument="input", field="idNumber")
        if not detail:
            raise bad_input("detail is required.", argument="input", field="detail")
        if len(detail) > DETAIL_LENGTH:
            raise bad_input(f"detail holds at most {DETAIL_LENGTH} characters.", argument="input", field="detail",
                            maximum=DETAIL_LENGTH)
        candidates = {number, number.upper()}
        with contextlib.suppress(InvalidIdNumber):
            candidates.add(parse_resident_id(number).number)
        P = models.Person
        async with info.context.transaction() as session:
            person = await session.scalar(select(P).where(P.id_number.in_(sorted(candidates)), P.deleted.is_(False))
                                          .limit(1))
            if person is None:
                raise domain_error(ErrorCode.NOT_FOUND, "No person has this ID number.", argument="input",
                                   field="idNumber")
            item = await checks.record_feedback(session, person, input.kind.value, detail)
        return CheckItem.from_row(item)

    @strawberry.mutation(description="开始处理: marks a check item IN_PROGRESS (someone is working on it). It still "
                                     "clears by itself when the record is fixed.")
    async def start_check_item(self, info: Info, id: strawberry.ID) -> CheckItem:
        async with info.context.transaction() as session:
            item = await _item_in_scope(info, session, str(id))
            if not checks.start(item):
                raise domain_error(ErrorCode.INVALID_STATE, f"Check item {id} is resolved already.", argument="id",
                                   status=item.status)
        return CheckItem.from_row(item)

    @strawberry.mutation(description="核实确认: resolves an open item of a reviewable rule (checkRules.reviewable: "
                                     "same name and birth date, implausible age) after staff found the record "
                                     "right. The reason goes into the person's history; the item stays resolved "
                                     "unless the finding changes.")
    async def confirm_check_item(self, info: Info, id: strawberry.ID, reason: str) -> CheckItem:
        text = reason.strip()
        if not text:
            raise bad_input("reason is required.", argument="reason")
        if len(text) > REASON_LENGTH:
            raise bad_input(f"reason holds at most {REASON_LENGTH} characters.", argument="reason",
                            maximum=REASON_LENGTH)
        async with info.context.transaction() as session:
            item = await _item_in_scope(info, session, str(id))
            rule = BY_ID.get(item.rule_id)
            if rule is None or not rule.reviewable:
                raise domain_error(ErrorCode.INVALID_STATE, f"Findings of {item.rule_id} clear when the record is "
                                   "fixed; they cannot be confirmed.", argument="id", ruleId=item.rule_id)
            if not checks.is_open(item):
                raise domain_error(ErrorCode.INVALID_STATE, f"Check item {id} is resolved already.", argument="id",
                                   status=item.status)
            await checks.confirm(session, item, text, actor=actor_of(info.context.caller))
        return CheckItem.from_row(item)

    @strawberry.mutation(description="数据核查: runs the per-person rules over one small region now (at most "
                                     f"{MAX_GRAPHQL_RUN_PERSONS} persons; bigger regions and the duplicate rules "
                                     "run in the batch job, python -m subgraphs.population.jobs.checks).")
    async def run_data_checks(self, info: Info, region_code: strawberry.ID) -> CheckRun:
        scope = _scope(info)
        code = str(region_code)
        subtree_prefix(code)
        if not scope.allows(code):
            raise forbidden(f"Region {code} is not wholly inside your data scope.", argument="regionCode")
        options = RunOptions(region=code, set_rules=False, actor=actor_of(info.context.caller))
        async with info.context.reading() as session:
            size = await count_persons(session, options, limit=MAX_GRAPHQL_RUN_PERSONS)
        if size > MAX_GRAPHQL_RUN_PERSONS:
            raise bad_input(f"Region {code} holds more than {MAX_GRAPHQL_RUN_PERSONS} persons: run the batch job "
                            f"instead (python -m subgraphs.population.jobs.checks --region {code}).",
                            argument="regionCode", maximum=MAX_GRAPHQL_RUN_PERSONS)
        return CheckRun.from_row(await run_checks(info.context.sessions, options))


queries: list[type] = [CheckQuery]
mutations: list[type] = [CheckMutation]
