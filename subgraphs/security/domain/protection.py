"""等级保护 rules: the ledger of systems with their level, filing and latest assessment, changed only through a
change request the commission's reviewer approves (未获批的变更申请不可修改等保信息), and the gaps the
province follows up.

* A unit (or an administrator) files a ProtectionChangeRequest: a new filing (record_id None) or a change of
  level, filing or assessment, with a reason and evidence. PENDING → APPROVED (the record is created or
  updated from `proposed`, version + 1) / REJECTED (opinion required) / SUPPLEMENT_REQUESTED (opinion says
  what is missing; the unit resubmits with more evidence → PENDING). APPROVED and REJECTED are final. One
  open request per record at a time, so two approvals never overwrite each other.
* The asset link: `asset_id` when given must be an APPLICATION asset of the same organisation; otherwise the
  record links to the organisation's APPLICATION asset with the same name as the system (系统自动关联), if any.
* Gaps: a record without a filing number (未备案), and an assessment overdue by level. The tender asks for a
  年度测评 without a frequency per level; we follow the usual MLPS practice: level 3 and 4 every year (an
  assessment dated in the current year), level 2 every two years (this year or last), level 1 none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.outbox import emit
from subgraphs.security import access, models
from subgraphs.security.domain.assets import application_asset_for, region_of

CONCLUSIONS = ("PASS", "BASIC", "FAIL")  # 符合, 基本符合, 不符合
OPEN = ("PENDING", "SUPPLEMENT_REQUESTED")
DECISIONS = ("APPROVE", "REJECT", "REQUEST_MATERIAL")
# Assessment interval in years per level (see the module docstring); level 1 needs none.
EVALUATION_YEARS = {2: 2, 3: 1, 4: 1}
_DATE_FIELDS = ("filed_on", "evaluated_on")
FIELDS = ("system_name", "level", "filing_number", "filing_authority", "filed_on", "evaluated_on",
          "evaluation_body", "conclusion", "asset_id")
_FILING = re.compile(r"^[0-9A-Za-z\-]{4,40}$")


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class Proposal:
    """The fields a change request proposes; None: unchanged (a new filing needs system_name and level)."""

    system_name: str | None = None
    level: int | None = None
    filing_number: str | None = None
    filing_authority: str | None = None
    filed_on: date | None = None
    evaluated_on: date | None = None
    evaluation_body: str | None = None
    conclusion: str | None = None
    asset_id: str | None = None

    def cleaned(self, today: date) -> dict[str, Any]:
        """The given fields, validated, as JSON (dates in ISO form)."""
        out: dict[str, Any] = {}
        if self.system_name is not None:
            name = self.system_name.strip()
            if not name or len(name) > 128:
                raise bad_input("systemName must be 1-128 characters.", argument="systemName")
            out["system_name"] = name
        if self.level is not None:
            if self.level not in (1, 2, 3, 4):
                raise bad_input("level must be 1, 2, 3 or 4 (一级-四级).", argument="level")
            out["level"] = self.level
        if self.filing_number is not None:
            number = self.filing_number.strip()
            if not _FILING.match(number):
                raise bad_input("filingNumber is 4-40 letters, digits and hyphens (e.g. 32010099001-23001).",
                                argument="filingNumber")
            out["filing_number"] = number
        for column, argument in (("filing_authority", "filingAuthority"), ("evaluation_body", "evaluationBody")):
            value = getattr(self, column)
            if value is not None:
                value = value.strip()
                if not value or len(value) > 100:
                    raise bad_input(f"{argument} must be 1-100 characters.", argument=argument)
                out[column] = value
        for column, argument in (("filed_on", "filedOn"), ("evaluated_on", "evaluatedOn")):
            value = getattr(self, column)
            if value is not None:
                if value > today:
                    raise bad_input(f"{argument} is in the future.", argument=argument)
                out[column] = value.isoformat()
        if self.conclusion is not None:
            if self.conclusion not in CONCLUSIONS:
                raise bad_input(f"conclusion must be one of {', '.join(CONCLUSIONS)}.", argument="conclusion")
            out["conclusion"] = self.conclusion
        if self.asset_id is not None:
            out["asset_id"] = self.asset_id.strip()
        if "evaluated_on" in out and "conclusion" not in out:
            raise bad_input("An assessment needs its conclusion (测评结论).", argument="conclusion")
        return out


def _evidence(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        name = str(item.get("name") or "").strip()
        if not name or len(name) > 200:
            raise bad_input("Every evidence item needs a name of at most 200 characters.", argument="evidence")
        out.append({k: v for k, v in item.items() if v is not None} | {"name": name})
    return out


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise bad_input("A reason (变更原因) of 1-500 characters is required.", argument="reason")
    return reason


def visible_records(caller: Caller | None) -> Any:
    return access.org_condition(caller, models.ProtectionRecord.org_id, models.ProtectionRecord.region_code)


def visible_requests(caller: Caller | None) -> Any:
    # A request carries no region column of its own: a regional caller sees its region's through the records.
    return access.org_condition(caller, models.ProtectionChangeRequest.org_id)


def _may_apply(caller: Caller | None, org_id: str) -> bool:
    if access.is_admin(caller):
        return True
    return (caller is not None and caller.organization_id == org_id
            and access.has_role(caller, access.Role.UNIT))


async def get_record(session: AsyncSession, caller: Caller | None, record_id: str, *,
                     for_update: bool = False) -> models.ProtectionRecord:
    stmt = select(models.ProtectionRecord).where(models.ProtectionRecord.id == record_id, visible_records(caller))
    if for_update:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No protection record {record_id}.", argument="recordId")
    return row


async def get_request(session: AsyncSession, caller: Caller | None, request_id: str, *,
                      for_update: bool = False) -> models.ProtectionChangeRequest:
    stmt = select(models.ProtectionChangeRequest).where(models.ProtectionChangeRequest.id == request_id,
                                                        visible_requests(caller))
    if for_update:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No protection change request {request_id}.", argument="id")
    return row


def _event(session: AsyncSession, action: str, request: models.ProtectionChangeRequest,
           record: models.ProtectionRecord | None, region: str | None) -> None:
    emit(session, models.OutboxEvent, f"security.protection.{action}",
         {"requestId": request.id, "recordId": record.id if record else request.record_id, "orgId": request.org_id,
          "regionCode": region, "status": request.status, "level": record.level if record else None})


async def request_change(session: AsyncSession, caller: Caller | None, *, proposal: Proposal, reason: str,
                         evidence: list[dict[str, Any]], record_id: str | None = None, org_id: str | None = None,
                         now: datetime | None = None) -> models.ProtectionChangeRequest:
    """变更申请 (or a new filing when record_id is None); the record is untouched until approval."""
    now = now or now_utc()
    proposed = proposal.cleaned(now.date())
    reason = _reason(reason)
    items = _evidence(evidence)
    region: str | None
    if record_id is not None:
        record = await get_record(session, caller, record_id)
        org = record.org_id
        region = record.region_code
        if not proposed:
            raise bad_input("The request changes nothing: propose at least one field.", argument="proposed")
        open_stmt = select(models.ProtectionChangeRequest.id).where(
            models.ProtectionChangeRequest.record_id == record_id, models.ProtectionChangeRequest.status.in_(OPEN))
        if (existing := await session.scalar(open_stmt)) is not None:
            raise domain_error(ErrorCode.CONFLICT, f"Record {record_id} already has an open change request "
                               f"{existing}; wait for its review.", argument="recordId", requestId=existing)
    else:
        org = (org_id or (caller.organization_id if caller else None) or "").strip()
        if not org:
            raise bad_input("orgId is required for a new filing.", argument="orgId")
        if "system_name" not in proposed or "level" not in proposed:
            raise bad_input("A new filing needs systemName and level.", argument="proposed")
        region = region_of(org, None) if org.startswith("org-") else None
    if not _may_apply(caller, org):
        raise forbidden(f"Only the security administrators of {org} or the province's administrators may request "
                        "changes of its protection records.")
    request = models.ProtectionChangeRequest(
        id=f"pcr-{uuid4().hex[:20]}", record_id=record_id, org_id=org, proposed=proposed, reason=reason,
        evidence=items, status="PENDING", requested_by=access.actor_of(caller), requested_at=now,
        history=[{"at": now.isoformat(), "actor": access.actor_of(caller), "action": "SUBMITTED",
                  "opinion": reason}],
    )
    session.add(request)
    await session.flush()
    _event(session, "requested", request, None, region)
    return request


def _check_state(request: models.ProtectionChangeRequest, expected: str, action: str) -> None:
    if request.status != expected:
        allowed = {"PENDING": ["APPROVE", "REJECT", "REQUEST_MATERIAL"], "SUPPLEMENT_REQUESTED": ["RESUBMIT"]}
        raise domain_error(
            ErrorCode.INVALID_STATE,
            f"Change request {request.id} is {request.status}; {action} needs {expected}. Allowed actions: "
            f"{', '.join(allowed.get(request.status, [])) or 'none'}.",
            status=request.status, allowed=allowed.get(request.status, []))


async def resubmit(session: AsyncSession, caller: Caller | None, request_id: str, *,
                   evidence: list[dict[str, Any]], reason: str | None = None, proposal: Proposal | None = None,
                   now: datetime | None = None) -> models.ProtectionChangeRequest:
    """补充材料 given: more evidence (and optionally a revised proposal) → PENDING again."""
    now = now or now_utc()
    request = await get_request(session, caller, request_id, for_update=True)
    if not _may_apply(caller, request.org_id):
        raise forbidden(f"Only the applicant unit {request.org_id} may resubmit its request.")
    _check_state(request, "SUPPLEMENT_REQUESTED", "resubmitting")
    items = _evidence(evidence)
    if not items:
        raise bad_input("Resubmission needs the supplementary evidence (补充材料).", argument="evidence")
    if proposal is not None:
        request.proposed = {**request.proposed, **proposal.cleaned(now.date())}
    if reason is not None:
        request.reason = _reason(reason)
    request.evidence = [*request.evidence, *items]
    request.status = "PENDING"
    request.history = [*request.history, {"at": now.isoformat(), "actor": access.actor_of(caller),
                                          "action": "RESUBMITTED", "opinion": reason}]
    _event(session, "resubmitted", request, None, await _region_of_request(session, request))
    return request


async def _region_of_request(session: AsyncSession, request: models.ProtectionChangeRequest) -> str | None:
    if request.record_id is not None:
        record = await session.get(models.ProtectionRecord, request.record_id)
        if record is not None:
            return record.region_code
    return region_of(request.org_id, None) if request.org_id.startswith("org-") else None


async def _linked_asset(session: AsyncSession, org_id: str, system_name: str, asset_id: str | None) -> str | None:
    if asset_id is None:
        asset = await application_asset_for(session, org_id, system_name)
        return asset.id if asset else None
    asset = await session.get(models.Asset, asset_id)
    if asset is None or asset.owner_id != org_id or asset.kind != "APPLICATION":
        raise domain_error(ErrorCode.INVALID_STATE, f"Asset {asset_id} is not an application system of {org_id}; "
                           "a protection record links to its own organisation's APPLICATION asset.",
                           argument="assetId")
    return asset.id


async def _apply(session: AsyncSession, request: models.ProtectionChangeRequest,
                 now: datetime) -> models.ProtectionRecord:
    values: dict[str, Any] = {k: date.fromisoformat(v) if k in _DATE_FIELDS and v else v
                              for k, v in request.proposed.items() if k in FIELDS}
    number = values.get("filing_number")
    if number is not None:
        clash = await session.scalar(select(models.ProtectionRecord.id).where(
            models.ProtectionRecord.filing_number == number, models.ProtectionRecord.id != request.record_id))
        if clash is not None:
            raise domain_error(ErrorCode.CONFLICT, f"Filing number {number} already belongs to record {clash}.",
                               argument="filingNumber", recordId=clash)
    if request.record_id is None:
        record = models.ProtectionRecord(
            id=f"pr-{uuid4().hex[:20]}", org_id=request.org_id, system_name=values["system_name"],
            level=values["level"], version=1, created_at=now, updated_at=now, evidence=list(request.evidence),
            region_code=region_of(request.org_id, None) if request.org_id.startswith("org-") else None,
        )
        session.add(record)
        request.record_id = record.id
    else:
        found = await session.get(models.ProtectionRecord, request.record_id, with_for_update=True)
        if found is None:
            raise domain_error(ErrorCode.NOT_FOUND, f"No protection record {request.record_id}.")
        record = found
        record.version += 1
        record.evidence = [*record.evidence, *request.evidence]
    for column, value in values.items():
        if column != "asset_id":
            setattr(record, column, value)
    if "asset_id" in values or record.asset_id is None:
        record.asset_id = await _linked_asset(session, record.org_id, record.system_name, values.get("asset_id"))
    record.updated_at = now
    await session.flush()
    return record


async def review(session: AsyncSession, caller: Caller | None, request_id: str, decision: str,
                 opinion: str | None, now: datetime | None = None) -> models.ProtectionChangeRequest:
    """The commission's review: 同意 (the record changes), 驳回 or 补充材料 (the record stays as it was)."""
    now = now or now_utc()
    access.check_admin(caller, "Reviewing protection change requests")
    if decision not in DECISIONS:
        raise bad_input(f"decision must be one of {', '.join(DECISIONS)}.", argument="decision")
    opinion = (opinion or "").strip() or None
    if opinion is not None and len(opinion) > 500:
        raise bad_input("opinion is longer than 500 characters.", argument="opinion")
    if decision != "APPROVE" and opinion is None:
        raise bad_input("Rejecting or asking for more material needs an opinion (审核意见).", argument="opinion")
    request = await get_request(session, caller, request_id, for_update=True)
    _check_state(request, "PENDING", "a review")
    record = None
    if decision == "APPROVE":
        record = await _apply(session, request, now)
        request.status = "APPROVED"
    else:
        request.status = "REJECTED" if decision == "REJECT" else "SUPPLEMENT_REQUESTED"
    request.reviewed_by = access.actor_of(caller)
    request.reviewed_at = now
    request.opinion = opinion
    request.history = [*request.history, {"at": now.isoformat(), "actor": request.reviewed_by,
                                          "action": decision, "opinion": opinion}]
    action = {"APPROVE": "approved", "REJECT": "rejected", "REQUEST_MATERIAL": "supplement_requested"}[decision]
    _event(session, action, request, record,
           record.region_code if record else await _region_of_request(session, request))
    return request


# --- reads -----------------------------------------------------------------------------------------------------


@dataclass
class RecordFilter:
    org_id: str | None = None
    level: int | None = None
    filed: bool | None = None
    keyword: str | None = None


def records_statement(caller: Caller | None, f: RecordFilter) -> Select[models.ProtectionRecord]:
    record = models.ProtectionRecord
    stmt = select(record).where(visible_records(caller))
    if f.org_id is not None:
        stmt = stmt.where(record.org_id == f.org_id)
    if f.level is not None:
        stmt = stmt.where(record.level == f.level)
    if f.filed is not None:
        stmt = stmt.where(record.filing_number.is_not(None) if f.filed else record.filing_number.is_(None))
    if f.keyword is not None and f.keyword.strip():
        stmt = stmt.where(record.system_name.contains(f.keyword.strip(), autoescape=True))
    return stmt


def requests_statement(caller: Caller | None, status: str | None, org_id: str | None,
                       record_id: str | None) -> Select[models.ProtectionChangeRequest]:
    req = models.ProtectionChangeRequest
    stmt = select(req).where(visible_requests(caller))
    if status is not None:
        stmt = stmt.where(req.status == status)
    if org_id is not None:
        stmt = stmt.where(req.org_id == org_id)
    if record_id is not None:
        stmt = stmt.where(req.record_id == record_id)
    return stmt


def evaluation_due(record: models.ProtectionRecord, today: date) -> bool:
    """Whether the record's assessment is overdue by its level (see the module docstring)."""
    years = EVALUATION_YEARS.get(record.level)
    if years is None:
        return False
    return record.evaluated_on is None or record.evaluated_on.year <= today.year - years


def gaps_of(record: models.ProtectionRecord, today: date) -> list[str]:
    """NO_FILING (未备案) and EVALUATION_OVERDUE (测评逾期) of one record."""
    gaps = []
    if not record.filing_number:
        gaps.append("NO_FILING")
    if evaluation_due(record, today):
        gaps.append("EVALUATION_OVERDUE")
    return gaps


async def gaps(session: AsyncSession, caller: Caller | None, today: date,
               org_id: str | None = None) -> list[tuple[models.ProtectionRecord, list[str]]]:
    """The records the caller sees with a gap, in organisation and id order."""
    stmt = records_statement(caller, RecordFilter(org_id=org_id)).order_by(
        models.ProtectionRecord.org_id, models.ProtectionRecord.id)
    out = []
    for record in (await session.scalars(stmt)).all():
        if found := gaps_of(record, today):
            out.append((record, found))
    return out
