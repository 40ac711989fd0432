"""identity security: the login policy (登录安全): lockout, blacklisted addresses, account status,
remote-login alerts and the login log's retention, on a real SQLite database with an injected clock."""

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
from subgraphs.identity.security import blacklist
from subgraphs.identity.security.login import (
    IP_RESTRICTED,
    LOCKED,
    NOT_PERMITTED,
    REMOTE_LOGIN_TOPIC,
    WRONG_PASSWORD,
    LoginPolicy,
    check_login_allowed,
    months_before,
    purge_login_events,
    record_login,
    region_of,
    same_region,
    two_factor_required,
)
from subgraphs.identity.security.policy import PolicyError, save_policy

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NANJING_IP, SUZHOU_IP, BEIJING_IP = "192.0.2.10", "198.51.100.7", "203.0.113.5"


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
                                created_at=NOW))
    yield maker
    await engine.dispose()


async def _user(session: AsyncSession) -> models.User:
    user = await session.get(models.User, "usr-1")
    assert user is not None
    return user


async def _fail(sessions: async_sessionmaker[AsyncSession], at: datetime, ip: str = NANJING_IP) -> None:
    async with sessions() as session, session.begin():
        await record_login(session, user=await _user(session), username="alice", success=False, method="SSO",
                           ip=ip, now=at, failure_reason=WRONG_PASSWORD)


# --- the policy's settings ------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "low", "high"), [
    ("failure_limit", 1, 10), ("lock_hours", 1, 24), ("log_retention_months", 6, 24)])
def test_login_policy_ranges(setting: str, low: int, high: int) -> None:
    for ok in (low, high):
        LoginPolicy(**{setting: ok}).validate()  # type: ignore[arg-type]
    for bad in (low - 1, high + 1):
        with pytest.raises(PolicyError) as caught:
            LoginPolicy(**{setting: bad}).validate()  # type: ignore[arg-type]
        assert caught.value.setting == setting


def test_login_policy_two_factor_and_alert_settings() -> None:
    LoginPolicy().validate()
    LoginPolicy(two_factor_enabled=True, two_factor_scope="ROLES", two_factor_roles=("ADMIN",),
                two_factor_methods=("SMS", "EMAIL")).validate()
    bad = [
        LoginPolicy(two_factor_enabled=True, two_factor_scope="ROLES"),  # no role named
        LoginPolicy(two_factor_scope="EVERYONE"),
        LoginPolicy(two_factor_enabled=True, two_factor_methods=()),
        LoginPolicy(two_factor_methods=("PIGEON",)),
        LoginPolicy(remote_alert_channels=("SMS", "SMS")),
        LoginPolicy(ip_regions=(("10.0.0.1/8", "320100"),)),  # host bits
        LoginPolicy(ip_regions=(("10.0.0.0/8", "32"),)),
    ]
    for policy in bad:
        with pytest.raises(PolicyError):
            policy.validate()
    roles = LoginPolicy(two_factor_enabled=True, two_factor_scope="ROLES", two_factor_roles=("ADMIN",))
    assert two_factor_required(roles, {"ADMIN", "X"}) and not two_factor_required(roles, {"X"})
    assert two_factor_required(LoginPolicy(two_factor_enabled=True), set())
    assert not two_factor_required(LoginPolicy(), {"ADMIN"})


def test_policy_document_round_trip() -> None:
    policy = LoginPolicy(ip_regions=(("10.1.0.0/16", "320200"),), remote_alert_channels=("SMS", "EMAIL"))
    assert LoginPolicy.from_document(policy.to_document()) == policy
    assert policy.to_document()["ip_regions"] == [["10.1.0.0/16", "320200"]]


def test_ip_regions() -> None:
    policy = LoginPolicy(ip_regions=(("192.0.2.128/25", "320200"), ("10.8.0.0/16", "320500")))
    assert region_of("192.0.2.200", policy) == "320200"  # the policy's table first
    assert region_of("192.0.2.1", policy) == "320100"  # then the built-in ranges
    assert region_of("10.8.3.4", policy) == "320500"
    assert region_of("2001:db8:3205::9", policy) == "320500"
    assert region_of("::ffff:198.51.100.1", policy) == "320500"
    assert region_of("8.8.8.8", policy) is None and region_of(None, policy) is None
    assert region_of("not an ip", policy) is None
    assert same_region("320500", "320505") and same_region("320000", "320100")
    assert not same_region("320100", "320500") and not same_region("320100", "110000")


# --- check_login_allowed --------------------------------------------------------------------------


async def test_lockout_at_exactly_the_limit_and_unlock_after_the_hours(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await save_policy(session, LoginPolicy(failure_limit=3, lock_hours=2), now=NOW)
    for i in range(2):
        await _fail(sessions, NOW + timedelta(minutes=i))
    async with sessions() as session:
        user = await _user(session)
        assert user.failed_logins == 2 and user.locked_until is None
        assert await check_login_allowed(session, user, ip=NANJING_IP, now=NOW + timedelta(minutes=2)) is None
    third = NOW + timedelta(minutes=2)
    await _fail(sessions, third)  # the 3rd consecutive failure locks
    async with sessions() as session, session.begin():
        user = await _user(session)
        assert user.failed_logins == 3 and user.locked_until == third + timedelta(hours=2)
        refusal = await check_login_allowed(session, user, ip=NANJING_IP, now=third + timedelta(hours=1))
        assert refusal is not None and refusal.reason == LOCKED
        assert refusal.retry_after_seconds == 3601
        last_second = await check_login_allowed(session, user, ip=NANJING_IP,
                                                now=third + timedelta(hours=2, seconds=-1))
        assert last_second is not None and last_second.reason == LOCKED
        # a refusal recorded while locked neither counts nor extends the lock
        await record_login(session, user=user, username="alice", success=False, method="SSO", ip=NANJING_IP,
                           now=third + timedelta(hours=1), failure_reason=LOCKED)
        assert user.failed_logins == 3 and user.locked_until == third + timedelta(hours=2)
        # at the end of the lock the account opens, with the count reset
        assert await check_login_allowed(session, user, ip=NANJING_IP, now=third + timedelta(hours=2)) is None
        assert user.failed_logins == 0 and user.locked_until is None
    locked_events = await _outbox(sessions, "identity.login.locked")
    assert len(locked_events) == 1 and locked_events[0]["userId"] == "usr-1"


async def test_expired_lock_resets_the_count_in_record_login(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await save_policy(session, LoginPolicy(failure_limit=1, lock_hours=1), now=NOW)
    await _fail(sessions, NOW)
    await _fail(sessions, NOW + timedelta(hours=1))  # the lock has just expired: a fresh count of 1 locks again
    async with sessions() as session:
        user = await _user(session)
        assert user.failed_logins == 1 and user.locked_until == NOW + timedelta(hours=2)


async def test_success_resets_the_failure_count(sessions: async_sessionmaker[AsyncSession]) -> None:
    for i in range(4):  # default limit 5
        await _fail(sessions, NOW + timedelta(minutes=i))
    async with sessions() as session, session.begin():
        user = await _user(session)
        await record_login(session, user=user, username="alice", success=True, method="SSO", ip=NANJING_IP,
                           now=NOW + timedelta(minutes=5))
        assert user.failed_logins == 0
    for i in range(4):
        await _fail(sessions, NOW + timedelta(minutes=10 + i))
    async with sessions() as session:
        assert (await _user(session)).locked_until is None


async def test_blacklisted_address_is_refused_at_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        user = await _user(session)
        assert await check_login_allowed(session, user, ip="10.20.30.40", now=NOW) is None
        entries = await blacklist.add_entries(session, [blacklist.NewEntry("10.20.0.0/16")], now=NOW)
    async with sessions() as session:
        refusal = await check_login_allowed(session, await _user(session), ip="10.20.30.40", now=NOW)
        assert refusal is not None and refusal.reason == IP_RESTRICTED
        # also without an account (the reason never tells whether the account exists)
        unknown = await check_login_allowed(session, None, ip="10.20.30.40", now=NOW)
        assert unknown is not None and unknown.reason == IP_RESTRICTED
        assert await check_login_allowed(session, None, ip="10.21.0.1", now=NOW) is None
    async with sessions() as session, session.begin():
        await blacklist.set_enabled(session, [entries[0].id], False)
    async with sessions() as session:
        assert await check_login_allowed(session, await _user(session), ip="10.20.30.40", now=NOW) is None


@pytest.mark.parametrize("status", ["FROZEN", "CANCELLED"])
async def test_frozen_or_cancelled_accounts_cannot_sign_in(sessions: async_sessionmaker[AsyncSession],
                                                           status: str) -> None:
    async with sessions() as session:
        user = await _user(session)
        user.status = status
        refusal = await check_login_allowed(session, user, ip=NANJING_IP, now=NOW)
        assert refusal is not None and refusal.reason == NOT_PERMITTED and refusal.retry_after_seconds is None


# --- remote-login alert ---------------------------------------------------------------------------


async def _outbox(sessions: async_sessionmaker[AsyncSession], topic: str) -> list[dict[str, object]]:
    async with sessions() as session:
        rows = (await session.scalars(select(models.OutboxEvent).where(models.OutboxEvent.topic == topic)
                                      .order_by(models.OutboxEvent.created_at))).all()
        return [row.payload for row in rows]


async def _succeed(sessions: async_sessionmaker[AsyncSession], ip: str, at: datetime) -> models.LoginEvent:
    async with sessions() as session, session.begin():
        return await record_login(session, user=await _user(session), username="alice", success=True,
                                  method="SSO", ip=ip, now=at)


async def test_remote_login_is_flagged_and_alerted(sessions: async_sessionmaker[AsyncSession]) -> None:
    first = await _succeed(sessions, NANJING_IP, NOW)  # learns the usual region
    assert first.region == "320100" and not first.remote_alert
    async with sessions() as session:
        assert (await _user(session)).usual_region == "320100"
    same = await _succeed(sessions, "2001:db8:3201::5", NOW + timedelta(hours=1))
    unknown = await _succeed(sessions, "8.8.8.8", NOW + timedelta(hours=2))
    assert not same.remote_alert and not unknown.remote_alert and unknown.region is None
    assert await _outbox(sessions, REMOTE_LOGIN_TOPIC) == []
    remote = await _succeed(sessions, BEIJING_IP, NOW + timedelta(hours=3))
    assert remote.remote_alert and remote.region == "110000"
    events = await _outbox(sessions, REMOTE_LOGIN_TOPIC)
    assert len(events) == 1
    assert events[0]["userId"] == "usr-1" and events[0]["region"] == "110000"
    assert events[0]["usualRegion"] == "320100" and events[0]["ip"] == BEIJING_IP
    async with sessions() as session:
        stored = await session.get(models.LoginEvent, remote.id)
        assert stored is not None and stored.remote_alert


async def test_failed_logins_never_alert(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _succeed(sessions, NANJING_IP, NOW)
    await _fail(sessions, NOW + timedelta(minutes=1), ip=BEIJING_IP)
    assert await _outbox(sessions, REMOTE_LOGIN_TOPIC) == []


async def test_alert_can_be_switched_off(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await save_policy(session, LoginPolicy(remote_alert_enabled=False, remote_alert_channels=()), now=NOW)
    await _succeed(sessions, NANJING_IP, NOW)
    remote = await _succeed(sessions, BEIJING_IP, NOW + timedelta(hours=1))
    assert not remote.remote_alert and await _outbox(sessions, REMOTE_LOGIN_TOPIC) == []


async def test_usual_region_moves_after_three_of_five(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _succeed(sessions, NANJING_IP, NOW)
    await _succeed(sessions, SUZHOU_IP, NOW + timedelta(days=1))
    await _succeed(sessions, SUZHOU_IP, NOW + timedelta(days=2))
    async with sessions() as session:
        assert (await _user(session)).usual_region == "320100"
    third = await _succeed(sessions, SUZHOU_IP, NOW + timedelta(days=3))
    assert third.remote_alert  # still alerted, then learnt
    async with sessions() as session:
        assert (await _user(session)).usual_region == "320500"
    fourth = await _succeed(sessions, SUZHOU_IP, NOW + timedelta(days=4))
    assert not fourth.remote_alert
    assert len(await _outbox(sessions, REMOTE_LOGIN_TOPIC)) == 3


async def test_policy_ip_regions_feed_the_alert(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await save_policy(session, LoginPolicy(ip_regions=(("10.32.5.0/24", "320500"), ("10.32.1.0/24", "320100"))),
                          now=NOW)
    await _succeed(sessions, "10.32.1.9", NOW)
    remote = await _succeed(sessions, "10.32.5.9", NOW + timedelta(hours=1))
    assert remote.remote_alert and remote.region == "320500"


# --- retention ------------------------------------------------------------------------------------


def test_months_before() -> None:
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 3, 1, tzinfo=UTC), 6) == datetime(2025, 9, 1, tzinfo=UTC)
    assert months_before(datetime(2026, 3, 1, tzinfo=UTC), 24) == datetime(2024, 3, 1, tzinfo=UTC)


async def test_purge_keeps_exactly_the_retention(sessions: async_sessionmaker[AsyncSession]) -> None:
    cutoff = months_before(NOW, 6)
    async with sessions() as session, session.begin():
        for at in (cutoff - timedelta(days=40), cutoff - timedelta(seconds=1), cutoff, NOW):
            await record_login(session, user=None, username="ghost", success=False, method="SSO", ip=None, now=at,
                               failure_reason="ACCOUNT_NOT_FOUND")
    async with sessions() as session, session.begin():
        assert await purge_login_events(session, NOW) == 2
    async with sessions() as session, session.begin():
        assert await session.scalar(select(func.min(models.LoginEvent.at))) == cutoff
        await save_policy(session, LoginPolicy(log_retention_months=24), now=NOW)
        assert await purge_login_events(session, NOW) == 0
