"""Attack-defence drills (攻防演练): drills, files per phase, viewers, the view log."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from enum import Enum
from typing import Self

import strawberry
from sqlalchemy import select

from subgraphs.common.paging import check_first
from subgraphs.security import models
from subgraphs.security.access import check_admin, is_admin
from subgraphs.security.domain import drills as domain
from subgraphs.security.types import Info


@strawberry.enum(description="演练类型.")
class DrillType(Enum):
    LIVE = strawberry.enum_value("LIVE", description="实战攻防")
    TABLETOP = strawberry.enum_value("TABLETOP", description="桌面推演")


@strawberry.enum(description="演练阶段 a file belongs to.")
class DrillPhase(Enum):
    PLAN = strawberry.enum_value("PLAN", description="方案制定")
    EXECUTION = strawberry.enum_value("EXECUTION", description="演练实施")
    EVALUATION = strawberry.enum_value("EVALUATION", description="结果评估")


@strawberry.type(description="A drill file's description (its content: drillFileContent, which is logged).")
class DrillFile:
    id: strawberry.ID
    phase: DrillPhase
    name: str
    content_type: str = strawberry.field(description="Detected format: PDF, DOCX, XLSX, PNG, JPEG, TEXT.")
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime

    @classmethod
    def from_row(cls, row: models.DrillFile) -> Self:
        return cls(id=strawberry.ID(row.id), phase=DrillPhase[row.phase], name=row.name,
                   content_type=row.content_type, size=row.size, sha256=row.sha256, uploaded_by=row.uploaded_by,
                   uploaded_at=row.uploaded_at)


@strawberry.type(description="An authorised viewer of a drill.")
class DrillViewer:
    principal: str = strawberry.field(description="usr-... or org:<organisation id> (its unit heads).")
    max_sensitivity: int
    granted_by: str
    granted_at: datetime

    @classmethod
    def from_row(cls, row: models.DrillViewer) -> Self:
        return cls(principal=row.principal, max_sensitivity=row.max_sensitivity, granted_by=row.granted_by,
                   granted_at=row.granted_at)


@strawberry.type(description="查看日志: who viewed what of a drill, when.")
class DrillView:
    viewer: str
    content: str
    at: datetime


@strawberry.type(description="攻防演练.")
class Drill:
    id: strawberry.ID
    name: str
    drill_type: DrillType
    sensitivity: int = strawberry.field(description="查看权限等级 1 (normal) - 3 (most sensitive).")
    org_ids: list[strawberry.ID] = strawberry.field(description="参与单位")
    started_on: date | None
    ended_on: date | None
    score: int | None = strawberry.field(description="评分结果 0-100")
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.Drill) -> Self:
        return cls(id=strawberry.ID(row.id), name=row.name, drill_type=DrillType[row.drill_type],
                   sensitivity=row.sensitivity, org_ids=[strawberry.ID(o) for o in row.org_ids],
                   started_on=row.started_on, ended_on=row.ended_on, score=row.score, created_at=row.created_at)

    @strawberry.field(description="The drill's files, by phase then upload time.")
    async def files(self, info: Info, phase: DrillPhase | None = None) -> list[DrillFile]:
        rows = await info.context.loaders.drill_files.load(str(self.id))
        return [DrillFile.from_row(r) for r in rows if phase is None or r.phase == phase.name]

    @strawberry.field(description="Authorised viewers (administrators only; empty for others).")
    async def viewers(self, info: Info) -> list[DrillViewer]:
        if not is_admin(info.context.caller):
            return []
        return [DrillViewer.from_row(r) for r in await info.context.loaders.drill_viewers.load(str(self.id))]


def _now() -> datetime:
    return datetime.now(UTC)


@strawberry.type
class DrillQueries:
    @strawberry.field(description="One drill (logged); null when missing or above the caller's level.")
    async def drill(self, info: Info, id: strawberry.ID) -> Drill | None:
        caller = info.context.caller
        async with info.context.transaction() as session:
            row = await domain.viewable(session, caller, str(id))
            if row is None:
                return None
            domain.log_view(session, caller, row.id, "drill", _now())
            return Drill.from_row(row)

    @strawberry.field(description="Drills the caller may see, newest first.")
    async def drills(self, info: Info, drill_type: DrillType | None = None, first: int = 50) -> list[Drill]:
        stmt = select(models.Drill).where(domain.visible(info.context.caller))
        if drill_type is not None:
            stmt = stmt.where(models.Drill.drill_type == drill_type.name)
        async with info.context.session() as session:
            rows = await session.scalars(stmt.order_by(models.Drill.created_at.desc(), models.Drill.id)
                                         .limit(check_first(first)))
            return [Drill.from_row(r) for r in rows]

    @strawberry.field(description="A drill file's content, base64 (logged); null when not visible.")
    async def drill_file_content(self, info: Info, id: strawberry.ID) -> str | None:
        caller = info.context.caller
        async with info.context.transaction() as session:
            file = await session.get(models.DrillFile, str(id))
            if file is None or await domain.viewable(session, caller, file.drill_id) is None:
                return None
            domain.log_view(session, caller, file.drill_id, f"file {file.id} {file.name}", _now())
            return base64.b64encode(file.content).decode("ascii")

    @strawberry.field(description="查看日志 of a drill, newest first (administrators).")
    async def drill_view_log(self, info: Info, drill_id: strawberry.ID, first: int = 100) -> list[DrillView]:
        check_admin(info.context.caller, "The drill view log")
        async with info.context.session() as session:
            rows = await session.scalars(select(models.DrillViewLog).where(
                models.DrillViewLog.drill_id == str(drill_id)).order_by(models.DrillViewLog.id.desc())
                .limit(check_first(first)))
            return [DrillView(viewer=r.viewer, content=r.content, at=r.at) for r in rows]


@strawberry.input(description="A new drill.")
class DrillInput:
    name: str
    drill_type: DrillType
    sensitivity: int = 1
    org_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    started_on: date | None = None
    ended_on: date | None = None


@strawberry.type
class DrillMutations:
    @strawberry.mutation(description="Create a drill (administrators).")
    async def create_drill(self, info: Info, input: DrillInput) -> Drill:
        async with info.context.transaction() as session:
            row = await domain.create(session, info.context.caller, name=input.name,
                                      drill_type=input.drill_type.name, sensitivity=input.sensitivity,
                                      org_ids=[str(o) for o in input.org_ids], started_on=input.started_on,
                                      ended_on=input.ended_on, now=_now())
            return Drill.from_row(row)

    @strawberry.mutation(description="评分结果 of a drill, 0-100 (administrators).")
    async def set_drill_score(self, info: Info, id: strawberry.ID, score: int) -> Drill:
        async with info.context.transaction() as session:
            return Drill.from_row(await domain.set_score(session, info.context.caller, str(id), score))

    @strawberry.mutation(description="Upload a phase file (base64), checked by content and size.")
    async def upload_drill_file(self, info: Info, drill_id: strawberry.ID, phase: DrillPhase, name: str,
                                content_base64: str) -> DrillFile:
        async with info.context.transaction() as session:
            row = await domain.upload(session, info.context.caller, str(drill_id), phase.name, name,
                                      content_base64, _now())
            return DrillFile.from_row(row)

    @strawberry.mutation(description="Authorise a viewer (usr-... or org:<id>) up to a sensitivity level.")
    async def grant_drill_viewer(self, info: Info, drill_id: strawberry.ID, principal: str,
                                 max_sensitivity: int) -> DrillViewer:
        async with info.context.transaction() as session:
            row = await domain.grant(session, info.context.caller, str(drill_id), principal, max_sensitivity,
                                     _now())
            return DrillViewer.from_row(row)

    @strawberry.mutation(description="Withdraw a viewer's authorisation; false when there was none.")
    async def revoke_drill_viewer(self, info: Info, drill_id: strawberry.ID, principal: str) -> bool:
        async with info.context.transaction() as session:
            return await domain.revoke(session, info.context.caller, str(drill_id), principal)


queries: list[type] = [DrillQueries]
mutations: list[type] = [DrillMutations]

