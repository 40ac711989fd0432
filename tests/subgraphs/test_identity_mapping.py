"""identity: connected systems, account mappings (用户关联对照) with their log, import/export, automatic matching.

Everything goes through the subgraph's GraphQL schema on the session's seeded SQLite database. Each test makes
its own systems, users and third-party accounts under fresh names, so tests neither see each other's data
nor depend on what the seed put there.
"""

from __future__ import annotations

import base64
import csv
import io
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
from identity_callers import SEEDED_ADMIN, caller_of, user_caller
from sqlalchemy import select
from support import errors_of as errors_as
from support import execute as execute_as

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.common.validators import make_uscc
from subgraphs.identity import models
from subgraphs.identity.app import definition
from subgraphs.identity.domain import personal
from subgraphs.identity.mapping import matching

PROVINCE_HC = "org-320000-hc"
ADMIN = caller_of(SEEDED_ADMIN, region="320000", data_scope="ALL")


async def execute(runtime: Runtime, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """As the seeded province administrator (mappings are province-wide administration)."""
    return await execute_as(runtime, query, variables, caller=ADMIN)


async def errors_of(runtime: Runtime, query: str, variables: dict[str, Any] | None = None) -> list[Any]:
    return await errors_as(runtime, query, variables, caller=ADMIN)


async def another_admin(runtime: Runtime) -> str:
    """A further province administrator, to tell operators apart in the log."""
    subject = (await user_caller(runtime)).subject
    assert subject is not None
    return subject


async def runtime_of(sqlite_runtime: Any) -> Runtime:
    runtime: Runtime = await sqlite_runtime(definition)
    return runtime


def tag() -> str:
    return secrets.token_hex(4)


async def as_operator(runtime: Runtime, query: str, variables: dict[str, Any] | None, operator: str,
                      ip: str = "203.0.113.7") -> dict[str, Any]:
    """Run as a router-verified caller, from `ip` as the router forwards it."""
    context = runtime.context({"x-forwarded-for": f"{ip}, 10.0.0.1"})
    context.caller = Caller(subject=operator, client_id="portal-web", scopes=frozenset())
    result = await runtime.definition.schema.execute(query, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def make_system(runtime: Runtime, status: str = "ENABLED") -> str:
    code = f"T-{tag()}"
    await execute(runtime, """mutation($input: ConnectedSystemInput!) { createConnectedSystem(input: $input) {
        code } }""", {"input": {"code": code, "name": f"测试系统 {code}", "protocol": "CAS", "status": status}})
    return code


async def make_user(runtime: Runtime, username: str | None = None, *, mobile: str | None = None,
                    organization_id: str = PROVINCE_HC) -> tuple[str, str]:
    username = username or f"t{tag()}_user"
    user_id = f"usr-{username}"
    async with runtime.sessions() as session, session.begin():
        row = models.User(id=user_id, username=username, organization_id=organization_id, status="NORMAL",
                          created_at=datetime.now(UTC))
        if mobile is not None:
            personal.seal_personal(await personal.fresh_cipher(session), "测试用户", mobile).apply(row)
        else:
            row.display_name = "测试用户"
        session.add(row)
    return user_id, username


async def make_org(runtime: Runtime) -> tuple[str, str]:
    org_id = f"org-t-{tag()}"
    credit = make_uscc("1", "2", "320100", secrets.token_hex(4).upper())
    async with runtime.sessions() as session, session.begin():
        session.add(models.Organization(id=org_id, name="测试医院", kind="HOSPITAL", level="CITY",
                                        region_code="320100", credit_code=credit, parent_id=None))
    return org_id, credit


async def add_accounts(runtime: Runtime, system: str, *accounts: dict[str, Any]) -> None:
    async with runtime.sessions() as session, session.begin():
        for account in accounts:
            session.add(models.ExternalUser(system_code=system, **account))


def random_mobile() -> str:
    return f"19{secrets.randbelow(10**9):09d}"


LINK = """mutation($input: LinkAccountMappingInput!) { linkAccountMapping(input: $input) {
    id externalUsername status method remark userId systemCode operatorId user { id username }
    system { code name } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateAccountMappingInput!) { updateAccountMapping(id: $id, input: $input) {
    id externalUsername remark status method } }"""
UNLINK = """mutation($id: ID!, $reason: String) { unlinkAccountMapping(id: $id, reason: $reason) {
    id status externalUsername } }"""
LOG = """query($filter: AccountMappingLogFilter) { accountMappingLog(filter: $filter, first: 100) { nodes {
    id mappingId operation oldExternalUsername newExternalUsername oldRemark newRemark reason operatorId ip at
    mapping { user { username } system { code } } } } }"""


async def link(runtime: Runtime, user_id: str, system: str, external: str, remark: str | None = None,
               operator: str = "usr-js_hc_01") -> dict[str, Any]:
    data = await as_operator(runtime, LINK, {"input": {"userId": user_id, "systemCode": system,
                                                       "externalUsername": external, "remark": remark,
                                                       "reason": "入职开通"}}, operator)
    mapping: dict[str, Any] = data["linkAccountMapping"]
    return mapping


async def log_of(runtime: Runtime, mapping_id: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await execute(runtime, LOG, {"filter": {"mappingId": mapping_id}}))[
        "accountMappingLog"]["nodes"]
    return nodes


def code_of(errors: list[Any]) -> str:
    return str(errors[0].extensions["code"])


# --- connected systems ---------------------------------------------------------------------------


async def test_connected_systems_create_update_list(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    code = await make_system(runtime)
    errors = await errors_of(runtime, """mutation($input: ConnectedSystemInput!) { createConnectedSystem(
        input: $input) { code } }""", {"input": {"code": code, "name": "again"}})
    assert code_of(errors) == "CONFLICT"
    errors = await errors_of(runtime, """mutation { createConnectedSystem(input: {code: "bad code!", name: "x"}) {
        code } }""")
    assert code_of(errors) == "BAD_USER_INPUT"
    data = await execute(runtime, """mutation($code: ID!) { updateConnectedSystem(code: $code, input: {
        name: "改名", protocol: OAUTH2, status: DISABLED }) { code name protocol status } }""", {"code": code})
    assert data["updateConnectedSystem"] == {"code": code, "name": "改名", "protocol": "OAUTH2",
                                             "status": "DISABLED"}
    data = await execute(runtime, """query($kw: String) { connectedSystems(keyword: $kw, status: DISABLED) {
        nodes { code } } }""", {"kw": code.lower()})
    assert [n["code"] for n in data["connectedSystems"]["nodes"]] == [code]
    # A disabled system takes no new links.
    user_id, _ = await make_user(runtime)
    errors = await errors_of(runtime, LINK, {"input": {"userId": user_id, "systemCode": code,
                                                       "externalUsername": "x"}})
    assert code_of(errors) == "INVALID_STATE"


async def test_seeded_systems_come_from_the_tender(sqlite_runtime: Any) -> None:
    from subgraphs.common.app import SeedOptions
    from subgraphs.identity.mapping.seed import SYSTEMS, seed_mapping_data

    runtime = await runtime_of(sqlite_runtime)
    async with runtime.sessions() as session:
        # identity's seed may not call it yet: then seed here, in a transaction that is rolled back.
        await seed_mapping_data(session, SeedOptions(seed=20260101, persons=600))
        names = set((await session.scalars(select(models.ConnectedSystem.name).where(
            models.ConnectedSystem.code.in_([s[0] for s in SYSTEMS])))).all())
        mobiles = list((await session.scalars(select(models.ExternalUser.mobile).where(
            models.ExternalUser.system_code == SYSTEMS[0][0]))).all())
        await session.rollback()
    assert len(names) == 10 and {"江苏省卫生健康云影像平台", "江苏省全民健康信息平台"} <= names
    assert len(mobiles) > 100
    assert any(m and m.startswith("+86") for m in mobiles)


# --- manual links, edits, unlinks and their log ----------------------------------------------------


async def test_link_edit_unlink_with_log(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    second, third = await another_admin(runtime), await another_admin(runtime)
    system = await make_system(runtime)
    user_id, username = await make_user(runtime)
    mapping = await link(runtime, user_id, system, "zhang.san", "有效期至2026-12-31")
    assert mapping["status"] == "LINKED" and mapping["method"] == "MANUAL"
    assert mapping["operatorId"] == "usr-js_hc_01"
    assert mapping["user"] == {"id": user_id, "username": username}
    assert mapping["system"]["code"] == system

    data = await as_operator(runtime, UPDATE, {"id": mapping["id"], "input": {
        "externalUsername": "zhangsan01", "remark": "改名后的账号", "reason": "第三方系统账号变更"}}, second)
    assert data["updateAccountMapping"]["externalUsername"] == "zhangsan01"
    assert data["updateAccountMapping"]["remark"] == "改名后的账号"
    # Nothing changes: nothing is logged.
    await as_operator(runtime, UPDATE, {"id": mapping["id"], "input": {"externalUsername": "zhangsan01"}}, second)

    data = await as_operator(runtime, UNLINK, {"id": mapping["id"], "reason": "离职"}, third, ip="2001:db8::5")
    assert data["unlinkAccountMapping"]["status"] == "UNLINKED"

    log = await log_of(runtime, mapping["id"])
    assert [e["operation"] for e in log] == ["LINK", "EDIT", "UNLINK"]
    assert (log[0]["oldExternalUsername"], log[0]["newExternalUsername"]) == (None, "zhang.san")
    assert log[0]["newRemark"] == "有效期至2026-12-31" and log[0]["reason"] == "入职开通"
    assert (log[1]["oldExternalUsername"], log[1]["newExternalUsername"]) == ("zhang.san", "zhangsan01")
    assert (log[1]["oldRemark"], log[1]["newRemark"]) == ("有效期至2026-12-31", "改名后的账号")
    assert (log[2]["oldExternalUsername"], log[2]["newExternalUsername"]) == ("zhangsan01", None)
    assert [e["operatorId"] for e in log] == ["usr-js_hc_01", second, third]
    # The first x-forwarded-for entry, as the router forwarded it.
    assert [e["ip"] for e in log] == ["203.0.113.7", "203.0.113.7", "2001:db8::5"]
    assert log[0]["mapping"] == {"user": {"username": username}, "system": {"code": system}}

    # An unlinked mapping is not edited, and not unlinked twice ...
    errors = await errors_of(runtime, UPDATE, {"id": mapping["id"], "input": {"externalUsername": "x"}})
    assert code_of(errors) == "INVALID_STATE"
    errors = await errors_of(runtime, UNLINK, {"id": mapping["id"]})
    assert code_of(errors) == "INVALID_STATE"
    # ... but linked again: the same row (one per user and system), the log keeping both relations.
    again = await link(runtime, user_id, system, "zs2026")
    assert again["id"] == mapping["id"] and again["status"] == "LINKED"
    log = await log_of(runtime, mapping["id"])
    assert [e["operation"] for e in log] == ["LINK", "EDIT", "UNLINK", "LINK"]
    assert (log[3]["oldExternalUsername"], log[3]["newExternalUsername"]) == ("zhangsan01", "zs2026")


async def test_portal_user_and_system_are_immutable(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system, other_system = await make_system(runtime), await make_system(runtime)
    user_id, _ = await make_user(runtime)
    other_user, _ = await make_user(runtime)
    mapping = await link(runtime, user_id, system, f"acc-{tag()}")
    errors = await errors_of(runtime, UPDATE, {"id": mapping["id"], "input": {"userId": other_user}})
    assert code_of(errors) == "BAD_USER_INPUT" and "portal user" in errors[0].message
    errors = await errors_of(runtime, UPDATE, {"id": mapping["id"], "input": {"systemCode": other_system}})
    assert code_of(errors) == "BAD_USER_INPUT" and "system" in errors[0].message
    # Naming the mapping's own user and system is no change.
    data = await execute(runtime, UPDATE, {"id": mapping["id"], "input": {
        "userId": user_id, "systemCode": system, "remark": None}})
    assert data["updateAccountMapping"]["remark"] is None
    assert [e["operation"] for e in await log_of(runtime, mapping["id"])] == ["LINK"]


async def test_mapping_is_one_to_one(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system = await make_system(runtime)
    alice, _ = await make_user(runtime)
    bob, _ = await make_user(runtime)
    first = await link(runtime, alice, system, "shared")
    # One mapping per user and system ...
    errors = await errors_of(runtime, LINK, {"input": {"userId": alice, "systemCode": system,
                                                       "externalUsername": "other"}})
    assert code_of(errors) == "CONFLICT" and errors[0].extensions["mappingId"] == first["id"]
    # ... and one portal user per third-party account, also when editing.
    errors = await errors_of(runtime, LINK, {"input": {"userId": bob, "systemCode": system,
                                                       "externalUsername": "shared"}})
    assert code_of(errors) == "CONFLICT"
    bobs = await link(runtime, bob, system, "bob")
    errors = await errors_of(runtime, UPDATE, {"id": bobs["id"], "input": {"externalUsername": "shared"}})
    assert code_of(errors) == "CONFLICT"
    # Once alice's is unlinked, the account is free.
    await execute(runtime, UNLINK, {"id": first["id"]})
    data = await execute(runtime, UPDATE, {"id": bobs["id"], "input": {"externalUsername": "shared"}})
    assert data["updateAccountMapping"]["externalUsername"] == "shared"
    # Bad input is refused before anything is written.
    errors = await errors_of(runtime, LINK, {"input": {"userId": alice, "systemCode": system,
                                                       "externalUsername": "   "}})
    assert code_of(errors) == "BAD_USER_INPUT"
    errors = await errors_of(runtime, LINK, {"input": {"userId": "usr-nobody", "systemCode": system,
                                                       "externalUsername": "x"}})
    assert code_of(errors) == "NOT_FOUND"


async def test_mapping_list_filters_and_user_view(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system = await make_system(runtime)
    marker = tag()
    alice, alice_name = await make_user(runtime, f"t{marker}_alice")
    bob, _ = await make_user(runtime, f"t{marker}_bob")
    carol, _ = await make_user(runtime, f"t{marker}_carol")
    await link(runtime, alice, system, "A-ONE")
    bob_mapping = await link(runtime, bob, system, f"Ext{marker}Bob")
    carol_mapping = await link(runtime, carol, system, "c3")
    await execute(runtime, UNLINK, {"id": carol_mapping["id"]})
    query = """query($filter: AccountMappingFilter, $after: String) { accountMappings(filter: $filter, first: 2,
        after: $after) { nodes { id userId externalUsername status } pageInfo { hasNextPage endCursor } } }"""

    async def ids(filter: dict[str, Any]) -> list[str]:
        out: list[str] = []
        after = None
        while True:
            page = (await execute(runtime, query, {"filter": filter, "after": after}))["accountMappings"]
            out += [n["userId"] for n in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                return out
            after = page["pageInfo"]["endCursor"]

    assert await ids({"systemCode": system}) == [alice, bob, carol]
    assert await ids({"systemCode": system, "status": "LINKED"}) == [alice, bob]
    assert await ids({"systemCode": system, "status": "UNLINKED", "method": "MANUAL"}) == [carol]
    assert await ids({"systemCode": system, "method": "AUTO"}) == []
    # keyword: part of the portal username or of the third-party username, in any case
    assert await ids({"keyword": alice_name.upper()}) == [alice]
    assert await ids({"keyword": f"ext{marker}bob"}) == [bob]
    assert await ids({"keyword": f"t{marker}_"}) == [alice, bob, carol]
    assert await ids({"keyword": f"t{marker}%"}) == []  # a typed % is literal, not a wildcard
    data = await execute(runtime, """query($u: ID!) { accountMappingsOfUser(userId: $u) { id systemCode
        status } }""", {"u": bob})
    assert data["accountMappingsOfUser"] == [{"id": bob_mapping["id"], "systemCode": system, "status": "LINKED"}]


async def test_log_filters(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system = await make_system(runtime)
    user_id, _ = await make_user(runtime)
    second = await another_admin(runtime)
    before = datetime.now(UTC) - timedelta(seconds=1)
    mapping = await link(runtime, user_id, system, "log-a", operator="usr-js_hc_01")
    await as_operator(runtime, UPDATE, {"id": mapping["id"], "input": {"externalUsername": "log-b"}}, second)
    await as_operator(runtime, UNLINK, {"id": mapping["id"]}, second)
    after = datetime.now(UTC) + timedelta(seconds=1)

    async def operations(filter: dict[str, Any]) -> list[str]:
        data = await execute(runtime, LOG, {"filter": {"systemCode": system, **filter}})
        return [n["operation"] for n in data["accountMappingLog"]["nodes"]]

    assert await operations({}) == ["LINK", "EDIT", "UNLINK"]
    assert await operations({"operatorId": second}) == ["EDIT", "UNLINK"]
    assert await operations({"operation": "EDIT"}) == ["EDIT"]
    assert await operations({"since": before.isoformat(), "until": after.isoformat()}) == ["LINK", "EDIT", "UNLINK"]
    assert await operations({"until": before.isoformat()}) == []
    data = await execute(runtime, """query($f: AccountMappingLogFilter) { exportAccountMappingLog(format: CSV,
        filter: $f) { filename rows contentBase64 } }""", {"f": {"systemCode": system}})
    export = data["exportAccountMappingLog"]
    rows = list(csv.reader(io.StringIO(base64.b64decode(export["contentBase64"]).decode("utf-8-sig"))))
    assert export["rows"] == 3 and rows[0][:3] == ["操作人", "操作时间", "操作类型"]
    assert [r[2] for r in rows[1:]] == ["关联", "编辑", "解除"]
    assert rows[2][5:7] == ["log-a", "log-b"]


# --- import and export ---------------------------------------------------------------------------


def csv_file(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return base64.b64encode(("\ufeff" + buffer.getvalue()).encode("utf-8")).decode()


def xlsx_file(rows: list[list[str]]) -> str:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return base64.b64encode(out.getvalue()).decode()


IMPORT = """mutation($format: FileFormat!, $file: String!, $dryRun: Boolean!) { importAccountMappings(
    format: $format, file: $file, dryRun: $dryRun) { ok dryRun linked unchanged errors { row column message } } }"""
HEADER = ["门户用户名", "第三方系统编码", "第三方用户名", "备注"]


async def mappings_in(runtime: Runtime, system: str) -> list[models.AccountMapping]:
    async with runtime.sessions() as session:
        return list((await session.scalars(select(models.AccountMapping).where(
            models.AccountMapping.system_code == system).order_by(models.AccountMapping.id))).all())


async def test_import_is_all_or_nothing(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system = await make_system(runtime)
    _, a = await make_user(runtime)
    _, b = await make_user(runtime)
    taken_user, c = await make_user(runtime)
    await link(runtime, taken_user, system, "owned")
    bad = [HEADER,
           [a, system, "imp-a", "批量"],
           [b, "NO-SUCH-SYSTEM", "imp-b", ""],
           ["no_such_user", system, "imp-x", ""],
           [b, system, "", ""],
           [a, system, "imp-dup", ""],          # a second row for the same user and system
           [b, system, "owned", ""],            # linked to another portal user already
           [c, system, "another", ""]]          # c is linked to another account already
    result = (await execute(runtime, IMPORT, {"format": "CSV", "file": csv_file(bad), "dryRun": False}))[
        "importAccountMappings"]
    assert result["ok"] is False and result["linked"] == 0
    by_row = {(e["row"], e["column"]) for e in result["errors"]}
    assert by_row == {(3, "systemCode"), (4, "username"), (5, "externalUsername"), (6, "username"),
                      (7, "externalUsername"), (8, "externalUsername")}
    assert [m.external_username for m in await mappings_in(runtime, system)] == ["owned"]  # nothing written

    good = [HEADER, [a, system, "imp-a", "批量"], [b, system, "-dash-user", ""], [c, system, "owned", ""]]
    dry = (await execute(runtime, IMPORT, {"format": "XLSX", "file": xlsx_file(good), "dryRun": True}))[
        "importAccountMappings"]
    assert dry == {"ok": True, "dryRun": True, "linked": 2, "unchanged": 1, "errors": []}
    assert len(await mappings_in(runtime, system)) == 1
    done = (await execute(runtime, IMPORT, {"format": "XLSX", "file": xlsx_file(good), "dryRun": False}))[
        "importAccountMappings"]
    assert done == {"ok": True, "dryRun": False, "linked": 2, "unchanged": 1, "errors": []}
    rows = await mappings_in(runtime, system)
    assert sorted(m.external_username for m in rows) == sorted(["owned", "imp-a", "-dash-user"])
    assert {m.method for m in rows} == {"MANUAL"}
    imported = next(m for m in rows if m.external_username == "imp-a")
    assert [e["operation"] for e in await log_of(runtime, imported.id)] == ["LINK"]

    # Export what the filter keeps; a formula-like cell is written as text, and imports back as it was.
    data = await execute(runtime, """query($f: AccountMappingFilter) { exportAccountMappings(format: XLSX,
        filter: $f) { filename contentType rows contentBase64 } }""", {"f": {"systemCode": system}})
    export = data["exportAccountMappings"]
    assert export["filename"].endswith(".xlsx") and export["rows"] == 3
    sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(export["contentBase64"]))).worksheets[0]
    table = [[c.value for c in r] for r in sheet.iter_rows()]
    assert table[0][:5] == ["门户用户名", "姓名", "第三方系统编码", "第三方系统", "第三方用户名"]
    assert "'-dash-user" in [r[4] for r in table[1:]]
    assert {r[5] for r in table[1:]} == {"已关联"} and {r[6] for r in table[1:]} == {"手动"}
    again = [HEADER] + [[str(r[0]), str(r[2]), str(r[4]), str(r[9] or "")] for r in table[1:]]
    result = (await execute(runtime, IMPORT, {"format": "XLSX", "file": xlsx_file(again), "dryRun": True}))[
        "importAccountMappings"]
    assert result["ok"] and result["unchanged"] == 3

    template = (await execute(runtime, "{ accountMappingImportTemplate(format: CSV) { contentBase64 rows } }"))[
        "accountMappingImportTemplate"]
    assert base64.b64decode(template["contentBase64"]).decode("utf-8-sig").strip() == ",".join(HEADER)


async def test_import_refuses_unreadable_files(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    errors = await errors_of(runtime, IMPORT, {"format": "XLSX", "file": base64.b64encode(b"not a zip").decode(),
                                               "dryRun": True})
    assert code_of(errors) == "BAD_USER_INPUT"
    errors = await errors_of(runtime, IMPORT, {"format": "CSV", "file": "%%%", "dryRun": True})
    assert code_of(errors) == "BAD_USER_INPUT"
    errors = await errors_of(runtime, IMPORT, {"format": "CSV", "file": csv_file([["a", "b"], ["1", "2"]]),
                                               "dryRun": True})
    assert code_of(errors) == "BAD_USER_INPUT" and "门户用户名" in errors[0].message


# --- automatic matching --------------------------------------------------------------------------

START = """mutation($input: StartAccountMatchingInput!) { startAccountMatching(input: $input) { id state } }"""
RUN = """query($id: ID!, $result: MatchOutcome) { matchRun(id: $id) { id state rule total progress matched
    succeeded failed unmatched finishedAt system { code }
    results(result: $result, first: 100) { nodes { userId result externalUsername detail } } } }"""


async def run_matching(runtime: Runtime, system: str, field: str, precision: str = "EXACT",
                       scope: str = "ALL") -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Start a run, wait for it, and return it with the outcomes of users who had a candidate or failed."""
    started = (await execute(runtime, START, {"input": {"systemCode": system, "field": field,
                                                        "precision": precision, "scope": scope}}))
    run_id = started["startAccountMatching"]["id"]
    assert started["startAccountMatching"]["state"] == "RUNNING"
    await matching.wait_for_run(run_id)
    run = (await execute(runtime, RUN, {"id": run_id}))["matchRun"]
    outcomes: dict[str, dict[str, Any]] = {}
    for result in ("SUCCESS", "FAILED"):
        data = (await execute(runtime, RUN, {"id": run_id, "result": result}))["matchRun"]
        outcomes.update({n["userId"]: n for n in data["results"]["nodes"]})
    return run, outcomes


def check_counts(run: dict[str, Any]) -> None:
    assert run["state"] == "FINISHED" and run["finishedAt"] is not None and run["progress"] == 1.0
    assert run["matched"] == run["total"] == run["succeeded"] + run["failed"] + run["unmatched"]


async def test_match_by_username_exact(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system = await make_system(runtime)
    m = tag()
    plain, plain_name = await make_user(runtime, f"m{m}_plain")
    manual, manual_name = await make_user(runtime, f"m{m}_manual")
    cased, _ = await make_user(runtime, f"m{m}_cased")
    taker, _ = await make_user(runtime, f"m{m}_taker")
    _, taken_name = await make_user(runtime, f"m{m}_taken")
    await add_accounts(runtime, system, {"username": plain_name}, {"username": manual_name},
                       {"username": f"M{m}_CASED"}, {"username": taken_name})
    manual_mapping = await link(runtime, manual, system, "hand-picked")  # an operator's choice stands
    await link(runtime, taker, system, taken_name)  # the account is someone else's already

    run, outcomes = await run_matching(runtime, system, "USERNAME")
    check_counts(run)
    assert run["rule"] == "USERNAME EXACT ALL" and run["system"] == {"code": system}
    assert outcomes[plain]["result"] == "SUCCESS" and outcomes[plain]["externalUsername"] == plain_name
    assert outcomes[manual]["result"] == "FAILED" and "manual mapping" in outcomes[manual]["detail"]
    assert cased not in outcomes  # exact: case matters, so UNMATCHED
    assert outcomes[f"usr-{taken_name}"]["result"] == "FAILED"
    assert "already linked to another portal user" in outcomes[f"usr-{taken_name}"]["detail"]
    assert run["succeeded"] == 1 and run["failed"] == 2
    assert taker not in outcomes  # no account is named like taker: UNMATCHED

    data = await execute(runtime, """query($u: ID!) { accountMappingsOfUser(userId: $u) { id externalUsername
        method status operatorId } }""", {"u": plain})
    mapping = data["accountMappingsOfUser"][0]
    assert (mapping["externalUsername"], mapping["method"], mapping["status"]) == (plain_name, "AUTO", "LINKED")
    log = await log_of(runtime, mapping["id"])
    assert [e["operation"] for e in log] == ["LINK"] and "自动匹配" in log[0]["reason"]
    # The manual mapping is untouched.
    assert (await execute(runtime, "query($id: ID!) { accountMapping(id: $id) { externalUsername method } }",
                          {"id": manual_mapping["id"]}))["accountMapping"] == {
        "externalUsername": "hand-picked", "method": "MANUAL"}
    # UNMATCHED users are listed too (the manual-link entry point), filtered by result.
    unmatched = (await execute(runtime, RUN, {"id": run["id"], "result": "UNMATCHED"}))["matchRun"]["results"]
    assert all(n["result"] == "UNMATCHED" for n in unmatched["nodes"])


async def test_match_by_username_fuzzy(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system = await make_system(runtime)
    m = tag()
    cased, _ = await make_user(runtime, f"f{m}_cased")
    typo, _ = await make_user(runtime, f"f{m}_typoname")
    twice, _ = await make_user(runtime, f"f{m}_twice")
    await add_accounts(runtime, system,
                       {"username": f"F{m}-CASED"},                         # case and separator
                       {"username": f"f{m}typonam"},                        # one letter missing
                       {"username": f"F{m}.Twice"}, {"username": f"f{m} twice"})  # two accounts normalise alike
    run, outcomes = await run_matching(runtime, system, "USERNAME", "FUZZY")
    check_counts(run)
    assert outcomes[cased]["result"] == "SUCCESS" and outcomes[cased]["externalUsername"] == f"F{m}-CASED"
    assert outcomes[typo]["result"] == "SUCCESS" and outcomes[typo]["externalUsername"] == f"f{m}typonam"
    assert outcomes[twice]["result"] == "FAILED" and outcomes[twice]["detail"].startswith("2 candidates")
    assert run["succeeded"] == 2 and run["failed"] == 1
    # EXACT on the same accounts finds none of them (UNMATCHED, so not among SUCCESS and FAILED).
    run, outcomes = await run_matching(runtime, system, "USERNAME", "EXACT")
    assert not {cased, typo, twice} & set(outcomes)


async def test_match_by_mobile_exact_and_fuzzy(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system = await make_system(runtime)
    mobiles = [random_mobile() for _ in range(4)]
    exact, _ = await make_user(runtime, mobile=mobiles[0])
    prefixed, _ = await make_user(runtime, mobile=mobiles[1])
    shared, _ = await make_user(runtime, mobile=mobiles[2])
    nobody, _ = await make_user(runtime, mobile=mobiles[3])
    await add_accounts(runtime, system,
                       {"username": "mob-exact", "mobile": mobiles[0]},
                       {"username": "mob-prefixed", "mobile": f"+86 {mobiles[1][:3]}-{mobiles[1][3:]}"},
                       {"username": "mob-shared-1", "mobile": mobiles[2]},
                       {"username": "mob-shared-2", "mobile": f"0086{mobiles[2]}"})
    run, outcomes = await run_matching(runtime, system, "MOBILE", "EXACT")
    check_counts(run)
    assert outcomes[exact]["externalUsername"] == "mob-exact" and outcomes[exact]["result"] == "SUCCESS"
    assert prefixed not in outcomes  # "+86 138-..." is not the same string
    assert outcomes[shared]["result"] == "SUCCESS"  # exact: only mob-shared-1 carries the bare number
    assert nobody not in outcomes

    system2 = await make_system(runtime)
    await add_accounts(runtime, system2,
                       {"username": "mob-prefixed", "mobile": f"+86 {mobiles[1][:3]}-{mobiles[1][3:]}"},
                       {"username": "mob-shared-1", "mobile": mobiles[2]},
                       {"username": "mob-shared-2", "mobile": f"0086{mobiles[2]}"})
    run, outcomes = await run_matching(runtime, system2, "MOBILE", "FUZZY")
    check_counts(run)
    assert outcomes[prefixed]["result"] == "SUCCESS" and outcomes[prefixed]["externalUsername"] == "mob-prefixed"
    assert outcomes[shared]["result"] == "FAILED" and "mob-shared-1, mob-shared-2" in outcomes[shared]["detail"]


async def test_match_by_credit_code(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system = await make_system(runtime)
    org, credit = await make_org(runtime)
    crowded_org, crowded_credit = await make_org(runtime)
    unit, _ = await make_user(runtime, organization_id=org)
    crowded, _ = await make_user(runtime, organization_id=crowded_org)
    spaced = f"{credit[:6]} {credit[6:]}".lower()
    await add_accounts(runtime, system, {"username": "unit-admin", "credit_code": spaced},
                       {"username": "crowd-1", "credit_code": crowded_credit},
                       {"username": "crowd-2", "credit_code": crowded_credit})
    run, outcomes = await run_matching(runtime, system, "CREDIT_CODE", "EXACT")
    check_counts(run)
    assert unit not in outcomes  # lower case with a blank: not equal
    assert outcomes[crowded]["result"] == "FAILED" and outcomes[crowded]["detail"].startswith("2 candidates")
    run, outcomes = await run_matching(runtime, system, "CREDIT_CODE", "FUZZY")
    assert outcomes[unit]["result"] == "SUCCESS" and outcomes[unit]["externalUsername"] == "unit-admin"


async def test_match_new_users_only(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system = await make_system(runtime)
    m = tag()
    old, old_name = await make_user(runtime, f"n{m}_old")
    await add_accounts(runtime, system, {"username": old_name})
    first, outcomes = await run_matching(runtime, system, "USERNAME", "EXACT", "NEW")
    assert outcomes[old]["result"] == "SUCCESS"
    assert first["total"] > 1000  # the first NEW run of a system covers everyone

    new, new_name = await make_user(runtime, f"n{m}_new")
    await add_accounts(runtime, system, {"username": new_name})
    second, outcomes = await run_matching(runtime, system, "USERNAME", "EXACT", "NEW")
    check_counts(second)
    assert second["total"] == second["matched"] == 1 and set(outcomes) == {new}
    assert outcomes[new]["result"] == "SUCCESS"
    # ALL still covers everybody; old's mapping is already there.
    everyone, outcomes = await run_matching(runtime, system, "USERNAME", "EXACT", "ALL")
    assert everyone["total"] >= first["total"] + 1
    assert outcomes[old]["detail"] == outcomes[new]["detail"] == "already linked to this account"


async def test_auto_mapping_moves_but_unlinked_pair_stays_unlinked(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system = await make_system(runtime)
    m = tag()
    mover, mover_name = await make_user(runtime, f"a{m}_mover")
    refused, refused_name = await make_user(runtime, f"a{m}_refused")
    await add_accounts(runtime, system, {"username": mover_name, "mobile": None},
                       {"username": refused_name})
    _, outcomes = await run_matching(runtime, system, "USERNAME")
    assert outcomes[mover]["result"] == outcomes[refused]["result"] == "SUCCESS"
    refused_mapping = (await execute(runtime, "query($u: ID!) { accountMappingsOfUser(userId: $u) { id } }",
                                     {"u": refused}))["accountMappingsOfUser"][0]
    await execute(runtime, UNLINK, {"id": refused_mapping["id"], "reason": "错误关联"})
    # The third party renames mover's account: the automatic mapping follows (fuzzy: one letter off).
    async with runtime.sessions() as session, session.begin():
        account = await session.get(models.ExternalUser, (system, mover_name))
        assert account is not None
        await session.delete(account)
        session.add(models.ExternalUser(system_code=system, username=mover_name + "x"))
    _, outcomes = await run_matching(runtime, system, "USERNAME", "FUZZY")
    assert outcomes[mover]["result"] == "SUCCESS" and outcomes[mover]["detail"].startswith("automatic mapping moved")
    assert outcomes[refused]["result"] == "FAILED" and "unlinked" in outcomes[refused]["detail"]
    assert (await execute(runtime, "query($id: ID!) { accountMapping(id: $id) { status } }",
                          {"id": refused_mapping["id"]}))["accountMapping"]["status"] == "UNLINKED"


async def test_a_running_run_blocks_another_until_stale(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    system = await make_system(runtime)
    now = datetime.now(UTC)
    async with runtime.sessions() as session, session.begin():
        session.add(models.MatchRun(id=f"mr-stale-{tag()}", system_code=system, match_field="USERNAME",
                                    precision="EXACT", scope="ALL", started_at=now - timedelta(hours=3)))
    stale_run = (await execute(runtime, "query($s: ID!) { matchRuns(systemCode: $s) { nodes { id state } } }",
                               {"s": system}))["matchRuns"]["nodes"]
    assert [r["state"] for r in stale_run] == ["INTERRUPTED"]
    async with runtime.sessions() as session, session.begin():
        session.add(models.MatchRun(id=f"mr-live-{tag()}", system_code=system, match_field="USERNAME",
                                    precision="EXACT", scope="ALL", started_at=now))
    errors = await errors_of(runtime, START, {"input": {"systemCode": system, "field": "USERNAME"}})
    assert code_of(errors) == "CONFLICT"
    errors = await errors_of(runtime, START, {"input": {"systemCode": "NO-SUCH", "field": "USERNAME"}})
    assert code_of(errors) == "NOT_FOUND"


def test_fuzzy_rules() -> None:
    assert matching.fuzzy_username("Zhang_San-01 ") == matching.fuzzy_username("ｚｈａｎｇ.san01")
    assert matching.within_one_edit("zhangsan", "zhangsa") and matching.within_one_edit("zhangsan", "zhangsam")
    assert not matching.within_one_edit("zhangsan", "zhnagsan")  # a transposition is two edits
    assert matching.fuzzy_mobile("+86 138-0000-0000") == matching.fuzzy_mobile("８６13800000000") == "13800000000"
    assert matching.fuzzy_credit_code("12320100 mb1234567x") == "12320100MB1234567X"
