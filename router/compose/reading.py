"""Reading: one subgraph's SDL into a _Subgraph (its @link imports and renames, its directives resolved to
their federation meaning, its GraphQL validity checked on its own), and the upgrade of a Federation 1
subgraph to Federation 2."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    BooleanValueNode,
    ConstDirectiveNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldDefinitionNode,
    GraphQLError,
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
    StringValueNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    ValueNode,
    build_ast_schema,
    parse,
    print_ast,
    validate_schema,
)
from graphql.validation.validate import validate_sdl

from router.compose.merge_directives import SPEC_DIRECTIVES
from router.compose.model import SubgraphSource, _Applied, _Arg, _Field, _Key, _Type, _Value
from router.compose.spec import (
    BUILT_IN_DIRECTIVES,
    COMPOSITE,
    FEDERATION_1_DIRECTIVES,
    FEDERATION_DIRECTIVES,
    FEDERATION_ROOT_FIELDS,
    FEDERATION_SPEC,
    FEDERATION_TYPES,
    KEPT_BUILT_IN_DIRECTIVES,
    ROOT_OPERATIONS,
    ROOT_TYPES,
)
from router.compose.subgraph import _Subgraph
from router.compose.text import _named, _value

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
        if name in SPEC_DIRECTIVES and name not in self.subgraph.spec_uses:
            self.subgraph.spec_uses.append(name)
        if name in ("inaccessible", "tag", *SPEC_DIRECTIVES) or name in KEPT_BUILT_IN_DIRECTIVES:
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
