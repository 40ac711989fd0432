"""Composition: the committed supergraph is fresh, and invalid subgraph sets are refused with errors
that name the subgraph, the type and the field."""

from __future__ import annotations

import pytest

from router.compose import CompositionError, SubgraphSource, compose
from router.supergraph import Supergraph, SupergraphError
from subgraphs.launch import SCHEMA_PATH, compose_supergraph

FED = '@link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires"])'


def sub(name: str, body: str) -> SubgraphSource:
    return SubgraphSource(name, f"http://{name}.test/graphql", f"extend schema {FED}\n{body}")


def test_committed_schema_graphql_is_fresh() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == compose_supergraph(), (
        "schema.graphql is stale: run `make compose` and commit the result"
    )


def test_committed_supergraph_loads_with_every_subgraph() -> None:
    supergraph = Supergraph(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert sorted(supergraph.graph_by_name) == ["identity", "licences", "population", "security", "services"]
    person = supergraph.types["Person"]
    assert set(person.graphs) >= {"population", "identity", "licences", "services"}
    assert person.resolving_graphs("account") == ["identity"]


def test_conflicting_field_types_are_named() -> None:
    with pytest.raises(CompositionError) as caught:
        compose([
            sub("a", "type Query { a: Thing } type Thing @key(fields: \"id\") { id: ID! size: Int }"),
            sub("b", "type Query { b: Thing } type Thing @key(fields: \"id\") { id: ID! size: String @shareable }"),
        ])
    assert any("Thing.size" in e and "conflicting types" in e for e in caught.value.errors)


def test_field_in_two_subgraphs_without_shareable_is_refused() -> None:
    with pytest.raises(CompositionError) as caught:
        compose([
            sub("a", "type Query { a: Thing } type Thing @key(fields: \"id\") { id: ID! name: String }"),
            sub("b", "type Query { b: Thing } type Thing @key(fields: \"id\") { id: ID! name: String }"),
        ])
    assert any(e.startswith("[a] Thing.name") and "@shareable" in e for e in caught.value.errors)


def test_requires_on_a_field_that_is_not_external_is_refused() -> None:
    with pytest.raises(CompositionError) as caught:
        compose([
            sub("a", "type Query { a: Thing } type Thing @key(fields: \"id\") { id: ID! weight: Int }"),
            sub("b", "type Thing @key(fields: \"id\") { id: ID! weight: Int @shareable "
                     "shipping: Int @requires(fields: \"weight\") }"),
        ])
    assert any("[b] @requires on Thing.shipping" in e and "@external" in e for e in caught.value.errors)


def test_key_naming_an_unknown_field_is_refused() -> None:
    with pytest.raises(CompositionError) as caught:
        compose([sub("a", "type Query { a: Thing } type Thing @key(fields: \"sku\") { id: ID! }")])
    assert any("[a]" in e and "sku" in e and "Thing" in e for e in caught.value.errors)


def test_unparsable_subgraph_is_named() -> None:
    with pytest.raises(CompositionError) as caught:
        compose([sub("broken", "type Query { a: }")])
    assert caught.value.errors[0].startswith("[broken] SDL does not parse")


def test_composed_shapes_carry_join_directives() -> None:
    sdl = compose([
        sub("a", "type Query { thing(id: ID!): Thing } type Thing @key(fields: \"id\") { id: ID! name: String }"),
        sub("b", "type Thing @key(fields: \"id\") { id: ID! weight: Int @external "
                 "shipping: Int @requires(fields: \"weight\") }"),
    ])
    assert '@join__type(graph: A, key: "id")' in sdl
    assert '@join__field(graph: B, requires: "weight")' in sdl
    assert "@join__field(graph: B, external: true)" in sdl
    Supergraph(sdl)


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (lambda s: s.replace('@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)', ""), "join spec"),
        (lambda s: s.replace("enum join__Graph {", "enum join__Graph {\n  BOGUS"), "lacks a name"),
        (lambda s: s.replace("@join__type(graph: A, key", "@join__type(graph: NOPE, key"), "unknown graph NOPE"),
        (lambda s: s.replace("type Query", "type Query {"), "does not parse"),
    ],
)
def test_corrupted_supergraphs_are_rejected_at_load(mutation, message) -> None:  # type: ignore[no-untyped-def]
    sdl = compose([sub("a", "type Query { thing: Thing } type Thing @key(fields: \"id\") { id: ID! }")])
    with pytest.raises(SupergraphError, match=message):
        Supergraph(mutation(sdl))
