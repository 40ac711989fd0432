"""The five domains and where each listens in the stack mode. Only the launcher and the composer need
this list; the router learns the subgraphs from the supergraph."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from subgraphs.common.app import SubgraphDefinition


@dataclass(frozen=True)
class SubgraphEntry:
    name: str
    port: int

    @property
    def module(self) -> str:
        return f"subgraphs.{self.name}.app"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def definition(self) -> SubgraphDefinition:
        definition = importlib.import_module(self.module).definition
        assert isinstance(definition, SubgraphDefinition)
        return definition


SUBGRAPHS: tuple[SubgraphEntry, ...] = (
    SubgraphEntry("identity", 4101),
    SubgraphEntry("population", 4102),
    SubgraphEntry("licences", 4103),
    SubgraphEntry("services", 4104),
    SubgraphEntry("security", 4105),
)


def subgraph_sdl(definition: SubgraphDefinition) -> str:
    """The SDL a federation gateway would fetch from the subgraph (`_service { sdl }`)."""
    result = definition.schema.execute_sync("{ _service { sdl } }")
    assert result.errors is None and result.data is not None, result.errors
    sdl = result.data["_service"]["sdl"]
    assert isinstance(sdl, str)
    return sdl
