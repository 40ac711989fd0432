"""Bundles (一件事): definitions, the newborn-birth bundle's cases and their department steps.

Applicants (Caller.person_uid) save, submit, correct and cancel their own drafts; department systems report a
step's result with the scope services:bundle:<step>; operators (managers, and staff of the case's region) list
cases, push steps again, cancel, archive and void. Design: docs/services/bundles.md.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Self, cast

import strawberry
from aiodataloader import DataLoader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.paging import Connection
from subgraphs.common.scope import region_scope
from subgraphs.services import models
from subgraphs.services.access import actor_of, check_manager, is_manager
from subgraphs.services.domain import birth_form as bf
from subgraphs.services.domain import bundle_cases as cases
from subgraphs.services.domain import bundle_queries as q
from subgraphs.services.domain import bundles as defs
from subgraphs.services.domain.bundle_cases import CaseStatus, CitizenBucket, Outcome, StepStatus
from subgraphs.services.types import Info

BundleCaseStatus = strawberry.enum(
    CaseStatus, name="BundleCaseStatus",
    description="一件事办件状态: DRAFT 草稿, IN_PROGRESS 办理中, COMPLETED 已完结, ABOLISHED 已废止 (draft "
                "cancelled by the applicant), CANCELLED 取消办理 (halted by an operator), ARCHIVED 归档, VOIDED 作废.")
BundleStepStatus = strawberry.enum(
    StepStatus, name="BundleStepStatus",
    description="单办件状态: WAITING 未办理, IN_PROGRESS 办理中, RETURNED 退回 (补正), DONE 正常办结, FAILED 异常办结.")
BundleCitizenStatus = strawberry.enum(
    CitizenBucket, name="BundleCitizenStatus",
    description="What the applicant sees: DRAFT 草稿, IN_PROGRESS 办理中, COMPLETED 已完结 (COMPLETED and ARCHIVED), "
                "ABOLISHED 已废止 (ABOLISHED, CANCELLED, VOIDED).")
BundleStepOutcome = strawberry.enum(
    Outcome, name="BundleStepOutcome",
    description="A department's result: DONE 正常办结, RETURNED 退回补正, FAILED 异常办结.")


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------------------------------------------


@strawberry.type(name="BundleMemberStep", description="一件事的单事项: one department's step of a bundle.")
class BundleMemberStep:
    code: str
    ordinal: int = strawberry.field(description="Position in an order that respects the dependencies.")
    name: str = strawberry.field(description="事项名称.")
    department: str = strawberry.field(description="办理部门.")
    item_code: str | None = strawberry.field(description="事项代码.")
    depends_on: list[str] = strawberry.field(description="前置步骤: pushed only once these are DONE.")
    editable_fields: list[str] = strawberry.field(description="Form fields a 补正 of this step may change.")

    @classmethod
    def from_row(cls, row: models.BundleStep) -> Self:
        return cls(code=row.code, ordinal=row.ordinal, name=row.name, department=row.department,
                   item_code=row.item_code, depends_on=list(row.depends_on), editable_fields=list(row.editable_fields))


@strawberry.type(name="Bundle", description="一件事: a bundle definition.")
class BundleType:
    code: str
    name: str
    description: str
    enabled: bool = strawberry.field(description="状态: only enabled bundles take new cases.")

    @classmethod
    def from_row(cls, row: models.Bundle) -> Self:
        return cls(code=row.code, name=row.name, description=row.description, enabled=row.enabled)

    @strawberry.field(description="单业务清单, in dependency order.")
    async def steps(self, info: Info) -> list[BundleMemberStep]:
        async with info.context.session() as session:
            return [BundleMemberStep.from_row(s) for s in await defs.steps_of(session, self.code)]


@strawberry.input(description="A member step of a bundle definition.")
class BundleStepInput:
    code: str
    name: str
    department: str
    item_code: str | None = None
    depends_on: list[str] = strawberry.field(default_factory=list)
    editable_fields: list[str] = strawberry.field(default_factory=list)

    def to_spec(self) -> defs.StepSpec:
        return defs.StepSpec(code=self.code.strip(), name=self.name.strip(), department=self.department.strip(),
                             item_code=self.item_code, depends_on=tuple(self.depends_on),
                             editable_fields=tuple(self.editable_fields))


@strawberry.input(description="A new bundle definition.")
class BundleInput:
    code: str
    name: str
    description: str = ""
    enabled: bool = True
    steps: list[BundleStepInput] = strawberry.field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------------------


@strawberry.input(description="出生一件事申报表单. Omitted fields are left as they are; null clears one (drafts). "
                              "Sexes MALE/FEMALE; certificatePickup SELF 产妇自取 (default) or AGENT 委托他人代领 "
                              "(then agentName and agentIdNumber); hukouFollows MOTHER/FATHER; cardPickup "
                              "MAIL/OFFLINE; birthTime ISO date-time; insuranceStart ISO date; region codes of "
                              "6-15 digits.")
class BirthFormInput:
    baby_name: str | None = strawberry.UNSET
    baby_sex: str | None = strawberry.UNSET
    birth_time: str | None = strawberry.UNSET
    hospital: str | None = strawberry.UNSET
    birth_region_code: str | None = strawberry.UNSET
    mother_name: str | None = strawberry.UNSET
    mother_id_number: str | None = strawberry.UNSET
    father_name: str | None = strawberry.UNSET
    father_id_number: str | None = strawberry.UNSET
    certificate_pickup: str | None = strawberry.UNSET
    agent_name: str | None = strawberry.UNSET
    agent_id_number: str | None = strawberry.UNSET
    household_head_name: str | None = strawberry.UNSET
    household_head_id_number: str | None = strawberry.UNSET
    hukou_follows: str | None = strawberry.UNSET
    relation_to_head: str | None = strawberry.UNSET
    police_station: str | None = strawberry.UNSET
    insurance_community: str | None = strawberry.UNSET
    insurance_start: str | None = strawberry.UNSET
    card_pickup: str | None = strawberry.UNSET
    card_bank: str | None = strawberry.UNSET
    card_region_code: str | None = strawberry.UNSET

    def changes(self) -> dict[str, Any]:
        return {to_camel_case(k): v for k, v in vars(self).items() if v is not strawberry.UNSET}


@strawberry.type(description="单办件: one department's step of a case.")
class BundleCaseStep:
    step: str
    name: str
    department: str
    status: BundleStepStatus  # type: ignore[valid-type]
    status_label: str = strawberry.field(description="未办理, 办理中, 退回, 正常办结 or 异常办结.")
    version: int = strawberry.field(description="The case version the step was last pushed with.")
    attempts: int = strawberry.field(description="Pushes so far (1 + 补正 + 重推).")
    result: JSON = strawberry.field(description="The department's result, e.g. the certificate number.")
    message: str | None = strawberry.field(description="The department's message (why it returned or failed).")
    depends_on: list[str]
    dispatched_at: datetime | None = strawberry.field(description="调度时间: last push.")
    finished_at: datetime | None

    @classmethod
    def from_rows(cls, sub: models.BundleSubCase, step: models.BundleStep) -> Self:
        status = StepStatus(sub.status)
        return cls(step=sub.step_code, name=step.name, department=step.department, status=status,
                   status_label=cases.STEP_LABELS[status], version=sub.version, attempts=sub.attempts,
                   result=cast(JSON, sub.result), message=sub.message, depends_on=list(step.depends_on),
                   dispatched_at=sub.dispatched_at, finished_at=sub.finished_at)


@strawberry.type(name="BundleCaseVersion", description="A version of a case's data: 原始申报信息 and one per 补正.")
class BundleCaseVersionType:
    version: int
    form: JSON
    corrected_step: str | None = strawberry.field(description="The step whose 补正 made this version.")
    created_at: datetime
    superseded_at: datetime | None
    superseded: bool = strawberry.field(description="已被补正: replaced by a later version, read-only.")
    label: str = strawberry.field(description="已被补正 or 当前版本.")


@strawberry.type(description="时间轴: one change of a case or of one of its steps.")
class BundleCaseEvent:
    step: str | None
    action: str = strawberry.field(description="CREATE, SAVE, SUBMIT, CREATE_STEP, DISPATCH, STEP_DONE, STEP_RETURNED, "
                                               "STEP_FAILED, CORRECT, CORRECTION, REPUSH, COMPLETE, ARCHIVE, CANCEL, "
                                               "ABOLISH or VOID.")
    from_status: str | None
    to_status: str
    actor: str
    at: datetime
    comment: str | None


class _StepsByCase(DataLoader[str, list[tuple[models.BundleSubCase, models.BundleStep]]]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[list[tuple[models.BundleSubCase, models.BundleStep]]]:
        async with self.sessions() as session:
            found = await q.steps_of_cases(session, ids)
        return [found[i] for i in ids]


# One loader per request, keyed by the request's Loaders object (services.loaders belongs to another area).
_loaders: weakref.WeakKeyDictionary[Any, _StepsByCase] = weakref.WeakKeyDictionary()


def _steps_loader(info: Info) -> _StepsByCase:
    loader = _loaders.get(info.context.loaders)
    if loader is None:
        loader = _loaders[info.context.loaders] = _StepsByCase(info.context.sessions)
    return loader


@strawberry.type(description="一件事办件: a family's case of a bundle, with one step per department.")
class BundleCase:
    id: strawberry.ID
    business_id: str = strawberry.field(description="业务ID.")
    bundle_code: str
    applicant_uid: str = strawberry.field(description="The applicant (a parent), a population person uid.")
    status: BundleCaseStatus  # type: ignore[valid-type]
    status_label: str = strawberry.field(description="草稿, 办理中, 已完结, 已废止, 取消办理, 归档 or 作废.")
    citizen_status: BundleCitizenStatus  # type: ignore[valid-type]
    citizen_status_label: str = strawberry.field(description="草稿, 办理中, 已完结 or 已废止.")
    version: int = strawberry.field(description="The current version (1 + the corrections).")
    channel: str
    region_code: str | None = strawberry.field(description="出生地区划: the region whose operators handle the case.")
    cancel_reason: str | None = strawberry.field(description="干预原因 of a 取消办理 or 作废.")
    baby_name: str | None = strawberry.field(description="婴儿姓名 (masked for anyone but the applicant).")
    form: JSON = strawberry.field(description="The current data; ID numbers and names masked for anyone but the "
                                             "applicant.")
    created_at: datetime
    submitted_at: datetime | None = strawberry.field(description="申报时间.")
    finished_at: datetime | None
    updated_at: datetime
    row: strawberry.Private[models.BundleCase]
    owner: strawberry.Private[bool]

    @classmethod
    def from_row(cls, row: models.BundleCase, caller: Caller | None) -> Self:
        owner = q.is_owner(caller, row)
        status = CaseStatus(row.status)
        bucket = cases.CITIZEN_BUCKET[status]
        form: Any = dict(row.form) if owner else bf.masked(row.form)
        return cls(id=strawberry.ID(row.id), business_id=row.business_id, bundle_code=row.bundle_code,
                   applicant_uid=row.applicant_uid, status=status, status_label=cases.CASE_LABELS[status],
                   citizen_status=bucket, citizen_status_label=cases.CITIZEN_LABELS[bucket], version=row.version,
                   channel=row.channel, region_code=row.region_code, cancel_reason=row.cancel_reason,
                   baby_name=form.get("babyName"), form=form, created_at=row.created_at,
                   submitted_at=row.submitted_at, finished_at=row.finished_at, updated_at=row.updated_at, row=row,
                   owner=owner)

    @strawberry.field(description="单办件, in the bundle's step order (none while a draft).")
    async def steps(self, info: Info) -> list[BundleCaseStep]:
        return [BundleCaseStep.from_rows(s, d) for s, d in await _steps_loader(info).load(self.row.id)]

    @strawberry.field(description="版本: every version, oldest first; superseded ones are marked 已被补正.")
    async def versions(self, info: Info) -> list[BundleCaseVersionType]:
        V = models.BundleCaseVersion
        async with info.context.session() as session:
            rows = (await session.scalars(select(V).where(V.case_id == self.row.id).order_by(V.version))).all()
        return [BundleCaseVersionType(
            version=v.version, form=cast(JSON, dict(v.form) if self.owner else bf.masked(v.form)),
            corrected_step=v.corrected_step,
            created_at=v.created_at, superseded_at=v.superseded_at, superseded=v.superseded_at is not None,
            label="已被补正" if v.superseded_at is not None else "当前版本") for v in rows]

    @strawberry.field(description="时间轴: every change, oldest first.")
    async def timeline(self, info: Info) -> list[BundleCaseEvent]:
        E = models.BundleEvent
        async with info.context.session() as session:
            rows = (await session.scalars(select(E).where(E.case_id == self.row.id).order_by(E.at, E.id))).all()
        return [BundleCaseEvent(step=e.step_code, action=e.action, from_status=e.from_status, to_status=e.to_status,
                                actor=e.actor, at=e.at, comment=e.comment) for e in rows]


@strawberry.input(description="Operators' case filter (代办/完结/废止查询, department queries by 办理状态).")
class BundleCaseFilter:
    status: list[BundleCaseStatus] | None = None  # type: ignore[valid-type]
    bundle: str | None = None
    region_code: str | None = None
    created_from: datetime | None = strawberry.field(default=None, description="Created at or after.")
    created_to: datetime | None = strawberry.field(default=None, description="Created before.")
    business_id: str | None = strawberry.field(default=None, description="精准查询 by 业务ID.")
    step: str | None = strawberry.field(default=None, description="Cases having this step ...")
    step_status: list[BundleStepStatus] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="... (or any step) in one of these statuses.")


def _applicant(caller: Caller | None) -> str:
    if caller is None or caller.person_uid is None:
        raise forbidden("Only a signed-in citizen whose account is linked to a person may file a bundle case.")
    return caller.person_uid


async def _own_case(session: AsyncSession, caller: Caller | None, case_id: str) -> models.BundleCase:
    uid = _applicant(caller)
    case = await cases.get_case(session, case_id, for_update=True)
    if case.applicant_uid != uid:
        # Someone else's case does not exist for this caller.
        raise domain_error(ErrorCode.NOT_FOUND, f"No bundle case {case_id}.", argument="caseId")
    return case


async def _operated_case(session: AsyncSession, caller: Caller | None, case_id: str, what: str) -> models.BundleCase:
    case = await cases.get_case(session, case_id, for_update=True)
    if not q.operates(caller, case):
        raise forbidden(f"{what} is for the bundle operators of the case's region (or the managers).")
    return case


@strawberry.type
class BundleQueries:
    @strawberry.field(description="一件事 definitions (managers also see the disabled ones).")
    async def bundles(self, info: Info) -> list[BundleType]:
        stmt = select(models.Bundle).order_by(models.Bundle.code)
        if not is_manager(info.context.caller):
            stmt = stmt.where(models.Bundle.enabled)
        async with info.context.session() as session:
            return [BundleType.from_row(r) for r in await session.scalars(stmt)]

    @strawberry.field(description="One bundle definition by code.")
    async def bundle(self, info: Info, code: str) -> BundleType | None:
        async with info.context.session() as session:
            row = await session.get(models.Bundle, code)
        if row is None or not (row.enabled or is_manager(info.context.caller)):
            return None
        return BundleType.from_row(row)

    @strawberry.field(description="我的一件事: the caller's own cases, newest first.")
    async def my_bundle_cases(self, info: Info, status: list[BundleCitizenStatus] | None = None,  # type: ignore[valid-type]
                              first: int = 20, after: str | None = None) -> Connection[BundleCase]:
        caller = info.context.caller
        stmt = select(models.BundleCase).where(models.BundleCase.applicant_uid == _applicant(caller))
        if status:
            wanted = {CitizenBucket(s) for s in status}
            stmt = stmt.where(models.BundleCase.status.in_(
                [c.value for c, b in cases.CITIZEN_BUCKET.items() if b in wanted]))
        async with info.context.session() as session:
            return await q.newest_first(session, stmt, lambda r: BundleCase.from_row(r, caller), first, after)

    @strawberry.field(description="One case: its applicant, the operators of its region, managers, and the "
                                  "department systems of its steps; null for anyone else.")
    async def bundle_case(self, info: Info, id: strawberry.ID) -> BundleCase | None:
        caller = info.context.caller
        async with info.context.session() as session:
            row = await session.get(models.BundleCase, str(id))
            if row is None:
                return None
            steps = [s.code for s in await defs.steps_of(session, row.bundle_code)]
        return BundleCase.from_row(row, caller) if q.may_see(caller, row, steps) else None

    @strawberry.field(description="Operators' list of cases (managers: all; staff: their data scope's regions), "
                                  "newest first.")
    async def bundle_cases(self, info: Info, filter: BundleCaseFilter | None = None, first: int = 20,
                           after: str | None = None) -> Connection[BundleCase]:
        caller = info.context.caller
        if not (is_manager(caller) or q.is_staff(caller)):
            raise forbidden("The bundle case lists are for the bundle operators and managers.")
        f = filter or BundleCaseFilter()
        if f.region_code:
            region_scope(caller).check_request(f.region_code)
        criteria = q.CaseFilter(
            statuses=[CaseStatus(s).value for s in f.status or []], bundle=f.bundle, region_code=f.region_code,
            created_from=f.created_from, created_to=f.created_to, business_id=f.business_id, step=f.step,
            step_statuses=[StepStatus(s).value for s in f.step_status or []])
        stmt = select(models.BundleCase).where(q.staff_condition(caller), *criteria.conditions())
        async with info.context.session() as session:
            return await q.newest_first(session, stmt, lambda r: BundleCase.from_row(r, caller), first, after)


@strawberry.type
class BundleMutations:
    @strawberry.mutation(description="一件事管理: a new bundle definition with its member steps (managers).")
    async def create_bundle(self, info: Info, input: BundleInput) -> BundleType:
        check_manager(info.context.caller, "Defining bundles")
        spec = defs.BundleSpec(code=input.code.strip(), name=input.name, description=input.description,
                               enabled=input.enabled, steps=tuple(s.to_spec() for s in input.steps))
        async with info.context.transaction() as session:
            return BundleType.from_row(await defs.create(session, spec))

    @strawberry.mutation(description="Rename or describe a bundle, or replace its steps while it has no cases "
                                     "(managers).")
    async def update_bundle(self, info: Info, code: str, name: str | None = None, description: str | None = None,
                            steps: list[BundleStepInput] | None = None) -> BundleType:
        check_manager(info.context.caller, "Changing bundles")
        async with info.context.transaction() as session:
            row = await defs.update(session, code, name=name, description=description,
                                    steps=tuple(s.to_spec() for s in steps) if steps is not None else None)
            return BundleType.from_row(row)

    @strawberry.mutation(description="Enable or disable a bundle (managers); a disabled one takes no new cases.")
    async def set_bundle_enabled(self, info: Info, code: str, enabled: bool) -> BundleType:
        check_manager(info.context.caller, "Enabling bundles")
        async with info.context.transaction() as session:
            return BundleType.from_row(await defs.set_enabled(session, code, enabled))

    @strawberry.mutation(description="草稿暂存: create (no caseId) or update the caller's birth-bundle draft.")
    async def save_birth_case(self, info: Info, form: BirthFormInput, case_id: strawberry.ID | None = None,
                              channel: str = "APP") -> BundleCase:
        caller = info.context.caller
        uid = _applicant(caller)
        if channel not in ("APP", "PC", "WECHAT", "ALIPAY", "GJZWFW"):
            raise bad_input("channel must be APP, PC, WECHAT, ALIPAY or GJZWFW.", argument="channel")
        async with info.context.transaction() as session:
            row = await cases.save_birth_draft(session, applicant_uid=uid, actor=actor_of(caller),
                                               case_id=str(case_id) if case_id else None, changes=form.changes(),
                                               channel=channel, now=_now())
            return BundleCase.from_row(row, caller)

    @strawberry.mutation(description="业务提交: submit the caller's draft; the steps without prerequisites are pushed.")
    async def submit_bundle_case(self, info: Info, case_id: strawberry.ID) -> BundleCase:
        caller = info.context.caller
        async with info.context.transaction() as session:
            row = await _own_case(session, caller, str(case_id))
            await cases.submit(session, row, actor_of(caller), _now())
            return BundleCase.from_row(row, caller)

    @strawberry.mutation(description="取消草稿: the caller's draft becomes 已废止 (irreversible).")
    async def cancel_bundle_draft(self, info: Info, case_id: strawberry.ID) -> BundleCase:
        caller = info.context.caller
        async with info.context.transaction() as session:
            row = await _own_case(session, caller, str(case_id))
            await cases.abolish_draft(session, row, actor_of(caller), _now())
            return BundleCase.from_row(row, caller)

    @strawberry.mutation(description="补正 of a returned step by the applicant: only that step's editable fields; a "
                                     "new version, the step pushed again, the other steps untouched.")
    async def correct_bundle_step(self, info: Info, case_id: strawberry.ID, step: str,
                                  changes: BirthFormInput) -> BundleCase:
        caller = info.context.caller
        async with info.context.transaction() as session:
            row = await _own_case(session, caller, str(case_id))
            await cases.correct(session, row, step, changes.changes(), actor_of(caller), _now())
            return BundleCase.from_row(row, caller)

    @strawberry.mutation(description="A department system's result for a step (scope services:bundle:<step in lower "
                                     "case>, or a manager). version: the pushed version it answers, if known.")
    async def record_bundle_step_result(self, info: Info, case_id: strawberry.ID, step: str,
                                        outcome: BundleStepOutcome,  # type: ignore[valid-type]
                                        result: JSON | None = None, message: str | None = None,
                                        version: int | None = None) -> BundleCase:
        caller = info.context.caller
        if not (is_manager(caller) or (caller is not None and q.step_scope(step) in caller.scopes)):
            raise forbidden(f"Reporting on step {step} needs the scope {q.step_scope(step)}.")
        if result is not None and not isinstance(result, dict):
            raise bad_input("result must be a JSON object.", argument="result")
        async with info.context.transaction() as session:
            row = await cases.get_case(session, str(case_id), for_update=True)
            await cases.record_result(session, row, step, Outcome(outcome), result, message, actor_of(caller), _now(),
                                      version)
            return BundleCase.from_row(row, caller)

    @strawberry.mutation(description="重推: push a failed step (or one being handled) to its department again.")
    async def repush_bundle_step(self, info: Info, case_id: strawberry.ID, step: str) -> BundleCase:
        caller = info.context.caller
        async with info.context.transaction() as session:
            row = await _operated_case(session, caller, str(case_id), "重推")
            await cases.repush(session, row, step, actor_of(caller), _now())
            return BundleCase.from_row(row, caller)

    @strawberry.mutation(description="取消办理: halt a draft or a case in progress, recording the reason.")
    async def cancel_bundle_case(self, info: Info, case_id: strawberry.ID, reason: str) -> BundleCase:
        caller = info.context.caller
        async with info.context.transaction() as session:
            row = await _operated_case(session, caller, str(case_id), "取消办理")
            await cases.cancel(session, row, reason, actor_of(caller), _now())
            return BundleCase.from_row(row, caller)

    @strawberry.mutation(description="Manual 归档 of a case a step of which finished abnormally (normal ones archive "
                                     "themselves).")
    async def archive_bundle_case(self, info: Info, case_id: strawberry.ID) -> BundleCase:
        caller = info.context.caller
        async with info.context.transaction() as session:
            row = await _operated_case(session, caller, str(case_id), "归档")
            await cases.archive(session, row, actor_of(caller), _now())
            return BundleCase.from_row(row, caller)

    @strawberry.mutation(description="作废 a case a step of which finished abnormally.")
    async def void_bundle_case(self, info: Info, case_id: strawberry.ID, reason: str | None = None) -> BundleCase:
        caller = info.context.caller
        async with info.context.transaction() as session:
            row = await _operated_case(session, caller, str(case_id), "作废")
            await cases.void(session, row, reason, actor_of(caller), _now())
            return BundleCase.from_row(row, caller)


queries: list[type] = [BundleQueries]
mutations: list[type] = [BundleMutations]
