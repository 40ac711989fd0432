"""services' GraphQL types, and the stub of the person entity that services extends."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

import strawberry
from sqlalchemy import select

from subgraphs.common.context import SubgraphContext
from subgraphs.common.paging import Connection, check_first, connection_from_rows
from subgraphs.services import models
from subgraphs.services.applications import newest_first_page, sort_key
from subgraphs.services.loaders import Loaders
from subgraphs.services.status import (
    CITIZEN_LABELS,
    STAGE_OF,
    ApplicationStage,
    ApplicationStatus,
    CitizenStatus,
    citizen_status,
)
from subgraphs.services.vocabulary import OnlineType, Party, PowerType

Info = strawberry.Info[SubgraphContext[Loaders], Any]


@strawberry.federation.type(keys=["id"], description="事项: a service item of the catalogue (事项清单).")
class ServiceItem:
    id: strawberry.ID
    seq: int = strawberry.field(description="序号: position in the tender's list (1-70).")
    name: str = strawberry.field(description="事项名称.")
    name_en: str = strawberry.field(description="English name (the project's translation).")
    power_type: PowerType = strawberry.field(description="事项类型 (inferred: the list has no such column).")
    party: Party = strawberry.field(description="个人或法人.")
    online_type: OnlineType = strawberry.field(description="网办类型.")
    dual_publicity: bool = strawberry.field(description="是否需要双公示.")
    xiaosu: bool = strawberry.field(description="应用智慧晓苏: the AI assistant answers for this item.")
    remark: str | None = strawberry.field(description="备注, e.g. 支持一件事办理 or 备案公示.")

    @classmethod
    def from_row(cls, row: models.ServiceItem) -> Self:
        return cls(
            id=strawberry.ID(row.id), seq=row.seq, name=row.name, name_en=row.name_en,
            power_type=PowerType(row.power_type), party=Party(row.party),
            online_type=OnlineType(row.online_type), dual_publicity=row.dual_publicity, xiaosu=row.xiaosu,
            remark=row.remark,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.service_item.load(str(id))
        return cls.from_row(row) if row else None

    @strawberry.field(description="业务办理项 of this item, in the tender's order.")
    async def business_items(self, info: Info) -> list[BusinessItem]:
        rows = await info.context.loaders.business_items_of_item.load(str(self.id))
        return [BusinessItem.from_row(r) for r in rows]


@strawberry.federation.type(keys=["id"], description="业务办理项: what an application is filed against.")
class BusinessItem:
    id: strawberry.ID
    name: str = strawberry.field(description="业务项名称.")
    sub_item_name: str | None = strawberry.field(description="子项名称 (null if the item has none).")
    levels: list[str] = strawberry.field(description="支持层级: 省级, 市级 and/or 县级.")
    row: strawberry.Private[models.BusinessItem]

    @classmethod
    def from_row(cls, row: models.BusinessItem) -> Self:
        return cls(
            id=strawberry.ID(row.id), name=row.name, sub_item_name=row.sub_item_name,
            levels=row.levels.split(","), row=row,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.business_item.load(str(id))
        return cls.from_row(row) if row else None

    # The next four are merged cells of the item row in the tender's table: item-level facts.
    @strawberry.field(description="个人或法人 (of the item).")
    def party(self) -> Party:
        return Party(self.row.item.party)

    @strawberry.field(description="网办类型 (of the item).")
    def online_type(self) -> OnlineType:
        return OnlineType(self.row.item.online_type)

    @strawberry.field(description="是否需要双公示 (of the item).")
    def dual_publicity(self) -> bool:
        return self.row.item.dual_publicity

    @strawberry.field(description="应用智慧晓苏 (of the item).")
    def xiaosu(self) -> bool:
        return self.row.item.xiaosu

    @strawberry.field(description="事项: the service item this belongs to.")
    def item(self) -> ServiceItem:
        return ServiceItem.from_row(self.row.item)


@strawberry.federation.type(keys=["id"], description="办件: an application for a business item.")
class Application:
    id: strawberry.ID
    number: str = strawberry.field(description="办件编号.")
    status: ApplicationStatus = strawberry.field(description="办件状态 (back office).")
    created_at: datetime = strawberry.field(description="创建时间: when the application was started.")
    submitted_at: datetime | None = strawberry.field(description="申报时间: null until submitted.")
    updated_at: datetime = strawberry.field(description="最近更新时间.")
    evaluated_at: datetime | None = strawberry.field(description="评价时间: when the applicant rated it.")
    row: strawberry.Private[models.Application]

    @classmethod
    def from_row(cls, row: models.Application) -> Self:
        return cls(
            id=strawberry.ID(row.id), number=row.number, status=ApplicationStatus(row.status),
            created_at=row.created_at, submitted_at=row.submitted_at,
            updated_at=row.updated_at, evaluated_at=row.evaluated_at, row=row,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.application.load(str(id))
        return cls.from_row(row) if row else None

    @strawberry.field(description="单据状态: the back-office stage (待提交, 待受理, 办件中, 已办结).")
    def stage(self) -> ApplicationStage:
        return STAGE_OF[self.status]

    @strawberry.field(description="我的办件 status: 待提交, 已提交, 办理中, 已办结 or 待评价.")
    def citizen_status(self) -> CitizenStatus:
        return citizen_status(self.status, evaluated=self.evaluated_at is not None)

    @strawberry.field(description="The citizen status in the tender's words, e.g. 办理中.")
    def citizen_status_label(self) -> str:
        return CITIZEN_LABELS[self.citizen_status()]

    async def _business_item_row(self, info: Info) -> models.BusinessItem:
        row = await info.context.loaders.business_item.load(self.row.business_item_id)
        assert row is not None, "the foreign key keeps every application's business item"
        return row

    @strawberry.field(description="业务办理项 applied for.")
    async def business_item(self, info: Info) -> BusinessItem:
        return BusinessItem.from_row(await self._business_item_row(info))

    @strawberry.field(description="事项 applied for.")
    async def item(self, info: Info) -> ServiceItem:
        return ServiceItem.from_row((await self._business_item_row(info)).item)

    @strawberry.field(description="申请人: the person who applied.")
    def applicant(self) -> Person:
        return Person(uid=strawberry.ID(self.row.applicant_uid))


@strawberry.federation.type(keys=["uid"], description="人口个案 (owned by population), with its 办件.")
class Person:
    uid: strawberry.ID = strawberry.field(description="The person's key across the graph, an opaque pseudonym "
                                          "(the 统一身份识别码 is population's Person.identityCode).")

    @classmethod
    def resolve_reference(cls, uid: strawberry.ID) -> Self:
        # Nothing to look up: services knows a person only as an applicant.
        return cls(uid=uid)

    @strawberry.field(description="我的办件: the person's applications, newest first.")
    async def applications(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Application]:
        first = check_first(first)
        if after is None:
            rows = await info.context.loaders.first_applications.load((str(self.uid), first))
            return connection_from_rows(rows, first, sort_key, Application.from_row)
        # Later pages are asked for one person at a time; batching them would buy nothing.
        async with info.context.session() as session:
            stmt = select(models.Application).where(models.Application.applicant_uid == str(self.uid))
            return await newest_first_page(session, stmt, Application.from_row, first, after)
