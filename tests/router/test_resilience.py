"""ProtectedClient: the circuit breaker's transitions on an injected clock, bounded concurrency, and a real
subgraph process that dies and comes back."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from router.resilience import (
    BreakerSettings,
    ProtectedClient,
    SubgraphOverloaded,
    SubgraphUnavailable,
)
from router.transport import DeduplicatingClient, HttpSubgraphClient

JSON = dict[str, Any]
BODY: JSON = {"query": "{ hello }", "variables": {}}
OK: JSON = {"data": {"hello": "world"}}


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeInner:
    """Answers OK, or raises `failure[graph]`; with `gate` set, every call waits for it first."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.failure: dict[str, Exception] = {}
        self.answer: dict[str, JSON] = {}
        self.gate: asyncio.Event | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.closed = False
        self.forward_headers = ("x-request-id", "x-tenant")

    async def fetch(self, graph: str, body: JSON, headers: Mapping[str, str]) -> JSON:
        self.calls[graph] = self.calls.get(graph, 0) + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if graph in self.failure:
                raise self.failure[graph]
            return self.answer.get(graph, OK)
        finally:
            self.in_flight -= 1

    async def close(self) -> None:
        self.closed = True


def protected(inner: FakeInner, clock: FakeClock, **kwargs: Any) -> ProtectedClient:
    kwargs.setdefault("breaker", BreakerSettings(failure_threshold=3, cool_down_seconds=10.0))
    return ProtectedClient(inner, clock=clock, **kwargs)


async def fail_times(client: ProtectedClient, graph: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(ConnectionError):
            await client.fetch(graph, BODY, {})


# The breaker -------------------------------------------------------------------------------------------


async def test_the_circuit_opens_after_the_threshold_of_consecutive_failures() -> None:
    inner, clock = FakeInner(), FakeClock()
    client = protected(inner, clock)
    inner.failure["a"] = ConnectionError("refused")
    await fail_times(client, "a", 2)
    del inner.failure["a"]
    assert await client.fetch("a", BODY, {}) == OK  # a success between failures resets the count
    inner.failure["a"] = ConnectionError("refused")
    await fail_times(client, "a", 2)
    assert client.breaker_states() == {"a": "closed"}
    await fail_times(client, "a", 1)
    assert client.breaker_states() == {"a": "open"}
    assert inner.calls["a"] == 6


async def test_an_open_circuit_fails_fast_without_calling_the_subgraph() -> None:
    inner, clock = FakeInner(), FakeClock()
    client = protected(inner, clock)
    inner.failure["a"] = ConnectionError("refused")
    await fail_times(client, "a", 3)
    clock.advance(4.0)
    for _ in range(20):
        with pytest.raises(SubgraphUnavailable) as caught:
            await client.fetch("a", BODY, {})
    assert inner.calls["a"] == 3
    message = str(caught.value)
    assert "circuit open for subgraph 'a'" in message
    assert "after 3 consecutive failures" in message and "refused" not in message
    assert "until 20" in message and "(in 6.0s)" in message  # an ISO timestamp, then the time left
    assert caught.value.retry_after == pytest.approx(6.0)
    assert caught.value.graph == "a"
    stats = client.stats()["a"]
    assert stats["state"] == "open" and stats["opened"] == 1 and stats["rejected_open"] == 20
    assert stats["last_failure"] == "ConnectionError: refused"


async def test_each_subgraph_has_its_own_circuit() -> None:
    inner, clock = FakeInner(), FakeClock()
    client = protected(inner, clock)
    inner.failure["a"] = ConnectionError("refused")
    await fail_times(client, "a", 3)
    assert await client.fetch("b", BODY, {}) == OK
    assert client.breaker_states() == {"a": "open", "b": "closed"}


async def test_after_the_cool_down_a_successful_probe_closes_the_circuit() -> None:
    inner, clock = FakeInner(), FakeClock()
    client = protected(inner, clock)
    inner.failure["a"] = ConnectionError("refused")
    await fail_times(client, "a", 3)
    clock.advance(9.9)
    assert client.breaker_states() == {"a": "open"}
    clock.advance(0.1)
    assert client.breaker_states() == {"a": "half_open"}
    del inner.failure["a"]
    inner.gate = asyncio.Event()
    probe = asyncio.create_task(client.fetch("a", BODY, {}))
    await asyncio.sleep(0)
    assert inner.calls["a"] == 4
    with pytest.raises(SubgraphUnavailable, match="half-open"):  # one probe at a time: the others fail fast
        await client.fetch("a", BODY, {})
    assert inner.calls["a"] == 4
    inner.gate.set()
    assert await probe == OK
    assert client.breaker_states() == {"a": "closed"}
    inner.gate = None
    for _ in range(5):
        assert await client.fetch("a", BODY, {}) == OK
    assert inner.calls["a"] == 9


async def test_a_failed_probe_reopens_the_circuit_for_another_cool_down() -> None:
    inner, clock = FakeInner(), FakeClock()
    client = protected(inner, clock)
    inner.failure["a"] = ConnectionError("refused")
    await fail_times(client, "a", 3)
    clock.advance(10.0)
    await fail_times(client, "a", 1)  # the probe
    assert client.breaker_states() == {"a": "open"}
    clock.advance(5.0)
    with pytest.raises(SubgraphUnavailable, match="after a failed probe") as caught:
        await client.fetch("a", BODY, {})
    assert caught.value.retry_after == pytest.approx(5.0)
    assert inner.calls["a"] == 4
    clock.advance(5.0)
    del inner.failure["a"]
    assert await client.fetch("a", BODY, {}) == OK
    assert client.breaker_states() == {"a": "closed"}


async def test_several_probes_must_all_succeed_to_close() -> None:
    inner, clock = FakeInner(), FakeClock()
    client = protected(inner, clock, breaker=BreakerSettings(failure_threshold=1, cool_down_seconds=1.0,
                                                             half_open_probes=2))
    inner.failure["a"] = ConnectionError("refused")
    await fail_times(client, "a", 1)
    clock.advance(1.0)
    del inner.failure["a"]
    assert await client.fetch("a", BODY, {}) == OK
    assert client.breaker_states() == {"a": "half_open"}
    assert await client.fetch("a", BODY, {}) == OK
    assert client.breaker_states() == {"a": "closed"}


async def test_a_cancelled_probe_lets_another_probe_through() -> None:
    inner, clock = FakeInner(), FakeClock()
    client = protected(inner, clock)
    inner.failure["a"] = ConnectionError("refused")
    await fail_times(client, "a", 3)
    clock.advance(10.0)
    del inner.failure["a"]
    inner.gate = asyncio.Event()
    probe = asyncio.create_task(client.fetch("a", BODY, {}))
    await asyncio.sleep(0)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert client.breaker_states() == {"a": "half_open"}
    inner.gate = None
    assert await client.fetch("a", BODY, {}) == OK
    assert client.breaker_states() == {"a": "closed"}


async def test_graphql_errors_are_answers_not_failures() -> None:
    inner, clock = FakeInner(), FakeClock()
    client = protected(inner, clock, breaker=BreakerSettings(failure_threshold=1))
    errors: JSON = {"data": None, "errors": [{"message": "boom", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
    inner.answer["a"] = errors
    for _ in range(10):
        assert await client.fetch("a", BODY, {}) == errors
    assert client.breaker_states() == {"a": "closed"}


async def test_an_outcome_from_before_the_circuit_opened_does_not_close_it() -> None:
    inner, clock = FakeInner(), FakeClock()
    client = protected(inner, clock)
    gate = inner.gate = asyncio.Event()
    slow = asyncio.create_task(client.fetch("slow", BODY, {}))
    await asyncio.sleep(0)
    inner.gate = None
    inner.failure["slow"] = ConnectionError("refused")
    await fail_times(client, "slow", 3)
    assert client.breaker_states() == {"slow": "open"}
    del inner.failure["slow"]
    gate.set()
    assert await slow == OK  # sent while closed, answered after the circuit opened: ignored
    assert client.breaker_states() == {"slow": "open"}


async def test_breaker_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        BreakerSettings(failure_threshold=0)
    with pytest.raises(ValueError):
        BreakerSettings(half_open_probes=0)
    with pytest.raises(ValueError):
        ProtectedClient(FakeInner(), max_concurrency={"a": 0})


# Bounded concurrency -----------------------------------------------------------------------------------


async def test_a_request_without_a_slot_fails_fast_after_the_queue_timeout() -> None:
    inner = FakeInner()
    client = ProtectedClient(inner, max_concurrency=2, queue_timeout_seconds=0.05)
    inner.gate = asyncio.Event()
    busy = [asyncio.create_task(client.fetch("a", BODY, {})) for _ in range(2)]
    await asyncio.sleep(0)
    started = time.monotonic()
    with pytest.raises(SubgraphOverloaded, match="all 2 request slots stayed busy"):
        await client.fetch("a", BODY, {})
    assert 0.04 <= time.monotonic() - started < 1.0
    assert inner.calls["a"] == 2 and inner.max_in_flight == 2
    assert client.stats()["a"]["in_flight"] == 2
    other = asyncio.create_task(client.fetch("b", BODY, {}))  # another subgraph has its own slots
    await asyncio.sleep(0)
    assert inner.calls["b"] == 1
    inner.gate.set()
    assert await asyncio.gather(*busy, other) == [OK, OK, OK]
    stats = client.stats()["a"]
    assert stats["rejected_overloaded"] == 1 and stats["in_flight"] == 0
    assert client.breaker_states()["a"] == "closed"  # overload is not the subgraph failing


async def test_a_queued_request_gets_the_next_free_slot() -> None:
    inner = FakeInner()
    client = ProtectedClient(inner, max_concurrency=2, queue_timeout_seconds=5.0)
    inner.gate = asyncio.Event()
    calls = [asyncio.create_task(client.fetch("a", BODY, {})) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert inner.calls["a"] == 2  # the third waits
    inner.gate.set()
    assert await asyncio.gather(*calls) == [OK, OK, OK]
    assert inner.calls["a"] == 3 and inner.max_in_flight == 2


async def test_a_zero_queue_timeout_fails_at_once() -> None:
    inner = FakeInner()
    client = ProtectedClient(inner, max_concurrency={"a": 1, "*": 3}, queue_timeout_seconds=0)
    inner.gate = asyncio.Event()
    first = asyncio.create_task(client.fetch("a", BODY, {}))
    await asyncio.sleep(0)
    with pytest.raises(SubgraphOverloaded):
        await client.fetch("a", BODY, {})
    others = [asyncio.create_task(client.fetch("b", BODY, {})) for _ in range(3)]
    await asyncio.sleep(0)
    with pytest.raises(SubgraphOverloaded):
        await client.fetch("b", BODY, {})
    assert client.concurrency_limit("a") == 1 and client.concurrency_limit("zzz") == 3
    inner.gate.set()
    await asyncio.gather(first, *others)


async def test_a_request_queued_while_the_circuit_opened_fails_fast() -> None:
    inner, clock = FakeInner(), FakeClock()
    client = protected(inner, clock, max_concurrency=1, queue_timeout_seconds=5.0,
                       breaker=BreakerSettings(failure_threshold=1))
    inner.gate = asyncio.Event()
    inner.failure["a"] = ConnectionError("refused")
    first = asyncio.create_task(client.fetch("a", BODY, {}))
    queued = asyncio.create_task(client.fetch("a", BODY, {}))
    await asyncio.sleep(0)
    inner.gate.set()
    with pytest.raises(ConnectionError):
        await first
    with pytest.raises(SubgraphUnavailable):
        await queued
    assert inner.calls["a"] == 1


async def test_it_composes_with_the_deduplicating_client() -> None:
    inner = FakeInner()
    client = DeduplicatingClient(ProtectedClient(inner))
    assert client.inner.forward_headers == inner.forward_headers
    inner.gate = asyncio.Event()
    calls = [asyncio.create_task(client.fetch("a", BODY, {"x-tenant": "t1"})) for _ in range(5)]
    await asyncio.sleep(0)
    inner.gate.set()
    assert await asyncio.gather(*calls) == [OK] * 5
    assert inner.calls["a"] == 1
    await client.close()
    assert inner.closed


SUBGRAPH_SCRIPT = textwrap.dedent("""
    import sys

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def graphql(request: Request) -> JSONResponse:
        body = await request.json()
        if "boom" in body["query"]:
            return JSONResponse({"data": None, "errors": [{"message": "boom"}]})
        return JSONResponse({"data": {"hello": "world"}})

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/health", health)])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="critical", access_log=False)
""")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SubgraphProcess:
    def __init__(self, script: Path, port: int) -> None:
        self.script = script
        self.port = port
        self.url = f"http://127.0.0.1:{port}/graphql"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 20.0) -> None:
        self.process = subprocess.Popen([sys.executable, str(self.script), str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=1.0) as probe:
            while True:
                if self.process.poll() is not None:
                    stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                    raise RuntimeError(f"the subgraph process exited: {stderr}")
                try:
                    if (await probe.get(f"http://127.0.0.1:{self.port}/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the subgraph process did not start in time")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None


class CountingClient:
    """Counts the calls that reach the real HTTP client."""

    def __init__(self, inner: HttpSubgraphClient) -> None:
        self.inner = inner
        self.calls = 0

    async def fetch(self, graph: str, body: JSON, headers: Mapping[str, str]) -> JSON:
        self.calls += 1
        return await self.inner.fetch(graph, body, headers)

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture
def subgraph_process(tmp_path: Path) -> Iterator[SubgraphProcess]:
    script = tmp_path / "subgraph.py"
    script.write_text(SUBGRAPH_SCRIPT, encoding="utf-8")
    process = SubgraphProcess(script, free_port())
    try:
        yield process
    finally:
        process.kill()


async def test_a_dead_subgraph_process_is_cut_off_and_picked_up_again(subgraph_process: SubgraphProcess) -> None:
    await subgraph_process.start()
    clock = FakeClock()
    http = CountingClient(HttpSubgraphClient({"sg": subgraph_process.url}, timeout_seconds=5.0))
    client = ProtectedClient(http, breaker=BreakerSettings(failure_threshold=3, cool_down_seconds=30.0),
                             clock=clock)
    try:
        assert await client.fetch("sg", BODY, {}) == OK
        boom = await client.fetch("sg", {"query": "{ boom }"}, {})  # GraphQL errors over HTTP: an answer
        assert boom["errors"] == [{"message": "boom"}]
        assert client.breaker_states() == {"sg": "closed"}

        subgraph_process.kill()
        for _ in range(3):
            with pytest.raises(Exception) as caught:
                await client.fetch("sg", BODY, {})
            assert not isinstance(caught.value, SubgraphUnavailable)
        assert client.breaker_states() == {"sg": "open"}
        assert http.calls == 5

        started = time.monotonic()
        for _ in range(50):
            with pytest.raises(SubgraphUnavailable, match="circuit open"):
                await client.fetch("sg", BODY, {})
        assert time.monotonic() - started < 0.5  # fast: no connection attempts
        assert http.calls == 5  # the HTTP client was not called at all

        await subgraph_process.start()
        with pytest.raises(SubgraphUnavailable):  # up again, but the cool-down has not passed
            await client.fetch("sg", BODY, {})
        assert http.calls == 5
        clock.advance(30.0)
        assert client.breaker_states() == {"sg": "half_open"}
        assert await client.fetch("sg", BODY, {}) == OK  # the probe, on the same HTTP client
        assert client.breaker_states() == {"sg": "closed"}
        assert http.calls == 6
        for _ in range(5):
            assert await client.fetch("sg", BODY, {}) == OK
        assert http.calls == 11
    finally:
        await client.close()


# Through the gateway -------------------------------------------------------------------------------------


async def test_the_gateway_reports_an_open_circuit_as_a_downstream_service_error() -> None:
    from router.gateway import Gateway, GraphQLRequest
    from router.supergraph import Supergraph

    supergraph = Supergraph((Path(__file__).resolve().parents[2] / "schema.graphql").read_text(encoding="utf-8"))
    inner, clock = FakeInner(), FakeClock()
    client = protected(inner, clock, breaker=BreakerSettings(failure_threshold=2, cool_down_seconds=10.0))
    gateway = Gateway(supergraph, client)
    query = '{ region(code: "320000") { name } }'
    inner.failure = {name: ConnectionError("refused") for name in supergraph.graph_by_name}
    messages = []
    for _ in range(3):
        body = (await gateway.run(GraphQLRequest(query), {})).body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "DOWNSTREAM_SERVICE_ERROR"
        messages.append(error["message"])
    assert "refused" in messages[0] and "refused" in messages[1]
    assert "circuit open" in messages[2]
    assert sum(inner.calls.values()) == 2


async def test_identical_queries_in_flight_share_one_request_across_request_ids() -> None:
    from router.transport import DeduplicatingClient

    class Slow:
        forward_headers = ("x-request-id", "authorization")

        def __init__(self) -> None:
            self.calls = 0

        async def fetch(self, graph: str, body: dict[str, Any], headers: Any) -> dict[str, Any]:
            self.calls += 1
            await asyncio.sleep(0.05)
            return {"data": {"n": self.calls}}

        async def close(self) -> None:
            return None

    inner = Slow()
    client = DeduplicatingClient(inner)
    body = {"query": "{ n }", "variables": {}}
    same = await asyncio.gather(*(client.fetch("a", body, {"x-request-id": str(i)}) for i in range(10)))
    assert inner.calls == 1 and all(answer == {"data": {"n": 1}} for answer in same)
    # A different caller (Authorization) never shares another's answer.
    await asyncio.gather(client.fetch("a", body, {"authorization": "Bearer x"}),
                         client.fetch("a", body, {"authorization": "Bearer y"}))
    assert inner.calls == 3
