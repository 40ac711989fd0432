"""population's tables: the region tree, persons and their households and family events, the death and
dispatch workflows, data-quality check items, sharing records, and the statistics tallies.

Codes stored in String columns are the enum values of the GraphQL types (subgraphs/population/types.py
and codes.py); the database keeps no lookup tables for them so that a read never needs a join.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import JSON

from subgraphs.common.columns import UtcDateTime
from subgraphs.common.outbox import OutboxEventMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class Region(Base):
    """区划: GB/T 2260 codes (6 digits down to county, 9 for townships, 12 for villages, 15 for groups)."""

    __tablename__ = "region"
    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)


class Household(Base):
    """户: number = first 6 digits of the registration region's code + a 9-digit counter per county."""

    __tablename__ = "household"
    number: Mapped[str] = mapped_column(String(15), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    house_number: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Counter(Base):
    """The last value handed out by a named counter: "household:<county code>" (the 9-digit part of household
    numbers), "person-no" (person numbers). Taken under a row lock, so numbers are never handed out twice."""

    __tablename__ = "counter"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger)


class Person(Base):
    """人口个案, keyed by the graph key `uid`; `identity_code` is the 统一身份识别码 of §1.3."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_management_region_uid", "management_region_code", "uid"),
        Index("ix_person_residence_region", "residence_region_code"),
        Index("ix_person_household_region", "household_region_code"),
        UniqueConstraint("person_no", name="uq_person_person_no"),
        UniqueConstraint("identity_code", name="uq_person_identity_code"),
    )
    uid: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_no: Mapped[str] = mapped_column(String(24))
    identity_code: Mapped[str] = mapped_column(String(80))
    identity_kind: Mapped[str] = mapped_column(String(16), default="RESIDENT", server_default="RESIDENT")
    # Null for persons without a resident ID card (newborns not yet registered, military, HK/Macau/Taiwan).
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    other_id_number: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(2), default="01", server_default="01")
    marital_status: Mapped[str] = mapped_column(String(12), default="UNMARRIED", server_default="UNMARRIED")
    hukou_type: Mapped[str | None] = mapped_column(String(24))
    education: Mapped[str | None] = mapped_column(String(24))
    person_type: Mapped[str] = mapped_column(
        String(24), default="HOUSEHOLD_REGISTERED", server_default="HOUSEHOLD_REGISTERED"
    )
    mobility: Mapped[str] = mapped_column(String(16), default="RESIDENT", server_default="RESIDENT")
    occupation: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    household_region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    residence_region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    management_region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    household_address: Mapped[str | None] = mapped_column(String(200))
    residence_address: Mapped[str | None] = mapped_column(String(200))
    household_no: Mapped[str | None] = mapped_column(ForeignKey("household.number"), index=True)
    relation_to_head: Mapped[str | None] = mapped_column(String(16))
    children_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    boys_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    youngest_child_birth_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="NORMAL", server_default="NORMAL")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    death_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class PersonHistory(Base):
    """个案历史记录: who changed a case, when, what it was before and what changed."""

    __tablename__ = "person_history"
    __table_args__ = (Index("ix_person_history_person_at", "person_uid", "at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_uid: Mapped[str] = mapped_column(ForeignKey("person.uid"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(24))
    before: Mapped[dict[str, object] | None] = mapped_column(JSON)
    changes: Mapped[dict[str, object]] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(String(200))


class PersonalDataAccess(Base):
    """Audit of every unmasked read of a person's personal data: who, when, which record, why."""

    __tablename__ = "personal_data_access"
    __table_args__ = (Index("ix_personal_data_access_person_at", "person_uid", "at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    subject: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str | None] = mapped_column(String(64))
    organization_id: Mapped[str | None] = mapped_column(String(64))
    person_uid: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(200))
    fields: Mapped[str] = mapped_column(String(200))


class MarriageEvent(Base):
    """婚姻信息: one event of a person's marriage history, with the spouse (丈夫信息 for a woman)."""

    __tablename__ = "marriage_event"
    __table_args__ = (Index("ix_marriage_event_person_date", "person_uid", "event_date"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_uid: Mapped[str] = mapped_column(ForeignKey("person.uid"))
    kind: Mapped[str] = mapped_column(String(16))
    event_date: Mapped[date] = mapped_column(Date)
    reported_on: Mapped[date | None] = mapped_column(Date)
    spouse_name: Mapped[str | None] = mapped_column(String(64))
    spouse_id_number: Mapped[str | None] = mapped_column(String(18))
    spouse_ethnicity: Mapped[str | None] = mapped_column(String(2))
    spouse_birth_date: Mapped[date | None] = mapped_column(Date)
    spouse_education: Mapped[str | None] = mapped_column(String(24))
    spouse_phone: Mapped[str | None] = mapped_column(String(20))
    spouse_household_region_code: Mapped[str | None] = mapped_column(String(15))
    spouse_residence_region_code: Mapped[str | None] = mapped_column(String(15))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Child(Base):
    """子女/新生儿信息: a child of a person (the mother for newborns reported by the MCH system)."""

    __tablename__ = "child"
    __table_args__ = (
        Index("ix_child_parent", "parent_uid"),
        Index("ix_child_region_birth", "region_code", "birth_date"),
        UniqueConstraint("id_number", name="uq_child_id_number"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    parent_uid: Mapped[str] = mapped_column(ForeignKey("person.uid"))
    # The child's own case once carded (一键建卡).
    child_uid: Mapped[str | None] = mapped_column(ForeignKey("person.uid"), index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date] = mapped_column(Date)
    id_number: Mapped[str | None] = mapped_column(String(18))
    blood_relation: Mapped[str] = mapped_column(String(16), default="BIRTH", server_default="BIRTH")
    policy_attribute: Mapped[str | None] = mapped_column(String(16))
    birth_order: Mapped[int] = mapped_column(Integer)
    health_status: Mapped[str | None] = mapped_column(String(16))
    birth_certificate_no: Mapped[str | None] = mapped_column(String(20))
    change_date: Mapped[date | None] = mapped_column(Date)
    reported_on: Mapped[date | None] = mapped_column(Date)
    death_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16), default="MANUAL", server_default="MANUAL")
    # The parent's management region when the birth was registered: births are counted there.
    region_code: Mapped[str] = mapped_column(String(15))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SupportEnrollment(Base):
    """奖特扶: a person's enjoyment of reward support (奖励扶助) or special support (特别扶助)."""

    __tablename__ = "support_enrollment"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_uid: Mapped[str] = mapped_column(ForeignKey("person.uid"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    policy: Mapped[str] = mapped_column(String(100))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    exit_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeathRecord(Base):
    """死亡人口信息: one death report in the closed loop 标记—认领—处理—同步."""

    __tablename__ = "death_record"
    __table_args__ = (
        Index("ix_death_record_region_status", "responsible_region_code", "status"),
        Index("ix_death_record_death_date", "death_date"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_uid: Mapped[str | None] = mapped_column(ForeignKey("person.uid"), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    police_deregistration_no: Mapped[str | None] = mapped_column(String(40))
    death_certificate_no: Mapped[str | None] = mapped_column(String(40))
    death_date: Mapped[date] = mapped_column(Date)
    cause: Mapped[str | None] = mapped_column(String(200))
    responsible_region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    routed_by: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    return_reason: Mapped[str | None] = mapped_column(String(200))
    return_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    feedback: Mapped[str | None] = mapped_column(Text)
    processed_by: Mapped[str | None] = mapped_column(String(64))
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeathRecordEvent(Base):
    """Every step of a death record (routed, claimed, returned, processed, synced), append-only."""

    __tablename__ = "death_record_event"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    death_record_id: Mapped[str] = mapped_column(ForeignKey("death_record.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str | None] = mapped_column(String(15))
    comment: Mapped[str | None] = mapped_column(String(400))


class DeathEvidence(Base):
    """处理凭证: a file uploaded while processing a death record."""

    __tablename__ = "death_evidence"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    death_record_id: Mapped[str] = mapped_column(ForeignKey("death_record.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DispatchOrder(Base):
    """调度: moving a case's management region (push 调出 by the current office, pull 调入 by the receiver)."""

    __tablename__ = "dispatch_order"
    __table_args__ = (
        Index("ix_dispatch_order_target_status", "target_region_code", "status"),
        Index("ix_dispatch_order_origin_status", "origin_region_code", "status"),
        Index("ix_dispatch_order_person_status", "person_uid", "status"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_uid: Mapped[str] = mapped_column(ForeignKey("person.uid"))
    direction: Mapped[str] = mapped_column(String(8))
    scope: Mapped[str] = mapped_column(String(16))
    origin_region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    target_region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    address: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decision_comment: Mapped[str | None] = mapped_column(String(200))
    origin_acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DispatchEvent(Base):
    """The history of a dispatch order, append-only."""

    __tablename__ = "dispatch_event"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("dispatch_order.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(String(200))


class CheckItem(Base):
    """数据核查: one data-quality finding on a person by one rule; resolving the record clears it."""

    __tablename__ = "check_item"
    __table_args__ = (
        UniqueConstraint("person_uid", "rule_id", name="uq_check_item_person_rule"),
        Index("ix_check_item_region_status", "region_code", "status", "category"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_uid: Mapped[str] = mapped_column(ForeignKey("person.uid"))
    rule_id: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    dimension: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(15))
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(64))


class CheckRun(Base):
    """One run of the batch data-quality job."""

    __tablename__ = "check_run"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    persons_checked: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    items_opened: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    items_resolved: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(16))


class ShareRecord(Base):
    """共享记录: one call of a sharing dataset (who, which dataset, result, rows)."""

    __tablename__ = "share_record"
    __table_args__ = (
        Index("ix_share_record_dataset_at", "dataset", "at"),
        Index("ix_share_record_client_at", "client_id", "at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    client_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(24))
    result: Mapped[str] = mapped_column(String(16))
    row_count: Mapped[int] = mapped_column(Integer)
    criteria: Mapped[str | None] = mapped_column(String(200))


# --- statistics tallies --------------------------------------------------------------------------
# Kept by the same transaction as the change (domain/tally.py), one row per region level of the record
# (province, city, county, township, ...), so that a region's figures are read from its own rows only,
# however many persons it holds. `python -m subgraphs.population.jobs.tally` makes them exact again.


class PersonTally(Base):
    """Persons counted (status NORMAL, not deleted) per management region, sex, birth month, mobility, type."""

    __tablename__ = "person_tally"
    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    sex: Mapped[str] = mapped_column(String(8), primary_key=True)
    birth_month: Mapped[int] = mapped_column(Integer, primary_key=True)  # yyyymm
    mobility: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class PersonTotal(Base):
    """The person tally without the birth month: a dozen rows per region, for the totals of many regions at
    once (a province's cities on the cockpit map) without reading each one's thousands of month rows."""

    __tablename__ = "person_total"
    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    sex: Mapped[str] = mapped_column(String(8), primary_key=True)
    mobility: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class EventTally(Base):
    """Births (detail: birth order 1, 2, 3+) and deaths (detail: source) per region and day."""

    __tablename__ = "event_tally"
    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    detail: Mapped[str] = mapped_column(String(16), primary_key=True)
    sex: Mapped[str] = mapped_column(String(8), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class WorkTally(Base):
    """Open work per region: pending dispatch tasks, unclaimed deaths, open check items by category."""

    __tablename__ = "work_tally"
    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    detail: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_event"
