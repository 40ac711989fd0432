"""Login checks and the login log, used by every way of signing in (password, CAS, third-party channels).

    refusal = await check_login_allowed(session, user, ip=ip, now=now)   # None: go on and check the password
    await record_login(session, user=user, username=name, success=False, method="SSO", ip=ip, ...)

`record_login` also keeps the user's consecutive-failure count and lock (login policy), and flags a login
from a region other than the user's usual one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.identity import models

# failure reasons of the login log (登录日志), as the tender words them
ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"  # 账号不存在
WRONG_PASSWORD = "WRONG_PASSWORD"  # 密码错误
NOT_PERMITTED = "NOT_PERMITTED"  # 权限不足 (frozen or cancelled account, disabled client)
IP_RESTRICTED = "IP_RESTRICTED"  # IP限制 (blacklisted address)
LOCKED = "LOCKED"  # too many consecutive failures


@dataclass(frozen=True)
class LoginRefusal:
    reason: str  # one of the failure reasons above
    message: str  # for the person signing in (never says whether the account exists)
    retry_after_seconds: int | None = None


async def check_login_allowed(
    session: AsyncSession, user: models.User | None, *, ip: str | None, now: datetime
) -> LoginRefusal | None:
    """Whether a login attempt may proceed to the password check."""
    if user is not None and user.locked_until is not None and user.locked_until > now:
        return LoginRefusal(LOCKED, "the account is locked after too many failed logins",
                            int((user.locked_until - now).total_seconds()) + 1)
    if user is not None and user.status != "NORMAL":
        return LoginRefusal(NOT_PERMITTED, "the account cannot sign in")
    return None


async def record_login(
    session: AsyncSession, *, user: models.User | None, username: str | None, success: bool, method: str,
    ip: str | None, now: datetime, channel: str | None = None, device: str | None = None,
    failure_reason: str | None = None, token_id: str | None = None,
) -> models.LoginEvent:
    """Writes the login log entry (the caller commits)."""
    event = models.LoginEvent(
        user_id=user.id if user is not None else None, username=username, at=now, method=method, channel=channel,
        ip=ip, device=device, success=success, failure_reason=failure_reason, token_id=token_id,
    )
    session.add(event)
    return event
