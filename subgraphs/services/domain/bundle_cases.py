"""Bundle cases (一件事办件) and their steps (单办件): the state machine of the 出生一件事分发系统 (5.1.4.1.7).

Case:  DRAFT 草稿 --submit--> IN_PROGRESS 办理中 --all steps DONE--> COMPLETED 已完结 --(at once)--> ARCHIVED 归档
       DRAFT --applicant cancels--> ABOLISHED 已废止 (irreversible)
       DRAFT | IN_PROGRESS --operator 取消办理 (reason)--> CANCELLED
       IN_PROGRESS with a FAILED step --operator 归档--> ARCHIVED, or --operator 作废--> VOIDED
Step:  WAITING 未办理 --its dependencies DONE--> IN_PROGRESS 办理中 --department--> DONE 正常办结 | RETURNED 退回 |
       FAILED 异常办结; RETURNED --applicant 补正--> IN_PROGRESS (new case version); FAILED --operator 重推-->
       IN_PROGRESS.

Every change writes a BundleEvent (the 时间轴); every push to a department writes the outbox event
"services.bundle.dispatched", and the ends of a case "services.bundle.archived|cancelled|voided" (the 省中台 is
notified on archive).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.common.outbox import emit
from subgraphs.services import models
from subgraphs.services.domain import birth_form as bf
from subgraphs.services.domain.bundles import BIRTH, get_bundle, steps_of


class CaseStatus(StrEnum):
    DRAFT = "DRAFT"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    ABOLISHED = "ABOLISHED"
    CANCELLED = "CANCELLED"
    ARCHIVED = "ARCHIVED"
    VOIDED = "VOIDED"


class StepStatus(StrEnum):
    WAITING = "WAITING"
    IN_PROGRESS = "IN_PROGRESS"
    RETURNED = "RETURNED"
    DONE = "DONE"
    FAILED = "FAILED"


class Outcome(StrEnum):
    DONE = "DONE"
    RETURNED = "RETURNED"
    FAILED = "FAILED"


class CitizenBucket(StrEnum):
    """What the applicant sees (草稿件 / 办理件 / 历史件 / 已废止)."""

    DRAFT = "DRAFT"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    ABOLISHED = "ABOLISHED"


CASE_LABELS = {
    CaseStatus.DRAFT: "草稿", CaseStatus.IN_PROGRESS: "办理中", CaseStatus.COMPLETED: "已完结",
    CaseStatus.ABOLISHED: "已废止", CaseStatus.CANCELLED: "取消办理", CaseStatus.ARCHIVED: "归档",
    CaseStatus.VOIDED: "作废",
}
STEP_LABELS = {
    StepStatus.WAITING: "未办理", StepStatus.IN_PROGRESS: "办理中", StepStatus.RETURNED: "退回",
    StepStatus.DONE: "正常办结", StepStatus.FAILED: "异常办结",
}
CITIZEN_LABELS = {
    CitizenBucket.DRAFT: "草稿", CitizenBucket.IN_PROGRESS: "办理中", CitizenBucket.COMPLETED: "已完结",
    CitizenBucket.ABOLISHED: "已废止",
}
# An archived case has finished (normally or, when archived by hand, with a failed step): 已完结 to the citizen.
# A case halted or voided by an operator has been abandoned like a cancelled draft: 已废止 (废止查询).
CITIZEN_BUCKET = {
    CaseStatus.DRAFT: CitizenBucket.DRAFT, CaseStatus.IN_PROGRESS: CitizenBucket.IN_PROGRESS,
    CaseStatus.COMPLETED: CitizenBucket.COMPLETED, CaseStatus.ARCHIVED: CitizenBucket.COMPLETED,
    CaseStatus.ABOLISHED: CitizenBucket.ABOLISHED, CaseStatus.CANCELLED: CitizenBucket.ABOLISHED,
    CaseStatus.VOIDED: CitizenBucket.ABOLISHED,
}
SYSTEM = "system"


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def business_id(created: datetime, serial: str) -> str:
    """业务ID: "CS" (出生), the creation date and a serial; unique without a lookup, sorts by date."""
    return f"CS{created:%Y%m%d}{serial}"


def _invalid(message: str, **details: Any) -> Exception:
    return domain_error(ErrorCode.INVALID_STATE, message, **details)


def _require(case: models.BundleCase, *allowed: CaseStatus, action: str) -> None:
    if case.status not in allowed:
        raise _invalid(f"{action} is not possible while the case is {CASE_LABELS[CaseStatus(case.status)]} "
                       f"({case.status}).", status=case.status)


def event(session: AsyncSession, case: models.BundleCase, action: str, from_status: str | None, to_status: str,
          actor: str, now: datetime, *, step: str | None = None, comment: str | None = None) -> None:
    # str(): the statuses arrive as StrEnum members, stored as their plain values.
    session.add(models.BundleEvent(case_id=case.id, step_code=step, action=action,
                                   from_status=None if from_status is None else str(from_status),
                                   to_status=str(to_status), actor=actor, at=now, comment=comment))


async def get_case(session: AsyncSession, case_id: str, *, for_update: bool = False) -> models.BundleCase:
    stmt = select(models.BundleCase).where(models.BundleCase.id == case_id)
    # Row lock: two department results arriving together must not both miss that the case is now complete.
    row = await session.scalar(stmt.with_for_update() if for_update else stmt)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No bundle case {case_id}.", argument="caseId")
    return row


async def sub_cases(session: AsyncSession, case_id: str) -> list[models.BundleSubCase]:
    S = models.BundleSubCase
    return list((await session.scalars(select(S).where(S.case_id == case_id).order_by(S.id))).all())


def _sub(subs: Sequence[models.BundleSubCase], step: str) -> models.BundleSubCase:
    for sub in subs:
        if sub.step_code == step:
            return sub
    raise bad_input(f"The case has no step {step}.", argument="step")


# ---------------------------------------------------------------------------------------------------------------
# Applicant: drafts, submission, correction
# ---------------------------------------------------------------------------------------------------------------


async def save_birth_draft(session: AsyncSession, *, applicant_uid: str, actor: str, case_id: str | None,
                           changes: Mapping[str, Any], channel: str, now: datetime) -> models.BundleCase:
    """草稿暂存: creates or updates the applicant's draft; only the given fields are checked (the form may be
    incomplete until submission)."""
    cleaned = bf.clean(changes, now.date())
    if case_id is None:
        bundle = await get_bundle(session, BIRTH)
        if not bundle.enabled:
            raise _invalid("The birth bundle is not open for applications at present.", bundle=BIRTH)
        created_id = _id("bc-")
        case = models.BundleCase(
            id=created_id, business_id=business_id(now, created_id[3:15].upper()), bundle_code=BIRTH,
            applicant_uid=applicant_uid, status=CaseStatus.DRAFT.value, form=bf.with_defaults(bf.merge({}, cleaned)),
            version=1, channel=channel, region_code=cleaned.get("birthRegionCode"), created_at=now, updated_at=now)
        session.add(case)
        await session.flush()
        event(session, case, "CREATE", None, CaseStatus.DRAFT, actor, now)
        return case
    case = await get_case(session, case_id, for_update=True)
    if case.applicant_uid != applicant_uid:
        raise domain_error(ErrorCode.NOT_FOUND, f"No bundle case {case_id}.", argument="caseId")
    _require(case, CaseStatus.DRAFT, action="Saving the draft")
    case.form = bf.merge(case.form, cleaned)
    case.region_code = case.form.get("birthRegionCode")
    case.updated_at = now
    event(session, case, "SAVE", CaseStatus.DRAFT, CaseStatus.DRAFT, actor, now)
    return case


async def submit(session: AsyncSession, case: models.BundleCase, actor: str, now: datetime) -> None:
    """Checks the whole form, records version 1 (原始申报信息), makes one sub-case per step and pushes the
    steps that wait for nothing."""
    _require(case, CaseStatus.DRAFT, action="Submitting")
    bundle = await get_bundle(session, case.bundle_code)
    if not bundle.enabled:
        raise _invalid(f"The bundle {bundle.name} is not open for applications at present.", bundle=bundle.code)
    form = bf.with_defaults(case.form)
    bf.clean(form, now.date())
    bf.check_complete(form)
    await _refuse_duplicate(session, case, form)
    case.form = form
    case.status = CaseStatus.IN_PROGRESS.value
    case.region_code = form.get("birthRegionCode")
    case.submitted_at = case.updated_at = now
    session.add(models.BundleCaseVersion(case_id=case.id, version=case.version, form=form, created_by=actor,
                                         created_at=now))
    event(session, case, "SUBMIT", CaseStatus.DRAFT, CaseStatus.IN_PROGRESS, actor, now)
    steps = await steps_of(session, case.bundle_code)
    subs = [models.BundleSubCase(id=_id(""), case_id=case.id, step_code=s.code, status=StepStatus.WAITING.value,
                                 version=case.version, attempts=0, result={}, updated_at=now) for s in steps]
    session.add_all(subs)
    await session.flush()
    for sub in subs:
        event(session, case, "CREATE_STEP", None, StepStatus.WAITING, SYSTEM, now, step=sub.step_code)
    await _dispatch_ready(session, case, subs, steps, now)


async def _refuse_duplicate(session: AsyncSession, case: models.BundleCase, form: Mapping[str, Any]) -> None:
    """分娩信息 must not repeat a case of the same applicant that is still alive or finished (L5363)."""
    C = models.BundleCase
    live = (CaseStatus.IN_PROGRESS, CaseStatus.COMPLETED, CaseStatus.ARCHIVED)
    others = await session.scalars(select(C).where(C.applicant_uid == case.applicant_uid, C.id != case.id,
                                                   C.bundle_code == case.bundle_code, C.status.in_(live)))
    key = (form.get("babyName"), str(form.get("birthTime", ""))[:10])
    for other in others:
        if (other.form.get("babyName"), str(other.form.get("birthTime", ""))[:10]) == key:
            raise domain_error(ErrorCode.CONFLICT, f"This birth was already declared in case {other.business_id}.",
                               businessId=other.business_id)


async def abolish_draft(session: AsyncSession, case: models.BundleCase, actor: str, now: datetime) -> None:
    """取消草稿: irreversible ("取消后草稿不可恢复")."""
    _require(case, CaseStatus.DRAFT, action="Cancelling the draft")
    case.status = CaseStatus.ABOLISHED.value
    case.finished_at = case.updated_at = now
    event(session, case, "ABOLISH", CaseStatus.DRAFT, CaseStatus.ABOLISHED, actor, now)


async def correct(session: AsyncSession, case: models.BundleCase, step: str, changes: Mapping[str, Any],
                  actor: str, now: datetime) -> models.BundleSubCase:
    """补正 of one returned step: only that step's editable fields change; a new version supersedes the old
    one (已被补正, read-only); only that step is pushed again, the others keep their status and result."""
    _require(case, CaseStatus.IN_PROGRESS, action="A correction")
    subs = await sub_cases(session, case.id)
    sub = _sub(subs, step)
    if sub.status != StepStatus.RETURNED:
        raise _invalid(f"Step {step} was not returned for correction (it is {STEP_LABELS[StepStatus(sub.status)]}).",
                       step=step, status=sub.status)
    if not changes:
        raise bad_input("A correction changes at least one field.", argument="changes")
    definition = {s.code: s for s in await steps_of(session, case.bundle_code)}[step]
    locked = sorted(set(changes) - set(definition.editable_fields))
    if locked:
        raise bad_input(f"The {definition.name} correction may not change {', '.join(locked)}; it may change "
                        f"{', '.join(definition.editable_fields) or 'nothing'}.", lockedFields=locked, step=step)
    form = bf.merge(case.form, bf.clean(changes, now.date()))
    bf.check_complete(form)
    V = models.BundleCaseVersion
    current = await session.scalar(select(V).where(V.case_id == case.id, V.version == case.version))
    if current is not None:
        current.superseded_at = now
    case.version += 1
    case.form = form
    case.updated_at = now
    session.add(V(case_id=case.id, version=case.version, form=form, corrected_step=step, created_by=actor,
                  created_at=now))
    event(session, case, "CORRECT", StepStatus.RETURNED, StepStatus.RETURNED, actor, now, step=step,
          comment=f"version {case.version}: {', '.join(sorted(changes))}")
    _dispatch(session, case, sub, subs, now, reason="CORRECTION")
    return sub


# ---------------------------------------------------------------------------------------------------------------
# Department systems and operators
# ---------------------------------------------------------------------------------------------------------------


def _dispatch(session: AsyncSession, case: models.BundleCase, sub: models.BundleSubCase,
              subs: Sequence[models.BundleSubCase], now: datetime, *, reason: str, actor: str = SYSTEM) -> None:
    before = sub.status
    sub.status = StepStatus.IN_PROGRESS.value
    sub.version = case.version
    sub.attempts += 1
    sub.dispatched_at = sub.updated_at = now
    sub.finished_at = None
    sub.message = None
    event(session, case, reason, before, StepStatus.IN_PROGRESS, actor, now, step=sub.step_code,
          comment=f"attempt {sub.attempts}")
    keep = bf.NEEDS.get(sub.step_code, frozenset(case.form))
    emit(session, models.OutboxEvent, "services.bundle.dispatched", {
        "caseId": case.id, "businessId": case.business_id, "bundle": case.bundle_code, "step": sub.step_code,
        "version": case.version, "attempt": sub.attempts, "reason": reason,
        "form": bf.masked(case.form, keep),
        # What the steps before it produced (e.g. the 出生医学证明 number for 落户).
        "previousResults": {s.step_code: s.result for s in subs if s.status == StepStatus.DONE},
    })


async def _dispatch_ready(session: AsyncSession, case: models.BundleCase, subs: Sequence[models.BundleSubCase],
                          steps: Sequence[models.BundleStep], now: datetime) -> None:
    done = {s.step_code for s in subs if s.status == StepStatus.DONE}
    depends = {s.code: set(s.depends_on) for s in steps}
    for sub in subs:
        if sub.status == StepStatus.WAITING and depends.get(sub.step_code, set()) <= done:
            _dispatch(session, case, sub, subs, now, reason="DISPATCH")


async def record_result(session: AsyncSession, case: models.BundleCase, step: str, outcome: Outcome,
                        result: Mapping[str, Any] | None, message: str | None, actor: str, now: datetime,
                        version: int | None = None) -> models.BundleSubCase:
    _require(case, CaseStatus.IN_PROGRESS, action="Recording a step's result")
    subs = await sub_cases(session, case.id)
    sub = _sub(subs, step)
    if sub.status != StepStatus.IN_PROGRESS:
        raise _invalid(f"Step {step} is not being handled (it is {STEP_LABELS[StepStatus(sub.status)]}).",
                       step=step, status=sub.status)
    if version is not None and version != sub.version:
        raise domain_error(ErrorCode.CONFLICT, f"Step {step} was pushed again with version {sub.version}; the result "
                           f"for version {version} is stale.", step=step, version=sub.version)
    if outcome is not Outcome.DONE and not (message or "").strip():
        raise bad_input("A returned or failed step needs a message saying why.", argument="message")
    sub.status = outcome.value
    sub.result = dict(result or {})
    sub.message = (message or "").strip() or None
    sub.updated_at = now
    sub.finished_at = now if outcome is not Outcome.RETURNED else None
    case.updated_at = now
    event(session, case, f"STEP_{outcome.value}", StepStatus.IN_PROGRESS, outcome.value, actor, now, step=step,
          comment=sub.message)
    if outcome is Outcome.DONE:
        steps = await steps_of(session, case.bundle_code)
        await _dispatch_ready(session, case, subs, steps, now)
        if all(s.status == StepStatus.DONE for s in subs):
            case.status = CaseStatus.COMPLETED.value
            event(session, case, "COMPLETE", CaseStatus.IN_PROGRESS, CaseStatus.COMPLETED, SYSTEM, now)
            _archive(session, case, subs, SYSTEM, now, automatic=True)
    return sub


def _archive(session: AsyncSession, case: models.BundleCase, subs: Sequence[models.BundleSubCase], actor: str,
             now: datetime, *, automatic: bool) -> None:
    before = case.status
    case.status = CaseStatus.ARCHIVED.value
    case.finished_at = case.updated_at = now
    event(session, case, "ARCHIVE", before, CaseStatus.ARCHIVED, actor, now,
          comment="automatic: every step finished normally" if automatic else "manual: a step finished abnormally")
    emit(session, models.OutboxEvent, "services.bundle.archived", {
        "caseId": case.id, "businessId": case.business_id, "bundle": case.bundle_code, "automatic": automatic,
        "steps": {s.step_code: s.status for s in subs},
    })


async def repush(session: AsyncSession, case: models.BundleCase, step: str, actor: str,
                 now: datetime) -> models.BundleSubCase:
    """重推: a failed step's request again, or a step being handled pushed once more (e.g. 妇幼's materials)."""
    _require(case, CaseStatus.IN_PROGRESS, action="Pushing a step again")
    subs = await sub_cases(session, case.id)
    sub = _sub(subs, step)
    if sub.status not in (StepStatus.FAILED, StepStatus.IN_PROGRESS):
        raise _invalid(f"Only a failed step or one being handled can be pushed again; {step} is "
                       f"{STEP_LABELS[StepStatus(sub.status)]}.", step=step, status=sub.status)
    case.updated_at = now
    _dispatch(session, case, sub, subs, now, reason="REPUSH", actor=actor)
    return sub


async def cancel(session: AsyncSession, case: models.BundleCase, reason: str, actor: str, now: datetime) -> None:
    """取消办理: an operator halts the flow and records why (记录干预原因)."""
    if not reason.strip():
        raise bad_input("取消办理 needs the reason for the intervention.", argument="reason")
    _require(case, CaseStatus.DRAFT, CaseStatus.IN_PROGRESS, action="取消办理")
    before = case.status
    case.status = CaseStatus.CANCELLED.value
    case.cancel_reason = reason.strip()
    case.finished_at = case.updated_at = now
    event(session, case, "CANCEL", before, CaseStatus.CANCELLED, actor, now, comment=case.cancel_reason)
    emit(session, models.OutboxEvent, "services.bundle.cancelled", {
        "caseId": case.id, "businessId": case.business_id, "bundle": case.bundle_code, "reason": case.cancel_reason})


async def _abnormal(session: AsyncSession, case: models.BundleCase, action: str) -> list[models.BundleSubCase]:
    _require(case, CaseStatus.IN_PROGRESS, action=action)
    subs = await sub_cases(session, case.id)
    if not any(s.status == StepStatus.FAILED for s in subs):
        raise _invalid(f"{action} is for cases with a step that finished abnormally (异常办结); this one has none.")
    return subs


async def archive(session: AsyncSession, case: models.BundleCase, actor: str, now: datetime) -> None:
    """Manual 归档: a case with a failed step once nothing is being handled any more (a finished case is archived
    automatically; a COMPLETED one left behind is archived too)."""
    if case.status == CaseStatus.COMPLETED:
        _archive(session, case, await sub_cases(session, case.id), actor, now, automatic=False)
        return
    subs = await _abnormal(session, case, "归档")
    busy = [s.step_code for s in subs if s.status in (StepStatus.IN_PROGRESS, StepStatus.RETURNED)]
    if busy:
        raise _invalid(f"Steps {', '.join(busy)} are still being handled or corrected; archive when they end.",
                       steps=busy)
    _archive(session, case, subs, actor, now, automatic=False)


async def void(session: AsyncSession, case: models.BundleCase, reason: str | None, actor: str, now: datetime) -> None:
    """作废: manual, for a case a step of which finished abnormally."""
    await _abnormal(session, case, "作废")
    case.status = CaseStatus.VOIDED.value
    case.cancel_reason = (reason or "").strip() or case.cancel_reason
    case.finished_at = case.updated_at = now
    event(session, case, "VOID", CaseStatus.IN_PROGRESS, CaseStatus.VOIDED, actor, now, comment=reason)
    emit(session, models.OutboxEvent, "services.bundle.voided", {
        "caseId": case.id, "businessId": case.business_id, "bundle": case.bundle_code, "reason": reason})
