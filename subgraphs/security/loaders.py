"""Per-request DataLoaders: every lookup by key in one request becomes one SQL statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from aiodataloader import DataLoader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.security.models import Asset, AssetChange, OpsTicketEvent


class AssetById(DataLoader[str, Asset | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[Asset | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(Asset).where(Asset.id.in_(ids)))).all()
        found = {row.id: row for row in rows}
        return [found.get(id_) for id_ in ids]


class AssetsByOwner(DataLoader[str, list[Asset]]):
    """Organization.assets: every asset of each organisation, in id order."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, owner_ids: Sequence[str]) -> list[list[Asset]]:
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(Asset).where(Asset.owner_id.in_(owner_ids)).order_by(Asset.owner_id, Asset.id)
                )
            ).all()
        by_owner: dict[str, list[Asset]] = defaultdict(list)
        for row in rows:
            by_owner[row.owner_id].append(row)
        return [by_owner.get(id_, []) for id_ in owner_ids]


class ChildRows(DataLoader[str, list[Any]]):
    """The rows of a child table (an asset's changes, a ticket's steps) for many parents in one statement,
    in the given order: a page of assets with their histories costs one query, not one per asset."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], parent: Any, order: Sequence[Any]) -> None:
        super().__init__()
        self.sessions = sessions
        self.parent = parent
        self.order = order

    async def batch_load_fn(self, ids: Sequence[str]) -> list[list[Any]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(self.parent.class_).where(self.parent.in_(ids))
                                          .order_by(*self.order))).all()
        found: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            found[getattr(row, self.parent.key)].append(row)
        return [found.get(id_, []) for id_ in ids]


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.asset = AssetById(sessions)
        self.assets_by_owner = AssetsByOwner(sessions)
        self.asset_changes = ChildRows(sessions, AssetChange.asset_id, (AssetChange.at.desc(), AssetChange.id.desc()))
        self.ticket_events = ChildRows(sessions, OpsTicketEvent.ticket_id, (OpsTicketEvent.id,))
