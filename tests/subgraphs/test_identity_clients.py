"""identity: API clients (应用) through the subgraph's GraphQL schema on the seeded SQLite database.

The secret is shown once (create, rotate), stored only as a scrypt hash that verify_password accepts, and no
field or log ever returns it; every setting is validated (grants, redirect URIs, scopes, CIDRs, rate limit,
token lifetime, persisted-operation ids).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from identity_callers import SEEDED_ADMIN, caller_of
from sqlalchemy import select
from support import errors_of as errors_as
from support import execute as execute_as

from subgraphs.common.app import Runtime
from subgraphs.identity import models
from subgraphs.identity.app import definition
from subgraphs.identity.security.hashing import verify_password

PROVINCE_HC = "org-320000-hc"
ADMIN = caller_of(SEEDED_ADMIN, region="320000", data_scope="ALL")


async def execute(runtime: Runtime, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """As the seeded province administrator (clients are province-wide administration)."""
    return await execute_as(runtime, query, variables, caller=ADMIN)


async def errors_of(runtime: Runtime, query: str, variables: dict[str, Any] | None = None) -> list[Any]:
    return await errors_as(runtime, query, variables, caller=ADMIN)
CLIENT_FIELDS = """clientId name kind confidential grantTypes redirectUris scopes ipAllowList rateLimit status
    organizationId organization { id } persistedOperations accessTokenTtlSeconds createdAt"""
CREATE = f"""mutation($input: CreateClientInput!) {{ createClient(input: $input) {{ clientSecret
    client {{ {CLIENT_FIELDS} }} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: UpdateClientInput!) {{ updateClient(clientId: $id, input: $input) {{
    {CLIENT_FIELDS} }} }}"""
ROTATE = """mutation($id: ID!) { rotateClientSecret(clientId: $id) { clientSecret client { clientId } } }"""
SET_OPERATIONS = """mutation($id: ID!, $ops: [String!]!) { setClientPersistedOperations(clientId: $id,
    operationIds: $ops) { persistedOperations } }"""


async def runtime_of(sqlite_runtime: Any) -> Runtime:
    runtime: Runtime = await sqlite_runtime(definition)
    return runtime


def web_client(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "门户Web端", "kind": "WEB", "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
        "redirectUris": ["https://portal.jshealth.example/callback", "http://localhost:5173/callback"],
        "scopes": ["openid", "profile", "identity:read"], "ipAllowList": ["10.20.0.0/16", "2001:db8::/32"],
        "rateLimit": "600/60s", "organizationId": PROVINCE_HC, "accessTokenTtlHours": 2,
    }
    return {**base, **overrides}


async def create(runtime: Runtime, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = (await execute(runtime, CREATE, {"input": web_client(**overrides)}))["createClient"]
    return data


async def stored_hash(runtime: Runtime, client_id: str) -> str | None:
    async with runtime.sessions() as session:
        row = await session.get(models.Client, client_id)
        assert row is not None
        return row.secret_hash


def code_of(errors: list[Any]) -> str:
    return str(errors[0].extensions["code"])


async def test_secret_is_shown_once_and_stored_hashed(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    created = await create(runtime)
    client, secret = created["client"], created["clientSecret"]
    assert secret.startswith("jshs_") and len(secret) > 40
    assert client["clientId"].startswith("web-") and client["confidential"] is True
    assert client["grantTypes"] == ["AUTHORIZATION_CODE", "REFRESH_TOKEN"]
    assert client["ipAllowList"] == ["10.20.0.0/16", "2001:db8::/32"]
    assert client["accessTokenTtlSeconds"] == 7200 and client["organization"] == {"id": PROVINCE_HC}
    stored = await stored_hash(runtime, client["clientId"])
    assert stored is not None and secret not in stored and stored.startswith("scrypt$")
    assert verify_password(stored, secret) and not verify_password(stored, secret + "x")

    # Readable again: everything but the secret, which no field of Client returns.
    data = await execute(runtime, f"query($id: ID!) {{ client(clientId: $id) {{ {CLIENT_FIELDS} }} }}",
                         {"id": client["clientId"]})
    assert data["client"] == client
    type_fields = (await execute(runtime, '{ __type(name: "Client") { fields { name } } }'))["__type"]["fields"]
    assert not [f["name"] for f in type_fields if "secret" in f["name"].lower() or "hash" in f["name"].lower()]
    # The operation log records the change, not the secret or its hash.
    async with runtime.sessions() as session:
        details = (await session.scalars(select(models.OperationLog.detail).where(
            models.OperationLog.target_id == client["clientId"]))).all()
    assert details and all(secret not in str(d) and stored not in str(d) for d in details)


async def test_rotating_replaces_the_secret(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    created = await create(runtime, kind="SYSTEM", grantTypes=["CLIENT_CREDENTIALS"], redirectUris=[])
    client_id, old = created["client"]["clientId"], created["clientSecret"]
    rotated = (await execute(runtime, ROTATE, {"id": client_id}))["rotateClientSecret"]
    new = rotated["clientSecret"]
    assert rotated["client"]["clientId"] == client_id and new != old
    stored = await stored_hash(runtime, client_id)
    assert verify_password(stored, new) and not verify_password(stored, old)


async def test_public_client_has_no_secret(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    created = await create(runtime, kind="MOBILE", confidential=False, grantTypes=["AUTHORIZATION_CODE"],
                           redirectUris=["https://app.jshealth.example/cb"])
    assert created["clientSecret"] is None and created["client"]["confidential"] is False
    assert await stored_hash(runtime, created["client"]["clientId"]) is None
    errors = await errors_of(runtime, ROTATE, {"id": created["client"]["clientId"]})
    assert code_of(errors) == "INVALID_STATE"
    errors = await errors_of(runtime, CREATE, {"input": web_client(
        confidential=False, grantTypes=["CLIENT_CREDENTIALS"])})
    assert code_of(errors) == "BAD_USER_INPUT" and "public client" in errors[0].message


async def test_update_client_settings(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    created = await create(runtime)
    client_id = created["client"]["clientId"]
    data = (await execute(runtime, UPDATE, {"id": client_id, "input": {
        "name": "门户Web端(新)", "kind": "SYSTEM", "grantTypes": ["AUTHORIZATION_CODE", "CAS"],
        "redirectUris": ["https://cas.jshealth.example/login"], "scopes": ["openid"],
        "ipAllowList": ["192.0.2.10", "fe80::/10"], "rateLimit": "100/1m", "status": "DISABLED",
        "organizationId": None, "accessTokenTtlHours": 24}}))["updateClient"]
    assert (data["name"], data["kind"], data["status"]) == ("门户Web端(新)", "SYSTEM", "DISABLED")
    assert data["grantTypes"] == ["AUTHORIZATION_CODE", "CAS"]
    assert data["ipAllowList"] == ["192.0.2.10/32", "fe80::/10"]  # stored normalised
    assert (data["rateLimit"], data["organizationId"], data["accessTokenTtlSeconds"]) == ("100/1m", None, 86400)
    # Left out: unchanged; null: cleared.
    data = (await execute(runtime, UPDATE, {"id": client_id, "input": {"rateLimit": None}}))["updateClient"]
    assert data["rateLimit"] is None and data["name"] == "门户Web端(新)" and data["scopes"] == ["openid"]
    # The secret survives settings changes.
    assert verify_password(await stored_hash(runtime, client_id), created["clientSecret"])
    errors = await errors_of(runtime, UPDATE, {"id": "web-nope", "input": {"name": "x"}})
    assert code_of(errors) == "NOT_FOUND"
    # Removing the last redirect URI of a code-flow client is refused.
    errors = await errors_of(runtime, UPDATE, {"id": client_id, "input": {"redirectUris": []}})
    assert code_of(errors) == "BAD_USER_INPUT"


async def test_bad_settings_are_refused(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"ipAllowList": ["10.0.0.1/8"]}, "ipAllowList"),          # host bits set
        ({"ipAllowList": ["10.0.0.0/33"]}, "ipAllowList"),
        ({"ipAllowList": ["localhost"]}, "ipAllowList"),
        ({"ipAllowList": ["2001:db8::/129"]}, "ipAllowList"),
        ({"redirectUris": ["http://portal.jshealth.example/cb"]}, "redirectUris"),  # http off the loopback
        ({"redirectUris": ["https://portal.jshealth.example/cb#frag"]}, "redirectUris"),
        ({"redirectUris": ["/callback"]}, "redirectUris"),
        ({"redirectUris": ["https://*.jshealth.example/cb"]}, "redirectUris"),
        ({"redirectUris": ["javascript:alert(1)"]}, "redirectUris"),
        ({"redirectUris": [], "grantTypes": ["AUTHORIZATION_CODE"]}, "redirectUris"),
        ({"rateLimit": "fast"}, "rateLimit"),
        ({"rateLimit": "0/60s"}, "rateLimit"),
        ({"rateLimit": "10/0s"}, "rateLimit"),
        ({"accessTokenTtlHours": 0}, "accessTokenTtlHours"),
        ({"accessTokenTtlHours": 25}, "accessTokenTtlHours"),
        ({"scopes": ["two words"]}, "scopes"),
        ({"grantTypes": ["REFRESH_TOKEN"]}, "grantTypes"),
        ({"grantTypes": []}, "grantTypes"),
        ({"name": "  "}, "name"),
    ]
    for overrides, argument in bad:
        errors = await errors_of(runtime, CREATE, {"input": web_client(**overrides)})
        assert code_of(errors) == "BAD_USER_INPUT", overrides
        assert errors[0].extensions["argument"] == argument, overrides
    errors = await errors_of(runtime, CREATE, {"input": web_client(organizationId="org-nope")})
    assert code_of(errors) == "NOT_FOUND"
    # Updates are held to the same rules.
    client_id = (await create(runtime))["client"]["clientId"]
    for overrides, argument in bad[:4] + bad[10:13]:
        errors = await errors_of(runtime, UPDATE, {"id": client_id, "input": overrides})
        assert errors[0].extensions["argument"] == argument, overrides
    # Nothing was created by the refused requests: the same name keeps one client.
    async with runtime.sessions() as session:
        names = (await session.scalars(select(models.Client.client_id).where(
            models.Client.client_id == client_id))).all()
    assert names == [client_id]


async def test_persisted_operations(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    client_id = (await create(runtime))["client"]["clientId"]
    first = hashlib.sha256(b"query Me { me { id } }").hexdigest()
    second = hashlib.sha256(b"query Orgs { organizations { nodes { id } } }").hexdigest()
    data = await execute(runtime, SET_OPERATIONS, {"id": client_id, "ops": [first.upper(), second, first]})
    assert data["setClientPersistedOperations"]["persistedOperations"] == [first, second]  # lower-cased, deduped
    for bad in (["abc"], [first[:-1] + "g"], ["sha256:" + first]):
        errors = await errors_of(runtime, SET_OPERATIONS, {"id": client_id, "ops": bad})
        assert code_of(errors) == "BAD_USER_INPUT"
    data = await execute(runtime, SET_OPERATIONS, {"id": client_id, "ops": []})
    assert data["setClientPersistedOperations"]["persistedOperations"] == []
    errors = await errors_of(runtime, SET_OPERATIONS, {"id": "web-nope", "ops": []})
    assert code_of(errors) == "NOT_FOUND"


async def test_clients_list_filters(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    marker = secrets.token_hex(4)
    web = (await create(runtime, name=f"列表{marker} web"))["client"]["clientId"]
    system = (await create(runtime, name=f"列表{marker} sys", kind="SYSTEM", grantTypes=["CLIENT_CREDENTIALS"],
                           redirectUris=[], status="DISABLED"))["client"]["clientId"]
    query = """query($kind: ClientKind, $status: EnabledStatus, $kw: String) { clients(kind: $kind,
        status: $status, keyword: $kw, first: 100) { nodes { clientId } } }"""

    async def ids(**variables: Any) -> list[str]:
        data = await execute(runtime, query, {"kw": f"列表{marker}", **variables})
        return [n["clientId"] for n in data["clients"]["nodes"]]

    assert sorted(await ids()) == sorted([web, system])
    assert await ids(kind="SYSTEM") == [system]
    assert await ids(status="ENABLED") == [web]
