"""Async engines and session factories, one per subgraph."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from db.config import domain_url

# A pooled connection that sat unused longer than this is pinged before it is handed out (see _ping_when_idle).
IDLE_PING_SECONDS = 10.0


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
    engine = create_async_engine(target, connect_args=connect_args, **kwargs)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pings a pooled connection before reuse only when it has been idle for IDLE_PING_SECONDS.

    SQLAlchemy's pool_pre_ping pings on every checkout: one more round trip on every request, about a third of
    a short lookup's time in the subgraph. A connection in steady use has just proved itself; the ones worth
    checking are those that sat idle through a database restart or a firewall's idle timeout. A connection
    that dies between two close uses fails its statement, and SQLAlchemy then recycles the whole pool."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure means the connection is not usable
            # The pool discards this connection and hands out a fresh one.
            raise exc.DisconnectionError(f"pooled connection failed its idle check: {error}") from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while the seeder or a mutation writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def make_reader_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads only (DataLoaders): on PostgreSQL each statement runs on its own, without the BEGIN
    and ROLLBACK round trips of a transaction. Under READ COMMITTED every statement takes a fresh snapshot
    even inside a transaction, so a read-only session sees exactly what it would have seen in one. Never
    write through these sessions: each statement would commit by itself."""
    if engine.dialect.name != "postgresql":
        return make_sessionmaker(engine)
    return async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
