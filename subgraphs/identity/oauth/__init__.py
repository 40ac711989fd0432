"""identity's authorization server: OAuth 2.0 + OpenID Connect (authorization code with PKCE, client
credentials, refresh-token rotation with reuse detection, revocation, introspection, userinfo, logout),
CAS 2.0/3.0 for legacy systems, and third-party sign-in, served next to identity's /graphql.

    definition = SubgraphDefinition(..., extra_routes=oauth.routes)
    routes(runtime)                                  # settings from the environment (config.py)
    routes(runtime, OAuthSettings(clock=...))        # tests: an injectable clock, fixed issuer, ...

See docs/identity.md for the endpoints and the choices where the tender is silent.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from subgraphs.common.app import Runtime
from subgraphs.identity.oauth.cas import Cas
from subgraphs.identity.oauth.channel_login import ChannelLogin
from subgraphs.identity.oauth.config import OAuthSettings, SsoPolicy
from subgraphs.identity.oauth.endpoints import Endpoints
from subgraphs.identity.oauth.server import OAuthServer
from subgraphs.identity.security.crypto import MasterKey

__all__ = ["OAuthServer", "OAuthSettings", "SsoPolicy", "routes"]


def routes(runtime: Runtime, settings: OAuthSettings | None = None, master: MasterKey | None = None
           ) -> Sequence[BaseRoute]:
    """The endpoints; `master` defaults to crypto.master_key() (JSHEALTH_MASTER_KEY), read on first use."""
    server = OAuthServer(runtime, settings or OAuthSettings.from_env({**os.environ, **runtime.settings}), master)
    endpoints = Endpoints(server)
    cas = Cas(server)
    channels = ChannelLogin(server, endpoints.login_form)
    return [_refusing_nul(route) for route in [
        Route("/.well-known/openid-configuration", endpoints.discovery, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", endpoints.discovery, methods=["GET"]),
        Route("/.well-known/jwks.json", endpoints.jwks, methods=["GET"]),
        Route("/oauth/authorize", endpoints.authorize, methods=["GET"]),
        Route("/oauth/login", endpoints.login_get, methods=["GET"]),
        Route("/oauth/login", endpoints.login_post, methods=["POST"]),
        Route("/oauth/password", endpoints.password_get, methods=["GET"]),
        Route("/oauth/password", endpoints.password_post, methods=["POST"]),
        Route("/oauth/signed-in", endpoints.signed_in, methods=["GET"]),
        Route("/oauth/token", endpoints.token, methods=["POST"]),
        Route("/oauth/revoke", endpoints.revoke, methods=["POST"]),
        Route("/oauth/introspect", endpoints.introspect, methods=["POST"]),
        Route("/oauth/userinfo", endpoints.userinfo, methods=["GET", "POST"]),
        Route("/oauth/logout", endpoints.logout, methods=["GET", "POST"]),
        Route("/oauth/channel/{channel}/start", channels.start, methods=["GET"]),
        Route("/oauth/channel/{channel}/callback", channels.callback, methods=["GET"]),
        Route("/cas/login", cas.login, methods=["GET"]),
        Route("/cas/serviceValidate", cas.service_validate, methods=["GET"]),
        Route("/cas/p3/serviceValidate", cas.p3_service_validate, methods=["GET"]),
        Route("/cas/logout", cas.logout, methods=["GET"]),
    ]]


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw


# the browser-facing endpoints answer a bad request with a page; the others with an RFC 6749 error
_PAGES = ("/oauth/authorize", "/oauth/login", "/oauth/password", "/oauth/channel/")
_NUL_PAGE = ("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>请求无效</title>"
             "<p>The request contains characters that are not allowed.</p></html>")


def _refusing_nul(route: Route) -> Route:
    """A NUL character cannot be stored in PostgreSQL text: a request carrying one (in its query or its
    form) is refused as invalid before it reaches a query, instead of failing there with a 500."""
    endpoint = route.endpoint
    page = route.path.startswith(_PAGES)

    async def guarded(request: Request) -> Response:
        if _has_nul(request.scope.get("query_string", b"")) or (
                request.method == "POST" and _has_nul(await request.body())):
            if page:
                return HTMLResponse(_NUL_PAGE, status_code=400, headers={"cache-control": "no-store"})
            return JSONResponse({"error": "invalid_request", "error_description": "NUL characters are not allowed"},
                                status_code=400, headers={"cache-control": "no-store"})
        return await endpoint(request)

    return Route(route.path, guarded, methods=list(route.methods or ()), name=route.name)
