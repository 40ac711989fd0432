"""security: the classified-protection ledger (等级保护): a record changes only when the commission approves the
unit's change request (reject and 补充材料 leave it as it was, a resubmission goes back to review), the automatic
asset link, the gaps (未备案, overdue assessments), data scope, events and the seeded ledger."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from support import TEST_SEED, create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.security import models
from subgraphs.security.app import definition
from subgraphs.security.domain.protection import evaluation_due
from subgraphs.security.seed_assets import seed_asset_details, seed_protection

NOW = datetime(2026, 11, 1, tzinfo=UTC)
ADMIN = Caller(subject="sec-admin", client_id="portal", scopes=frozenset(), roles=("SECURITY_ADMIN",))


def unit(org_id: str, region: str = "320100") -> Caller:
    return Caller(subject=f"admin-{org_id}", client_id="portal", scopes=frozenset(), organization_id=org_id,
                  region_code=region, roles=("UNIT_SECURITY_ADMIN",), data_scope="OWN_ORG")


H1 = unit("org-320100-h1")
H2 = unit("org-320100-h2")

RECORD = """id systemName orgId level filingNumber filingAuthority filedOn evaluatedOn evaluationBody conclusion
            version assetId gaps evidence { name kind }"""
REQUEST = """mutation($input: ProtectionChangeInput!, $reason: String!, $record: ID, $org: ID,
                      $evidence: [ProtectionEvidenceInput!]) {
  requestProtectionChange(input: $input, reason: $reason, recordId: $record, orgId: $org, evidence: $evidence) {
    id status recordId orgId proposed { systemName level evaluatedOn conclusion } requestedBy
    trail { actor action opinion } } }"""
REVIEW = """mutation($id: ID!, $d: ProtectionReviewDecision!, $o: String) {
  reviewProtectionChange(id: $id, decision: $d, opinion: $o) {
    id status recordId reviewedBy opinion reviewedAt trail { actor action opinion } } }"""
RESUBMIT = """mutation($id: ID!, $evidence: [ProtectionEvidenceInput!]!) {
  resubmitProtectionChange(id: $id, evidence: $evidence) { status evidence { name } trail { action } } }"""
ONE = "query($id: ID!) { protectionRecord(id: $id) { " + RECORD + " } }"


async def seeded(url: str) -> Runtime:
    runtime = await make_runtime(definition, url)
    async with runtime.sessions() as session, session.begin():
        # seed.py may call these itself once wired; never seed twice.
        if not await session.scalar(select(func.count()).select_from(models.ProtectionRecord)):
            await seed_asset_details(session, TEST_SEED, NOW)
            await seed_protection(session, TEST_SEED, NOW)
    return runtime


async def fresh(tmp_path: Path) -> Runtime:
    return await seeded(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")


async def free_records(runtime: Runtime, org_id: str = "org-320100-h1") -> list[str]:
    """The organisation's records without an open change request (the seed leaves some open)."""
    req = models.ProtectionChangeRequest
    busy = select(req.record_id).where(req.status.in_(("PENDING", "SUPPLEMENT_REQUESTED")),
                                       req.record_id.is_not(None))
    async with runtime.sessions() as session:
        ids = await session.scalars(select(models.ProtectionRecord.id).where(
            models.ProtectionRecord.org_id == org_id, models.ProtectionRecord.id.not_in(busy))
            .order_by(models.ProtectionRecord.id))
        return list(ids)


async def request(runtime: Runtime, caller: Caller, proposal: dict[str, Any], *, record: str | None = None,
                  org: str | None = None, reason: str = "变更") -> dict[str, Any]:
    variables = {"input": proposal, "reason": reason, "record": record, "org": org,
                 "evidence": [{"name": "证明.pdf", "kind": "FILING_CERTIFICATE"}]}
    return (await execute(runtime, REQUEST, variables, caller=caller))["requestProtectionChange"]


async def review(runtime: Runtime, request_id: str, decision: str, opinion: str | None = None) -> dict[str, Any]:
    variables = {"id": request_id, "d": decision, "o": opinion}
    return (await execute(runtime, REVIEW, variables, caller=ADMIN))["reviewProtectionChange"]


async def record(runtime: Runtime, record_id: str, caller: Caller | None = ADMIN) -> dict[str, Any] | None:
    data = await execute(runtime, ONE, {"id": record_id}, caller=caller)
    result: dict[str, Any] | None = data["protectionRecord"]
    return result


async def test_new_filing_is_created_only_on_approval_and_links_the_asset(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    # An application asset of the hospital with the same name as the system: the record links to it.
    register = """mutation { registerAsset(kind: APPLICATION, ownerId: "org-320100-h1",
                   input: {name: "互联网医院平台", host: "hlwyy.h1.js.cn"}) { id } }"""
    asset_id = (await execute(runtime, register, caller=H1))["registerAsset"]["id"]
    filed = await request(runtime, H1, {"systemName": "互联网医院平台", "level": 3, "filingNumber": "32010099001-26001",
                                        "filingAuthority": "南京市公安局", "filedOn": "2026-06-01"},
                          reason="新建系统定级备案")
    assert filed["status"] == "PENDING" and filed["recordId"] is None and filed["orgId"] == "org-320100-h1"
    assert filed["trail"] == [{"actor": "admin-org-320100-h1", "action": "SUBMITTED", "opinion": "新建系统定级备案"}]
    query = '{ protectionRecords(filter: {keyword: "互联网医院平台"}) { nodes { id } } }'
    assert (await execute(runtime, query, caller=H1))["protectionRecords"]["nodes"] == []

    approved = await review(runtime, filed["id"], "APPROVE", "同意")
    assert approved["status"] == "APPROVED" and approved["reviewedBy"] == "sec-admin" and approved["reviewedAt"]
    assert [s["action"] for s in approved["trail"]] == ["SUBMITTED", "APPROVE"]
    created = await record(runtime, approved["recordId"], H1)
    assert created is not None
    assert created["level"] == 3 and created["filingNumber"] == "32010099001-26001" and created["version"] == 1
    assert created["assetId"] == asset_id
    # Filed but not assessed: the level-3 system is flagged; the asset shows its record.
    assert created["gaps"] == ["EVALUATION_OVERDUE"]
    data = await execute(runtime, "query($id: ID!) { asset(id: $id) { protectionRecords { id level } } }",
                         {"id": asset_id}, caller=H1)
    assert data["asset"]["protectionRecords"] == [{"id": created["id"], "level": 3}]
    # A second decision on a decided request is an illegal move.
    error = (await errors_of(runtime, REVIEW, {"id": filed["id"], "d": "REJECT", "o": "x"}, caller=ADMIN))[0]
    assert error.extensions["code"] == "INVALID_STATE" and "APPROVED" in error.message


async def test_reject_and_supplement_leave_the_record_unchanged(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    rid = (await free_records(runtime))[0]
    before = await record(runtime, rid)
    assert before is not None and before["orgId"] == "org-320100-h1"
    change = {"evaluatedOn": "2026-10-01", "evaluationBody": "新测评机构", "conclusion": "PASS"}

    rejected = await request(runtime, H1, change, record=rid)
    # One open request per record.
    error = (await errors_of(runtime, REQUEST, {"input": {"level": 2}, "reason": "x", "record": rid},
                             caller=H1))[0]
    assert error.extensions["code"] == "CONFLICT"
    error = (await errors_of(runtime, REVIEW, {"id": rejected["id"], "d": "REJECT"}, caller=ADMIN))[0]
    assert error.extensions["code"] == "BAD_USER_INPUT" and error.extensions["argument"] == "opinion"
    assert (await review(runtime, rejected["id"], "REJECT", "报告不全"))["status"] == "REJECTED"
    assert await record(runtime, rid) == before

    asked = await request(runtime, H1, change, record=rid)
    more = await review(runtime, asked["id"], "REQUEST_MATERIAL", "请补充测评报告盖章页")
    assert more["status"] == "SUPPLEMENT_REQUESTED" and more["opinion"] == "请补充测评报告盖章页"
    assert await record(runtime, rid) == before
    # Not reviewable until resubmitted; resubmission needs the material.
    error = (await errors_of(runtime, REVIEW, {"id": asked["id"], "d": "APPROVE"}, caller=ADMIN))[0]
    assert error.extensions["code"] == "INVALID_STATE" and error.extensions["allowed"] == ["RESUBMIT"]
    error = (await errors_of(runtime, RESUBMIT, {"id": asked["id"], "evidence": []}, caller=H1))[0]
    assert error.extensions["code"] == "BAD_USER_INPUT"
    resubmitted = (await execute(runtime, RESUBMIT, {"id": asked["id"], "evidence": [{"name": "盖章页.pdf"}]},
                                 caller=H1))["resubmitProtectionChange"]
    assert resubmitted["status"] == "PENDING"
    assert [e["name"] for e in resubmitted["evidence"]] == ["证明.pdf", "盖章页.pdf"]
    assert [s["action"] for s in resubmitted["trail"]] == ["SUBMITTED", "REQUEST_MATERIAL", "RESUBMITTED"]
    error = (await errors_of(runtime, RESUBMIT, {"id": asked["id"], "evidence": [{"name": "x"}]}, caller=H1))[0]
    assert error.extensions["code"] == "INVALID_STATE"

    await review(runtime, asked["id"], "APPROVE")
    after = await record(runtime, rid)
    assert after is not None
    assert after["version"] == before["version"] + 1
    assert (after["evaluatedOn"], after["evaluationBody"], after["conclusion"]) == ("2026-10-01", "新测评机构", "PASS")
    assert after["level"] == before["level"] and after["filingNumber"] == before["filingNumber"]
    assert {"name": "盖章页.pdf", "kind": None} in after["evidence"]
    history = await execute(runtime, 'query($id: ID!) { protectionRecord(id: $id) { changeRequests { status } } }',
                            {"id": rid}, caller=H1)
    assert sorted(r["status"] for r in history["protectionRecord"]["changeRequests"]) == ["APPROVED", "REJECTED"]


async def test_who_may_request_and_review(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    rid, rid2 = (await free_records(runtime))[:2]
    # Another hospital's record is not visible, so it cannot be changed either.
    assert await record(runtime, rid, H2) is None
    error = (await errors_of(runtime, REQUEST, {"input": {"level": 2}, "reason": "x", "record": rid},
                             caller=H2))[0]
    assert error.extensions["code"] == "NOT_FOUND"
    error = (await errors_of(runtime, REQUEST, {"input": {"systemName": "x", "level": 2}, "reason": "x",
                                                "org": "org-320100-h1"}, caller=H2))[0]
    assert error.extensions["code"] == "FORBIDDEN"
    mine = await request(runtime, H1, {"level": 4}, record=rid)
    error = (await errors_of(runtime, REVIEW, {"id": mine["id"], "d": "APPROVE"}, caller=H1))[0]
    assert error.extensions["code"] == "FORBIDDEN"
    listed = await execute(runtime, "{ protectionChangeRequests(first: 100) { nodes { orgId } } }", caller=H2)
    assert {n["orgId"] for n in listed["protectionChangeRequests"]["nodes"]} <= {"org-320100-h2"}
    records = await execute(runtime, "{ protectionRecords(first: 100) { nodes { orgId } } }", caller=H1)
    assert {n["orgId"] for n in records["protectionRecords"]["nodes"]} == {"org-320100-h1"}
    for bad in ({"level": 5}, {"evaluatedOn": "2026-01-01"}, {"filingNumber": "备案 1"},
                {"evaluatedOn": "2099-01-01", "conclusion": "PASS"}):
        error = (await errors_of(runtime, REQUEST, {"input": bad, "reason": "x", "record": rid2},
                                 caller=H1))[0]
        assert error.extensions["code"] == "BAD_USER_INPUT", bad
    # A linked asset must be the organisation's own application system: refused at approval.
    foreign = await request(runtime, H1, {"assetId": "ast-320100-h2-domain"}, record=rid2)
    error = (await errors_of(runtime, REVIEW, {"id": foreign["id"], "d": "APPROVE"}, caller=ADMIN))[0]
    assert error.extensions["code"] == "INVALID_STATE"


async def test_gaps(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    gaps = (await execute(runtime, "{ protectionGaps { record { id level filingNumber evaluatedOn } gaps } }",
                          caller=ADMIN))["protectionGaps"]
    kinds = Counter(g for item in gaps for g in item["gaps"])
    assert kinds["NO_FILING"] > 0 and kinds["EVALUATION_OVERDUE"] > 0
    this_year = datetime.now(UTC).year
    for item in gaps:
        r = item["record"]
        assert ("NO_FILING" in item["gaps"]) == (r["filingNumber"] is None)
        if "EVALUATION_OVERDUE" in item["gaps"]:
            assert r["level"] >= 2
            if r["evaluatedOn"] is not None:
                year = int(r["evaluatedOn"][:4])
                assert year < this_year if r["level"] >= 3 else year < this_year - 1
    # A unit sees its own gaps only.
    mine = (await execute(runtime, "{ protectionGaps { record { orgId } } }", caller=H1))["protectionGaps"]
    assert {g["record"]["orgId"] for g in mine} <= {"org-320100-h1"}
    # The rule by level: 3/4 yearly, 2 every two years, 1 never.
    today = date(2026, 6, 1)
    for level, evaluated, due in ((3, date(2025, 12, 31), True), (3, date(2026, 1, 2), False),
                                  (4, None, True), (2, date(2025, 3, 1), False), (2, date(2024, 12, 31), True),
                                  (1, None, False)):
        row = models.ProtectionRecord(level=level, evaluated_on=evaluated)
        assert evaluation_due(row, today) is due, (level, evaluated)


async def test_events_and_seeded_ledger(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    async with runtime.sessions() as session:
        records = (await session.scalars(select(models.ProtectionRecord))).all()
        requests = (await session.scalars(select(models.ProtectionChangeRequest))).all()
    levels = Counter(r.level for r in records)
    assert levels[2] > levels[3] > levels[4] > 0 and levels[1] == 0
    assert {r.level for r in records if r.system_name in ("医院信息系统", "电子病历系统")} == {3}
    assert {r.org_id for r in records if r.level == 4} == {"org-320000-hc"}
    assert sum(1 for r in records if r.filing_number) > len(records) * 0.85
    assert {q.status for q in requests} == {"PENDING", "APPROVED", "REJECTED", "SUPPLEMENT_REQUESTED"}
    assert any(q.record_id is None for q in requests)
    linked = [r for r in records if r.asset_id]
    assert linked and all((r.asset_id or "").startswith(f"ast-{r.org_id.removeprefix('org-')}-") for r in linked)

    pending = next(q for q in requests if q.status == "PENDING" and q.record_id is None)
    approved = await review(runtime, pending.id, "APPROVE")
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(models.OutboxEvent))).all()
    events = [r for r in rows if r.topic.startswith("security.protection.")]
    assert [e.topic for e in events] == ["security.protection.approved"]
    assert events[0].payload["recordId"] == approved["recordId"] and events[0].payload["status"] == "APPROVED"
    assert events[0].payload["orgId"] == pending.org_id and events[0].payload["level"] == 3


@pytest.mark.postgres
async def test_protection_flow_on_postgres() -> None:
    url = await create_pg_database("jshealth_sec")
    try:
        runtime = await seeded(url)
        try:
            rid = (await free_records(runtime))[0]
            asked = await request(runtime, H1, {"level": 2}, record=rid, reason="系统降级")
            await review(runtime, asked["id"], "REQUEST_MATERIAL", "请补充降级审批文件")
            await execute(runtime, RESUBMIT, {"id": asked["id"], "evidence": [{"name": "审批.pdf"}]}, caller=H1)
            await review(runtime, asked["id"], "APPROVE", "同意")
            after = await record(runtime, rid, H1)
            assert after is not None and after["level"] == 2 and after["version"] == 2
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)
