"""Application.licence: the licence an approved application (办件, owned by services) produced or last
changed, found by the licence's source application (events.py writes it)."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, Self

import strawberry
from aiodataloader import DataLoader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.licences import models
from subgraphs.licences.types import Info, Licence


class LicenceByApplication(DataLoader[str, models.Licence | None]):
    """One statement for the applications of one `_entities` call."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[models.Licence | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(models.Licence).where(models.Licence.source_application_id.in_(ids)))).all()
        found = {row.source_application_id: row for row in rows}
        return [found.get(application_id) for application_id in ids]


# One loader per request, keyed by the request's Loaders object (made per request, and dropped with it),
# so the batching holds without a field on licences.loaders.Loaders.
_loaders: weakref.WeakKeyDictionary[Any, LicenceByApplication] = weakref.WeakKeyDictionary()


def _loader(info: Info) -> LicenceByApplication:
    context = info.context
    loader = _loaders.get(context.loaders)
    if loader is None:
        loader = _loaders[context.loaders] = LicenceByApplication(context.sessions)
    return loader


@strawberry.federation.type(keys=["id"], description="办件 (owned by services), with the licence it produced.")
class Application:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Self:
        # Nothing to look up: licences knows an application only as the source of a licence.
        return cls(id=id)

    @strawberry.field(description="证照: the licence this approved application generated (or, for a 变更, 延续 or "
                                  "补发, the licence it updated); null while none has been generated.")
    async def licence(self, info: Info) -> Licence | None:
        row = await _loader(info).load(str(self.id))
        return Licence.from_row(row) if row else None


queries: list[type] = []
mutations: list[type] = []
