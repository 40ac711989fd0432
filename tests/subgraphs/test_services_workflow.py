"""services: the application workflow (domain/workflow.py). Every legal (action, status) pair moves and
records one event; every illegal one is refused with INVALID_STATE and changes nothing; the steps' own rules
(补正 vs 退回, the rectification deadline, the tracks of a granted case); the citizen's bucket and sub-label
for every status; overdue cases; the GraphQL mutations."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLError
from sqlalchemy import func, select, update
from support import errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.common.validators import make_resident_id
from subgraphs.services import models
from subgraphs.services.app import definition
from subgraphs.services.domain import applications as domain
from subgraphs.services.domain import workflow
from subgraphs.services.status import (
    STAGE_OF,
    TRANSITIONS,
    Action,
    ApplicationStage,
    ApplicationStatus,
    CitizenStatus,
    citizen_status,
    next_status,
)

A, S = Action, ApplicationStatus
NURSE_FIRST = "护士执业注册（首次注册）"
VALID_ID = make_resident_id("320102", date(1990, 1, 1), 123)


@pytest.fixture(scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    path = tmp_path_factory.mktemp("services_workflow") / "s.db"
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{path}")
    await ensure_nurse_licence_type(runtime)
    yield runtime
    await runtime.engine.dispose()


async def ensure_nurse_licence_type(runtime: Runtime) -> None:
    """The nurse registrations produce 护士执业证书 (the catalogue seed may set it already)."""
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(models.BusinessItem).where(
            models.BusinessItem.name == NURSE_FIRST, models.BusinessItem.licence_type.is_(None)
        ).values(licence_type="NURSE_PRACTICE"))


async def business_item_id(runtime: Runtime, *, power: str, licence: bool | None = None,
                           name: str | None = None) -> str:
    async with runtime.sessions() as session:
        stmt = (select(models.BusinessItem.id).join(models.ServiceItem)
                .where(models.ServiceItem.power_type == power, models.ServiceItem.party == "INDIVIDUAL")
                .order_by(models.BusinessItem.seq))
        if name is not None:
            stmt = stmt.where(models.BusinessItem.name == name)
        if licence is True:
            stmt = stmt.where(models.BusinessItem.licence_type.is_not(None))
        if licence is False:
            stmt = stmt.where(models.BusinessItem.licence_type.is_(None))
        found = await session.scalar(stmt.limit(1))
    assert found is not None
    return found


async def insert_application(runtime: Runtime, business_item: str, status: ApplicationStatus,
                             **columns: Any) -> str:
    now = datetime.now(UTC)
    app_id = f"app-t-{uuid.uuid4().hex[:16]}"
    values: dict[str, Any] = {
        "id": app_id, "number": f"JT{uuid.uuid4().int % 10**16:016d}", "business_item_id": business_item,
        "applicant_uid": "P-test-applicant", "status": status.value, "created_at": now, "updated_at": now,
        "region_code": "320102", "organization_id": "org-320102-hc", "applicant_name": "张三",
        "form_data": {"applicant": {"name": "张三", "sex": "FEMALE", "idNumber": VALID_ID}},
        **columns,
    }
    async with runtime.sessions() as session, session.begin():
        session.add(models.Application(**values))
    return app_id


async def load(runtime: Runtime, app_id: str) -> models.Application:
    async with runtime.sessions() as session:
        row = await session.get(models.Application, app_id)
        assert row is not None
        return row


async def events_of(runtime: Runtime, app_id: str) -> list[models.ApplicationEvent]:
    async with runtime.sessions() as session:
        rows = await session.scalars(select(models.ApplicationEvent).where(
            models.ApplicationEvent.application_id == app_id).order_by(models.ApplicationEvent.seq))
        return list(rows)


async def outbox_topics(runtime: Runtime, app_id: str) -> list[str]:
    async with runtime.sessions() as session:
        rows = await session.scalars(select(models.OutboxEvent).order_by(models.OutboxEvent.created_at))
        return [r.topic for r in rows if r.payload.get("applicationId") == app_id]


async def move(runtime: Runtime, app_id: str, action: Action, **details: Any) -> models.ApplicationEvent:
    async with runtime.sessions() as session, session.begin():
        row = await session.get(models.Application, app_id)
        assert row is not None
        return await workflow.transition(session, row, action, actor="tester", **details)


def code_of(error: BaseException) -> str | None:
    assert isinstance(error, GraphQLError), error
    return (error.extensions or {}).get("code")


# What each legal move needs besides the status: (business item kind, extra columns, details).
def setup_for(action: Action, status: ApplicationStatus) -> tuple[str, dict[str, Any], dict[str, Any]]:
    item = "licence"
    columns: dict[str, Any] = {}
    details: dict[str, Any] = {}
    if action is A.RETURN:
        item = "filing"
    if action is A.INSPECTION_FAILED:
        details = {"rectification_due": date.today() + timedelta(days=10)}
    if action in (A.SUPPLY, A.RESUME):
        columns = {"suspended_from": S.SECTION_REVIEW.value}
    if action is A.ISSUE_CERTIFICATE:
        columns = {"certificate_status": "PENDING", "licence_id": "lic-np-TEST"}
    if action is A.MAIL:
        columns = {"certificate_status": "ISSUED", "licence_id": "lic-np-TEST"}
        details = {"carrier": "EMS", "waybill_number": "1234567890123"}
    if action is A.CONFIRM_RECEIPT:
        columns = {"certificate_status": "ISSUED", "delivery_status": "MAILED", "delivery_method": "MAIL"}
    if action is A.EVALUATE:
        details = {"rating": 5, "evaluation_comment": "满意"}
    return item, columns, details


LEGAL = sorted(((a, s) for a, (sources, _) in TRANSITIONS.items() for s in sources),
               key=lambda p: (p[0].value, p[1].value))


@pytest.mark.parametrize(("action", "status"), LEGAL, ids=[f"{a.value}-{s.value}" for a, s in LEGAL])
async def test_every_legal_move_succeeds_and_writes_one_event(runtime: Runtime, action: Action,
                                                              status: ApplicationStatus) -> None:
    kind, columns, details = setup_for(action, status)
    item = await business_item_id(runtime, power="FILING") if kind == "filing" else await business_item_id(
        runtime, power="LICENSING", name=NURSE_FIRST)
    app_id = await insert_application(runtime, item, status, **columns)
    event = await move(runtime, app_id, action, **details)
    expected = next_status(action, status, ApplicationStatus(columns["suspended_from"])
                           if "suspended_from" in columns else None)
    row = await load(runtime, app_id)
    assert row.status == expected.value if expected else status.value
    assert row.version == 2
    events = await events_of(runtime, app_id)
    assert [(e.seq, e.action, e.from_status, e.to_status, e.actor) for e in events] == [
        (1, action.value, status.value, row.status, "tester")]
    assert event.seq == 1
    topics = await outbox_topics(runtime, app_id)
    assert topics[0] == workflow.TRANSITIONED_TOPIC
    if STAGE_OF[ApplicationStatus(row.status)] is ApplicationStage.COMPLETED and status.value != row.status:
        assert workflow.COMPLETED_TOPIC in topics and row.completed_at is not None


ILLEGAL_BY_STATUS = {s: [a for a, (sources, _) in TRANSITIONS.items() if s not in sources] for s in S}


@pytest.mark.parametrize("status", list(S), ids=[workflow.code(s) for s in S])
async def test_every_illegal_move_is_refused_and_changes_nothing(runtime: Runtime,
                                                                 status: ApplicationStatus) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    app_id = await insert_application(runtime, item, status)
    before = await load(runtime, app_id)
    for action in ILLEGAL_BY_STATUS[status]:
        with pytest.raises(GraphQLError) as refused:
            await move(runtime, app_id, action)
        assert code_of(refused.value) == "INVALID_STATE", action
        # The error names the current status (in Chinese and by code) and what may be done instead.
        message = refused.value.message
        assert workflow.code(status) in message and workflow.STATUS_LABELS[status] in message
        assert refused.value.extensions is not None
        assert refused.value.extensions["allowed"] == [a.value for a in workflow.allowed_actions(status)]
    after = await load(runtime, app_id)
    assert (after.status, after.version, after.updated_at) == (before.status, before.version, before.updated_at)
    assert await events_of(runtime, app_id) == []
    assert await outbox_topics(runtime, app_id) == []


async def test_correction_is_for_licensing_and_return_for_filings(runtime: Runtime) -> None:
    filing = await business_item_id(runtime, power="FILING")
    licensing = await business_item_id(runtime, power="LICENSING")
    filed = await insert_application(runtime, filing, S.PRE_REVIEW)
    with pytest.raises(GraphQLError) as refused:
        await move(runtime, filed, A.REQUEST_CORRECTION)
    assert code_of(refused.value) == "INVALID_STATE" and "RETURN" in refused.value.message
    licensed = await insert_application(runtime, licensing, S.PRE_REVIEW)
    with pytest.raises(GraphQLError) as refused:
        await move(runtime, licensed, A.RETURN)
    assert code_of(refused.value) == "INVALID_STATE"
    await move(runtime, licensed, A.REQUEST_CORRECTION, comment="缺身份证明")
    assert (await load(runtime, licensed)).status == S.CORRECTION_REQUIRED.value
    await move(runtime, filed, A.RETURN)
    assert (await load(runtime, filed)).status == S.RETURNED.value


async def test_a_failed_inspection_needs_a_deadline_after_today_and_a_pass_is_recorded(runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    app_id = await insert_application(runtime, item, S.SITE_INSPECTION)
    for bad in ({}, {"rectification_due": date.today()}, {"rectification_due": "not a date"}):
        with pytest.raises(GraphQLError) as refused:
            await move(runtime, app_id, A.INSPECTION_FAILED, **bad)
        assert code_of(refused.value) == "BAD_USER_INPUT"
    due = date.today() + timedelta(days=15)
    await move(runtime, app_id, A.INSPECTION_FAILED, rectification_due=due.isoformat())
    row = await load(runtime, app_id)
    assert row.status == S.SITE_INSPECTION.value and row.rectification_due == due
    await move(runtime, app_id, A.SEND_TO_EXPERTS)
    events = await events_of(runtime, app_id)
    assert events[0].details == {"inspection": "FAILED", "rectificationDue": due.isoformat()}
    assert events[1].details == {"inspection": "PASSED"} and events[1].seq == 2
    assert (await load(runtime, app_id)).rectification_due is None


async def test_supplement_and_suspension_return_to_the_step_that_asked(runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    app_id = await insert_application(runtime, item, S.EXPERT_REVIEW)
    await move(runtime, app_id, A.REQUEST_SUPPLEMENT)
    assert (await load(runtime, app_id)).suspended_from == S.EXPERT_REVIEW.value
    await move(runtime, app_id, A.SUPPLY)
    await move(runtime, app_id, A.SEND_TO_SECTION_REVIEW)
    await move(runtime, app_id, A.SUSPEND)
    await move(runtime, app_id, A.RESUME)
    row = await load(runtime, app_id)
    assert row.status == S.SECTION_REVIEW.value and row.suspended_from is None
    assert [e.to_status for e in await events_of(runtime, app_id)] == [
        "SUPPLEMENT_REQUIRED", "EXPERT_REVIEW", "SECTION_REVIEW", "SUSPENDED", "SECTION_REVIEW"]


async def test_acceptance_sets_the_due_date_and_issues_the_notice(runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    app_id = await insert_application(runtime, item, S.PRE_REVIEW)
    event = await move(runtime, app_id, A.ACCEPT)
    row = await load(runtime, app_id)
    assert row.accepted_at is not None and row.due_at is not None
    # The guide's promised working days (or 20 without a guide): at least a working week away.
    assert row.due_at - row.accepted_at >= timedelta(days=5)
    assert event.details == {"dueAt": row.due_at.isoformat()}
    async with runtime.sessions() as session:
        documents = list(await session.scalars(select(models.ApplicationDocument).where(
            models.ApplicationDocument.application_id == app_id)))
    assert [(d.kind, d.title, d.id) for d in documents] == [
        ("ACCEPTANCE_NOTICE", "行政许可申请受理通知书", event.documents[0])]


async def test_approval_emits_the_licence_contract_and_completion(runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    app_id = await insert_application(runtime, item, S.LEADER_APPROVAL, kind="NEW",
                                      form_data={"applicant": {"name": "李四", "sex": "FEMALE",
                                                               "idNumber": VALID_ID},
                                                 "licence": {"practiceInstitutionName": "南京市第一医院"}},
                                      applicant_name="李四")
    await move(runtime, app_id, A.APPROVE)
    row = await load(runtime, app_id)
    assert row.certificate_status == "PENDING" and row.completed_at is not None
    async with runtime.sessions() as session:
        rows = {r.topic: r.payload for r in await session.scalars(select(models.OutboxEvent))
                if r.payload.get("applicationId") == app_id}
    approved = rows[workflow.APPROVED_TOPIC]
    assert approved["licenceType"] == "NURSE_PRACTICE"
    assert approved["applicant"] == {"uid": "P-test-applicant", "name": "李四", "sex": "FEMALE",
                                     "idNumber": VALID_ID}
    assert approved["issuer"] == {"orgId": "org-320102-hc", "name": "玄武区卫生健康局"}
    assert approved["licence"] == {"practiceInstitutionName": "南京市第一医院"}
    assert rows[workflow.COMPLETED_TOPIC] == {
        "applicationId": app_id, "outcome": "APPROVED", "businessItemId": item, "powerType": "LICENSING",
        "regionCode": "320102"}
    # The licences subgraph parses the payload as its contract says.
    from subgraphs.licences.events import ApplicationApproved

    assert ApplicationApproved.from_payload(approved).licence_type.value == "NURSE_PRACTICE"


async def test_a_change_names_the_licence_it_changes(runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    app_id = await insert_application(runtime, item, S.LEADER_APPROVAL, kind="CHANGE",
                                      form_data={"sourceLicenceNumber": "202132000123"})
    await move(runtime, app_id, A.APPROVE)
    async with runtime.sessions() as session:
        payload = next(r.payload for r in await session.scalars(select(models.OutboxEvent))
                       if r.topic == workflow.APPROVED_TOPIC and r.payload["applicationId"] == app_id)
    assert payload["licence"]["number"] == "202132000123"


async def test_an_item_without_a_licence_emits_no_approval_and_has_no_certificate_to_wait_for(
        runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", licence=False)
    app_id = await insert_application(runtime, item, S.LEADER_APPROVAL)
    await move(runtime, app_id, A.APPROVE)
    assert workflow.APPROVED_TOPIC not in await outbox_topics(runtime, app_id)
    assert (await load(runtime, app_id)).certificate_status is None
    await move(runtime, app_id, A.ISSUE_CERTIFICATE)
    assert (await load(runtime, app_id)).certificate_status == "ISSUED"


async def test_the_tracks_run_in_order_and_once(runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    app_id = await insert_application(runtime, item, S.LEADER_APPROVAL)
    await move(runtime, app_id, A.APPROVE)

    async def refused(action: Action, expected: str = "INVALID_STATE", **details: Any) -> None:
        with pytest.raises(GraphQLError) as error:
            await move(runtime, app_id, action, **details)
        assert code_of(error.value) == expected, (action, error.value.message)

    await refused(A.ISSUE_CERTIFICATE)  # the licence does not exist yet
    await refused(A.MAIL, carrier="EMS", waybill_number="1")  # nothing issued to mail
    await refused(A.CONFIRM_RECEIPT)
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(models.Application).where(models.Application.id == app_id).values(
            licence_id="lic-np-X"))
    await move(runtime, app_id, A.ISSUE_CERTIFICATE)
    await refused(A.ISSUE_CERTIFICATE)
    await refused(A.MAIL, "BAD_USER_INPUT", carrier="EMS")
    await move(runtime, app_id, A.MAIL, carrier="EMS", waybill_number="1180000000001")
    await refused(A.MAIL, carrier="EMS", waybill_number="2")
    await move(runtime, app_id, A.CONFIRM_RECEIPT)
    await refused(A.CONFIRM_RECEIPT)
    await refused(A.EVALUATE, "BAD_USER_INPUT", rating=6)
    await move(runtime, app_id, A.EVALUATE, rating=4, evaluation_comment="快")
    await refused(A.EVALUATE, rating=5)
    row = await load(runtime, app_id)
    assert (row.certificate_status, row.delivery_status, row.waybill_number, row.rating) == (
        "ISSUED", "RECEIVED", "1180000000001", 4)
    assert row.status == S.APPROVED.value
    assert len(await events_of(runtime, app_id)) == 5


# --- the citizen's view ----------------------------------------------------------------------------------


BUCKETS = {
    **dict.fromkeys([S.NEW, S.DRAFT, S.WITHDRAWN, S.CORRECTION_REQUIRED, S.RETURNED, S.SUPPLEMENT_REQUIRED],
                    CitizenStatus.PENDING_SUBMISSION),
    **dict.fromkeys([S.PRE_REVIEW, S.HANDOVER, S.RECEIVED, S.MATERIALS_COMPLETED, S.UNDER_ACCEPTANCE],
                    CitizenStatus.SUBMITTED),
    **dict.fromkeys([S.ACCEPTED, S.SITE_INSPECTION, S.EXPERT_REVIEW, S.SECTION_REVIEW, S.LEADER_APPROVAL,
                     S.SUSPENDED], CitizenStatus.IN_PROGRESS),
    **dict.fromkeys([S.NOT_ACCEPTED, S.REJECTED, S.TERMINATED, S.REVOKED, S.VOIDED], CitizenStatus.COMPLETED),
    S.APPROVED: CitizenStatus.AWAITING_EVALUATION,
}
DETAILS = {S.NEW: "暂存", S.DRAFT: "暂存", S.WITHDRAWN: "暂存", S.CORRECTION_REQUIRED: "补正", S.RETURNED: "退回",
           S.SUPPLEMENT_REQUIRED: "补正", S.ACCEPTED: "已受理", S.SITE_INSPECTION: "现场勘验",
           S.EXPERT_REVIEW: "专家评审", S.SECTION_REVIEW: "已受理", S.LEADER_APPROVAL: "领导审批"}


@pytest.mark.parametrize("status", list(S), ids=[workflow.code(s) for s in S])
def test_the_citizen_bucket_and_label_of_every_status(status: ApplicationStatus) -> None:
    assert citizen_status(status, evaluated=False) is BUCKETS[status]
    evaluated = citizen_status(status, evaluated=True)
    assert evaluated is (CitizenStatus.COMPLETED if status is S.APPROVED else BUCKETS[status])
    row = models.Application(status=status.value)
    assert domain.citizen_detail(row) == DETAILS.get(status)


@pytest.mark.parametrize(("certificate", "delivery", "label"), [
    ("PENDING", None, "待出证"), ("ISSUED", None, None), ("ISSUED", "MAILED", "已邮寄"),
    ("ISSUED", "RECEIVED", "已收件")])
async def test_the_tracks_of_a_granted_case_show_through_graphql(runtime: Runtime, certificate: str,
                                                                delivery: str | None, label: str | None) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    app_id = await insert_application(runtime, item, S.APPROVED, certificate_status=certificate,
                                      delivery_status=delivery)
    data = await execute(runtime, """query($id: ID!) { application(id: $id) {
        citizenStatus citizenStatusLabel citizenStatusDetail certificateStatus deliveryStatus } }""", {"id": app_id})
    assert data["application"] == {"citizenStatus": "AWAITING_EVALUATION", "citizenStatusLabel": "待评价",
                                   "citizenStatusDetail": label, "certificateStatus": certificate,
                                   "deliveryStatus": delivery}


# --- overdue ---------------------------------------------------------------------------------------------


async def test_overdue_cases_are_flagged_and_queued(runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    past = datetime.now(UTC) - timedelta(days=1)
    late = await insert_application(runtime, item, S.SECTION_REVIEW, due_at=past, region_code="320999")
    done = await insert_application(runtime, item, S.APPROVED, due_at=past, region_code="320999")
    on_time = await insert_application(runtime, item, S.ACCEPTED, due_at=datetime.now(UTC) + timedelta(days=3),
                                       region_code="320999")
    query = "query($id: ID!) { application(id: $id) { overdue dueAt } }"
    flags = {a: (await execute(runtime, query, {"id": a}))["application"]["overdue"] for a in (late, done, on_time)}
    assert flags == {late: True, done: False, on_time: False}
    queue = await execute(runtime, """{ applicationQueue(regionCode: "320999", overdue: true) {
        edges { node { id overdue } } } }""")
    assert [e["node"]["id"] for e in queue["applicationQueue"]["edges"]] == [late]


# --- through GraphQL -------------------------------------------------------------------------------------


APPLICANT = Caller(subject="u-applicant", client_id="portal", scopes=frozenset(), person_uid="P-graph-applicant",
                   region_code="320102")
WINDOW = Caller(subject="u-window", client_id="hall", scopes=frozenset(), roles=("SERVICE_WINDOW",),
                region_code="320102", organization_id="org-320102-hc", data_scope="OWN_ORG")
APPROVER = Caller(subject="u-approver", client_id="hall", scopes=frozenset(), roles=("SERVICE_APPROVER",),
                  region_code="320102", organization_id="org-320102-hc", data_scope="OWN_ORG")
LEADER = Caller(subject="u-leader", client_id="hall", scopes=frozenset(), roles=("SERVICE_LEADER",),
                region_code="320102", organization_id="org-320102-hc", data_scope="OWN_ORG")

TRANSITION = """mutation($id: ID!, $action: Action!, $details: TransitionDetails) {
  transitionApplication(id: $id, action: $action, details: $details) { status version } }"""


async def test_a_case_through_graphql_with_each_desk_doing_its_part(runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    created = await execute(runtime, """mutation($input: CreateApplicationInput!) { createApplication(input: $input)
        { id status kind channel applicantName } }""", {"input": {
        "businessItemId": item, "organizationId": "org-320102-hc",
        "formData": {"applicant": {"name": "王五", "idNumber": VALID_ID}}}}, caller=APPLICANT)
    app = created["createApplication"]
    assert (app["status"], app["channel"], app["applicantName"]) == ("NEW", "ONLINE", "王五")
    await execute(runtime, 'mutation($id: ID!) { saveApplication(id: $id, formData: {applicant: {name: "王五"}}) '
                           "{ status } }", {"id": app["id"]}, caller=APPLICANT)
    await execute(runtime, "mutation($id: ID!) { submitApplication(id: $id) { status } }", {"id": app["id"]},
                  caller=APPLICANT)
    # The applicant cannot accept their own case; the window cannot approve it.
    errors = await errors_of(runtime, TRANSITION, {"id": app["id"], "action": "ACCEPT"}, caller=APPLICANT)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    for caller, action in ((WINDOW, "ACCEPT"), (APPROVER, "SEND_TO_SECTION_REVIEW"), (APPROVER, "SECTION_AGREE")):
        await execute(runtime, TRANSITION, {"id": app["id"], "action": action}, caller=caller)
    errors = await errors_of(runtime, TRANSITION, {"id": app["id"], "action": "APPROVE"}, caller=WINDOW)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    done = await execute(runtime, TRANSITION, {"id": app["id"], "action": "APPROVE"}, caller=LEADER)
    assert done["transitionApplication"]["status"] == "APPROVED"
    errors = await errors_of(runtime, TRANSITION, {"id": app["id"], "action": "SUBMIT"}, caller=APPLICANT)
    assert errors[0].extensions["code"] == "INVALID_STATE"
    assert "准予" in errors[0].message and "EVALUATE" in errors[0].message
    timeline = await execute(runtime, """query($id: ID!) { application(id: $id) {
        events { seq action fromStatus toStatus actor } documents { kind title } } }""", {"id": app["id"]},
                             caller=APPLICANT)
    events = timeline["application"]["events"]
    assert [e["action"] for e in events] == ["SAVE", "SUBMIT", "ACCEPT", "SEND_TO_SECTION_REVIEW", "SECTION_AGREE",
                                             "APPROVE"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[2]["actor"] == "u-window"
    assert [d["kind"] for d in timeline["application"]["documents"]] == ["ACCEPTANCE_NOTICE", "APPROVAL_DECISION"]
    rated = await execute(runtime, """mutation($id: ID!) { evaluateApplication(id: $id, rating: 5, comment: "好")
        { rating citizenStatus } }""", {"id": app["id"]}, caller=APPLICANT)
    assert rated["evaluateApplication"] == {"rating": 5, "citizenStatus": "COMPLETED"}


async def test_withdraw_before_acceptance_and_resubmit_after_correction(runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    created = await execute(runtime, """mutation($input: CreateApplicationInput!) { createApplication(input: $input)
        { id } }""", {"input": {"businessItemId": item, "organizationId": "org-320102-hc"}}, caller=APPLICANT)
    app_id = created["createApplication"]["id"]
    submit = "mutation($id: ID!) { submitApplication(id: $id) { status } }"
    await execute(runtime, submit, {"id": app_id}, caller=APPLICANT)
    withdrawn = await execute(runtime, "mutation($id: ID!) { withdrawApplication(id: $id) { status } }",
                              {"id": app_id}, caller=APPLICANT)
    assert withdrawn["withdrawApplication"]["status"] == "WITHDRAWN"
    await execute(runtime, submit, {"id": app_id}, caller=APPLICANT)
    await execute(runtime, TRANSITION, {"id": app_id, "action": "REQUEST_CORRECTION"}, caller=WINDOW)
    resubmitted = await execute(runtime, "mutation($id: ID!) { resubmitApplication(id: $id) { status } }",
                                {"id": app_id}, caller=APPLICANT)
    assert resubmitted["resubmitApplication"]["status"] == "PRE_REVIEW"
    await execute(runtime, TRANSITION, {"id": app_id, "action": "ACCEPT"}, caller=WINDOW)
    errors = await errors_of(runtime, "mutation($id: ID!) { withdrawApplication(id: $id) { status } }",
                             {"id": app_id}, caller=APPLICANT)
    assert errors[0].extensions["code"] == "INVALID_STATE"


async def test_a_disabled_business_item_takes_no_application(runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", licence=False)
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(models.BusinessItem).where(models.BusinessItem.id == item).values(enabled=False))
    try:
        errors = await errors_of(runtime, """mutation($input: CreateApplicationInput!) {
            createApplication(input: $input) { id } }""", {"input": {"businessItemId": item}}, caller=APPLICANT)
        assert errors[0].extensions["code"] == "INVALID_STATE"
    finally:
        async with runtime.sessions() as session, session.begin():
            await session.execute(update(models.BusinessItem).where(models.BusinessItem.id == item).values(
                enabled=True))


async def test_walk_in_intake_records_the_applicant_and_a_receipt(runtime: Runtime) -> None:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    query = """mutation($input: CreateApplicationInput!) { receiveWalkIn(input: $input, hall: "玄武区政务服务中心") {
        id status channel applicantName documents { kind title } } }"""
    variables = {"input": {"businessItemId": item, "applicantUid": "P-walk-in", "applicantName": "赵六",
                           "applicantIdNumber": VALID_ID, "organizationId": "org-320102-hc"}}
    errors = await errors_of(runtime, query, variables, caller=APPLICANT)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    received = (await execute(runtime, query, variables, caller=WINDOW))["receiveWalkIn"]
    assert (received["status"], received["channel"], received["applicantName"]) == ("RECEIVED", "WINDOW", "赵六")
    assert received["documents"] == [{"kind": "INTAKE_RECEIPT", "title": "收件凭证"}]
    async with runtime.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(models.ApplicationEvent).where(
            models.ApplicationEvent.application_id == received["id"]))
    assert count == 1


# --- PostgreSQL --------------------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_the_workflow_on_postgresql() -> None:
    from support import create_pg_database, drop_pg_database

    url = await create_pg_database("jshealth_svc")
    try:
        pg = await make_runtime(definition, url)
        try:
            await ensure_nurse_licence_type(pg)
            item = await business_item_id(pg, power="LICENSING", name=NURSE_FIRST)
            created = await execute(pg, """mutation($input: CreateApplicationInput!) {
                createApplication(input: $input) { id } }""", {"input": {
                "businessItemId": item, "organizationId": "org-320102-hc", "kind": "新办"}}, caller=APPLICANT)
            app_id = created["createApplication"]["id"]
            await execute(pg, "mutation($id: ID!) { submitApplication(id: $id) { status } }", {"id": app_id},
                          caller=APPLICANT)
            for caller, action in ((WINDOW, "ACCEPT"), (APPROVER, "SEND_TO_INSPECTION")):
                await execute(pg, TRANSITION, {"id": app_id, "action": action}, caller=caller)
            due = (date.today() + timedelta(days=7)).isoformat()
            await execute(pg, TRANSITION, {"id": app_id, "action": "INSPECTION_FAILED",
                                           "details": {"rectificationDue": due}}, caller=APPROVER)
            for caller, action in ((APPROVER, "SEND_TO_SECTION_REVIEW"), (APPROVER, "SECTION_AGREE"),
                                   (LEADER, "APPROVE")):
                await execute(pg, TRANSITION, {"id": app_id, "action": action}, caller=caller)
            errors = await errors_of(pg, TRANSITION, {"id": app_id, "action": "ISSUE_CERTIFICATE"}, caller=WINDOW)
            assert errors[0].extensions["code"] == "INVALID_STATE"  # the licence is not there yet
            row = await load(pg, app_id)
            assert (row.status, row.kind, row.version, row.certificate_status) == ("APPROVED", "NEW", 8, "PENDING")
            events = await events_of(pg, app_id)
            assert [e.seq for e in events] == list(range(1, 8))
            assert events[3].details == {"inspection": "FAILED", "rectificationDue": due}
            assert events[4].details == {"inspection": "PASSED"}
            topics = await outbox_topics(pg, app_id)
            assert topics.count(workflow.TRANSITIONED_TOPIC) == 7
            assert workflow.APPROVED_TOPIC in topics and workflow.COMPLETED_TOPIC in topics
        finally:
            await pg.engine.dispose()
    finally:
        await drop_pg_database(url)
