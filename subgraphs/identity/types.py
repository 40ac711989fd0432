"""identity's GraphQL types."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Self

import strawberry
from sqlalchemy import select
from strawberry.federation.schema_directives import Authenticated, Key
from strawberry.federation.types import FieldSet

from subgraphs.common.context import SubgraphContext
from subgraphs.common.errors import forbidden
from subgraphs.common.masking import mask_phone
from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.identity import models
from subgraphs.identity.domain import guard, logs
from subgraphs.identity.domain.personal import reveal
from subgraphs.identity.loaders import Loaders

Info = strawberry.Info[SubgraphContext[Loaders], Any]

# @authenticated: the router refuses anonymous callers before planning (the resolvers check again, and
# check more: domain/guard.py).
SIGNED_IN = [Authenticated()]


@strawberry.enum(description="机构类型: the kind of an organisation.")
class OrganizationKind(Enum):
    HEALTH_COMMISSION = strawberry.enum_value("HEALTH_COMMISSION", description="卫生健康委员会 (卫健委)")
    HOSPITAL = strawberry.enum_value("HOSPITAL", description="医院")
    COMMUNITY_HEALTH_CENTER = strawberry.enum_value(
        "COMMUNITY_HEALTH_CENTER", description="社区卫生服务中心"
    )
    TOWNSHIP_HEALTH_CENTER = strawberry.enum_value("TOWNSHIP_HEALTH_CENTER", description="乡镇卫生院")
    CLINIC = strawberry.enum_value("CLINIC", description="诊所 / 门诊部")
    VILLAGE_CLINIC = strawberry.enum_value("VILLAGE_CLINIC", description="村卫生室")
    DISEASE_CONTROL = strawberry.enum_value("DISEASE_CONTROL", description="疾病预防控制中心")
    PUBLIC_HEALTH = strawberry.enum_value(
        "PUBLIC_HEALTH", description="其他公共卫生机构 (急救中心、血站、卫生监督所 ...)"
    )


@strawberry.enum(description="机构层级: the administrative level an organisation sits at.")
class OrganizationLevel(Enum):
    PROVINCE = strawberry.enum_value("PROVINCE", description="省级")
    CITY = strawberry.enum_value("CITY", description="市级")
    COUNTY = strawberry.enum_value("COUNTY", description="县级 (区、县、县级市)")
    TOWNSHIP = strawberry.enum_value("TOWNSHIP", description="乡级 (乡镇、街道)")
    VILLAGE = strawberry.enum_value("VILLAGE", description="村级 (村、社区)")


@strawberry.enum(description="账号状态: the status of a user account.")
class UserStatus(Enum):
    NORMAL = strawberry.enum_value("NORMAL", description="正常")
    FROZEN = strawberry.enum_value("FROZEN", description="冻结")
    CANCELLED = strawberry.enum_value("CANCELLED", description="注销")


@strawberry.enum(description="性别")
class Gender(Enum):
    MALE = strawberry.enum_value("MALE", description="男")
    FEMALE = strawberry.enum_value("FEMALE", description="女")


@strawberry.enum(description="角色类型")
class RoleKind(Enum):
    ADMIN = strawberry.enum_value("ADMIN", description="管理员角色")
    BUSINESS = strawberry.enum_value("BUSINESS", description="业务角色")


@strawberry.enum(description="角色状态")
class RoleStatus(Enum):
    ENABLED = strawberry.enum_value("ENABLED", description="启用")
    DISABLED = strawberry.enum_value("DISABLED", description="禁用")


@strawberry.enum(description="权限类型")
class PermissionKind(Enum):
    DATA = strawberry.enum_value("DATA", description="数据权限")
    FUNCTION = strawberry.enum_value("FUNCTION", description="功能权限")
    MENU = strawberry.enum_value("MENU", description="菜单权限")


@strawberry.enum(description="访问范围 of a data permission, narrowest first.")
class DataScope(Enum):
    OWN_DEPT = strawberry.enum_value("OWN_DEPT", description="本部门")
    OWN_ORG = strawberry.enum_value("OWN_ORG", description="本机构")
    CROSS_ORG = strawberry.enum_value("CROSS_ORG", description="跨机构")
    ALL = strawberry.enum_value("ALL", description="全量")


@strawberry.enum(description="登录方式")
class LoginMethod(Enum):
    SSO = strawberry.enum_value("SSO", description="SSO登录")
    CAS = strawberry.enum_value("CAS", description="CAS登录")
    THIRD_PARTY = strawberry.enum_value("THIRD_PARTY", description="第三方登录 (微信/支付宝/苏服码)")
    NON_SSO = strawberry.enum_value("NON_SSO", description="非SSO登录")


@strawberry.enum(description="Which operation-log entries of a user: those it made, or those about it.")
class LogInvolvement(Enum):
    ACTOR = strawberry.enum_value("ACTOR", description="操作日志: what the user did")
    TARGET = strawberry.enum_value("TARGET", description="what was done to the account (status changes, resets)")


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
    code: str | None = strawberry.field(description="机构编码")
    person_in_charge: str | None = strawberry.field(description="负责人")
    address: str | None = strawberry.field(description="地址")
    contact: str | None = strawberry.field(description="联系方式")
    created_at: datetime | None = strawberry.field(description="创建时间")
    region_code: strawberry.Private[str]
    parent_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: models.Organization) -> Self:
        return cls(
            id=strawberry.ID(row.id), name=row.name, kind=OrganizationKind(row.kind),
            level=OrganizationLevel(row.level), credit_code=row.credit_code, code=row.code,
            person_in_charge=row.person_in_charge, address=row.address, contact=row.contact,
            created_at=row.created_at, region_code=row.region_code, parent_id=row.parent_id,
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

    @strawberry.field(description="All superior organisations, the root (the provincial commission) first.")
    async def ancestors(self, info: Info) -> list[Organization]:
        chain: list[Organization] = []
        parent_id, seen = self.parent_id, {str(self.id)}
        # `seen` guards against a cycle a hand-edited database could contain.
        while parent_id is not None and parent_id not in seen:
            seen.add(parent_id)
            parent = await organization_by_id(info, parent_id)
            if parent is None:
                break
            chain.append(parent)
            parent_id = parent.parent_id
        return list(reversed(chain))

    @strawberry.field(description="下级机构, in id order.")
    async def children(self, info: Info) -> list[Organization]:
        rows = await info.context.loaders.organization_children.load(str(self.id))
        return [Organization.from_row(r) for r in rows]

    @strawberry.field(description="下级机构数: direct sub-organisations.")
    async def child_count(self, info: Info) -> int:
        return await info.context.loaders.child_count.load(str(self.id))

    @strawberry.field(description="关联用户数: users directly in this organisation (not its children).")
    async def user_count(self, info: Info) -> int:
        return await info.context.loaders.user_count.load(str(self.id))

    @strawberry.field(description="关联用户: the users directly in this organisation, in id order.")
    async def users(self, info: Info, first: int = 20, after: str | None = None) -> Connection[User]:
        if not await guard.federated_may_see(info, str(self.id)):
            if getattr(info.context, "caller", None) is None:
                raise guard.unauthenticated("Sign in to see the users of an organisation.")
            raise forbidden(f"Organisation {self.id} lies outside your data scope.")
        stmt = select(models.User).where(models.User.organization_id == str(self.id))
        return await user_page(info, stmt, first, after)


async def organization_by_id(info: Info, id_: str) -> Organization | None:
    row = await info.context.loaders.organization.load(id_)
    return Organization.from_row(row) if row else None


async def user_page(info: Info, stmt: Any, first: int, after: str | None) -> Connection[User]:
    async with info.context.session() as session:
        return await keyset_page(
            session,
            stmt,
            order_by=[models.User.id.expression],
            sort_key=lambda row: [row.id],
            to_node=User.from_row,
            page=PageRequest(first=first, after=after),
        )


@strawberry.type(description="登录记录: one sign-in attempt.")
class LoginRecord:
    at: datetime = strawberry.field(description="登录时间")
    method: LoginMethod = strawberry.field(description="登录方式")
    channel: str | None = strawberry.field(description="第三方渠道 (WECHAT, ALIPAY, SFM) of a third-party login.")
    ip: str | None = strawberry.field(description="登录IP")
    device: str | None = strawberry.field(description="登录设备")
    success: bool = strawberry.field(description="登录状态: whether the sign-in succeeded.")
    failure_reason: str | None = strawberry.field(description="失败原因")

    @classmethod
    def from_row(cls, row: models.LoginEvent) -> Self:
        return cls(at=row.at, method=LoginMethod(row.method), channel=row.channel, ip=row.ip, device=row.device,
                   success=row.success, failure_reason=row.failure_reason)


@strawberry.type(description="操作日志: one change made through the portal.")
class OperationLogEntry:
    id: strawberry.ID
    at: datetime = strawberry.field(description="操作时间")
    actor_id: strawberry.ID | None = strawberry.field(description="操作人 (a user id), null if unknown.")
    action: str = strawberry.field(description="操作类型, e.g. CHANGE_USER_STATUS.")
    target_type: str
    target_id: str
    reason: str | None = strawberry.field(description="操作理由, where the operation needs one.")
    detail: str = strawberry.field(description="What changed, as a JSON object.")
    ip: str | None

    @classmethod
    def from_row(cls, row: models.OperationLog) -> Self:
        detail = row.detail if isinstance(row.detail, dict) else {}
        reason = detail.get("reason")
        return cls(
            id=strawberry.ID(str(row.id)), at=row.at, actor_id=strawberry.ID(row.actor_id) if row.actor_id else None,
            action=row.action, target_type=row.target_type, target_id=row.target_id,
            reason=reason if isinstance(reason, str) else None,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str), ip=row.ip,
        )


@strawberry.federation.type(keys=["id"], description="用户: a staff account of the unified portal.")
class User:
    id: strawberry.ID
    username: str = strawberry.field(description="用户名 (immutable).")
    status: UserStatus = strawberry.field(description="账号状态")
    status_reason: str | None = strawberry.field(description="操作理由 of the latest status change.")
    email: str | None = strawberry.field(description="邮箱")
    gender: Gender | None = strawberry.field(description="性别")
    department: str | None = strawberry.field(description="部门")
    remark: str | None = strawberry.field(description="备注")
    must_change_password: bool = strawberry.field(
        description="True after an administrator's reset (or creation): the password must be changed at sign-in."
    )
    created_at: datetime = strawberry.field(description="创建时间")
    organization_id: strawberry.Private[str]
    name_cipher: strawberry.Private[bytes | None]
    mobile_cipher: strawberry.Private[bytes | None]
    legacy_name: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: models.User) -> Self:
        return cls(
            id=strawberry.ID(row.id), username=row.username, status=UserStatus(row.status),
            status_reason=row.status_reason, email=row.email,
            gender=Gender(row.gender) if row.gender in ("MALE", "FEMALE") else None,
            department=row.department, remark=row.remark, must_change_password=bool(row.must_change_password),
            created_at=row.created_at, organization_id=row.organization_id, name_cipher=row.name_cipher,
            mobile_cipher=row.mobile_cipher, legacy_name=row.display_name,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.user.load(str(id))
        if row is None or not await guard.federated_may_see(info, row.organization_id, row.id):
            return None
        return cls.from_row(row)

    @strawberry.field(description="姓名 (stored encrypted).")
    async def name(self, info: Info) -> str:
        if self.name_cipher is None:
            # Rows written before encryption keep the plaintext until the encryption job moves it.
            return self.legacy_name or ""
        return await reveal(info.context.sessions, self.name_cipher) or ""

    @strawberry.field(description="姓名", deprecation_reason="Use `name`.")
    async def display_name(self, info: Info) -> str:
        return await self.name(info)

    @strawberry.field(description="手机号, stored encrypted and shown masked (138****5678).")
    async def mobile(self, info: Info) -> str | None:
        return mask_phone(await reveal(info.context.sessions, self.mobile_cipher))

    @strawberry.field(description="所属机构")
    async def organization(self, info: Info) -> Organization | None:
        return await organization_by_id(info, self.organization_id)

    @strawberry.field(description="角色, by code.")
    async def roles(self, info: Info) -> list[Role]:
        return [Role.from_row(r) for r in await info.context.loaders.roles_of_user.load(str(self.id))]

    @strawberry.field(
        description="数据权限范围: the widest data scope among the effective data permissions of the user's "
        "enabled roles (ALL > CROSS_ORG > OWN_ORG > OWN_DEPT); null: no data access."
    )
    async def data_scope(self, info: Info) -> DataScope | None:
        scope = await info.context.loaders.data_scope.load(str(self.id))
        return DataScope(scope) if scope else None

    @strawberry.field(
        description="近30天登录记录: sign-ins of the last 30 days, newest first; `from` earlier than 30 days "
        "ago is moved up to it. The user themself or an administrator within reach.",
        directives=SIGNED_IN,
    )
    async def login_history(
        self, info: Info, from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None, method: LoginMethod | None = None, success: bool | None = None,
        first: int = 20, after: str | None = None,
    ) -> Connection[LoginRecord]:
        await guard.require_user_records(info, str(self.id), self.organization_id)
        async with info.context.session() as session:
            return await logs.login_history(
                session, str(self.id), LoginRecord.from_row, first=first, after=after, since=from_, until=to,
                method=method.name if method else None, success=success,
            )

    @strawberry.field(description="操作日志 of the user, newest first. The user themself or an administrator within "
                      "reach.", directives=SIGNED_IN)
    async def operation_log(
        self, info: Info, involvement: LogInvolvement = LogInvolvement.ACTOR, first: int = 20,
        after: str | None = None,
    ) -> Connection[OperationLogEntry]:
        await guard.require_user_records(info, str(self.id), self.organization_id)
        async with info.context.session() as session:
            if involvement is LogInvolvement.ACTOR:
                return await logs.operation_log(session, OperationLogEntry.from_row, first=first, after=after,
                                                actor_id=str(self.id))
            return await logs.operation_log(session, OperationLogEntry.from_row, first=first, after=after,
                                            target=("User", str(self.id)))


@strawberry.type(description="角色: a role of the portal.")
class Role:
    id: strawberry.ID
    code: str = strawberry.field(description="角色编码 (immutable).")
    name: str = strawberry.field(description="角色名称")
    kind: RoleKind = strawberry.field(description="角色类型")
    description: str | None = strawberry.field(description="描述")
    status: RoleStatus = strawberry.field(description="状态")
    status_reason: str | None = strawberry.field(description="操作理由 of the latest status change.")
    remark: str | None = strawberry.field(description="备注")
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.Role) -> Self:
        return cls(id=strawberry.ID(row.id), code=row.code, name=row.name, kind=RoleKind(row.kind),
                   description=row.description, status=RoleStatus(row.status), status_reason=row.status_reason,
                   remark=row.remark, created_at=row.created_at)

    @strawberry.field(description="关联用户数, counted when asked (实时).")
    async def user_count(self, info: Info) -> int:
        return await info.context.loaders.role_user_count.load(str(self.id))

    @strawberry.field(description="关联用户, in id order, within the caller's reach (administrators only).",
                      directives=SIGNED_IN)
    async def users(self, info: Info, first: int = 20, after: str | None = None) -> Connection[User]:
        scope = await guard.staff_scope(info)
        stmt = select(models.User).where(models.User.id.in_(
            select(models.UserRole.user_id).where(models.UserRole.role_id == str(self.id))))
        return await user_page(info, stmt.where(guard.in_scope(scope, models.User.organization_id)), first, after)

    @strawberry.field(description="The role's permissions, by kind and code.")
    async def permissions(self, info: Info) -> list[Permission]:
        return [Permission.from_row(p) for p in await info.context.loaders.role_permissions.load(str(self.id))]


@strawberry.type(description="权限: a data, function or menu permission of the portal or a connected system.")
class Permission:
    id: strawberry.ID
    system: str = strawberry.field(description="系统: `portal` for the portal's own permissions.")
    kind: PermissionKind = strawberry.field(description="权限类型")
    code: str = strawberry.field(description="权限编码")
    name: str = strawberry.field(description="权限名称")
    description: str | None = strawberry.field(description="权限描述 / 操作描述")
    data_scope: DataScope | None = strawberry.field(description="访问范围 of a data permission.")
    menu_path: str | None = strawberry.field(description="菜单路径 of a menu permission.")
    effective: bool = strawberry.field(description="生效状态")
    effective_from: datetime | None = strawberry.field(description="生效时间; null: effective since created.")
    parent_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: models.Permission) -> Self:
        return cls(id=strawberry.ID(row.id), system=row.system, kind=PermissionKind(row.kind), code=row.code,
                   name=row.name, description=row.description,
                   data_scope=DataScope(row.data_scope) if row.data_scope else None, menu_path=row.menu_path,
                   effective=bool(row.effective), effective_from=row.effective_from, parent_id=row.parent_id)

    @strawberry.field(description="The parent menu.")
    async def parent(self, info: Info) -> Permission | None:
        if self.parent_id is None:
            return None
        row = await info.context.loaders.permission.load(self.parent_id)
        return Permission.from_row(row) if row else None

    @strawberry.field(description="Sub-menus and the function permissions under this menu, by code.")
    async def children(self, info: Info) -> list[Permission]:
        return [Permission.from_row(p) for p in await info.context.loaders.permission_children.load(str(self.id))]

    @strawberry.field(description="菜单层级: 1 for a top-level menu.")
    async def level(self, info: Info) -> int:
        depth, parent_id, seen = 1, self.parent_id, {str(self.id)}
        while parent_id is not None and parent_id not in seen:
            seen.add(parent_id)
            row = await info.context.loaders.permission.load(parent_id)
            if row is None:
                break
            depth, parent_id = depth + 1, row.parent_id
        return depth


@strawberry.federation.type(
    keys=["uid"], description="人口个案, owned by population; identity adds the person's account."
)
class Person:
    uid: strawberry.ID = strawberry.field(description="The person's key across the graph, an opaque pseudonym "
                                          "(the 统一身份识别码 is population's Person.identityCode).")

    @classmethod
    async def resolve_reference(cls, uid: strawberry.ID) -> Self:
        # Any uid is accepted: whether the person exists is population's business, and a person
        # without an account simply has account = null here.
        return cls(uid=uid)

    @strawberry.field(description="The user account linked to this person, if any.")
    async def account(self, info: Info) -> User | None:
        row = await info.context.loaders.account.load(str(self.uid))
        if row is None or not await guard.federated_may_see(info, row.organization_id, row.id):
            return None
        return User.from_row(row)


# --- mutation results ----------------------------------------------------------------------------


@strawberry.type(description="A user and the one-time temporary password it signs in with once.")
class UserWithPassword:
    user: User
    temporary_password: str = strawberry.field(
        description="临时密码: shown this once, stored only hashed; it must be changed at the first sign-in."
    )


@strawberry.type(description="The result of merging organisations into a target.")
class MergeOrganizationsResult:
    target: Organization
    users_moved: int
    children_moved: int
