"""Where each subgraph's data lives.

One DATABASE_URL names the deployment's database. On PostgreSQL every subgraph gets its own schema
in that database (identity, population, ...), reached through the connection's search_path so that the
models and migrations never spell a schema name. SQLite has no schemas, so the embedded mode gives each
subgraph its own file next to the one the URL names (var/jshealth.db -> var/jshealth-identity.db): the
isolation rule "a subgraph reads only its own tables" then holds by construction in both modes.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url

DOMAINS: tuple[str, ...] = ("identity", "population", "licences", "services", "security")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/jshealth.db"


def database_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def normalise(url: str | URL) -> URL:
    """Accept the URLs people paste (postgresql://, sqlite:///) and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed


def is_sqlite(url: str | URL) -> bool:
    return normalise(url).get_backend_name() == "sqlite"


def domain_url(domain: str, url: str | URL | None = None) -> URL:
    """The URL a subgraph connects to: its own SQLite file, or the shared PostgreSQL database."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; expected one of {', '.join(DOMAINS)}")
    parsed = normalise(url if url is not None else database_url())
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return parsed
    path = Path(parsed.database)
    return parsed.set(database=str(path.with_name(f"{path.stem}-{domain}{path.suffix or '.db'}")))
