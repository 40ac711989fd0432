"""Who may call identity's GraphQL API (subgraphs/identity/domain/guard.py): anonymous callers, ordinary
users, administrators of a city and of the province, systems, and the personal centre; and the router's
@authenticated check in front of it all."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from identity_callers import admin_caller, admin_system, role_of, system_caller, user_caller
from sqlalchemy import select, update
from support import TEST_PERSONS, TEST_SEED, make_runtime

from db.engine import make_engine
from db.migrate import upgrade
from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.caller import Caller
from subgraphs.common.scope import ANONYMOUS_SCOPE_ENV
from subgraphs.identity import models
from subgraphs.identity.app import definition
from subgraphs.identity.domain.guard import ADMIN_SCOPE

ROOT = Path(__file__).resolve().parents[2]
SUZHOU, NANJING = "320500", "320100"
SUZHOU_HC, NANJING_HC = "org-320500-hc", "org-320100-hc"
RESET = 'mutation($id: ID!) { resetUserPassword(id: $id) { user { id } temporaryPassword } }'


@pytest.fixture(scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('identity-guard') / 'g.db'}"
    rt = await make_runtime(definition, url, seed_options=SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS))
    yield rt
    await rt.engine.dispose()


async def run(rt: Runtime, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None) -> Any:
    return await rt.definition.schema.execute(query, variable_values=variables, context_value=rt.context(caller=caller))


async def ok(rt: Runtime, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None
             ) -> dict[str, Any]:
    result = await run(rt, query, variables, caller=caller)
    assert result.errors is None, result.errors
    return dict(result.data)


async def code(rt: Runtime, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None) -> str:
    result = await run(rt, query, variables, caller=caller)
    assert result.errors, f"expected {query!r} to be refused"
    return str((result.errors[0].extensions or {}).get("code", result.errors[0].message))


async def staff(rt: Runtime, organization_id: str) -> str:
    """A plain account (no role) in that organisation; its id."""
    subject = (await user_caller(rt, kind=None, data_scope=None, organization_id=organization_id)).subject
    assert subject is not None
    return subject


MUTATIONS = [
    ('mutation { createUser(input: {username: "guard_x", name: "某人", organizationId: "org-320000-hc"}) '
     '{ temporaryPassword } }', None),
    (RESET, {"id": "usr-admin"}),
    ('mutation { assignUserRoles(userId: "usr-admin", roleIds: []) { id } }', None),
    ('mutation { createRole(input: {code: "GUARD_R", name: "r", kind: BUSINESS}) { id } }', None),
    ('mutation { updatePasswordPolicy(input: {minLength: 6}) { minLength } }', None),
    ('mutation { addIpBlacklistEntries(entries: [{network: "192.0.2.99"}]) { id } }', None),
    ('mutation { createClient(input: {name: "x", kind: SYSTEM, grantTypes: [CLIENT_CREDENTIALS]}) '
     '{ clientSecret } }', None),
    ('mutation { createConnectedSystem(input: {code: "GUARD-S", name: "s"}) { code } }', None),
    ('mutation { deleteOrganization(id: "org-320500-hc") }', None),
]
ADMIN_QUERIES = [
    "{ loginEvents { nodes { id } } }", "{ ipBlacklist { nodes { id } } }", "{ loginPolicy { failureLimit } }",
    "{ encryptionKeys { version } }", "{ clients { nodes { clientId } } }", "{ accountMappings { nodes { id } } }",
    "{ matchRuns { nodes { id } } }", "{ users { nodes { id } } }", "{ exportUsers(format: CSV) { rows } }",
    "{ exportRoles(format: CSV) { rows } }", "{ permissionSummary { system } }", '{ user(id: "usr-admin") { id } }',
]


async def test_anonymous_callers_are_refused(runtime: Runtime) -> None:
    for query, variables in MUTATIONS:
        assert await code(runtime, query, variables, caller=None) == "UNAUTHENTICATED", query
    for query in ADMIN_QUERIES:
        assert await code(runtime, query, caller=None) == "UNAUTHENTICATED", query
    async with runtime.sessions() as session:
        assert await session.scalar(select(models.Role).where(models.Role.code == "GUARD_R")) is None
    # Organisations and the live password check stay open.
    data = await ok(runtime, '{ organization(id: "org-320500-hc") { name } passwordStrength(password: "a1!") '
                             '{ strength } }', caller=None)
    assert data["organization"]["name"] and data["passwordStrength"]["strength"]


async def test_a_business_user_is_forbidden(runtime: Runtime) -> None:
    officer = await user_caller(runtime, kind="BUSINESS", data_scope="ALL")
    for query, variables in MUTATIONS:
        assert await code(runtime, query, variables, caller=officer) == "FORBIDDEN", query
    for query in ADMIN_QUERIES:
        assert await code(runtime, query, caller=officer) == "FORBIDDEN", query


async def test_a_city_administrator_manages_its_city_only(runtime: Runtime) -> None:
    city = await user_caller(runtime, data_scope="CROSS_ORG", organization_id=SUZHOU_HC)
    mine, theirs = await staff(runtime, SUZHOU_HC), await staff(runtime, NANJING_HC)
    assert (await ok(runtime, RESET, {"id": mine}, caller=city))["resetUserPassword"]["temporaryPassword"]
    assert await code(runtime, RESET, {"id": theirs}, caller=city) == "FORBIDDEN"
    assert await code(runtime, 'mutation($id: ID!) { changeUserStatus(id: $id, status: FROZEN, reason: "x") '
                               '{ id } }', {"id": theirs}, caller=city) == "FORBIDDEN"
    # Its user list is its city; another city is refused, a record there is null.
    users = await ok(runtime, "{ users(first: 100) { nodes { organization { region { code } } } } }", caller=city)
    assert users["users"]["nodes"] and all(n["organization"]["region"]["code"].startswith("3205")
                                           for n in users["users"]["nodes"])
    assert await code(runtime, '{ users(organizationId: "org-320100-hc") { nodes { id } } }',
                      caller=city) == "FORBIDDEN"
    data = await ok(runtime, 'query($id: ID!) { user(id: $id) { id } }', {"id": theirs}, caller=city)
    assert data == {"user": None}
    # Province-wide settings are not its to change, nor may it hand out a province-wide role.
    assert await code(runtime, MUTATIONS[3][0], caller=city) == "FORBIDDEN"
    assert await code(runtime, 'mutation($u: ID!) { assignUserRoles(userId: $u, roleIds: ["role-system-admin"]) '
                               '{ id } }', {"u": mine}, caller=city) == "FORBIDDEN"
    assert await code(runtime, 'mutation { createOrganization(input: {name: "x", kind: HOSPITAL, level: CITY, '
                               'regionCode: "320100", creditCode: "91320100MA1XXXXX0X", '
                               'parentId: "org-320100-hc"}) { id } }', caller=city) == "FORBIDDEN"


async def test_a_province_administrator_acts_everywhere(runtime: Runtime) -> None:
    province = await admin_caller(runtime)
    for organization in (SUZHOU_HC, NANJING_HC):
        user_id = await staff(runtime, organization)
        assert (await ok(runtime, RESET, {"id": user_id}, caller=province))["resetUserPassword"]["user"]["id"] == \
            user_id
    assert (await ok(runtime, '{ users(organizationId: "org-320100-hc") { nodes { id } } }',
                     caller=province))["users"]["nodes"]


async def test_a_disabled_admin_role_stops_working_at_once(runtime: Runtime) -> None:
    admin = await user_caller(runtime)
    assert admin.subject is not None
    target = await staff(runtime, SUZHOU_HC)
    await ok(runtime, RESET, {"id": target}, caller=admin)
    role_id = await role_of(runtime, admin.subject)
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(models.Role).where(models.Role.id == role_id).values(status="DISABLED"))
    assert await code(runtime, RESET, {"id": target}, caller=admin) == "FORBIDDEN"
    # A frozen account too, whatever its roles.
    frozen = await user_caller(runtime, status="FROZEN")
    assert await code(runtime, RESET, {"id": target}, caller=frozen) == "FORBIDDEN"


async def test_a_system_needs_the_identity_admin_scope(runtime: Runtime) -> None:
    query = "{ loginPolicy { failureLimit } }"
    assert (await ok(runtime, query, caller=admin_system()))["loginPolicy"]["failureLimit"]
    assert await code(runtime, query, caller=system_caller("identity:read")) == "FORBIDDEN"
    target = await staff(runtime, NANJING_HC)
    assert (await ok(runtime, RESET, {"id": target}, caller=system_caller(ADMIN_SCOPE)))["resetUserPassword"]
    # A system has no personal centre.
    assert await code(runtime, "{ me { account { id } } }", caller=admin_system()) == "UNAUTHENTICATED"


async def test_own_login_history_but_not_another_users(runtime: Runtime) -> None:
    me = await user_caller(runtime, kind="BUSINESS", data_scope="OWN_ORG", organization_id=SUZHOU_HC)
    other = await staff(runtime, SUZHOU_HC)
    history = 'query($id: ID!) { user(id: $id) { id loginHistory { nodes { at } } operationLog { nodes { id } } } }'
    data = await ok(runtime, history, {"id": me.subject}, caller=me)
    assert data["user"]["id"] == me.subject
    assert await code(runtime, history, {"id": other}, caller=me) == "FORBIDDEN"
    assert await code(runtime, "{ loginEvents { nodes { id } } }", caller=me) == "FORBIDDEN"


async def test_the_personal_centre_is_for_any_signed_in_user(runtime: Runtime) -> None:
    plain = await user_caller(runtime, kind=None, data_scope=None, organization_id=NANJING_HC)
    data = await ok(runtime, "{ me { account { id } } myLoginRecords { nodes { at } } "
                             "myOperationLog { nodes { id } } }", caller=plain)
    assert data["me"]["account"]["id"] == plain.subject
    changed = await ok(runtime, 'mutation { updateMyContact(email: "me@example.cn") { account { email } } }',
                       caller=plain)
    assert changed["updateMyContact"]["account"]["email"] == "me@example.cn"
    assert await code(runtime, "{ me { account { id } } }", caller=None) == "UNAUTHENTICATED"


async def test_federated_reads_follow_the_data_scope(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    async with runtime.sessions() as session:
        uid = await session.scalar(select(models.User.person_uid).where(models.User.person_uid.is_not(None)).limit(1))
    query = ('query($r: [_Any!]!) { _entities(representations: $r) { ... on Person { account { username } } } }')

    def variables() -> dict[str, Any]:  # the federation layer consumes the representations it is given
        return {"r": [{"__typename": "Person", "uid": uid}]}

    monkeypatch.setenv(ANONYMOUS_SCOPE_ENV, "all")
    assert (await ok(runtime, query, variables(), caller=None))["_entities"][0]["account"]["username"]
    monkeypatch.delenv(ANONYMOUS_SCOPE_ENV)
    assert (await ok(runtime, query, variables(), caller=None))["_entities"][0]["account"] is None
    assert await code(runtime, '{ organization(id: "org-320500-hc") { users { nodes { id } } } }',
                      caller=None) == "UNAUTHENTICATED"


def test_the_supergraph_declares_authenticated_on_the_guarded_fields() -> None:
    supergraph = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    for field in ("createUser", "resetUserPassword", "assignUserRoles", "createRole", "updatePasswordPolicy",
                  "addIpBlacklistEntries", "createClient", "loginEvents", "ipBlacklist", "clients", "me",
                  "changeMyPassword", "users", "permissionSummary"):
        assert re.search(rf"^  {field}\b.*@authenticated", supergraph, re.MULTILINE), field
    for field in ("organization", "organizations", "passwordStrength"):
        lines = re.findall(rf"^  {field}\b.*$", supergraph, re.MULTILINE)
        assert lines and not any("@authenticated" in line for line in lines), field


async def test_the_router_refuses_an_anonymous_mutation_before_identity_runs_it(tmp_path: Path) -> None:
    from subgraphs.launch import create_embedded_app

    url = f"sqlite+aiosqlite:///{tmp_path / 'guard.db'}"
    engine = make_engine("identity", url)
    await upgrade(engine, "identity")
    await engine.dispose()
    app = await create_embedded_app(url)
    identity = app.state.runtimes["identity"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e") as http:
        answer = await http.post("/graphql", json={
            "query": 'mutation { createRole(input: {code: "ROUTER_R", name: "r", kind: BUSINESS}) { id } }'})
    body = answer.json()
    assert body.get("errors") and body["errors"][0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE", body
    async with identity.sessions() as session:
        assert await session.scalar(select(models.Role).where(models.Role.code == "ROUTER_R")) is None
