"""Async engines and session factories, one per subgraph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from db.config import domain_url


def make_engine(domain: str, url: str | URL | None = None, **kwargs: Any) -> AsyncEngine:
    target = domain_url(domain, url)
    if target.get_backend_name() == "sqlite":
        if target.database and target.database != ":memory:":
            Path(target.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # The subgraph's schema first on the search_path: unqualified names in models and migrations
    # land in that schema, and nothing of another domain is visible without qualification.
    # JIT compilation pays off for long analytical scans, never for the short indexed statements a subgraph
    # runs, where compiling costs tens of milliseconds more than the query itself.
    connect_args = {"server_settings": {"search_path": domain, "application_name": f"jshealth-{domain}", "jit": "off"}}
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_async_engine(target, connect_args=connect_args, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while the seeder or a mutation writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
