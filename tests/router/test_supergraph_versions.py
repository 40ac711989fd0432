"""Supergraphs from other composers and older specs: Federation 1 (join v0.1 under @core), and the
join v0.4/v0.5 additions (progressive override labels, join__directive)."""

from __future__ import annotations

from collections.abc import Mapping
from random import Random
from typing import Any

from graphql import parse, print_schema

from router.gateway import Gateway, GraphQLRequest
from router.planner import QueryPlanner
from router.supergraph import Supergraph

FEDERATION_1 = '''
schema
  @core(feature: "https://specs.apollo.dev/core/v0.1")
  @core(feature: "https://specs.apollo.dev/join/v0.1")
{
  query: Query
}

directive @core(feature: String!) repeatable on SCHEMA
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet) on FIELD_DEFINITION
directive @join__type(graph: join__Graph!, key: join__FieldSet) repeatable on OBJECT | INTERFACE
directive @join__owner(graph: join__Graph!) on OBJECT | INTERFACE
directive @join__graph(name: String!, url: String!) on ENUM_VALUE

scalar join__FieldSet

enum join__Graph {
  ACCOUNTS @join__graph(name: "accounts" url: "http://accounts/graphql")
  REVIEWS @join__graph(name: "reviews" url: "http://reviews/graphql")
}

type Query {
  me: User @join__field(graph: ACCOUNTS)
  latest: [Review] @join__field(graph: REVIEWS)
}

type Review {
  body: String
  author: User @join__field(graph: REVIEWS, provides: "username")
}

type User
  @join__owner(graph: ACCOUNTS)
  @join__type(graph: ACCOUNTS, key: "id")
  @join__type(graph: REVIEWS, key: "id")
{
  id: ID! @join__field(graph: ACCOUNTS)
  username: String @join__field(graph: ACCOUNTS)
  email: String
  reviews: [Review] @join__field(graph: REVIEWS)
}
'''


class Scripted:
    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str]] = []

    async def fetch(self, graph: str, body: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        self.calls.append((graph, body["query"]))
        answer = self.answers[graph]
        return answer(body) if callable(answer) else answer  # type: ignore[no-any-return]


def test_federation_1_supergraph_loads_with_its_api_schema() -> None:
    supergraph = Supergraph(FEDERATION_1)
    assert supergraph.join_version == "0.1"
    printed = print_schema(supergraph.api_schema)
    assert "join__" not in printed and "@core" not in printed
    user = supergraph.types["User"]
    # Fields without @join__field belong to the owner in Federation 1, not to every graph.
    assert user.resolving_graphs("email") == ["accounts"]
    assert supergraph.types["Review"].resolving_graphs("body") == ["accounts", "reviews"]


async def test_federation_1_supergraph_plans_and_executes() -> None:
    supergraph = Supergraph(FEDERATION_1)
    plan = QueryPlanner(supergraph).plan(parse("{ me { username reviews { body } } }"))
    assert [n.graph for n in plan.nodes()] == ["accounts", "reviews"]
    client = Scripted({
        "accounts": {"data": {"me": {"__typename": "User", "id": "1", "username": "ada"}}},
        "reviews": {"data": {"_entities": [{"reviews": [{"body": "fine"}]}]}},
    })
    response = await Gateway(supergraph, client).run(GraphQLRequest("{ me { username reviews { body } } }"), {})
    assert response.body == {"data": {"me": {"username": "ada", "reviews": [{"body": "fine"}]}}}


def test_federation_1_provides_avoids_a_fetch() -> None:
    plan = QueryPlanner(Supergraph(FEDERATION_1)).plan(parse("{ latest { body author { username } } }"))
    assert [n.graph for n in plan.nodes()] == ["reviews"]


PROGRESSIVE = '''
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.4", for: EXECUTION)
{
  query: Query
}

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, \
external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String) repeatable on FIELD_DEFINITION \
| INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! \
= true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__directive(graphs: [join__Graph!], name: String!, args: join__DirectiveArguments) repeatable on \
SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA

scalar join__DirectiveArguments
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }

enum join__Graph {
  A @join__graph(name: "a", url: "http://a/graphql")
  B @join__graph(name: "b", url: "http://b/graphql")
}

type Query @join__type(graph: A) @join__type(graph: B) {
  user: User @join__field(graph: A)
}

type User @join__type(graph: A, key: "id") @join__type(graph: B, key: "id") {
  id: ID!
  name: String @join__field(graph: A, overrideLabel: "percent(50)") \
@join__field(graph: B, override: "a", overrideLabel: "percent(50)")
}
'''


def test_progressive_override_is_decided_per_request() -> None:
    supergraph = Supergraph(PROGRESSIVE)
    assert supergraph.override_labels == {"percent(50)"}
    gateway = Gateway(supergraph, Scripted({}), random=Random(7))
    draws = [gateway.draw_labels() for _ in range(400)]
    on = sum(1 for labels in draws if "percent(50)" in labels)
    assert 150 < on < 250
    planner = QueryPlanner(supergraph)
    document = parse("{ user { name } }")
    assert [n.graph for n in planner.plan(document).nodes()] == ["a"]
    assert [n.graph for n in planner.plan(document, labels=frozenset({"percent(50)"})).nodes()] == ["a", "b"]


async def test_plans_are_cached_per_label_set() -> None:
    supergraph = Supergraph(PROGRESSIVE)
    gateway = Gateway(supergraph, Scripted({}))
    off = gateway.prepare("{ user { name } }", None, frozenset())
    on = gateway.prepare("{ user { name } }", None, frozenset({"percent(50)"}))
    assert off is gateway.prepare("{ user { name } }", None, frozenset())
    assert off is not on


def test_one_plan_for_one_operation_however_it_is_written() -> None:
    gateway = Gateway(Supergraph(PROGRESSIVE), Scripted({}))
    first = gateway.prepare("{ user { name } }", None)
    second = gateway.prepare("# the same\n{\n  user {\n    name\n  }\n}", None)
    assert not isinstance(first, type(None)) and first is second


def test_inaccessible_union_members_and_interfaces_leave_the_api_schema() -> None:
    from router.compose import SubgraphSource, compose

    link = ('extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", '
            'import: ["@key", "@inaccessible", "@shareable"])\n')
    sdl = compose([SubgraphSource("a", "http://a/graphql", link + """
        type Query { hits: [Hit] node: Node }
        union Hit = Page | Secret
        interface Node { id: ID! }
        interface Hidden @inaccessible { id: ID! }
        type Page implements Node & Hidden { id: ID! }
        type Secret @inaccessible { id: ID! }
    """)])
    printed = print_schema(Supergraph(sdl).api_schema)
    assert "union Hit = Page\n" in printed
    assert "type Page implements Node {" in printed
    assert "Secret" not in printed and "Hidden" not in printed
