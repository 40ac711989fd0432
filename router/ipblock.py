"""The IP blacklist at the router: requests from a blacklisted address (IPv4 or IPv6, single or CIDR) are
refused with 403 before anything else happens, so a blocked address can use no token.

The list belongs to identity (its security policies, subgraphs/identity/security/blacklist.py) and is read
through a source: identity's `/security/ip-blacklist` endpoint over HTTP (`http_source`), authenticated
with a caller token, or a function in the same process. It is refreshed every `refresh_seconds` (2 s by
default: a change takes effect within that); when identity cannot be reached the last list keeps
applying.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable

import aiohttp
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from router.caller_token import CallerTokenMinter
from router.ratelimit import peer_address

log = logging.getLogger("router.ipblock")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Source = Callable[[], Awaitable[list[str]]]
IP_BLOCKED = "IP_BLOCKED"


def parse_networks(values: Iterable[str]) -> list[Network]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            log.warning("ignoring %r in the IP blacklist: not an address or network", value)
    return networks


class IpBlocklist:
    def __init__(self, source: Source, *, refresh_seconds: float = 2.0) -> None:
        self.source = source
        self.refresh_seconds = refresh_seconds
        self.networks: list[Network] = []
        self.last_error: str | None = None
        self.loaded = False
        self._task: asyncio.Task[None] | None = None

    def blocked(self, address: str | None) -> bool:
        if not address or not self.networks:
            return False
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        return any(parsed.version == n.version and parsed in n for n in self.networks)

    async def refresh(self) -> bool:
        try:
            self.networks = parse_networks(await self.source())
        except Exception as exc:  # the last list keeps applying; the operator sees why in /health and logs
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("IP blacklist not refreshed, the last list applies: %s", self.last_error)
            return False
        self.last_error = None
        self.loaded = True
        return True

    def start(self, *, initial_delay: float = 0.0) -> None:
        async def loop() -> None:
            await asyncio.sleep(initial_delay)
            while True:
                await self.refresh()
                await asyncio.sleep(self.refresh_seconds)

        if self._task is None:
            self._task = asyncio.create_task(loop(), name="ip-blacklist-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        close = getattr(self.source, "close", None)
        if close is not None:
            await close()


class HttpSource:
    """Reads identity's endpoint ({"networks": [...]}) with a caller token for identity."""

    def __init__(self, url: str, minter: CallerTokenMinter | None, *, timeout_seconds: float = 2.0) -> None:
        self.url = url
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
        networks = body.get("networks") if isinstance(body, dict) else None
        if not isinstance(networks, list) or not all(isinstance(n, str) for n in networks):
            raise RuntimeError(f"{self.url} did not answer a list of networks")
        return networks

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def http_source(url: str, minter: CallerTokenMinter | None, *, timeout_seconds: float = 2.0) -> HttpSource:
    return HttpSource(url, minter, timeout_seconds=timeout_seconds)


def ip_guard(blocklist: IpBlocklist, *, trusted_proxy_hops: int = 0) -> Callable[[Request], Awaitable[Response | None]]:
    async def guard(request: Request) -> Response | None:
        if blocklist.blocked(peer_address(request, trusted_proxy_hops=trusted_proxy_hops)):
            return JSONResponse({"errors": [{"message": "requests from this address are not accepted",
                                             "extensions": {"code": IP_BLOCKED}}]}, status_code=403)
        return None

    return guard
