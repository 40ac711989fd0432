"""死亡人口 over GraphQL: the closed loop 标记—认领—处理—同步 [JS L9186–9190]. The rules live in
domain/deaths.py; who may act is domain/dispatch.Operator (the caller's data scope and region)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Self, cast

import strawberry
from aiodataloader import DataLoader
from sqlalchemy import false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import QueryableAttribute, defer

from subgraphs.common.caller import Caller
from subgraphs.common.errors import forbidden
from subgraphs.common.masking import mask_id_number
from subgraphs.common.paging import Connection, PageRequest
from subgraphs.common.regions import in_subtree
from subgraphs.common.scope import region_scope
from subgraphs.population import models
from subgraphs.population.domain import deaths as rules
from subgraphs.population.domain.changes import actor_of
from subgraphs.population.domain.dispatch import normalise_id_number, operator_of
from subgraphs.population.graphql.dispatch import (
    Info,
    LazyPerson,
    LazyRegion,
    page_by_creation,
    person_if_visible,
    region_of,
)

# The token scope of the source systems (公安, 医院, 社区 platforms) that report deaths with client credentials.
REPORT_SCOPE = "population:death:report"


# --- loaders -------------------------------------------------------------------------------------------


class DeathRecordsByPerson(DataLoader[str, list[models.DeathRecord]]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, uids: Sequence[str]) -> list[list[models.DeathRecord]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(models.DeathRecord).where(
                models.DeathRecord.person_uid.in_(uids)).order_by(models.DeathRecord.created_at))).all()
        found: dict[str, list[models.DeathRecord]] = defaultdict(list)
        for row in rows:
            found[row.person_uid or ""].append(row)
        return [found.get(uid, []) for uid in uids]


class DeathEventsByRecord(DataLoader[str, list[models.DeathRecordEvent]]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[list[models.DeathRecordEvent]]:
        E = models.DeathRecordEvent
        async with self.sessions() as session:
            rows = (await session.scalars(select(E).where(E.death_record_id.in_(ids)).order_by(E.at, E.id))).all()
        found: dict[str, list[models.DeathRecordEvent]] = defaultdict(list)
        for row in rows:
            found[row.death_record_id].append(row)
        return [found.get(i, []) for i in ids]


class DeathEvidenceByRecord(DataLoader[str, list[models.DeathEvidence]]):
    """Evidence metadata only: the file contents stay in the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[list[models.DeathEvidence]]:
        V = models.DeathEvidence
        async with self.sessions() as session:
            rows = (await session.scalars(select(V).options(defer(V.content, raiseload=True))
                                          .where(V.death_record_id.in_(ids)).order_by(V.uploaded_at, V.id))).all()
        found: dict[str, list[models.DeathEvidence]] = defaultdict(list)
        for row in rows:
            found[row.death_record_id].append(row)
        return [found.get(i, []) for i in ids]


# --- types ---------------------------------------------------------------------------------------------


@strawberry.enum(description="死亡数据来源: 公安销户 POLICE, 医院死亡证明 HOSPITAL, 社区上报 COMMUNITY.")
class DeathSource(Enum):
    POLICE = "POLICE"
    HOSPITAL = "HOSPITAL"
    COMMUNITY = "COMMUNITY"


@strawberry.enum(description="死亡数据状态: 未认领 UNCLAIMED, 已退回重推 RETURNED (awaiting claim at the next region), "
                             "已认领 CLAIMED, 已处理 PROCESSED, 已同步 SYNCED.")
class DeathRecordStatus(Enum):
    UNCLAIMED = "UNCLAIMED"
    RETURNED = "RETURNED"
    CLAIMED = "CLAIMED"
    PROCESSED = "PROCESSED"
    SYNCED = "SYNCED"


@strawberry.enum(description="How the responsible unit (责任单位) was chosen: 户籍地 HOUSEHOLD, 现居住地 RESIDENCE, "
                             "the ID number's region ID_PREFIX (no case), assigned by the province PROVINCE, or "
                             "UNROUTED (awaiting the province).")
class DeathRouting(Enum):
    HOUSEHOLD = "HOUSEHOLD"
    RESIDENCE = "RESIDENCE"
    ID_PREFIX = "ID_PREFIX"
    PROVINCE = "PROVINCE"
    UNROUTED = "UNROUTED"


@strawberry.type(description="处理记录: one step of a death record.")
class DeathRecordEvent:
    at: datetime = strawberry.field(description="When.")
    actor: str = strawberry.field(description="Who (user or system id).")
    action: str = strawberry.field(description="REPORTED, CORROBORATED, ASSIGNED, CLAIMED, RETURNED, ROUTED, "
                                               "PROCESSED or SYNCED.")
    from_status: DeathRecordStatus | None = strawberry.field(description="Status before the step.")
    to_status: DeathRecordStatus = strawberry.field(description="Status after the step.")
    comment: str | None = strawberry.field(description="Reason, routing or corroborating evidence.")
    region_code: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: models.DeathRecordEvent) -> Self:
        return cls(at=row.at, actor=row.actor, action=row.action,
                   from_status=DeathRecordStatus(row.from_status) if row.from_status else None,
                   to_status=DeathRecordStatus(row.to_status), comment=row.comment, region_code=row.region_code)

    @strawberry.field(description="The region the step happened at (the responsible region after a routing).")
    async def region(self, info: Info) -> LazyRegion | None:
        return await region_of(info, self.region_code)


@strawberry.type(description="处理凭证: an evidence file of a processed death record (metadata; the content is kept "
                             "but not served here).")
class DeathEvidence:
    id: strawberry.ID
    file_name: str = strawberry.field(description="File name as uploaded.")
    media_type: str = strawberry.field(description="application/pdf, image/jpeg or image/png, from the content.")
    size: int = strawberry.field(description="Bytes.")
    sha256: str = strawberry.field(description="SHA-256 of the content, hex.")
    uploaded_by: str = strawberry.field(description="Who uploaded it.")
    uploaded_at: datetime = strawberry.field(description="When.")

    @classmethod
    def from_row(cls, row: models.DeathEvidence) -> Self:
        return cls(id=strawberry.ID(row.id), file_name=row.file_name, media_type=row.media_type, size=row.size,
                   sha256=row.sha256, uploaded_by=row.uploaded_by, uploaded_at=row.uploaded_at)


@strawberry.type(description="死亡人口信息: one death in the closed loop 标记—认领—处理—同步.")
class DeathRecord:
    id: strawberry.ID
    name: str = strawberry.field(description="姓名 as reported.")
    source: DeathSource = strawberry.field(description="数据来源 of the first report.")
    police_deregistration_no: str | None = strawberry.field(description="公安销户编号.")
    death_certificate_no: str | None = strawberry.field(description="死亡证明编号.")
    death_date: date = strawberry.field(description="死亡日期.")
    cause: str | None = strawberry.field(description="死亡原因.")
    routed_by: DeathRouting = strawberry.field(description="How the responsible region was chosen.")
    status: DeathRecordStatus = strawberry.field(description="Where the record is in the loop.")
    claimed_by: str | None = strawberry.field(description="Who claimed it (认领).")
    claimed_at: datetime | None = strawberry.field(description="When it was claimed.")
    return_reason: str | None = strawberry.field(description="Reason of the last return (退回重推).")
    return_count: int = strawberry.field(description="How many times it was returned.")
    feedback: str | None = strawberry.field(description="处理结果反馈.")
    processed_by: str | None = strawberry.field(description="Who processed it.")
    processed_at: datetime | None = strawberry.field(description="When it was processed.")
    synced_at: datetime | None = strawberry.field(description="When the result was synced to the case and support.")
    created_at: datetime = strawberry.field(description="When it was reported.")
    row: strawberry.Private[models.DeathRecord]

    @classmethod
    def from_row(cls, row: models.DeathRecord) -> Self:
        return cls(
            id=strawberry.ID(row.id), name=row.name, source=DeathSource(row.source),
            police_deregistration_no=row.police_deregistration_no, death_certificate_no=row.death_certificate_no,
            death_date=row.death_date, cause=row.cause, routed_by=DeathRouting(row.routed_by),
            status=DeathRecordStatus(row.status), claimed_by=row.claimed_by, claimed_at=row.claimed_at,
            return_reason=row.return_reason, return_count=row.return_count, feedback=row.feedback,
            processed_by=row.processed_by, processed_at=row.processed_at, synced_at=row.synced_at,
            created_at=row.created_at, row=row)

    @strawberry.field(description="身份证号码, masked (first 6 and last 4 digits).")
    def id_number(self) -> str | None:
        return mask_id_number(self.row.id_number)

    @strawberry.field(description="责任单位: the region responsible for it; null while it awaits the province.")
    async def responsible_region(self, info: Info) -> LazyRegion | None:
        return await region_of(info, self.row.responsible_region_code)

    @strawberry.field(description="The matched case, when the caller's data scope covers it.")
    async def person(self, info: Info) -> LazyPerson | None:
        return await person_if_visible(info, self.row.person_uid)

    @strawberry.field(description="处理记录: every step, oldest first.")
    async def events(self, info: Info) -> list[DeathRecordEvent]:
        return [DeathRecordEvent.from_row(r) for r in await info.context.loaders.of(DeathEventsByRecord)
                .load(self.row.id)]

    @strawberry.field(description="处理凭证 uploaded when it was processed.")
    async def evidence(self, info: Info) -> list[DeathEvidence]:
        return [DeathEvidence.from_row(r) for r in await info.context.loaders.of(DeathEvidenceByRecord)
                .load(self.row.id)]


@strawberry.type(description="The answer to a death report.")
class DeathReport:
    record: DeathRecord = strawberry.field(description="The record of the loop.")
    corroborated: bool = strawberry.field(description="True when the report joined a loop already open for the "
                                                      "same person (as corroborating evidence) instead of opening one.")


@strawberry.type(description="The answer to a sync (同步).")
class DeathSync:
    record: DeathRecord = strawberry.field(description="The synced record.")
    support_ended: int = strawberry.field(description="Reward/special support enrolments (奖特扶) ended.")
    dispatch_cancelled: int = strawberry.field(description="Pending dispatch orders of the case cancelled.")


@strawberry.input(description="A death report (标记) from a source system or staff.")
class ReportDeathInput:
    source: DeathSource = strawberry.field(description="数据来源.")
    id_number: str = strawberry.field(description="身份证号码 of the deceased.")
    name: str = strawberry.field(description="姓名.")
    death_date: date = strawberry.field(description="死亡日期.")
    cause: str | None = strawberry.field(default=None, description="死亡原因.")
    police_deregistration_no: str | None = strawberry.field(default=None,
                                                            description="公安销户编号 (required for POLICE).")
    death_certificate_no: str | None = strawberry.field(default=None,
                                                        description="死亡证明编号 (required for HOSPITAL).")


@strawberry.input(description="处理凭证: one file, base64; PDF, JPG or PNG by its content, at most 5 MB.")
class EvidenceInput:
    file_name: str = strawberry.field(description="File name.")
    content_base64: str = strawberry.field(description="The file, base64.")
    media_type: str | None = strawberry.field(default=None, description="The client's idea of the type; informative "
                                                                        "only, the content decides.")


# --- root fields -----------------------------------------------------------------------------------------

_D = models.DeathRecord


def _reporter(caller: Caller | None) -> str:
    """Staff with a data scope, and the source systems holding the report scope, may report deaths."""
    scope = region_scope(caller)
    if scope.everything or scope.region is not None or (caller is not None and REPORT_SCOPE in caller.scopes):
        return actor_of(caller)
    raise forbidden(f"Reporting deaths needs a data scope or the {REPORT_SCOPE} scope.")


@strawberry.type
class DeathQuery:
    @strawberry.field(description="死亡人口信息 of the caller's region (by responsible region), newest first; records "
                                  "awaiting the province (no region) only for province operators.")
    async def death_records(
        self, info: Info,
        region_code: Annotated[strawberry.ID | None, strawberry.argument(
            description="Responsible region and its subtree.")] = None,
        status: DeathRecordStatus | None = None,
        source: DeathSource | None = None,
        death_date_from: date | None = None,
        death_date_to: date | None = None,
        id_number: Annotated[str | None, strawberry.argument(description="身份证号码 (exact).")] = None,
        unrouted: Annotated[bool, strawberry.argument(
            description="Only the records awaiting the province's assignment.")] = False,
        first: int = 20, after: str | None = None,
    ) -> Connection[DeathRecord]:
        operator = operator_of(info.context.caller)
        # Nullable column: the scope helpers are typed for non-null region columns (NULL matches no range).
        region = cast("QueryableAttribute[str]", _D.responsible_region_code)
        if unrouted:
            stmt = select(_D).where(region.is_(None) if operator.province_level else false())
        else:
            visible = operator.scope.condition(region)
            stmt = select(_D).where(or_(visible, region.is_(None)) if operator.province_level else visible)
        if region_code is not None:
            operator.scope.check_request(str(region_code))
            stmt = stmt.where(in_subtree(region, str(region_code)))
        if status is not None:
            stmt = stmt.where(_D.status == status.value)
        if source is not None:
            stmt = stmt.where(_D.source == source.value)
        if death_date_from is not None:
            stmt = stmt.where(_D.death_date >= death_date_from)
        if death_date_to is not None:
            stmt = stmt.where(_D.death_date <= death_date_to)
        if id_number is not None:
            stmt = stmt.where(_D.id_number == normalise_id_number(id_number))
        async with info.context.reading() as session:
            return await page_by_creation(session, stmt, _D, PageRequest(first, after), DeathRecord.from_row,
                                          newest_first=True)

    @strawberry.field(description="One death record with its events and evidence, when its responsible region lies "
                                  "in the caller's region.")
    async def death_record(self, info: Info, id: strawberry.ID) -> DeathRecord | None:
        operator = operator_of(info.context.caller)
        async with info.context.reading() as session:
            row = await session.get(_D, str(id))
        return DeathRecord.from_row(row) if row and operator.covers(row.responsible_region_code) else None


@strawberry.type
class DeathMutation:
    @strawberry.mutation(description="标记: report a death; it is routed to the responsible region (户籍地, else 现居住"
                                     "地) as UNCLAIMED and the region is notified. A further report of the same "
                                     "death corroborates the open loop; one repeating an evidence number is a "
                                     "CONFLICT.")
    async def report_death(self, info: Info, input: ReportDeathInput) -> DeathReport:
        actor = _reporter(info.context.caller)
        death = rules.DeathReport(
            source=rules.DeathSource(input.source.value), id_number=input.id_number, name=input.name,
            death_date=input.death_date, cause=input.cause, police_deregistration_no=input.police_deregistration_no,
            death_certificate_no=input.death_certificate_no)
        async with info.context.transaction() as session:
            row, corroborated = await rules.report(session, death, actor=actor)
        return DeathReport(record=DeathRecord.from_row(row), corroborated=corroborated)

    @strawberry.mutation(description="The province assigns a record awaiting claim to a region.")
    async def assign_death_record(self, info: Info, id: strawberry.ID, region_code: strawberry.ID) -> DeathRecord:
        operator = operator_of(info.context.caller)
        async with info.context.transaction() as session:
            row = await rules.assign(session, str(id), str(region_code), operator)
        return DeathRecord.from_row(row)

    @strawberry.mutation(description="认领: the responsible region takes the record.")
    async def claim_death_record(self, info: Info, id: strawberry.ID) -> DeathRecord:
        operator = operator_of(info.context.caller)
        async with info.context.transaction() as session:
            row = await rules.claim(session, str(id), operator)
        return DeathRecord.from_row(row)

    @strawberry.mutation(description="退回重推: not ours (the reason is required); the record goes to the other "
                                     "candidate region (户籍地/现居住地), then to the province.")
    async def return_death_record(self, info: Info, id: strawberry.ID, reason: str) -> DeathRecord:
        operator = operator_of(info.context.caller)
        async with info.context.transaction() as session:
            row = await rules.return_(session, str(id), reason, operator)
        return DeathRecord.from_row(row)

    @strawberry.mutation(description="处理: feedback and evidence (PDF/JPG/PNG by content, 5 MB each) of a claimed "
                                     "record.")
    async def process_death_record(self, info: Info, id: strawberry.ID, feedback: str,
                                   evidence: list[EvidenceInput] | None = None) -> DeathRecord:
        operator = operator_of(info.context.caller)
        files = [rules.Evidence(file_name=e.file_name, content_base64=e.content_base64) for e in evidence or []]
        async with info.context.transaction() as session:
            row = await rules.process(session, str(id), feedback, files, operator)
        return DeathRecord.from_row(row)

    @strawberry.mutation(description="同步: the case becomes DEAD, its reward/special support ends, its pending "
                                     "dispatch orders are cancelled, the death is counted.")
    async def sync_death_record(self, info: Info, id: strawberry.ID) -> DeathSync:
        operator = operator_of(info.context.caller)
        async with info.context.transaction() as session:
            outcome = await rules.sync(session, str(id), operator)
        return DeathSync(record=DeathRecord.from_row(outcome.record), support_ended=outcome.support_ended,
                         dispatch_cancelled=outcome.dispatch_cancelled)


async def person_death_records(info: Info, person: models.Person) -> list[DeathRecord]:
    """Person.deathRecords (the mixin in graphql/casework.py)."""
    return [DeathRecord.from_row(r) for r in await info.context.loaders.of(DeathRecordsByPerson).load(person.uid)]


queries: list[type] = [DeathQuery]
mutations: list[type] = [DeathMutation]
