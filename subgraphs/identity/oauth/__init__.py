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
    return [
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
    ]
