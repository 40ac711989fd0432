"""identity security: the IP blacklist (IP黑名单): IPv4, IPv6 and CIDR entries, immediate effect,
enable/disable, batch delete, all-or-nothing Excel/CSV import and export."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from subgraphs.identity import models
from subgraphs.identity.security import blacklist
from subgraphs.identity.security.blacklist import BlacklistError, NewEntry

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine("identity", f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}")
    await upgrade(engine, "identity")
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _add(sessions: async_sessionmaker[AsyncSession], *networks: str) -> list[str]:
    async with sessions() as session, session.begin():
        rows = await blacklist.add_entries(session, [NewEntry(n) for n in networks], now=NOW)
        return [r.id for r in rows]


async def _blocked(sessions: async_sessionmaker[AsyncSession], ip: str | None) -> bool:
    async with sessions() as session:
        return await blacklist.is_blocked(session, ip)


@pytest.mark.parametrize(("text", "stored"), [
    ("192.168.1.7", "192.168.1.7"), (" 192.168.1.7/32 ", "192.168.1.7"), ("192.168.1.0/24", "192.168.1.0/24"),
    ("2001:DB8:0:0::1", "2001:db8::1"), ("2001:db8::/32", "2001:db8::/32"), ("2001:db8::1/128", "2001:db8::1"),
    ("::ffff:10.0.0.1", "10.0.0.1"), ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
])
def test_normalisation(text: str, stored: str) -> None:
    assert blacklist.normalise(text) == stored


@pytest.mark.parametrize(("text", "message"), [
    ("192.168.1.7/24", "has host bits set; the range is written 192.168.1.0/24"),
    ("2001:db8::1/32", "the range is written 2001:db8::/32"),
    ("256.1.1.1", "is not an IPv4 or IPv6 address"), ("192.168.1.0/33", "is not an IPv4 or IPv6"),
    ("example.org", "is not an IPv4 or IPv6"), ("", "is empty"), ("0.0.0.0/0", "would block every address"),
    ("::/0", "would block every address"),
])
def test_bad_entries(text: str, message: str) -> None:
    with pytest.raises(BlacklistError) as caught:
        blacklist.parse_network(text)
    assert message in caught.value.message


def test_kind() -> None:
    assert blacklist.kind_of("10.0.0.1") == "SINGLE" and blacklist.kind_of("10.0.0.0/8") == "RANGE"


async def test_v4_v6_and_cidr_hits_and_misses(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _add(sessions, "203.0.113.9", "192.168.1.0/24", "2001:db8:1::/48", "2001:db8:ff::7")
    hits = ["203.0.113.9", "192.168.1.0", "192.168.1.255", "2001:db8:1::", "2001:db8:1:ffff:ffff:ffff:ffff:ffff",
            "2001:DB8:FF::7", "::ffff:192.168.1.20", "2001:db8:1::1%eth0"]
    misses = ["203.0.113.8", "203.0.113.10", "192.168.0.255", "192.168.2.0", "2001:db8:2::", "2001:db8:ff::8",
              "10.0.0.1", "::1", None, "", "garbage"]
    for ip in hits:
        assert await _blocked(sessions, ip), ip
    for miss in misses:
        assert not await _blocked(sessions, miss), miss


async def test_changes_take_effect_immediately(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert not await _blocked(sessions, "10.1.2.3")
    [entry_id] = await _add(sessions, "10.1.2.0/24")
    assert await _blocked(sessions, "10.1.2.3")
    async with sessions() as session, session.begin():
        await blacklist.set_enabled(session, [entry_id], False)
    assert not await _blocked(sessions, "10.1.2.3")
    async with sessions() as session, session.begin():
        await blacklist.update_entry(session, entry_id, enabled=True, network="10.9.0.0/16", remark="moved")
    assert not await _blocked(sessions, "10.1.2.3") and await _blocked(sessions, "10.9.200.1")
    async with sessions() as session, session.begin():
        assert await blacklist.delete_entries(session, [entry_id]) == 1
    assert not await _blocked(sessions, "10.9.200.1")
    async with sessions() as session:
        topics = (await session.scalars(select(models.OutboxEvent.topic))).all()
        assert topics and set(topics) == {blacklist.CHANGED_TOPIC}


async def test_enabled_networks_for_the_router(sessions: async_sessionmaker[AsyncSession]) -> None:
    ids = await _add(sessions, "10.0.0.0/8", "2001:db8::1")
    async with sessions() as session, session.begin():
        await blacklist.set_enabled(session, ids[:1], False)
    async with sessions() as session:
        networks = await blacklist.enabled_networks(session)
    assert networks == [ipaddress.ip_network("2001:db8::1/128")]
    assert blacklist.blocked_by(networks, "2001:db8::1") and not blacklist.blocked_by(networks, "10.0.0.1")


async def test_adding_is_all_or_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _add(sessions, "10.0.0.1")
    async with sessions() as session, session.begin():
        with pytest.raises(BlacklistError) as caught:
            await blacklist.add_entries(session, [
                NewEntry("10.0.0.2"), NewEntry("10.0.0.1/32"), NewEntry("bad"), NewEntry("10.0.0.2"),
                NewEntry("10.0.0.3", remark="x" * 257)], now=NOW)
    assert [row for row, _m in caught.value.errors] == [2, 3, 4, 5]
    assert "already in the blacklist" in caught.value.errors[0][1]
    assert "appears twice (also row 1)" in caught.value.errors[2][1]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(models.IpBlacklistEntry)) == 1


async def test_update_refuses_a_duplicate_and_batch_delete(sessions: async_sessionmaker[AsyncSession]) -> None:
    ids = await _add(sessions, "10.0.0.1", "10.0.0.2", "10.0.0.3")
    async with sessions() as session, session.begin():
        with pytest.raises(BlacklistError, match="already in the blacklist"):
            await blacklist.update_entry(session, ids[0], network="10.0.0.2")
        with pytest.raises(BlacklistError, match="No blacklist entry"):
            await blacklist.set_enabled(session, ["nope"], True)
        assert await blacklist.delete_entries(session, [*ids[:2], "nope"]) == 2
    async with sessions() as session:
        assert (await session.scalars(select(models.IpBlacklistEntry.network))).all() == ["10.0.0.3"]


async def test_filters(sessions: async_sessionmaker[AsyncSession]) -> None:
    ids = await _add(sessions, "192.168.1.0/24", "192.168.2.9", "2001:db8::1")
    async with sessions() as session, session.begin():
        await blacklist.set_enabled(session, [ids[1]], False)
        await blacklist.update_entry(session, ids[2], remark="扫描器 scanner_x")
    async with sessions() as session:
        async def networks(keyword: str | None, enabled: bool | None) -> list[str]:
            stmt = blacklist.filtered(keyword, enabled).order_by(models.IpBlacklistEntry.network)
            return [r.network for r in (await session.scalars(stmt)).all()]

        assert await networks("192.168", None) == ["192.168.1.0/24", "192.168.2.9"]
        assert await networks("192.168", True) == ["192.168.1.0/24"]
        assert await networks(None, False) == ["192.168.2.9"]
        assert await networks("DB8", None) == ["2001:db8::1"]
        assert await networks("扫描器", None) == ["2001:db8::1"]
        assert await networks("r_x", None) == ["2001:db8::1"] and await networks("%", None) == []


@pytest.mark.parametrize("fmt", ["XLSX", "CSV"])
async def test_export_then_import_round_trip(sessions: async_sessionmaker[AsyncSession], fmt: str) -> None:
    ids = await _add(sessions, "192.168.1.0/24", "2001:db8::1")
    async with sessions() as session, session.begin():
        await blacklist.update_entry(session, ids[1], enabled=False, remark="备注")
    async with sessions() as session:
        rows = (await session.scalars(select(models.IpBlacklistEntry).order_by(models.IpBlacklistEntry.network))).all()
        content = blacklist.export_file(rows, fmt)  # type: ignore[arg-type]
    assert blacklist.parse_import(content, fmt) == [  # type: ignore[arg-type]
        (2, NewEntry("192.168.1.0/24", None, True)), (3, NewEntry("2001:db8::1", "备注", False))]
    async with sessions() as session, session.begin():
        assert await blacklist.delete_entries(session, ids) == 2
        assert await blacklist.import_entries(session, content, fmt, now=NOW) == 2  # type: ignore[arg-type]
    assert await _blocked(sessions, "192.168.1.1") and not await _blocked(sessions, "2001:db8::1")


@pytest.mark.parametrize("fmt", ["XLSX", "CSV"])
async def test_an_exported_remark_excel_would_run_is_text_and_imports_back(
        sessions: async_sessionmaker[AsyncSession], fmt: str) -> None:
    ids = await _add(sessions, "10.1.0.1")
    async with sessions() as session, session.begin():
        await blacklist.update_entry(session, ids[0], remark='=HYPERLINK("http://x")')
    async with sessions() as session:
        rows = (await session.scalars(select(models.IpBlacklistEntry))).all()
        content = blacklist.export_file(rows, fmt)  # type: ignore[arg-type]
    if fmt == "CSV":
        assert "'=HYPERLINK" in content.decode("utf-8-sig")
    assert blacklist.parse_import(content, fmt) == [  # type: ignore[arg-type]
        (2, NewEntry("10.1.0.1", '=HYPERLINK("http://x")', True))]


async def test_import_is_all_or_nothing_with_row_errors(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _add(sessions, "10.0.0.1")
    csv_text = ("IP地址/IP段,类型,状态,备注\n10.0.0.2,,启用,\n,,,\n10.0.0.1,,,dup\n192.168.1.5/24,,,\n"
                "10.0.0.9,,maybe,\n")
    async with sessions() as session, session.begin():
        with pytest.raises(BlacklistError) as caught:
            await blacklist.import_entries(session, csv_text.encode(), "CSV", now=NOW)
    assert [row for row, _m in caught.value.errors] == [6]  # the status is checked first
    fixed = csv_text.replace("maybe", "禁用")
    async with sessions() as session, session.begin():
        with pytest.raises(BlacklistError) as caught:
            await blacklist.import_entries(session, fixed.encode(), "CSV", now=NOW)
    assert [row for row, _m in caught.value.errors] == [4, 5]  # numbered as in the file (row 3 is blank)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(models.IpBlacklistEntry)) == 1
    with pytest.raises(BlacklistError, match="header"):
        blacklist.parse_import(b"ip\n10.0.0.1\n", "CSV")
    with pytest.raises(BlacklistError, match="cannot be read"):
        blacklist.parse_import(b"not a workbook", "XLSX")


def test_the_template_imports() -> None:
    assert [e.network for _n, e in blacklist.parse_import(blacklist.import_template(), "XLSX")] == [
        "192.168.1.0/24", "2001:db8::1"]
