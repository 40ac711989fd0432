"""Every subgraph's migration history applies from empty on SQLite and PostgreSQL, goes back down to
nothing, and up again; on PostgreSQL each subgraph lives in its own schema with its own version table."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text

from db.config import DOMAINS
from db.engine import make_engine
from db.migrate import alembic_config, upgrade


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _downgrade_on(connection: Connection, domain: str) -> None:
    config = alembic_config(domain)
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def _up_down_up(url: str, domain: str) -> set[str]:
    engine = make_engine(domain, url)
    try:
        await upgrade(engine, domain)
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_on, domain)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) <= {"alembic_version"}
        await upgrade(engine, domain)
        async with engine.connect() as connection:
            version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        assert version is not None and version.startswith(f"{domain}_")
        return tables
    finally:
        await engine.dispose()


@pytest.mark.parametrize("domain", DOMAINS)
async def test_migrations_on_sqlite_from_empty(tmp_path: Path, domain: str) -> None:
    tables = await _up_down_up(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", domain)
    assert {"outbox", "processed_event", "alembic_version"} <= tables
    assert (tmp_path / f"m-{domain}.db").exists()


@pytest.mark.postgres
async def test_migrations_on_postgresql_from_empty_each_in_its_schema() -> None:
    from support import create_pg_database, drop_pg_database

    url = await create_pg_database("jshealth_migrate")
    try:
        for domain in DOMAINS:
            tables = await _up_down_up(url, domain)
            assert {"outbox", "processed_event", "alembic_version"} <= tables
        engine = make_engine("population", url)
        async with engine.connect() as connection:
            rows = await connection.execute(text(
                "SELECT table_schema, count(*) FROM information_schema.tables "
                "WHERE table_name = 'alembic_version' GROUP BY table_schema ORDER BY table_schema"))
            assert [r[0] for r in rows] == sorted(DOMAINS)
            public = await connection.scalar(text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"))
            assert public == 0
        await engine.dispose()
    finally:
        await drop_pg_database(url)


def _drift(connection: Connection, domain: str) -> list[object]:
    import importlib

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    if connection.dialect.name == "postgresql":
        connection.execute(text(f'SET search_path TO "{domain}"'))
    metadata = importlib.import_module(f"subgraphs.{domain}.models").Base.metadata
    context = MigrationContext.configure(connection, opts={
        "compare_type": True, "include_name": lambda name, type_, _parent: not (
            type_ == "table" and name == "alembic_version")})
    return list(compare_metadata(context, metadata))


async def _assert_no_drift(url: str) -> None:
    for domain in DOMAINS:
        engine = make_engine(domain, url)
        try:
            await upgrade(engine, domain)
            async with engine.connect() as connection:
                drift = await connection.run_sync(_drift, domain)
            assert drift == [], f"{domain}: the models differ from the migrations (add a revision): {drift}"
        finally:
            await engine.dispose()


async def test_models_match_migrations_on_sqlite(tmp_path: Path) -> None:
    """Every table change in the models has its alembic revision."""
    await _assert_no_drift(f"sqlite+aiosqlite:///{tmp_path / 'drift.db'}")


@pytest.mark.postgres
async def test_models_match_migrations_on_postgresql() -> None:
    from support import create_pg_database, drop_pg_database

    url = await create_pg_database("jshealth_drift")
    try:
        await _assert_no_drift(url)
    finally:
        await drop_pg_database(url)


async def _licences_0001_rows_survive(url: str) -> None:
    """A nurse certificate stored under the first licence table keeps its data through licences_0002,
    which makes every type's columns required: its number becomes its business key."""
    engine = make_engine("licences", url)
    try:
        await upgrade(engine, "licences", "licences_0001")
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO licence (id, number, type_code, holder_uid, holder_name, holder_sex, holder_id_number,"
                " issuer_org_id, issuer_name, issued_at, valid_from, valid_until, created_at) VALUES ('lic-np-1',"
                " '202132000001', 'NURSE_PRACTICE', 'u1', '张三', 'FEMALE', '11010519491231002X', 'org-1',"
                " '南京市卫生健康委员会', '2021-01-01', '2021-01-01', '2025-12-31', '2026-01-01 00:00:00+00:00')"))
        await upgrade(engine, "licences")
        async with engine.connect() as connection:
            row = (await connection.execute(text(
                "SELECT business_key, holder_kind, valid_flag, collection_source, number FROM licence"))).one()
        assert tuple(row) == ("202132000001", "PERSON", True, "", "202132000001")
    finally:
        await engine.dispose()


async def test_licences_0002_keeps_first_rows_on_sqlite(tmp_path: Path) -> None:
    await _licences_0001_rows_survive(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
async def test_licences_0002_keeps_first_rows_on_postgresql() -> None:
    from support import create_pg_database, drop_pg_database

    url = await create_pg_database("jshealth_migrate")
    try:
        await _licences_0001_rows_survive(url)
    finally:
        await drop_pg_database(url)


async def test_licences_0003_gives_stored_signing_keys_their_public_key(tmp_path: Path) -> None:
    """The key ring keeps each key's public part: the keys stored before it get theirs from their private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    engine = make_engine("licences", f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    try:
        await upgrade(engine, "licences", "licences_0002")
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO signing_key (id, private_pem, created_at) VALUES ('k1', :pem, '2026-01-01 00:00:00')"),
                {"pem": private_pem})
        await upgrade(engine, "licences")
        async with engine.connect() as connection:
            row = (await connection.execute(text("SELECT private_pem, public_pem FROM signing_key"))).one()
        assert tuple(row) == (private_pem, public_pem)
    finally:
        await engine.dispose()
