"""The federation fixture cases (tests/federation/fixtures/*.py), loaded once for every test that uses
them: composed by our composer, served over HTTP one case at a time."""

from __future__ import annotations

import importlib.util
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from fixture_subgraphs import FixtureSubgraph, Operation, serve_fixture

from router.compose import CompositionError, SubgraphSource, compose
from router.supergraph import Supergraph, SupergraphError

FIXTURES = Path(__file__).parent / "federation" / "fixtures"


@dataclass
class Case:
    name: str
    module: ModuleType
    subgraphs: list[FixtureSubgraph]
    operations: dict[str, Operation]
    supergraph_sdl: str | None
    problem: str | None  # why our composer or supergraph loader refuses the case

    def reset(self, operation: Operation | None = None) -> None:
        reset = getattr(self.module, "reset", None)
        if callable(reset):
            reset()
        for subgraph in self.subgraphs:
            subgraph.reset()
            subgraph.down = operation.down.get(subgraph.name) if operation else None
            subgraph.delay = operation.delays.get(subgraph.name, 0.0) if operation else 0.0

    def calls(self) -> dict[str, int]:
        return {s.name: len(s.requests) for s in self.subgraphs if s.requests}


def _load(path: Path) -> Case:
    module_name = f"federation_fixture_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    subgraphs: list[FixtureSubgraph] = list(module.SUBGRAPHS)
    operations: list[Operation] = list(module.OPERATIONS)
    assert len({o.name for o in operations}) == len(operations), f"{path.stem}: operation names repeat"
    sources = [SubgraphSource(s.name, f"http://{s.name}.fixture.invalid/graphql", s.sdl) for s in subgraphs]
    sdl: str | None = None
    problem: str | None = None
    try:
        sdl = compose(sources)
        Supergraph(sdl)
    except CompositionError as exc:
        problem = "our composer rejects this valid case: " + "; ".join(exc.errors)
    except SupergraphError as exc:
        problem = f"our Supergraph rejects our composer's output: {exc}"
    return Case(path.stem, module, subgraphs, {o.name: o for o in operations}, sdl, problem)


CASES = {case.name: case for case in map(_load, sorted(FIXTURES.glob("[!_]*.py")))}

class Served:
    """Serves one case at a time (tests run case by case); the previous case's servers stop first."""

    def __init__(self) -> None:
        self.case: str | None = None
        self.urls: dict[str, str] = {}
        self._stack = ExitStack()

    def urls_for(self, case: Case) -> dict[str, str]:
        if self.case != case.name:
            self.close()
            self.urls = self._stack.enter_context(serve_fixture(case.subgraphs))
            self.case = case.name
        return self.urls

    def close(self) -> None:
        self._stack.close()
        self._stack = ExitStack()
        self.case = None


def ordered(value: Any) -> Any:
    """The value with every object as its list of (key, value) pairs: compares response key order too."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value
