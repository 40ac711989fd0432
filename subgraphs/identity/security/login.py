"""Login checks and the login log, used by every way of signing in (password, CAS, third-party channels).

    refusal = await check_login_allowed(session, user, ip=ip, now=now)   # None: go on and check the password
    await record_login(session, user=user, username=name, success=False, method="SSO", ip=ip, ...)

`record_login` also keeps the user's consecutive-failure count and lock (login policy), and flags a login
from a region other than the user's usual one.

Login security policy (登录安全, tender 5.3.9.5 (2)), the LOGIN document:
- failure lockout: after `failure_limit` (1 to 10) consecutive failed logins the account is locked for
  `lock_hours` (1 to 24). Only failures of the credentials count (a wrong password, a failed second
  factor: failure reason WRONG_PASSWORD or none given); refusals for a blacklisted address, a frozen
  account or an existing lock do not extend it. A success resets the count; so does the lock's expiry.
- remote-login alert (异地登录提醒): the region of the login's IP address (`region_of`, from the
  configurable `ip_regions` table of CIDR -> region code, then the module's DEFAULT_IP_REGIONS) is
  compared with the user's usual region; when they differ (neither region contains the other) the login
  event is flagged and an "identity.login.remote" outbox event is emitted, which the notification side
  turns into the SMS or e-mail of `remote_alert_channels`. The usual region is learnt: the first
  successful login from a known region sets it, and when 3 of the user's last 5 successful logins come
  from one other region, that region becomes the usual one (the user has moved). An address of no
  known region neither alerts nor teaches. No external geolocation service is used.
- login log retention: `log_retention_months` (6 to 24); `purge_login_events` deletes older events.
- two-factor authentication (双因子认证): globally or for given roles, by SMS or e-mail: stored and
  validated here (`two_factor_required` says whether it applies to a user); delivering the codes is
  not part of this module.
"""

from __future__ import annotations

import calendar
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.outbox import emit
from subgraphs.identity import models
from subgraphs.identity.security.blacklist import is_blocked, parse_address
from subgraphs.identity.security.policy import (
    PolicyDocument,
    PolicyError,
    check_bool,
    check_choice,
    check_range,
    load_policy,
)

# failure reasons of the login log (登录日志), as the tender words them
ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"  # 账号不存在
WRONG_PASSWORD = "WRONG_PASSWORD"  # 密码错误
NOT_PERMITTED = "NOT_PERMITTED"  # 权限不足 (frozen or cancelled account, disabled client)
IP_RESTRICTED = "IP_RESTRICTED"  # IP限制 (blacklisted address)
LOCKED = "LOCKED"  # too many consecutive failures

COUNTED_FAILURES = (None, WRONG_PASSWORD)  # the failures that count towards the lockout
REMOTE_LOGIN_TOPIC = "identity.login.remote"
LOCKED_TOPIC = "identity.login.locked"

FAILURE_LIMIT_RANGE = (1, 10)
LOCK_HOURS_RANGE = (1, 24)
RETENTION_MONTHS_RANGE = (6, 24)
ALERT_CHANNELS = ("SMS", "EMAIL")
TWO_FACTOR_SCOPES = ("GLOBAL", "ROLES")
LEARN_WINDOW, LEARN_QUORUM = 5, 3  # the usual region moves when 3 of the last 5 successes agree

# IP ranges with a known region when the policy's table has none for an address: the documentation
# ranges (RFC 5737, RFC 3849), which development, tests and demonstrations use. Production fills the
# LOGIN policy's `ip_regions` from the province's address plan.
DEFAULT_IP_REGIONS: tuple[tuple[str, str], ...] = (
    ("192.0.2.0/24", "320100"),  # TEST-NET-1: 南京市
    ("198.51.100.0/24", "320500"),  # TEST-NET-2: 苏州市
    ("203.0.113.0/24", "110000"),  # TEST-NET-3: 北京市 (outside the province)
    ("2001:db8:3201::/48", "320100"),
    ("2001:db8:3205::/48", "320500"),
)


def _check_region_code(setting: str, code: object) -> None:
    if not isinstance(code, str) or not code.isascii() or not code.isdigit() or len(code) not in (6, 9, 12, 15):
        raise PolicyError(setting, f"{setting}: {code!r} is not a region code (6, 9, 12 or 15 digits)")


@dataclass(frozen=True)
class LoginPolicy(PolicyDocument):
    NAME: ClassVar[str] = "LOGIN"

    # 双因子认证
    two_factor_enabled: bool = False
    two_factor_scope: str = "GLOBAL"  # GLOBAL | ROLES
    two_factor_roles: tuple[str, ...] = ()  # role codes, when the scope is ROLES
    two_factor_methods: tuple[str, ...] = ("SMS",)  # SMS | EMAIL
    # 登录失败策略
    failure_limit: int = 5
    lock_hours: int = 1
    # 异地登录提醒
    remote_alert_enabled: bool = True
    remote_alert_channels: tuple[str, ...] = ("SMS",)  # SMS | EMAIL
    ip_regions: tuple[tuple[str, str], ...] = ()  # (CIDR, region code), first match wins
    # 登录日志审计
    log_retention_months: int = 6

    def validate(self) -> None:
        check_bool("two_factor_enabled", self.two_factor_enabled)
        check_choice("two_factor_scope", self.two_factor_scope, TWO_FACTOR_SCOPES)
        if not all(isinstance(r, str) and r for r in self.two_factor_roles):
            raise PolicyError("two_factor_roles", "two_factor_roles must be role codes")
        if self.two_factor_enabled and self.two_factor_scope == "ROLES" and not self.two_factor_roles:
            raise PolicyError("two_factor_roles", "two_factor_roles must name at least one role for the ROLES scope")
        self._check_channels("two_factor_methods", self.two_factor_methods, required=self.two_factor_enabled)
        check_range("failure_limit", self.failure_limit, *FAILURE_LIMIT_RANGE)
        check_range("lock_hours", self.lock_hours, *LOCK_HOURS_RANGE)
        check_bool("remote_alert_enabled", self.remote_alert_enabled)
        self._check_channels("remote_alert_channels", self.remote_alert_channels, required=self.remote_alert_enabled)
        for item in self.ip_regions:
            if not (isinstance(item, tuple | list) and len(item) == 2):
                raise PolicyError("ip_regions", "ip_regions holds (CIDR, region code) pairs")
            try:
                ipaddress.ip_network(item[0], strict=True)
            except (ValueError, TypeError) as exc:
                raise PolicyError("ip_regions", f"ip_regions: {item[0]!r} is not a CIDR range ({exc})") from exc
            _check_region_code("ip_regions", item[1])
        check_range("log_retention_months", self.log_retention_months, *RETENTION_MONTHS_RANGE)

    @staticmethod
    def _check_channels(setting: str, values: tuple[str, ...], *, required: bool) -> None:
        for value in values:
            check_choice(setting, value, ALERT_CHANNELS)
        if len(set(values)) != len(values):
            raise PolicyError(setting, f"{setting} names a method twice")
        if required and not values:
            raise PolicyError(setting, f"{setting} must name at least one of SMS, EMAIL")


def region_of(ip: str | None, policy: LoginPolicy) -> str | None:
    """The region code of an address: the first matching range of the policy's table, then of
    DEFAULT_IP_REGIONS; None when none matches."""
    address = parse_address(ip)
    if address is None:
        return None
    for cidr, region in (*policy.ip_regions, *DEFAULT_IP_REGIONS):
        network = ipaddress.ip_network(cidr)
        if network.version == address.version and address in network:
            return region
    return None


def _prefix(code: str) -> str:
    # GB/T 2260: 320000 is the province (prefix 32), 320500 a city (3205), longer codes are themselves.
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


def same_region(a: str, b: str) -> bool:
    """Whether two region codes name the same place or one lies inside the other."""
    return a.startswith(_prefix(b)) or b.startswith(_prefix(a))


def two_factor_required(policy: LoginPolicy, role_codes: set[str]) -> bool:
    if not policy.two_factor_enabled:
        return False
    return policy.two_factor_scope == "GLOBAL" or bool(role_codes & set(policy.two_factor_roles))


@dataclass(frozen=True)
class LoginRefusal:
    reason: str  # one of the failure reasons above
    message: str  # for the person signing in (never says whether the account exists)
    retry_after_seconds: int | None = None


def _expire_lock(user: models.User, now: datetime) -> None:
    if user.locked_until is not None and user.locked_until <= now:
        user.locked_until = None
        user.failed_logins = 0


async def check_login_allowed(
    session: AsyncSession, user: models.User | None, *, ip: str | None, now: datetime
) -> LoginRefusal | None:
    """Whether a login attempt may proceed to the password check: not from a blacklisted address
    (IP_RESTRICTED), not into a locked account (LOCKED, with the seconds until it unlocks), not into a
    frozen or cancelled one (NOT_PERMITTED). An expired lock is cleared here (the caller commits)."""
    if await is_blocked(session, ip):
        return LoginRefusal(IP_RESTRICTED, "sign-in from this address is not allowed")
    if user is not None:
        _expire_lock(user, now)
        if user.locked_until is not None and user.locked_until > now:
            return LoginRefusal(LOCKED, "the account is locked after too many failed logins",
                                int((user.locked_until - now).total_seconds()) + 1)
        if user.status != "NORMAL":
            return LoginRefusal(NOT_PERMITTED, "the account cannot sign in")
    return None


async def record_login(
    session: AsyncSession, *, user: models.User | None, username: str | None, success: bool, method: str,
    ip: str | None, now: datetime, channel: str | None = None, device: str | None = None,
    failure_reason: str | None = None, token_id: str | None = None,
) -> models.LoginEvent:
    """Writes the login log entry, keeps the failure count and lock, and flags a remote login (the
    caller commits)."""
    policy = await load_policy(session, LoginPolicy)
    region = region_of(ip, policy)
    event = models.LoginEvent(
        user_id=user.id if user is not None else None, username=username, at=now, method=method, channel=channel,
        ip=ip, device=device, region=region, success=success, failure_reason=failure_reason, token_id=token_id,
        remote_alert=False,
    )
    if user is not None:
        _expire_lock(user, now)
        if success:
            user.failed_logins = 0
            user.locked_until = None
            await _check_region(session, user, event, policy)
        elif failure_reason in COUNTED_FAILURES:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= policy.failure_limit and user.locked_until is None:
                user.locked_until = now + timedelta(hours=policy.lock_hours)
                emit(session, models.OutboxEvent, LOCKED_TOPIC, {
                    "userId": user.id, "username": user.username, "at": now.isoformat(),
                    "lockedUntil": user.locked_until.isoformat(), "failures": user.failed_logins, "ip": ip,
                })
    session.add(event)
    return event


async def _check_region(session: AsyncSession, user: models.User, event: models.LoginEvent,
                        policy: LoginPolicy) -> None:
    region = event.region
    if region is None:
        return
    if user.usual_region is None:
        user.usual_region = region
        return
    if same_region(region, user.usual_region):
        return
    if policy.remote_alert_enabled:
        event.remote_alert = True
        emit(session, models.OutboxEvent, REMOTE_LOGIN_TOPIC, {
            "userId": user.id, "username": user.username, "at": event.at.isoformat(), "ip": event.ip,
            "region": region, "usualRegion": user.usual_region, "method": event.method,
            "channels": list(policy.remote_alert_channels),
        })
    # Learning: the last successes (this one included) mostly from the new region move the usual one.
    recent = (await session.scalars(
        select(models.LoginEvent.region).where(models.LoginEvent.user_id == user.id,
                                               models.LoginEvent.success.is_(True))
        .order_by(models.LoginEvent.at.desc(), models.LoginEvent.id.desc()).limit(LEARN_WINDOW - 1)
    )).all()
    if 1 + sum(1 for r in recent if r is not None and same_region(r, region)) >= LEARN_QUORUM:
        user.usual_region = region


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day when it is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def purge_login_events(session: AsyncSession, now: datetime, policy: LoginPolicy | None = None) -> int:
    """Delete the login events older than the retention (日志留存); returns how many (the caller commits)."""
    policy = policy or await load_policy(session, LoginPolicy)
    cutoff = months_before(now, policy.log_retention_months)
    result = await session.execute(delete(models.LoginEvent).where(models.LoginEvent.at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
