"""licences' tables: the licence standards and their versions, ingestion (permissions, authentication log,
batches, quality issues, rectification), the licences and their electronic licences with the operation
log, presentation and verification with their hash-chained records, and the consumed-event ledger.

Codes stored in String columns are the enum values of codes.py; the database keeps no lookup tables for
them so that a read never needs a join.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import JSON

from subgraphs.common.columns import UtcDateTime
from subgraphs.common.outbox import OutboxEventMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


# --- standards (证照标准, 5.1.3.1) ------------------------------------------------------------------


class LicenceStandard(Base):
    """One standard per licence type; its versions hold the data elements."""

    __tablename__ = "licence_standard"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type_code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))  # 证照名称
    # The version that validates incoming records (启用); NULL only while a standard is being created.
    enabled_version_id: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LicenceStandardVersion(Base):
    """A version of a standard: immutable once reviewed; edits make a new draft (L5065)."""

    __tablename__ = "licence_standard_version"
    __table_args__ = (UniqueConstraint("standard_id", "version_no", name="uq_standard_version_no"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    standard_id: Mapped[str] = mapped_column(ForeignKey("licence_standard.id"), index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # codes.StandardVersionStatus
    change_summary: Mapped[str] = mapped_column(String(500), default="")  # 版本更新内容
    # 与上一个启用版本的内容区别: the element-by-element diff, computed when the draft is saved.
    diff: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    based_on_version_id: Mapped[str | None] = mapped_column(String(40), default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    review_comment: Mapped[str | None] = mapped_column(String(500), default=None)
    enabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class DataElement(Base):
    """数据元 (L5053): one field of a standard version."""

    __tablename__ = "data_element"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_data_element_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("licence_standard_version.id"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))  # the field name in ingested records, e.g. idNumber
    name: Mapped[str] = mapped_column(String(64))  # 中文名, e.g. 身份证号
    data_type: Mapped[str] = mapped_column(String(16))  # STRING, DATE, INTEGER, DECIMAL, CODE, LIST, IMAGE
    max_length: Mapped[int | None] = mapped_column(Integer, default=None)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    value_domain: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # 值域范围
    is_primary_key: Mapped[bool] = mapped_column(Boolean, default=False)
    is_business_date: Mapped[bool] = mapped_column(Boolean, default=False)
    # The envelope field (licences.md §1.0) the element fills: number, holderName, idNumber, ... or NULL.
    envelope: Mapped[str | None] = mapped_column(String(32), default=None)
    definition: Mapped[str] = mapped_column(String(500), default="")  # 字段定义说明


class StandardChangeLog(Base):
    """Who changed a standard, when, and the content before and after (L5060)."""

    __tablename__ = "standard_change_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    standard_id: Mapped[str] = mapped_column(ForeignKey("licence_standard.id"), index=True)
    version_id: Mapped[str | None] = mapped_column(String(40), default=None)
    action: Mapped[str] = mapped_column(String(32))  # DRAFTED, APPROVED, REJECTED, ENABLED
    operator: Mapped[str] = mapped_column(String(64))
    operated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    before: Mapped[Any] = mapped_column(JSON, default=None)
    after: Mapped[Any] = mapped_column(JSON, default=None)


# --- ingestion (归集, 5.1.3.2) ----------------------------------------------------------------------


class UploadPermission(Base):
    """按证照类型分配上传权限 (L5074): a principal (a user id or an API client id) may upload one type."""

    __tablename__ = "upload_permission"
    __table_args__ = (Index("ix_upload_permission_principal", "principal", "type_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal: Mapped[str] = mapped_column(String(64))
    type_code: Mapped[str] = mapped_column(String(32))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class IngestionAuthLog(Base):
    """鉴权记录 (L5078): every attempt to use the ingestion interface, allowed or refused."""

    __tablename__ = "ingestion_auth_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal: Mapped[str | None] = mapped_column(String(64))
    type_code: Mapped[str | None] = mapped_column(String(32))
    accessed_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    allowed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(200), default="")


class IngestionBatch(Base):
    """归集批次: what one ingestBatch or ingestRecord call delivered, and what quality control made of it."""

    __tablename__ = "ingestion_batch"
    __table_args__ = (Index("ix_ingestion_batch_type_submitted", "type_code", "submitted_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type_code: Mapped[str] = mapped_column(String(32))
    standard_version_id: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(16))  # codes.IngestionMode
    source: Mapped[str] = mapped_column(String(100))  # 归集来源
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))  # codes.BatchStatus
    record_count: Mapped[int] = mapped_column(Integer)
    stored_count: Mapped[int] = mapped_column(Integer, default=0)  # new licences
    updated_count: Mapped[int] = mapped_column(Integer, default=0)  # overwritten by primary key
    issue_count: Mapped[int] = mapped_column(Integer, default=0)
    resubmission_of: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    # 原始数据备份: the records as received, so a rejected batch can be inspected and rectified (6.5.2).
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class QualityIssue(Base):
    """质控结果: one failed rule on one record (or on the batch) of an ingestion batch."""

    __tablename__ = "quality_issue"
    __table_args__ = (Index("ix_quality_issue_day", "detected_on", "rule_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("ingestion_batch.id"), index=True)
    rule_code: Mapped[str] = mapped_column(String(40))
    dimension: Mapped[str] = mapped_column(String(16))  # codes.QualityDimension
    outcome: Mapped[str] = mapped_column(String(16))  # codes.IssueOutcome
    type_code: Mapped[str] = mapped_column(String(32))
    issuer_name: Mapped[str | None] = mapped_column(String(100), default=None)
    record_index: Mapped[int | None] = mapped_column(Integer, default=None)
    record_key: Mapped[str | None] = mapped_column(String(200), default=None)
    field: Mapped[str | None] = mapped_column(String(64), default=None)
    message: Mapped[str] = mapped_column(String(500))
    detected_on: Mapped[date] = mapped_column(Date)  # China date, for the daily quality report
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ticket_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class RectificationTicket(Base):
    """整改单: the rectification of a batch's issues, tracked to closure (6.5.1.3)."""

    __tablename__ = "rectification_ticket"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("ingestion_batch.id"), unique=True)
    type_code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # OPEN, RESUBMITTED, CLOSED
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    resubmitted_batch_id: Mapped[str | None] = mapped_column(String(40), default=None)
    # 整改全流程: [{at, actor, action, note}, ...] in order.
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


# --- licences (证照数据, 电子证照) ------------------------------------------------------------------


class Licence(Base):
    """电子证照: one licence as issued, of any of the eleven types.

    Holder and issuer columns are the face of the licence (照面) as issued, a snapshot that is never
    refreshed from population or identity: the tender requires the licence to match its source data and
    face exactly. The uid and organisation ids only link the licence into the graph. Fields particular to a
    type are in `fields`, keyed by the data-element codes of the standard version that validated them.
    """

    __tablename__ = "licence"
    __table_args__ = (
        UniqueConstraint("type_code", "number", name="uq_licence_type_number"),
        UniqueConstraint("type_code", "business_key", name="uq_licence_type_business_key"),
        # An approved application generates one licence however often its event is delivered.
        UniqueConstraint("source_application_id", name="uq_licence_source_application"),
        # Person.licences reads by holder, newest licence first.
        Index("ix_licence_holder_valid_from", "holder_uid", "valid_from", "id"),
        Index("ix_licence_holder_id_number", "holder_id_number", "type_code"),
        Index("ix_licence_holder_org", "holder_org_id", "type_code"),
        # Per-type management lists: newest upload first (L5099: 默认展示10条最新上传的数据).
        Index("ix_licence_type_ingested", "type_code", "ingested_at", "id"),
        Index("ix_licence_employer", "employer_org_id"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(40))  # 证照编号
    type_code: Mapped[str] = mapped_column(String(32))
    # The value of the standard's primary-key elements (joined with '|'): the upsert key of ingestion.
    business_key: Mapped[str] = mapped_column(String(200))
    holder_kind: Mapped[str] = mapped_column(String(16))  # codes.HolderKind
    holder_uid: Mapped[str | None] = mapped_column(String(40), default=None)
    holder_org_id: Mapped[str | None] = mapped_column(String(64), default=None)
    holder_name: Mapped[str] = mapped_column(String(100))
    holder_sex: Mapped[str | None] = mapped_column(String(8), default=None)
    holder_id_type: Mapped[str | None] = mapped_column(String(16), default=None)  # 证件类型, type 11
    holder_id_number: Mapped[str | None] = mapped_column(String(18), default=None)
    # Keyed digest of the holder's ID number (subgraphs/common/pseudonym.py): how population's person events
    # find the licences of a person whose uid was not known when the licence arrived.
    holder_id_digest: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    holder_credit_code: Mapped[str | None] = mapped_column(String(18), default=None)  # organisations
    issuer_org_id: Mapped[str | None] = mapped_column(String(64), default=None)
    issuer_name: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date | None] = mapped_column(Date, default=None)
    valid_until: Mapped[date | None] = mapped_column(Date, default=None)  # NULL: never expires
    source_status: Mapped[str | None] = mapped_column(String(32), default=None)  # 证照状态 as the source says
    # 是否有效标识 (L5083): 0 is the soft delete; nothing is ever deleted.
    valid_flag: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # 证照废除 (L5217); the status is computed from this and the validity at read time, never stored.
    revoked_at: Mapped[date | None] = mapped_column(Date, default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    # Fields of the practising certificates (types 2, 3, 7 and 8 share them); NULL for other types.
    practice_institution_id: Mapped[str | None] = mapped_column(String(64), default=None)
    practice_institution_name: Mapped[str | None] = mapped_column(String(100), default=None)
    practice_category: Mapped[str | None] = mapped_column(String(32), default=None)
    registered_at: Mapped[date | None] = mapped_column(Date, default=None)
    # 健康证: the employer (用人单位) whose staff the holder is; an employer sees its own staff's only.
    employer_org_id: Mapped[str | None] = mapped_column(String(64), default=None)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    standard_version_id: Mapped[str | None] = mapped_column(String(40), default=None)
    batch_id: Mapped[str | None] = mapped_column(String(40), default=None)
    source_application_id: Mapped[str | None] = mapped_column(String(64), default=None)
    collection_source: Mapped[str] = mapped_column(String(100), default="")  # 归集来源
    collected_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)  # 归集时间
    ingested_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)  # 入库时间
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ElectronicLicence(Base):
    """The generated electronic licence of a licence (5.1.3.3.2): template, rendered face and signature.

    `face_digest` is the SHA-256 of the canonical face; `signature` signs it with the library's key, so a
    face changed anywhere but through regeneration no longer verifies.
    """

    __tablename__ = "electronic_licence"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    licence_id: Mapped[str] = mapped_column(ForeignKey("licence.id"), unique=True)
    template_id: Mapped[str] = mapped_column(String(40))
    generation_mode: Mapped[str] = mapped_column(String(16))  # STOCK, INCREMENTAL, APPLICATION
    preview: Mapped[str] = mapped_column(Text)  # the rendered face (SVG)
    face_digest: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(40))
    generated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    generation: Mapped[int] = mapped_column(Integer, default=1)


class LicenceOperationLog(Base):
    """日志留存 (L5217): every operation on a licence, kept forever, searchable and exportable."""

    __tablename__ = "licence_operation_log"
    __table_args__ = (Index("ix_operation_log_type_time", "type_code", "operated_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    licence_id: Mapped[str] = mapped_column(String(40), index=True)
    type_code: Mapped[str] = mapped_column(String(32))
    operation: Mapped[str] = mapped_column(String(16))  # codes.LicenceOperation
    operator: Mapped[str] = mapped_column(String(64))
    operated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # reason, before/after, batch


class HolderLink(Base):
    """Which person (uid) an ID number belongs to, as population's person events announce it (by keyed
    digest, never the number itself): ingestion resolves a licence's holder from it."""

    __tablename__ = "holder_link"
    id_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SigningKey(Base):
    """The key ring: every key that ever signed an electronic licence face or a presentation token, with
    its public key, so that a signature is verified with the key that made it after the key is rotated.

    `private_pem` is kept only for the keys the library made itself (where LICENCES_SIGNING_KEY is not
    configured: the embedded mode and tests); a configured key's private part never leaves the
    configuration, and a retired key needs none."""

    __tablename__ = "signing_key"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # domain/signing.key_id_of
    public_pem: Mapped[str] = mapped_column(Text)
    private_pem: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


# --- presentation and verification (亮证与核验, 5.1.3.5) ------------------------------------------


class PresentationClient(Base):
    """调用系统: a system registered to present licences, with its grant and its limits."""

    __tablename__ = "presentation_client"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # identity's Client id
    name: Mapped[str] = mapped_column(String(100))
    allowed_types: Mapped[list[str]] = mapped_column(JSON)
    allowed_scenarios: Mapped[list[str]] = mapped_column(JSON)
    # FULL: the whole face; MASKED: personal fields masked (ID 3+4, phone 3+4, name first character).
    disclosure: Mapped[str] = mapped_column(String(16), default="MASKED")
    daily_limit: Mapped[int] = mapped_column(Integer)
    yearly_limit: Mapped[int] = mapped_column(Integer)
    blocked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    blocked_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PresentationUsage(Base):
    """Calls per client per China day, for the daily and yearly limits."""

    __tablename__ = "presentation_usage"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    # Calls a manager lifted (解除当日限制 / 解除总限制): they stay in `calls` for the statistics but no longer
    # count against the daily limit (daily_lifted) or the yearly limit (yearly_lifted, summed over the year).
    daily_lifted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    yearly_lifted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PresentationRecord(Base):
    """亮证记录: append-only and hash-chained (each row's hash covers its content and the previous hash)."""

    __tablename__ = "presentation_record"
    __table_args__ = (
        Index("ix_presentation_time", "presented_at"),
        Index("ix_presentation_client_time", "client_id", "presented_at"),
        Index("ix_presentation_type_time", "type_code", "presented_at"),
        Index("ix_presentation_holder", "holder_id_number"),
    )
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    presented_at: Mapped[datetime] = mapped_column(UtcDateTime())
    client_id: Mapped[str] = mapped_column(String(64))
    operator: Mapped[str] = mapped_column(String(64))  # 亮证操作人
    scenario: Mapped[str] = mapped_column(String(64))
    type_code: Mapped[str] = mapped_column(String(32))
    licence_id: Mapped[str | None] = mapped_column(String(40), default=None)
    licence_number: Mapped[str | None] = mapped_column(String(40), default=None)
    holder_name: Mapped[str | None] = mapped_column(String(100), default=None)
    holder_id_number: Mapped[str | None] = mapped_column(String(18), default=None)
    query: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[str] = mapped_column(String(16))  # codes.PresentationResult
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class PresentationToken(Base):
    """A holder's short-lived presentation token (the QR payload): one row per nonce, so a replay is seen."""

    __tablename__ = "presentation_token"
    nonce: Mapped[str] = mapped_column(String(40), primary_key=True)
    licence_id: Mapped[str] = mapped_column(String(40), index=True)
    holder_uid: Mapped[str | None] = mapped_column(String(40), default=None)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class VerificationRecord(Base):
    """核验记录: append-only and hash-chained like the presentation records."""

    __tablename__ = "verification_record"
    __table_args__ = (Index("ix_verification_time", "verified_at"),)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    verified_at: Mapped[datetime] = mapped_column(UtcDateTime())
    verifier: Mapped[str] = mapped_column(String(64))  # client id or user id, 'anonymous' otherwise
    method: Mapped[str] = mapped_column(String(16))  # TOKEN, NUMBER
    type_code: Mapped[str | None] = mapped_column(String(32), default=None)
    licence_id: Mapped[str | None] = mapped_column(String(40), default=None)
    token_nonce: Mapped[str | None] = mapped_column(String(40), default=None)
    outcome: Mapped[str] = mapped_column(String(24))  # codes.VerificationOutcome
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ChainHead(Base):
    """The last link of a hash chain (presentation, verification): appending locks this row, so two
    concurrent appends cannot both extend the same link and fork the chain."""

    __tablename__ = "chain_head"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_event"
