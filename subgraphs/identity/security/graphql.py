"""GraphQL for the security policies (安全策略): merged into identity's Query and Mutation by schema.py.

Policies: passwordPolicy / updatePasswordPolicy / resetPasswordPolicy, passwordStrength (the live check),
loginPolicy / updateLoginPolicy / resetLoginPolicy, encryptionPolicy / updateEncryptionPolicy /
resetEncryptionPolicy. An update changes only the settings it names; each is checked against the
tender's range (BAD_USER_INPUT naming the setting in `extensions.argument`) and applies at once.
IP blacklist: ipBlacklist (paged, keyword and status filters), addIpBlacklistEntries, updateIpBlacklistEntry,
setIpBlacklistEntryEnabled, deleteIpBlacklistEntries, importIpBlacklist (all or nothing, per-row errors),
exportIpBlacklist, ipBlacklistImportTemplate (files travel base64-encoded).
Encryption: encryptionKeys, keyRotationLog (newest first), testEncryption (round trip).
Login log: loginEvents (newest first; user, time range, IP prefix and outcome filters).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.common.paging import (
    Connection,
    PageRequest,
    check_first,
    connection_from_rows,
    decode_cursor,
    keyset_page,
)
from subgraphs.identity import models
from subgraphs.identity.domain import guard
from subgraphs.identity.security import blacklist, passwords
from subgraphs.identity.security.crypto import CryptoError, master_key
from subgraphs.identity.security.encryption import EncryptionPolicy, encryption_test
from subgraphs.identity.security.login import LoginPolicy
from subgraphs.identity.security.passwords import PasswordPolicy
from subgraphs.identity.security.policy import PolicyDocument, PolicyError, load_policy, save_policy
from subgraphs.identity.types import SIGNED_IN, Info


def _now() -> datetime:
    return datetime.now(UTC)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _actor(info: Info) -> str | None:
    caller = getattr(info.context, "caller", None)
    return caller.user_id if caller is not None else None


def _policy_error(exc: PolicyError) -> Exception:
    return bad_input(exc.message, argument=_camel(exc.setting))


async def _update_policy(info: Info, current_type: type[PolicyDocument], changes: dict[str, Any]) -> Any:
    async with info.context.transaction() as session:
        current = await load_policy(session, current_type)
        try:
            updated = dataclasses.replace(current, **changes)  # type: ignore[type-var]
            await save_policy(session, updated, now=_now(), by=_actor(info))
        except PolicyError as exc:
            raise _policy_error(exc) from exc
        return updated


async def _reset_policy(info: Info, policy_type: type[PolicyDocument]) -> Any:
    async with info.context.transaction() as session:
        policy = policy_type()
        await save_policy(session, policy, now=_now(), by=_actor(info))
        return policy


def _given(input_: object, mapping: dict[str, str] | None = None) -> dict[str, Any]:
    """The settings an input names (UNSET and null mean: unchanged)."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(input_):  # type: ignore[arg-type]
        value = getattr(input_, f.name)
        if value is strawberry.UNSET or value is None:
            continue
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, list):
            value = tuple(v.value if isinstance(v, Enum) else v for v in value)
        changes[(mapping or {}).get(f.name, f.name)] = value
    return changes


# --- password policy ------------------------------------------------------------------------------


@strawberry.enum(description="密码强度: 弱 / 中 / 强.")
class PasswordStrength(Enum):
    WEAK = "WEAK"
    MEDIUM = "MEDIUM"
    STRONG = "STRONG"


@strawberry.type(name="PasswordPolicy", description="密码策略. Lengths 6-32, expiry 1-365 days (reminder 7 days "
                 "before), 1-30 days between changes, the last 1-10 passwords not reusable.")
class PasswordPolicyType:
    min_length: int
    max_length: int
    require_letter: bool = strawberry.field(description="至少包含1位字母 (either case)")
    require_mixed_case: bool = strawberry.field(description="both an upper-case and a lower-case letter")
    require_digit: bool
    require_special: bool
    min_strength: PasswordStrength = strawberry.field(description="the weakest strength accepted")
    expiry_days: int
    reminder_days: int = strawberry.field(description="到期前提醒: days before expiry the user is reminded")
    min_change_interval_days: int
    history: int = strawberry.field(description="不可重复使用前N次密码")

    @classmethod
    def of(cls, p: PasswordPolicy) -> PasswordPolicyType:
        return cls(min_length=p.min_length, max_length=p.max_length, require_letter=p.require_letter,
                   require_mixed_case=p.require_mixed_case, require_digit=p.require_digit,
                   require_special=p.require_special, min_strength=PasswordStrength(p.min_strength),
                   expiry_days=p.expiry_days, reminder_days=passwords.REMINDER_DAYS,
                   min_change_interval_days=p.min_change_interval_days, history=p.history)


@strawberry.input(description="The password-policy settings to change; omitted ones stay as they are.")
class PasswordPolicyInput:
    min_length: int | None = strawberry.UNSET
    max_length: int | None = strawberry.UNSET
    require_letter: bool | None = strawberry.UNSET
    require_mixed_case: bool | None = strawberry.UNSET
    require_digit: bool | None = strawberry.UNSET
    require_special: bool | None = strawberry.UNSET
    min_strength: PasswordStrength | None = strawberry.UNSET
    expiry_days: int | None = strawberry.UNSET
    min_change_interval_days: int | None = strawberry.UNSET
    history: int | None = strawberry.UNSET


@strawberry.type(description="The live check of a candidate password against the current policy.")
class PasswordCheck:
    strength: PasswordStrength
    acceptable: bool = strawberry.field(description="whether the policy accepts it (history and change "
                                        "interval aside, which need the account)")
    problems: list[str]


# --- login policy ---------------------------------------------------------------------------------


@strawberry.enum(description="A way to deliver a code or an alert: 短信 / 邮箱.")
class VerificationMethod(Enum):
    SMS = "SMS"
    EMAIL = "EMAIL"


@strawberry.enum(description="双因子认证范围: 全局启用 / 按角色启用.")
class TwoFactorScope(Enum):
    GLOBAL = "GLOBAL"
    ROLES = "ROLES"


@strawberry.type(description="An IP range and the region its addresses are taken to be in (异地登录 judgement).")
class IpRegion:
    network: str
    region_code: str


@strawberry.input
class IpRegionInput:
    network: str
    region_code: str


@strawberry.type(name="LoginPolicy", description="登录安全: two-factor authentication, failure lockout "
                 "(1-10 failures, 1-24 hours), remote-login alert, login-log retention (6-24 months).")
class LoginPolicyType:
    two_factor_enabled: bool
    two_factor_scope: TwoFactorScope
    two_factor_roles: list[str] = strawberry.field(description="role codes, for the ROLES scope")
    two_factor_methods: list[VerificationMethod]
    failure_limit: int
    lock_hours: int
    remote_alert_enabled: bool
    remote_alert_channels: list[VerificationMethod]
    ip_regions: list[IpRegion] = strawberry.field(description="checked in order before the built-in ranges")
    log_retention_months: int

    @classmethod
    def of(cls, p: LoginPolicy) -> LoginPolicyType:
        return cls(
            two_factor_enabled=p.two_factor_enabled, two_factor_scope=TwoFactorScope(p.two_factor_scope),
            two_factor_roles=list(p.two_factor_roles),
            two_factor_methods=[VerificationMethod(m) for m in p.two_factor_methods],
            failure_limit=p.failure_limit, lock_hours=p.lock_hours, remote_alert_enabled=p.remote_alert_enabled,
            remote_alert_channels=[VerificationMethod(m) for m in p.remote_alert_channels],
            ip_regions=[IpRegion(network=n, region_code=r) for n, r in p.ip_regions],
            log_retention_months=p.log_retention_months,
        )


@strawberry.input(description="The login-policy settings to change; omitted ones stay as they are.")
class LoginPolicyInput:
    two_factor_enabled: bool | None = strawberry.UNSET
    two_factor_scope: TwoFactorScope | None = strawberry.UNSET
    two_factor_roles: list[str] | None = strawberry.UNSET
    two_factor_methods: list[VerificationMethod] | None = strawberry.UNSET
    failure_limit: int | None = strawberry.UNSET
    lock_hours: int | None = strawberry.UNSET
    remote_alert_enabled: bool | None = strawberry.UNSET
    remote_alert_channels: list[VerificationMethod] | None = strawberry.UNSET
    ip_regions: list[IpRegionInput] | None = strawberry.UNSET
    log_retention_months: int | None = strawberry.UNSET


# --- encryption policy ----------------------------------------------------------------------------


@strawberry.enum(description="传输加密协议")
class TransportProtocol(Enum):
    TLS1_3 = "TLS1.3"
    TLS1_2 = "TLS1.2"


@strawberry.enum(description="国密算法 for integrated systems")
class TransportAlgorithm(Enum):
    SM2 = "SM2"
    SM4 = "SM4"


@strawberry.enum(description="敏感数据加密范围: the personal fields stored encrypted")
class EncryptedField(Enum):
    NAME = "name"
    MOBILE = "mobile"


@strawberry.enum(description="存储加密算法")
class StorageAlgorithm(Enum):
    SM4_CBC_HMAC_SM3 = "SM4-CBC-HMAC-SM3"


@strawberry.type(name="EncryptionPolicy", description="数据加密: transport, storage and key management "
                 "(key validity 30-365 days, automatic rotation).")
class EncryptionPolicyType:
    transport_protocol: TransportProtocol
    transport_algorithms: list[TransportAlgorithm]
    transport_key_ref: str | None = strawberry.field(description="the name of the configured key in the key store")
    storage_fields: list[EncryptedField]
    storage_algorithm: StorageAlgorithm
    key_validity_days: int
    auto_rotate: bool

    @classmethod
    def of(cls, p: EncryptionPolicy) -> EncryptionPolicyType:
        return cls(
            transport_protocol=TransportProtocol(p.transport_protocol),
            transport_algorithms=[TransportAlgorithm(a) for a in p.transport_algorithms],
            transport_key_ref=p.transport_key_ref, storage_fields=[EncryptedField(f) for f in p.storage_fields],
            storage_algorithm=StorageAlgorithm(p.storage_algorithm), key_validity_days=p.key_validity_days,
            auto_rotate=p.auto_rotate,
        )


@strawberry.input(description="The encryption settings to change; omitted ones stay as they are.")
class EncryptionPolicyInput:
    transport_protocol: TransportProtocol | None = strawberry.UNSET
    transport_algorithms: list[TransportAlgorithm] | None = strawberry.UNSET
    transport_key_ref: str | None = strawberry.UNSET
    storage_fields: list[EncryptedField] | None = strawberry.UNSET
    storage_algorithm: StorageAlgorithm | None = strawberry.UNSET
    key_validity_days: int | None = strawberry.UNSET
    auto_rotate: bool | None = strawberry.UNSET


@strawberry.enum
class EncryptionKeyStatus(Enum):
    ACTIVE = "ACTIVE"
    RETIRED = "RETIRED"


@strawberry.type(description="A version of the data keys (the key material never leaves the server).")
class EncryptionKeyVersion:
    version: int
    status: EncryptionKeyStatus
    created_at: datetime
    expires_at: datetime | None


@strawberry.enum
class KeyRotationStatus(Enum):
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


@strawberry.type(description="密钥轮换日志: one rotation and how many records it re-encrypted.")
class KeyRotation:
    id: strawberry.ID
    from_version: int | None
    to_version: int
    started_at: datetime
    finished_at: datetime | None
    records: int
    status: KeyRotationStatus
    operator_id: str | None

    @classmethod
    def of(cls, row: models.KeyRotationLog) -> KeyRotation:
        return cls(id=strawberry.ID(str(row.id)), from_version=row.from_version, to_version=row.to_version,
                   started_at=row.started_at, finished_at=row.finished_at, records=row.records,
                   status=KeyRotationStatus(row.status), operator_id=row.operator_id)


@strawberry.type(description="加密测试: SM4 round trip with the active key, and tamper detection.")
class EncryptionTestResultType:
    ok: bool
    key_version: int | None
    ciphertext_hex: str | None
    decrypted: str | None
    tamper_detected: bool
    elapsed_ms: float
    error: str | None


# --- IP blacklist ---------------------------------------------------------------------------------


@strawberry.enum(description="类型: 单个IP / IP段.")
class IpBlacklistEntryKind(Enum):
    SINGLE = "SINGLE"
    RANGE = "RANGE"


@strawberry.enum(description="状态: 启用 / 禁用.")
class IpBlacklistStatus(Enum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


@strawberry.enum
class IpBlacklistFileFormat(Enum):
    XLSX = "XLSX"
    CSV = "CSV"


@strawberry.type(description="IP黑名单 entry: an address or CIDR range, stored normalised.")
class IpBlacklistEntry:
    id: strawberry.ID
    network: str = strawberry.field(description="IP地址/IP段")
    kind: IpBlacklistEntryKind
    status: IpBlacklistStatus
    remark: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: models.IpBlacklistEntry) -> IpBlacklistEntry:
        return cls(id=strawberry.ID(row.id), network=row.network,
                   kind=IpBlacklistEntryKind(blacklist.kind_of(row.network)),
                   status=IpBlacklistStatus.ENABLED if row.enabled else IpBlacklistStatus.DISABLED,
                   remark=row.remark, created_at=row.created_at)


@strawberry.input
class IpBlacklistEntryInput:
    network: str = strawberry.field(description="an IPv4/IPv6 address or CIDR range (no host bits)")
    remark: str | None = None
    enabled: bool = True


@strawberry.type(description="One rejected row of an import or batch (row numbers as in the file).")
class IpBlacklistRowError:
    row: int
    message: str


@strawberry.type
class IpBlacklistImportResult:
    imported: int
    errors: list[IpBlacklistRowError] = strawberry.field(description="empty when the import succeeded; else nothing "
                                              "was imported")


@strawberry.type(description="A file for download, base64-encoded.")
class IpBlacklistFile:
    filename: str
    content_type: str
    content_base64: str


CONTENT_TYPES = {"XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "CSV": "text/csv; charset=utf-8"}


def _blacklist_error(exc: blacklist.BlacklistError) -> Exception:
    if exc.errors:
        return bad_input(exc.message, rowErrors=[{"row": r, "message": m} for r, m in exc.errors])
    return bad_input(exc.message)


def _status_filter(status: IpBlacklistStatus | None) -> bool | None:
    return None if status is None else status is IpBlacklistStatus.ENABLED


# --- login log ------------------------------------------------------------------------------------


@strawberry.type(description="登录日志: one login attempt.")
class LoginLogEntry:
    id: strawberry.ID
    user_id: str | None
    username: str | None
    at: datetime
    method: str = strawberry.field(description="SSO | THIRD_PARTY | NON_SSO | CAS")
    channel: str | None
    ip: str | None
    device: str | None
    region_code: str | None
    success: bool
    failure_reason: str | None = strawberry.field(description="ACCOUNT_NOT_FOUND | WRONG_PASSWORD | "
                                                  "NOT_PERMITTED | IP_RESTRICTED | LOCKED")
    remote_alert: bool = strawberry.field(description="异地登录: the region differs from the usual one")

    @classmethod
    def of(cls, row: models.LoginEvent) -> LoginLogEntry:
        return cls(id=strawberry.ID(str(row.id)), user_id=row.user_id, username=row.username, at=row.at,
                   method=row.method, channel=row.channel, ip=row.ip, device=row.device, region_code=row.region,
                   success=row.success, failure_reason=row.failure_reason, remote_alert=bool(row.remote_alert))


def _before(order_by: list[Any], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in descending (a, b, ...) order."""
    clauses = []
    for i, column in enumerate(order_by):
        clauses.append(and_(*[order_by[j] == values[j] for j in range(i)], column < values[i]))
    return or_(*clauses)


async def _newest_first(session: AsyncSession, stmt: Select[Any], order_by: list[Any], sort_key: Any, to_node: Any,
                        first: int, after: str | None, *, datetime_positions: tuple[int, ...] = ()) -> Any:
    first = check_first(first)
    if after is not None:
        values = decode_cursor(after, len(order_by))
        try:
            for position in datetime_positions:
                values[position] = datetime.fromisoformat(values[position])
        except (TypeError, ValueError) as exc:
            raise bad_input("The cursor is not one this service issued.", argument="after") from exc
        stmt = stmt.where(_before(order_by, values))
    rows = list((await session.scalars(stmt.order_by(*[c.desc() for c in order_by]).limit(first + 1))).all())
    return connection_from_rows(rows, first, sort_key, to_node, has_previous=after is not None)


# --- root fields ----------------------------------------------------------------------------------


@strawberry.type
class SecurityQuery:
    @strawberry.field(directives=SIGNED_IN, description="密码策略 in force.")
    async def password_policy(self, info: Info) -> PasswordPolicyType:
        await guard.require_admin(info)
        async with info.context.session() as session:
            return PasswordPolicyType.of(await load_policy(session, PasswordPolicy))

    @strawberry.field(description="Real-time strength check (实时校验) of a candidate password under the policy.")
    async def password_strength(self, info: Info, password: str) -> PasswordCheck:
        async with info.context.session() as session:
            policy = await load_policy(session, PasswordPolicy)
        problems = passwords.check_new_password(policy, password)
        return PasswordCheck(strength=PasswordStrength(passwords.strength(password)), acceptable=not problems,
                             problems=problems)

    @strawberry.field(directives=SIGNED_IN, description="登录安全策略 in force.")
    async def login_policy(self, info: Info) -> LoginPolicyType:
        await guard.require_admin(info)
        async with info.context.session() as session:
            return LoginPolicyType.of(await load_policy(session, LoginPolicy))

    @strawberry.field(directives=SIGNED_IN, description="数据加密 settings in force.")
    async def encryption_policy(self, info: Info) -> EncryptionPolicyType:
        await guard.require_admin(info)
        async with info.context.session() as session:
            return EncryptionPolicyType.of(await load_policy(session, EncryptionPolicy))

    @strawberry.field(directives=SIGNED_IN, description="The key versions, newest first.")
    async def encryption_keys(self, info: Info) -> list[EncryptionKeyVersion]:
        await guard.require_admin(info)
        async with info.context.session() as session:
            rows = (await session.scalars(select(models.EncryptionKey)
                                          .order_by(models.EncryptionKey.version.desc()))).all()
        return [EncryptionKeyVersion(version=r.version, status=EncryptionKeyStatus(r.status), created_at=r.created_at,
                                     expires_at=r.expires_at) for r in rows]

    @strawberry.field(directives=SIGNED_IN, description="密钥轮换日志, newest first.")
    async def key_rotation_log(self, info: Info, first: int = 20, after: str | None = None) -> Connection[KeyRotation]:
        await guard.require_admin(info)
        async with info.context.session() as session:
            result: Connection[KeyRotation] = await _newest_first(
                session, select(models.KeyRotationLog), [models.KeyRotationLog.id], lambda r: [r.id], KeyRotation.of,
                first, after)
            return result

    @strawberry.field(description="IP黑名单 in address order; keyword matches the address/range or the remark.",
                      directives=SIGNED_IN)
    async def ip_blacklist(self, info: Info, keyword: str | None = None, status: IpBlacklistStatus | None = None,
                           first: int = 20, after: str | None = None) -> Connection[IpBlacklistEntry]:
        await guard.require_admin(info)
        async with info.context.session() as session:
            return await keyset_page(
                session, blacklist.filtered(keyword, _status_filter(status)),
                order_by=[models.IpBlacklistEntry.network.expression], sort_key=lambda r: [r.network],
                to_node=IpBlacklistEntry.of, page=PageRequest(first=first, after=after))

    @strawberry.field(description="The blacklist entries matching the filters as an Excel (or CSV) file, in the "
                      "import template's columns.", directives=SIGNED_IN)
    async def export_ip_blacklist(self, info: Info, keyword: str | None = None,
                                  status: IpBlacklistStatus | None = None,
                                  format: IpBlacklistFileFormat = IpBlacklistFileFormat.XLSX) -> IpBlacklistFile:
        await guard.require_admin(info)
        async with info.context.session() as session:
            rows = (await session.scalars(blacklist.filtered(keyword, _status_filter(status))
                                          .order_by(models.IpBlacklistEntry.network))).all()
        content = blacklist.export_file(rows, format.value)
        return IpBlacklistFile(filename=f"ip-blacklist.{format.value.lower()}",
                               content_type=CONTENT_TYPES[format.value],
                               content_base64=base64.b64encode(content).decode("ascii"))

    @strawberry.field(directives=SIGNED_IN, description="标准导入模板 of the IP blacklist (Excel).")
    async def ip_blacklist_import_template(self, info: Info) -> IpBlacklistFile:
        await guard.require_admin(info)
        return IpBlacklistFile(filename="ip-blacklist-template.xlsx", content_type=CONTENT_TYPES["XLSX"],
                            content_base64=base64.b64encode(blacklist.import_template()).decode("ascii"))

    @strawberry.field(description="登录日志, newest first: by user, time range [from, to), IP prefix, outcome.",
                      directives=SIGNED_IN)
    async def login_events(
        self, info: Info, user_id: strawberry.ID | None = None, username: str | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None, ip: str | None = None, success: bool | None = None,
        remote_only: bool = False, first: int = 20, after: str | None = None,
    ) -> Connection[LoginLogEntry]:
        scope = await guard.staff_scope(info)
        event = models.LoginEvent
        stmt = select(event)
        if not scope.everything:  # the sign-ins of the accounts within the administrator's reach
            stmt = stmt.where(event.user_id.in_(select(models.User.id).where(
                guard.in_scope(scope, models.User.organization_id))))
        if user_id is not None:
            stmt = stmt.where(event.user_id == str(user_id))
        if username:
            stmt = stmt.where(event.username == username)
        if from_ is not None:
            stmt = stmt.where(event.at >= from_)
        if to is not None:
            stmt = stmt.where(event.at < to)
        if ip:
            escaped = ip.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(event.ip.like(escaped + "%", escape="\\"))
        if success is not None:
            stmt = stmt.where(event.success.is_(success))
        if remote_only:
            stmt = stmt.where(event.remote_alert.is_(True))
        async with info.context.session() as session:
            result: Connection[LoginLogEntry] = await _newest_first(
                session, stmt, [event.at, event.id], lambda r: [r.at.isoformat(), r.id], LoginLogEntry.of,
                first, after, datetime_positions=(0,))
            return result


@strawberry.type
class SecurityMutation:
    @strawberry.mutation(directives=SIGNED_IN, description="Change password-policy settings; effective at once.")
    async def update_password_policy(self, info: Info, input: PasswordPolicyInput) -> PasswordPolicyType:
        await guard.require_province_admin(info)
        return PasswordPolicyType.of(await _update_policy(info, PasswordPolicy, _given(input)))

    @strawberry.mutation(directives=SIGNED_IN, description="Restore the default password policy.")
    async def reset_password_policy(self, info: Info) -> PasswordPolicyType:
        await guard.require_province_admin(info)
        return PasswordPolicyType.of(await _reset_policy(info, PasswordPolicy))

    @strawberry.mutation(directives=SIGNED_IN, description="Change login-security settings; effective at once.")
    async def update_login_policy(self, info: Info, input: LoginPolicyInput) -> LoginPolicyType:
        await guard.require_province_admin(info)
        changes = _given(input)
        if "ip_regions" in changes:
            changes["ip_regions"] = tuple((r.network.strip(), r.region_code.strip()) for r in changes["ip_regions"])
        return LoginPolicyType.of(await _update_policy(info, LoginPolicy, changes))

    @strawberry.mutation(directives=SIGNED_IN, description="Restore the default login policy.")
    async def reset_login_policy(self, info: Info) -> LoginPolicyType:
        await guard.require_province_admin(info)
        return LoginPolicyType.of(await _reset_policy(info, LoginPolicy))

    @strawberry.mutation(directives=SIGNED_IN, description="Change encryption settings; effective at once.")
    async def update_encryption_policy(self, info: Info, input: EncryptionPolicyInput) -> EncryptionPolicyType:
        await guard.require_province_admin(info)
        return EncryptionPolicyType.of(await _update_policy(info, EncryptionPolicy, _given(input)))

    @strawberry.mutation(directives=SIGNED_IN, description="Restore the default encryption settings.")
    async def reset_encryption_policy(self, info: Info) -> EncryptionPolicyType:
        await guard.require_province_admin(info)
        return EncryptionPolicyType.of(await _reset_policy(info, EncryptionPolicy))

    @strawberry.mutation(directives=SIGNED_IN, description="加密测试: encrypt and decrypt `text` with the active key.")
    async def test_encryption(self, info: Info, text: str = "加密测试 13800000000") -> EncryptionTestResultType:
        await guard.require_province_admin(info)
        if len(text) > 1024:
            raise bad_input("The test text is limited to 1024 characters.", argument="text")
        try:
            master = master_key()
        except CryptoError as exc:
            raise domain_error(ErrorCode.INVALID_STATE, str(exc)) from exc
        async with info.context.transaction() as session:
            r = await encryption_test(session, master, text)
        return EncryptionTestResultType(ok=r.ok, key_version=r.key_version, ciphertext_hex=r.ciphertext_hex,
                                        decrypted=r.decrypted, tamper_detected=r.tamper_detected,
                                        elapsed_ms=round(r.elapsed_ms, 3), error=r.error)

    @strawberry.mutation(description="Add blacklist entries (one or a batch), all or none; effective at once.",
                         directives=SIGNED_IN)
    async def add_ip_blacklist_entries(self, info: Info, entries: list[IpBlacklistEntryInput]
                                       ) -> list[IpBlacklistEntry]:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            try:
                rows = await blacklist.add_entries(
                    session, [blacklist.NewEntry(e.network, e.remark, e.enabled) for e in entries], now=_now())
            except blacklist.BlacklistError as exc:
                raise _blacklist_error(exc) from exc
            return [IpBlacklistEntry.of(r) for r in rows]

    @strawberry.mutation(description="Edit an entry's address or range, remark (\"\" clears it) or status.",
                         directives=SIGNED_IN)
    async def update_ip_blacklist_entry(self, info: Info, id: strawberry.ID, network: str | None = None,
                                        remark: str | None = None, enabled: bool | None = None) -> IpBlacklistEntry:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            try:
                row = await blacklist.update_entry(session, str(id), network=network, remark=remark, enabled=enabled)
            except blacklist.BlacklistError as exc:
                raise _blacklist_error(exc) from exc
            return IpBlacklistEntry.of(row)

    @strawberry.mutation(directives=SIGNED_IN, description="Enable or disable entries (启用/禁用); effective at once.")
    async def set_ip_blacklist_entry_enabled(self, info: Info, ids: list[strawberry.ID], enabled: bool
                                             ) -> list[IpBlacklistEntry]:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            try:
                rows = await blacklist.set_enabled(session, [str(i) for i in ids], enabled)
            except blacklist.BlacklistError as exc:
                raise _blacklist_error(exc) from exc
            return [IpBlacklistEntry.of(r) for r in rows]

    @strawberry.mutation(description="Delete entries (single or batch); returns how many were deleted.",
                         directives=SIGNED_IN)
    async def delete_ip_blacklist_entries(self, info: Info, ids: list[strawberry.ID]) -> int:
        await guard.require_province_admin(info)
        async with info.context.transaction() as session:
            return await blacklist.delete_entries(session, [str(i) for i in ids])

    @strawberry.mutation(description="Import entries from the template (Excel or CSV, base64): every row is "
                         "checked first and all are added, or none with the errors of each bad row.",
                         directives=SIGNED_IN)
    async def import_ip_blacklist(
        self, info: Info, content_base64: str, format: IpBlacklistFileFormat = IpBlacklistFileFormat.XLSX
    ) -> IpBlacklistImportResult:
        await guard.require_province_admin(info)
        try:
            content = base64.b64decode(content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise bad_input("The file is not valid base64.", argument="contentBase64") from exc
        async with info.context.transaction() as session:
            try:
                count = await blacklist.import_entries(session, content, format.value, now=_now())
            except blacklist.BlacklistError as exc:
                if not exc.errors:
                    raise bad_input(exc.message, argument="contentBase64") from exc
                errors = [IpBlacklistRowError(row=r, message=m) for r, m in exc.errors]
                return IpBlacklistImportResult(imported=0, errors=errors)
        return IpBlacklistImportResult(imported=count, errors=[])


queries: tuple[type, ...] = (SecurityQuery,)
mutations: tuple[type, ...] = (SecurityMutation,)
