"""docs/identity-openapi.yaml against the authorization server: the document is valid OpenAPI, lists exactly
the routes of subgraphs/identity/oauth routes(), and schemathesis fuzzes every operation in process (ASGI)
against an app built like the `world` fixture's (same users and clients), checking that nothing answers
5xx and that statuses, content types and bodies are the documented ones. A few hand-made cases walk the
successful paths (tokens, introspection, userinfo, CAS validation), which random input never reaches.

The app runs on schemathesis' ASGI event loop (one thread for every request), so its engine is created
there on first use and never shared with the tests' own loop; the database is prepared beforehand in a
separate thread with an engine of its own.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.result import Err
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from test_identity_oauth_support import (
    ALICE,
    ALICE_PW,
    HIS,
    HIS_SECRET,
    LEGACY_SERVICE,
    PREFIX,
    FakeClock,
    _no_seed,
    _populate,
    _seeded,
    pkce_pair,
)

from db.engine import make_engine
from db.migrate import upgrade
from subgraphs.common.app import Runtime, SubgraphDefinition
from subgraphs.common.bus import InProcessBus
from subgraphs.identity import models, oauth
from subgraphs.identity.oauth.config import OAuthSettings
from subgraphs.identity.security.crypto import MasterKey

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "identity-openapi.yaml"
BASE_URL = f"http://{asgi.HOST}{PREFIX}"
CHECKS: list[CheckFunction] = [not_a_server_error, status_code_conformance, content_type_conformance,
                               response_schema_conformance]
# Per operation; OAUTH_OPENAPI_EXAMPLES=300 for a deeper run (about 2 minutes).
MAX_EXAMPLES = int(os.environ.get("OAUTH_OPENAPI_EXAMPLES", "30"))
HIS_REDIRECT = "https://his.test/cb"


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


# --- (1) the document and the route list -----------------------------------------------------------------


def route_operations() -> set[tuple[str, str]]:
    runtime = cast(Runtime, SimpleNamespace(settings={}))
    found: set[tuple[str, str]] = set()
    for route in oauth.routes(runtime, OAuthSettings(), MasterKey(bytes(32))):
        assert isinstance(route, Route)
        found |= {(route.path, method) for method in route.methods or () if method != "HEAD"}
    return found


def documented_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return {(path, method.upper()) for path, item in spec["paths"].items() for method in item if method in methods}


def test_document_is_valid_openapi() -> None:
    schema = schemathesis.openapi.from_dict(document())
    schema.validate()
    assert schema.specification.version.startswith("3.1")
    results = list(schema.get_all_operations())
    problems = [result.err() for result in results if isinstance(result, Err)]
    assert problems == []
    assert len(results) == len(documented_operations(document()))


def test_document_lists_exactly_the_routes() -> None:
    routes, documented = route_operations(), documented_operations(document())
    assert routes - documented == set(), "routes missing from docs/identity-openapi.yaml"
    assert documented - routes == set(), "documented operations that routes() does not serve"


def test_every_operation_documents_its_responses() -> None:
    spec = document()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation.get("responses"), f"{method.upper()} {path}"
            assert operation.get("operationId"), f"{method.upper()} {path}"


# --- the app under test ----------------------------------------------------------------------------------


class Proxy:
    """The ASGI app the schema is bound to at import time (parametrize needs the schema then); the `served`
    fixture puts the real one behind it once its database is ready."""

    def __init__(self) -> None:
        self.target: Starlette | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.target is None:
            raise RuntimeError("the `served` fixture has not started the app")
        await self.target(scope, receive, send)


@dataclass
class Served:
    app: Starlette
    users: dict[str, str]


def _run(coro: Any) -> Any:
    """Runs a coroutine on a loop of its own in another thread (the tests' loop is pytest-asyncio's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _definition() -> SubgraphDefinition:
    return SubgraphDefinition(name="identity", schema=cast(Any, None), base=models.Base, outbox=models.OutboxEvent,
                              make_loaders=lambda _s: None, seed=_no_seed, is_seeded=_seeded)


async def _prepare(url: str, now: Any) -> dict[str, str]:
    engine = make_engine("identity", url)
    try:
        await upgrade(engine, "identity")
        users: dict[str, str] = await _populate(Runtime(_definition(), engine, InProcessBus()), now)
        return users
    finally:
        await engine.dispose()


APP = Proxy()
API = schemathesis.openapi.from_dict(document())
API.app = APP
API.config.update(base_url=BASE_URL)
API.config.generation.update(max_examples=MAX_EXAMPLES)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('oauth-openapi') / 'oauth.db'}"
    clock = FakeClock()
    users = _run(_prepare(url, clock.now))
    # NullPool: no connection outlives the request that opened it on schemathesis' loop.
    runtime = Runtime(_definition(), make_engine("identity", url, poolclass=NullPool), InProcessBus())
    identity = Starlette(routes=list(oauth.routes(runtime, OAuthSettings(clock=clock),
                                                  MasterKey(secrets.token_bytes(32)))))
    APP.target = Starlette(routes=[Mount(PREFIX, identity)])
    try:
        yield Served(APP.target, users)
    finally:
        APP.target = None


@pytest.fixture
def api(served: Served) -> schemathesis.BaseSchema:
    return API


# --- (2) fuzzing -----------------------------------------------------------------------------------------


@API.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_conforms(case: schemathesis.Case, served: Served) -> None:
    case.call_and_validate(checks=CHECKS)


# --- (3) the successful paths ------------------------------------------------------------------------------


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def call(api: schemathesis.BaseSchema, path: str, method: str, **kwargs: Any) -> schemathesis.Response:
    case = api[path][method].Case(**kwargs)
    return case.call_and_validate(checks=CHECKS)


def header(response: schemathesis.Response, name: str) -> str:
    return response.headers[name.lower()][0]


def cookie(response: schemathesis.Response, name: str) -> str:
    for line in response.headers.get("set-cookie", []):
        key, _, rest = line.partition("=")
        if key.strip() == name:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no {name} cookie in {response.headers}")


def location(response: schemathesis.Response) -> str:
    return header(response, "location")


def query_value(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


def test_discovery_and_jwks_conform(api: schemathesis.BaseSchema) -> None:
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        body = call(api, path, "GET").json()
        assert body["issuer"] == BASE_URL and body["token_endpoint"] == BASE_URL + "/oauth/token"
    jwks = call(api, "/.well-known/jwks.json", "GET")
    assert header(jwks, "content-type") == "application/jwk-set+json"
    assert len(jwks.json()["keys"]) >= 2  # ACTIVE and NEXT


def test_client_credentials_introspection_revocation_conform(api: schemathesis.BaseSchema) -> None:
    auth = basic(HIS, HIS_SECRET)
    form = "application/x-www-form-urlencoded"
    issued = call(api, "/oauth/token", "POST", headers=auth, media_type=form,
                  body={"grant_type": "client_credentials", "scope": "graph:read"})
    assert issued.status_code == 200
    token = issued.json()["access_token"]
    active = call(api, "/oauth/introspect", "POST", headers=auth, media_type=form, body={"token": token})
    assert active.json()["active"] is True and active.json()["client_id"] == HIS
    assert call(api, "/oauth/revoke", "POST", headers=auth, media_type=form, body={"token": token}).status_code == 200
    gone = call(api, "/oauth/introspect", "POST", headers=auth, media_type=form, body={"token": token})
    assert gone.json() == {"active": False}
    refused = call(api, "/oauth/token", "POST", headers=basic(HIS, "wrong"), media_type=form,
                   body={"grant_type": "client_credentials"})
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    unsupported = call(api, "/oauth/token", "POST", headers=auth, media_type=form, body={"grant_type": "password"})
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"


def test_browser_code_flow_userinfo_and_cas_conform(api: schemathesis.BaseSchema, served: Served) -> None:
    """Each step's response is checked against its operation; the cookies are carried by hand."""
    form = "application/x-www-form-urlencoded"
    verifier, challenge = pkce_pair()
    authorize = {"client_id": HIS, "redirect_uri": HIS_REDIRECT, "response_type": "code",
                 "scope": "openid profile email graph:read", "state": "s-1", "nonce": "n-1",
                 "code_challenge": challenge, "code_challenge_method": "S256"}
    first = call(api, "/oauth/authorize", "GET", query=authorize)
    assert first.status_code == 302 and "/oauth/login?" in location(first)
    target = query_value(location(first), "continue")
    page = call(api, "/oauth/login", "GET", query={"continue": target})
    csrf = cookie(page, "jshealth_csrf")
    signed = call(api, "/oauth/login", "POST", cookies={"jshealth_csrf": csrf}, media_type=form,
                  body={"csrf_token": csrf, "continue": target, "username": ALICE, "password": ALICE_PW})
    assert signed.status_code == 303, signed.text
    session = cookie(signed, "jshealth_sso")
    back = call(api, "/oauth/authorize", "GET", query=authorize, cookies={"jshealth_sso": session})
    assert back.status_code == 302 and location(back).startswith(HIS_REDIRECT + "?code=")
    code = query_value(location(back), "code")
    tokens = call(api, "/oauth/token", "POST", headers=basic(HIS, HIS_SECRET), media_type=form,
                  body={"grant_type": "authorization_code", "code": code, "redirect_uri": HIS_REDIRECT,
                        "code_verifier": verifier}).json()
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    for method in ("GET", "POST"):
        info = call(api, "/oauth/userinfo", method, headers=bearer).json()
        assert info["sub"] == served.users[ALICE] and info["preferred_username"] == ALICE
    refreshed = call(api, "/oauth/token", "POST", headers=basic(HIS, HIS_SECRET), media_type=form,
                     body={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] != tokens["refresh_token"]
    introspected = call(api, "/oauth/introspect", "POST", headers=basic(HIS, HIS_SECRET), media_type=form,
                        body={"token": refreshed.json()["refresh_token"]}).json()
    assert introspected["active"] is True and introspected["token_type"] == "refresh_token"

    assert call(api, "/oauth/signed-in", "GET", cookies={"jshealth_sso": session}).status_code == 200
    assert call(api, "/oauth/password", "GET", cookies={"jshealth_sso": session}).status_code == 200
    service = LEGACY_SERVICE + "/index.do"
    cas = call(api, "/cas/login", "GET", query={"service": service}, cookies={"jshealth_sso": session})
    assert cas.status_code == 302 and "ticket=ST-" in location(cas)
    ticket = query_value(location(cas), "ticket")
    valid = call(api, "/cas/p3/serviceValidate", "GET", query={"service": service, "ticket": ticket})
    assert "<cas:authenticationSuccess>" in valid.text
    assert f"<cas:userId>{served.users[ALICE]}</cas:userId>" in valid.text
    spent = call(api, "/cas/serviceValidate", "GET", query={"service": service, "ticket": ticket})
    assert 'code="INVALID_TICKET"' in spent.text

    out = call(api, "/oauth/logout", "GET", cookies={"jshealth_sso": session},
               query={"client_id": HIS, "post_logout_redirect_uri": HIS_REDIRECT, "state": "bye"})
    assert out.status_code == 302 and location(out) == HIS_REDIRECT + "?state=bye"
    assert call(api, "/oauth/userinfo", "GET", headers=bearer).status_code == 401  # revoked with its session
    assert call(api, "/cas/logout", "GET", query={"service": service}).status_code == 302
