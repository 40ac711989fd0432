"""security subgraph: internet assets, Organization.assets, paging, errors and batching."""

from __future__ import annotations

import ipaddress
from collections import Counter
from typing import Any

from sqlalchemy import select
from support import TEST_SEED, count_statements, errors_of, execute

from db.seed.world import organizations
from subgraphs.common.app import Runtime
from subgraphs.security import models
from subgraphs.security.app import definition
from subgraphs.security.seed import world_assets

ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { %s } }"


async def runtime_of(sqlite_runtime: Any) -> Runtime:
    runtime: Runtime = await sqlite_runtime(definition)
    return runtime






async def test_asset_by_id(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(
        runtime,
        '{ asset(id: "ast-320000-hc-domain") { id kind host name status owner { id assets { id } } } }',
    )
    asset = data["asset"]
    assert asset["kind"] == "DOMAIN" and asset["host"].endswith(".gov.cn")
    assert asset["name"] == "江苏省卫生健康委员会门户网站"
    assert asset["owner"]["id"] == "org-320000-hc"
    assert {"id": "ast-320000-hc-domain"} in asset["owner"]["assets"]
    assert (await execute(runtime, '{ asset(id: "ast-nope") { id } }')) == {"asset": None}


async def test_assets_pages_follow_cursors(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    query = """query($after: String) { assets(first: 5, after: $after) {
                 edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    first = (await execute(runtime, query))["assets"]
    second = (await execute(runtime, query, {"after": first["pageInfo"]["endCursor"]}))["assets"]
    ids = [e["node"]["id"] for e in first["edges"] + second["edges"]]
    assert len(ids) == 10 and ids == sorted(ids) and len(set(ids)) == 10
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    assert second["pageInfo"]["hasPreviousPage"]


async def test_assets_filtered_by_owner_and_status(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    expected = world_assets(TEST_SEED)
    owner = "org-320100-h1"
    data = await execute(
        runtime,
        """query($o: ID!) {
             assets(ownerId: $o, first: 10) { nodes { id owner { id } } pageInfo { hasNextPage } } }""",
        {"o": owner},
    )
    nodes = data["assets"]["nodes"]
    assert [n["id"] for n in nodes] == sorted(a.id for a in expected if a.owner_id == owner)
    assert not data["assets"]["pageInfo"]["hasNextPage"]

    scrapped = await execute(runtime, "{ assets(status: SCRAPPED, first: 100) { nodes { status } } }")
    statuses = {n["status"] for n in scrapped["assets"]["nodes"]}
    assert statuses == {"SCRAPPED"}


async def test_bad_paging_input(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    for query in (
        "{ assets(first: 101) { nodes { id } } }",
        '{ assets(after: "%%%") { nodes { id } } }',
    ):
        errors = await errors_of(runtime, query)
        assert errors[0].extensions["code"] == "BAD_USER_INPUT", query
    errors = await errors_of(runtime, "{ assets(status: BROKEN) { nodes { id } } }")
    assert "BROKEN" in errors[0].message


async def test_entities_asset_and_organization_stub(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(
        runtime,
        ENTITIES % "... on Asset { id host owner { id } } ... on Organization { id assets { id kind } }",
        {"r": [
            {"__typename": "Asset", "id": "ast-320000-hc-domain"},
            {"__typename": "Organization", "id": "org-320100-h1"},
            {"__typename": "Organization", "id": "org-nope"},
            {"__typename": "Asset", "id": "ast-nope"},
        ]},
    )
    asset, org, unknown_org, missing = data["_entities"]
    assert asset["owner"] == {"id": "org-320000-hc"}
    assert org["id"] == "org-320100-h1"
    assert [a["id"] for a in org["assets"]] == sorted(
        a.id for a in world_assets(TEST_SEED) if a.owner_id == "org-320100-h1"
    )
    assert unknown_org == {"id": "org-nope", "assets": []}
    assert missing is None


async def test_organization_assets_are_batched(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    ids = [o.id for o in organizations(TEST_SEED)][:30]
    query = ENTITIES % "... on Organization { id assets { id host status owner { id } } }"
    counts = []
    for size in (3, 30):
        with count_statements(runtime) as statements:
            representations = [{"__typename": "Organization", "id": i} for i in ids[:size]]
            data = await execute(runtime, query, {"r": representations})
        assert all(e["assets"] for e in data["_entities"])
        counts.append(len(statements))
    assert counts == [1, 1], counts


async def test_sdl_extends_organization(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    sdl = (await execute(runtime, "{ _service { sdl } }"))["_service"]["sdl"]
    assert 'type Organization @key(fields: "id")' in sdl
    assert 'type Asset @key(fields: "id")' in sdl


async def test_seeded_assets(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(models.Asset))).all()
    per_owner = Counter(r.owner_id for r in rows)
    assert set(per_owner) == {o.id for o in organizations(TEST_SEED)}
    assert set(per_owner.values()) <= {1, 2, 3, 4}
    assert len({r.host for r in rows}) == len(rows)
    statuses = Counter(r.status for r in rows)
    assert statuses["IN_USE"] > len(rows) * 0.75
    for row in rows:
        if row.kind in ("IP", "SERVER", "TERMINAL"):
            address = ipaddress.ip_address(row.host)
            assert address in ipaddress.ip_network("10.0.0.0/8") or address in ipaddress.ip_network(
                "2001:db8::/32"
            ), row.host
        else:
            assert row.host.endswith((".js.cn", ".js.gov.cn")), row.host
    # Deterministic in the seed: the same world gives the same register.
    assert sorted((r.id, r.host, r.status) for r in rows) == sorted(
        (a.id, a.host, a.status) for a in world_assets(TEST_SEED)
    )
