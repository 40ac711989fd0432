"""identity security: the password policy (密码策略) and its rules, on a real SQLite database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from subgraphs.identity import models
from subgraphs.identity.security.hashing import verify_password
from subgraphs.identity.security.passwords import (
    PasswordPolicy,
    check_new_password,
    generate_temporary_password,
    password_status,
    set_password,
    strength,
    validate_new_password,
)
from subgraphs.identity.security.policy import PolicyError, load_policy, save_policy

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
GOOD = "Abcdef1!"  # 8 characters, four classes: MEDIUM


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine("identity", f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}")
    await upgrade(engine, "identity")
    maker = make_sessionmaker(engine)
    async with maker() as session, session.begin():
        session.add(models.Organization(id="org-1", name="测试机构", kind="HOSPITAL", level="CITY",
                                        region_code="320100", credit_code="12320000000000000X"))
        await session.flush()
        session.add(models.User(id="usr-1", username="alice", organization_id="org-1", status="NORMAL",
                                created_at=NOW - timedelta(days=400)))
    yield maker
    await engine.dispose()


# --- the policy's own settings --------------------------------------------------------------------


def test_defaults_are_valid() -> None:
    policy = PasswordPolicy()
    policy.validate()
    assert (policy.min_length, policy.max_length, policy.expiry_days, policy.min_change_interval_days,
            policy.history) == (8, 32, 90, 1, 5)


@pytest.mark.parametrize(("setting", "low", "high"), [
    ("min_length", 6, 32), ("max_length", 6, 32), ("expiry_days", 1, 365),
    ("min_change_interval_days", 1, 30), ("history", 1, 10),
])
def test_each_setting_at_its_range_edges(setting: str, low: int, high: int) -> None:
    base = PasswordPolicy(min_length=6, max_length=32)
    for ok in (low, high):
        PasswordPolicy(**{**base.__dict__, setting: ok}).validate()
    for bad in (low - 1, high + 1):
        with pytest.raises(PolicyError) as caught:
            PasswordPolicy(**{**base.__dict__, setting: bad}).validate()
        assert caught.value.setting == setting and setting in str(caught.value)


def test_min_length_may_not_exceed_max_length() -> None:
    PasswordPolicy(min_length=12, max_length=12).validate()
    with pytest.raises(PolicyError) as caught:
        PasswordPolicy(min_length=13, max_length=12).validate()
    assert caught.value.setting == "min_length"


def test_wrong_kinds_are_refused() -> None:
    with pytest.raises(PolicyError):
        PasswordPolicy(history=True).validate()  # a bool is not a number here
    with pytest.raises(PolicyError):
        PasswordPolicy(min_strength="ULTRA").validate()
    with pytest.raises(PolicyError):
        PasswordPolicy(require_digit="yes").validate()  # type: ignore[arg-type]


async def test_policy_is_stored_and_effective_at_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        assert await load_policy(session, PasswordPolicy) == PasswordPolicy()  # never saved: the defaults
        await save_policy(session, PasswordPolicy(min_length=10, history=3), now=NOW, by="usr-admin")
    async with sessions() as session:
        policy = await load_policy(session, PasswordPolicy)
        row = await session.get(models.SecurityPolicy, "PASSWORD")
    assert (policy.min_length, policy.history) == (10, 3)
    assert row is not None and row.value["min_length"] == 10 and row.updated_by == "usr-admin"
    assert check_new_password(policy, "Abcdef1!x") == ["The password must be at least 10 characters long."]
    async with sessions() as session:
        with pytest.raises(PolicyError):
            await save_policy(session, PasswordPolicy(history=11), now=NOW)


# --- composition, length and strength -------------------------------------------------------------


def test_length_at_the_tender_edges() -> None:
    widest = PasswordPolicy(min_length=6, max_length=32, min_strength="WEAK")
    assert any("at least 6" in p for p in check_new_password(widest, "Ab1!x"))  # 5
    assert check_new_password(widest, "Ab1!xy") == []  # 6
    assert check_new_password(widest, "Ab1!" + "x" * 28) == []  # 32
    assert any("at most 32" in p for p in check_new_password(widest, "Ab1!" + "x" * 29))  # 33


def test_length_at_the_policy_own_edges() -> None:
    policy = PasswordPolicy(min_length=10, max_length=12, min_strength="WEAK")
    assert any("at least 10" in p for p in check_new_password(policy, "Abcdef12!"))  # 9
    assert check_new_password(policy, "Abcdef123!") == []  # 10
    assert check_new_password(policy, "Abcdef12345!") == []  # 12
    assert any("at most 12" in p for p in check_new_password(policy, "Abcdef123456!"))  # 13


def test_composition_rules() -> None:
    policy = PasswordPolicy(min_strength="WEAK")
    assert check_new_password(policy, GOOD) == []
    assert check_new_password(policy, "12345678!") == ["The password must contain at least one letter."]
    assert check_new_password(policy, "Abcdefgh!") == ["The password must contain at least one digit."]
    assert check_new_password(policy, "Abcdefgh1") == [
        "The password must contain at least one special character (such as !@#$%)."]
    # one letter of either case is enough (至少包含1位大写/小写字母) unless mixed case is asked for
    assert check_new_password(policy, "abcdef1!") == []
    mixed = PasswordPolicy(min_strength="WEAK", require_mixed_case=True)
    assert check_new_password(mixed, "abcdef1!") == [
        "The password must contain both an upper-case and a lower-case letter."]
    relaxed = PasswordPolicy(require_special=False, require_digit=False, min_strength="WEAK")
    assert check_new_password(relaxed, "abcdefgh") == []
    assert any("only letters" in p for p in check_new_password(policy, "Abcdef1!密码"))


@pytest.mark.parametrize(("password", "expected"), [
    ("abc", "WEAK"), ("aaaaaaaaaaaa1!", "WEAK"), ("Password1!", "WEAK"), ("abcdefg1", "WEAK"),
    ("Abcdefg1", "MEDIUM"), ("abcdefgh1!", "MEDIUM"), ("abcdefghijk1", "MEDIUM"),
    ("Abcdefghij1!", "STRONG"), ("abcdefghijklmn1!", "STRONG"), ("Abcdefghi1!", "MEDIUM"),
])
def test_strength(password: str, expected: str) -> None:
    assert strength(password) == expected


def test_minimum_strength() -> None:
    strong_only = PasswordPolicy(min_strength="STRONG")
    assert check_new_password(strong_only, GOOD) == [
        "The password is medium; the policy asks for at least strong."]
    assert check_new_password(strong_only, "Abcdefghij1!") == []


def test_temporary_passwords_satisfy_the_policy() -> None:
    for policy in (PasswordPolicy(), PasswordPolicy(min_length=20, require_mixed_case=True, min_strength="STRONG")):
        for _ in range(20):
            assert check_new_password(policy, generate_temporary_password(policy)) == []


# --- history, interval, expiry --------------------------------------------------------------------


async def _user(session: AsyncSession) -> models.User:
    user = await session.get(models.User, "usr-1")
    assert user is not None
    return user


async def test_history_forbids_the_last_n(sessions: async_sessionmaker[AsyncSession]) -> None:
    policy = PasswordPolicy(history=3, min_change_interval_days=1)
    day = timedelta(days=1)
    async with sessions() as session, session.begin():
        user = await _user(session)
        for i, pw in enumerate(["First1!a", "Second2!b", "Third3!c", "Fourth4!d"]):
            await set_password(session, user, pw, NOW + i * 2 * day)
        later = NOW + 30 * day
        # the current one and the two before it (N = 3) are refused; the fourth back is free again
        for reused in ("Fourth4!d", "Third3!c", "Second2!b"):
            problems = await validate_new_password(session, user, reused, policy, later)
            assert problems == ["The password must differ from the last 3 password(s)."], reused
        assert await validate_new_password(session, user, "First1!a", policy, later) == []
        assert await validate_new_password(session, user, "Fifth5!e", policy, later) == []
        one = PasswordPolicy(history=1)
        assert await validate_new_password(session, user, "Third3!c", one, later) == []
        assert await validate_new_password(session, user, "Fourth4!d", one, later) != []


async def test_history_counts_a_password_set_elsewhere(sessions: async_sessionmaker[AsyncSession]) -> None:
    from subgraphs.identity.security.hashing import hash_password

    async with sessions() as session, session.begin():
        user = await _user(session)
        user.password_hash = hash_password("Seeded1!x")  # no history row
        assert await validate_new_password(session, user, "Seeded1!x", PasswordPolicy(), NOW) != []


async def test_history_is_trimmed_to_ten(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        user = await _user(session)
        for i in range(12):
            await set_password(session, user, f"Passw{i:02d}!x", NOW + timedelta(days=i))
        count = await session.scalar(select(func.count()).select_from(models.PasswordHistory)
                                     .where(models.PasswordHistory.user_id == "usr-1"))
        assert count == 10
        hashes = (await session.scalars(select(models.PasswordHistory.password_hash))).all()
        assert not any(verify_password(h, "Passw00!x") for h in hashes)
        assert any(verify_password(h, "Passw11!x") for h in hashes)


async def test_minimum_change_interval(sessions: async_sessionmaker[AsyncSession]) -> None:
    policy = PasswordPolicy(min_change_interval_days=3)
    async with sessions() as session, session.begin():
        user = await _user(session)
        await set_password(session, user, "Initial1!", NOW)
        almost = NOW + timedelta(days=3) - timedelta(seconds=1)
        problems = await validate_new_password(session, user, "Another1!", policy, almost)
        assert len(problems) == 1 and "less than 3 day(s) ago" in problems[0]
        assert await validate_new_password(session, user, "Another1!", policy, NOW + timedelta(days=3)) == []
        # an administrator's reset is exempt, and so is the user's first change after it
        assert await validate_new_password(session, user, "Another1!", policy, almost, admin_reset=True) == []
        await set_password(session, user, "Tempor4ry!", NOW + timedelta(hours=1), temporary=True)
        assert user.must_change_password is True
        assert await validate_new_password(session, user, "Another1!", policy, NOW + timedelta(hours=2)) == []
        await set_password(session, user, "Another1!", NOW + timedelta(hours=2))
        assert user.must_change_password is False
        assert await validate_new_password(session, user, "Yetmore1!", policy, NOW + timedelta(hours=3)) != []


async def test_set_password_stores_hash_time_and_history(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        user = await _user(session)
        await set_password(session, user, GOOD, NOW)
    async with sessions() as session:
        user = await _user(session)
        assert verify_password(user.password_hash, GOOD) and not verify_password(user.password_hash, "x")
        assert user.password_changed_at == NOW and user.must_change_password is False
        history = (await session.scalars(select(models.PasswordHistory))).all()
        assert [h.password_hash for h in history] == [user.password_hash]


async def test_password_status_expiry_and_reminder(sessions: async_sessionmaker[AsyncSession]) -> None:
    policy = PasswordPolicy(expiry_days=30)
    async with sessions() as session, session.begin():
        user = await _user(session)
        await set_password(session, user, GOOD, NOW)
        expires = NOW + timedelta(days=30)
        assert password_status(user, policy, NOW).state == "OK"
        before_reminder = password_status(user, policy, expires - timedelta(days=7, seconds=1))
        assert (before_reminder.state, before_reminder.days_left) == ("OK", 8)
        at_reminder = password_status(user, policy, expires - timedelta(days=7))
        assert (at_reminder.state, at_reminder.days_left) == ("EXPIRING", 7)
        last_second = password_status(user, policy, expires - timedelta(seconds=1))
        assert (last_second.state, last_second.days_left) == ("EXPIRING", 1)
        expired = password_status(user, policy, expires)
        assert (expired.state, expired.days_left, expired.must_change) == ("EXPIRED", 0, True)
        assert expired.expires_at == expires
        user.must_change_password = True
        assert password_status(user, policy, NOW).state == "MUST_CHANGE"
        # the shortest expiry (1 day) is within the reminder from the start
        assert password_status(user, PasswordPolicy(expiry_days=1), NOW + timedelta(hours=1)).state == "MUST_CHANGE"
        user.must_change_password = False
        assert password_status(user, PasswordPolicy(expiry_days=1), NOW + timedelta(hours=1)).state == "EXPIRING"
