"""The catalogue: service items (事项) and business items (业务办理项)."""

from __future__ import annotations

import strawberry
from sqlalchemy import select

from subgraphs.common.errors import bad_input
from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.services import models
from subgraphs.services.types import BusinessItem, Info, ServiceItem
from subgraphs.services.vocabulary import Party

MAX_KEYWORD_LENGTH = 50


@strawberry.type
class CatalogueQueries:
    @strawberry.field(description="One service item (事项) by id.")
    async def service_item(self, info: Info, id: strawberry.ID) -> ServiceItem | None:
        row = await info.context.loaders.service_item.load(str(id))
        return ServiceItem.from_row(row) if row else None

    @strawberry.field(description="事项清单: service items in the tender's order, by name and party.")
    async def service_items(
        self,
        info: Info,
        keyword: str | None = None,
        party: Party | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[ServiceItem]:
        stmt = select(models.ServiceItem)
        if keyword is not None and (keyword := keyword.strip()):
            if len(keyword) > MAX_KEYWORD_LENGTH:
                raise bad_input(
                    f"keyword must be at most {MAX_KEYWORD_LENGTH} characters.",
                    argument="keyword", maximum=MAX_KEYWORD_LENGTH,
                )
            stmt = stmt.where(models.ServiceItem.name.contains(keyword, autoescape=True))
        if party is not None:
            stmt = stmt.where(models.ServiceItem.party == party.value)
        async with info.context.session() as session:
            return await keyset_page(
                session,
                stmt,
                order_by=[models.ServiceItem.seq.expression],
                sort_key=lambda row: [row.seq],
                to_node=ServiceItem.from_row,
                page=PageRequest(first=first, after=after),
            )

    @strawberry.field(description="One business item (业务办理项) by id.")
    async def business_item(self, info: Info, id: strawberry.ID) -> BusinessItem | None:
        row = await info.context.loaders.business_item.load(str(id))
        return BusinessItem.from_row(row) if row else None


queries: list[type] = [CatalogueQueries]
mutations: list[type] = []
