"""The registry of data-quality rules (数据核查规则), in the order they are listed to users.

* per-person rules (rules_person.py): one person and the records around it; on every write and in the batch;
* national feedback (国家反馈): items opened by recordNationalFeedback, cleared by the next edit of the person;
* set rules (rules_set.py): duplicates across records; in the batch job only.

A rule's id is stable: it is stored on every check item (one item per person and rule).
"""

from __future__ import annotations

from subgraphs.population.domain.rules_core import (
    CATEGORY_LABELS,
    DIMENSION_LABELS,
    Category,
    CheckStatus,
    Dimension,
    FeedbackRule,
    PersonContext,
    PersonRule,
    Rule,
    SetRule,
    SetScope,
)
from subgraphs.population.domain.rules_person import PERSON_RULES
from subgraphs.population.domain.rules_set import SET_RULES

__all__ = [
    "BY_ID", "CATEGORY_LABELS", "DIMENSION_LABELS", "FEEDBACK_BY_KIND", "FEEDBACK_RULES", "PERSON_RULES", "RULES",
    "SET_RULES", "Category", "CheckStatus", "Dimension", "FeedbackRule", "PersonContext", "PersonRule", "Rule",
    "SetRule", "SetScope", "rule",
]

FEEDBACK_RULES: tuple[FeedbackRule, ...] = (
    FeedbackRule("NF-MARRIAGE", Dimension.ACCURACY, Category.NATIONAL_MARRIAGE_FEEDBACK,
                 "国家反馈婚姻信息：国家平台反馈的婚姻信息问题，处理(编辑个案)后自动消除",
                 "National feedback on marriage information; cleared by the next edit of the person",
                 ("DQ-05",), "MARRIAGE"),
    FeedbackRule("NF-BASIC", Dimension.ACCURACY, Category.NATIONAL_BASIC_FEEDBACK,
                 "国家反馈人口基础信息：国家平台反馈的人口基础信息问题，处理(编辑个案)后自动消除",
                 "National feedback on basic person information; cleared by the next edit of the person",
                 ("DQ-05",), "BASIC"),
)

RULES: tuple[Rule, ...] = (*PERSON_RULES, *FEEDBACK_RULES, *SET_RULES)
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
FEEDBACK_BY_KIND: dict[str, FeedbackRule] = {r.kind: r for r in FEEDBACK_RULES}
PERSON_RULE_IDS: frozenset[str] = frozenset(r.id for r in PERSON_RULES)
FEEDBACK_RULE_IDS: frozenset[str] = frozenset(r.id for r in FEEDBACK_RULES)
SET_RULE_IDS: frozenset[str] = frozenset(r.id for r in SET_RULES)

assert len(BY_ID) == len(RULES), "rule ids must be unique"
assert all(len(r.id) <= 16 for r in RULES), "check_item.rule_id holds 16 characters"


def rule(rule_id: str) -> Rule | None:
    return BY_ID.get(rule_id)
