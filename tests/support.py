"""Helpers the tests share (imported as `support`; fixtures live in conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from db.engine import make_engine
from db.migrate import upgrade
from subgraphs.common.app import Runtime, SeedOptions, SubgraphDefinition
from subgraphs.common.bus import InProcessBus
from subgraphs.common.caller import Caller

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_SEED = 20260101
TEST_PERSONS = 600


def service_missing(what: str, reason: str) -> None:
    """Fail in CI (where the service must be there), skip elsewhere with the reason."""
    message = f"{what} is not reachable: {reason}"
    if IN_CI:
        pytest.fail(f"{message} (CI provides it; this must not be skipped)")
    pytest.skip(message)


async def make_runtime(
    definition: SubgraphDefinition, url: str, *, seed_options: SeedOptions | None = None
) -> Runtime:
    """Migrate and seed one subgraph's database at `url` and return its live runtime."""
    engine = make_engine(definition.name, url)
    await upgrade(engine, definition.name)
    runtime = Runtime(definition, engine, InProcessBus())
    options = seed_options or SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS)
    async with runtime.sessions() as session, session.begin():
        if not await definition.is_seeded(session):
            await definition.seed(session, options)
    return runtime


async def execute(runtime: Runtime, query: str, variables: dict[str, Any] | None = None, *,
                  caller: Caller | None = None) -> dict[str, Any]:
    """Run a query on a subgraph's schema in-process (as `caller`, anonymous by default); fail the test on
    GraphQL errors."""
    result = await runtime.definition.schema.execute(query, variable_values=variables,
                                                     context_value=runtime.context(caller=caller))
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def create_pg_database(prefix: str = "jshealth_test") -> str:
    """A fresh, empty PostgreSQL database; returns its SQLAlchemy URL (fails in CI, skips elsewhere,
    when the server is not there)."""
    import uuid

    import asyncpg

    try:
        connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        service_missing(f"PostgreSQL at {PG_ADMIN_URL}", str(exc))
        raise
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def require_redis() -> str:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as exc:
        service_missing(f"Redis at {REDIS_URL}", str(exc))
        raise
    finally:
        await client.aclose()
    return REDIS_URL


async def errors_of(runtime: Runtime, query: str, variables: dict[str, Any] | None = None, *,
                    caller: Caller | None = None) -> list[Any]:
    """Run a query that must fail on a subgraph's schema in-process (as `caller`, anonymous by default);
    its GraphQL errors."""
    result = await runtime.definition.schema.execute(
        query, variable_values=variables, context_value=runtime.context(caller=caller)
    )
    assert result.errors, "expected the query to fail"
    return list(result.errors)


@contextmanager
def count_statements(runtime: Runtime) -> Iterator[list[str]]:
    """The SQL statements a subgraph's engine executes inside the block (N+1 guards)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", record)
