"""Licences as records: one licence by id or number, licence lists, and the licences of a holder."""

from __future__ import annotations

import strawberry
from sqlalchemy import select

from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.licences import models
from subgraphs.licences.types import Info, Licence


@strawberry.type
class LicenceQueries:
    @strawberry.field(description="One licence by id.")
    async def licence(self, info: Info, id: strawberry.ID) -> Licence | None:
        row = await info.context.loaders.licence.load(str(id))
        return Licence.from_row(row) if row else None

    @strawberry.field(description="One licence by its 证照编号.")
    async def licence_by_number(self, info: Info, number: str) -> Licence | None:
        async with info.context.session() as session:
            row = await session.scalar(select(models.Licence).where(models.Licence.number == number.strip()))
        return Licence.from_row(row) if row else None

    @strawberry.field(description="Licences in id order, optionally only those one person holds.")
    async def licences(
        self, info: Info, holder_uid: strawberry.ID | None = None, first: int = 20, after: str | None = None
    ) -> Connection[Licence]:
        stmt = select(models.Licence)
        if holder_uid is not None:
            stmt = stmt.where(models.Licence.holder_uid == str(holder_uid))
        async with info.context.session() as session:
            return await keyset_page(
                session,
                stmt,
                order_by=[models.Licence.id.expression],
                sort_key=lambda row: [row.id],
                to_node=Licence.from_row,
                page=PageRequest(first=first, after=after),
            )


queries: list[type] = [LicenceQueries]
mutations: list[type] = []
