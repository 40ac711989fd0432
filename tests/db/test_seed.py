"""The seed is deterministic: the same seed gives byte-identical data in every table; another seed
gives other data. Encrypted personal data and key material are the exception: data keys, IVs and
password salts are random per database by design, so those columns are left out of the comparison; so are
the ids and times of what the data-quality job records about the seeded data (its run and its items)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, literal, select

from db.engine import make_engine
from subgraphs.common.app import SeedOptions
from subgraphs.launch import setup_databases
from subgraphs.registry import SUBGRAPHS

# random by design (see above)
RANDOM_COLUMNS = {
    "identity.users": {"name_cipher", "mobile_cipher", "name_index", "mobile_index", "password_hash"},
    "identity.encryption_key": {"wrapped_key", "created_at"},
    "population.check_item": {"id", "created_at", "resolved_at"},
    "population.check_run": {"id", "started_at", "finished_at"},
    # The library's signing key is made per database where none is configured; so are its signatures.
    "licences.electronic_licence": {"signature", "key_id"},
    "licences.signing_key": {"id", "public_pem", "private_pem", "created_at"},
    # The seed's ingestion samples run the real write path, whose events are transport rows stamped when written.
    "licences.outbox": {"id", "created_at"},
}


async def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for entry in SUBGRAPHS:
        engine = make_engine(entry.name, url)
        metadata: MetaData = entry.definition().base.metadata
        async with engine.connect() as connection:
            for table in metadata.sorted_tables:
                name = f"{entry.name}.{table.name}"
                columns = [c for c in table.columns if c.name not in RANDOM_COLUMNS.get(name, set())]
                # A table whose every column is random still shows how many rows it has.
                ordered = (select(*columns) if columns else select(literal(1)).select_from(table)).order_by(
                    *table.primary_key.columns)
                # Sorted again without the left-out columns: a random primary key must not decide the order.
                tables[name] = sorted((tuple(r) for r in await connection.execute(ordered)), key=repr)
        await engine.dispose()
    return tables


async def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    urls = {name: f"sqlite+aiosqlite:///{tmp_path / name / 'g.db'}" for name in ("a", "b", "c")}
    await setup_databases(urls["a"], SeedOptions(seed=7, persons=300), log=False)
    await setup_databases(urls["b"], SeedOptions(seed=7, persons=300), log=False)
    await setup_databases(urls["c"], SeedOptions(seed=8, persons=300), log=False)
    first, second, other = await dump(urls["a"]), await dump(urls["b"]), await dump(urls["c"])
    assert first == second
    assert sum(len(rows) for rows in first.values()) > 1000
    assert len(first["population.person"]) == 300
    assert first["population.person"] != other["population.person"]


async def test_setup_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"
    await setup_databases(url, SeedOptions(seed=7, persons=100), log=False)
    before = await dump(url)
    await setup_databases(url, SeedOptions(seed=7, persons=100), log=False)
    assert await dump(url) == before
