"""services' tables: the catalogue (事项, 业务办理项, categories, guides and their materials, search counts),
the applications (办件) with their events, documents and materials, the window (appointments, handover
slips), publicity and notices, the bundles (一件事) with their cases and sub-cases, and the licence holdings
that services learns from the licences subgraph's events.

Codes stored in String columns are the enum values of the GraphQL types; the database keeps no lookup
tables for them so that a read never needs a join.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import JSON

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
    # 事项分类 (ServiceCategory.code) and 业务领域 (e.g. 医政, 中医, 妇幼, 职业健康): catalogue filters.
    category_code: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    business_area: Mapped[str | None] = mapped_column(String(32), default=None)
    # Channels that offer the item (PC, APP, WECHAT, ALIPAY, WINDOW), always read whole.
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


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
    # 情形: 新办, 变更, 延续, 补发, 注销, 校验 or NULL (from the name's suffix, e.g. （新办）).
    kind: Mapped[str | None] = mapped_column(String(16), default=None)
    # The licence type (licences' LicenceTypeCode) an approval of this business item produces, if any.
    licence_type: Mapped[str | None] = mapped_column(String(32), default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
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
    # 情形 of this application (新办, 变更, ...), the business item's unless the applicant chose.
    kind: Mapped[str | None] = mapped_column(String(16), default=None)
    # 个人 or 法人; a legal entity's application names its organisation and the person filing it.
    applicant_type: Mapped[str] = mapped_column(String(16), default="INDIVIDUAL", server_default="INDIVIDUAL")
    applicant_org_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # The applicant's name as filed, and a keyed digest of the ID number (common/pseudonym.py): the public
    # progress lookup (name + ID number) matches these without storing the number.
    applicant_name: Mapped[str | None] = mapped_column(String(100), default=None)
    applicant_id_digest: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # 受理地 (region code) and the organisation handling the case (its queue).
    region_code: Mapped[str | None] = mapped_column(String(12), default=None, index=True)
    organization_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    channel: Mapped[str] = mapped_column(String(16), default="ONLINE", server_default="ONLINE")
    form_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Back to this status when a suspension (中止) ends.
    suspended_from: Mapped[str | None] = mapped_column(String(32), default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # 承诺办结时间: acceptance + the guide's promised working days; past it and not completed = 超期未办结.
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None, index=True)
    # 限期整改 after a failed site inspection.
    rectification_due: Mapped[date | None] = mapped_column(Date, default=None)
    # 制证状态 (准予 only): PENDING 待制证 / ISSUED 已制证; 邮寄: MAILED 已邮寄 / RECEIVED 已收件.
    certificate_status: Mapped[str | None] = mapped_column(String(16), default=None)
    delivery_method: Mapped[str | None] = mapped_column(String(16), default=None)  # PICKUP, MAIL
    delivery_status: Mapped[str | None] = mapped_column(String(16), default=None)
    carrier: Mapped[str | None] = mapped_column(String(32), default=None)
    waybill_number: Mapped[str | None] = mapped_column(String(40), default=None)
    rating: Mapped[int | None] = mapped_column(Integer, default=None)  # 好差评: 1 (非常不满意) - 5 (非常满意)
    evaluation_comment: Mapped[str | None] = mapped_column(String(500), default=None)
    # The licence the approval produced (from the licences subgraph's event) and, for 变更/延续/补发/注销,
    # the licence the application is about.
    licence_id: Mapped[str | None] = mapped_column(String(40), default=None)
    source_licence_id: Mapped[str | None] = mapped_column(String(40), default=None)
    previous_application_id: Mapped[str | None] = mapped_column(String(40), default=None)
    bundle_case_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ServiceCategory(Base):
    """事项分类: the catalogue's categories (a two-level tree)."""

    __tablename__ = "service_category"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_code: Mapped[str | None] = mapped_column(String(32), default=None)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)


class ServiceGuide(Base):
    """办事指南 of a business item in a region (the province's when region_code is 320000)."""

    __tablename__ = "service_guide"
    __table_args__ = (UniqueConstraint("business_item_id", "region_code", name="uq_service_guide_item_region"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    business_item_id: Mapped[str] = mapped_column(ForeignKey("business_item.id"))
    region_code: Mapped[str] = mapped_column(String(12))
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)  # 受理条件
    legal_basis: Mapped[list[str]] = mapped_column(JSON, default=list)  # 设定依据
    fees: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # 收费: [{name, amount, basis}]
    statutory_days: Mapped[int] = mapped_column(Integer)  # 法定办结时限 (working days)
    promised_days: Mapped[int] = mapped_column(Integer)  # 承诺办结时限 (working days)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # 办理流程: [{name, actor, days}]
    halls: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # 办事大厅: [{name, address, hours, phone}]
    # 情形引导: [{question, options: [{answer, kind, materials: [codes]}]}]
    scenarios: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MaterialRequirement(Base):
    """申请材料 of a guide."""

    __tablename__ = "material_requirement"
    __table_args__ = (UniqueConstraint("guide_id", "code", name="uq_material_requirement_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    guide_id: Mapped[str] = mapped_column(ForeignKey("service_guide.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    ordinal: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    template_url: Mapped[str | None] = mapped_column(String(200), default=None)  # 空白表格/示例样表
    source: Mapped[str] = mapped_column(String(16))  # APPLICANT 申请人自备, GOVERNMENT 政府部门核发, OTHER
    mandatory: Mapped[bool] = mapped_column(Boolean, default=True)
    # 免提交: an electronic licence of this type (licences' LicenceTypeCode) may replace the upload.
    licence_type: Mapped[str | None] = mapped_column(String(32), default=None)
    # The 情形 (kinds) that need the material; empty: every kind.
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)


class SearchCount(Base):
    """Real searches per keyword and day: the hot searches and, with applications, the hot items."""

    __tablename__ = "search_count"
    keyword: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ApplicationEvent(Base):
    """办件行为: one transition of an application, append-only (actor, time, from, to, comment, documents)."""

    __tablename__ = "application_event"
    __table_args__ = (
        UniqueConstraint("application_id", "seq", name="uq_application_event_seq"),
        Index("ix_application_event_at", "at"),
        # Statistics count one action (ACCEPT, APPROVE, ...) over a period.
        Index("ix_application_event_action_at", "action", "at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("application.id"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    comment: Mapped[str | None] = mapped_column(String(1000), default=None)
    documents: Mapped[list[str]] = mapped_column(JSON, default=list)  # ApplicationDocument ids
    # What the step decided beyond the move: 勘察通过, a rectification deadline, a waybill, a rating.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApplicationDocument(Base):
    """文书: 受理通知书, 不予受理决定书, 补正告知书, 准予/不准予决定书, 证书, 收件凭证."""

    __tablename__ = "application_document"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("application.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 文号
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    visible_to_applicant: Mapped[bool] = mapped_column(Boolean, default=True)


class ApplicationMaterial(Base):
    """办件材料: an uploaded file (PDF or JPG, checked by content), an electronic licence instead (免提交), or
    a material reused from an earlier application (历史办件复用)."""

    __tablename__ = "application_material"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("application.id"), index=True)
    requirement_code: Mapped[str | None] = mapped_column(String(32), default=None)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # UPLOAD, E_LICENCE, HISTORY
    file_name: Mapped[str | None] = mapped_column(String(200), default=None)
    content_type: Mapped[str | None] = mapped_column(String(32), default=None)  # detected, not declared
    size: Mapped[int | None] = mapped_column(Integer, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    licence_id: Mapped[str | None] = mapped_column(String(40), default=None)
    reused_from_material_id: Mapped[str | None] = mapped_column(String(40), default=None)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Superseded by a later upload for the same requirement (补正): kept, not shown as current.
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class MaterialFile(Base):
    """The bytes of an uploaded material, apart from its metadata so that lists never load them."""

    __tablename__ = "material_file"
    material_id: Mapped[str] = mapped_column(ForeignKey("application_material.id"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class LicenceHolding(Base):
    """Which licences a person or organisation holds, as the licences subgraph's events announce them:
    what 免提交 checks before an electronic licence replaces an upload."""

    __tablename__ = "licence_holding"
    licence_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type_code: Mapped[str] = mapped_column(String(32))
    holder_uid: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    holder_org_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    status: Mapped[str] = mapped_column(String(16))  # VALID, EXPIRED, INVALID as last announced
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Appointment(Base):
    """预约: a visit to a hall's window for a business item."""

    __tablename__ = "appointment"
    __table_args__ = (Index("ix_appointment_hall_slot", "hall_code", "slot_start"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    applicant_uid: Mapped[str] = mapped_column(String(40), index=True)
    business_item_id: Mapped[str] = mapped_column(ForeignKey("business_item.id"))
    region_code: Mapped[str] = mapped_column(String(12))
    hall_code: Mapped[str] = mapped_column(String(40))
    slot_start: Mapped[datetime] = mapped_column(UtcDateTime())
    slot_end: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))  # BOOKED, CONFIRMED, REJECTED, DONE, CANCELLED, MISSED
    reason: Mapped[str | None] = mapped_column(String(200), default=None)  # rejection reason
    suggested_slot: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    application_id: Mapped[str | None] = mapped_column(String(40), default=None)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class HandoverSlip(Base):
    """办件交接单: a window's walk-in cases of one day, handed to the divisions with their paper materials."""

    __tablename__ = "handover_slip"
    __table_args__ = (UniqueConstraint("hall_code", "day", name="uq_handover_slip_hall_day"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    hall_code: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    application_ids: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Publicity(Base):
    """公示: 许可公示 / 备案公示, published automatically when an application is approved."""

    __tablename__ = "publicity"
    __table_args__ = (Index("ix_publicity_kind_published", "kind", "published_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # LICENSING, FILING
    application_id: Mapped[str] = mapped_column(String(40), unique=True)
    business_item_id: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))  # the applicant as published (masked for persons)
    decision: Mapped[str] = mapped_column(String(500))
    decision_number: Mapped[str | None] = mapped_column(String(40), default=None)
    region_code: Mapped[str | None] = mapped_column(String(12), default=None)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Notice(Base):
    """通知公告: 放假暂停线上办理通知, 办理事项更新公告, 系统更新通知 (and the bundles' 停服/维护/升级公告)."""

    __tablename__ = "notice"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # 停服: online submission of the affected items is refused while the notice is in force.
    blocks_submission: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Bundle(Base):
    """一件事: a bundle definition; its member steps are BundleStep rows."""

    __tablename__ = "bundle"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(500), default="")


class BundleStep(Base):
    """A member item of a bundle: one department's step, with the steps it waits for (前后置关系)."""

    __tablename__ = "bundle_step"
    __table_args__ = (UniqueConstraint("bundle_code", "code", name="uq_bundle_step_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bundle_code: Mapped[str] = mapped_column(ForeignKey("bundle.code"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    ordinal: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str | None] = mapped_column(String(40), default=None)  # 事项代码
    depends_on: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Form fields this step may change in a correction (补正); the others stay locked.
    editable_fields: Mapped[list[str]] = mapped_column(JSON, default=list)


class BundleCase(Base):
    """一件事办件: one family's case of a bundle, with one sub-case per step."""

    __tablename__ = "bundle_case"
    __table_args__ = (Index("ix_bundle_case_status_created", "status", "created_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    business_id: Mapped[str] = mapped_column(String(40), unique=True)  # 业务ID
    bundle_code: Mapped[str] = mapped_column(ForeignKey("bundle.code"))
    applicant_uid: Mapped[str] = mapped_column(String(40), index=True)
    # DRAFT, IN_PROGRESS, COMPLETED, ABOLISHED, CANCELLED, ARCHIVED, VOIDED
    status: Mapped[str] = mapped_column(String(16))
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the current version's data
    version: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(16), default="APP")
    region_code: Mapped[str | None] = mapped_column(String(12), default=None)
    cancel_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BundleCaseVersion(Base):
    """A version of a bundle case's data: a correction (补正) adds a version and marks the old one 已被补正."""

    __tablename__ = "bundle_case_version"
    __table_args__ = (UniqueConstraint("case_id", "version", name="uq_bundle_case_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("bundle_case.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    form: Mapped[dict[str, Any]] = mapped_column(JSON)
    corrected_step: Mapped[str | None] = mapped_column(String(32), default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class BundleSubCase(Base):
    """单办件: one department's step of a bundle case."""

    __tablename__ = "bundle_sub_case"
    __table_args__ = (UniqueConstraint("case_id", "step_code", name="uq_bundle_sub_case_step"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("bundle_case.id"), index=True)
    step_code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # WAITING, IN_PROGRESS, RETURNED, DONE, FAILED
    version: Mapped[int] = mapped_column(Integer, default=1)  # the case version it was dispatched with
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # 重推 counts
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. the certificate number
    message: Mapped[str | None] = mapped_column(String(500), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BundleEvent(Base):
    """The timeline of a bundle case (时间轴): every status change of the case or of one of its steps."""

    __tablename__ = "bundle_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("bundle_case.id"), index=True)
    step_code: Mapped[str | None] = mapped_column(String(32), default=None)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16), default=None)
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    comment: Mapped[str | None] = mapped_column(String(500), default=None)


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_event"
