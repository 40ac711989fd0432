"""population at scale: load millions of synthetic persons into PostgreSQL with COPY, then time the population
subgraph's main reads (and a dispatch round trip) through the router, each against the same lookup in plain SQL.

  python -m bench.population [--persons 10000000] [--reuse] [--workers 2] [--requests 600] [--warmup 30]
  make bench-population BENCH_ARGS="--persons 1000000"        (BENCH_POPULATION_PERSONS sets the default)

What it does:
  1. creates the database `jshealth_bench_population` (127.0.0.1:5432, user postgres) if missing; unless
     --reuse finds it already holding exactly --persons persons, drops the population schema, migrates it
     (alembic, db.migrate.upgrade) and inserts the region tree;
  2. makes sure the dataset exists (bench/population_dataset.py: the world's rows as COPY files, the same rows
     as `make run` seeds, generated once by --workers processes and reused by every later load), drops every
     index, primary/unique key and foreign key of the loaded tables and the tallies, COPYs the files over
     --workers connections, clears the child ID numbers that came out twice (the seed's rule, worked out
     while generating), builds the indexes two at a time, attaches the keys, adds and validates the foreign
     keys, writes the number counters, rebuilds the statistics tallies two tables at a time
     (domain/tally.rebuild_one), puts their keys back and ANALYZEs, with max_wal_size and checkpoint_timeout
     raised for the duration (BULK_SETTINGS, reset afterwards); the database (C collation) is made again when
     it has another. --keep-indexes loads into the indexed tables instead, for comparison. The load's time
     starts after the dataset exists and ends with the ANALYZE; a VACUUM and a CHECKPOINT follow before
     anything is timed;
  3. starts the population subgraph and the router as two uvicorn processes (the router on a supergraph of the
     population subgraph alone, JSHEALTH_ANONYMOUS_SCOPE=all so no token is needed) and times each operation
     through the router, straight at the subgraph and as the same lookup in plain SQL (asyncpg, this process),
     one request at a time with varied variables, checking every answer: --warmup requests, then rounds of
     about --round-seconds that take turns across operations and targets; a round during which the CPU steal
     (/proc/stat) exceeded --quiet-steal is run again, until each has --requests in quiet rounds
     (bench/quiet_rounds.py: this machine is a VM whose host lends its CPUs to other guests);
  4. prints a markdown table and writes it to var/bench/population-<persons>.md (load figures are kept in
     var/bench/population-<persons>-load.json so that a --reuse run reports them too; every round's timings
     and steal go to var/bench/population-<persons>-rounds.json).

A field the population subgraph does not have (yet) is reported as skipped, never fatal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import http.client
import json
import os
import random
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.quiet_rounds import Round, RoundsPlan, Stream, StreamSummary, read_cpu_times, run_rounds, steal_share

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/jshealth_bench_population"
SCHEMA = "population"
SEED = 20260101
CHINA = timezone(timedelta(hours=8))
LOOKUP_TARGET_MS = 10.0
STATISTICS_TARGET_MS = 50.0
SEED_TARGET_SECONDS = 600.0


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(url: str) -> str:
    return asyncpg_dsn(url).replace("postgresql://", "postgresql+asyncpg://", 1)


async def connect(url: str, **settings: str) -> Any:
    import asyncpg

    return await asyncpg.connect(asyncpg_dsn(url), server_settings={"search_path": SCHEMA, **settings})


# --- load ---------------------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    persons: int
    workers: int
    keep_indexes: bool
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    database_bytes: int = 0
    # Work after the load that is not part of it (VACUUM before measuring).
    after_load_seconds: dict[str, float] = field(default_factory=dict)
    # The server settings in force during the load (BULK_SETTINGS).
    server_settings: dict[str, str] = field(default_factory=dict)
    # Each index build and foreign-key validation (they run two at a time, so these overlap).
    step_seconds: dict[str, float] = field(default_factory=dict)
    # The COPY files the load read (bench/population_dataset.py): where, how big, how long generating took.
    dataset: dict[str, Any] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


_KEYS_SQL = """
SELECT c.conrelid::regclass::text, c.conname, c.contype::text, pg_get_constraintdef(c.oid),
       CASE WHEN c.contype IN ('p', 'u') THEN pg_get_indexdef(c.conindid) END
FROM pg_constraint c
WHERE c.connamespace = $2::regnamespace AND c.contype IN ('p', 'u', 'f')
  AND (c.conrelid::regclass::text = ANY($1::text[]) OR c.confrelid::regclass::text = ANY($1::text[]))
"""
_INDEXES_SQL = """
SELECT t.relname, i.relname, pg_get_indexdef(i.oid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relnamespace = $2::regnamespace AND t.relname = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
"""
@dataclass
class _Keys:
    """The DDL to put back what the load dropped."""

    indexes: list[tuple[str, str]]  # (table, CREATE [UNIQUE] INDEX ...)
    attach: list[str]  # ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY / UNIQUE USING INDEX ...
    foreign: list[tuple[str, str, str]]  # (table, constraint, definition)


async def _drop_keys(connection: Any, tables: Sequence[str], only: set[str] | None = None) -> _Keys:
    keys = await connection.fetch(_KEYS_SQL, list(tables), SCHEMA)
    plain = await connection.fetch(_INDEXES_SQL, list(tables), SCHEMA)
    out = _Keys([], [], [])
    for table, name, kind, definition, index in keys:
        if only is not None and name not in only:
            continue
        if kind == "f":
            out.foreign.append((table, name, definition))
        else:
            out.indexes.append((table, index))
            word = "PRIMARY KEY" if kind == "p" else "UNIQUE"
            out.attach.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {word} USING INDEX "{name}"')
    for table, name, _definition in out.foreign:
        await connection.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for table, name, kind, _definition, _index in keys:
        if kind != "f" and (only is None or name in only):
            await connection.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    if only is None:
        for table, name, definition in plain:
            out.indexes.append((table, definition))
            await connection.execute(f'DROP INDEX "{name}"')
    return out


async def _restore_keys(url: str, keys: _Keys, report: LoadReport, *, validate: bool = True) -> None:
    """Builds the indexes, attaches the keys and adds the foreign keys NOT VALID (then validates them unless
    `validate` is False: the caller does it, alongside other work)."""
    # Two builds at a time (the machine's two cores), biggest tables first; index builds share a table's lock.
    weight = {"person": 0, "child": 1, "marriage_event": 2, "household": 3}
    queue = sorted(keys.indexes, key=lambda item: weight.get(item[0], 9))
    started = time.monotonic()

    async def builder() -> None:
        connection = await connect(url, maintenance_work_mem="1GB", max_parallel_maintenance_workers="0")
        try:
            while queue:
                _table, ddl = queue.pop(0)
                begun = time.monotonic()
                await connection.execute(ddl)
                name = ddl.split(" INDEX ", 1)[1].split(" ON ", 1)[0].strip('"')
                report.step_seconds[f"index {name}"] = time.monotonic() - begun
        finally:
            await connection.close()

    await asyncio.gather(builder(), builder())
    connection = await connect(url)
    try:
        for ddl in keys.attach:
            await connection.execute(ddl)
        for table, name, definition in keys.foreign:
            await connection.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition} NOT VALID')
    finally:
        await connection.close()
    report.seconds["indexes and keys"] = time.monotonic() - started
    if validate:
        started = time.monotonic()
        await _validate_foreign_keys(url, keys, report)
        report.seconds["foreign keys"] = time.monotonic() - started


async def _validate_foreign_keys(url: str, keys: _Keys, report: LoadReport) -> float:
    """VALIDATE CONSTRAINT for every foreign key added NOT VALID, two at a time; the seconds it took."""
    pending = list(keys.foreign)
    started = time.monotonic()

    async def validator() -> None:
        connection = await connect(url, work_mem="256MB")
        try:
            while pending:
                table, name, _definition = pending.pop(0)
                begun = time.monotonic()
                await connection.execute(f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{name}"')
                report.step_seconds[f"validate {name}"] = time.monotonic() - begun
        finally:
            await connection.close()

    await asyncio.gather(validator(), validator())
    report.step_seconds["foreign keys (all)"] = seconds = time.monotonic() - started
    return seconds


async def _prepare(url: str) -> None:
    from sqlalchemy import insert, text

    from db.engine import make_engine
    from db.migrate import upgrade
    from subgraphs.population import models
    from subgraphs.population.seed import region_rows

    engine = make_engine(SCHEMA, sqlalchemy_url(url))
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        await upgrade(engine, SCHEMA)
        async with engine.begin() as connection:
            await connection.execute(insert(models.Region), region_rows())
    finally:
        await engine.dispose()


async def _copy_files(url: str, directory: Path, manifest: Any, connections: int) -> float:
    """COPYs every dataset file, biggest first, over `connections` connections; the seconds it took."""
    from tqdm import tqdm

    from subgraphs.population.seed import COLUMNS

    queue = sorted(((directory / table / name).stat().st_size, table, name)
                   for table, names in manifest.files.items() for name in names)
    started = time.monotonic()
    total_rows = sum(manifest.rows.values())
    total_bytes = sum(size for size, _t, _n in queue)
    copied = 0
    with tqdm(total=total_bytes, unit="B", unit_scale=True, desc="COPY", file=sys.stderr, smoothing=0.1) as bar:

        async def copier() -> None:
            nonlocal copied
            connection = await connect(url, synchronous_commit="off")
            try:
                while queue:
                    size, table, name = queue.pop()
                    await connection.copy_to_table(table, source=directory / table / name,
                                                   columns=list(COLUMNS[table]), format="text")
                    copied += size
                    bar.update(size)
                    rows = copied / max(total_bytes, 1) * total_rows
                    bar.set_postfix_str(f"{rows / (time.monotonic() - started):,.0f} rows/s")
            finally:
                await connection.close()

        await asyncio.gather(*(copier() for _ in range(connections)))
    return time.monotonic() - started


async def _rebuild_tallies(url: str, report: LoadReport) -> None:
    """The statistics tallies from the loaded records (domain/tally.py), two tables at a time: nothing else
    writes during a bulk load, so each table may be rebuilt in a transaction of its own."""
    from db.engine import make_engine, make_sessionmaker
    from subgraphs.population import models
    from subgraphs.population.domain import tally

    engine = make_engine(SCHEMA, sqlalchemy_url(url), pool_size=2)
    started = time.monotonic()
    try:
        async def rebuild(group: Sequence[type[models.Base]]) -> None:
            from sqlalchemy import text

            async with make_sessionmaker(engine)() as session, session.begin():
                await session.execute(text("SET LOCAL work_mem = '512MB'"))
                for model in group:
                    await tally.rebuild_one(session, model)

        await asyncio.gather(rebuild([models.EventTally, models.WorkTally]),
                             rebuild([models.PersonTally, models.PersonTotal]))
    finally:
        await engine.dispose()
    report.step_seconds["tally rebuild (all)"] = time.monotonic() - started


def load(url: str, persons: int, workers: int, chunk_blocks: int, keep_indexes: bool) -> LoadReport:
    """Loads the dataset of `persons` (generated first when missing, which is not part of the load's time)."""
    from bench.population_dataset import ensure
    from subgraphs.population.domain.tally import TALLIES
    from subgraphs.population.seed import COLUMNS, PERSON_NO_COUNTER, household_counter_name

    directory, manifest, generated = ensure(SEED, persons, workers=workers, chunk_blocks=chunk_blocks)
    report = LoadReport(persons, workers, keep_indexes)
    shown = directory.relative_to(ROOT) if directory.is_relative_to(ROOT) else directory
    report.dataset = {"directory": str(shown), "bytes": manifest.bytes,
                      "generation_seconds": manifest.generation_seconds, "generated_now": generated,
                      "generation_workers": manifest.workers}
    print(f"loading {persons:,} persons from {directory} ({manifest.bytes / 2**30:,.2f} GiB)", file=sys.stderr,
          flush=True)
    started = time.monotonic()
    asyncio.run(_prepare(url))
    report.seconds["migrate + regions"] = time.monotonic() - started
    tables = list(COLUMNS)
    tallies = [model.__tablename__ for model in TALLIES]

    async def run() -> None:
        connection = await connect(url)
        try:
            # With --keep-indexes only the child ID number key goes: duplicates are cleared after the load.
            keys = await _drop_keys(connection, tables, {"uq_child_id_number"} if keep_indexes else None)
            tally_keys = await _drop_keys(connection, tallies)
        finally:
            await connection.close()
        report.seconds["COPY"] = await _copy_files(url, directory, manifest, workers)
        report.rows.update(manifest.rows)
        rows = sum(manifest.rows.values())
        print(f"COPY: {rows:,} rows ({persons:,} persons) in {report.seconds['COPY']:.0f} s, "
              f"{rows / report.seconds['COPY']:,.0f} rows/s", file=sys.stderr, flush=True)
        connection = await connect(url)
        try:
            started = time.monotonic()
            await connection.execute("UPDATE child SET id_number = NULL WHERE id = ANY($1::text[])",
                                     manifest.child_ids_to_clear)
            report.rows["child ID numbers cleared"] = len(manifest.child_ids_to_clear)
            counters = [(household_counter_name(county), value)
                        for county, value in sorted(manifest.households.items())]
            counters.append((PERSON_NO_COUNTER, persons))
            await connection.executemany("INSERT INTO counter (name, last_value) VALUES ($1, $2)", counters)
            report.seconds["child ID duplicates + counters"] = time.monotonic() - started
        finally:
            await connection.close()
        print("building indexes and keys, then validating the foreign keys while the tallies are rebuilt …",
              file=sys.stderr, flush=True)
        await _restore_keys(url, keys, report, validate=False)
        started = time.monotonic()
        # Validation mostly reads; the rebuild mostly computes: side by side they finish sooner than in turn.
        await asyncio.gather(_validate_foreign_keys(url, keys, report), _rebuild_tallies(url, report))
        report.seconds["foreign keys ‖ tally rebuild"] = time.monotonic() - started
        started = time.monotonic()
        await _restore_keys(url, tally_keys, LoadReport(persons, workers, keep_indexes))
        report.seconds["tally keys"] = time.monotonic() - started
        connection = await connect(url)
        try:
            started = time.monotonic()
            await connection.execute("ANALYZE")
            report.seconds["ANALYZE"] = time.monotonic() - started
            report.database_bytes = await connection.fetchval("SELECT pg_database_size(current_database())")
            for model in TALLIES:
                report.rows[model.__tablename__] = await connection.fetchval(
                    f'SELECT count(*) FROM "{model.__tablename__}"')
        finally:
            await connection.close()

    asyncio.run(run())
    return report


# What a bulk load raises on the server for its duration (ALTER SYSTEM, reloaded without a restart) and puts
# back afterwards, as one would for a migration: with the default 1 GB of WAL between checkpoints, loading
# 10 million persons forces a checkpoint every few seconds, and every page touched after each one is
# written to the WAL a second time in full.
BULK_SETTINGS = {"max_wal_size": "16GB", "checkpoint_timeout": "30min"}


async def _settle(url: str) -> dict[str, float]:
    """VACUUM and CHECKPOINT after the load, before any request is timed (each timed, neither part of the
    load). The database answers as soon as the load's ANALYZE is done, but autovacuum would otherwise work
    through the 30 million new rows (and every first read set hint bits), and the checkpoint would write the
    loaded gigabytes out, while the requests are measured; a migration does both before opening for traffic."""
    print("VACUUM and CHECKPOINT (after the load, before measuring) …", file=sys.stderr, flush=True)
    connection = await connect(url)
    seconds: dict[str, float] = {}
    try:
        for statement in ("VACUUM", "CHECKPOINT"):
            started = time.monotonic()
            await connection.execute(statement)
            seconds[statement] = time.monotonic() - started
        return seconds
    finally:
        await connection.close()


async def _bulk_settings(url: str, *, apply: bool) -> dict[str, str]:
    """Applies (or resets) BULK_SETTINGS; the settings in force afterwards. Without the right to change the
    server's settings the load goes on with what it finds (and the report says so)."""
    import asyncpg

    connection = await connect(url)
    try:
        try:
            for name, value in BULK_SETTINGS.items():
                if apply:
                    await connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                else:
                    await connection.execute(f"ALTER SYSTEM RESET {name}")
            await connection.execute("SELECT pg_reload_conf()")
        except asyncpg.InsufficientPrivilegeError:
            print("the bulk-load settings need a superuser; loading with the server's settings", file=sys.stderr)
        await asyncio.sleep(0.2)  # the reload reaches the checkpointer asynchronously
        return {name: await connection.fetchval(f"SHOW {name}") for name in BULK_SETTINGS}
    finally:
        await connection.close()


async def loaded_persons(url: str) -> int | None:
    """The persons the bench database holds (its person-no counter), None when it holds no population."""
    try:
        connection = await connect(url)
    except Exception:
        return None
    try:
        return await connection.fetchval("SELECT last_value FROM counter WHERE name = 'person-no'")
    except Exception:
        return None
    finally:
        await connection.close()


# --- processes ----------------------------------------------------------------------------------------------


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become healthy within {timeout:.0f}s")


def start(url: str, base_port: int) -> list[subprocess.Popen[bytes]]:
    """The population subgraph and a router composed of it alone, each its own uvicorn process."""
    from router.app import ROUTER_JWKS_PATH
    from router.compose import SubgraphSource, compose
    from subgraphs.population.app import definition
    from subgraphs.registry import subgraph_sdl

    OUT.mkdir(parents=True, exist_ok=True)
    subgraph_port, host = base_port + 1, "127.0.0.1"
    subgraph_url = f"http://{host}:{subgraph_port}/graphql"
    supergraph = OUT / "population-supergraph.graphql"
    supergraph.write_text(compose([SubgraphSource("population", subgraph_url, subgraph_sdl(definition))]),
                          encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(DATABASE_URL=sqlalchemy_url(url), JSHEALTH_ANONYMOUS_SCOPE="all",
               ROUTER_JWKS_URL=f"http://{host}:{base_port}{ROUTER_JWKS_PATH}")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, module, port, extra in (
            ("subgraph", "subgraphs.population.app:app", subgraph_port, {}),
            ("router", "router.app:app", base_port,
             {"ROUTER_SUPERGRAPH": str(supergraph), "ROUTER_SUBGRAPH_URLS": f"population={subgraph_url}",
              "ROUTER_AUTH_MODE": "off"}),
        ):
            log = OUT / f"population-{name}.log"
            with log.open("wb") as handle:
                process = subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "--factory", module, "--host", host, "--port", str(port),
                     "--log-level", "warning", "--no-access-log"],
                    env={**env, **extra}, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
            processes.append(process)
            _wait_healthy(f"http://{host}:{port}/health", process, log)
    except BaseException:
        from subgraphs.launch import stop_stack

        stop_stack(processes)
        raise
    return processes


# --- measurements -------------------------------------------------------------------------------------------


class Skip(Exception):
    """An operation that cannot be measured here; the message says why."""


@dataclass
class Measured:
    """One operation: timed through the router, straight at the subgraph (what the router adds is the
    difference) and as the same lookup in plain SQL, each as a stream of rounds (bench/quiet_rounds.py)."""

    name: str
    kind: str  # lookup | statistics | write
    router: Stream | None = None
    direct: Stream | None = None
    sql: Stream | None = None
    skipped: str | None = None


@dataclass
class Sample:
    uids: list[str]
    id_numbers: list[str]
    movable: list[tuple[str, str]]  # (id number, management region) of NORMAL persons without an open order
    counties: list[str]


async def sample(url: str, persons: int, size: int) -> Sample:
    from subgraphs.common.validators import is_valid_resident_id

    connection = await connect(url)
    try:
        percent = min(100.0, 100.0 * 4 * size / max(persons, 1))
        rows = await connection.fetch(
            f"SELECT uid, id_number, management_region_code, status FROM person TABLESAMPLE SYSTEM ({percent:.6f}) "
            "REPEATABLE (7) WHERE NOT deleted")
        movable = [(r["id_number"], r["management_region_code"]) for r in rows if r["status"] == "NORMAL"
                   and r["id_number"] and len(r["management_region_code"]) >= 9]
        open_orders = {r[0] for r in await connection.fetch(
            "SELECT p.id_number FROM dispatch_order o JOIN person p ON p.uid = o.person_uid WHERE o.status = 'PENDING' "
            "AND p.id_number = ANY($1::text[])", [m[0] for m in movable])}
        counties = [r[0] for r in await connection.fetch("SELECT code FROM region WHERE level = 'COUNTY' "
                                                          "AND valid_to IS NULL ORDER BY code")]
    finally:
        await connection.close()
    rng = random.Random(7)
    rng.shuffle(rows)
    rows = rows[:size]
    # The seed holds ~0.75 % invalid ID numbers on purpose; a lookup by ID number refuses those as input.
    return Sample([r["uid"] for r in rows], [r["id_number"] for r in rows if r["id_number"]
                                             and is_valid_resident_id(r["id_number"])],
                  [m for m in movable if m[0] not in open_orders and is_valid_resident_id(m[0])], counties)


def graphql_fields() -> tuple[set[str], set[str]]:
    from subgraphs.population.app import definition

    schema = definition.schema._schema
    query, mutation = schema.query_type, schema.mutation_type
    return set(query.fields) if query else set(), set(mutation.fields) if mutation else set()


def _target_of(region: str) -> str:
    """A group in another township of the same county (county + township + village 001 + group 001)."""
    township = int(region[6:9])
    return f"{region[:6]}{1 if township != 1 else 2:03d}001001"


@dataclass
class _Answer:
    status_code: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class KeepAliveClient:
    """POSTs JSON over one kept-alive connection per host (http.client): the figures should be the servers',
    and a full-featured client such as httpx spends about half a millisecond of its own on every request."""

    # uvicorn closes a connection idle for 5 s; one idle for longer than this is replaced before use.
    IDLE_SECONDS = 2.0

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.connections: dict[str, tuple[http.client.HTTPConnection, float]] = {}

    def _connection(self, netloc: str) -> http.client.HTTPConnection:
        found = self.connections.get(netloc)
        if found is not None and time.monotonic() - found[1] < self.IDLE_SECONDS:
            return found[0]
        if found is not None:
            found[0].close()
        return http.client.HTTPConnection(netloc, timeout=self.timeout)

    def post(self, url: str, json: Any) -> _Answer:
        parts = urllib.parse.urlsplit(url)
        connection = self._connection(parts.netloc)
        payload = _json_bytes(json)
        headers = {"content-type": "application/json", "accept": "application/json"}
        try:
            connection.request("POST", parts.path or "/", body=payload, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            # Closed by the server before the request went out: nothing was sent, so sending again is safe.
            connection.close()
            connection = http.client.HTTPConnection(parts.netloc, timeout=self.timeout)
            connection.request("POST", parts.path or "/", body=payload, headers=headers)
        response = connection.getresponse()
        answer = _Answer(response.status, response.read())
        self.connections[parts.netloc] = (connection, time.monotonic())
        return answer

    def __enter__(self) -> KeepAliveClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        for connection, _used in self.connections.values():
            connection.close()


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def request_once(client: Any, url: str, bodies: list[dict[str, Any]]) -> float:
    """Sends one request's bodies in turn, checking each answer; returns their summed time in ms."""
    elapsed = 0.0
    carried: dict[str, Any] = {}
    for body in bodies:
        if "variables" in body and callable(body["variables"]):
            body = {**body, "variables": body["variables"](carried)}
        begun = time.perf_counter()
        response = client.post(url, json=body)
        elapsed += time.perf_counter() - begun
        answer = response.json()
        if response.status_code != 200 or answer.get("errors") or answer.get("data") is None:
            shown = json.dumps(answer, ensure_ascii=False)[:300]
            raise Skip(f"{url} answered {response.status_code}: {shown}")
        carried.update(answer["data"])
    return elapsed * 1000


def http_sender(client: Any, url: str, bodies: Callable[[int], list[dict[str, Any]]]) -> Callable[[int], float]:
    return lambda i: request_once(client, url, bodies(i))


def sql_sender(loop: asyncio.AbstractEventLoop, call: Callable[[int], Awaitable[Any]]) -> Callable[[int], float]:
    def send(i: int) -> float:
        begun = time.perf_counter()
        loop.run_until_complete(call(i))
        return (time.perf_counter() - begun) * 1000

    return send


PERSON_FIELDS = "uid name sex birthDate idNumber"
PERSON_COLUMNS = "uid, name, sex, birth_date, id_number"


def measure(url: str, persons: int, base_port: int, plan: RoundsPlan, dispatches: int) -> list[Measured]:
    from subgraphs.common.regions import _next_prefix, subtree_prefix
    from subgraphs.population.codes import AgeBand, birth_date_range

    queries, mutations = graphql_fields()
    picked = asyncio.run(sample(url, persons, max(dispatches * 3, 2000)))
    today = datetime.now(CHINA).date()
    earliest, latest = birth_date_range(AgeBand.AGE_15_59, today)
    results: list[Measured] = []
    router_url = f"http://127.0.0.1:{base_port}/graphql"
    subgraph_url = f"http://127.0.0.1:{base_port + 1}/graphql"

    def county_range(i: int) -> tuple[str, str, str]:
        county = picked.counties[i % len(picked.counties)]
        prefix = subtree_prefix(county)
        return county, prefix, _next_prefix(prefix) or "9"

    async def sql_all(connection: Any) -> dict[str, Callable[[int], Awaitable[Any]]]:
        children = {code: [r[0] for r in await connection.fetch(
            "SELECT code FROM region WHERE parent_code = $1 AND valid_to IS NULL", code)]
            for code in ("320000", "320500")}

        # Age bands as birth-month ranges (yyyymm), summed in the same grouped query, as the statistic does.
        months: list[int] = []
        for band in (AgeBand.AGE_0_3, AgeBand.AGE_4_15, AgeBand.AGE_15_59, AgeBand.AGE_60_79, AgeBand.AGE_80_PLUS,
                     AgeBand.AGE_65_PLUS):
            low, high = birth_date_range(band, today)
            months += [low.year * 100 + low.month if low else 0, high.year * 100 + high.month]
        banded = ", ".join(f"sum(count) FILTER (WHERE birth_month BETWEEN ${n} AND ${n + 1})"
                           for n in range(2, 2 + len(months), 2))

        async def statistics_sql(code: str) -> None:
            await connection.fetch(f"SELECT sex, mobility, person_type, sum(count), {banded} FROM person_tally "
                                   "WHERE region_code = $1 GROUP BY sex, mobility, person_type", code, *months)
            await connection.fetch("SELECT region_code, sum(count) FROM person_total "
                                   "WHERE region_code = ANY($1::text[]) GROUP BY region_code", children[code])

        return {
            "person": lambda i: connection.fetchrow(f"SELECT {PERSON_COLUMNS} FROM person WHERE uid = $1",
                                                    picked.uids[i % len(picked.uids)]),
            "personByIdNumber": lambda i: connection.fetchrow(
                f"SELECT {PERSON_COLUMNS} FROM person WHERE id_number = $1",
                picked.id_numbers[i % len(picked.id_numbers)]),
            "persons": lambda i: connection.fetch(
                f"SELECT {PERSON_COLUMNS} FROM person WHERE management_region_code >= $1 "
                "AND management_region_code < $2 AND sex = 'FEMALE' AND birth_date >= $3 AND birth_date <= $4 "
                "AND status = 'NORMAL' AND NOT deleted ORDER BY management_region_code, uid LIMIT 21",
                *county_range(i)[1:], earliest, latest),
            "statistics province": lambda i: statistics_sql("320000"),
            "statistics city": lambda i: statistics_sql("320500"),
            "births": lambda i: connection.fetch(
                "SELECT date_trunc('month', day) AS month, detail, sex, sum(count) FROM event_tally "
                "WHERE region_code = $1 AND kind = 'BIRTH' AND day >= $2 AND day <= $3 GROUP BY 1, 2, 3",
                "320000", date(2025, 1, 1), date(2025, 12, 31)),
            "deaths": lambda i: connection.fetch(
                "SELECT date_trunc('quarter', day) AS quarter, detail, sex, sum(count) FROM event_tally "
                "WHERE region_code = $1 AND kind = 'DEATH' AND day >= $2 AND day <= $3 GROUP BY 1, 2, 3",
                "320500", date(2025, 1, 1), date(2025, 12, 31)),
            "work": lambda i: connection.fetch("SELECT kind, detail, count FROM work_tally WHERE region_code = $1",
                                               "320000"),
        }

    plans: list[tuple[str, str, str, str, Callable[[int], list[dict[str, Any]]]]] = [
        ("person by uid", "lookup", "person", "person",
         lambda i: [{"query": f"query($uid: ID!) {{ person(uid: $uid) {{ {PERSON_FIELDS} }} }}",
                     "variables": {"uid": picked.uids[i % len(picked.uids)]}}]),
        ("personByIdNumber", "lookup", "personByIdNumber", "personByIdNumber",
         lambda i: [{"query": f"query($n: String!) {{ personByIdNumber(idNumber: $n) {{ {PERSON_FIELDS} }} }}",
                     "variables": {"n": picked.id_numbers[i % len(picked.id_numbers)]}}]),
        ("persons: county, FEMALE, AGE_15_59, first 20", "lookup", "persons", "persons",
         lambda i: [{"query": "query($r: ID!) { persons(regionCode: $r, filter: {sex: FEMALE, ageBand: AGE_15_59}, "
                              f"first: 20) {{ edges {{ node {{ {PERSON_FIELDS} }} }} pageInfo {{ hasNextPage "
                              "endCursor } } }",
                     "variables": {"r": county_range(i)[0]}}]),
        ("populationStatistics 320000 (province)", "statistics", "populationStatistics", "statistics province",
         lambda i: [{"query": _STATISTICS_QUERY, "variables": {"r": "320000"}}]),
        ("populationStatistics 320500 (苏州)", "statistics", "populationStatistics", "statistics city",
         lambda i: [{"query": _STATISTICS_QUERY, "variables": {"r": "320500"}}]),
        ("birthStatistics 320000, 2025 by month", "statistics", "birthStatistics", "births",
         lambda i: [{"query": "query { birthStatistics(regionCode: \"320000\", from: \"2025-01-01\", "
                              "to: \"2025-12-31\", groupBy: MONTH) { total male female byOrder { order total share } "
                              "buckets { period total male female } } }"}]),
        ("deathStatistics 320500 (苏州), 2025 by quarter", "statistics", "deathStatistics", "deaths",
         lambda i: [{"query": "query { deathStatistics(regionCode: \"320500\", from: \"2025-01-01\", "
                              "to: \"2025-12-31\", groupBy: QUARTER) { total male female bySource { source total "
                              "share } buckets { period total male female } } }"}]),
        ("workCounters 320000", "statistics", "workCounters", "work",
         lambda i: [{"query": "query { workCounters(regionCode: \"320000\") { pendingDispatchTasks unclaimedDeaths "
                              "openCheckItems openCheckItemsByCategory { category count } } }"}]),
    ]

    loop = asyncio.new_event_loop()
    connection = loop.run_until_complete(connect(url, jit="off"))  # as the subgraph's connections (db/engine.py)
    processes = start(url, base_port)
    try:
        calls = loop.run_until_complete(sql_all(connection))
        with KeepAliveClient(timeout=60) as client:
            streams: list[Stream] = []
            for name, kind, field_name, sql_key, bodies in plans:
                measured = Measured(name, kind)
                results.append(measured)
                if field_name not in queries:
                    measured.skipped = f"the population subgraph has no `{field_name}` field (yet)"
                    continue
                try:  # one request each way first: an operation the subgraph refuses is skipped, not fatal
                    request_once(client, router_url, bodies(0))
                    request_once(client, subgraph_url, bodies(0))
                except Skip as exc:
                    measured.skipped = str(exc)
                    continue
                measured.router = Stream(f"{name} (router)", http_sender(client, router_url, bodies))
                measured.direct = Stream(f"{name} (subgraph)", http_sender(client, subgraph_url, bodies))
                measured.sql = Stream(f"{name} (SQL)", sql_sender(loop, calls[sql_key]))
                streams += [measured.router, measured.direct, measured.sql]
            run_rounds(streams, plan, progress=lambda line: print(line, file=sys.stderr, flush=True))
            for measured in results:
                if measured.router is not None:
                    summary = measured.router.summary(plan.quiet_steal)
                    print(f"{measured.name}: router p50 {summary.quiet_p50:.2f} / p99 {summary.quiet_p99:.2f} ms "
                          f"(quiet rounds), {summary.noisy_rounds} of {summary.rounds} rounds noisy",
                          file=sys.stderr, flush=True)
            results.append(measure_dispatch(client, router_url, loop, connection, picked, mutations, dispatches))
    finally:
        from subgraphs.launch import stop_stack

        stop_stack(processes)
        loop.run_until_complete(connection.close())
        loop.close()
    return results


_STATISTICS_QUERY = (
    "query($r: ID!) { populationStatistics(regionCode: $r) { total male female mobile resident aged65Plus "
    "ageBands { band total male female } byPersonType { personType count } byChildRegion { regionCode total } } }")


def measure_dispatch(client: Any, router_url: str, loop: asyncio.AbstractEventLoop, connection: Any, picked: Sample,
                     mutations: set[str], count: int) -> Measured:
    """Each round trip moves a person for good, so these are timed once each, in one round per target (the
    round's steal is still reported); five untimed ones first."""
    measured = Measured("dispatch round trip: pushDispatch + confirmDispatch", "write")
    missing = [m for m in ("pushDispatch", "confirmDispatch") if m not in mutations]
    if missing:
        measured.skipped = f"the population subgraph has no {', '.join(missing)} mutation (yet)"
        return measured
    if len(picked.movable) < 2 * count + 10:
        measured.skipped = f"only {len(picked.movable)} movable persons in the sample"
        return measured
    through_router, direct = picked.movable[:count + 5], picked.movable[count + 5:2 * count + 10]

    def bodies(i: int) -> list[dict[str, Any]]:
        id_number, region = through_router[i]
        return [
            {"query": "mutation($input: PushDispatchInput!) { pushDispatch(input: $input) { id } }",
             "variables": {"input": {"idNumber": id_number, "targetRegionCode": _target_of(region),
                                     "address": "测试地址1号", "contact": "张测试", "contactPhone": "13800000000",
                                     "reason": "压力测试"}}},
            {"query": "mutation($id: ID!) { confirmDispatch(id: $id) { id status } }",
             "variables": lambda carried: {"id": carried["pushDispatch"]["id"]}},
        ]

    try:
        measured.router = once_each("dispatch (router)", lambda i: request_once(client, router_url, bodies(i)), count)
    except Skip as exc:
        measured.skipped, measured.router = str(exc), None
        return measured
    measured.sql = once_each("dispatch (SQL)", sql_sender(loop, lambda i: _dispatch_sql(connection, *direct[i])),
                             count)
    return measured


def once_each(name: str, send: Callable[[int], float], count: int, warmup: int = 5) -> Stream:
    stream = Stream(name, send)
    for i in range(warmup):
        send(i)
    before, begun = read_cpu_times(), time.perf_counter()
    timings = [send(i) for i in range(warmup, warmup + count)]
    stream.rounds.append(Round(timings, steal_share(before, read_cpu_times()), time.perf_counter() - begun))
    return stream


async def _dispatch_sql(connection: Any, id_number: str, region: str) -> None:
    """The same writes in plain SQL: push (order, event, pending counter at every level of the target) and
    confirm (order, event, the case's management region, its history row, its tally row at every level)."""
    import uuid

    from subgraphs.population.domain.tally import region_levels

    target, now = _target_of(region), datetime.now(UTC)
    order_id = str(uuid.uuid4())
    async with connection.transaction():
        person = await connection.fetchrow(
            "SELECT uid, management_region_code, sex, birth_date, mobility, person_type FROM person "
            "WHERE id_number = $1 FOR UPDATE", id_number)
        await connection.fetchval("SELECT 1 FROM dispatch_order WHERE person_uid = $1 AND status = 'PENDING'",
                                  person["uid"])
        await connection.execute(
            "INSERT INTO dispatch_order (id, person_uid, direction, scope, origin_region_code, target_region_code, "
            "address, contact, contact_phone, reason, status, created_by, created_at) VALUES ($1, $2, 'PUSH', "
            "'WITHIN_COUNTY', $3, $4, '测试地址1号', '张测试', '13800000000', '压力测试', 'PENDING', 'bench', $5)",
            order_id, person["uid"], person["management_region_code"], target, now)
        await connection.execute("INSERT INTO dispatch_event (id, order_id, at, actor, action, to_status) VALUES "
                                 "($1, $2, $3, 'bench', 'PUSHED', 'PENDING')", str(uuid.uuid4()), order_id, now)
        await connection.executemany(
            "INSERT INTO work_tally (region_code, kind, detail, count) VALUES ($1, 'DISPATCH_PENDING', '', 1) "
            "ON CONFLICT (region_code, kind, detail) DO UPDATE SET count = work_tally.count + 1",
            [(level,) for level in region_levels(target)])
    async with connection.transaction():
        await connection.fetchrow("SELECT id FROM dispatch_order WHERE id = $1 FOR UPDATE", order_id)
        await connection.execute("UPDATE dispatch_order SET status = 'CONFIRMED', decided_by = 'bench', "
                                 "decided_at = $2 WHERE id = $1", order_id, now)
        await connection.execute("INSERT INTO dispatch_event (id, order_id, at, actor, action, from_status, "
                                 "to_status) VALUES ($1, $2, $3, 'bench', 'CONFIRMED', 'PENDING', 'CONFIRMED')",
                                 str(uuid.uuid4()), order_id, now)
        await connection.execute("UPDATE person SET management_region_code = $2, updated_at = $3, "
                                 "version = version + 1 WHERE uid = $1", person["uid"], target, now)
        await connection.execute(
            "INSERT INTO person_history (id, person_uid, at, actor, action, changes) VALUES ($1, $2, $3, 'bench', "
            "'DISPATCH', $4)", str(uuid.uuid4()), person["uid"], now,
            json.dumps({"management_region_code": target}))
        month = person["birth_date"].year * 100 + person["birth_date"].month
        moves = [(level, -1) for level in region_levels(person["management_region_code"])]
        moves += [(level, 1) for level in region_levels(target)]
        await connection.executemany(
            "INSERT INTO person_tally (region_code, sex, birth_month, mobility, person_type, count) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (region_code, sex, birth_month, mobility, person_type) "
            "DO UPDATE SET count = person_tally.count + excluded.count",
            [(level, person["sex"], month, person["mobility"], person["person_type"], delta) for level, delta in moves])
        await connection.executemany(
            "UPDATE work_tally SET count = count - 1 WHERE region_code = $1 AND kind = 'DISPATCH_PENDING' "
            "AND detail = ''", [(level,) for level in region_levels(target)])


# --- report -------------------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.2f}"


def report_markdown(persons: int, load_report: LoadReport | None, reused: bool, results: list[Measured],
                    args: argparse.Namespace) -> str:
    lines = [f"## population bench: {persons:,} persons", "",
             f"`python -m bench.population --persons {persons}{' --reuse' if reused else ''}` on "
             f"{datetime.now(CHINA):%Y-%m-%d %H:%M} (+08:00), {os.cpu_count()} CPUs; PostgreSQL database "
             f"`{asyncpg_dsn(args.database_url).rsplit('/', 1)[1]}`.", ""]
    if load_report is not None:
        total_rows = sum(v for k, v in load_report.rows.items() if not k.endswith("cleared"))
        copy_seconds = load_report.seconds.get("COPY", 0.0) or float("nan")
        loaded_rows = sum(load_report.rows.get(t, 0) for t in _loaded_tables())
        indexes = "kept during the load" if load_report.keep_indexes else "dropped for the load and rebuilt after"
        dataset = load_report.dataset
        lines += [f"### Load{' (from an earlier run, reused)' if reused else ''}", "",
                  f"From the dataset `{dataset.get('directory', '?')}` ({dataset.get('bytes', 0) / 2**30:,.2f} GiB of "
                  f"COPY files, generated {'by this run' if dataset.get('generated_now') else 'by an earlier run'} "
                  f"in {dataset.get('generation_seconds', 0):,.0f} s with {dataset.get('generation_workers', '?')} "
                  f"worker processes; not part of the load's time). {load_report.workers} connections COPYing; "
                  f"indexes and keys {indexes}. Server settings during the load: "
                  + (", ".join(f"{k} = {v}" for k, v in load_report.server_settings.items()) or "as found")
                  + " (put back afterwards).", "", "| step | seconds |", "|---|---|"]
        lines += [f"| {step} | {seconds:,.1f} |" for step, seconds in load_report.seconds.items()]
        holds = "holds" if load_report.total_seconds <= SEED_TARGET_SECONDS else "does not hold"
        lines += [f"| **total** | **{load_report.total_seconds:,.1f}** ({holds} the 10-minute target"
                  f"{' for 10 million' if persons >= 10_000_000 else ''}) |"]
        lines += [f"| after the load, before measuring: {step} | {seconds:,.1f} |"
                  for step, seconds in load_report.after_load_seconds.items()]
        lines += ["",
                  f"COPY rate: {loaded_rows / copy_seconds:,.0f} rows/s, {persons / copy_seconds:,.0f} persons/s; "
                  f"whole load {loaded_rows / load_report.total_seconds:,.0f} rows/s. Database size after the load: "
                  f"{load_report.database_bytes / 2**30:,.1f} GiB. Rows: "
                  + ", ".join(f"{k} {v:,}" for k, v in load_report.rows.items()) + f" (total {total_rows:,}).", ""]
        slowest = sorted(load_report.step_seconds.items(), key=lambda item: -item[1])[:8]
        if slowest:
            lines += ["Slowest index builds and foreign-key validations (two run at a time): "
                      + ", ".join(f"{name} {seconds:,.1f} s" for name, seconds in slowest) + ".", ""]
    plan: RoundsPlan = args.plan
    lines += [f"### Requests: {plan.warmup} warm-up requests, then rounds of about {plan.round_seconds:g} s per "
              f"operation and target, taking turns, until each has {plan.requests} requests in quiet rounds "
              f"(steal ≤ {plan.quiet_steal:.0%}; a round with more is run again, up to {plan.max_factor:g}× the "
              f"requests in all); dispatch: {args.dispatches} round trips, once each", "",
              "Figures on the left are over the quiet rounds; the right-hand columns give the figures over every "
              "round and the CPU steal seen (share of the two CPUs' time the host gave to other guests).", "",
              "| operation | router p50 ms | router p99 ms | subgraph p50 / p99 ms | SQL p50 ms | SQL p99 ms | "
              "router ÷ SQL p50 | router ÷ SQL p99 | target (p99) | all rounds: router p50 / p99 ms | "
              "rounds (noisy) | steal mean / max |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for m in results:
        if m.skipped or m.router is None:
            lines.append(f"| {m.name} | skipped: {m.skipped} | | | | | | | | | | |")
            continue
        router = m.router.summary(plan.quiet_steal)
        sql = m.sql.summary(plan.quiet_steal) if m.sql is not None else None
        direct = m.direct.summary(plan.quiet_steal) if m.direct is not None else None
        r50, r99 = router.quiet_p50, router.quiet_p99
        s50 = sql.quiet_p50 if sql else float("nan")
        s99 = sql.quiet_p99 if sql else float("nan")
        target = {"lookup": LOOKUP_TARGET_MS, "statistics": STATISTICS_TARGET_MS}.get(m.kind)
        verdict = "" if target is None else f"< {target:g} ms: {_holds(r99, target)}"
        if target is not None and router.all_requests > router.quiet_requests:
            verdict += f" (all rounds: {_holds(router.all_p99, target)})"
        if m.kind != "write" and router.quiet_requests < plan.requests:
            verdict += f" — only {router.quiet_requests} quiet requests"
        d50 = f"{_ms(direct.quiet_p50)} / {_ms(direct.quiet_p99)}" if direct else "—"
        lines.append(f"| {m.name} | {_ms(r50)} | {_ms(r99)} | {d50} | {_ms(s50)} | {_ms(s99)} | {r50 / s50:.1f}× | "
                     f"{r99 / s99:.1f}× | {verdict} | {_ms(router.all_p50)} / {_ms(router.all_p99)} | "
                     f"{router.rounds} ({router.noisy_rounds}) | {_steal(router)} |")
    return "\n".join(lines) + "\n"


def _holds(p99: float, target: float) -> str:
    return "holds" if p99 < target else "does not hold"


def _steal(summary: StreamSummary) -> str:
    if summary.mean_steal is None or summary.max_steal is None:
        return "unknown"
    return f"{summary.mean_steal:.1%} / {summary.max_steal:.1%}"


def _loaded_tables() -> tuple[str, ...]:
    from subgraphs.population.seed import COLUMNS

    return tuple(COLUMNS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.population", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=int(os.environ.get("BENCH_POPULATION_PERSONS", "10000000")))
    parser.add_argument("--reuse", action="store_true", help="keep the database when it holds --persons persons")
    parser.add_argument("--load-only", action="store_true", help="load, then stop (no requests)")
    parser.add_argument("--workers", type=int, default=2, help="processes generating and COPYing (default 2)")
    parser.add_argument("--chunk-blocks", type=int, default=4, help="blocks of 4,096 persons per COPY batch")
    parser.add_argument("--keep-indexes", action="store_true", help="load into the indexed tables (slower)")
    parser.add_argument("--requests", type=int, default=600, help="timed requests per operation in quiet rounds")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests first")
    parser.add_argument("--round-seconds", type=float, default=1.0, help="length of one round of an operation")
    parser.add_argument("--quiet-steal", type=float, default=0.02,
                        help="a round with more CPU steal than this share is run again (default 0.02)")
    parser.add_argument("--max-factor", type=float, default=4.0,
                        help="stop an operation after this many times --requests in all, quiet or not")
    parser.add_argument("--dispatches", type=int, default=100, help="timed dispatch round trips")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_POPULATION_DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--base-port", type=int, default=4700, help="router; the subgraph listens on +1")
    args = parser.parse_args(argv)
    args.plan = RoundsPlan(requests=args.requests, warmup=args.warmup, round_seconds=args.round_seconds,
                           quiet_steal=args.quiet_steal, max_factor=args.max_factor)

    from db.seed.world import MAX_PERSONS
    from subgraphs.launch import ensure_postgres_database

    if not 1 <= args.persons <= MAX_PERSONS:
        parser.error(f"--persons must be in 1..{MAX_PERSONS:,}")
    url = args.database_url
    OUT.mkdir(parents=True, exist_ok=True)
    load_file = OUT / f"population-{args.persons}-load.json"
    asyncio.run(ensure_postgres_database(sqlalchemy_url(url)))
    reused = args.reuse and asyncio.run(loaded_persons(url)) == args.persons
    if not reused:
        # The bench's database is its own: one made before the C collation became the rule is made again.
        asyncio.run(ensure_postgres_database(sqlalchemy_url(url), recreate_unless_c_collation=True))
    load_report: LoadReport | None = None
    if reused:
        print(f"reusing {args.persons:,} persons already loaded in {asyncpg_dsn(url)}", file=sys.stderr)
        if load_file.exists():
            saved = json.loads(load_file.read_text(encoding="utf-8"))
            # A report written by an older bench may carry fields this one no longer has.
            known = {f.name for f in dataclasses.fields(LoadReport)}
            load_report = LoadReport(**{k: v for k, v in saved.items() if k in known})
    else:
        settings = asyncio.run(_bulk_settings(url, apply=True))
        try:
            load_report = load(url, args.persons, args.workers, args.chunk_blocks, args.keep_indexes)
            load_report.server_settings = settings
            load_file.write_text(json.dumps(load_report.__dict__, indent=2), encoding="utf-8")
            load_report.after_load_seconds.update(asyncio.run(_settle(url)))
            load_file.write_text(json.dumps(load_report.__dict__, indent=2), encoding="utf-8")
        finally:
            # Reset after the CHECKPOINT: with WAL beyond the default limit, the reset would start one while
            # the requests are timed.
            asyncio.run(_bulk_settings(url, apply=False))
    results: list[Measured] = []
    if not args.load_only:
        results = measure(url, args.persons, args.base_port, args.plan, args.dispatches)
    if results:
        # Every round's timings and steal, for a closer look than the report's percentiles.
        (OUT / f"population-{args.persons}-rounds.json").write_text(json.dumps([
            {"operation": m.name, **{target: [dataclasses.asdict(r) for r in stream.rounds]
                                     for target, stream in (("router", m.router), ("subgraph", m.direct),
                                                            ("sql", m.sql)) if stream is not None}}
            for m in results]), encoding="utf-8")
    text = report_markdown(args.persons, load_report, reused, results, args)
    (OUT / f"population-{args.persons}.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
