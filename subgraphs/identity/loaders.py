"""Per-request DataLoaders: every lookup by key in one request becomes one SQL statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.identity.domain.access import data_scopes
from subgraphs.identity.models import Organization, Permission, Role, RolePermission, User, UserRole

K = TypeVar("K")
V = TypeVar("V")


class _Loader(DataLoader[K, V]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions


async def _by_id(sessions: async_sessionmaker[AsyncSession], model: Any, ids: Sequence[str]) -> list[Any]:
    async with sessions() as session:
        rows = (await session.scalars(select(model).where(model.id.in_(ids)))).all()
    found = {row.id: row for row in rows}
    return [found.get(id_) for id_ in ids]


async def _counts(sessions: async_sessionmaker[AsyncSession], column: Any, keys: Sequence[str]) -> list[int]:
    async with sessions() as session:
        counts = (await session.execute(select(column, func.count()).where(column.in_(keys)).group_by(column))).all()
    found: dict[str, int] = {key: count for key, count in counts}
    return [found.get(key, 0) for key in keys]


class OrganizationById(_Loader[str, Organization | None]):
    async def batch_load_fn(self, ids: Sequence[str]) -> list[Organization | None]:
        return await _by_id(self.sessions, Organization, ids)


class OrganizationChildren(_Loader[str, list[Organization]]):
    async def batch_load_fn(self, parent_ids: Sequence[str]) -> list[list[Organization]]:
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(Organization)
                    .where(Organization.parent_id.in_(parent_ids))
                    .order_by(Organization.id)
                )
            ).all()
        children: dict[str, list[Organization]] = defaultdict(list)
        for row in rows:
            children[row.parent_id or ""].append(row)
        return [children.get(id_, []) for id_ in parent_ids]


class ChildCountByOrganization(_Loader[str, int]):
    async def batch_load_fn(self, organization_ids: Sequence[str]) -> list[int]:
        return await _counts(self.sessions, Organization.parent_id, organization_ids)


class UserCountByOrganization(_Loader[str, int]):
    async def batch_load_fn(self, organization_ids: Sequence[str]) -> list[int]:
        return await _counts(self.sessions, User.organization_id, organization_ids)


class UserById(_Loader[str, User | None]):
    async def batch_load_fn(self, ids: Sequence[str]) -> list[User | None]:
        return await _by_id(self.sessions, User, ids)


class AccountByPersonUid(_Loader[str, User | None]):
    """Person.account: the user linked to a population person (at most one, person_uid is unique)."""

    async def batch_load_fn(self, uids: Sequence[str]) -> list[User | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(User).where(User.person_uid.in_(uids)))).all()
        found = {row.person_uid: row for row in rows}
        return [found.get(uid) for uid in uids]


class RoleById(_Loader[str, Role | None]):
    async def batch_load_fn(self, ids: Sequence[str]) -> list[Role | None]:
        return await _by_id(self.sessions, Role, ids)


class RolesByUser(_Loader[str, list[Role]]):
    async def batch_load_fn(self, user_ids: Sequence[str]) -> list[list[Role]]:
        async with self.sessions() as session:
            rows = (await session.execute(
                select(UserRole.user_id, Role).join(Role, Role.id == UserRole.role_id)
                .where(UserRole.user_id.in_(user_ids)).order_by(Role.code)
            )).all()
        roles: dict[str, list[Role]] = defaultdict(list)
        for user_id, role in rows:
            roles[user_id].append(role)
        return [roles.get(id_, []) for id_ in user_ids]


class UserCountByRole(_Loader[str, int]):
    async def batch_load_fn(self, role_ids: Sequence[str]) -> list[int]:
        return await _counts(self.sessions, UserRole.role_id, role_ids)


class PermissionById(_Loader[str, Permission | None]):
    async def batch_load_fn(self, ids: Sequence[str]) -> list[Permission | None]:
        return await _by_id(self.sessions, Permission, ids)


class PermissionsByRole(_Loader[str, list[Permission]]):
    async def batch_load_fn(self, role_ids: Sequence[str]) -> list[list[Permission]]:
        async with self.sessions() as session:
            rows = (await session.execute(
                select(RolePermission.role_id, Permission)
                .join(Permission, Permission.id == RolePermission.permission_id)
                .where(RolePermission.role_id.in_(role_ids)).order_by(Permission.kind, Permission.code)
            )).all()
        out: dict[str, list[Permission]] = defaultdict(list)
        for role_id, permission in rows:
            out[role_id].append(permission)
        return [out.get(id_, []) for id_ in role_ids]


class PermissionChildren(_Loader[str, list[Permission]]):
    async def batch_load_fn(self, parent_ids: Sequence[str]) -> list[list[Permission]]:
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(Permission).where(Permission.parent_id.in_(parent_ids)).order_by(Permission.code)
            )).all()
        out: dict[str, list[Permission]] = defaultdict(list)
        for row in rows:
            out[row.parent_id or ""].append(row)
        return [out.get(id_, []) for id_ in parent_ids]


class DataScopeByUser(_Loader[str, str | None]):
    async def batch_load_fn(self, user_ids: Sequence[str]) -> list[str | None]:
        async with self.sessions() as session:
            scopes = await data_scopes(session, list(user_ids))
        return [scopes.get(id_) for id_ in user_ids]


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.organization = OrganizationById(sessions)
        self.organization_children = OrganizationChildren(sessions)
        self.child_count = ChildCountByOrganization(sessions)
        self.user_count = UserCountByOrganization(sessions)
        self.user = UserById(sessions)
        self.account = AccountByPersonUid(sessions)
        self.role = RoleById(sessions)
        self.roles_of_user = RolesByUser(sessions)
        self.role_user_count = UserCountByRole(sessions)
        self.permission = PermissionById(sessions)
        self.role_permissions = PermissionsByRole(sessions)
        self.permission_children = PermissionChildren(sessions)
        self.data_scope = DataScopeByUser(sessions)
