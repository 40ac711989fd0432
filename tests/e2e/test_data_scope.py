"""Data scope end to end, in the embedded mode: a person signs in at identity (authorization code + PKCE
through the login page), the router verifies the token against identity's keys, signs a caller token for
population, and population keeps the caller inside its data scope. A city-level user never sees another
city's people through the router; the province sees all; without a data scope, nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from oauth_browser import authorize_url, exchange, pkce_pair, sign_in_and_authorize
from starlette.applications import Starlette
from support import TEST_PERSONS, TEST_SEED

from subgraphs.common.app import SeedOptions
from subgraphs.common.scope import ANONYMOUS_SCOPE_ENV
from subgraphs.identity import models
from subgraphs.identity.security.hashing import hash_password
from subgraphs.launch import create_embedded_app, setup_databases

BASE = "http://127.0.0.1:4000"
SPA, REDIRECT = "scope-portal", "http://app.test/cb"
PASSWORD = "Scope-Test-2026!"
SUZHOU, NANJING = "320500", "320100"
PERSONS = ("query($region: ID!) { persons(regionCode: $region, first: 50) "
           "{ edges { node { uid managementRegion { code } } } } }")


@pytest.fixture(scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Starlette]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('scope') / 'g.db'}"
    await setup_databases(url, SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS), log=False)
    embedded = await create_embedded_app(url, public_url=BASE)
    now = datetime.now(UTC)
    async with embedded.state.runtimes["identity"].sessions() as db, db.begin():
        db.add_all([
            models.Organization(id="org-scope-sz", name="苏州市卫生健康委员会(测试)", kind="HEALTH_COMMISSION",
                                level="CITY", region_code=SUZHOU, credit_code="11320500MB0000001T"),
            models.Role(id="role-scope-city", code="SCOPE_CITY", name="市级业务", kind="BUSINESS", created_at=now),
            models.Role(id="role-scope-prov", code="SCOPE_PROVINCE", name="省级业务", kind="BUSINESS", created_at=now),
            models.Permission(id="perm-scope-own", kind="DATA", code="scope.own", name="本机构", data_scope="OWN_ORG"),
            models.Permission(id="perm-scope-all", kind="DATA", code="scope.all", name="全量", data_scope="ALL"),
            models.Client(client_id=SPA, name="门户", kind="WEB", grant_types=["authorization_code"],
                          redirect_uris=[REDIRECT], scopes=["openid", "profile", "graph:read"], created_at=now),
        ])
        await db.flush()
        for username, role in (("scope.city", "role-scope-city"), ("scope.province", "role-scope-prov"),
                               ("scope.none", None)):
            db.add(models.User(id=f"usr-{username}", username=username, organization_id="org-scope-sz",
                               status="NORMAL", created_at=now, password_hash=hash_password(PASSWORD),
                               password_changed_at=now))
            await db.flush()
            if role:
                db.add(models.UserRole(user_id=f"usr-{username}", role_id=role))
        db.add_all([models.RolePermission(role_id="role-scope-city", permission_id="perm-scope-own"),
                    models.RolePermission(role_id="role-scope-prov", permission_id="perm-scope-all")])
    async with embedded.router.lifespan_context(embedded):
        yield embedded


async def token_of(app: Starlette, username: str) -> str:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as browser:
        verifier, challenge = pkce_pair()
        result = await sign_in_and_authorize(browser, authorize_url(SPA, REDIRECT, challenge=challenge),
                                             username, PASSWORD)
        response = await exchange(browser, result["code"], verifier, client_id=SPA, redirect_uri=REDIRECT)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


async def graphql(app: Starlette, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def regions_of(answer: Any) -> set[str]:
    return {edge["node"]["managementRegion"]["code"] for edge in answer["data"]["persons"]["edges"]}


async def test_a_city_user_sees_its_city_only(app: Starlette) -> None:
    token = await token_of(app, "scope.city")
    mine = await graphql(app, PERSONS, {"region": SUZHOU}, token)
    assert mine["data"]["persons"]["edges"] and all(r.startswith("3205") for r in regions_of(mine))
    # the whole province, narrowed to the city
    province = await graphql(app, PERSONS, {"region": "320000"}, token)
    assert province["data"]["persons"]["edges"] and all(r.startswith("3205") for r in regions_of(province))
    # another city: refused, not an empty page that looks like no data
    other = await graphql(app, PERSONS, {"region": NANJING}, token)
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN" and other["data"] is None
    # one person of Nanjing by uid: not there for this caller
    everyone = await graphql(app, PERSONS, {"region": NANJING}, await token_of(app, "scope.province"))
    nanjing_uid = everyone["data"]["persons"]["edges"][0]["node"]["uid"]
    one = await graphql(app, "query($uid: ID!) { person(uid: $uid) { uid name } }", {"uid": nanjing_uid}, token)
    assert one == {"data": {"person": None}}


async def test_the_province_sees_every_city(app: Starlette) -> None:
    token = await token_of(app, "scope.province")
    for city in ("320100", "320500", "321300"):
        assert regions_of(await graphql(app, PERSONS, {"region": city}, token))


async def test_no_data_scope_no_personal_records(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    token = await token_of(app, "scope.none")
    refused = await graphql(app, PERSONS, {"region": SUZHOU}, token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    monkeypatch.delenv(ANONYMOUS_SCOPE_ENV, raising=False)  # production: no anonymous access
    anonymous = await graphql(app, PERSONS, {"region": SUZHOU})
    assert anonymous["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_forged_token_is_refused_by_the_router(app: Starlette) -> None:
    token = await token_of(app, "scope.city")
    header, payload, signature = token.split(".")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        forged = await http.post("/graphql", json={"query": "{ __typename }"},
                                 headers={"authorization": f"Bearer {header}.{payload}x.{signature}"})
    assert forged.status_code == 401


async def test_a_revoked_token_stops_working_at_the_router(app: Starlette) -> None:
    token = await token_of(app, "scope.city")
    assert "data" in await graphql(app, PERSONS, {"region": SUZHOU}, token)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        revoked = await http.post("/subgraphs/identity/oauth/revoke",
                                  data={"token": token, "token_type_hint": "access_token", "client_id": SPA})
        assert revoked.status_code == 200, revoked.text
        await app.state.revocation.refresh()  # what the router's 2 s refresh loop does
        refused = await http.post("/graphql", json={"query": PERSONS, "variables": {"region": SUZHOU}},
                                  headers={"authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and "revoked" in refused.text
