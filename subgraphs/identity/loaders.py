"""Per-request DataLoaders: every lookup by key in one request becomes one SQL statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from aiodataloader import DataLoader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.identity.models import Organization, User


class OrganizationById(DataLoader[str, Organization | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[Organization | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(Organization).where(Organization.id.in_(ids)))).all()
        found = {row.id: row for row in rows}
        return [found.get(id_) for id_ in ids]


class OrganizationChildren(DataLoader[str, list[Organization]]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

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


class UserCountByOrganization(DataLoader[str, int]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, organization_ids: Sequence[str]) -> list[int]:
        async with self.sessions() as session:
            counts = (
                await session.execute(
                    select(User.organization_id, func.count())
                    .where(User.organization_id.in_(organization_ids))
                    .group_by(User.organization_id)
                )
            ).all()
        found: dict[str, int] = {org_id: count for org_id, count in counts}
        return [found.get(id_, 0) for id_ in organization_ids]


class UserById(DataLoader[str, User | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[User | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(User).where(User.id.in_(ids)))).all()
        found = {row.id: row for row in rows}
        return [found.get(id_) for id_ in ids]


class AccountByPersonUid(DataLoader[str, User | None]):
    """Person.account: the user linked to a population person (at most one, person_uid is unique)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, uids: Sequence[str]) -> list[User | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(User).where(User.person_uid.in_(uids)))).all()
        found = {row.person_uid: row for row in rows}
        return [found.get(uid) for uid in uids]


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.organization = OrganizationById(sessions)
        self.organization_children = OrganizationChildren(sessions)
        self.user_count = UserCountByOrganization(sessions)
        self.user = UserById(sessions)
        self.account = AccountByPersonUid(sessions)
