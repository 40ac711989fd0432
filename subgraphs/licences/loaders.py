"""Per-request DataLoaders: every lookup by key in one request becomes one SQL statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from aiodataloader import DataLoader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.licences.models import Licence


class LicenceById(DataLoader[str, Licence | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[Licence | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(Licence).where(Licence.id.in_(ids)))).all()
        found = {row.id: row for row in rows}
        return [found.get(licence_id) for licence_id in ids]


class LicencesByHolder(DataLoader[str, list[Licence]]):
    """A person's certificates, newest first; one statement for all the persons of an `_entities` call."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, uids: Sequence[str]) -> list[list[Licence]]:
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(Licence)
                    .where(Licence.holder_uid.in_(uids))
                    .order_by(Licence.holder_uid, Licence.valid_from.desc(), Licence.id.desc())
                )
            ).all()
        held: dict[str, list[Licence]] = defaultdict(list)
        for row in rows:
            held[row.holder_uid or ""].append(row)
        return [held.get(uid, []) for uid in uids]


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.licence = LicenceById(sessions)
        self.licences_by_holder = LicencesByHolder(sessions)
