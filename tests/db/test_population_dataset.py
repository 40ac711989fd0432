"""The population bench loads from COPY files (bench/population_dataset.py): what it loads must be the rows the
seed writes (subgraphs/population/seed.py block_rows), with the seed's rule for duplicate child ID numbers and
exact tallies."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bench import population, population_dataset
from db.seed.population import population_block
from subgraphs.population.seed import COLUMNS, block_rows

PERSONS = 300


def test_copy_text_escapes_what_copy_would_misread() -> None:
    assert population_dataset.copy_value(None) == "\\N"
    assert population_dataset.copy_value("a\tb\\c\nd\re") == "a\\tb\\\\c\\nd\\re"
    assert population_dataset.copy_value(True) == "t"
    assert population_dataset.copy_value(7) == "7"
    assert population_dataset.copy_value(date(2026, 1, 2)) == "2026-01-02"
    with pytest.raises(ValueError, match="naive"):
        population_dataset.copy_value(datetime(2026, 1, 1))


def _normalised(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


async def _table(url: str, table: str) -> list[tuple[Any, ...]]:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1),
                                       server_settings={"search_path": "population"})
    try:
        columns = ", ".join(COLUMNS[table])
        return [tuple(_normalised(v) for v in row) for row in await connection.fetch(
            f'SELECT {columns} FROM "{table}" ORDER BY 1')]
    finally:
        await connection.close()


def test_the_bench_loads_the_rows_the_seed_writes(pg_url: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(population_dataset, "DATASETS", tmp_path)
    report = population.load(pg_url, PERSONS, workers=2, chunk_blocks=1, keep_indexes=False)
    assert report.dataset["generated_now"] is True
    expected = block_rows(population_block(population.SEED, 0), PERSONS, set())
    for table in ("person", "child", "marriage_event", "death_record", "dispatch_order"):
        loaded = asyncio.run(_table(pg_url, table))
        assert loaded == sorted(tuple(_normalised(v) for v in row) for row in expected[table]), table
    # A second load reads the same files instead of generating them again.
    again = population.load(pg_url, PERSONS, workers=2, chunk_blocks=1, keep_indexes=False)
    assert again.dataset["generated_now"] is False
    from subgraphs.population.jobs import tally

    drift = asyncio.run(tally.check(pg_url, progress=False))
    assert drift.total == 0
