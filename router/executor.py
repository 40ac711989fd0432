"""Runs a query plan: root fetches, then entity fetches whose representations come from the answers
so far, each subgraph asked once per plan node whatever the number of objects."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from graphql import BooleanValueNode, DirectiveNode, VariableNode

from router.plan import LIST_MARK, FetchNode, QueryPlan, SubSelection
from router.response import Link, path_of

JSON = dict[str, Any]


class SubgraphClient(Protocol):
    async def fetch(self, graph: str, body: JSON, headers: Mapping[str, str]) -> JSON:
        """POST a GraphQL request to a subgraph and return its decoded JSON response."""


@dataclass
class ExecutionResult:
    data: JSON = field(default_factory=dict)
    errors: list[JSON] = field(default_factory=list)
    fetches: int = 0


class Executor:
    def __init__(self, client: SubgraphClient) -> None:
        self.client = client

    async def execute(
        self, plan: QueryPlan, variables: Mapping[str, Any], headers: Mapping[str, str],
        conditions: Mapping[str, Any] | None = None,
    ) -> ExecutionResult:
        """`variables` go to the subgraphs as the client sent them; `conditions` are the coerced values
        (defaults applied) that decide @skip/@include, so a fetch whose every selection is excluded
        is never sent."""
        result = ExecutionResult()
        run = _Run(self.client, variables, headers, result, conditions if conditions is not None else variables)
        if plan.kind == "mutation":
            # Top-level mutation fields in document order, each with all of its entity fetches.
            for root in plan.roots:
                await run.graph(list(root.walk()))
        else:
            await run.graph(plan.nodes())
        return result


class _Run:
    def __init__(
        self, client: SubgraphClient, variables: Mapping[str, Any], headers: Mapping[str, str],
        result: ExecutionResult, conditions: Mapping[str, Any],
    ) -> None:
        self.client = client
        self.variables = variables
        self.conditions = conditions
        self.headers = headers
        self.result = result

    async def graph(self, nodes: list[FetchNode]) -> None:
        """Run fetches as soon as the ones they depend on (their parent, their dependencies) are done:
        independent fetches in parallel, dependent ones in sequence."""
        tasks: dict[int, asyncio.Task[None]] = {}
        waits: dict[int, list[FetchNode]] = {n.id: list(n.dependencies) for n in nodes}
        for node in nodes:
            for child in node.children:
                waits[child.id].append(node)

        async def run(node: FetchNode) -> None:
            for dependency in waits[node.id]:
                if dependency.id in tasks:
                    await asyncio.shield(tasks[dependency.id])
            if excluded(node.selection, self.conditions):
                return
            if node.entity:
                await self._entities(node)
            else:
                await self._root(node)

        for node in nodes:
            tasks[node.id] = asyncio.ensure_future(run(node))
        await asyncio.gather(*tasks.values())

    def _variables(self, node: FetchNode) -> JSON:
        return {name: self.variables[name] for name in node.variable_names if name in self.variables}

    async def _call(self, node: FetchNode, variables: JSON) -> JSON | None:
        self.result.fetches += 1
        try:
            response = await self.client.fetch(
                node.graph, {"query": node.operation, "variables": variables}, self.headers
            )
        except Exception as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else f"failed ({exc})"
            self.result.errors.append({
                "message": f"the request to subgraph '{node.graph}' {reason}",
                "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR", "serviceName": node.graph},
            })
            return None
        return response

    async def _root(self, node: FetchNode) -> None:
        response = await self._call(node, self._variables(node))
        if response is None:
            return
        for error in response.get("errors") or []:
            self.result.errors.append(_tag(error, node.graph))
        data = response.get("data")
        if isinstance(data, dict):
            deep_merge(self.result.data, data)

    async def _entities(self, node: FetchNode) -> None:
        parent_type = node.parent_type
        type_filter = node.type_filter
        override = node.typename_override
        projectors: dict[str, _Projector | None] = {}
        representations: list[JSON] = []
        index_of: dict[Any, int] = {}
        # the objects each representation stands for, with their response paths (as links, made into
        # lists only when an error needs one)
        owners: list[list[tuple[JSON, Link]]] = []
        last_typename: Any = None
        projector: _Projector | None = None
        for obj, link in _targets(self.result.data, node.path):
            seen = obj.get("__typename", parent_type)
            if seen not in type_filter:
                continue
            typename = override or seen or parent_type
            if typename != last_typename or last_typename is None:
                if typename in projectors:
                    projector = projectors[typename]
                else:
                    shape = node.requires.get(typename)
                    projector = projectors[typename] = None if shape is None else _Projector(shape, typename)
                last_typename = typename
            if projector is None:
                continue
            found = projector.project(obj)
            if found is None:
                continue
            representation, marker = found
            index = index_of.get(marker)
            if index is None:
                index_of[marker] = len(representations)
                representations.append(representation)
                owners.append([(obj, link)])
            else:
                owners[index].append((obj, link))
        if not representations:
            return
        variables = {"representations": representations, **self._variables(node)}
        response = await self._call(node, variables)
        if response is None:
            return
        entities = (response.get("data") or {}).get("_entities")
        for error in response.get("errors") or []:
            self.result.errors.append(_entity_error(error, node.graph, owners))
        if not isinstance(entities, list):
            return
        for index, entity in enumerate(entities[: len(owners)]):
            if isinstance(entity, dict):
                for obj, _link in owners[index]:
                    deep_merge(obj, entity)


class _Projector:
    """Builds the representations of one entity type for one fetch, with the marker that tells equal
    representations apart (equal markers: equal JSON, whatever the key order).

    A flat shape (no sub-selections, distinct field names) is projected by a loop over its fields, and a
    representation whose values are all strings is marked by the tuple of its values; anything else
    goes through `build_representation` and is marked by its JSON with sorted keys."""

    __slots__ = ("fields", "shape", "typename")

    def __init__(self, shape: SubSelection, typename: str) -> None:
        self.shape = shape
        self.typename = typename
        names = [sub.name for sub in shape.fields.values()]
        flat = all(sub.selection is None for sub in shape.fields.values()) and len(set(names)) == len(names)
        self.fields: list[tuple[str, str]] | None = [
            (key, sub.name) for key, sub in shape.fields.items()
        ] if flat and isinstance(typename, str) else None

    def project(self, obj: JSON) -> tuple[JSON, Any] | None:
        typename = self.typename
        if self.fields is None:
            built = build_representation(obj, self.shape, typename)
            if built is None:
                return None
            built["__typename"] = typename
            return built, orjson.dumps(built, option=orjson.OPT_SORT_KEYS)
        representation: JSON = {}
        marker: list[Any] = [typename]
        strings = True
        for key, name in self.fields:
            value = obj.get(key)
            if value is None:
                if name != "__typename":
                    return None
                continue
            representation[name] = value
            if name != "__typename":
                marker.append(value)
                if value.__class__ is not str:
                    strings = False
        # where the projection put it, or last; always the type the fetch asks for
        representation["__typename"] = typename
        if strings:
            return representation, tuple(marker)
        return representation, orjson.dumps(representation, option=orjson.OPT_SORT_KEYS)


def _skipped(directives: Sequence[DirectiveNode], values: Mapping[str, Any]) -> bool:
    for directive in directives:
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        condition: Any = None
        for argument in directive.arguments or ():
            if argument.name.value == "if":
                value = argument.value
                if isinstance(value, BooleanValueNode):
                    condition = value.value
                elif isinstance(value, VariableNode):
                    condition = values.get(value.name.value)
        if (name == "skip" and condition is True) or (name == "include" and condition is False):
            return True
    return False


def excluded(selection: SubSelection, values: Mapping[str, Any]) -> bool:
    """Whether @skip/@include leave nothing of this selection to fetch."""
    if any(not _skipped(sub.directives, values) for sub in selection.fields.values()):
        return False
    for key, fragment in selection.fragments.items():
        if not _skipped(selection.fragment_directives.get(key, ()), values) and not excluded(fragment, values):
            return False
    return True


def collect(data: JSON, path: tuple[str, ...]) -> list[tuple[JSON, list[str | int]]]:
    """The objects at a plan path (LIST_MARK steps into every list element) with their response paths."""
    current: list[tuple[Any, list[str | int]]] = [(data, [])]
    for step in path:
        following: list[tuple[Any, list[str | int]]] = []
        for value, where in current:
            if step == LIST_MARK:
                if isinstance(value, list):
                    following += [(item, [*where, i]) for i, item in enumerate(value) if item is not None]
            elif isinstance(value, dict) and value.get(step) is not None:
                following.append((value[step], [*where, step]))
        current = following
    return [(value, where) for value, where in current if isinstance(value, dict)]


def _targets(data: JSON, path: tuple[str, ...]) -> list[tuple[JSON, Link]]:
    """`collect`, with the response paths as links."""
    current: list[tuple[Any, Link]] = [(data, None)]
    for step in path:
        following: list[tuple[Any, Link]] = []
        if step == LIST_MARK:
            for value, where in current:
                if isinstance(value, list):
                    following += [(item, (where, i)) for i, item in enumerate(value) if item is not None]
        else:
            for value, where in current:
                if isinstance(value, dict):
                    inner = value.get(step)
                    if inner is not None:
                        following.append((inner, (where, step)))
        current = following
    return [(value, where) for value, where in current if isinstance(value, dict)]


def build_representation(obj: JSON, shape: SubSelection, typename: str) -> JSON | None:
    representation = _project(obj, shape)
    if representation is None:
        return None
    representation.setdefault("__typename", obj.get("__typename", typename))
    return representation


def _project(value: Any, shape: SubSelection) -> Any:
    if isinstance(value, list):
        items = [_project(item, shape) for item in value]
        return None if any(i is None for i in items) else items
    if not isinstance(value, dict):
        return None
    projected: JSON = {}
    for key, sub in shape.fields.items():
        inner = value.get(key)
        if sub.selection is not None and inner is not None:
            inner = _project(inner, sub.selection)
        if inner is None and sub.name != "__typename":
            return None
        if inner is not None:
            projected[sub.name] = inner
    return projected


def deep_merge(into: JSON, source: JSON) -> None:
    for key, value in source.items():
        existing = into.get(key)
        if existing is None:
            into[key] = value
        elif isinstance(existing, dict) and isinstance(value, dict):
            deep_merge(existing, value)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            for i, (mine, theirs) in enumerate(zip(existing, value, strict=True)):
                if isinstance(mine, dict) and isinstance(theirs, dict):
                    deep_merge(mine, theirs)
                else:
                    existing[i] = theirs
        else:
            into[key] = value


def _tag(error: Any, graph: str) -> JSON:
    tagged: JSON = dict(error) if isinstance(error, dict) else {"message": str(error)}
    # Locations point into the operation the router sent the subgraph, not the client's.
    tagged.pop("locations", None)
    extensions = dict(tagged.get("extensions") or {})
    extensions.setdefault("serviceName", graph)
    tagged["extensions"] = extensions
    return tagged


def _entity_error(error: Any, graph: str, owners: list[list[tuple[JSON, Link]]]) -> JSON:
    tagged = _tag(error, graph)
    path = tagged.get("path")
    if isinstance(path, list) and len(path) >= 2 and path[0] == "_entities" and isinstance(path[1], int):
        index = path[1]
        if 0 <= index < len(owners) and owners[index]:
            tagged["path"] = path_of(owners[index][0][1]) + path[2:]
            return tagged
    tagged.pop("path", None)
    return tagged
