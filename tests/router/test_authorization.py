"""Authorization directives enforced by the router (router/authorization.py): @authenticated,
@requiresScopes and @policy on fields, types and interface implementations, from two fixture subgraphs
composed by our composer. What is denied never reaches a subgraph, comes back null (with null
propagation) and is reported with its query path; the rest of the operation runs."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from fixture_subgraphs import FixtureSubgraph, fed2
from joserfc import jwt
from joserfc.jwk import ECKey, generate_key

from router.app import check_policies
from router.auth import Claims, JwtSettings, JwtVerifier
from router.authorization import UNAUTHORIZED_FIELD_OR_TYPE, AccessContext, AccessModel, PolicyError, load_policies
from router.compose import SubgraphSource, compose
from router.config import ConfigError, ServerConfig, load_config
from router.gateway import Authorization, Gateway, GraphQLRequest
from router.server import create_router_app
from router.supergraph import Supergraph

JSON = dict[str, Any]
AUTH_IMPORTS = ("@key", "@authenticated", "@requiresScopes", "@policy", "@shareable")

USERS = [
    {"id": "u1", "name": "Ann", "email": "ann@example.test", "phone": "13800000001", "role": "ADMIN"},
    {"id": "u2", "name": "Bo", "email": "bo@example.test", "phone": "13800000002", "role": "USER"},
]
BY_ID = {u["id"]: u for u in USERS}
ACCOUNTS = {"u1": {"balance": 100, "owner": "Ann"}, "u2": {"balance": 5, "owner": "Bo"}}

USERS_SDL = fed2(*AUTH_IMPORTS) + """
type Query {
  users: [User!]!
  me: User @authenticated
  node(id: ID!): Node
  health: String
}
interface Node { id: ID! secret: String }
type User implements Node @key(fields: "id") {
  id: ID!
  name: String!
  email: String @requiresScopes(scopes: [["read:emails"], ["admin"]])
  phone: String! @policy(policies: [["same_user"]])
  secret: String @requiresScopes(scopes: [["secrets"]])
  role: Role
}
type Document implements Node { id: ID! secret: String title: String }
enum Role @authenticated { ADMIN USER }
"""

BILLING_SDL = fed2(*AUTH_IMPORTS) + """
type User @key(fields: "id") { id: ID! account: Account }
type Account @requiresScopes(scopes: [["billing"]]) { balance: Int owner: String }
type Query { invoiceCount: Int @policy(policies: [["finance", "office_hours"]]) }
"""


def _user_node(_parent: Any, _info: Any, id: str) -> JSON | None:
    if id in BY_ID:
        return {**BY_ID[id], "__typename": "User"}
    return {"id": id, "secret": "s", "title": "Plan", "__typename": "Document"}


def make_subgraphs() -> dict[str, FixtureSubgraph]:
    users = FixtureSubgraph(
        "users", USERS_SDL,
        resolvers={"Query": {"users": lambda _p, _i: USERS, "me": lambda _p, _i: USERS[0],
                             "node": _user_node, "health": lambda _p, _i: "ok"},
                   "User": {"secret": lambda p, _i: f"secret-{p['id']}"}},
        references={"User": lambda rep: BY_ID.get(rep["id"])},
    )
    billing = FixtureSubgraph(
        "billing", BILLING_SDL,
        resolvers={"User": {"account": lambda p, _i: ACCOUNTS.get(p["id"])},
                   "Query": {"invoiceCount": lambda _p, _i: 7}},
        references={"User": lambda rep: {"id": rep["id"]}},
    )
    return {"users": users, "billing": billing}


class InProcessClient:
    """Runs subgraph fetches in-process and records them."""

    def __init__(self, subgraphs: Mapping[str, FixtureSubgraph]) -> None:
        self.subgraphs = subgraphs
        self.fetches: list[tuple[str, str]] = []

    async def fetch(self, graph: str, body: JSON, headers: Mapping[str, str]) -> JSON:
        self.fetches.append((graph, body["query"]))
        return await self.subgraphs[graph].execute(body["query"], body.get("variables"))


SUBGRAPHS = make_subgraphs()
SUPERGRAPH = Supergraph(compose([SubgraphSource(name, f"http://{name}.test/graphql", s.sdl)
                                 for name, s in SUBGRAPHS.items()]))


def same_user(context: AccessContext) -> bool:
    return context.headers.get("x-user") == "u1"


async def finance(context: AccessContext) -> bool:
    await asyncio.sleep(0)
    return context.claims is not None and context.claims.raw.get("department") == "finance"


def office_hours(_context: AccessContext) -> bool:
    return True


def broken(_context: AccessContext) -> bool:
    raise RuntimeError("policy store unreachable")


POLICIES = {"same_user": same_user, "finance": finance, "office_hours": office_hours}


def token_claims(*scopes: str, **raw: Any) -> Claims:
    return Claims(subject="u1", scopes=frozenset(scopes), client_id="app", expires_at=int(time.time()) + 60,
                  raw={"sub": "u1", **raw})


def gateway(policies: Mapping[str, Any] | None = None, *, reject: bool = False) -> tuple[Gateway, InProcessClient]:
    client = InProcessClient(SUBGRAPHS)
    authorization = Authorization(policies=POLICIES if policies is None else policies, reject=reject)
    return Gateway(SUPERGRAPH, client, authorization=authorization), client


async def run(query: str, claims: Claims | None = None, headers: Mapping[str, str] | None = None,
              **options: Any) -> tuple[JSON, InProcessClient]:
    router, client = gateway(**options)
    response = await router.run(GraphQLRequest(query, claims=claims), headers or {})
    return response.body, client


def denied_paths(body: JSON) -> list[list[str | int]]:
    return [e["path"] for e in body.get("errors", []) if e["extensions"]["code"] == UNAUTHORIZED_FIELD_OR_TYPE]


def sent(client: InProcessClient) -> str:
    return "\n".join(query for _graph, query in client.fetches)


async def test_authenticated_field_without_token_is_null_and_the_rest_runs() -> None:
    body, client = await run("{ health me { name } users { name } }")
    assert body["data"] == {"health": "ok", "me": None, "users": [{"name": "Ann"}, {"name": "Bo"}]}
    assert denied_paths(body) == [["me"]]
    assert body["errors"][0]["message"] == "Unauthorized field or type"
    assert not re.search(r"\bme\b", sent(client))


async def test_authenticated_field_with_token() -> None:
    body, _ = await run("{ me { name } }", claims=token_claims())
    assert body == {"data": {"me": {"name": "Ann"}}}


async def test_scopes_any_alternative_and_list_paths() -> None:
    body, client = await run("{ users { name email } }", claims=token_claims("read:profile"))
    assert body["data"] == {"users": [{"name": "Ann", "email": None}, {"name": "Bo", "email": None}]}
    assert denied_paths(body) == [["users", "@", "email"]]
    assert "email" not in sent(client)
    for scopes in (("read:emails",), ("admin", "other")):
        body, _ = await run("{ users { email } }", claims=token_claims(*scopes))
        assert body == {"data": {"users": [{"email": "ann@example.test"}, {"email": "bo@example.test"}]}}


async def test_denied_non_null_field_propagates_null_without_a_second_error() -> None:
    body, _ = await run("{ health users { name phone } }", headers={"x-user": "u2"})
    # phone is String!: its null makes each User null, and [User!]! makes users... and the whole data null.
    assert body["data"] is None
    assert body["errors"] == [{"message": "Unauthorized field or type", "path": ["users", "@", "phone"],
                               "extensions": {"code": UNAUTHORIZED_FIELD_OR_TYPE}}]
    body, _ = await run("{ users { name phone } }", headers={"x-user": "u1"})
    assert body["data"]["users"][0] == {"name": "Ann", "phone": "13800000001"}


async def test_type_level_requirement_guards_fields_returning_the_type() -> None:
    query = "{ users { name role account { balance } } }"
    body, client = await run(query, claims=token_claims())
    assert body["data"]["users"][0] == {"name": "Ann", "role": "ADMIN", "account": None}
    assert denied_paths(body) == [["users", "@", "account"]]
    # Nothing left to ask the billing subgraph: no entity fetch at all.
    assert [graph for graph, _ in client.fetches] == ["users"]
    body, client = await run(query, claims=token_claims("billing"))
    assert body["data"]["users"][1] == {"name": "Bo", "role": "USER", "account": {"balance": 5}}
    assert "billing" in [graph for graph, _ in client.fetches]
    body, _ = await run(query)  # no token: the enum type's @authenticated denies role as well
    assert sorted(map(tuple, denied_paths(body))) == [("users", "@", "account"), ("users", "@", "role")]


async def test_interface_field_takes_its_implementations_requirements() -> None:
    body, _ = await run('{ node(id: "u1") { id secret } }', claims=token_claims())
    assert body["data"] == {"node": {"id": "u1", "secret": None}}
    assert denied_paths(body) == [["node", "secret"]]
    body, _ = await run('{ node(id: "u1") { id secret } }', claims=token_claims("secrets"))
    assert body == {"data": {"node": {"id": "u1", "secret": "secret-u1"}}}
    # Through the object type itself only User.secret's own requirement counts: Document.secret is open.
    body, _ = await run('{ node(id: "d1") { ... on Document { secret title } } }')
    assert body == {"data": {"node": {"secret": "s", "title": "Plan"}}}


async def test_policies_all_of_an_alternative_async_and_unregistered() -> None:
    body, _ = await run("{ invoiceCount }", claims=token_claims(department="finance"))
    assert body == {"data": {"invoiceCount": 7}}
    body, _ = await run("{ invoiceCount }", claims=token_claims(department="wards"))
    assert body["data"] == {"invoiceCount": None} and denied_paths(body) == [["invoiceCount"]]
    body, _ = await run("{ invoiceCount }", claims=token_claims(department="finance"),
                        policies={"finance": finance})  # office_hours not registered: never holds
    assert denied_paths(body) == [["invoiceCount"]]


async def test_a_failing_policy_denies(caplog: pytest.LogCaptureFixture) -> None:
    body, _ = await run("{ users { phone } }", headers={"x-user": "u1"}, policies={"same_user": broken})
    assert denied_paths(body) == [["users", "@", "phone"]]
    assert "policy same_user failed" in caplog.text


async def test_everything_denied_calls_no_subgraph() -> None:
    body, client = await run("{ me { name } invoiceCount }")
    assert body["data"] == {"me": None, "invoiceCount": None}
    assert sorted(map(tuple, denied_paths(body))) == [("invoiceCount",), ("me",)]
    assert client.fetches == []


async def test_field_left_empty_is_removed_with_its_parent() -> None:
    body, client = await run("{ health me { role } }", claims=None)
    assert body["data"] == {"health": "ok", "me": None}
    assert not re.search(r"\bme\b", sent(client))


async def test_named_fragments_report_every_path_and_guarded_fragment_types() -> None:
    query = """
    query Q { users { ...Contact } me { ...Contact } node(id: "u2") { id ...Billed } }
    fragment Contact on User { name email }
    fragment Billed on User { account { owner } }
    """
    body, _ = await run(query, claims=token_claims())
    assert body["data"]["users"] == [{"name": "Ann", "email": None}, {"name": "Bo", "email": None}]
    assert body["data"]["me"] == {"name": "Ann", "email": None}
    assert body["data"]["node"] == {"id": "u2", "account": None}
    assert sorted(map(tuple, denied_paths(body))) == [
        ("me", "email"), ("node", "account"), ("users", "@", "email")]


async def test_reject_mode_refuses_the_whole_operation() -> None:
    router, client = gateway(reject=True)
    response = await router.run(GraphQLRequest("{ health me { name } }"), {})
    assert response.request_error and "data" not in response.body
    assert denied_paths(response.body) == [["me"]]
    assert client.fetches == []
    allowed = await router.run(GraphQLRequest("{ health }"), {})
    assert allowed.body == {"data": {"health": "ok"}}


async def test_operation_without_guarded_elements_has_no_per_request_work() -> None:
    router, _ = gateway()
    assert getattr(router.prepare("{ health users { name } }", None), "sites", "x") is None
    assert getattr(router.prepare("{ users { email } }", None), "sites", None) is not None


def test_model_reads_renamed_directives() -> None:
    sdl = SUPERGRAPH.sdl.replace('"https://specs.apollo.dev/authenticated/v0.1"',
                                 '"https://specs.apollo.dev/authenticated/v0.1", as: "signedIn"')
    sdl = sdl.replace("@authenticated", "@signedIn").replace("directive @signedIn", "directive @signedIn")
    model = AccessModel.from_supergraph(Supergraph(sdl).document)
    assert model.field_rules[("Query", "me")][0].kind == "authenticated"
    assert model.policy_names == {"same_user", "finance", "office_hours"}


def test_policies_load_from_configuration_and_must_cover_the_supergraph(tmp_path: Any) -> None:
    config_file = tmp_path / "router.toml"
    config_file.write_text('[authorization]\nmode = "reject"\n[authorization.policies]\n'
                           'same_user = "test_authorization:same_user"\n', encoding="utf-8")
    config = load_config(str(config_file), environ={})
    assert config.authorization.mode == "reject"
    assert load_policies(config.authorization.policy_references()) == {"same_user": same_user}
    with pytest.raises(ConfigError, match="finance, office_hours"):
        check_policies(SUPERGRAPH, Authorization(policies=load_policies(config.authorization.policy_references())))
    env = load_config(str(config_file), environ={"ROUTER_AUTHORIZATION_POLICIES":
                                                  "finance=test_authorization:finance,office_hours=x:y"})
    assert env.authorization.policy_references() == {"finance": "test_authorization:finance",
                                                     "office_hours": "x:y"}
    for bad in ("nocolon", "missing_module_xyz:f", "test_authorization:nothing_here"):
        with pytest.raises(PolicyError):
            load_policies({"p": bad})
    with pytest.raises(ConfigError, match="filter or reject"):
        load_config(str(config_file), environ={"ROUTER_AUTHORIZATION_MODE": "maybe"})


async def test_over_http_with_a_verified_token() -> None:
    """The claims of the token the auth guard verified reach the authorization step."""
    from router.app import auth_guard

    key: ECKey = generate_key("EC", "P-256", parameters={"kid": "k1"})
    verifier = JwtVerifier(JwtSettings(issuer="https://id.test/", audience="graph",
                                       jwks={"keys": [key.as_dict(private=False)]}, algorithms=("ES256",)))
    router, _ = gateway()
    app = create_router_app(router, ServerConfig(max_batch=2), guards=(auth_guard(verifier, "optional"),))
    now = int(time.time())
    token = jwt.encode({"alg": "ES256", "kid": "k1"}, {"iss": "https://id.test/", "aud": "graph", "sub": "u1",
                                                       "scope": "read:emails", "iat": now, "exp": now + 60}, key)
    query = {"query": "{ users { email } }"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as http:
        anonymous = (await http.post("/graphql", json=query)).json()
        signed = (await http.post("/graphql", json=query, headers={"authorization": f"Bearer {token}"})).json()
        batch = (await http.post("/graphql", json=[query, query], headers={"authorization": f"Bearer {token}"}))
    assert denied_paths(anonymous) == [["users", "@", "email"]]
    assert signed == {"data": {"users": [{"email": "ann@example.test"}, {"email": "bo@example.test"}]}}
    assert batch.json() == [signed, signed]
    await verifier.close()


async def test_elements_left_out_by_skip_or_include_are_not_reported() -> None:
    router, _client = gateway()
    query = "query($show: Boolean!) { health me @include(if: $show) { name } users { name email @skip(if: $show) } }"
    hidden = await router.run(GraphQLRequest(query, {"show": False}), {})
    assert denied_paths(hidden.body) == [["users", "@", "email"]] and hidden.body["data"]["health"] == "ok"
    shown = await router.run(GraphQLRequest(query, {"show": True}), {})
    assert denied_paths(shown.body) == [["me"]]
    literal = await router.run(GraphQLRequest("{ health me @include(if: false) { name } }"), {})
    assert literal.body == {"data": {"health": "ok"}}
