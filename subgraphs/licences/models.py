"""licences' tables: the electronic licences (电子证照) themselves."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from subgraphs.common.columns import UtcDateTime
from subgraphs.common.outbox import OutboxEventMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class Licence(Base):
    """电子证照: one certificate as issued.

    Holder and issuer columns are the face of the certificate (照面) as issued, a snapshot that is never
    refreshed from population or identity: the tender requires the licence to match its source data and
    face exactly. The uid and organisation ids only link the certificate into the graph.
    """

    __tablename__ = "licence"
    __table_args__ = (
        # Person.licences reads by holder, newest certificate first.
        Index("ix_licence_holder_valid_from", "holder_uid", "valid_from", "id"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    type_code: Mapped[str] = mapped_column(String(32))
    holder_uid: Mapped[str] = mapped_column(String(40))
    holder_name: Mapped[str] = mapped_column(String(64))
    holder_sex: Mapped[str] = mapped_column(String(8))
    holder_id_number: Mapped[str] = mapped_column(String(18))
    issuer_org_id: Mapped[str] = mapped_column(String(64))
    issuer_name: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    # 证照废除 (L5217); the status is computed from this and the validity at read time, never stored.
    revoked_at: Mapped[date | None] = mapped_column(Date, default=None)
    # Fields of the practising certificates (types 2, 3, 7 and 8 share them); NULL for other types.
    practice_institution_id: Mapped[str | None] = mapped_column(String(64), default=None)
    practice_institution_name: Mapped[str | None] = mapped_column(String(100), default=None)
    practice_category: Mapped[str | None] = mapped_column(String(32), default=None)
    registered_at: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_event"
