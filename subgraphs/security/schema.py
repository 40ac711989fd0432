"""security's federation schema: the root fields of every area (graphql/) merged into one Query and one
Mutation."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from subgraphs.common.schema import schema_extensions
from subgraphs.security.graphql import assets, drills, incidents, notices, protection, statistics, tickets
from subgraphs.security.types import Asset, Organization

_AREAS = (assets, incidents, protection, drills, tickets, notices, statistics)

Query = merge_types("Query", tuple(q for area in _AREAS for q in area.queries))
_mutations = tuple(m for area in _AREAS for m in area.mutations)
Mutation = merge_types("Mutation", _mutations) if _mutations else None

schema = strawberry.federation.Schema(query=Query, mutation=Mutation, types=[Asset, Organization],
                                      extensions=schema_extensions())
