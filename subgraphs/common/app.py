"""Every subgraph is served the same way: this module turns a SubgraphDefinition into an ASGI app."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from strawberry.asgi import GraphQL

from db.engine import make_engine, make_sessionmaker
from subgraphs.common.bus import EventBus, InProcessBus, RedisStreamBus
from subgraphs.common.context import REQUEST_ID_HEADER, SubgraphContext
from subgraphs.common.outbox import OutboxEventMixin, OutboxRelay


@dataclass(frozen=True)
class SeedOptions:
    seed: int = 20260101
    persons: int = 5000
    progress: bool = False


@dataclass(frozen=True)
class SubgraphDefinition:
    """What makes a domain a subgraph; each domain's app.py declares one."""

    name: str
    schema: strawberry.federation.Schema
    base: type[DeclarativeBase]
    outbox: type[OutboxEventMixin]
    make_loaders: Callable[[async_sessionmaker[AsyncSession]], Any]
    seed: Callable[[AsyncSession, SeedOptions], Awaitable[None]]
    is_seeded: Callable[[AsyncSession], Awaitable[bool]]
    # HTTP endpoints besides /graphql and /health (identity's authorization server), served next to them.
    extra_routes: Callable[[Runtime], Sequence[BaseRoute]] | None = None


class Runtime:
    """The live resources of one subgraph in one process."""

    def __init__(self, definition: SubgraphDefinition, engine: AsyncEngine, bus: EventBus) -> None:
        self.definition = definition
        self.engine = engine
        self.sessions = make_sessionmaker(engine)
        self.bus = bus
        self.relay = OutboxRelay(definition.name, self.sessions, definition.outbox, bus)

    def context(self, headers: dict[str, str] | None = None) -> SubgraphContext[Any]:
        headers = headers or {}
        return SubgraphContext(
            sessions=self.sessions,
            loaders=self.definition.make_loaders(self.sessions),
            bus=self.bus,
            request_id=headers.get(REQUEST_ID_HEADER),
            headers=headers,
        )

    async def healthy(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True


class _GraphQLApp(GraphQL[SubgraphContext[Any], None]):
    def __init__(self, runtime: Runtime, *, graphiql: bool) -> None:
        super().__init__(runtime.definition.schema, graphql_ide="graphiql" if graphiql else None)
        self.runtime = runtime

    async def get_context(self, request: Any, response: Any) -> SubgraphContext[Any]:
        return self.runtime.context({k.lower(): v for k, v in request.headers.items()})


def graphql_routes(runtime: Runtime, *, graphiql: bool = True) -> list[BaseRoute]:
    async def health(_request: Request) -> Response:
        ok = await runtime.healthy()
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "subgraph": runtime.definition.name},
            status_code=200 if ok else 503,
        )

    # A Route, not a Mount: a Mount would redirect /graphql to /graphql/.
    routes: list[BaseRoute] = [Route("/health", health), Route("/graphql", _GraphQLApp(runtime, graphiql=graphiql))]
    if runtime.definition.extra_routes is not None:
        routes += runtime.definition.extra_routes(runtime)
    return routes


def bus_from_env(consumer: str) -> EventBus:
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return RedisStreamBus(redis_url, consumer=consumer)
    return InProcessBus()


def create_app(definition: SubgraphDefinition) -> Starlette:
    """A subgraph as its own process (stack mode): database from DATABASE_URL, bus from REDIS_URL."""
    engine = make_engine(definition.name)
    runtime = Runtime(definition, engine, bus_from_env(f"{definition.name}-{os.getpid()}"))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await runtime.bus.start()
        runtime.relay.start()
        try:
            yield
        finally:
            await runtime.relay.stop()
            await runtime.bus.close()
            await engine.dispose()

    app = Starlette(routes=graphql_routes(runtime), lifespan=lifespan)
    app.state.runtime = runtime
    return app
