"""Data-quality checks (数据核查) of person records: opening, clearing and counting check items.

`recheck(session, person, actor=...)` runs inside every person write (domain/changes.person_written): it
evaluates every per-person rule (domain/rules.py) against the person as it now is, opens a check item for
each failing rule and resolves the open items of the rules that now pass. That is the tender's 自动消除: the
处理 of an item is an edit of the record, and the edit clears the item. It costs five indexed queries
(the person's items, marriage events, child records, death records, outdated regions) and writes only what
changed.

Open items are counted in the CHECK_OPEN work tally (domain/tally.py) of the item's region, by category, in
the same transaction, so the cards (checkItemCounts) read a handful of tally rows whatever the population.
An item's region is the person's management region: when the person moves, its open items move with it.

The batch job (jobs/checks.py) runs the same `evaluate` and `reconcile` for many persons at once, with the
context loaded by one query per related table per batch, and then the set rules (duplicates).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.masking import mask_id_number
from subgraphs.common.outbox import utcnow
from subgraphs.population import models
from subgraphs.population.domain import tally
from subgraphs.population.domain.rules import (
    BY_ID,
    FEEDBACK_BY_KIND,
    FEEDBACK_RULE_IDS,
    PERSON_RULES,
    CheckStatus,
    PersonContext,
    Rule,
)
from subgraphs.population.domain.rules_core import OPEN_STATUSES

log = logging.getLogger(__name__)

# China keeps one time zone and no daylight saving: "today" for a birth date is the date in Beijing.
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
DETAIL_LENGTH = 400
# resolved_by of an item staff confirmed after review (核实确认): the finding stands but the data is right.
CONFIRMED_PREFIX = "confirmed:"
OPEN, IN_PROGRESS, RESOLVED = (s.value for s in CheckStatus)


def today() -> date:
    return datetime.now(CHINA).date()


def is_open(item: models.CheckItem) -> bool:
    return item.status in OPEN_STATUSES


# --- counting ----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a check changed: items opened (or reopened) and resolved, and the tally moves still to write."""

    opened: int = 0
    resolved: int = 0
    deltas: Counter[tuple[str, str]] = field(default_factory=Counter)

    def count(self, region: str, category: str, delta: int) -> None:
        self.deltas[(region, category)] += delta

    async def flush(self, session: AsyncSession) -> None:
        """Writes the CHECK_OPEN tally moves (one statement per region and category that changed)."""
        for (region, category), delta in sorted(self.deltas.items()):
            if delta:
                await tally.work(session, tally.CHECK_OPEN, region, category, delta)
        self.deltas.clear()


# --- loading ---------------------------------------------------------------------------------------------


async def load_contexts(session: AsyncSession, persons: Sequence[models.Person], on: date) -> dict[str, PersonContext]:
    """The rules' context of each person: one query per related table, however many persons."""
    uids = [p.uid for p in persons]
    if not uids:
        return {}
    M, C, D = models.MarriageEvent, models.Child, models.DeathRecord
    marriages: dict[str, list[models.MarriageEvent]] = defaultdict(list)
    for event in await session.scalars(select(M).where(M.person_uid.in_(uids), M.deleted.is_(False))
                                       .order_by(M.person_uid, M.event_date, M.created_at, M.id)):
        marriages[event.person_uid].append(event)
    children: dict[str, list[models.Child]] = defaultdict(list)
    births: dict[str, list[models.Child]] = defaultdict(list)
    wanted = set(uids)
    for child in await session.scalars(select(C).where(or_(C.parent_uid.in_(uids), C.child_uid.in_(uids)),
                                                       C.deleted.is_(False)).order_by(C.birth_date, C.id)):
        if child.parent_uid in wanted:
            children[child.parent_uid].append(child)
        if child.child_uid in wanted:
            births[child.child_uid].append(child)
    deaths: dict[str, list[models.DeathRecord]] = defaultdict(list)
    for record in await session.scalars(select(D).where(D.person_uid.in_(uids)).order_by(D.death_date, D.id)):
        if record.person_uid is not None:
            deaths[record.person_uid].append(record)
    codes = {c for p in persons for c in (p.household_region_code, p.residence_region_code,
                                          p.management_region_code) if c}
    R = models.Region
    outdated = frozenset(await session.scalars(
        select(R.code).where(R.code.in_(sorted(codes)), R.valid_to.is_not(None), R.valid_to <= on)))
    return {
        p.uid: PersonContext(
            today=on, marriages=tuple(marriages[p.uid]), children=tuple(children[p.uid]),
            birth_records=tuple(births[p.uid]), death_records=tuple(deaths[p.uid]),
            outdated_regions=outdated & {p.household_region_code, p.residence_region_code,
                                         p.management_region_code})
        for p in persons
    }


async def load_items(session: AsyncSession, uids: Sequence[str]) -> dict[str, list[models.CheckItem]]:
    items: dict[str, list[models.CheckItem]] = defaultdict(list)
    if uids:
        for item in await session.scalars(select(models.CheckItem).where(models.CheckItem.person_uid.in_(uids))):
            items[item.person_uid].append(item)
    return items


# --- evaluating and reconciling ---------------------------------------------------------------------------


def evaluate(person: models.Person, context: PersonContext) -> tuple[dict[str, str], frozenset[str]]:
    """(rule id -> detail of each failing per-person rule, the ids of the rules that were evaluated). A rule
    that raises is logged and counted as not evaluated, so its items stay as they are: a bug in one rule
    must not stop the records from being written."""
    findings: dict[str, str] = {}
    evaluated: set[str] = set()
    for rule in PERSON_RULES:
        try:
            detail = rule.check(person, context)
        except Exception:
            log.exception("data-quality rule %s failed on person %s", rule.id, person.uid)
            continue
        evaluated.add(rule.id)
        if detail is not None:
            findings[rule.id] = detail
    return findings, frozenset(evaluated)


def _detail(text: str) -> str:
    return text if len(text) <= DETAIL_LENGTH else text[:DETAIL_LENGTH - 1] + "…"


def open_item(session: AsyncSession, person: models.Person, rule: Rule, detail: str,
              item: models.CheckItem | None, *, now: datetime, outcome: Outcome) -> models.CheckItem:
    """Opens the item of `rule` on `person` (a resolved one is reopened, keeping one row per person and rule);
    an open one gets the new detail. An item confirmed after review stays resolved while the finding is the
    same one (a new duplicate, say, changes the detail and reopens it)."""
    detail = _detail(detail)
    region = person.management_region_code
    if item is not None and is_confirmed(item) and item.detail == detail:
        return item
    if item is None:
        item = models.CheckItem(id=str(uuid.uuid4()), person_uid=person.uid, rule_id=rule.id,
                                category=rule.category.value, dimension=rule.dimension.value, region_code=region,
                                status=OPEN, detail=detail, created_at=now)
        session.add(item)
    elif not is_open(item):
        item.status, item.detail, item.created_at = OPEN, detail, now
        item.category, item.dimension, item.region_code = rule.category.value, rule.dimension.value, region
        item.resolved_at = item.resolved_by = None
    else:
        if item.detail != detail:
            item.detail = detail
        return item
    outcome.opened += 1
    outcome.count(region, item.category, 1)
    return item


def is_confirmed(item: models.CheckItem) -> bool:
    return item.status == RESOLVED and (item.resolved_by or "").startswith(CONFIRMED_PREFIX)


def resolve_item(item: models.CheckItem, *, actor: str, now: datetime, outcome: Outcome) -> None:
    if not is_open(item):
        return
    item.status, item.resolved_at, item.resolved_by = RESOLVED, now, actor[:64]
    outcome.resolved += 1
    outcome.count(item.region_code, item.category, -1)


def follow_region(items: Iterable[models.CheckItem], region: str, outcome: Outcome) -> None:
    """Moves open items (and their tallies) to the person's current management region."""
    for item in items:
        if is_open(item) and item.region_code != region:
            outcome.count(item.region_code, item.category, -1)
            outcome.count(region, item.category, 1)
            item.region_code = region


def reconcile(session: AsyncSession, person: models.Person, items: Sequence[models.CheckItem],
              findings: dict[str, str], evaluated: frozenset[str], *, actor: str, now: datetime,
              outcome: Outcome) -> None:
    """Brings a person's items in line with the per-person findings: opens what fails, resolves what passes,
    clears national feedback answered by an edit, and resolves everything of a deleted person."""
    if person.deleted:
        for item in items:
            resolve_item(item, actor=actor, now=now, outcome=outcome)
        return
    follow_region(items, person.management_region_code, outcome)
    by_rule = {item.rule_id: item for item in items}
    for rule_id in sorted(evaluated):
        current = by_rule.get(rule_id)
        if rule_id in findings:
            open_item(session, person, BY_ID[rule_id], findings[rule_id], current, now=now, outcome=outcome)
        elif current is not None:
            resolve_item(current, actor=actor, now=now, outcome=outcome)
    for item in items:
        if not is_open(item):
            continue
        if item.rule_id in FEEDBACK_RULE_IDS:
            # The feedback was handled (处理) when the record was edited after it arrived.
            if person.updated_at is not None and item.created_at < person.updated_at:
                resolve_item(item, actor=actor, now=now, outcome=outcome)
        elif item.rule_id not in BY_ID:  # a rule since retired: nothing can clear its items any more
            resolve_item(item, actor=actor, now=now, outcome=outcome)


async def recheck(session: AsyncSession, person: models.Person, *, actor: str) -> None:
    """Re-runs the per-person rules on `person` after a write, in the writing transaction."""
    now = utcnow()
    items = (await load_items(session, [person.uid]))[person.uid]
    outcome = Outcome()
    if person.deleted:
        reconcile(session, person, items, {}, frozenset(), actor=actor, now=now, outcome=outcome)
    else:
        context = (await load_contexts(session, [person], today()))[person.uid]
        findings, evaluated = evaluate(person, context)
        reconcile(session, person, items, findings, evaluated, actor=actor, now=now, outcome=outcome)
    await outcome.flush(session)


# --- national feedback and the workflow ---------------------------------------------------------------------

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])|(?<![0-9])[0-9]{15}(?![0-9])")


def mask_id_numbers(text: str) -> str:
    """Masks anything in free text that looks like an ID number (feedback details come from outside)."""
    return _ID_LIKE.sub(lambda m: mask_id_number(m.group(0)) or "", text)


async def record_feedback(session: AsyncSession, person: models.Person, kind: str, detail: str) -> models.CheckItem:
    """Opens (or renews) the national-feedback item of `kind` (MARRIAGE | BASIC) on the person. Its time is
    the feedback's: only an edit made after this feedback clears it."""
    rule = FEEDBACK_BY_KIND[kind]
    now = utcnow()
    existing = await session.scalar(select(models.CheckItem).where(models.CheckItem.person_uid == person.uid,
                                                                    models.CheckItem.rule_id == rule.id))
    outcome = Outcome()
    if existing is not None and is_open(existing):
        follow_region([existing], person.management_region_code, outcome)
        existing.created_at = now
    item = open_item(session, person, rule, mask_id_numbers(detail), existing, now=now, outcome=outcome)
    await outcome.flush(session)
    await session.flush()
    return item


async def confirm(session: AsyncSession, item: models.CheckItem, reason: str, *, actor: str) -> None:
    """核实确认: staff reviewed a finding of a reviewable rule and found the record right. The item is
    resolved as confirmed and the reason goes into the person's history (who, when, why)."""
    now = utcnow()
    outcome = Outcome()
    resolve_item(item, actor=CONFIRMED_PREFIX + actor, now=now, outcome=outcome)
    session.add(models.PersonHistory(id=str(uuid.uuid4()), person_uid=item.person_uid, at=now, actor=actor[:64],
                                     action="CHECK_CONFIRM", before=None,
                                     changes={"check_item": item.id, "rule_id": item.rule_id},
                                     comment=reason[:200]))
    await outcome.flush(session)


def start(item: models.CheckItem) -> bool:
    """OPEN -> IN_PROGRESS (someone is working on it); False when the item is resolved already."""
    if item.status == RESOLVED:
        return False
    item.status = IN_PROGRESS
    return True
