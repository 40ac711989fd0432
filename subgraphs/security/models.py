"""security's tables: the register of internet assets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from subgraphs.common.columns import UtcDateTime
from subgraphs.common.outbox import OutboxEventMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class Asset(Base):
    """互联网资产: a domain, IP address, application system, server or terminal of an organisation."""

    __tablename__ = "asset"
    __table_args__ = (
        # Organization.assets and assets(ownerId) read an owner's assets in id order.
        Index("ix_asset_owner_id", "owner_id", "id"),
        Index("ix_asset_status_id", "status", "id"),
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Unique: the tender asks for a warning when a domain or IP address is registered twice.
    host: Mapped[str] = mapped_column(String(253), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    # An identity organisation id: another domain's key, so no foreign key.
    owner_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_event"
