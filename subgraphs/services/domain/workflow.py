"""The application workflow: every status change of an 办件 goes through `transition`, built on the state
machine table in status.py. Besides the move itself, a transition checks who may make it (access.py),
applies the step's own rules (补正 for licensing, 退回 for filings, a rectification deadline, the tracks of a
granted case), issues the step's document (文书), appends one ApplicationEvent and writes the outbox events
other parts of the system react to, all in the caller's transaction.

Events emitted (docs/services/applications.md has the payloads):
* services.application.transitioned: every transition (the cockpit's live counters);
* services.application.completed: every move into 已办结 (publicity);
* services.application.approved: 准予 of a business item that produces a licence (the licences subgraph).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from typing import Any, Final, cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.china_time import CHINA as CHINA  # re-exported
from subgraphs.common.china_time import today_in_china as today_in_china
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.outbox import emit
from subgraphs.services import access, models
from subgraphs.services.access import Desk
from subgraphs.services.domain import catalogue_admin, guides
from subgraphs.services.status import (
    STAGE_OF,
    TRANSITIONS,
    Action,
    ApplicationStage,
    ApplicationStatus,
    next_status,
)
from subgraphs.services.vocabulary import PowerType

A, S = Action, ApplicationStatus
TRANSITIONED_TOPIC = "services.application.transitioned"
COMPLETED_TOPIC = "services.application.completed"
APPROVED_TOPIC = "services.application.approved"


class _System:
    """The system itself (jobs, seeds): no caller to check."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM: Final = _System()

# Actions the applicant takes; window staff may take them on the applicant's behalf, except the rating.
APPLICANT_ACTIONS = frozenset({A.SAVE, A.SUBMIT, A.WITHDRAW, A.RESUBMIT, A.SUPPLY, A.CONFIRM_RECEIPT,
                               A.EVALUATE})
_ACCEPTANCE_DESKS = (Desk.WINDOW, Desk.APPROVER)
# Which desk takes each staff action (managers staff every desk).
DESKS: dict[Action, tuple[Desk, ...]] = {
    A.RECEIVE_WALK_IN: (Desk.WINDOW,),
    A.HANDOVER: (Desk.WINDOW,),
    A.COMPLETE_MATERIALS: (Desk.APPROVER,),
    **dict.fromkeys((A.START_ACCEPTANCE, A.ACCEPT, A.REFUSE, A.REQUEST_CORRECTION, A.RETURN), _ACCEPTANCE_DESKS),
    **dict.fromkeys((A.SEND_TO_INSPECTION, A.INSPECTION_FAILED, A.SEND_TO_EXPERTS, A.SEND_TO_SECTION_REVIEW,
                     A.SECTION_AGREE, A.SECTION_DISAGREE, A.REQUEST_SUPPLEMENT, A.SUSPEND, A.RESUME),
                    (Desk.APPROVER,)),
    **dict.fromkeys((A.TERMINATE, A.REVOKE, A.VOID), (Desk.APPROVER, Desk.LEADER)),
    **dict.fromkeys((A.APPROVE, A.DENY), (Desk.LEADER,)),
    A.ISSUE_CERTIFICATE: (Desk.WINDOW, Desk.APPROVER),
    A.MAIL: (Desk.WINDOW,),
}
assert set(DESKS) | APPLICANT_ACTIONS == set(Action)

STATUS_LABELS: dict[ApplicationStatus, str] = {
    S.NEW: "新增", S.DRAFT: "暂存", S.WITHDRAWN: "撤回", S.CORRECTION_REQUIRED: "补正", S.RETURNED: "退回",
    S.SUPPLEMENT_REQUIRED: "补充", S.PRE_REVIEW: "预审", S.HANDOVER: "交接", S.RECEIVED: "接收",
    S.MATERIALS_COMPLETED: "补全", S.UNDER_ACCEPTANCE: "受理审查", S.ACCEPTED: "已受理", S.SITE_INSPECTION: "现场勘验",
    S.EXPERT_REVIEW: "专家评审", S.SECTION_REVIEW: "承办科室审核", S.LEADER_APPROVAL: "领导审批", S.SUSPENDED: "中止",
    S.NOT_ACCEPTED: "不受理", S.APPROVED: "准予", S.REJECTED: "不准予", S.TERMINATED: "终止", S.REVOKED: "撤销",
    S.VOIDED: "作废",
}
assert set(STATUS_LABELS) == set(ApplicationStatus)

# The 文书 a step issues: (kind, 文号 prefix, title).
DOCUMENTS: dict[Action, tuple[str, str, str]] = {
    A.RECEIVE_WALK_IN: ("INTAKE_RECEIPT", "SJ", "收件凭证"),
    A.ACCEPT: ("ACCEPTANCE_NOTICE", "SL", "行政许可申请受理通知书"),
    A.REFUSE: ("REFUSAL_DECISION", "BSL", "不予受理决定书"),
    A.REQUEST_CORRECTION: ("CORRECTION_NOTICE", "BZ", "补正告知书"),
    A.RETURN: ("RETURN_NOTICE", "TH", "退回告知书"),
    A.APPROVE: ("APPROVAL_DECISION", "ZY", "准予许可决定书"),
    A.DENY: ("DENIAL_DECISION", "BZY", "不准予许可决定书"),
}
COMPLETING = frozenset(a for a, (_, target) in TRANSITIONS.items()
                       if isinstance(target, ApplicationStatus) and STAGE_OF[target] is ApplicationStage.COMPLETED)
# Statuses a SUPPLY/RESUME returns to when the row does not know where it came from (seeded cases).
_DEFAULT_BACK = S.ACCEPTED


def code(member: Enum) -> str:
    """An enum's value as the str it is (strawberry's enum_value hides the type from mypy)."""
    return cast(str, member.value)


def now_utc() -> datetime:
    return datetime.now(UTC)


def invalid_state(message: str, **extensions: Any) -> Exception:
    return domain_error(ErrorCode.INVALID_STATE, message, **extensions)


def allowed_actions(status: ApplicationStatus) -> list[Action]:
    """The actions the state machine allows from `status` (the tracks' own rules aside)."""
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def _refuse_move(application: models.Application, action: Action) -> Exception:
    status = ApplicationStatus(application.status)
    allowed = allowed_actions(status)
    return invalid_state(
        f"办件当前状态为「{STATUS_LABELS[status]}」({status.value})，不能执行 {action.value}；"
        f"可执行的操作: {', '.join(code(a) for a in allowed) or '无'}.",
        status=status.value, action=action.value, allowed=[code(a) for a in allowed])


# --- who may act ----------------------------------------------------------------------------------------


def authorize(caller: Caller | None, application: models.Application, action: Action) -> None:
    """Raise FORBIDDEN unless `caller` may take `action` on `application`."""
    if action in APPLICANT_ACTIONS:
        if access.is_applicant_of(caller, application) or access.is_manager(caller):
            return
        if action is not A.EVALUATE and access.works_at(caller, Desk.WINDOW) and access.may_see(caller, application):
            return
        raise forbidden(f"{code(action)} is the applicant's to do"
                        + ("." if action is A.EVALUATE else " (or the window's on their behalf)."))
    desks = DESKS[action]
    access.check_desk(caller, code(action), *desks)
    if not access.may_see(caller, application):
        raise forbidden(f"{code(action)}: the application is not in your organisation's or region's queues.")


# --- the transition -------------------------------------------------------------------------------------


async def _check_submission_open(session: AsyncSession, at: datetime) -> None:
    """停服: a notice in force that stops online submission (publicity.submission_blocked) refuses it."""
    from subgraphs.services.domain.publicity import submission_blocked

    notice = await submission_blocked(session, at)
    if notice is not None:
        raise domain_error(ErrorCode.INVALID_STATE, f"线上申报暂停：{notice.title}. Online submission is paused "
                           "while this notice is in force; the window still receives applications.",
                           notice=notice.id)


async def transition(
    session: AsyncSession,
    application: models.Application,
    action: Action,
    *,
    actor: str,
    comment: str | None = None,
    at: datetime | None = None,
    caller: Caller | _System | None = SYSTEM,
    **details: Any,
) -> models.ApplicationEvent:
    """Make `action` on `application`: check, move, document, record, emit. Raises INVALID_STATE (nothing
    changed) for a move the state machine or the step's rules refuse, FORBIDDEN for a caller who may not."""
    if not isinstance(caller, _System):
        authorize(caller, application, action)
    at = at or now_utc()
    current = ApplicationStatus(application.status)
    back = ApplicationStatus(application.suspended_from) if application.suspended_from else _DEFAULT_BACK
    target = next_status(action, current, back)
    if target is None:
        raise _refuse_move(application, action)
    if action in (A.SUBMIT, A.RESUBMIT) and application.channel == "ONLINE":
        await _check_submission_open(session, at)
    business_item = await session.get(models.BusinessItem, application.business_item_id)
    assert business_item is not None, "the foreign key keeps every application's business item"
    recorded = await _apply(session, application, business_item, action, current, at, details)
    documents: list[str] = []
    if action in DOCUMENTS:
        documents.append(await _issue_document(session, application, action, actor, at, comment))
    seq = (await session.scalar(select(func.max(models.ApplicationEvent.seq)).where(
        models.ApplicationEvent.application_id == application.id)) or 0) + 1
    event = models.ApplicationEvent(
        application_id=application.id, seq=seq, action=action.value, from_status=current.value,
        to_status=target.value, actor=actor, at=at, comment=comment, documents=documents, details=recorded)
    session.add(event)
    application.status = code(target)
    application.updated_at = at
    application.version = (application.version or 1) + 1
    emit(session, models.OutboxEvent, TRANSITIONED_TOPIC, {
        "applicationId": application.id, "action": action.value, "from": current.value, "to": target.value,
        "regionCode": application.region_code, "organizationId": application.organization_id,
        "channel": application.channel})
    if action in COMPLETING:
        emit(session, models.OutboxEvent, COMPLETED_TOPIC, {
            "applicationId": application.id, "outcome": target.value, "businessItemId": business_item.id,
            "powerType": business_item.item.power_type, "regionCode": application.region_code})
    if action is A.APPROVE and business_item.licence_type:
        emit(session, models.OutboxEvent, APPROVED_TOPIC,
             approved_payload(application, business_item, at, details))
    await session.flush()
    return event


async def _apply(session: AsyncSession, app: models.Application, business_item: models.BusinessItem,
                 action: Action, current: ApplicationStatus, at: datetime,
                 details: Mapping[str, Any]) -> dict[str, Any]:
    """The step's own rules and the columns it sets; returns what the event records beyond the move."""
    power = PowerType(business_item.item.power_type)
    recorded: dict[str, Any] = {}
    if action is A.REQUEST_CORRECTION and power is PowerType.FILING:
        raise invalid_state("补正 is for licensing and the other powers; a filing (备案) is returned (RETURN).",
                            action=action.value, powerType=power.value)
    if action is A.RETURN and power is not PowerType.FILING:
        raise invalid_state("退回 is for filings (备案); ask for a correction (REQUEST_CORRECTION) instead.",
                            action=action.value, powerType=power.value)
    if action in (A.SUBMIT, A.RESUBMIT):
        await _check_open(session, business_item)
        app.submitted_at = app.submitted_at if action is A.RESUBMIT and app.submitted_at else at
    elif action is A.INSPECTION_FAILED:
        due = _date_detail(details, "rectification_due")
        if due is None or due <= today_in_china(at):
            raise bad_input("勘察不通过 needs a rectification deadline (rectificationDue) after today.",
                            argument="rectificationDue")
        app.rectification_due = due
        recorded = {"inspection": "FAILED", "rectificationDue": due.isoformat()}
    elif action in (A.SEND_TO_EXPERTS, A.SEND_TO_SECTION_REVIEW) and current is S.SITE_INSPECTION:
        app.rectification_due = None
        recorded = {"inspection": "PASSED"}
    elif action in (A.REQUEST_SUPPLEMENT, A.SUSPEND):
        app.suspended_from = code(current)
    elif action in (A.SUPPLY, A.RESUME):
        app.suspended_from = None
    elif action is A.ACCEPT:
        app.accepted_at = at
        app.due_at = await promised_due(session, app, at)
        recorded = {"dueAt": app.due_at.isoformat()}
    elif action is A.APPROVE and business_item.licence_type:
        app.certificate_status = "PENDING"
    elif action in (A.ISSUE_CERTIFICATE, A.MAIL, A.CONFIRM_RECEIPT, A.EVALUATE):
        recorded = _track(app, business_item, action, at, details)
    if action in COMPLETING:
        app.completed_at = at
    return recorded


def _track(app: models.Application, business_item: models.BusinessItem, action: Action, at: datetime,
           details: Mapping[str, Any]) -> dict[str, Any]:
    """制证 → 邮寄 → 收件, and the one evaluation: the tracks of a completed case."""
    if action is A.ISSUE_CERTIFICATE:
        if app.certificate_status == "ISSUED":
            raise invalid_state("制证 is done already (已制证).", action=action.value)
        if business_item.licence_type and app.licence_id is None:
            raise invalid_state("The licence has not been generated yet (licences subgraph); 制证 waits for it.",
                                action=action.value)
        app.certificate_status = "ISSUED"
        return {"licenceId": app.licence_id} if app.licence_id else {}
    if action is A.MAIL:
        if app.certificate_status != "ISSUED":
            raise invalid_state("Only an issued certificate (已制证) can be mailed.", action=action.value)
        if app.delivery_status is not None:
            raise invalid_state("The certificate has been mailed already.", action=action.value)
        carrier, waybill = _text_detail(details, "carrier", 32), _text_detail(details, "waybill_number", 40)
        if carrier is None or waybill is None:
            raise bad_input("邮寄 needs the carrier and its waybill number (邮政快递编码).", argument="waybillNumber")
        app.delivery_method, app.delivery_status, app.carrier, app.waybill_number = "MAIL", "MAILED", carrier, waybill
        return {"carrier": carrier, "waybillNumber": waybill}
    if action is A.CONFIRM_RECEIPT:
        if app.delivery_status != "MAILED":
            raise invalid_state("Only a mailed certificate (已邮寄) can be received.", action=action.value)
        app.delivery_status = "RECEIVED"
        return {}
    if app.evaluated_at is not None:
        raise invalid_state("The application has been evaluated already (已评价).", action=action.value)
    rating = details.get("rating")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise bad_input("The rating (好差评) is 1 (非常不满意) to 5 (非常满意).", argument="rating")
    app.rating, app.evaluated_at = rating, at
    app.evaluation_comment = _text_detail(details, "evaluation_comment", 500)
    return {"rating": rating}


def _text_detail(details: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = details.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise bad_input(f"{key} must be text of at most {limit} characters.", argument=key)
    return value.strip()


def _date_detail(details: Mapping[str, Any], key: str) -> date | None:
    value = details.get(key)
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise bad_input(f"{key} must be a date (YYYY-MM-DD).", argument=key) from None


async def _check_open(session: AsyncSession, business_item: models.BusinessItem) -> None:
    """A disabled business item takes no new applications (the catalogue admin's is_open when present)."""
    if not await item_is_open(session, business_item):
        raise invalid_state(f"「{business_item.name}」 is not open for applications (停用).",
                            businessItemId=business_item.id)


async def item_is_open(session: AsyncSession, business_item: models.BusinessItem) -> bool:
    return await catalogue_admin.is_open(session, business_item)


async def promised_due(session: AsyncSession, application: models.Application, accepted_at: datetime) -> datetime:
    """承诺办结时间: the guide's promised working days from acceptance (guides.promised_due)."""
    return await guides.promised_due(session, application, accepted_at)


# --- documents and the approval payload -----------------------------------------------------------------


async def _issue_document(session: AsyncSession, app: models.Application, action: Action, actor: str,
                          at: datetime, comment: str | None) -> str:
    kind, prefix, title = DOCUMENTS[action]
    count = await session.scalar(select(func.count()).select_from(models.ApplicationDocument).where(
        models.ApplicationDocument.application_id == app.id)) or 0
    document = models.ApplicationDocument(
        id=f"doc-{uuid.uuid4().hex[:24]}", application_id=app.id, kind=kind,
        number=f"{prefix}-{app.number}-{count + 1}", title=title,
        content=f"{title}: 办件 {app.number}" + (f"。{comment}" if comment else "。"),
        issued_by=actor, issued_at=at, visible_to_applicant=True)
    session.add(document)
    return document.id


@cache
def _region_names() -> dict[str, str]:
    from db.seed.world import world_regions

    return {r.code: r.name for r in world_regions()}


def issuer_name(region_code: str | None) -> str:
    """The health administration over a region, as the licences seed names issuers."""
    if not region_code or region_code == "320000":
        return "江苏省卫生健康委员会"
    name = _region_names().get(region_code[:6])
    if name is None:
        return "江苏省卫生健康委员会"
    return f"{name}卫生健康委员会" if region_code[4:6] == "00" else f"{name}卫生健康局"


def as_mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def approved_payload(app: models.Application, business_item: models.BusinessItem, at: datetime,
                     details: Mapping[str, Any]) -> dict[str, Any]:
    """services.application.approved (docs/licences/seed-and-events.md): who, by whom, what licence."""
    form = app.form_data or {}
    filed = as_mapping(form.get("applicant"))
    applicant: dict[str, Any] = {"name": app.applicant_name or filed.get("name") or app.applicant_uid}
    if app.applicant_type == "LEGAL_ENTITY":
        applicant.update(orgId=app.applicant_org_id, creditCode=filed.get("creditCode"))
    else:
        applicant.update(uid=app.applicant_uid, sex=filed.get("sex"), idNumber=filed.get("idNumber"))
    licence = dict(as_mapping(form.get("licence")))
    source_number = form.get("sourceLicenceNumber")
    changes = ("CHANGE", "RENEWAL", "REISSUE", "变更", "延续", "补发")
    if app.kind in changes and isinstance(source_number, str) and source_number:
        licence["number"] = source_number
    name = _text_detail(details, "issuer_name", 100) or issuer_name(app.region_code)
    return {
        "applicationId": app.id, "itemCode": business_item.item_id, "licenceType": business_item.licence_type,
        "approvedAt": at.isoformat(),
        "applicant": {k: v for k, v in applicant.items() if v},
        "issuer": {k: v for k, v in {"orgId": app.organization_id, "name": name}.items() if v},
        "licence": licence,
    }
