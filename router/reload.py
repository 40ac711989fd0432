"""Hot reload: a changed supergraph file (or SIGHUP) swaps the schema and the plan cache without
dropping in-flight requests; a bad new supergraph is refused and the old one keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from router.config import ConfigError
from router.gateway import Gateway, GraphQLRequest, GraphQLResponse
from router.supergraph import Supergraph, SupergraphError

log = logging.getLogger(__name__)


class GatewayHolder:
    """Stands in for the Gateway the HTTP layer calls. A request takes the gateway current when it
    arrives and finishes on it, whatever is swapped in meanwhile."""

    def __init__(self, gateway: Gateway) -> None:
        self.current = gateway
        self.generation = 1

    @property
    def supergraph(self) -> Supergraph:
        return self.current.supergraph

    def prepare(self, query: str, operation_name: str | None, labels: frozenset[str] = frozenset()) -> Any:
        return self.current.prepare(query, operation_name, labels)

    async def run(self, request: GraphQLRequest, headers: Any) -> GraphQLResponse:
        return await self.current.run(request, headers)

    def swap(self, gateway: Gateway) -> None:
        self.current = gateway
        self.generation += 1


class SupergraphWatcher:
    """Polls the supergraph file (cheap: one stat) and reloads on change or on SIGHUP."""

    def __init__(
        self, path: str, holder: GatewayHolder, make_gateway: Callable[[Supergraph], Gateway], *,
        interval_seconds: float = 2.0,
    ) -> None:
        self.path = Path(path)
        self.holder = holder
        self.make_gateway = make_gateway
        self.interval = interval_seconds
        self._signature = self._stat()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.last_error: str | None = None

    def _stat(self) -> tuple[float, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime, stat.st_size)

    def reload(self) -> bool:
        """Load the file now; True when a new supergraph is serving."""
        try:
            supergraph = Supergraph(self.path.read_text(encoding="utf-8"))
            gateway = self.make_gateway(supergraph)
        except (OSError, SupergraphError, ConfigError, ValueError) as exc:
            self.last_error = str(exc)
            log.error("supergraph %s not reloaded, the previous one keeps serving: %s", self.path, exc)
            return False
        self.holder.swap(gateway)
        self.last_error = None
        log.warning("supergraph %s reloaded (generation %d)", self.path, self.holder.generation)
        return True

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            forced = self._wake.is_set()
            self._wake.clear()
            signature = self._stat()
            if forced or (signature is not None and signature != self._signature):
                self._signature = signature
                self.reload()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, self._wake.set)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
