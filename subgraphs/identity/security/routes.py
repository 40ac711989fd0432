"""identity's HTTP endpoints for the router: the enabled IP blacklist (router/ipblock.py) and the revoked
tokens (router/revocation.py), which the router enforces on every request. Only the router may read them:
the request must carry a valid caller token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from subgraphs.common.app import Runtime
from subgraphs.common.caller import CallerRejected
from subgraphs.identity import models
from subgraphs.identity.security.blacklist import enabled_networks

IP_BLACKLIST_PATH = "/security/ip-blacklist"
REVOKED_TOKENS_PATH = "/security/revoked-tokens"


async def blacklist_networks(runtime: Runtime) -> list[str]:
    async with runtime.sessions() as session:
        return [str(network) for network in await enabled_networks(session)]


async def revoked_token_keys(runtime: Runtime) -> list[str]:
    """The revocation keys (router/revocation.py) of tokens revoked and not yet expired."""
    async with runtime.sessions() as session:
        rows = await session.scalars(select(models.RevokedToken.jti)
                                     .where(models.RevokedToken.expires_at > datetime.now(UTC)))
        return list(rows)


def routes(runtime: Runtime) -> Sequence[BaseRoute]:
    async def for_the_router(request: Request, key: str, read: Callable[[Runtime], Awaitable[list[str]]]
                             ) -> Response:
        verifier = runtime.caller_verifier
        try:
            caller = await verifier.caller(dict(request.headers)) if verifier is not None else None
        except CallerRejected as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        if caller is None:
            return JSONResponse({"error": "only the router may read this (send a caller token)"}, status_code=401)
        return JSONResponse({key: await read(runtime)}, headers={"cache-control": "no-store"})

    async def ip_blacklist(request: Request) -> Response:
        return await for_the_router(request, "networks", blacklist_networks)

    async def revoked_tokens(request: Request) -> Response:
        return await for_the_router(request, "keys", revoked_token_keys)

    return [Route(IP_BLACKLIST_PATH, ip_blacklist), Route(REVOKED_TOKENS_PATH, revoked_tokens)]
