"""The demand control (@cost, @listSize) and authorization (@authenticated, @requiresScopes, @policy)
directives reach the supergraph exactly as Apollo's composition (2.14) writes them: the supergraph text of
router.compose equals Apollo's, once Apollo's join v0.5 (picked for federation v2.9 subgraphs) is read as the
join v0.3 we write (the join directives applied mean the same in both)."""

from __future__ import annotations

import pytest
from reference_gateway import apollo_compose, reference_or_skip

from router.compose import SubgraphSource, compose
from router.supergraph import Supergraph

LINK = ('extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", '
        '"@listSize", "@authenticated", "@requiresScopes", "@policy", "@shareable", "@tag"])\n')

CASES: dict[str, list[tuple[str, str]]] = {
    # @cost on an argument, a field, an object, an enum and a scalar; MAX of the weights on a shared field
    "cost": [
        ("a", LINK + """
type Query {
  books(first: Int @cost(weight: 3)): [Book]
    @listSize(assumedSize: 10, slicingArguments: ["first"], requireOneSlicingArgument: false) @cost(weight: 5)
}
type Book @key(fields: "id") @cost(weight: 2) { id: ID! title: String @shareable @cost(weight: 4) }
enum Genre @cost(weight: 7) { FICTION POETRY }
scalar Money @cost(weight: 9)
"""),
        ("b", LINK + """
type Book @key(fields: "id") { id: ID! title: String @shareable @cost(weight: 6) genre: Genre price: Money }
enum Genre { FICTION POETRY }
scalar Money
"""),
    ],
    # @listSize merged argument by argument (defaults expanded), @cost on input fields and arguments
    "list_size": [
        ("a", LINK + """
type Query {
  page(first: Int, last: Int): Page @listSize(slicingArguments: ["first"], sizedFields: ["items"]) @shareable
  tops: [Int] @listSize(assumedSize: 5) @shareable
  n(x: Int @cost(weight: 2)): Int @shareable @cost(weight: 1)
}
type Page @shareable { items: [Int] count: Int }
input In { f: Int @cost(weight: 3) }
type Mutation { m(i: In): Int }
"""),
        ("b", LINK + """
type Query {
  page(first: Int, last: Int): Page @shareable
    @listSize(slicingArguments: ["first", "last"], sizedFields: ["items"], requireOneSlicingArgument: false)
  tops: [Int] @listSize(assumedSize: 20) @shareable
  n(x: Int @cost(weight: 5)): Int @shareable
}
type Page @shareable { items: [Int] count: Int }
"""),
    ],
    # scopes and policies of a shared field: the conjunction of both subgraphs' requirements, simplified
    "scopes_and_policies": [
        ("a", LINK + """
type Query {
  x: String @shareable @requiresScopes(scopes: [["a", "b"], ["c"]])
  y: String @shareable @policy(policies: [["p"]])
  z: String @shareable @authenticated
}
"""),
        ("b", LINK + """
type Query {
  x: String @shareable @requiresScopes(scopes: [["d"], ["e", "a"]])
  y: String @shareable @policy(policies: [["q"], ["r", "s"]])
  z: String @shareable
}
"""),
    ],
    # authorization on objects, enums and scalars; a requirement subsumed by another drops out
    "authorization_on_types": [
        ("a", LINK + """
type Query { me: User @authenticated role: Role }
type User @key(fields: "id") @requiresScopes(scopes: [["u"]]) { id: ID! name: String }
enum Role @authenticated { ADMIN USER }
scalar Token @requiresScopes(scopes: [["s"], ["t"]])
"""),
        ("b", LINK + """
type User @key(fields: "id") @requiresScopes(scopes: [["u"], ["v"]]) @policy(policies: [["p1", "p2"]]) {
  id: ID! token: Token @requiresScopes(scopes: [])
}
scalar Token @requiresScopes(scopes: [["t", "s"]])
"""),
    ],
    # the order of the links and of the directives on a field, next to @tag and @deprecated
    "order_with_tag": [
        ("a", LINK + """
type Query { n: [Int] @shareable @cost(weight: 1) @tag(name: "t") @authenticated @deprecated(reason: "x") }
"""),
        ("b", LINK + """
type Query { n: [Int] @shareable @policy(policies: [["z"]]) @listSize(assumedSize: 2) @tag(name: "u") }
"""),
    ],
    # imported but never applied: nothing is linked
    "imported_not_used": [
        ("a", LINK + 'type Query { a: String @shareable }\n'),
        ("b", LINK + 'type Query { a: String @shareable b: Int }\n'),
    ],
}

_JOIN_V05_ONLY = ("directive @join__directive", "input join__ContextArgument", "scalar join__DirectiveArguments",
                  "scalar join__FieldValue")


def _as_join_v03(sdl: str) -> str:
    """`sdl` with join v0.5 (Apollo's choice for federation v2.9) written as the join v0.3 we link."""
    blocks = []
    for block in sdl.replace("https://specs.apollo.dev/join/v0.5", "https://specs.apollo.dev/join/v0.3").strip().split("\n\n"):
        if block.startswith(_JOIN_V05_ONLY):
            continue
        if block.startswith("directive @join__field("):
            block = block.replace(", overrideLabel: String, contextArguments: [join__ContextArgument!])", ")")
        blocks.append(block)
    return "\n\n".join(blocks)


@pytest.mark.parametrize("case", sorted(CASES))
def test_composed_like_apollo(case: str) -> None:
    reference_or_skip()
    subgraphs = [(name, f"http://{name}.example/graphql", sdl) for name, sdl in CASES[case]]
    ours = compose([SubgraphSource(*s) for s in subgraphs])
    Supergraph(ours)  # the router loads it
    assert _as_join_v03(ours) == _as_join_v03(apollo_compose(subgraphs))


def test_directives_reach_the_supergraph() -> None:
    ours = compose([SubgraphSource(name, f"http://{name}", sdl) for name, sdl in CASES["scopes_and_policies"]])
    assert '@requiresScopes(scopes: [["c", "d"], ["a", "b", "e"], ["a", "b", "d"], ["a", "c", "e"]])' in ours
    assert '@policy(policies: [["p", "q"], ["p", "r", "s"]])' in ours
    assert "z: String @authenticated" in ours
    assert "scalar requiresScopes__Scope" in ours and "scalar policy__Policy" in ours
    api = Supergraph(ours).api_schema
    assert api.get_directive("requiresScopes") is None and api.get_type("policy__Policy") is None
