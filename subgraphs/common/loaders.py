"""DataLoaders every subgraph uses the same way."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from aiodataloader import DataLoader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class ChildRows(DataLoader[Any, list[Any]]):
    """The rows of a child table (an asset's changes, an application's events, a guide's materials) for many
    parents in one statement, keyed by the child's `parent` column, in the given order: a page of parents with
    their children costs one query, not one per parent.
    `where`: further conditions (the caller's data scope); `options`: loader options (a file's content
    left unloaded, say)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], parent: Any, order: Sequence[Any],
                 where: Sequence[Any] = (), options: Sequence[Any] = ()) -> None:
        super().__init__()
        self.sessions = sessions
        self.parent = parent
        self.order = order
        self.where = where
        self.options = options

    async def batch_load_fn(self, ids: Sequence[Any]) -> list[list[Any]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(self.parent.class_).where(self.parent.in_(ids), *self.where)
                                          .options(*self.options).order_by(*self.order))).all()
        found: dict[Any, list[Any]] = defaultdict(list)
        for row in rows:
            found[getattr(row, self.parent.key)].append(row)
        return [found.get(id_, []) for id_ in ids]
