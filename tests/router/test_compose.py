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
    assert any(e.startswith("[a, b]") and '"Thing.size"' in e and '"Int" in a' in e and '"String" in b' in e
               and e.endswith("(FIELD_TYPE_MISMATCH)") for e in caught.value.errors)


def test_field_in_two_subgraphs_without_shareable_is_refused() -> None:
    with pytest.raises(CompositionError) as caught:
        compose([
            sub("a", "type Query { a: Thing } type Thing @key(fields: \"id\") { id: ID! name: String }"),
            sub("b", "type Query { b: Thing } type Thing @key(fields: \"id\") { id: ID! name: String }"),
        ])
    assert any(e.startswith("[a] Thing.name") and "@shareable" in e for e in caught.value.errors)
    assert any(e.startswith("[b] Thing.name") and e.endswith("(INVALID_FIELD_SHARING)") for e in caught.value.errors)


def test_requires_on_a_field_that_is_not_external_is_refused() -> None:
    with pytest.raises(CompositionError) as caught:
        compose([
            sub("a", "type Query { a: Thing } type Thing @key(fields: \"id\") { id: ID! weight: Int }"),
            sub("b", "type Thing @key(fields: \"id\") { id: ID! weight: Int @shareable "
                     "shipping: Int @requires(fields: \"weight\") }"),
        ])
    assert any(e.startswith('[b] On field "Thing.shipping", for @requires(fields: "weight"): field "Thing.weight"')
               and "@external" in e for e in caught.value.errors)


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
        sub("a", "type Query { thing(id: ID!): Thing } type Thing @key(fields: \"id\") { id: ID! name: String "
                 "weight: Int }"),
        sub("b", "type Thing @key(fields: \"id\") { id: ID! weight: Int @external "
                 "shipping: Int @requires(fields: \"weight\") }"),
    ])
    assert '@join__type(graph: A, key: "id")' in sdl
    assert '@join__field(graph: B, requires: "weight")' in sdl
    assert "@join__field(graph: B, external: true)" in sdl
    Supergraph(sdl)


def test_subgraphs_are_taken_in_name_order_and_types_printed_alphabetically() -> None:
    sdl = compose([
        sub("zeta", "type Query { z: Zebra } type Zebra { a: Int }"),
        sub("alpha", "type Query { a: apple } type apple { b: Int }"),
    ])
    graphs = [line.split()[0] for line in sdl.split("enum join__Graph {\n", 1)[1].split("\n}")[0].splitlines()]
    assert graphs == ["ALPHA", "ZETA"]
    assert sdl.index("type apple") < sdl.index("type Query") < sdl.index("type Zebra")
    assert "  a: apple @join__field(graph: ALPHA)\n  z: Zebra @join__field(graph: ZETA)" in sdl


def test_descriptions_and_deprecations_reach_the_api_schema() -> None:
    sdl = compose([
        sub("a", 'type Query { colour(old: Int @deprecated(reason: "gone")): Colour @deprecated(reason: "use b") } '
                 'enum Colour { """red""" RED GREEN @deprecated(reason: "faded") }'),
        sub("b", "type Query { b: Int }"),
    ])
    api = Supergraph(sdl).api_schema
    colour = api.get_type("Colour")
    field = api.query_type.fields["colour"]  # type: ignore[union-attr]
    assert colour.values["RED"].description == "red"  # type: ignore[union-attr]
    assert colour.values["GREEN"].deprecation_reason == "faded"  # type: ignore[union-attr]
    assert field.deprecation_reason == "use b"
    assert field.args["old"].deprecation_reason == "gone"


def test_input_types_and_arguments_merge_by_intersection() -> None:
    sdl = compose([
        sub("a", "type Query { a(f: Filter): Int } input Filter { x: Int y: String } "
                 "type Page @shareable { next(x: Int): Boolean }"),
        sub("b", "type Query { b(f: Filter): Page } input Filter { x: Int } type Page @shareable { next: Boolean }"),
    ])
    api = Supergraph(sdl).api_schema
    assert list(api.get_type("Filter").fields) == ["x"]  # type: ignore[union-attr]
    assert api.get_type("Page").fields["next"].args == {}  # type: ignore[union-attr]
    with pytest.raises(CompositionError) as caught:
        compose([
            sub("a", "type Query { a(f: Filter): Int } input Filter { x: Int y: String! }"),
            sub("b", "type Query { b(f: Filter): Int } input Filter { x: Int }"),
        ])
    assert caught.value.errors == [
        '[a, b] Input object field "Filter.y" is required in some subgraphs but does not appear in all subgraphs: it '
        "is required in a but does not appear in b (REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH)"
    ]


@pytest.mark.parametrize(
    ("usage_a", "usage_b", "values"),
    [
        ("a: Colour", "b: Colour", ["RED", "GREEN", "BLUE"]),  # output only: union
        ("a(c: Colour): Int", "b(c: Colour): Int", ["RED"]),  # input only: intersection
    ],
)
def test_enums_merge_by_usage(usage_a: str, usage_b: str, values: list[str]) -> None:
    sdl = compose([
        sub("a", f"type Query {{ {usage_a} }} enum Colour {{ RED GREEN }}"),
        sub("b", f"type Query {{ {usage_b} }} enum Colour {{ RED BLUE }}"),
    ])
    assert list(Supergraph(sdl).api_schema.get_type("Colour").values) == values  # type: ignore[union-attr]


def test_enum_used_as_input_and_output_needs_the_same_values() -> None:
    with pytest.raises(CompositionError) as caught:
        compose([
            sub("a", "type Query { a(c: Colour): Int } enum Colour { RED GREEN }"),
            sub("b", "type Query { b: Colour } enum Colour { RED BLUE }"),
        ])
    usage = ('[a, b] Enum type "Colour" is used as both input type (for example, as type of "Query.a(c:)") and '
             'output type (for example, as type of "Query.b"), but value ')
    assert caught.value.errors == [
        usage + '"GREEN" is not defined in all the subgraphs defining "Colour": it is defined in a but not in b '
        "(ENUM_VALUE_MISMATCH)",
        usage + '"BLUE" is not defined in all the subgraphs defining "Colour": it is defined in b but not in a '
        "(ENUM_VALUE_MISMATCH)",
    ]


OVERRIDE_A = "type Query { user(id: ID!): User } type User @key(fields: \"id\") { id: ID! name: String! }"


def test_override_moves_the_field() -> None:
    sdl = compose([
        sub("a", OVERRIDE_A),
        SubgraphSource("b", "http://b.test/graphql", 'extend schema @link(url: "https://specs.apollo.dev/federation/'
                       'v2.7", import: ["@key", "@override"]) type User @key(fields: "id") '
                       '{ id: ID! name: String! @override(from: "a") }'),
    ])
    assert '  name: String! @join__field(graph: B, override: "a")\n' in sdl
    assert Supergraph(sdl).types["User"].resolving_graphs("name") == ["b"]
    assert "join/v0.3" in sdl


def test_override_keeps_a_field_the_overridden_subgraph_still_uses() -> None:
    sdl = compose([
        sub("a", OVERRIDE_A.replace('@key(fields: \"id\")', '@key(fields: \"id\") @key(fields: \"name\")')),
        SubgraphSource("b", "http://b.test/graphql", 'extend schema @link(url: "https://specs.apollo.dev/federation/'
                       'v2.7", import: ["@key", "@override"]) type User @key(fields: "id") '
                       '{ id: ID! name: String! @override(from: "a") }'),
    ])
    assert '@join__field(graph: A, usedOverridden: true) @join__field(graph: B, override: "a")' in sdl
    assert Supergraph(sdl).types["User"].resolving_graphs("name") == ["b"]


def test_progressive_override_links_join_v04() -> None:
    sdl = compose([
        sub("a", OVERRIDE_A),
        SubgraphSource("b", "http://b.test/graphql", 'extend schema @link(url: "https://specs.apollo.dev/federation/'
                       'v2.7", import: ["@key", "@override"]) type User @key(fields: "id") '
                       '{ id: ID! name: String! @override(from: "a", label: "percent(50)") }'),
    ])
    assert '@link(url: "https://specs.apollo.dev/join/v0.4", for: EXECUTION)' in sdl
    assert "usedOverridden: Boolean, overrideLabel: String) repeatable on" in sdl
    assert "scalar join__DirectiveArguments" in sdl
    assert ('name: String! @join__field(graph: A, overrideLabel: "percent(50)") '
            '@join__field(graph: B, override: "a", overrideLabel: "percent(50)")') in sdl
    supergraph = Supergraph(sdl)
    assert supergraph.override_labels == {"percent(50)"}
    assert supergraph.types["User"].resolving_graphs("name") == ["a"]
    assert supergraph.types["User"].resolving_graphs("name", frozenset({"percent(50)"})) == ["b"]


def test_interface_object_fields_reach_every_implementation() -> None:
    sdl = compose([
        sub("a", 'type Query { media: [Media!]! } interface Media @key(fields: "id") { id: ID! title: String! } '
                 'type Book implements Media @key(fields: "id") { id: ID! title: String! }'),
        SubgraphSource("b", "http://b.test/graphql", 'extend schema @link(url: "https://specs.apollo.dev/federation/'
                       'v2.3", import: ["@key", "@interfaceObject"]) type Query { top: [Media!]! } '
                       'type Media @key(fields: "id") @interfaceObject { id: ID! rating: Float }'),
    ])
    assert '@join__type(graph: B, key: "id", isInterfaceObject: true)' in sdl
    assert "  rating: Float @join__field(graph: B)\n" in sdl  # on the interface
    assert "  rating: Float @join__field\n" in sdl  # on Book: bare, no graph
    Supergraph(sdl)


def test_provides_of_a_field_that_is_not_shareable_is_refused() -> None:
    with pytest.raises(CompositionError) as caught:
        compose([
            sub("a", OVERRIDE_A),
            SubgraphSource("b", "http://b.test/graphql", 'extend schema @link(url: "https://specs.apollo.dev/'
                           'federation/v2.3", import: ["@key", "@external", "@provides"]) type Query { r: Review } '
                           'type Review { author: User! @provides(fields: "name") } '
                           'type User @key(fields: "id") { id: ID! name: String! @external }'),
        ])
    assert caught.value.errors == ["[a] User.name is resolved by a and b (through @provides) but is not marked "
                                   "@shareable in a (INVALID_FIELD_SHARING)"]


def test_a_field_no_query_can_reach_is_refused() -> None:
    with pytest.raises(CompositionError) as caught:
        compose([
            sub("a", "type Query { a: Page } type Page @shareable { next: Boolean! }"),
            sub("b", "type Query { b: Int } type Page @shareable { next: Boolean! total: Int }"),
        ])
    assert caught.value.errors == [
        '[a] Page.total cannot be reached by the query { a { total } }: from subgraph "a": cannot find field '
        '"Page.total"; cannot move to subgraph "b", which has it, because type "Page" has no @key defined in '
        'subgraph "b" (SATISFIABILITY_ERROR)'
    ]


def test_inaccessible_and_tag_are_linked_and_kept() -> None:
    sdl = compose([SubgraphSource(
        "a", "http://a.test/graphql", 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
        'import: ["@inaccessible", "@tag"]) type Query { a(x: Int @inaccessible): Int @tag(name: "public") '
        "b: Int @inaccessible }")])
    assert '@link(url: "https://specs.apollo.dev/tag/v0.3")' in sdl
    assert '@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)' in sdl
    assert '  a(x: Int @inaccessible): Int @tag(name: "public")\n  b: Int @inaccessible\n' in sdl
    api = Supergraph(sdl).api_schema
    assert list(api.query_type.fields) == ["a"]  # type: ignore[union-attr]
    assert api.query_type.fields["a"].args == {}  # type: ignore[union-attr]


def test_unimported_federation_directive_is_named() -> None:
    with pytest.raises(CompositionError) as caught:
        compose([sub("a", "type Query { a: T } type T @key(fields: \"id\") { id: ID! n: Int @provides(fields: "
                          "\"x\") }")])
    assert caught.value.errors == ['[a] T.n: unknown directive "@provides" (import "@provides" in the @link to the '
                                   "federation spec, or write @federation__provides) (INVALID_GRAPHQL)"]


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
