"""identity security over GraphQL: the policies, the live password check, the IP blacklist with import
and export, the encryption settings and test, the key-rotation log and the login log."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from identity_callers import admin_system
from openpyxl import load_workbook
from support import errors_of as errors_as
from support import execute as execute_as

from db.engine import make_engine
from db.migrate import upgrade
from subgraphs.common.app import Runtime
from subgraphs.common.bus import InProcessBus
from subgraphs.identity import models
from subgraphs.identity.app import definition
from subgraphs.identity.security.crypto import MasterKey
from subgraphs.identity.security.login import record_login
from subgraphs.identity.security.rotation import rotate_keys

# The security settings are province-wide administration: these tests call as a system with identity:admin
# (the database is not seeded, so there is no administrator account to call as).
ADMIN = admin_system()


async def execute(runtime: Runtime, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return await execute_as(runtime, query, variables, caller=ADMIN)


async def errors_of(runtime: Runtime, query: str, variables: dict[str, Any] | None = None) -> list[Any]:
    return await errors_as(runtime, query, variables, caller=ADMIN)


@pytest.fixture
async def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    """identity on its own fresh database (these tests change policies: never the shared one)."""
    monkeypatch.setenv("JSHEALTH_MASTER_KEY", "11" * 32)
    engine = make_engine("identity", f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}")
    await upgrade(engine, "identity")
    yield Runtime(definition, engine, InProcessBus())
    await engine.dispose()


PASSWORD_FIELDS = "minLength maxLength requireLetter requireMixedCase requireDigit requireSpecial minStrength " \
                  "expiryDays reminderDays minChangeIntervalDays history"


async def test_password_policy_read_update_reset(runtime: Runtime) -> None:
    data = await execute(runtime, f"{{ passwordPolicy {{ {PASSWORD_FIELDS} }} }}")
    assert data["passwordPolicy"] == {
        "minLength": 8, "maxLength": 32, "requireLetter": True, "requireMixedCase": False, "requireDigit": True,
        "requireSpecial": True, "minStrength": "MEDIUM", "expiryDays": 90, "reminderDays": 7,
        "minChangeIntervalDays": 1, "history": 5}
    updated = await execute(runtime, """mutation { updatePasswordPolicy(input: {minLength: 6, history: 10,
        minStrength: STRONG}) { minLength maxLength history minStrength } }""")
    assert updated["updatePasswordPolicy"] == {"minLength": 6, "maxLength": 32, "history": 10,
                                               "minStrength": "STRONG"}
    again = await execute(runtime, "{ passwordPolicy { minLength history } }")
    assert again["passwordPolicy"] == {"minLength": 6, "history": 10}
    for field, value in (("minLength", 5), ("maxLength", 33), ("history", 11), ("expiryDays", 366),
                         ("minChangeIntervalDays", 0)):
        errors = await errors_of(runtime, f"mutation {{ updatePasswordPolicy(input: {{{field}: {value}}}) "
                                          "{ minLength } }")
        assert errors[0].extensions == {"code": "BAD_USER_INPUT", "argument": field}
    reset = await execute(runtime, "mutation { resetPasswordPolicy { minLength history } }")
    assert reset["resetPasswordPolicy"] == {"minLength": 8, "history": 5}


async def test_password_strength_is_checked_live(runtime: Runtime) -> None:
    query = "query($p: String!) { passwordStrength(password: $p) { strength acceptable problems } }"
    weak = (await execute(runtime, query, {"p": "abc"}))["passwordStrength"]
    assert weak["strength"] == "WEAK" and not weak["acceptable"] and len(weak["problems"]) >= 3
    strong = (await execute(runtime, query, {"p": "Abcdefghij1!"}))["passwordStrength"]
    assert strong == {"strength": "STRONG", "acceptable": True, "problems": []}


async def test_login_policy(runtime: Runtime) -> None:
    data = await execute(runtime, """{ loginPolicy { twoFactorEnabled twoFactorScope twoFactorMethods failureLimit
        lockHours remoteAlertEnabled remoteAlertChannels ipRegions { network regionCode } logRetentionMonths } }""")
    assert data["loginPolicy"] == {
        "twoFactorEnabled": False, "twoFactorScope": "GLOBAL", "twoFactorMethods": ["SMS"], "failureLimit": 5,
        "lockHours": 1, "remoteAlertEnabled": True, "remoteAlertChannels": ["SMS"], "ipRegions": [],
        "logRetentionMonths": 6}
    updated = await execute(runtime, """mutation { updateLoginPolicy(input: {failureLimit: 10, lockHours: 24,
        twoFactorEnabled: true, twoFactorScope: ROLES, twoFactorRoles: ["ADMIN"], twoFactorMethods: [SMS, EMAIL],
        ipRegions: [{network: "10.32.0.0/16", regionCode: "320500"}], logRetentionMonths: 24})
        { failureLimit lockHours twoFactorScope twoFactorRoles twoFactorMethods ipRegions { network regionCode }
          logRetentionMonths } }""")
    assert updated["updateLoginPolicy"] == {
        "failureLimit": 10, "lockHours": 24, "twoFactorScope": "ROLES", "twoFactorRoles": ["ADMIN"],
        "twoFactorMethods": ["SMS", "EMAIL"], "ipRegions": [{"network": "10.32.0.0/16", "regionCode": "320500"}],
        "logRetentionMonths": 24}
    for field, value in (("failureLimit", 0), ("failureLimit", 11), ("lockHours", 0), ("lockHours", 25),
                         ("logRetentionMonths", 5), ("logRetentionMonths", 25)):
        errors = await errors_of(runtime, f"mutation {{ updateLoginPolicy(input: {{{field}: {value}}}) "
                                          "{ failureLimit } }")
        assert errors[0].extensions == {"code": "BAD_USER_INPUT", "argument": field}
    errors = await errors_of(runtime, """mutation { updateLoginPolicy(input: {ipRegions: [{network: "10.0.0.1/8",
        regionCode: "320500"}]}) { failureLimit } }""")
    assert errors[0].extensions["argument"] == "ipRegions"


async def test_ip_blacklist_crud_paging_and_filters(runtime: Runtime) -> None:
    added = await execute(runtime, """mutation { addIpBlacklistEntries(entries: [
        {network: "192.168.1.0/24", remark: "办公网"}, {network: "2001:DB8::1"}, {network: "10.0.0.7/32",
        enabled: false}]) { id network kind status remark } }""")
    entries = added["addIpBlacklistEntries"]
    assert [(e["network"], e["kind"], e["status"]) for e in entries] == [
        ("192.168.1.0/24", "RANGE", "ENABLED"), ("2001:db8::1", "SINGLE", "ENABLED"),
        ("10.0.0.7", "SINGLE", "DISABLED")]
    errors = await errors_of(runtime, """mutation { addIpBlacklistEntries(entries: [{network: "10.1.1.1"},
        {network: "192.168.1.9/24"}]) { id } }""")
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert errors[0].extensions["rowErrors"][0]["row"] == 2
    assert "192.168.1.0/24" in errors[0].extensions["rowErrors"][0]["message"]

    page_query = """query($after: String, $keyword: String, $status: IpBlacklistStatus) {
        ipBlacklist(first: 2, after: $after, keyword: $keyword, status: $status) {
          nodes { network } pageInfo { hasNextPage endCursor } } }"""
    first = (await execute(runtime, page_query))["ipBlacklist"]
    second = (await execute(runtime, page_query, {"after": first["pageInfo"]["endCursor"]}))["ipBlacklist"]
    assert [n["network"] for n in first["nodes"] + second["nodes"]] == ["10.0.0.7", "192.168.1.0/24",
                                                                          "2001:db8::1"]
    assert first["pageInfo"]["hasNextPage"] and not second["pageInfo"]["hasNextPage"]
    enabled = (await execute(runtime, page_query, {"status": "ENABLED", "keyword": "192"}))["ipBlacklist"]
    assert [n["network"] for n in enabled["nodes"]] == ["192.168.1.0/24"]
    by_remark = (await execute(runtime, page_query, {"keyword": "办公"}))["ipBlacklist"]
    assert [n["network"] for n in by_remark["nodes"]] == ["192.168.1.0/24"]

    ids = [e["id"] for e in entries]
    toggled = await execute(runtime, """mutation($ids: [ID!]!) { setIpBlacklistEntryEnabled(ids: $ids,
        enabled: false) { status } }""", {"ids": ids[:2]})
    assert [e["status"] for e in toggled["setIpBlacklistEntryEnabled"]] == ["DISABLED", "DISABLED"]
    edited = await execute(runtime, """mutation($id: ID!) { updateIpBlacklistEntry(id: $id, network: "10.0.0.0/8",
        remark: "", enabled: true) { network kind status remark } }""", {"id": ids[2]})
    assert edited["updateIpBlacklistEntry"] == {"network": "10.0.0.0/8", "kind": "RANGE", "status": "ENABLED",
                                                "remark": None}
    deleted = await execute(runtime, "mutation($ids: [ID!]!) { deleteIpBlacklistEntries(ids: $ids) }",
                            {"ids": ids[:2]})
    assert deleted["deleteIpBlacklistEntries"] == 2


async def test_ip_blacklist_export_and_import(runtime: Runtime) -> None:
    await execute(runtime, """mutation { addIpBlacklistEntries(entries: [{network: "192.168.1.0/24",
        remark: "办公网"}, {network: "2001:db8::1", enabled: false}]) { id } }""")
    exported = (await execute(runtime, """{ exportIpBlacklist(status: ENABLED) { filename contentType
        contentBase64 } }"""))["exportIpBlacklist"]
    assert exported["filename"] == "ip-blacklist.xlsx" and "spreadsheetml" in exported["contentType"]
    sheet = load_workbook(io.BytesIO(base64.b64decode(exported["contentBase64"]))).worksheets[0]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["IP地址/IP段", "类型", "状态", "备注"], ["192.168.1.0/24", "IP段", "启用", "办公网"]]

    template = (await execute(runtime, "{ ipBlacklistImportTemplate { contentBase64 } }"))
    imported = await execute(runtime, """mutation($c: String!) { importIpBlacklist(contentBase64: $c) {
        imported errors { row message } } }""", {"c": template["ipBlacklistImportTemplate"]["contentBase64"]})
    assert imported["importIpBlacklist"]["imported"] == 0  # the template's rows are listed already
    assert [e["row"] for e in imported["importIpBlacklist"]["errors"]] == [2, 3]

    csv_text = "IP地址/IP段,类型,状态,备注\n10.9.0.0/16,IP段,启用,新\n2001:db8::2,单个IP,禁用,\n"
    content = base64.b64encode(csv_text.encode()).decode()
    ok = await execute(runtime, """mutation($c: String!) { importIpBlacklist(contentBase64: $c, format: CSV) {
        imported errors { row } } }""", {"c": content})
    assert ok["importIpBlacklist"] == {"imported": 2, "errors": []}
    csv_export = (await execute(runtime, '{ exportIpBlacklist(format: CSV, keyword: "10.9") { contentBase64 } }'))
    assert "10.9.0.0/16,IP段,启用,新" in base64.b64decode(csv_export["exportIpBlacklist"]["contentBase64"]).decode(
        "utf-8-sig")
    errors = await errors_of(runtime, 'mutation { importIpBlacklist(contentBase64: "***") { imported } }')
    assert errors[0].extensions["argument"] == "contentBase64"


async def test_encryption_policy_test_and_rotation_log(runtime: Runtime) -> None:
    data = await execute(runtime, """{ encryptionPolicy { transportProtocol transportAlgorithms storageFields
        storageAlgorithm keyValidityDays autoRotate } }""")
    assert data["encryptionPolicy"] == {
        "transportProtocol": "TLS1_3", "transportAlgorithms": ["SM2", "SM4"], "storageFields": ["NAME", "MOBILE"],
        "storageAlgorithm": "SM4_CBC_HMAC_SM3", "keyValidityDays": 90, "autoRotate": True}
    for value in (29, 366):
        errors = await errors_of(runtime, f"mutation {{ updateEncryptionPolicy(input: {{keyValidityDays: {value}}})"
                                          " { keyValidityDays } }")
        assert errors[0].extensions == {"code": "BAD_USER_INPUT", "argument": "keyValidityDays"}
    updated = await execute(runtime, """mutation { updateEncryptionPolicy(input: {keyValidityDays: 30,
        transportAlgorithms: [SM4], transportKeyRef: "gm-tls-2026"}) { keyValidityDays transportAlgorithms
        transportKeyRef } }""")
    assert updated["updateEncryptionPolicy"] == {"keyValidityDays": 30, "transportAlgorithms": ["SM4"],
                                                 "transportKeyRef": "gm-tls-2026"}

    tested = await execute(runtime, """mutation { testEncryption(text: "张三 13800000000") { ok keyVersion
        decrypted tamperDetected ciphertextHex error } }""")
    result = tested["testEncryption"]
    assert result["ok"] and result["decrypted"] == "张三 13800000000" and result["tamperDetected"]
    assert result["keyVersion"] == 1 and result["error"] is None and result["ciphertextHex"].startswith("0100000001")

    master = MasterKey(bytes.fromhex("11" * 32))
    await rotate_keys(runtime.sessions, master)
    await rotate_keys(runtime.sessions, master)
    log = await execute(runtime, """{ keyRotationLog(first: 1) { nodes { fromVersion toVersion status records }
        pageInfo { hasNextPage endCursor } } encryptionKeys { version status } }""")
    assert log["keyRotationLog"]["nodes"] == [{"fromVersion": 2, "toVersion": 3, "status": "DONE", "records": 0}]
    older = await execute(runtime, "query($a: String) { keyRotationLog(first: 5, after: $a) { nodes { toVersion } } }",
                          {"a": log["keyRotationLog"]["pageInfo"]["endCursor"]})
    assert older["keyRotationLog"]["nodes"] == [{"toVersion": 2}]
    assert log["encryptionKeys"] == [{"version": 3, "status": "ACTIVE"}, {"version": 2, "status": "RETIRED"},
                                     {"version": 1, "status": "RETIRED"}]


async def test_login_events_filters_and_paging(runtime: Runtime) -> None:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    async with runtime.sessions() as session, session.begin():
        for i in range(5):
            await record_login(session, user=None, username="bob" if i % 2 else "carol", success=i != 3,
                               method="SSO", ip=f"192.0.2.{i}", now=base + timedelta(hours=i),
                               failure_reason="WRONG_PASSWORD" if i == 3 else None)
    query = """query($after: String, $username: String, $from: DateTime, $to: DateTime, $ip: String,
                     $success: Boolean) {
        loginEvents(first: 2, after: $after, username: $username, from: $from, to: $to, ip: $ip, success: $success)
        { nodes { username ip at success failureReason regionCode } pageInfo { hasNextPage endCursor } } }"""
    first = (await execute(runtime, query))["loginEvents"]
    assert [n["ip"] for n in first["nodes"]] == ["192.0.2.4", "192.0.2.3"]  # newest first
    assert first["nodes"][1]["failureReason"] == "WRONG_PASSWORD" and first["nodes"][0]["regionCode"] == "320100"
    rest: list[Any] = []
    after = first["pageInfo"]["endCursor"]
    while after:
        page = (await execute(runtime, query, {"after": after}))["loginEvents"]
        rest += page["nodes"]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert [n["ip"] for n in rest] == ["192.0.2.2", "192.0.2.1", "192.0.2.0"]
    bob = (await execute(runtime, query, {"username": "bob"}))["loginEvents"]["nodes"]
    assert {n["username"] for n in bob} == {"bob"} and len(bob) == 2
    window = (await execute(runtime, query, {"from": (base + timedelta(hours=1)).isoformat(),
                                             "to": (base + timedelta(hours=3)).isoformat()}))["loginEvents"]["nodes"]
    assert [n["ip"] for n in window] == ["192.0.2.2", "192.0.2.1"]
    assert [n["ip"] for n in (await execute(runtime, query, {"ip": "192.0.2.4"}))["loginEvents"]["nodes"]] == [
        "192.0.2.4"]
    failed = (await execute(runtime, query, {"success": False}))["loginEvents"]["nodes"]
    assert [n["ip"] for n in failed] == ["192.0.2.3"]
    errors = await errors_of(runtime, '{ loginEvents(after: "nonsense") { nodes { id } } }')
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_root_fields_do_not_touch_other_tables(runtime: Runtime) -> None:
    # the security fields live on identity's schema next to the others
    sdl = definition.schema.as_str()
    for field in ("passwordPolicy", "loginPolicy", "ipBlacklist", "encryptionPolicy", "keyRotationLog",
                  "loginEvents", "testEncryption", "importIpBlacklist"):
        assert f"{field}(" in sdl or f"{field}:" in sdl, field
    assert models.SecurityPolicy.__tablename__ == "security_policy"
