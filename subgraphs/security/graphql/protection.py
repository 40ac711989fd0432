"""The classified-protection ledger (等级保护) and its change requests (domain/protection.py has the rules)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import select

from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.security import models
from subgraphs.security.domain import protection as domain
from subgraphs.security.types import Asset, Info, Organization


@strawberry.enum(description="测评结论")
class EvaluationConclusion(Enum):
    PASS = strawberry.enum_value("PASS", description="符合")
    BASIC = strawberry.enum_value("BASIC", description="基本符合")
    FAIL = strawberry.enum_value("FAIL", description="不符合")


@strawberry.enum(description="变更申请状态")
class ProtectionRequestStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="待审核")
    APPROVED = strawberry.enum_value("APPROVED", description="审核通过")
    REJECTED = strawberry.enum_value("REJECTED", description="驳回")
    SUPPLEMENT_REQUESTED = strawberry.enum_value("SUPPLEMENT_REQUESTED", description="补充材料")


@strawberry.enum(description="审核意见")
class ProtectionReviewDecision(Enum):
    APPROVE = strawberry.enum_value("APPROVE", description="同意")
    REJECT = strawberry.enum_value("REJECT", description="驳回")
    REQUEST_MATERIAL = strawberry.enum_value("REQUEST_MATERIAL", description="补充材料")


@strawberry.enum(description="等保 gaps the province follows up.")
class ProtectionGapKind(Enum):
    NO_FILING = strawberry.enum_value("NO_FILING", description="未备案")
    EVALUATION_OVERDUE = strawberry.enum_value(
        "EVALUATION_OVERDUE", description="测评逾期: level 3/4 not assessed this year, level 2 not in two years")


@strawberry.type(description="佐证材料: a named piece of evidence (等保备案证明, 年度测评报告, 整改报告...).")
class ProtectionEvidence:
    name: str
    kind: str | None
    sha256: str | None

    @classmethod
    def of(cls, item: dict[str, Any]) -> ProtectionEvidence:
        return cls(name=str(item.get("name")), kind=item.get("kind"), sha256=item.get("sha256"))


@strawberry.input
class ProtectionEvidenceInput:
    name: str
    kind: str | None = strawberry.field(default=None, description="e.g. FILING_CERTIFICATE, EVALUATION_REPORT")
    sha256: str | None = None


def _evidence(items: list[ProtectionEvidenceInput] | None) -> list[dict[str, Any]]:
    return [{"name": i.name, "kind": i.kind, "sha256": i.sha256} for i in items or ()]


@strawberry.type(description="等级保护: a system's level, filing and latest assessment; changed only by approval.")
class ProtectionRecord:
    id: strawberry.ID
    system_name: str = strawberry.field(description="系统名称")
    org_id: strawberry.ID = strawberry.field(description="所属单位")
    region_code: str | None
    asset_id: strawberry.ID | None = strawberry.field(description="The linked APPLICATION asset.")
    level: int = strawberry.field(description="等保等级 1-4 (一级-四级)")
    filing_number: str | None = strawberry.field(description="备案编号; null: 未备案")
    filing_authority: str | None = strawberry.field(description="备案机关")
    filed_on: date | None = strawberry.field(description="备案时间")
    evaluated_on: date | None = strawberry.field(description="年度测评时间 (the latest)")
    evaluation_body: str | None = strawberry.field(description="测评机构")
    conclusion: EvaluationConclusion | None = strawberry.field(description="测评结论")
    evidence: list[ProtectionEvidence]
    version: int
    updated_at: datetime
    gaps: list[ProtectionGapKind]

    @classmethod
    def from_row(cls, row: models.ProtectionRecord) -> ProtectionRecord:
        return cls(
            id=strawberry.ID(row.id), system_name=row.system_name, org_id=strawberry.ID(row.org_id),
            region_code=row.region_code, asset_id=strawberry.ID(row.asset_id) if row.asset_id else None,
            level=row.level, filing_number=row.filing_number, filing_authority=row.filing_authority,
            filed_on=row.filed_on, evaluated_on=row.evaluated_on, evaluation_body=row.evaluation_body,
            conclusion=EvaluationConclusion(row.conclusion) if row.conclusion else None,
            evidence=[ProtectionEvidence.of(e) for e in row.evidence or ()], version=row.version,
            updated_at=row.updated_at,
            gaps=[ProtectionGapKind(g) for g in domain.gaps_of(row, domain.now_utc().date())],
        )

    @strawberry.field(description="所属单位")
    def org(self) -> Organization:
        return Organization(id=self.org_id)

    @strawberry.field(description="The linked application-system asset, if the caller sees it.")
    async def asset(self, info: Info) -> Asset | None:
        if self.asset_id is None:
            return None
        row = await info.context.loaders.asset.load(str(self.asset_id))
        return Asset.from_row(row) if row else None

    @strawberry.field(description="变更档案: the change requests of this record, newest first.")
    async def change_requests(self, info: Info) -> list[ProtectionChangeRequest]:
        rows = await info.context.loaders.protection_change_requests(info.context.caller).load(str(self.id))
        return [ProtectionChangeRequest.from_row(r) for r in rows]


@strawberry.type(description="One step of a change request's trail (申请人/申请时间, 审核人/审核意见/审核时间).")
class ProtectionReviewStep:
    at: datetime
    actor: str
    action: str = strawberry.field(description="SUBMITTED, RESUBMITTED, APPROVE, REJECT or REQUEST_MATERIAL")
    opinion: str | None


@strawberry.type(description="The fields a change request proposes (null: unchanged).")
class ProposedProtection:
    system_name: str | None
    level: int | None
    filing_number: str | None
    filing_authority: str | None
    filed_on: date | None
    evaluated_on: date | None
    evaluation_body: str | None
    conclusion: EvaluationConclusion | None
    asset_id: strawberry.ID | None


def _proposed(p: dict[str, Any]) -> ProposedProtection:
    def day(key: str) -> date | None:
        return date.fromisoformat(p[key]) if p.get(key) else None

    return ProposedProtection(
        system_name=p.get("system_name"), level=p.get("level"), filing_number=p.get("filing_number"),
        filing_authority=p.get("filing_authority"), filed_on=day("filed_on"), evaluated_on=day("evaluated_on"),
        evaluation_body=p.get("evaluation_body"),
        conclusion=EvaluationConclusion(p["conclusion"]) if p.get("conclusion") else None,
        asset_id=strawberry.ID(p["asset_id"]) if p.get("asset_id") else None,
    )


@strawberry.type(description="等保变更申请: a new filing (recordId null) or a change, reviewed by the commission.")
class ProtectionChangeRequest:
    id: strawberry.ID
    record_id: strawberry.ID | None
    org_id: strawberry.ID
    proposed: ProposedProtection
    reason: str
    evidence: list[ProtectionEvidence]
    status: ProtectionRequestStatus
    requested_by: str = strawberry.field(description="申请人")
    requested_at: datetime = strawberry.field(description="申请时间")
    reviewed_by: str | None = strawberry.field(description="审核人")
    reviewed_at: datetime | None = strawberry.field(description="审核时间")
    opinion: str | None = strawberry.field(description="审核意见")
    trail: list[ProtectionReviewStep]

    @classmethod
    def from_row(cls, row: models.ProtectionChangeRequest) -> ProtectionChangeRequest:
        return cls(
            id=strawberry.ID(row.id), record_id=strawberry.ID(row.record_id) if row.record_id else None,
            org_id=strawberry.ID(row.org_id), proposed=_proposed(row.proposed), reason=row.reason,
            evidence=[ProtectionEvidence.of(e) for e in row.evidence or ()], status=ProtectionRequestStatus(row.status),
            requested_by=row.requested_by, requested_at=row.requested_at, reviewed_by=row.reviewed_by,
            reviewed_at=row.reviewed_at, opinion=row.opinion,
            trail=[ProtectionReviewStep(at=datetime.fromisoformat(s["at"]), actor=s["actor"], action=s["action"],
                              opinion=s.get("opinion")) for s in row.history or ()],
        )


@strawberry.type(description="A record with the gaps found on it.")
class ProtectionGap:
    record: ProtectionRecord
    gaps: list[ProtectionGapKind]


@strawberry.input(description="The proposed fields; a new filing needs systemName and level.")
class ProtectionChangeInput:
    system_name: str | None = None
    level: int | None = None
    filing_number: str | None = None
    filing_authority: str | None = None
    filed_on: date | None = None
    evaluated_on: date | None = None
    evaluation_body: str | None = None
    conclusion: EvaluationConclusion | None = None
    asset_id: strawberry.ID | None = None

    def proposal(self) -> domain.Proposal:
        return domain.Proposal(
            system_name=self.system_name, level=self.level, filing_number=self.filing_number,
            filing_authority=self.filing_authority, filed_on=self.filed_on, evaluated_on=self.evaluated_on,
            evaluation_body=self.evaluation_body, conclusion=self.conclusion.name if self.conclusion else None,
            asset_id=None if self.asset_id is None else str(self.asset_id),
        )


@strawberry.input
class ProtectionRecordFilter:
    org_id: strawberry.ID | None = None
    level: int | None = None
    filed: bool | None = strawberry.field(default=None, description="true: 已备案; false: 未备案")
    keyword: str | None = strawberry.field(default=None, description="Part of the system name.")


async def records_of_asset(info: Info, asset_id: str) -> list[ProtectionRecord]:
    """Asset.protectionRecords: the records within the caller's scope, in id order."""
    rows = await info.context.loaders.protection_records_of_asset(info.context.caller).load(asset_id)
    return [ProtectionRecord.from_row(r) for r in rows]


@strawberry.type
class ProtectionQueries:
    @strawberry.field(description="等保台账 within the caller's scope, in id order.")
    async def protection_records(self, info: Info, filter: ProtectionRecordFilter | None = None, first: int = 20,
                                 after: str | None = None) -> Connection[ProtectionRecord]:
        f = filter or ProtectionRecordFilter()
        stmt = domain.records_statement(info.context.caller, domain.RecordFilter(
            org_id=None if f.org_id is None else str(f.org_id), level=f.level, filed=f.filed, keyword=f.keyword))
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[models.ProtectionRecord.id.expression],
                                     sort_key=lambda r: [r.id], to_node=ProtectionRecord.from_row,
                                     page=PageRequest(first=first, after=after))

    @strawberry.field(description="One record; null when missing or outside the caller's scope.")
    async def protection_record(self, info: Info, id: strawberry.ID) -> ProtectionRecord | None:
        stmt = select(models.ProtectionRecord).where(models.ProtectionRecord.id == str(id),
                                                     domain.visible_records(info.context.caller))
        async with info.context.session() as session:
            row = await session.scalar(stmt)
        return ProtectionRecord.from_row(row) if row else None

    @strawberry.field(description="变更申请 within the caller's scope, in the order filed.")
    async def protection_change_requests(self, info: Info, status: ProtectionRequestStatus | None = None,
                                         org_id: strawberry.ID | None = None, record_id: strawberry.ID | None = None,
                                         first: int = 20, after: str | None = None
                                         ) -> Connection[ProtectionChangeRequest]:
        req = models.ProtectionChangeRequest
        stmt = domain.requests_statement(info.context.caller, status.name if status else None,
                                         None if org_id is None else str(org_id),
                                         None if record_id is None else str(record_id))
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[req.requested_at.expression, req.id.expression],
                                     sort_key=lambda r: [r.requested_at, r.id],
                                     to_node=ProtectionChangeRequest.from_row,
                                     page=PageRequest(first=first, after=after))

    @strawberry.field(description="未备案 and overdue assessments (level 3/4 yearly, level 2 every two years).")
    async def protection_gaps(self, info: Info, org_id: strawberry.ID | None = None) -> list[ProtectionGap]:
        async with info.context.session() as session:
            found = await domain.gaps(session, info.context.caller, domain.now_utc().date(),
                                      None if org_id is None else str(org_id))
        return [ProtectionGap(record=ProtectionRecord.from_row(r), gaps=[ProtectionGapKind(g) for g in g_])
                for r, g_ in found]


@strawberry.type
class ProtectionMutations:
    @strawberry.mutation(description="变更申请 (recordId given) or a new filing (recordId null, orgId: the unit); "
                                     "the record changes only when the commission approves.")
    async def request_protection_change(self, info: Info, input: ProtectionChangeInput, reason: str,
                                        evidence: list[ProtectionEvidenceInput] | None = None,
                                        record_id: strawberry.ID | None = None,
                                        org_id: strawberry.ID | None = None) -> ProtectionChangeRequest:
        async with info.context.transaction() as session:
            row = await domain.request_change(
                session, info.context.caller, proposal=input.proposal(), reason=reason, evidence=_evidence(evidence),
                record_id=None if record_id is None else str(record_id), org_id=None if org_id is None else str(org_id))
        return ProtectionChangeRequest.from_row(row)

    @strawberry.mutation(description="补充材料 given: more evidence (and optionally a revised proposal) → PENDING.")
    async def resubmit_protection_change(self, info: Info, id: strawberry.ID, evidence: list[ProtectionEvidenceInput],
                                         reason: str | None = None,
                                         input: ProtectionChangeInput | None = None) -> ProtectionChangeRequest:
        async with info.context.transaction() as session:
            row = await domain.resubmit(session, info.context.caller, str(id), evidence=_evidence(evidence),
                                        reason=reason, proposal=input.proposal() if input else None)
        return ProtectionChangeRequest.from_row(row)

    @strawberry.mutation(description="The commission's review: APPROVE (the record changes), REJECT or "
                                     "REQUEST_MATERIAL (opinion required; the record stays as it was).")
    async def review_protection_change(self, info: Info, id: strawberry.ID, decision: ProtectionReviewDecision,
                                       opinion: str | None = None) -> ProtectionChangeRequest:
        async with info.context.transaction() as session:
            row = await domain.review(session, info.context.caller, str(id), decision.name, opinion)
        return ProtectionChangeRequest.from_row(row)


queries: list[type] = [ProtectionQueries]
mutations: list[type] = [ProtectionMutations]
