"""licences' federation schema: the root fields of every area (graphql/) merged into one Query and one
Mutation."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from subgraphs.common.schema import schema_extensions
from subgraphs.licences.graphql import ingestion, licences, lookups, presentation, standards, statistics
from subgraphs.licences.graphql.applications import Application
from subgraphs.licences.types import Licence, Organization, Person

_AREAS = (licences, lookups, standards, ingestion, presentation, statistics)

Query = merge_types("Query", tuple(q for area in _AREAS for q in area.queries))
_mutations = tuple(m for area in _AREAS for m in area.mutations)
Mutation = merge_types("Mutation", _mutations) if _mutations else None

schema = strawberry.federation.Schema(query=Query, mutation=Mutation,
                                      types=[Licence, Person, Organization, Application],
                                      extensions=schema_extensions())
