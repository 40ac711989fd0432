"""security's tables: internet assets with their change history, incident notices with their recipients,
disposal reports and change requests, the classified-protection (等级保护) ledger with its change requests,
drills with their files, viewers and view log, operations tickets with the ops staff and their events,
security notices with their deliveries and material submissions, and the monitoring alerts the cockpit
counts.

Codes stored in String columns are the enum values of the GraphQL types; the database keeps no lookup tables
for them so that a read never needs a join. Organisation ids are identity's keys: no foreign keys.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import JSON

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
    # 核心字段 (5.3.12 互联网资产): 域名备案号, IP网段, 部署位置, 上线时间, 资产归属部门, 负责人及联系方式.
    icp_filing_number: Mapped[str | None] = mapped_column(String(40), default=None)
    ip_segment: Mapped[str | None] = mapped_column(String(64), default=None)
    location: Mapped[str | None] = mapped_column(String(100), default=None)
    online_date: Mapped[date | None] = mapped_column(Date, default=None)
    department: Mapped[str | None] = mapped_column(String(64), default=None)
    contact_name: Mapped[str | None] = mapped_column(String(64), default=None)
    contact_phone: Mapped[str | None] = mapped_column(String(32), default=None)
    # The city the owner sits in (the board counts by city); from the owner organisation's region.
    region_code: Mapped[str | None] = mapped_column(String(12), default=None, index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)  # 定期核查
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class AssetChange(Base):
    """变更记录: what changed on an asset, when, by whom and why; never edited."""

    __tablename__ = "asset_change"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("asset.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))  # REGISTERED, UPDATED, STATUS, OWNER
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)  # {field: {before, after}}
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class SecurityIncident(Base):
    """网络安全事件通报: an incident notice issued to the units that must dispose of it."""

    __tablename__ = "security_incident"
    __table_args__ = (Index("ix_security_incident_issued", "issued_at", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # 通报编号
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    incident_type: Mapped[str] = mapped_column(String(24))  # HACKING, DATA_LEAK, VIRUS, ...
    # GENERAL 一般, SIGNIFICANT 较大, MAJOR 重大, EXTRAORDINARY 特别重大
    severity: Mapped[str] = mapped_column(String(16))
    affected_org_id: Mapped[str] = mapped_column(String(40), index=True)
    affected_asset_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    affected_data: Mapped[str | None] = mapped_column(String(200), default=None)
    region_code: Mapped[str | None] = mapped_column(String(12), default=None, index=True)  # affected org's
    requirements: Mapped[str] = mapped_column(Text, default="")  # 处置要求
    measures_advice: Mapped[str] = mapped_column(Text, default="")  # 应急措施建议
    reporter: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deadline: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    # 未处置 / 处置中 / 已完成: kept with the recipients' reports (every recipient done: COMPLETED).
    progress: Mapped[str] = mapped_column(String(16), default="NOT_HANDLED")
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IncidentRecipient(Base):
    """A unit an incident is issued to: its view status and the reminders it was sent (催办)."""

    __tablename__ = "incident_recipient"
    __table_args__ = (UniqueConstraint("incident_id", "org_id", name="uq_incident_recipient"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("security_incident.id"), index=True)
    org_id: Mapped[str] = mapped_column(String(40), index=True)
    viewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class DisposalReport(Base):
    """事件处置填报: a unit's disposal of an incident; locked once submitted (changes by change request)."""

    __tablename__ = "disposal_report"
    __table_args__ = (UniqueConstraint("incident_id", "org_id", name="uq_disposal_report_unit"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("security_incident.id"), index=True)
    org_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))  # DRAFT, SUBMITTED, CHANGE_REQUESTED
    # {technical: [...], managerial: [...], timeline: [{at, what}], responsible, participants: [...],
    #  controlled: bool, impactRemoved: bool, evidence: [{name, sha256}], summary}
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    submitted_by: Mapped[str | None] = mapped_column(String(64), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DisposalChangeRequest(Base):
    """变更申请 of a submitted disposal report: the proposed content and the reason, approved or rejected."""

    __tablename__ = "disposal_change_request"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("disposal_report.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    proposed: Mapped[dict[str, Any]] = mapped_column(JSON)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # PENDING, APPROVED, REJECTED
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    opinion: Mapped[str | None] = mapped_column(String(500), default=None)


class ProtectionRecord(Base):
    """等级保护: a system's classified-protection filing and assessments. Changes only through approval."""

    __tablename__ = "protection_record"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    system_name: Mapped[str] = mapped_column(String(128))
    org_id: Mapped[str] = mapped_column(String(40), index=True)
    region_code: Mapped[str | None] = mapped_column(String(12), default=None, index=True)
    asset_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    level: Mapped[int] = mapped_column(Integer)  # 1-4
    filing_number: Mapped[str | None] = mapped_column(String(40), default=None, unique=True)
    filing_authority: Mapped[str | None] = mapped_column(String(100), default=None)
    filed_on: Mapped[date | None] = mapped_column(Date, default=None)
    evaluated_on: Mapped[date | None] = mapped_column(Date, default=None)  # latest 年度测评
    evaluation_body: Mapped[str | None] = mapped_column(String(100), default=None)
    conclusion: Mapped[str | None] = mapped_column(String(16), default=None)  # PASS 符合, BASIC 基本符合, FAIL 不符合
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProtectionChangeRequest(Base):
    """A requested change of a protection record (level, filing, assessment): the record changes only when
    the commission's reviewer approves; 补充材料 sends it back to the applicant."""

    __tablename__ = "protection_change_request"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)  # None: a new filing
    org_id: Mapped[str] = mapped_column(String(40), index=True)
    proposed: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(24))  # PENDING, APPROVED, REJECTED, SUPPLEMENT_REQUESTED
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    opinion: Mapped[str | None] = mapped_column(String(500), default=None)
    # The review trail: [{at, actor, action, opinion}] (申请人, 申请时间, 审核人, 审核意见, 审核时间).
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Drill(Base):
    """攻防演练: a drill with its files per phase; only authorised viewers may see it, and every view is logged."""

    __tablename__ = "drill"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    drill_type: Mapped[str] = mapped_column(String(16))  # LIVE 实战攻防, TABLETOP 桌面推演
    sensitivity: Mapped[int] = mapped_column(Integer, default=1)  # 查看权限等级: 1 (normal) - 3 (most sensitive)
    org_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # 参与单位
    started_on: Mapped[date | None] = mapped_column(Date, default=None)
    ended_on: Mapped[date | None] = mapped_column(Date, default=None)
    score: Mapped[int | None] = mapped_column(Integer, default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DrillFile(Base):
    """A file of a drill phase (方案制定 / 演练实施 / 结果评估), checked on upload."""

    __tablename__ = "drill_file"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    drill_id: Mapped[str] = mapped_column(ForeignKey("drill.id"), index=True)
    phase: Mapped[str] = mapped_column(String(16))  # PLAN, EXECUTION, EVALUATION
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DrillViewer(Base):
    """Who may see a drill: a user or an organisation's heads, up to a sensitivity level."""

    __tablename__ = "drill_viewer"
    __table_args__ = (UniqueConstraint("drill_id", "principal", name="uq_drill_viewer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    drill_id: Mapped[str] = mapped_column(ForeignKey("drill.id"), index=True)
    principal: Mapped[str] = mapped_column(String(64))  # a user id, or org:<organisation id>
    max_sensitivity: Mapped[int] = mapped_column(Integer, default=1)
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DrillViewLog(Base):
    """查看日志: who looked at which part of a drill, when."""

    __tablename__ = "drill_view_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    drill_id: Mapped[str] = mapped_column(ForeignKey("drill.id"), index=True)
    viewer: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(String(200))  # what was viewed: the drill, a file
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class OpsStaff(Base):
    """运维人员 with their skills, for directed dispatch."""

    __tablename__ = "ops_staff"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    skills: Mapped[list[str]] = mapped_column(JSON)  # fault types they handle: NETWORK, SERVER, ...
    region_code: Mapped[str | None] = mapped_column(String(12), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class OpsTicket(Base):
    """运维工单: requested by a user or dispatched by the operations centre, handled, rated and closed."""

    __tablename__ = "ops_ticket"
    __table_args__ = (Index("ix_ops_ticket_status_created", "status", "created_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    requester: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(String(40), index=True)
    region_code: Mapped[str | None] = mapped_column(String(12), default=None)
    fault_type: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16))  # REQUESTED (用户申请), CENTRE (中心直接派单)
    # SUBMITTED, REJECTED, DISPATCHED, IN_PROGRESS, RESOLVED, EVALUATED, CLOSED
    status: Mapped[str] = mapped_column(String(16))
    handler: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    dispatched_by: Mapped[str | None] = mapped_column(String(64), default=None)
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(Text, default=None)
    rating: Mapped[int | None] = mapped_column(Integer, default=None)  # 1-5 stars
    comment: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OpsTicketEvent(Base):
    """A step of a ticket (submitted, dispatched, re-dispatched with its reason, resolved, rated, closed)."""

    __tablename__ = "ops_ticket_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("ops_ticket.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # handler, reason, rating


class SecurityNotice(Base):
    """网络安全通知: a notice to units through chosen channels, with a delivery per unit."""

    __tablename__ = "security_notice"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    notice_type: Mapped[str] = mapped_column(String(16))  # POLICY 政策文件, ARRANGEMENT 工作部署, RISK 风险提示
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    channels: Mapped[list[str]] = mapped_column(JSON)  # POPUP, EMAIL, SMS
    # Materials the units must submit for it (材料报送): [{code, name, required}]; empty: none.
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    material_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    status: Mapped[str] = mapped_column(String(16))  # PUBLISHED, WITHDRAWN
    edit_reason: Mapped[str | None] = mapped_column(String(200), default=None)  # told to the units
    sender: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class NoticeDelivery(Base):
    """A notice's delivery to one unit: 已读 / 未读 / 拒收, and its material submission."""

    __tablename__ = "notice_delivery"
    __table_args__ = (UniqueConstraint("notice_id", "org_id", name="uq_notice_delivery"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("security_notice.id"), index=True)
    org_id: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(16), default="UNREAD")  # UNREAD, READ, REFUSED
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    refusal_reason: Mapped[str | None] = mapped_column(String(200), default=None)  # 拒收原因
    # 材料报送: MISSING (nothing yet), COMPLETE, NON_COMPLIANT (returned with what to change)
    material_status: Mapped[str | None] = mapped_column(String(16), default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    review_note: Mapped[str | None] = mapped_column(String(500), default=None)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class NoticeMaterial(Base):
    """A file a unit submitted for a notice (checked by content and size); resubmissions are kept."""

    __tablename__ = "notice_material"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notice_delivery.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))  # which of the notice's materials
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SecurityAlert(Base):
    """态势告警 from the monitoring platform (全省医疗卫生行业网络安全监测预警系统), as it reports them:
    the board counts the alerts handled (研判处置) today and the attacking addresses."""

    __tablename__ = "security_alert"
    __table_args__ = (Index("ix_security_alert_detected", "detected_at"),
                      Index("ix_security_alert_handled", "handled_at"))
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), unique=True)  # the platform's alert id
    severity: Mapped[str] = mapped_column(String(16))  # LOW, MEDIUM, HIGH, CRITICAL
    category: Mapped[str] = mapped_column(String(32))  # e.g. WEB_ATTACK, VULNERABILITY, MALWARE
    attack_ip: Mapped[str | None] = mapped_column(String(45), default=None)
    asset_id: Mapped[str | None] = mapped_column(String(64), default=None)
    org_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    region_code: Mapped[str | None] = mapped_column(String(12), default=None)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))  # OPEN, HANDLED, FALSE_POSITIVE
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    handled_by: Mapped[str | None] = mapped_column(String(64), default=None)
    incident_id: Mapped[str | None] = mapped_column(String(40), default=None)  # escalated to an incident


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_event"
