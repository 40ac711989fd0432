"""Every subgraph is served the same way: this module turns a SubgraphDefinition into an ASGI app."""

from __future__ import annotations

import contextlib
import gc
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
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

from db.engine import make_engine, make_reader_sessionmaker, make_sessionmaker
from subgraphs.common.bus import EventBus, Handler, InProcessBus, RedisStreamBus
from subgraphs.common.caller import Caller, CallerRejected, CallerVerifier
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
    # The domain events this subgraph consumes: (consumer group, topic pattern, handler) for the runtime,
    # subscribed on the bus when the runtime is made (licences generating the licence of an approved
    # application, for instance).
    consumers: Callable[[Runtime], Sequence[tuple[str, str, Handler]]] | None = None


class Runtime:
    """The live resources of one subgraph in one process."""

    def __init__(self, definition: SubgraphDefinition, engine: AsyncEngine, bus: EventBus) -> None:
        self.definition = definition
        self.engine = engine
        self.sessions = make_sessionmaker(engine)
        # DataLoaders only read: their sessions skip the transaction round trips (db/engine.py).
        self.readers = make_reader_sessionmaker(engine)
        self.bus = bus
        self.relay = OutboxRelay(definition.name, self.sessions, definition.outbox, bus)
        # Verifies the router's caller tokens; None: requests are taken as anonymous whatever they carry.
        self.caller_verifier: CallerVerifier | None = None
        # Settings the running mode gives this subgraph over its environment (the embedded launcher's
        # public URLs, for instance), read as environment variables are.
        self.settings: dict[str, str] = {}
        if definition.consumers is not None:
            for group, pattern, handler in definition.consumers(self):
                bus.subscribe(group, pattern, handler)

    def context(self, headers: dict[str, str] | None = None, caller: Caller | None = None) -> SubgraphContext[Any]:
        headers = headers or {}
        return SubgraphContext(
            sessions=self.sessions,
            loaders=self.definition.make_loaders(self.readers),
            bus=self.bus,
            request_id=headers.get(REQUEST_ID_HEADER),
            headers=headers,
            caller=caller,
            readers=self.readers,
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
        return self.runtime.context({k.lower(): v for k, v in request.headers.items()},
                                    request.scope.get("state", {}).get("caller"))


class _CallerCheck:
    """Verifies the caller token before the GraphQL app runs; a bad token is refused with 401, so a
    forged identity never reaches a resolver."""

    def __init__(self, runtime: Runtime, app: ASGIApp) -> None:
        self.runtime = runtime
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        verifier = self.runtime.caller_verifier
        if verifier is not None and scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                caller = await verifier.caller(headers)
            except CallerRejected as exc:
                error = {"message": exc.message, "extensions": {"code": "UNAUTHENTICATED"}}
                response = JSONResponse({"errors": [error]}, status_code=exc.status)
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


def graphql_routes(runtime: Runtime, *, graphiql: bool = True) -> list[BaseRoute]:
    async def health(_request: Request) -> Response:
        ok = await runtime.healthy()
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "subgraph": runtime.definition.name},
            status_code=200 if ok else 503,
        )

    # A Route, not a Mount: a Mount would redirect /graphql to /graphql/.
    graphql = _CallerCheck(runtime, _GraphQLApp(runtime, graphiql=graphiql))
    routes: list[BaseRoute] = [Route("/health", health), Route("/graphql", graphql)]
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
    # In the stack the router's keys are at ROUTER_JWKS_URL; SUBGRAPH_REQUIRE_CALLER_TOKEN=1 refuses any
    # request that did not come through the router.
    if jwks_url := os.environ.get("ROUTER_JWKS_URL"):
        runtime.caller_verifier = CallerVerifier(
            definition.name, jwks_url=jwks_url,
            required=os.environ.get("SUBGRAPH_REQUIRE_CALLER_TOKEN", "").lower() in ("1", "true", "yes"))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # The schema, mappers and compiled statements live as long as the process: out of the collector's
        # reach, full collections stop re-walking them in the middle of a request (as the router does).
        gc.collect()
        gc.freeze()
        await runtime.bus.start()
        runtime.relay.start()
        try:
            yield
        finally:
            await runtime.relay.stop()
            await runtime.bus.close()
            if runtime.caller_verifier is not None:
                await runtime.caller_verifier.close()
            await engine.dispose()

    app = Starlette(routes=graphql_routes(runtime), lifespan=lifespan)
    app.state.runtime = runtime
    return app
