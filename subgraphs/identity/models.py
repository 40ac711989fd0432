"""identity's tables: the organisation tree, user accounts, roles and permissions, account mappings, API
clients, the security policies and their logs, and the authorization server's state.

Personal data at rest (a user's name and mobile) is stored SM4-encrypted with the key version that
encrypted it, next to an HMAC-SM3 blind index for exact lookup (subgraphs/identity/security/crypto.py);
`display_name` is the plaintext of rows written before encryption, which the encryption job moves into
`name_cipher` and clears.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from subgraphs.common.columns import UtcDateTime
from subgraphs.common.outbox import OutboxEventMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class Organization(Base):
    """组织机构: health commissions and medical institutions, province down to township."""

    __tablename__ = "organization"
    __table_args__ = (
        # organizations(regionCode, kind) pages by id inside a region-code range.
        Index("ix_organization_region_id", "region_code", "id"),
        Index("ix_organization_kind_id", "kind", "id"),
        UniqueConstraint("code", name="uq_organization_code"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    # A population region code: a reference into another domain, so no foreign key.
    region_code: Mapped[str] = mapped_column(String(15))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"), index=True)
    code: Mapped[str | None] = mapped_column(String(32), default=None)  # 机构编码
    person_in_charge: Mapped[str | None] = mapped_column(String(64), default=None)  # 负责人
    address: Mapped[str | None] = mapped_column(String(256), default=None)
    contact: Mapped[str | None] = mapped_column(String(64), default=None)  # 联系方式
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class User(Base):
    """用户: a staff account of the unified portal."""

    # "user" is a reserved word in PostgreSQL and standard SQL; the plural needs no quoting anywhere.
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_organization_id", "organization_id", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64), default=None)  # legacy plaintext, see above
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"))
    status: Mapped[str] = mapped_column(String(16))
    # The population person behind the account (统一身份识别码); unique so Person.account is one user.
    person_uid: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    name_cipher: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    name_index: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    mobile_cipher: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    mobile_index: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    key_version: Mapped[int | None] = mapped_column(Integer, default=None)  # of name_cipher and mobile_cipher
    email: Mapped[str | None] = mapped_column(String(128), default=None)
    gender: Mapped[str | None] = mapped_column(String(8), default=None)
    department: Mapped[str | None] = mapped_column(String(64), default=None)
    remark: Mapped[str | None] = mapped_column(String(256), default=None)
    status_reason: Mapped[str | None] = mapped_column(String(256), default=None)
    password_hash: Mapped[str | None] = mapped_column(String(256), default=None)
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    usual_region: Mapped[str | None] = mapped_column(String(15), default=None)  # for the remote-login alert
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class Role(Base):
    """角色: the portal's own roles. `code` is immutable; a status change needs a reason."""

    __tablename__ = "role"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # ADMIN | BUSINESS
    description: Mapped[str | None] = mapped_column(String(256), default=None)
    status: Mapped[str] = mapped_column(String(16), default="ENABLED")  # ENABLED | DISABLED
    status_reason: Mapped[str | None] = mapped_column(String(256), default=None)
    remark: Mapped[str | None] = mapped_column(String(256), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UserRole(Base):
    __tablename__ = "user_role"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("role.id"), primary_key=True, index=True)


class Permission(Base):
    """权限: data (with an access scope), function or menu permission of the portal or a connected system."""

    __tablename__ = "permission"
    __table_args__ = (UniqueConstraint("system", "code", name="uq_permission_system_code"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    system: Mapped[str] = mapped_column(String(64), default="portal")
    kind: Mapped[str] = mapped_column(String(16))  # DATA | FUNCTION | MENU
    code: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(256), default=None)
    data_scope: Mapped[str | None] = mapped_column(String(16), default=None)  # OWN_ORG | OWN_DEPT | CROSS_ORG | ALL
    menu_path: Mapped[str | None] = mapped_column(String(256), default=None)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("permission.id"), default=None)
    effective: Mapped[bool] = mapped_column(Boolean, default=True)
    effective_from: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class RolePermission(Base):
    __tablename__ = "role_permission"
    role_id: Mapped[str] = mapped_column(ForeignKey("role.id"), primary_key=True)
    permission_id: Mapped[str] = mapped_column(ForeignKey("permission.id"), primary_key=True, index=True)


class ConnectedSystem(Base):
    """A third-party system connected to the portal (the 64 of the tender): mappings and permissions refer
    to it by code."""

    __tablename__ = "connected_system"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    protocol: Mapped[str] = mapped_column(String(16), default="OAUTH2")  # OAUTH2 | CAS | NON_SSO
    status: Mapped[str] = mapped_column(String(16), default="ENABLED")


class ExternalUser(Base):
    """A user of a connected system as its user-list interface reports it: what automatic matching reads."""

    __tablename__ = "external_user"
    system_code: Mapped[str] = mapped_column(ForeignKey("connected_system.code"), primary_key=True)
    username: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(64), default=None)
    mobile: Mapped[str | None] = mapped_column(String(20), default=None)
    credit_code: Mapped[str | None] = mapped_column(String(18), default=None)


class AccountMapping(Base):
    """用户关联对照: one portal user to one account of a connected system."""

    __tablename__ = "account_mapping"
    __table_args__ = (UniqueConstraint("user_id", "system_code", name="uq_account_mapping_user_system"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    system_code: Mapped[str] = mapped_column(ForeignKey("connected_system.code"), index=True)
    external_username: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # LINKED | UNLINKED
    method: Mapped[str] = mapped_column(String(16))  # MANUAL | AUTO
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    operator_id: Mapped[str | None] = mapped_column(String(40), default=None)
    remark: Mapped[str | None] = mapped_column(String(256), default=None)


class AccountMappingLog(Base):
    """关联日志: every link, edit and unlink, with the old and new relation, reason, operator and IP."""

    __tablename__ = "account_mapping_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mapping_id: Mapped[str] = mapped_column(ForeignKey("account_mapping.id"), index=True)
    operation: Mapped[str] = mapped_column(String(16))  # LINK | EDIT | UNLINK
    old_value: Mapped[str | None] = mapped_column(String(256), default=None)
    new_value: Mapped[str | None] = mapped_column(String(256), default=None)
    reason: Mapped[str | None] = mapped_column(String(256), default=None)
    operator_id: Mapped[str | None] = mapped_column(String(40), default=None)
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class MatchRun(Base):
    """One run of automatic matching (自动匹配) and its counts."""

    __tablename__ = "match_run"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    system_code: Mapped[str] = mapped_column(ForeignKey("connected_system.code"))
    match_field: Mapped[str] = mapped_column(String(16))  # MOBILE | CREDIT_CODE | USERNAME
    precision: Mapped[str] = mapped_column(String(16))  # EXACT | FUZZY
    scope: Mapped[str] = mapped_column(String(16))  # ALL | NEW
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    succeeded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    unmatched: Mapped[int] = mapped_column(Integer, default=0)


class MatchResult(Base):
    __tablename__ = "match_result"
    run_id: Mapped[str] = mapped_column(ForeignKey("match_run.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    result: Mapped[str] = mapped_column(String(16))  # SUCCESS | FAILED | UNMATCHED
    external_username: Mapped[str | None] = mapped_column(String(128), default=None)
    detail: Mapped[str | None] = mapped_column(String(256), default=None)


class Client(Base):
    """应用 / API client: who may ask the authorization server for tokens, and run which persisted operations."""

    __tablename__ = "client"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # WEB | MOBILE | SYSTEM
    secret_hash: Mapped[str | None] = mapped_column(String(256), default=None)  # None: a public client (PKCE)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    ip_allow: Mapped[list[str]] = mapped_column(JSON, default=list)  # CIDRs; empty: any address
    rate_limit: Mapped[str | None] = mapped_column(String(32), default=None)  # "600/60s"
    status: Mapped[str] = mapped_column(String(16), default="ENABLED")
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"), default=None)
    persisted_operations: Mapped[list[str]] = mapped_column(JSON, default=list)  # operation ids it may run
    access_token_ttl_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OperationLog(Base):
    """操作日志: who did what to which record, from where; status changes carry their reason here."""

    __tablename__ = "operation_log"
    __table_args__ = (Index("ix_operation_log_actor_at", "actor_id", "at"),
                      Index("ix_operation_log_target", "target_type", "target_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor_id: Mapped[str | None] = mapped_column(String(40), default=None)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class LoginEvent(Base):
    """登录日志: every login attempt, kept for the configured retention (6 to 24 months)."""

    __tablename__ = "login_event"
    __table_args__ = (Index("ix_login_event_user_at", "user_id", "at"), Index("ix_login_event_at", "at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(40), default=None)
    username: Mapped[str | None] = mapped_column(String(64), default=None)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    method: Mapped[str] = mapped_column(String(16))  # SSO | THIRD_PARTY | NON_SSO | CAS
    channel: Mapped[str | None] = mapped_column(String(16), default=None)  # WECHAT | ALIPAY | SFM
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    device: Mapped[str | None] = mapped_column(String(256), default=None)
    region: Mapped[str | None] = mapped_column(String(15), default=None)
    success: Mapped[bool] = mapped_column(Boolean)
    failure_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    remote_alert: Mapped[bool] = mapped_column(Boolean, default=False)  # 异地登录
    token_id: Mapped[str | None] = mapped_column(String(64), default=None)


class PasswordHistory(Base):
    __tablename__ = "password_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SecurityPolicy(Base):
    """安全策略: one JSON document per policy (PASSWORD, LOGIN, SSO, ENCRYPTION), effective on save."""

    __tablename__ = "security_policy"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str | None] = mapped_column(String(40), default=None)


class IpBlacklistEntry(Base):
    """IP黑名单: one address or CIDR range (IPv4 or IPv6), stored normalised."""

    __tablename__ = "ip_blacklist"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    remark: Mapped[str | None] = mapped_column(String(256), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class EncryptionKey(Base):
    """A version of the data keys (SM4 for the ciphertext, HMAC-SM3 for the blind index), wrapped by the
    master key from the environment; never stored in the clear."""

    __tablename__ = "encryption_key"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))  # ACTIVE | RETIRED
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class KeyRotationLog(Base):
    __tablename__ = "key_rotation_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    from_version: Mapped[int | None] = mapped_column(Integer, default=None)
    to_version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    records: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # RUNNING | DONE | FAILED
    operator_id: Mapped[str | None] = mapped_column(String(40), default=None)


class SigningKey(Base):
    """The authorization server's token-signing keys (JWKS with rotation): the private half wrapped."""

    __tablename__ = "signing_key"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))  # ES256 | RS256
    private_key: Mapped[bytes] = mapped_column(LargeBinary)  # wrapped by the master key
    public_jwk: Mapped[dict[str, object]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # NEXT | ACTIVE | RETIRED (still published) | REMOVED
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class AuthSession(Base):
    """A signed-in browser session at the authorization server (SSO); ends after 30 minutes idle."""

    __tablename__ = "auth_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # a hash of the cookie value
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    method: Mapped[str] = mapped_column(String(16), default="PASSWORD")


class AuthorizationCode(Base):
    __tablename__ = "authorization_code"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("client.client_id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[str | None] = mapped_column(String(64), default=None)
    redirect_uri: Mapped[str] = mapped_column(String(512))
    scope: Mapped[str] = mapped_column(String(512), default="")
    code_challenge: Mapped[str | None] = mapped_column(String(128), default=None)
    code_challenge_method: Mapped[str | None] = mapped_column(String(8), default=None)
    nonce: Mapped[str | None] = mapped_column(String(256), default=None)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class RefreshToken(Base):
    """Refresh tokens rotate on use; presenting a used one revokes its whole family (reuse detection)."""

    __tablename__ = "refresh_token"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(40), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("client.client_id"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    session_id: Mapped[str | None] = mapped_column(String(64), default=None)
    scope: Mapped[str] = mapped_column(String(512), default="")
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class RevokedToken(Base):
    """Access tokens revoked before they expire (RFC 7009), by jti; rows past expiry can be purged."""

    __tablename__ = "revoked_token"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class CasTicket(Base):
    __tablename__ = "cas_ticket"
    ticket: Mapped[str] = mapped_column(String(128), primary_key=True)
    service: Mapped[str] = mapped_column(String(512))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[str | None] = mapped_column(String(64), default=None)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class LoginChannel(Base):
    """A third-party login channel (WECHAT, ALIPAY, SFM): switch, endpoints and wrapped credentials."""

    __tablename__ = "login_channel"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # app id, base URL, ...
    secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # app secret / private key, wrapped
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class ExternalIdentity(Base):
    """A third-party login identity (openid/unionid, Alipay user id, 苏服码 id) bound to a user."""

    __tablename__ = "external_identity"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    union_id: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())




class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_event"
