"""The stack mode end to end: each subgraph and the router as its own process on loopback ports,
PostgreSQL (one schema per subgraph), Redis as the bus; real HTTP between the processes. Its answers
must equal the embedded mode's, to the byte, on the same synthetic world."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from slice import LIST_QUERY, SLICE_QUERY, check_slice, slice_people
from support import TEST_PERSONS, TEST_SEED, create_pg_database, drop_pg_database, require_redis

from subgraphs.common.app import SeedOptions
from subgraphs.launch import setup_databases, start_stack, stop_stack
from subgraphs.registry import SUBGRAPHS

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture(scope="module")
async def stack() -> AsyncIterator[str]:
    redis_url = await require_redis()
    url = await create_pg_database("jshealth_stack")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        await setup_databases(url, SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS), log=False)
        router_port, *ports = free_ports(1 + len(SUBGRAPHS))
        processes = start_stack(url, redis_url, router_port=router_port,
                                ports={e.name: p for e, p in zip(SUBGRAPHS, ports, strict=True)})
        yield f"http://127.0.0.1:{router_port}"
    finally:
        stop_stack(processes)
        await drop_pg_database(url)


@pytest.fixture
def http(stack: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack, timeout=30) as client:
        yield client


def post(client: httpx.Client | httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    return client.post("/graphql", json={"query": query, "variables": variables})


async def test_stack_answers_the_slice_like_the_embedded_mode(
    http: httpx.Client, client: httpx.AsyncClient
) -> None:
    for uid in slice_people(TEST_SEED, TEST_PERSONS).values():
        over_http = post(http, SLICE_QUERY, {"uid": uid})
        assert over_http.status_code == 200
        check_slice(TEST_SEED, uid, over_http.json())
        embedded = await post(client, SLICE_QUERY, {"uid": uid})
        assert over_http.content == embedded.content


async def test_stack_answers_the_list_query_like_the_embedded_mode(
    http: httpx.Client, client: httpx.AsyncClient
) -> None:
    for variables in ({}, {"region": "320500", "first": 50}):
        over_http = post(http, LIST_QUERY, variables)
        assert over_http.status_code == 200 and "errors" not in over_http.json()
        embedded = await post(client, LIST_QUERY, variables)
        assert over_http.content == embedded.content


def test_stack_health_lists_every_subgraph(http: httpx.Client) -> None:
    assert http.get("/health").json()["subgraphs"] == sorted(e.name for e in SUBGRAPHS)


def test_stack_router_reads_identitys_lists_with_a_caller_token(http: httpx.Client) -> None:
    # identity answers /security/ip-blacklist and /security/revoked-tokens only to the router (caller
    # token); the router loaded both.
    health = http.get("/health").json()
    assert health["ip_blacklist"] == {"entries": 0, "loaded": True, "error": None}
    assert health["revocation"] == {"entries": 0, "loaded": True, "error": None}
