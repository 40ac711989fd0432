"""A user's effective data scope (数据权限范围): what the OAuth server puts in tokens and User.dataScope shows.

The scope is the widest one among the effective DATA permissions of the user's enabled roles, in the
order 全量 > 跨机构 > 本机构 > 本部门; a user without any has none (None), which callers treat as no data
access at all rather than as a default.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import DATA_SCOPES
from subgraphs.identity import models

# Narrowest first: the effective scope is the one with the highest position (the order the caller
# token's consumers use too).
SCOPE_ORDER: tuple[str, ...] = DATA_SCOPES


def widest(scopes: Iterable[str | None]) -> str | None:
    ranked = [s for s in scopes if s in SCOPE_ORDER]
    return max(ranked, key=SCOPE_ORDER.index) if ranked else None


async def data_scopes(session: AsyncSession, user_ids: Sequence[str], now: datetime | None = None) -> dict[str, str]:
    """Effective data scope per user id, for the users that have one (one statement for all of them)."""
    if not user_ids:
        return {}
    moment = now or datetime.now(UTC)
    rows = await session.execute(
        select(models.UserRole.user_id, models.Permission.data_scope)
        .join(models.Role, models.Role.id == models.UserRole.role_id)
        .join(models.RolePermission, models.RolePermission.role_id == models.Role.id)
        .join(models.Permission, models.Permission.id == models.RolePermission.permission_id)
        .where(
            models.UserRole.user_id.in_(user_ids),
            models.Role.status == "ENABLED",
            models.Permission.kind == "DATA",
            models.Permission.effective.is_(True),
            or_(models.Permission.effective_from.is_(None), models.Permission.effective_from <= moment),
        )
    )
    per_user: dict[str, list[str | None]] = {}
    for user_id, scope in rows:
        per_user.setdefault(user_id, []).append(scope)
    out: dict[str, str] = {}
    for user_id, scopes in per_user.items():
        scope = widest(scopes)
        if scope is not None:
            out[user_id] = scope
    return out


async def effective_data_scope(session: AsyncSession, user_id: str) -> str | None:
    """The widest DATA scope of the user's enabled roles (ALL, CROSS_ORG, OWN_ORG or OWN_DEPT), or None."""
    return (await data_scopes(session, [user_id])).get(user_id)
