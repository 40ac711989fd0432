"""Applications (办件): one by id, lists and the staff's queues, the public progress lookup, and every move of
the workflow (domain/workflow.py decides; this module only translates)."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import strawberry
from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import QueryableAttribute
from strawberry.scalars import JSON

from subgraphs.common.caller import Caller
from subgraphs.common.paging import Connection
from subgraphs.common.regions import in_subtree
from subgraphs.services import access, models
from subgraphs.services.access import Desk
from subgraphs.services.applications import newest_first_page
from subgraphs.services.domain import applications as domain
from subgraphs.services.domain import workflow
from subgraphs.services.status import STAGE_OF, Action, ApplicationStage, ApplicationStatus, CitizenStatus
from subgraphs.services.types import Application, Info

STAFF = (Desk.WINDOW, Desk.APPROVER, Desk.LEADER)


def own(caller: Caller | None) -> ColumnElement[bool]:
    """The caller's own applications (as a person, or as the organisation's user)."""
    if caller is None or caller.anonymous:
        return false()
    conditions: list[ColumnElement[bool]] = []
    if caller.person_uid:
        conditions.append(models.Application.applicant_uid == caller.person_uid)
    if caller.organization_id:
        conditions.append(models.Application.applicant_org_id == caller.organization_id)
    return or_(*conditions) if conditions else false()


def visible(stmt: Select[Any], caller: Caller | None) -> Select[Any]:
    if access.is_manager(caller):
        return stmt
    return stmt.where(or_(own(caller), access.staff_sees(caller)))


@strawberry.type(description="办件进度: what the public lookup answers, the status and nothing else.")
class ApplicationProgress:
    number: str
    citizen_status: CitizenStatus
    label: str = strawberry.field(description="The status in the tender's words, e.g. 办理中.")
    detail: str | None = strawberry.field(description="The sub-label, e.g. 现场勘验 or 已邮寄.")


@strawberry.input(description="A new application (办件). Applicants apply as themselves; staff may name the "
                              "applicant.")
class CreateApplicationInput:
    business_item_id: strawberry.ID
    kind: str | None = strawberry.field(default=None, description="情形 (default: the business item's).")
    form_data: JSON | None = strawberry.field(
        default=None, description="The form: {applicant: {name, sex, idNumber | creditCode}, licence: {...fields "
                                  "of the licence to issue}, sourceLicenceNumber (变更/延续/补发), ...}.")
    region_code: str | None = strawberry.field(default=None, description="受理地 (default: the caller's region).")
    organization_id: strawberry.ID | None = strawberry.field(default=None, description="The handling organisation.")
    applicant_uid: strawberry.ID | None = strawberry.field(default=None, description="Staff only: the applicant.")
    applicant_org_id: strawberry.ID | None = strawberry.field(default=None, description="Staff only: the "
                                                                                         "applying organisation.")
    applicant_name: str | None = None
    applicant_id_number: str | None = strawberry.field(default=None, description="Kept only as a keyed digest.")
    source_licence_id: strawberry.ID | None = None
    previous_application_id: strawberry.ID | None = None

    def to_new(self) -> domain.NewApplication:
        def text(value: str | None) -> str | None:
            return str(value) if value is not None else None

        form = cast(dict[str, Any] | None, self.form_data)
        if form is not None and not isinstance(form, dict):
            raise workflow.bad_input("formData must be an object.", argument="formData")
        return domain.NewApplication(
            business_item_id=str(self.business_item_id), kind=self.kind, form_data=form,
            region_code=self.region_code, organization_id=text(self.organization_id),
            applicant_uid=text(self.applicant_uid), applicant_org_id=text(self.applicant_org_id),
            applicant_name=self.applicant_name, applicant_id_number=self.applicant_id_number,
            source_licence_id=text(self.source_licence_id),
            previous_application_id=text(self.previous_application_id))


@strawberry.input(description="What a step needs beyond the move.")
class TransitionDetails:
    rectification_due: date | None = strawberry.field(default=None, description="INSPECTION_FAILED: 限期整改 by.")
    issuer_name: str | None = strawberry.field(default=None, description="APPROVE: the issuing authority's name "
                                                                         "(default: the region's administration).")
    carrier: str | None = strawberry.field(default=None, description="MAIL: 邮政/快递.")
    waybill_number: str | None = strawberry.field(default=None, description="MAIL: the waybill number.")
    rating: int | None = strawberry.field(default=None, description="EVALUATE: 1-5.")
    evaluation_comment: str | None = strawberry.field(default=None, description="EVALUATE: the comment.")

    def as_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


async def act(info: Info, id: strawberry.ID, action: Action, comment: str | None = None,
              **details: Any) -> Application:
    """One workflow move in its own transaction."""
    caller = info.context.caller
    async with info.context.session() as session, session.begin():
        row = await domain.get_application(session, str(id), for_update=True)
        if not access.may_see(caller, row):
            raise domain.not_found(f"No application {id}.", argument="id")
        await workflow.transition(session, row, action, actor=access.actor_of(caller), caller=caller,
                                  comment=comment, **details)
    return Application.from_row(row)


@strawberry.type
class ApplicationQueries:
    @strawberry.field(description="One application (办件) by id: its applicant's, or in the caller's queues.")
    async def application(self, info: Info, id: strawberry.ID) -> Application | None:
        row = await info.context.loaders.application.load(str(id))
        return Application.from_row(row) if row and access.may_see(info.context.caller, row) else None

    @strawberry.field(description="Applications, newest first, optionally of one applicant, in one status "
                                  "(the caller's own and those in their queues).")
    async def applications(
        self,
        info: Info,
        applicant_uid: strawberry.ID | None = None,
        status: ApplicationStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Application]:
        stmt = visible(select(models.Application), info.context.caller)
        if applicant_uid is not None:
            stmt = stmt.where(models.Application.applicant_uid == str(applicant_uid))
        if status is not None:
            stmt = stmt.where(models.Application.status == workflow.code(status))
        async with info.context.session() as session:
            return await newest_first_page(session, stmt, Application.from_row, first, after)

    @strawberry.field(description="待办: the staff's queue, newest first: the cases of their organisation and "
                                  "region, by stage or status, region, organisation, or only the overdue ones "
                                  "(超期未办结).")
    async def application_queue(
        self,
        info: Info,
        stage: ApplicationStage | None = None,
        statuses: list[ApplicationStatus] | None = None,
        region_code: str | None = None,
        organization_id: strawberry.ID | None = None,
        overdue: bool | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Application]:
        caller = info.context.caller
        access.check_desk(caller, "The queues", *STAFF)
        stmt = select(models.Application).where(access.staff_sees(caller))
        if stage is not None:
            stmt = stmt.where(models.Application.status.in_(
                [workflow.code(s) for s, st in STAGE_OF.items() if st is stage]))
        if statuses:
            stmt = stmt.where(models.Application.status.in_([workflow.code(s) for s in statuses]))
        if region_code:
            stmt = stmt.where(in_subtree(cast(QueryableAttribute[str], models.Application.region_code), region_code))
        if organization_id is not None:
            stmt = stmt.where(models.Application.organization_id == str(organization_id))
        if overdue is True:
            stmt = stmt.where(domain.overdue_condition())
        elif overdue is False:
            stmt = stmt.where(~domain.overdue_condition())
        async with info.context.session() as session:
            return await newest_first_page(session, stmt, Application.from_row, first, after)

    @strawberry.field(description="办件进度查询 (public): the status of an application by its number and the "
                                  "applicant's name and ID number; null when any of them does not match.")
    async def application_progress(self, info: Info, number: str, name: str,
                                   id_number: str) -> ApplicationProgress | None:
        async with info.context.session() as session:
            found = await domain.progress(session, number, name, id_number)
        if found is None:
            return None
        return ApplicationProgress(number=found.number, citizen_status=found.citizen_status, label=found.label,
                                   detail=found.detail)


@strawberry.type
class ApplicationMutations:
    @strawberry.mutation(description="Start an application (NEW) for a business item.")
    async def create_application(self, info: Info, input: CreateApplicationInput) -> Application:
        async with info.context.session() as session, session.begin():
            row = await domain.create(session, info.context.caller, input.to_new())
        return Application.from_row(row)

    @strawberry.mutation(description="暂存: save the form (the applicant, or the window for them).")
    async def save_application(self, info: Info, id: strawberry.ID, form_data: JSON) -> Application:
        if not isinstance(form_data, dict):
            raise workflow.bad_input("formData must be an object.", argument="formData")
        caller = info.context.caller
        async with info.context.session() as session, session.begin():
            row = await domain.get_application(session, str(id), for_update=True)
            if not access.may_see(caller, row):
                raise domain.not_found(f"No application {id}.", argument="id")
            await domain.save(session, caller, row, cast(dict[str, Any], form_data))
        return Application.from_row(row)

    @strawberry.mutation(description="提交申报.")
    async def submit_application(self, info: Info, id: strawberry.ID, comment: str | None = None) -> Application:
        return await act(info, id, Action.SUBMIT, comment)

    @strawberry.mutation(description="撤回: only before acceptance.")
    async def withdraw_application(self, info: Info, id: strawberry.ID, comment: str | None = None) -> Application:
        return await act(info, id, Action.WITHDRAW, comment)

    @strawberry.mutation(description="重新提交 after 补正 or 退回.")
    async def resubmit_application(self, info: Info, id: strawberry.ID, comment: str | None = None) -> Application:
        return await act(info, id, Action.RESUBMIT, comment)

    @strawberry.mutation(description="窗口收件: the window records a walk-in application (RECEIVED, 收件凭证); "
                                     "with appointmentId, the appointment becomes 已经办理.")
    async def receive_walk_in(self, info: Info, input: CreateApplicationInput, hall: str | None = None,
                              appointment_id: strawberry.ID | None = None) -> Application:
        async with info.context.session() as session, session.begin():
            row = await domain.receive_walk_in(session, info.context.caller, input.to_new(), hall=hall,
                                               appointment_id=str(appointment_id) if appointment_id else None)
        return Application.from_row(row)

    @strawberry.mutation(description="Any move of the workflow (staff steps: ACCEPT, REFUSE, REQUEST_CORRECTION, "
                                     "RETURN, SEND_TO_INSPECTION, INSPECTION_FAILED, ..., APPROVE, DENY). "
                                     "INVALID_STATE names the current status and the actions allowed from it.")
    async def transition_application(self, info: Info, id: strawberry.ID, action: Action,
                                     comment: str | None = None,
                                     details: TransitionDetails | None = None) -> Application:
        return await act(info, id, action, comment, **(details.as_kwargs() if details else {}))

    @strawberry.mutation(description="制证: once, after the licence exists (or for items without one).")
    async def issue_certificate(self, info: Info, id: strawberry.ID, comment: str | None = None) -> Application:
        return await act(info, id, Action.ISSUE_CERTIFICATE, comment)

    @strawberry.mutation(description="邮寄 the certificate with the carrier's waybill number.")
    async def mail_certificate(self, info: Info, id: strawberry.ID, carrier: str, waybill_number: str,
                               comment: str | None = None) -> Application:
        return await act(info, id, Action.MAIL, comment, carrier=carrier, waybill_number=waybill_number)

    @strawberry.mutation(description="已收件: the applicant received the mailed certificate.")
    async def confirm_receipt(self, info: Info, id: strawberry.ID) -> Application:
        return await act(info, id, Action.CONFIRM_RECEIPT)

    @strawberry.mutation(description="好差评: rate a completed application once (1-5).")
    async def evaluate_application(self, info: Info, id: strawberry.ID, rating: int,
                                   comment: str | None = None) -> Application:
        return await act(info, id, Action.EVALUATE, None, rating=rating, evaluation_comment=comment)


queries: list[type] = [ApplicationQueries]
mutations: list[type] = [ApplicationMutations]
