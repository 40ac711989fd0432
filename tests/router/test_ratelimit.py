"""Rate limiting: GCRA exactness on a fake clock, the Redis limiter sharing one budget between clients and
processes, key expiry, and the HTTP 429 answer."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from router.ratelimit import (
    Decision,
    MemoryRateLimiter,
    RateLimit,
    RateLimiter,
    RateLimitMiddleware,
    RedisRateLimiter,
    client_key,
    parse_rate_limit,
    rate_limit_response,
)

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """Seconds since the epoch (the magnitude of Redis TIME), kept in whole microseconds so that adding 0.1
    twenty times is exactly 2 seconds."""

    def __init__(self, now_us: int = 1_700_000_000_000_000) -> None:
        self.now_us = now_us

    def __call__(self) -> float:
        return self.now_us / 1_000_000

    def advance(self, seconds: float) -> None:
        self.now_us += round(seconds * 1_000_000)


def unique_prefix() -> str:
    return f"jshealth:test:ratelimit:{uuid.uuid4().hex}"


async def hits(limiter: RateLimiter, key: str, limit: RateLimit, n: int) -> list[Decision]:
    return [await limiter.hit(key, limit) for _ in range(n)]


async def check_gcra(limiter: RateLimiter, clock: FakeClock) -> None:
    """The same exact expectations for every limiter on a fake clock: 10 per second, burst 10."""
    limit = RateLimit(10, 1.0)
    burst = await hits(limiter, "k", limit, 10)
    assert [d.allowed for d in burst] == [True] * 10
    assert [d.remaining for d in burst] == list(range(9, -1, -1))
    assert await limiter.hit("k", limit) == Decision(False, 0, 0.1)
    clock.advance(0.04)
    waiting = await limiter.hit("k", limit)
    assert not waiting.allowed and waiting.retry_after == pytest.approx(0.06)
    clock.advance(0.06)  # one emission interval after the burst: exactly one more
    assert await limiter.hit("k", limit) == Decision(True, 0, 0.0)
    assert await limiter.hit("k", limit) == Decision(False, 0, 0.1)
    for _ in range(20):  # a steady 10/s is always allowed, never more
        clock.advance(0.1)
        assert (await limiter.hit("k", limit)).allowed
        assert not (await limiter.hit("k", limit)).allowed
    clock.advance(0.35)  # 3.5 intervals: three hits come back, the fourth waits the half interval
    assert [d.allowed for d in await hits(limiter, "k", limit, 4)] == [True, True, True, False]
    assert (await limiter.hit("k", limit)).retry_after == pytest.approx(0.05)
    clock.advance(10.0)  # idle: the whole burst again
    assert (await limiter.hit("k", limit)).remaining == 9
    assert (await limiter.hit("other", limit)).remaining == 9  # keys are independent

    slow = RateLimit(2, 60.0)  # 2 per minute: one every 30 s, burst 2
    assert [d.allowed for d in await hits(limiter, "slow", slow, 3)] == [True, True, False]
    assert (await limiter.hit("slow", slow)).retry_after == pytest.approx(30.0)
    clock.advance(29.999)
    assert (await limiter.hit("slow", slow)).retry_after == pytest.approx(0.001)
    clock.advance(0.001)
    assert (await limiter.hit("slow", slow)).allowed

    small_burst = RateLimit(100, 1.0, burst=3)
    assert [d.allowed for d in await hits(limiter, "sb", small_burst, 4)] == [True, True, True, False]
    assert (await limiter.hit("sb", small_burst)).retry_after == pytest.approx(0.01)


async def test_gcra_in_memory_is_exact_on_a_fake_clock() -> None:
    clock = FakeClock()
    await check_gcra(MemoryRateLimiter(clock=clock), clock)


async def test_the_memory_limiter_forgets_keys_once_their_budget_is_full_again() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock, sweep_seconds=1.0)
    for i in range(100):
        await limiter.hit(f"k{i}", RateLimit(1, 0.5))
    assert len(limiter) == 100
    clock.advance(0.4)
    await limiter.hit("k0", RateLimit(1, 0.5))  # not a second since the sweep: nothing swept yet
    assert len(limiter) == 100
    clock.advance(0.6)
    await limiter.hit("fresh", RateLimit(1, 0.5))
    assert len(limiter) == 1


def test_rate_limits_are_validated_and_parsed() -> None:
    with pytest.raises(ValueError):
        RateLimit(0, 1.0)
    with pytest.raises(ValueError):
        RateLimit(1, 0)
    assert parse_rate_limit("600/60s") == RateLimit(600, 60.0)
    assert parse_rate_limit("600/1m") == RateLimit(600, 60.0)
    assert parse_rate_limit("10/second") == RateLimit(10, 1.0)
    assert parse_rate_limit("100/60") == RateLimit(100, 60.0)
    assert parse_rate_limit("1000/h:50") == RateLimit(1000, 3600.0, burst=50)
    for bad in ("", "ten/s", "10/fortnight", "10/s:x"):
        with pytest.raises(ValueError):
            parse_rate_limit(bad)


# Redis -------------------------------------------------------------------------------------------------


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Any]:
    import redis.asyncio as redis

    client = redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.mark.redis
async def test_gcra_in_redis_is_exact_on_a_fake_clock(redis_url: str) -> None:
    clock = FakeClock()
    limiter = RedisRateLimiter(redis_url, unique_prefix(), clock=clock)
    try:
        await check_gcra(limiter, clock)
    finally:
        await limiter.close()


@pytest.mark.redis
async def test_two_redis_limiters_share_one_budget(redis_url: str) -> None:
    prefix = unique_prefix()
    first, second = RedisRateLimiter(redis_url, prefix), RedisRateLimiter(redis_url, prefix)
    limit = RateLimit(10, 3600.0)  # one more every 6 minutes: no refill during the test
    try:
        decisions = await asyncio.gather(*(limiter.hit("shared", limit) for limiter in [first, second] * 10))
        assert sum(d.allowed for d in decisions) == 10
        assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))
        denied = [d for d in decisions if not d.allowed]
        assert all(355 < d.retry_after <= 360 for d in denied)
        assert not (await first.hit("shared", limit)).allowed
        assert (await second.hit("another", limit)).allowed
    finally:
        await first.close()
        await second.close()


@pytest.mark.redis
async def test_redis_keys_expire_by_themselves(redis_url: str, redis_client: Any) -> None:
    prefix = unique_prefix()
    limiter = RedisRateLimiter(redis_url, prefix)
    try:
        await hits(limiter, "k", RateLimit(2, 0.2), 2)
        ttl = await redis_client.pttl(f"{prefix}:k")
        assert 0 < ttl <= 200
        await asyncio.sleep(0.25)
        assert await redis_client.exists(f"{prefix}:k") == 0
        assert (await limiter.hit("k", RateLimit(2, 0.2))).remaining == 1  # a fresh budget
        long = RateLimit(5, 3600.0)
        await limiter.hit("long", long)
        assert 0 < await redis_client.pttl(f"{prefix}:long") <= 720_000  # one interval ahead, not an hour
    finally:
        await limiter.close()


@pytest.mark.redis
async def test_evalsha_falls_back_to_eval_when_the_script_is_not_cached(redis_url: str, redis_client: Any) -> None:
    class Uncached(RedisRateLimiter):
        SCRIPT = RedisRateLimiter.SCRIPT + f"\n-- {uuid.uuid4().hex}\n"  # a script the server has never seen

    limiter = Uncached(redis_url, unique_prefix())
    try:
        assert await redis_client.script_exists(limiter._sha) == [False]
        assert (await limiter.hit("k", RateLimit(3, 60.0))).remaining == 2
        assert await redis_client.script_exists(limiter._sha) == [True]  # EVAL cached it for EVALSHA
        assert (await limiter.hit("k", RateLimit(3, 60.0))).remaining == 1
    finally:
        await limiter.close()


PROCESS_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from router.ratelimit import RateLimit, RedisRateLimiter

    async def main() -> None:
        limiter = RedisRateLimiter(sys.argv[1], sys.argv[2])
        allowed = 0
        for _ in range(int(sys.argv[3])):
            allowed += (await limiter.hit("shared", RateLimit(25, 3600.0))).allowed
        await limiter.close()
        print(allowed)

    asyncio.run(main())
""")


@pytest.mark.redis
async def test_router_processes_share_one_budget(redis_url: str) -> None:
    prefix = unique_prefix()

    async def run_process() -> int:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROCESS_SCRIPT, redis_url, prefix, "20", cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, err.decode()
        return int(out)

    limiter = RedisRateLimiter(redis_url, prefix)
    try:
        first, second = await asyncio.gather(run_process(), run_process())
        assert first + second == 25  # 40 hits from two processes, one budget of 25
        assert not (await limiter.hit("shared", RateLimit(25, 3600.0))).allowed
    finally:
        await limiter.close()


async def test_an_unreachable_redis_fails_open_or_closed_as_configured() -> None:
    dead = "redis://127.0.0.1:1/0"
    limiter = RedisRateLimiter(dead, unique_prefix(), timeout_seconds=0.2)
    strict = RedisRateLimiter(dead, unique_prefix(), timeout_seconds=0.2, fail_open=False)
    try:
        assert (await limiter.hit("k", RateLimit(1, 60.0))).allowed
        assert (await limiter.hit("k", RateLimit(1, 60.0))).allowed
        assert limiter.errors == 2
        with pytest.raises(Exception):  # noqa: B017 - redis-py's ConnectionError
            await strict.hit("k", RateLimit(1, 60.0))
    finally:
        await limiter.close()
        await strict.close()


# HTTP --------------------------------------------------------------------------------------------------


def test_the_429_response_is_graphql_shaped_with_retry_after_in_whole_seconds() -> None:
    response = rate_limit_response(Decision(False, 0, 2.1))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    body = orjson.loads(response.body)
    assert body["errors"][0]["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 3}
    assert "rate limit" in body["errors"][0]["message"]
    assert rate_limit_response(Decision(False, 0, 0.001)).headers["retry-after"] == "1"
    assert rate_limit_response(Decision(False, 0, 5.0)).headers["retry-after"] == "5"


def request_with(headers: dict[str, str], client: tuple[str, int] | None = ("10.0.0.9", 5555)) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/graphql", "client": client,
                    "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]})


def test_client_keys() -> None:
    assert client_key(request_with({})) == ["ip:10.0.0.9"]
    assert client_key(request_with({"apollographql-client-name": "portal"})) == ["client:portal", "ip:10.0.0.9"]
    assert client_key(request_with({"x-client-id": "app 1\n"})) == ["client:app_1", "ip:10.0.0.9"]
    assert client_key(request_with({"x-client-id": "x" * 500}))[0] == "client:" + "x" * 64
    spoofed = {"x-forwarded-for": "1.2.3.4, 203.0.113.7"}
    assert client_key(request_with(spoofed)) == ["ip:10.0.0.9"]  # not trusted: the connection's address
    assert client_key(request_with(spoofed), trusted_proxy_hops=1) == ["ip:203.0.113.7"]
    assert client_key(request_with(spoofed), trusted_proxy_hops=2) == ["ip:1.2.3.4"]
    assert client_key(request_with(spoofed), trusted_proxy_hops=3) == ["ip:10.0.0.9"]
    assert client_key(request_with({}, ("2001:db8::1", 1))) == ["ip:2001:db8::/64"]
    assert client_key(request_with({}, ("::ffff:192.0.2.1", 1))) == ["ip:192.0.2.1"]
    assert client_key(request_with({}, None)) == []


def limited_app(limiter: RateLimiter, **options: Any) -> Any:
    async def graphql(_request: Request) -> Response:
        return JSONResponse({"data": {"ok": True}})

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    inner = Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST", "OPTIONS"]),
                              Route("/health", health)])
    return RateLimitMiddleware(inner, limiter, **options)


async def test_the_middleware_limits_per_client_and_per_ip() -> None:
    clock = FakeClock()
    app = limited_app(MemoryRateLimiter(clock=clock), per_client=RateLimit(2, 60.0), per_ip=RateLimit(3, 60.0))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.1", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://router") as http:
        portal = {"apollographql-client-name": "portal"}
        assert [(await http.post("/graphql", json={}, headers=portal)).status_code for _ in range(2)] == [200, 200]
        denied = await http.post("/graphql", json={}, headers=portal)
        assert denied.status_code == 429
        assert denied.headers["retry-after"] == "30"
        assert denied.json()["errors"][0]["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 30}
        assert (await http.post("/graphql", json={})).status_code == 429  # the IP's 3 are used up too
        assert (await http.get("/health")).status_code == 200  # not limited
        assert (await http.options("/graphql")).status_code != 429  # CORS preflights are not limited
        clock.advance(30.0)
        assert (await http.post("/graphql", json={}, headers=portal)).status_code == 200


async def test_the_middleware_without_per_client_limit_limits_the_ip_only() -> None:
    clock = FakeClock()
    app = limited_app(MemoryRateLimiter(clock=clock), per_ip=RateLimit(1, 10.0), trusted_proxy_hops=1)
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://router") as http:
        for address in ("203.0.113.1", "203.0.113.2"):
            headers = {"x-forwarded-for": address, "x-client-id": "same"}
            assert (await http.post("/graphql", json={}, headers=headers)).status_code == 200
        assert (await http.post("/graphql", json={}, headers={"x-forwarded-for": "203.0.113.1"})).status_code == 429


