"""Incident notices (网络安全事件通报): recipients, disposal reports, change requests, the archive.

domain/incidents.py and domain/disposal.py decide; this module translates and loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any, Self, cast

import strawberry
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import QueryableAttribute
from strawberry.scalars import JSON

from subgraphs.common.caller import Caller
from subgraphs.common.errors import bad_input
from subgraphs.common.paging import Connection, check_first, connection_from_rows, decode_cursor
from subgraphs.common.regions import in_subtree
from subgraphs.common.spreadsheet import csv_text
from subgraphs.security import models
from subgraphs.security.domain import disposal, incidents
from subgraphs.security.loaders import NEWEST_INCIDENTS_FIRST
from subgraphs.security.types import Asset, Info, Organization

Incident = models.SecurityIncident
NEWEST_FIRST = NEWEST_INCIDENTS_FIRST


@strawberry.enum(description="事件类型")
class IncidentType(Enum):
    HACKING = strawberry.enum_value("HACKING", description="黑客攻击")
    DATA_LEAK = strawberry.enum_value("DATA_LEAK", description="数据泄露")
    VIRUS = strawberry.enum_value("VIRUS", description="病毒感染")
    WEB_DEFACEMENT = strawberry.enum_value("WEB_DEFACEMENT", description="网页篡改")
    DDOS = strawberry.enum_value("DDOS", description="拒绝服务攻击")
    VULNERABILITY = strawberry.enum_value("VULNERABILITY", description="安全漏洞")
    OTHER = strawberry.enum_value("OTHER", description="其他")


@strawberry.enum(description="危害程度")
class IncidentSeverity(Enum):
    GENERAL = strawberry.enum_value("GENERAL", description="一般")
    SIGNIFICANT = strawberry.enum_value("SIGNIFICANT", description="较大")
    MAJOR = strawberry.enum_value("MAJOR", description="重大")
    EXTRAORDINARY = strawberry.enum_value("EXTRAORDINARY", description="特别重大")


@strawberry.enum(description="处置进度")
class IncidentProgress(Enum):
    NOT_HANDLED = strawberry.enum_value("NOT_HANDLED", description="未处置")
    HANDLING = strawberry.enum_value("HANDLING", description="处置中")
    COMPLETED = strawberry.enum_value("COMPLETED", description="已完成")


@strawberry.enum(description="处置填报状态: a submitted report is locked and changes by change request.")
class DisposalStatus(Enum):
    DRAFT = strawberry.enum_value("DRAFT", description="草稿")
    SUBMITTED = strawberry.enum_value("SUBMITTED", description="已提交 (locked)")
    CHANGE_REQUESTED = strawberry.enum_value("CHANGE_REQUESTED", description="变更审核中")


@strawberry.enum(description="变更申请状态")
class ChangeRequestStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="待审核")
    APPROVED = strawberry.enum_value("APPROVED", description="审核通过")
    REJECTED = strawberry.enum_value("REJECTED", description="驳回")


# --- types -----------------------------------------------------------------------------------------------


@strawberry.type(description="处置时间节点")
class TimelineEntry:
    at: str | None
    what: str


@strawberry.type(name="DisposalEvidence",
                 description="佐证材料: 日志记录, 整改截图, 检测报告 (a file named, with its digest).")
class Evidence:
    name: str
    kind: str | None
    sha256: str | None
    note: str | None


@strawberry.type(description="What a disposal report says.")
class DisposalContent:
    technical_measures: list[str] = strawberry.field(description="技术措施")
    managerial_measures: list[str] = strawberry.field(description="管理措施")
    timeline: list[TimelineEntry] = strawberry.field(description="处置时间节点")
    responsible: str | None = strawberry.field(description="处置责任人")
    participants: list[str] = strawberry.field(description="参与处置人员")
    controlled: bool = strawberry.field(description="事件是否控制")
    impact_removed: bool = strawberry.field(description="影响是否消除")
    evidence: list[Evidence]
    summary: str | None

    @classmethod
    def of(cls, content: dict[str, Any]) -> Self:
        return cls(
            technical_measures=list(content.get("technical") or []),
            managerial_measures=list(content.get("managerial") or []),
            timeline=[TimelineEntry(at=e.get("at"), what=e.get("what", "")) for e in content.get("timeline") or []],
            responsible=content.get("responsible"), participants=list(content.get("participants") or []),
            controlled=bool(content.get("controlled")), impact_removed=bool(content.get("impactRemoved")),
            evidence=[Evidence(name=e.get("name", ""), kind=e.get("kind"), sha256=e.get("sha256"),
                               note=e.get("note")) for e in content.get("evidence") or []],
            summary=content.get("summary"),
        )


@strawberry.type(description="变更申请 of a submitted disposal report.")
class DisposalChangeRequest:
    id: strawberry.ID
    report_id: strawberry.ID
    reason: str
    proposed: DisposalContent = strawberry.field(description="The content the unit proposes.")
    before: DisposalContent = strawberry.field(description="The report's content when the change was requested.")
    status: ChangeRequestStatus
    requested_by: str
    requested_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    opinion: str | None = strawberry.field(description="审核意见")

    @classmethod
    def from_row(cls, row: models.DisposalChangeRequest) -> Self:
        return cls(
            id=strawberry.ID(row.id), report_id=strawberry.ID(row.report_id), reason=row.reason,
            proposed=DisposalContent.of(row.proposed), before=DisposalContent.of(row.before),
            status=ChangeRequestStatus(row.status), requested_by=row.requested_by, requested_at=row.requested_at,
            reviewed_by=row.reviewed_by, reviewed_at=row.reviewed_at, opinion=row.opinion,
        )


@strawberry.type(description="One version of a report's submitted content.")
class DisposalReportVersion:
    version: int
    since: datetime | None = strawberry.field(description="Submitted (version 1) or the change approved.")
    content: DisposalContent


@strawberry.type(description="事件处置填报: a recipient's disposal of an incident.")
class DisposalReport:
    id: strawberry.ID
    incident_id: strawberry.ID
    org_id: strawberry.ID
    status: DisposalStatus
    status_label: str = strawberry.field(description="草稿, 已提交 or 变更审核中.")
    locked: bool = strawberry.field(description="Submitted: changes only through a change request.")
    content: DisposalContent
    version: int
    submitted_at: datetime | None
    submitted_by: str | None
    updated_at: datetime
    row: strawberry.Private[models.DisposalReport]

    @classmethod
    def from_row(cls, row: models.DisposalReport) -> Self:
        return cls(
            id=strawberry.ID(row.id), incident_id=strawberry.ID(row.incident_id), org_id=strawberry.ID(row.org_id),
            status=DisposalStatus(row.status), status_label=disposal.STATUS_LABELS[row.status],
            locked=row.status != disposal.DRAFT, content=DisposalContent.of(row.content), version=row.version,
            submitted_at=row.submitted_at, submitted_by=row.submitted_by, updated_at=row.updated_at, row=row,
        )

    @strawberry.field(description="The reporting unit.")
    def organization(self) -> Organization:
        return Organization(id=self.org_id)

    @strawberry.field(description="Its change requests, oldest first.")
    async def change_requests(self, info: Info) -> list[DisposalChangeRequest]:
        return [DisposalChangeRequest.from_row(r) for r in await info.context.loaders.disposal_changes.load(
            self.row.id)]

    @strawberry.field(description="Every version of the submitted content, oldest first (empty for a draft).")
    async def versions(self, info: Info) -> list[DisposalReportVersion]:
        if self.row.submitted_at is None:
            return []
        requests = await info.context.loaders.disposal_changes.load(self.row.id)
        return [DisposalReportVersion(version=n, since=since, content=DisposalContent.of(content))
                for n, content, since in disposal.versions(self.row, requests)]


@strawberry.type(description="A unit an incident is issued to: 查看状态 and 催办.")
class IncidentRecipient:
    org_id: strawberry.ID
    viewed: bool
    viewed_at: datetime | None
    reminders: int = strawberry.field(description="How many times it was chased (催办).")
    last_reminded_at: datetime | None

    @classmethod
    def from_row(cls, row: models.IncidentRecipient) -> Self:
        return cls(org_id=strawberry.ID(row.org_id), viewed=row.viewed_at is not None, viewed_at=row.viewed_at,
                   reminders=row.reminders, last_reminded_at=row.last_reminded_at)

    @strawberry.field
    def organization(self) -> Organization:
        return Organization(id=self.org_id)


@strawberry.type(description="网络安全事件通报: an incident notice and its disposal.")
class SecurityIncident:
    id: strawberry.ID
    number: str = strawberry.field(description="通报编号, JSWA-<year>-<serial>.")
    title: str
    description: str
    incident_type: IncidentType
    type_label: str
    severity: IncidentSeverity
    severity_label: str = strawberry.field(description="一般, 较大, 重大 or 特别重大.")
    affected_data: str | None = strawberry.field(description="影响范围: the data affected.")
    region_code: str | None = strawberry.field(description="The affected organisation's region.")
    requirements: str = strawberry.field(description="处置要求: 整改时限, 责任分工, 报送要求.")
    measures_advice: str = strawberry.field(description="应急措施建议")
    reporter: str
    issued_at: datetime = strawberry.field(description="发布时间")
    deadline: datetime = strawberry.field(description="整改时限")
    progress: IncidentProgress
    progress_label: str = strawberry.field(description="未处置, 处置中 or 已完成.")
    completed_at: datetime | None
    overdue: bool = strawberry.field(description="Not completed and past its deadline.")
    updated_at: datetime
    row: strawberry.Private[Incident]
    # Admins, the affected organisation and its region see every recipient and report; a mere recipient
    # sees its own.
    viewer_org: strawberry.Private[str | None]
    full: strawberry.Private[bool]

    @classmethod
    def from_row(cls, row: Incident, caller: Caller | None) -> Self:
        return cls(
            id=strawberry.ID(row.id), number=row.number, title=row.title, description=row.description,
            incident_type=IncidentType(row.incident_type), type_label=incidents.TYPES[row.incident_type],
            severity=IncidentSeverity(row.severity), severity_label=incidents.SEVERITIES[row.severity],
            affected_data=row.affected_data, region_code=row.region_code, requirements=row.requirements,
            measures_advice=row.measures_advice, reporter=row.reporter, issued_at=row.issued_at,
            deadline=row.deadline, progress=IncidentProgress(row.progress),
            progress_label=incidents.PROGRESS[row.progress], completed_at=row.completed_at,
            overdue=incidents.is_overdue(row), updated_at=row.updated_at, row=row,
            viewer_org=caller.organization_id if caller else None, full=incidents.oversees(caller, row),
        )

    def _mine(self, org_id: str) -> bool:
        return self.full or org_id == self.viewer_org

    @strawberry.field(description="涉及单位")
    def affected_organization(self) -> Organization:
        return Organization(id=strawberry.ID(self.row.affected_org_id))

    @strawberry.field(description="涉及系统: the affected assets.")
    async def affected_assets(self, info: Info) -> list[Asset]:
        rows = await info.context.loaders.asset.load_many(list(self.row.affected_asset_ids or []))
        return [Asset.from_row(r) for r in rows if r is not None]

    @strawberry.field(description="接收对象 with their view status and reminders.")
    async def recipients(self, info: Info) -> list[IncidentRecipient]:
        rows = await info.context.loaders.incident_recipients.load(self.row.id)
        return [IncidentRecipient.from_row(r) for r in rows if self._mine(r.org_id)]

    @strawberry.field(description="The recipients' disposal reports.")
    async def reports(self, info: Info) -> list[DisposalReport]:
        rows = await info.context.loaders.incident_reports.load(self.row.id)
        return [DisposalReport.from_row(r) for r in rows if self._mine(r.org_id)]


@strawberry.type(description="单事件完整处置档案: the incident, its recipients, every report with its versions and "
                             "change requests, and the same as an export.")
class IncidentArchive:
    incident: SecurityIncident
    recipients: list[IncidentRecipient]
    reports: list[DisposalReport]
    change_requests: list[DisposalChangeRequest]
    exported_at: datetime
    json: JSON = strawberry.field(description="The whole dossier as one JSON document.")
    csv: str = strawberry.field(description="The dossier's trail, one line per event (time, what, unit, detail).")


# --- inputs ----------------------------------------------------------------------------------------------


@strawberry.input
class TimelineEntryInput:
    at: datetime | None = None
    what: str


@strawberry.input(name="DisposalEvidenceInput")
class EvidenceInput:
    name: str
    kind: str | None = strawberry.field(default=None, description="e.g. 日志记录, 整改截图, 检测报告")
    sha256: str | None = None
    note: str | None = None


@strawberry.input(description="What a disposal report says (the whole content on every save).")
class DisposalContentInput:
    technical_measures: list[str] = strawberry.field(default_factory=list, description="技术措施")
    managerial_measures: list[str] = strawberry.field(default_factory=list, description="管理措施")
    timeline: list[TimelineEntryInput] = strawberry.field(default_factory=list, description="处置时间节点")
    responsible: str | None = strawberry.field(default=None, description="处置责任人")
    participants: list[str] = strawberry.field(default_factory=list, description="参与处置人员")
    controlled: bool = strawberry.field(default=False, description="事件是否控制")
    impact_removed: bool = strawberry.field(default=False, description="影响是否消除")
    evidence: list[EvidenceInput] = strawberry.field(default_factory=list)
    summary: str | None = None

    def as_content(self) -> dict[str, Any]:
        return {
            "technical": self.technical_measures, "managerial": self.managerial_measures,
            "timeline": [{"at": e.at.isoformat() if e.at else None, "what": e.what} for e in self.timeline],
            "responsible": self.responsible, "participants": self.participants, "controlled": self.controlled,
            "impactRemoved": self.impact_removed,
            "evidence": [{"name": e.name, "kind": e.kind, "sha256": e.sha256, "note": e.note} for e in self.evidence],
            "summary": self.summary,
        }


@strawberry.input(description="A new incident notice (通报).")
class IssueIncidentInput:
    title: str
    description: str
    incident_type: IncidentType
    severity: IncidentSeverity
    affected_org_id: strawberry.ID
    deadline: datetime = strawberry.field(description="整改时限, in the future.")
    affected_asset_ids: list[strawberry.ID] = strawberry.field(default_factory=list,
                                                               description="Assets of the affected organisation.")
    recipient_org_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Other units to notify; the affected organisation always is one.")
    affected_data: str | None = None
    requirements: str = strawberry.field(default="", description="处置要求")
    measures_advice: str = strawberry.field(default="", description="应急措施建议")
    region_code: str | None = strawberry.field(
        default=None, description="The affected organisation's region (default: its assets' region).")

    def to_new(self) -> incidents.NewIncident:
        return incidents.NewIncident(
            title=self.title, description=self.description, incident_type=self.incident_type.name,
            severity=self.severity.name, affected_org_id=str(self.affected_org_id), deadline=self.deadline,
            affected_asset_ids=[str(a) for a in self.affected_asset_ids],
            recipient_org_ids=[str(r) for r in self.recipient_org_ids], affected_data=self.affected_data,
            requirements=self.requirements, measures_advice=self.measures_advice, region_code=self.region_code,
        )


@strawberry.input(description="Which incidents to list.")
class IncidentFilter:
    severity: IncidentSeverity | None = None
    progress: IncidentProgress | None = None
    overdue: bool | None = None
    org_id: strawberry.ID | None = strawberry.field(default=None, description="The affected organisation.")
    region_code: str | None = strawberry.field(default=None, description="The region's subtree.")
    issued_from: datetime | None = strawberry.field(default=None, name="from")
    issued_to: datetime | None = strawberry.field(default=None, name="to", description="Exclusive.")


# --- resolvers -------------------------------------------------------------------------------------------


def _older_than(cursor: str) -> Any:
    issued_text, incident_id = decode_cursor(cursor, 2)
    try:
        issued = datetime.fromisoformat(issued_text)
    except (TypeError, ValueError):
        raise bad_input("The cursor is not one this service issued.", argument="after") from None
    if not isinstance(incident_id, str) or issued.tzinfo is None:
        raise bad_input("The cursor is not one this service issued.", argument="after")
    return or_(Incident.issued_at < issued, and_(Incident.issued_at == issued, Incident.id < incident_id))


def _filtered(caller: Caller | None, where: IncidentFilter | None) -> Any:
    stmt = select(Incident).where(incidents.visible_condition(caller))
    if where is None:
        return stmt
    if where.severity is not None:
        stmt = stmt.where(Incident.severity == where.severity.name)
    if where.progress is not None:
        stmt = stmt.where(Incident.progress == where.progress.name)
    if where.overdue is not None:
        stmt = stmt.where(incidents.overdue_condition() if where.overdue else ~incidents.overdue_condition())
    if where.org_id is not None:
        stmt = stmt.where(Incident.affected_org_id == str(where.org_id))
    if where.region_code is not None:
        stmt = stmt.where(in_subtree(cast(QueryableAttribute[str], Incident.region_code), where.region_code))
    if any(t is not None and t.tzinfo is None for t in (where.issued_from, where.issued_to)):
        raise bad_input("from and to need a time zone.", argument="filter")
    if where.issued_from is not None:
        stmt = stmt.where(Incident.issued_at >= where.issued_from)
    if where.issued_to is not None:
        stmt = stmt.where(Incident.issued_at < where.issued_to)
    return stmt


async def org_incidents(info: Info, org_id: str, first: int) -> list[SecurityIncident]:
    """Organization.incidents: newest first, as the caller may see them."""
    rows = await info.context.loaders.org_incidents(info.context.caller).load((org_id, check_first(first)))
    return [SecurityIncident.from_row(r, info.context.caller) for r in rows]


def _trail(incident: Incident, recipients: Sequence[models.IncidentRecipient],
           reports: Sequence[models.DisposalReport], requests: Sequence[models.DisposalChangeRequest]) -> str:
    lines: list[tuple[str, str, str, str]] = [(incident.issued_at.isoformat(), "ISSUED", incident.affected_org_id,
                                               f"{incident.number} {incident.title}")]
    for r in recipients:
        if r.viewed_at:
            lines.append((r.viewed_at.isoformat(), "VIEWED", r.org_id, ""))
        if r.last_reminded_at:
            lines.append((r.last_reminded_at.isoformat(), "REMINDED", r.org_id, f"{r.reminders} reminder(s)"))
    org_of = {d.id: d.org_id for d in reports}
    for d in reports:
        if d.submitted_at:
            lines.append((d.submitted_at.isoformat(), "REPORT_SUBMITTED", d.org_id, d.id))
    for c in requests:
        lines.append((c.requested_at.isoformat(), "CHANGE_REQUESTED", org_of.get(c.report_id, ""), c.reason))
        if c.reviewed_at:
            lines.append((c.reviewed_at.isoformat(), f"CHANGE_{c.status}", org_of.get(c.report_id, ""),
                          c.opinion or ""))
    if incident.completed_at:
        lines.append((incident.completed_at.isoformat(), "COMPLETED", incident.affected_org_id, ""))
    # A detail Excel would run as a formula (a title, a change reason, an opinion) is written as text.
    return csv_text(("at", "event", "orgId", "detail"), sorted(lines), bom=False, lineterminator="\n")


def _archive_json(incident: Incident, recipients: Sequence[models.IncidentRecipient],
                  reports: Sequence[models.DisposalReport],
                  requests: Sequence[models.DisposalChangeRequest]) -> dict[str, Any]:
    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "incident": {
            "id": incident.id, "number": incident.number, "title": incident.title,
            "description": incident.description, "type": incident.incident_type, "severity": incident.severity,
            "affectedOrgId": incident.affected_org_id, "affectedAssetIds": incident.affected_asset_ids,
            "regionCode": incident.region_code, "requirements": incident.requirements,
            "measuresAdvice": incident.measures_advice, "reporter": incident.reporter,
            "issuedAt": when(incident.issued_at), "deadline": when(incident.deadline),
            "progress": incident.progress, "completedAt": when(incident.completed_at),
            "overdue": incidents.is_overdue(incident),
        },
        "recipients": [{"orgId": r.org_id, "viewedAt": when(r.viewed_at), "reminders": r.reminders,
                        "lastRemindedAt": when(r.last_reminded_at)} for r in recipients],
        "reports": [{
            "id": d.id, "orgId": d.org_id, "status": d.status, "version": d.version, "content": d.content,
            "submittedAt": when(d.submitted_at), "submittedBy": d.submitted_by,
            "changeRequests": [{
                "id": c.id, "reason": c.reason, "status": c.status, "proposed": c.proposed, "before": c.before,
                "requestedBy": c.requested_by, "requestedAt": when(c.requested_at), "reviewedBy": c.reviewed_by,
                "reviewedAt": when(c.reviewed_at), "opinion": c.opinion,
            } for c in requests if c.report_id == d.id],
        } for d in reports],
    }


@strawberry.type
class IncidentQueries:
    @strawberry.field(description="One incident notice, if the caller may see it.")
    async def incident(self, info: Info, id: strawberry.ID) -> SecurityIncident | None:
        async with info.context.session() as session:
            row = await session.scalar(select(Incident).where(
                Incident.id == str(id), incidents.visible_condition(info.context.caller)))
        return SecurityIncident.from_row(row, info.context.caller) if row else None

    @strawberry.field(description="Incident notices newest first: the caller's organisation's (its region's, with "
                                  "a regional data scope) and those issued to it.")
    async def incidents(self, info: Info, filter: IncidentFilter | None = None, first: int = 20,
                        after: str | None = None) -> Connection[SecurityIncident]:
        caller = info.context.caller
        first = check_first(first)
        stmt = _filtered(caller, filter)
        if after is not None:
            stmt = stmt.where(_older_than(after))
        async with info.context.session() as session:
            rows = list((await session.scalars(stmt.order_by(*NEWEST_FIRST).limit(first + 1))).all())
        return connection_from_rows(rows, first, lambda r: [r.issued_at.isoformat(), r.id],
                                    lambda r: SecurityIncident.from_row(r, caller), has_previous=after is not None)

    @strawberry.field(description="单事件完整处置档案 (the affected organisation, its region and admins).")
    async def incident_archive(self, info: Info, id: strawberry.ID) -> IncidentArchive | None:
        caller = info.context.caller
        async with info.context.session() as session:
            row = await session.scalar(select(Incident).where(Incident.id == str(id),
                                                              incidents.visible_condition(caller)))
            if row is None or not incidents.oversees(caller, row):
                return None
            recipients = await incidents.recipients_of(session, row.id)
            reports = await disposal.reports_of(session, [row.id])
            requests = await disposal.change_requests_of(session, [d.id for d in reports])
        return IncidentArchive(
            incident=SecurityIncident.from_row(row, caller),
            recipients=[IncidentRecipient.from_row(r) for r in recipients],
            reports=[DisposalReport.from_row(d) for d in reports],
            change_requests=[DisposalChangeRequest.from_row(c) for c in requests],
            exported_at=incidents.now_utc(), json=cast(JSON, _archive_json(row, recipients, reports, requests)),
            csv=_trail(row, recipients, reports, requests),
        )


@strawberry.type(description="催办 result: the recipients reminded now.")
class RemindResult:
    incident: SecurityIncident
    reminded: list[IncidentRecipient]
    count: int


@strawberry.type
class IncidentMutations:
    @strawberry.mutation(description="通报: issue an incident notice to the affected organisation and other units "
                                     "(the province's security administrators).")
    async def issue_incident(self, info: Info, input: IssueIncidentInput) -> SecurityIncident:
        caller = info.context.caller
        async with info.context.transaction() as session:
            row = await incidents.issue(session, caller, input.to_new())
        return SecurityIncident.from_row(row, caller)

    @strawberry.mutation(description="The caller's organisation (an admin may name orgId) has viewed the notice.")
    async def mark_incident_viewed(self, info: Info, id: strawberry.ID,
                                   org_id: strawberry.ID | None = None) -> IncidentRecipient:
        async with info.context.transaction() as session:
            entry = await incidents.mark_viewed(session, info.context.caller, str(id),
                                                str(org_id) if org_id is not None else None)
        return IncidentRecipient.from_row(entry)

    @strawberry.mutation(description="手动催办: remind every recipient that has not viewed the notice.")
    async def remind_incident_recipients(self, info: Info, id: strawberry.ID) -> RemindResult:
        caller = info.context.caller
        async with info.context.transaction() as session:
            row, reminded = await incidents.remind(session, caller, str(id))
        return RemindResult(incident=SecurityIncident.from_row(row, caller),
                            reminded=[IncidentRecipient.from_row(r) for r in reminded], count=len(reminded))

    @strawberry.mutation(description="Save the recipient's disposal report as a draft (refused once submitted).")
    async def save_disposal_report(self, info: Info, incident_id: strawberry.ID, content: DisposalContentInput,
                                   org_id: strawberry.ID | None = None) -> DisposalReport:
        async with info.context.transaction() as session:
            _, report = await disposal.save(session, info.context.caller, str(incident_id), content.as_content(),
                                            str(org_id) if org_id is not None else None)
        return DisposalReport.from_row(report)

    @strawberry.mutation(description="Submit a draft: the report is locked from then on.")
    async def submit_disposal_report(self, info: Info, id: strawberry.ID) -> DisposalReport:
        async with info.context.transaction() as session:
            _, report = await disposal.submit(session, info.context.caller, str(id))
        return DisposalReport.from_row(report)

    @strawberry.mutation(description="变更申请 of a submitted report: the reason and the whole proposed content.")
    async def request_disposal_change(self, info: Info, report_id: strawberry.ID, reason: str,
                                      proposed: DisposalContentInput) -> DisposalChangeRequest:
        async with info.context.transaction() as session:
            request = await disposal.request_change(session, info.context.caller, str(report_id), reason,
                                                    proposed.as_content())
        return DisposalChangeRequest.from_row(request)

    @strawberry.mutation(description="Approve (the proposal replaces the report) or reject (an opinion is required) "
                                     "a change request.")
    async def review_disposal_change(self, info: Info, id: strawberry.ID, approve: bool,
                                     opinion: str | None = None) -> DisposalChangeRequest:
        async with info.context.transaction() as session:
            request = await disposal.review_change(session, info.context.caller, str(id), approve, opinion)
        return DisposalChangeRequest.from_row(request)


queries: list[type] = [IncidentQueries]
mutations: list[type] = [IncidentMutations]
