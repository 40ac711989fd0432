"""Ingestion (归集, 5.1.3.2): upload permissions per type, authentication with its log, and the ingestion of a
batch: quality control against the enabled standard, then either rejection (nothing stored, a rectification
ticket) or the upsert of its records by primary key, the latest ingestion winning (L5089).

Large batches cost a fixed number of queries for what the library already holds (chunked IN lists); the
per-licence work is the write path of changes.licence_written (operation log, generation, event).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.pseudonym import id_number_digest
from subgraphs.licences import models
from subgraphs.licences.codes import (
    BatchStatus,
    IngestionMode,
    IssueOutcome,
    LicenceOperation,
    LicenceTypeCode,
    type_info,
)
from subgraphs.licences.domain import rectification, standards
from subgraphs.licences.domain.changes import LicenceChange, licences_written
from subgraphs.licences.domain.face import face_of
from subgraphs.licences.domain.quality import Checked, Existing, Finding, Outcome, Standard, Stored, check_across
from subgraphs.licences.domain.quality import check_records as run_record_rules
from subgraphs.licences.domain.standard_v1 import ENVELOPE_CODES, LINK_KEYS, VALID_FLAG_KEY
from subgraphs.licences.ids import derived_hex, new_hex
from subgraphs.licences.status import LicenceStatus, licence_status, today_in_china

MAX_RECORDS = 10_000
CHUNK = 500
SOURCE_LENGTH = 100
PRINCIPAL_LENGTH = 64
ID_SAFE = re.compile(r"^[A-Za-z0-9-]{1,32}$")
# Envelope element -> Licence column (the link keys map the same way).
COLUMNS = {
    "number": "number", "holderName": "holder_name", "holderSex": "holder_sex", "holderIdType": "holder_id_type",
    "holderIdNumber": "holder_id_number", "holderCreditCode": "holder_credit_code", "issuerName": "issuer_name",
    "issuedAt": "issued_at", "validFrom": "valid_from", "validUntil": "valid_until",
    "sourceStatus": "source_status", "practiceInstitutionName": "practice_institution_name",
    "practiceCategory": "practice_category", "registeredAt": "registered_at",
    "issuerOrgId": "issuer_org_id", "holderOrgId": "holder_org_id",
    "practiceInstitutionId": "practice_institution_id", "employerOrgId": "employer_org_id",
}


def chunks(values: Iterable[str], size: int = CHUNK) -> Iterable[list[str]]:
    items = sorted(set(values))
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- permissions and authentication (归集鉴权, L5073-L5078) -------------------------------------------


def _check_principal(principal: str) -> str:
    principal = principal.strip()
    if not principal or len(principal) > PRINCIPAL_LENGTH:
        raise bad_input(f"principal must have 1 to {PRINCIPAL_LENGTH} characters.", argument="principal")
    return principal


async def live_permission(session: AsyncSession, principal: str | None, type_code: LicenceTypeCode
                          ) -> models.UploadPermission | None:
    if principal is None:
        return None
    P = models.UploadPermission
    return await session.scalar(select(P).where(P.principal == principal, P.type_code == type_code.value,
                                                P.revoked_at.is_(None)).limit(1))


async def grant(session: AsyncSession, principal: str, type_code: LicenceTypeCode, actor: str,
                now: datetime) -> models.UploadPermission:
    """分配上传权限; granting a live permission again returns it unchanged."""
    principal = _check_principal(principal)
    existing = await live_permission(session, principal, type_code)
    if existing is not None:
        return existing
    row = models.UploadPermission(principal=principal, type_code=type_code.value, granted_by=actor, granted_at=now)
    session.add(row)
    await session.flush()
    return row


async def revoke(session: AsyncSession, principal: str, type_code: LicenceTypeCode, actor: str,
                 now: datetime) -> models.UploadPermission:
    """取消上传权限."""
    row = await live_permission(session, _check_principal(principal), type_code)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"{principal} holds no upload permission for {type_code.value}.",
                           argument="principal")
    row.revoked_by, row.revoked_at = actor, now
    await session.flush()
    return row


async def authenticate(session: AsyncSession, principal: str | None, type_code: LicenceTypeCode,
                       now: datetime) -> bool:
    """Whether `principal` may upload the type; the attempt is logged either way (鉴权记录). The caller
    commits the log before refusing, so a refusal is on record."""
    allowed = await live_permission(session, principal, type_code) is not None
    reason = ("permission held" if allowed else
              "anonymous caller" if principal is None else f"no upload permission for {type_code.value}")
    session.add(models.IngestionAuthLog(principal=principal, type_code=type_code.value, accessed_at=now,
                                        allowed=allowed, reason=reason))
    await session.flush()
    return allowed


def refusal(principal: str | None, type_code: LicenceTypeCode) -> Exception:
    who = principal or "An anonymous caller"
    return forbidden(f"{who} may not upload {type_info(type_code).name} ({type_code.value}): no upload permission.",
                     type=type_code.value)


# --- ingestion ---------------------------------------------------------------------------------------


def check_input(records: Any, source: str) -> tuple[list[Any], str]:
    """BAD_USER_INPUT for what is not a batch at all (quality control handles bad records)."""
    if not isinstance(records, list):
        raise bad_input("records must be a JSON list of records.", argument="records")
    if not records:
        raise bad_input("records is empty.", argument="records")
    if len(records) > MAX_RECORDS:
        raise bad_input(f"A batch holds at most {MAX_RECORDS} records; split it.", argument="records",
                        maximum=MAX_RECORDS)
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise bad_input(f"Record {bad} is not a JSON object keyed by data-element codes.", argument="records",
                        index=bad)
    source = source.strip()
    if not source or len(source) > SOURCE_LENGTH:
        raise bad_input(f"source (归集来源) must have 1 to {SOURCE_LENGTH} characters.", argument="source")
    return records, source


async def _original(session: AsyncSession, batch_id: str, type_code: LicenceTypeCode
                    ) -> tuple[models.IngestionBatch, models.RectificationTicket]:
    original = await session.get(models.IngestionBatch, batch_id)
    if original is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No ingestion batch has id {batch_id}.", argument="resubmissionOf")
    if original.type_code != type_code.value:
        raise bad_input(f"Batch {batch_id} holds {original.type_code}, not {type_code.value}.",
                        argument="resubmissionOf")
    ticket = await rectification.ticket_of_batch(session, original.id)
    if original.status != BatchStatus.REJECTED.value or ticket is None or ticket.status != rectification.OPEN:
        raise domain_error(ErrorCode.INVALID_STATE, f"Batch {batch_id} is {original.status}: only a rejected batch "
                           "with an open ticket is resubmitted.", argument="resubmissionOf", status=original.status)
    return original, ticket


async def _existing(session: AsyncSession, type_code: LicenceTypeCode, outcome: Outcome
                    ) -> dict[str, models.Licence]:
    """The type's licences sharing a primary key, a number or a holder with the batch, by id."""
    L = models.Licence
    records = [r for r in outcome.records if not r.failed]
    wanted: list[tuple[Any, set[str]]] = [
        (L.business_key, {r.key for r in records if r.key}),
        (L.number, {str(r.values["number"]) for r in records if r.values.get("number")}),
        (L.holder_id_number, {r.values["holderIdNumber"] for r in records if r.values.get("holderIdNumber")}),
        (L.holder_credit_code, {r.values["holderCreditCode"] for r in records if r.values.get("holderCreditCode")}),
    ]
    if wanted[0][1] == wanted[1][1]:
        wanted.pop(1)  # the key is the number: one lookup finds both
    found: dict[str, models.Licence] = {}
    for column, values in wanted:
        for part in chunks(values):
            rows = await session.scalars(select(L).where(L.type_code == type_code.value, column.in_(part)))
            found.update((row.id, row) for row in rows)
    return found


def _stored(rows: Iterable[models.Licence], today: Any) -> Existing:
    def holder(row: models.Licence) -> str | None:
        if row.holder_id_number:
            return f"id:{row.holder_id_number}"
        return f"uscc:{row.holder_credit_code}" if row.holder_credit_code else None

    return Existing([Stored(r.business_key, r.number, holder(r), licence_status(r, today) is LicenceStatus.VALID)
                     for r in rows])


async def _holder_uids(session: AsyncSession, records: Sequence[Checked]) -> dict[str, str]:
    digests = {id_number_digest(r.values["holderIdNumber"]) for r in records if r.values.get("holderIdNumber")}
    H = models.HolderLink
    out: dict[str, str] = {}
    for part in chunks(digests):
        out.update((d, u) for d, u in (await session.execute(select(H.id_digest, H.uid).where(H.id_digest.in_(part)))))
    return out


def _issue_rows(batch: models.IngestionBatch, findings: Sequence[Finding], ticket: str | None,
                now: datetime) -> list[dict[str, Any]]:
    day = today_in_china(now)
    return [{
        "batch_id": batch.id, "rule_code": f.rule.code, "dimension": f.rule.dimension.value,
        "outcome": f.rule.outcome.value, "type_code": batch.type_code, "issuer_name": f.issuer_name,
        "record_index": f.record_index, "record_key": f.record_key[:200] if f.record_key else None,
        "field": f.field, "message": f.message, "detected_on": day, "detected_at": now,
        "ticket_id": ticket if f.rule.outcome is not IssueOutcome.OVERWRITE else None, "closed_at": None,
    } for f in findings]


def _summary(findings: Sequence[Finding]) -> str:
    counts = Counter(f.rule.code for f in findings if f.rule.outcome is not IssueOutcome.OVERWRITE)
    return "; ".join(f"{code} × {n}" for code, n in sorted(counts.items()))


async def ingest(session: AsyncSession, principal: str, type_code: LicenceTypeCode, records: list[Any],
                 mode: IngestionMode, source: str, resubmission_of: str | None = None,
                 now: datetime | None = None) -> models.IngestionBatch:
    """Check and store one batch; the batch says what happened (status, counts, issues)."""
    now = now or datetime.now(UTC)
    records, source = check_input(records, source)
    if await live_permission(session, principal, type_code) is None:
        raise refusal(principal, type_code)
    original = ticket = None
    if resubmission_of is not None:
        original, ticket = await _original(session, resubmission_of, type_code)
    version, elements = await standards.enabled_version(session, type_code)
    std = Standard.of(type_code, version, elements)
    today = today_in_china(now)
    outcome = run_record_rules(std, records, today)
    existing = await _existing(session, type_code, outcome)
    check_across(std, outcome, _stored(existing.values(), today), today)

    batch = models.IngestionBatch(
        id=f"ib-{now:%Y%m%d%H%M%S}-{new_hex(12)}", type_code=type_code.value,
        standard_version_id=version.id, mode=mode.value, source=source, submitted_by=principal, submitted_at=now,
        status=(BatchStatus.REJECTED if outcome.rejected else BatchStatus.PASSED).value,
        record_count=len(records), issue_count=len(outcome.findings), resubmission_of=resubmission_of,
        records=records)
    session.add(batch)
    await session.flush()
    needs_ticket = any(f.rule.outcome is not IssueOutcome.OVERWRITE for f in outcome.findings)
    ticket_id: str | None = None
    if outcome.rejected and ticket is not None:
        rectification.failed_recheck(ticket, batch, principal, now)
        ticket_id = ticket.id
    elif needs_ticket:
        verdict = "rejected" if outcome.rejected else "stored with warnings"
        note = f"Batch {verdict}: {_summary(outcome.findings)}"
        ticket_id = rectification.open_ticket(session, batch, principal, note, now).id
        await session.flush()
    if outcome.findings:
        await session.execute(insert(models.QualityIssue), _issue_rows(batch, outcome.findings, ticket_id, now))
    if outcome.rejected:
        return batch
    await _store(session, std, batch, outcome.records, existing, now)
    if ticket is not None and original is not None:
        await rectification.close(session, ticket, principal, "Re-check passed; the corrected records are stored.",
                                  now, resubmitted_batch=batch.id)
    await session.flush()
    return batch


async def _store(session: AsyncSession, std: Standard, batch: models.IngestionBatch, records: Sequence[Checked],
                 existing: dict[str, models.Licence], now: datetime) -> None:
    by_key = {row.business_key: row for row in existing.values()}
    uids = await _holder_uids(session, records)
    labels = {e.code: e.name for e in std.elements}
    with session.no_autoflush:  # one flush for the batch, in licences_written
        changes = [_store_one(session, std, batch, rec, by_key.get(rec.key or ""), uids) for rec in records]
        await licences_written(session, changes, operator=batch.submitted_by, generation_mode=batch.mode,
                               labels=labels, at=now)


def _store_one(session: AsyncSession, std: Standard, batch: models.IngestionBatch, rec: Checked,
               row: models.Licence | None, uids: dict[str, str]) -> LicenceChange:
    now = batch.submitted_at
    assert rec.key is not None  # a record without a key failed the batch
    info = type_info(std.type_code)
    digest = id_number_digest(rec.values["holderIdNumber"]) if rec.values.get("holderIdNumber") else None
    if row is None:
        row = models.Licence(id=_licence_id(std, info.id_prefix, rec), type_code=std.type_code.value,
                             business_key=rec.key, holder_kind=info.holder_kind.value, created_at=now, fields={})
        _apply(row, rec, std)
        _stamp(row, batch, digest, uids, now)
        session.add(row)
        batch.stored_count += 1
        return LicenceChange(row, LicenceOperation.COLLECTED, {"batchId": batch.id, "source": batch.source})
    before, flag_before = face_of(row), row.valid_flag
    _apply(row, rec, std)
    _stamp(row, batch, digest, uids, now)
    row.version += 1
    after = face_of(row)
    operation = LicenceOperation.UPDATED
    if before == after and flag_before != row.valid_flag:
        operation = LicenceOperation.RESTORED if row.valid_flag else LicenceOperation.INVALIDATED
    batch.updated_count += 1
    return LicenceChange(row, operation, {
        "batchId": batch.id, "source": batch.source, "before": before, "after": after,
        "validFlag": {"before": flag_before, "after": row.valid_flag}})


def _licence_id(std: Standard, prefix: str, rec: Checked) -> str:
    number = str(rec.values["number"])
    if std.primary_key == ("number",) and ID_SAFE.match(number):
        return f"lic-{prefix}-{number}"  # readable, and stable: the number is the key and never changes
    # Derived from the type and the business key, which are unique together.
    return f"lic-{prefix}-{derived_hex(str(std.type_code.value), rec.key or number)}"


def _apply(row: models.Licence, rec: Checked, std: Standard) -> None:
    """The record's face onto the licence: envelope to columns, the type's own elements to `fields`. An
    element the record leaves out is cleared: the latest record is the whole face (覆盖更新)."""
    for code in ENVELOPE_CODES:
        if code in std.by_code:
            setattr(row, COLUMNS[code], rec.values.get(code))
    for code in LINK_KEYS:
        if code in rec.values:
            setattr(row, COLUMNS[code], rec.values[code])
    row.fields = {e.code: _json(rec.values[e.code]) for e in std.elements
                  if e.envelope is None and e.code in rec.values}
    row.valid_flag = bool(rec.values.get(VALID_FLAG_KEY, True))


def _json(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _stamp(row: models.Licence, batch: models.IngestionBatch, digest: str | None, uids: dict[str, str],
           now: datetime) -> None:
    if digest is not None and digest in uids:
        row.holder_uid = uids[digest]
    elif digest != row.holder_id_digest:
        row.holder_uid = None  # another ID number: the person of the old one is not the holder
    row.holder_id_digest = digest
    row.standard_version_id, row.batch_id = batch.standard_version_id, batch.id
    row.collection_source, row.collected_at, row.ingested_at = batch.source, now, now
