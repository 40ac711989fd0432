"""Internet assets (互联网资产): one by id, and lists."""

from __future__ import annotations

import strawberry
from sqlalchemy import select

from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.security import models
from subgraphs.security.types import Asset, AssetStatus, Info


@strawberry.type
class AssetQueries:
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


queries: list[type] = [AssetQueries]
mutations: list[type] = []
