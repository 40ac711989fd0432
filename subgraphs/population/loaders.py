"""Per-request DataLoaders: every lookup by key in one request becomes one SQL statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.population.models import Person, Region


class PersonByUid(DataLoader[str, Person | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, uids: Sequence[str]) -> list[Person | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(Person).where(Person.uid.in_(uids)))).all()
        found = {row.uid: row for row in rows}
        return [found.get(uid) for uid in uids]


class RegionByCode(DataLoader[str, Region | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, codes: Sequence[str]) -> list[Region | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(Region).where(Region.code.in_(codes)))).all()
        found = {row.code: row for row in rows}
        return [found.get(code) for code in codes]


class RegionChildren(DataLoader[str, list[Region]]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, parent_codes: Sequence[str]) -> list[list[Region]]:
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(Region).where(Region.parent_code.in_(parent_codes)).order_by(Region.code)
                )
            ).all()
        children: dict[str, list[Region]] = defaultdict(list)
        for row in rows:
            children[row.parent_code or ""].append(row)
        return [children.get(code, []) for code in parent_codes]


L = TypeVar("L", bound=DataLoader[Any, Any])


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.person = PersonByUid(sessions)
        self.region = RegionByCode(sessions)
        self.region_children = RegionChildren(sessions)
        self._more: dict[type[Any], Any] = {}

    def of(self, loader: type[L]) -> L:
        """This request's instance of a DataLoader class that takes the session factory (each area of the
        domain declares its own loaders next to its resolvers)."""
        found: L | None = self._more.get(loader)
        if found is None:
            found = self._more[loader] = loader(self.sessions)  # type: ignore[arg-type]
        return found
