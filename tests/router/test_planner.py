"""The planner and executor on a supergraph that is not ours (the classic products / reviews /
accounts / inventory graph): the router must know no domain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from graphql import parse

from router.compose import SubgraphSource, compose
from router.gateway import Gateway, GraphQLRequest
from router.planner import QueryPlanner
from router.supergraph import Supergraph

FED = ('extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
       'import: ["@key", "@shareable", "@external", "@requires"])\n')

PRODUCTS = FED + """
type Query { topProducts(first: Int = 5): [Product!]! }
type Product @key(fields: "upc") { upc: String! name: String! price: Int weight: Int }
"""
REVIEWS = FED + """
type Product @key(fields: "upc") { upc: String! reviews: [Review!] }
type Review @key(fields: "id") { id: ID! body: String! author: User! }
type User @key(fields: "id", resolvable: false) { id: ID! }
"""
ACCOUNTS = FED + """
type Query { me: User }
type User @key(fields: "id") { id: ID! username: String! }
"""
INVENTORY = FED + """
type Product @key(fields: "upc") { upc: String! weight: Int @external
  shippingEstimate: Int @requires(fields: "weight") inStock: Boolean }
"""


@pytest.fixture(scope="module")
def supergraph() -> Supergraph:
    return Supergraph(compose([
        SubgraphSource("products", "http://products/graphql", PRODUCTS),
        SubgraphSource("reviews", "http://reviews/graphql", REVIEWS),
        SubgraphSource("accounts", "http://accounts/graphql", ACCOUNTS),
        SubgraphSource("inventory", "http://inventory/graphql", INVENTORY),
    ]))


def plan_lines(supergraph: Supergraph, query: str) -> list[str]:
    return QueryPlanner(supergraph).plan(parse(query)).describe().splitlines()


def test_entity_jumps_follow_keys_and_nest(supergraph: Supergraph) -> None:
    lines = plan_lines(supergraph, "{ topProducts { name reviews { body author { username } } } }")
    assert lines[1].strip().startswith("Fetch(products) at (root)")
    assert "upc" in lines[1] and "__typename" in lines[1]
    assert lines[2].strip().startswith("Fetch(reviews) at topProducts.@")
    assert lines[3].strip().startswith("Fetch(accounts) at topProducts.@.reviews.@.author")
    assert "... on User { username }" in lines[3]


def test_requires_adds_the_required_field_to_the_representation(supergraph: Supergraph) -> None:
    plan = QueryPlanner(supergraph).plan(parse("{ topProducts { shippingEstimate } }"))
    root = plan.roots[0]
    assert "weight" in root.operation
    (inventory,) = root.children
    assert inventory.graph == "inventory"
    assert set(inventory.requires["Product"].fields) == {"__typename", "upc", "weight"}


def test_fields_the_current_subgraph_resolves_add_no_fetch(supergraph: Supergraph) -> None:
    plan = QueryPlanner(supergraph).plan(parse("{ topProducts { upc name price } }"))
    assert len(plan.roots) == 1 and not plan.roots[0].children


def test_sibling_fields_of_one_subgraph_share_one_fetch(supergraph: Supergraph) -> None:
    plan = QueryPlanner(supergraph).plan(parse("{ topProducts { inStock shippingEstimate reviews { id } } }"))
    graphs = sorted(child.graph for child in plan.roots[0].children)
    assert graphs == ["inventory", "reviews"]


class ScriptedSubgraphs:
    """Answers each subgraph request from a function of the request: executor logic in isolation."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def fetch(self, graph: str, body: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        self.calls.append((graph, body))
        variables = body.get("variables") or {}
        if graph == "products":
            return {"data": {"topProducts": [
                {"__typename": "Product", "upc": f"p{i}", "name": f"Product {i}", "weight": 10 * i}
                for i in range(1, 4)
            ]}}
        if graph == "inventory":
            return {"data": {"_entities": [
                {"ship": rep["weight"] // 2} for rep in variables["representations"]
            ]}}
        if graph == "reviews":
            entities: list[Any] = []
            for rep in variables["representations"]:
                if rep["upc"] == "p2":
                    entities.append(None)
                else:
                    entities.append({"reviews": [{"body": f"ok {rep['upc']}", "author": {
                        "__typename": "User", "id": "u1"}}]})
            return {"data": {"_entities": entities},
                    "errors": [{"message": "reviews of p2 are unavailable", "path": ["_entities", 1]}]}
        if graph == "accounts":
            return {"data": {"_entities": [{"username": "ada"} for _ in variables["representations"]]}}
        raise AssertionError(graph)


async def test_executor_batches_merges_and_propagates_nulls(supergraph: Supergraph) -> None:
    client = ScriptedSubgraphs()
    gateway = Gateway(supergraph, client)
    response = await gateway.run(GraphQLRequest(
        "{ topProducts { name ship: shippingEstimate reviews { body author { username } } } }"), {})
    data = response.body["data"]
    assert [p["ship"] for p in data["topProducts"]] == [5, 10, 15]
    assert data["topProducts"][0]["reviews"] == [{"body": "ok p1", "author": {"username": "ada"}}]
    # The subgraph could not resolve p2: its reviews are null and the error points at that product.
    assert data["topProducts"][1] == {"name": "Product 2", "ship": 10, "reviews": None}
    assert response.body["errors"][0]["path"] == ["topProducts", 1]
    assert response.body["errors"][0]["extensions"]["serviceName"] == "reviews"
    # One call per subgraph, however many products: representations are batched.
    assert sorted(graph for graph, _ in client.calls) == ["accounts", "inventory", "products", "reviews"]
    (_, accounts_call), = [c for c in client.calls if c[0] == "accounts"]
    assert accounts_call["variables"]["representations"] == [{"__typename": "User", "id": "u1"}]


async def test_non_null_violation_propagates_to_the_nearest_nullable_parent(supergraph: Supergraph) -> None:
    class NoNames(ScriptedSubgraphs):
        async def fetch(self, graph: str, body: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
            return {"data": {"me": {"__typename": "User", "id": "u1", "username": None}}}

    response = await Gateway(supergraph, NoNames()).run(GraphQLRequest("{ me { username } }"), {})
    assert response.body["data"] == {"me": None}
    assert response.body["errors"][0]["path"] == ["me", "username"]
