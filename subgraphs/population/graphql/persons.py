"""Persons, households and the region tree: queries and mutations."""

from __future__ import annotations

import strawberry
from sqlalchemy import select

from subgraphs.common.errors import bad_input
from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.common.regions import in_subtree
from subgraphs.common.scope import region_scope
from subgraphs.population import models
from subgraphs.population.types import Info, Person, Region, visible


@strawberry.type
class PersonQuery:
    @strawberry.field(description="One person by unified identity code; null outside the caller's data scope.")
    async def person(self, info: Info, uid: strawberry.ID) -> Person | None:
        row = await info.context.loaders.person.load(str(uid))
        return Person.from_row(row) if row and visible(info, row) else None

    @strawberry.field(description="Persons managed in a region and its whole subtree, in uid order, within the "
                      "caller's data scope (a region wholly outside it is refused with FORBIDDEN).")
    async def persons(
        self, info: Info, region_code: strawberry.ID, first: int = 20, after: str | None = None
    ) -> Connection[Person]:
        scope = region_scope(info.context.caller)
        scope.check_request(str(region_code))
        async with info.context.session() as session:
            return await keyset_page(
                session,
                select(models.Person).where(in_subtree(models.Person.management_region_code, str(region_code)),
                                            scope.condition(models.Person.management_region_code)),
                order_by=[models.Person.uid],
                sort_key=lambda row: [row.uid],
                to_node=Person.from_row,
                page=PageRequest(first=first, after=after),
            )

    @strawberry.field(description="One region by code.")
    async def region(self, info: Info, code: strawberry.ID) -> Region | None:
        row = await info.context.loaders.region.load(str(code))
        return Region.from_row(row) if row else None

    @strawberry.field(description="The children of a region; without a parent, the top of the tree.")
    async def regions(self, info: Info, parent_code: strawberry.ID | None = None) -> list[Region]:
        if parent_code is not None:
            rows = await info.context.loaders.region_children.load(str(parent_code))
            if not rows and await info.context.loaders.region.load(str(parent_code)) is None:
                raise bad_input(f"No region has code {parent_code}.", argument="parentCode")
            return [Region.from_row(r) for r in rows]
        async with info.context.session() as session:
            top = await session.scalars(
                select(models.Region).where(models.Region.parent_code.is_(None)).order_by(models.Region.code)
            )
            return [Region.from_row(r) for r in top]


queries: list[type] = [PersonQuery]
mutations: list[type] = []
