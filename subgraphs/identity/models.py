"""identity's tables: the organisation tree and the user accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from subgraphs.common.columns import UtcDateTime
from subgraphs.common.outbox import OutboxEventMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class Organization(Base):
    """组织机构: health commissions and medical institutions, province down to township."""

    __tablename__ = "organization"
    __table_args__ = (
        # organizations(regionCode, kind) pages by id inside a region-code range.
        Index("ix_organization_region_id", "region_code", "id"),
        Index("ix_organization_kind_id", "kind", "id"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    # A population region code: a reference into another domain, so no foreign key.
    region_code: Mapped[str] = mapped_column(String(15))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"), index=True)


class User(Base):
    """用户: a staff account of the unified portal."""

    # "user" is a reserved word in PostgreSQL and standard SQL; the plural needs no quoting anywhere.
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_organization_id", "organization_id", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"))
    status: Mapped[str] = mapped_column(String(16))
    # The population person behind the account (统一身份识别码); unique so Person.account is one user.
    person_uid: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_event"
