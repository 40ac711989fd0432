"""Protection of the router against slow or failing subgraphs: bounded concurrency and a circuit breaker
per subgraph, around any subgraph client (`fetch(graph, body, headers)` / `close()`).

    client = DeduplicatingClient(ProtectedClient(HttpSubgraphClient(urls), max_concurrency=100,
                                                 breaker=BreakerSettings(failure_threshold=5)))

Bounded concurrency: at most `max_concurrency` requests to one subgraph are in flight; a request that
cannot get a slot within `queue_timeout_seconds` fails with `SubgraphOverloaded` (the inner client is
not called). The executor turns that, like any client exception, into a DOWNSTREAM_SERVICE_ERROR for the
subgraph's fields while the rest of the response arrives.

Circuit breaker: one per subgraph, counting CONSECUTIVE failures (not a failure ratio over a window: a
consecutive count needs no window tuning, reacts as fast on a quiet subgraph as on a busy one, and any
success in between shows the subgraph still answers).

    closed     calls go through; `failure_threshold` failures in a row open the circuit.
    open       every call fails at once with `SubgraphUnavailable`, the inner client is not called,
               for `cool_down_seconds`.
    half_open  after the cool-down, `half_open_probes` calls are let through as probes (the others still
               fail at once): when all of them succeed the circuit closes; the first failure re-opens it
               for another cool-down. A probe cancelled by its caller counts as neither.

A failure is an exception raised by the inner client: connection errors, timeouts, HTTP 5xx or an empty or
non-JSON body (`SubgraphHTTPError`). A GraphQL response carrying `errors` is an answer, not a failure: the
subgraph is up. Outcomes of calls admitted before the last state change are ignored (a slow request sent
while the circuit was closed does not close it again after it opened).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from router.transport import FORWARDED_HEADERS

JSON = dict[str, Any]
Clock = Callable[[], float]

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

DEFAULT_MAX_CONCURRENCY = 100
DEFAULT_QUEUE_TIMEOUT_SECONDS = 1.0


class SubgraphRejected(Exception):
    """The router did not send the request to the subgraph (it protects itself or the subgraph)."""

    def __init__(self, graph: str, message: str) -> None:
        super().__init__(message)
        self.graph = graph


class SubgraphOverloaded(SubgraphRejected):
    """Every concurrency slot of the subgraph stayed busy for the whole queue timeout."""


class SubgraphUnavailable(SubgraphRejected):
    """The subgraph's circuit is open (or half-open with its probes in flight): the call failed fast."""

    def __init__(self, graph: str, message: str, retry_after: float) -> None:
        super().__init__(graph, message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class BreakerSettings:
    failure_threshold: int = 5
    cool_down_seconds: float = 5.0
    half_open_probes: int = 1

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.cool_down_seconds < 0:
            raise ValueError("cool_down_seconds must not be negative")
        if self.half_open_probes < 1:
            raise ValueError("half_open_probes must be at least 1")


@dataclass(frozen=True)
class _Permit:
    generation: int
    probe: bool


class CircuitBreaker:
    """The breaker of one subgraph. Not thread-safe: it lives on the router's event loop (no awaits inside)."""

    def __init__(self, graph: str, settings: BreakerSettings, clock: Clock) -> None:
        self.graph = graph
        self.settings = settings
        self._clock = clock
        self._state = CLOSED
        self._generation = 0  # bumped on every state change; outcomes of older permits are ignored
        self._failures = 0  # consecutive failures while closed
        self.last_failure = ""  # for logs and metrics; not in the message clients see
        self._open_reason = ""
        self._opened_until = 0.0
        self._probes_admitted = 0
        self._probes_succeeded = 0
        self.opened = 0  # how many times the circuit opened (metrics)
        self.rejected = 0  # calls failed fast

    @property
    def state(self) -> str:
        if self._state == OPEN and self._clock() >= self._opened_until:
            self._transition(HALF_OPEN)
        return self._state

    def _transition(self, state: str) -> None:
        self._state = state
        self._generation += 1
        self._failures = 0
        self._probes_admitted = 0
        self._probes_succeeded = 0

    def _open(self, reason: str) -> None:
        self._open_reason = reason
        self._transition(OPEN)
        self._opened_until = self._clock() + self.settings.cool_down_seconds
        self.opened += 1

    def admit(self) -> _Permit:
        """A permit to call the subgraph, or `SubgraphUnavailable`."""
        state = self.state
        if state == CLOSED:
            return _Permit(self._generation, probe=False)
        if state == HALF_OPEN and self._probes_admitted < self.settings.half_open_probes:
            self._probes_admitted += 1
            return _Permit(self._generation, probe=True)
        raise self._unavailable()

    def recheck(self, permit: _Permit) -> None:
        """After waiting for a concurrency slot: fail fast if the circuit opened in the meantime."""
        if permit.generation != self._generation and self.state == OPEN:
            raise self._unavailable()

    def _unavailable(self) -> SubgraphUnavailable:
        self.rejected += 1
        now = self._clock()
        if self._state == OPEN:
            remaining = max(0.0, self._opened_until - now)
            until = (datetime.now(UTC) + timedelta(seconds=remaining)).isoformat(timespec="milliseconds")
            message = (f"circuit open for subgraph '{self.graph}' after {self._open_reason}; "
                       f"calls fail fast until {until} (in {remaining:.1f}s)")
        else:
            remaining = 0.0
            message = (f"circuit half-open for subgraph '{self.graph}': a probe request is in flight; "
                       "calls fail fast until it succeeds")
        return SubgraphUnavailable(self.graph, message, remaining)

    def succeeded(self, permit: _Permit) -> None:
        if permit.generation != self._generation:
            return
        if self._state == CLOSED:
            self._failures = 0
        elif self._state == HALF_OPEN and permit.probe:
            self._probes_succeeded += 1
            if self._probes_succeeded >= self.settings.half_open_probes:
                self._transition(CLOSED)

    def failed(self, permit: _Permit, exc: BaseException) -> None:
        if permit.generation != self._generation:
            return
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self.last_failure = detail if len(detail) <= 200 else detail[:199] + "…"
        if self._state == CLOSED:
            self._failures += 1
            if self._failures >= self.settings.failure_threshold:
                self._open(f"{self._failures} consecutive failures")
        elif self._state == HALF_OPEN and permit.probe:
            self._open("a failed probe")

    def abandoned(self, permit: _Permit) -> None:
        """The call never reached an outcome (cancelled, or no concurrency slot): free its probe slot."""
        if permit.generation == self._generation and self._state == HALF_OPEN and permit.probe:
            self._probes_admitted -= 1


class ProtectedClient:
    """A subgraph client with bounded concurrency and a circuit breaker per subgraph.

    `max_concurrency`: one limit for every subgraph, or a mapping name -> limit (subgraphs not named get
    the mapping's "*" entry, else 100). `queue_timeout_seconds`: how long a request may wait for a slot
    (0: fail at once when all are busy; None: wait as long as it takes). `clock`: monotonic seconds,
    injectable for tests."""

    def __init__(
        self,
        inner: Any,
        *,
        max_concurrency: Mapping[str, int] | int = DEFAULT_MAX_CONCURRENCY,
        breaker: BreakerSettings = BreakerSettings(),
        queue_timeout_seconds: float | None = DEFAULT_QUEUE_TIMEOUT_SECONDS,
        clock: Clock = time.monotonic,
    ) -> None:
        self.inner = inner
        self.breaker_settings = breaker
        self.queue_timeout_seconds = queue_timeout_seconds
        self._clock = clock
        if isinstance(max_concurrency, int):
            self._limits: dict[str, int] = {}
            self._default_limit = max_concurrency
        else:
            self._limits = {k: v for k, v in max_concurrency.items() if k != "*"}
            self._default_limit = max_concurrency.get("*", DEFAULT_MAX_CONCURRENCY)
        for name, limit in [*self._limits.items(), ("*", self._default_limit)]:
            if limit < 1:
                raise ValueError(f"max_concurrency for {name!r} must be at least 1, not {limit}")
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._in_flight: dict[str, int] = {}
        self._overloaded: dict[str, int] = {}

    @property
    def forward_headers(self) -> Any:
        """The inner client's forwarded header names (DeduplicatingClient keys requests on them)."""
        return getattr(self.inner, "forward_headers", FORWARDED_HEADERS)

    def concurrency_limit(self, graph: str) -> int:
        return self._limits.get(graph, self._default_limit)

    def breaker(self, graph: str) -> CircuitBreaker:
        found = self._breakers.get(graph)
        if found is None:
            found = self._breakers[graph] = CircuitBreaker(graph, self.breaker_settings, self._clock)
        return found

    def _semaphore(self, graph: str) -> asyncio.Semaphore:
        found = self._semaphores.get(graph)
        if found is None:
            found = self._semaphores[graph] = asyncio.Semaphore(self.concurrency_limit(graph))
        return found

    async def _acquire(self, graph: str, semaphore: asyncio.Semaphore) -> None:
        timeout = self.queue_timeout_seconds
        if not semaphore.locked():
            await semaphore.acquire()  # a free slot: returns without suspending
            return
        if timeout is not None and timeout <= 0:
            raise self._overload(graph)
        try:
            async with asyncio.timeout(timeout):
                await semaphore.acquire()
        except TimeoutError:
            raise self._overload(graph) from None

    def _overload(self, graph: str) -> SubgraphOverloaded:
        self._overloaded[graph] = self._overloaded.get(graph, 0) + 1
        return SubgraphOverloaded(
            graph, f"subgraph '{graph}' is overloaded: all {self.concurrency_limit(graph)} request slots stayed "
                   f"busy for {self.queue_timeout_seconds}s")

    async def fetch(self, graph: str, body: JSON, headers: Mapping[str, str]) -> JSON:
        breaker = self.breaker(graph)
        permit = breaker.admit()
        semaphore = self._semaphore(graph)
        try:
            await self._acquire(graph, semaphore)
        except BaseException:
            breaker.abandoned(permit)
            raise
        self._in_flight[graph] = self._in_flight.get(graph, 0) + 1
        try:
            breaker.recheck(permit)
            try:
                response: JSON = await self.inner.fetch(graph, body, headers)
            except Exception as exc:
                breaker.failed(permit, exc)
                raise
            except BaseException:
                breaker.abandoned(permit)
                raise
            breaker.succeeded(permit)
            return response
        finally:
            self._in_flight[graph] -= 1
            semaphore.release()

    async def close(self) -> None:
        await self.inner.close()

    def breaker_states(self) -> dict[str, str]:
        """Subgraph -> "closed" | "open" | "half_open", for the subgraphs called so far."""
        return {graph: breaker.state for graph, breaker in sorted(self._breakers.items())}

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per subgraph: breaker state, requests in flight, the limit, and rejection counters."""
        graphs = sorted(set(self._breakers) | set(self._semaphores))
        return {
            graph: {
                "state": self.breaker(graph).state,
                "in_flight": self._in_flight.get(graph, 0),
                "max_concurrency": self.concurrency_limit(graph),
                "opened": self.breaker(graph).opened,
                "rejected_open": self.breaker(graph).rejected,
                "rejected_overloaded": self._overloaded.get(graph, 0),
                "last_failure": self.breaker(graph).last_failure,
            }
            for graph in graphs
        }


__all__ = [
    "BreakerSettings",
    "CircuitBreaker",
    "ProtectedClient",
    "SubgraphOverloaded",
    "SubgraphRejected",
    "SubgraphUnavailable",
]
