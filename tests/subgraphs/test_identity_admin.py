"""identity's administration API: users (encrypted at rest, immutable username, status with a reason,
password reset, search), organisations (tree rules, delete refusals, merge), roles and permissions, and
the effective data scope.

These tests change data, so they run on their own freshly seeded database, with a master key of their own.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from identity_callers import caller_of
from sqlalchemy import insert, select
from support import TEST_PERSONS, TEST_SEED, create_pg_database, drop_pg_database, make_runtime

from db.config import domain_url
from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.identity import models
from subgraphs.identity.app import definition
from subgraphs.identity.domain.access import effective_data_scope
from subgraphs.identity.domain.personal import cipher_of, use_master_key
from subgraphs.identity.security.crypto import MasterKey
from subgraphs.identity.security.hashing import verify_password

ADMIN = "usr-admin"
PROVINCE_HC = "org-320000-hc"
SUZHOU_HC = "org-320500-hc"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def runtime(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('identity-admin') / 'g.db'}"
    else:
        url = await create_pg_database("jshealth_identity_admin")
    key = MasterKey(secrets.token_bytes(32))
    database = domain_url("identity", url).render_as_string(hide_password=True)
    use_master_key(database, lambda: key)
    rt = await make_runtime(definition, url, seed_options=SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS))
    yield rt
    use_master_key(database, None)
    await rt.engine.dispose()
    if request.param == "postgres":
        await drop_pg_database(url)


async def run(rt: Runtime, query: str, variables: dict[str, Any] | None = None, *, caller: str | None = ADMIN
              ) -> Any:
    context = rt.context(caller=caller_of(caller) if caller is not None else None)
    return await rt.definition.schema.execute(query, variable_values=variables, context_value=context)


async def ok(rt: Runtime, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await run(rt, query, variables)
    assert result.errors is None, result.errors
    return dict(result.data)


async def fails(rt: Runtime, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The extensions of the single error a query must end with."""
    result = await run(rt, query, variables)
    assert result.errors, "expected the query to fail"
    return dict(result.errors[0].extensions or {"message": result.errors[0].message})


CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) {
    temporaryPassword user { id username name displayName mobile email mustChangePassword status
                             organization { id } roles { code } } } }"""


async def create_user(rt: Runtime, username: str, name: str = "张三", **extra: Any) -> dict[str, Any]:
    fields = {"username": username, "name": name, "organizationId": PROVINCE_HC, **extra}
    return dict((await ok(rt, CREATE_USER, {"input": fields}))["createUser"])


async def raw_user(rt: Runtime, user_id: str) -> models.User:
    async with rt.sessions() as session:
        row = await session.get(models.User, user_id)
        assert row is not None
        return row


def is_temporary_password(password: str) -> bool:
    return (6 <= len(password) <= 32 and any(c.isalpha() for c in password)
            and any(c.isdigit() for c in password) and any(c in string.punctuation for c in password))


# --- users ---------------------------------------------------------------------------------------


async def test_created_user_is_encrypted_at_rest_and_found_by_blind_index(runtime: Runtime) -> None:
    created = await create_user(runtime, "zhang.wei", "张 伟", mobile="138-0013-8000", email="zw@example.cn",
                                roleIds=["role-medical-staff"])
    user = created["user"]
    assert user["username"] == "zhang.wei" and user["name"] == user["displayName"] == "张 伟"
    assert user["mobile"] == "138****8000" and user["mustChangePassword"] and user["status"] == "NORMAL"
    assert user["roles"] == [{"code": "MEDICAL_STAFF"}]
    assert is_temporary_password(created["temporaryPassword"])
    row = await raw_user(runtime, user["id"])
    assert verify_password(row.password_hash, created["temporaryPassword"])
    # Nothing readable at rest: no plaintext column, and the ciphertexts do not contain the values.
    assert row.display_name is None and row.name_cipher and row.mobile_cipher and row.key_version == 1
    for plain in ("张 伟", "张伟", "13800138000"):
        assert plain.encode() not in row.name_cipher + row.mobile_cipher
        assert plain not in (row.name_index or "") + (row.mobile_index or "")
    cipher = await cipher_of(runtime.sessions)
    assert row.name_index == cipher.blind_index("张伟", "name")
    # Exact name (blanks ignored) and mobile find the user; part of a name does not.
    query = "query($k: String) { users(keyword: $k, first: 50) { nodes { username } } }"
    for keyword in ("张伟", "张 伟", "13800138000", "zhang.w"):
        found = (await ok(runtime, query, {"k": keyword}))["users"]["nodes"]
        assert {"username": "zhang.wei"} in found, keyword
    assert {"username": "zhang.wei"} not in (await ok(runtime, query, {"k": "伟"}))["users"]["nodes"]
    # LIKE wildcards are matched literally.
    assert (await ok(runtime, query, {"k": "%"}))["users"]["nodes"] == []


async def test_legacy_plaintext_rows_still_read_and_match(runtime: Runtime) -> None:
    async with runtime.sessions() as session, session.begin():
        await session.execute(insert(models.User).values(
            id="usr-legacy", username="legacy_01", display_name="李四", organization_id=PROVINCE_HC,
            status="NORMAL", created_at=datetime(2020, 1, 1, tzinfo=UTC)))
    data = await ok(runtime, '{ user(id: "usr-legacy") { name displayName mobile } '
                             'users(keyword: "李四") { nodes { id } } }')
    assert data["user"] == {"name": "李四", "displayName": "李四", "mobile": None}
    assert {"id": "usr-legacy"} in data["users"]["nodes"]


async def test_user_fields_are_validated(runtime: Runtime) -> None:
    for fields, code, where in (
        ({"username": "1abc"}, "BAD_USER_INPUT", "username"),
        ({"username": "ok_user", "mobile": "1234567"}, "BAD_USER_INPUT", "mobile"),
        ({"username": "ok_user", "mobile": "12800000000"}, "BAD_USER_INPUT", "mobile"),
        ({"username": "ok_user", "email": "not-an-email"}, "BAD_USER_INPUT", "email"),
        ({"username": "ok_user", "name": "   "}, "BAD_USER_INPUT", "name"),
        ({"username": "admin"}, "CONFLICT", "username"),
        ({"username": "ok_user", "organizationId": "org-nope"}, "NOT_FOUND", "organizationId"),
        ({"username": "ok_user", "roleIds": ["role-nope"]}, "NOT_FOUND", "roleIds"),
    ):
        variables = {"input": {"name": "王五", "organizationId": PROVINCE_HC, **fields}}
        extensions = await fails(runtime, CREATE_USER, variables)
        assert extensions["code"] == code, fields
        assert where in (extensions.get("field"), extensions.get("argument")), (fields, extensions)


async def test_username_cannot_be_edited_and_edits_re_encrypt(runtime: Runtime) -> None:
    user = (await create_user(runtime, "edit_me", mobile="13900000001", email="e@example.cn"))["user"]
    refused = await run(runtime, 'mutation($id: ID!) { updateUser(id: $id, input: {username: "other"}) { id } }',
                        {"id": user["id"]})
    assert refused.errors and "username" in refused.errors[0].message
    updated = (await ok(runtime, """mutation($id: ID!) { updateUser(id: $id, input: {
        name: "王小明", mobile: "13700000002", email: null, department: "信息科", organizationId: "org-320500-hc"})
        { username name mobile email department organization { id } } }""", {"id": user["id"]}))["updateUser"]
    assert updated == {"username": "edit_me", "name": "王小明", "mobile": "137****0002", "email": None,
                       "department": "信息科", "organization": {"id": SUZHOU_HC}}
    row = await raw_user(runtime, user["id"])
    assert row.username == "edit_me" and "王小明".encode() not in (row.name_cipher or b"")
    cipher = await cipher_of(runtime.sessions)
    assert row.mobile_index == cipher.blind_index("13700000002", "mobile")


async def test_status_change_needs_a_reason_and_is_logged(runtime: Runtime) -> None:
    user = (await create_user(runtime, "status_me"))["user"]
    change = """mutation($id: ID!, $s: UserStatus!, $r: String!) {
        changeUserStatus(id: $id, status: $s, reason: $r) { status statusReason } }"""
    missing = await run(runtime, 'mutation($id: ID!) { changeUserStatus(id: $id, status: FROZEN) { id } }',
                        {"id": user["id"]})
    assert missing.errors and "reason" in missing.errors[0].message
    blank = await fails(runtime, change, {"id": user["id"], "s": "FROZEN", "r": "   "})
    assert blank == {"code": "BAD_USER_INPUT", "argument": "reason"}
    same = await fails(runtime, change, {"id": user["id"], "s": "NORMAL", "r": "no change"})
    assert same["code"] == "INVALID_STATE"
    frozen = await ok(runtime, change, {"id": user["id"], "s": "FROZEN", "r": "长期未登录"})
    assert frozen["changeUserStatus"] == {"status": "FROZEN", "statusReason": "长期未登录"}
    log = (await ok(runtime, """query($id: ID!) { user(id: $id) { operationLog(involvement: TARGET, first: 5) {
        nodes { action reason actorId detail } } } }""", {"id": user["id"]}))["user"]["operationLog"]["nodes"]
    assert log[0]["action"] == "CHANGE_USER_STATUS" and log[0]["reason"] == "长期未登录"
    assert log[0]["actorId"] == ADMIN and '"from": "NORMAL"' in log[0]["detail"]
    # The admin's own log (what it did) shows the same entry.
    mine = (await ok(runtime, '{ user(id: "usr-admin") { operationLog(first: 50) { nodes { action } } } }'))
    assert {"action": "CHANGE_USER_STATUS"} in mine["user"]["operationLog"]["nodes"]


async def test_reset_password_gives_a_one_time_password(runtime: Runtime) -> None:
    user = (await create_user(runtime, "reset_me"))["user"]
    async with runtime.sessions() as session, session.begin():
        row = await session.get(models.User, user["id"])
        assert row is not None
        row.must_change_password, row.failed_logins = False, 5
        row.locked_until = datetime.now(UTC) + timedelta(hours=1)
    reset = (await ok(runtime, 'mutation($id: ID!) { resetUserPassword(id: $id) { temporaryPassword '
                               'user { mustChangePassword } } }', {"id": user["id"]}))["resetUserPassword"]
    assert is_temporary_password(reset["temporaryPassword"]) and reset["user"]["mustChangePassword"]
    row = await raw_user(runtime, user["id"])
    assert verify_password(row.password_hash, reset["temporaryPassword"])
    assert reset["temporaryPassword"] not in (row.password_hash or "")
    assert row.failed_logins == 0 and row.locked_until is None
    unknown = await fails(runtime, 'mutation { resetUserPassword(id: "usr-nope") { temporaryPassword } }')
    assert unknown["code"] == "NOT_FOUND"


async def test_users_in_an_organisation_subtree_and_by_status_and_role(runtime: Runtime) -> None:
    query = """query($org: ID!, $sub: Boolean!, $after: String) {
        users(organizationId: $org, includeDescendants: $sub, first: 100, after: $after) {
            nodes { id organization { id } } pageInfo { hasNextPage endCursor } } }"""

    async def all_users(org: str, sub: bool) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        after = None
        while True:
            page = (await ok(runtime, query, {"org": org, "sub": sub, "after": after}))["users"]
            out += page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return out
            after = page["pageInfo"]["endCursor"]

    direct = await all_users(SUZHOU_HC, False)
    subtree = await all_users(SUZHOU_HC, True)
    async with runtime.sessions() as session:
        orgs = {o.id: o for o in (await session.scalars(select(models.Organization))).all()}

    def under(org_id: str, root: str) -> bool:
        while org_id is not None:
            if org_id == root:
                return True
            org_id = orgs[org_id].parent_id  # type: ignore[assignment]
        return False

    assert {u["organization"]["id"] for u in direct} == {SUZHOU_HC}
    assert len(subtree) > len(direct)
    assert all(under(u["organization"]["id"], SUZHOU_HC) for u in subtree)
    # County and township units of Suzhou are in the subtree: the tree is by parent, not by region.
    assert any(u["organization"]["id"].startswith("org-3205") and u["organization"]["id"] != SUZHOU_HC
               for u in subtree)
    frozen = (await ok(runtime, "{ users(status: FROZEN, first: 100) { nodes { status } } }"))["users"]["nodes"]
    assert frozen and {u["status"] for u in frozen} == {"FROZEN"}
    admins = (await ok(runtime, '{ users(roleId: "role-city-admin", first: 100) { nodes { roles { code } } } }'))
    nodes = admins["users"]["nodes"]
    assert len(nodes) == 13 and all({"code": "CITY_ADMIN"} in u["roles"] for u in nodes)


async def test_login_history_is_the_last_30_days_newest_first(runtime: Runtime) -> None:
    user = (await create_user(runtime, "logs_me"))["user"]
    now = datetime.now(UTC)
    async with runtime.sessions() as session, session.begin():
        for days, method, success in ((1, "SSO", True), (2, "SSO", False), (3, "THIRD_PARTY", True),
                                      (29, "SSO", True), (31, "SSO", True), (90, "SSO", True)):
            session.add(models.LoginEvent(user_id=user["id"], username="logs_me", at=now - timedelta(days=days),
                                          method=method, success=success, ip="10.0.0.1", device="Chrome",
                                          failure_reason=None if success else "WRONG_PASSWORD"))
    query = """query($id: ID!, $m: LoginMethod, $s: Boolean, $from: DateTime, $after: String) { user(id: $id) {
        loginHistory(method: $m, success: $s, from: $from, first: 2, after: $after) {
            nodes { at method success failureReason ip device } pageInfo { hasNextPage endCursor } } } }"""
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await ok(runtime, query, {"id": user["id"], "after": after}))["user"]["loginHistory"]
        seen += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 4 and [s["at"] for s in seen] == sorted((s["at"] for s in seen), reverse=True)
    assert seen[1] == {**seen[1], "success": False, "failureReason": "WRONG_PASSWORD", "ip": "10.0.0.1"}
    failed = (await ok(runtime, query, {"id": user["id"], "s": False}))["user"]["loginHistory"]["nodes"]
    assert [f["success"] for f in failed] == [False]
    third = (await ok(runtime, query, {"id": user["id"], "m": "THIRD_PARTY"}))["user"]["loginHistory"]["nodes"]
    assert [t["method"] for t in third] == ["THIRD_PARTY"]
    # Asking for older records does not reach past the 30-day window.
    old = (await ok(runtime, query, {"id": user["id"], "from": (now - timedelta(days=100)).isoformat()}))
    assert old["user"]["loginHistory"]["pageInfo"]["hasNextPage"]  # 4 records, pages of 2
    assert (await fails(runtime, """query($id: ID!) { user(id: $id) { loginHistory(
        from: "2026-01-10T00:00:00+00:00", to: "2026-01-01T00:00:00+00:00") { nodes { at } } } }""",
                        {"id": user["id"]}))["code"] == "BAD_USER_INPUT"


# --- data scope ----------------------------------------------------------------------------------


async def test_effective_data_scope_is_the_widest_of_enabled_roles(runtime: Runtime) -> None:
    user = (await create_user(runtime, "scope_me"))["user"]
    scope_query = 'query($id: ID!) { user(id: $id) { dataScope } }'

    async def scope() -> str | None:
        async with runtime.sessions() as session:
            direct = await effective_data_scope(session, user["id"])
        shown = (await ok(runtime, scope_query, {"id": user["id"]}))["user"]["dataScope"]
        assert shown == direct
        return direct

    assign = 'mutation($id: ID!, $r: [ID!]!) { assignUserRoles(userId: $id, roleIds: $r) { roles { code } } }'
    assert await scope() is None
    await ok(runtime, assign, {"id": user["id"], "r": ["role-medical-staff"]})
    assert await scope() == "OWN_DEPT"
    await ok(runtime, assign, {"id": user["id"], "r": ["role-medical-staff", "role-city-admin",
                                                        "role-health-officer"]})
    assert await scope() == "CROSS_ORG"
    status = ('mutation($s: RoleStatus!) { changeRoleStatus(id: "role-city-admin", status: $s, reason: "审计") '
              '{ status } }')
    await ok(runtime, status, {"s": "DISABLED"})
    assert await scope() == "OWN_ORG"
    await ok(runtime, status, {"s": "ENABLED"})
    # A permission that is not effective grants nothing.
    await ok(runtime, 'mutation { updatePermission(id: "perm-portal-data:cross-org", input: {effective: false}) '
                      '{ effective } }')
    assert await scope() == "OWN_ORG"
    await ok(runtime, 'mutation { updatePermission(id: "perm-portal-data:cross-org", input: {effective: true}) '
                      '{ effective } }')
    assert await scope() == "CROSS_ORG"
    async with runtime.sessions() as session:
        assert await effective_data_scope(session, ADMIN) == "ALL"


# --- organisations -------------------------------------------------------------------------------

CREATE_ORG = """mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) {
    id name level code parent { id } ancestors { id } childCount userCount } }"""


def org_input(parent: str, region: str, level: str, **extra: Any) -> dict[str, Any]:
    from subgraphs.common.validators import make_uscc

    body = f"{secrets.randbelow(10**8):08d}"
    return {"name": f"测试机构{body}", "kind": "CLINIC", "level": level, "regionCode": region,
            "creditCode": make_uscc("9", "1", region[:6], body), "parentId": parent, **extra}


async def test_organisation_tree_rules(runtime: Runtime) -> None:
    created = (await ok(runtime, CREATE_ORG, {"input": org_input(SUZHOU_HC, "320505", "COUNTY",
                                                                 code="TEST-1", personInCharge="周敏")}))
    org = created["createOrganization"]
    assert org["parent"] == {"id": SUZHOU_HC} and org["childCount"] == 0 and org["userCount"] == 0
    assert org["ancestors"] == [{"id": PROVINCE_HC}, {"id": SUZHOU_HC}]
    for bad, code, field in (
        (org_input(SUZHOU_HC, "320505", "COUNTY", creditCode="91320505MA1234567X"), "BAD_USER_INPUT", "creditCode"),
        (org_input(SUZHOU_HC, "320102", "COUNTY"), "BAD_USER_INPUT", "regionCode"),  # Nanjing, not Suzhou
        (org_input(SUZHOU_HC, "320500", "PROVINCE"), "BAD_USER_INPUT", "level"),
        (org_input("org-nope", "320505", "COUNTY"), "NOT_FOUND", "parentId"),
        (org_input(SUZHOU_HC, "320505", "COUNTY", code="TEST-1"), "CONFLICT", "code"),
    ):
        extensions = await fails(runtime, CREATE_ORG, {"input": bad})
        assert (extensions["code"], extensions.get("field") or extensions.get("argument")) == (code, field), bad
    moved = await fails(runtime, 'mutation($id: ID!) { updateOrganization(id: "org-320000-hc", input: '
                                 '{parentId: $id, level: COUNTY}) { id } }', {"id": org["id"]})
    assert moved["code"] == "BAD_USER_INPUT"
    edited = await ok(runtime, 'mutation($id: ID!) { updateOrganization(id: $id, input: {address: "苏州市人民路1号", '
                               'contact: null}) { address contact personInCharge } }', {"id": org["id"]})
    assert edited["updateOrganization"] == {"address": "苏州市人民路1号", "contact": None, "personInCharge": "周敏"}
    tree = await ok(runtime, "{ organizationRoots { id childCount } "
                             'organizations(level: VILLAGE, keyword: "村卫生室", first: 5) '
                             "{ nodes { kind parent { kind } } } }")
    assert tree["organizationRoots"][0]["id"] == PROVINCE_HC and tree["organizationRoots"][0]["childCount"] >= 13
    villages = tree["organizations"]["nodes"]
    assert villages and all(v == {"kind": "VILLAGE_CLINIC", "parent": {"kind": "TOWNSHIP_HEALTH_CENTER"}}
                            for v in villages)


async def test_delete_only_an_organisation_without_children_or_users(runtime: Runtime) -> None:
    parent = (await ok(runtime, CREATE_ORG, {"input": org_input(SUZHOU_HC, "320505", "COUNTY")}))["createOrganization"]
    child = (await ok(runtime, CREATE_ORG, {"input": org_input(parent["id"], "320505001", "TOWNSHIP")}))
    child_id = child["createOrganization"]["id"]
    delete = 'mutation($id: ID!) { deleteOrganization(id: $id) }'
    refused = await fails(runtime, delete, {"id": parent["id"]})
    assert refused == {"code": "CONFLICT", "children": 1, "users": 0, "clients": 0}
    await create_user(runtime, "in_child", organizationId=child_id)
    refused = await fails(runtime, delete, {"id": child_id})
    assert refused["code"] == "CONFLICT" and refused["users"] == 1
    user = (await ok(runtime, '{ users(keyword: "in_child") { nodes { id } } }'))["users"]["nodes"][0]
    await ok(runtime, 'mutation($id: ID!) { updateUser(id: $id, input: {organizationId: "org-320500-hc"}) { id } }',
             {"id": user["id"]})
    assert (await ok(runtime, delete, {"id": child_id}))["deleteOrganization"] == child_id
    assert (await ok(runtime, delete, {"id": parent["id"]}))["deleteOrganization"] == parent["id"]
    gone = await ok(runtime, 'query($id: ID!) { organization(id: $id) { id } }', {"id": parent["id"]})
    assert gone == {"organization": None}


async def test_merge_moves_users_and_children_then_deletes_the_sources(runtime: Runtime) -> None:
    target = (await ok(runtime, CREATE_ORG, {"input": org_input(SUZHOU_HC, "320505", "COUNTY")}))["createOrganization"]
    sources = [(await ok(runtime, CREATE_ORG, {"input": org_input(SUZHOU_HC, "320506", "COUNTY")}))
               ["createOrganization"]["id"] for _ in range(2)]
    grandchild = (await ok(runtime, CREATE_ORG, {"input": org_input(sources[0], "320506001", "TOWNSHIP")}))
    grandchild_id = grandchild["createOrganization"]["id"]
    moved_users = [(await create_user(runtime, f"merge_{n}", organizationId=source))["user"]["id"]
                   for n, source in enumerate(sources)]
    cycle = await fails(runtime, 'mutation($s: [ID!]!, $t: ID!) { mergeOrganizations(sourceIds: $s, targetId: $t) '
                                 '{ usersMoved } }', {"s": [sources[0]], "t": grandchild_id})
    assert cycle["code"] == "BAD_USER_INPUT"
    merged = (await ok(runtime, """mutation($s: [ID!]!, $t: ID!) {
        mergeOrganizations(sourceIds: $s, targetId: $t, reason: "机构整合") {
            usersMoved childrenMoved target { id userCount childCount children { id } } } }""",
                       {"s": sources, "t": target["id"]}))["mergeOrganizations"]
    assert merged["usersMoved"] == 2 and merged["childrenMoved"] == 1
    assert merged["target"]["userCount"] == 2 and merged["target"]["children"] == [{"id": grandchild_id}]
    for user_id in moved_users:
        assert (await raw_user(runtime, user_id)).organization_id == target["id"]
    async with runtime.sessions() as session:
        assert (await session.scalars(select(models.Organization.id)
                                      .where(models.Organization.id.in_(sources)))).all() == []
        log = (await session.scalars(select(models.OperationLog).where(
            models.OperationLog.action == "MERGE_ORGANIZATIONS", models.OperationLog.target_id == target["id"]))).one()
        events = (await session.scalars(select(models.OutboxEvent.payload).where(
            models.OutboxEvent.topic == "identity.organization.merged"))).all()
    assert log.actor_id == ADMIN and log.detail["reason"] == "机构整合" and log.detail["usersMoved"] == 2
    assert {"sourceIds": sources, "targetId": target["id"]} in events


# --- roles and permissions -----------------------------------------------------------------------


async def test_role_lifecycle(runtime: Runtime) -> None:
    created = (await ok(runtime, 'mutation { createRole(input: {code: "QA_ROLE", name: "质控", kind: BUSINESS}) '
                                 '{ id code status userCount } }'))["createRole"]
    assert created["status"] == "ENABLED" and created["userCount"] == 0
    role_id = created["id"]
    no_code = await run(runtime, 'mutation($id: ID!) { updateRole(id: $id, input: {code: "X"}) { id } }',
                        {"id": role_id})
    assert no_code.errors and "code" in no_code.errors[0].message
    assert (await fails(runtime, 'mutation { createRole(input: {code: "QA_ROLE", name: "x", kind: ADMIN}) { id } }'
                        ))["code"] == "CONFLICT"
    perms = ["perm-portal-data:own-org", "perm-portal-user:export", "perm-portal-menu:users"]
    await ok(runtime, 'mutation($id: ID!, $p: [ID!]!) { setRolePermissions(roleId: $id, permissionIds: $p) { id } }',
             {"id": role_id, "p": perms})
    copied = (await ok(runtime, 'mutation($id: ID!) { copyRole(id: $id, newCode: "QA_ROLE_2", newName: "质控二") '
                                '{ id code kind permissions { id } userCount } }', {"id": role_id}))["copyRole"]
    assert copied["code"] == "QA_ROLE_2" and copied["kind"] == "BUSINESS"
    assert sorted(p["id"] for p in copied["permissions"]) == sorted(perms)
    user = (await create_user(runtime, "role_holder", roleIds=[role_id]))["user"]
    assert copied["userCount"] == 0
    status = 'mutation($id: ID!, $r: String!) { changeRoleStatus(id: $id, status: DISABLED, reason: $r) { status } }'
    assert (await fails(runtime, status, {"id": role_id, "r": ""}))["argument"] == "reason"
    assert (await ok(runtime, status, {"id": role_id, "r": "停用"}))["changeRoleStatus"] == {"status": "DISABLED"}
    delete = 'mutation($id: ID!) { deleteRole(id: $id) }'
    refused = await fails(runtime, delete, {"id": role_id})
    assert refused == {"code": "CONFLICT", "users": 1}
    await ok(runtime, 'mutation($id: ID!) { assignUserRoles(userId: $id, roleIds: []) { id } }', {"id": user["id"]})
    assert (await ok(runtime, delete, {"id": role_id}))["deleteRole"] == role_id
    assert (await ok(runtime, 'query($id: ID!) { role(id: $id) { id } }', {"id": role_id})) == {"role": None}


async def test_permission_rules_and_menu_tree(runtime: Runtime) -> None:
    create = 'mutation($i: CreatePermissionInput!) { createPermission(input: $i) { id kind dataScope level } }'
    no_scope = await fails(runtime, create, {"i": {"kind": "DATA", "code": "data:x", "name": "x"}})
    assert no_scope["field"] == "dataScope"
    no_path = await fails(runtime, create, {"i": {"kind": "MENU", "code": "menu:x", "name": "x"}})
    assert no_path["field"] == "menuPath"
    assert (await fails(runtime, create, {"i": {"kind": "FUNCTION", "code": "user:create", "name": "dup"}}
                        ))["code"] == "CONFLICT"
    menu = (await ok(runtime, create, {"i": {"kind": "MENU", "code": "menu:reports", "name": "报表",
                                             "menuPath": "/system/reports", "parentId": "perm-portal-menu:system"}}))
    assert menu["createPermission"]["level"] == 2
    tree = (await ok(runtime, '{ menuTree { code children { code children { code } } } }'))["menuTree"]
    system = next(m for m in tree if m["code"] == "menu:system")
    assert {"menu:users", "menu:reports"} <= {c["code"] for c in system["children"]}
    users_menu = next(c for c in system["children"] if c["code"] == "menu:users")
    assert {"code": "user:reset-password"} in users_menu["children"]
    cycle = await fails(runtime, 'mutation($id: ID!) { updatePermission(id: "perm-portal-menu:system", '
                                 'input: {parentId: $id}) { id } }', {"id": menu["createPermission"]["id"]})
    assert cycle["code"] == "BAD_USER_INPUT"
    data = (await ok(runtime, '{ permissions(kind: DATA, first: 10) { nodes { code dataScope } } }'))
    assert {(p["code"], p["dataScope"]) for p in data["permissions"]["nodes"]} >= {
        ("data:all", "ALL"), ("data:cross-org", "CROSS_ORG"), ("data:own-org", "OWN_ORG"),
        ("data:own-dept", "OWN_DEPT")}


async def test_operator_is_taken_from_the_verified_caller_only(runtime: Runtime) -> None:
    # A header naming a user is not a verified caller: the request is anonymous, and refused.
    context = runtime.context({"x-user-id": ADMIN})
    result = await runtime.definition.schema.execute(
        'mutation { createRole(input: {code: "ANON_ROLE", name: "匿名", kind: BUSINESS}) { id } }',
        context_value=context)
    assert result.errors and result.errors[0].extensions == {"code": "UNAUTHENTICATED"}
    async with runtime.sessions() as session:
        assert (await session.scalar(select(models.Role).where(models.Role.code == "ANON_ROLE"))) is None
    # The verified caller is the operator the log records.
    made = await ok(runtime, 'mutation { createRole(input: {code: "VERIFIED_ROLE", name: "实名", kind: BUSINESS}) '
                             '{ id } }')
    async with runtime.sessions() as session:
        entry = (await session.scalars(select(models.OperationLog).where(
            models.OperationLog.target_id == made["createRole"]["id"]))).one()
    assert entry.actor_id == ADMIN


@pytest.mark.parametrize("given", [None, "Chosen-pass-123"])
async def test_seeded_admin_password_is_never_stored_in_the_clear(
    given: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if given is None:
        monkeypatch.delenv("JSHEALTH_ADMIN_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("JSHEALTH_ADMIN_PASSWORD", given)
    rt = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'g.db'}",
                            seed_options=SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS))
    try:
        printed = capsys.readouterr().err
        admin = await raw_user(rt, ADMIN)
        data = (await rt.definition.schema.execute('{ user(id: "usr-admin") { username name roles { code } '
                                                  'dataScope organization { id } } }',
                                                  context_value=rt.context(caller=caller_of(ADMIN))))
    finally:
        await rt.engine.dispose()
    assert data.data == {"user": {"username": "admin", "name": "系统管理员", "roles": [{"code": "SYSTEM_ADMIN"}],
                                  "dataScope": "ALL", "organization": {"id": PROVINCE_HC}}}
    if given is None:
        password = printed.split("one-time password ", 1)[1].split(" ", 1)[0]
        assert is_temporary_password(password) and admin.must_change_password
    else:
        password = given
        assert given not in printed and not admin.must_change_password
    assert verify_password(admin.password_hash, password) and password not in (admin.password_hash or "")
