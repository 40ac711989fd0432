"""The vertical slice end to end in the embedded mode: one process, SQLite, the router calling the
five subgraphs in-process through their ASGI apps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from slice import LIST_QUERY, SLICE_QUERY, check_slice, slice_people
from sqlalchemy import event
from starlette.applications import Starlette
from support import TEST_PERSONS, TEST_SEED

from subgraphs.common.app import Runtime


async def graphql(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize("case", ["account_and_licence", "account_and_applications", "licence_and_applications"])
async def test_the_slice_reaches_all_five_subgraphs(client: httpx.AsyncClient, case: str) -> None:
    uid = slice_people(TEST_SEED, TEST_PERSONS)[case]
    answer = await graphql(client, SLICE_QUERY, {"uid": uid})
    check_slice(TEST_SEED, uid, answer)
    found = answer["data"]["person"]
    if "account" in case:
        assert found["account"] is not None and found["account"]["organization"]["assets"]
    if "licence" in case:
        assert found["licences"]
    if "applications" in case:
        assert found["applications"]["edges"]


async def test_unknown_person_is_null_not_an_error(client: httpx.AsyncClient) -> None:
    answer = await graphql(client, SLICE_QUERY, {"uid": "P00000000000000000000"})
    assert answer == {"data": {"person": None}}


@contextmanager
def counting(runtimes: dict[str, Runtime]) -> Iterator[dict[str, int]]:
    counts = dict.fromkeys(runtimes, 0)
    listeners = []
    for name, runtime in runtimes.items():
        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any, _name: str = name) -> None:
            # The outbox relays poll on their own schedule; only the request's statements count.
            if "outbox" not in statement:
                counts[_name] += 1

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
        listeners.append((runtime.engine.sync_engine, count))
    try:
        yield counts
    finally:
        for engine, listener in listeners:
            event.remove(engine, "before_cursor_execute", listener)


async def test_list_query_batches_each_subgraph_once_whatever_the_page_size(
    client: httpx.AsyncClient, embedded_app: Starlette
) -> None:
    runtimes: dict[str, Runtime] = embedded_app.state.runtimes
    gateway = embedded_app.state.gateway
    statements: dict[int, dict[str, int]] = {}
    fetches: dict[int, int] = {}
    for first in (2, 20, 60):
        response = gateway.prepare(LIST_QUERY, None)
        plan_fetches = sum(1 for root in response.plan.roots for _ in root.walk())
        with counting(runtimes) as counts:
            # The whole city of Suzhou: the test world is small, and the page must be full.
            answer = await graphql(client, LIST_QUERY, {"region": "320500", "first": first})
        assert "errors" not in answer, answer["errors"]
        assert len(answer["data"]["persons"]["edges"]) == first
        statements[first] = dict(counts)
        fetches[first] = plan_fetches
    # population, then identity / licences / services for the persons, then security for the
    # organisations: one subgraph call each, and SQL statements independent of the page size.
    assert fetches == {2: 5, 20: 5, 60: 5}
    # (A page with no applicant skips the catalogue lookup, so the smallest page may use fewer.)
    assert statements[20] == statements[60], statements
    assert all(statements[2][name] <= statements[60][name] for name in runtimes), statements
    assert sum(statements[60].values()) <= 12


async def test_the_list_query_of_a_county(client: httpx.AsyncClient) -> None:
    answer = await graphql(client, LIST_QUERY)
    edges = answer["data"]["persons"]["edges"]
    assert edges and all(e["node"]["managementRegion"]["code"].startswith("320505") for e in edges)
    # In the order of the index that selects the region: management region, then uid.
    keys = [(e["node"]["managementRegion"]["code"], e["node"]["uid"]) for e in edges]
    assert keys == sorted(keys)


async def test_graphiql_is_served_to_browsers_and_health_answers(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    health = await client.get("/health")
    assert health.json() == {"status": "ok", "subgraphs": dict.fromkeys(
        ["identity", "population", "licences", "services", "security"], True)}


async def test_each_subgraph_answers_on_its_own_endpoint(client: httpx.AsyncClient) -> None:
    for name in ("identity", "population", "licences", "services", "security"):
        response = await client.post(f"/subgraphs/{name}/graphql", json={"query": "{ _service { sdl } }"})
        assert response.status_code == 200
        assert "@key" in response.json()["data"]["_service"]["sdl"]


async def test_queries_work_over_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": '{ region(code: "320000") { name } }'})
    assert response.json() == {"data": {"region": {"name": "江苏省"}}}


async def test_invalid_operations_are_reported_before_any_subgraph_call(client: httpx.AsyncClient) -> None:
    answer = await graphql(client, "{ person(uid: 1) { nope } }")
    assert answer["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    strict = await client.post("/graphql", json={"query": "{ nope }"},
                               headers={"accept": "application/graphql-response+json"})
    assert strict.status_code == 400
