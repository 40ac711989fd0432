"""security's GraphQL types."""

from __future__ import annotations

from enum import Enum
from typing import Any, Self

import strawberry

from subgraphs.common.context import SubgraphContext
from subgraphs.security import models
from subgraphs.security.loaders import Loaders

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

    @strawberry.field(description="互联网资产 registered to this organisation, in id order.")
    async def assets(self, info: Info) -> list[Asset]:
        return [Asset.from_row(r) for r in await info.context.loaders.assets_by_owner.load(str(self.id))]


@strawberry.federation.type(
    keys=["id"], description="互联网资产: a domain, IP address, application system, server or terminal."
)
class Asset:
    id: strawberry.ID
    kind: AssetKind = strawberry.field(description="资产类型")
    host: str = strawberry.field(description="The domain name or IP address (v4 or v6); unique.")
    name: str = strawberry.field(description="资产名称 / 系统名称")
    status: AssetStatus = strawberry.field(description="资产状态")
    owner_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: models.Asset) -> Self:
        return cls(
            id=strawberry.ID(row.id), kind=AssetKind(row.kind), host=row.host, name=row.name,
            status=AssetStatus(row.status), owner_id=row.owner_id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.asset.load(str(id))
        return cls.from_row(row) if row else None

    @strawberry.field(description="资产归属单位: the organisation the asset is registered to.")
    def owner(self) -> Organization:
        return Organization(id=strawberry.ID(self.owner_id))
