"""GraphQL types of connected systems, account mappings, automatic matching and API clients."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Self

import strawberry
from sqlalchemy import select

from subgraphs.common.masking import mask_phone
from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.identity import models
from subgraphs.identity.mapping import matching
from subgraphs.identity.mapping.common import decode_relation, mapping_loaders
from subgraphs.identity.types import Info, Organization, User, organization_by_id


def raw(member: Enum) -> str:
    """A GraphQL enum member's stored value (mypy types the value of an `enum_value` member as its definition)."""
    return str(member.value)


@strawberry.enum(description="单点登录协议: how a connected system signs portal users in.")
class SystemProtocol(Enum):
    OAUTH2 = strawberry.enum_value("OAUTH2", description="OAuth2.0")
    CAS = strawberry.enum_value("CAS", description="CAS")
    NON_SSO = strawberry.enum_value("NON_SSO", description="非SSO (temporary token)")


@strawberry.enum(description="启用 / 禁用")
class EnabledStatus(Enum):
    ENABLED = strawberry.enum_value("ENABLED", description="启用")
    DISABLED = strawberry.enum_value("DISABLED", description="禁用")


@strawberry.enum(description="关联状态")
class MappingStatus(Enum):
    LINKED = strawberry.enum_value("LINKED", description="已关联")
    UNLINKED = strawberry.enum_value("UNLINKED", description="未关联")


@strawberry.enum(description="关联方式")
class MappingMethod(Enum):
    MANUAL = strawberry.enum_value("MANUAL", description="手动")
    AUTO = strawberry.enum_value("AUTO", description="自动 (automatic matching)")


@strawberry.enum(description="关联日志的操作类型")
class MappingOperation(Enum):
    LINK = strawberry.enum_value("LINK", description="关联")
    EDIT = strawberry.enum_value("EDIT", description="编辑")
    UNLINK = strawberry.enum_value("UNLINK", description="解除")


@strawberry.enum(description="匹配字段")
class MatchField(Enum):
    MOBILE = strawberry.enum_value("MOBILE", description="手机号")
    CREDIT_CODE = strawberry.enum_value("CREDIT_CODE", description="统一社会信用代码 (of the user's organisation)")
    USERNAME = strawberry.enum_value("USERNAME", description="用户名")


@strawberry.enum(description="匹配精度")
class MatchPrecision(Enum):
    EXACT = strawberry.enum_value("EXACT", description="完全匹配: the values are equal.")
    FUZZY = strawberry.enum_value(
        "FUZZY",
        description="模糊匹配: MOBILE compares the digits only, without a +86/0086 prefix; CREDIT_CODE ignores "
        "case, blanks and separators; USERNAME ignores case, full-width forms and the separators - _ . and "
        "blanks, and when nothing is equal so, accepts one edit (Levenshtein distance 1) on names of at least "
        "5 characters.",
    )


@strawberry.enum(description="匹配范围")
class MatchScope(Enum):
    ALL = strawberry.enum_value("ALL", description="全量用户")
    NEW = strawberry.enum_value(
        "NEW", description="增量用户: users created since the start of the system's last finished run."
    )


@strawberry.enum(description="匹配结果")
class MatchOutcome(Enum):
    SUCCESS = strawberry.enum_value("SUCCESS", description="匹配成功: one candidate, mapping linked (AUTO).")
    FAILED = strawberry.enum_value(
        "FAILED", description="匹配失败: several candidates, or a conflict with an existing mapping."
    )
    UNMATCHED = strawberry.enum_value("UNMATCHED", description="未匹配: no candidate.")


@strawberry.enum(description="The state of an automatic-matching run.")
class MatchRunState(Enum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    INTERRUPTED = strawberry.enum_value(
        "INTERRUPTED", description="Not finished long after it started: the process running it stopped."
    )


@strawberry.enum(description="客户端类型")
class ClientKind(Enum):
    WEB = strawberry.enum_value("WEB", description="Web端")
    MOBILE = strawberry.enum_value("MOBILE", description="移动端")
    SYSTEM = strawberry.enum_value("SYSTEM", description="第三方系统客户端")


@strawberry.enum(description="OAuth 2.0 grant types (and CAS) a client may use.")
class GrantType(Enum):
    AUTHORIZATION_CODE = "authorization_code"
    CLIENT_CREDENTIALS = "client_credentials"
    REFRESH_TOKEN = "refresh_token"
    CAS = "cas"


@strawberry.enum(description="The format of an imported or exported file.")
class FileFormat(Enum):
    CSV = strawberry.enum_value("CSV", description="UTF-8 CSV (a byte-order mark is accepted and written).")
    XLSX = strawberry.enum_value("XLSX", description="Excel workbook (first sheet).")


# --- connected systems ---------------------------------------------------------------------------


@strawberry.type(description="第三方系统: a system connected to the portal (the tender lists 64).")
class ConnectedSystem:
    code: strawberry.ID = strawberry.field(description="系统编码 (immutable).")
    name: str = strawberry.field(description="系统名称")
    protocol: SystemProtocol
    status: EnabledStatus

    @classmethod
    def from_row(cls, row: models.ConnectedSystem) -> Self:
        return cls(code=strawberry.ID(row.code), name=row.name, protocol=SystemProtocol(row.protocol),
                   status=EnabledStatus(row.status))


async def system_by_code(info: Info, code: str) -> ConnectedSystem | None:
    row = await mapping_loaders(info).system.load(code)
    return ConnectedSystem.from_row(row) if row else None


async def user_by_id(info: Info, id_: str | None) -> User | None:
    if id_ is None:
        return None
    row = await info.context.loaders.user.load(id_)
    return User.from_row(row) if row else None


@strawberry.type(description="第三方用户: an account of a connected system, as its user-list interface reports it.")
class ExternalAccount:
    system_code: strawberry.ID
    username: str
    name: str | None
    mobile: str | None = strawberry.field(description="Masked (138****0000).")
    credit_code: str | None

    @classmethod
    def from_row(cls, row: models.ExternalUser) -> Self:
        return cls(system_code=strawberry.ID(row.system_code), username=row.username, name=row.name,
                   mobile=mask_phone(row.mobile), credit_code=row.credit_code)


# --- account mappings ----------------------------------------------------------------------------


@strawberry.type(description="用户关联对照: one portal user to one account of a connected system.")
class AccountMapping:
    id: strawberry.ID
    external_username: str = strawberry.field(description="第三方用户名")
    status: MappingStatus
    method: MappingMethod
    linked_at: datetime = strawberry.field(description="关联时间 (of the last link or edit).")
    remark: str | None = strawberry.field(description="备注 (link reason, validity, ...).")
    user_id: strawberry.ID
    system_code: strawberry.ID
    operator_id: strawberry.ID | None = strawberry.field(description="操作人 of the last change.")

    @classmethod
    def from_row(cls, row: models.AccountMapping) -> Self:
        return cls(
            id=strawberry.ID(row.id), external_username=row.external_username,
            status=MappingStatus(row.status), method=MappingMethod(row.method), linked_at=row.linked_at,
            remark=row.remark, user_id=strawberry.ID(row.user_id), system_code=strawberry.ID(row.system_code),
            operator_id=strawberry.ID(row.operator_id) if row.operator_id else None,
        )

    @strawberry.field(description="门户用户")
    async def user(self, info: Info) -> User | None:
        return await user_by_id(info, str(self.user_id))

    @strawberry.field(description="第三方系统")
    async def system(self, info: Info) -> ConnectedSystem | None:
        return await system_by_code(info, str(self.system_code))

    @strawberry.field(description="操作人")
    async def operator(self, info: Info) -> User | None:
        return await user_by_id(info, str(self.operator_id) if self.operator_id else None)


@strawberry.type(description="关联日志: one link, edit or unlink of a mapping.")
class AccountMappingLogEntry:
    id: strawberry.ID
    mapping_id: strawberry.ID
    operation: MappingOperation
    old_external_username: str | None = strawberry.field(description="原第三方用户名")
    new_external_username: str | None = strawberry.field(description="新第三方用户名")
    old_remark: str | None
    new_remark: str | None
    reason: str | None = strawberry.field(description="操作理由")
    operator_id: strawberry.ID | None
    ip: str | None = strawberry.field(description="IP地址 as the router saw the caller.")
    at: datetime = strawberry.field(description="操作时间")

    @classmethod
    def from_row(cls, row: models.AccountMappingLog) -> Self:
        old_username, old_remark = decode_relation(row.old_value)
        new_username, new_remark = decode_relation(row.new_value)
        return cls(
            id=strawberry.ID(str(row.id)), mapping_id=strawberry.ID(row.mapping_id),
            operation=MappingOperation(row.operation), old_external_username=old_username,
            new_external_username=new_username, old_remark=old_remark, new_remark=new_remark, reason=row.reason,
            operator_id=strawberry.ID(row.operator_id) if row.operator_id else None, ip=row.ip, at=row.at,
        )

    @strawberry.field(description="The mapping, with its portal user and system (详情).")
    async def mapping(self, info: Info) -> AccountMapping | None:
        async with info.context.session() as session:
            row = await session.get(models.AccountMapping, str(self.mapping_id))
        return AccountMapping.from_row(row) if row else None

    @strawberry.field(description="操作人")
    async def operator(self, info: Info) -> User | None:
        return await user_by_id(info, str(self.operator_id) if self.operator_id else None)


# --- automatic matching --------------------------------------------------------------------------


@strawberry.type(description="One portal user's outcome in a matching run.")
class MatchResult:
    run_id: strawberry.ID
    user_id: strawberry.ID
    result: MatchOutcome
    external_username: str | None = strawberry.field(description="The matched account (SUCCESS), if any.")
    detail: str | None = strawberry.field(description="Why it failed, or what was done.")

    @classmethod
    def from_row(cls, row: models.MatchResult) -> Self:
        return cls(run_id=strawberry.ID(row.run_id), user_id=strawberry.ID(row.user_id),
                   result=MatchOutcome(row.result), external_username=row.external_username, detail=row.detail)

    @strawberry.field(description="门户用户; an UNMATCHED one is linked by hand with linkAccountMapping.")
    async def user(self, info: Info) -> User | None:
        return await user_by_id(info, str(self.user_id))


@strawberry.type(description="匹配日志: one run of automatic matching; poll it for progress.")
class MatchRun:
    id: strawberry.ID
    system_code: strawberry.ID
    match_field: MatchField
    precision: MatchPrecision
    scope: MatchScope
    started_at: datetime = strawberry.field(description="匹配时间")
    finished_at: datetime | None
    matched: int = strawberry.field(description="匹配数量: users processed so far.")
    succeeded: int = strawberry.field(description="成功数量")
    failed: int = strawberry.field(description="失败数量")
    unmatched: int = strawberry.field(description="未匹配数量")
    row: strawberry.Private[models.MatchRun]

    @classmethod
    def from_row(cls, row: models.MatchRun) -> Self:
        return cls(
            id=strawberry.ID(row.id), system_code=strawberry.ID(row.system_code),
            match_field=MatchField(row.match_field), precision=MatchPrecision(row.precision),
            scope=MatchScope(row.scope), started_at=row.started_at, finished_at=row.finished_at,
            matched=row.matched, succeeded=row.succeeded, failed=row.failed, unmatched=row.unmatched, row=row,
        )

    @strawberry.field(description="RUNNING, FINISHED, or INTERRUPTED when its process stopped.")
    def state(self) -> MatchRunState:
        return MatchRunState(matching.run_state(self.row))

    @strawberry.field(description="匹配规则, as text: field, precision and scope.")
    def rule(self) -> str:
        return f"{raw(self.match_field)} {raw(self.precision)} {raw(self.scope)}"

    @strawberry.field(description="Users the run considers (the progress bar's 100%).")
    async def total(self, info: Info) -> int:
        async with info.context.session() as session:
            return await matching.run_total(session, self.row)

    @strawberry.field(description="matched / total, from 0 to 1; 1 once finished.")
    async def progress(self, info: Info) -> float:
        if self.row.finished_at is not None:
            return 1.0
        async with info.context.session() as session:
            total = await matching.run_total(session, self.row)
        return min(1.0, self.matched / total) if total else 0.0

    @strawberry.field(description="第三方系统")
    async def system(self, info: Info) -> ConnectedSystem | None:
        return await system_by_code(info, str(self.system_code))

    @strawberry.field(description="The outcome per user, in user-id order; result filters by outcome.")
    async def results(
        self, info: Info, result: MatchOutcome | None = None, first: int = 20, after: str | None = None
    ) -> Connection[MatchResult]:
        stmt = select(models.MatchResult).where(models.MatchResult.run_id == str(self.id))
        if result is not None:
            stmt = stmt.where(models.MatchResult.result == raw(result))
        async with info.context.session() as session:
            return await keyset_page(
                session, stmt, order_by=[models.MatchResult.user_id.expression], sort_key=lambda r: [r.user_id],
                to_node=MatchResult.from_row, page=PageRequest(first=first, after=after))


# --- API clients ---------------------------------------------------------------------------------


@strawberry.type(description="应用 / API client. Its secret is only ever shown once, when created or rotated.")
class Client:
    client_id: strawberry.ID
    name: str
    kind: ClientKind
    confidential: bool = strawberry.field(
        description="Whether it has a secret; a public client (mobile, single-page) uses PKCE instead."
    )
    grant_types: list[GrantType]
    redirect_uris: list[str]
    scopes: list[str]
    ip_allow_list: list[str] = strawberry.field(description="CIDRs the client may call from; empty: any.")
    rate_limit: str | None = strawberry.field(description='Requests per period, such as "600/60s".')
    status: EnabledStatus
    organization_id: strawberry.ID | None
    persisted_operations: list[str] = strawberry.field(
        description="The persisted operations (sha256 ids) it may run."
    )
    access_token_ttl_seconds: int | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.Client) -> Self:
        # secret_hash is deliberately not copied: no field can ever return it.
        return cls(
            client_id=strawberry.ID(row.client_id), name=row.name, kind=ClientKind(row.kind),
            confidential=row.secret_hash is not None, grant_types=[GrantType(g) for g in row.grant_types],
            redirect_uris=list(row.redirect_uris), scopes=list(row.scopes), ip_allow_list=list(row.ip_allow),
            rate_limit=row.rate_limit, status=EnabledStatus(row.status),
            organization_id=strawberry.ID(row.organization_id) if row.organization_id else None,
            persisted_operations=list(row.persisted_operations),
            access_token_ttl_seconds=row.access_token_ttl_seconds, created_at=row.created_at,
        )

    @strawberry.field(description="所属机构")
    async def organization(self, info: Info) -> Organization | None:
        return await organization_by_id(info, str(self.organization_id)) if self.organization_id else None


@strawberry.type(description="A client with its new secret: shown this once and never again.")
class ClientWithSecret:
    client: Client
    client_secret: str | None = strawberry.field(
        description="The secret in the clear (null for a public client). Only its hash is stored."
    )


# --- files ---------------------------------------------------------------------------------------


@strawberry.type(description="A generated file, base64-encoded.")
class ExportFile:
    filename: str
    content_type: str
    content_base64: str
    rows: int


@strawberry.type(description="A problem with one row of an imported file.")
class ImportRowError:
    row: int = strawberry.field(description="1-based row number in the file, the header being row 1.")
    column: str | None
    message: str


@strawberry.type(description="The outcome of an import: all rows are written, or none when any is wrong.")
class ImportResult:
    ok: bool
    dry_run: bool
    linked: int = strawberry.field(description="New mappings, and unlinked ones linked again.")
    unchanged: int = strawberry.field(description="Rows already linked exactly so.")
    errors: list[ImportRowError]
