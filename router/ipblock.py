"""The IP blacklist at the router: requests from a blacklisted address (IPv4 or IPv6, single or CIDR) are
refused with 403 before anything else happens, so a blocked address can use no token.

The list belongs to identity (its security policies, subgraphs/identity/security/blacklist.py) and is read
through a source: identity's `/security/ip-blacklist` endpoint over HTTP (`http_source`), authenticated
with a caller token, or a function in the same process. It is refreshed every `refresh_seconds` (2 s by
default: a change takes effect within that); when identity cannot be reached the last list keeps
applying.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from router.caller_token import CallerTokenMinter
from router.polled import HttpListSource, PolledList, Source
from router.ratelimit import peer_address

log = logging.getLogger("router.ipblock")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IP_BLOCKED = "IP_BLOCKED"


def parse_networks(values: Iterable[str]) -> list[Network]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            log.warning("ignoring %r in the IP blacklist: not an address or network", value)
    return networks


class IpBlocklist(PolledList):
    what = "IP blacklist"

    def __init__(self, source: Source, *, refresh_seconds: float = 2.0) -> None:
        super().__init__(source, refresh_seconds=refresh_seconds)
        self.networks: list[Network] = []

    def apply(self, values: list[str]) -> None:
        self.networks = parse_networks(values)

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


def http_source(url: str, minter: CallerTokenMinter | None, *, timeout_seconds: float = 2.0) -> HttpListSource:
    return HttpListSource(url, "networks", minter, timeout_seconds=timeout_seconds)


def ip_guard(blocklist: IpBlocklist, *, trusted_proxy_hops: int = 0) -> Callable[[Request], Awaitable[Response | None]]:
    async def guard(request: Request) -> Response | None:
        if blocklist.blocked(peer_address(request, trusted_proxy_hops=trusted_proxy_hops)):
            return JSONResponse({"errors": [{"message": "requests from this address are not accepted",
                                             "extensions": {"code": IP_BLOCKED}}]}, status_code=403)
        return None

    return guard
