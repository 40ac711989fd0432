"""The hash chains of the presentation and verification records (亮证记录, 核验记录): append-only logs whose
every link covers its own content and the hash of the link before it, so that an edited, deleted or
truncated record is found by `verify_chain` (the tender's "日志数据不可篡改、全程可追溯", L7767).

    hash(n) = sha256(hash(n-1) + canonical content of record n)      hash(0) = 64 zeros

The content is every column of the record but `prev_hash` and `hash`, `seq` included, as sorted-key JSON
with moments in UTC ISO form, so PostgreSQL and SQLite compute the same hash for the same record.

The chain's head (models.ChainHead: its length and last hash) is locked by each append, so two concurrent
appends cannot both extend the same link: on PostgreSQL with SELECT ... FOR UPDATE; on SQLite the head's
insert-or-ignore that precedes the read is a write, which takes the database's single write lock until
commit. `seq` is set from the head (length + 1), not from a sequence, so the links are numbered without gaps
and a missing number is a deleted record; a transaction that rolls back takes its link and the head's move
with it.

The head lives in the same database, so someone able to rewrite every record and the head can forge a
consistent chain; the verification job prints the head (length and hash) so that operators can keep it
outside the database and compare (docs/licences/presentation.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.licences import models

GENESIS = "0" * 64
CHUNK = 1000


class ChainName(Enum):
    PRESENTATION = "presentation"
    VERIFICATION = "verification"


ChainRow = models.PresentationRecord | models.VerificationRecord
MODELS: dict[ChainName, type[ChainRow]] = {
    ChainName.PRESENTATION: models.PresentationRecord,
    ChainName.VERIFICATION: models.VerificationRecord,
}
_LINK_COLUMNS = frozenset({"prev_hash", "hash"})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        # As stored (UtcDateTime keeps UTC): a record appended with a Beijing-time moment hashes as read back.
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def content_of(values: Mapping[str, Any], model: type[ChainRow]) -> bytes:
    """The canonical bytes of a record: its columns but the link columns, sorted, UTC moments."""
    content = {c.key: _plain(values.get(c.key)) for c in model.__table__.columns if c.key not in _LINK_COLUMNS}
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def link_hash(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + content).hexdigest()


def _row_values(row: ChainRow) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in type(row).__table__.columns}


async def _locked_head(session: AsyncSession, name: ChainName) -> models.ChainHead:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(insert(models.ChainHead).values(name=name.value, length=0, last_hash=GENESIS)
                          .on_conflict_do_nothing(index_elements=["name"]))
    head = await session.scalar(select(models.ChainHead).where(models.ChainHead.name == name.value)
                                .with_for_update().execution_options(populate_existing=True))
    assert head is not None
    return head


async def append(session: AsyncSession, name: ChainName, row: ChainRow) -> ChainRow:
    """Link `row` (a new record, not yet added) at the end of the chain and add it; the head stays locked
    until the caller's transaction ends."""
    if not isinstance(row, MODELS[name]):
        raise TypeError(f"a {type(row).__name__} cannot join the {name.value} chain")
    head = await _locked_head(session, name)
    row.seq = head.length + 1
    row.prev_hash = head.last_hash
    row.hash = link_hash(row.prev_hash, content_of(_row_values(row), type(row)))
    session.add(row)
    head.length, head.last_hash = row.seq, row.hash
    await session.flush()
    return row


@dataclass(frozen=True)
class ChainReport:
    chain: ChainName
    intact: bool
    length: int  # records read
    head_length: int | None
    head_hash: str | None
    broken_at: int | None = None  # the seq of the first broken link
    reason: str | None = None


async def _head(session: AsyncSession, name: ChainName) -> tuple[int, str] | None:
    row = (await session.execute(select(models.ChainHead.length, models.ChainHead.last_hash)
                                 .where(models.ChainHead.name == name.value))).first()
    return None if row is None else (int(row[0]), str(row[1]))


async def verify_chain(session: AsyncSession, name: ChainName, *,
                       progress: Callable[[int], None] | None = None, chunk: int = CHUNK) -> ChainReport:
    """Walk the chain up to its head in seq order, `chunk` records at a time, and report its first broken
    link. Appends that commit during the walk are left for the next check: without a snapshot (SQLite, or
    PostgreSQL under READ COMMITTED) the records read after the head may already include them."""
    model = MODELS[name]
    table = model.__table__
    head = await _head(session, name)
    head_length, head_hash = head if head is not None else (0, GENESIS)
    reported_length, reported_hash = head if head is not None else (None, None)

    def broken(at: int, reason: str, read: int) -> ChainReport:
        return ChainReport(name, False, read, reported_length, reported_hash, at, reason)

    expected, prev, read = 1, GENESIS, 0
    while expected <= head_length:
        rows = (await session.execute(select(table).where(table.c.seq >= expected, table.c.seq <= head_length)
                                      .order_by(table.c.seq).limit(chunk))).mappings().all()
        for values in rows:
            if values["seq"] != expected:
                return broken(expected, f"record {expected} is missing (the next is {values['seq']}): deleted", read)
            if values["prev_hash"] != prev:
                return broken(expected, f"record {expected} does not follow record {expected - 1}: "
                                        "a record before it was replaced", read)
            if link_hash(prev, content_of(dict(values), model)) != values["hash"]:
                return broken(expected, f"record {expected} does not match its hash: edited", read)
            prev, expected, read = values["hash"], expected + 1, read + 1
        if progress is not None and rows:
            progress(read)
        if len(rows) < chunk:
            break
    if read < head_length:
        return broken(read + 1, f"the head counts {head_length} records but the chain ends at {read}: "
                                "records at the end were deleted", read)
    if prev != head_hash:
        return broken(read, f"the head's hash does not match record {read}", read)
    last = await session.scalar(select(func.max(table.c.seq)))
    if last is not None and last > head_length:
        # Beyond the head read first: appended since (the head has moved on), or added outside the chain.
        now = await _head(session, name)
        if now is None or last > now[0]:
            return broken(head_length + 1, f"records after the head ({head_length}) were added outside the chain",
                          read)
    return ChainReport(name, True, read, reported_length, reported_hash)
