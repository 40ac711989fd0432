"""identity's root fields and federation schema."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from strawberry.tools import merge_types

from subgraphs.common.errors import bad_input
from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.common.regions import in_subtree
from subgraphs.identity import models
from subgraphs.identity.mapping import graphql as mapping_graphql
from subgraphs.identity.security import graphql as security_graphql
from subgraphs.identity.types import (
    Info,
    Organization,
    OrganizationKind,
    Person,
    Region,
    User,
    organization_by_id,
)


@strawberry.type
class CoreQuery:
    @strawberry.field(description="One organisation by id.")
    async def organization(self, info: Info, id: strawberry.ID) -> Organization | None:
        return await organization_by_id(info, str(id))

    @strawberry.field(
        description="Organisations in id order; regionCode keeps those whose region lies in that region's "
        "subtree (320000 is the whole province, 320500 the city of Suzhou and its counties and townships)."
    )
    async def organizations(
        self,
        info: Info,
        region_code: strawberry.ID | None = None,
        kind: OrganizationKind | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Organization]:
        stmt = select(models.Organization)
        if region_code is not None:
            stmt = stmt.where(in_subtree(models.Organization.region_code, str(region_code)))
        if kind is not None:
            stmt = stmt.where(models.Organization.kind == kind.value)
        async with info.context.session() as session:
            return await keyset_page(
                session,
                stmt,
                # keyset_page is typed for column expressions; .expression is the same column.
                order_by=[models.Organization.id.expression],
                sort_key=lambda row: [row.id],
                to_node=Organization.from_row,
                page=PageRequest(first=first, after=after),
            )

    @strawberry.field(description="One user by id.")
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        row = await info.context.loaders.user.load(str(id))
        return User.from_row(row) if row else None

    @strawberry.field(
        description="Users in id order; organizationId keeps the users of that organisation itself "
        "(not of its children)."
    )
    async def users(
        self,
        info: Info,
        organization_id: strawberry.ID | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[User]:
        stmt = select(models.User)
        if organization_id is not None:
            stmt = stmt.where(models.User.organization_id == str(organization_id))
        async with info.context.session() as session:
            page = await keyset_page(
                session,
                stmt,
                order_by=[models.User.id.expression],
                sort_key=lambda row: [row.id],
                to_node=User.from_row,
                page=PageRequest(first=first, after=after),
            )
        # Only an empty page can hide a misspelt id; a populated one proves the organisation exists.
        if (
            organization_id is not None
            and not page.edges
            and await info.context.loaders.organization.load(str(organization_id)) is None
        ):
            raise bad_input(f"No organisation has id {organization_id}.", argument="organizationId")
        return page


# Each part of identity brings its own root fields; they meet here.
Query = merge_types("Query", (CoreQuery, *security_graphql.queries, *mapping_graphql.queries))
_mutations: tuple[type, ...] = (*security_graphql.mutations, *mapping_graphql.mutations)
Mutation = merge_types("Mutation", _mutations) if _mutations else None

schema = strawberry.federation.Schema(query=Query, mutation=Mutation, types=[Organization, User, Person, Region])
