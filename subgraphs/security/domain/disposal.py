"""Disposal reports (事件处置填报) and their change requests (变更申请).

A recipient's report is a DRAFT until submitted; a SUBMITTED report is locked (「提交后不可随意修改」): the
unit asks for a change with a reason and the content it proposes (CHANGE_REQUESTED, one request at a time),
and the province's administrator approves (the proposal replaces the content, version + 1) or rejects it
(the report stays as it was). Either way the report is SUBMITTED again. Every move recomputes the
incident's progress in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.security import access, models
from subgraphs.security.domain import incidents
from subgraphs.security.domain.incidents import not_found, now_utc

DRAFT, SUBMITTED, CHANGE_REQUESTED = "DRAFT", "SUBMITTED", "CHANGE_REQUESTED"
PENDING, APPROVED, REJECTED = "PENDING", "APPROVED", "REJECTED"
STATUS_LABELS = {DRAFT: "草稿", SUBMITTED: "已提交", CHANGE_REQUESTED: "变更审核中"}
# What the owner may do in each state: the INVALID_STATE errors name them.
ALLOWED = {
    DRAFT: ["saveDisposalReport", "submitDisposalReport"],
    SUBMITTED: ["requestDisposalChange"],
    CHANGE_REQUESTED: ["reviewDisposalChange"],
}
LIST_LIMIT = 50
TEXT_LIMIT = 2000


def invalid_state(report: models.DisposalReport, message: str) -> Exception:
    return domain_error(ErrorCode.INVALID_STATE, f"{message} The report is {report.status}; allowed: "
                        f"{', '.join(ALLOWED[report.status])}.", status=report.status, allowed=ALLOWED[report.status])


# --- content ---------------------------------------------------------------------------------------------


def _strings(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_input(f"{key} must be a list of texts.", argument=key)
    items = [v.strip() for v in value if v.strip()]
    if len(items) > LIST_LIMIT or any(len(v) > TEXT_LIMIT for v in items):
        raise bad_input(f"{key}: at most {LIST_LIMIT} entries of {TEXT_LIMIT} characters.", argument=key)
    return items


def _entries(value: Any, key: str, fields: Sequence[str], required: str) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > LIST_LIMIT:
        raise bad_input(f"{key} must be a list of at most {LIST_LIMIT} entries.", argument=key)
    out = []
    for entry in value:
        if not isinstance(entry, dict) or not str(entry.get(required) or "").strip():
            raise bad_input(f"Every {key} entry needs {required}.", argument=key)
        out.append({f: str(entry[f])[:TEXT_LIMIT] for f in fields if entry.get(f) is not None})
    return out


def normalise(content: dict[str, Any]) -> dict[str, Any]:
    """The stored shape of a report's content (models.DisposalReport.content), checked."""
    for flag in ("controlled", "impactRemoved"):
        if not isinstance(content.get(flag, False), bool):
            raise bad_input(f"{flag} must be true or false.", argument=flag)
    responsible = content.get("responsible")
    if responsible is not None and not isinstance(responsible, str):
        raise bad_input("responsible must be a text.", argument="responsible")
    summary = content.get("summary")
    if summary is not None and (not isinstance(summary, str) or len(summary) > TEXT_LIMIT * 5):
        raise bad_input(f"summary must be a text of at most {TEXT_LIMIT * 5} characters.", argument="summary")
    return {
        "technical": _strings(content.get("technical"), "technical"),
        "managerial": _strings(content.get("managerial"), "managerial"),
        "timeline": _entries(content.get("timeline"), "timeline", ("at", "what"), "what"),
        "responsible": (responsible or "").strip()[:64] or None,
        "participants": _strings(content.get("participants"), "participants"),
        "controlled": bool(content.get("controlled", False)),
        "impactRemoved": bool(content.get("impactRemoved", False)),
        "evidence": _entries(content.get("evidence"), "evidence", ("name", "kind", "sha256", "note"), "name"),
        "summary": (summary or "").strip() or None,
    }


def check_complete(content: dict[str, Any], argument: str = "content") -> None:
    """What a report must say before it is submitted (or a change is proposed)."""
    missing = [name for name, ok in (("responsible", content.get("responsible")),
                                     ("technical or managerial measures",
                                      content.get("technical") or content.get("managerial"))) if not ok]
    if missing:
        raise bad_input(f"The report needs {' and '.join(missing)} before it is submitted.", argument=argument,
                        missing=missing)


# --- who may act -----------------------------------------------------------------------------------------


def check_unit(caller: Caller | None, org_id: str) -> None:
    """A recipient's report is written by that organisation's security administrator (or an admin)."""
    if access.is_admin(caller):
        return
    if caller is None or caller.organization_id != org_id or not access.has_role(caller, access.Role.UNIT):
        raise forbidden(f"Only the security administrator of {org_id} files its disposal report.",
                        roles=sorted(access.Role.UNIT.roles()))


async def report_by_id(session: AsyncSession, caller: Caller | None, report_id: str
                       ) -> tuple[models.SecurityIncident, models.DisposalReport]:
    report = await session.get(models.DisposalReport, report_id, with_for_update=_locks(session))
    incident = await session.get(models.SecurityIncident, report.incident_id) if report else None
    if report is None or incident is None or not (incidents.oversees(caller, incident) or (
            caller is not None and caller.organization_id == report.org_id)):
        raise not_found(f"No disposal report {report_id}.", argument="reportId")
    return incident, report


def _locks(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _changed(session: AsyncSession, incident: models.SecurityIncident, report: models.DisposalReport,
                   action: str, at: datetime, **more: object) -> None:
    report.updated_at = at
    incident.updated_at = at
    await session.flush()
    before = incident.progress
    await incidents.recompute_progress(session, incident)
    incidents.emit_incident(session, incident, action, reportId=report.id, reportOrgId=report.org_id,
                            reportStatus=report.status, **more)
    if incident.progress != before:
        incidents.emit_incident(session, incident, "progress", previous=before)


# --- moves -----------------------------------------------------------------------------------------------


async def save(session: AsyncSession, caller: Caller | None, incident_id: str, content: dict[str, Any],
               org_id: str | None = None) -> tuple[models.SecurityIncident, models.DisposalReport]:
    """Create or update the recipient's DRAFT; a submitted report is refused (a change request is needed)."""
    incident = await incidents.visible_incident(session, caller, incident_id, for_update=True)
    org = org_id or (caller.organization_id if caller else None)
    if org is None:
        raise bad_input("Whose report is it? Name orgId.", argument="orgId")
    check_unit(caller, org)
    if await incidents.recipient(session, incident.id, org) is None:
        raise not_found(f"{org} is not a recipient of incident {incident.number}.", argument="orgId")
    at = now_utc()
    report = await session.scalar(select(models.DisposalReport).where(
        models.DisposalReport.incident_id == incident.id, models.DisposalReport.org_id == org))
    if report is None:
        report = models.DisposalReport(id=f"dr-{uuid.uuid4().hex[:20]}", incident_id=incident.id, org_id=org,
                                       status=DRAFT, content=normalise(content), version=1, updated_at=at)
        session.add(report)
    elif report.status != DRAFT:
        raise invalid_state(report, "A submitted disposal report is locked (提交后不可随意修改): "
                                    "request a change (requestDisposalChange) with a reason.")
    else:
        report.content = normalise(content)
    await _changed(session, incident, report, "report_saved", at)
    return incident, report


async def submit(session: AsyncSession, caller: Caller | None,
                 report_id: str) -> tuple[models.SecurityIncident, models.DisposalReport]:
    incident, report = await report_by_id(session, caller, report_id)
    check_unit(caller, report.org_id)
    if report.status != DRAFT:
        raise invalid_state(report, "Only a draft is submitted.")
    check_complete(report.content)
    at = now_utc()
    report.status = SUBMITTED
    report.submitted_at = at
    report.submitted_by = access.actor_of(caller)
    await _changed(session, incident, report, "report_submitted", at)
    return incident, report


async def request_change(session: AsyncSession, caller: Caller | None, report_id: str, reason: str,
                         proposed: dict[str, Any]) -> models.DisposalChangeRequest:
    """变更申请: the reason and the whole proposed content of a submitted report."""
    incident, report = await report_by_id(session, caller, report_id)
    check_unit(caller, report.org_id)
    if report.status == CHANGE_REQUESTED:
        raise invalid_state(report, "A change request of this report is already waiting for review.")
    if report.status != SUBMITTED:
        raise invalid_state(report, "A draft is edited directly; a change request is for a submitted report.")
    text = reason.strip()
    if not text or len(text) > 500:
        raise bad_input("A change request needs a reason (at most 500 characters).", argument="reason")
    content = normalise(proposed)
    check_complete(content, "proposed")
    at = now_utc()
    request = models.DisposalChangeRequest(
        id=f"dcr-{uuid.uuid4().hex[:20]}", report_id=report.id, reason=text, proposed=content,
        before=report.content, status=PENDING, requested_by=access.actor_of(caller), requested_at=at)
    session.add(request)
    report.status = CHANGE_REQUESTED
    await _changed(session, incident, report, "change_requested", at, changeRequestId=request.id)
    return request


async def review_change(session: AsyncSession, caller: Caller | None, request_id: str, approve: bool,
                        opinion: str | None) -> models.DisposalChangeRequest:
    """The administrator's decision: approval applies the proposal (version + 1), rejection (with an
    opinion) keeps the report as submitted."""
    access.check_admin(caller, "Reviewing a disposal change request")
    request = await session.get(models.DisposalChangeRequest, request_id, with_for_update=_locks(session))
    if request is None:
        raise not_found(f"No change request {request_id}.", argument="id")
    if request.status != PENDING:
        raise domain_error(ErrorCode.INVALID_STATE, f"The change request is already {request.status}.",
                           status=request.status, allowed=[])
    note = (opinion or "").strip()
    if not approve and not note:
        raise bad_input("A rejection needs an opinion (审核意见).", argument="opinion")
    if len(note) > 500:
        raise bad_input("The opinion is longer than 500 characters.", argument="opinion")
    incident, report = await report_by_id(session, caller, request.report_id)
    at = now_utc()
    request.status = APPROVED if approve else REJECTED
    request.reviewed_by = access.actor_of(caller)
    request.reviewed_at = at
    request.opinion = note or None
    if approve:
        report.content = request.proposed
        report.version += 1
    report.status = SUBMITTED
    await _changed(session, incident, report, "change_approved" if approve else "change_rejected", at,
                   changeRequestId=request.id)
    return request


async def reports_of(session: AsyncSession, incident_ids: Sequence[str]) -> list[models.DisposalReport]:
    rows = await session.scalars(select(models.DisposalReport)
                                 .where(models.DisposalReport.incident_id.in_(incident_ids))
                                 .order_by(models.DisposalReport.incident_id, models.DisposalReport.id))
    return list(rows)


async def change_requests_of(session: AsyncSession,
                             report_ids: Sequence[str]) -> list[models.DisposalChangeRequest]:
    rows = await session.scalars(select(models.DisposalChangeRequest)
                                 .where(models.DisposalChangeRequest.report_id.in_(report_ids))
                                 .order_by(models.DisposalChangeRequest.requested_at,
                                           models.DisposalChangeRequest.id))
    return list(rows)


def versions(report: models.DisposalReport,
             requests: Sequence[models.DisposalChangeRequest]) -> list[tuple[int, dict[str, Any], datetime | None]]:
    """Every version of a report's submitted content, oldest first: (version, content, in force since)."""
    approved = [r for r in requests if r.status == APPROVED]
    out: list[tuple[int, dict[str, Any], datetime | None]] = []
    since = report.submitted_at
    for number, request in enumerate(approved, start=1):
        out.append((number, request.before, since))
        since = request.reviewed_at
    out.append((len(approved) + 1, report.content, since))
    return out
