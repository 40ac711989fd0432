"""services' federation schema: the root fields of every area (graphql/) merged into one Query and one
Mutation."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from subgraphs.common.schema import schema_extensions
from subgraphs.services.graphql import (
    applications,
    bundles,
    catalogue,
    guides,
    materials,
    publicity,
    statistics,
    window,
)
from subgraphs.services.types import Application, BusinessItem, Organization, Person, ServiceItem

_AREAS = (catalogue, guides, applications, materials, window, publicity, statistics, bundles)

Query = merge_types("Query", tuple(q for area in _AREAS for q in area.queries))
_mutations = tuple(m for area in _AREAS for m in area.mutations)
Mutation = merge_types("Mutation", _mutations) if _mutations else None

schema = strawberry.federation.Schema(query=Query, mutation=Mutation,
                                      types=[ServiceItem, BusinessItem, Application, Person, Organization],
                                      extensions=schema_extensions())
