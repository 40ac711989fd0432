"""Transactional outbox: a domain event is a row written in the same transaction as the change it
describes, so an event exists exactly when its change was committed. A relay publishes committed rows
to the bus and marks them; consumers record handled event ids so a redelivery changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, Session, mapped_column

from subgraphs.common.bus import Event, EventBus
from subgraphs.common.columns import UtcDateTime

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxEventMixin:
    """Columns of a domain's `outbox` table (each domain declares the table on its own Base)."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    topic: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True, default=None)


class ProcessedEventMixin:
    """Columns of a domain's `processed_event` table: which consumer handled which event."""

    __table_args__ = (UniqueConstraint("consumer", "event_id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(String(120))
    event_id: Mapped[str] = mapped_column(String(36))
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime())


def emit(session: AsyncSession, outbox: type[OutboxEventMixin], topic: str, payload: dict[str, Any]) -> str:
    """Add an event to the session's transaction; it is published only if that transaction commits."""
    event_id = str(uuid.uuid4())
    session.add(outbox(id=event_id, topic=topic, payload=payload, created_at=utcnow()))  # type: ignore[call-arg]
    session.info.setdefault("outbox_dirty", set()).add(outbox)
    return event_id


class OutboxRelay:
    """Publishes a domain's committed outbox rows in order; woken at once by a commit that emitted,
    and polling as a fallback for rows written by other processes."""

    def __init__(
        self,
        source: str,
        sessions: async_sessionmaker[AsyncSession],
        outbox: type[OutboxEventMixin],
        bus: EventBus,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 500,
    ) -> None:
        self.source = source
        self._sessions = sessions
        self._outbox = outbox
        self._bus = bus
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish every committed, unpublished event; returns how many were published."""
        outbox = self._outbox
        published = 0
        async with self._lock:
            while True:
                async with self._sessions() as session, session.begin():
                    stmt = (
                        select(outbox)
                        .where(outbox.published_at.is_(None))
                        .order_by(outbox.created_at, outbox.id)
                        .limit(self._batch_size)
                    )
                    if session.get_bind().dialect.name == "postgresql":
                        # Two relays (two replicas) never publish the same row twice.
                        stmt = stmt.with_for_update(skip_locked=True)
                    rows = list((await session.scalars(stmt)).all())
                    if not rows:
                        return published
                    for row in rows:
                        await self._bus.publish(
                            Event(id=row.id, topic=row.topic, source=self.source, payload=row.payload,
                                  occurred_at=row.created_at)
                        )
                    await session.execute(
                        update(outbox).where(outbox.id.in_([r.id for r in rows])).values(published_at=utcnow())
                    )
                    published += len(rows)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()
            try:
                await self.relay_once()
            except Exception:
                log.exception("outbox relay of %s failed; retrying", self.source)

    def start(self) -> None:
        if self._task is None:
            _running.setdefault(self._outbox, set()).add(self)
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        _running.get(self._outbox, set()).discard(self)


# Running relays by outbox table: a commit that emitted wakes the relays of the tables it wrote to.
_running: dict[type[OutboxEventMixin], set[OutboxRelay]] = {}


@event.listens_for(Session, "after_commit")
def _wake_relays(session: Session) -> None:
    for outbox in session.info.pop("outbox_dirty", ()):
        for relay in _running.get(outbox, ()):
            relay.wake()


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop("outbox_dirty", None)


async def consume_once(
    session: AsyncSession, processed: type[ProcessedEventMixin], consumer: str, event_id: str
) -> bool:
    """Record that `consumer` handles `event_id` in the caller's transaction; False if it already had.
    The handler's own writes share that transaction, so both land or neither does."""
    try:
        async with session.begin_nested():
            await session.execute(
                insert(processed).values(consumer=consumer, event_id=event_id, processed_at=utcnow())
            )
    except IntegrityError:
        return False
    return True
