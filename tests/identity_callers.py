"""Callers of identity's GraphQL API for the tests: administrators, ordinary users and systems, created in
the test database the way the guard (subgraphs/identity/domain/guard.py) reads them, and returned as the
`Caller` the router would vouch for (pass it as `runtime.context(caller=...)`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.identity import models
from subgraphs.identity.domain.guard import ADMIN_SCOPE

PROVINCE = "320000"
PROVINCE_HC = "org-320000-hc"
SEEDED_ADMIN = "usr-admin"  # seed.py: SYSTEM_ADMIN, data scope ALL, at the provincial commission
CLIENT = "portal-web"


def caller_of(user_id: str, *, region: str | None = None, organization_id: str | None = None,
              data_scope: str | None = None, roles: tuple[str, ...] = ()) -> Caller:
    """The caller token's view of a user (the guard reads roles, scope and region from the database)."""
    return Caller(subject=user_id, client_id=CLIENT, scopes=frozenset({"openid"}), organization_id=organization_id,
                  region_code=region, roles=roles, data_scope=data_scope)


def system_caller(*scopes: str, client_id: str = "ops-system") -> Caller:
    """A system calling with client credentials (no user)."""
    return Caller(subject=client_id, client_id=client_id, scopes=frozenset(scopes))


def admin_system() -> Caller:
    return system_caller(ADMIN_SCOPE)


async def _organization(runtime: Runtime, organization_id: str | None, region: str) -> tuple[str, str]:
    """An organisation (id, region): the given one, or a new one in `region`."""
    async with runtime.sessions() as session, session.begin():
        if organization_id is not None:
            row = await session.get(models.Organization, organization_id)
            if row is not None:
                return row.id, row.region_code
        new_id = organization_id or f"org-test-{uuid.uuid4().hex[:10]}"
        credit = ("91" + uuid.uuid4().hex.upper())[:18]
        # Under the provincial commission where there is one, so that the tree keeps its single root.
        parent = PROVINCE_HC if new_id != PROVINCE_HC and await session.get(models.Organization, PROVINCE_HC) else None
        session.add(models.Organization(id=new_id, name=f"测试机构 {new_id}", kind="HEALTH_COMMISSION",
                                        level="PROVINCE" if region == PROVINCE else "CITY", region_code=region,
                                        credit_code=credit, parent_id=parent, created_at=datetime.now(UTC)))
        return new_id, region


async def _role(runtime: Runtime, kind: str, data_scope: str | None, status: str) -> str:
    """A role of `kind` with a DATA permission of `data_scope` (None: no data permission)."""
    async with runtime.sessions() as session, session.begin():
        permission_id: str | None = None
        if data_scope is not None:
            permission_id = await session.scalar(select(models.Permission.id).where(
                models.Permission.kind == "DATA", models.Permission.data_scope == data_scope,
                models.Permission.effective.is_(True), models.Permission.effective_from.is_(None)).limit(1))
            if permission_id is None:
                permission_id = f"perm-test-{uuid.uuid4().hex[:10]}"
                session.add(models.Permission(id=permission_id, system="portal", kind="DATA",
                                              code=f"data:test-{permission_id}", name="测试数据权限",
                                              data_scope=data_scope, effective=True))
        role_id = f"role-test-{uuid.uuid4().hex[:10]}"
        session.add(models.Role(id=role_id, code=role_id.upper(), name="测试角色", kind=kind, status=status,
                                created_at=datetime.now(UTC)))
        await session.flush()
        if permission_id is not None:
            session.add(models.RolePermission(role_id=role_id, permission_id=permission_id))
        return role_id


async def user_caller(runtime: Runtime, *, kind: str | None = "ADMIN", data_scope: str | None = "ALL",
                      region: str = PROVINCE, organization_id: str | None = None, role_status: str = "ENABLED",
                      status: str = "NORMAL", **extra: Any) -> Caller:
    """A new user, in `organization_id` (or a new organisation in `region`), with one role of `kind`
    (None: no role) giving `data_scope`; the caller token that user would have."""
    org_id, org_region = await _organization(runtime, organization_id, region)
    role_id = await _role(runtime, kind, data_scope, role_status) if kind is not None else None
    user_id = f"usr-test-{uuid.uuid4().hex[:10]}"
    async with runtime.sessions() as session, session.begin():
        session.add(models.User(id=user_id, username=f"t{uuid.uuid4().hex[:12]}", display_name="测试用户",
                                organization_id=org_id, status=status, created_at=datetime.now(UTC), **extra))
        await session.flush()
        if role_id is not None:
            session.add(models.UserRole(user_id=user_id, role_id=role_id))
    return caller_of(user_id, region=org_region, organization_id=org_id, data_scope=data_scope)


async def admin_caller(runtime: Runtime) -> Caller:
    """A province administrator: the seeded one where the database is seeded, else a new one."""
    async with runtime.sessions() as session:
        seeded = await session.get(models.User, SEEDED_ADMIN)
    if seeded is not None:
        return caller_of(SEEDED_ADMIN, region=PROVINCE, organization_id=seeded.organization_id, data_scope="ALL",
                         roles=("SYSTEM_ADMIN",))
    return await user_caller(runtime, organization_id=PROVINCE_HC, region=PROVINCE)


async def role_of(runtime: Runtime, user_id: str) -> str:
    async with runtime.sessions() as session:
        role_id = await session.scalar(select(models.UserRole.role_id).where(models.UserRole.user_id == user_id))
    assert role_id is not None
    return role_id
