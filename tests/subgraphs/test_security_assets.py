"""security: the internet-asset ledger (互联网资产): registration and the duplicate warning, validation, the status
machine, change history, batch all-or-nothing, owner changes, verification (僵尸资产), search, data scope, events
and the seeded details."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from support import TEST_SEED, create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.security import models
from subgraphs.security.app import definition
from subgraphs.security.seed_assets import seed_asset_details, seed_protection

NOW = datetime(2026, 11, 1, tzinfo=UTC)
ADMIN = Caller(subject="sec-admin", client_id="portal", scopes=frozenset(), roles=("SECURITY_ADMIN",))


def unit(org_id: str, region: str = "320100") -> Caller:
    """A unit's security administrator: its own organisation only."""
    return Caller(subject=f"admin-{org_id}", client_id="portal", scopes=frozenset(), organization_id=org_id,
                  region_code=region, roles=("UNIT_SECURITY_ADMIN",), data_scope="OWN_ORG")


H1 = unit("org-320100-h1")
H2 = unit("org-320100-h2")
# Nanjing's commission sees the organisations of its city.
CITY = Caller(subject="admin-nj", client_id="portal", scopes=frozenset(), organization_id="org-320100-hc",
              region_code="320100", roles=("UNIT_SECURITY_ADMIN",), data_scope="CROSS_ORG")

ASSET_FIELDS = """id kind host name status icpFilingNumber ipSegment location onlineDate department contactName
                  contactPhone regionCode verifiedAt version owner { id }"""
REGISTER = """mutation($kind: AssetKind!, $owner: ID!, $input: AssetInput!, $region: String) {
  registerAsset(kind: $kind, ownerId: $owner, input: $input, regionCode: $region) { """ + ASSET_FIELDS + " } }"
STATUS = """mutation($id: ID!, $status: AssetStatus!, $reason: String!) {
  changeAssetStatus(id: $id, status: $status, reason: $reason) { id status version } }"""
HISTORY = "query($id: ID!) { assetHistory(id: $id) { action reason actor fields { field before after } } }"


async def seeded(url: str) -> Runtime:
    """A migrated, seeded database with the asset details and the 等保 ledger."""
    runtime = await make_runtime(definition, url)
    async with runtime.sessions() as session, session.begin():
        # seed.py may call these itself once wired; never seed twice.
        if not await session.scalar(select(func.count()).select_from(models.ProtectionRecord)):
            await seed_asset_details(session, TEST_SEED, NOW)
            await seed_protection(session, TEST_SEED, NOW)
    return runtime


async def fresh(tmp_path: Path) -> Runtime:
    return await seeded(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")


async def register(runtime: Runtime, kind: str, host: str, *, owner: str = "org-320100-h1",
                   caller: Caller | None = H1, **fields: Any) -> dict[str, Any]:
    variables = {"kind": kind, "owner": owner, "input": {"name": f"测试{kind}", "host": host, **fields}}
    return (await execute(runtime, REGISTER, variables, caller=caller))["registerAsset"]


async def register_error(runtime: Runtime, kind: str, host: str, *, caller: Caller | None = H1,
                         **fields: Any) -> Any:
    variables = {"kind": kind, "owner": "org-320100-h1", "input": {"name": "x", "host": host, **fields}}
    return (await errors_of(runtime, REGISTER, variables, caller=caller))[0]


async def test_register_normalises_hosts_and_refuses_duplicates(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    domain = await register(runtime, "DOMAIN", "Portal.Example-Hospital.JS.cn.", icpFilingNumber="苏ICP备12345678号-1",
                            contactPhone="13812345678", onlineDate="2024-05-01")
    assert domain["host"] == "portal.example-hospital.js.cn"
    assert domain["status"] == "IN_USE" and domain["version"] == 1
    assert domain["regionCode"] == "320100" and domain["owner"] == {"id": "org-320100-h1"}
    assert domain["contactPhone"] == "13812345678"  # the owner's own unit sees it in full

    duplicate = await register_error(runtime, "DOMAIN", "PORTAL.example-hospital.js.cn")
    assert duplicate.extensions["code"] == "CONFLICT"
    assert "重复登记" in duplicate.message and domain["id"] in duplicate.message
    assert duplicate.extensions["existingOwnerId"] == "org-320100-h1"

    ip6 = await register(runtime, "IP", "2001:DB8:0:0::1")
    assert ip6["host"] == "2001:db8::1"
    for same in ("2001:db8:0::1", "2001:0db8:0000:0000:0000:0000:0000:0001"):
        assert (await register_error(runtime, "IP", same)).extensions["code"] == "CONFLICT"
    # A server carries a host too, and the same address is the same host whatever the kind.
    assert (await register_error(runtime, "SERVER", "2001:db8::1")).extensions["code"] == "CONFLICT"
    idn = await register(runtime, "APPLICATION", "预约.医院.cn")
    assert idn["host"].startswith("xn--")


async def test_register_validation(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    for kind, host in (("DOMAIN", "10.1.2.3"), ("DOMAIN", "-bad-.js.cn"), ("DOMAIN", "nodot"),
                       ("DOMAIN", "a" * 64 + ".cn"), ("IP", "999.1.1.1"), ("IP", "www.js.cn"),
                       ("SERVER", "not a host")):
        error = await register_error(runtime, kind, host)
        assert error.extensions["code"] == "BAD_USER_INPUT", (kind, host)
        assert error.extensions["argument"] == "host"
    error = await register_error(runtime, "IP", "10.9.9.9", ipSegment="10.9.9.1/24")
    assert error.extensions["argument"] == "ipSegment"
    error = await register_error(runtime, "IP", "10.9.9.9", contactPhone="call me")
    assert error.extensions["argument"] == "contactPhone"
    errors = await errors_of(runtime, REGISTER, {"kind": "IP", "owner": "org-320100-h1", "region": "32",
                                                 "input": {"name": "x", "host": "10.9.9.9"}}, caller=ADMIN)
    assert errors[0].extensions["argument"] == "regionCode"
    # An owner id without a region needs regionCode; with it the city is taken from the region given.
    errors = await errors_of(runtime, REGISTER, {"kind": "IP", "owner": "vendor-x",
                                                 "input": {"name": "x", "host": "10.9.9.9"}}, caller=ADMIN)
    assert errors[0].extensions["argument"] == "regionCode"
    row = (await execute(runtime, REGISTER, {"kind": "IP", "owner": "vendor-x", "region": "320102",
                                             "input": {"name": "x", "host": "10.9.9.9", "ipSegment": "10.9.9.0/24"}},
                         caller=ADMIN))["registerAsset"]
    assert row["regionCode"] == "320100" and row["ipSegment"] == "10.9.9.0/24"
    # A unit registers for itself only.
    error = (await errors_of(runtime, REGISTER, {"kind": "IP", "owner": "org-320100-h2",
                                                 "input": {"name": "x", "host": "10.9.9.10"}}, caller=H1))[0]
    assert error.extensions["code"] == "FORBIDDEN"


async def test_status_machine_and_history(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    asset = await register(runtime, "SERVER", "10.200.0.1")
    update = """mutation($id: ID!, $input: AssetInput!) {
      updateAsset(id: $id, input: $input, reason: "机房搬迁") { location version } }"""
    moved = (await execute(runtime, update, {"id": asset["id"], "input": {"location": "二号机房"}}, caller=H1))
    assert moved["updateAsset"] == {"location": "二号机房", "version": 2}
    for target in ("DISABLED", "IN_USE", "SCRAPPED"):
        data = await execute(runtime, STATUS, {"id": asset["id"], "status": target, "reason": "核查"}, caller=H1)
        assert data["changeAssetStatus"]["status"] == target
    for target in ("IN_USE", "DISABLED"):
        error = (await errors_of(runtime, STATUS, {"id": asset["id"], "status": target, "reason": "x"},
                                 caller=H1))[0]
        assert error.extensions["code"] == "INVALID_STATE" and "SCRAPPED" in error.message
        assert error.extensions["allowed"] == []
    # A move to the same state is illegal too, and a reason is required.
    other = await register(runtime, "SERVER", "10.200.0.2")
    error = (await errors_of(runtime, STATUS, {"id": other["id"], "status": "IN_USE", "reason": "x"}, caller=H1))[0]
    assert error.extensions["code"] == "INVALID_STATE" and error.extensions["allowed"] == ["DISABLED", "SCRAPPED"]
    error = (await errors_of(runtime, STATUS, {"id": other["id"], "status": "DISABLED", "reason": " "},
                             caller=H1))[0]
    assert error.extensions["code"] == "BAD_USER_INPUT"

    history = (await execute(runtime, HISTORY, {"id": asset["id"]}, caller=H1))["assetHistory"]
    assert [h["action"] for h in history] == ["STATUS", "STATUS", "STATUS", "UPDATED", "REGISTERED"]
    assert history[0]["fields"] == [{"field": "status", "before": "IN_USE", "after": "SCRAPPED"}]
    assert history[3]["fields"] == [{"field": "location", "before": None, "after": "二号机房"}]
    assert history[3]["reason"] == "机房搬迁" and history[3]["actor"] == "admin-org-320100-h1"
    # A scrapped asset keeps its record: no more edits, but it is still found (apart from the default list).
    error = (await errors_of(runtime, update, {"id": asset["id"], "input": {"location": "x"}}, caller=H1))[0]
    assert error.extensions["code"] == "INVALID_STATE"
    search = "query($f: AssetSearchInput) { searchAssets(filter: $f, first: 50) { nodes { id status } } }"
    plain = (await execute(runtime, search, {"f": {"keyword": "10.200.0"}}, caller=H1))["searchAssets"]["nodes"]
    assert [n["id"] for n in plain] == [other["id"]]
    scrapped = (await execute(runtime, search, {"f": {"keyword": "10.200.0", "includeScrapped": True}},
                              caller=H1))["searchAssets"]["nodes"]
    assert {n["id"] for n in scrapped} == {asset["id"], other["id"]}


async def test_batch_status_change_is_all_or_nothing(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    ids = [(await register(runtime, "TERMINAL", f"10.201.0.{i}"))["id"] for i in (1, 2, 3)]
    await execute(runtime, STATUS, {"id": ids[2], "status": "SCRAPPED", "reason": "损坏"}, caller=H1)
    batch = """mutation($ids: [ID!]!, $s: AssetStatus!) {
      changeAssetStatuses(ids: $ids, status: $s, reason: "年度清查") { id status } }"""
    error = (await errors_of(runtime, batch, {"ids": ids, "s": "DISABLED"}, caller=H1))[0]
    assert error.extensions["code"] == "INVALID_STATE" and ids[2] in error.message
    for asset_id in ids[:2]:
        data = await execute(runtime, "query($id: ID!) { asset(id: $id) { status version } }", {"id": asset_id},
                             caller=H1)
        assert data["asset"] == {"status": "IN_USE", "version": 1}
    # Another unit's asset in the batch: refused as not found, nothing changes.
    foreign = (await register(runtime, "TERMINAL", "10.201.0.9", owner="org-320100-h2", caller=H2))["id"]
    error = (await errors_of(runtime, batch, {"ids": [ids[0], foreign], "s": "DISABLED"}, caller=H1))[0]
    assert error.extensions["code"] == "NOT_FOUND"
    done = (await execute(runtime, batch, {"ids": ids[:2], "s": "DISABLED"}, caller=H1))["changeAssetStatuses"]
    assert [d["status"] for d in done] == ["DISABLED", "DISABLED"]
    for asset_id in ids[:2]:
        history = (await execute(runtime, HISTORY, {"id": asset_id}, caller=H1))["assetHistory"]
        assert [h["action"] for h in history] == ["STATUS", "REGISTERED"] and history[0]["reason"] == "年度清查"


async def test_data_scope_and_masking(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    mine = await register(runtime, "DOMAIN", "scope.h1.js.cn", contactPhone="13912345678", contactName="王伟")
    one = "query($id: ID!) { asset(id: $id) { id contactPhone } }"
    assert (await execute(runtime, one, {"id": mine["id"]}, caller=H2)) == {"asset": None}
    assert (await execute(runtime, one, {"id": "ast-320100-h1-domain"}, caller=H2)) == {"asset": None}
    for query in ("{ assets(first: 100) { nodes { owner { id } } } }",
                  "{ searchAssets(first: 100) { nodes { owner { id } } } }",
                  "{ staleAssets(days: 1, first: 100) { nodes { owner { id } } } }"):
        data = await execute(runtime, query, caller=H2)
        nodes = next(iter(data.values()))["nodes"]
        assert nodes and {n["owner"]["id"] for n in nodes} == {"org-320100-h2"}, query
    error = (await errors_of(runtime, STATUS, {"id": mine["id"], "status": "DISABLED", "reason": "x"},
                             caller=H2))[0]
    assert error.extensions["code"] == "NOT_FOUND"
    assert (await errors_of(runtime, HISTORY, {"id": mine["id"]}, caller=H2))[0].extensions["code"] == "NOT_FOUND"
    entity = await execute(runtime, 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Asset { id } } }',
                           {"r": [{"__typename": "Asset", "id": mine["id"]}]}, caller=H2)
    assert entity == {"_entities": [None]}
    # The city's commission sees it, with the phone masked; the owner and the province see it in full.
    assert (await execute(runtime, one, {"id": mine["id"]}, caller=CITY))["asset"]["contactPhone"] == "139****5678"
    assert (await execute(runtime, one, {"id": mine["id"]}, caller=H1))["asset"]["contactPhone"] == "13912345678"
    assert (await execute(runtime, one, {"id": mine["id"]}, caller=ADMIN))["asset"]["contactPhone"] == "13912345678"


async def test_owner_change_is_for_administrators(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    asset = await register(runtime, "APPLICATION", "owner.h1.js.cn", contactName="李强")
    change = """mutation($id: ID!, $reason: String!, $owner: ID, $name: String) {
      changeAssetOwner(id: $id, reason: $reason, ownerId: $owner, contactName: $name) {
        owner { id } regionCode contactName version } }"""
    error = (await errors_of(runtime, change, {"id": asset["id"], "reason": "调整", "owner": "org-320200-h1"},
                             caller=H1))[0]
    assert error.extensions["code"] == "FORBIDDEN"
    error = (await errors_of(runtime, change, {"id": asset["id"], "reason": "", "name": "张三"}, caller=ADMIN))[0]
    assert error.extensions["code"] == "BAD_USER_INPUT"
    moved = (await execute(runtime, change, {"id": asset["id"], "reason": "系统划转", "owner": "org-320200-h1",
                                             "name": "张三"}, caller=ADMIN))["changeAssetOwner"]
    assert moved == {"owner": {"id": "org-320200-h1"}, "regionCode": "320200", "contactName": "张三", "version": 2}
    # The former owner no longer sees it; its history shows the move with the reason.
    assert (await execute(runtime, "query($id: ID!) { asset(id: $id) { id } }", {"id": asset["id"]},
                          caller=H1)) == {"asset": None}
    history = (await execute(runtime, HISTORY, {"id": asset["id"]}, caller=ADMIN))["assetHistory"]
    assert history[0]["action"] == "OWNER" and history[0]["reason"] == "系统划转"
    assert {f["field"]: (f["before"], f["after"]) for f in history[0]["fields"]} == {
        "owner_id": ("org-320100-h1", "org-320200-h1"), "region_code": ("320100", "320200"),
        "contact_name": ("李强", "张三")}


async def test_verification_and_stale_assets(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    stale = "{ staleAssets(days: 365, first: 100) { nodes { id verifiedAt status } } }"
    nodes = (await execute(runtime, stale, caller=ADMIN))["staleAssets"]["nodes"]
    assert nodes and all(n["status"] != "SCRAPPED" for n in nodes)
    target = nodes[0]["id"]
    verify = "mutation($id: ID!) { verifyAsset(id: $id, note: \"年度核查\") { verifiedAt } }"
    verified = (await execute(runtime, verify, {"id": target}, caller=ADMIN))["verifyAsset"]["verifiedAt"]
    assert datetime.fromisoformat(verified) > datetime.now(UTC).replace(year=2025)
    again = (await execute(runtime, stale, caller=ADMIN))["staleAssets"]["nodes"]
    assert target not in {n["id"] for n in again}
    assert (await errors_of(runtime, "{ staleAssets(days: 0) { nodes { id } } }"))[0].extensions["code"] == \
        "BAD_USER_INPUT"


async def test_search_by_keyword_kind_and_online_date(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    await register(runtime, "APPLICATION", "search.h1.js.cn", contactName="欧阳娜娜", onlineDate="2021-03-01",
                   department="信息科")
    query = "query($f: AssetSearchInput) { searchAssets(filter: $f, first: 100) { nodes { host kind onlineDate } } }"

    async def hosts(f: dict[str, Any], caller: Caller | None = ADMIN) -> set[str]:
        data = await execute(runtime, query, {"f": f}, caller=caller)
        return {n["host"] for n in data["searchAssets"]["nodes"]}

    assert await hosts({"keyword": "欧阳"}) == {"search.h1.js.cn"}
    assert await hosts({"keyword": "SEARCH.h1"}) == {"search.h1.js.cn"}
    assert "search.h1.js.cn" in await hosts({"kinds": ["APPLICATION"], "ownerId": "org-320100-h1"})
    assert "search.h1.js.cn" not in await hosts({"kinds": ["DOMAIN"], "ownerId": "org-320100-h1"})
    assert "search.h1.js.cn" in await hosts({"onlineFrom": "2021-02-01", "onlineTo": "2021-03-31",
                                             "regionCode": "320102"})
    assert "search.h1.js.cn" not in await hosts({"onlineFrom": "2021-03-02"})
    assert await hosts({"keyword": "100%"}) == set()  # % is matched literally
    error = (await errors_of(runtime, query, {"f": {"onlineFrom": "2022-01-01", "onlineTo": "2021-01-01"}}))[0]
    assert error.extensions["code"] == "BAD_USER_INPUT"


async def test_every_change_emits_an_event(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    asset = await register(runtime, "IP", "10.202.0.1")
    await execute(runtime, STATUS, {"id": asset["id"], "status": "DISABLED", "reason": "x"}, caller=H1)
    await execute(runtime, "mutation($id: ID!) { verifyAsset(id: $id) { id } }", {"id": asset["id"]}, caller=H1)
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(models.OutboxEvent).order_by(models.OutboxEvent.created_at))).all()
    events = [(r.topic, r.payload) for r in rows if r.payload.get("assetId") == asset["id"]]
    assert [t for t, _ in events] == ["security.asset.registered", "security.asset.status_changed",
                                      "security.asset.verified"]
    assert events[1][1] == {"assetId": asset["id"], "orgId": "org-320100-h1", "regionCode": "320100", "kind": "IP",
                            "status": "DISABLED"}


async def test_seeded_asset_details(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(models.Asset))).all()
        changes = await session.scalar(select(func.count()).select_from(models.AssetChange))
    assert all(r.region_code and r.region_code.endswith("00") and r.contact_phone for r in rows)
    assert all(r.region_code == r.owner_id.split("-")[1][:4] + "00" for r in rows)
    domains = [r for r in rows if r.kind == "DOMAIN"]
    assert all(r.icp_filing_number and r.icp_filing_number.startswith("苏ICP备") for r in domains)
    assert all(r.ip_segment for r in rows if r.kind == "IP")
    assert changes is not None and changes >= len(rows)
    data = await execute(runtime, '{ asset(id: "ast-320000-hc-domain") { contactPhone history { action } } }',
                         caller=unit("org-320100-hc"))
    assert data == {"asset": None}


@pytest.mark.postgres
async def test_asset_flow_on_postgres() -> None:
    url = await create_pg_database("jshealth_sec")
    try:
        runtime = await seeded(url)
        try:
            asset = await register(runtime, "IP", "2001:db8:ffff::10")
            assert (await register_error(runtime, "IP", "2001:DB8:FFFF:0::10")).extensions["code"] == "CONFLICT"
            await execute(runtime, STATUS, {"id": asset["id"], "status": "SCRAPPED", "reason": "报废"}, caller=H1)
            history = (await execute(runtime, HISTORY, {"id": asset["id"]}, caller=H1))["assetHistory"]
            assert [h["action"] for h in history] == ["STATUS", "REGISTERED"]
            search = '{ searchAssets(filter: {keyword: "欧"}, first: 5) { nodes { id } } }'
            assert isinstance((await execute(runtime, search, caller=H2))["searchAssets"]["nodes"], list)
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)
