"""licences standards (证照标准): v1 of the eleven types, drafts with their diff, review, enabling, the change
log, and that only the enabled version validates incoming records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from support import errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.common.validators import make_resident_id
from subgraphs.licences import models
from subgraphs.licences.app import definition
from subgraphs.licences.codes import LICENCE_TYPES, LicenceTypeCode
from subgraphs.licences.domain import standards
from subgraphs.licences.domain.standard_v1 import ENVELOPE_CODES

TYPES = """{ licenceTypes { code ordinal name holderKind hasValidity standard { id name enabledVersion {
    versionNo status elements { code name dataType maxLength required valueDomain isPrimaryKey isBusinessDate
    envelope } } } } }"""
STANDARD = """query($type: LicenceTypeCode!) { licenceStandard(type: $type) { id
    enabledVersion { id versionNo status }
    versions { id versionNo status changeSummary basedOnVersionId reviewedBy reviewComment
        diff { code change fields before after } elements { code maxLength required definition } }
    changeLog(first: 50) { nodes { action versionId operator before after } } } }"""
DRAFT = """mutation($type: LicenceTypeCode!, $changes: [ElementChangeInput!]!, $summary: String!) {
    draftStandardChange(type: $type, changes: $changes, summary: $summary) {
        id versionNo status changeSummary diff { code change fields before after } } }"""
REVIEW = """mutation($id: ID!, $approve: Boolean!, $comment: String!) {
    reviewStandardVersion(versionId: $id, approve: $approve, comment: $comment) { id status reviewComment } }"""
ENABLE = """mutation($id: ID!) { enableStandardVersion(versionId: $id) { id status enabledAt } }"""
INGEST = """mutation($type: LicenceTypeCode!, $records: JSON!) {
    ingestBatch(type: $type, records: $records, source: "测试来源") { id status issues { ruleCode field } } }"""
CLERK = Caller(subject="u-clerk", client_id="portal", scopes=frozenset(), roles=("CLERK",))
UPLOADER = Caller(subject="client-doctor-test", client_id="client-doctor-test", scopes=frozenset())


async def fresh(tmp_path: Path) -> Runtime:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'l.db'}")
    async with runtime.sessions() as session, session.begin():
        await standards.seed_standards(session, datetime.now(UTC))  # no-op once the seed creates them
    return runtime


def physician(number: str = "JS-T-000001") -> dict[str, Any]:
    return {"number": number, "holderName": "王芳", "holderSex": "FEMALE",
            "holderIdNumber": make_resident_id("320102", date(1985, 3, 4), 222), "issuerName": "南京市卫生健康委员会",
            "issuedAt": "2024-01-02", "validFrom": "2024-01-02", "validUntil": "2029-01-01"}


# --- v1 ---------------------------------------------------------------------------------------------------


async def test_every_type_has_an_enabled_v1_with_the_envelope(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    types = (await execute(runtime, TYPES))["licenceTypes"]
    assert [t["code"] for t in types] == [c.value for c in LICENCE_TYPES]
    assert [t["ordinal"] for t in types] == list(range(1, 12))
    for t in types:
        version = t["standard"]["enabledVersion"]
        assert (version["versionNo"], version["status"]) == (1, "ENABLED")
        elements = {e["code"]: e for e in version["elements"]}
        # Every type can be searched and upserted by 证照编号 and has the envelope's core.
        assert elements["number"]["isPrimaryKey"] and elements["number"]["required"], t["code"]
        assert [e["code"] for e in version["elements"] if e["isPrimaryKey"]] == ["number"]
        assert [e["code"] for e in version["elements"] if e["isBusinessDate"]] == ["issuedAt"]
        for code in ("holderName", "issuerName", "issuedAt"):
            assert elements[code]["required"], (t["code"], code)
        assert ("validFrom" in elements) is t["hasValidity"] and ("validUntil" in elements) is t["hasValidity"]
        assert all((e["envelope"] == e["code"]) is (e["code"] in ENVELOPE_CODES) for e in version["elements"])
        assert (t["holderKind"] == "PERSON") is ("holderIdNumber" in elements)
    by_code = {t["code"]: {e["code"]: e for e in t["standard"]["enabledVersion"]["elements"]} for t in types}
    # Names as the tender words them for each type.
    assert by_code["PHYSICIAN_PRACTICE"]["holderName"]["name"] == "医师姓名"
    assert by_code["NURSE_PRACTICE"]["holderName"]["name"] == "护士姓名"
    assert by_code["MEDICAL_INSTITUTION_PRACTICE"]["number"]["name"] == "机构登记号"
    assert by_code["PHYSICIAN_QUALIFICATION"]["number"]["name"] == "资格证书编码"
    assert by_code["HEALTH_CERTIFICATE"]["number"]["name"] == "健康证编码"
    assert by_code["HEALTH_CERTIFICATE"]["holderIdNumber"]["name"] == "证件号码"
    # Type 9 lists no ID number: the added one is optional.
    assert by_code["TCM_SPECIALTY_QUALIFICATION"]["holderIdNumber"]["required"] is False
    assert by_code["BLOOD_DONATION"]["bloodType"]["valueDomain"] == ["A", "B", "O", "AB"]
    assert by_code["PHYSICIAN_PRACTICE"]["holderSex"]["valueDomain"] == ["MALE", "FEMALE"]
    data = await execute(runtime, STANDARD, {"type": "NURSE_PRACTICE"})
    log = data["licenceStandard"]["changeLog"]["nodes"]
    assert [entry["action"] for entry in log] == ["CREATED"] and log[0]["before"] is None


async def test_seeding_twice_creates_nothing(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    async with runtime.sessions() as session, session.begin():
        assert await standards.seed_standards(session, datetime.now(UTC)) == 0
        version, elements = await standards.enabled_version(session, LicenceTypeCode.BLOOD_DONATION)
        assert version.version_no == 1 and "validUntil" not in {e.code for e in elements}


# --- draft, diff, review, enable ---------------------------------------------------------------------------


async def test_draft_review_and_enable_with_diff_and_change_log(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    changes = [{"code": "practiceScope", "maxLength": 200, "definition": "执业范围, as registered."}]
    draft = (await execute(runtime, DRAFT, {"type": "PHYSICIAN_PRACTICE", "changes": changes,
                                            "summary": "执业范围加长"}))["draftStandardChange"]
    assert (draft["versionNo"], draft["status"]) == (2, "DRAFT")
    assert draft["diff"] == [{"code": "practiceScope", "change": "CHANGED", "fields": ["max_length", "definition"],
                              "before": {"max_length": 100, "definition": ""},
                              "after": {"max_length": 200, "definition": "执业范围, as registered."}}]
    # A second edit goes into the same draft; its diff covers both edits.
    added = [{"code": "licenceGrade", "name": "证书等级", "dataType": "CODE", "maxLength": 8,
              "valueDomain": ["甲", "乙"]}]
    again = (await execute(runtime, DRAFT, {"type": "PHYSICIAN_PRACTICE", "changes": added,
                                            "summary": "执业范围加长, 新增证书等级"}))["draftStandardChange"]
    assert (again["id"], again["versionNo"]) == (draft["id"], 2)
    assert [(d["code"], d["change"]) for d in again["diff"]] == [("practiceScope", "CHANGED"),
                                                                 ("licenceGrade", "ADDED")]
    assert again["diff"][1]["after"]["value_domain"] == ["甲", "乙"]

    errors = await errors_of(runtime, ENABLE, {"id": draft["id"]})
    assert errors[0].extensions["code"] == "INVALID_STATE"  # a draft is reviewed before it is enabled
    reviewed = (await execute(runtime, REVIEW, {"id": draft["id"], "approve": True, "comment": "同意"}))
    assert reviewed["reviewStandardVersion"]["status"] == "APPROVED"
    enabled = (await execute(runtime, ENABLE, {"id": draft["id"]}))["enableStandardVersion"]
    assert enabled["status"] == "ENABLED" and enabled["enabledAt"]

    standard = (await execute(runtime, STANDARD, {"type": "PHYSICIAN_PRACTICE"}))["licenceStandard"]
    assert standard["enabledVersion"]["versionNo"] == 2
    assert [(v["versionNo"], v["status"]) for v in standard["versions"]] == [(2, "ENABLED"), (1, "ARCHIVED")]
    assert standard["versions"][0]["basedOnVersionId"] == standard["versions"][1]["id"]
    scope = next(e for e in standard["versions"][0]["elements"] if e["code"] == "practiceScope")
    assert scope["maxLength"] == 200
    old_scope = next(e for e in standard["versions"][1]["elements"] if e["code"] == "practiceScope")
    assert old_scope["maxLength"] == 100  # the archived version is unchanged
    log = standard["changeLog"]["nodes"]
    assert [e["action"] for e in log] == ["CREATED", "DRAFTED", "DRAFTED", "APPROVED", "ENABLED"]
    assert log[1]["before"]["practiceScope"]["max_length"] == 100
    assert log[1]["after"]["practiceScope"]["max_length"] == 200
    assert log[2]["before"] == {"licenceGrade": None} and log[2]["after"]["licenceGrade"]["name"] == "证书等级"
    assert log[4]["before"] == {"enabledVersion": 1} and log[4]["after"]["enabledVersion"] == 2
    assert all(e["operator"] for e in log)


async def test_rejected_versions_stay_archive_and_need_a_reason(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    draft = (await execute(runtime, DRAFT, {"type": "NURSE_PRACTICE", "summary": "",
                                            "changes": [{"code": "practiceCategory", "maxLength": 16}]}))
    version = draft["draftStandardChange"]["id"]
    errors = await errors_of(runtime, REVIEW, {"id": version, "approve": False, "comment": " "})
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    rejected = await execute(runtime, REVIEW, {"id": version, "approve": False, "comment": "长度不足"})
    assert rejected["reviewStandardVersion"] == {"id": version, "status": "REJECTED", "reviewComment": "长度不足"}
    errors = await errors_of(runtime, ENABLE, {"id": version})
    assert errors[0].extensions["code"] == "INVALID_STATE"
    # The next edit starts a new draft from the enabled version.
    redo = await execute(runtime, DRAFT, {"type": "NURSE_PRACTICE", "summary": "",
                                          "changes": [{"code": "practiceCategory", "maxLength": 20}]})
    assert redo["draftStandardChange"]["versionNo"] == 3


async def test_bad_edits_are_refused(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    cases = [
        [{"code": "issuedAt", "required": False}],  # the licence cannot be stored without it
        [{"code": "holderName", "maxLength": 500}],  # longer than the licence column
        [{"code": "issuedAt", "dataType": "STRING"}],  # envelope types are fixed
        [{"code": "newThing", "name": "新数据项"}],  # a new element needs a data type
        [{"code": "Bad Code", "name": "x", "dataType": "STRING"}],
        [{"code": "validFlag", "name": "x", "dataType": "STRING"}],  # reserved record key
        [{"code": "number", "isPrimaryKey": False}],  # no primary key left
        [{"code": "registeredAt", "isBusinessDate": True}],  # two business dates
        [{"code": "practiceScope", "valueDomain": []}],
    ]
    for changes in cases:
        errors = await errors_of(runtime, DRAFT, {"type": "PHYSICIAN_PRACTICE", "changes": changes, "summary": ""})
        assert errors[0].extensions["code"] == "BAD_USER_INPUT", (changes, errors)
    async with runtime.sessions() as session:
        drafts = await session.scalars(select(models.LicenceStandardVersion).where(
            models.LicenceStandardVersion.status == "DRAFT"))
        assert list(drafts) == []  # a refused edit leaves nothing behind


async def test_only_managers_change_standards(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    changes = [{"code": "practiceScope", "maxLength": 120}]
    errors = await errors_of(runtime, DRAFT, {"type": "PHYSICIAN_PRACTICE", "changes": changes, "summary": ""},
                             caller=CLERK)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    officer = Caller(subject="u-officer", client_id="portal", scopes=frozenset(), roles=("LICENCE_OFFICER",))
    draft = await execute(runtime, DRAFT, {"type": "PHYSICIAN_PRACTICE", "changes": changes, "summary": ""},
                          caller=officer)
    version = draft["draftStandardChange"]["id"]
    errors = await errors_of(runtime, REVIEW, {"id": version, "approve": True, "comment": ""}, caller=CLERK)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    await execute(runtime, REVIEW, {"id": version, "approve": True, "comment": ""}, caller=officer)
    errors = await errors_of(runtime, ENABLE, {"id": version}, caller=CLERK)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    log = (await execute(runtime, STANDARD, {"type": "PHYSICIAN_PRACTICE"}))["licenceStandard"]["changeLog"]
    assert [e["operator"] for e in log["nodes"][1:]] == ["u-officer", "u-officer"]


async def test_only_the_enabled_version_validates(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    await execute(runtime, """mutation { grantUploadPermission(principal: "client-doctor-test",
        type: PHYSICIAN_PRACTICE) { id } }""")
    required = [{"code": "licenceGrade", "name": "证书等级", "dataType": "STRING", "maxLength": 8,
                 "required": True}]
    version = (await execute(runtime, DRAFT, {"type": "PHYSICIAN_PRACTICE", "changes": required, "summary": ""}))[
        "draftStandardChange"]["id"]
    await execute(runtime, REVIEW, {"id": version, "approve": True, "comment": ""})
    # Drafted and approved, not enabled: records are checked against v1, which does not know the element.
    first = (await execute(runtime, INGEST, {"type": "PHYSICIAN_PRACTICE", "records": [physician()]},
                           caller=UPLOADER))["ingestBatch"]
    assert first["status"] == "PASSED" and first["issues"] == []
    await execute(runtime, ENABLE, {"id": version})
    second = (await execute(runtime, INGEST, {"type": "PHYSICIAN_PRACTICE", "records": [physician()]},
                            caller=UPLOADER))["ingestBatch"]
    assert second["status"] == "REJECTED"
    assert second["issues"] == [{"ruleCode": "QC-REQUIRED", "field": "licenceGrade"}]
    third = (await execute(runtime, INGEST, {"type": "PHYSICIAN_PRACTICE",
                                             "records": [{**physician(), "licenceGrade": "甲"}]},
                           caller=UPLOADER))["ingestBatch"]
    assert third["status"] == "PASSED"
    async with runtime.sessions() as session:
        licence = await session.scalar(select(models.Licence).where(models.Licence.number == "JS-T-000001"))
        assert licence is not None and licence.fields == {"licenceGrade": "甲"}
        assert licence.standard_version_id == version
