"""security's GraphQL types."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry

from subgraphs.common.context import SubgraphContext
from subgraphs.security import access, models
from subgraphs.security.access import sees_org
from subgraphs.security.domain.assets import contact_phone_for as asset_contact_phone
from subgraphs.security.loaders import Loaders

if TYPE_CHECKING:
    from subgraphs.security.graphql.assets import AssetChange
    from subgraphs.security.graphql.incidents import SecurityIncident
    from subgraphs.security.graphql.protection import ProtectionRecord

Info = strawberry.Info[SubgraphContext[Loaders], Any]


@strawberry.enum(description="资产类型: the kind of an internet asset.")
class AssetKind(Enum):
    DOMAIN = strawberry.enum_value("DOMAIN", description="域名")
    IP = strawberry.enum_value("IP", description="IP地址")
    APPLICATION = strawberry.enum_value("APPLICATION", description="应用系统")
    SERVER = strawberry.enum_value("SERVER", description="服务器")
    TERMINAL = strawberry.enum_value("TERMINAL", description="终端设备")


@strawberry.enum(description="资产状态: whether an asset is in use.")
class AssetStatus(Enum):
    IN_USE = strawberry.enum_value("IN_USE", description="在用 (启用)")
    DISABLED = strawberry.enum_value("DISABLED", description="停用")
    SCRAPPED = strawberry.enum_value("SCRAPPED", description="报废")


@strawberry.federation.type(
    keys=["id"], description="组织机构, owned by identity; security adds the organisation's assets."
)
class Organization:
    id: strawberry.ID

    @classmethod
    async def resolve_reference(cls, id: strawberry.ID) -> Self:
        # Any id is accepted: whether the organisation exists is identity's business, and one without
        # registered assets simply has an empty list here.
        return cls(id=id)

    @strawberry.field(description="互联网资产 registered to this organisation, in id order, as the caller may see "
                                  "them (a hospital sees its own only).")
    async def assets(self, info: Info) -> list[Asset]:
        caller = info.context.caller
        rows = await info.context.loaders.assets_by_owner.load(str(self.id))
        return [Asset.from_row(r) for r in rows if access.sees_org(caller, r.owner_id, r.region_code)]

    @strawberry.field(description="网络安全事件通报 whose affected organisation is this one, newest first, as the "
                                  "caller may see them (a hospital sees its own only).")
    async def incidents(
        self, info: Info, first: int = 20
    ) -> list[Annotated[SecurityIncident, strawberry.lazy("subgraphs.security.graphql.incidents")]]:
        from subgraphs.security.graphql.incidents import org_incidents

        return await org_incidents(info, str(self.id), first)


@strawberry.federation.type(
    keys=["id"], description="互联网资产: a domain, IP address, application system, server or terminal."
)
class Asset:
    id: strawberry.ID
    kind: AssetKind = strawberry.field(description="资产类型")
    host: str = strawberry.field(description="The domain name (lower-case, IDNA) or IP address (v4 or v6, canonical "
                                             "form); unique: a second registration is refused (重复登记).")
    name: str = strawberry.field(description="资产名称 / 系统名称")
    status: AssetStatus = strawberry.field(description="资产状态")
    icp_filing_number: str | None = strawberry.field(description="域名备案号, e.g. 苏ICP备12345678号-1")
    ip_segment: str | None = strawberry.field(description="IP网段 (CIDR)")
    location: str | None = strawberry.field(description="部署位置")
    online_date: date | None = strawberry.field(description="上线时间")
    department: str | None = strawberry.field(description="资产归属部门")
    contact_name: str | None = strawberry.field(description="负责人")
    region_code: str | None = strawberry.field(description="The city (6-digit code) of the owner's region.")
    verified_at: datetime | None = strawberry.field(description="最近核查时间 (定期核查); null: never verified.")
    version: int = strawberry.field(description="Incremented by every change.")
    owner_id: strawberry.Private[str]
    row: strawberry.Private[models.Asset]

    @classmethod
    def from_row(cls, row: models.Asset) -> Self:
        return cls(
            id=strawberry.ID(row.id), kind=AssetKind(row.kind), host=row.host, name=row.name,
            status=AssetStatus(row.status), icp_filing_number=row.icp_filing_number, ip_segment=row.ip_segment,
            location=row.location, online_date=row.online_date, department=row.department,
            contact_name=row.contact_name, region_code=row.region_code, verified_at=row.verified_at,
            version=row.version or 1, owner_id=row.owner_id, row=row,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.asset.load(str(id))
        # Another unit's asset is not revealed through the entity lookup either.
        if row is None or not sees_org(info.context.caller, row.owner_id, row.region_code):
            return None
        return cls.from_row(row)

    @strawberry.field(description="资产归属单位: the organisation the asset is registered to.")
    def owner(self) -> Organization:
        return Organization(id=strawberry.ID(self.owner_id))

    @strawberry.field(description="负责人联系方式: in full for the owner organisation and the province's "
                                  "administrators, masked (138****5678) for everyone else.")
    def contact_phone(self, info: Info) -> str | None:
        return asset_contact_phone(info.context.caller, self.row)

    @strawberry.field(description="变更记录, newest first: what changed, when, by whom and why.")
    async def history(self, info: Info) -> list[Annotated[AssetChange, strawberry.lazy(
            "subgraphs.security.graphql.assets")]]:
        from subgraphs.security.graphql.assets import asset_history

        return await asset_history(info, self.row.id)

    @strawberry.field(description="等级保护 records linked to this asset (an application system).")
    async def protection_records(self, info: Info) -> list[Annotated[ProtectionRecord, strawberry.lazy(
            "subgraphs.security.graphql.protection")]]:
        from subgraphs.security.graphql.protection import records_of_asset

        return await records_of_asset(info, self.row.id)
