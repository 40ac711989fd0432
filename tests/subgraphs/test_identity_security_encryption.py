"""identity security: SM4 field encryption, blind-index lookup, the ENCRYPTION policy, and key rotation
(restartable, with no unreadable record at any point), on a real SQLite database."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from subgraphs.identity import models
from subgraphs.identity.security import rotation
from subgraphs.identity.security.crypto import (
    MOBILE_INDEX,
    NAME_INDEX,
    CryptoError,
    FieldCipher,
    Keyring,
    KeyVersion,
    MasterKey,
    index_lookup,
    load_keyring,
    user_mobile,
    user_name,
    write_user_fields,
)
from subgraphs.identity.security.encryption import EncryptionPolicy, encryption_test, keys_due_for_rotation
from subgraphs.identity.security.policy import PolicyError, save_policy
from subgraphs.identity.security.rotation import rotate_if_due, rotate_keys

MASTER = MasterKey(bytes(range(32)))
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
USERS = 23


def _person(i: int) -> tuple[str, str]:
    return f"用户{i:02d}", f"138{i:08d}"


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """23 users: the even ones encrypted with key version 1, the odd ones legacy plaintext (no mobile),
    and one user with nothing personal at all."""
    engine = make_engine("identity", f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}")
    await upgrade(engine, "identity")
    maker = make_sessionmaker(engine)
    async with maker() as session, session.begin():
        session.add(models.Organization(id="org-1", name="测试机构", kind="HOSPITAL", level="CITY",
                                        region_code="320100", credit_code="12320000000000000X"))
        await session.flush()
        cipher = FieldCipher(await load_keyring(session, MASTER))
        for i in range(USERS):
            name, mobile = _person(i)
            user = models.User(id=f"usr-{i:02d}", username=f"u{i:02d}", organization_id="org-1", status="NORMAL",
                               created_at=NOW, display_name=name)
            if i % 2 == 0:
                write_user_fields(cipher, user, name=name, mobile=mobile)
            session.add(user)
        session.add(models.User(id="usr-zz", username="empty", organization_id="org-1", status="NORMAL",
                                created_at=NOW))
    yield maker
    await engine.dispose()


async def _read_all(sessions: async_sessionmaker[AsyncSession]) -> dict[str, tuple[str | None, str | None]]:
    """Every user's name and mobile as a reader sees them now (fails on any unreadable value)."""
    async with sessions() as session:
        cipher = FieldCipher(await load_keyring(session, MASTER, create=False))
        rows = (await session.scalars(select(models.User).order_by(models.User.id))).all()
        return {r.id: (user_name(cipher, r), user_mobile(cipher, r)) for r in rows}


def _expected() -> dict[str, tuple[str | None, str | None]]:
    out: dict[str, tuple[str | None, str | None]] = {}
    for i in range(USERS):
        name, mobile = _person(i)
        out[f"usr-{i:02d}"] = (name, mobile if i % 2 == 0 else None)
    out["usr-zz"] = (None, None)
    return out


# --- SM4 and the blind index ----------------------------------------------------------------------


def test_sm4_round_trip_and_tamper_detection() -> None:
    cipher = FieldCipher(Keyring([KeyVersion.generate(1)]))
    for text in ("张三", "13800000000", "", "x" * 1000):
        blob = cipher.encrypt(text)
        assert (cipher.decrypt(blob) == text and text.encode() not in blob[5:]) or text == ""
    blob = cipher.encrypt("张三")
    assert cipher.encrypt("张三") != blob  # a fresh IV each time
    assert FieldCipher.version_of(blob) == 1
    tampered = bytearray(blob)
    tampered[20] ^= 0x01
    with pytest.raises(CryptoError):
        cipher.decrypt(bytes(tampered))
    other = FieldCipher(Keyring([KeyVersion.generate(1)]))
    with pytest.raises(CryptoError):
        other.decrypt(blob)


def test_wrapped_keys_need_the_master_key() -> None:
    key = KeyVersion.generate(3)
    wrapped = MASTER.wrap(key)
    assert MASTER.unwrap(3, wrapped, True) == key
    with pytest.raises(CryptoError):
        MasterKey(bytes(32)).unwrap(3, wrapped, True)
    with pytest.raises(CryptoError):
        MASTER.unwrap(4, wrapped, True)


async def test_lookup_by_blind_index(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        cipher = FieldCipher(await load_keyring(session, MASTER, create=False))
        found = (await session.scalars(select(models.User).where(
            index_lookup(cipher, models.User.mobile_index, "13800000004", MOBILE_INDEX)))).all()
        assert [u.id for u in found] == ["usr-04"]
        by_name = (await session.scalars(select(models.User).where(
            index_lookup(cipher, models.User.name_index, "用户06", NAME_INDEX)))).all()
        assert [u.id for u in by_name] == ["usr-06"]
        assert (await session.scalars(select(models.User).where(
            index_lookup(cipher, models.User.mobile_index, "13800000005", MOBILE_INDEX)))).all() == []
        # the index differs per kind: a name never matches as a mobile
        assert cipher.blind_index("x", NAME_INDEX) != cipher.blind_index("x", MOBILE_INDEX)


# --- policy ---------------------------------------------------------------------------------------


def test_encryption_policy_ranges() -> None:
    EncryptionPolicy().validate()
    for ok in (30, 365):
        EncryptionPolicy(key_validity_days=ok).validate()
    for bad in (29, 366):
        with pytest.raises(PolicyError) as caught:
            EncryptionPolicy(key_validity_days=bad).validate()
        assert caught.value.setting == "key_validity_days"
    for bad_policy in (EncryptionPolicy(transport_protocol="SSL3"), EncryptionPolicy(transport_algorithms=()),
                       EncryptionPolicy(transport_algorithms=("RSA",)), EncryptionPolicy(storage_fields=("email",)),
                       EncryptionPolicy(storage_algorithm="AES")):
        with pytest.raises(PolicyError):
            bad_policy.validate()


async def test_keys_due_for_rotation(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        key = await session.get(models.EncryptionKey, 1)
        assert key is not None
        key.created_at = NOW
        await save_policy(session, EncryptionPolicy(key_validity_days=30), now=NOW)
        assert await keys_due_for_rotation(session, NOW + timedelta(days=30, seconds=-1)) == []
        assert await keys_due_for_rotation(session, NOW + timedelta(days=30)) == [1]


async def test_encryption_test(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        result = await encryption_test(session, MASTER, "加密测试 13800000000")
    assert result.ok and result.decrypted == "加密测试 13800000000" and result.tamper_detected
    assert result.key_version == 1 and result.ciphertext_hex and result.error is None
    async with sessions() as session:
        wrong = await encryption_test(session, MasterKey(bytes(32)), "x")
    assert not wrong.ok and wrong.error


# --- rotation -------------------------------------------------------------------------------------


async def test_rotation_re_encrypts_every_row(sessions: async_sessionmaker[AsyncSession]) -> None:
    calls: list[tuple[int, int]] = []
    result = await rotate_keys(sessions, MASTER, batch=5, progress=lambda done, total: calls.append((done, total)),
                               operator_id="usr-admin")
    assert (result.from_version, result.to_version, result.status, result.resumed) == (1, 2, "DONE", False)
    assert result.records == USERS and result.unreadable == []
    assert calls[0] == (0, USERS) and calls[-1] == (USERS, USERS) and len(calls) == 1 + 5
    assert await _read_all(sessions) == _expected()
    async with sessions() as session:
        users = (await session.scalars(select(models.User).where(models.User.id != "usr-zz"))).all()
        assert {u.key_version for u in users} == {2}
        assert all(u.display_name is None and u.name_cipher is not None for u in users)
        assert {k.version: k.status for k in (await session.scalars(select(models.EncryptionKey))).all()} == {
            1: "RETIRED", 2: "ACTIVE"}
        log = await session.get(models.KeyRotationLog, result.log_id)
        assert log is not None and (log.status, log.records, log.operator_id) == ("DONE", USERS, "usr-admin")
        assert log.finished_at is not None
        # lookups now use the new index key; the old one would no longer find the row
        cipher = FieldCipher(await load_keyring(session, MASTER, create=False))
        user = (await session.scalars(select(models.User).where(
            models.User.mobile_index == cipher.blind_index("13800000004", MOBILE_INDEX)))).one()
        assert user.id == "usr-04" and FieldCipher.version_of(user.mobile_cipher or b"") == 2
    again = await rotate_keys(sessions, MASTER, batch=100)  # the next rotation: a new version
    assert (again.from_version, again.to_version, again.records) == (2, 3, USERS)
    assert await _read_all(sessions) == _expected()


class Crash(Exception):
    pass


@pytest.mark.parametrize("kind", [Crash, KeyboardInterrupt])
async def test_a_crash_midway_leaves_everything_readable_and_a_rerun_finishes(
        sessions: async_sessionmaker[AsyncSession], kind: type[BaseException]) -> None:
    def crash_after_two_batches(done: int, total: int) -> None:
        if done >= 10:
            raise kind("power cut")

    with pytest.raises(kind):
        await rotate_keys(sessions, MASTER, batch=5, progress=crash_after_two_batches)
    # midway: some rows under version 2, the rest still under 1 (or plaintext); every one readable,
    # and lookups find both kinds through the indexes of every version
    assert await _read_all(sessions) == _expected()
    async with sessions() as session:
        versions = {u.key_version for u in (await session.scalars(select(models.User))).all()}
        assert 2 in versions and (1 in versions or None in versions)
        log = (await session.scalars(select(models.KeyRotationLog))).one()
        assert log.status == ("FAILED" if kind is Crash else "RUNNING") and log.records == 10
        cipher = FieldCipher(await load_keyring(session, MASTER, create=False))
        for i in (0, 22):  # one done, one not yet
            mobile = _person(i)[1]
            assert (await session.scalars(select(models.User.id).where(
                index_lookup(cipher, models.User.mobile_index, mobile, MOBILE_INDEX)))).all() == [f"usr-{i:02d}"]
    # a writer during the rotation uses the new active key
    async with sessions() as session, session.begin():
        cipher = FieldCipher(await load_keyring(session, MASTER, create=False))
        assert cipher.keyring.active.version == 2
    rerun = await rotate_keys(sessions, MASTER, batch=5)
    assert (rerun.to_version, rerun.status, rerun.resumed, rerun.records) == (2, "DONE", True, USERS)
    assert await _read_all(sessions) == _expected()
    async with sessions() as session:
        assert len((await session.scalars(select(models.EncryptionKey))).all()) == 2  # no third version
        assert {u.key_version for u in (await session.scalars(select(models.User).where(
            models.User.id != "usr-zz"))).all()} == {2}


async def test_a_row_written_with_the_old_key_meanwhile_is_caught(
        sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    """A request that loaded the keyring just before the rotation writes with the old version after the
    job passed that row: a further pass re-encrypts it."""
    async with sessions() as session:
        stale = FieldCipher(await load_keyring(session, MASTER, create=False))
    written = False

    def writer(done: int, total: int) -> None:
        # between two batches (no transaction of the job open): another process's write
        nonlocal written
        if done >= 20 and not written:
            written = True
            with sqlite3.connect(tmp_path / "identity-identity.db") as connection:
                connection.execute(
                    "UPDATE users SET name_cipher = ?, name_index = ?, key_version = 1 WHERE id = 'usr-02'",
                    (stale.encrypt("改名"), stale.blind_index("改名", NAME_INDEX)))

    result = await rotate_keys(sessions, MASTER, batch=5, progress=writer)
    assert written and result.status == "DONE" and result.records == USERS + 1
    async with sessions() as session:
        user = await session.get(models.User, "usr-02")
        assert user is not None and user.key_version == 2
        assert FieldCipher.version_of(user.name_cipher or b"") == 2
    assert (await _read_all(sessions))["usr-02"] == ("改名", "13800000002")


async def test_an_unreadable_row_fails_the_run_but_nothing_else(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        user = await session.get(models.User, "usr-04")
        assert user is not None and user.name_cipher is not None
        user.name_cipher = user.name_cipher[:-1] + bytes([user.name_cipher[-1] ^ 1])
    result = await rotate_keys(sessions, MASTER, batch=5)
    assert result.status == "FAILED" and result.unreadable == ["usr-04"] and result.records == USERS - 1


async def test_rotation_from_no_key_encrypts_legacy_rows(tmp_path: Path) -> None:
    engine = make_engine("identity", f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    await upgrade(engine, "identity")
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            session.add(models.Organization(id="org-1", name="机构", kind="HOSPITAL", level="CITY",
                                            region_code="320100", credit_code="12320000000000000X"))
            await session.flush()
            session.add(models.User(id="usr-1", username="a", organization_id="org-1", status="NORMAL",
                                    created_at=NOW, display_name="王五"))
        result = await rotate_keys(sessions, MASTER)
        assert (result.from_version, result.to_version, result.records) == (None, 1, 1)
        async with sessions() as session:
            user = await session.get(models.User, "usr-1")
            cipher = FieldCipher(await load_keyring(session, MASTER, create=False))
            assert user is not None and user.display_name is None and user_name(cipher, user) == "王五"
    finally:
        await engine.dispose()


async def test_rotate_if_due(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        key = await session.get(models.EncryptionKey, 1)
        assert key is not None
        key.created_at = NOW
    assert await rotate_if_due(sessions, MASTER, now=lambda: NOW + timedelta(days=89)) is None
    result = await rotate_if_due(sessions, MASTER, now=lambda: NOW + timedelta(days=90))
    assert result is not None and result.to_version == 2
    async with sessions() as session, session.begin():
        await save_policy(session, EncryptionPolicy(auto_rotate=False), now=NOW)
    assert await rotate_if_due(sessions, MASTER, now=lambda: NOW + timedelta(days=400)) is None


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        rotation.main(["--help"])
    assert exited.value.code == 0 and "--batch" in capsys.readouterr().out
