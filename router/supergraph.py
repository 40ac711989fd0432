"""The supergraph model: which subgraph resolves what, read from the join__ directives, and the API
schema clients see (the supergraph without join/link machinery and without @inaccessible elements).

A supergraph that does not hold together is rejected here, at load, with an error that says why.
"""

from __future__ import annotations

import json
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
    ListValueNode,
    NamedTypeNode,
    ObjectTypeDefinitionNode,
    ObjectValueNode,
    ScalarTypeDefinitionNode,
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

MACHINERY_PREFIXES = ("join__", "link__", "core__")
MACHINERY_DIRECTIVES = ("link", "core", "inaccessible", "tag")


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
    override_label: str | None = None
    used_overridden: bool = False
    type: str | None = None

    def resolves(self, labels: frozenset[str]) -> bool:
        """Whether this subgraph answers the field for a request with these override labels on."""
        if self.external or self.used_overridden:
            return False
        if self.override_label is None:
            return True
        # Progressive override: the overriding side (override: "from") serves while the label is on,
        # the overridden side while it is off.
        active = self.override_label in labels
        return active if self.override is not None else not active


NO_LABELS: frozenset[str] = frozenset()


@dataclass
class TypeModel:
    name: str
    kind: str
    graphs: list[str] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    # None: the field has no @join__field and so is resolvable wherever the type is defined.
    fields: dict[str, list[FieldSource] | None] = field(default_factory=dict)
    interface_object_in: list[str] = field(default_factory=list)
    # Federation 1 (join v0.1): the graph that owns the type and its fields without @join__field.
    owner: str | None = None
    all_graphs: list[str] = field(default_factory=list)
    # Per subgraph, from @join__implements / @join__unionMember (absent: no such directives at all).
    implements: dict[str, list[str]] = field(default_factory=dict)
    union_members: dict[str, list[str]] = field(default_factory=dict)

    def defining_graphs(self) -> list[str]:
        # A type with no @join__type at all (a Federation 1 value type) exists in every subgraph.
        return self.graphs or self.all_graphs

    def sources(self, field_name: str) -> list[FieldSource]:
        declared = self.fields.get(field_name)
        if declared is None:
            if self.owner is not None:
                return [FieldSource(graph=self.owner)]
            return [FieldSource(graph=g) for g in self.defining_graphs()]
        return declared

    def resolving_graphs(self, field_name: str, labels: frozenset[str] = NO_LABELS) -> list[str]:
        sources = self.sources(field_name)
        # A subgraph a field was moved away from (@override without a label) no longer resolves it,
        # even where the supergraph still lists it.
        moved_from = {s.override for s in sources if s.override and s.override_label is None}
        return [s.graph for s in sources if s.resolves(labels) and s.graph not in moved_from]

    def source(self, field_name: str, graph: str) -> FieldSource | None:
        for source in self.sources(field_name):
            if source.graph == graph:
                return source
        return None

    def keys_in(self, graph: str, *, resolvable_only: bool = False) -> list[Key]:
        return [k for k in self.keys if k.graph == graph and (k.resolvable or not resolvable_only)]

    def is_entity(self) -> bool:
        return bool(self.keys)


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
        self.override_labels: set[str] = set()
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
        # Federation 2 supergraphs @link their specs; Federation 1 supergraphs declare them with @core.
        urls = [str(_argument(d, "url") or _argument(d, "feature"))
                for d in schema_defs[0].directives or [] if d.name.value in ("link", "core")]
        joins = [u for u in urls if "/join/" in u]
        if not joins:
            raise SupergraphError("the supergraph does not @link the join spec (https://specs.apollo.dev/join)")
        version = joins[0].rsplit("/v", 1)[-1]
        if version not in ("0.1", "0.2", "0.3", "0.4", "0.5"):
            raise SupergraphError(f"join spec v{version} is not supported (v0.1 to v0.5 are)")
        self.join_version = version
        # Everything a linked spec brings (its directives, its `spec__` types) is machinery, not API.
        self.spec_names: set[str] = set()
        for directive in schema_defs[0].directives or []:
            if directive.name.value not in ("link", "core"):
                continue
            url = str(_argument(directive, "url") or _argument(directive, "feature"))
            name = str(_argument(directive, "as") or url.rstrip("/").rsplit("/", 2)[-2])
            self.spec_names.add(name)
            for argument in directive.arguments or []:
                if argument.name.value == "import" and isinstance(argument.value, ListValueNode):
                    for item in argument.value.values:
                        if isinstance(item, StringValueNode):
                            self.spec_names.add(item.value.lstrip("@"))
                        elif isinstance(item, ObjectValueNode):
                            for object_field in item.fields:
                                if object_field.name.value in ("name", "as") and isinstance(
                                        object_field.value, StringValueNode):
                                    self.spec_names.add(object_field.value.value.lstrip("@"))

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
        all_graphs = [g.name for g in self.graphs.values()]
        for definition in self.document.definitions:
            if not isinstance(definition, TypeDefinitionNode):
                continue
            name = definition.name.value
            if name.startswith(MACHINERY_PREFIXES):
                continue
            kind = type(definition).__name__.removesuffix("TypeDefinitionNode").lower()
            model = self.types[name] = TypeModel(name=name, kind=kind, all_graphs=all_graphs)
            for directive in definition.directives or []:
                if directive.name.value == "join__implements":
                    model.implements.setdefault(self._graph(directive, name), []).append(
                        str(_argument(directive, "interface")))
                    continue
                if directive.name.value == "join__unionMember":
                    model.union_members.setdefault(self._graph(directive, name), []).append(
                        str(_argument(directive, "member")))
                    continue
                if directive.name.value == "join__owner":
                    model.owner = self._graph(directive, name)
                    continue
                if directive.name.value != "join__type":
                    continue
                graph = self._graph(directive, name)
                if _argument(directive, "isInterfaceObject") is True:
                    model.interface_object_in.append(graph)
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
                        source = FieldSource(
                            graph=graph,
                            requires=_str_or_none(_argument(directive, "requires")),
                            provides=_str_or_none(_argument(directive, "provides")),
                            external=_argument(directive, "external") is True,
                            override=_str_or_none(_argument(directive, "override")),
                            override_label=_str_or_none(_argument(directive, "overrideLabel")),
                            used_overridden=_argument(directive, "usedOverridden") is True,
                            type=_str_or_none(_argument(directive, "type")),
                        )
                        if source.override_label is not None:
                            self.override_labels.add(source.override_label)
                        sources.append(source)
                    model.fields[field_node.name.value] = sources

    def _build_api_schema(self) -> GraphQLSchema:
        inaccessible = {
            d.name.value for d in self.document.definitions
            if isinstance(d, TypeDefinitionNode) and _inaccessible(d)
        }
        api_document = visit(self.document, _ApiSchemaVisitor(self.spec_names, inaccessible))
        try:
            return build_ast_schema(api_document, assume_valid_sdl=False)
        except (GraphQLError, TypeError) as exc:
            raise SupergraphError(f"the API schema derived from the supergraph is invalid: {exc}") from exc

    def _check(self) -> None:
        """Reject what would otherwise fail on every request that touches it."""
        for model in self.types.values():
            if model.owner is not None and model.owner not in model.graphs:
                model.graphs.insert(0, model.owner)
            for field_name in model.fields:
                for source in model.sources(field_name):
                    if source.graph not in model.defining_graphs():
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

    def __init__(self, spec_names: set[str], inaccessible_types: set[str]) -> None:
        super().__init__()
        self.inaccessible_types = inaccessible_types
        self.names = set(MACHINERY_DIRECTIVES) | spec_names
        self.prefixes = MACHINERY_PREFIXES + tuple(f"{n}__" for n in spec_names)

    def _machinery(self, name: str) -> bool:
        return name in self.names or name.startswith(self.prefixes)

    def enter_directive_definition(self, node: DirectiveDefinitionNode, *_args: object) -> object:
        return REMOVE if self._machinery(node.name.value) else None

    def enter_directive(self, node: DirectiveNode, *_args: object) -> object:
        return REMOVE if self._machinery(node.name.value) else None

    def enter_schema_definition(self, node: SchemaDefinitionNode, *_args: object) -> object:
        return None

    def enter_named_type(self, node: NamedTypeNode, key: object, *_args: object) -> object:
        # A union member or implemented interface that is @inaccessible goes with its type (a list
        # position: field types cannot name an inaccessible type in a valid supergraph).
        if isinstance(key, int) and node.name.value in self.inaccessible_types:
            return REMOVE
        return None

    def _strip_type(self, node: object, *_args: object) -> object:
        name = getattr(getattr(node, "name", None), "value", "")
        if name.startswith(self.prefixes) or _inaccessible(node):
            return REMOVE
        return None

    def _strip_member(self, node: object, *_args: object) -> object:
        return REMOVE if _inaccessible(node) else None

    enter_object_type_definition = _strip_type
    enter_interface_type_definition = _strip_type
    enter_union_type_definition = _strip_type
    enter_enum_type_definition = _strip_type
    enter_input_object_type_definition = _strip_type
    enter_scalar_type_definition = _strip_type
    enter_field_definition = _strip_member
    enter_input_value_definition = _strip_member
    enter_enum_value_definition = _strip_member


def _inaccessible(node: object) -> bool:
    return any(d.name.value == "inaccessible" for d in getattr(node, "directives", None) or [])


def load_supergraph(paths: Iterable[str] | str) -> Supergraph:
    path = paths if isinstance(paths, str) else next(iter(paths))
    with open(path, encoding="utf-8") as handle:
        return Supergraph(handle.read())


__all__ = ["DocumentNode", "FieldSource", "Graph", "Key", "Supergraph", "SupergraphError", "TypeModel"]


ACCESS_CONTROL_SPECS = ("https://specs.apollo.dev/authenticated/", "https://specs.apollo.dev/requiresScopes/",
                        "https://specs.apollo.dev/policy/")


def without_access_control(sdl: str) -> str:
    """The same supergraph without @authenticated, @requiresScopes and @policy (their @link, definitions,
    scalars and uses), for gateways that refuse to load a supergraph linking features `for: SECURITY` they
    do not implement (Apollo Gateway does: UNSUPPORTED_LINKED_FEATURE). Used to run peers in tests and the
    bench; such a peer then enforces none of them."""
    from graphql import REMOVE, Visitor, print_ast, visit

    from router.authorization import linked_names

    document = parse(sdl)
    names = set(linked_names(document))
    prefixes = tuple(f"{local}__" for local in names)

    class Strip(Visitor):
        def enter_directive(self, node: DirectiveNode, *_args: object) -> object:
            if node.name.value in names:
                return REMOVE
            if node.name.value == "link" and str(_argument(node, "url") or "").startswith(ACCESS_CONTROL_SPECS):
                return REMOVE
            return None

        def enter_directive_definition(self, node: DirectiveDefinitionNode, *_args: object) -> object:
            return REMOVE if node.name.value in names else None

        def enter_scalar_type_definition(self, node: ScalarTypeDefinitionNode, *_args: object) -> object:
            return REMOVE if node.name.value.startswith(prefixes) else None

    return print_ast(visit(document, Strip()))


def with_subgraph_urls(supergraph_sdl: str, urls: dict[str, str]) -> str:
    """The supergraph with the `url:` of each named subgraph's @join__graph replaced.

    Our router takes URL overrides (ROUTER_SUBGRAPH_URLS); peer gateways (tests, the bench) only read the
    supergraph.
    """
    document = parse(supergraph_sdl, no_location=False)
    replacements: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    for definition in document.definitions:
        if not isinstance(definition, EnumTypeDefinitionNode) or definition.name.value != "join__Graph":
            continue
        for value in definition.values or []:
            for directive in value.directives or []:
                if directive.name.value != "join__graph":
                    continue
                arguments = {a.name.value: a.value for a in directive.arguments or []}
                name, url = arguments.get("name"), arguments.get("url")
                if isinstance(name, StringValueNode) and isinstance(url, StringValueNode) and name.value in urls:
                    assert url.loc is not None
                    replacements.append((url.loc.start, url.loc.end, json.dumps(urls[name.value])))
                    seen.add(name.value)
    unknown = set(urls) - seen
    if unknown:
        raise ValueError(f"the supergraph has no @join__graph for {sorted(unknown)}")
    for start, end, text in sorted(replacements, reverse=True):
        supergraph_sdl = supergraph_sdl[:start] + text + supergraph_sdl[end:]
    return supergraph_sdl
