"""`python -m subgraphs.licences.jobs.chain [--chain presentation|verification]`: verifies the hash chains of
the presentation and verification records (亮证记录, 核验记录) of the licences database named by
DATABASE_URL, and exits with status 0 when every chain checked is intact, 1 when one is broken (the first
broken link's seq and the reason are printed).

It only reads, in one snapshot on PostgreSQL. Run it nightly or from monitoring; keep the printed head
(LENGTH:HASH) outside the database and pass it back with --anchor: a chain rewritten whole would verify,
but no longer hold the anchored head (docs/licences/presentation.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from db.config import database_url
from db.engine import make_engine
from subgraphs.licences.domain.chain import MODELS, ChainName, ChainReport, verify_chain

DOMAIN = "licences"


Anchor = tuple[int, str]  # a head printed by an earlier run: (length, hash)


async def _anchored(session: AsyncSession, report: ChainReport, anchor: Anchor) -> ChainReport:
    """The report, broken when the chain no longer holds the earlier head `anchor` at its place."""
    model = MODELS[report.chain]
    length, expected = anchor
    found = await session.scalar(select(model.hash).where(model.seq == length))
    if not report.intact or found == expected:
        return report
    return ChainReport(report.chain, False, report.length, report.head_length, report.head_hash, length,
                       f"record {length} is not the anchored head {expected[:16]}…: the chain was rewritten")


async def verify(url: str | URL, chains: Sequence[ChainName], *, progress: bool = True,
                 anchor: Anchor | None = None) -> list[ChainReport]:
    engine = make_engine(DOMAIN, url)
    try:
        async with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                # The head and the records from one snapshot, while appends go on.
                connection = await connection.execution_options(isolation_level="REPEATABLE READ")
            transaction = await connection.begin()
            try:
                async with AsyncSession(bind=connection) as session:
                    reports = []
                    for name in chains:
                        def show(read: int, name: ChainName = name) -> None:
                            print(f"\r{name.value}: {read} records checked", end="", file=sys.stderr, flush=True)

                        report = await verify_chain(session, name, progress=show if progress else None)
                        reports.append(report if anchor is None else await _anchored(session, report, anchor))
                        if progress:
                            print(file=sys.stderr)
                    return reports
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


def describe(report: ChainReport) -> str:
    if report.intact:
        head = f"head {report.head_length}:{report.head_hash}" if report.head_hash else "empty"
        return f"{report.chain.value}: intact, {report.length} records ({head})"
    return f"{report.chain.value}: BROKEN at seq {report.broken_at}: {report.reason}"


async def run(url: str | URL, chains: Sequence[ChainName], *, progress: bool = True,
              anchor: Anchor | None = None) -> int:
    started = time.monotonic()
    reports = await verify(url, chains, progress=progress, anchor=anchor)
    for report in reports:
        print(describe(report))
    print(f"(checked in {time.monotonic() - started:.1f}s)")
    return 0 if all(r.intact for r in reports) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m subgraphs.licences.jobs.chain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chain", choices=[c.value for c in ChainName],
                        help="check this chain only (default: both)")
    parser.add_argument("--anchor", metavar="LENGTH:HASH",
                        help="with --chain: a head printed by an earlier run, which the chain must still hold")
    parser.add_argument("--quiet", action="store_true", help="no progress")
    args = parser.parse_args(argv)
    anchor = None
    if args.anchor:
        length, _, digest = args.anchor.partition(":")
        if not args.chain or not length.isdigit() or len(digest) != 64:
            parser.error("--anchor takes LENGTH:HASH (as printed) and needs --chain")
        anchor = (int(length), digest)
    chains = [ChainName(args.chain)] if args.chain else list(ChainName)
    return asyncio.run(run(database_url(), chains, progress=not args.quiet, anchor=anchor))


if __name__ == "__main__":
    sys.exit(main())
