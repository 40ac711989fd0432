"""个人中心: the signed-in user's card, contact edits (mobile and e-mail only), password change under the
policy, the last 30 days of sign-ins and the personal operation log.

The caller is put on the context the way the verifying layer does it (Runtime.context(caller=...)); these
tests change data, so they run on their own freshly seeded database with a master key of their own.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from support import TEST_PERSONS, TEST_SEED, make_runtime

from db.config import domain_url
from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.caller import Caller
from subgraphs.identity import models
from subgraphs.identity.app import definition
from subgraphs.identity.domain.personal import use_master_key
from subgraphs.identity.security.crypto import MasterKey
from subgraphs.identity.security.hashing import verify_password

ADMIN = "usr-admin"
PROVINCE_HC = "org-320000-hc"
ANONYMOUS = Caller(subject=None, client_id=None, scopes=frozenset())
SYSTEM = Caller(subject="his-sync", client_id="his-sync", scopes=frozenset())  # client credentials: no user


def signed_in(user_id: str) -> Caller:
    return Caller(subject=user_id, client_id="portal-web", scopes=frozenset())


@pytest.fixture(scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('identity-personal') / 'g.db'}"
    key = MasterKey(secrets.token_bytes(32))
    database = domain_url("identity", url).render_as_string(hide_password=True)
    use_master_key(database, lambda: key)
    rt = await make_runtime(definition, url, seed_options=SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS))
    yield rt
    use_master_key(database, None)
    await rt.engine.dispose()


async def run(rt: Runtime, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None) -> Any:
    return await rt.definition.schema.execute(query, variable_values=variables, context_value=rt.context(caller=caller))


async def ok(rt: Runtime, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None
             ) -> dict[str, Any]:
    result = await run(rt, query, variables, caller=caller)
    assert result.errors is None, result.errors
    return dict(result.data)


async def error(rt: Runtime, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None
                ) -> dict[str, Any]:
    """The message and extensions of the single error the query must end with."""
    result = await run(rt, query, variables, caller=caller)
    assert result.errors, "expected the query to fail"
    return {"message": result.errors[0].message, **(result.errors[0].extensions or {})}


CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) { temporaryPassword user { id } } }"""
ME = """{ me { account { id username name mobile email status mustChangePassword organization { id name }
                       roles { code } }
             passwordStatus { state daysLeft mustChange reminder expiresAt }
             accountMappings { externalUsername status systemCode } } }"""
CONTACT = """mutation($m: String, $e: String) { updateMyContact(mobile: $m, email: $e) {
    account { mobile email } } }"""
CHANGE = """mutation($old: String!, $new: String!) { changeMyPassword(oldPassword: $old, newPassword: $new) {
    account { mustChangePassword } passwordStatus { state } } }"""


async def new_user(rt: Runtime, username: str, **extra: Any) -> tuple[str, str]:
    """A fresh account (id, temporary password), created by the administrator."""
    fields = {"username": username, "name": "李四", "organizationId": PROVINCE_HC, **extra}
    created = (await ok(rt, CREATE_USER, {"input": fields}, caller=signed_in(ADMIN)))["createUser"]
    return created["user"]["id"], created["temporaryPassword"]


async def set_user(rt: Runtime, user_id: str, **values: Any) -> None:
    async with rt.sessions() as session, session.begin():
        await session.execute(update(models.User).where(models.User.id == user_id).values(**values))


async def raw_user(rt: Runtime, user_id: str) -> models.User:
    async with rt.sessions() as session:
        row = await session.get(models.User, user_id)
        assert row is not None
        return row


# --- who may ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", [None, ANONYMOUS, SYSTEM], ids=["no-caller", "anonymous", "system"])
@pytest.mark.parametrize("query", [
    ME,
    "{ myLoginRecords { nodes { at } } }",
    "{ myOperationLog { nodes { id } } }",
    'mutation { updateMyContact(email: "x@example.cn") { account { id } } }',
    'mutation { changeMyPassword(oldPassword: "a", newPassword: "b") { account { id } } }',
], ids=["me", "myLoginRecords", "myOperationLog", "updateMyContact", "changeMyPassword"])
async def test_the_personal_centre_needs_a_signed_in_user(runtime: Runtime, caller: Caller | None, query: str
                                                          ) -> None:
    problem = await error(runtime, query, caller=caller)
    assert problem["code"] == "UNAUTHENTICATED" and "Sign in" in problem["message"]


async def test_a_token_of_a_deleted_account_is_not_a_personal_centre(runtime: Runtime) -> None:
    assert (await error(runtime, ME, caller=signed_in("usr-no-such-user")))["code"] == "UNAUTHENTICATED"


# --- the card ---------------------------------------------------------------------------------------


async def test_me_shows_the_account_its_links_and_its_password_status(runtime: Runtime) -> None:
    user_id, _ = await new_user(runtime, "card.user", mobile="13900001111", email="card@example.cn",
                                roleIds=["role-medical-staff"])
    at = datetime.now(UTC)
    async with runtime.sessions() as session, session.begin():
        session.add_all([models.ConnectedSystem(code="his", name="医院信息系统"),
                         models.ConnectedSystem(code="lis", name="检验系统")])
        await session.flush()
        session.add_all([
            models.AccountMapping(id="map-card-his", user_id=user_id, system_code="his", external_username="h001",
                                  status="LINKED", method="MANUAL", linked_at=at),
            models.AccountMapping(id="map-card-lis", user_id=user_id, system_code="lis", external_username="l001",
                                  status="UNLINKED", method="AUTO", linked_at=at),
        ])
    me = (await ok(runtime, ME, caller=signed_in(user_id)))["me"]
    assert me["account"] == {
        "id": user_id, "username": "card.user", "name": "李四", "mobile": "139****1111", "email": "card@example.cn",
        "status": "NORMAL", "mustChangePassword": True,
        "organization": {"id": PROVINCE_HC, "name": me["account"]["organization"]["name"]},
        "roles": [{"code": "MEDICAL_STAFF"}],
    }
    # A temporary password must be changed first; the links shown are the current ones.
    assert me["passwordStatus"]["state"] == "MUST_CHANGE" and me["passwordStatus"]["mustChange"]
    assert me["accountMappings"] == [{"externalUsername": "h001", "status": "LINKED", "systemCode": "his"}]
    everything = await ok(runtime, "{ me { accountMappings(includeUnlinked: true) { systemCode } } }",
                          caller=signed_in(user_id))
    assert [m["systemCode"] for m in everything["me"]["accountMappings"]] == ["his", "lis"]


async def test_password_status_reminds_within_seven_days_and_reports_expiry(runtime: Runtime) -> None:
    user_id, _ = await new_user(runtime, "expiry.user")
    now = datetime.now(UTC)
    status = "{ me { passwordStatus { state daysLeft mustChange reminder } } }"
    # The default policy: 90 days.
    await set_user(runtime, user_id, must_change_password=False, password_changed_at=now - timedelta(days=30))
    assert (await ok(runtime, status, caller=signed_in(user_id)))["me"]["passwordStatus"] == {
        "state": "OK", "daysLeft": 60, "mustChange": False, "reminder": None}
    await set_user(runtime, user_id, password_changed_at=now - timedelta(days=87))
    expiring = (await ok(runtime, status, caller=signed_in(user_id)))["me"]["passwordStatus"]
    assert expiring["state"] == "EXPIRING" and expiring["daysLeft"] == 3 and not expiring["mustChange"]
    assert "3天后过期" in expiring["reminder"]
    await set_user(runtime, user_id, password_changed_at=now - timedelta(days=91))
    expired = (await ok(runtime, status, caller=signed_in(user_id)))["me"]["passwordStatus"]
    assert expired["state"] == "EXPIRED" and expired["daysLeft"] == 0 and expired["mustChange"]


# --- contact --------------------------------------------------------------------------------------------


async def test_only_mobile_and_email_are_editable(runtime: Runtime) -> None:
    user_id, _ = await new_user(runtime, "contact.only")
    for field in ("name", "username", "organizationId", "status", "roleIds"):
        result = await run(runtime, f'mutation {{ updateMyContact({field}: "x") {{ account {{ id }} }} }}',
                           caller=signed_in(user_id))
        assert result.errors and "Unknown argument" in result.errors[0].message, field
    problem = await error(runtime, "mutation { updateMyContact { account { id } } }", caller=signed_in(user_id))
    assert problem["code"] == "BAD_USER_INPUT"
    row = await raw_user(runtime, user_id)
    assert row.username == "contact.only" and row.organization_id == PROVINCE_HC


async def test_a_new_mobile_is_encrypted_and_found_by_blind_index(runtime: Runtime) -> None:
    user_id, _ = await new_user(runtime, "contact.user", mobile="13700001234", email="old@example.cn")
    before = await raw_user(runtime, user_id)
    result = await ok(runtime, CONTACT, {"m": "+86 137-0000-5678", "e": "new@example.cn"}, caller=signed_in(user_id))
    assert result["updateMyContact"]["account"] == {"mobile": "137****5678", "email": "new@example.cn"}
    row = await raw_user(runtime, user_id)
    assert row.mobile_index != before.mobile_index and b"13700005678" not in (row.mobile_cipher or b"")
    # The name was sealed again with the mobile and still reads.
    assert (await ok(runtime, ME, caller=signed_in(user_id)))["me"]["account"]["name"] == "李四"
    search = "query($k: String) { users(keyword: $k, first: 50) { nodes { id } } }"
    assert {"id": user_id} in (await ok(runtime, search, {"k": "13700005678"}, caller=signed_in(ADMIN)))[
        "users"]["nodes"]
    assert {"id": user_id} not in (await ok(runtime, search, {"k": "13700001234"}, caller=signed_in(ADMIN)))[
        "users"]["nodes"]
    # An omitted field stays; null clears.
    await ok(runtime, CONTACT, {"e": None}, caller=signed_in(user_id))
    assert (await ok(runtime, ME, caller=signed_in(user_id)))["me"]["account"]["email"] is None
    assert (await ok(runtime, ME, caller=signed_in(user_id)))["me"]["account"]["mobile"] == "137****5678"


async def test_contact_values_are_validated(runtime: Runtime) -> None:
    user_id, _ = await new_user(runtime, "contact.bad", mobile="13700002222")
    for variables, field in (({"m": "12345"}, "mobile"), ({"e": "not-an-address"}, "email")):
        problem = await error(runtime, CONTACT, variables, caller=signed_in(user_id))
        assert problem["code"] == "BAD_USER_INPUT" and problem["field"] == field
    assert (await raw_user(runtime, user_id)).mobile_index is not None


async def test_a_frozen_account_cannot_change_itself(runtime: Runtime) -> None:
    user_id, _ = await new_user(runtime, "contact.frozen")
    await set_user(runtime, user_id, status="FROZEN")
    problem = await error(runtime, CONTACT, {"e": "f@example.cn"}, caller=signed_in(user_id))
    assert problem["code"] == "INVALID_STATE"


async def test_contact_edits_are_in_my_operation_log_without_the_values(runtime: Runtime) -> None:
    user_id, _ = await new_user(runtime, "contact.logged")
    await ok(runtime, CONTACT, {"m": "13600003333"}, caller=signed_in(user_id))
    log = (await ok(runtime, "{ myOperationLog { nodes { action actorId targetId detail } } }",
                    caller=signed_in(user_id)))["myOperationLog"]["nodes"]
    assert log[0] == {"action": "UPDATE_OWN_CONTACT", "actorId": user_id, "targetId": user_id,
                      "detail": '{"fields": ["mobile"]}'}
    assert all("13600003333" not in entry["detail"] for entry in log)
    # What the administrator did to the account is the other side of the same log.
    done_to_me = (await ok(runtime, "{ myOperationLog(involvement: TARGET) { nodes { action actorId } } }",
                           caller=signed_in(user_id)))["myOperationLog"]["nodes"]
    assert {"action": "CREATE_USER", "actorId": ADMIN} in done_to_me


# --- password ---------------------------------------------------------------------------------------------


async def test_a_wrong_current_password_is_refused(runtime: Runtime) -> None:
    user_id, temporary = await new_user(runtime, "pw.wrong")
    problem = await error(runtime, CHANGE, {"old": temporary + "x", "new": "Quite-Strong-2026"},
                          caller=signed_in(user_id))
    assert problem["code"] == "BAD_USER_INPUT" and problem["argument"] == "oldPassword"
    row = await raw_user(runtime, user_id)
    # Not a sign-in: it neither counts towards the lockout nor changes anything.
    assert verify_password(row.password_hash, temporary) and row.failed_logins == 0 and row.must_change_password


async def test_policy_violations_are_each_reported(runtime: Runtime) -> None:
    user_id, temporary = await new_user(runtime, "pw.weak")
    problem = await error(runtime, CHANGE, {"old": temporary, "new": "abc"}, caller=signed_in(user_id))
    assert problem["code"] == "BAD_USER_INPUT" and problem["argument"] == "newPassword"
    text = " ".join(problem["problems"])
    assert "at least 8 characters" in text and "digit" in text and "special character" in text
    assert verify_password((await raw_user(runtime, user_id)).password_hash, temporary)


async def test_changing_clears_must_change_and_history_and_interval_hold(runtime: Runtime) -> None:
    user_id, temporary = await new_user(runtime, "pw.change")
    first, second = "First-Pass-2026!", "Second-Pass-2026!"
    result = (await ok(runtime, CHANGE, {"old": temporary, "new": first}, caller=signed_in(user_id)))[
        "changeMyPassword"]
    assert result == {"account": {"mustChangePassword": False}, "passwordStatus": {"state": "OK"}}
    row = await raw_user(runtime, user_id)
    assert verify_password(row.password_hash, first) and not row.must_change_password
    # 1 day between two changes (the default policy) once the temporary password is gone.
    problem = await error(runtime, CHANGE, {"old": first, "new": second}, caller=signed_in(user_id))
    assert problem["code"] == "BAD_USER_INPUT" and "less than 1 day(s) ago" in " ".join(problem["problems"])
    assert row.password_changed_at is not None
    await set_user(runtime, user_id, password_changed_at=row.password_changed_at - timedelta(days=2))
    # The last 5 passwords (the temporary one included) cannot come back.
    for reused in (first, temporary):
        problem = await error(runtime, CHANGE, {"old": first, "new": reused}, caller=signed_in(user_id))
        assert "must differ from the last 5" in " ".join(problem["problems"]), reused
    await ok(runtime, CHANGE, {"old": first, "new": second}, caller=signed_in(user_id))
    assert verify_password((await raw_user(runtime, user_id)).password_hash, second)
    log = (await ok(runtime, "{ myOperationLog { nodes { action detail } } }", caller=signed_in(user_id)))[
        "myOperationLog"]["nodes"]
    assert [e["action"] for e in log[:2]] == ["CHANGE_OWN_PASSWORD", "CHANGE_OWN_PASSWORD"]
    assert all(second not in e["detail"] and first not in e["detail"] for e in log)
    async with runtime.sessions() as session:
        history = (await session.scalars(select(models.PasswordHistory.password_hash)
                                         .where(models.PasswordHistory.user_id == user_id))).all()
    assert len(history) == 3


# --- login records ------------------------------------------------------------------------------------------


async def test_login_records_are_the_last_30_days_newest_first_and_filtered(runtime: Runtime) -> None:
    user_id, _ = await new_user(runtime, "login.user")
    now = datetime.now(UTC)

    def event(days: float, method: str, success: bool, ip: str) -> models.LoginEvent:
        return models.LoginEvent(user_id=user_id, username="login.user", at=now - timedelta(days=days),
                                 method=method, ip=ip, device="Chrome", success=success,
                                 failure_reason=None if success else "WRONG_PASSWORD")

    async with runtime.sessions() as session, session.begin():
        session.add_all([
            event(1, "SSO", True, "10.0.0.1"), event(3, "CAS", False, "10.0.0.2"),
            event(29, "THIRD_PARTY", True, "10.0.0.3"), event(31, "SSO", True, "10.0.0.4"),
            event(200, "SSO", True, "10.0.0.5"),
            # Someone else's sign-in is never mine.
            models.LoginEvent(user_id=ADMIN, username="admin", at=now, method="SSO", ip="10.9.9.9", success=True),
        ])
    query = """query($from: DateTime, $to: DateTime, $method: LoginMethod, $success: Boolean, $first: Int!,
                     $after: String) {
        myLoginRecords(from: $from, to: $to, method: $method, success: $success, first: $first, after: $after) {
            nodes { ip method success failureReason device } pageInfo { hasNextPage endCursor } } }"""

    async def ips(**variables: Any) -> list[str]:
        page = (await ok(runtime, query, {"first": 20, **variables}, caller=signed_in(user_id)))["myLoginRecords"]
        return [n["ip"] for n in page["nodes"]]

    assert await ips() == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    # Asking for older records does not reach past the 30 days.
    assert await ips(**{"from": (now - timedelta(days=365)).isoformat()}) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert await ips(success=False) == ["10.0.0.2"]
    assert await ips(method="THIRD_PARTY") == ["10.0.0.3"]
    assert await ips(**{"from": (now - timedelta(days=5)).isoformat(), "to": (now - timedelta(days=2)).isoformat()}
                     ) == ["10.0.0.2"]
    first_page = (await ok(runtime, query, {"first": 2}, caller=signed_in(user_id)))["myLoginRecords"]
    assert [n["ip"] for n in first_page["nodes"]] == ["10.0.0.1", "10.0.0.2"]
    assert first_page["pageInfo"]["hasNextPage"]
    assert await ips(first=2, after=first_page["pageInfo"]["endCursor"]) == ["10.0.0.3"]
    failed = (await ok(runtime, query, {"first": 20, "success": False}, caller=signed_in(user_id)))
    assert failed["myLoginRecords"]["nodes"][0] == {"ip": "10.0.0.2", "method": "CAS", "success": False,
                                                    "failureReason": "WRONG_PASSWORD", "device": "Chrome"}
