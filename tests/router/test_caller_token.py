"""The caller token (router/caller_token.py, subgraphs/common/caller.py): subgraphs get a short-lived token
the router signs for them alone, carrying the verified caller; never the caller's own token, and never an
identity taken from a request header."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, generate_key

from router.app import auth_guard
from router.auth import Claims, JwtSettings, JwtVerifier
from router.caller_token import CALLER, ISSUER, CallerTokenClient, CallerTokenMinter, audience_of
from router.gateway import Gateway
from router.server import create_router_app
from router.supergraph import Supergraph
from subgraphs.common.caller import Caller, CallerRejected, CallerVerifier
from subgraphs.launch import SCHEMA_PATH

JSON = dict[str, Any]


class Recording:
    """A subgraph client that answers every fetch with empty data and keeps the headers it was sent."""

    forward_headers = ("authorization",)

    def __init__(self) -> None:
        self.headers: list[tuple[str, Mapping[str, str]]] = []

    async def fetch(self, graph: str, body: JSON, headers: Mapping[str, str]) -> JSON:
        self.headers.append((graph, dict(headers)))
        return {"data": {"region": {"code": "320505", "name": "x", "__typename": "Region"}}}

    async def close(self) -> None:
        return None


def claims(**raw: Any) -> Claims:
    payload = {"sub": "usr-1", "client_id": "portal", "org": "org-320500", "region": "320500",
               "roles": ["CITY_ADMIN"], "data_scope": "OWN_ORG", "exp": int(time.time()) + 600, **raw}
    return Claims(subject=payload.get("sub"), scopes=frozenset({"persons:read"}), client_id=payload["client_id"],
                  expires_at=payload["exp"], raw=payload)


async def test_token_verifies_for_its_subgraph_only_and_carries_the_caller() -> None:
    minter = CallerTokenMinter()
    token = minter.mint(claims(), "population")
    population = CallerVerifier("population", jwks=minter.jwks)
    caller = await population.caller({"authorization": f"Bearer {token}"})
    assert caller == Caller(subject="usr-1", client_id="portal", scopes=frozenset({"persons:read"}),
                            organization_id="org-320500", region_code="320500", roles=("CITY_ADMIN",),
                            data_scope="OWN_ORG")
    assert caller.user_id == "usr-1"
    licences = CallerVerifier("licences", jwks=minter.jwks)
    with pytest.raises(CallerRejected, match="wrong audience"):
        await licences.caller({"authorization": f"Bearer {token}"})
    payload = jwt.decode(token, minter.key).claims
    assert payload["iss"] == ISSUER and payload["aud"] == audience_of("population")
    assert payload["exp"] - payload["iat"] <= 60 and payload["act"] == {"sub": ISSUER}
    for verifier in (population, licences):
        await verifier.close()


async def test_never_outlives_the_callers_token_and_anonymous_has_no_subject() -> None:
    minter = CallerTokenMinter()
    soon = int(time.time()) + 20
    payload = jwt.decode(minter.mint(claims(exp=soon), "identity"), minter.key).claims
    assert payload["exp"] == soon
    anonymous = jwt.decode(minter.mint(None, "identity"), minter.key).claims
    assert "sub" not in anonymous and "scope" not in anonymous
    system = await CallerVerifier("identity", jwks=minter.jwks).caller(
        {"authorization": f"Bearer {minter.mint(claims(sub='portal'), 'identity')}"})
    assert system is not None and system.user_id is None  # client credentials: a system, not a user


async def test_forged_tampered_and_missing_tokens() -> None:
    minter = CallerTokenMinter()
    other = CallerTokenMinter()  # someone else's key
    verifier = CallerVerifier("population", jwks=minter.jwks)
    with pytest.raises(CallerRejected, match=r"unknown key|bad signature"):
        await verifier.caller({"authorization": f"Bearer {other.mint(claims(), 'population')}"})
    header, _body, signature = minter.mint(claims(), "population").split(".")
    forged_body = jwt.encode({"alg": "ES256"}, {"sub": "usr-admin", "aud": audience_of("population"),
                                                "iss": ISSUER, "exp": int(time.time()) + 60},
                             other.key).split(".")[1]
    with pytest.raises(CallerRejected, match="bad signature"):
        await verifier.caller({"authorization": f"Bearer {header}.{forged_body}.{signature}"})
    assert await verifier.caller({}) is None  # anonymous, where allowed
    strict = CallerVerifier("population", jwks=minter.jwks, required=True)
    with pytest.raises(CallerRejected, match="router only"):
        await strict.caller({})


async def test_the_router_sends_a_caller_token_made_from_the_verified_claims() -> None:
    key: ECKey = generate_key("EC", "P-256", parameters={"kid": "idp"})
    verifier = JwtVerifier(JwtSettings(issuer="https://id.test/", audience="graph",
                                       jwks={"keys": [key.as_dict(private=False)]}, algorithms=("ES256",)))
    recording = Recording()
    minter = CallerTokenMinter()
    supergraph = Supergraph(SCHEMA_PATH.read_text(encoding="utf-8"))
    app = create_router_app(Gateway(supergraph, CallerTokenClient(recording, minter)),
                            guards=(auth_guard(verifier, "optional"),))
    now = int(time.time())
    user_token = jwt.encode({"alg": "ES256", "kid": "idp"},
                            {"iss": "https://id.test/", "aud": "graph", "sub": "usr-7", "org": "org-1",
                             "region": "320200", "roles": ["DOCTOR"], "data_scope": "OWN_ORG",
                             "scope": "persons:read", "iat": now, "exp": now + 300}, key)
    query = {"query": '{ region(code: "320505") { code name } }'}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as http:
        assert (await http.post("/graphql", json=query, headers={"authorization": f"Bearer {user_token}"})
                ).status_code == 200
        # A client cannot smuggle an identity: any header it sends is replaced, and without a verified token
        # the caller is anonymous.
        await http.post("/graphql", json=query, headers={"x-user-id": "usr-admin"})
    subgraph = CallerVerifier("population", jwks=minter.jwks)
    (graph, signed), (_, anonymous) = recording.headers
    assert graph == "population" and signed["authorization"] != f"Bearer {user_token}"
    caller = await subgraph.caller(signed)
    assert caller is not None and (caller.user_id, caller.region_code, caller.roles, caller.data_scope) == (
        "usr-7", "320200", ("DOCTOR",), "OWN_ORG")
    assert (await subgraph.caller(anonymous)) == Caller(subject=None, client_id=None, scopes=frozenset())
    assert CALLER.get() is None
    await verifier.close()


async def test_embedded_subgraphs_refuse_a_forged_caller_token(tmp_path: Any) -> None:
    from subgraphs.launch import create_embedded_app

    forged = CallerTokenMinter().mint(claims(), "population")
    app = await create_embedded_app(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://embedded") as http:
        keys = (await http.get("/.well-known/router-jwks.json")).json()
        assert [k["alg"] for k in keys["keys"]] == ["ES256"] and "d" not in keys["keys"][0]
        refused = await http.post("/subgraphs/population/graphql", json={"query": "{ __typename }"},
                                  headers={"authorization": f"Bearer {forged}"})
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        anonymous = await http.post("/subgraphs/population/graphql", json={"query": "{ __typename }"})
        assert anonymous.json() == {"data": {"__typename": "Query"}}
