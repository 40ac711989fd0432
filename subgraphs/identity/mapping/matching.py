"""自动匹配: link portal users to the accounts a connected system reports (external_user), by mobile,
credit code or username, exactly or fuzzily, for all users or only the new ones.

How a run goes:
- `start_run` checks the system, refuses a second run of the same system while one is running, inserts the
  match_run row (committed at once, so a client can poll `matchRun(id)`), and runs `execute` as a
  background task of this process.
- The users in scope are the accounts not cancelled (注销) created up to the run's start; with scope NEW,
  only those created after the start of the system's last *finished* run (an interrupted run does not
  count, so its users are considered again). The first NEW run of a system therefore covers everyone.
- The system's accounts are read once into an in-memory index (a system reports its own staff: thousands,
  at most tens of thousands of rows), then the portal users — the large side, up to millions — are read
  in id order, BATCH_SIZE at a time. Each batch is one transaction: its match_result rows, the mappings it
  creates or changes with their log entries, and the run's counts. So a poll sees counts grow batch by
  batch, a failure loses at most the batch in hand, and no transaction holds locks for long.
- For each user: no candidate → UNMATCHED; several → FAILED (the detail names a few); exactly one → the
  mapping is created or updated with method AUTO and logged (SUCCESS), unless that would break a decision
  an operator made: the account is linked to another portal user, the user is linked by hand to another
  account, or an operator unlinked exactly this pair — then FAILED with the reason. An automatic mapping to
  another account is moved to the new candidate (logged as EDIT). Users are taken in id order, so when two
  users find the same single account, the first gets it and the second fails (deterministic).
- A run whose process stopped keeps finished_at empty; after STALE_AFTER it shows as INTERRUPTED and no
  longer blocks new runs.

Match rules (MatchPrecision's description says the same to clients):
- MOBILE, EXACT: our blind index (HMAC-SM3, crypto.py) of the third party's plaintext mobile as they send it
  (trimmed), under every key version in use, against the user's stored mobile_index (which user management
  computes from the 11 bare digits, domain/personal.py); users without an index have their mobile decrypted
  and indexed here. So "+86 138…" on their side matches only fuzzily.
- MOBILE, FUZZY: the decrypted mobile and theirs reduced to digits, without a +86 / 0086 prefix.
- CREDIT_CODE: the credit code of the user's organisation; FUZZY ignores case, blanks and separators. Every
  user of an organisation has the same code, so several accounts with that code give FAILED: this field is
  meant for systems that hold one account per unit.
- USERNAME, EXACT: equal strings. FUZZY: equal after NFKC, case folding and removing - _ . and blanks; when
  nothing is equal so, one edit (Levenshtein distance 1) on normalised names of at least 5 characters.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.identity import models
from subgraphs.identity.domain import personal
from subgraphs.identity.mapping.accounts import Actor, link_loaded, require_system, write_log
from subgraphs.identity.mapping.common import encode_relation, field_cipher, now
from subgraphs.identity.security.crypto import CryptoError, FieldCipher

log = logging.getLogger("identity.mapping.matching")

BATCH_SIZE = 500
STALE_AFTER = timedelta(hours=2)
FUZZY_EDIT_MIN_LENGTH = 5
MOBILE_INDEX_KIND = personal.MOBILE_INDEX
FIELDS = ("MOBILE", "CREDIT_CODE", "USERNAME")
PRECISIONS = ("EXACT", "FUZZY")
SCOPES = ("ALL", "NEW")
DETAIL_LENGTH = 256

# Runs of this process, kept referenced so they are not collected mid-way (asyncio keeps weak references).
_tasks: dict[str, asyncio.Task[None]] = {}


# --- normalisation -------------------------------------------------------------------------------

_USERNAME_SEPARATORS = re.compile(r"[\s\-_.]+")
_NON_ALNUM = re.compile(r"[^0-9A-Z]+")


def fuzzy_username(value: str) -> str:
    return _USERNAME_SEPARATORS.sub("", unicodedata.normalize("NFKC", value).casefold())


def fuzzy_mobile(value: str) -> str | None:
    # NFKC first: \d keeps full-width digits as they are, and they would never equal ours.
    return personal.normalise_mobile(unicodedata.normalize("NFKC", value)) or None


def fuzzy_credit_code(value: str) -> str | None:
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKC", value).upper()) or None


def within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance at most 1 (a transposition is two edits)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1:]


def _one_deletion(value: str) -> set[str]:
    return {value[:i] + value[i + 1:] for i in range(len(value))}


# --- the system's accounts, indexed --------------------------------------------------------------


@dataclass
class ExternalIndex:
    """The system's accounts by match key; `lookup` returns the candidate usernames, sorted."""

    match_field: str
    precision: str
    cipher: FieldCipher | None
    by_key: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # FUZZY USERNAME only: normalised name and its one-deletion variants -> normalised names (the
    # symmetric-delete trick: two names within one edit share a key, so the scan is not quadratic).
    by_deletion: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, row: models.ExternalUser) -> None:
        for key in self._keys_of_external(row):
            self.by_key[key].add(row.username)
            if self.match_field == "USERNAME" and self.precision == "FUZZY" and len(key) >= FUZZY_EDIT_MIN_LENGTH:
                for variant in _one_deletion(key) | {key}:
                    self.by_deletion[variant].add(key)

    def _keys_of_external(self, row: models.ExternalUser) -> Iterable[str]:
        if self.match_field == "USERNAME":
            yield row.username if self.precision == "EXACT" else fuzzy_username(row.username)
        elif self.match_field == "MOBILE" and row.mobile:
            if self.precision == "FUZZY":
                if (mobile := fuzzy_mobile(row.mobile)) is not None:
                    yield mobile
            elif self.cipher is not None:
                yield from self.cipher.blind_indexes(row.mobile.strip(), MOBILE_INDEX_KIND)
        elif self.match_field == "CREDIT_CODE" and row.credit_code:
            code = row.credit_code.strip() if self.precision == "EXACT" else fuzzy_credit_code(row.credit_code)
            if code:
                yield code

    def lookup(self, key: str) -> list[str]:
        found = self.by_key.get(key)
        if found:
            return sorted(found)
        if self.match_field == "USERNAME" and self.precision == "FUZZY" and len(key) >= FUZZY_EDIT_MIN_LENGTH:
            near: set[str] = set()
            for variant in _one_deletion(key) | {key}:
                near |= {n for n in self.by_deletion.get(variant, ()) if within_one_edit(key, n)}
            return sorted({username for n in near for username in self.by_key[n]})
        return []


async def build_index(session: AsyncSession, system_code: str, match_field: str, precision: str,
                      cipher: FieldCipher | None) -> ExternalIndex:
    index = ExternalIndex(match_field, precision, cipher)
    result = await session.stream_scalars(
        select(models.ExternalUser).where(models.ExternalUser.system_code == system_code))
    async for row in result:
        index.add(row)
    return index


# --- scope ---------------------------------------------------------------------------------------


async def scope_condition(session: AsyncSession, run: models.MatchRun) -> ColumnElement[bool]:
    """The users a run considers (see the module's docstring); the same at any time for a given run."""
    condition = and_(models.User.status != "CANCELLED", models.User.created_at <= run.started_at)
    if run.scope == "NEW":
        since = await session.scalar(
            select(func.max(models.MatchRun.started_at)).where(
                models.MatchRun.system_code == run.system_code, models.MatchRun.finished_at.is_not(None),
                models.MatchRun.started_at < run.started_at))
        if since is not None:
            condition = and_(condition, models.User.created_at > since)
    return condition


async def run_total(session: AsyncSession, run: models.MatchRun) -> int:
    """How many users the run considers: the denominator of its progress."""
    return int(await session.scalar(
        select(func.count()).select_from(models.User).where(await scope_condition(session, run))) or 0)


def run_state(run: models.MatchRun, at: datetime | None = None) -> str:
    if run.finished_at is not None:
        return "FINISHED"
    return "INTERRUPTED" if run.started_at < (at or now()) - STALE_AFTER else "RUNNING"


# --- starting and running ------------------------------------------------------------------------


def new_run_id() -> str:
    return f"mr-{time.time_ns() // 1_000_000:012x}{secrets.token_hex(8)}"


async def start_run(
    sessions: async_sessionmaker[AsyncSession], *, system_code: str, match_field: str, precision: str,
    scope: str, actor: Actor,
) -> models.MatchRun:
    if match_field not in FIELDS or precision not in PRECISIONS or scope not in SCOPES:
        raise bad_input("Unknown match field, precision or scope.")
    async with sessions() as session, session.begin():
        await require_system(session, system_code)
        running = (await session.scalars(select(models.MatchRun).where(
            models.MatchRun.system_code == system_code, models.MatchRun.finished_at.is_(None),
            models.MatchRun.started_at >= now() - STALE_AFTER).limit(1))).first()
        if running is not None:
            raise domain_error(ErrorCode.CONFLICT, f"Run {running.id} of {system_code} is still running.",
                               runId=running.id)
        run = models.MatchRun(id=new_run_id(), system_code=system_code, match_field=match_field,
                              precision=precision, scope=scope, started_at=now(), matched=0, succeeded=0,
                              failed=0, unmatched=0)
        session.add(run)
    task = asyncio.create_task(execute(sessions, run.id, actor), name=f"match-run-{run.id}")
    _tasks[run.id] = task
    task.add_done_callback(lambda _: _tasks.pop(run.id, None))
    return run


async def wait_for_run(run_id: str) -> None:
    """Until this process's run `run_id` is done (returns at once for runs it is not running)."""
    task = _tasks.get(run_id)
    if task is not None:
        await asyncio.shield(task)


@dataclass
class _BatchUser:
    id: str
    key: str | None
    missing: str  # why there is no key


async def execute(sessions: async_sessionmaker[AsyncSession], run_id: str, actor: Actor) -> None:
    try:
        async with sessions() as session, session.begin():
            run = await session.get(models.MatchRun, run_id)
            assert run is not None
            condition = await scope_condition(session, run)
            # The keyring is needed for mobiles only; loading it may create the first key version.
            cipher = await field_cipher(session) if run.match_field == "MOBILE" else None
            index = await build_index(session, run.system_code, run.match_field, run.precision, cipher)
            rule = f"{run.match_field} {run.precision} {run.scope}"
        after: str | None = None
        while True:
            async with sessions() as session, session.begin():
                stmt = select(models.User).where(condition).order_by(models.User.id).limit(BATCH_SIZE)
                if after is not None:
                    stmt = stmt.where(models.User.id > after)
                users = list((await session.scalars(stmt)).all())
                if not users:
                    break
                await _match_batch(session, run_id, users, index, cipher, actor, rule)
                after = users[-1].id
        async with sessions() as session, session.begin():
            run = await session.get(models.MatchRun, run_id)
            assert run is not None
            run.finished_at = now()
    except Exception:
        # The run stays unfinished and shows as INTERRUPTED after STALE_AFTER; the batches done are kept.
        log.exception("matching run %s failed", run_id)


async def _keys_of_users(session: AsyncSession, users: list[models.User], match_field: str, precision: str,
                         cipher: FieldCipher | None) -> list[_BatchUser]:
    if match_field == "USERNAME":
        return [_BatchUser(u.id, u.username if precision == "EXACT" else fuzzy_username(u.username), "")
                for u in users]
    if match_field == "CREDIT_CODE":
        org_ids = {u.organization_id for u in users}
        codes = {org_id: code for org_id, code in (await session.execute(
            select(models.Organization.id, models.Organization.credit_code)
            .where(models.Organization.id.in_(org_ids)))).all()}
        out = []
        for u in users:
            code = codes.get(u.organization_id)
            key = (code.strip() if precision == "EXACT" else fuzzy_credit_code(code)) if code else None
            out.append(_BatchUser(u.id, key, "the user's organisation has no credit code"))
        return out
    assert cipher is not None
    out = []
    for u in users:
        key = None
        if precision == "EXACT" and u.mobile_index:
            key = u.mobile_index
        elif u.mobile_cipher is not None:
            try:
                mobile = cipher.decrypt(u.mobile_cipher)
            except CryptoError:
                out.append(_BatchUser(u.id, None, "the user's mobile cannot be decrypted"))
                continue
            key = cipher.blind_index(mobile.strip(), MOBILE_INDEX_KIND) if precision == "EXACT" \
                else fuzzy_mobile(mobile)
        out.append(_BatchUser(u.id, key, "the portal user has no mobile"))
    return out


def _short(text: str) -> str:
    return text if len(text) <= DETAIL_LENGTH else text[:DETAIL_LENGTH - 1] + "…"


async def _match_batch(
    session: AsyncSession, run_id: str, users: list[models.User], index: ExternalIndex,
    cipher: FieldCipher | None, actor: Actor, rule: str,
) -> None:
    run = await session.get(models.MatchRun, run_id)
    assert run is not None
    system_code = run.system_code
    keyed = await _keys_of_users(session, users, run.match_field, run.precision, cipher)
    candidates = {u.id: (index.lookup(u.key) if u.key else []) for u in keyed}
    user_ids = [u.id for u in keyed]
    # Every mapping the batch may touch, in two statements: the users' own, and the linked owners of the
    # single candidates. `owner` is kept up to date as the batch links, so later users see earlier links.
    mine = {m.user_id: m for m in (await session.scalars(select(models.AccountMapping).where(
        models.AccountMapping.system_code == system_code, models.AccountMapping.user_id.in_(user_ids)))).all()}
    singles = {c[0] for c in candidates.values() if len(c) == 1}
    owner: dict[str, str] = {}
    if singles:
        owner = {external: holder for external, holder in (await session.execute(select(
            models.AccountMapping.external_username, models.AccountMapping.user_id).where(
            models.AccountMapping.system_code == system_code, models.AccountMapping.status == "LINKED",
            models.AccountMapping.external_username.in_(singles)))).all()}
    reason = f"自动匹配 {rule} (run {run_id})"
    at = now()
    counts = {"SUCCESS": 0, "FAILED": 0, "UNMATCHED": 0}
    for user in keyed:
        found = candidates[user.id]
        external: str | None = None
        if user.key is None:
            result, detail = "UNMATCHED", user.missing
        elif not found:
            result, detail = "UNMATCHED", "no account of the system matches"
        elif len(found) > 1:
            shown = ", ".join(found[:3]) + (", …" if len(found) > 3 else "")
            result, detail = "FAILED", f"{len(found)} candidates: {shown}"
        else:
            external = found[0]
            result, detail = _apply(session, system_code, user.id, external, mine, owner, actor, reason, at)
        counts[result] += 1
        session.add(models.MatchResult(run_id=run_id, user_id=user.id, result=result,
                                       external_username=external, detail=_short(detail)))
    run.matched += len(keyed)
    run.succeeded += counts["SUCCESS"]
    run.failed += counts["FAILED"]
    run.unmatched += counts["UNMATCHED"]


def _apply(
    session: AsyncSession, system_code: str, user_id: str, external: str, mine: dict[str, models.AccountMapping],
    owner: dict[str, str], actor: Actor, reason: str, at: datetime,
) -> tuple[str, str]:
    """Link `user_id` to its single candidate unless an operator's decision stands in the way."""
    holder = owner.get(external)
    if holder is not None and holder != user_id:
        return "FAILED", f"{external} is already linked to another portal user ({holder})"
    existing = mine.get(user_id)
    if existing is None:
        mine[user_id] = link_loaded(session, None, user_id=user_id, system_code=system_code,
                                    external_username=external, remark=None, method="AUTO", reason=reason,
                                    actor=actor, at=at)
        owner[external] = user_id
        return "SUCCESS", "linked"
    if existing.status == "LINKED":
        if existing.external_username == external:
            return "SUCCESS", "already linked to this account"
        if existing.method == "MANUAL":
            return "FAILED", f"conflicts with the manual mapping to {existing.external_username}"
        previous = existing.external_username
        old = encode_relation(previous, existing.remark)
        owner.pop(previous, None)
        existing.external_username, existing.operator_id = external, actor.operator_id
        owner[external] = user_id
        write_log(session, existing, "EDIT", old=old, new=encode_relation(external, existing.remark),
                  reason=reason, actor=actor, at=at)
        return "SUCCESS", f"automatic mapping moved from {previous}"
    if existing.external_username == external:
        return "FAILED", f"an operator unlinked {external}; it is not linked again automatically"
    link_loaded(session, existing, user_id=user_id, system_code=system_code, external_username=external,
                remark=existing.remark, method="AUTO", reason=reason, actor=actor, at=at)
    owner[external] = user_id
    return "SUCCESS", "linked again"
