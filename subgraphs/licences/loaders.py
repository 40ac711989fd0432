"""Per-request DataLoaders: every lookup by key in one request becomes one SQL statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from aiodataloader import DataLoader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.licences.models import ElectronicLicence, Licence, LicenceOperationLog


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
                    # Types without validity have no valid_from; NULLs sort differently in SQLite and PostgreSQL.
                    .order_by(Licence.holder_uid, func.coalesce(Licence.valid_from, Licence.issued_at).desc(),
                              Licence.id.desc())
                )
            ).all()
        held: dict[str, list[Licence]] = defaultdict(list)
        for row in rows:
            held[row.holder_uid or ""].append(row)
        return [held.get(uid, []) for uid in uids]


class LicencesByHolderOrg(DataLoader[str, list[Licence]]):
    """The licences organisations hold (types 1 and 10), newest first."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, org_ids: Sequence[str]) -> list[list[Licence]]:
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(Licence)
                    .where(Licence.holder_org_id.in_(org_ids))
                    .order_by(Licence.holder_org_id, Licence.issued_at.desc(), Licence.id.desc())
                )
            ).all()
        held: dict[str, list[Licence]] = defaultdict(list)
        for row in rows:
            held[row.holder_org_id or ""].append(row)
        return [held.get(org_id, []) for org_id in org_ids]


class ElectronicLicenceByLicence(DataLoader[str, ElectronicLicence | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, licence_ids: Sequence[str]) -> list[ElectronicLicence | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(ElectronicLicence).where(ElectronicLicence.licence_id.in_(licence_ids)))).all()
        found = {row.licence_id: row for row in rows}
        return [found.get(licence_id) for licence_id in licence_ids]


class OperationLogByLicence(DataLoader[str, list[LicenceOperationLog]]):
    """A licence's operation log, oldest first."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, licence_ids: Sequence[str]) -> list[list[LicenceOperationLog]]:
        L = LicenceOperationLog
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(L).where(L.licence_id.in_(licence_ids)).order_by(L.licence_id, L.operated_at, L.id))).all()
        logs: dict[str, list[LicenceOperationLog]] = defaultdict(list)
        for row in rows:
            logs[row.licence_id].append(row)
        return [logs.get(licence_id, []) for licence_id in licence_ids]


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.licence = LicenceById(sessions)
        self.licences_by_holder = LicencesByHolder(sessions)
        self.licences_by_holder_org = LicencesByHolderOrg(sessions)
        self.electronic_licence = ElectronicLicenceByLicence(sessions)
        self.operation_log = OperationLogByLicence(sessions)
