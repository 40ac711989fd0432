"""identity's HTTP endpoint for the router: the enabled IP blacklist, which the router enforces on every
request (router/ipblock.py). Only the router may read it: the request must carry a valid caller token."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from subgraphs.common.app import Runtime
from subgraphs.common.caller import CallerRejected
from subgraphs.identity.security.blacklist import enabled_networks

IP_BLACKLIST_PATH = "/security/ip-blacklist"


async def blacklist_networks(runtime: Runtime) -> list[str]:
    async with runtime.sessions() as session:
        return [str(network) for network in await enabled_networks(session)]


def routes(runtime: Runtime) -> Sequence[BaseRoute]:
    async def ip_blacklist(request: Request) -> Response:
        verifier = runtime.caller_verifier
        try:
            caller = await verifier.caller(dict(request.headers)) if verifier is not None else None
        except CallerRejected as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        if caller is None:
            return JSONResponse({"error": "only the router may read the blacklist (send a caller token)"},
                                status_code=401)
        return JSONResponse({"networks": await blacklist_networks(runtime)}, headers={"cache-control": "no-store"})

    return [Route(IP_BLACKLIST_PATH, ip_blacklist)]
