"""services: bundles (一件事): the newborn-birth bundle end to end, a correction of one step, the operators'
moves, access, the definitions and the seed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support import (
    TEST_PERSONS,
    TEST_SEED,
    count_statements,
    create_pg_database,
    drop_pg_database,
    errors_of,
    execute,
    make_runtime,
)

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.common.validators import make_resident_id
from subgraphs.services import models
from subgraphs.services.app import definition
from subgraphs.services.seed_bundles import seed_bundles

STEPS = ("BIRTH_CERTIFICATE", "HUKOU", "MEDICAL_INSURANCE", "SOCIAL_SECURITY_CARD")
MOTHER_ID = make_resident_id("320102", date(1995, 3, 7), 2)
FATHER_ID = make_resident_id("320102", date(1993, 8, 21), 3)
MOTHER = Caller(subject="u-mother", client_id="suzhengban", scopes=frozenset(), person_uid="P-MOTHER")
STRANGER = Caller(subject="u-other", client_id="suzhengban", scopes=frozenset(), person_uid="P-OTHER")
OPERATOR = Caller(subject="op-nj", client_id="dispatch", scopes=frozenset(), roles=("SERVICE_WINDOW",),
                  data_scope="OWN_ORG", region_code="320102")
FAR_OPERATOR = Caller(subject="op-xz", client_id="dispatch", scopes=frozenset(), roles=("SERVICE_WINDOW",),
                      data_scope="OWN_ORG", region_code="320302")
MANAGER = Caller(subject="admin", client_id="admin", scopes=frozenset(), roles=("SERVICE_ADMIN",))

FORM: dict[str, Any] = {
    "babyName": "李沐阳", "babySex": "MALE", "birthTime": "2025-12-20T08:30:00+08:00", "hospital": "南京市妇幼保健院",
    "birthRegionCode": "320102", "motherName": "王芳", "motherIdNumber": MOTHER_ID, "fatherName": "李伟",
    "fatherIdNumber": FATHER_ID, "householdHeadName": "李伟", "householdHeadIdNumber": FATHER_ID,
    "hukouFollows": "FATHER", "relationToHead": "子女", "policeStation": "玄武门派出所",
    "insuranceCommunity": "新华社区", "insuranceStart": "2025-12-20", "cardPickup": "MAIL", "cardBank": "江苏银行",
    "cardRegionCode": "320102",
}
CASE = """id businessId status statusLabel citizenStatus citizenStatusLabel version babyName form finishedAt
  steps { step status statusLabel version attempts result message dispatchedAt finishedAt }
  versions { version superseded label correctedStep form }
  timeline { step action fromStatus toStatus actor }"""
SAVE = "mutation($f: BirthFormInput!, $id: ID) { saveBirthCase(form: $f, caseId: $id) { @ } }".replace("@", CASE)
SUBMIT = "mutation($id: ID!) { submitBundleCase(caseId: $id) { @ } }".replace("@", CASE)
RESULT = """mutation($id: ID!, $step: String!, $o: BundleStepOutcome!, $r: JSON, $m: String, $v: Int) {
  recordBundleStepResult(caseId: $id, step: $step, outcome: $o, result: $r, message: $m, version: $v) {
    @ } }""".replace("@", CASE)
CORRECT = """mutation($id: ID!, $step: String!, $c: BirthFormInput!) {
  correctBundleStep(caseId: $id, step: $step, changes: $c) { @ } }""".replace("@", CASE)
REPUSH = "mutation($id: ID!, $s: String!) { repushBundleStep(caseId: $id, step: $s) { @ } }".replace("@", CASE)
CANCEL = "mutation($id: ID!, $r: String!) { cancelBundleCase(caseId: $id, reason: $r) { @ } }".replace("@", CASE)
ARCHIVE = "mutation($id: ID!) { archiveBundleCase(caseId: $id) { @ } }".replace("@", CASE)
VOID = "mutation($id: ID!) { voidBundleCase(caseId: $id, reason: \"异常办结\") { @ } }".replace("@", CASE)
CANCEL_DRAFT = "mutation($id: ID!) { cancelBundleDraft(caseId: $id) { @ } }".replace("@", CASE)
GET = "query($id: ID!) { bundleCase(id: $id) { @ } }".replace("@", CASE)


def department(step: str) -> Caller:
    return Caller(subject=f"{step.lower()}-system", client_id=f"{step.lower()}-system",
                  scopes=frozenset({f"services:bundle:{step.lower()}"}))


async def new_runtime(url: str) -> Runtime:
    runtime = await make_runtime(definition, url)
    async with runtime.sessions() as session, session.begin():
        await seed_bundles(session, TEST_SEED, datetime(2026, 1, 1, tzinfo=UTC), TEST_PERSONS)
    return runtime


def steps_of(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["step"]: s for s in case["steps"]}


def codes(errors: list[Any]) -> list[str]:
    return [e.extensions["code"] for e in errors]


async def submitted_case(runtime: Runtime, **changes: Any) -> dict[str, Any]:
    draft = (await execute(runtime, SAVE, {"f": {**FORM, **changes}}, caller=MOTHER))["saveBirthCase"]
    return (await execute(runtime, SUBMIT, {"id": draft["id"]}, caller=MOTHER))["submitBundleCase"]


async def report(runtime: Runtime, case_id: str, step: str, outcome: str, result: dict[str, Any] | None = None,
                 message: str | None = None, version: int | None = None) -> dict[str, Any]:
    data = await execute(runtime, RESULT, {"id": case_id, "step": step, "o": outcome, "r": result, "m": message,
                                           "v": version}, caller=department(step))
    return data["recordBundleStepResult"]


async def outbox(runtime: Runtime, case_id: str) -> list[models.OutboxEvent]:
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(models.OutboxEvent).where(
            models.OutboxEvent.topic.like("services.bundle.%")))).all()
    return [r for r in rows if r.payload.get("caseId") == case_id]


async def birth_flow(runtime: Runtime) -> None:
    """Draft → submit → steps pushed in dependency order → 医保 returned and corrected → completed + archived."""
    draft = (await execute(runtime, SAVE, {"f": {"babyName": "李沐阳"}}, caller=MOTHER))["saveBirthCase"]
    assert (draft["status"], draft["citizenStatusLabel"]) == ("DRAFT", "草稿")
    assert draft["form"]["certificatePickup"] == "SELF"  # 产妇自取 by default
    draft = (await execute(runtime, SAVE, {"f": FORM, "id": draft["id"]}, caller=MOTHER))["saveBirthCase"]
    assert draft["steps"] == [] and draft["versions"] == []
    case = (await execute(runtime, SUBMIT, {"id": draft["id"]}, caller=MOTHER))["submitBundleCase"]
    case_id = case["id"]
    assert (case["status"], case["statusLabel"]) == ("IN_PROGRESS", "办理中")
    assert [s["step"] for s in case["steps"]] == list(STEPS)
    assert [s["status"] for s in case["steps"]] == ["IN_PROGRESS", "WAITING", "WAITING", "WAITING"]
    assert case["steps"][0]["attempts"] == 1 and case["steps"][0]["dispatchedAt"]

    # A department reports only on its own step, and only on a step that was pushed to it.
    errors = await errors_of(runtime, RESULT, {"id": case_id, "step": "BIRTH_CERTIFICATE", "o": "DONE"},
                             caller=department("HUKOU"))
    assert codes(errors) == ["FORBIDDEN"]
    errors = await errors_of(runtime, RESULT, {"id": case_id, "step": "HUKOU", "o": "DONE"},
                             caller=department("HUKOU"))
    assert codes(errors) == ["INVALID_STATE"]

    case = await report(runtime, case_id, "BIRTH_CERTIFICATE", "DONE", {"certificateNumber": "R32000000001"})
    assert [s["status"] for s in case["steps"]] == ["DONE", "IN_PROGRESS", "WAITING", "WAITING"]
    case = await report(runtime, case_id, "HUKOU", "DONE", {"babyIdNumber": "320102202512200011"})
    assert [s["status"] for s in case["steps"]] == ["DONE", "DONE", "IN_PROGRESS", "WAITING"]
    errors = await errors_of(runtime, RESULT, {"id": case_id, "step": "MEDICAL_INSURANCE", "o": "RETURNED"},
                             caller=department("MEDICAL_INSURANCE"))
    assert codes(errors) == ["BAD_USER_INPUT"]  # a return says why
    case = await report(runtime, case_id, "MEDICAL_INSURANCE", "RETURNED", message="参保社区与户籍地不符")
    before = steps_of(case)
    assert before["MEDICAL_INSURANCE"]["statusLabel"] == "退回"

    # 补正: the 医保 step may not touch 分娩 or 户籍 data.
    errors = await errors_of(runtime, CORRECT, {"id": case_id, "step": "MEDICAL_INSURANCE",
                                                "c": {"babyName": "李沐晨", "insuranceCommunity": "东苑社区"}},
                             caller=MOTHER)
    assert codes(errors) == ["BAD_USER_INPUT"]
    assert errors[0].extensions["lockedFields"] == ["babyName"] and "babyName" in errors[0].message
    errors = await errors_of(runtime, CORRECT, {"id": case_id, "step": "HUKOU", "c": {"policeStation": "新街口"}},
                             caller=MOTHER)
    assert codes(errors) == ["INVALID_STATE"]  # only a returned step is corrected
    errors = await errors_of(runtime, CORRECT, {"id": case_id, "step": "MEDICAL_INSURANCE",
                                                "c": {"insuranceCommunity": "东苑社区"}}, caller=STRANGER)
    assert codes(errors) == ["NOT_FOUND"]
    case = (await execute(runtime, CORRECT, {"id": case_id, "step": "MEDICAL_INSURANCE",
                                             "c": {"insuranceCommunity": "东苑社区"}},
                          caller=MOTHER))["correctBundleStep"]
    after = steps_of(case)
    assert case["version"] == 2 and case["form"]["insuranceCommunity"] == "东苑社区"
    assert (after["MEDICAL_INSURANCE"]["status"], after["MEDICAL_INSURANCE"]["attempts"],
            after["MEDICAL_INSURANCE"]["version"]) == ("IN_PROGRESS", 2, 2)
    for step in ("BIRTH_CERTIFICATE", "HUKOU", "SOCIAL_SECURITY_CARD"):
        assert after[step] == before[step]  # untouched: status, result, version, attempts, times
    old, new = case["versions"]
    assert (old["version"], old["superseded"], old["label"]) == (1, True, "已被补正")
    assert old["form"]["insuranceCommunity"] == "新华社区"
    assert (new["version"], new["superseded"], new["correctedStep"]) == (2, False, "MEDICAL_INSURANCE")

    # A result for the superseded version is stale.
    errors = await errors_of(runtime, RESULT, {"id": case_id, "step": "MEDICAL_INSURANCE", "o": "DONE", "v": 1},
                             caller=department("MEDICAL_INSURANCE"))
    assert codes(errors) == ["CONFLICT"]
    case = await report(runtime, case_id, "MEDICAL_INSURANCE", "DONE", {"insuredFrom": "2025-12-20"}, version=2)
    assert steps_of(case)["SOCIAL_SECURITY_CARD"]["status"] == "IN_PROGRESS"
    case = await report(runtime, case_id, "SOCIAL_SECURITY_CARD", "DONE", {"cardNumber": "J00000001"})
    assert (case["status"], case["statusLabel"], case["citizenStatus"], case["citizenStatusLabel"]) == (
        "ARCHIVED", "归档", "COMPLETED", "已完结")
    assert case["finishedAt"] and all(s["status"] == "DONE" for s in case["steps"])
    actions = [e["action"] for e in case["timeline"]]
    assert actions[:2] == ["CREATE", "SAVE"] and actions[-2:] == ["COMPLETE", "ARCHIVE"]
    assert actions.count("DISPATCH") == 4 and actions.count("CORRECTION") == 1
    assert [e["step"] for e in case["timeline"] if e["action"] == "DISPATCH"] == list(STEPS)

    # What the departments received: the step, the version, the fields they need in clear, the rest masked.
    events = await outbox(runtime, case_id)
    pushed = [(e.payload["step"], e.payload["version"]) for e in events if e.topic == "services.bundle.dispatched"]
    assert Counter(pushed) == Counter([(s, 1) for s in STEPS[:3]] + [("MEDICAL_INSURANCE", 2),
                                                                     ("SOCIAL_SECURITY_CARD", 2)])
    medical = next(e.payload for e in events if e.payload.get("version") == 2 and e.payload["step"] ==
                   "MEDICAL_INSURANCE")
    assert medical["form"]["motherIdNumber"] == MOTHER_ID and medical["form"]["insuranceCommunity"] == "东苑社区"
    assert medical["form"]["fatherIdNumber"] != FATHER_ID and "*" in medical["form"]["fatherIdNumber"]
    assert medical["previousResults"]["HUKOU"] == {"babyIdNumber": "320102202512200011"}
    assert [e.payload["automatic"] for e in events if e.topic == "services.bundle.archived"] == [True]

    # A finished case admits no operator move.
    errors = await errors_of(runtime, CANCEL, {"id": case_id, "r": "重复申报"}, caller=OPERATOR)
    assert codes(errors) == ["INVALID_STATE"]


async def test_birth_bundle_end_to_end_with_a_correction(tmp_path: Path) -> None:
    runtime = await new_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        await birth_flow(runtime)
    finally:
        await runtime.engine.dispose()


@pytest.mark.postgres
async def test_birth_bundle_on_postgresql() -> None:
    url = await create_pg_database("jshealth_svc")
    try:
        runtime = await new_runtime(url)
        try:
            await birth_flow(runtime)
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)


async def test_form_checks_on_save_and_submit(tmp_path: Path) -> None:
    runtime = await new_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        wrong_check = MOTHER_ID[:-1] + ("0" if MOTHER_ID[-1] != "0" else "1")
        for bad, field in (({"babyName": "李"}, "babyName"), ({"babyName": "王犇犇"}, "babyName"),
                           ({"motherIdNumber": wrong_check}, "motherIdNumber"),
                           ({"babySex": "BOY"}, "babySex"), ({"birthTime": "2099-01-01T00:00:00"}, "birthTime"),
                           ({"birthRegionCode": "3201"}, "birthRegionCode")):
            errors = await errors_of(runtime, SAVE, {"f": bad}, caller=MOTHER)
            assert codes(errors) == ["BAD_USER_INPUT"], bad
            assert errors[0].extensions["field"] == field
        # 冷僻字 are named; a dotted minority name passes.
        errors = await errors_of(runtime, SAVE, {"f": {"babyName": "王犇"}}, caller=MOTHER)
        assert "犇" in errors[0].message
        await execute(runtime, SAVE, {"f": {"babyName": "阿依古丽·买买提"}}, caller=MOTHER)

        draft = (await execute(runtime, SAVE, {"f": {"babyName": "李沐阳", "certificatePickup": "AGENT"}},
                               caller=MOTHER))["saveBirthCase"]
        errors = await errors_of(runtime, SUBMIT, {"id": draft["id"]}, caller=MOTHER)
        assert codes(errors) == ["BAD_USER_INPUT"]
        missing = errors[0].extensions["fields"]
        assert missing[0] == "babySex" and "agentName" in missing and "cardBank" in missing  # in form order
        # Nobody reaches a draft without the applicant's account.
        errors = await errors_of(runtime, SUBMIT, {"id": draft["id"]}, caller=STRANGER)
        assert codes(errors) == ["NOT_FOUND"]
        errors = await errors_of(runtime, SAVE, {"f": {"babyName": "李沐阳"}}, caller=OPERATOR)
        assert codes(errors) == ["FORBIDDEN"]

        # The same birth cannot be declared twice by the same applicant.
        await submitted_case(runtime)
        draft = (await execute(runtime, SAVE, {"f": FORM}, caller=MOTHER))["saveBirthCase"]
        errors = await errors_of(runtime, SUBMIT, {"id": draft["id"]}, caller=MOTHER)
        assert codes(errors) == ["CONFLICT"]
    finally:
        await runtime.engine.dispose()


async def test_failed_step_repush_void_archive_and_cancel(tmp_path: Path) -> None:
    runtime = await new_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        case = await submitted_case(runtime)
        case_id = case["id"]
        await report(runtime, case_id, "BIRTH_CERTIFICATE", "DONE", {"certificateNumber": "R32000000002"})
        errors = await errors_of(runtime, VOID, {"id": case_id}, caller=OPERATOR)
        assert codes(errors) == ["INVALID_STATE"]  # nothing finished abnormally
        errors = await errors_of(runtime, ARCHIVE, {"id": case_id}, caller=OPERATOR)
        assert codes(errors) == ["INVALID_STATE"]
        case = await report(runtime, case_id, "HUKOU", "FAILED", message="部门系统接口超时")
        assert steps_of(case)["HUKOU"]["statusLabel"] == "异常办结"

        # Operators of another region neither act on nor list it.
        errors = await errors_of(runtime, REPUSH, {"id": case_id, "s": "HUKOU"}, caller=FAR_OPERATOR)
        assert codes(errors) == ["FORBIDDEN"]
        listed = await execute(runtime, "{ bundleCases(filter: {status: [IN_PROGRESS]}, first: 100) { nodes { id } } }",
                               caller=FAR_OPERATOR)
        assert case_id not in [n["id"] for n in listed["bundleCases"]["nodes"]]
        errors = await errors_of(runtime, REPUSH, {"id": case_id, "s": "SOCIAL_SECURITY_CARD"}, caller=OPERATOR)
        assert codes(errors) == ["INVALID_STATE"]  # a waiting step is not pushed by hand

        case = (await execute(runtime, REPUSH, {"id": case_id, "s": "HUKOU"}, caller=OPERATOR))["repushBundleStep"]
        hukou = steps_of(case)["HUKOU"]
        assert (hukou["status"], hukou["attempts"], hukou["message"]) == ("IN_PROGRESS", 2, None)
        assert steps_of(case)["BIRTH_CERTIFICATE"]["result"] == {"certificateNumber": "R32000000002"}
        await report(runtime, case_id, "HUKOU", "FAILED", message="户籍校验失败")
        case = (await execute(runtime, VOID, {"id": case_id}, caller=OPERATOR))["voidBundleCase"]
        assert (case["status"], case["statusLabel"], case["citizenStatus"]) == ("VOIDED", "作废", "ABOLISHED")
        errors = await errors_of(runtime, REPUSH, {"id": case_id, "s": "HUKOU"}, caller=OPERATOR)
        assert codes(errors) == ["INVALID_STATE"]

        # Manual 归档 of a case that finished abnormally.
        other = await submitted_case(runtime, babyName="李沐晨")
        await report(runtime, other["id"], "BIRTH_CERTIFICATE", "FAILED", message="电子证照下载失败")
        case = (await execute(runtime, ARCHIVE, {"id": other["id"]}, caller=OPERATOR))["archiveBundleCase"]
        assert (case["status"], case["citizenStatusLabel"]) == ("ARCHIVED", "已完结")
        events = await outbox(runtime, other["id"])
        assert [e.payload["automatic"] for e in events if e.topic == "services.bundle.archived"] == [False]

        # 取消办理 needs a reason and ends the case; the applicant's own draft cancel is 已废止.
        third = await submitted_case(runtime, babyName="李沐辰")
        errors = await errors_of(runtime, CANCEL, {"id": third["id"], "r": "  "}, caller=OPERATOR)
        assert codes(errors) == ["BAD_USER_INPUT"]
        errors = await errors_of(runtime, CANCEL, {"id": third["id"], "r": "申请人要求撤回"}, caller=MOTHER)
        assert codes(errors) == ["FORBIDDEN"]
        case = (await execute(runtime, CANCEL, {"id": third["id"], "r": "申请人要求撤回"},
                              caller=OPERATOR))["cancelBundleCase"]
        assert (case["status"], case["statusLabel"], case["citizenStatusLabel"]) == ("CANCELLED", "取消办理", "已废止")
        errors = await errors_of(runtime, RESULT, {"id": third["id"], "step": "BIRTH_CERTIFICATE", "o": "DONE"},
                                 caller=department("BIRTH_CERTIFICATE"))
        assert codes(errors) == ["INVALID_STATE"]

        draft = (await execute(runtime, SAVE, {"f": {"babyName": "李沐言"}}, caller=MOTHER))["saveBirthCase"]
        errors = await errors_of(runtime, CANCEL_DRAFT, {"id": draft["id"]}, caller=STRANGER)
        assert codes(errors) == ["NOT_FOUND"]
        case = (await execute(runtime, CANCEL_DRAFT, {"id": draft["id"]}, caller=MOTHER))["cancelBundleDraft"]
        assert (case["status"], case["citizenStatusLabel"]) == ("ABOLISHED", "已废止")
        for mutation in (SUBMIT, CANCEL_DRAFT):  # irreversible
            errors = await errors_of(runtime, mutation, {"id": draft["id"]}, caller=MOTHER)
            assert codes(errors) == ["INVALID_STATE"]
        errors = await errors_of(runtime, SAVE, {"f": {"babyName": "李沐言"}, "id": draft["id"]}, caller=MOTHER)
        assert codes(errors) == ["INVALID_STATE"]
    finally:
        await runtime.engine.dispose()


async def test_who_sees_a_case(tmp_path: Path) -> None:
    runtime = await new_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        case = await submitted_case(runtime)
        case_id = case["id"]
        assert case["form"]["motherIdNumber"] == MOTHER_ID  # the applicant sees her data in clear
        assert (await execute(runtime, GET, {"id": case_id}, caller=STRANGER))["bundleCase"] is None
        assert (await execute(runtime, GET, {"id": case_id}, caller=FAR_OPERATOR))["bundleCase"] is None
        seen = (await execute(runtime, GET, {"id": case_id}, caller=OPERATOR))["bundleCase"]
        assert seen["form"]["motherIdNumber"] != MOTHER_ID and seen["babyName"] != "李沐阳"
        assert seen["versions"][0]["form"]["fatherIdNumber"] != FATHER_ID
        assert (await execute(runtime, GET, {"id": case_id}, caller=department("HUKOU")))["bundleCase"]["id"]

        mine = await execute(runtime, "{ myBundleCases { nodes { id applicantUid } } }", caller=MOTHER)
        assert [n["id"] for n in mine["myBundleCases"]["nodes"]] == [case_id]
        theirs = await execute(runtime, "{ myBundleCases { nodes { id } } }", caller=STRANGER)
        assert theirs["myBundleCases"]["nodes"] == []
        errors = await errors_of(runtime, "{ bundleCases { nodes { id } } }", caller=MOTHER)
        assert codes(errors) == ["FORBIDDEN"]
        errors = await errors_of(runtime, "{ bundleCases(filter: {regionCode: \"320302\"}) { nodes { id } } }",
                                 caller=OPERATOR)
        assert codes(errors) == ["FORBIDDEN"]

        # The department query: cases whose 妇幼 step is being handled.
        query = """query($s: String, $ss: [BundleStepStatus!]) {
          bundleCases(filter: {step: $s, stepStatus: $ss}, first: 100) { nodes { id regionCode } } }"""
        nodes = (await execute(runtime, query, {"s": "BIRTH_CERTIFICATE", "ss": ["IN_PROGRESS"]},
                               caller=OPERATOR))["bundleCases"]["nodes"]
        assert case_id in [n["id"] for n in nodes]
        assert all(n["regionCode"].startswith("320102") for n in nodes)
        nodes = (await execute(runtime, query, {"s": "HUKOU", "ss": ["IN_PROGRESS"]},
                               caller=OPERATOR))["bundleCases"]["nodes"]
        assert case_id not in [n["id"] for n in nodes]

        # A page of cases with their steps costs one statement for the page and one for all the steps.
        with count_statements(runtime) as statements:
            page = await execute(runtime, "{ bundleCases(first: 50) { nodes { id steps { step status } } } }",
                                 caller=MANAGER)
        assert len(page["bundleCases"]["nodes"]) == 50
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 2
    finally:
        await runtime.engine.dispose()


async def test_bundle_definitions(tmp_path: Path) -> None:
    runtime = await new_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        birth = await execute(runtime, """{ bundle(code: "BIRTH") { name enabled
            steps { code ordinal department itemCode dependsOn editableFields } } }""", caller=MOTHER)
        steps = birth["bundle"]["steps"]
        assert [s["code"] for s in steps] == list(STEPS)
        assert [s["dependsOn"] for s in steps] == [[], ["BIRTH_CERTIFICATE"], ["HUKOU"], ["MEDICAL_INSURANCE"]]
        assert steps[2]["editableFields"] == ["insuranceCommunity", "insuranceStart"]
        listed = await execute(runtime, "{ bundles { code } }", caller=MOTHER)
        assert "RETIREMENT" not in [b["code"] for b in listed["bundles"]]  # disabled: managers only
        listed = await execute(runtime, "{ bundles { code } }", caller=MANAGER)
        assert {"BIRTH", "BIRTH_CERT_ONLINE", "AFTER_DEATH", "RETIREMENT"} <= {b["code"] for b in listed["bundles"]}

        create = """mutation($i: BundleInput!) { createBundle(input: $i) { code steps { code ordinal } } }"""
        spec = {"code": "MARRIAGE", "name": "结婚一件事", "steps": [
            {"code": "BIRTH_REGISTER", "name": "生育登记", "department": "卫健", "dependsOn": ["MARRIAGE_REG"]},
            {"code": "MARRIAGE_REG", "name": "结婚登记", "department": "民政"}]}
        errors = await errors_of(runtime, create, {"i": spec}, caller=OPERATOR)
        assert codes(errors) == ["FORBIDDEN"]
        made = await execute(runtime, create, {"i": spec}, caller=MANAGER)
        assert [s["code"] for s in made["createBundle"]["steps"]] == ["MARRIAGE_REG", "BIRTH_REGISTER"]
        cycle = {**spec, "code": "LOOP", "steps": [
            {"code": "A1", "name": "a", "department": "x", "dependsOn": ["B1"]},
            {"code": "B1", "name": "b", "department": "y", "dependsOn": ["A1"]}]}
        errors = await errors_of(runtime, create, {"i": cycle}, caller=MANAGER)
        assert codes(errors) == ["BAD_USER_INPUT"] and "cycle" in errors[0].message
        errors = await errors_of(runtime, create, {"i": spec}, caller=MANAGER)
        assert codes(errors) == ["CONFLICT"]

        update = """mutation($s: [BundleStepInput!]) { updateBundle(code: "BIRTH", steps: $s) { code } }"""
        errors = await errors_of(runtime, update, {"s": [{"code": "ONLY", "name": "x", "department": "y"}]},
                                 caller=MANAGER)
        assert codes(errors) == ["CONFLICT"]  # the seeded cases were made from its steps
        disable = 'mutation($e: Boolean!) { setBundleEnabled(code: "BIRTH", enabled: $e) { enabled } }'
        await execute(runtime, disable, {"e": False}, caller=MANAGER)
        errors = await errors_of(runtime, SAVE, {"f": {"babyName": "李沐阳"}}, caller=MOTHER)
        assert codes(errors) == ["INVALID_STATE"]
        await execute(runtime, disable, {"e": True}, caller=MANAGER)
        await execute(runtime, SAVE, {"f": {"babyName": "李沐阳"}}, caller=MOTHER)
    finally:
        await runtime.engine.dispose()


async def test_seeded_cases_are_consistent(tmp_path: Path) -> None:
    runtime = await new_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        async with runtime.sessions() as session:
            cases = (await session.scalars(select(models.BundleCase))).all()
            subs = (await session.scalars(select(models.BundleSubCase))).all()
            versions = (await session.scalars(select(models.BundleCaseVersion))).all()
            events = (await session.scalars(select(models.BundleEvent).order_by(models.BundleEvent.id))).all()
        statuses = Counter(c.status for c in cases)
        assert {"DRAFT", "IN_PROGRESS", "ARCHIVED", "ABOLISHED", "CANCELLED", "VOIDED"} <= set(statuses)
        assert {"WAITING", "IN_PROGRESS", "RETURNED", "DONE", "FAILED"} <= {s.status for s in subs}
        by_case: dict[str, list[models.BundleEvent]] = {}
        for e in events:
            by_case.setdefault(e.case_id, []).append(e)
        for case in cases:
            timeline = by_case[case.id]
            assert [e.at for e in timeline] == sorted(e.at for e in timeline)
            assert timeline[-1].to_status == case.status or timeline[-1].step_code is not None
            assert (case.finished_at is not None) == (case.status in ("ARCHIVED", "ABOLISHED", "CANCELLED", "VOIDED"))
            mine = sorted((v for v in versions if v.case_id == case.id), key=lambda v: v.version)
            assert len(mine) == (0 if case.submitted_at is None else case.version)
            assert all(v.superseded_at is not None for v in mine[:-1])
            assert not mine or mine[-1].superseded_at is None
        # Deterministic: a second world of the same seed is the same.
        assert sorted(c.id for c in cases)[:2] == ["bc-seed-000001", "bc-seed-000002"]
    finally:
        await runtime.engine.dispose()
