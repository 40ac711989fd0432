"""population's tables: the region tree and the person records."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from subgraphs.common.columns import UtcDateTime
from subgraphs.common.outbox import OutboxEventMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class Region(Base):
    """区划: GB/T 2260 codes (6 digits down to county, 9 for townships, 12 for villages)."""

    __tablename__ = "region"
    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)


class Person(Base):
    """人口个案, keyed by the unified identity code (统一身份识别码)."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_management_region_uid", "management_region_code", "uid"),
        Index("ix_person_residence_region", "residence_region_code"),
        Index("ix_person_household_region", "household_region_code"),
    )
    uid: Mapped[str] = mapped_column(String(40), primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    household_region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    residence_region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    management_region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_event"
