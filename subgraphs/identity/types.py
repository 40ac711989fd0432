"""identity's GraphQL types."""

from __future__ import annotations

from enum import Enum
from typing import Any, Self

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from subgraphs.common.context import SubgraphContext
from subgraphs.identity import models
from subgraphs.identity.loaders import Loaders

Info = strawberry.Info[SubgraphContext[Loaders], Any]


@strawberry.enum(description="机构类型: the kind of an organisation.")
class OrganizationKind(Enum):
    HEALTH_COMMISSION = strawberry.enum_value("HEALTH_COMMISSION", description="卫生健康委员会 (卫健委)")
    HOSPITAL = strawberry.enum_value("HOSPITAL", description="医院")
    COMMUNITY_HEALTH_CENTER = strawberry.enum_value(
        "COMMUNITY_HEALTH_CENTER", description="社区卫生服务中心"
    )
    TOWNSHIP_HEALTH_CENTER = strawberry.enum_value("TOWNSHIP_HEALTH_CENTER", description="乡镇卫生院")
    CLINIC = strawberry.enum_value("CLINIC", description="诊所 / 卫生室")


@strawberry.enum(description="机构层级: the administrative level an organisation sits at.")
class OrganizationLevel(Enum):
    PROVINCE = strawberry.enum_value("PROVINCE", description="省级")
    CITY = strawberry.enum_value("CITY", description="市级")
    COUNTY = strawberry.enum_value("COUNTY", description="县级 (区、县、县级市)")
    TOWNSHIP = strawberry.enum_value("TOWNSHIP", description="乡级 (乡镇、街道)")


@strawberry.enum(description="账号状态: the status of a user account.")
class UserStatus(Enum):
    NORMAL = strawberry.enum_value("NORMAL", description="正常")
    FROZEN = strawberry.enum_value("FROZEN", description="冻结")
    CANCELLED = strawberry.enum_value("CANCELLED", description="注销")


@strawberry.federation.type(
    keys=[Key(fields=FieldSet("code"), resolvable=False)],
    description="区划: an administrative region, owned by population; identity only refers to it.",
)
class Region:
    code: strawberry.ID


@strawberry.federation.type(keys=["id"], description="组织机构: a health commission or medical institution.")
class Organization:
    id: strawberry.ID
    name: str = strawberry.field(description="机构名称")
    kind: OrganizationKind = strawberry.field(description="机构类型")
    level: OrganizationLevel = strawberry.field(description="机构层级")
    credit_code: str = strawberry.field(description="统一社会信用代码 (GB 32100-2015).")
    region_code: strawberry.Private[str]
    parent_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: models.Organization) -> Self:
        return cls(
            id=strawberry.ID(row.id), name=row.name, kind=OrganizationKind(row.kind),
            level=OrganizationLevel(row.level), credit_code=row.credit_code,
            region_code=row.region_code, parent_id=row.parent_id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.organization.load(str(id))
        return cls.from_row(row) if row else None

    @strawberry.field(description="行政区划: the region the organisation belongs to.")
    def region(self) -> Region:
        return Region(code=strawberry.ID(self.region_code))

    @strawberry.field(description="上级机构")
    async def parent(self, info: Info) -> Organization | None:
        if self.parent_id is None:
            return None
        return await organization_by_id(info, self.parent_id)

    @strawberry.field(description="下级机构, in id order.")
    async def children(self, info: Info) -> list[Organization]:
        rows = await info.context.loaders.organization_children.load(str(self.id))
        return [Organization.from_row(r) for r in rows]

    @strawberry.field(description="关联用户数: users directly in this organisation (not its children).")
    async def user_count(self, info: Info) -> int:
        return await info.context.loaders.user_count.load(str(self.id))


async def organization_by_id(info: Info, id_: str) -> Organization | None:
    row = await info.context.loaders.organization.load(id_)
    return Organization.from_row(row) if row else None


@strawberry.federation.type(keys=["id"], description="用户: a staff account of the unified portal.")
class User:
    id: strawberry.ID
    username: str = strawberry.field(description="用户名 (immutable).")
    display_name: str = strawberry.field(description="姓名")
    status: UserStatus = strawberry.field(description="账号状态")
    organization_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: models.User) -> Self:
        return cls(
            id=strawberry.ID(row.id), username=row.username, display_name=row.display_name or "",
            status=UserStatus(row.status), organization_id=row.organization_id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.user.load(str(id))
        return cls.from_row(row) if row else None

    @strawberry.field(description="所属机构")
    async def organization(self, info: Info) -> Organization | None:
        return await organization_by_id(info, self.organization_id)


@strawberry.federation.type(
    keys=["uid"], description="人口个案, owned by population; identity adds the person's account."
)
class Person:
    uid: strawberry.ID = strawberry.field(description="统一身份识别码, the person's key across the graph.")

    @classmethod
    async def resolve_reference(cls, uid: strawberry.ID) -> Self:
        # Any uid is accepted: whether the person exists is population's business, and a person
        # without an account simply has account = null here.
        return cls(uid=uid)

    @strawberry.field(description="The user account linked to this person, if any.")
    async def account(self, info: Info) -> User | None:
        row = await info.context.loaders.account.load(str(self.uid))
        return User.from_row(row) if row else None
