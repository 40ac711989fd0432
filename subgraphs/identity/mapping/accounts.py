"""用户关联对照: linking, editing and unlinking mappings, each change logged (关联日志).

Rules (tender 5.3.9.4):
- one mapping per (portal user, system) — the table's unique constraint — and, so that the relation is
  one-to-one both ways, one *linked* mapping per (system, third-party username), checked here;
- an edit may change only the third-party username and the remark; the portal user and the system are
  immutable (unlink and link anew instead);
- unlinking sets the status to UNLINKED and keeps the row and its log; linking the same user to the same
  system again reuses that row (the unique constraint), and the log keeps both relations;
- every change writes account_mapping_log with the old and new relation, reason, operator and IP.

The functions here take an open transaction and never commit: the caller decides the unit of work (one
mutation, one import file, one batch of automatic matching).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.common.search import contains
from subgraphs.identity import models
from subgraphs.identity.mapping.common import encode_relation, now

EXTERNAL_USERNAME_LENGTH = 128
REMARK_LENGTH = 256
REASON_LENGTH = 256


@dataclass(frozen=True)
class Actor:
    """Who makes a change and from where, for the log."""

    operator_id: str | None
    ip: str | None


def new_mapping_id() -> str:
    # Time-ordered (milliseconds, then randomness) so that id order, the list's keyset order, is the
    # order mappings were created in.
    return f"am-{time.time_ns() // 1_000_000:012x}{secrets.token_hex(8)}"


def clean_external_username(value: str, argument: str = "externalUsername") -> str:
    value = value.strip()
    if not value:
        raise bad_input("The third-party username is empty.", argument=argument)
    if len(value) > EXTERNAL_USERNAME_LENGTH:
        raise bad_input(f"The third-party username is longer than {EXTERNAL_USERNAME_LENGTH} characters.",
                        argument=argument, maximum=EXTERNAL_USERNAME_LENGTH)
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise bad_input("The third-party username contains control characters.", argument=argument)
    return value


def clean_text(value: str | None, limit: int, argument: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise bad_input(f"{argument} is longer than {limit} characters.", argument=argument, maximum=limit)
    return value or None


def write_log(
    session: AsyncSession, mapping: models.AccountMapping, operation: str, *, old: str | None, new: str | None,
    reason: str | None, actor: Actor, at: datetime,
) -> None:
    session.add(models.AccountMappingLog(mapping_id=mapping.id, operation=operation, old_value=old,
                                         new_value=new, reason=reason, operator_id=actor.operator_id,
                                         ip=actor.ip, at=at))


async def linked_elsewhere(session: AsyncSession, system_code: str, external_username: str,
                           user_id: str) -> models.AccountMapping | None:
    """A linked mapping that gives this third-party account to another portal user."""
    return (await session.scalars(
        select(models.AccountMapping).where(
            models.AccountMapping.system_code == system_code,
            models.AccountMapping.external_username == external_username,
            models.AccountMapping.status == "LINKED",
            models.AccountMapping.user_id != user_id,
        ).limit(1)
    )).first()


async def require_system(session: AsyncSession, code: str, argument: str = "systemCode") -> models.ConnectedSystem:
    system = await session.get(models.ConnectedSystem, code)
    if system is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No connected system has code {code}.", argument=argument)
    if system.status != "ENABLED":
        raise domain_error(ErrorCode.INVALID_STATE, f"The system {code} is disabled; enable it first.",
                           argument=argument)
    return system


async def link(
    session: AsyncSession, *, user_id: str, system_code: str, external_username: str, remark: str | None,
    reason: str | None, actor: Actor, method: str = "MANUAL",
) -> models.AccountMapping:
    """Link a portal user to a third-party account (关联), or link an unlinked mapping again."""
    external_username = clean_external_username(external_username)
    remark = clean_text(remark, REMARK_LENGTH, "remark")
    reason = clean_text(reason, REASON_LENGTH, "reason")
    if await session.get(models.User, user_id) is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No user has id {user_id}.", argument="userId")
    await require_system(session, system_code)
    other = await linked_elsewhere(session, system_code, external_username, user_id)
    if other is not None:
        raise domain_error(
            ErrorCode.CONFLICT,
            f"The account {external_username} of {system_code} is already linked to another portal user "
            f"(mapping {other.id}); a third-party account belongs to one portal user.",
            argument="externalUsername", mappingId=other.id,
        )
    existing = (await session.scalars(select(models.AccountMapping).where(
        models.AccountMapping.user_id == user_id, models.AccountMapping.system_code == system_code))).first()
    if existing is not None and existing.status == "LINKED":
        raise domain_error(
            ErrorCode.CONFLICT,
            f"The user is already linked to {existing.external_username} in {system_code} (one-to-one); "
            "edit that mapping or unlink it first.",
            mappingId=existing.id,
        )
    mapping = link_loaded(session, existing, user_id=user_id, system_code=system_code,
                          external_username=external_username, remark=remark, method=method, reason=reason,
                          actor=actor, at=now())
    await session.flush()
    return mapping


def link_loaded(
    session: AsyncSession, existing: models.AccountMapping | None, *, user_id: str, system_code: str,
    external_username: str, remark: str | None, method: str, reason: str | None, actor: Actor, at: datetime,
) -> models.AccountMapping:
    """Link with the checks done and the user's mapping for the system (if any, unlinked) already loaded:
    what `link`, the import and automatic matching share. An unlinked row is reused (the unique constraint
    allows one row per user and system), and the log keeps the relation it had."""
    if existing is not None:
        old = encode_relation(existing.external_username, existing.remark)
        existing.external_username, existing.remark, existing.status = external_username, remark, "LINKED"
        existing.method, existing.linked_at, existing.operator_id = method, at, actor.operator_id
        mapping = existing
    else:
        old = None
        mapping = models.AccountMapping(
            id=new_mapping_id(), user_id=user_id, system_code=system_code, external_username=external_username,
            status="LINKED", method=method, linked_at=at, operator_id=actor.operator_id, remark=remark)
        session.add(mapping)
    write_log(session, mapping, "LINK", old=old, new=encode_relation(external_username, remark), reason=reason,
              actor=actor, at=at)
    return mapping


async def require_mapping(session: AsyncSession, mapping_id: str) -> models.AccountMapping:
    mapping = await session.get(models.AccountMapping, mapping_id, with_for_update=True)
    if mapping is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No account mapping has id {mapping_id}.", argument="id")
    return mapping


async def edit(
    session: AsyncSession, mapping_id: str, *, external_username: str | None, remark: str | None,
    remark_given: bool, user_id: str | None, system_code: str | None, reason: str | None, actor: Actor,
) -> models.AccountMapping:
    """Edit a linked mapping: only the third-party username and the remark may change.

    A hand edit of an automatic mapping makes it MANUAL: an operator now vouches for it, and automatic
    matching leaves manual mappings alone.
    """
    mapping = await require_mapping(session, mapping_id)
    if user_id is not None and user_id != mapping.user_id:
        raise bad_input("The portal user of a mapping cannot change; unlink it and link the other user.",
                        argument="userId")
    if system_code is not None and system_code != mapping.system_code:
        raise bad_input("The system of a mapping cannot change; unlink it and link the other system.",
                        argument="systemCode")
    if mapping.status != "LINKED":
        raise domain_error(ErrorCode.INVALID_STATE, "The mapping is unlinked; link it again instead of editing.",
                           argument="id")
    new_username = clean_external_username(external_username) if external_username is not None \
        else mapping.external_username
    new_remark = clean_text(remark, REMARK_LENGTH, "remark") if remark_given else mapping.remark
    reason = clean_text(reason, REASON_LENGTH, "reason")
    if (new_username, new_remark) == (mapping.external_username, mapping.remark):
        return mapping  # nothing changes, so nothing is logged
    if new_username != mapping.external_username:
        other = await linked_elsewhere(session, mapping.system_code, new_username, mapping.user_id)
        if other is not None:
            raise domain_error(
                ErrorCode.CONFLICT,
                f"The account {new_username} of {mapping.system_code} is already linked to another portal user.",
                argument="externalUsername", mappingId=other.id)
    old = encode_relation(mapping.external_username, mapping.remark)
    mapping.external_username, mapping.remark = new_username, new_remark
    mapping.method, mapping.operator_id = "MANUAL", actor.operator_id
    write_log(session, mapping, "EDIT", old=old, new=encode_relation(new_username, new_remark), reason=reason,
              actor=actor, at=now())
    return mapping


async def unlink(session: AsyncSession, mapping_id: str, *, reason: str | None, actor: Actor) -> models.AccountMapping:
    """解除关联: the status becomes UNLINKED; the row and the log stay."""
    mapping = await require_mapping(session, mapping_id)
    if mapping.status != "LINKED":
        raise domain_error(ErrorCode.INVALID_STATE, "The mapping is already unlinked.", argument="id")
    reason = clean_text(reason, REASON_LENGTH, "reason")
    mapping.status, mapping.operator_id = "UNLINKED", actor.operator_id
    write_log(session, mapping, "UNLINK", old=encode_relation(mapping.external_username, mapping.remark),
              new=None, reason=reason, actor=actor, at=now())
    return mapping


# --- lists ---------------------------------------------------------------------------------------


def mappings_query(
    *, system_code: str | None = None, status: str | None = None, method: str | None = None,
    keyword: str | None = None, user_id: str | None = None,
) -> Select[Any]:
    stmt = select(models.AccountMapping)
    if system_code is not None:
        stmt = stmt.where(models.AccountMapping.system_code == system_code)
    if status is not None:
        stmt = stmt.where(models.AccountMapping.status == status)
    if method is not None:
        stmt = stmt.where(models.AccountMapping.method == method)
    if user_id is not None:
        stmt = stmt.where(models.AccountMapping.user_id == user_id)
    if keyword is not None and keyword.strip():
        # 门户用户名/第三方用户名关键词模糊搜索
        kw = keyword.strip()
        matching_users = select(models.User.id).where(contains(models.User.username, kw))
        stmt = stmt.where(or_(models.AccountMapping.user_id.in_(matching_users),
                              contains(models.AccountMapping.external_username, kw)))
    return stmt


def log_query(
    *, mapping_id: str | None = None, system_code: str | None = None, operator_id: str | None = None,
    operation: str | None = None, since: datetime | None = None, until: datetime | None = None,
) -> Select[Any]:
    stmt = select(models.AccountMappingLog)
    if mapping_id is not None:
        stmt = stmt.where(models.AccountMappingLog.mapping_id == mapping_id)
    if system_code is not None:
        stmt = stmt.where(models.AccountMappingLog.mapping_id.in_(
            select(models.AccountMapping.id).where(models.AccountMapping.system_code == system_code)))
    if operator_id is not None:
        stmt = stmt.where(models.AccountMappingLog.operator_id == operator_id)
    if operation is not None:
        stmt = stmt.where(models.AccountMappingLog.operation == operation)
    if since is not None:
        stmt = stmt.where(models.AccountMappingLog.at >= since)
    if until is not None:
        stmt = stmt.where(models.AccountMappingLog.at < until)
    return stmt
