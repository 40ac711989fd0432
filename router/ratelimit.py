"""Rate limiting of router clients, per client id and per IP address.

The algorithm is GCRA (the generic cell rate algorithm, a token bucket kept as one number): a key stores its
"theoretical arrival time" (TAT). With the emission interval T = per_seconds / requests and the tolerance
tau = (burst - 1) * T, a hit at `now` is allowed when max(TAT, now) - now <= tau and then moves the TAT on by
T; a denied hit changes nothing and may retry after max(TAT, now) - tau - now. So after a quiet spell a
client may send `burst` requests at once (default: `requests`), and in the long run `requests` per
`per_seconds`. All arithmetic is on integer microseconds, the same in Python and in Redis's Lua (exact below
2**53), so the embedded and the shared limiter decide alike, to the microsecond.

    MemoryRateLimiter()                          one process (the embedded mode)
    RedisRateLimiter(redis_url)                  one budget for every router process sharing the Redis

The Redis limiter runs the algorithm in one Lua script (EVALSHA, falling back to EVAL when the server does
not have the script cached), so concurrent hits from several processes are atomic; it uses the Redis
server's clock, so router hosts' clocks need not agree; a key expires by itself once its TAT has passed (it
is then the same as a fresh key). When Redis cannot be reached it fails open (allows, logs a warning)
unless `fail_open=False`.

`RateLimitMiddleware` applies the limits to the GraphQL endpoint and answers HTTP 429 with `Retry-After`
and a GraphQL-shaped body (`rate_limit_response`). `client_key(request)` names what is limited: the client
id a client states (`apollographql-client-name`, `x-client-id`) and its IP address (the connection's, or
X-Forwarded-For's when the router runs behind trusted proxies). A client id is a claim, not a credential:
per-client limits share the budget fairly between well-behaved clients; the per-IP limit is the guard
against abuse.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import Response

Clock = Callable[[], float]
ASGIApp = Any

log = logging.getLogger("router.ratelimit")

CLIENT_ID_HEADERS = ("apollographql-client-name", "x-client-id")
MAX_CLIENT_ID_LENGTH = 64
DEFAULT_PREFIX = "jshealth:ratelimit"
MICROS = 1_000_000


@dataclass(frozen=True)
class RateLimit:
    """`requests` per `per_seconds` in the long run; up to `burst` (default: `requests`) at once."""

    requests: int
    per_seconds: float
    burst: int | None = None

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise ValueError("a rate limit allows at least 1 request")
        if not self.per_seconds > 0:
            raise ValueError("a rate limit's period must be positive")
        if self.burst is not None and self.burst < 1:
            raise ValueError("a rate limit's burst must be at least 1")

    @property
    def interval_us(self) -> int:
        """The emission interval T in microseconds (at least 1)."""
        return max(1, round(self.per_seconds * MICROS / self.requests))

    @property
    def tolerance_us(self) -> int:
        """tau = (burst - 1) * T: how far ahead of now the TAT may be for a hit to be allowed."""
        return ((self.burst or self.requests) - 1) * self.interval_us


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int  # further hits allowed right now
    retry_after: float  # seconds until the next hit would be allowed (0 when allowed)


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: RateLimit) -> Decision: ...


def gcra(tat_us: int | None, now_us: int, limit: RateLimit) -> tuple[Decision, int | None]:
    """One GCRA step: the decision and the key's new TAT (None: unchanged). The Lua script mirrors it."""
    interval, tolerance = limit.interval_us, limit.tolerance_us
    tat = now_us if tat_us is None or tat_us < now_us else tat_us
    allow_at = tat - tolerance
    if now_us < allow_at:
        return Decision(False, 0, (allow_at - now_us) / MICROS), None
    return Decision(True, (now_us + tolerance - tat) // interval, 0.0), tat + interval


class MemoryRateLimiter:
    """GCRA in a dict, for one process. Keys whose TAT has passed are swept out now and then."""

    def __init__(self, *, clock: Clock = time.monotonic, sweep_seconds: float = 60.0) -> None:
        self._clock = clock
        self._tats: dict[str, int] = {}
        self._sweep_us = round(sweep_seconds * MICROS)
        self._next_sweep = 0

    def __len__(self) -> int:
        return len(self._tats)

    async def hit(self, key: str, limit: RateLimit) -> Decision:
        now = round(self._clock() * MICROS)
        if now >= self._next_sweep:
            self._tats = {k: tat for k, tat in self._tats.items() if tat > now}
            self._next_sweep = now + self._sweep_us
        decision, tat = gcra(self._tats.get(key), now, limit)
        if tat is not None:
            self._tats[key] = tat
        return decision

    async def close(self) -> None:
        return None


GCRA_LUA = """
-- GCRA, the same step as router.ratelimit.gcra. KEYS[1]: the key, holding the TAT in microseconds.
-- ARGV[1]: emission interval (us); ARGV[2]: tolerance (us); ARGV[3]: now (us), or "" for the server's clock.
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local allow_at = tat - tolerance
if now < allow_at then
  return {0, 0, allow_at - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((now + tolerance - tat) / interval), 0}
"""


class RedisRateLimiter:
    """GCRA in Redis: one budget per key for every process using the same Redis and prefix.

    `clock`: seconds, for tests (every sharing limiter must then use the same one); by default the Redis
    server's TIME. `client`: an existing `redis.asyncio.Redis` instead of one made from `redis_url`."""

    SCRIPT = GCRA_LUA

    def __init__(
        self, redis_url: str, prefix: str = DEFAULT_PREFIX, *, clock: Clock | None = None,
        fail_open: bool = True, client: Any = None, timeout_seconds: float = 0.5,
    ) -> None:
        import redis.asyncio as redis

        self.prefix = prefix
        self.fail_open = fail_open
        self._clock = clock
        self._owns_client = client is None
        self._redis = client if client is not None else redis.from_url(
            redis_url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds)
        self._sha = hashlib.sha1(self.SCRIPT.encode()).hexdigest()
        self._warned_at = -math.inf
        self.errors = 0

    def redis_key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    async def hit(self, key: str, limit: RateLimit) -> Decision:
        from redis.exceptions import NoScriptError, RedisError

        now = "" if self._clock is None else str(round(self._clock() * MICROS))
        args = (self.redis_key(key), limit.interval_us, limit.tolerance_us, now)
        try:
            try:
                result = await self._redis.evalsha(self._sha, 1, *args)
            except NoScriptError:
                result = await self._redis.eval(self.SCRIPT, 1, *args)  # also caches it for EVALSHA
        except (RedisError, OSError) as exc:
            if not self.fail_open:
                raise
            self.errors += 1
            if time.monotonic() - self._warned_at > 30.0:
                self._warned_at = time.monotonic()
                log.warning("rate limiting is off while Redis is unreachable (%s: %s)", type(exc).__name__, exc)
            return Decision(True, (limit.burst or limit.requests) - 1, 0.0)
        allowed, remaining, retry_us = (int(v) for v in result)
        return Decision(bool(allowed), remaining, retry_us / MICROS)

    async def close(self) -> None:
        if self._owns_client:
            await self._redis.aclose()


def retry_after_header(seconds: float) -> str:
    """Retry-After in whole seconds, rounded up (at least 1: a client must not retry at once)."""
    return str(max(1, math.ceil(seconds)))


def rate_limit_response(decision: Decision, message: str = "too many requests: rate limit exceeded") -> Response:
    """HTTP 429 with Retry-After and a GraphQL-shaped body."""
    seconds = int(retry_after_header(decision.retry_after))
    body = {"errors": [{"message": f"{message}; retry after {seconds}s",
                        "extensions": {"code": "RATE_LIMITED", "retryAfter": seconds}}]}
    return Response(orjson.dumps(body), status_code=429, media_type="application/json",
                    headers={"retry-after": str(seconds)})


def peer_address(request: Request, *, trusted_proxy_hops: int = 0) -> str | None:
    """The client's address: the connection's peer, or, behind `trusted_proxy_hops` proxies that each append
    to X-Forwarded-For, the entry the outermost trusted proxy wrote (entries further left are the client's
    own claims and are ignored)."""
    address = request.client.host if request.client else None
    if trusted_proxy_hops > 0:
        entries = [e.strip() for value in request.headers.getlist("x-forwarded-for") for e in value.split(",")]
        entries = [e for e in entries if e]
        if len(entries) >= trusted_proxy_hops:
            address = entries[-trusted_proxy_hops]
    return address or None


def client_ip(request: Request, *, trusted_proxy_hops: int = 0) -> str | None:
    """`peer_address` as a rate-limit key: IPv6 addresses are limited as their /64 (one host's usual
    allocation)."""
    address = peer_address(request, trusted_proxy_hops=trusted_proxy_hops)
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:MAX_CLIENT_ID_LENGTH]  # "testclient", a unix socket path: still one key
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


_UNSAFE = re.compile(r"[^A-Za-z0-9._:@/+-]")


def client_key(
    request: Request, *, trusted_proxy_hops: int = 0, client_headers: Sequence[str] = CLIENT_ID_HEADERS,
) -> list[str]:
    """The keys a request is limited under: `client:<id>` when it names itself, and `ip:<address>`."""
    keys: list[str] = []
    for header in client_headers:
        value = request.headers.get(header, "").strip()
        if value:
            keys.append("client:" + _UNSAFE.sub("_", value)[:MAX_CLIENT_ID_LENGTH])
            break
    ip = client_ip(request, trusted_proxy_hops=trusted_proxy_hops)
    if ip:
        keys.append(f"ip:{ip}")
    return keys


class RateLimitMiddleware:
    """ASGI middleware: each request to one of `paths` hits the per-client and the per-IP limit (whichever are
    set); when either is exhausted the answer is HTTP 429 and the request goes no further (the hit on the other
    key still counts). CORS preflights (OPTIONS) and other paths (/health) are not limited."""

    def __init__(
        self, app: ASGIApp, limiter: RateLimiter, *, per_client: RateLimit | None = None,
        per_ip: RateLimit | None = None, trusted_proxy_hops: int = 0, paths: Sequence[str] = ("/graphql",),
        client_headers: Sequence[str] = CLIENT_ID_HEADERS,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.limits = {"client": per_client, "ip": per_ip}
        self.trusted_proxy_hops = trusted_proxy_hops
        self.paths = tuple(p.rstrip("/") or "/" for p in paths)
        self.client_headers = tuple(client_headers)
        self.rejected = 0

    def _applies(self, path: str) -> bool:
        return any(p == "/" or path == p or path.startswith(p + "/") for p in self.paths)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") == "OPTIONS" or not self._applies(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        hits = [(key, limit) for key in client_key(request, trusted_proxy_hops=self.trusted_proxy_hops,
                                                   client_headers=self.client_headers)
                if (limit := self.limits[key.partition(":")[0]]) is not None]
        decisions = await asyncio.gather(*(self.limiter.hit(key, limit) for key, limit in hits))
        denied = [d for d in decisions if not d.allowed]
        if denied:
            self.rejected += 1
            await rate_limit_response(max(denied, key=lambda d: d.retry_after))(scope, receive, send)
            return
        await self.app(scope, receive, send)


_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0,
          "h": 3600.0, "hour": 3600.0}


def parse_rate_limit(raw: str) -> RateLimit:
    """`600/60s`, `600/1m`, `10/second`, `100/60` (seconds); a burst other than the rate: `600/60s:50`."""
    text, _, burst = raw.strip().partition(":")
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*\.?\d*)\s*([a-z]*)\s*", text.lower())
    if not match or match.group(3) not in _UNITS or (burst and not burst.strip().isdigit()):
        raise ValueError(f"rate limit {raw!r} is not REQUESTS/PERIOD[s|m|h][:BURST], such as 600/60s")
    period = float(match.group(2) or 1) * _UNITS[match.group(3)]
    return RateLimit(int(match.group(1)), period, int(burst) if burst else None)


__all__ = [
    "CLIENT_ID_HEADERS",
    "Decision",
    "MemoryRateLimiter",
    "RateLimit",
    "RateLimitMiddleware",
    "RateLimiter",
    "RedisRateLimiter",
    "client_ip",
    "client_key",
    "gcra",
    "parse_rate_limit",
    "rate_limit_response",
]
