"""`python -m subgraphs.population.jobs.checks [--region CODE] [--since DATE]`: the batch data-quality run.

Walks the persons (all, one region's subtree, or those written since a date) in keyset order of
(management region, uid), `--batch` persons per transaction, runs every per-person rule with the related
records loaded by one query per table per batch, then the set rules (duplicates, which need the whole table;
skipped by a --since run, which sees only part of it). Each run is recorded as a check_run row.

A run is idempotent: items are unique per person and rule, a passing rule resolves, a failing one opens or
keeps its item, so running twice changes nothing the second time. An interrupted run leaves every committed
batch done; rerun it, or continue with --after (printed on failure).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import ColumnElement, func, select, true, tuple_
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.common.outbox import utcnow
from subgraphs.common.regions import in_subtree, subtree_prefix
from subgraphs.population import models
from subgraphs.population.domain import checks
from subgraphs.population.domain.rules import PERSON_RULES, SET_RULES, SetRule, SetScope
from subgraphs.population.domain.rules_core import OPEN_STATUSES

log = logging.getLogger(__name__)

BATCH_ACTOR = "system:data-checks"
DEFAULT_BATCH = 2000
SET_CHUNK = 1000
ATTEMPTS = 3
RUNNING, SUCCEEDED, FAILED = "RUNNING", "SUCCEEDED", "FAILED"
P, K = models.Person, models.CheckItem

Progress = Callable[[int], None]


@dataclass(frozen=True)
class RunOptions:
    region: str | None = None  # the subtree of management regions to check; None: everywhere
    since: date | None = None  # only persons created or changed on or after this day (and no set rules)
    batch_size: int = DEFAULT_BATCH
    set_rules: bool = True
    actor: str = BATCH_ACTOR
    after: tuple[str, str] | None = None  # resume after this (management region, uid)


def _scope(options: RunOptions) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = true()
    if options.region:
        condition = condition & in_subtree(P.management_region_code, options.region)
    if options.since:
        start = datetime.combine(options.since, time.min, checks.CHINA).astimezone(UTC)
        condition = condition & (func.coalesce(P.updated_at, P.created_at) >= start)
    return condition


async def count_persons(session: AsyncSession, options: RunOptions, limit: int | None = None) -> int:
    """Persons a run would check; with `limit`, counting stops after limit + 1 (cheap for a size guard)."""
    inner = select(P.uid).where(_scope(options))
    if limit is not None:
        inner = inner.limit(limit + 1)
    return int(await session.scalar(select(func.count()).select_from(inner.subquery())) or 0)


async def _check_persons(session: AsyncSession, run_id: str, options: RunOptions,
                         after: tuple[str, str] | None) -> tuple[int, tuple[str, str] | None]:
    """Checks the next batch of persons in `session`; (persons checked, key of the last one or None at the end)."""
    stmt = select(P).where(_scope(options))
    if after is not None:
        stmt = stmt.where(tuple_(P.management_region_code, P.uid) > tuple_(*after))
    # A person being written right now is skipped: its own write rechecks it.
    persons = list(await session.scalars(stmt.order_by(P.management_region_code, P.uid)
                                         .limit(options.batch_size).with_for_update(skip_locked=True)))
    if not persons:
        return 0, None
    now, on = utcnow(), checks.today()
    contexts = await checks.load_contexts(session, persons, on)
    items = await checks.load_items(session, [p.uid for p in persons])
    outcome = checks.Outcome()
    for person in persons:
        findings: dict[str, str] = {}
        evaluated: frozenset[str] = frozenset()
        if not person.deleted:
            findings, evaluated = checks.evaluate(person, contexts[person.uid])
        checks.reconcile(session, person, items[person.uid], findings, evaluated, actor=options.actor, now=now,
                         outcome=outcome)
    await outcome.flush(session)
    await _count(session, run_id, len(persons), outcome)
    last = persons[-1]
    return len(persons), (last.management_region_code, last.uid)


async def _person_batch(sessions: async_sessionmaker[AsyncSession], run_id: str, options: RunOptions,
                        after: tuple[str, str] | None) -> tuple[int, tuple[str, str] | None]:
    """Checks the next batch in a transaction of its own, redone when a concurrent write got in the way."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with sessions() as session, session.begin():
                return await _check_persons(session, run_id, options, after)
        except (IntegrityError, DBAPIError):
            # A concurrent write opened the same item first, or a deadlock: the batch is redone from scratch.
            if attempt == ATTEMPTS:
                raise
            log.warning("check batch after %s failed (attempt %d), retrying", after, attempt, exc_info=True)
    raise AssertionError("unreachable")


async def _count(session: AsyncSession, run_id: str, persons: int, outcome: checks.Outcome) -> None:
    run = await session.get(models.CheckRun, run_id)
    assert run is not None
    run.persons_checked += persons
    run.items_opened += outcome.opened
    run.items_resolved += outcome.resolved


async def _apply_set_findings(sessions: async_sessionmaker[AsyncSession], run_id: str, rule: SetRule,
                              found: dict[str, str]) -> None:
    async with sessions() as session, session.begin():
        await _open_set_items(session, run_id, rule, found)


async def _open_set_items(session: AsyncSession, run_id: str, rule: SetRule, found: dict[str, str]) -> None:
    uids = sorted(found)
    persons = list(await session.scalars(select(P).where(P.uid.in_(uids), P.deleted.is_(False))
                                         .with_for_update()))
    existing = {i.person_uid: i for i in await session.scalars(
        select(K).where(K.person_uid.in_(uids), K.rule_id == rule.id))}
    now, outcome = utcnow(), checks.Outcome()
    for person in persons:
        item = existing.get(person.uid)
        if item is not None:
            checks.follow_region([item], person.management_region_code, outcome)
        checks.open_item(session, person, rule, found[person.uid], item, now=now, outcome=outcome)
    await outcome.flush(session)
    await _count(session, run_id, 0, outcome)


async def _stale_set_items(session: AsyncSession, rule: SetRule, found: set[str], options: RunOptions) -> list[str]:
    """The open items of a set rule, in the run's region, whose person it no longer finds."""
    stmt = select(K.id, K.person_uid).where(K.rule_id == rule.id, K.status.in_(OPEN_STATUSES))
    if options.region:
        stmt = stmt.where(in_subtree(K.region_code, options.region))
    return [item_id for item_id, uid in await session.execute(stmt) if uid not in found]


async def _resolve_set_items(session: AsyncSession, run_id: str, item_ids: list[str], options: RunOptions) -> None:
    outcome = checks.Outcome()
    for item in await session.scalars(select(K).where(K.id.in_(item_ids))):
        checks.resolve_item(item, actor=options.actor, now=utcnow(), outcome=outcome)
    await outcome.flush(session)
    await _count(session, run_id, 0, outcome)


async def _resolve_unfound(sessions: async_sessionmaker[AsyncSession], run_id: str, rule: SetRule,
                           found: set[str], options: RunOptions) -> None:
    async with sessions() as session:
        stale = await _stale_set_items(session, rule, found, options)
    for start in range(0, len(stale), SET_CHUNK):
        async with sessions() as session, session.begin():
            await _resolve_set_items(session, run_id, stale[start:start + SET_CHUNK], options)


async def _set_rule(sessions: async_sessionmaker[AsyncSession], run_id: str, rule: SetRule,
                    options: RunOptions) -> None:
    scope = SetScope(region=options.region)
    seen: set[str] = set()
    chunk: dict[str, str] = {}
    # The finder reads on a connection of its own, so the writes below never interleave with its cursor.
    async with sessions() as reader, reader.begin():
        async for uid, detail in rule.find(reader, scope):
            seen.add(uid)
            chunk[uid] = detail
            if len(chunk) >= SET_CHUNK:
                await _apply_set_findings(sessions, run_id, rule, chunk)
                chunk = {}
    if chunk:
        await _apply_set_findings(sessions, run_id, rule, chunk)
    await _resolve_unfound(sessions, run_id, rule, seen, options)


async def run_checks(sessions: async_sessionmaker[AsyncSession], options: RunOptions | None = None, *,
                     progress: Progress | None = None) -> models.CheckRun:
    """One batch run; returns its check_run row (status SUCCEEDED, or FAILED with the exception raised)."""
    options = options or RunOptions()
    if options.region:
        subtree_prefix(options.region)  # refuses a malformed code before anything is written
    run_id = str(uuid.uuid4())
    async with sessions() as session, session.begin():
        session.add(models.CheckRun(id=run_id, started_at=utcnow(), status=RUNNING, persons_checked=0,
                                    items_opened=0, items_resolved=0))
    after = options.after
    try:
        while True:
            checked, last = await _person_batch(sessions, run_id, options, after)
            if last is None:
                break
            after = last
            if progress is not None:
                progress(checked)
        if options.set_rules and options.since is None:
            for rule in SET_RULES:
                await _set_rule(sessions, run_id, rule, options)
    except BaseException:
        async with sessions() as session, session.begin():
            run = await session.get(models.CheckRun, run_id)
            if run is not None:
                run.status, run.finished_at = FAILED, utcnow()
        if after is not None:
            print(f"check run {run_id} stopped; continue with --after {after[0]}:{after[1]}", file=sys.stderr)
        raise
    async with sessions() as session, session.begin():
        run = await session.get(models.CheckRun, run_id)
        assert run is not None
        run.status, run.finished_at = SUCCEEDED, utcnow()
    return run


async def check_in_session(session: AsyncSession, options: RunOptions | None = None) -> models.CheckRun:
    """A whole run inside the caller's transaction (for a seed, which loads the records and wants their items
    in the same transaction); the set rules' findings are held in memory. Not for 90 million persons: that is
    `run_checks`, with a transaction per batch."""
    options = options or RunOptions()
    run = models.CheckRun(id=str(uuid.uuid4()), started_at=utcnow(), status=RUNNING, persons_checked=0,
                          items_opened=0, items_resolved=0)
    session.add(run)
    await session.flush()
    after = options.after
    while True:
        _checked, last = await _check_persons(session, run.id, options, after)
        if last is None:
            break
        after = last
    if options.set_rules and options.since is None:
        for rule in SET_RULES:
            found = {uid: detail async for uid, detail in rule.find(session, SetScope(region=options.region))}
            uids = sorted(found)
            for start in range(0, len(uids), SET_CHUNK):
                await _open_set_items(session, run.id, rule, {u: found[u] for u in uids[start:start + SET_CHUNK]})
            stale = await _stale_set_items(session, rule, set(found), options)
            for start in range(0, len(stale), SET_CHUNK):
                await _resolve_set_items(session, run.id, stale[start:start + SET_CHUNK], options)
    run.status, run.finished_at = SUCCEEDED, utcnow()
    await session.flush()
    return run


def _parse_after(value: str) -> tuple[str, str]:
    region, sep, uid = value.partition(":")
    if not sep or not region or not uid:
        raise argparse.ArgumentTypeError("--after takes REGION:UID, as printed by a stopped run")
    return region, uid


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m subgraphs.population.jobs.checks",
                                description="Run the data-quality rules (数据核查) over the persons of DATABASE_URL.")
    p.add_argument("--region", help="only persons managed in this region's subtree (a GB/T 2260 code)")
    p.add_argument("--since", type=date.fromisoformat,
                   help="only persons created or changed on or after this day (YYYY-MM-DD); skips the set rules")
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH, help=f"persons per transaction ({DEFAULT_BATCH})")
    p.add_argument("--no-set-rules", action="store_true", help="skip the duplicate rules (DQ-03, DQ-16, DQ-32)")
    p.add_argument("--after", type=_parse_after, help="resume after REGION:UID (printed by a stopped run)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


async def amain(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from tqdm import tqdm

    from db.engine import make_engine, make_sessionmaker

    options = RunOptions(region=args.region, since=args.since, batch_size=max(1, args.batch),
                         set_rules=not args.no_set_rules, after=args.after)
    engine = make_engine("population")
    try:
        sessions = make_sessionmaker(engine)
        total = None
        if not args.quiet:
            async with sessions() as session:
                total = await count_persons(session, options)
        with tqdm(total=total, unit="person", desc="data checks", file=sys.stderr, disable=args.quiet) as bar:

            def advance(persons: int) -> None:
                bar.update(persons)

            run = await run_checks(sessions, options, progress=advance)
    finally:
        await engine.dispose()
    rules = len(PERSON_RULES) + (len(SET_RULES) if options.set_rules and options.since is None else 0)
    print(f"check run {run.id}: {run.persons_checked} persons, {rules} rules, {run.items_opened} items opened, "
          f"{run.items_resolved} resolved, {run.status}")
    return 0 if run.status == SUCCEEDED else 1


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(amain(argv))


if __name__ == "__main__":
    raise SystemExit(main())
