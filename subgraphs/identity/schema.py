"""identity's root fields and federation schema."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.tools import merge_types

from subgraphs.common.errors import bad_input
from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.common.regions import in_subtree
from subgraphs.common.schema import schema_extensions
from subgraphs.identity import models
from subgraphs.identity.domain import exports, guard, self_service, user_files
from subgraphs.identity.domain import logs as log_pages
from subgraphs.identity.domain import organizations as org_rules
from subgraphs.identity.domain import roles as role_rules
from subgraphs.identity.domain import users as user_rules
from subgraphs.identity.domain.caller import caller_id
from subgraphs.identity.domain.personal import cipher_of
from subgraphs.identity.mapping import accounts as mapping_accounts
from subgraphs.identity.mapping import graphql as mapping_graphql

# One file format, row error and download type for every import and export of identity.
from subgraphs.identity.mapping.types import AccountMapping, ExportFile, FileFormat, ImportRowError
from subgraphs.identity.oauth import graphql as channel_graphql
from subgraphs.identity.security import graphql as security_graphql
from subgraphs.identity.security.passwords import REMINDER_DAYS, PasswordStatus
from subgraphs.identity.types import (
    SIGNED_IN,
    DataScope,
    Gender,
    Info,
    LoginMethod,
    LoginRecord,
    LogInvolvement,
    MergeOrganizationsResult,
    OperationLogEntry,
    Organization,
    OrganizationKind,
    OrganizationLevel,
    Permission,
    PermissionKind,
    Person,
    Region,
    Role,
    RoleKind,
    RoleStatus,
    User,
    UserStatus,
    UserWithPassword,
    organization_by_id,
    user_page,
)

MAX_KEYWORD_LENGTH = 50


def _keyword(keyword: str | None) -> str | None:
    keyword = (keyword or "").strip()
    if not keyword:
        return None
    if len(keyword) > MAX_KEYWORD_LENGTH:
        raise bad_input(f"keyword must be at most {MAX_KEYWORD_LENGTH} characters.", argument="keyword",
                        maximum=MAX_KEYWORD_LENGTH)
    return keyword


def _given(value: Any) -> dict[str, Any]:
    """The fields of an update input that the client sent (UNSET ones are left alone; null clears)."""
    out: dict[str, Any] = {}
    for key, item in vars(value).items():
        if item is strawberry.UNSET:
            continue
        if isinstance(item, list):
            item = [str(i) for i in item]
        elif hasattr(item, "value") and not isinstance(item, str):
            item = item.value
        elif isinstance(item, str) and key.endswith("_id"):
            item = str(item)
        out[key] = item
    return out


async def _user_filter(
    info: Info, organization_id: strawberry.ID | None, include_descendants: bool, status: UserStatus | None,
    role_id: strawberry.ID | None, keyword: str | None,
) -> tuple[Any, user_rules.UserFilter]:
    keyword = _keyword(keyword)
    # Names and mobiles are matched by blind index, which needs the keys; a plain listing does not.
    cipher = await cipher_of(info.context.sessions) if keyword else None
    f = user_rules.UserFilter(
        organization_id=str(organization_id) if organization_id is not None else None,
        include_descendants=include_descendants, status=status.name if status else None,
        role_id=str(role_id) if role_id is not None else None, keyword=keyword,
    )
    return user_rules.filtered(select(models.User), cipher, f), f


async def _check_organization_filter(info: Info, organization_id: strawberry.ID | None) -> None:
    if organization_id is not None and await info.context.loaders.organization.load(str(organization_id)) is None:
        raise bad_input(f"No organisation has id {organization_id}.", argument="organizationId")


def _role_filter(keyword: str | None, kind: RoleKind | None, status: RoleStatus | None) -> Any:
    """The role list's filters (roles and exportRoles select the same roles)."""
    stmt = select(models.Role)
    if (word := _keyword(keyword)) is not None:
        stmt = stmt.where(models.Role.code.contains(word, autoescape=True)
                          | models.Role.name.contains(word, autoescape=True))
    if kind is not None:
        stmt = stmt.where(models.Role.kind == kind.name)
    if status is not None:
        stmt = stmt.where(models.Role.status == status.name)
    return stmt


async def _guard_user_update(info: Info, user_id: str, input: UpdateUserInput) -> None:
    """An administrator of the user's organisation, and of the one it moves to; roles it may give."""
    await guard.require_user_admin(info, user_id)
    if input.organization_id:
        await guard.require_admin(info, organization_id=str(input.organization_id))
    if input.role_ids:
        await guard.require_grantable(info, [str(r) for r in input.role_ids])


async def _guard_organization_update(info: Info, organization_id: str, input: UpdateOrganizationInput) -> None:
    """An administrator of the organisation, of its new parent and of its new region."""
    await guard.require_admin(
        info, organization_id=organization_id,
        organization_ids=[str(input.parent_id)] if input.parent_id else (),
        region_code=str(input.region_code) if input.region_code else None,
    )


# --- 个人中心 --------------------------------------------------------------------------------------


@strawberry.enum(description="密码状态 under the password policy in force.")
class PasswordState(Enum):
    OK = strawberry.enum_value("OK", description="有效")
    EXPIRING = strawberry.enum_value("EXPIRING", description=f"即将过期: within {REMINDER_DAYS} days (到期提醒).")
    EXPIRED = strawberry.enum_value("EXPIRED", description="已过期: it must be changed.")
    MUST_CHANGE = strawberry.enum_value(
        "MUST_CHANGE", description="须修改: a temporary password (creation or an administrator's reset)."
    )


@strawberry.type(name="PasswordStatus", description="The signed-in user's password: expiry and the reminder.")
class PasswordStatusInfo:
    state: PasswordState
    expires_at: datetime | None = strawberry.field(description="When the password expires under the policy.")
    days_left: int | None = strawberry.field(description="Whole days until expiry, rounded up; 0 once expired.")
    must_change: bool = strawberry.field(description="EXPIRED or MUST_CHANGE: change it before anything else.")
    reminder: str | None = strawberry.field(description="The reminder to show (null when the password is OK).")

    @classmethod
    def of(cls, status: PasswordStatus) -> PasswordStatusInfo:
        texts = {
            "EXPIRING": f"密码将在{status.days_left}天后过期，请及时修改。",
            "EXPIRED": "密码已过期，请立即修改。",
            "MUST_CHANGE": "当前为临时密码，请修改密码。",
        }
        return cls(state=PasswordState(status.state), expires_at=status.expires_at, days_left=status.days_left,
                    must_change=status.must_change, reminder=texts.get(status.state))


@strawberry.type(description="个人中心: the signed-in user's own account, its third-party links and password status.")
class PersonalCentre:
    account: User = strawberry.field(
        description="姓名, 所属机构, 角色, 账号状态, mustChangePassword ... of the signed-in user."
    )
    password_status: PasswordStatusInfo = strawberry.field(description="密码状态: expiry and the reminder.")

    @strawberry.field(description="用户对照关系: the user's accounts in connected systems, by system code.")
    async def account_mappings(self, info: Info, include_unlinked: bool = False) -> list[AccountMapping]:
        stmt = mapping_accounts.mappings_query(user_id=str(self.account.id),
                                               status=None if include_unlinked else "LINKED")
        async with info.context.session() as session:
            rows = (await session.scalars(stmt.order_by(models.AccountMapping.system_code))).all()
        return [AccountMapping.from_row(r) for r in rows]


async def _personal_centre(session: AsyncSession, row: models.User) -> PersonalCentre:
    status = await self_service.password_status_of(session, row)
    return PersonalCentre(account=User.from_row(row), password_status=PasswordStatusInfo.of(status))


# --- 全系统权限汇总 --------------------------------------------------------------------------------


@strawberry.type(description="全系统权限汇总: one system's card, its permissions by type and code.")
class SystemPermissions:
    system: str = strawberry.field(description="系统编码: `portal` or a connected system's code.")
    system_name: str = strawberry.field(description="系统名称")
    permissions: list[Permission]

    @strawberry.field(description="数据权限 among `permissions`.")
    def data_count(self) -> int:
        return sum(p.kind is PermissionKind.DATA for p in self.permissions)

    @strawberry.field(description="功能权限 among `permissions`.")
    def function_count(self) -> int:
        return sum(p.kind is PermissionKind.FUNCTION for p in self.permissions)

    @strawberry.field(description="菜单权限 among `permissions`.")
    def menu_count(self) -> int:
        return sum(p.kind is PermissionKind.MENU for p in self.permissions)


@strawberry.type
class CoreQuery:
    @strawberry.field(description="One organisation by id.")
    async def organization(self, info: Info, id: strawberry.ID) -> Organization | None:
        return await organization_by_id(info, str(id))

    @strawberry.field(
        description="Organisations in id order; regionCode keeps those whose region lies in that region's "
        "subtree (320000 is the whole province, 320500 the city of Suzhou and its counties and townships); "
        "keyword matches names (模糊); parentId keeps the direct sub-organisations of one organisation."
    )
    async def organizations(
        self,
        info: Info,
        region_code: strawberry.ID | None = None,
        kind: OrganizationKind | None = None,
        level: OrganizationLevel | None = None,
        keyword: str | None = None,
        parent_id: strawberry.ID | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Organization]:
        stmt = select(models.Organization)
        if region_code is not None:
            stmt = stmt.where(in_subtree(models.Organization.region_code, str(region_code)))
        if kind is not None:
            stmt = stmt.where(models.Organization.kind == kind.name)
        if level is not None:
            stmt = stmt.where(models.Organization.level == level.name)
        if (word := _keyword(keyword)) is not None:
            stmt = stmt.where(models.Organization.name.contains(word, autoescape=True))
        if parent_id is not None:
            stmt = stmt.where(models.Organization.parent_id == str(parent_id))
        async with info.context.session() as session:
            return await keyset_page(
                session,
                stmt,
                # keyset_page is typed for column expressions; .expression is the same column.
                order_by=[models.Organization.id.expression],
                sort_key=lambda row: [row.id],
                to_node=Organization.from_row,
                page=PageRequest(first=first, after=after),
            )

    @strawberry.field(description="The top of the organisation tree (一级机构, shown expanded by default).")
    async def organization_roots(self, info: Info) -> list[Organization]:
        async with info.context.session() as session:
            rows = (await session.scalars(select(models.Organization).where(models.Organization.parent_id.is_(None))
                                          .order_by(models.Organization.id))).all()
        return [Organization.from_row(r) for r in rows]

    @strawberry.field(
        description="One user by id: an administrator within reach, or the user themself.",
        directives=SIGNED_IN,
    )
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        guard.signed_in_caller(info)
        row = await info.context.loaders.user.load(str(id))
        if row is None or not await guard.may_read_user(info, row.id, row.organization_id):
            return None
        return User.from_row(row)

    @strawberry.field(
        description="Users in id order. organizationId keeps the users of that organisation, and with "
        "includeDescendants those of all its sub-organisations too; keyword matches usernames fuzzily and "
        "names and mobile numbers exactly (they are stored encrypted).",
        directives=SIGNED_IN,
    )
    async def users(
        self,
        info: Info,
        organization_id: strawberry.ID | None = None,
        include_descendants: bool = False,
        status: UserStatus | None = None,
        role_id: strawberry.ID | None = None,
        keyword: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[User]:
        scope = await guard.staff_scope(info)
        await guard.check_organization_filter(info, scope, str(organization_id) if organization_id else None)
        stmt, _ = await _user_filter(info, organization_id, include_descendants, status, role_id, keyword)
        page = await user_page(info, stmt.where(guard.in_scope(scope, models.User.organization_id)), first, after)
        # Only an empty page can hide a misspelt id; a populated one proves the organisation exists.
        if not page.edges:
            await _check_organization_filter(info, organization_id)
        return page

    @strawberry.field(description="One role by id.", directives=SIGNED_IN)
    async def role(self, info: Info, id: strawberry.ID) -> Role | None:
        await guard.require_admin(info)
        row = await info.context.loaders.role.load(str(id))
        return Role.from_row(row) if row else None

    @strawberry.field(description="Roles by code; keyword matches codes and names (模糊).", directives=SIGNED_IN)
    async def roles(
        self,
        info: Info,
        keyword: str | None = None,
        kind: RoleKind | None = None,
        status: RoleStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Role]:
        await guard.require_admin(info)
        stmt = _role_filter(keyword, kind, status)
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[models.Role.code.expression],
                                     sort_key=lambda row: [row.code], to_node=Role.from_row,
                                     page=PageRequest(first=first, after=after))

    @strawberry.field(description="One permission by id.", directives=SIGNED_IN)
    async def permission(self, info: Info, id: strawberry.ID) -> Permission | None:
        await guard.require_admin(info)
        row = await info.context.loaders.permission.load(str(id))
        return Permission.from_row(row) if row else None

    @strawberry.field(description="Permissions by system and code; keyword matches codes and names (模糊).",
                      directives=SIGNED_IN)
    async def permissions(
        self,
        info: Info,
        kind: PermissionKind | None = None,
        system: str | None = None,
        keyword: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Permission]:
        await guard.require_admin(info)
        stmt = select(models.Permission)
        if kind is not None:
            stmt = stmt.where(models.Permission.kind == kind.name)
        if system is not None:
            stmt = stmt.where(models.Permission.system == system)
        if (word := _keyword(keyword)) is not None:
            stmt = stmt.where(models.Permission.code.contains(word, autoescape=True)
                              | models.Permission.name.contains(word, autoescape=True))
        async with info.context.session() as session:
            return await keyset_page(
                session, stmt, order_by=[models.Permission.system.expression, models.Permission.code.expression],
                sort_key=lambda row: [row.system, row.code], to_node=Permission.from_row,
                page=PageRequest(first=first, after=after))

    @strawberry.field(
        description="菜单权限树: a system's top-level menus; each has its children.",
        directives=SIGNED_IN,
    )
    async def menu_tree(self, info: Info, system: str = "portal") -> list[Permission]:
        guard.signed_in_caller(info)
        async with info.context.session() as session:
            rows = (await session.scalars(
                select(models.Permission).where(models.Permission.system == system,
                                                models.Permission.kind == "MENU",
                                                models.Permission.parent_id.is_(None))
                .order_by(models.Permission.code))).all()
        return [Permission.from_row(r) for r in rows]

    @strawberry.field(description="用户导入模板: the empty import file, with the rules on a second sheet (XLSX).",
                      directives=SIGNED_IN)
    async def user_import_template(self, info: Info, format: FileFormat = FileFormat.XLSX) -> ExportFile:
        await guard.require_admin(info)
        return _download(user_files.template(format.name))

    @strawberry.field(
        description="用户导出: the users the same filters as `users` select (all without filters), columns "
        "用户名, 姓名, 所属机构, 角色, 手机号 (masked), 邮箱, 账号状态, 创建时间.",
        directives=SIGNED_IN,
    )
    async def export_users(
        self,
        info: Info,
        format: FileFormat = FileFormat.XLSX,
        organization_id: strawberry.ID | None = None,
        include_descendants: bool = False,
        status: UserStatus | None = None,
        role_id: strawberry.ID | None = None,
        keyword: str | None = None,
    ) -> ExportFile:
        scope = await guard.staff_scope(info)
        await _check_organization_filter(info, organization_id)
        await guard.check_organization_filter(info, scope, str(organization_id) if organization_id else None)
        stmt, _ = await _user_filter(info, organization_id, include_descendants, status, role_id, keyword)
        stmt = stmt.where(guard.in_scope(scope, models.User.organization_id))
        cipher = await cipher_of(info.context.sessions)
        async with info.context.session() as session:
            return _download(await user_files.export_users(session, cipher, stmt, format.name))

    @strawberry.field(
        description="机构树导出: columns 机构层级, 编码, 名称 (indented by depth), 负责人, depth-first in tree "
        "order (sub-organisations in id order); the whole tree, or rootId's subtree. The same tree gives the "
        "same bytes."
    )
    async def export_organization_tree(
        self, info: Info, format: FileFormat = FileFormat.XLSX, root_id: strawberry.ID | None = None
    ) -> ExportFile:
        async with info.context.session() as session:
            file = await exports.export_organization_tree(session, format.name,
                                                          str(root_id) if root_id is not None else None)
        return _download(file)

    @strawberry.field(
        description="角色导出: the roles the same filters as `roles` select, by code, columns 角色编码, 角色名称, "
        "角色类型, 描述, 状态, 关联用户数, 权限 (the linked permissions' codes joined with 、; another system's "
        "code as system/code).",
        directives=SIGNED_IN,
    )
    async def export_roles(
        self, info: Info, format: FileFormat = FileFormat.XLSX, keyword: str | None = None,
        kind: RoleKind | None = None, status: RoleStatus | None = None,
    ) -> ExportFile:
        await guard.require_admin(info)
        stmt = _role_filter(keyword, kind, status)
        async with info.context.session() as session:
            return _download(await exports.export_roles(session, stmt, format.name))

    @strawberry.field(
        description="全系统权限汇总: permissions grouped by system, the groups in alphabetical (pinyin) order of "
        "the system name, each group's permissions by type (data, function, menu) and code. Filters: system "
        "code, permission type.",
        directives=SIGNED_IN,
    )
    async def permission_summary(
        self, info: Info, system: str | None = None, kind: PermissionKind | None = None
    ) -> list[SystemPermissions]:
        await guard.require_admin(info)
        async with info.context.session() as session:
            groups = await exports.permission_summary(session, system, kind.name if kind else None)
        return [SystemPermissions(system=g.system, system_name=g.name,
                                  permissions=[Permission.from_row(p) for p in g.permissions]) for g in groups]

    @strawberry.field(
        description="全系统权限汇总导出: the summary's rows in its order, columns 系统名称, 权限类型, 权限名称, "
        "权限描述, 生效时间 (China time; 已生效 when effective since creation, 未生效 when switched off).",
        directives=SIGNED_IN,
    )
    async def export_permission_summary(
        self, info: Info, format: FileFormat = FileFormat.XLSX, system: str | None = None,
        kind: PermissionKind | None = None,
    ) -> ExportFile:
        await guard.require_admin(info)
        async with info.context.session() as session:
            return _download(await exports.export_permission_summary(session, format.name, system,
                                                                     kind.name if kind else None))

    @strawberry.field(description="个人中心 of the signed-in user (UNAUTHENTICATED without one).", directives=SIGNED_IN)
    async def me(self, info: Info) -> PersonalCentre:
        await guard.require_signed_in(info)
        user_id = self_service.signed_in_user_id(info)
        async with info.context.session() as session:
            return await _personal_centre(session, await self_service.own_account(session, user_id))

    @strawberry.field(
        description="近30天登录记录 of the signed-in user, newest first; `from` earlier than 30 days ago is moved "
        "up to it. Filters: time range, 登录方式, 登录状态 (success).",
        directives=SIGNED_IN,
    )
    async def my_login_records(
        self, info: Info, from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None, method: LoginMethod | None = None, success: bool | None = None,
        first: int = 20, after: str | None = None,
    ) -> Connection[LoginRecord]:
        await guard.require_signed_in(info)
        user_id = self_service.signed_in_user_id(info)
        async with info.context.session() as session:
            return await log_pages.login_history(
                session, user_id, LoginRecord.from_row, first=first, after=after, since=from_, until=to,
                method=method.name if method else None, success=success,
            )

    @strawberry.field(
        description="个人日志: the signed-in user's operation log, newest first (ACTOR: what the user did; "
        "TARGET: what was done to the account).",
        directives=SIGNED_IN,
    )
    async def my_operation_log(
        self, info: Info, involvement: LogInvolvement = LogInvolvement.ACTOR, first: int = 20,
        after: str | None = None,
    ) -> Connection[OperationLogEntry]:
        await guard.require_signed_in(info)
        user_id = self_service.signed_in_user_id(info)
        async with info.context.session() as session:
            if involvement is LogInvolvement.ACTOR:
                return await log_pages.operation_log(session, OperationLogEntry.from_row, first=first, after=after,
                                                     actor_id=user_id)
            return await log_pages.operation_log(session, OperationLogEntry.from_row, first=first, after=after,
                                                 target=("User", user_id))


@strawberry.type(description="An import: either every row imported, or none and every problem listed.")
class ImportUsersResult:
    imported: int
    errors: list[ImportRowError]


def _download(file: user_files.FileContent) -> ExportFile:
    return ExportFile(filename=file.filename, content_type=file.content_type, content_base64=file.content,
                      rows=file.rows)


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input(description="新增用户")
class CreateUserInput:
    username: str = strawberry.field(description="用户名: 3-64 characters, a letter first; cannot change later.")
    name: str = strawberry.field(description="姓名")
    organization_id: strawberry.ID
    role_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    mobile: str | None = strawberry.field(default=None, description="11-digit mainland mobile number.")
    email: str | None = None
    gender: Gender | None = None
    department: str | None = None
    remark: str | None = None


@strawberry.input(description="编辑用户: fields left out stay as they are, null clears; the username cannot change.")
class UpdateUserInput:
    name: str | None = strawberry.UNSET
    organization_id: strawberry.ID | None = strawberry.UNSET
    role_ids: list[strawberry.ID] | None = strawberry.UNSET
    mobile: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    gender: Gender | None = strawberry.UNSET
    department: str | None = strawberry.UNSET
    remark: str | None = strawberry.UNSET


@strawberry.input(description="新增机构")
class CreateOrganizationInput:
    name: str
    kind: OrganizationKind
    level: OrganizationLevel
    region_code: strawberry.ID = strawberry.field(description="行政区划 code; within the parent's region.")
    credit_code: str = strawberry.field(description="统一社会信用代码")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="上级机构; only a province has none.")
    code: str | None = strawberry.field(default=None, description="机构编码")
    person_in_charge: str | None = None
    address: str | None = None
    contact: str | None = None


@strawberry.input(description="编辑机构: fields left out stay as they are, null clears an optional one.")
class UpdateOrganizationInput:
    name: str | None = strawberry.UNSET
    kind: OrganizationKind | None = strawberry.UNSET
    level: OrganizationLevel | None = strawberry.UNSET
    region_code: strawberry.ID | None = strawberry.UNSET
    credit_code: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    code: str | None = strawberry.UNSET
    person_in_charge: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    contact: str | None = strawberry.UNSET


@strawberry.input(description="新增角色")
class CreateRoleInput:
    code: str = strawberry.field(description="角色编码; cannot change later.")
    name: str
    kind: RoleKind
    description: str | None = None
    remark: str | None = None


@strawberry.input(description="编辑角色: the code cannot change.")
class UpdateRoleInput:
    name: str | None = strawberry.UNSET
    kind: RoleKind | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    remark: str | None = strawberry.UNSET


@strawberry.input(description="新增权限")
class CreatePermissionInput:
    kind: PermissionKind
    code: str
    name: str
    system: str = "portal"
    description: str | None = None
    data_scope: DataScope | None = strawberry.field(default=None, description="Required for a DATA permission.")
    menu_path: str | None = strawberry.field(default=None, description="Required for a MENU permission.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="A parent MENU.")
    effective: bool = True
    effective_from: datetime | None = None


@strawberry.input(description="编辑权限: kind, system and code cannot change.")
class UpdatePermissionInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    data_scope: DataScope | None = strawberry.UNSET
    menu_path: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    effective: bool | None = strawberry.UNSET
    effective_from: datetime | None = strawberry.UNSET


@strawberry.type
class CoreMutation:
    @strawberry.mutation(
        description="新增用户: returns the user and its one-time temporary password.",
        directives=SIGNED_IN,
    )
    async def create_user(self, info: Info, input: CreateUserInput) -> UserWithPassword:
        await guard.require_admin(info, organization_id=str(input.organization_id))
        await guard.require_grantable(info, [str(r) for r in input.role_ids])
        cipher = await cipher_of(info.context.sessions)
        new = user_rules.NewUser(
            username=input.username, name=input.name, organization_id=str(input.organization_id),
            role_ids=[str(r) for r in input.role_ids], mobile=input.mobile, email=input.email,
            gender=input.gender.name if input.gender else None, department=input.department, remark=input.remark,
        )
        async with info.context.transaction() as session:
            row, password = await user_rules.create(session, cipher, new, caller_id(info))
        return UserWithPassword(user=User.from_row(row), temporary_password=password)

    @strawberry.mutation(description="编辑用户 (everything but the username and the status).", directives=SIGNED_IN)
    async def update_user(self, info: Info, id: strawberry.ID, input: UpdateUserInput) -> User:
        await _guard_user_update(info, str(id), input)
        cipher = await cipher_of(info.context.sessions)
        async with info.context.transaction() as session:
            row = await user_rules.update(session, cipher, str(id), _given(input), caller_id(info))
        return User.from_row(row)

    @strawberry.mutation(
        description="账号状态变更 (正常/冻结/注销): the reason is required and logged.",
        directives=SIGNED_IN,
    )
    async def change_user_status(self, info: Info, id: strawberry.ID, status: UserStatus, reason: str) -> User:
        await guard.require_user_admin(info, str(id))
        async with info.context.transaction() as session:
            row = await user_rules.change_status(session, str(id), status.name, reason, caller_id(info))
        return User.from_row(row)

    @strawberry.mutation(
        description="强制重置密码: a temporary password, returned once, that must be changed at the next sign-in; "
        "also lifts a lock after failed logins.",
        directives=SIGNED_IN,
    )
    async def reset_user_password(self, info: Info, id: strawberry.ID) -> UserWithPassword:
        await guard.require_user_admin(info, str(id))
        async with info.context.transaction() as session:
            row, password = await user_rules.reset_password(session, str(id), caller_id(info))
        return UserWithPassword(user=User.from_row(row), temporary_password=password)

    @strawberry.mutation(description="分配角色: the user's roles become exactly these.", directives=SIGNED_IN)
    async def assign_user_roles(self, info: Info, user_id: strawberry.ID, role_ids: list[strawberry.ID]) -> User:
        await guard.require_user_admin(info, str(user_id))
        await guard.require_grantable(info, [str(r) for r in role_ids])
        async with info.context.transaction() as session:
            row = await user_rules.assign_roles(session, str(user_id), [str(r) for r in role_ids], caller_id(info))
        return User.from_row(row)

    @strawberry.mutation(
        description="批量导入: every row is checked first; one bad row imports nothing and every problem is "
        "listed. Imported accounts sign in after an administrator resets their password.",
        directives=SIGNED_IN,
    )
    async def import_users(self, info: Info, file: str, format: FileFormat) -> ImportUsersResult:
        await guard.require_province_admin(info)
        cipher = await cipher_of(info.context.sessions)
        async with info.context.transaction() as session:
            outcome = await user_files.import_users(session, cipher, file, format.name, caller_id(info))
        return ImportUsersResult(
            imported=outcome.imported,
            errors=[ImportRowError(row=e.row, column=e.column, message=e.message) for e in outcome.errors],
        )

    @strawberry.mutation(description="新增机构", directives=SIGNED_IN)
    async def create_organization(self, info: Info, input: CreateOrganizationInput) -> Organization:
        await guard.require_admin(info, organization_id=str(input.parent_id) if input.parent_id else None,
                                  region_code=str(input.region_code))
        fields = org_rules.OrganizationFields(
            name=input.name, kind=input.kind.name, level=input.level.name, region_code=str(input.region_code),
            credit_code=input.credit_code, parent_id=str(input.parent_id) if input.parent_id is not None else None,
            code=input.code, person_in_charge=input.person_in_charge, address=input.address, contact=input.contact,
        )
        async with info.context.transaction() as session:
            row = await org_rules.create_organization(session, fields, caller_id(info))
        return Organization.from_row(row)

    @strawberry.mutation(description="编辑机构", directives=SIGNED_IN)
    async def update_organization(self, info: Info, id: strawberry.ID, input: UpdateOrganizationInput) -> Organization:
        await _guard_organization_update(info, str(id), input)
        async with info.context.transaction() as session:
            row = await org_rules.update_organization(session, str(id), _given(input), caller_id(info))
        return Organization.from_row(row)

    @strawberry.mutation(
        description="删除机构: only one without sub-organisations and users (CONFLICT otherwise); returns its id.",
        directives=SIGNED_IN,
    )
    async def delete_organization(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        await guard.require_admin(info, organization_id=str(id))
        async with info.context.transaction() as session:
            await org_rules.delete_organization(session, str(id), caller_id(info))
        return id

    @strawberry.mutation(
        description="合并机构: the sources' users and sub-organisations move to the target and the sources are "
        "deleted, all in one transaction.",
        directives=SIGNED_IN,
    )
    async def merge_organizations(
        self, info: Info, source_ids: list[strawberry.ID], target_id: strawberry.ID, reason: str | None = None
    ) -> MergeOrganizationsResult:
        await guard.require_admin(info, organization_ids=[*map(str, source_ids), str(target_id)])
        async with info.context.transaction() as session:
            result = await org_rules.merge(session, [str(s) for s in source_ids], str(target_id), caller_id(info),
                                           reason.strip() if reason else None)
        return MergeOrganizationsResult(target=Organization.from_row(result.target), users_moved=result.users_moved,
                                        children_moved=result.children_moved)

    @strawberry.mutation(description="新增角色 (enabled).", directives=SIGNED_IN)
    async def create_role(self, info: Info, input: CreateRoleInput) -> Role:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            row = await role_rules.create_role(session, code=input.code, name=input.name, kind=input.kind.name,
                                               description=input.description, remark=input.remark,
                                               actor_id=caller_id(info))
        return Role.from_row(row)

    @strawberry.mutation(description="编辑角色", directives=SIGNED_IN)
    async def update_role(self, info: Info, id: strawberry.ID, input: UpdateRoleInput) -> Role:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            row = await role_rules.update_role(session, str(id), _given(input), caller_id(info))
        return Role.from_row(row)

    @strawberry.mutation(description="角色启用/禁用: the reason is required and logged.", directives=SIGNED_IN)
    async def change_role_status(self, info: Info, id: strawberry.ID, status: RoleStatus, reason: str) -> Role:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            row = await role_rules.change_role_status(session, str(id), status.name, reason, caller_id(info))
        return Role.from_row(row)

    @strawberry.mutation(
        description="角色复制: a new role with the same permissions (not the same users).",
        directives=SIGNED_IN,
    )
    async def copy_role(self, info: Info, id: strawberry.ID, new_code: str, new_name: str) -> Role:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            row = await role_rules.copy_role(session, str(id), new_code, new_name, caller_id(info))
        return Role.from_row(row)

    @strawberry.mutation(
        description="删除角色: only one without users (CONFLICT otherwise); returns its id.",
        directives=SIGNED_IN,
    )
    async def delete_role(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            await role_rules.delete_role(session, str(id), caller_id(info))
        return id

    @strawberry.mutation(
        description="角色权限分配: the role's permissions become exactly these, effective at once.",
        directives=SIGNED_IN,
    )
    async def set_role_permissions(
        self, info: Info, role_id: strawberry.ID, permission_ids: list[strawberry.ID]
    ) -> Role:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            row = await role_rules.set_role_permissions(session, str(role_id), [str(p) for p in permission_ids],
                                                        caller_id(info))
        return Role.from_row(row)

    @strawberry.mutation(
        description="个人信息编辑: the signed-in user's mobile and e-mail, the only fields they may edit; an omitted "
        "one stays, null or blank clears it. Logged (which fields, not the values).",
        directives=SIGNED_IN,
    )
    async def update_my_contact(
        self, info: Info, mobile: str | None = strawberry.UNSET, email: str | None = strawberry.UNSET
    ) -> PersonalCentre:
        await guard.require_signed_in(info)
        user_id = self_service.signed_in_user_id(info)
        changes = {k: v for k, v in (("mobile", mobile), ("email", email)) if v is not strawberry.UNSET}
        cipher = await cipher_of(info.context.sessions)
        async with info.context.transaction() as session:
            row = await self_service.update_contact(session, cipher, user_id, changes)
            return await _personal_centre(session, row)

    @strawberry.mutation(
        description="修改密码: the current password must be right and the new one pass the password policy "
        "(history and change interval included; each problem listed in extensions.problems). Clears "
        "mustChangePassword.",
        directives=SIGNED_IN,
    )
    async def change_my_password(self, info: Info, old_password: str, new_password: str) -> PersonalCentre:
        await guard.require_signed_in(info)
        user_id = self_service.signed_in_user_id(info)
        async with info.context.transaction() as session:
            row = await self_service.change_password(session, user_id, old_password, new_password)
            return await _personal_centre(session, row)

    @strawberry.mutation(description="新增权限", directives=SIGNED_IN)
    async def create_permission(self, info: Info, input: CreatePermissionInput) -> Permission:
        await guard.require_province_admin(info)
        fields = role_rules.PermissionFields(
            kind=input.kind.name, code=input.code, name=input.name, system=input.system,
            description=input.description, data_scope=input.data_scope.name if input.data_scope else None,
            menu_path=input.menu_path, parent_id=str(input.parent_id) if input.parent_id is not None else None,
            effective=input.effective, effective_from=input.effective_from,
        )
        async with info.context.transaction() as session:
            row = await role_rules.create_permission(session, fields, caller_id(info))
        return Permission.from_row(row)

    @strawberry.mutation(description="编辑权限", directives=SIGNED_IN)
    async def update_permission(self, info: Info, id: strawberry.ID, input: UpdatePermissionInput) -> Permission:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            row = await role_rules.update_permission(session, str(id), _given(input), caller_id(info))
        return Permission.from_row(row)


# Each part of identity brings its own root fields; they meet here.
Query = merge_types("Query", (CoreQuery, *security_graphql.queries, *mapping_graphql.queries,
                              *channel_graphql.queries))
_mutations: tuple[type, ...] = (CoreMutation, *security_graphql.mutations, *mapping_graphql.mutations,
                                *channel_graphql.mutations)
Mutation = merge_types("Mutation", _mutations)

schema = strawberry.federation.Schema(query=Query, mutation=Mutation, types=[Organization, User, Person, Region],
                                           extensions=schema_extensions())
