"""licences ingestion (归集): upload permissions and the authentication log, storing and upserting by primary
key (latest ingestion wins), rejection with a rectification ticket, resubmission closing it, malformed
input, large batches, the daily quality report, the seeded samples, and one flow on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from support import count_statements, create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.common.pseudonym import id_number_digest
from subgraphs.common.validators import make_resident_id
from subgraphs.licences import models
from subgraphs.licences.app import definition
from subgraphs.licences.domain import standards
from subgraphs.licences.domain.face import face_of
from subgraphs.licences.domain.generation import face_is_authentic
from subgraphs.licences.domain.signing import signing_key
from subgraphs.licences.status import today_in_china

CLIENT = "client-doctor-test"
UPLOADER = Caller(subject=CLIENT, client_id=CLIENT, scopes=frozenset())
OTHER = Caller(subject="client-other", client_id="client-other", scopes=frozenset())
GRANT = """mutation($p: String!, $type: LicenceTypeCode!) { grantUploadPermission(principal: $p, type: $type) {
    id principal type grantedBy revokedAt } }"""
REVOKE = """mutation($p: String!, $type: LicenceTypeCode!) { revokeUploadPermission(principal: $p, type: $type) {
    id revokedAt revokedBy } }"""
BATCH_FIELDS = """id type mode source submittedBy status recordCount storedCount updatedCount issueCount
    resubmissionOf standardVersionId issues { ruleCode outcome dimension recordIndex recordKey field message
    issuerName ticketId closedAt } ticket { id status batchId resubmittedBatchId history { actor action note } }"""
INGEST = ("mutation($type: LicenceTypeCode!, $records: JSON!, $source: String!, $of: ID) { ingestBatch(type: $type, "
          "records: $records, source: $source, resubmissionOf: $of) { " + BATCH_FIELDS + " } }")
INGEST_ONE = ("mutation($type: LicenceTypeCode!, $record: JSON!) { ingestRecord(type: $type, record: $record, "
              'source: "江苏省医师电子化注册系统") { ' + BATCH_FIELDS + " } }")
AUTH_LOG = """query($p: String) { ingestionAuthLog(principal: $p, first: 10) {
    nodes { principal type allowed reason accessedAt } } }"""
SOURCE = "江苏省医师电子化注册系统"


async def fresh(tmp_path: Path, url: str | None = None) -> Runtime:
    runtime = await make_runtime(definition, url or f"sqlite+aiosqlite:///{tmp_path / 'l.db'}")
    async with runtime.sessions() as session, session.begin():
        await standards.seed_standards(session, datetime.now(UTC))  # no-op once the seed creates them
    return runtime


async def granted(tmp_path: Path, url: str | None = None) -> Runtime:
    runtime = await fresh(tmp_path, url)
    await execute(runtime, GRANT, {"p": CLIENT, "type": "PHYSICIAN_PRACTICE"})
    return runtime


def physician(n: int = 1, **over: Any) -> dict[str, Any]:
    number = make_resident_id("320102", date(1970 + n // 1000 % 30, 1 + n // 100 % 12, 1 + n % 28), n % 1000)
    record = {"number": f"JS-T-{n:06d}", "holderName": "张伟", "holderSex": "MALE" if n % 1000 % 2 else "FEMALE",
              "holderIdNumber": number, "practiceCategory": "临床", "practiceScope": "内科专业",
              "practiceInstitutionName": "南京鼓楼医院", "issuerName": "南京市卫生健康委员会", "issuedAt": "2024-01-02",
              "validFrom": "2024-01-02", "validUntil": "2029-01-01", "registeredAt": "2024-01-02"}
    return {k: v for k, v in {**record, **over}.items() if v is not None}


async def ingest(runtime: Runtime, records: Any, *, of: str | None = None, caller: Caller = UPLOADER,
                 type: str = "PHYSICIAN_PRACTICE") -> dict[str, Any]:
    data = await execute(runtime, INGEST, {"type": type, "records": records, "source": SOURCE, "of": of},
                         caller=caller)
    return data["ingestBatch"]


async def licence(runtime: Runtime, number: str) -> models.Licence:
    async with runtime.sessions() as session:
        row = await session.scalar(select(models.Licence).where(models.Licence.number == number))
    assert row is not None
    return row


async def operations(runtime: Runtime, licence_id: str) -> list[models.LicenceOperationLog]:
    async with runtime.sessions() as session:
        L = models.LicenceOperationLog
        return list(await session.scalars(select(L).where(L.licence_id == licence_id).order_by(L.id)))


# --- permissions and authentication ------------------------------------------------------------------------


async def test_uploads_need_a_permission_and_every_attempt_is_logged(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    errors = await errors_of(runtime, INGEST, {"type": "PHYSICIAN_PRACTICE", "records": [physician()],
                                               "source": SOURCE}, caller=UPLOADER)
    assert errors[0].extensions["code"] == "FORBIDDEN" and CLIENT in errors[0].message
    grant = (await execute(runtime, GRANT, {"p": CLIENT, "type": "PHYSICIAN_PRACTICE"}))["grantUploadPermission"]
    assert (grant["principal"], grant["type"], grant["grantedBy"]) == (CLIENT, "PHYSICIAN_PRACTICE", "anonymous")
    again = (await execute(runtime, GRANT, {"p": CLIENT, "type": "PHYSICIAN_PRACTICE"}))["grantUploadPermission"]
    assert again["id"] == grant["id"]  # granting twice keeps one permission
    assert (await ingest(runtime, [physician()]))["status"] == "PASSED"
    # The permission is per type.
    errors = await errors_of(runtime, INGEST, {"type": "NURSE_PRACTICE", "records": [physician()],
                                               "source": SOURCE}, caller=UPLOADER)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    revoked = (await execute(runtime, REVOKE, {"p": CLIENT, "type": "PHYSICIAN_PRACTICE"}))
    assert revoked["revokeUploadPermission"]["revokedAt"]
    errors = await errors_of(runtime, INGEST, {"type": "PHYSICIAN_PRACTICE", "records": [physician(2)],
                                               "source": SOURCE}, caller=UPLOADER)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    log = (await execute(runtime, AUTH_LOG, {"p": CLIENT}))["ingestionAuthLog"]["nodes"]
    assert [(e["type"], e["allowed"]) for e in log] == [
        ("PHYSICIAN_PRACTICE", False), ("NURSE_PRACTICE", False), ("PHYSICIAN_PRACTICE", True),
        ("PHYSICIAN_PRACTICE", False)]  # newest first
    assert {e["principal"] for e in log} == {CLIENT}
    paged = """query($after: String) { ingestionAuthLog(principal: "client-doctor-test", first: 3, after: $after) {
        nodes { allowed } pageInfo { hasNextPage endCursor } } }"""
    page = (await execute(runtime, paged, {"after": None}))["ingestionAuthLog"]
    assert page["pageInfo"]["hasNextPage"] and len(page["nodes"]) == 3
    rest = (await execute(runtime, paged, {"after": page["pageInfo"]["endCursor"]}))["ingestionAuthLog"]
    assert [n["allowed"] for n in rest["nodes"]] == [False] and not rest["pageInfo"]["hasNextPage"]
    # Anonymous callers are no uploaders, whatever the development scope.
    errors = await errors_of(runtime, INGEST, {"type": "PHYSICIAN_PRACTICE", "records": [physician()],
                                               "source": SOURCE})
    assert errors[0].extensions["code"] == "FORBIDDEN"
    errors = await errors_of(runtime, REVOKE, {"p": CLIENT, "type": "PHYSICIAN_PRACTICE"})
    assert errors[0].extensions["code"] == "NOT_FOUND"


async def test_only_managers_grant_and_read_the_log(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    for query, variables in ((GRANT, {"p": CLIENT, "type": "PHYSICIAN_PRACTICE"}), (AUTH_LOG, {"p": None}),
                             ("{ qualityReport(day: \"2026-01-01\") { issues } }", None),
                             ("{ uploadPermissions { principal } }", None)):
        errors = await errors_of(runtime, query, variables, caller=UPLOADER)
        assert errors[0].extensions["code"] == "FORBIDDEN", query


# --- storing and upserting ---------------------------------------------------------------------------------


async def test_a_passed_batch_stores_licences_with_their_trace(tmp_path: Path) -> None:
    runtime = await granted(tmp_path)
    record = physician(7, issuerOrgId="org-320100-hc", practiceInstitutionId="org-320102-h1")
    uid = "p-linked-holder"
    async with runtime.sessions() as session, session.begin():
        session.add(models.HolderLink(id_digest=id_number_digest(record["holderIdNumber"]), uid=uid,
                                      updated_at=datetime.now(UTC)))
    batch = await ingest(runtime, [record, physician(8)])
    assert (batch["status"], batch["mode"], batch["recordCount"], batch["storedCount"], batch["updatedCount"]) == (
        "PASSED", "STOCK", 2, 2, 0)
    assert batch["issues"] == [] and batch["ticket"] is None and batch["submittedBy"] == CLIENT
    row = await licence(runtime, "JS-T-000007")
    assert row.id == "lic-pp-JS-T-000007" and row.business_key == "JS-T-000007"
    assert (row.holder_name, row.holder_id_number, row.holder_uid) == ("张伟", record["holderIdNumber"], uid)
    assert row.holder_id_digest == id_number_digest(record["holderIdNumber"]) and row.holder_kind == "PERSON"
    assert (row.issuer_name, row.issuer_org_id, row.practice_institution_id) == (
        "南京市卫生健康委员会", "org-320100-hc", "org-320102-h1")
    assert (row.issued_at, row.valid_until, row.registered_at) == (date(2024, 1, 2), date(2029, 1, 1),
                                                                    date(2024, 1, 2))
    assert row.fields == {"practiceScope": "内科专业"} and row.valid_flag is True
    assert (row.collection_source, row.batch_id) == (SOURCE, batch["id"])
    assert row.standard_version_id == batch["standardVersionId"] and row.collected_at and row.ingested_at
    assert (await licence(runtime, "JS-T-000008")).holder_uid is None  # no link known for that holder
    assert [o.operation for o in await operations(runtime, row.id)] == ["COLLECTED", "GENERATED"]
    async with runtime.sessions() as session:
        electronic = await session.scalar(select(models.ElectronicLicence).where(
            models.ElectronicLicence.licence_id == row.id))
        assert electronic is not None and face_is_authentic(row, electronic, await signing_key(session))
        assert "医师姓名" in electronic.preview  # the face is labelled with the standard's names


async def test_a_later_ingestion_overwrites_by_primary_key(tmp_path: Path) -> None:
    runtime = await granted(tmp_path)
    await ingest(runtime, [physician(3)])
    first = await licence(runtime, "JS-T-000003")
    moved = physician(3, practiceInstitutionName="江苏省人民医院", practiceScope=None)
    update = (await execute(runtime, INGEST_ONE, {"type": "PHYSICIAN_PRACTICE", "record": moved},
                            caller=UPLOADER))["ingestRecord"]
    assert (update["mode"], update["status"], update["storedCount"], update["updatedCount"]) == (
        "INCREMENTAL", "PASSED", 0, 1)
    row = await licence(runtime, "JS-T-000003")
    assert row.id == first.id and row.practice_institution_name == "江苏省人民医院"
    assert row.fields == {} and row.batch_id == update["id"] and row.version == 2  # the latest record is the face
    assert row.ingested_at is not None and first.ingested_at is not None and row.ingested_at >= first.ingested_at
    ops = await operations(runtime, row.id)
    assert [o.operation for o in ops] == ["COLLECTED", "GENERATED", "UPDATED", "GENERATED"]
    assert ops[2].detail["before"]["practiceInstitutionName"] == "南京鼓楼医院"
    assert ops[2].detail["after"]["practiceInstitutionName"] == "江苏省人民医院"
    assert ops[2].detail["before"]["practiceScope"] == "内科专业" and "practiceScope" not in ops[2].detail["after"]
    assert ops[2].operator == CLIENT and ops[2].detail["batchId"] == update["id"]
    # validFlag 0 alone: the licence is invalidated (soft delete), nothing is removed.
    gone = (await execute(runtime, INGEST_ONE, {"type": "PHYSICIAN_PRACTICE", "record": {**moved, "validFlag": 0}},
                          caller=UPLOADER))["ingestRecord"]
    assert gone["updatedCount"] == 1
    row = await licence(runtime, "JS-T-000003")
    assert row.valid_flag is False
    assert (await operations(runtime, row.id))[-1].operation == "INVALIDATED"
    data = await execute(runtime, "query($id: ID!) { licence(id: $id) { status } }", {"id": row.id})
    assert data["licence"]["status"] == "INVALID"


async def test_duplicates_in_a_batch_keep_the_last_record(tmp_path: Path) -> None:
    runtime = await granted(tmp_path)
    batch = await ingest(runtime, [physician(4, holderName="张伟"), physician(5), physician(4, holderName="张玮")])
    assert (batch["status"], batch["storedCount"], batch["issueCount"]) == ("PASSED", 2, 1)
    issue = batch["issues"][0]
    assert (issue["ruleCode"], issue["outcome"], issue["recordIndex"], issue["recordKey"]) == (
        "QC-PK-DUP", "OVERWRITE", 0, "JS-T-000004")
    assert issue["ticketId"] is None and batch["ticket"] is None  # nothing to rectify
    assert (await licence(runtime, "JS-T-000004")).holder_name == "张玮"


# --- rejection, rectification, resubmission ---------------------------------------------------------------


async def test_rejected_batch_stores_nothing_and_resubmission_closes_the_ticket(tmp_path: Path) -> None:
    runtime = await granted(tmp_path)
    bad_id = physician(11)["holderIdNumber"][:17] + "0"
    if bad_id == physician(11)["holderIdNumber"]:
        bad_id = bad_id[:17] + "1"
    records = [physician(10), physician(11, holderIdNumber=bad_id), physician(12, issuedAt="2024/01/02"),
               physician(13, number="")]
    rejected = await ingest(runtime, records)
    assert (rejected["status"], rejected["storedCount"], rejected["issueCount"]) == ("REJECTED", 0, 3)
    assert [(i["ruleCode"], i["recordIndex"], i["outcome"]) for i in rejected["issues"]] == [
        ("QC-IDCARD", 1, "BATCH_FAIL"), ("QC-BIZDATE-FMT", 2, "BATCH_FAIL"), ("QC-PK-NOTNULL", 3, "BATCH_FAIL")]
    assert bad_id not in rejected["issues"][0]["message"]  # no ID number in messages
    ticket = rejected["ticket"]
    assert ticket["status"] == "OPEN" and ticket["batchId"] == rejected["id"]
    assert {i["ticketId"] for i in rejected["issues"]} == {ticket["id"]}
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(models.Licence).where(
            models.Licence.number.like("JS-T-%"))) == 0

    # A resubmission that still fails joins the same ticket.
    fixed_one = [physician(10), physician(11), physician(12, issuedAt="2024/01/02"), physician(13)]
    retry = await ingest(runtime, fixed_one, of=rejected["id"])
    assert retry["status"] == "REJECTED" and retry["resubmissionOf"] == rejected["id"]
    assert retry["ticket"]["id"] == ticket["id"] and retry["issues"][0]["ticketId"] == ticket["id"]
    assert retry["ticket"]["history"][-1]["action"] == "RECHECK_FAILED"

    fixed = [physician(10), physician(11), physician(12), physician(13)]
    passed = await ingest(runtime, fixed, of=retry["id"])
    assert (passed["status"], passed["storedCount"], passed["ticket"]) == ("PASSED", 4, None)
    data = await execute(runtime, "query($id: ID!) { ingestionBatch(id: $id) { status ticket { status closedAt "
                                  "resubmittedBatchId history { action actor } issues { closedAt } } } }",
                         {"id": rejected["id"]})
    original = data["ingestionBatch"]
    assert original["status"] == "RESUBMITTED"
    closed = original["ticket"]
    assert closed["status"] == "CLOSED" and closed["closedAt"] and closed["resubmittedBatchId"] == passed["id"]
    assert [h["action"] for h in closed["history"]] == ["OPENED", "RECHECK_FAILED", "RESUBMITTED", "CLOSED"]
    assert len(closed["issues"]) == 4 and all(i["closedAt"] for i in closed["issues"])
    again = await execute(runtime, "query($id: ID!) { ingestionBatch(id: $id) { status } }", {"id": retry["id"]})
    assert again["ingestionBatch"]["status"] == "RESUBMITTED"
    # A closed problem is not resubmitted twice.
    errors = await errors_of(runtime, INGEST, {"type": "PHYSICIAN_PRACTICE", "records": fixed, "source": SOURCE,
                                               "of": rejected["id"]}, caller=UPLOADER)
    assert errors[0].extensions["code"] == "INVALID_STATE"


async def test_warnings_are_stored_with_a_ticket_a_manager_closes(tmp_path: Path) -> None:
    runtime = await granted(tmp_path)
    batch = await ingest(runtime, [physician(20, holderSex="FEMALE" if physician(20)["holderSex"] == "MALE"
                                            else "MALE", favourite="x")])
    assert batch["status"] == "PASSED" and batch["storedCount"] == 1
    assert sorted(i["ruleCode"] for i in batch["issues"]) == ["QC-ID-SEX", "QC-UNKNOWN-FIELD"]
    ticket = batch["ticket"]
    assert ticket["status"] == "OPEN"
    rectify = """mutation($id: ID!, $note: String!, $close: Boolean!) { rectify(ticketId: $id, note: $note,
        close: $close) { status closedAt history { action actor note } issues { closedAt } } }"""
    errors = await errors_of(runtime, rectify, {"id": ticket["id"], "note": "x", "close": False}, caller=UPLOADER)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    note = "已通知医师注册系统核对性别"
    noted = await execute(runtime, rectify, {"id": ticket["id"], "note": note, "close": False})
    assert noted["rectify"]["status"] == "OPEN" and noted["rectify"]["history"][-1]["action"] == "NOTE"
    closed = (await execute(runtime, rectify, {"id": ticket["id"], "note": "来源已更正", "close": True}))["rectify"]
    assert closed["status"] == "CLOSED" and all(i["closedAt"] for i in closed["issues"])
    assert [h["action"] for h in closed["history"]] == ["OPENED", "NOTE", "CLOSED"]
    errors = await errors_of(runtime, rectify, {"id": ticket["id"], "note": "again", "close": True})
    assert errors[0].extensions["code"] == "INVALID_STATE"


async def test_systems_see_their_own_batches_only(tmp_path: Path) -> None:
    runtime = await granted(tmp_path)
    mine = await ingest(runtime, [physician(30)])
    query = "query($id: ID!) { ingestionBatch(id: $id) { id } }"
    assert (await execute(runtime, query, {"id": mine["id"]}, caller=UPLOADER))["ingestionBatch"] == {
        "id": mine["id"]}
    assert (await execute(runtime, query, {"id": mine["id"]}, caller=OTHER))["ingestionBatch"] is None
    listed = await execute(runtime, "{ ingestionBatches(first: 50) { nodes { submittedBy } } }", caller=OTHER)
    assert listed["ingestionBatches"]["nodes"] == []
    everyone = await execute(runtime, "{ ingestionBatches(filter: {type: PHYSICIAN_PRACTICE}, first: 50) { nodes { "
                                      "id submittedBy } } }")
    assert mine["id"] in [b["id"] for b in everyone["ingestionBatches"]["nodes"]]


# --- malformed input ---------------------------------------------------------------------------------------


async def test_malformed_batches_are_bad_user_input(tmp_path: Path) -> None:
    runtime = await granted(tmp_path)
    for records in ({"number": "x"}, [], ["not an object"], [physician()] * 10_001):
        errors = await errors_of(runtime, INGEST, {"type": "PHYSICIAN_PRACTICE", "records": records,
                                                   "source": SOURCE}, caller=UPLOADER)
        assert errors[0].extensions["code"] == "BAD_USER_INPUT", str(records)[:40]
    errors = await errors_of(runtime, INGEST, {"type": "PHYSICIAN_PRACTICE", "records": [physician()],
                                               "source": " "}, caller=UPLOADER)
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    errors = await errors_of(runtime, INGEST_ONE, {"type": "PHYSICIAN_PRACTICE", "record": [1]}, caller=UPLOADER)
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    errors = await errors_of(runtime, INGEST, {"type": "DRIVING_LICENCE", "records": [physician()],
                                               "source": SOURCE}, caller=UPLOADER)
    assert "DRIVING_LICENCE" in errors[0].message  # not a licence type: refused before anything runs
    errors = await errors_of(runtime, INGEST, {"type": "PHYSICIAN_PRACTICE", "records": [physician()],
                                               "source": SOURCE, "of": "ib-nothing"}, caller=UPLOADER)
    assert errors[0].extensions["code"] == "NOT_FOUND"
    passed = await ingest(runtime, [physician(40)])
    errors = await errors_of(runtime, INGEST, {"type": "PHYSICIAN_PRACTICE", "records": [physician(40)],
                                               "source": SOURCE, "of": passed["id"]}, caller=UPLOADER)
    assert errors[0].extensions["code"] == "INVALID_STATE"


async def test_a_large_batch_costs_a_fixed_number_of_lookups(tmp_path: Path) -> None:
    runtime = await granted(tmp_path)
    records = [physician(n) for n in range(5000)]
    with count_statements(runtime) as statements:
        batch = await ingest(runtime, records)
    assert (batch["status"], batch["storedCount"], batch["issueCount"]) == ("PASSED", 5000, 0)
    lookups = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM licence " in s
               and "licence.business_key IN" in s.replace('"', "")]
    assert 0 < len(lookups) <= 5000 // 500 + 1  # chunked IN lists, no per-record query
    async with runtime.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(models.Licence).where(
            models.Licence.batch_id == batch["id"]))
        assert stored == 5000
    again = await ingest(runtime, records[:100])  # all known now: updates
    assert (again["storedCount"], again["updatedCount"]) == (0, 100)


# --- the daily quality report ------------------------------------------------------------------------------


async def test_the_daily_quality_report_counts_by_rule_type_and_issuer(tmp_path: Path) -> None:
    runtime = await granted(tmp_path)
    today = today_in_china().isoformat()
    query = """query($day: Date!) { qualityReport(day: $day) { day batchesPassed batchesRejected recordsReceived
        recordsStored recordsUpdated issues byRule { key outcome count } byType { key count }
        byIssuer { key count } ticketsOpened ticketsClosed openTickets } }"""
    before = (await execute(runtime, query, {"day": today}))["qualityReport"]
    await ingest(runtime, [physician(50), physician(51), physician(50)])  # one OVERWRITE
    await ingest(runtime, [physician(52, issuedAt="2024.01.02", issuerName="苏州市卫生健康委员会"),
                           physician(53, registeredAt="x", issuerName="苏州市卫生健康委员会")])
    await ingest(runtime, [physician(50, holderName="张玮")])  # an update
    report = (await execute(runtime, query, {"day": today}))["qualityReport"]
    assert report["batchesPassed"] - before["batchesPassed"] == 2
    assert report["batchesRejected"] - before["batchesRejected"] == 1
    assert report["recordsReceived"] - before["recordsReceived"] == 6
    assert report["recordsStored"] - before["recordsStored"] == 2
    assert report["recordsUpdated"] - before["recordsUpdated"] == 1
    assert report["issues"] - before["issues"] == 3
    rules = {(r["key"], r["outcome"]): r["count"] for r in report["byRule"]}
    old = {(r["key"], r["outcome"]): r["count"] for r in before["byRule"]}
    for key in (("QC-PK-DUP", "OVERWRITE"), ("QC-BIZDATE-FMT", "BATCH_FAIL"), ("QC-DATE-ISO", "BATCH_FAIL")):
        assert rules[key] - old.get(key, 0) == 1
    issuers = {r["key"]: r["count"] for r in report["byIssuer"]}
    assert issuers["苏州市卫生健康委员会"] - {r["key"]: r["count"] for r in before["byIssuer"]}.get(
        "苏州市卫生健康委员会", 0) == 2
    assert any(r["key"] == "PHYSICIAN_PRACTICE" for r in report["byType"])
    assert report["ticketsOpened"] - before["ticketsOpened"] == 1
    assert report["openTickets"] - before["openTickets"] == 1
    empty = (await execute(runtime, query, {"day": "2001-01-01"}))["qualityReport"]
    assert (empty["issues"], empty["batchesPassed"], empty["byRule"]) == (0, 0, [])


# --- the seeded samples ------------------------------------------------------------------------------------


async def test_seeded_quality_samples(tmp_path: Path) -> None:
    from subgraphs.licences.seed import SEEDED_AT
    from subgraphs.licences.seed_ingestion import seed_quality_samples

    runtime = await fresh(tmp_path)
    async with runtime.sessions() as session, session.begin():
        if not await session.scalar(select(func.count()).select_from(models.IngestionBatch)):
            await seed_quality_samples(session, 20260101, SEEDED_AT)  # before seed.py calls it
    async with runtime.sessions() as session:
        B, T = models.IngestionBatch, models.RectificationTicket
        statuses = sorted((await session.scalars(select(B.status))).all())
        assert statuses.count("REJECTED") == 2 and statuses.count("RESUBMITTED") == 1
        assert statuses.count("PASSED") >= 4
        tickets = {t.status for t in await session.scalars(select(T))}
        assert tickets == {"OPEN", "CLOSED"}
        rules = set((await session.scalars(select(models.QualityIssue.rule_code))).all())
        assert {"QC-IDCARD", "QC-BIZDATE-FMT", "QC-PK-NOTNULL", "QC-CONTACT"} <= rules
        refused = await session.scalar(select(func.count()).select_from(models.IngestionAuthLog).where(
            models.IngestionAuthLog.allowed.is_(False)))
        assert refused == 1
        assert (await session.scalar(select(func.count()).select_from(B)) or 0) < 20


# --- PostgreSQL --------------------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_ingestion_flow_on_postgresql(tmp_path: Path) -> None:
    url = await create_pg_database("jshealth_lic")
    try:
        runtime = await granted(tmp_path, url)
        try:
            rejected = await ingest(runtime, [physician(60), physician(61, validFrom="2030-01-01")])
            assert rejected["status"] == "REJECTED"
            assert [i["ruleCode"] for i in rejected["issues"]] == ["QC-VALIDITY-ORDER"]
            passed = await ingest(runtime, [physician(60), physician(61)], of=rejected["id"])
            assert (passed["status"], passed["storedCount"]) == ("PASSED", 2)
            update = await ingest(runtime, [physician(61, holderName="李娜")])
            assert update["updatedCount"] == 1
            row = await licence(runtime, "JS-T-000061")
            assert row.holder_name == "李娜" and face_of(row)["holderName"] == "李娜"
            data = await execute(runtime, "query($id: ID!) { ingestionBatch(id: $id) { status ticket { status } } }",
                                 {"id": rejected["id"]})
            assert data["ingestionBatch"] == {"status": "RESUBMITTED", "ticket": {"status": "CLOSED"}}
            report = await execute(runtime, "query($d: Date!) { qualityReport(day: $d) { batchesPassed "
                                            "batchesRejected issues } }", {"d": today_in_china().isoformat()})
            assert report["qualityReport"]["batchesRejected"] >= 1
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)


@pytest.mark.postgres
async def test_concurrent_uploads_of_the_same_new_licences_both_land_on_postgresql(tmp_path: Path) -> None:
    """Two systems racing to store the same new numbers: neither fails; the later one is an update."""
    url = await create_pg_database("jshealth_lic")
    try:
        runtime = await granted(tmp_path, url)
        try:
            records = [physician(n) for n in range(200, 260)]
            first, second = await asyncio.gather(ingest(runtime, records), ingest(runtime, records))
            assert {first["status"], second["status"]} == {"PASSED"}
            assert first["storedCount"] + second["storedCount"] == len(records)
            assert first["updatedCount"] + second["updatedCount"] == len(records)
            async with runtime.sessions() as session:
                stored = await session.scalar(select(func.count()).select_from(models.Licence).where(
                    models.Licence.number.like("JS-T-0002%")))
            assert stored == len(records)
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)
