"""Apollo's composition and gateway as the reference for our composer and router.

(a) Apollo composes our five subgraphs; (b) the supergraph it writes and ours (schema.graphql) describe
the same API and route every type and field the same way, and on small two-subgraph cases our composer
accepts, rejects and merges as Apollo's does; (c) Apollo's gateway on OUR supergraph, against our
subgraph processes (PostgreSQL, Redis), answers the vertical slice and a set of operations as our router.

Each known disagreement is a strict xfail whose reason says what Apollo does and what we do: fixing one
turns its test into an XPASS failure, the cue to drop the mark.

The Node side is tests/federation/reference/ (pinned by its package-lock.json), driven by
tests/reference_gateway.py. Without Node/npm these tests fail in CI and skip elsewhere.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e.slice import LIST_QUERY, SLICE_QUERY, slice_people
from graphql import (
    DefinitionNode,
    find_breaking_changes,
    find_dangerous_changes,
    lexicographic_sort_schema,
    parse,
    print_ast,
    print_schema,
)
from reference_gateway import (
    ApolloCompositionError,
    ReferenceGateway,
    apollo_compose,
    reference_or_skip,
    with_subgraph_urls,
)
from support import TEST_PERSONS, TEST_SEED, create_pg_database, drop_pg_database, require_redis

from router.compose import CompositionError, SubgraphSource, compose
from router.supergraph import Supergraph, without_access_control
from subgraphs.common.app import SeedOptions
from subgraphs.launch import SCHEMA_PATH, setup_databases, start_stack, stop_stack
from subgraphs.registry import SUBGRAPHS, subgraph_sdl


@pytest.fixture(scope="module")
def subgraph_sources() -> list[tuple[str, str, str]]:
    return [(e.name, e.url, subgraph_sdl(e.definition())) for e in SUBGRAPHS]


@pytest.fixture(scope="module")
def apollo_supergraph(subgraph_sources: list[tuple[str, str, str]]) -> str:
    reference_or_skip()
    return apollo_compose(subgraph_sources)


@pytest.fixture(scope="module")
def our_supergraph() -> str:
    return SCHEMA_PATH.read_text(encoding="utf-8")


# (a) ------------------------------------------------------------------------------------------------


def test_apollo_composes_our_subgraphs(apollo_supergraph: str) -> None:
    graphs = {g.name: g.url for g in Supergraph(apollo_supergraph).graphs.values()}
    assert graphs == {e.name: e.url for e in SUBGRAPHS}


def test_apollo_composition_errors_are_reported(subgraph_sources: list[tuple[str, str, str]]) -> None:
    reference_or_skip()
    clash = 'type Query { organization(id: ID!): String }'  # Query.organization is identity's, as Organization
    with pytest.raises(ApolloCompositionError) as failure:
        apollo_compose([*subgraph_sources, ("clash", "http://127.0.0.1:1/graphql", clash)])
    assert failure.value.errors and all(": " in line for line in failure.value.errors)
    assert any("organization" in line for line in failure.value.errors), failure.value.errors


# (b) ------------------------------------------------------------------------------------------------


def test_our_supergraph_and_apollos_have_no_breaking_or_dangerous_changes(
    apollo_supergraph: str, our_supergraph: str
) -> None:
    ours, apollos = Supergraph(our_supergraph).api_schema, Supergraph(apollo_supergraph).api_schema
    for old, new in ((ours, apollos), (apollos, ours)):
        assert find_breaking_changes(old, new) == []
        assert find_dangerous_changes(old, new) == []


def test_our_api_schema_prints_like_apollos(apollo_supergraph: str, our_supergraph: str) -> None:
    assert _api(our_supergraph) == _api(apollo_supergraph)


def _api(sdl: str) -> str:
    """The API schema as SDL, types and fields sorted (so that only content, not order, is compared)."""
    return print_schema(lexicographic_sort_schema(Supergraph(sdl).api_schema))


ROUTING_DIRECTIVES = ("join__type", "join__field", "join__implements", "join__unionMember", "join__enumValue")


def _routing(sdl: str) -> dict[str, set[str]]:
    """Every join__ directive applied to a type, field or enum value (the planner's input), by coordinate.

    Left out: order, descriptions, the join spec's own definitions, and a join__field `type:` equal to the
    field's supergraph type (Apollo writes it on every subgraph's join__field once one subgraph differs;
    the join spec reads a missing `type:` as the supergraph's type).
    """
    found: dict[str, set[str]] = {}

    def note(coordinate: str, node: Any, field_type: str | None = None) -> None:
        printed = set()
        for directive in node.directives or []:
            if directive.name.value not in ROUTING_DIRECTIVES:
                continue
            arguments = [
                f"{a.name.value}: {print_ast(a.value)}" for a in directive.arguments or []
                if not (a.name.value == "type" and field_type is not None and a.value.value == field_type)
            ]
            printed.add(f"@{directive.name.value}({', '.join(sorted(arguments))})")
        found[coordinate] = printed

    definition: DefinitionNode
    for definition in parse(sdl).definitions:
        name = getattr(getattr(definition, "name", None), "value", None)
        if name is None or name.startswith(("join__", "link__")) or not hasattr(definition, "directives"):
            continue
        if hasattr(definition, "locations"):  # a directive definition
            continue
        note(name, definition)
        for child in getattr(definition, "fields", None) or []:
            note(f"{name}.{child.name.value}", child, print_ast(child.type))
        for child in getattr(definition, "values", None) or []:
            note(f"{name}.{child.name.value}", child)
    return found


def test_our_supergraph_routes_like_apollos(apollo_supergraph: str, our_supergraph: str) -> None:
    ours, apollos = _routing(our_supergraph), _routing(apollo_supergraph)
    assert sorted(ours) == sorted(apollos)
    differing = {c: (sorted(ours[c]), sorted(apollos[c])) for c in ours if ours[c] != apollos[c]}
    assert differing == {}


# (b') composition rules, case by case: two small subgraphs "a" and "b" -------------------------------

FEDERATION_LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.11", import: ["@key", "@shareable", '
    '"@external", "@requires", "@provides", "@inaccessible", "@override", "@tag"])\n'
)


def _case(a: str, b: str, disagreement: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=disagreement)] if disagreement else []
    return pytest.param(a, b, marks=marks)


COMPOSITION_CASES = {
    "entity_split": _case(
        'type Query { user(id: ID!): User } type User @key(fields: "id") { id: ID! name: String! }',
        'type Query { posts: [Post!]! } type User @key(fields: "id") { id: ID! posts: [Post!]! } '
        "type Post { title: String! author: User! }",
    ),
    "compound_and_multiple_keys": _case(
        'type Query { org(id: ID!): Org } type Org @key(fields: "id") { id: ID! } '
        'type Badge @key(fields: "org { id } number") @key(fields: "serial") '
        "{ org: Org! number: Int! serial: String! colour: String }",
        'type Query { badges: [Badge!]! } type Org @key(fields: "id", resolvable: false) { id: ID! } '
        'type Badge @key(fields: "org { id } number") { org: Org! number: Int! holder: String }',
    ),
    "shareable_value_type_nullability": _case(
        "type Query { a: Page } type Page @shareable { next: Boolean! cursor: String }",
        "type Query { b: Page } type Page @shareable { next: Boolean cursor: String }",
    ),
    "requires": _case(
        'type Query { user(id: ID!): User } type User @key(fields: "id") { id: ID! name: String! }',
        'type Query { b: Int } type User @key(fields: "id") '
        '{ id: ID! name: String! @external greeting: String! @requires(fields: "name") }',
    ),
    "provides_shareable": _case(
        'type Query { user(id: ID!): User } type User @key(fields: "id") { id: ID! name: String! @shareable }',
        'type Query { reviews: [Review!]! } type Review { body: String! author: User! @provides(fields: "name") } '
        'type User @key(fields: "id") { id: ID! name: String! @external }',
    ),
    "inaccessible": _case("type Query { a: Int @inaccessible b: Int }", "type Query { c: Int }"),
    "interface": _case(
        "type Query { things: [Thing!]! } interface Thing { id: ID! } "
        "type A implements Thing { id: ID! a: Int } type B implements Thing { id: ID! b: Int }",
        "type Query { c: Int }",
    ),
    "union_of_entities": _case(
        'type Query { search: [Hit!]! } union Hit = User | Org type User @key(fields: "id") { id: ID! } '
        'type Org @key(fields: "id") { id: ID! }',
        'type Query { c: Int } type User @key(fields: "id") { id: ID! name: String } '
        'type Org @key(fields: "id") { id: ID! title: String }',
    ),
    "enum_output_only_values_differ": _case(
        "type Query { a: Colour } enum Colour { RED GREEN }",
        "type Query { b: Colour } enum Colour { RED BLUE }",
    ),
    "argument_default": _case("type Query { a(n: Int = 3): Int }", "type Query { c: Int }"),
    "rejects_field_type_mismatch": _case("type Query { a: Int }", "type Query { a: String }"),
    "rejects_unshareable_field": _case("type Query { a: Int }", "type Query { a: Int }"),
    "rejects_key_on_missing_field": _case(
        'type Query { user(id: ID!): User } type User @key(fields: "id") { id: ID! }',
        'type Query { b: Int } type User @key(fields: "nope") { id: ID! }',
    ),
    "provides_of_unshareable_field": _case(  # INVALID_FIELD_SHARING: provided fields count as resolved
        'type Query { user(id: ID!): User } type User @key(fields: "id") { id: ID! name: String! }',
        'type Query { reviews: [Review!]! } type Review { body: String! author: User! @provides(fields: "name") } '
        'type User @key(fields: "id") { id: ID! name: String! @external }',
    ),
    "input_field_in_one_subgraph": _case(  # input types merge by intersection: Filter { x }
        "type Query { a(f: Filter): Int } input Filter { x: Int y: String }",
        "type Query { b(f: Filter): Int } input Filter { x: Int }",
    ),
    "rejects_required_input_field_missing": _case(  # REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH
        "type Query { a(f: Filter): Int } input Filter { x: Int y: String! }",
        "type Query { b(f: Filter): Int } input Filter { x: Int }",
    ),
    "enum_input_only_values_differ": _case(  # intersection: Colour { RED }
        "type Query { a(c: Colour): Int } enum Colour { RED GREEN }",
        "type Query { b(c: Colour): Int } enum Colour { RED BLUE }",
    ),
    "enum_input_and_output_values_differ": _case(  # ENUM_VALUE_MISMATCH
        "type Query { a(c: Colour): Int } enum Colour { RED GREEN }",
        "type Query { b: Colour } enum Colour { RED BLUE }",
    ),
    "enum_value_descriptions": _case(
        'type Query { a: Colour } enum Colour { """red""" RED GREEN }',
        "type Query { b: Int }",
    ),
    "deprecated": _case(
        'type Query { a: Int @deprecated(reason: "use b") b: Int }',
        "type Query { c: Int }",
    ),
    "deprecated_and_descriptions_everywhere": _case(  # arguments, enum values, input fields; most common description
        '"""the root""" type Query { a(x: Int @deprecated(reason: "no")): Colour @deprecated(reason: "use b") '
        'b("""the filter""" f: F): Int } enum Colour { RED @deprecated(reason: "r") GREEN } '
        'input F { """an a""" a: Int @deprecated b: Int } """x""" type T @shareable { f: Int }',
        '"""the query root""" type Query { c: Colour t: T } enum Colour { RED GREEN } '
        '"""y""" type T @shareable { """f""" f: Int }',
    ),
    "override": _case(  # User.name @join__field(graph: B, override: "a") only
        'type Query { user(id: ID!): User } type User @key(fields: "id") { id: ID! name: String! }',
        'type Query { b: Int } type User @key(fields: "id") { id: ID! name: String! @override(from: "a") }',
    ),
    "override_used_overridden": _case(  # a's @key(fields: "name") still needs it: usedOverridden: true
        'type Query { user(id: ID!): User } type User @key(fields: "id") @key(fields: "name") '
        "{ id: ID! name: String! age: Int! }",
        'type Query { b: Int } type User @key(fields: "id") '
        '{ id: ID! name: String! @override(from: "a") age: Int! @override(from: "a") }',
    ),
    "override_progressive_label": _case(  # both sides with overrideLabel; join v0.4
        'type Query { user(id: ID!): User } type User @key(fields: "id") { id: ID! name: String! }',
        'type Query { b: Int } type User @key(fields: "id") '
        '{ id: ID! name: String! @override(from: "a", label: "percent(50)") }',
    ),
    "unsatisfiable_shareable_field": _case(  # SATISFIABILITY_ERROR: { a { total } }, Page has no @key in b
        "type Query { a: Page } type Page @shareable { next: Boolean! }",
        "type Query { b: Page } type Page @shareable { next: Boolean! total: Int }",
    ),
    "shareable_runtime_types_do_not_intersect": _case(  # SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES
        "type Query { a: I @shareable } interface I { x: Int } type A implements I @shareable { x: Int }",
        "type Query { a: I @shareable } interface I { x: Int } type B implements I @shareable { x: Int }",
    ),
    "argument_in_one_subgraph": _case(  # the optional argument x is dropped (not in every subgraph)
        "type Query { a: Page } type Page @shareable { next(x: Int): Boolean! }",
        "type Query { b: Page } type Page @shareable { next: Boolean! }",
    ),
    "rejects_required_argument_missing": _case(  # REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH
        "type Query { a: Page } type Page @shareable { next(x: Int!): Boolean! }",
        "type Query { b: Page } type Page @shareable { next: Boolean! }",
    ),
    "type_subtypes": _case(  # outputs merge to the supertype (nullable, interface), inputs to the subtype
        "type Query { a(n: Int): Int! t: T @shareable } interface I { id: ID } "
        "type T implements I @shareable { id: ID! i: I }",
        "type Query { b(n: Int!): Int t: T @shareable } type T implements I @shareable { id: ID i: T } "
        "interface I { id: ID }",
    ),
    "interface_object": _case(  # Media's extra fields: on the interface for b, bare @join__field on Book and Movie
        'type Query { media: [Media!]! } interface Media @key(fields: "id") { id: ID! title: String! } '
        'type Book implements Media @key(fields: "id") { id: ID! title: String! pages: Int } '
        'type Movie implements Media @key(fields: "id") { id: ID! title: String! }',
        'type Query { top: [Media!]! } type Media @key(fields: "id") @federation__interfaceObject '
        '{ id: ID! rating(by: String = "x"): Float @deprecated(reason: "old") """reviews""" reviews: [String!]! }',
    ),
    "key_on_interface": _case(
        'type Query { nodes: [Node!]! } interface Node @key(fields: "id") { id: ID! } '
        'type U implements Node @key(fields: "id") { id: ID! n: Int } '
        'type V implements Node @key(fields: "id") { id: ID! m: Int }',
        'type Query { b: Int } type U @key(fields: "id") { id: ID! extra: String }',
    ),
    "rejects_interface_key_missing_implementation": _case(  # INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE
        'type Query { a: [Node] } interface Node @key(fields: "id") { id: ID! } '
        'type U implements Node @key(fields: "id") { id: ID! n: Int }',
        'type Query { b: Int } type V implements Node @key(fields: "id") { id: ID! m: Int } interface Node { id: ID! }',
    ),
    "interface_implemented_in_some_subgraphs": _case(
        "type Query { a: [I] t: T } interface I { id: ID! } type T implements I @shareable { id: ID! x: Int }",
        "type Query { b: T } type T @shareable { id: ID! x: Int }",
    ),
    "union_members_differ": _case(
        "type Query { a: [U] } union U = X | Y type X @shareable { x: Int } type Y { y: Int }",
        "type Query { b: [U] } union U = X | Z type X @shareable { x: Int } type Z { z: Int }",
    ),
    "inaccessible_and_tag": _case(  # on arguments, enum values, types and fields; @tag is kept (tag/v0.3)
        'type Query { a(x: Int @inaccessible, y: Int @tag(name: "t")): Colour @tag(name: "q") b: Int @inaccessible '
        'c: Thing } enum Colour @tag(name: "e") { RED GREEN @inaccessible } '
        'type Thing @tag(name: "x") { id: ID! secret: String @inaccessible }',
        'type Query { d: Int @tag(name: "q") }',
    ),
    "rejects_referenced_inaccessible": _case(  # REFERENCED_INACCESSIBLE
        "type Query { a: Secret } type Secret @inaccessible { x: Int }", "type Query { b: Int }",
    ),
    "extend_type_key": _case(  # extension: true; an @external key field of an extension is not external
        'type Query { a: User } type User @key(fields: "id") { id: ID! name: String }',
        'extend type User @key(fields: "id") { id: ID! @external age: Int } type Query { b: Int }',
    ),
    "rejects_extension_with_no_base": _case(  # EXTENSION_WITH_NO_BASE
        'type Query { a: User } extend type User @key(fields: "id") { id: ID! name: String }',
        'extend type User @key(fields: "id") { id: ID! age: Int }',
    ),
    "rejects_shareable_type_but_not_its_extension": _case(  # @shareable on a type does not cover its extensions
        "type Query { a: T @shareable } type T @shareable { x: Int } extend type T { y: Int }",
        "type Query { a: T @shareable } type T @shareable { x: Int y: Int }",
    ),
    "rejects_external_unused": _case(  # EXTERNAL_UNUSED
        'type Query { user(id: ID!): User } type User @key(fields: "id") { id: ID! name: String! }',
        'type Query { b: Int } type User @key(fields: "id") { id: ID! name: String! @external }',
    ),
}


@pytest.mark.parametrize(("a", "b"), list(COMPOSITION_CASES.values()), ids=list(COMPOSITION_CASES))
def test_our_composer_agrees_with_apollos(a: str, b: str) -> None:
    """Both reject the two subgraphs, or both accept them with the same API schema and routing."""
    reference_or_skip()
    sources = [SubgraphSource(name, f"http://{name}.test/graphql", FEDERATION_LINK + sdl)
               for name, sdl in (("a", a), ("b", b))]
    try:
        ours: str | None = compose(sources)
        our_errors: list[str] = []
    except CompositionError as exc:
        ours, our_errors = None, [str(exc)]
    try:
        apollos: str | None = apollo_compose([(s.name, s.url, s.sdl) for s in sources])
        apollo_errors: list[str] = []
    except ApolloCompositionError as exc:
        apollos, apollo_errors = None, exc.errors
    verdict = {"ours": our_errors or "accepts", "apollo": apollo_errors or "accepts"}
    assert (ours is None) == (apollos is None), verdict
    if ours is not None and apollos is not None:
        assert _api(ours) == _api(apollos)
        assert _routing(ours) == _routing(apollos)


# (c) ------------------------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Stack:
    def __init__(self, router: str, subgraph_urls: dict[str, str]) -> None:
        self.router = router
        self.subgraph_urls = subgraph_urls


@pytest.fixture(scope="module")
async def stack() -> AsyncIterator[Stack]:
    reference_or_skip()  # before the databases: nothing to set up when the reference cannot run
    redis_url = await require_redis()
    url = await create_pg_database("jshealth_reference")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        await setup_databases(url, SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS), log=False)
        router_port, *ports = free_ports(1 + len(SUBGRAPHS))
        by_name = {e.name: p for e, p in zip(SUBGRAPHS, ports, strict=True)}
        processes = start_stack(url, redis_url, router_port=router_port, ports=by_name)
        yield Stack(f"http://127.0.0.1:{router_port}/graphql",
                    {name: f"http://127.0.0.1:{port}/graphql" for name, port in by_name.items()})
    finally:
        stop_stack(processes)
        await drop_pg_database(url)


@pytest.fixture(scope="module")
def apollo_gateway(stack: Stack, our_supergraph: str) -> Iterator[str]:
    """Apollo's gateway on our schema.graphql, its subgraph URLs pointed at the stack's processes. Apollo
    Gateway refuses supergraphs that link the authorization features (UNSUPPORTED_LINKED_FEATURE), so it
    gets ours without them; the generated operations are anonymous reads, which they do not guard."""
    supergraph = without_access_control(with_subgraph_urls(our_supergraph, stack.subgraph_urls))
    assert {g.name: g.url for g in Supergraph(supergraph).graphs.values()} == stack.subgraph_urls
    with ReferenceGateway(supergraph) as gateway:
        yield gateway.url


def _post_both(stack: Stack, gateway: str, body: dict[str, Any]) -> tuple[httpx.Response, httpx.Response]:
    return httpx.post(stack.router, json=body, timeout=60), httpx.post(gateway, json=body, timeout=60)


def _both(stack: Stack, gateway: str, query: str, variables: dict[str, Any]) -> tuple[Any, Any]:
    ours, apollos = _post_both(stack, gateway, {"query": query, "variables": variables})
    assert ours.status_code == 200, ours.text
    assert apollos.status_code == 200, apollos.text
    return ours.json(), apollos.json()


def _assert_same_answer(ours: dict[str, Any], apollos: dict[str, Any]) -> None:
    assert ("errors" in ours) == ("errors" in apollos), (ours.get("errors"), apollos.get("errors"))
    assert ("data" in ours) == ("data" in apollos), (ours, apollos)
    assert ours.get("data") == apollos.get("data")
    # Same values; also the same key order (the order of the query's selections, by the spec).
    assert json.dumps(ours.get("data"), ensure_ascii=False) == json.dumps(apollos.get("data"), ensure_ascii=False)


SLICE_UIDS = sorted(slice_people(TEST_SEED, TEST_PERSONS).items())
A_UID = SLICE_UIDS[0][1]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("uid", [uid for _name, uid in SLICE_UIDS], ids=[name for name, _uid in SLICE_UIDS])
def test_apollo_gateway_answers_the_slice_like_our_router(stack: Stack, apollo_gateway: str, uid: str) -> None:
    ours, apollos = _both(stack, apollo_gateway, SLICE_QUERY, {"uid": uid})
    assert "errors" not in ours, ours["errors"]
    assert ours["data"]["person"] is not None
    _assert_same_answer(ours, apollos)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("variables", [{}, {"region": "320500", "first": 50}], ids=["defaults", "suzhou-50"])
def test_apollo_gateway_answers_the_list_like_our_router(
    stack: Stack, apollo_gateway: str, variables: dict[str, Any]
) -> None:
    ours, apollos = _both(stack, apollo_gateway, LIST_QUERY, variables)
    assert "errors" not in ours, ours["errors"]
    assert ours["data"]["persons"]["edges"]
    _assert_same_answer(ours, apollos)


OPERATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "unknown_person": ('{ person(uid: "nope") { name account { username } licences { number } } }', {}),
    "typenames_across_subgraphs": (
        '{ persons(regionCode: "320505", first: 5) { __typename edges { __typename node { __typename '
        "account { __typename organization { __typename assets { __typename } } } licences { __typename } } } } }",
        {},
    ),
    "aliases_and_fragments": (
        "query Q($u: ID!) { p1: person(uid: $u) { ...F } p2: person(uid: $u) { n: name l: licences "
        "{ ... on Licence { num: number } } } } fragment F on Person { name licences { number } account "
        "{ u: username } }",
        {"u": A_UID},
    ),
    "skip_and_include": (
        "query Q($u: ID!, $yes: Boolean!, $no: Boolean!) { person(uid: $u) { name @include(if: $no) "
        "birthDate @skip(if: $no) account @include(if: $yes) { username } licences @skip(if: $yes) { number } } }",
        {"u": A_UID, "yes": True, "no": False},
    ),
    "organisation_tree": (
        "{ organizations(first: 3) { nodes { name region { name parent { name } } children { name "
        "assets { host kind owner { name } } } } pageInfo { hasNextPage endCursor } } }",
        {},
    ),
    "licence_holders_and_issuers": (
        "{ licences(first: 5) { edges { node { number status holder { name managementRegion { name } "
        "account { username } } issuer { name region { name } } practiceInstitution { name assets { host } } } } } }",
        {},
    ),
    "applications_and_applicants": (
        "{ applications(first: 5) { edges { node { number status citizenStatus applicant { name account "
        "{ username organization { name } } } businessItem { name item { name businessItems { name } } } } } } }",
        {},
    ),
    "persons_with_and_without_accounts": (
        '{ persons(regionCode: "320505", first: 20) { nodes { uid account { username organization { name '
        "assets { host name } } } applications(first: 2) { nodes { item { name } } } } } }",
        {},
    ),
    "introspection": ("{ __schema { queryType { name } mutationType { name } types { name kind } } }", {}),
    "introspection_of_an_entity": (
        '{ __type(name: "Person") { fields { name args { name defaultValue } type { kind name ofType '
        "{ kind name } } } } }",
        {},
    ),
    "operation_name": ("query A { regions { name } } query B { regions { code } }", {}),
    "subgraph_error": ('{ persons(regionCode: "320505", first: 2, after: "garbage") { edges { node { uid } } } }', {}),
    "validation_error": ('{ person(uid: "x") { nope } }', {}),
    "missing_variable": ("query Q($u: ID!) { person(uid: $u) { name } }", {}),
}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize(("query", "variables"), list(OPERATIONS.values()), ids=list(OPERATIONS))
def test_apollo_gateway_answers_operations_like_our_router(
    stack: Stack, apollo_gateway: str, query: str, variables: dict[str, Any]
) -> None:
    body: dict[str, Any] = {"query": query, "variables": variables}
    if query.startswith("query A"):
        body["operationName"] = "B"
    ours, apollos = _post_both(stack, apollo_gateway, body)
    _assert_same_answer(ours.json(), apollos.json())


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.xfail(
    strict=True,
    reason="request errors (validation, variable coercion, no query): Apollo Server answers HTTP 400, our "
    "router 200 with the same errors (both allowed for application/json by GraphQL over HTTP)",
)
def test_request_errors_have_apollos_http_status(stack: Stack, apollo_gateway: str) -> None:
    ours, apollos = _post_both(stack, apollo_gateway, {"query": '{ person(uid: "x") { nope } }'})
    assert ours.status_code == apollos.status_code


@pytest.mark.postgres
@pytest.mark.redis
def test_subgraph_errors_carry_apollos_locations(stack: Stack, apollo_gateway: str) -> None:
    query, variables = OPERATIONS["subgraph_error"]
    ours, apollos = _both(stack, apollo_gateway, query, variables)
    assert [e.get("locations") for e in ours["errors"]] == [e.get("locations") for e in apollos["errors"]]


def test_reference_dir_is_pinned() -> None:
    """package.json pins exact versions and the lock file agrees (npm ci installs exactly these)."""
    reference = Path(__file__).parent / "reference"
    package = json.loads((reference / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((reference / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in package["dependencies"].items():
        assert version[0].isdigit(), f"{name} is not pinned to an exact version: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


# (d) generated operations over our own graph -------------------------------------------------------

GENERATED_ON_OUR_GRAPH = 120


def _hints(stack: Stack) -> dict[str, list[Any]]:
    """Real keys for the generated operations' arguments, so they reach data, not only "not found"."""
    seen = httpx.post(stack.router, timeout=60, json={"query": """{
        licences(first: 3) { nodes { id number holder { uid } } }
        applications(first: 3) { nodes { id applicant { uid } businessItem { id } item { id } } }
        assets(first: 3) { nodes { id owner { id } } }
        organizations(first: 3) { nodes { id users(first: 3) { nodes { id organization { id } } } } }
    }"""}).json()["data"]
    # users(...) is for administrators (@authenticated): the users come through their organisations
    users = [u for org in seen["organizations"]["nodes"] for u in org["users"]["nodes"]]
    uids = [uid for _name, uid in SLICE_UIDS]
    uids += [n["holder"]["uid"] for n in seen["licences"]["nodes"]]
    uids += [n["applicant"]["uid"] for n in seen["applications"]["nodes"]]
    organizations = [n["owner"]["id"] for n in seen["assets"]["nodes"]] + [
        n["organization"]["id"] for n in users] + ["org-320000-hc"]
    regions = ["320000", "320500", "320505", "320505001"]
    return {
        "Query.person.uid": uids, "Query.persons.regionCode": regions, "Query.region.code": regions,
        "Query.regions.parentCode": regions, "Query.organizations.regionCode": regions,
        "Query.organization.id": organizations, "Query.users.organizationId": organizations,
        "Query.assets.ownerId": organizations, "Query.user.id": [n["id"] for n in users],
        "Query.licence.id": [n["id"] for n in seen["licences"]["nodes"]],
        "Query.licenceByNumber.number": [n["number"] for n in seen["licences"]["nodes"]],
        "Query.licences.holderUid": uids, "Query.applications.applicantUid": uids,
        "Query.application.id": [n["id"] for n in seen["applications"]["nodes"]],
        "Query.asset.id": [n["id"] for n in seen["assets"]["nodes"]],
        "Query.serviceItem.id": [n["item"]["id"] for n in seen["applications"]["nodes"]],
        "Query.businessItem.id": [n["businessItem"]["id"] for n in seen["applications"]["nodes"]],
    }


@pytest.mark.postgres
@pytest.mark.redis
def test_generated_operations_on_our_graph_agree_with_apollo(
    stack: Stack, apollo_gateway: str, our_supergraph: str
) -> None:
    from hypothesis import HealthCheck, given, settings
    from operation_generator import operations

    schema = Supergraph(our_supergraph).api_schema
    texts: list[str] = []

    @settings(max_examples=GENERATED_ON_OUR_GRAPH, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(operations(schema, _hints(stack)))
    def collect(text: str) -> None:
        texts.append(text)

    collect()
    disagreements = []
    for text in texts:
        ours, apollos = _post_both(stack, apollo_gateway, {"query": text})
        a, b = ours.json(), apollos.json()
        if a.get("data") != b.get("data") or ("errors" in a) != ("errors" in b):
            disagreements.append({"operation": text, "ours": a, "apollo": b})
    print(f"our graph: {len(texts) - len(disagreements)} of {len(texts)} generated operations agree with Apollo")
    assert not disagreements, disagreements[:3]
