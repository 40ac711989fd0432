"""The population bench's dataset: the synthetic world's rows for N persons, written once as PostgreSQL COPY
files and loaded from them by every later run.

A real migration of the province's 90 million records starts from an extract of the old system, not from a
generator; the bench does the same. Generating the rows costs CPython about 100 µs per person (two worker
processes: roughly 8 minutes per 10 million on this 2-core machine), which would otherwise be paid again on
every load and would dominate it. The files are keyed by the seed, the person count and a fingerprint of what
the generator produces (the rows of its first, middle and last block), so a generator whose output changed
writes a new dataset instead of loading stale rows, while a faster generator with the same output reuses it.

  python -m bench.population_dataset --persons 1000000      (bench.population calls `ensure` itself)

Layout of var/bench/dataset/population-<seed>-<persons>-<fingerprint>/:
  <table>/<chunk>.copy   COPY text format, columns in subgraphs/population/seed.py COLUMNS order
  manifest.json          written last: rows per table, files, the number counters, the child rows whose ID
                         number came out twice (cleared after the load) and how long generation took
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "var" / "bench" / "dataset"
# Bumped when the file format changes, so that older files are not read as the new format.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass
class Manifest:
    seed: int
    persons: int
    digest: str
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)  # table -> file names, in person order
    bytes: int = 0
    households: dict[str, int] = field(default_factory=dict)  # county -> last household serial
    # Child rows that must lose their ID number: the seed's rule keeps the number on the first child in
    # person order (then birth order) and clears it on a later child that drew the same number.
    child_ids_to_clear: list[str] = field(default_factory=list)
    generation_seconds: float = 0.0
    workers: int = 0


@lru_cache(maxsize=8)
def generator_digest(seed: int, persons: int) -> str:
    """A fingerprint of the rows the generator produces for (seed, persons): its first, middle and last block."""
    from db.seed.population import block_count, population_block
    from subgraphs.population.seed import block_rows

    blocks = block_count(persons)
    digest = hashlib.sha256(f"format {FORMAT_VERSION}".encode())
    for block in sorted({0, blocks // 2, blocks - 1}):
        digest.update(repr(block_rows(population_block(seed, block), persons, set())).encode())
    return digest.hexdigest()[:12]


def dataset_dir(seed: int, persons: int) -> Path:
    return DATASETS / f"population-{seed}-{persons}-{generator_digest(seed, persons)}"


def read_manifest(directory: Path) -> Manifest | None:
    path = directory / MANIFEST
    if not path.exists():
        return None
    return Manifest(**json.loads(path.read_text(encoding="utf-8")))


# --- COPY text format ---------------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_value(value: Any) -> str:
    """One value in PostgreSQL's COPY text format (NULL is \\N; backslash, tab and line breaks escaped)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"a naive datetime cannot go into a timestamptz column: {value!r}")
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no COPY text form for {type(value).__name__}: {value!r}")


def copy_text(rows: Sequence[tuple[Any, ...]]) -> str:
    return "".join("\t".join([copy_value(v) for v in row]) + "\n" for row in rows)


# --- generation ---------------------------------------------------------------------------------------------


@dataclass
class _ChunkResult:
    chunk: int
    persons: int
    rows: dict[str, int]
    files: dict[str, str]
    bytes: int
    households: dict[str, int]
    child_numbers: list[tuple[str, str]]  # (child row id, ID number) in person order, then birth order
    seconds: float


_job: dict[str, Any] = {}


def _worker_start(seed: int, persons: int, directory: str) -> None:
    _job.update(seed=seed, persons=persons, directory=Path(directory))


def _generate_chunk(task: tuple[int, int, int]) -> _ChunkResult:
    from db.seed.population import population_blocks
    from subgraphs.population.seed import COLUMNS, block_rows

    chunk, first, stop = task
    seed, persons, directory = _job["seed"], _job["persons"], _job["directory"]
    begun = time.monotonic()
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
    for block in population_blocks(seed, persons, first=first, stop=stop):
        for table, table_rows in block_rows(block, persons).items():
            rows[table].extend(table_rows)
    files: dict[str, str] = {}
    written = 0
    for table, table_rows in rows.items():
        if not table_rows:
            continue
        name = f"{chunk:05d}.copy"
        data = copy_text(table_rows).encode("utf-8")
        partial = directory / table / f"{name}.partial"
        partial.write_bytes(data)
        partial.rename(directory / table / name)
        files[table] = name
        written += len(data)
    households: dict[str, int] = {}
    for household in rows["household"]:
        county, serial = household[0][:6], int(household[0][6:])
        households[county] = max(households.get(county, 0), serial)
    id_at = COLUMNS["child"].index("id_number")
    numbers = [(row[0], row[id_at]) for row in rows["child"] if row[id_at] is not None]
    return _ChunkResult(chunk, len(rows["person"]), {t: len(r) for t, r in rows.items()}, files, written,
                        households, numbers, time.monotonic() - begun)


def _duplicates(results: Sequence[_ChunkResult]) -> list[str]:
    """The child rows that drew an ID number an earlier child (in person order) already has."""
    seen: set[str] = set()
    clear: list[str] = []
    for result in sorted(results, key=lambda r: r.chunk):
        for child_id, number in result.child_numbers:
            if number in seen:
                clear.append(child_id)
            else:
                seen.add(number)
    return clear


def generate(seed: int, persons: int, *, workers: int = 2, chunk_blocks: int = 8) -> tuple[Path, Manifest]:
    """Writes the dataset (replacing a half-written one) and returns its directory and manifest."""
    from tqdm import tqdm

    from db.seed.population import block_count
    from subgraphs.population.seed import COLUMNS

    directory = dataset_dir(seed, persons)
    if directory.exists():
        shutil.rmtree(directory)
    for table in COLUMNS:
        (directory / table).mkdir(parents=True)
    blocks = block_count(persons)
    tasks = [(i, first, min(first + chunk_blocks, blocks)) for i, first in enumerate(range(0, blocks, chunk_blocks))]
    manifest = Manifest(seed, persons, generator_digest(seed, persons), rows=dict.fromkeys(COLUMNS, 0),
                        files={table: [] for table in COLUMNS}, workers=workers)
    results: list[_ChunkResult] = []
    started = time.monotonic()
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_worker_start, initargs=(seed, persons, str(directory))) as pool, \
            tqdm(total=persons, unit="person", desc="dataset", file=sys.stderr, smoothing=0.1) as bar:
        for result in pool.imap_unordered(_generate_chunk, tasks):
            results.append(result)
            for table, count in result.rows.items():
                manifest.rows[table] += count
            manifest.bytes += result.bytes
            for county, serial in result.households.items():
                manifest.households[county] = max(manifest.households.get(county, 0), serial)
            bar.update(result.persons)
            bar.set_postfix_str(f"{manifest.bytes / 2**20:,.0f} MiB")
    for result in sorted(results, key=lambda r: r.chunk):
        for table, name in result.files.items():
            manifest.files[table].append(name)
    manifest.child_ids_to_clear = _duplicates(results)
    manifest.generation_seconds = time.monotonic() - started
    (directory / MANIFEST).write_text(json.dumps(asdict(manifest)), encoding="utf-8")
    return directory, manifest


def ensure(seed: int, persons: int, *, workers: int = 2, chunk_blocks: int = 8) -> tuple[Path, Manifest, bool]:
    """The dataset for (seed, persons), generated when missing; True when it was generated now."""
    directory = dataset_dir(seed, persons)
    manifest = read_manifest(directory)
    if manifest is not None:
        return directory, manifest, False
    directory, manifest = generate(seed, persons, workers=workers, chunk_blocks=chunk_blocks)
    return directory, manifest, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.population_dataset", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=int(os.environ.get("BENCH_POPULATION_PERSONS", "10000000")))
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--force", action="store_true", help="generate again even when the dataset exists")
    args = parser.parse_args(argv)
    if args.force:
        directory, manifest = generate(args.seed, args.persons, workers=args.workers)
        made = True
    else:
        directory, manifest, made = ensure(args.seed, args.persons, workers=args.workers)
    verb = "generated" if made else "already there"
    print(f"{directory}: {verb}; {sum(manifest.rows.values()):,} rows, {manifest.bytes / 2**30:,.2f} GiB, "
          f"generated in {manifest.generation_seconds:,.0f} s with {manifest.workers} workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
