"""用户: creation, editing (never the username), status changes with a reason, password resets, roles, and
the list filters.

Connected systems are told about status changes and edits through the outbox (the tender's real-time
user-status and basic-information sync); the events carry ids and field names only, never the personal
values themselves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import bad_input
from subgraphs.common.outbox import emit
from subgraphs.identity import models
from subgraphs.identity.domain import validation
from subgraphs.identity.domain.oplog import log_operation, now
from subgraphs.identity.domain.organizations import subtree_ids
from subgraphs.identity.domain.personal import mobile_matches, name_matches, reveal_with, seal_personal
from subgraphs.identity.domain.problems import conflict, field_error, invalid_state, not_found
from subgraphs.identity.security.crypto import FieldCipher
from subgraphs.identity.security.passwords import PasswordPolicy, generate_temporary_password, set_password
from subgraphs.identity.security.policy import load_policy

STATUSES = ("NORMAL", "FROZEN", "CANCELLED")
GENDERS = ("MALE", "FEMALE")
STATUS_TOPIC = "identity.user.status_changed"
CHANGED_TOPIC = "identity.user.changed"
MAX_KEYWORD = 50


@dataclass
class NewUser:
    username: str
    name: str
    organization_id: str
    role_ids: list[str] = field(default_factory=list)
    mobile: str | None = None
    email: str | None = None
    gender: str | None = None
    department: str | None = None
    remark: str | None = None


@dataclass(frozen=True)
class CleanUser:
    username: str
    name: str
    mobile: str | None
    email: str | None
    department: str | None
    remark: str | None


def clean_fields(new: NewUser) -> CleanUser:
    """The field rules of the create form (raises FieldProblem)."""
    return CleanUser(
        username=validation.username(new.username),
        name=validation.name(new.name),
        mobile=validation.mobile(new.mobile or ""),
        email=validation.email(new.email or ""),
        department=validation.text("department", new.department or "", validation.MAX_DEPARTMENT),
        remark=validation.text("remark", new.remark or "", validation.MAX_REMARK),
    )


async def get(session: AsyncSession, user_id: str, argument: str = "id") -> models.User:
    row = await session.get(models.User, user_id)
    if row is None:
        raise not_found("user", user_id, argument)
    return row


async def _check_roles(session: AsyncSession, role_ids: list[str]) -> list[str]:
    wanted = list(dict.fromkeys(role_ids))
    if not wanted:
        return []
    found = set((await session.scalars(select(models.Role.id).where(models.Role.id.in_(wanted)))).all())
    missing = [r for r in wanted if r not in found]
    if missing:
        raise not_found("role", ", ".join(missing), "roleIds")
    return wanted


async def _replace_roles(session: AsyncSession, user_id: str, role_ids: list[str]) -> None:
    await session.execute(delete(models.UserRole).where(models.UserRole.user_id == user_id))
    session.add_all([models.UserRole(user_id=user_id, role_id=r) for r in role_ids])


def new_user_row(cipher: FieldCipher, clean: CleanUser, new: NewUser, at: datetime) -> models.User:
    row = models.User(
        id=f"usr-{clean.username}" if len(clean.username) <= 36 else f"usr-{uuid.uuid4().hex}",
        username=clean.username, organization_id=new.organization_id, status="NORMAL", created_at=at,
        email=clean.email, gender=new.gender, department=clean.department, remark=clean.remark,
        must_change_password=True, failed_logins=0, updated_at=at,
    )
    seal_personal(cipher, clean.name, clean.mobile).apply(row)
    return row


async def username_taken(session: AsyncSession, username: str) -> bool:
    return await session.scalar(select(models.User.id).where(models.User.username == username)) is not None


async def create(
    session: AsyncSession, cipher: FieldCipher, new: NewUser, actor_id: str | None
) -> tuple[models.User, str]:
    """The new user and a one-time temporary password it must change at first sign-in."""
    try:
        clean = clean_fields(new)
    except validation.FieldProblem as problem:
        raise field_error(problem) from None
    if new.gender is not None and new.gender not in GENDERS:
        raise bad_input("gender is MALE or FEMALE.", field="gender")
    if await username_taken(session, clean.username):
        raise conflict(f"Username {clean.username} is already taken.", field="username")
    if await session.get(models.Organization, new.organization_id) is None:
        raise not_found("organisation", new.organization_id, "organizationId")
    role_ids = await _check_roles(session, new.role_ids)
    at = now()
    row = new_user_row(cipher, clean, new, at)
    # An id derived from the username could have been used by a user created under another username.
    if await session.get(models.User, row.id) is not None:
        row.id = f"usr-{uuid.uuid4().hex}"
    session.add(row)
    await session.flush()
    await _replace_roles(session, row.id, role_ids)
    password = generate_temporary_password(await load_policy(session, PasswordPolicy))
    await set_password(session, row, password, at, temporary=True)
    log_operation(session, actor_id=actor_id, action="CREATE_USER", target_type="User", target_id=row.id,
                  detail={"username": row.username, "organizationId": row.organization_id, "roleIds": role_ids},
                  at=at)
    emit(session, models.OutboxEvent, CHANGED_TOPIC, {"userId": row.id, "created": True})
    return row, password


# Fields an edit may carry; username is absent on purpose (用户名不可编辑).
EDITABLE = ("name", "organization_id", "role_ids", "mobile", "email", "gender", "department", "remark")


async def update(
    session: AsyncSession, cipher: FieldCipher, user_id: str, changes: dict[str, Any], actor_id: str | None
) -> models.User:
    """`changes` holds only the fields given; None clears an optional field."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise bad_input(f"{', '.join(sorted(unknown))} cannot be edited.", field=sorted(unknown)[0])
    row = await get(session, user_id)
    changed: list[str] = []
    try:
        if "name" in changes or "mobile" in changes:
            name = validation.name(changes["name"] or "") if "name" in changes else (
                reveal_with(cipher, row.name_cipher) if row.name_cipher is not None else row.display_name or "")
            mobile = validation.mobile(changes.get("mobile") or "") if "mobile" in changes else reveal_with(
                cipher, row.mobile_cipher)
            # Re-sealing both under the active key keeps one key version per row.
            seal_personal(cipher, name, mobile).apply(row)
            changed += [k for k in ("name", "mobile") if k in changes]
        if "email" in changes:
            row.email = validation.email(changes["email"] or "")
            changed.append("email")
        for key, maximum in (("department", validation.MAX_DEPARTMENT), ("remark", validation.MAX_REMARK)):
            if key in changes:
                setattr(row, key, validation.text(key, changes[key] or "", maximum))
                changed.append(key)
    except validation.FieldProblem as problem:
        raise field_error(problem) from None
    if "gender" in changes:
        if changes["gender"] is not None and changes["gender"] not in GENDERS:
            raise bad_input("gender is MALE or FEMALE.", field="gender")
        row.gender = changes["gender"]
        changed.append("gender")
    if "organization_id" in changes:
        org_id = changes["organization_id"]
        if org_id is None:
            raise bad_input("A user must belong to an organisation.", field="organizationId")
        if await session.get(models.Organization, org_id) is None:
            raise not_found("organisation", org_id, "organizationId")
        row.organization_id = org_id
        changed.append("organizationId")
    if "role_ids" in changes:
        await _replace_roles(session, row.id, await _check_roles(session, changes["role_ids"] or []))
        changed.append("roles")
    row.updated_at = now()
    # Names and mobiles are personal data: the log says they changed, not what to.
    log_operation(session, actor_id=actor_id, action="UPDATE_USER", target_type="User", target_id=row.id,
                  detail={"fields": changed}, at=row.updated_at)
    emit(session, models.OutboxEvent, CHANGED_TOPIC, {"userId": row.id, "fields": changed})
    await session.flush()
    return row


async def change_status(
    session: AsyncSession, user_id: str, status: str, reason: str, actor_id: str | None
) -> models.User:
    try:
        reason = validation.reason(reason)
    except validation.FieldProblem as problem:
        raise bad_input(problem.message, argument="reason") from None
    row = await get(session, user_id)
    if row.status == status:
        raise invalid_state(f"The account is already {status}.", status=status)
    before, row.status, row.status_reason, row.updated_at = row.status, status, reason, now()
    if status == "NORMAL":
        # Unfreezing is also how an administrator lifts a lock after repeated failed logins.
        row.failed_logins, row.locked_until = 0, None
    log_operation(session, actor_id=actor_id, action="CHANGE_USER_STATUS", target_type="User", target_id=row.id,
                  detail={"from": before, "to": status, "reason": reason}, at=row.updated_at)
    emit(session, models.OutboxEvent, STATUS_TOPIC, {"userId": row.id, "status": status})
    await session.flush()
    return row


async def reset_password(session: AsyncSession, user_id: str, actor_id: str | None) -> tuple[models.User, str]:
    """重置密码: a temporary password (returned once, stored hashed) that must be changed at next sign-in."""
    row = await get(session, user_id)
    at = now()
    password = generate_temporary_password(await load_policy(session, PasswordPolicy))
    await set_password(session, row, password, at, temporary=True)
    row.failed_logins, row.locked_until = 0, None
    log_operation(session, actor_id=actor_id, action="RESET_PASSWORD", target_type="User", target_id=row.id, at=at)
    return row, password


async def assign_roles(session: AsyncSession, user_id: str, role_ids: list[str], actor_id: str | None) -> models.User:
    row = await get(session, user_id, "userId")
    wanted = await _check_roles(session, role_ids)
    before = list((await session.scalars(select(models.UserRole.role_id).where(models.UserRole.user_id == row.id)
                                         .order_by(models.UserRole.role_id))).all())
    await _replace_roles(session, row.id, wanted)
    row.updated_at = now()
    log_operation(session, actor_id=actor_id, action="ASSIGN_USER_ROLES", target_type="User", target_id=row.id,
                  detail={"before": before, "after": wanted}, at=row.updated_at)
    emit(session, models.OutboxEvent, CHANGED_TOPIC, {"userId": row.id, "fields": ["roles"]})
    await session.flush()
    return row


@dataclass(frozen=True)
class UserFilter:
    organization_id: str | None = None
    include_descendants: bool = False
    status: str | None = None
    role_id: str | None = None
    keyword: str | None = None


def filtered(stmt: Select[Any], cipher: FieldCipher | None, f: UserFilter) -> Select[Any]:
    """The list filters: organisation (itself, or its whole subtree), status, role, and a keyword that
    matches usernames fuzzily and names and mobiles exactly (they are encrypted: see docs/decisions.md)."""
    if f.organization_id is not None:
        if f.include_descendants:
            stmt = stmt.where(models.User.organization_id.in_(subtree_ids(f.organization_id)))
        else:
            stmt = stmt.where(models.User.organization_id == f.organization_id)
    if f.status is not None:
        stmt = stmt.where(models.User.status == f.status)
    if f.role_id is not None:
        stmt = stmt.where(models.User.id.in_(
            select(models.UserRole.user_id).where(models.UserRole.role_id == f.role_id)))
    keyword = (f.keyword or "").strip()
    if keyword:
        if len(keyword) > MAX_KEYWORD:
            raise bad_input(f"keyword must be at most {MAX_KEYWORD} characters.", argument="keyword",
                            maximum=MAX_KEYWORD)
        matches = [models.User.username.contains(keyword, autoescape=True)]
        if cipher is not None:
            matches += [name_matches(cipher, keyword), mobile_matches(cipher, keyword)]
        stmt = stmt.where(or_(*matches))
    return stmt
