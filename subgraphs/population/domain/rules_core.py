"""What a data-quality rule (数据核查规则) is: its quality dimension, the check category its items are counted
under, its text, and how it is evaluated. The rules themselves are in rules_person.py (one person at a time,
on every write and in the batch) and rules_set.py (across records, in the batch only); rules.py is the
registry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.population import models


@strawberry.enum(name="CheckDimension",
                 description="数据质量维度 (DQ-31): 准确性 / 完备性 / 一致性 / 完整性 / 合理性 / 及时性 / "
                             "唯一性 / 有效性.")
class Dimension(Enum):
    ACCURACY = "ACCURACY"
    COMPLETENESS = "COMPLETENESS"
    CONSISTENCY = "CONSISTENCY"
    INTEGRITY = "INTEGRITY"
    REASONABLENESS = "REASONABLENESS"
    TIMELINESS = "TIMELINESS"
    UNIQUENESS = "UNIQUENESS"
    VALIDITY = "VALIDITY"


DIMENSION_LABELS: dict[Dimension, str] = {
    Dimension.ACCURACY: "准确性", Dimension.COMPLETENESS: "完备性", Dimension.CONSISTENCY: "一致性",
    Dimension.INTEGRITY: "完整性", Dimension.REASONABLENESS: "合理性", Dimension.TIMELINESS: "及时性",
    Dimension.UNIQUENESS: "唯一性", Dimension.VALIDITY: "有效性",
}


@strawberry.enum(name="CheckCategory",
                 description="核查类别: the five categories of the tender (DQ-05: 身份证号码错误, 性别错误, "
                             "死亡人口异常, 国家反馈婚姻信息, 国家反馈人口基础信息) and the governance categories "
                             "of §6.4.")
class Category(Enum):
    ID_NUMBER_ERROR = "ID_NUMBER_ERROR"
    SEX_ERROR = "SEX_ERROR"
    DEATH_ANOMALY = "DEATH_ANOMALY"
    NATIONAL_MARRIAGE_FEEDBACK = "NATIONAL_MARRIAGE_FEEDBACK"
    NATIONAL_BASIC_FEEDBACK = "NATIONAL_BASIC_FEEDBACK"
    MARRIAGE_INCONSISTENT = "MARRIAGE_INCONSISTENT"
    CHILDREN_INCONSISTENT = "CHILDREN_INCONSISTENT"
    MISSING_FIELD = "MISSING_FIELD"
    INVALID_VALUE = "INVALID_VALUE"
    ADDRESS_IMPRECISE = "ADDRESS_IMPRECISE"
    REGION_OUTDATED = "REGION_OUTDATED"
    DUPLICATE = "DUPLICATE"


CATEGORY_LABELS: dict[Category, str] = {
    Category.ID_NUMBER_ERROR: "身份证号码错误", Category.SEX_ERROR: "性别错误", Category.DEATH_ANOMALY: "死亡人口异常",
    Category.NATIONAL_MARRIAGE_FEEDBACK: "国家反馈婚姻信息", Category.NATIONAL_BASIC_FEEDBACK: "国家反馈人口基础信息",
    Category.MARRIAGE_INCONSISTENT: "婚姻信息不一致", Category.CHILDREN_INCONSISTENT: "子女信息不一致",
    Category.MISSING_FIELD: "关键字段缺失", Category.INVALID_VALUE: "非法值", Category.ADDRESS_IMPRECISE: "地址不精确",
    Category.REGION_OUTDATED: "区划已失效", Category.DUPLICATE: "重复记录",
}


@strawberry.enum(name="CheckStatus",
                 description="核查项状态: 待处理 → 处理中 → 已消除 (cleared automatically when the record is fixed).")
class CheckStatus(Enum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    RESOLVED = "RESOLVED"


OPEN_STATUSES = (CheckStatus.OPEN.value, CheckStatus.IN_PROGRESS.value)


@dataclass(frozen=True)
class PersonContext:
    """What the per-person rules need beyond the person row, loaded for many persons at once
    (domain/checks.load_contexts): non-deleted related records only."""

    today: date
    marriages: tuple[models.MarriageEvent, ...] = ()  # by event date, then entry time
    children: tuple[models.Child, ...] = ()  # the person's children (parent_uid)
    birth_records: tuple[models.Child, ...] = ()  # the child record this person was carded from (child_uid)
    death_records: tuple[models.DeathRecord, ...] = ()
    outdated_regions: frozenset[str] = frozenset()  # region codes of the person that are no longer valid


# A per-person check: None when the person passes, else the readable detail of the finding (never a full
# ID number: mask it).
PersonCheck = Callable[[models.Person, PersonContext], str | None]


@dataclass(frozen=True)
class SetScope:
    """Which persons a set rule reports on: those managed in `region`'s subtree (None: everywhere)."""

    region: str | None = None


# A set rule: (person uid, detail) for every person of the scope that the rule finds, each once.
SetFind = Callable[[AsyncSession, SetScope], AsyncIterator[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    id: str
    dimension: Dimension
    category: Category
    description: str  # the rule in Chinese
    description_en: str
    covers: tuple[str, ...]  # the rules of docs (../shared/domain/population.md §3) it implements
    # A finding that staff may confirm as correct after review (核实确认), because no edit of the record can
    # clear it when the data is right: the same name and birth date for two real people, a real centenarian.
    reviewable: bool = field(default=False, kw_only=True)

    @property
    def runs_on_write(self) -> bool:
        return True


@dataclass(frozen=True)
class PersonRule(Rule):
    """Checked on one person and the records around it: on every write and in the batch."""

    check: PersonCheck


@dataclass(frozen=True)
class SetRule(Rule):
    """Checked across records (duplicates): in the batch only, because it needs the whole table."""

    find: SetFind

    @property
    def runs_on_write(self) -> bool:
        return False


@dataclass(frozen=True)
class FeedbackRule(Rule):
    """Opened by a national feedback (recordNationalFeedback), never by a check; cleared by the next edit
    of the person after the feedback arrived (the 处理 that corrects the record)."""

    kind: str  # MARRIAGE | BASIC
