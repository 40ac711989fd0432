"""services' tables: the service catalogue (事项, 业务办理项) and the applications (办件) filed against it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from subgraphs.common.columns import UtcDateTime
from subgraphs.common.outbox import OutboxEventMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class ServiceItem(Base):
    """事项: one row of the tender's service list; the item-level columns are merged cells there."""

    __tablename__ = "service_item"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    power_type: Mapped[str] = mapped_column(String(24))
    party: Mapped[str] = mapped_column(String(16))
    online_type: Mapped[str] = mapped_column(String(32))
    dual_publicity: Mapped[bool] = mapped_column(Boolean)
    xiaosu: Mapped[bool] = mapped_column(Boolean)
    remark: Mapped[str | None] = mapped_column(String(100), default=None)


class BusinessItem(Base):
    """业务办理项: the unit an application is filed against."""

    __tablename__ = "business_item"
    __table_args__ = (Index("ix_business_item_item_seq", "item_id", "seq"),)
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("service_item.id"))
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(100))
    sub_item_name: Mapped[str | None] = mapped_column(String(100), default=None)
    # 支持层级 as "省级,市级": at most three values from a fixed list, always read whole.
    levels: Mapped[str] = mapped_column(String(32))
    # Joined eagerly: every use of a business item shows its item's party, type or name, and the join
    # keeps that inside the loader's one statement (async sessions cannot lazy-load anyway).
    item: Mapped[ServiceItem] = relationship(lazy="joined", innerjoin=True)


class Application(Base):
    """办件: one application by a person for a business item.

    Only the back-office status is stored; the stage and the citizen's bucket are derived from it.
    """

    __tablename__ = "application"
    __table_args__ = (
        # Lists run newest first by creation time, per applicant (我的办件) and overall.
        Index("ix_application_applicant_created", "applicant_uid", "created_at", "id"),
        Index("ix_application_created", "created_at", "id"),
        Index("ix_application_status_created", "status", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    business_item_id: Mapped[str] = mapped_column(ForeignKey("business_item.id"), index=True)
    applicant_uid: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # NULL until first submitted: drafts (暂存) have never been.
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # 评价状态 of a granted case: NULL while 待评价.
    evaluated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_event"
