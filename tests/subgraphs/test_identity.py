"""identity subgraph: organisations, users, Person.account, paging, errors and batching."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from identity_callers import PROVINCE, SEEDED_ADMIN, caller_of
from sqlalchemy import select
from support import TEST_PERSONS, TEST_SEED, count_statements, errors_of, execute, make_runtime

from db.seed.world import organizations, person
from subgraphs.common.app import Runtime
from subgraphs.common.regions import subtree_prefix
from subgraphs.common.validators import is_valid_uscc
from subgraphs.identity import models
from subgraphs.identity.app import definition
from subgraphs.identity.seed import seed_organizations

PROVINCE_HC = "org-320000-hc"
ADMIN = caller_of(SEEDED_ADMIN, region=PROVINCE, data_scope="ALL")  # the seeded province administrator


@pytest.fixture(scope="module")
async def sqlite_runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Callable[[Any], Any]]:
    """A seeded identity database of this file's own: its tests assert the seeded figures (users per
    organisation, linked persons), which the users and organisations other identity test files add to the
    shared database would change whenever such a file runs first."""
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('identity') / 'graph.db'}")

    async def get(wanted: Any) -> Runtime:
        assert wanted is definition
        return runtime

    yield get
    await runtime.engine.dispose()


async def runtime_of(sqlite_runtime: Any) -> Runtime:
    runtime: Runtime = await sqlite_runtime(definition)
    return runtime






async def linked_person_uids(runtime: Runtime, limit: int) -> list[str]:
    async with runtime.sessions() as session:
        uids = await session.scalars(
            select(models.User.person_uid)
            .where(models.User.person_uid.is_not(None))
            .order_by(models.User.id)
            .limit(limit)
        )
        return [uid for uid in uids if uid is not None]


# --- root fields ---------------------------------------------------------------------------------


async def test_organization_by_id(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(
        runtime,
        """query($id: ID!) { organization(id: $id) {
             id name kind level creditCode region { code } parent { id } userCount
             children { id kind level parent { id } } } }""",
        {"id": PROVINCE_HC},
    )
    org = data["organization"]
    assert org["name"] == "江苏省卫生健康委员会"
    assert (org["kind"], org["level"]) == ("HEALTH_COMMISSION", "PROVINCE")
    assert is_valid_uscc(org["creditCode"])
    assert org["region"] == {"code": "320000"}
    assert org["parent"] is None
    # 1-3 staff accounts of the world, and the development admin.
    assert 2 <= org["userCount"] <= 4
    # The 13 city commissions report to the province, and so do the provincial institutions.
    cities = [c for c in org["children"] if c["level"] == "CITY"]
    assert len(cities) == 13 and {c["kind"] for c in cities} == {"HEALTH_COMMISSION"}
    assert {c["level"] for c in org["children"]} == {"CITY", "PROVINCE"}
    assert all(c["parent"] == {"id": PROVINCE_HC} for c in org["children"])
    assert [c["id"] for c in org["children"]] == sorted(c["id"] for c in org["children"])


async def test_unknown_organization_and_user_are_null(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(runtime, '{ organization(id: "org-nope") { id } user(id: "usr-nope") { id } }',
                         caller=ADMIN)
    assert data == {"organization": None, "user": None}


async def test_organizations_pages_follow_cursors(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    query = """query($after: String) { organizations(first: 7, after: $after) {
                 edges { cursor node { id } }
                 pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    first = (await execute(runtime, query))["organizations"]
    second = (await execute(runtime, query, {"after": first["pageInfo"]["endCursor"]}))["organizations"]
    ids = [e["node"]["id"] for e in first["edges"] + second["edges"]]
    assert len(ids) == 14 and ids == sorted(ids) and len(set(ids)) == 14
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    assert second["pageInfo"]["hasPreviousPage"]
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]


async def test_organizations_in_a_region_subtree(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    world = seed_organizations(TEST_SEED)
    query = """query($code: ID!, $after: String) {
                 organizations(regionCode: $code, first: 100, after: $after) {
                   nodes { id region { code } } pageInfo { hasNextPage endCursor } } }"""
    # 320900 ends in 9: its subtree's upper bound needs a carry (3209 -> 321), not "320:".
    for code in ("320900", "320102", "320102001", "321300"):
        seen: list[str] = []
        after = None
        while True:
            page = (await execute(runtime, query, {"code": code, "after": after}))["organizations"]
            seen += [n["id"] for n in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        prefix = subtree_prefix(code)
        expected = sorted(o.id for o in world if o.region_code.startswith(prefix))
        assert expected and seen == expected, code


async def test_organizations_of_a_kind(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(
        runtime, '{ organizations(kind: HOSPITAL, regionCode: "320100", first: 100) { nodes { kind } } }'
    )
    kinds = {n["kind"] for n in data["organizations"]["nodes"]}
    assert kinds == {"HOSPITAL"}


async def test_users_of_an_organization(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(
        runtime,
        """query($org: ID!) {
             organization(id: $org) { userCount }
             users(organizationId: $org, first: 10) {
               nodes { id username displayName status organization { id } } pageInfo { hasNextPage } } }""",
        {"org": PROVINCE_HC}, caller=ADMIN,
    )
    users = data["users"]["nodes"]
    assert len(users) == data["organization"]["userCount"]
    assert all(u["organization"] == {"id": PROVINCE_HC} for u in users)
    assert all((u["username"].startswith("js_hc_") or u["username"] == "admin") and u["id"] == f"usr-{u['username']}"
               for u in users)
    assert {u["status"] for u in users} <= {"NORMAL", "FROZEN", "CANCELLED"}
    assert not data["users"]["pageInfo"]["hasNextPage"]


async def test_user_by_id_and_users_paging(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    page = await execute(runtime, "{ users(first: 3) { nodes { id } pageInfo { hasNextPage endCursor } } }",
                         caller=ADMIN)
    nodes = page["users"]["nodes"]
    assert len(nodes) == 3 and page["users"]["pageInfo"]["hasNextPage"]
    nxt = await execute(
        runtime, "query($a: String) { users(first: 3, after: $a) { nodes { id } } }",
        {"a": page["users"]["pageInfo"]["endCursor"]}, caller=ADMIN,
    )
    assert nxt["users"]["nodes"][0]["id"] > nodes[-1]["id"]
    one = await execute(
        runtime, "query($id: ID!) { user(id: $id) { id organization { name } } }", {"id": nodes[0]["id"]},
        caller=ADMIN,
    )
    assert one["user"]["id"] == nodes[0]["id"] and one["user"]["organization"]["name"]


# --- errors --------------------------------------------------------------------------------------


async def test_bad_paging_input(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    for query in (
        "{ organizations(first: 101) { nodes { id } } }",
        "{ organizations(first: -1) { nodes { id } } }",
        '{ organizations(after: "not a cursor!") { nodes { id } } }',
        '{ users(after: "WzEsMl0") { nodes { id } } }',  # a well-formed cursor of the wrong width
    ):
        errors = await errors_of(runtime, query, caller=ADMIN)
        assert errors[0].extensions["code"] == "BAD_USER_INPUT", query


async def test_bad_filters(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    for query, argument in (
        ('{ organizations(regionCode: "32ab00") { nodes { id } } }', "regionCode"),
        ('{ organizations(regionCode: "3201") { nodes { id } } }', "regionCode"),
        ('{ users(organizationId: "org-nope") { nodes { id } } }', "organizationId"),
    ):
        errors = await errors_of(runtime, query, caller=ADMIN)
        assert errors[0].extensions == {"code": "BAD_USER_INPUT", "argument": argument}, query


# --- federation ----------------------------------------------------------------------------------

ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { %s } }"


async def test_entities_organization_and_user(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(
        runtime,
        ENTITIES % "... on Organization { id name } ... on User { id username organization { id } }",
        {"r": [
            {"__typename": "Organization", "id": PROVINCE_HC},
            {"__typename": "User", "id": "usr-js_hc_01"},
            {"__typename": "Organization", "id": "org-nope"},
        ]},
    )
    org, user, missing = data["_entities"]
    assert org == {"id": PROVINCE_HC, "name": "江苏省卫生健康委员会"}
    assert user == {"id": "usr-js_hc_01", "username": "js_hc_01", "organization": {"id": PROVINCE_HC}}
    assert missing is None


async def test_entities_person_account(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    [uid] = await linked_person_uids(runtime, 1)
    data = await execute(
        runtime,
        ENTITIES % "... on Person { uid account { username organization { name } } }",
        {"r": [{"__typename": "Person", "uid": uid}, {"__typename": "Person", "uid": "R-nobody"}]},
    )
    linked, unlinked = data["_entities"]
    assert linked["uid"] == uid
    assert linked["account"]["username"] and linked["account"]["organization"]["name"]
    assert unlinked == {"uid": "R-nobody", "account": None}


async def test_sdl_declares_region_stub_and_person_extension(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    sdl = (await execute(runtime, "{ _service { sdl } }"))["_service"]["sdl"]
    assert 'type Region @key(fields: "code", resolvable: false)' in sdl
    assert 'type Person @key(fields: "uid")' in sdl
    assert 'type Organization @key(fields: "id")' in sdl


async def test_person_accounts_are_batched(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    uids = await linked_person_uids(runtime, 30)
    assert len(uids) == 30
    query = ENTITIES % "... on Person { account { username organization { name } } }"
    counts = []
    for size in (3, 30):
        with count_statements(runtime) as statements:
            representations = [{"__typename": "Person", "uid": u} for u in uids[:size]]
            data = await execute(runtime, query, {"r": representations})
        assert all(e["account"]["organization"]["name"] for e in data["_entities"])
        counts.append(len(statements))
    # One statement for the accounts, one for their organisations, however many persons.
    assert counts[0] == counts[1] == 2, counts
    with count_statements(runtime) as statements:
        representations = [{"__typename": "Person", "uid": u} for u in uids[:20]]
        await execute(runtime, ENTITIES % "... on Person { account { id } }", {"r": representations})
    assert len(statements) == 1, statements


async def test_organization_children_and_counts_are_batched(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    ids = [o.id for o in organizations(TEST_SEED) if o.level == "CITY"][:30]
    query = ENTITIES % "... on Organization { userCount parent { id } children { id } }"
    counts = []
    for size in (3, 30):
        with count_statements(runtime) as statements:
            representations = [{"__typename": "Organization", "id": i} for i in ids[:size]]
            await execute(runtime, query, {"r": representations})
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


# --- seed ----------------------------------------------------------------------------------------


async def test_seed_links_only_seeded_persons(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    async with runtime.sessions() as session:
        linked = set((await session.scalars(
            select(models.User.person_uid).where(models.User.person_uid.is_not(None))
        )).all())
        codes = (await session.scalars(select(models.Organization.credit_code))).all()
    seeded = {person(TEST_SEED, i).uid for i in range(TEST_PERSONS)}
    assert linked and linked <= seeded
    assert len(codes) == len(seed_organizations(TEST_SEED)) and all(is_valid_uscc(c) for c in codes)
