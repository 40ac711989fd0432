"""`python -m subgraphs.population.jobs.tally [--check]`: rebuilds the statistics tallies of the population
database named by DATABASE_URL from the records, or (--check) compares them with a fresh computation.

The tallies are kept by the transaction that changes a record (domain/tally.py), so a rebuild is needed
only after a bulk load that bypassed them, a restore, or a bug. The rebuild runs in one transaction:
the statistics keep showing the old figures until it commits, and on PostgreSQL writers that move a
tally wait for it. --check changes nothing: it reads one snapshot, prints the rows that differ, and
exits with status 1 when any does (for a nightly job or a monitoring probe).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from db.config import database_url
from db.engine import make_engine, make_sessionmaker
from subgraphs.population.domain import tally

DOMAIN = "population"


async def rebuild(url: str | URL, *, progress: bool = True) -> tally.RebuildReport:
    engine = make_engine(DOMAIN, url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await tally.rebuild(session, progress=progress)
    finally:
        await engine.dispose()


async def check(url: str | URL, *, progress: bool = True, sample: int = 20) -> tally.DriftReport:
    engine = make_engine(DOMAIN, url)
    try:
        async with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                # One snapshot for the live tallies and the records they are compared with.
                connection = await connection.execution_options(isolation_level="REPEATABLE READ")
            transaction = await connection.begin()
            try:
                async with AsyncSession(bind=connection) as session:
                    return await tally.drift(session, progress=progress, sample=sample)
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


def _print_drift(report: tally.DriftReport) -> None:
    for table, rows in report.differing_rows.items():
        print(f"{table}: {rows} rows differ")
    for difference in report.sample:
        key = " ".join(f"{name}={value}" for name, value in difference.key.items())
        print(f"  {difference.table} {key}: live {difference.live}, records {difference.fresh}")
    if report.total > len(report.sample):
        print(f"  … {report.total - len(report.sample)} more")


async def run(url: str | URL, *, check_only: bool, progress: bool = True, sample: int = 20) -> int:
    """The job; the exit status (1: --check found drift)."""
    started = time.monotonic()
    if check_only:
        report = await check(url, progress=progress, sample=sample)
        _print_drift(report)
        verdict = "no drift" if report.total == 0 else f"DRIFT in {report.total} tally rows"
        print(f"{verdict} (checked in {time.monotonic() - started:.1f}s)")
        return 0 if report.total == 0 else 1
    rebuilt = await rebuild(url, progress=progress)
    print(f"person_tally {rebuilt.person_rows} rows, event_tally {rebuilt.event_rows} rows, "
          f"work_tally {rebuilt.work_rows} rows (rebuilt in {time.monotonic() - started:.1f}s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m subgraphs.population.jobs.tally", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="compare the tallies with the records without changing them; exit 1 on drift")
    parser.add_argument("--sample", type=int, default=20, help="differing rows to print with --check")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    return asyncio.run(run(database_url(), check_only=args.check, progress=not args.quiet, sample=args.sample))


if __name__ == "__main__":
    sys.exit(main())
