"""What a resolver sees of the request: the database, the per-request DataLoaders, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.common.bus import EventBus
from subgraphs.common.caller import Caller

L = TypeVar("L")

REQUEST_ID_HEADER = "x-request-id"


@dataclass
class SubgraphContext(Generic[L]):
    sessions: async_sessionmaker[AsyncSession]
    loaders: L
    bus: EventBus
    request_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Verified from the router's caller token; None for an anonymous request.
    caller: Caller | None = None
    # Read-only sessions (db/engine.make_reader_sessionmaker); the read-write factory when not given.
    readers: async_sessionmaker[AsyncSession] | None = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only: no transaction round trips on PostgreSQL. Never write through it."""
        async with (self.readers or self.sessions)() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work (and outbox events) commits together on success."""
        async with self.sessions() as session, session.begin():
            yield session
