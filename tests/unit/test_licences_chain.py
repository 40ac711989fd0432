"""The hash chain of the licence records (subgraphs/licences/domain/chain.py) on a bare SQLite database:
links, every kind of tampering, and chunked walking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import make_engine, make_sessionmaker
from subgraphs.licences import models
from subgraphs.licences.domain import chain
from subgraphs.licences.domain.chain import GENESIS, ChainName, append, content_of, link_hash, verify_chain

V = models.VerificationRecord
START = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    engine = make_engine("licences", f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(models.Base.metadata.create_all)
    async with make_sessionmaker(engine)() as s:
        yield s
    await engine.dispose()


def record(i: int) -> models.VerificationRecord:
    return V(id=f"vr-{i}", verified_at=START + timedelta(minutes=i), verifier="u-inspector", method="NUMBER",
             type_code="NURSE_PRACTICE", licence_id=f"lic-{i}", outcome="AUTHENTIC_VALID")


async def chain_of(session: AsyncSession, count: int) -> list[models.VerificationRecord]:
    rows = [await append(session, ChainName.VERIFICATION, record(i)) for i in range(1, count + 1)]
    await session.commit()
    return rows  # type: ignore[return-value]


async def test_links_start_at_genesis_and_follow_each_other(session: AsyncSession) -> None:
    rows = await chain_of(session, 3)
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert rows[0].hash == link_hash(GENESIS, content_of({c.key: getattr(rows[0], c.key)
                                                          for c in V.__table__.columns}, V))
    report = await verify_chain(session, ChainName.VERIFICATION)
    assert report.intact and report.length == report.head_length == 3 and report.head_hash == rows[2].hash


async def test_the_same_moment_in_another_zone_hashes_the_same() -> None:
    values = {"seq": 1, "id": "vr-1", "verified_at": START}
    shifted = {**values, "verified_at": START.astimezone(timezone(timedelta(hours=8)))}
    assert content_of(values, V) == content_of(shifted, V)


async def test_an_empty_chain_is_intact(session: AsyncSession) -> None:
    report = await verify_chain(session, ChainName.PRESENTATION)
    assert report.intact and report.length == 0 and report.head_length is None


async def test_an_edit_is_found_even_with_a_recomputed_hash(session: AsyncSession) -> None:
    rows = await chain_of(session, 4)
    forged = {c.key: getattr(rows[1], c.key) for c in V.__table__.columns} | {"outcome": "NOT_FOUND"}
    await session.execute(update(V).where(V.seq == 2).values(
        outcome="NOT_FOUND", hash=link_hash(rows[1].prev_hash, content_of(forged, V))))
    await session.commit()
    report = await verify_chain(session, ChainName.VERIFICATION)
    assert not report.intact and report.broken_at == 3 and "does not follow" in (report.reason or "")


async def test_a_deletion_is_found_across_chunks(session: AsyncSession) -> None:
    await chain_of(session, 7)
    seen: list[int] = []
    assert (await verify_chain(session, ChainName.VERIFICATION, chunk=2, progress=seen.append)).intact
    assert seen == [2, 4, 6, 7]
    await session.execute(delete(V).where(V.seq == 5))
    await session.commit()
    report = await verify_chain(session, ChainName.VERIFICATION, chunk=2)
    assert not report.intact and report.broken_at == 5 and report.length == 4


async def test_a_truncated_tail_and_a_stray_record_are_found_by_the_head(session: AsyncSession) -> None:
    rows = await chain_of(session, 3)
    await session.execute(delete(V).where(V.seq == 3))
    await session.commit()
    report = await verify_chain(session, ChainName.VERIFICATION)
    assert not report.intact and report.broken_at == 3 and "deleted" in (report.reason or "")

    last = rows[1]
    stray = record(9)
    stray.seq, stray.prev_hash = 3, last.hash
    stray.hash = link_hash(last.hash, content_of({c.key: getattr(stray, c.key) for c in V.__table__.columns}, V))
    session.add(stray)
    await session.execute(update(models.ChainHead).values(length=2, last_hash=last.hash))
    await session.commit()
    report = await verify_chain(session, ChainName.VERIFICATION)
    assert not report.intact and report.broken_at == 3 and "outside the chain" in (report.reason or "")


async def test_records_join_only_their_own_chain(session: AsyncSession) -> None:
    with pytest.raises(TypeError):
        await append(session, ChainName.PRESENTATION, record(1))


async def test_a_record_appended_with_a_beijing_moment_verifies_as_stored(session: AsyncSession) -> None:
    row = record(1)
    row.verified_at = START.astimezone(timezone(timedelta(hours=8)))
    await append(session, ChainName.VERIFICATION, row)
    await session.commit()
    assert (await verify_chain(session, ChainName.VERIFICATION)).intact


async def test_an_append_during_the_walk_is_no_alarm(session: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = await chain_of(session, 3)
    real = chain._head
    calls: list[int] = []

    async def stale_then_real(s: AsyncSession, name: ChainName) -> tuple[int, str] | None:
        calls.append(1)
        # The first read sees the head before record 3 committed, as a check racing an append would.
        return (2, rows[1].hash) if len(calls) == 1 else await real(s, name)

    monkeypatch.setattr(chain, "_head", stale_then_real)
    report = await verify_chain(session, ChainName.VERIFICATION)
    assert report.intact and report.length == 2 and len(calls) == 2
