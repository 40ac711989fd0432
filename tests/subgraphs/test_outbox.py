"""The transactional outbox: an event exists exactly when its change committed, is published once,
and a consumer that sees it twice acts once. On SQLite, PostgreSQL, and through Redis Streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from subgraphs.common.bus import Event, InProcessBus, RedisStreamBus
from subgraphs.common.outbox import OutboxRelay, consume_once, emit
from subgraphs.population.models import OutboxEvent, ProcessedEvent


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"
    else:
        from support import create_pg_database

        url = await create_pg_database("jshealth_outbox")
    engine = make_engine("population", url)
    await upgrade(engine, "population")
    maker = make_sessionmaker(engine)
    async with maker() as session, session.begin():
        await session.execute(OutboxEvent.__table__.delete())
    yield maker
    await engine.dispose()
    if request.param == "postgres":
        from support import drop_pg_database

        await drop_pg_database(url)


async def test_rolled_back_event_is_never_published_committed_one_is_published_once(sessions) -> None:  # type: ignore[no-untyped-def]
    bus = InProcessBus()
    received: list[Event] = []

    async def handler(event: Event) -> None:
        received.append(event)

    bus.subscribe("test", "person.*", handler)
    relay = OutboxRelay("population", sessions, OutboxEvent, bus)
    try:
        with pytest.raises(RuntimeError):
            async with sessions() as session, session.begin():
                emit(session, OutboxEvent, "person.created", {"uid": "rolled-back"})
                raise RuntimeError("the change fails after the event was written")
        async with sessions() as session, session.begin():
            kept = emit(session, OutboxEvent, "person.created", {"uid": "committed"})
        assert await relay.relay_once() == 1
        assert await relay.relay_once() == 0
        await bus.drain()
        assert [(e.id, e.payload) for e in received] == [(kept, {"uid": "committed"})]
        async with sessions() as session:
            unpublished = await session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None)))
        assert unpublished == 0
    finally:
        await relay.stop()


async def test_running_relay_publishes_on_commit(sessions) -> None:  # type: ignore[no-untyped-def]
    bus = InProcessBus()
    arrived = asyncio.Event()

    async def handler(_event: Event) -> None:
        arrived.set()

    bus.subscribe("test", "*", handler)
    relay = OutboxRelay("population", sessions, OutboxEvent, bus, poll_seconds=30)
    relay.start()
    try:
        async with sessions() as session, session.begin():
            emit(session, OutboxEvent, "person.updated", {"uid": "x"})
        # Woken by the commit, not by the 30 s poll.
        await asyncio.wait_for(arrived.wait(), timeout=5)
    finally:
        await relay.stop()


async def test_a_consumer_acts_once_per_event(sessions) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        assert await consume_once(session, ProcessedEvent, "cockpit", "event-1") is True
    async with sessions() as session, session.begin():
        assert await consume_once(session, ProcessedEvent, "cockpit", "event-1") is False
        assert await consume_once(session, ProcessedEvent, "licences", "event-1") is True


@pytest.mark.redis
async def test_redis_streams_deliver_once_per_group(redis_url: str) -> None:
    import uuid

    stream = f"jshealth:test:{uuid.uuid4().hex}"
    publisher = RedisStreamBus(redis_url, consumer="publisher", stream=stream)
    replicas = [RedisStreamBus(redis_url, consumer=f"replica-{i}", stream=stream) for i in range(2)]
    got: list[str] = []
    done = asyncio.Event()

    async def handler(event: Event) -> None:
        got.append(event.id)
        if len(got) >= 3:
            done.set()

    for replica in replicas:
        replica.subscribe("licences", "application.*", handler)
        await replica.start()
    try:
        for i in range(3):
            await publisher.publish(Event(id=f"e{i}", topic="application.approved", source="services", payload={}))
        await publisher.publish(Event(id="other", topic="person.created", source="population", payload={}))
        await asyncio.wait_for(done.wait(), timeout=10)
        await asyncio.sleep(0.3)
        # Two replicas of one group share the stream: each event is handled once, not once per replica.
        assert sorted(got) == ["e0", "e1", "e2"]
    finally:
        for bus in [publisher, *replicas]:
            await bus.close()
        import redis.asyncio as redis

        client = redis.from_url(redis_url)
        await client.delete(stream)
        await client.aclose()


async def test_in_process_bus_delivers_again_after_a_handler_failure() -> None:
    bus = InProcessBus()
    bus.RETRY_DELAYS = (0.01, 0.01)
    attempts: list[str] = []

    async def flaky(event: Event) -> None:
        attempts.append(event.id)
        if len(attempts) == 1:
            raise RuntimeError("database is locked")

    bus.subscribe("licences", "application.*", flaky)
    await bus.publish(Event(id="e1", topic="application.approved", source="services", payload={}))
    await bus.drain()
    assert attempts == ["e1", "e1"]


@pytest.mark.redis
async def test_redis_streams_redeliver_what_a_handler_failed_on(redis_url: str) -> None:
    import uuid

    import redis.asyncio as redis

    stream = f"jshealth:test:{uuid.uuid4().hex}"
    publisher = RedisStreamBus(redis_url, consumer="publisher", stream=stream)
    replica = RedisStreamBus(redis_url, consumer="replica", stream=stream, reclaim_idle_seconds=0.2)
    attempts: list[str] = []
    done = asyncio.Event()

    async def flaky(event: Event) -> None:
        attempts.append(event.id)
        if len(attempts) == 1:
            raise RuntimeError("database is locked")
        done.set()

    replica.subscribe("licences", "application.*", flaky)
    await replica.start()
    try:
        await publisher.publish(Event(id="e1", topic="application.approved", source="services", payload={}))
        await asyncio.wait_for(done.wait(), timeout=10)
        assert attempts == ["e1", "e1"]
        await asyncio.sleep(0.1)
    finally:
        for bus in (publisher, replica):
            await bus.close()
    client = redis.from_url(redis_url)
    try:
        pending = await client.xpending(stream, "licences")
        assert pending["pending"] == 0  # acknowledged once handled
    finally:
        await client.delete(stream)
        await client.aclose()
