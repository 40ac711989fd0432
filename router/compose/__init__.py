"""Composition: subgraph SDLs in, a Federation v2 supergraph (link v1.0 + join v0.3 or v0.4) out.

The rules and the output follow Apollo's composition (@apollo/composition 2.x), and
tests/federation/test_reference_harness.py checks them against it case by case:

* subgraphs are taken in name order, and the supergraph prints its types and directives alphabetically;
* each subgraph is checked on its own first (GraphQL validity, @key / @requires / @provides field sets,
  @external use, @interfaceObject and interface keys);
* object and interface types merge by union of their fields, input types and field arguments by
  intersection (a required one missing somewhere is an error), enums by usage: union of the values when
  only used as output, intersection when only used as input, equal value sets when used as both;
* a field resolved by several subgraphs must be @shareable in each (fields provided through @provides
  count), `@override(from:)` takes a field from a subgraph (kept as `usedOverridden` while that subgraph
  still needs it, or both sides kept with `overrideLabel` for a progressive override, which links join
  v0.4), an `@interfaceObject` adds its fields to the interface and to every implementation;
* descriptions, @deprecated, @specifiedBy, @tag and @inaccessible are kept (the last two @link their
  specs), and the API schema must hold together without the @inaccessible elements;
* finally every field of the API schema must be reachable by some query through the subgraphs
  (satisfiability, in a simplified form: key jumps, @provides, @requires, interfaces and interface objects).

Invalid sets are rejected with errors that name the subgraph, the type and the field, and end with the
code Apollo uses for the same problem. Federation 1 subgraphs (no federation @link) are upgraded as Apollo
does (simplified: every field shareable, extensions made definitions, meaningless @external dropped).
Not composed: custom directives (@composeDirective), executable directive definitions, @authenticated /
@requiresScopes / @policy / @cost / @listSize, @context / @fromContext.

The supergraph links join v0.3, or v0.4 when a progressive @override (label) needs `overrideLabel`. (Apollo
picks the join version from the subgraphs' federation version: v0.5 from federation v2.8 on; the join
directives we write mean the same in all three.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    ConstDirectiveNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    EnumValueNode,
    FieldDefinitionNode,
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListValueNode,
    NameNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ObjectValueNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    SelectionSetNode,
    StringValueNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    ValueNode,
    build_ast_schema,
    parse,
    parse_value,
    print_ast,
    validate_schema,
)
from graphql.validation.validate import validate_sdl

from router.fieldset import parse_fieldset

FEDERATION_SPEC = "https://specs.apollo.dev/federation/"
FEDERATION_DIRECTIVES = (
    "key", "shareable", "external", "requires", "provides", "extends", "override", "inaccessible", "tag",
    "composeDirective", "interfaceObject", "authenticated", "requiresScopes", "policy", "context",
    "fromContext", "cost", "listSize", "cacheTag",
)
FEDERATION_1_DIRECTIVES = ("key", "external", "requires", "provides", "extends", "tag", "inaccessible")
# Built-in directives Apollo copies into the supergraph, and built-ins it knows.
KEPT_BUILT_IN_DIRECTIVES = ("deprecated", "specifiedBy")
BUILT_IN_DIRECTIVES = ("deprecated", "specifiedBy", "include", "skip", "oneOf", "defer", "stream")
FEDERATION_TYPES = {"_Any", "_Entity", "_Service", "FieldSet", "_FieldSet", "link__Import", "link__Purpose",
                    "federation__Scope", "federation__Policy", "federation__ContextFieldValue",
                    "federation__FieldSet", "federation__Cost", "federation__ListSize"}
FEDERATION_ROOT_FIELDS = {"_entities", "_service"}
ROOT_OPERATIONS = ("query", "mutation", "subscription")
ROOT_TYPES = ("Query", "Mutation", "Subscription")
LABEL = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-:./]*$")
PERCENT_LABEL = re.compile(r"^percent\((\d{1,2}(\.\d{1,8})?|100)\)$")
COMPOSITE = ("object", "interface", "union")


class CompositionError(Exception):
    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("composition failed:\n" + "\n".join(f"  - {e}" for e in errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class SubgraphSource:
    name: str
    url: str
    sdl: str


def graph_enum_name(name: str) -> str:
    """The join__Graph value of a subgraph name (Apollo's sanitisation; clashes get _1, _2 suffixes)."""
    sanitized = re.sub(r"\W", "_", name, flags=re.ASCII)
    if sanitized[:1].isdigit():
        sanitized = "_" + sanitized
    if re.search(r"_\d+$", sanitized):
        sanitized += "_"
    return sanitized.upper()


# type references ("[Int!]!") -------------------------------------------------------------------------


def _named(type_ref: str) -> str:
    return type_ref.replace("[", "").replace("]", "").replace("!", "")


def _is_non_null(type_ref: str) -> bool:
    return type_ref.endswith("!")


def _is_list(type_ref: str) -> bool:
    return type_ref.endswith("]")


# values, descriptions, sorting ----------------------------------------------------------------------


def _value(node: ValueNode) -> str:
    """A value as Apollo prints it (strings as JSON, the rest as GraphQL)."""
    if isinstance(node, StringValueNode):
        return json.dumps(node.value, ensure_ascii=False)
    if isinstance(node, ListValueNode):
        return "[" + ", ".join(_value(v) for v in node.values) + "]"
    if isinstance(node, ObjectValueNode):
        return "{" + ", ".join(f"{f.name.value}: {_value(f.value)}" for f in node.fields) + "}"
    return print_ast(node)


def _js_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _block_string(value: str, prefer_multiple_lines: bool) -> str:
    single_line = "\n" not in value
    leading_space = value[:1] in (" ", "\t")
    multiple_lines = not single_line or value.endswith('"') or value.endswith("\\") or prefer_multiple_lines
    result = ""
    if multiple_lines and not (single_line and leading_space):
        result += "\n"
    result += value
    if multiple_lines:
        result += "\n"
    return '"""' + result.replace('"""', '\\"""') + '"""'


def _description(description: str | None, indentation: str = "", first_in_block: bool = True) -> str:
    if description is None:
        return ""
    block = _block_string(description, _js_length(description) > 70)
    prefix = "\n" + indentation if indentation and not first_in_block else indentation
    return prefix + block.replace("\n", "\n" + indentation) + "\n"


def _sort_key(name: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Roughly JavaScript's localeCompare: `_` first, then digits, then letters without case, lower first."""
    primary = tuple(0 if c == "_" else 1 + ord(c) - 48 if c.isdigit() else 20 + ord(c.lower()) for c in name)
    return primary, tuple(0 if c.islower() else 1 for c in name)


def _list(names: Iterable[str]) -> str:
    items = list(names)
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


# the subgraphs as read ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Applied:
    """A directive applied in a subgraph and copied into the supergraph (@deprecated, @tag, ...)."""

    name: str
    args: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        if not self.args:
            return f"@{self.name}"
        return f"@{self.name}(" + ", ".join(f"{n}: {v}" for n, v in self.args) + ")"


@dataclass
class _Arg:
    name: str
    type: str
    default: str | None = None
    description: str | None = None
    directives: list[_Applied] = field(default_factory=list)


@dataclass
class _Field:
    parent: str
    name: str
    type: str
    description: str | None = None
    args: dict[str, _Arg] = field(default_factory=dict)
    directives: list[_Applied] = field(default_factory=list)
    default: str | None = None  # input fields
    extension: bool = False
    external: bool = False  # as written (see _Subgraph.is_external)
    shareable: bool = False  # as written (see _Subgraph.is_shareable)
    requires: str | None = None
    provides: str | None = None
    override: str | None = None
    override_label: str | None = None

    @property
    def coordinate(self) -> str:
        return f"{self.parent}.{self.name}"

    @property
    def required(self) -> bool:
        return _is_non_null(self.type) and self.default is None


@dataclass
class _Key:
    fields: str
    resolvable: bool
    extension: bool


@dataclass
class _Value:
    name: str
    description: str | None = None
    directives: list[_Applied] = field(default_factory=list)


@dataclass
class _Type:
    name: str
    kind: str  # object, interface, union, enum, input, scalar
    description: str | None = None
    directives: list[_Applied] = field(default_factory=list)
    keys: list[_Key] = field(default_factory=list)
    extends: bool = False
    interface_object: bool = False
    shareable_on: set[bool] = field(default_factory=set)  # False: on the definition, True: on an extension
    external_type: bool = False
    has_definition: bool = False
    has_extension: bool = False
    implements: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    values: dict[str, _Value] = field(default_factory=dict)
    fields: dict[str, _Field] = field(default_factory=dict)

    @property
    def merged_kind(self) -> str:
        return "interface" if self.interface_object else self.kind


class _Subgraph:
    def __init__(self, source: SubgraphSource) -> None:
        self.name = source.name
        self.url = source.url
        self.enum = graph_enum_name(source.name)
        self.types: dict[str, _Type] = {}
        self.fed2 = False
        self.version = (1, 0)
        self.fake_external: set[tuple[str, str]] = set()
        self.provided: set[tuple[str, str]] = set()
        self.shareable: set[tuple[str, str]] = set()
        self.used: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        return f"<subgraph {self.name}>"

    def field(self, type_name: str, field_name: str) -> _Field | None:
        t = self.types.get(type_name)
        return t.fields.get(field_name) if t is not None else None

    def implementations(self, interface: str) -> list[str]:
        return [t.name for t in self.types.values() if t.kind == "object" and interface in t.implements]

    def is_external(self, f: _Field) -> bool:
        t = self.types[f.parent]
        return (f.external or (self.fed2 and t.external_type)) and (f.parent, f.name) not in self.fake_external

    def is_fully_external(self, f: _Field) -> bool:
        return self.is_external(f) and (f.parent, f.name) not in self.provided

    def is_shareable(self, f: _Field) -> bool:
        return (f.parent, f.name) in self.shareable

    # field sets -------------------------------------------------------------------------------------

    def walk_fieldset(
        self, parent: str, fields: str,
        on_field: Callable[[_Field, FieldNode, bool], None] | None = None,
    ) -> str | None:
        """Walk a field set from `parent`; the first problem found, or None. `on_field(field, selection,
        has_external_in_parents)` sees every field selected."""
        try:
            selection_set = parse_fieldset(fields)
        except GraphQLError as exc:
            return f"the field set does not parse: {exc.message}"
        return self._walk(parent, selection_set, on_field, False)

    def _walk(self, parent: str, selection_set: SelectionSetNode,
              on_field: Callable[[_Field, FieldNode, bool], None] | None, external_parent: bool) -> str | None:
        t = self.types.get(parent)
        for selection in selection_set.selections:
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else parent
                if condition not in self.types:
                    return f'Unknown type "{condition}"'
                problem = self._walk(condition, selection.selection_set, on_field, external_parent)
                if problem:
                    return problem
                continue
            if not isinstance(selection, FieldNode):
                return "fragment spreads are not allowed in field sets"
            name = selection.name.value
            if name == "__typename":
                continue
            if selection.alias is not None:
                return f'Cannot use alias "{selection.alias.value}" in "{print_ast(selection)}"'
            if t is None or t.kind not in ("object", "interface") or name not in t.fields:
                return f'Cannot query field "{name}" on type "{parent}"'
            f = t.fields[name]
            base = self.types.get(_named(f.type))
            composite = base is not None and base.kind in COMPOSITE
            if on_field is not None:
                on_field(f, selection, external_parent)
            if selection.selection_set is not None:
                if not composite:
                    return f'Field "{f.coordinate}" must not have a selection since type "{f.type}" has no subfields'
                external = external_parent or self.is_external(f)
                if not external and t.kind == "interface":
                    external = any(
                        (g := self.field(impl, name)) is not None and self.is_external(g)
                        for impl in self.implementations(parent)
                    )
                problem = self._walk(_named(f.type), selection.selection_set, on_field, external)
                if problem:
                    return problem
            elif composite:
                return f'Field "{f.coordinate}" of type "{f.type}" must have a selection of subfields'
        return None

    def targets(self, parent: str, fields: str, *, implementations: bool = True) -> list[_Field]:
        found: list[_Field] = []

        def note(f: _Field, _selection: FieldNode, _external: bool) -> None:
            found.append(f)
            if implementations and self.types[f.parent].kind == "interface":
                found.extend(g for impl in self.implementations(f.parent) if (g := self.field(impl, f.name)))

        self.walk_fieldset(parent, fields, note)
        return found

    def compute(self) -> None:
        """What depends on the whole subgraph: fake externals, provided, shareable and used fields."""
        for computed in (self.fake_external, self.provided, self.shareable, self.used):
            computed.clear()
        for t in self.types.values():
            for key in t.keys:
                if key.extension or t.extends:
                    for f in self.targets(t.name, key.fields, implementations=False):
                        if f.external:
                            self.fake_external.add((f.parent, f.name))
        for t in self.types.values():
            for f in t.fields.values():
                if f.provides and t.kind in ("object", "interface"):
                    for target in self.targets(_named(f.type), f.provides):
                        self.provided.add((target.parent, target.name))
        for t in self.types.values():
            if t.kind not in ("object", "interface"):
                continue
            for key in t.keys:
                for f in self.targets(t.name, key.fields):
                    self.shareable.add((f.parent, f.name))
                    self.used.add((f.parent, f.name))
            for f in t.fields.values():
                if t.kind == "object" and (not self.fed2 or f.shareable or f.extension in t.shareable_on):
                    self.shareable.add((t.name, f.name))
                if f.provides:
                    for target in self.targets(_named(f.type), f.provides):
                        self.used.add((target.parent, target.name))
                        if self.is_external(target):
                            self.shareable.add((target.parent, target.name))
                if f.requires:
                    for target in self.targets(t.name, f.requires):
                        self.used.add((target.parent, target.name))
            if t.kind == "interface":
                for f in t.fields.values():
                    for impl in self.implementations(t.name):
                        if self.field(impl, f.name) is not None:
                            self.used.add((impl, f.name))


# reading ----------------------------------------------------------------------------------------------

_DEFINITION_OF = {
    ObjectTypeExtensionNode: ObjectTypeDefinitionNode,
    InterfaceTypeExtensionNode: InterfaceTypeDefinitionNode,
    UnionTypeExtensionNode: UnionTypeDefinitionNode,
    EnumTypeExtensionNode: EnumTypeDefinitionNode,
    InputObjectTypeExtensionNode: InputObjectTypeDefinitionNode,
    ScalarTypeExtensionNode: ScalarTypeDefinitionNode,
}


def _kind(node: object) -> str | None:
    match node:
        case ObjectTypeDefinitionNode() | ObjectTypeExtensionNode():
            return "object"
        case InterfaceTypeDefinitionNode() | InterfaceTypeExtensionNode():
            return "interface"
        case UnionTypeDefinitionNode() | UnionTypeExtensionNode():
            return "union"
        case EnumTypeDefinitionNode() | EnumTypeExtensionNode():
            return "enum"
        case InputObjectTypeDefinitionNode() | InputObjectTypeExtensionNode():
            return "input"
        case ScalarTypeDefinitionNode() | ScalarTypeExtensionNode():
            return "scalar"
    return None


def _arguments(directive: ConstDirectiveNode | DirectiveNode) -> dict[str, ValueNode]:
    return {a.name.value: a.value for a in directive.arguments or []}


def _string(directive: ConstDirectiveNode | DirectiveNode, name: str) -> str | None:
    value = _arguments(directive).get(name)
    return value.value if isinstance(value, StringValueNode) else None


def _boolean(directive: ConstDirectiveNode | DirectiveNode, name: str) -> bool | None:
    value = _arguments(directive).get(name)
    return value.value if isinstance(value, BooleanValueNode) else None


def _node_description(node: object) -> str | None:
    description = getattr(node, "description", None)
    return description.value if description is not None else None


class _Reader:
    """One subgraph's SDL into a _Subgraph; problems go to `errors`, prefixed with the subgraph's name."""

    def __init__(self, source: SubgraphSource, errors: list[str]) -> None:
        self.source = source
        self.subgraph = _Subgraph(source)
        self.errors = errors
        self.names: dict[str, str] = {}  # directive name in this subgraph -> federation directive
        self.defined_directives: set[str] = set()

    def error(self, message: str) -> None:
        self.errors.append(f"[{self.source.name}] {message}")

    def read(self) -> _Subgraph | None:
        try:
            document = parse(self.source.sdl)
        except GraphQLError as exc:
            self.error(f"SDL does not parse: {exc.message} (INVALID_GRAPHQL)")
            return None
        roots = {op: op.capitalize() for op in ROOT_OPERATIONS}
        for definition in document.definitions:
            if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                for directive in definition.directives or []:
                    if directive.name.value == "link":
                        self._link(directive)
                for operation in definition.operation_types or []:
                    roots[operation.operation.value] = operation.type.name.value
            elif isinstance(definition, DirectiveDefinitionNode):
                self.defined_directives.add(definition.name.value)
        if not self.subgraph.fed2:
            self.names.update({d: d for d in FEDERATION_1_DIRECTIVES})
        before = len(self.errors)
        for message in _graphql_errors(document, roots["query"]):
            self.error(f"{message} (INVALID_GRAPHQL)")
        if len(self.errors) > before:
            return None
        renamed = {type_name: op.capitalize() for op, type_name in roots.items()}
        for definition in document.definitions:
            name_node = getattr(definition, "name", None)
            kind = _kind(definition)
            if kind is None or not isinstance(name_node, NameNode) or name_node.value in FEDERATION_TYPES:
                continue
            if name_node.value.startswith(("link__", "federation__", "join__")):
                continue
            self._read_type(definition, renamed.get(name_node.value, name_node.value), kind)
        self.subgraph.types.setdefault("Query", _Type("Query", "object", has_definition=True))
        if len(self.errors) > before:
            return None
        return self.subgraph

    def _link(self, directive: ConstDirectiveNode | DirectiveNode) -> None:
        url = _string(directive, "url") or ""
        alias = _string(directive, "as")
        imports: dict[str, str] = {}
        value = _arguments(directive).get("import")
        for item in value.values if isinstance(value, ListValueNode) else []:
            if isinstance(item, StringValueNode):
                imports[item.value.lstrip("@")] = item.value.lstrip("@")
            elif isinstance(item, ObjectValueNode):
                fields = {f.name.value: f.value for f in item.fields}
                original, rename = fields.get("name"), fields.get("as")
                if isinstance(original, StringValueNode):
                    local = rename.value if isinstance(rename, StringValueNode) else original.value
                    imports[original.value.lstrip("@")] = local.lstrip("@")
        if url.startswith(FEDERATION_SPEC):
            self.subgraph.fed2 = True
            match = re.search(r"/v(\d+)\.(\d+)", url)
            if match:
                self.subgraph.version = (int(match.group(1)), int(match.group(2)))
            prefix = alias or "federation"
            for name in FEDERATION_DIRECTIVES:
                self.names[imports.get(name, f"{prefix}__{name}")] = name
        else:
            spec = url.rstrip("/").rsplit("/", 2)[-2] if url.count("/") >= 2 else ""
            if spec in ("inaccessible", "tag"):
                self.names[imports.get(spec, alias or spec)] = spec

    def _directives(self, node: object, where: str) -> Iterator[tuple[str, ConstDirectiveNode]]:
        """(federation or built-in name, directive) of what is applied to `node`; unknown ones are errors."""
        for directive in getattr(node, "directives", None) or []:
            raw = directive.name.value
            if raw in self.names:
                yield self.names[raw], directive
            elif raw in BUILT_IN_DIRECTIVES:
                yield raw, directive
            elif raw in self.defined_directives or raw == "link":
                continue
            else:
                hint = ""
                if raw in FEDERATION_DIRECTIVES and self.subgraph.fed2:
                    hint = (f' (import "@{raw}" in the @link to the federation spec, or write '
                            f'@federation__{raw})')
                self.error(f'{where}: unknown directive "@{raw}"{hint} (INVALID_GRAPHQL)')

    def _kept(self, name: str, directive: ConstDirectiveNode) -> _Applied | None:
        if name in ("inaccessible", "tag") or name in KEPT_BUILT_IN_DIRECTIVES:
            return _Applied(name, tuple((a.name.value, _value(a.value)) for a in directive.arguments or []))
        return None

    def _read_type(self, node: Any, name: str, kind: str) -> None:
        subgraph = self.subgraph
        t = subgraph.types.setdefault(name, _Type(name, kind))
        extension = type(node) in _DEFINITION_OF
        if extension:
            t.has_extension = True
        else:
            t.has_definition = True
            t.description = _node_description(node)
        for dname, directive in self._directives(node, f"type {name}"):
            if dname == "key":
                fields = _string(directive, "fields")
                if fields is None:
                    self.error(f"@key on {name} has no fields (KEY_INVALID_FIELDS)")
                    continue
                t.keys.append(_Key(fields, _boolean(directive, "resolvable") is not False, extension))
            elif dname == "extends":
                t.extends = True
            elif dname == "shareable":
                t.shareable_on.add(extension)
            elif dname == "interfaceObject":
                t.interface_object = True
            elif dname == "external":
                t.external_type = True
            elif (applied := self._kept(dname, directive)) is not None:
                t.directives.append(applied)
        t.implements += [i.name.value for i in getattr(node, "interfaces", None) or []]
        t.members += [m.name.value for m in getattr(node, "types", None) or []]
        for value in getattr(node, "values", None) or []:
            v = t.values.setdefault(value.name.value, _Value(value.name.value))
            v.description = _node_description(value)
            for dname, directive in self._directives(value, f"{name}.{value.name.value}"):
                if (applied := self._kept(dname, directive)) is not None:
                    v.directives.append(applied)
        for field_node in getattr(node, "fields", None) or []:
            if name == "Query" and field_node.name.value in FEDERATION_ROOT_FIELDS:
                continue
            t.fields[field_node.name.value] = self._read_field(name, field_node, extension)

    def _read_field(self, parent: str, node: FieldDefinitionNode | InputValueDefinitionNode,
                    extension: bool) -> _Field:
        f = _Field(parent, node.name.value, print_ast(node.type), _node_description(node), extension=extension)
        if isinstance(node, InputValueDefinitionNode) and node.default_value is not None:
            f.default = _value(node.default_value)
        for arg in getattr(node, "arguments", None) or []:
            a = _Arg(arg.name.value, print_ast(arg.type), _value(arg.default_value) if arg.default_value else None,
                     _node_description(arg))
            for dname, directive in self._directives(arg, f"{f.coordinate}({a.name}:)"):
                if (applied := self._kept(dname, directive)) is not None:
                    a.directives.append(applied)
            f.args[a.name] = a
        for dname, directive in self._directives(node, f.coordinate):
            if dname == "external":
                f.external = True
            elif dname == "shareable":
                f.shareable = True
            elif dname in ("requires", "provides"):
                setattr(f, dname, _string(directive, "fields") or "")
            elif dname == "override":
                f.override = _string(directive, "from") or ""
                f.override_label = _string(directive, "label")
            elif (applied := self._kept(dname, directive)) is not None:
                f.directives.append(applied)
        return f


def _upgrade(subgraph: _Subgraph, subgraphs: list[_Subgraph], errors: list[str]) -> None:
    """A Federation 1 subgraph as Apollo upgrades it to Federation 2 (its every field counts as shareable, see
    _Subgraph.compute): type extensions become definitions, and @external goes where it means nothing (on
    interfaces, types, key fields of extensions, unused fields)."""
    for t in subgraph.types.values():
        t.external_type = False
        if t.kind == "interface":
            t.keys = []
            for f in t.fields.values():
                f.external, f.provides, f.requires = False, None, None
        if t.kind not in ("object", "interface") or not (t.extends or (t.has_extension and not t.has_definition)):
            continue
        key_fields = [f for key in t.keys for f in subgraph.targets(t.name, key.fields, implementations=False)]
        if not t.keys:
            for other in subgraphs:
                theirs = other.types.get(t.name)
                if other is not subgraph and theirs is not None and theirs.keys:
                    key_fields += [own for f in other.targets(t.name, theirs.keys[0].fields, implementations=False)
                                   if (own := t.fields.get(f.name)) is not None]
        for f in key_fields:
            if f.parent == t.name:
                f.external = False
        t.has_definition, t.has_extension = True, False  # an @extends stays, and keeps `extension: true`
        for key in t.keys:
            key.extension = False
        for f in t.fields.values():
            f.extension = False
            base = subgraph.types.get(_named(f.type))
            if f.provides is not None and (base is None or base.kind not in COMPOSITE):
                f.provides = None
    subgraph.compute()
    referenced = {_named(f.type) for t in subgraph.types.values() for f in t.fields.values()}
    for t in list(subgraph.types.values()):
        if t.kind not in ("object", "interface"):
            continue
        for f in list(t.fields.values()):
            if subgraph.is_external(f) and (t.name, f.name) not in subgraph.used:
                del t.fields[f.name]
        if not t.fields and t.name not in ROOT_TYPES:
            if t.name in referenced:
                errors.append(f"[{subgraph.name}] Type {t.name} contains only external fields and all those fields are "
                              "all unused (TYPE_WITH_ONLY_UNUSED_EXTERNAL)")
            del subgraph.types[t.name]


def _graphql_errors(document: DocumentNode, query_root: str) -> list[str]:
    """GraphQL validity of a subgraph on its own: its SDL without directives and federation machinery."""
    defined = {d.name.value for d in document.definitions
               if _kind(d) is not None and type(d) not in _DEFINITION_OF and hasattr(d, "name")}
    definitions: list[Any] = []
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            continue
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            if definition.operation_types:
                definitions.append(type(definition)(operation_types=definition.operation_types, directives=()))
            continue
        if _kind(definition) is None:
            definitions.append(definition)
            continue
        node: Any = definition
        name = node.name.value
        if name in FEDERATION_TYPES:
            continue
        values = {k: getattr(node, k) for k in node.keys if k not in ("loc", "directives")}
        if name == query_root and values.get("fields"):
            values["fields"] = tuple(_strip(f) for f in values["fields"] if f.name.value not in FEDERATION_ROOT_FIELDS)
        elif values.get("fields"):
            values["fields"] = tuple(_strip(f) for f in values["fields"])
        if values.get("values"):
            values["values"] = tuple(v.__class__(name=v.name, description=v.description, directives=())
                                     for v in values["values"])
        node_type: Any = type(node)
        if node_type in _DEFINITION_OF and name not in defined:
            node_type = _DEFINITION_OF[node_type]
            defined.add(name)
            values = {k: v for k, v in values.items() if k != "description"}
            values["description"] = None
        definitions.append(node_type(**values, directives=()))
    has_query = any(getattr(d, "name", None) is not None and d.name.value == query_root
                    and getattr(d, "fields", None) for d in definitions if _kind(d) == "object")
    if not has_query:
        definitions += parse(f"{'extend ' if query_root in defined else ''}type {query_root} "
                             "{ _federationPlaceholder: Int }").definitions
    stripped = DocumentNode(definitions=tuple(definitions))
    errors = [e.message for e in validate_sdl(stripped)]
    if errors:
        return errors
    try:
        schema = build_ast_schema(stripped, assume_valid_sdl=True)
    except (GraphQLError, TypeError) as exc:
        return [str(exc)]
    return [e.message for e in validate_schema(schema)]


def _strip(node: Any) -> Any:
    """A field or input value definition without its directives (nor its arguments')."""
    values = {k: getattr(node, k) for k in node.keys if k not in ("loc", "directives")}
    if values.get("arguments"):
        values["arguments"] = tuple(_strip(a) for a in values["arguments"])
    return type(node)(**values, directives=())


def _validate(subgraph: _Subgraph, errors: list[str]) -> None:
    """The rules a subgraph must follow on its own (Apollo's subgraph validation)."""
    name = subgraph.name

    def error(message: str) -> None:
        errors.append(f"[{name}] {message}")

    for t in subgraph.types.values():
        for key in t.keys:
            where = f'On type "{t.name}", for @key(fields: {json.dumps(key.fields)})'
            if t.kind == "interface" and subgraph.version < (2, 3):
                error(f"{where}: @key is only allowed on interfaces from federation v2.3 "
                      "(KEY_UNSUPPORTED_ON_INTERFACE)")
                continue
            problems: list[str] = []

            def on_key_field(f: _Field, selection: FieldNode, _external: bool, problems: list[str] = problems) -> None:
                if f.args:
                    problems.append(f"field {f.coordinate} cannot be included because it has arguments "
                                    "(KEY_FIELDS_HAS_ARGS)")
                base = subgraph.types.get(_named(f.type))
                if base is not None and base.kind in ("interface", "union"):
                    problems.append(f'field "{f.coordinate}" is a {base.kind.capitalize()} type which is not '
                                    "allowed in @key (KEY_FIELDS_SELECT_INVALID_TYPE)")

            problem = subgraph.walk_fieldset(t.name, key.fields, on_key_field)
            if problem:
                error(f"{where}: {problem} (the field should either be added to this subgraph or, if it should not "
                      "be resolved by this subgraph, added with @external) (KEY_INVALID_FIELDS)")
            for problem in problems:
                error(f"{where}: {problem}")
        if t.interface_object and not t.keys:
            error(f'The @interfaceObject directive can only be applied to entity types but type "{t.name}" has no '
                  "@key in this subgraph (INTERFACE_OBJECT_USAGE_ERROR)")
        if t.kind == "interface":
            for key in t.keys:
                matching = {impl: [k for k in subgraph.types[impl].keys if _same_fieldset(k.fields, key.fields)]
                            for impl in subgraph.implementations(t.name)}
                missing = [impl for impl, keys in matching.items() if not keys]
                unresolvable = [impl for impl, keys in matching.items() if keys and key.resolvable
                                and not keys[0].resolvable]
                if missing:
                    error(f'Key @key(fields: {json.dumps(key.fields)}) on interface type "{t.name}" is missing on '
                          f"implementation {_list(missing)} (INTERFACE_KEY_NOT_ON_IMPLEMENTATION)")
                elif unresolvable:
                    error(f'Key @key(fields: {json.dumps(key.fields)}) on interface type "{t.name}" should be '
                          f"resolvable on all implementation types, but is declared with resolvable: false in "
                          f"{_list(unresolvable)} (INTERFACE_KEY_NOT_ON_IMPLEMENTATION)")
        for f in t.fields.values():
            if t.kind == "interface" and f.external:
                error(f'Interface type field "{f.coordinate}" is marked @external but @external is not allowed on '
                      "interface fields (EXTERNAL_ON_INTERFACE)")
            if t.kind == "interface" and f.shareable:
                error(f'Invalid use of @shareable on field "{f.coordinate}": only object type fields can be marked '
                      "with @shareable (INVALID_SHAREABLE_USAGE)")
            if f.requires is not None:
                _validate_dependency(subgraph, f, "requires", t.name, error)
            if f.provides is not None:
                if subgraph.is_external(f):
                    error(f'Cannot have both @provides and @external on field "{f.coordinate}" '
                          "(EXTERNAL_COLLISION_WITH_ANOTHER_DIRECTIVE)")
                    continue
                base = subgraph.types.get(_named(f.type))
                if base is None or base.kind not in COMPOSITE:
                    error(f'Invalid @provides directive on field "{f.coordinate}": field has type "{f.type}" which '
                          "is not a Composite Type (PROVIDES_ON_NON_OBJECT_FIELD)")
                    continue
                _validate_dependency(subgraph, f, "provides", base.name, error)
            if (t.kind in ("object", "interface") and subgraph.is_external(f)
                    and (t.name, f.name) not in subgraph.used):
                error(f'Field "{f.coordinate}" is marked @external but is not used in any federation directive '
                      "(@key, @provides, @requires) or to satisfy an interface (EXTERNAL_UNUSED)")


def _validate_dependency(subgraph: _Subgraph, f: _Field, directive: str, parent: str,
                         error: Callable[[str], None]) -> None:
    fields = f.requires if directive == "requires" else f.provides
    assert fields is not None
    where = f'On field "{f.coordinate}", for @{directive}(fields: {json.dumps(fields)})'
    code = directive.upper()
    if subgraph.types[f.parent].kind == "interface":
        error(f'Cannot use @{directive} on field "{f.coordinate}" of parent type "{f.parent}": @{directive} is not '
              f"yet supported within interfaces ({code}_UNSUPPORTED_ON_INTERFACE)")
        return
    problems: list[str] = []

    def on_field(target: _Field, selection: FieldNode, external_parent: bool) -> None:
        if target.args and directive == "provides":
            problems.append(f"field {target.coordinate} cannot be included because it has arguments "
                            f"({code}_FIELDS_HAS_ARGS)")
        if selection.selection_set is None and not external_parent and not subgraph.is_external(target):
            problems.append(f'field "{target.coordinate}" should not be part of a @{directive} since it is already '
                            f"provided by this subgraph (it is not marked @external) ({code}_FIELDS_MISSING_EXTERNAL)")

    problem = subgraph.walk_fieldset(parent, fields, on_field)
    if problem:
        error(f"{where}: {problem} (if the field is defined in another subgraph, add it to this subgraph with "
              f"@external) ({code}_INVALID_FIELDS)")
        return
    for message in problems:
        error(f"{where}: {message}")


def _same_fieldset(a: str, b: str) -> bool:
    try:
        return print_ast(parse_fieldset(a)) == print_ast(parse_fieldset(b))
    except GraphQLError:
        return a == b


# the supergraph ---------------------------------------------------------------------------------------


@dataclass
class _MArg:
    name: str
    type: str = ""
    default: str | None = None
    description: str | None = None
    directives: list[str] = field(default_factory=list)


@dataclass
class _MField:
    name: str
    type: str = ""
    description: str | None = None
    args: dict[str, _MArg] = field(default_factory=dict)
    directives: list[str] = field(default_factory=list)
    default: str | None = None  # input fields
    inaccessible: bool = False
    # Routing, for the satisfiability check: the graphs whose field an @override takes away (entirely, or
    # but for the subgraph's own needs), and the graphs that resolve the field.
    overridden: set[str] = field(default_factory=set)
    resolving: list[str] = field(default_factory=list)


@dataclass
class _MValue:
    name: str
    description: str | None = None
    directives: list[str] = field(default_factory=list)
    inaccessible: bool = False


@dataclass
class _MType:
    name: str
    kind: str
    description: str | None = None
    directives: list[str] = field(default_factory=list)
    implements: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    fields: dict[str, _MField] = field(default_factory=dict)
    values: dict[str, _MValue] = field(default_factory=dict)
    inaccessible: bool = False


@dataclass
class _Override:
    """What the @override directives of one field decide (Apollo's FieldMergeContext)."""

    used: set[str] = field(default_factory=set)  # overridden subgraphs that still need the field
    unused: set[str] = field(default_factory=set)
    unknown_target: set[str] = field(default_factory=set)
    labels: dict[str, str] = field(default_factory=dict)


def _merge_description(descriptions: Iterable[str | None]) -> str | None:
    found: list[str] = []
    counts: list[int] = []
    for description in descriptions:
        if description is None:
            continue
        if description in found:
            counts[found.index(description)] += 1
        else:
            found.append(description)
            counts.append(-(2**53) if description == "" else 1)
    if not found:
        return None
    non_empty = [d for d in found if d != ""]
    if len(found) == 1 or len(non_empty) != 1:
        return found[counts.index(max(counts))]
    return non_empty[0]


def _merge_applied(lists: Iterable[Iterable[_Applied]]) -> tuple[bool, list[str]]:
    """(@inaccessible anywhere?, the other kept directives): @tag repeats, the others take the most common
    application."""
    applications = [d for directives in lists for d in directives]
    names = list(dict.fromkeys(d.name for d in applications))
    merged: list[str] = []
    for name in names:
        if name == "inaccessible":
            continue
        of_name = [str(d) for d in applications if d.name == name]
        if name == "tag":
            merged += list(dict.fromkeys(of_name))
        else:
            distinct = list(dict.fromkeys(of_name))
            merged.append(max(distinct, key=lambda d: (of_name.count(d), -distinct.index(d))))
    return "inaccessible" in names, merged


def _grouped(by_graph: Mapping[str, str]) -> str:
    """`"Int" in a and b and "String" in c` from {a: "Int", b: "Int", c: "String"}."""
    groups: dict[str, list[str]] = {}
    for graph, text in by_graph.items():
        groups.setdefault(text, []).append(graph)
    return " and ".join(f"{text} in {_list(graphs)}" for text, graphs in groups.items())


Sources = dict[str, _Field | None]  # graph name -> its field (None: the graph has the type, not the field)


class _Merger:
    def __init__(self, subgraphs: list[_Subgraph]) -> None:
        self.subgraphs = subgraphs
        self.by_name = {s.name: s for s in subgraphs}
        self.errors: list[str] = []
        self.types: dict[str, _MType] = {}
        self.enum_usage: dict[str, tuple[str, dict[str, str]]] = {}
        self.labels_used = False

    def error(self, graphs: Iterable[str], message: str) -> None:
        names = sorted(set(graphs))
        self.errors.append(f"[{', '.join(names)}] {message}" if names else message)

    def sources(self, dest: _MType) -> list[tuple[_Subgraph, _Type]]:
        return [(s, t) for s in self.subgraphs if (t := s.types.get(dest.name)) is not None
                and t.merged_kind == dest.kind]

    # types ------------------------------------------------------------------------------------------

    def merge(self) -> None:
        kinds: dict[str, dict[str, str]] = {}
        for subgraph in self.subgraphs:
            for t in subgraph.types.values():
                kinds.setdefault(t.name, {})[subgraph.name] = t.merged_kind
        for name, by_graph in kinds.items():
            if len(set(by_graph.values())) > 1:
                labels = {g: f"{k} type" if not self.by_name[g].types[name].interface_object
                          else "interface object (object type with @interfaceObject)" for g, k in by_graph.items()}
                self.error(by_graph, f'Type "{name}" has mismatched kind: it is defined as {_grouped(labels)} '
                           "(TYPE_KIND_MISMATCH)")
                continue
            self.types[name] = _MType(name, next(iter(by_graph.values())))
            objects = [g for g in by_graph if self.by_name[g].types[name].interface_object]
            if objects and len(objects) == len(by_graph):
                self.error(objects, f'Type "{name}" is declared with @interfaceObject in all the subgraphs in which '
                           "it is defined (it should be an interface in at least one) (INTERFACE_OBJECT_USAGE_ERROR)")
        if self.errors:
            return
        by_kind = {kind: [t for t in self.types.values() if t.kind == kind] for kind in
                   ("object", "interface", "union", "enum", "input", "scalar")}
        for dest in by_kind["object"] + by_kind["interface"]:
            for subgraph, t in self.sources(dest):
                for interface in t.implements:
                    if interface not in dest.implements:
                        dest.implements.append(interface)
                    dest.directives.append(f'@join__implements(graph: {subgraph.enum}, interface: "{interface}")')
        for kind in ("union", "scalar", "input", "interface", "object", "enum"):
            for dest in by_kind[kind]:
                self.merge_type(dest)
        query = self.types.get("Query")
        if query is None or not query.fields:
            self.error([], "No queries found in any subgraph: a supergraph must have a query root type (NO_QUERIES)")
        self.add_interface_object_fields()
        if not self.errors:
            self.check_implementations()
            self.check_inaccessible()

    def merge_type(self, dest: _MType) -> None:
        sources = self.sources(dest)
        if not (dest.kind == "object" and dest.name in ROOT_TYPES) and not any(t.has_definition for _, t in sources):
            for subgraph, _t in sources:
                self.error([subgraph.name], f'Type "{dest.name}" is an extension type, but there is no type definition '
                           f'for "{dest.name}" in any subgraph (EXTENSION_WITH_NO_BASE)')
        dest.description = _merge_description(t.description for _, t in sources)
        for subgraph, t in sources:
            interface_object = ", isInterfaceObject: true" if t.interface_object else ""
            if not t.keys:
                dest.directives.append(f"@join__type(graph: {subgraph.enum}{interface_object})")
            for key in t.keys:
                extension = ", extension: true" if key.extension or t.extends else ""
                resolvable = "" if key.resolvable else ", resolvable: false"
                dest.directives.append(f"@join__type(graph: {subgraph.enum}, key: {json.dumps(key.fields)}"
                                       f"{extension}{resolvable}{interface_object})")
        dest.inaccessible, others = _merge_applied(t.directives for _, t in sources)
        if dest.inaccessible:
            dest.directives.append("@inaccessible")
        if dest.kind == "object":
            self.merge_object(dest, sources)
        elif dest.kind == "interface":
            self.merge_interface(dest, sources)
        elif dest.kind == "union":
            self.merge_union(dest, sources)
        elif dest.kind == "enum":
            self.merge_enum(dest, sources)
        elif dest.kind == "input":
            self.merge_input(dest, sources)
        dest.directives += others

    def fields_shallow(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> dict[str, Sources]:
        """Per field name, every graph that has the type (or abstracts it with an @interfaceObject): its field."""
        having = {s.name for s, _ in sources}
        for subgraph in self.subgraphs:
            if dest.name in subgraph.types or any(
                    (i := subgraph.types.get(interface)) is not None and i.interface_object
                    for interface in dest.implements):
                having.add(subgraph.name)
        graphs = [s.name for s in self.subgraphs if s.name in having]
        result: dict[str, Sources] = {}
        for subgraph, t in sources:
            for name, f in t.fields.items():
                result.setdefault(name, dict.fromkeys(graphs))[subgraph.name] = f
        return result

    def merge_object(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> None:
        fields = self.fields_shallow(dest, sources)
        if not fields:
            del self.types[dest.name]
            return
        for name, field_sources in fields.items():
            merged = dest.fields[name] = _MField(name)
            override = self.validate_override(dest, name, field_sources)
            if dest.name == "Subscription":
                shared = [g for g, f in field_sources.items() if f is not None and self.by_name[g].is_shareable(f)]
                if shared:
                    self.error(shared, f'Subscription.{name}: fields on root level subscription object cannot be '
                               "marked as shareable (INVALID_FIELD_SHARING)")
            self.merge_field(dest, merged, field_sources, override)
            self.validate_sharing(dest, merged, field_sources, override)

    def merge_interface(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> None:
        implementations = [t.name for t in self.types.values() if t.kind == "object" and dest.name in t.implements]
        for subgraph, t in sources:
            if t.interface_object:
                defined = [i for i in implementations if i in subgraph.types]
                if defined:
                    self.error([subgraph.name], f'Interface type "{dest.name}" is defined as an @interfaceObject in '
                               f'subgraph "{subgraph.name}" so that subgraph should not define any of the '
                               f"implementation types of \"{dest.name}\", but it defines {_list(defined)} "
                               "(INTERFACE_OBJECT_USAGE_ERROR)")
                continue
            resolvable = [k for k in t.keys if k.resolvable]
            if resolvable:
                missing = [i for i in implementations if i not in subgraph.implementations(dest.name)]
                if missing:
                    self.error([subgraph.name], f'Interface type "{dest.name}" has a resolvable key '
                               f"(@key(fields: {json.dumps(resolvable[0].fields)})) in subgraph \"{subgraph.name}\" "
                               f"but that subgraph is missing some of the supergraph implementation types of "
                               f'"{dest.name}": it should define {_list(missing)} (and have them implement '
                               f'"{dest.name}") (INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE)')
        for name, field_sources in self.fields_shallow(dest, sources).items():
            merged = dest.fields[name] = _MField(name)
            self.merge_field(dest, merged, field_sources, self.validate_override(dest, name, field_sources))

    def merge_union(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> None:
        for _subgraph, t in sources:
            for member in t.members:
                if member not in dest.members:
                    dest.members.append(member)
        for member in dest.members:
            for subgraph, t in sources:
                if member in t.members:
                    dest.directives.append(f'@join__unionMember(graph: {subgraph.enum}, member: "{member}")')

    def merge_enum(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> None:
        position, examples = self.enum_usage.get(dest.name, ("Output", {}))
        names = list(dict.fromkeys(v for _, t in sources for v in t.values))
        for name in names:
            value_sources = [(s, t.values.get(name)) for s, t in sources]
            present = [(s, v) for s, v in value_sources if v is not None]
            merged = _MValue(name, _merge_description(v.description for _, v in present))
            merged.inaccessible, others = _merge_applied(v.directives for _, v in present)
            if merged.inaccessible:
                merged.directives.append("@inaccessible")
            merged.directives += [f"@join__enumValue(graph: {s.enum})" for s, _ in present] + others
            missing = [s.name for s, v in value_sources if v is None]
            if not merged.inaccessible and position != "Output" and missing:
                if position == "Both":
                    self.error([s.name for s, _ in present] + missing,
                               f'Enum type "{dest.name}" is used as both input type (for example, as type of '
                               f'"{examples["Input"]}") and output type (for example, as type of '
                               f'"{examples["Output"]}"), but value "{name}" is not defined in all the subgraphs '
                               f"defining \"{dest.name}\": it is defined in {_list(s.name for s, _ in present)} but "
                               f"not in {_list(missing)} (ENUM_VALUE_MISMATCH)")
                continue
            dest.values[name] = merged
        if not dest.values:
            self.error([s.name for s, _ in sources], f'None of the values of enum type "{dest.name}" are defined '
                       "consistently in all the subgraphs defining that type (EMPTY_MERGED_ENUM_TYPE)")

    def merge_input(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> None:
        for name, field_sources in self.fields_shallow(dest, sources).items():
            present = {g: f for g, f in field_sources.items() if f is not None}
            merged = _MField(name, description=_merge_description(f.description for f in present.values()))
            coordinate = f"{dest.name}.{name}"
            merged.inaccessible, others = _merge_applied(f.directives for f in present.values())
            if merged.inaccessible:
                merged.directives.append("@inaccessible")
            merged.type, all_equal = self.merge_type_reference(
                coordinate, {g: f.type for g, f in present.items()}, is_input=True, element="field")
            self.add_join_field(dest, merged, field_sources, all_equal, _Override())
            merged.directives += others
            merged.default = self.merge_default(
                f'Input field "{coordinate}"', {g: f.default for g, f in present.items()}, "INPUT_FIELD")
            missing = [g for g, f in field_sources.items() if f is None]
            if not merged.inaccessible and missing:
                required = [g for g, f in present.items() if f.required]
                if required:
                    self.error(required + missing, f'Input object field "{coordinate}" is required in some subgraphs '
                               f"but does not appear in all subgraphs: it is required in {_list(required)} but does "
                               f"not appear in {_list(missing)} (REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH)")
                continue
            dest.fields[name] = merged
        if not dest.fields:
            self.error([s.name for s, _ in sources], f'None of the fields of input object type "{dest.name}" are '
                       "consistently defined in all the subgraphs defining that type (EMPTY_MERGED_INPUT_TYPE)")

    # fields -----------------------------------------------------------------------------------------

    def interface_object_fields(self, dest: _MType, field_name: str, graph: str) -> list[_Field]:
        """The fields of `graph`'s @interfaceObject types that stand for dest.field_name (dest absent there)."""
        subgraph = self.by_name[graph]
        if dest.kind != "object" or dest.name in subgraph.types:
            return []
        found = []
        for interface in dest.implements:
            t = subgraph.types.get(interface)
            merged = self.types.get(interface)
            if (t is not None and t.interface_object and field_name in t.fields and merged is not None
                    and field_name in merged.fields):
                found.append(t.fields[field_name])
        return found

    def validate_override(self, dest: _MType, name: str, sources: Sources) -> _Override:
        result = _Override()
        coordinate = f"{dest.name}.{name}"
        overriding = {g: f for g, f in sources.items() if f is not None and f.override is not None}
        for graph, f in overriding.items():
            subgraph = self.by_name[graph]
            target = f.override or ""
            if subgraph.types[dest.name].kind == "interface":
                self.error([graph], f'@override cannot be used on field "{coordinate}" on subgraph "{graph}": '
                           "@override is not supported on interface type fields (OVERRIDE_ON_INTERFACE)")
            elif subgraph.types[dest.name].interface_object:
                self.error([graph], f'@override is not yet supported on fields of @interfaceObject types: cannot be '
                           f'used on field "{coordinate}" on subgraph "{graph}" '
                           "(OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE)")
            elif target not in self.by_name:
                result.unknown_target.add(graph)
            elif target == graph:
                self.error([graph], f'Source and destination subgraphs "{graph}" are the same for overridden field '
                           f'"{coordinate}" (OVERRIDE_FROM_SELF_ERROR)')
            elif target in overriding:
                self.error([graph, target], f'Field "{coordinate}" on subgraph "{graph}" is also marked with directive '
                           f'@override in subgraph "{target}". Only one @override directive is allowed per field '
                           "(OVERRIDE_SOURCE_HAS_OVERRIDE)")
            elif (source := sources.get(target)) is not None:
                source_subgraph = self.by_name[target]
                conflict = ("@requires" if source.requires is not None else "@provides"
                            if source.provides is not None else None)
                if conflict is not None or subgraph.is_external(f):
                    where, directive = (target, conflict) if conflict else (graph, "@external")
                    self.error([graph], f'@override cannot be used on field "{coordinate}" on subgraph "{graph}" '
                               f'since "{coordinate}" on "{where}" is marked with directive "{directive}" '
                               "(OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE)")
                    continue
                if source_subgraph.is_external(source):
                    continue
                if (dest.name, name) in source_subgraph.used:
                    result.used.add(target)
                else:
                    result.unused.add(target)
                label = f.override_label
                if label is not None:
                    percent = PERCENT_LABEL.match(label)
                    if LABEL.match(label) or (percent and 0 <= float(percent.group(1)) <= 100):
                        result.labels[graph] = result.labels[target] = label
                        self.labels_used = True
                    else:
                        self.error([graph], f'Invalid @override label "{label}" on field "{coordinate}" on subgraph '
                                   f'"{graph}": labels must start with a letter and after that may contain '
                                   "alphanumerics, underscores, minuses, colons, periods, or slashes, or be "
                                   '"percent(x)" with x between 0 and 100 (OVERRIDE_LABEL_INVALID)')
        return result

    def merge_field(self, dest: _MType, merged: _MField, sources: Sources, override: _Override) -> None:
        coordinate = f"{dest.name}.{merged.name}"
        present = {g: f for g, f in sources.items() if f is not None}
        external = {g for g, f in present.items() if self.by_name[g].is_external(f)}
        every_external = all(
            g in external if f is not None else all(self.by_name[g].is_external(i)
                                                    for i in self.interface_object_fields(dest, merged.name, g))
            for g, f in sources.items())
        if every_external:
            self.error(present, f'Field "{coordinate}" is marked @external on all the subgraphs in which it is listed '
                       f"({_list(present)}) (EXTERNAL_MISSING_ON_BASE)")
            return
        for graph in external:
            if present[graph].directives:
                self.error([graph], f'Cannot apply merged directive {present[graph].directives[0]} to external field '
                           f'"{coordinate}" (MERGED_DIRECTIVE_APPLICATION_ON_EXTERNAL)')
        resolving = {g: f for g, f in present.items() if g not in external}
        others: list[str] = []
        if resolving:
            merged.description = _merge_description(f.description for f in resolving.values())
            merged.inaccessible, others = _merge_applied(f.directives for f in resolving.values())
            self.merge_arguments(coordinate, merged, resolving)
        merged.type, all_equal = self.merge_type_reference(
            coordinate, {g: f.type for g, f in (resolving or present).items()}, is_input=False, element="field")
        if external:
            self.validate_external(coordinate, merged, {g: present[g] for g in external}, all_equal)
        if merged.inaccessible:
            merged.directives.append("@inaccessible")
        self.add_join_field(dest, merged, sources, all_equal, override)
        merged.directives += others
        merged.overridden = (override.used | override.unused) - set(override.labels)
        merged.resolving = [g for g in resolving if g not in merged.overridden]

    def merge_arguments(self, coordinate: str, merged: _MField, sources: dict[str, _Field]) -> None:
        names = list(dict.fromkeys(a for f in sources.values() for a in f.args))
        for name in names:
            missing = [g for g, f in sources.items() if name not in f.args]
            where = f"{coordinate}({name}:)"
            if missing:
                required = [g for g, f in sources.items() if name in f.args and _is_non_null(f.args[name].type)
                            and f.args[name].default is None]
                if required:
                    self.error(required + missing, f'Argument "{where}" is required in some subgraphs but does not '
                               f"appear in all subgraphs: it is required in {_list(required)} but does not appear in "
                               f"{_list(missing)} (REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH)")
                continue
            args = {g: f.args[name] for g, f in sources.items()}
            arg = merged.args[name] = _MArg(name, description=_merge_description(a.description for a in args.values()))
            inaccessible, others = _merge_applied(a.directives for a in args.values())
            arg.directives = (["@inaccessible"] if inaccessible else []) + others
            arg.type, _ = self.merge_type_reference(where, {g: a.type for g, a in args.items()}, is_input=True,
                                                    element="argument")
            arg.default = self.merge_default(f'Argument "{where}"', {g: a.default for g, a in args.items()},
                                             "ARGUMENT")

    def strict_subtype(self, parent: str, child: str) -> bool:
        """Apollo's default subtyping rules: non-null, list propagation and interface / union membership."""
        if _is_non_null(child):
            if _is_non_null(parent):
                return self.subtype(parent[:-1], child[:-1])
            return self.subtype(parent, child[:-1])
        if _is_list(child):
            return _is_list(parent) and self.subtype(parent[1:-1], child[1:-1])
        child_type, parent_type = self.types.get(child), self.types.get(parent)
        if child_type is None or parent_type is None or child_type.kind not in ("object", "interface"):
            return False
        if parent_type.kind == "union":
            return child_type.kind == "object" and child in parent_type.members
        return parent_type.kind == "interface" and parent in child_type.implements

    def subtype(self, parent: str, child: str) -> bool:
        return parent == child or self.strict_subtype(parent, child)

    def merge_type_reference(self, coordinate: str, types: dict[str, str], *, is_input: bool,
                             element: str) -> tuple[str, bool]:
        merged: str | None = None
        subtypes = incompatible = False
        for type_ref in types.values():
            if merged is None or merged == type_ref:
                merged = type_ref
            elif self.strict_subtype(merged, type_ref):
                subtypes = True
                if is_input:
                    merged = type_ref
            elif self.strict_subtype(type_ref, merged):
                subtypes = True
                if not is_input:
                    merged = type_ref
            else:
                incompatible = True
        assert merged is not None
        base = self.types.get(_named(merged))
        if base is not None and base.kind == "enum":
            this = "Input" if is_input else "Output"
            position, examples = self.enum_usage.get(base.name, (this, {}))
            examples.setdefault(this, coordinate)
            self.enum_usage[base.name] = (position if position == this else "Both", examples)
        if incompatible:
            code = "ARGUMENT_TYPE_MISMATCH" if element == "argument" else "FIELD_TYPE_MISMATCH"
            self.error(types, f'Type of {element} "{coordinate}" is incompatible across subgraphs: it has '
                       f"{_grouped({g: f'type {json.dumps(t)}' for g, t in types.items()})} ({code})")
        return merged, not (incompatible or subtypes)

    def merge_default(self, what: str, defaults: dict[str, str | None], code: str) -> str | None:
        merged: str | None = None
        seen = inconsistent = incompatible = False
        for default in defaults.values():
            if merged is None:
                merged = default
                inconsistent = inconsistent or (seen and default is not None)
            elif merged != default:
                inconsistent = True
                incompatible = incompatible or default is not None
            seen = True
        if incompatible:
            printed = {g: f"default value {d}" if d is not None else "no default value" for g, d in defaults.items()}
            self.error(defaults, f"{what} has incompatible default values across subgraphs: it has {_grouped(printed)} "
                       f"({code}_DEFAULT_MISMATCH)")
        return merged if not inconsistent or incompatible else None

    def validate_external(self, coordinate: str, merged: _MField, externals: dict[str, _Field],
                          all_equal: bool) -> None:
        wrong = [g for g, f in externals.items()
                 if not (f.type == merged.type or (not all_equal and self.strict_subtype(merged.type, f.type)))]
        if wrong:
            self.error(wrong, f'Type of field "{coordinate}" is incompatible across subgraphs (where marked '
                       f'@external): it has type "{merged.type}" in the supergraph but '
                       f"{_grouped({g: json.dumps(externals[g].type) for g in wrong})} (EXTERNAL_TYPE_MISMATCH)")
        for name, arg in merged.args.items():
            for graph, f in externals.items():
                theirs = f.args.get(name)
                if theirs is None:
                    self.error([graph], f'Field "{coordinate}" is missing argument "{coordinate}({name}:)" in '
                               f"{graph}, where it is @external (EXTERNAL_ARGUMENT_MISSING)")
                elif theirs.type != arg.type and not self.strict_subtype(arg.type, theirs.type):
                    self.error([graph], f'Type of argument "{coordinate}({name}:)" is incompatible across subgraphs '
                               f'(where "{coordinate}" is marked @external) (EXTERNAL_ARGUMENT_TYPE_MISMATCH)')
                elif theirs.default != arg.default:
                    self.error([graph], f'Argument "{coordinate}({name}:)" has incompatible defaults across '
                               f'subgraphs (where "{coordinate}" is marked @external) '
                               "(EXTERNAL_ARGUMENT_DEFAULT_MISMATCH)")

    def add_join_field(self, dest: _MType, merged: _MField, sources: Sources, all_equal: bool,
                       override: _Override) -> None:
        def needed() -> bool:
            if not all_equal or override.used or override.labels:
                return True
            for graph, f in sources.items():
                subgraph = self.by_name[graph]
                if f is not None and graph not in override.unused:
                    if subgraph.is_external(f) or f.provides is not None or f.requires is not None:
                        return True
                elif dest.name in subgraph.types:
                    return True
            return False

        if not needed():
            return
        for graph, f in sources.items():
            if f is None or (graph in override.unused and graph not in override.labels):
                continue
            subgraph = self.by_name[graph]
            parts = [f"graph: {subgraph.enum}"]
            if f.requires is not None:
                parts.append(f"requires: {json.dumps(f.requires)}")
            if f.provides is not None:
                parts.append(f"provides: {json.dumps(f.provides)}")
            if f.override is not None:
                parts.append(f"override: {json.dumps(f.override)}")
            if not all_equal:
                parts.append(f"type: {json.dumps(f.type)}")
            if subgraph.is_external(f):
                parts.append("external: true")
            if graph in override.used:
                parts.append("usedOverridden: true")
            if graph in override.labels:
                parts.append(f"overrideLabel: {json.dumps(override.labels[graph])}")
            merged.directives.append(f"@join__field({', '.join(parts)})")

    def validate_sharing(self, dest: _MType, merged: _MField, sources: Sources, override: _Override) -> None:
        resolving: list[str] = []
        shareable: list[str] = []
        not_shareable: list[str] = []
        for graph, f in sources.items():
            subgraph = self.by_name[graph]
            if f is None:
                candidates = [(f"{graph} (through @interfaceObject {i.parent})", i)
                              for i in self.interface_object_fields(dest, merged.name, graph)]
            elif graph in override.used or graph in override.unused:
                continue
            else:
                provided = subgraph.is_external(f)
                candidates = [(f"{graph} (through @provides)" if provided else graph, f)]
            for label, candidate in candidates:
                if subgraph.is_fully_external(candidate):
                    continue
                resolving.append(label)
                (shareable if subgraph.is_shareable(candidate) else not_shareable).append(label)
        if not_shareable and (shareable or len(not_shareable) > 1):
            for label in not_shareable:
                graph = label.split(" ", 1)[0]
                hint = ""
                overriding = sources.get(graph)
                if graph in override.unknown_target and overriding is not None:
                    hint = f' (its @override(from: "{overriding.override}") names no subgraph: a misspelling?)'
                self.error([graph], f"{dest.name}.{merged.name} is resolved by {_list(resolving)} but is not marked "
                           f"@shareable in {graph}{hint} (INVALID_FIELD_SHARING)")

    # after the merge --------------------------------------------------------------------------------

    def add_interface_object_fields(self) -> None:
        """Fields an @interfaceObject adds to an interface also go on each of its implementations."""
        for dest in list(self.types.values()):
            if dest.kind != "object":
                continue
            for interface_name in dest.implements:
                interface = self.types.get(interface_name)
                if interface is None:
                    continue
                for name, interface_field in interface.fields.items():
                    if name in dest.fields or not any(
                            (t := s.types.get(interface_name)) is not None and t.interface_object and name in t.fields
                            and not s.is_external(t.fields[name]) for s in self.subgraphs):
                        continue
                    copied = [d for d in interface_field.directives if not d.startswith("@join__")]
                    dest.fields[name] = _MField(
                        name, interface_field.type, interface_field.description,
                        {a.name: _MArg(a.name, a.type, a.default, a.description, list(a.directives))
                         for a in interface_field.args.values()},
                        [*copied, "@join__field"], inaccessible=interface_field.inaccessible)
                    self.validate_sharing(dest, dest.fields[name], dict.fromkeys(self.by_name), _Override())

    def check_implementations(self) -> None:
        for dest in self.types.values():
            for interface_name in dest.implements:
                interface = self.types.get(interface_name)
                for name in interface.fields if interface is not None else {}:
                    if name not in dest.fields:
                        declared = [s.name for s in self.subgraphs if (t := s.types.get(interface_name)) is not None
                                    and t.kind == "interface" and name in t.fields]
                        implementing = [s.name for s in self.subgraphs if (t := s.types.get(dest.name)) is not None
                                        and interface_name in t.implements]
                        self.error(declared + implementing, f'Interface field "{interface_name}.{name}" is declared in '
                                   f'{_list(declared)} but type "{dest.name}", which implements "{interface_name}" '
                                   f'only in {_list(implementing)}, does not have field "{name}" '
                                   "(INTERFACE_FIELD_NO_IMPLEM)")

    def defining(self, type_name: str, field_name: str | None = None) -> list[str]:
        return [s.name for s in self.subgraphs if (t := s.types.get(type_name)) is not None
                and (field_name is None or field_name in t.fields or field_name in t.values)]

    def inaccessible_in_default(self, type_ref: str, value: ValueNode) -> list[str]:
        """The @inaccessible enum values and input fields a default value uses."""
        if _is_non_null(type_ref):
            return self.inaccessible_in_default(type_ref[:-1], value)
        if _is_list(type_ref):
            values = value.values if isinstance(value, ListValueNode) else (value,)
            return [u for v in values for u in self.inaccessible_in_default(type_ref[1:-1], v)]
        t = self.types.get(type_ref)
        if t is not None and t.kind == "enum" and isinstance(value, EnumValueNode):
            enum_value = t.values.get(value.value)
            inaccessible = enum_value is not None and enum_value.inaccessible
            return [f'Enum value "{t.name}.{value.value}"'] if inaccessible else []
        used: list[str] = []
        if t is not None and t.kind == "input" and isinstance(value, ObjectValueNode):
            for object_field in value.fields:
                input_field = t.fields.get(object_field.name.value)
                if input_field is not None:
                    if input_field.inaccessible:
                        used.append(f'Input field "{t.name}.{input_field.name}"')
                    used += self.inaccessible_in_default(input_field.type, object_field.value)
        return used

    def check_inaccessible_defaults(self) -> None:
        for dest in self.types.values():
            if dest.inaccessible:
                continue
            for f in dest.fields.values():
                if f.inaccessible:
                    continue
                elements = [(f"{dest.name}.{f.name}({a.name}:)", a.type, a.default) for a in f.args.values()
                            if "@inaccessible" not in a.directives] if dest.kind != "input" else [
                    (f"{dest.name}.{f.name}", f.type, f.default)]
                for coordinate, type_ref, default in elements:
                    if default is None:
                        continue
                    for element in self.inaccessible_in_default(type_ref, parse_value(default)):
                        self.error(self.defining(dest.name, f.name), f"{element} is @inaccessible but is used in the "
                                   f'default value of "{coordinate}", which is in the API schema '
                                   "(DEFAULT_VALUE_USES_INACCESSIBLE)")

    def check_inaccessible(self) -> None:
        """The API schema (the supergraph without its @inaccessible elements) must hold together."""
        self.check_inaccessible_defaults()
        referencers: dict[str, list[str]] = {}
        for dest in self.types.values():
            for f in dest.fields.values():
                if not (dest.inaccessible or f.inaccessible):
                    referencers.setdefault(_named(f.type), []).append(f"{dest.name}.{f.name}")
                    for arg in f.args.values():
                        if "@inaccessible" not in arg.directives:
                            referencers.setdefault(_named(arg.type), []).append(f"{dest.name}.{f.name}({arg.name}:)")
        for dest in self.types.values():
            if dest.inaccessible:
                if dest.name == "Query":
                    self.error(self.defining("Query"), 'Type "Query" is @inaccessible but is the root query type, '
                               "which must be in the API schema (QUERY_ROOT_TYPE_INACCESSIBLE)")
                for referencer in referencers.get(dest.name, []):
                    self.error(self.defining(dest.name), f'Type "{dest.name}" is @inaccessible but is referenced by '
                               f'"{referencer}", which is in the API schema (REFERENCED_INACCESSIBLE)')
                continue
            children: list[_MField | _MValue] = [*dest.fields.values(), *dest.values.values()]
            if dest.kind in ("object", "interface", "input", "enum") and children and all(
                    c.inaccessible for c in children):
                what = {"enum": "values", "input": "input fields"}.get(dest.kind, "fields")
                self.error(self.defining(dest.name), f'Type "{dest.name}" is in the API schema but all of its {what} '
                           "are @inaccessible (ONLY_INACCESSIBLE_CHILDREN)")
            if dest.kind == "union" and all(self.types[m].inaccessible for m in dest.members if m in self.types):
                self.error(self.defining(dest.name), f'Type "{dest.name}" is in the API schema but all of its '
                           "members are @inaccessible (ONLY_INACCESSIBLE_CHILDREN)")
            for f in dest.fields.values():
                where = f"{dest.name}.{f.name}"
                if f.inaccessible:
                    for interface_name in dest.implements:
                        interface = self.types.get(interface_name)
                        other = interface.fields.get(f.name) if interface is not None else None
                        if other is not None and not (interface is not None and interface.inaccessible) \
                                and not other.inaccessible:
                            self.error(self.defining(dest.name, f.name), f'Field "{where}" is @inaccessible but '
                                       f'implements the interface field "{interface_name}.{f.name}", which is in the '
                                       "API schema (IMPLEMENTED_BY_INACCESSIBLE)")
                    continue
                if dest.kind == "input":
                    continue
                for arg in f.args.values():
                    if "@inaccessible" in arg.directives and _is_non_null(arg.type) and arg.default is None:
                        self.error(self.defining(dest.name, f.name), f'Argument "{where}({arg.name}:)" is '
                                   "@inaccessible but is a required argument of its field (REQUIRED_INACCESSIBLE)")
            if dest.kind == "input":
                for f in dest.fields.values():
                    if f.inaccessible and _is_non_null(f.type) and f.default is None:
                        self.error(self.defining(dest.name, f.name), f'Input field "{dest.name}.{f.name}" is '
                                   "@inaccessible but is a required input field of its type (REQUIRED_INACCESSIBLE)")


# satisfiability -----------------------------------------------------------------------------------------

Provided = tuple[tuple[str, "Provided"], ...]  # what a @provides makes available below a field
Option = tuple[str, Provided]  # one way a query can be at a type: in this subgraph, with these provided fields


def _provided(fields: str | None) -> Provided:
    if not fields:
        return ()
    try:
        selection_set = parse_fieldset(fields)
    except GraphQLError:
        return ()

    def tree(selections: SelectionSetNode, into: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                below = into.setdefault(selection.name.value, {})
                if selection.selection_set is not None:
                    tree(selection.selection_set, below)
            elif isinstance(selection, InlineFragmentNode):
                tree(selection.selection_set, into)
        return into

    def freeze(node: dict[str, dict[str, Any]]) -> Provided:
        return tuple(sorted((name, freeze(below)) for name, below in node.items()))

    return freeze(tree(selection_set, {}))


def _top_level(fields: str) -> set[str]:
    try:
        return {s.name.value for s in parse_fieldset(fields).selections
                if isinstance(s, FieldNode) and s.name.value != "__typename"}
    except GraphQLError:
        return set()


class _Satisfiability:
    """Every field of the API schema must be reachable by some query plan (Apollo's satisfiability check,
    simplified): a query is at a type in a set of options (subgraph + what @provides made available); a field
    is reachable from an option if that subgraph resolves it, or a subgraph reachable through resolvable
    @key jumps does (its @requires met), or an @interfaceObject does; it is an error when no option can."""

    def __init__(self, merger: _Merger) -> None:
        self.merger = merger
        self.types = merger.types
        self.subgraphs = merger.subgraphs
        self.errors: list[str] = []
        self.reported: set[str] = set()
        self.closures: dict[tuple[str, Option], list[str]] = {}

    def run(self) -> list[str]:
        seen: set[tuple[str, frozenset[Option]]] = set()
        for root in ROOT_TYPES:
            dest = self.types.get(root)
            if dest is None or dest.inaccessible:
                continue
            stack: list[tuple[str, frozenset[Option], tuple[str, ...]]] = [
                (root, frozenset((g, ()) for g in self.merger.defining(root)), ())]
            while stack:
                type_name, options, path = stack.pop()
                if (type_name, options) in seen:
                    continue
                seen.add((type_name, options))
                stack += self.visit(root, type_name, options, path)
        return self.errors

    def visible(self, type_name: str) -> bool:
        t = self.types.get(type_name)
        return t is None or not t.inaccessible

    def visit(self, root: str, type_name: str, options: frozenset[Option],
              path: tuple[str, ...]) -> list[tuple[str, frozenset[Option], tuple[str, ...]]]:
        dest = self.types[type_name]
        follow: list[tuple[str, frozenset[Option], tuple[str, ...]]] = []
        for f in dest.fields.values():
            target = self.types.get(_named(f.type))
            if f.inaccessible or (target is not None and target.inaccessible):
                continue
            results = {option: self.advance(type_name, option, f) for option in sorted(options)}
            if any(advanced is not None and not advanced for advanced, _why in results.values()):
                continue  # some path cannot return anything there: nothing more to check on this one
            reached: set[Option] = set()
            for advanced, _why in results.values():
                reached |= advanced or set()
            if all(advanced is None for advanced, _why in results.values()):
                self.report(root, f"{type_name}.{f.name}", path, f.name,
                            {option[0]: why for option, (_advanced, why) in results.items()})
            elif dest.kind == "object" and len(reached) > 1 and len(f.resolving) > 1 and target is not None \
                    and target.kind in ("interface", "union") and not self.runtime_types_intersect(
                        root, dest.name, f, target, reached, path):
                continue
            elif reached and target is not None and target.kind in COMPOSITE:
                follow.append((target.name, frozenset(reached), (*path, f.name)))
        if dest.kind in ("interface", "union"):
            for possible in self.runtime(dest):
                if not self.visible(possible):
                    continue
                casts = {option: self.downcast(type_name, option, possible) for option in sorted(options)}
                if any(cast is not None and not cast for cast in casts.values()):
                    continue  # not a possible type on some path: the fragment selects nothing there
                if all(cast is None for cast in casts.values()):
                    self.report(root, f"{type_name} as {possible}", path, f"... on {possible} {{ ... }}", {
                        option[0]: "no subgraph can be reached to resolve the implementation type of "
                        f'@interfaceObject type "{type_name}" (none has it as an interface with a resolvable @key)'
                        for option in casts})
                    continue
                down = {o for cast in casts.values() for o in cast or ()}
                follow.append((possible, frozenset(down), (*path, f"... on {possible}")))
        return follow

    def runtime(self, dest: _MType) -> list[str]:
        if dest.kind == "union":
            return dest.members
        return [t.name for t in self.types.values() if t.kind == "object" and dest.name in t.implements]

    def runtime_types_intersect(self, root: str, parent: str, f: _MField, target: _MType, reached: set[Option],
                                path: tuple[str, ...]) -> bool:
        """A field resolved by several subgraphs must return, in each, some runtime types in common."""
        everywhere = self.runtime(target)
        by_graph: dict[str, list[str]] = {}
        for graph, _provided_fields in sorted(reached):
            subgraph = self.merger.by_name[graph]
            t = subgraph.types.get(target.name)
            if t is None or t.kind not in ("interface", "union"):
                continue
            names = t.members if t.kind == "union" else subgraph.implementations(target.name)
            names = sorted((n for n in names if n in everywhere), key=_sort_key)
            by_graph[graph] = names
        if not any(by_graph.values()) or set(everywhere).intersection(*map(set, by_graph.values())):
            return True
        coordinate = f"{parent}.{f.name}"
        if coordinate not in self.reported:
            self.reported.add(coordinate)
            printed = {g: ", ".join(names) or "no runtime type" for g, names in by_graph.items()}
            self.errors.append(
                f"[{', '.join(by_graph)}] {coordinate}: the shared field returns {target.name} but its possible "
                f"runtime types do not intersect across subgraphs ({_grouped(printed)}) for the query "
                f"{self.query(root, path, f.name + ' { ... }')} (SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES)")
        return False

    def downcast(self, type_name: str, option: Option, possible: str) -> set[Option] | None:
        """The options for `... on possible` (empty: not possible there; None: cannot be resolved)."""
        subgraph = self.merger.by_name[option[0]]
        t = subgraph.types.get(type_name)
        if t is None:
            return set()
        if t.kind == "union":
            return {(subgraph.name, ())} if possible in t.members else set()
        if t.kind == "interface":
            return {(subgraph.name, ())} if possible in subgraph.implementations(type_name) else set()
        return {(g, ()) for g in self.closure(type_name, option)
                if (i := self.merger.by_name[g].types.get(type_name)) is not None and i.kind == "interface"
                and possible in self.merger.by_name[g].implementations(type_name)} or None

    def available(self, type_name: str, graphs: Iterable[str], option: Option) -> set[str]:
        names = {name for name, _ in option[1]}
        for graph in graphs:
            subgraph = self.merger.by_name[graph]
            t = subgraph.types.get(type_name)
            if t is not None:
                names |= {name for name, f in t.fields.items() if not subgraph.is_external(f)}
        return names

    def closure(self, type_name: str, option: Option) -> list[str]:
        """The subgraphs a query at `type_name` in option's subgraph can get to through resolvable @key jumps."""
        cached = self.closures.get((type_name, option))
        if cached is not None:
            return cached
        reached = [option[0]]
        changed = True
        while changed:
            changed = False
            available = self.available(type_name, reached, option)
            for subgraph in self.subgraphs:
                t = subgraph.types.get(type_name)
                if subgraph.name in reached or t is None or t.kind not in ("object", "interface"):
                    continue
                if any(k.resolvable and _top_level(k.fields) <= available for k in t.keys):
                    reached.append(subgraph.name)
                    changed = True
        self.closures[(type_name, option)] = reached
        return reached

    def advance(self, type_name: str, option: Option, merged: _MField) -> tuple[set[Option] | None, str]:
        """The options after `merged` from `option` (None if it cannot be had from there, with why)."""
        graph, provided = option
        subgraph = self.merger.by_name[graph]
        name = merged.name
        result: set[Option] = set()
        own = subgraph.field(type_name, name)
        below = dict(provided)
        if own is not None and subgraph.is_external(own) and name in below:
            result.add((graph, below[name]))
        closure = self.closure(type_name, option)
        unmet: dict[str, str] = {}
        for other in closure:
            theirs = self.merger.by_name[other].field(type_name, name)
            if theirs is None or self.merger.by_name[other].is_external(theirs) or other in merged.overridden:
                continue
            if theirs.requires is not None:  # the required fields must be had from the requiring subgraph
                start: Option = (other, ())
                missing = _top_level(theirs.requires) - self.available(type_name, self.closure(type_name, start), start)
                if missing:
                    unmet[other] = (f'{other} resolves it with @requires(fields: {json.dumps(theirs.requires)}) but '
                                    f"{_list(sorted(missing))} cannot be had from {other}")
                    continue
            result.add((other, _provided(theirs.provides)))
        dest = self.types[type_name]
        if dest.kind == "object":
            available = self.available(type_name, closure, option)
            for interface in dest.implements:
                for s in self.subgraphs:
                    t = s.types.get(interface)
                    f = t.fields.get(name) if t is not None and t.interface_object else None
                    if t is not None and f is not None and not s.is_external(f) and any(
                            k.resolvable and _top_level(k.fields) <= available for k in t.keys):
                        result.add((s.name, _provided(f.provides)))
        t = subgraph.types.get(type_name)
        if not result and t is not None and t.kind == "interface":
            exploded: set[Option] = set()
            for implementation in subgraph.implementations(type_name):
                implementation_field = self.types[implementation].fields.get(name) \
                    if implementation in self.types else None
                if implementation_field is None:
                    break
                advanced, _why = self.advance(implementation, (graph, ()), implementation_field)
                if advanced is None:
                    break
                exploded |= advanced
            else:
                return exploded, ""
        if result:
            return result, ""
        return None, self.explain(type_name, name, graph, closure, unmet)

    def explain(self, type_name: str, name: str, graph: str, closure: list[str], unmet: dict[str, str]) -> str:
        reasons = [f'cannot find field "{type_name}.{name}"']
        for subgraph in self.subgraphs:
            t = subgraph.types.get(type_name)
            f = t.fields.get(name) if t is not None else None
            if subgraph.name == graph or f is None or subgraph.is_external(f):
                continue
            if subgraph.name in unmet:
                reasons.append(unmet[subgraph.name])
            elif subgraph.name in closure:
                continue
            elif t is not None and not t.keys:
                reasons.append(f'cannot move to subgraph "{subgraph.name}", which has it, because type "{type_name}" '
                               f'has no @key defined in subgraph "{subgraph.name}"')
            elif t is not None and not any(k.resolvable for k in t.keys):
                reasons.append(f'cannot move to subgraph "{subgraph.name}", which has it, because none of the @key '
                               f'defined on type "{type_name}" in subgraph "{subgraph.name}" are resolvable')
            elif t is not None:
                keys = " or ".join(json.dumps(k.fields) for k in t.keys if k.resolvable)
                reasons.append(f'cannot move to subgraph "{subgraph.name}", which has it, because the fields of its '
                               f"@key ({keys}) cannot be had from \"{graph}\"")
        return "; ".join(reasons)

    @staticmethod
    def query(root: str, path: tuple[str, ...], last: str) -> str:
        query = last
        for step in reversed(path):
            query = f"{step} {{ {query} }}"
        return ("" if root == "Query" else f"{root.lower()} ") + f"{{ {query} }}"

    def report(self, root: str, subject: str, path: tuple[str, ...], last: str, failures: dict[str, str]) -> None:
        if subject in self.reported:
            return
        self.reported.add(subject)
        details = ". ".join(f'from subgraph "{g}": {why}' for g, why in failures.items())
        self.errors.append(f"[{', '.join(failures)}] {subject} cannot be reached by the query "
                           f"{self.query(root, path, last)}: {details} (SATISFIABILITY_ERROR)")


# printing ---------------------------------------------------------------------------------------------------

JOIN_FIELD_V03 = ("directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, "
                  "type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on "
                  "FIELD_DEFINITION | INPUT_FIELD_DEFINITION")
JOIN_FIELD_V04 = JOIN_FIELD_V03.replace("usedOverridden: Boolean)", "usedOverridden: Boolean, overrideLabel: String)")
DIRECTIVE_DEFINITIONS = {
    "inaccessible": "directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | "
                    "SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION",
    "join__directive": "directive @join__directive(graphs: [join__Graph!], name: String!, args: "
                       "join__DirectiveArguments) repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION",
    "join__enumValue": "directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE",
    "join__graph": "directive @join__graph(name: String!, url: String!) on ENUM_VALUE",
    "join__implements": "directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | "
                        "INTERFACE",
    "join__type": "directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, "
                  "resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE "
                  "| UNION | ENUM | INPUT_OBJECT | SCALAR",
    "join__unionMember": "directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION",
    "link": "directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on "
            "SCHEMA",
    "tag": "directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | "
           "ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA",
}
LINK_PURPOSE = '''enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}'''


def _directive_lines(directives: list[str], end_with_newline: bool) -> str:
    if not directives:
        return ""
    return "\n  " + "\n  ".join(directives) + ("\n" if end_with_newline else "")


def _inline(directives: Iterable[str]) -> str:
    return "".join(" " + d for d in directives)


def _braces(items: list[str]) -> str:
    return "{\n" + "\n".join(items) + "\n}" if items else ""


def _print_arguments(args: Iterable[_MArg]) -> str:
    args = list(args)
    if not args:
        return ""
    printed = [f"{a.name}: {a.type}" + (f" = {a.default}" if a.default is not None else "") + _inline(a.directives)
               for a in args]
    if all(a.description is None for a in args):
        return "(" + ", ".join(printed) + ")"
    lines = [_description(a.description, "    ", i == 0) + "    " + p for i, (a, p) in enumerate(zip(args, printed,
                                                                                                      strict=True))]
    return "(\n" + "\n".join(lines) + "\n  )"


def _print_type(t: _MType) -> str:
    head = _description(t.description)
    if t.kind in ("object", "interface"):
        header = f"{'type' if t.kind == 'object' else 'interface'} {t.name}"
        if t.implements:
            header += " implements " + " & ".join(t.implements)
        fields = [_description(f.description, "  ", i == 0) + f"  {f.name}{_print_arguments(f.args.values())}: "
                  f"{f.type}{_inline(f.directives)}" for i, f in enumerate(t.fields.values())]
        return (head + header + _directive_lines(t.directives, bool(fields))
                + (" " if not t.directives and fields else "") + _braces(fields))
    if t.kind == "union":
        members = " = " + " | ".join(t.members) if t.members else ""
        return head + f"union {t.name}" + _directive_lines(t.directives, bool(t.members)) + members
    if t.kind == "enum":
        values = [_description(v.description, "  ", i == 0) + f"  {v.name}{_inline(v.directives)}"
                  for i, v in enumerate(t.values.values())]
        return (head + f"enum {t.name}" + _directive_lines(t.directives, bool(values))
                + (" " if not t.directives and values else "") + _braces(values))
    if t.kind == "input":
        fields = [_description(f.description, "  ", i == 0) + f"  {f.name}: {f.type}"
                  + (f" = {f.default}" if f.default is not None else "") + _inline(f.directives)
                  for i, f in enumerate(t.fields.values())]
        return (head + f"input {t.name}" + _directive_lines(t.directives, bool(fields))
                + (" " if not t.directives and fields else "") + _braces(fields))
    return head + f"scalar {t.name}" + _directive_lines(t.directives, False)


def _print(merger: _Merger) -> str:
    applied = [d for t in merger.types.values() for d in [
        *t.directives,
        *(d for f in t.fields.values() for d in [*f.directives, *(d for a in f.args.values() for d in a.directives)]),
        *(d for v in t.values.values() for d in v.directives)]]
    uses_tag = any(d.startswith("@tag(") for d in applied)
    uses_inaccessible = "@inaccessible" in applied
    join = "v0.4" if merger.labels_used else "v0.3"
    links = ['@link(url: "https://specs.apollo.dev/link/v1.0")',
             f'@link(url: "https://specs.apollo.dev/join/{join}", for: EXECUTION)']
    directives = dict(DIRECTIVE_DEFINITIONS)
    directives["join__field"] = JOIN_FIELD_V04 if merger.labels_used else JOIN_FIELD_V03
    definitions = {"join__FieldSet": "scalar join__FieldSet", "link__Import": "scalar link__Import",
                   "link__Purpose": LINK_PURPOSE}
    definitions["join__Graph"] = "enum join__Graph {\n" + "\n".join(
        f"  {s.enum} @join__graph(name: {json.dumps(s.name)}, url: {json.dumps(s.url)})" for s in merger.subgraphs
    ) + "\n}"
    if merger.labels_used:
        definitions["join__DirectiveArguments"] = "scalar join__DirectiveArguments"
    else:
        del directives["join__directive"]
    if uses_tag:
        links.append('@link(url: "https://specs.apollo.dev/tag/v0.3")')
    else:
        del directives["tag"]
    if uses_inaccessible:
        links.append('@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)')
    else:
        del directives["inaccessible"]
    for t in merger.types.values():
        definitions[t.name] = _print_type(t)
    roots = [f"  {r.lower()}: {r}" for r in ROOT_TYPES if r in merger.types]
    schema = "schema" + _directive_lines(links, True) + "{\n" + "\n".join(roots) + "\n}"
    parts = [schema, *(directives[n] for n in sorted(directives, key=_sort_key)),
             *(definitions[n] for n in sorted(definitions, key=_sort_key))]
    return "\n\n".join(parts) + "\n"


def _supergraph_errors(merger: _Merger, sdl: str) -> list[str]:
    """What GraphQL itself finds wrong with the composed supergraph (e.g. an implementation whose merged field
    type no longer fits its interface), attributed to the subgraphs defining the types it names."""
    try:
        messages = [e.message for e in validate_schema(build_ast_schema(parse(sdl), assume_valid_sdl=False))]
    except (GraphQLError, TypeError) as exc:
        messages = [str(exc)]
    errors = []
    for message in messages:
        named = set(re.findall(r"\b([A-Za-z_]\w*)\.\w+", message)) & set(merger.types)
        graphs = sorted({g for t in named for g in merger.defining(t)})
        prefix = f"[{', '.join(graphs)}] " if graphs else ""
        errors.append(f"{prefix}the composed supergraph is invalid: {message} (INVALID_GRAPHQL)")
    return errors


def compose(subgraphs: Sequence[SubgraphSource]) -> str:
    """The supergraph SDL of `subgraphs`; raises CompositionError listing every problem found."""
    names = [s.name for s in subgraphs]
    if not subgraphs:
        raise CompositionError(["no subgraphs to compose"])
    if len(set(names)) != len(names):
        raise CompositionError([f"subgraph names must be unique: {names}"])
    errors: list[str] = []
    read: list[_Subgraph] = []
    for source in sorted(subgraphs, key=lambda s: s.name):
        subgraph = _Reader(source, errors).read()
        if subgraph is not None:
            read.append(subgraph)
    for subgraph in read:
        for t in subgraph.types.values() if not subgraph.fed2 else ():
            if (t.name not in ROOT_TYPES and t.kind in ("object", "interface")
                    and (t.extends or (t.has_extension and not t.has_definition))
                    and not any((o := other.types.get(t.name)) is not None and o.has_definition
                                for other in read if other is not subgraph)):
                errors.append(f'[{subgraph.name}] Type "{t.name}" is an extension type, but there is no type '
                              f'definition for "{t.name}" in any subgraph (EXTENSION_WITH_NO_BASE)')
    for subgraph in read:
        if not subgraph.fed2:
            _upgrade(subgraph, read, errors)
    for subgraph in read:
        subgraph.compute()
        _validate(subgraph, errors)
    enums = [s.enum for s in read]
    for subgraph in read:
        if enums.count(subgraph.enum) > 1:
            clashing = [s for s in read if s.enum == subgraph.enum]
            subgraph.enum = f"{subgraph.enum}_{clashing.index(subgraph) + 1}"
    if errors:
        raise CompositionError(errors)
    merger = _Merger(read)
    merger.merge()
    if merger.errors:
        raise CompositionError(merger.errors)
    sdl = _print(merger)
    problems = _supergraph_errors(merger, sdl) or _Satisfiability(merger).run()
    if problems:
        raise CompositionError(problems)
    return sdl
