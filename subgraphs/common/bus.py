"""The event bus between subgraphs: in-process in the embedded mode, Redis Streams in the stack mode.

Delivery is at least once; consumers make it effectively once by recording the event ids they have
handled (see outbox.consume_once).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

log = logging.getLogger(__name__)

STREAM = "jshealth:events"


@dataclass(frozen=True)
class Event:
    id: str
    topic: str
    source: str
    payload: dict[str, Any]
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> bytes:
        return orjson.dumps(
            {"id": self.id, "topic": self.topic, "source": self.source, "payload": self.payload,
             "occurred_at": self.occurred_at.isoformat()}
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        data = orjson.loads(raw)
        return cls(
            id=data["id"], topic=data["topic"], source=data["source"], payload=data["payload"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
        )


Handler = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...

    def subscribe(self, group: str, pattern: str, handler: Handler) -> None:
        """Deliver every event whose topic matches the glob `pattern` to `handler`; one delivery per
        `group` however many processes of that group run."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class InProcessBus:
    """Handlers run in the publisher's process, after the publish call, one task per event. A handler that
    fails is tried again after each pause of RETRY_DELAYS (so up to len(RETRY_DELAYS) + 1 times in all), so a
    passing fault such as a locked database does not lose the event; what still fails is logged."""

    RETRY_DELAYS: tuple[float, ...] = (0.05, 0.5, 2.0)

    def __init__(self) -> None:
        self._subscriptions: list[tuple[str, str, Handler]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(self, group: str, pattern: str, handler: Handler) -> None:
        self._subscriptions.append((group, pattern, handler))

    async def publish(self, event: Event) -> None:
        for group, pattern, handler in self._subscriptions:
            if fnmatch.fnmatchcase(event.topic, pattern):
                task = asyncio.create_task(self._deliver_with_retries(group, handler, event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver_with_retries(self, group: str, handler: Handler, event: Event) -> None:
        for delay in self.RETRY_DELAYS:
            try:
                await handler(event)
                return
            except Exception:
                log.warning("event handler of %s failed on %s %s; retrying in %.2fs", group, event.topic,
                            event.id, delay, exc_info=True)
            await asyncio.sleep(delay)
        await _deliver(group, handler, event)

    async def start(self) -> None:
        return None

    async def drain(self) -> None:
        """Wait for the handlers started so far (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()


async def _deliver(group: str, handler: Handler, event: Event) -> None:
    try:
        await handler(event)
    except Exception:
        log.exception("event handler of %s failed on %s %s", group, event.topic, event.id)
        raise


class RedisStreamBus:
    """One Redis stream; each subscribing group is a consumer group, so replicas share the work. A handler
    failure (or a replica that died holding entries) leaves the entry pending; pending entries idle for
    `reclaim_idle_seconds` are claimed again (XAUTOCLAIM) by a live replica of the group and redelivered."""

    def __init__(self, url: str, *, consumer: str, stream: str = STREAM, maxlen: int = 1_000_000,
                 reclaim_idle_seconds: float = 30.0) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._consumer = consumer
        self._stream = stream
        self._maxlen = maxlen
        self._groups: dict[str, list[tuple[str, Handler]]] = {}
        self._readers: list[asyncio.Task[None]] = []
        self._reclaim_idle_ms = int(reclaim_idle_seconds * 1000)

    def subscribe(self, group: str, pattern: str, handler: Handler) -> None:
        self._groups.setdefault(group, []).append((pattern, handler))

    async def publish(self, event: Event) -> None:
        await self._redis.xadd(
            self._stream, {"topic": event.topic, "event": event.to_json()}, maxlen=self._maxlen, approximate=True
        )

    async def start(self) -> None:
        from redis.exceptions import ResponseError

        for group in self._groups:
            with contextlib.suppress(ResponseError):  # BUSYGROUP: the group exists already
                await self._redis.xgroup_create(self._stream, group, id="$", mkstream=True)
            self._readers.append(asyncio.create_task(self._read(group)))

    async def _read(self, group: str) -> None:
        # A reader that stopped on a lost connection would stop the group's deliveries for good.
        while True:
            try:
                await self._read_until_failure(group)
            except Exception:
                log.exception("reading %s for %s failed; reading again in 1s", self._stream, group)
                await asyncio.sleep(1.0)

    async def _read_until_failure(self, group: str) -> None:
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time() + self._reclaim_idle_ms / 2000
        while True:
            if loop.time() >= next_reclaim:
                # Entries a handler failed on, or that a replica took and never acknowledged.
                claimed: Any = await self._redis.xautoclaim(
                    self._stream, group, self._consumer, min_idle_time=self._reclaim_idle_ms, start_id="0-0",
                    count=100)
                await self._handle(group, claimed[1])
                next_reclaim = loop.time() + self._reclaim_idle_ms / 2000
            batches: Any = await self._redis.xreadgroup(
                group, self._consumer, {self._stream: ">"}, count=100,
                block=max(1, min(1000, self._reclaim_idle_ms // 2)),
            )
            for _stream, entries in batches or []:
                await self._handle(group, entries)

    async def _handle(self, group: str, entries: Any) -> None:
        for entry_id, fields in entries:
            if not fields:  # trimmed from the stream while pending: nothing left to deliver
                await self._redis.xack(self._stream, group, entry_id)
                continue
            event = Event.from_json(fields[b"event"])
            try:
                for pattern, handler in self._groups[group]:
                    if fnmatch.fnmatchcase(event.topic, pattern):
                        await _deliver(group, handler, event)
            except Exception:
                continue  # stays pending: reclaimed and delivered again once idle
            await self._redis.xack(self._stream, group, entry_id)

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        for task in self._readers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._redis.aclose()
