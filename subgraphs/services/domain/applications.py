"""Applications (办件) outside the state machine's moves: starting one online, saving its form, the window's
walk-in intake, the overdue rule (超期未办结) and the public progress lookup."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.pseudonym import id_number_digest
from subgraphs.common.validators import is_valid_resident_id
from subgraphs.services import access, models
from subgraphs.services.access import Desk
from subgraphs.services.catalogue import KIND_ZH, ApplicationKind
from subgraphs.services.domain import workflow
from subgraphs.services.domain.workflow import as_mapping
from subgraphs.services.status import (
    CITIZEN_LABELS,
    STAGE_OF,
    Action,
    ApplicationStage,
    ApplicationStatus,
    CitizenStatus,
    citizen_status,
)
from subgraphs.services.vocabulary import Party

# 情形 as stored: the catalogue's ApplicationKind codes; the Chinese words are accepted on input.
KINDS = {kind.value: kind.value for kind in ApplicationKind} | {zh: kind.value for kind, zh in KIND_ZH.items()}
CHANNELS = ("ONLINE", "WINDOW", "MAIL", "PROVINCIAL_HUB", "BUNDLE")
# The statuses in which the applicant may still change the form and the materials.
EDITABLE = frozenset({ApplicationStatus.NEW, ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN,
                      ApplicationStatus.CORRECTION_REQUIRED, ApplicationStatus.RETURNED,
                      ApplicationStatus.SUPPLEMENT_REQUIRED})
COMPLETED = frozenset(s for s, stage in STAGE_OF.items() if stage is ApplicationStage.COMPLETED)


def not_found(what: str, **details: Any) -> Exception:
    return domain_error(ErrorCode.NOT_FOUND, what, **details)


def new_number(at: datetime) -> str:
    """办件编号 as the seed writes them (JS + date + 8 digits); the digits are random here, since a counter
    would need a lookup under a lock, and a clash within one day is one in tens of millions."""
    return f"JS{at:%Y%m%d}{secrets.randbelow(10**8):08d}"


async def get_application(session: AsyncSession, application_id: str, *, for_update: bool = False
                          ) -> models.Application:
    stmt = select(models.Application).where(models.Application.id == application_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise not_found(f"No application {application_id}.", argument="id")
    return row


@dataclass(frozen=True)
class NewApplication:
    business_item_id: str
    kind: str | None = None
    form_data: dict[str, Any] | None = None
    region_code: str | None = None
    organization_id: str | None = None
    # Staff filing for someone (managers, the window): who the applicant is.
    applicant_uid: str | None = None
    applicant_org_id: str | None = None
    applicant_name: str | None = None
    applicant_id_number: str | None = None
    source_licence_id: str | None = None
    previous_application_id: str | None = None


async def create(session: AsyncSession, caller: Caller | None, new: NewApplication, *,
                 channel: str = "ONLINE", at: datetime | None = None) -> models.Application:
    """Start an application (NEW) for the caller, or, for staff, for the applicant they name."""
    at = at or workflow.now_utc()
    business_item = await session.get(models.BusinessItem, new.business_item_id)
    if business_item is None:
        raise not_found(f"No business item {new.business_item_id}.", argument="businessItemId")
    if not await workflow.item_is_open(session, business_item):
        raise domain_error(ErrorCode.INVALID_STATE, f"「{business_item.name}」 is not open for applications (停用).",
                           businessItemId=business_item.id)
    if new.kind is not None and new.kind not in KINDS:
        raise bad_input(f"情形 must be one of {', '.join(KINDS)}.", argument="kind")
    kind = KINDS[new.kind] if new.kind is not None else business_item.kind
    if channel not in CHANNELS:
        raise bad_input(f"channel must be one of {', '.join(CHANNELS)}.", argument="channel")
    staff = access.works_at(caller, Desk.WINDOW)
    person_uid = (new.applicant_uid if staff and new.applicant_uid else None) or (caller.person_uid if caller else None)
    org_id = (new.applicant_org_id if staff and new.applicant_org_id else None) or (
        caller.organization_id if caller else None)
    legal_entity = business_item.item.party == Party.LEGAL_ENTITY.value
    if legal_entity and not org_id:
        raise forbidden("A legal entity's item (法人) is applied for by an account of the organisation.")
    if not legal_entity and not person_uid:
        raise forbidden("An individual's item (个人) is applied for by a person: the account is linked to none.")
    form = dict(new.form_data or {})
    filed = as_mapping(form.get("applicant"))
    name = new.applicant_name or filed.get("name")
    id_number = new.applicant_id_number or filed.get("idNumber")
    if id_number is not None and not (isinstance(id_number, str) and is_valid_resident_id(id_number)):
        raise bad_input("The ID number (公民身份号码) is not valid.", argument="idNumber")
    application = models.Application(
        id=f"app-{uuid.uuid4().hex[:24]}", number=new_number(at), business_item_id=business_item.id,
        applicant_uid=person_uid or (caller.subject if caller and caller.subject else org_id or "unknown"),
        applicant_type=Party.LEGAL_ENTITY.value if legal_entity else Party.INDIVIDUAL.value,
        applicant_org_id=org_id if legal_entity else None,
        applicant_name=name if isinstance(name, str) else None,
        applicant_id_digest=id_number_digest(id_number) if id_number else None,
        status=ApplicationStatus.NEW.value, created_at=at, updated_at=at, kind=kind,
        region_code=new.region_code or (caller.region_code if caller else None),
        organization_id=new.organization_id, channel=channel, form_data=form,
        source_licence_id=new.source_licence_id, previous_application_id=new.previous_application_id, version=1)
    session.add(application)
    await session.flush()
    return application


def check_editable(caller: Caller | None, application: models.Application) -> None:
    """The applicant (or the window for them) changes a case only while it is theirs to change."""
    workflow.authorize(caller, application, Action.SAVE)
    status = ApplicationStatus(application.status)
    if status not in EDITABLE:
        raise domain_error(ErrorCode.INVALID_STATE,
                           f"办件当前状态为「{workflow.STATUS_LABELS[status]}」({status.value})，不能修改.",
                           status=status.value)


async def save(session: AsyncSession, caller: Caller | None, application: models.Application,
               form_data: dict[str, Any]) -> models.ApplicationEvent | None:
    """暂存: replace the form; a NEW/DRAFT/WITHDRAWN case becomes a DRAFT (an event), a sent-back one stays
    sent back until resubmitted (no move, no event)."""
    check_editable(caller, application)
    application.form_data = dict(form_data)
    filed = as_mapping(form_data.get("applicant"))
    if isinstance(filed.get("name"), str):
        application.applicant_name = filed["name"]
    if ApplicationStatus(application.status) in (ApplicationStatus.NEW, ApplicationStatus.DRAFT,
                                                 ApplicationStatus.WITHDRAWN):
        return await workflow.transition(session, application, Action.SAVE, actor=access.actor_of(caller),
                                         caller=caller)
    application.updated_at = workflow.now_utc()
    application.version += 1
    return None


async def receive_walk_in(session: AsyncSession, caller: Caller | None, new: NewApplication, *,
                          hall: str | None = None, appointment_id: str | None = None) -> models.Application:
    """窗口收件: the window records who applies (name + ID number checked on the spot), the case starts as
    RECEIVED with a 收件凭证."""
    access.check_desk(caller, "窗口收件", Desk.WINDOW)
    if not new.applicant_name or not new.applicant_id_number:
        raise bad_input("窗口收件 records the applicant's name and ID number.", argument="applicantIdNumber")
    # The form carries the applicant as recorded, as an online form does (the licence needs the ID number).
    form = dict(new.form_data or {})
    form["applicant"] = {"name": new.applicant_name, "idNumber": new.applicant_id_number,
                         **as_mapping(form.get("applicant"))}
    if hall:
        form["hall"] = hall  # the day's handover slip of the hall collects it (domain/handover.py)
    application = await create(session, caller, replace(new, form_data=form), channel="WINDOW")
    await workflow.transition(session, application, Action.RECEIVE_WALK_IN, actor=access.actor_of(caller),
                              caller=caller, comment=f"窗口收件{f'（{hall}）' if hall else ''}")
    if appointment_id is not None:
        # 已经办理: the appointment the applicant came for.
        from subgraphs.services.domain.appointments import mark_handled

        await mark_handled(session, caller, appointment_id, application.id, workflow.now_utc())
    return application


# --- 超期未办结 ----------------------------------------------------------------------------------------


def is_overdue(application: models.Application, now: datetime | None = None) -> bool:
    """Past the promised date and not completed."""
    if application.due_at is None or ApplicationStatus(application.status) in COMPLETED:
        return False
    due = application.due_at if application.due_at.tzinfo else application.due_at.replace(tzinfo=workflow.UTC)
    return due < (now or workflow.now_utc())


def overdue_condition(now: datetime | None = None) -> ColumnElement[bool]:
    return and_(models.Application.due_at.is_not(None), models.Application.due_at < (now or workflow.now_utc()),
                models.Application.status.not_in([s.value for s in COMPLETED]))


# --- the public progress lookup -----------------------------------------------------------------------


SUB_LABELS: dict[ApplicationStatus, str] = {
    ApplicationStatus.NEW: "暂存", ApplicationStatus.DRAFT: "暂存", ApplicationStatus.WITHDRAWN: "暂存",
    ApplicationStatus.CORRECTION_REQUIRED: "补正", ApplicationStatus.RETURNED: "退回",
    ApplicationStatus.SUPPLEMENT_REQUIRED: "补正", ApplicationStatus.ACCEPTED: "已受理",
    ApplicationStatus.SITE_INSPECTION: "现场勘验", ApplicationStatus.EXPERT_REVIEW: "专家评审",
    ApplicationStatus.SECTION_REVIEW: "已受理", ApplicationStatus.LEADER_APPROVAL: "领导审批",
}


def citizen_detail(application: models.Application) -> str | None:
    """The sub-label under the citizen bucket (tender L1295): 暂存/退回/补正, 已受理/现场勘验/专家评审/领导审批,
    and for a granted case 待出证/已邮寄/已收件."""
    status = ApplicationStatus(application.status)
    if status is ApplicationStatus.APPROVED:
        if application.delivery_status == "RECEIVED":
            return "已收件"
        if application.delivery_status == "MAILED":
            return "已邮寄"
        if application.certificate_status == "PENDING":
            return "待出证"
        return None
    return SUB_LABELS.get(status)


@dataclass(frozen=True)
class Progress:
    number: str
    citizen_status: CitizenStatus
    label: str
    detail: str | None


async def progress(session: AsyncSession, number: str, name: str, id_number: str) -> Progress | None:
    """办件进度查询 for the public: the status of the case with this number filed by this name and ID number;
    None whenever anything does not match, so that the answer tells nothing about which part was wrong."""
    number, name, id_number = number.strip(), name.strip(), id_number.strip()
    if not number or not name or not id_number or len(number) > 32 or len(name) > 100 or len(id_number) > 18:
        return None
    row = await session.scalar(select(models.Application).where(models.Application.number == number))
    if row is None or row.applicant_name is None or row.applicant_id_digest is None:
        return None
    if row.applicant_name != name or not secrets.compare_digest(row.applicant_id_digest, id_number_digest(id_number)):
        return None
    bucket = citizen_status(ApplicationStatus(row.status), evaluated=row.evaluated_at is not None)
    return Progress(number=row.number, citizen_status=bucket, label=CITIZEN_LABELS[bucket],
                    detail=citizen_detail(row))
