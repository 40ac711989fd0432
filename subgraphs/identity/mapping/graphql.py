"""GraphQL for connected systems, account mappings (用户关联对照), automatic matching and API clients:
merged into identity's Query and Mutation by schema.py.

Every change records its operator from the router-verified caller (`caller_id`) and the caller's address as
the router forwarded it (`client_ip`); see mapping/common.py.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.common.search import matches_keyword
from subgraphs.identity import models
from subgraphs.identity.domain import guard
from subgraphs.identity.mapping import accounts, clients, matching, transfer
from subgraphs.identity.mapping.accounts import Actor
from subgraphs.identity.mapping.common import caller_id, client_ip, now, record_operation
from subgraphs.identity.mapping.types import (
    AccountMapping,
    AccountMappingLogEntry,
    Client,
    ClientKind,
    ClientWithSecret,
    ConnectedSystem,
    EnabledStatus,
    ExportFile,
    ExternalAccount,
    FileFormat,
    GrantType,
    ImportResult,
    ImportRowError,
    MappingMethod,
    MappingOperation,
    MappingStatus,
    MatchField,
    MatchPrecision,
    MatchRun,
    MatchScope,
    SystemProtocol,
    raw,
)
from subgraphs.identity.security.hashing import hash_password
from subgraphs.identity.types import SIGNED_IN, Info

SYSTEM_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}")


def _actor(info: Info) -> Actor:
    return Actor(operator_id=caller_id(info), ip=client_ip(info))


@asynccontextmanager
async def _transaction(info: Info, conflict: str) -> AsyncIterator[AsyncSession]:
    """A unit of work whose unique-constraint violations (a race the checks could not see) read as CONFLICT."""
    try:
        async with info.context.transaction() as session:
            yield session
    except IntegrityError as exc:
        raise domain_error(ErrorCode.CONFLICT, conflict) from exc


def _export(content: transfer.FileContent) -> ExportFile:
    return ExportFile(filename=content.filename, content_type=content.content_type,
                      content_base64=base64.b64encode(content.data).decode("ascii"), rows=content.rows)


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input(description="A connected system to create.")
class ConnectedSystemInput:
    code: str = strawberry.field(description="系统编码: letters, digits, _ and -, up to 64; immutable.")
    name: str
    protocol: SystemProtocol = SystemProtocol.OAUTH2
    status: EnabledStatus = EnabledStatus.ENABLED


@strawberry.input(description="Changes to a connected system; fields left out stay as they are.")
class ConnectedSystemUpdate:
    name: str | None = None
    protocol: SystemProtocol | None = None
    status: EnabledStatus | None = None


@strawberry.input(description="手动关联")
class LinkAccountMappingInput:
    user_id: strawberry.ID
    system_code: strawberry.ID
    external_username: str
    remark: str | None = None
    reason: str | None = strawberry.field(default=None, description="操作理由, for the log.")


@strawberry.input(description="编辑: only the third-party username and the remark can change.")
class UpdateAccountMappingInput:
    external_username: str | None = None
    remark: str | None = strawberry.field(default=strawberry.UNSET, description="null clears it; omit to keep.")
    reason: str | None = None
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Immutable: refused unless it is the mapping's own user."
    )
    system_code: strawberry.ID | None = strawberry.field(
        default=None, description="Immutable: refused unless it is the mapping's own system."
    )


@strawberry.input(description="Filters of the mapping list; all optional and combined with AND.")
class AccountMappingFilter:
    system_code: strawberry.ID | None = None
    status: MappingStatus | None = None
    method: MappingMethod | None = None
    keyword: str | None = strawberry.field(
        default=None, description="Part of the portal username or the third-party username (any case)."
    )


@strawberry.input(description="Filters of the mapping log; all optional and combined with AND.")
class AccountMappingLogFilter:
    mapping_id: strawberry.ID | None = None
    system_code: strawberry.ID | None = None
    operator_id: strawberry.ID | None = None
    operation: MappingOperation | None = None
    since: datetime | None = strawberry.field(default=None, description="From this moment (inclusive).")
    until: datetime | None = strawberry.field(default=None, description="Before this moment (exclusive).")


@strawberry.input(description="自动匹配规则")
class StartAccountMatchingInput:
    system_code: strawberry.ID
    field: MatchField
    precision: MatchPrecision = MatchPrecision.EXACT
    scope: MatchScope = MatchScope.ALL


@strawberry.input(description="A client to create.")
class CreateClientInput:
    name: str
    kind: ClientKind
    confidential: bool = strawberry.field(
        default=True, description="false: a public client (no secret; it must use PKCE)."
    )
    grant_types: list[GrantType]
    redirect_uris: list[str] = strawberry.field(default_factory=list)
    scopes: list[str] = strawberry.field(default_factory=list)
    ip_allow_list: list[str] = strawberry.field(default_factory=list)
    rate_limit: str | None = None
    status: EnabledStatus = EnabledStatus.ENABLED
    organization_id: strawberry.ID | None = None
    access_token_ttl_hours: int | None = strawberry.field(default=None, description="1 to 24.")


@strawberry.input(description="Changes to a client; fields left out stay as they are, null clears.")
class UpdateClientInput:
    name: str | None = None
    kind: ClientKind | None = None
    grant_types: list[GrantType] | None = None
    redirect_uris: list[str] | None = None
    scopes: list[str] | None = None
    ip_allow_list: list[str] | None = None
    rate_limit: str | None = strawberry.UNSET
    status: EnabledStatus | None = None
    organization_id: strawberry.ID | None = strawberry.UNSET
    access_token_ttl_hours: int | None = strawberry.UNSET


# --- connected systems ---------------------------------------------------------------------------


@strawberry.type
class MappingQuery:
    @strawberry.field(directives=SIGNED_IN, description="第三方系统 in code order; keyword searches code and name.")
    async def connected_systems(
        self, info: Info, status: EnabledStatus | None = None, protocol: SystemProtocol | None = None,
        keyword: str | None = None, first: int = 20, after: str | None = None,
    ) -> Connection[ConnectedSystem]:
        await guard.require_admin(info)
        stmt = select(models.ConnectedSystem)
        if status is not None:
            stmt = stmt.where(models.ConnectedSystem.status == raw(status))
        if protocol is not None:
            stmt = stmt.where(models.ConnectedSystem.protocol == raw(protocol))
        if (found := matches_keyword(keyword, models.ConnectedSystem.code, models.ConnectedSystem.name)) is not None:
            stmt = stmt.where(found)
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[models.ConnectedSystem.code.expression],
                                     sort_key=lambda r: [r.code], to_node=ConnectedSystem.from_row,
                                     page=PageRequest(first=first, after=after))

    @strawberry.field(directives=SIGNED_IN, description="One connected system by code.")
    async def connected_system(self, info: Info, code: strawberry.ID) -> ConnectedSystem | None:
        await guard.require_admin(info)
        async with info.context.session() as session:
            row = await session.get(models.ConnectedSystem, str(code))
        return ConnectedSystem.from_row(row) if row else None

    @strawberry.field(description="The accounts a system reports (to pick one when linking by hand), in "
                      "username order; keyword searches username and name.", directives=SIGNED_IN)
    async def connected_system_accounts(
        self, info: Info, system_code: strawberry.ID, keyword: str | None = None, first: int = 20,
        after: str | None = None,
    ) -> Connection[ExternalAccount]:
        await guard.require_province_admin(info)
        stmt = select(models.ExternalUser).where(models.ExternalUser.system_code == str(system_code))
        if (found := matches_keyword(keyword, models.ExternalUser.username, models.ExternalUser.name)) is not None:
            stmt = stmt.where(found)
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[models.ExternalUser.username.expression],
                                     sort_key=lambda r: [r.username], to_node=ExternalAccount.from_row,
                                     page=PageRequest(first=first, after=after))

    @strawberry.field(directives=SIGNED_IN, description="用户关联对照 in creation order.")
    async def account_mappings(
        self, info: Info, filter: AccountMappingFilter | None = None, first: int = 20, after: str | None = None,
    ) -> Connection[AccountMapping]:
        await guard.require_province_admin(info)
        f = filter or AccountMappingFilter()
        stmt = accounts.mappings_query(
            system_code=str(f.system_code) if f.system_code else None, status=raw(f.status) if f.status else None,
            method=raw(f.method) if f.method else None, keyword=f.keyword)
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[models.AccountMapping.id.expression],
                                     sort_key=lambda r: [r.id], to_node=AccountMapping.from_row,
                                     page=PageRequest(first=first, after=after))

    @strawberry.field(directives=SIGNED_IN, description="One account mapping by id.")
    async def account_mapping(self, info: Info, id: strawberry.ID) -> AccountMapping | None:
        await guard.require_province_admin(info)
        async with info.context.session() as session:
            row = await session.get(models.AccountMapping, str(id))
        return AccountMapping.from_row(row) if row else None

    @strawberry.field(description="A portal user's mappings (linked and unlinked), one per system at most.",
                      directives=SIGNED_IN)
    async def account_mappings_of_user(self, info: Info, user_id: strawberry.ID) -> list[AccountMapping]:
        await guard.require_province_admin(info)
        async with info.context.session() as session:
            rows = (await session.scalars(accounts.mappings_query(user_id=str(user_id))
                                          .order_by(models.AccountMapping.system_code))).all()
        return [AccountMapping.from_row(r) for r in rows]

    @strawberry.field(directives=SIGNED_IN, description="关联日志 in the order written.")
    async def account_mapping_log(
        self, info: Info, filter: AccountMappingLogFilter | None = None, first: int = 20, after: str | None = None,
    ) -> Connection[AccountMappingLogEntry]:
        await guard.require_province_admin(info)
        stmt = _log_query(filter)
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[models.AccountMappingLog.id.expression],
                                     sort_key=lambda r: [r.id], to_node=AccountMappingLogEntry.from_row,
                                     page=PageRequest(first=first, after=after))

    @strawberry.field(directives=SIGNED_IN, description="The mappings (all, or those the filter keeps) as a file.")
    async def export_account_mappings(
        self, info: Info, format: FileFormat, filter: AccountMappingFilter | None = None,
    ) -> ExportFile:
        await guard.require_province_admin(info)
        f = filter or AccountMappingFilter()
        stmt = accounts.mappings_query(
            system_code=str(f.system_code) if f.system_code else None, status=raw(f.status) if f.status else None,
            method=raw(f.method) if f.method else None, keyword=f.keyword)
        async with info.context.session() as session:
            return _export(await transfer.export_mappings(session, stmt, raw(format)))

    @strawberry.field(directives=SIGNED_IN, description="The mapping log (all, or what the filter keeps) as a file.")
    async def export_account_mapping_log(
        self, info: Info, format: FileFormat, filter: AccountMappingLogFilter | None = None,
    ) -> ExportFile:
        await guard.require_province_admin(info)
        async with info.context.session() as session:
            return _export(await transfer.export_log(session, _log_query(filter), raw(format)))

    @strawberry.field(directives=SIGNED_IN, description="The standard import template (header row only).")
    async def account_mapping_import_template(self, info: Info, format: FileFormat) -> ExportFile:
        await guard.require_admin(info)
        return _export(transfer.template(raw(format)))

    @strawberry.field(directives=SIGNED_IN, description="One automatic-matching run; poll it for progress.")
    async def match_run(self, info: Info, id: strawberry.ID) -> MatchRun | None:
        await guard.require_province_admin(info)
        async with info.context.session() as session:
            row = await session.get(models.MatchRun, str(id))
        return MatchRun.from_row(row) if row else None

    @strawberry.field(directives=SIGNED_IN, description="匹配日志: runs in start order, optionally of one system.")
    async def match_runs(
        self, info: Info, system_code: strawberry.ID | None = None, first: int = 20, after: str | None = None,
    ) -> Connection[MatchRun]:
        await guard.require_province_admin(info)
        stmt = select(models.MatchRun)
        if system_code is not None:
            stmt = stmt.where(models.MatchRun.system_code == str(system_code))
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[models.MatchRun.id.expression],
                                     sort_key=lambda r: [r.id], to_node=MatchRun.from_row,
                                     page=PageRequest(first=first, after=after))

    @strawberry.field(description="应用 / API clients in client-id order; keyword searches id and name.",
                      directives=SIGNED_IN)
    async def clients(
        self, info: Info, kind: ClientKind | None = None, status: EnabledStatus | None = None,
        organization_id: strawberry.ID | None = None, keyword: str | None = None, first: int = 20,
        after: str | None = None,
    ) -> Connection[Client]:
        await guard.require_admin(info)
        stmt = select(models.Client)
        if kind is not None:
            stmt = stmt.where(models.Client.kind == raw(kind))
        if status is not None:
            stmt = stmt.where(models.Client.status == raw(status))
        if organization_id is not None:
            stmt = stmt.where(models.Client.organization_id == str(organization_id))
        if (found := matches_keyword(keyword, models.Client.client_id, models.Client.name)) is not None:
            stmt = stmt.where(found)
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[models.Client.client_id.expression],
                                     sort_key=lambda r: [r.client_id], to_node=Client.from_row,
                                     page=PageRequest(first=first, after=after))

    @strawberry.field(directives=SIGNED_IN, description="One client by its client id (never its secret).")
    async def client(self, info: Info, client_id: strawberry.ID) -> Client | None:
        await guard.require_admin(info)
        async with info.context.session() as session:
            row = await session.get(models.Client, str(client_id))
        return Client.from_row(row) if row else None


def _log_query(filter: AccountMappingLogFilter | None) -> Select[Any]:
    f = filter or AccountMappingLogFilter()
    return accounts.log_query(
        mapping_id=str(f.mapping_id) if f.mapping_id else None, system_code=str(f.system_code) if f.system_code
        else None, operator_id=str(f.operator_id) if f.operator_id else None,
        operation=raw(f.operation) if f.operation else None, since=f.since, until=f.until)


# --- mutations -----------------------------------------------------------------------------------


async def _client_row(session: AsyncSession, client_id: str) -> models.Client:
    row = await session.get(models.Client, client_id, with_for_update=True)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No client has id {client_id}.", argument="clientId")
    return row


async def _check_organization(session: AsyncSession, organization_id: str | None) -> str | None:
    if organization_id is not None and await session.get(models.Organization, organization_id) is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No organisation has id {organization_id}.",
                           argument="organizationId")
    return organization_id


@strawberry.type
class MappingMutation:
    @strawberry.mutation(directives=SIGNED_IN, description="Connect a third-party system.")
    async def create_connected_system(self, info: Info, input: ConnectedSystemInput) -> ConnectedSystem:
        await guard.require_province_admin(info)
        code, name = input.code.strip(), input.name.strip()
        if not SYSTEM_CODE.fullmatch(code):
            raise bad_input("A system code has 1 to 64 letters, digits, _ or -, starting with a letter or digit.",
                            argument="code")
        if not name or len(name) > 128:
            raise bad_input("A system name has 1 to 128 characters.", argument="name")
        async with _transaction(info, f"A system with code {code} exists.") as session:
            if await session.get(models.ConnectedSystem, code) is not None:
                raise domain_error(ErrorCode.CONFLICT, f"A system with code {code} exists.", argument="code")
            row = models.ConnectedSystem(code=code, name=name, protocol=raw(input.protocol),
                                         status=raw(input.status))
            session.add(row)
            record_operation(session, actor_id=caller_id(info), action="CONNECTED_SYSTEM_CREATE",
                             target_type="connected_system", target_id=code,
                             detail={"name": name, "protocol": row.protocol, "status": row.status},
                             ip=client_ip(info))
        return ConnectedSystem.from_row(row)

    @strawberry.mutation(description="Rename a connected system, change its protocol, or enable/disable it.",
                         directives=SIGNED_IN)
    async def update_connected_system(
        self, info: Info, code: strawberry.ID, input: ConnectedSystemUpdate
    ) -> ConnectedSystem:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            row = await session.get(models.ConnectedSystem, str(code), with_for_update=True)
            if row is None:
                raise domain_error(ErrorCode.NOT_FOUND, f"No connected system has code {code}.", argument="code")
            if input.name is not None:
                name = input.name.strip()
                if not name or len(name) > 128:
                    raise bad_input("A system name has 1 to 128 characters.", argument="name")
                row.name = name
            if input.protocol is not None:
                row.protocol = raw(input.protocol)
            if input.status is not None:
                row.status = raw(input.status)
            record_operation(session, actor_id=caller_id(info), action="CONNECTED_SYSTEM_UPDATE",
                             target_type="connected_system", target_id=row.code,
                             detail={"name": row.name, "protocol": row.protocol, "status": row.status},
                             ip=client_ip(info))
        return ConnectedSystem.from_row(row)

    @strawberry.mutation(description="手动关联: link a portal user to a third-party account (one per system).",
                         directives=SIGNED_IN)
    async def link_account_mapping(self, info: Info, input: LinkAccountMappingInput) -> AccountMapping:
        await guard.require_province_admin(info)
        async with _transaction(info, "The user was linked in this system meanwhile.") as session:
            row = await accounts.link(
                session, user_id=str(input.user_id), system_code=str(input.system_code),
                external_username=input.external_username, remark=input.remark, reason=input.reason,
                actor=_actor(info))
        return AccountMapping.from_row(row)

    @strawberry.mutation(description="编辑: change the third-party username or remark; user and system are "
                         "immutable.", directives=SIGNED_IN)
    async def update_account_mapping(
        self, info: Info, id: strawberry.ID, input: UpdateAccountMappingInput
    ) -> AccountMapping:
        await guard.require_province_admin(info)
        remark_given = input.remark is not strawberry.UNSET
        async with info.context.transaction() as session:
            row = await accounts.edit(
                session, str(id), external_username=input.external_username,
                remark=input.remark if remark_given else None, remark_given=remark_given,
                user_id=str(input.user_id) if input.user_id is not None else None,
                system_code=str(input.system_code) if input.system_code is not None else None,
                reason=input.reason, actor=_actor(info))
        return AccountMapping.from_row(row)

    @strawberry.mutation(description="解除关联: the mapping becomes UNLINKED; it and its log are kept.",
                         directives=SIGNED_IN)
    async def unlink_account_mapping(self, info: Info, id: strawberry.ID, reason: str | None = None) -> AccountMapping:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            row = await accounts.unlink(session, str(id), reason=reason, actor=_actor(info))
        return AccountMapping.from_row(row)

    @strawberry.mutation(description="Import mappings from a base64 CSV or XLSX file: all rows or none; "
                         "dryRun only validates.", directives=SIGNED_IN)
    async def import_account_mappings(
        self, info: Info, format: FileFormat, file: str, dry_run: bool = False, reason: str | None = None,
    ) -> ImportResult:
        await guard.require_province_admin(info)
        data = transfer.decode_file(file)
        async with _transaction(info, "Mappings changed while importing; import the file again.") as session:
            # Writes nothing unless every row passed and this is no dry run.
            outcome = await transfer.import_mappings(session, data, raw(format), dry_run=dry_run,
                                                     reason=reason, actor=_actor(info))
        return ImportResult(
            ok=not outcome.errors, dry_run=dry_run, linked=outcome.linked, unchanged=outcome.unchanged,
            errors=[ImportRowError(row=e.row, column=e.column, message=e.message) for e in outcome.errors])

    @strawberry.mutation(description="开始匹配: start automatic matching; returns the run at once, poll "
                         "matchRun(id) for progress.", directives=SIGNED_IN)
    async def start_account_matching(self, info: Info, input: StartAccountMatchingInput) -> MatchRun:
        await guard.require_province_admin(info)
        row = await matching.start_run(
            info.context.sessions, system_code=str(input.system_code), match_field=raw(input.field),
            precision=raw(input.precision), scope=raw(input.scope), actor=_actor(info))
        return MatchRun.from_row(row)

    @strawberry.mutation(description="Register an API client; a confidential one's secret is in the answer, "
                         "this once.", directives=SIGNED_IN)
    async def create_client(self, info: Info, input: CreateClientInput) -> ClientWithSecret:
        await guard.require_province_admin(info)
        name = clients.check_name(input.name)
        redirect_uris = clients.check_redirect_uris(input.redirect_uris)
        grants = clients.check_grant_types([raw(g) for g in input.grant_types], confidential=input.confidential,
                                           redirect_uris=redirect_uris)
        scopes = clients.check_scopes(input.scopes)
        ip_allow = clients.check_ip_allow_list(input.ip_allow_list)
        rate_limit = clients.check_rate_limit(input.rate_limit)
        ttl = clients.check_ttl_hours(input.access_token_ttl_hours)
        secret = clients.new_secret() if input.confidential else None
        async with _transaction(info, "A client with this id exists; try again.") as session:
            organization_id = await _check_organization(
                session, str(input.organization_id) if input.organization_id else None)
            row = models.Client(
                client_id=clients.new_client_id(raw(input.kind)), name=name, kind=raw(input.kind),
                secret_hash=hash_password(secret) if secret else None, grant_types=grants,
                redirect_uris=redirect_uris, scopes=scopes, ip_allow=ip_allow, rate_limit=rate_limit,
                status=raw(input.status), organization_id=organization_id, persisted_operations=[],
                access_token_ttl_seconds=ttl, created_at=now())
            session.add(row)
            record_operation(session, actor_id=caller_id(info), action="CLIENT_CREATE", target_type="client",
                             target_id=row.client_id, detail={"name": name, "kind": row.kind,
                                                              "confidential": secret is not None},
                             ip=client_ip(info))
        return ClientWithSecret(client=Client.from_row(row), client_secret=secret)

    @strawberry.mutation(description="Change a client's settings (never its secret: rotateClientSecret).",
                         directives=SIGNED_IN)
    async def update_client(self, info: Info, client_id: strawberry.ID, input: UpdateClientInput) -> Client:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            row = await _client_row(session, str(client_id))
            confidential = row.secret_hash is not None
            if input.name is not None:
                row.name = clients.check_name(input.name)
            if input.kind is not None:
                row.kind = raw(input.kind)
            if input.redirect_uris is not None:
                row.redirect_uris = clients.check_redirect_uris(input.redirect_uris)
            grants = [raw(g) for g in input.grant_types] if input.grant_types is not None else row.grant_types
            # Checked whenever grants or redirect URIs change: removing the last redirect URI of a code-flow
            # client is as wrong as adding the code flow without one.
            row.grant_types = clients.check_grant_types(grants, confidential=confidential,
                                                        redirect_uris=row.redirect_uris)
            if input.scopes is not None:
                row.scopes = clients.check_scopes(input.scopes)
            if input.ip_allow_list is not None:
                row.ip_allow = clients.check_ip_allow_list(input.ip_allow_list)
            if input.rate_limit is not strawberry.UNSET:
                row.rate_limit = clients.check_rate_limit(input.rate_limit)
            if input.status is not None:
                row.status = raw(input.status)
            if input.organization_id is not strawberry.UNSET:
                row.organization_id = await _check_organization(
                    session, str(input.organization_id) if input.organization_id else None)
            if input.access_token_ttl_hours is not strawberry.UNSET:
                row.access_token_ttl_seconds = clients.check_ttl_hours(input.access_token_ttl_hours)
            record_operation(session, actor_id=caller_id(info), action="CLIENT_UPDATE", target_type="client",
                             target_id=row.client_id, detail=_client_detail(row), ip=client_ip(info))
        return Client.from_row(row)

    @strawberry.mutation(description="A new secret for a confidential client, shown this once; the old one "
                         "stops working at once.", directives=SIGNED_IN)
    async def rotate_client_secret(self, info: Info, client_id: strawberry.ID) -> ClientWithSecret:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            row = await _client_row(session, str(client_id))
            if row.secret_hash is None:
                raise domain_error(ErrorCode.INVALID_STATE, "A public client has no secret to rotate.",
                                   argument="clientId")
            secret = clients.new_secret()
            row.secret_hash = hash_password(secret)
            record_operation(session, actor_id=caller_id(info), action="CLIENT_ROTATE_SECRET",
                             target_type="client", target_id=row.client_id, detail={}, ip=client_ip(info))
        return ClientWithSecret(client=Client.from_row(row), client_secret=secret)

    @strawberry.mutation(description="The persisted operations (sha256 hex ids) the client may run; replaces "
                         "the list.", directives=SIGNED_IN)
    async def set_client_persisted_operations(
        self, info: Info, client_id: strawberry.ID, operation_ids: list[str]
    ) -> Client:
        await guard.require_province_admin(info)
        ids = clients.check_persisted_operations(operation_ids)
        async with info.context.transaction() as session:
            row = await _client_row(session, str(client_id))
            row.persisted_operations = ids
            record_operation(session, actor_id=caller_id(info), action="CLIENT_SET_OPERATIONS",
                             target_type="client", target_id=row.client_id, detail={"operations": len(ids)},
                             ip=client_ip(info))
        return Client.from_row(row)


def _client_detail(row: models.Client) -> dict[str, object]:
    # What changed hands, for the operation log: settings only, never the secret hash.
    return {"name": row.name, "kind": row.kind, "grantTypes": list(row.grant_types),
            "redirectUris": list(row.redirect_uris), "scopes": list(row.scopes), "ipAllow": list(row.ip_allow),
            "rateLimit": row.rate_limit, "status": row.status, "organizationId": row.organization_id,
            "accessTokenTtlSeconds": row.access_token_ttl_seconds}


queries: tuple[type, ...] = (MappingQuery,)
mutations: tuple[type, ...] = (MappingMutation,)
