"""Lists the router keeps in step with identity by polling: the IP blacklist (router/ipblock.py) and the
revoked tokens (router/revocation.py).

A source is an async function returning the list; identity's HTTP endpoints are read with a caller token
for identity (`HttpListSource`), or a function in the same process in the embedded mode. The list is read
again every `refresh_seconds`; when identity cannot be reached the last list keeps applying, and the error
shows in /health and the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import orjson

from router.caller_token import CallerTokenMinter

log = logging.getLogger("router.polled")
Source = Callable[[], Awaitable[list[str]]]


class PolledList:
    what = "list"

    def __init__(self, source: Source, *, refresh_seconds: float = 2.0) -> None:
        self.source = source
        self.refresh_seconds = refresh_seconds
        self.last_error: str | None = None
        self.loaded = False
        self.size = 0
        self._task: asyncio.Task[None] | None = None

    def apply(self, values: list[str]) -> None:
        raise NotImplementedError

    async def refresh(self) -> bool:
        try:
            values = await self.source()
            self.apply(values)
        except Exception as exc:  # the last list keeps applying
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("%s not refreshed, the last one applies: %s", self.what, self.last_error)
            return False
        self.size = len(values)
        self.last_error = None
        self.loaded = True
        return True

    def health(self) -> dict[str, object]:
        return {"entries": self.size, "loaded": self.loaded, "error": self.last_error}

    def start(self, *, initial_delay: float = 0.0) -> None:
        async def loop() -> None:
            await asyncio.sleep(initial_delay)
            while True:
                await self.refresh()
                await asyncio.sleep(self.refresh_seconds)

        if self._task is None:
            self._task = asyncio.create_task(loop(), name=f"{self.what}-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        close = getattr(self.source, "close", None)
        if close is not None:
            await close()


class HttpListSource:
    """Reads one of identity's list endpoints ({key: [...]}) with a caller token for identity."""

    def __init__(self, url: str, key: str, minter: CallerTokenMinter | None, *, timeout_seconds: float = 2.0) -> None:
        self.url = url
        self.key = key
        self.minter = minter
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self) -> list[str]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        headers = {"authorization": f"Bearer {self.minter.mint(None, 'identity')}"} if self.minter else {}
        async with self._session.get(self.url, headers=headers) as response:
            if response.status != 200:
                raise RuntimeError(f"{self.url} answered HTTP {response.status}")
            body = orjson.loads(await response.read())
        values = body.get(self.key) if isinstance(body, dict) else None
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise RuntimeError(f"{self.url} did not answer a list of {self.key}")
        return values

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
