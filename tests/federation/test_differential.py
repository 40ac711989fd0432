"""Differential tests: every fixture case through our router and through Apollo's gateway (each on its
own composer's supergraph, against the same fixture subgraphs served over HTTP): the hand-written
operations and operations generated at random over the API schema must give equal `data` and errors
in the same responses.

The mutation case is left out (its subgraphs keep state, so running each operation twice through two
gateways would compare different worlds); its order is proven in test_fixture_cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fixture_cases import CASES, Case, Served, ordered
from hypothesis import HealthCheck, given, settings
from operation_generator import operations
from reference_gateway import (
    ApolloCompositionError,
    ReferenceGateway,
    apollo_compose,
    reference_or_skip,
    with_subgraph_urls,
)

from router.gateway import Gateway, GraphQLRequest
from router.supergraph import Supergraph
from router.transport import HttpSubgraphClient

COMPARED = [name for name in CASES if name != "mutations"]
GENERATED_PER_CASE = 30

# Operations whose answers differ for a reason that is Apollo's, not ours: (case, operation) -> reason.
REFERENCE_DISAGREES: dict[tuple[str, str], str] = {
    ("requires", "required_field_also_asked_with_other_arguments"):
        "Apollo's gateway sends the client's weight(unit: GRAM) as the @requires field instead of the required "
        "weight(unit: KILOGRAM) and computes shippingCost 3005 instead of 9 (apollographql/federation#2996)",
}


class Pair:
    """One case served, with Apollo's gateway and our router in front of the same subgraphs."""

    def __init__(self, case: Case, served: Served) -> None:
        self.case = case
        self.urls = served.urls_for(case)
        sources = [(s.name, self.urls[s.name], s.sdl) for s in case.subgraphs]
        self.apollo_sdl = apollo_compose(sources)
        self.reference = ReferenceGateway(with_subgraph_urls(self.apollo_sdl, self.urls))
        self.reference.start()
        assert case.supergraph_sdl is not None, case.problem
        self.supergraph = Supergraph(case.supergraph_sdl)
        self.client = HttpSubgraphClient(self.urls)
        self.ours = Gateway(self.supergraph, self.client)

    async def both(self, query: str, variables: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        ours = (await self.ours.run(GraphQLRequest(query, variables), {})).body
        theirs = await self.reference.query(query, variables)
        return ours, theirs

    async def close(self) -> None:
        self.reference.stop()
        await self.client.close()


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    holder = Served()
    yield holder
    holder.close()


@pytest.fixture(scope="module")
async def pairs(served: Served) -> Any:
    reference_or_skip()
    opened: dict[str, Pair] = {}

    async def get(name: str) -> Pair:
        if name not in opened:
            for other in list(opened):
                await opened.pop(other).close()
            opened[name] = Pair(CASES[name], served)
        return opened[name]

    yield get
    for pair in opened.values():
        await pair.close()


def apollo_answered_nothing(theirs: dict[str, Any]) -> bool:
    """`{"data": null}` without an error is never a correct GraphQL answer to a valid query: Apollo's
    gateway gives it for some operations on @interfaceObject types (type conditions on the concrete
    types beside interface-object fields); those are counted and reported, not held against us."""
    return theirs.get("data") is None and "errors" not in theirs


def apollo_bug_2996(case_name: str, text: str) -> bool:
    """Apollo's gateway merges the client's `weight` with the @requires field `weight(unit: KILOGRAM)`:
    it then computes costs from grams or fails validation (apollographql/federation#2996)."""
    return case_name == "requires" and re.search(r"\bweight\b(?!\s*\()", text) is not None and (
        "shippingCost" in text or "deliveryDays" in text)


def agree(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    return ordered(ours.get("data")) == ordered(theirs.get("data")) and ("errors" in ours) == ("errors" in theirs)


def _listed() -> Iterator[Any]:
    for name in COMPARED:
        case = CASES[name]
        for operation in case.operations:
            marks = []
            if case.problem is not None:
                marks.append(pytest.mark.xfail(strict=False, reason=case.problem))
            elif (name, operation) in REFERENCE_DISAGREES:
                marks.append(pytest.mark.xfail(strict=True, reason=REFERENCE_DISAGREES[name, operation]))
            yield pytest.param(name, operation, id=f"{name}-{operation}", marks=marks)


@pytest.mark.parametrize(("case_name", "operation_name"), list(_listed()))
async def test_listed_operation_agrees_with_apollo(case_name: str, operation_name: str, pairs: Any) -> None:
    try:
        pair: Pair = await pairs(case_name)
    except ApolloCompositionError as exc:
        pytest.fail(f"Apollo rejects a fixture case: {exc}")
    operation = pair.case.operations[operation_name]
    pair.case.reset(operation)
    try:
        ours, theirs = await pair.both(operation.query, dict(operation.variables or {}) or None)
    finally:
        pair.case.reset()
    assert agree(ours, theirs), {"ours": ours, "apollo": theirs}


def generated(schema: Any, count: int) -> list[str]:
    """`count` random valid operations over `schema`, the same ones on every run."""
    found: list[str] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(operations(schema))
    def collect(text: str) -> None:
        found.append(text)

    collect()
    return found


@pytest.mark.parametrize("case_name", [n for n in COMPARED if CASES[n].problem is None])
async def test_generated_operations_agree_with_apollo(case_name: str, pairs: Any) -> None:
    pair: Pair = await pairs(case_name)
    pair.case.reset()
    disagreements = []
    reference_failures = []
    texts = generated(pair.supergraph.api_schema, GENERATED_PER_CASE)
    for text in texts:
        ours, theirs = await pair.both(text)
        if agree(ours, theirs):
            continue
        if "errors" not in ours and (apollo_answered_nothing(theirs) or apollo_bug_2996(case_name, text)):
            reference_failures.append(text)
        else:
            disagreements.append({"operation": text, "ours": ours, "apollo": theirs})
    print(f"{case_name}: {len(texts) - len(disagreements) - len(reference_failures)} of {len(texts)} generated "
          f"operations agree; {len(reference_failures)} differ by Apollo's known faults")
    assert not disagreements, disagreements[:3]
