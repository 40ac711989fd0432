"""Alembic environment shared by the five migration histories (one per subgraph).

The domain comes from the config (`alembic -n identity ...` or db.migrate); on PostgreSQL the domain's
schema is created if missing and holds both its tables and its own alembic_version table.
"""

from __future__ import annotations

import asyncio
import importlib

from alembic import context
from sqlalchemy import Connection, text

from db.config import domain_url
from db.engine import make_engine

config = context.config
domain = config.get_main_option("domain") or config.config_ini_section
models = importlib.import_module(f"subgraphs.{domain}.models")
target_metadata = models.Base.metadata


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    # On PostgreSQL the version table sits in the domain's schema, which autogenerate would otherwise
    # take for a table the models dropped.
    return not (type_ == "table" and name == "alembic_version")


def run_on(connection: Connection) -> None:
    is_pg = connection.dialect.name == "postgresql"
    if is_pg:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{domain}"'))
        connection.execute(text(f'SET search_path TO "{domain}"'))
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=domain if is_pg else None,
        render_as_batch=not is_pg,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = make_engine(domain, config.get_main_option("sqlalchemy.url") or None)
    async with engine.begin() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=str(domain_url(domain)), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    run_on(connection)
else:
    asyncio.run(run_online())
