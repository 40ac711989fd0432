"""The authorization server's configuration: the environment for what a deployment fixes, the SSO policy
document (security_policy "SSO") for what an administrator changes at run time.

Environment (all optional; the defaults suit the embedded development mode):

  IDENTITY_ISSUER                 the issuer URL; unset: derived from each request's base URL, which is
                                  http://127.0.0.1:4000/subgraphs/identity in the embedded mode and
                                  http://127.0.0.1:4101 for a standalone identity process
  IDENTITY_AUDIENCE               the access tokens' audience (default "jshealth-graph", the router's)
  IDENTITY_SIGNING_ALG            ES256 (default) or RS256, for keys created from now on
  IDENTITY_ACCESS_TOKEN_TTL       seconds, 3600..86400 (default 7200): used when no SSO policy is saved
  IDENTITY_IDLE_TIMEOUT           seconds of inactivity that end a browser session (default 1800)
  IDENTITY_SESSION_MAX_AGE        absolute lifetime of a browser session in seconds (default 43200)
  IDENTITY_REFRESH_TOKEN_TTL      seconds (default 43200: one working day)
  IDENTITY_CODE_TTL               authorization-code lifetime in seconds (default 60)
  IDENTITY_CAS_TICKET_TTL         CAS service-ticket lifetime in seconds (default 10)
  IDENTITY_TRUST_PROXY            "1": take the client address from X-Forwarded-For (behind a proxy)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.identity import models
from subgraphs.identity.security.policy import PolicyDocument, check_bool, check_range, load_policy

DEFAULT_AUDIENCE = "jshealth-graph"
ACCESS_TTL_RANGE = (timedelta(hours=1), timedelta(hours=24))  # 令牌有效期（1-24小时）
MAX_ACCESS_TTL = ACCESS_TTL_RANGE[1]
SIGNING_ALGORITHMS = ("ES256", "RS256")


class ConfigError(ValueError):
    pass


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SsoPolicy(PolicyDocument):
    """单点登录状态配置 (l.10064): token lifetime 1-24 h, automatic logout after 30 minutes idle, and whether a
    second concurrent session from elsewhere is allowed (异地登录)."""

    NAME: ClassVar[str] = "SSO"

    token_ttl_hours: int = 2
    idle_timeout_minutes: int = 30
    allow_concurrent_login: bool = True

    def validate(self) -> None:
        check_range("token_ttl_hours", self.token_ttl_hours, 1, 24)
        check_range("idle_timeout_minutes", self.idle_timeout_minutes, 1, 24 * 60)
        check_bool("allow_concurrent_login", self.allow_concurrent_login)


@dataclass(frozen=True)
class OAuthSettings:
    issuer: str | None = None  # None: the request's base URL
    audience: str = DEFAULT_AUDIENCE
    signing_alg: str = "ES256"
    access_token_ttl: timedelta = timedelta(hours=2)
    idle_timeout: timedelta = timedelta(minutes=30)
    session_max_age: timedelta = timedelta(hours=12)
    refresh_token_ttl: timedelta = timedelta(hours=12)
    code_ttl: timedelta = timedelta(seconds=60)
    cas_ticket_ttl: timedelta = timedelta(seconds=10)
    trust_proxy: bool = False
    clock: Callable[[], datetime] = field(default=utc_now, compare=False)
    # the policy stored by an administrator overrides the two settings the tender makes configurable
    use_sso_policy: bool = True

    def __post_init__(self) -> None:
        low, high = ACCESS_TTL_RANGE
        if not low <= self.access_token_ttl <= high:
            raise ConfigError("the access-token lifetime must be from 1 to 24 hours")
        if self.signing_alg not in SIGNING_ALGORITHMS:
            raise ConfigError(f"the signing algorithm must be one of {', '.join(SIGNING_ALGORITHMS)}")
        for name in ("idle_timeout", "session_max_age", "refresh_token_ttl", "code_ttl", "cas_ticket_ttl"):
            if getattr(self, name) <= timedelta(0):
                raise ConfigError(f"{name} must be positive")
        if self.issuer is not None and not self.issuer.startswith(("https://", "http://")):
            raise ConfigError("IDENTITY_ISSUER must be an http(s) URL")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OAuthSettings:
        env = os.environ if environ is None else environ

        def seconds(name: str, default: timedelta) -> timedelta:
            value = env.get(name)
            if not value:
                return default
            try:
                return timedelta(seconds=int(value))
            except ValueError as exc:
                raise ConfigError(f"{name} must be a whole number of seconds") from exc

        issuer = env.get("IDENTITY_ISSUER") or None
        return cls(
            issuer=issuer.rstrip("/") if issuer else None,
            audience=env.get("IDENTITY_AUDIENCE") or DEFAULT_AUDIENCE,
            signing_alg=env.get("IDENTITY_SIGNING_ALG") or "ES256",
            access_token_ttl=seconds("IDENTITY_ACCESS_TOKEN_TTL", timedelta(hours=2)),
            idle_timeout=seconds("IDENTITY_IDLE_TIMEOUT", timedelta(minutes=30)),
            session_max_age=seconds("IDENTITY_SESSION_MAX_AGE", timedelta(hours=12)),
            refresh_token_ttl=seconds("IDENTITY_REFRESH_TOKEN_TTL", timedelta(hours=12)),
            code_ttl=seconds("IDENTITY_CODE_TTL", timedelta(seconds=60)),
            cas_ticket_ttl=seconds("IDENTITY_CAS_TICKET_TTL", timedelta(seconds=10)),
            trust_proxy=env.get("IDENTITY_TRUST_PROXY", "") in ("1", "true", "yes"),
        )

    def now(self) -> datetime:
        return self.clock()


@dataclass(frozen=True)
class Effective:
    """The lifetimes in force for one request: the settings, overridden by the saved SSO policy."""

    access_token_ttl: timedelta
    idle_timeout: timedelta


async def effective(session: AsyncSession, settings: OAuthSettings) -> Effective:
    if not settings.use_sso_policy or await session.get(models.SecurityPolicy, SsoPolicy.NAME) is None:
        return Effective(settings.access_token_ttl, settings.idle_timeout)
    policy = await load_policy(session, SsoPolicy)
    return Effective(timedelta(hours=policy.token_ttl_hours), timedelta(minutes=policy.idle_timeout_minutes))
