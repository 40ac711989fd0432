"""The cached shaping plans and the precompiled representation projectors (router/response.py,
router/executor.py): what they must keep apart, and that errors still carry full response paths."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Mapping
from typing import Any

import orjson
from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, build_schema, parse
from graphql.execution.values import VariableValues, get_variable_values

from router import response
from router.executor import Executor
from router.plan import LIST_MARK, FetchNode, QueryPlan, SubField, SubSelection
from router.response import ResponseShaper

SCHEMA = build_schema("""
  type Query { people: [Person!]! folks: [Person!] person: Person thing: Thing }
  type Person { uid: ID! name: String nick: String friends: [Person] best: Person! }
  type Robot { serial: ID! }
  union Thing = Person | Robot
""")

DATA: dict[str, Any] = {
    "people": [
        {"__typename": "Person", "uid": "1", "name": "Ann", "nick": "a", "friends": None,
         "best": {"uid": "2", "name": "Bob"}},
        {"__typename": "Person", "uid": "2", "name": "Bob", "nick": "b", "friends": [{"uid": "1", "name": "Ann"}],
         "best": {"uid": "1", "name": "Ann"}},
    ],
}


def _prepare(query: str) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return operation, fragments


def _coerce(operation: OperationDefinitionNode, variables: dict[str, Any]) -> VariableValues:
    coerced = get_variable_values(SCHEMA, operation.variable_definitions or [], variables)
    assert isinstance(coerced, VariableValues), coerced
    return coerced


def _shape(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode], data: dict[str, Any],
    variables: dict[str, Any] | None = None, nulled: frozenset[int] = frozenset(),
) -> tuple[Any, list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []
    shaper = ResponseShaper(SCHEMA, operation, fragments, _coerce(operation, variables or {}), errors, nulled)
    shaped = shaper.shape(data)
    return shaped, errors


def test_skip_and_include_values_each_get_their_own_plan() -> None:
    operation, fragments = _prepare("""
      query ($withName: Boolean!, $noNick: Boolean = false) {
        people { uid name @include(if: $withName) ...F @skip(if: $noNick) }
      }
      fragment F on Person { nick }
    """)
    shapes: dict[tuple[bool, bool], list[str]] = {}
    # each combination twice, interleaved: the second time comes from the cache
    for _ in range(2):
        for with_name in (True, False):
            for no_nick in (False, True):
                shaped, errors = _shape(operation, fragments, DATA, {"withName": with_name, "noNick": no_nick})
                assert errors == []
                keys = list(shaped["people"][0])
                shapes.setdefault((with_name, no_nick), keys)
                assert shapes[(with_name, no_nick)] == keys
    assert shapes == {
        (True, False): ["uid", "name", "nick"],
        (True, True): ["uid", "name"],
        (False, False): ["uid", "nick"],
        (False, True): ["uid"],
    }
    # the variable's default decides when the request leaves it out
    shaped, _ = _shape(operation, fragments, DATA, {"withName": False})
    assert list(shaped["people"][1]) == ["uid", "nick"]


def test_literal_conditions_and_nested_selections() -> None:
    operation, fragments = _prepare("""
      query ($deep: Boolean!) {
        people { uid best { uid name @include(if: $deep) } friends @skip(if: true) { uid } }
      }
    """)
    with_name, _ = _shape(operation, fragments, DATA, {"deep": True})
    without, _ = _shape(operation, fragments, DATA, {"deep": False})
    assert with_name["people"][0] == {"uid": "1", "best": {"uid": "2", "name": "Bob"}}
    assert without["people"][0] == {"uid": "1", "best": {"uid": "2"}}


def test_fields_removed_by_authorization_are_null_only_in_that_request() -> None:
    operation, fragments = _prepare("{ people { uid name best { uid } } person { uid best { uid } } }")
    people = operation.selection_set.selections[0]
    assert isinstance(people, FieldNode) and people.selection_set is not None
    name_node, best_node = people.selection_set.selections[1], people.selection_set.selections[2]
    data = {**DATA, "person": None}

    plain, errors = _shape(operation, fragments, data)
    assert plain["people"][0] == {"uid": "1", "name": "Ann", "best": {"uid": "2"}}
    # a nullable field removed: null, no error of its own
    nulled, errors = _shape(operation, fragments, data, nulled=frozenset({id(name_node)}))
    assert nulled["people"][0] == {"uid": "1", "name": None, "best": {"uid": "2"}} and errors == []
    # a non-null one: the null propagates to the nearest nullable parent (here: the whole data)
    invalid, errors = _shape(operation, fragments, data, nulled=frozenset({id(best_node)}))
    assert invalid is None
    # and the cached plan of the unrestricted request is unchanged
    assert _shape(operation, fragments, data)[0] == plain


def test_null_errors_carry_the_full_response_path() -> None:
    operation, fragments = _prepare("{ folks { uid best { uid } } person { friends { uid } best { uid } } }")
    data = {
        "folks": [{"uid": "1", "best": {"uid": "2"}}, {"uid": "2", "best": None}],
        "person": {"friends": [{"uid": "3"}, None, {"uid": None}], "best": {"uid": "5"}},
    }
    shaped, errors = _shape(operation, fragments, data)
    assert shaped == {"folks": None, "person": {"friends": [{"uid": "3"}, None, None], "best": {"uid": "5"}}}
    assert errors == [
        {"message": "Cannot return null for non-nullable field at folks.1.best.", "path": ["folks", 1, "best"]},
        {"message": "Cannot return null for non-nullable field at person.friends.2.uid.",
         "path": ["person", "friends", 2, "uid"]},
    ]


def test_wrong_shapes_and_unknown_types_are_reported_at_their_paths() -> None:
    operation, fragments = _prepare("{ person { friends { uid } } thing { ... on Robot { serial } } }")
    shaped, errors = _shape(operation, fragments, {"person": {"friends": {"uid": "1"}}, "thing": {"__typename": "Cat"}})
    assert shaped == {"person": {"friends": None}, "thing": None}
    assert errors == [
        {"message": "a subgraph returned a non-list value for a list field", "path": ["person", "friends"]},
        {"message": "a subgraph returned an object of unknown type 'Cat'", "path": ["thing"]},
    ]
    shaped, errors = _shape(operation, fragments, {"person": None, "thing": {"__typename": "Robot", "serial": "r"}})
    assert shaped == {"person": None, "thing": {"serial": "r"}} and errors == []


def test_plans_go_with_their_operation() -> None:
    operation, fragments = _prepare("{ people { uid } }")
    _shape(operation, fragments, DATA)
    key = id(operation)
    assert key in response._PLANS and key in response._WATCHED
    del operation
    gc.collect()
    assert key not in response._PLANS and key not in response._WATCHED


class _Client:
    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = answers
        self.bodies: list[dict[str, Any]] = []

    async def fetch(self, graph: str, body: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        self.bodies.append(orjson.loads(orjson.dumps(body)))
        return dict(self.answers[graph])


def _entity_plan(requires: SubSelection) -> QueryPlan:
    operation, _ = _prepare("{ people { uid } }")
    root_selection = SubSelection()
    root_selection.add(SubField("people", selection=SubSelection()))
    root = FetchNode(id=0, graph="a", parent_type="Query", path=(), entity=False, selection=root_selection,
                     operation="{ people { __typename uid n } }")
    child = FetchNode(id=1, graph="b", parent_type="Person", path=("people", LIST_MARK), entity=True,
                      requires={"Person": requires}, type_filter=frozenset({"Person"}),
                      operation="query { _entities(representations: $representations) { ... on Person { x } } }")
    child.selection.fragment("Person").add(SubField("x"))
    root.children.append(child)
    return QueryPlan("query", operation, [root])


def test_representations_are_deduplicated_by_json_value() -> None:
    requires = SubSelection()
    requires.add_typename()
    requires.add(SubField("uid"))
    people = [
        {"__typename": "Person", "uid": "1"},
        {"__typename": "Person", "uid": 1},  # a number, not the same representation as "1"
        {"uid": "1"},  # no __typename: the same representation as the first
        {"__typename": "Person", "uid": True},
        {"__typename": "Person", "uid": None},  # no key: no representation
        {"__typename": "Person", "uid": 1},
    ]
    client = _Client({
        "a": {"data": {"people": people}},
        "b": {"data": {"_entities": [{"x": "one"}, {"x": 1}, {"x": True}]},
              "errors": [{"message": "boom", "path": ["_entities", 1, "x"]}]},
    })
    result = asyncio.run(Executor(client).execute(_entity_plan(requires), {}, {}))
    assert client.bodies[1]["variables"]["representations"] == [
        {"__typename": "Person", "uid": "1"}, {"__typename": "Person", "uid": 1},
        {"__typename": "Person", "uid": True},
    ]
    assert [p.get("x") for p in result.data["people"]] == ["one", 1, "one", True, None, 1]
    # an entity error maps back to the response path of the first object it stands for
    assert result.errors == [{"message": "boom", "path": ["people", 1, "x"], "extensions": {"serviceName": "b"}}]


def test_nested_representation_shapes_still_project() -> None:
    requires = SubSelection()
    requires.add(SubField("uid"))
    inner = SubSelection()
    inner.add(SubField("code"))
    requires.add(SubField("region", selection=inner))
    people = [
        {"__typename": "Person", "uid": "1", "region": {"code": "a", "name": "A"}},
        {"__typename": "Person", "uid": "1", "region": {"name": "A", "code": "a"}},
        {"__typename": "Person", "uid": "2", "region": None},
    ]
    client = _Client({"a": {"data": {"people": people}}, "b": {"data": {"_entities": [{"x": 1}]}}})
    result = asyncio.run(Executor(client).execute(_entity_plan(requires), {}, {}))
    assert client.bodies[1]["variables"]["representations"] == [
        {"uid": "1", "region": {"code": "a"}, "__typename": "Person"},
    ]
    assert [p.get("x") for p in result.data["people"]] == [1, 1, None]
