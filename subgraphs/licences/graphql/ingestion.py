"""Ingestion (归集): upload permissions and their authentication log, batches and records, quality issues and
rules, rectification tickets, the daily quality report.

Managers see everything; an uploading system (a principal holding an upload permission) sees the batches it
submitted, with their issues and tickets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

import strawberry
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.paging import (
    Connection,
    PageRequest,
    check_first,
    connection_from_rows,
    decode_cursor,
    keyset_page,
)
from subgraphs.licences import models
from subgraphs.licences.access import actor_of, check_manager, is_manager, principal_of
from subgraphs.licences.codes import BatchStatus, IngestionMode, IssueOutcome, LicenceTypeCode, QualityDimension
from subgraphs.licences.domain import coverage, ingestion, quality_report, rectification
from subgraphs.licences.domain.quality import RULES, Rule
from subgraphs.licences.types import Info

IngestionBatchStatus = strawberry.enum(
    BatchStatus, name="IngestionBatchStatus",
    description="批次状态: PASSED 质控通过 (stored), REJECTED 质控失败 (nothing stored), RESUBMITTED 已整改重传.")
IngestionModeCode = strawberry.enum(IngestionMode, name="IngestionMode",
                                    description="归集方式: STOCK 存量 (batch), INCREMENTAL 增量 (real time).")
IssueOutcomeCode = strawberry.enum(
    IssueOutcome, name="QualityIssueOutcome",
    description="BATCH_FAIL 批次质控失败, OVERWRITE 主键重复覆盖, WARN 入库并记录待整改.")
QualityDimensionCode = strawberry.enum(
    QualityDimension, name="QualityDimension", description="质控维度: 完整性, 准确性, 唯一性, 使用过程.")

N = TypeVar("N")
TICKET_STATUSES = (rectification.OPEN, rectification.CLOSED)


# --- types ---------------------------------------------------------------------------------------------


@strawberry.type(description="上传权限: a principal (client id or user id) may upload one licence type.")
class UploadPermission:
    id: strawberry.ID
    principal: str
    type: LicenceTypeCode
    granted_by: str
    granted_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: models.UploadPermission) -> UploadPermission:
        return cls(id=strawberry.ID(str(row.id)), principal=row.principal, type=LicenceTypeCode(row.type_code),
                   granted_by=row.granted_by, granted_at=row.granted_at, revoked_by=row.revoked_by,
                   revoked_at=row.revoked_at)


@strawberry.type(description="鉴权记录: one attempt to use the ingestion interface.")
class IngestionAuthEntry:
    id: strawberry.ID
    principal: str | None = strawberry.field(description="用户信息: the caller's client or user id (null: anonymous).")
    type: LicenceTypeCode | None
    accessed_at: datetime = strawberry.field(description="访问时间.")
    allowed: bool = strawberry.field(description="操作结果.")
    reason: str

    @classmethod
    def from_row(cls, row: models.IngestionAuthLog) -> IngestionAuthEntry:
        return cls(id=strawberry.ID(str(row.id)), principal=row.principal,
                   type=LicenceTypeCode(row.type_code) if row.type_code else None, accessed_at=row.accessed_at,
                   allowed=row.allowed, reason=row.reason)


@strawberry.type(description="质控规则: one quality-control rule.")
class QualityRule:
    code: str = strawberry.field(description="e.g. QC-PK-NOTNULL.")
    name: str = strawberry.field(description="规则名称.")
    dimension: QualityDimensionCode  # type: ignore[valid-type]
    outcome: IssueOutcomeCode  # type: ignore[valid-type]
    description: str
    source: str = strawberry.field(description="The tender lines it implements, or 'inference'.")

    @classmethod
    def of(cls, rule: Rule) -> QualityRule:
        return cls(code=rule.code, name=rule.name, dimension=rule.dimension, outcome=rule.outcome,
                   description=rule.description, source=rule.source)


@strawberry.type(description="质控结果: one failed rule on one record (or the batch) of an ingestion batch.")
class QualityIssue:
    id: strawberry.ID
    batch_id: strawberry.ID
    rule_code: str
    dimension: QualityDimensionCode  # type: ignore[valid-type]
    outcome: IssueOutcomeCode  # type: ignore[valid-type]
    type: LicenceTypeCode
    issuer_name: str | None = strawberry.field(description="发证机关 of the record, as sent.")
    record_index: int | None = strawberry.field(description="The record's position in the batch, from 0.")
    record_key: str | None = strawberry.field(description="The record's primary key, if it had one.")
    field: str | None = strawberry.field(description="The element code concerned.")
    message: str
    detected_on: date = strawberry.field(description="China date of detection.")
    detected_at: datetime
    ticket_id: strawberry.ID | None
    closed_at: datetime | None

    @classmethod
    def from_row(cls, row: models.QualityIssue) -> QualityIssue:
        return cls(id=strawberry.ID(str(row.id)), batch_id=strawberry.ID(row.batch_id), rule_code=row.rule_code,
                   dimension=QualityDimension(row.dimension), outcome=IssueOutcome(row.outcome),
                   type=LicenceTypeCode(row.type_code), issuer_name=row.issuer_name, record_index=row.record_index,
                   record_key=row.record_key, field=row.field, message=row.message, detected_on=row.detected_on,
                   detected_at=row.detected_at, ticket_id=strawberry.ID(row.ticket_id) if row.ticket_id else None,
                   closed_at=row.closed_at)


@strawberry.type(description="整改记录: one step of a ticket's history.")
class TicketEvent:
    at: datetime
    actor: str
    action: str = strawberry.field(description="OPENED, NOTE, RECHECK_FAILED, RESUBMITTED or CLOSED.")
    note: str


@strawberry.type(description="整改单: the rectification of a batch's issues, tracked to closure.")
class RectificationTicket:
    id: strawberry.ID
    batch_id: strawberry.ID
    type: LicenceTypeCode
    status: str = strawberry.field(description="OPEN or CLOSED.")
    opened_at: datetime
    closed_at: datetime | None
    resubmitted_batch_id: strawberry.ID | None = strawberry.field(description="The resubmission that passed.")
    history: list[TicketEvent] = strawberry.field(description="整改全流程, in order.")

    @classmethod
    def from_row(cls, row: models.RectificationTicket) -> RectificationTicket:
        return cls(id=strawberry.ID(row.id), batch_id=strawberry.ID(row.batch_id), type=LicenceTypeCode(row.type_code),
                   status=row.status, opened_at=row.opened_at, closed_at=row.closed_at,
                   resubmitted_batch_id=strawberry.ID(row.resubmitted_batch_id) if row.resubmitted_batch_id else None,
                   history=[TicketEvent(at=datetime.fromisoformat(h["at"]), actor=h["actor"], action=h["action"],
                                        note=h.get("note", "")) for h in row.history or []])

    @strawberry.field(description="The issues the ticket tracks (of its batch and of failed resubmissions).")
    async def issues(self, info: Info, first: int = 100) -> list[QualityIssue]:
        check_first(first)
        Q = models.QualityIssue
        async with info.context.session() as session:
            rows = await session.scalars(select(Q).where(Q.ticket_id == str(self.id)).order_by(Q.id).limit(first))
            return [QualityIssue.from_row(r) for r in rows]


@strawberry.type(description="归集批次: what one ingestBatch or ingestRecord call delivered, and what quality "
                             "control made of it.")
class IngestionBatch:
    id: strawberry.ID
    type: LicenceTypeCode
    standard_version_id: strawberry.ID = strawberry.field(description="The enabled version that checked it.")
    mode: IngestionModeCode  # type: ignore[valid-type]
    source: str = strawberry.field(description="归集来源.")
    submitted_by: str
    submitted_at: datetime
    status: IngestionBatchStatus  # type: ignore[valid-type]
    record_count: int = strawberry.field(description="Records received.")
    stored_count: int = strawberry.field(description="New licences stored.")
    updated_count: int = strawberry.field(description="Stored licences overwritten by primary key.")
    issue_count: int
    resubmission_of: strawberry.ID | None = strawberry.field(description="The rejected batch it corrects.")
    row: strawberry.Private[models.IngestionBatch]

    @classmethod
    def from_row(cls, row: models.IngestionBatch) -> IngestionBatch:
        return cls(id=strawberry.ID(row.id), type=LicenceTypeCode(row.type_code),
                   standard_version_id=strawberry.ID(row.standard_version_id), mode=IngestionMode(row.mode),
                   source=row.source, submitted_by=row.submitted_by, submitted_at=row.submitted_at,
                   status=BatchStatus(row.status), record_count=row.record_count, stored_count=row.stored_count,
                   updated_count=row.updated_count, issue_count=row.issue_count,
                   resubmission_of=strawberry.ID(row.resubmission_of) if row.resubmission_of else None, row=row)

    @strawberry.field(description="原始数据备份: the records as received (issues refer to them by recordIndex).")
    def records(self) -> JSON:
        return cast(JSON, self.row.records)

    @strawberry.field(description="质控结果, in record order (at most `first`).")
    async def issues(self, info: Info, first: int = 100) -> list[QualityIssue]:
        check_first(first)
        Q = models.QualityIssue
        async with info.context.session() as session:
            rows = await session.scalars(select(Q).where(Q.batch_id == str(self.id)).order_by(Q.id).limit(first))
            return [QualityIssue.from_row(r) for r in rows]

    @strawberry.field(description="The rectification ticket its issues belong to, if any.")
    async def ticket(self, info: Info) -> RectificationTicket | None:
        async with info.context.session() as session:
            row = await rectification.ticket_of_batch(session, str(self.id))
        return RectificationTicket.from_row(row) if row else None


@strawberry.type(description="A count of the quality report.")
class QualityCount:
    key: str = strawberry.field(description="The rule code, licence type or issuer name ('' when none).")
    outcome: IssueOutcomeCode | None  # type: ignore[valid-type]
    count: int


@strawberry.type(description="数据校验日报: the quality of one China day's ingestion.")
class QualityReport:
    day: date
    batches_passed: int
    batches_rejected: int = strawberry.field(description="Rejected on arrival (resubmitted since or not).")
    records_received: int
    records_stored: int
    records_updated: int
    issues: int
    by_rule: list[QualityCount]
    by_type: list[QualityCount]
    by_issuer: list[QualityCount]
    tickets_opened: int
    tickets_closed: int
    open_tickets: int = strawberry.field(description="Tickets open now, whatever day they were opened.")

    @classmethod
    def of(cls, r: quality_report.QualityReport) -> QualityReport:
        def counts(items: list[quality_report.Count]) -> list[QualityCount]:
            return [QualityCount(key=c.key, outcome=IssueOutcome(c.outcome) if c.outcome else None, count=c.count)
                    for c in items]
        return cls(day=r.day, batches_passed=r.batches_passed, batches_rejected=r.batches_rejected,
                   records_received=r.records_received, records_stored=r.records_stored,
                   records_updated=r.records_updated, issues=r.issues, by_rule=counts(r.by_rule),
                   by_type=counts(r.by_type), by_issuer=counts(r.by_issuer), tickets_opened=r.tickets_opened,
                   tickets_closed=r.tickets_closed, open_tickets=r.open_tickets)


@strawberry.type(description="Licences collected in one China month.")
class CoverageMonth:
    month: str = strawberry.field(description="YYYY-MM (China time).")
    count: int


@strawberry.type(description="数据规模完整 of one issuing authority: what it sent month by month, and the months "
                             "inside its active span with nothing (遗漏).")
class IssuerCoverage:
    issuer_name: str
    months: list[CoverageMonth]
    missing_months: list[str]


@strawberry.input(description="Which batches: all conditions must hold.")
class IngestionBatchFilter:
    type: LicenceTypeCode | None = None
    status: IngestionBatchStatus | None = None  # type: ignore[valid-type]
    source: str | None = None
    submitted_by: str | None = None


@strawberry.input(description="Which quality issues: all conditions must hold.")
class QualityIssueFilter:
    batch_id: strawberry.ID | None = None
    rule_code: str | None = None
    type: LicenceTypeCode | None = None
    outcome: IssueOutcomeCode | None = None  # type: ignore[valid-type]
    detected_on: date | None = None
    open: bool | None = strawberry.field(default=None, description="true: not closed yet; false: closed.")


# --- access and paging -----------------------------------------------------------------------------------


def _own_batches(info: Info) -> ColumnElement[bool] | None:
    """None for managers; else the condition "submitted by the caller" (FORBIDDEN for anonymous callers)."""
    caller = info.context.caller
    if is_manager(caller):
        return None
    principal = principal_of(caller)
    if principal is None:
        raise forbidden("Ingestion batches are for licence managers and the systems that submitted them.")
    return models.IngestionBatch.submitted_by == principal


async def _desc_page(session: AsyncSession, stmt: Select[Any], column: Any, to_node: Callable[[Any], N],
                     key: Callable[[Any], Any], first: int, after: str | None) -> Connection[N]:
    """Newest first by one unique column (keyset: rows strictly before the cursor)."""
    check_first(first)
    if after is not None:
        stmt = stmt.where(column < decode_cursor(after, 1)[0])
    rows: Sequence[Any] = list((await session.scalars(stmt.order_by(column.desc()).limit(first + 1))).all())
    return connection_from_rows(rows, first, lambda r: [key(r)], to_node, has_previous=after is not None)


# --- root fields -------------------------------------------------------------------------------------------


@strawberry.type
class IngestionQueries:
    @strawberry.field(description="质控规则: every rule, with its dimension and outcome.")
    def quality_rules(self) -> list[QualityRule]:
        return [QualityRule.of(r) for r in RULES]

    @strawberry.field(description="上传权限, live ones only unless includeRevoked. Managers only.")
    async def upload_permissions(self, info: Info, principal: str | None = None, type: LicenceTypeCode | None = None,
                                 include_revoked: bool = False) -> list[UploadPermission]:
        check_manager(info.context.caller, "Reading upload permissions")
        P = models.UploadPermission
        stmt = select(P).order_by(P.principal, P.type_code, P.id)
        if principal is not None:
            stmt = stmt.where(P.principal == principal)
        if type is not None:
            stmt = stmt.where(P.type_code == type.value)
        if not include_revoked:
            stmt = stmt.where(P.revoked_at.is_(None))
        async with info.context.session() as session:
            return [UploadPermission.from_row(r) for r in await session.scalars(stmt.limit(1000))]

    @strawberry.field(description="鉴权记录, newest first. Managers only.")
    async def ingestion_auth_log(self, info: Info, principal: str | None = None, type: LicenceTypeCode | None = None,
                                 allowed: bool | None = None, first: int = 20,
                                 after: str | None = None) -> Connection[IngestionAuthEntry]:
        check_manager(info.context.caller, "Reading the ingestion authentication log")
        A = models.IngestionAuthLog
        stmt = select(A)
        if principal is not None:
            stmt = stmt.where(A.principal == principal)
        if type is not None:
            stmt = stmt.where(A.type_code == type.value)
        if allowed is not None:
            stmt = stmt.where(A.allowed.is_(allowed))
        async with info.context.session() as session:
            return await _desc_page(session, stmt, A.id, IngestionAuthEntry.from_row, lambda r: r.id, first, after)

    @strawberry.field(description="One ingestion batch; null when unknown or not the caller's.")
    async def ingestion_batch(self, info: Info, id: strawberry.ID) -> IngestionBatch | None:
        own = _own_batches(info)
        B = models.IngestionBatch
        stmt = select(B).where(B.id == str(id))
        async with info.context.session() as session:
            row = await session.scalar(stmt if own is None else stmt.where(own))
        return IngestionBatch.from_row(row) if row else None

    @strawberry.field(description="归集批次, newest first (a system sees its own).")
    async def ingestion_batches(self, info: Info, filter: IngestionBatchFilter | None = None, first: int = 20,
                                after: str | None = None) -> Connection[IngestionBatch]:
        own = _own_batches(info)
        B = models.IngestionBatch
        stmt = select(B) if own is None else select(B).where(own)
        if filter is not None:
            if filter.type is not None:
                stmt = stmt.where(B.type_code == filter.type.value)
            if filter.status is not None:
                stmt = stmt.where(B.status == filter.status.value)
            if filter.source is not None:
                stmt = stmt.where(B.source == filter.source)
            if filter.submitted_by is not None:
                stmt = stmt.where(B.submitted_by == filter.submitted_by)
        async with info.context.session() as session:
            return await _desc_page(session, stmt, B.id, IngestionBatch.from_row, lambda r: r.id, first, after)

    @strawberry.field(description="质控结果 in detection order (a system sees those of its own batches).")
    async def quality_issues(self, info: Info, filter: QualityIssueFilter | None = None, first: int = 20,
                             after: str | None = None) -> Connection[QualityIssue]:
        own = _own_batches(info)
        Q, B = models.QualityIssue, models.IngestionBatch
        stmt = select(Q)
        if own is not None:
            stmt = stmt.where(Q.batch_id.in_(select(B.id).where(own)))
        if filter is not None:
            if filter.batch_id is not None:
                stmt = stmt.where(Q.batch_id == str(filter.batch_id))
            if filter.rule_code is not None:
                stmt = stmt.where(Q.rule_code == filter.rule_code)
            if filter.type is not None:
                stmt = stmt.where(Q.type_code == filter.type.value)
            if filter.outcome is not None:
                stmt = stmt.where(Q.outcome == filter.outcome.value)
            if filter.detected_on is not None:
                stmt = stmt.where(Q.detected_on == filter.detected_on)
            if filter.open is not None:
                stmt = stmt.where(Q.closed_at.is_(None) if filter.open else Q.closed_at.is_not(None))
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[Q.id], sort_key=lambda r: [r.id],
                                     to_node=QualityIssue.from_row, page=PageRequest(first=first, after=after))

    @strawberry.field(description="One rectification ticket; null when unknown or not about the caller's batches.")
    async def rectification_ticket(self, info: Info, id: strawberry.ID) -> RectificationTicket | None:
        own = _own_batches(info)
        T, B = models.RectificationTicket, models.IngestionBatch
        stmt = select(T).where(T.id == str(id))
        if own is not None:
            stmt = stmt.where(T.batch_id.in_(select(B.id).where(own)))
        async with info.context.session() as session:
            row = await session.scalar(stmt)
        return RectificationTicket.from_row(row) if row else None

    @strawberry.field(description="整改单, newest first (ids are time-ordered); `status` OPEN or CLOSED.")
    async def rectification_tickets(self, info: Info, status: str | None = None, type: LicenceTypeCode | None = None,
                                    first: int = 20, after: str | None = None) -> Connection[RectificationTicket]:
        own = _own_batches(info)
        T, B = models.RectificationTicket, models.IngestionBatch
        stmt = select(T)
        if own is not None:
            stmt = stmt.where(T.batch_id.in_(select(B.id).where(own)))
        if status is not None:
            if status not in TICKET_STATUSES:
                raise bad_input(f"status must be one of {', '.join(TICKET_STATUSES)}.", argument="status")
            stmt = stmt.where(T.status == status)
        if type is not None:
            stmt = stmt.where(T.type_code == type.value)
        async with info.context.session() as session:
            return await _desc_page(session, stmt, T.id, RectificationTicket.from_row, lambda r: r.id, first, after)

    @strawberry.field(description="数据规模完整 (QC-SCALE-COMPLETE): per issuing authority, the licences of a type "
                                  "collected each month between two months, and the months with none. Managers only.")
    async def licence_coverage(self, info: Info, type: LicenceTypeCode, first_month: date,
                               last_month: date) -> list[IssuerCoverage]:
        check_manager(info.context.caller, "The coverage report")
        async with info.context.session() as session:
            try:
                report = await coverage.coverage(session, type, first_month, last_month)
            except ValueError as exc:
                raise bad_input(str(exc), argument="firstMonth") from None
        return [IssuerCoverage(issuer_name=c.issuer_name,
                               months=[CoverageMonth(month=m.month, count=m.count) for m in c.months],
                               missing_months=c.missing_months) for c in report]

    @strawberry.field(description="数据校验日报 of one China day. Managers only.")
    async def quality_report(self, info: Info, day: date) -> QualityReport:
        check_manager(info.context.caller, "The quality report")
        async with info.context.session() as session:
            return QualityReport.of(await quality_report.daily_report(session, day))


async def _ingest(info: Info, type: LicenceTypeCode, records: Any, source: str, mode: IngestionMode,
                  resubmission_of: strawberry.ID | None) -> IngestionBatch:
    """Authenticate (logged, committed even when refused), then check and store in one transaction."""
    principal = principal_of(info.context.caller)
    now = datetime.now(UTC)
    async with info.context.transaction() as session:
        allowed = await ingestion.authenticate(session, principal, type, now)
    if not allowed or principal is None:
        raise ingestion.refusal(principal, type)
    records, source = ingestion.check_input(records, source)
    resubmitted = str(resubmission_of) if resubmission_of is not None else None
    for _attempt in range(CONCURRENT_ATTEMPTS):
        try:
            async with info.context.transaction() as session:
                batch = await ingestion.ingest(session, principal, type, records, mode, source, resubmitted, now)
            return IngestionBatch.from_row(batch)
        except IntegrityError:
            # Another upload stored one of these licences between our lookup and our insert: checked again,
            # the record is now an update of that licence (the later ingestion wins, as for any duplicate).
            continue
    raise domain_error(ErrorCode.CONFLICT, "Other uploads keep storing the same licences at the same moment; "
                       "send the batch again.")


# Tries of an upload that raced another upload of the same new licences (a unique-key conflict).
CONCURRENT_ATTEMPTS = 3


@strawberry.type
class IngestionMutations:
    @strawberry.mutation(description="分配上传权限: a principal (client id or user id) may upload a type. "
                                     "Managers only.")
    async def grant_upload_permission(self, info: Info, principal: str, type: LicenceTypeCode) -> UploadPermission:
        check_manager(info.context.caller, "Granting upload permissions")
        async with info.context.transaction() as session:
            row = await ingestion.grant(session, principal, type, actor_of(info.context.caller), datetime.now(UTC))
        return UploadPermission.from_row(row)

    @strawberry.mutation(description="取消上传权限. Managers only.")
    async def revoke_upload_permission(self, info: Info, principal: str, type: LicenceTypeCode) -> UploadPermission:
        check_manager(info.context.caller, "Revoking upload permissions")
        async with info.context.transaction() as session:
            row = await ingestion.revoke(session, principal, type, actor_of(info.context.caller), datetime.now(UTC))
        return UploadPermission.from_row(row)

    @strawberry.mutation(description="存量归集: upload a batch (a JSON list of at most "
                                     f"{ingestion.MAX_RECORDS} records keyed by data-element codes). Quality "
                                     "control runs against the enabled standard: a BATCH_FAIL issue rejects the "
                                     "whole batch (nothing stored, a rectification ticket opened); otherwise the "
                                     "records are stored, a primary key already held updating its licence. "
                                     "resubmissionOf names the rejected batch this one corrects.")
    async def ingest_batch(self, info: Info, type: LicenceTypeCode, records: JSON, source: str,
                           resubmission_of: strawberry.ID | None = None) -> IngestionBatch:
        return await _ingest(info, type, records, source, IngestionMode.STOCK, resubmission_of)

    @strawberry.mutation(description="增量归集: upload one record in real time (a batch of one).")
    async def ingest_record(self, info: Info, type: LicenceTypeCode, record: JSON, source: str) -> IngestionBatch:
        if not isinstance(record, dict):
            raise bad_input("record must be a JSON object keyed by data-element codes.", argument="record")
        return await _ingest(info, type, [record], source, IngestionMode.INCREMENTAL, None)

    @strawberry.mutation(description="整改跟踪: add a note to a ticket, or close it (close: true, note saying why). "
                                     "A rejected batch's ticket also closes by itself when a resubmission passes. "
                                     "Managers only.")
    async def rectify(self, info: Info, ticket_id: strawberry.ID, note: str, close: bool = False
                      ) -> RectificationTicket:
        check_manager(info.context.caller, "Rectification")
        actor, now = actor_of(info.context.caller), datetime.now(UTC)
        async with info.context.transaction() as session:
            ticket = await rectification.get_ticket(session, str(ticket_id))
            if ticket.status == rectification.CLOSED:
                raise domain_error(ErrorCode.INVALID_STATE, f"Ticket {ticket_id} is closed.", argument="ticketId")
            if close:
                if not note.strip():
                    raise bad_input("Say why the ticket is closed (note).", argument="note")
                await rectification.close(session, ticket, actor, note.strip()[:rectification.NOTE_LENGTH], now)
            else:
                rectification.add_note(ticket, actor, note, now)
        return RectificationTicket.from_row(ticket)


queries: list[type] = [IngestionQueries]
mutations: list[type] = [IngestionMutations]
