"""The federation fixture cases (tests/federation/fixtures/*.py) through our composer and router.

Each case is composed with router.compose, its fixture subgraphs are served over HTTP, and every operation
runs through Gateway + HttpSubgraphClient. The expected data in the fixtures is the oracle (worked out
by hand, and checked against Apollo's gateway where that gateway is right); `max_subgraph_calls` is what
a good plan needs. What our router gets wrong today is marked xfail (not strict) with the observed
answer, so a fix shows up as XPASS.

The fixture subgraphs themselves are checked first, directly: `_service`, and `_entities` for every
entity type of every subgraph.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fixture_cases import CASES, Served, ordered
from fixture_subgraphs import entity_query

from router.gateway import Gateway, GraphQLRequest
from router.supergraph import Supergraph
from router.transport import HttpSubgraphClient

# What our router gets wrong today (case, operation) -> the observed wrong answer. Not strict: a fix
# turns the test into XPASS, and the entry should then go.
KNOWN_FAILURES: dict[tuple[str, str], str] = {
}


def _operation_params() -> Iterator[Any]:
    for case in CASES.values():
        for name in case.operations:
            marks = []
            if case.problem is not None:
                marks.append(pytest.mark.xfail(strict=False, reason=case.problem))
            elif (case.name, name) in KNOWN_FAILURES:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[case.name, name]))
            yield pytest.param(case.name, name, id=f"{case.name}-{name}", marks=marks)


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    holder = Served()
    yield holder
    holder.close()


# the fixture subgraphs, asked directly ------------------------------------------------------------

def _subgraph_params() -> Iterator[Any]:
    for case in CASES.values():
        for subgraph in case.subgraphs:
            yield pytest.param(case.name, subgraph.name, id=f"{case.name}-{subgraph.name}")


@pytest.mark.parametrize(("case_name", "subgraph_name"), list(_subgraph_params()))
async def test_fixture_subgraph_answers_service_and_entities(
    case_name: str, subgraph_name: str, served: Served
) -> None:
    case = CASES[case_name]
    subgraph = next(s for s in case.subgraphs if s.name == subgraph_name)
    url = served.urls_for(case)[subgraph_name]
    case.reset()
    covered = {e.representation["__typename"] for e in subgraph.entity_examples}
    concrete = {e.expected.get("__typename", e.representation["__typename"]) for e in subgraph.entity_examples}
    assert set(subgraph.entity_types) <= covered | concrete, (
        f"entity types without an example: {sorted(set(subgraph.entity_types) - covered - concrete)}"
    )
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(url, json={"query": "{ _service { sdl } }"})
        assert response.status_code == 200
        assert response.json() == {"data": {"_service": {"sdl": subgraph.sdl}}}
        for example in subgraph.entity_examples:
            typename = example.representation["__typename"]
            body = (await client.post(url, json={
                "query": entity_query(typename, example.selection),
                "variables": {"representations": [example.representation]},
            })).json()
            assert "errors" not in body, body
            expected = {"__typename": typename, **example.expected}
            assert body["data"]["_entities"] == [expected]
    assert len(subgraph.requests) == 1 + len(subgraph.entity_examples)
    case.reset()


async def test_fixture_subgraph_failure_switches(served: Served) -> None:
    case = CASES["errors"]
    subgraph = next(s for s in case.subgraphs if s.name == "inventory")
    url = served.urls_for(case)["inventory"]
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            subgraph.down = "503"
            assert (await client.post(url, json={"query": "{ warehouseHealth }"})).status_code == 503
            subgraph.down = "close"
            with pytest.raises(httpx.HTTPError):
                await client.post(url, json={"query": "{ warehouseHealth }"})
            subgraph.down = None
            subgraph.delay = 0.05
            body = (await client.post(url, json={"query": "{ warehouseHealth }"})).json()
            assert body == {"data": {"warehouseHealth": "ok"}}
        assert [r["query"] for r in subgraph.requests] == ["{ warehouseHealth }"] * 3
    finally:
        case.reset()


# the cases through our composer and router ---------------------------------------------------------

@pytest.mark.parametrize(("case_name", "operation_name"), list(_operation_params()))
async def test_operation_through_router(case_name: str, operation_name: str, served: Served) -> None:
    case = CASES[case_name]
    operation = case.operations[operation_name]
    if case.supergraph_sdl is None:
        pytest.fail(case.problem or "no supergraph")
    supergraph = Supergraph(case.supergraph_sdl)
    urls = served.urls_for(case)
    case.reset(operation)
    client = HttpSubgraphClient(urls, timeout_seconds=10.0)
    try:
        response = await Gateway(supergraph, client).run(
            GraphQLRequest(operation.query, dict(operation.variables) if operation.variables else None), {}
        )
    finally:
        await client.close()
        calls = case.calls()
        case.reset()
    body = response.body
    errors = body.get("errors") or []
    assert body.get("data") == operation.expected_data, f"errors: {errors}"
    assert ordered(body.get("data")) == ordered(operation.expected_data), "response keys out of order"
    assert bool(errors) == operation.expect_errors, f"errors: {errors}"
    paths = [tuple(e["path"]) for e in errors if isinstance(e.get("path"), list)]
    for path in operation.error_paths:
        assert path in paths, f"no error at {list(path)}; errors: {errors}"
    assert sum(calls.values()) <= operation.max_subgraph_calls, (
        f"{sum(calls.values())} subgraph calls {calls}, a good plan needs {operation.max_subgraph_calls}"
    )
