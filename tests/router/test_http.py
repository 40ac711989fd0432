"""GraphQL over HTTP as configured: GET and POST, status codes per media type, batching, body size,
introspection and error masking in production, CORS."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from router.config import ConfigError, LimitsConfig, ServerConfig, load_config
from router.gateway import Gateway
from router.server import create_router_app
from router.supergraph import Supergraph

SUPERGRAPH = Supergraph((Path(__file__).resolve().parents[2] / "schema.graphql").read_text(encoding="utf-8"))


class Subgraphs:
    """Answers like the population subgraph, or fails like a broken one."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls = 0

    async def fetch(self, graph: str, body: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        self.calls += 1
        if self.fail:
            raise ConnectionError("connect to 10.1.2.3:4102 refused")
        return {"data": {"region": {"name": "江苏省"}}}


def client_for(server: ServerConfig, limits: LimitsConfig | None = None, fail: bool = False) -> httpx.AsyncClient:
    gateway = Gateway(SUPERGRAPH, Subgraphs(fail), introspection=server.flag("introspection"))
    app = create_router_app(gateway, server, limits)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router")


QUERY = '{ region(code: "320000") { name } }'


async def test_post_and_get_answer_and_statuses_follow_the_media_type() -> None:
    async with client_for(ServerConfig()) as client:
        assert (await client.post("/graphql", json={"query": QUERY})).json() == {"data": {"region": {"name": "江苏省"}}}
        assert (await client.get("/graphql", params={"query": QUERY})).json()["data"]["region"]["name"] == "江苏省"
        plain = await client.post("/graphql", json={"query": "{ nope }"})
        assert plain.status_code == 200
        strict = await client.post("/graphql", json={"query": "{ nope }"},
                                   headers={"accept": "application/graphql-response+json"})
        assert strict.status_code == 400
        assert strict.headers["content-type"].startswith("application/graphql-response+json")
        text = await client.post("/graphql", content=b"query", headers={"content-type": "text/plain"})
        assert text.status_code == 415


async def test_batches_only_when_enabled_and_within_the_limit() -> None:
    async with client_for(ServerConfig()) as client:
        refused = (await client.post("/graphql", json=[{"query": QUERY}])).json()
        assert refused["errors"][0]["extensions"]["code"] == "BATCHING_NOT_ENABLED"
    async with client_for(ServerConfig(max_batch=2)) as client:
        answers = (await client.post("/graphql", json=[{"query": QUERY}, {"query": "{ nope }"}])).json()
        assert answers[0] == {"data": {"region": {"name": "江苏省"}}}
        assert answers[1]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        too_many = (await client.post("/graphql", json=[{"query": QUERY}] * 3)).json()
        assert too_many["errors"][0]["extensions"]["code"] == "BATCHING_NOT_ENABLED"


async def test_a_body_over_the_limit_is_refused_before_it_is_parsed() -> None:
    async with client_for(ServerConfig(), LimitsConfig(max_body_bytes=100)) as client:
        response = await client.post("/graphql", json={"query": QUERY + " " * 200})
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"


async def test_production_turns_off_introspection_graphiql_and_masks_internal_errors() -> None:
    async with client_for(ServerConfig(dev=False), fail=True) as client:
        introspection = (await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})).json()
        assert introspection["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        failed = await client.post("/graphql", json={"query": QUERY}, headers={"x-request-id": "req-42"})
        error = failed.json()["errors"][0]
        assert error["message"] == "Internal server error (request req-42)"
        assert "10.1.2.3" not in failed.text
        validation = (await client.post("/graphql", json={"query": "{ nope }"})).json()
        assert "nope" in validation["errors"][0]["message"]  # validation errors stay as they are
    async with client_for(ServerConfig(dev=True), fail=True) as client:
        failed = (await client.post("/graphql", json={"query": QUERY})).json()
        assert "10.1.2.3" in failed["errors"][0]["message"]


async def test_cors_allows_only_the_configured_origins() -> None:
    async with client_for(ServerConfig(cors_origins=("https://portal.jshealth.example",))) as client:
        allowed = await client.options("/graphql", headers={
            "origin": "https://portal.jshealth.example", "access-control-request-method": "POST"})
        assert allowed.headers["access-control-allow-origin"] == "https://portal.jshealth.example"
        other = await client.options("/graphql", headers={
            "origin": "https://evil.example", "access-control-request-method": "POST"})
        assert "access-control-allow-origin" not in other.headers


def test_configuration_file_and_environment(tmp_path: Path) -> None:
    file = tmp_path / "router.toml"
    file.write_text("""
[server]
dev = false
cors_origins = ["https://a.example"]
max_batch = 5
[limits]
max_depth = 8
[subgraphs.population]
url = "http://population:4102/graphql"
timeout_seconds = 2.5
[rate_limit]
per_client = "600/60s"
""", encoding="utf-8")
    config = load_config(str(file), {"ROUTER_LIMITS_MAX_DEPTH": "6", "ROUTER_SERVER_MASK_ERRORS": "false"})
    assert config.server.dev is False and config.server.max_batch == 5
    assert config.limits.max_depth == 6  # the environment wins
    assert config.server.flag("mask_errors") is False and config.server.flag("introspection") is False
    assert config.subgraphs["population"].timeout_seconds == 2.5


@pytest.mark.parametrize(("text", "environ", "message"), [
    ("[server]\nlisten = 4000", {}, "server.listen: expected str"),
    ("[limits]\nmax_depht = 3", {}, "unknown settings: max_depht"),
    ("[limits]\nmax_depth = -1", {}, "must not be negative"),
    ("[rate_limit]\nper_client = 'lots'", {}, "rate_limit.per_client: rate limit"),
    ("[nonsense]\na = 1", {}, "unknown configuration sections: nonsense"),
    ("", {"ROUTER_SERVER_DEV": "maybe"}, "expected bool"),
    ("[server", {}, "not valid TOML"),
])
def test_bad_configuration_is_refused_with_the_setting_named(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    file = tmp_path / "router.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(str(file), environ)


async def test_the_router_process_limits_requests_per_ip_and_reports_circuits(tmp_path: Path) -> None:
    from router.app import build

    file = tmp_path / "router.toml"
    file.write_text("""
[rate_limit]
per_ip = "2/60s"
[subgraphs.population]
url = "http://127.0.0.1:9/graphql"
""", encoding="utf-8")
    app = build(load_config(str(file), {}))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://router") as client:
        statuses = [(await client.post("/graphql", json={"query": QUERY})).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = await client.post("/graphql", json={"query": QUERY})
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        health = (await client.get("/health")).json()
        assert health["circuits"]["population"] == "closed"


async def test_limits_refuse_abusive_operations_before_any_subgraph_is_called() -> None:
    from router.limits import OperationLimits

    subgraphs = Subgraphs()
    gateway = Gateway(SUPERGRAPH, subgraphs, limits=OperationLimits(max_depth=5, max_aliases=2), max_cost=50)
    app = create_router_app(gateway, ServerConfig())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as client:
        deep = (await client.post("/graphql", json={
            "query": '{ region(code: "320000") { parent { parent { parent { parent { name } } } } } }'})).json()
        assert deep["errors"][0]["extensions"] == {"code": "MAX_DEPTH_EXCEEDED", "measured": 6, "limit": 5}
        aliases = (await client.post("/graphql", json={
            "query": '{ a: region(code: "1") { name } b: region(code: "2") { name } c: region(code: "3") { name } }'
        })).json()
        assert aliases["errors"][0]["extensions"]["code"] == "MAX_ALIASES_EXCEEDED"
        costly = (await client.post("/graphql", json={
            "query": "query($n: Int!) { organizations(first: $n) { nodes { children { children { name } } } } }",
            "variables": {"n": 5}})).json()
        assert costly["errors"][0]["extensions"]["code"] == "COST_ESTIMATED_TOO_EXPENSIVE"
        assert subgraphs.calls == 0
        fine = (await client.post("/graphql", json={"query": QUERY})).json()
        assert fine == {"data": {"region": {"name": "江苏省"}}} and subgraphs.calls == 1


@pytest.mark.parametrize(("mode", "authorization", "status", "code"), [
    ("require", None, 401, "UNAUTHENTICATED"),
    ("require", "Bearer not.a.jwt", 401, "UNAUTHENTICATED"),
    ("optional", "Basic dXNlcjpwYXNz", 401, "UNAUTHENTICATED"),
    ("optional", None, 200, None),
])
async def test_bearer_tokens_are_required_or_optional_as_configured(
    tmp_path: Path, mode: str, authorization: str | None, status: int, code: str | None
) -> None:
    from router.app import build

    file = tmp_path / "router.toml"
    file.write_text(f"""
[auth]
mode = "{mode}"
issuer = "https://identity.jshealth.example"
audience = ["jshealth-graph"]
jwks_url = "http://127.0.0.1:9/jwks.json"
[subgraphs.population]
url = "http://127.0.0.1:9/graphql"
""", encoding="utf-8")
    app = build(load_config(str(file), {}))
    headers = {"authorization": authorization} if authorization else {}
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://router") as client:
        response = await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert response.status_code == status
    if code is not None:
        assert response.json()["errors"][0]["extensions"]["code"] == code
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_auth_needs_an_issuer_audience_and_keys(tmp_path: Path) -> None:
    file = tmp_path / "router.toml"
    file.write_text('[auth]\nmode = "require"\nissuer = "https://id.example"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="issuer, audience and jwks_url"):
        load_config(str(file), {})
