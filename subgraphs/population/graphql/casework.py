"""Casework of the population subgraph: the death closed loop (graphql/deaths.py) and dispatch between
regions (graphql/dispatch.py), re-exported here for schema.py, and their fields on Person."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry

from subgraphs.population.graphql import deaths, dispatch
from subgraphs.population.graphql.deaths import DeathRecord
from subgraphs.population.graphql.dispatch import DispatchOrder, Info

if TYPE_CHECKING:
    from subgraphs.population import models


@strawberry.type
class PersonCaseworkFields:
    """Person fields of this area (types.Person inherits them)."""

    if TYPE_CHECKING:
        row: models.Person

    @strawberry.field(description="死亡人口信息: the death records of this case (normally one), oldest first.")
    async def death_records(self, info: Info) -> list[DeathRecord]:
        return await deaths.person_death_records(info, self.row)

    @strawberry.field(description="调度记录: the dispatch orders of this case, newest first.")
    async def dispatch_orders(self, info: Info) -> list[DispatchOrder]:
        return await dispatch.person_dispatch_orders(info, self.row)


queries: list[type] = [*deaths.queries, *dispatch.queries]
mutations: list[type] = [*deaths.mutations, *dispatch.mutations]
