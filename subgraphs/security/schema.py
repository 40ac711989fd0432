"""security's root fields and federation schema."""

from __future__ import annotations

import strawberry
from sqlalchemy import select

from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.common.schema import schema_extensions
from subgraphs.security import models
from subgraphs.security.types import Asset, AssetStatus, Info, Organization


@strawberry.type
class Query:
    @strawberry.field(description="One asset by id.")
    async def asset(self, info: Info, id: strawberry.ID) -> Asset | None:
        row = await info.context.loaders.asset.load(str(id))
        return Asset.from_row(row) if row else None

    @strawberry.field(description="Assets in id order, optionally of one organisation and in one status.")
    async def assets(
        self,
        info: Info,
        owner_id: strawberry.ID | None = None,
        status: AssetStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Asset]:
        stmt = select(models.Asset)
        if owner_id is not None:
            stmt = stmt.where(models.Asset.owner_id == str(owner_id))
        if status is not None:
            stmt = stmt.where(models.Asset.status == status.value)
        async with info.context.session() as session:
            return await keyset_page(
                session,
                stmt,
                # keyset_page is typed for column expressions; .expression is the same column.
                order_by=[models.Asset.id.expression],
                sort_key=lambda row: [row.id],
                to_node=Asset.from_row,
                page=PageRequest(first=first, after=after),
            )


schema = strawberry.federation.Schema(query=Query, types=[Asset, Organization],
                                           extensions=schema_extensions())
