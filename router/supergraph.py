"""The supergraph model: which subgraph resolves what, read from the join__ directives, and the API
schema clients see (the supergraph without join/link machinery and without @inaccessible elements).

A supergraph that does not hold together is rejected here, at load, with an error that says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from graphql import (
    BooleanValueNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumValueNode,
    GraphQLError,
    GraphQLSchema,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    SchemaDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    TypeDefinitionNode,
    build_ast_schema,
    parse,
)
from graphql.language import Visitor, visit
from graphql.language.visitor import REMOVE

from router.fieldset import parse_fieldset

MACHINERY_PREFIXES = ("join__", "link__")


class SupergraphError(Exception):
    """The supergraph cannot be served; the message says what is wrong with it."""


@dataclass(frozen=True)
class Graph:
    enum_value: str
    name: str
    url: str


@dataclass(frozen=True)
class Key:
    graph: str
    fields: str
    resolvable: bool

    @property
    def selection(self) -> SelectionSetNode:
        return parse_fieldset(self.fields)


@dataclass(frozen=True)
class FieldSource:
    """How one subgraph takes part in one field (one @join__field)."""

    graph: str
    requires: str | None = None
    provides: str | None = None
    external: bool = False
    override: str | None = None


@dataclass
class TypeModel:
    name: str
    kind: str
    graphs: list[str] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    # None: the field has no @join__field and so is resolvable wherever the type is defined.
    fields: dict[str, list[FieldSource] | None] = field(default_factory=dict)

    def sources(self, field_name: str) -> list[FieldSource]:
        declared = self.fields.get(field_name)
        if declared is None:
            return [FieldSource(graph=g) for g in self.graphs]
        return declared

    def resolving_graphs(self, field_name: str) -> list[str]:
        return [s.graph for s in self.sources(field_name) if not s.external]

    def source(self, field_name: str, graph: str) -> FieldSource | None:
        for source in self.sources(field_name):
            if source.graph == graph:
                return source
        return None

    def keys_in(self, graph: str, *, resolvable_only: bool = False) -> list[Key]:
        return [k for k in self.keys if k.graph == graph and (k.resolvable or not resolvable_only)]


def _argument(directive: DirectiveNode, name: str) -> object:
    for argument in directive.arguments or []:
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, StringValueNode | BooleanValueNode):
                return value.value
            if isinstance(value, EnumValueNode):
                return value.value
    return None


class Supergraph:
    def __init__(self, sdl: str) -> None:
        try:
            self.document = parse(sdl)
        except GraphQLError as exc:
            raise SupergraphError(f"the supergraph does not parse: {exc.message}") from exc
        self.sdl = sdl
        self.graphs: dict[str, Graph] = {}
        self.types: dict[str, TypeModel] = {}
        self._read_links()
        self._read_graphs()
        self._read_types()
        self.api_schema = self._build_api_schema()
        self._check()

    # loading ---------------------------------------------------------------------------------------

    def _read_links(self) -> None:
        schema_defs = [d for d in self.document.definitions if isinstance(d, SchemaDefinitionNode)]
        if not schema_defs:
            raise SupergraphError("the supergraph has no schema definition with @link directives")
        urls = [str(_argument(d, "url")) for d in schema_defs[0].directives or [] if d.name.value == "link"]
        joins = [u for u in urls if "/join/" in u]
        if not joins:
            raise SupergraphError("the supergraph does not @link the join spec (https://specs.apollo.dev/join)")
        version = joins[0].rsplit("/v", 1)[-1]
        if version not in ("0.2", "0.3", "0.4", "0.5"):
            raise SupergraphError(f"join spec v{version} is not supported (v0.2 to v0.5 are)")
        self.join_version = version

    def _read_graphs(self) -> None:
        for definition in self.document.definitions:
            if isinstance(definition, EnumTypeDefinitionNode) and definition.name.value == "join__Graph":
                for value in definition.values or []:
                    if not any(d.name.value == "join__graph" for d in value.directives or []):
                        raise SupergraphError(f"join__Graph.{value.name.value} lacks a name or url (@join__graph)")
                    for directive in value.directives or []:
                        if directive.name.value == "join__graph":
                            name, url = _argument(directive, "name"), _argument(directive, "url")
                            if not isinstance(name, str) or not isinstance(url, str):
                                raise SupergraphError(f"join__Graph.{value.name.value} lacks a name or url")
                            self.graphs[value.name.value] = Graph(value.name.value, name, url)
        if not self.graphs:
            raise SupergraphError("the supergraph declares no subgraphs (enum join__Graph is missing or empty)")

    def _graph(self, directive: DirectiveNode, where: str) -> str:
        enum_value = _argument(directive, "graph")
        if enum_value is None:
            return ""
        if enum_value not in self.graphs:
            raise SupergraphError(f"{where}: @{directive.name.value} names unknown graph {enum_value}")
        return self.graphs[str(enum_value)].name

    def _read_types(self) -> None:
        for definition in self.document.definitions:
            if not isinstance(definition, TypeDefinitionNode):
                continue
            name = definition.name.value
            if name.startswith(MACHINERY_PREFIXES):
                continue
            kind = type(definition).__name__.removesuffix("TypeDefinitionNode").lower()
            model = self.types[name] = TypeModel(name=name, kind=kind)
            for directive in definition.directives or []:
                if directive.name.value != "join__type":
                    continue
                graph = self._graph(directive, name)
                if graph not in model.graphs:
                    model.graphs.append(graph)
                key = _argument(directive, "key")
                if isinstance(key, str):
                    resolvable = _argument(directive, "resolvable") is not False
                    try:
                        parse_fieldset(key)
                    except GraphQLError as exc:
                        raise SupergraphError(f"{name}: @join__type key {key!r} does not parse") from exc
                    model.keys.append(Key(graph=graph, fields=key, resolvable=resolvable))
            if isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
                for field_node in definition.fields or []:
                    joins = [d for d in field_node.directives or [] if d.name.value == "join__field"]
                    if not joins:
                        model.fields[field_node.name.value] = None
                        continue
                    sources = []
                    for directive in joins:
                        graph = self._graph(directive, f"{name}.{field_node.name.value}")
                        if not graph:
                            continue
                        sources.append(FieldSource(
                            graph=graph,
                            requires=_str_or_none(_argument(directive, "requires")),
                            provides=_str_or_none(_argument(directive, "provides")),
                            external=_argument(directive, "external") is True,
                            override=_str_or_none(_argument(directive, "override")),
                        ))
                    model.fields[field_node.name.value] = sources

    def _build_api_schema(self) -> GraphQLSchema:
        api_document = visit(self.document, _ApiSchemaVisitor())
        try:
            return build_ast_schema(api_document, assume_valid_sdl=False)
        except (GraphQLError, TypeError) as exc:
            raise SupergraphError(f"the API schema derived from the supergraph is invalid: {exc}") from exc

    def _check(self) -> None:
        """Reject what would otherwise fail on every request that touches it."""
        for model in self.types.values():
            for field_name in model.fields:
                for source in model.sources(field_name):
                    if source.graph not in model.graphs:
                        raise SupergraphError(
                            f"{model.name}.{field_name} is resolved by {source.graph}, which does not define "
                            f"{model.name} (no @join__type for that graph)"
                        )

    # queries ---------------------------------------------------------------------------------------

    @cached_property
    def graph_by_name(self) -> dict[str, Graph]:
        return {g.name: g for g in self.graphs.values()}

    def type(self, name: str) -> TypeModel:
        return self.types[name]


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


class _ApiSchemaVisitor(Visitor):
    """Strips the composition machinery and everything @inaccessible."""

    def enter_directive_definition(self, node: DirectiveDefinitionNode, *_args: object) -> object:
        name = node.name.value
        if name.startswith(MACHINERY_PREFIXES) or name in ("link", "inaccessible", "tag"):
            return REMOVE
        return None

    def enter_directive(self, node: DirectiveNode, *_args: object) -> object:
        name = node.name.value
        if name.startswith(MACHINERY_PREFIXES) or name in ("link", "inaccessible", "tag"):
            return REMOVE
        return None

    def enter_schema_definition(self, node: SchemaDefinitionNode, *_args: object) -> object:
        return None

    def _strip(self, node: object, *_args: object) -> object:
        name = getattr(getattr(node, "name", None), "value", "")
        if name.startswith(MACHINERY_PREFIXES) or _inaccessible(node):
            return REMOVE
        return None

    enter_object_type_definition = _strip
    enter_interface_type_definition = _strip
    enter_union_type_definition = _strip
    enter_enum_type_definition = _strip
    enter_input_object_type_definition = _strip
    enter_scalar_type_definition = _strip
    enter_field_definition = _strip
    enter_input_value_definition = _strip
    enter_enum_value_definition = _strip


def _inaccessible(node: object) -> bool:
    return any(d.name.value == "inaccessible" for d in getattr(node, "directives", None) or [])


def load_supergraph(paths: Iterable[str] | str) -> Supergraph:
    path = paths if isinstance(paths, str) else next(iter(paths))
    with open(path, encoding="utf-8") as handle:
        return Supergraph(handle.read())


__all__ = ["DocumentNode", "FieldSource", "Graph", "Key", "Supergraph", "SupergraphError", "TypeModel"]
