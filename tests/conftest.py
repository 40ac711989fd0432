"""Shared fixtures: a migrated, seeded database per subgraph on SQLite."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from support import create_pg_database, drop_pg_database, make_runtime, require_redis

from subgraphs.common.app import Runtime, SubgraphDefinition

# The tests explore the graph without signing in, as the development modes do (subgraphs/common/scope.py);
# the data-scope tests sign in and set their own.
os.environ.setdefault("JSHEALTH_ANONYMOUS_SCOPE", "all")


@pytest.fixture(scope="session")
def sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sqlite")


@pytest.fixture(scope="session")
def sqlite_url(sqlite_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{sqlite_dir / 'graph.db'}"


RuntimeFactory = Callable[[SubgraphDefinition], Any]


@pytest.fixture(scope="session")
async def sqlite_runtime(sqlite_url: str) -> AsyncIterator[Callable[[SubgraphDefinition], Any]]:
    """`await sqlite_runtime(definition)`: that subgraph on the session's seeded SQLite files."""
    runtimes: dict[str, Runtime] = {}

    async def get(definition: SubgraphDefinition) -> Runtime:
        if definition.name not in runtimes:
            runtimes[definition.name] = await make_runtime(definition, sqlite_url)
        return runtimes[definition.name]

    yield get
    for runtime in runtimes.values():
        await runtime.engine.dispose()


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for the session, dropped afterwards."""
    url = await create_pg_database()
    yield url
    await drop_pg_database(url)


@pytest.fixture(scope="session")
async def redis_url() -> str:
    return await require_redis()
