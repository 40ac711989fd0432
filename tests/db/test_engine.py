"""The PostgreSQL engine's connection handling: pooled connections that sat idle are checked before reuse, and
read-only sessions run without transaction round trips."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

from db import engine as db_engine
from db.engine import make_engine, make_reader_sessionmaker, make_sessionmaker


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _terminate(url: str, pid: int) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await connection.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


async def test_an_idle_connection_killed_by_the_server_is_replaced_unnoticed(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine("population", pg_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            first = await connection.scalar(text("SELECT pg_backend_pid()"))
        # A database restart or a firewall dropping idle connections, while the pool held this one.
        await _terminate(pg_url, first)
        monkeypatch.setattr(db_engine, "IDLE_PING_SECONDS", 0.0)
        async with engine.connect() as connection:
            second = await connection.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine("population", pg_url, pool_size=1, max_overflow=0)
    watcher = await asyncpg.connect(_asyncpg_dsn(pg_url))
    # Moves whenever the server receives a statement on that connection.
    last_activity = "SELECT state_change FROM pg_stat_activity WHERE pid = $1"
    try:
        async with engine.connect() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        returned = await watcher.fetchval(last_activity, pid)
        async with engine.connect():
            # Handed out again at once: nothing was sent to check it.
            assert await watcher.fetchval(last_activity, pid) == returned
        returned = await watcher.fetchval(last_activity, pid)
        monkeypatch.setattr(db_engine, "IDLE_PING_SECONDS", 0.0)
        async with engine.connect():
            # Idle past the limit: pinged before it was handed out.
            assert await watcher.fetchval(last_activity, pid) > returned
    finally:
        await watcher.close()
        await engine.dispose()


async def test_reader_sessions_run_each_statement_on_its_own(pg_url: str) -> None:
    engine = make_engine("population", pg_url)
    watcher = await asyncpg.connect(_asyncpg_dsn(pg_url))
    state = "SELECT state FROM pg_stat_activity WHERE pid = $1"
    try:
        async with make_reader_sessionmaker(engine)() as session:
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            # No BEGIN was sent: between statements the connection holds no transaction open.
            assert await watcher.fetchval(state, pid) == "idle"
        async with make_sessionmaker(engine)() as session:
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            assert await watcher.fetchval(state, pid) == "idle in transaction"
    finally:
        await watcher.close()
        await engine.dispose()
