"""population's GraphQL types."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any, Self

import strawberry

from subgraphs.common.context import SubgraphContext
from subgraphs.common.masking import mask_id_number, mask_phone
from subgraphs.common.scope import region_scope
from subgraphs.population import models
from subgraphs.population.graphql.casework import PersonCaseworkFields
from subgraphs.population.graphql.checks import PersonCheckFields
from subgraphs.population.graphql.family import PersonFamilyFields
from subgraphs.population.loaders import Loaders

Info = strawberry.Info[SubgraphContext[Loaders], Any]


@strawberry.enum
class RegionLevel(Enum):
    PROVINCE = "PROVINCE"
    CITY = "CITY"
    COUNTY = "COUNTY"
    TOWNSHIP = "TOWNSHIP"
    VILLAGE = "VILLAGE"
    GROUP = "GROUP"


@strawberry.enum
class Sex(Enum):
    MALE = "MALE"
    FEMALE = "FEMALE"


@strawberry.federation.type(keys=["code"], description="区划: an administrative region (GB/T 2260 code).")
class Region:
    code: strawberry.ID
    name: str
    full_name: str
    level: RegionLevel
    valid_from: date
    valid_to: date | None
    parent_code: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: models.Region) -> Self:
        return cls(
            code=strawberry.ID(row.code), name=row.name, full_name=row.full_name, level=RegionLevel(row.level),
            valid_from=row.valid_from, valid_to=row.valid_to, parent_code=row.parent_code,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, code: strawberry.ID) -> Self | None:
        row = await info.context.loaders.region.load(str(code))
        return cls.from_row(row) if row else None

    @strawberry.field
    async def parent(self, info: Info) -> Region | None:
        if self.parent_code is None:
            return None
        row = await info.context.loaders.region.load(self.parent_code)
        return Region.from_row(row) if row else None

    @strawberry.field
    async def children(self, info: Info) -> list[Region]:
        return [Region.from_row(r) for r in await info.context.loaders.region_children.load(str(self.code))]


def visible(info: Info, row: models.Person) -> bool:
    """Whether the caller's data scope covers the person (by the region that manages the record)."""
    return region_scope(info.context.caller).allows(row.management_region_code)


async def _region(info: Info, code: str) -> Region | None:
    row = await info.context.loaders.region.load(code)
    return Region.from_row(row) if row else None


@strawberry.federation.type(keys=["uid"], description="人口个案: one person of the whole-population database.")
class Person(PersonFamilyFields, PersonCaseworkFields, PersonCheckFields):
    uid: strawberry.ID = strawberry.field(description="统一身份识别码, the person's key across the graph.")
    name: str
    sex: Sex
    birth_date: date
    row: strawberry.Private[models.Person]

    @classmethod
    def from_row(cls, row: models.Person) -> Self:
        return cls(uid=strawberry.ID(row.uid), name=row.name, sex=Sex(row.sex), birth_date=row.birth_date, row=row)

    @classmethod
    async def resolve_reference(cls, info: Info, uid: strawberry.ID) -> Self | None:
        # Reached through another subgraph's field (a licence's holder, say): the same scope applies.
        row = await info.context.loaders.person.load(str(uid))
        return cls.from_row(row) if row and visible(info, row) else None

    @strawberry.field(description="Resident ID number, masked (first 6 and last 4 digits shown).")
    def id_number(self) -> str:
        return mask_id_number(self.row.id_number) or ""

    @strawberry.field(description="Mobile number, masked (138****5678).")
    def phone(self) -> str | None:
        return mask_phone(self.row.phone)

    @strawberry.field(description="户籍地: household-registration region.")
    async def household_region(self, info: Info) -> Region | None:
        return await _region(info, self.row.household_region_code)

    @strawberry.field(description="居住地: residence region.")
    async def residence_region(self, info: Info) -> Region | None:
        return await _region(info, self.row.residence_region_code)

    @strawberry.field(description="管理地: the region that manages this record.")
    async def management_region(self, info: Info) -> Region | None:
        return await _region(info, self.row.management_region_code)
