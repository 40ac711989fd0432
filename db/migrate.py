"""Apply each subgraph's migration history: `python -m db.migrate [--domain D ...]`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db.config import DOMAINS, database_url, domain_url

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(domain: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"), ini_section=domain)
    config.set_main_option("script_location", str(ROOT / "db" / "migrations"))
    config.set_main_option("version_locations", str(ROOT / "db" / "migrations" / domain / "versions"))
    config.set_main_option("domain", domain)
    return config


def _upgrade_on(connection: Connection, domain: str, revision: str) -> None:
    config = alembic_config(domain)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, domain: str, revision: str = "head") -> None:
    """Upgrade one subgraph's database on an engine the caller owns (the app's own, or a test's)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade_on, domain, revision)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domain", action="append", choices=DOMAINS, help="default: all five")
    parser.add_argument("--revision", default="head")
    args = parser.parse_args()
    from db.engine import make_engine

    async def run() -> None:
        for domain in args.domain or DOMAINS:
            engine = make_engine(domain)
            try:
                await upgrade(engine, domain, args.revision)
            finally:
                await engine.dispose()
            print(f"{domain}: at {args.revision} ({domain_url(domain, database_url()).render_as_string()})")

    asyncio.run(run())


if __name__ == "__main__":
    main()
