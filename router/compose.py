"""Composition: subgraph SDLs in, a Federation v2 supergraph (link v1.0 + join v0.3) out.

The output is the format Apollo's composition writes, so other federation routers can serve it and our
router can serve theirs. Invalid sets are rejected with errors that name the subgraph, type and field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from graphql import (
    BooleanValueNode,
    ConstDirectiveNode,
    DirectiveNode,
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
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    parse,
    print_ast,
)

from router.fieldset import top_level_fields

FEDERATION_DIRECTIVES = {
    "key", "shareable", "external", "requires", "provides", "extends", "override", "inaccessible", "tag",
    "link", "composeDirective", "interfaceObject", "authenticated", "requiresScopes", "policy", "context",
    "fromContext", "cost", "listSize",
}
FEDERATION_TYPES = {"_Any", "_Entity", "_Service", "FieldSet", "link__Import", "link__Purpose", "federation__Scope",
                    "federation__Policy", "federation__ContextFieldValue", "federation__FieldSet", "_FieldSet"}
FEDERATION_ROOT_FIELDS = {"_entities", "_service"}
ROOT_OPERATIONS = ("query", "mutation", "subscription")


class CompositionError(Exception):
    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("composition failed:\n" + "\n".join(f"  - {e}" for e in errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class SubgraphSource:
    name: str
    url: str
    sdl: str


@dataclass
class FieldInGraph:
    type: str
    external: bool = False
    shareable: bool = False
    requires: str | None = None
    provides: str | None = None
    override: str | None = None
    inaccessible: bool = False


@dataclass
class MergedField:
    name: str
    description: str | None
    args: str
    graphs: dict[str, FieldInGraph] = field(default_factory=dict)


@dataclass
class TypeInGraph:
    keys: list[tuple[str, bool]] = field(default_factory=list)
    extension: bool = False
    shareable: bool = False
    implements: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)


@dataclass
class MergedType:
    name: str
    kind: str
    description: str | None = None
    graphs: dict[str, TypeInGraph] = field(default_factory=dict)
    fields: dict[str, MergedField] = field(default_factory=dict)
    inaccessible: bool = False


def graph_enum_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name).upper()


def _directives(node: object) -> list[ConstDirectiveNode | DirectiveNode]:
    return list(getattr(node, "directives", None) or [])


def _arg(directive: DirectiveNode, name: str) -> object:
    for argument in directive.arguments or []:
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, StringValueNode):
                return value.value
            if isinstance(value, BooleanValueNode):
                return value.value
            if isinstance(value, ListValueNode):
                return [v.value for v in value.values if isinstance(v, StringValueNode)]
    return None


def _name(directive: DirectiveNode, aliases: dict[str, str]) -> str:
    raw = directive.name.value
    return aliases.get(raw, raw.removeprefix("federation__"))


def _type_str(node: TypeNode) -> str:
    return print_ast(node)


def _named(type_str: str) -> str:
    return type_str.replace("[", "").replace("]", "").replace("!", "")


def _description(node: object) -> str | None:
    description = getattr(node, "description", None)
    return description.value if description is not None else None


def _args_str(args: Iterable[InputValueDefinitionNode]) -> str:
    printed = []
    for arg in args:
        text = f"{arg.name.value}: {_type_str(arg.type)}"
        if arg.default_value is not None:
            text += f" = {print_ast(arg.default_value)}"
        printed.append(text)
    return f"({', '.join(printed)})" if printed else ""


class _Composer:
    def __init__(self, subgraphs: Sequence[SubgraphSource]) -> None:
        self.subgraphs = subgraphs
        self.types: dict[str, MergedType] = {}
        self.roots: dict[str, str] = {}
        self.errors: list[str] = []
        self.uses_inaccessible = False

    def run(self) -> str:
        names = [s.name for s in self.subgraphs]
        if not self.subgraphs:
            raise CompositionError(["no subgraphs to compose"])
        if len(set(names)) != len(names):
            raise CompositionError([f"subgraph names must be unique: {names}"])
        for source in self.subgraphs:
            self._read(source)
        self._validate()
        if self.errors:
            raise CompositionError(self.errors)
        return self._print()

    # reading ---------------------------------------------------------------------------------------

    def _read(self, source: SubgraphSource) -> None:
        try:
            document = parse(source.sdl)
        except GraphQLError as exc:
            self.errors.append(f"[{source.name}] SDL does not parse: {exc.message}")
            return
        aliases: dict[str, str] = {}
        roots = {op: op.capitalize() for op in ROOT_OPERATIONS}
        for definition in document.definitions:
            if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                for directive in _directives(definition):
                    if directive.name.value == "link":
                        aliases.update(_link_aliases(directive))
                for operation in getattr(definition, "operation_types", None) or []:
                    roots[operation.operation.value] = operation.type.name.value
        renamed = {type_name: op.capitalize() for op, type_name in roots.items()}
        for definition in document.definitions:
            if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                continue
            name_node = getattr(definition, "name", None)
            if name_node is None or name_node.value in FEDERATION_TYPES:
                continue
            self._read_type(source.name, definition, renamed.get(name_node.value, name_node.value), aliases)

    def _read_type(self, graph: str, node: object, name: str, aliases: dict[str, str]) -> None:
        kind = _kind(node)
        if kind is None:
            return
        merged = self.types.setdefault(name, MergedType(name=name, kind=kind))
        if merged.kind != kind:
            self.errors.append(f"[{graph}] type {name} is a {kind} here but a {merged.kind} in another subgraph")
            return
        merged.description = merged.description or _description(node)
        in_graph = merged.graphs.setdefault(graph, TypeInGraph())
        in_graph.extension = in_graph.extension or "Extension" in type(node).__name__
        for directive in _directives(node):
            dname = _name(directive, aliases)
            if dname == "key":
                fields = _arg(directive, "fields")
                resolvable = _arg(directive, "resolvable")
                if isinstance(fields, str):
                    in_graph.keys.append((" ".join(fields.split()), resolvable is not False))
            elif dname == "shareable":
                in_graph.shareable = True
            elif dname == "extends":
                in_graph.extension = True
            elif dname == "inaccessible":
                merged.inaccessible = True
        in_graph.implements += [i.name.value for i in getattr(node, "interfaces", None) or []]
        in_graph.members += [t.name.value for t in getattr(node, "types", None) or []]
        in_graph.values += [v.name.value for v in getattr(node, "values", None) or []]
        for field_node in getattr(node, "fields", None) or []:
            if name == "Query" and field_node.name.value in FEDERATION_ROOT_FIELDS:
                continue
            self._read_field(graph, merged, field_node, in_graph, aliases)

    def _read_field(
        self, graph: str, merged: MergedType, node: FieldDefinitionNode | InputValueDefinitionNode,
        in_graph: TypeInGraph, aliases: dict[str, str],
    ) -> None:
        name = node.name.value
        args = _args_str(getattr(node, "arguments", None) or [])
        merged_field = merged.fields.setdefault(name, MergedField(name=name, description=_description(node), args=args))
        merged_field.description = merged_field.description or _description(node)
        info = FieldInGraph(type=_type_str(node.type), shareable=in_graph.shareable)
        for directive in _directives(node):
            dname = _name(directive, aliases)
            if dname == "external":
                info.external = True
            elif dname == "shareable":
                info.shareable = True
            elif dname in ("requires", "provides", "override"):
                value = _arg(directive, "fields" if dname != "override" else "from")
                setattr(info, dname, " ".join(value.split()) if isinstance(value, str) else None)
            elif dname == "inaccessible":
                info.inaccessible = True
                self.uses_inaccessible = True
        if not info.external and merged_field.args != args and merged_field.graphs:
            self.errors.append(
                f"[{graph}] {merged.name}.{name} has arguments {args or '()'} but another subgraph declares "
                f"{merged_field.args or '()'}"
            )
        merged_field.graphs[graph] = info

    # validation ------------------------------------------------------------------------------------

    def _validate(self) -> None:
        for merged in self.types.values():
            if merged.kind not in ("object", "interface"):
                continue
            for graph, in_graph in merged.graphs.items():
                for key, _resolvable in in_graph.keys:
                    for key_field in top_level_fields(key):
                        if graph not in merged.fields.get(key_field, MergedField("", None, "")).graphs:
                            self.errors.append(
                                f"[{graph}] @key(fields: \"{key}\") on {merged.name} names field {key_field}, "
                                f"which {merged.name} does not define in {graph}"
                            )
            for merged_field in merged.fields.values():
                self._validate_field(merged, merged_field)

    def _validate_field(self, merged: MergedType, merged_field: MergedField) -> None:
        where = f"{merged.name}.{merged_field.name}"
        named = {_named(info.type) for info in merged_field.graphs.values()}
        if len(named) > 1:
            detail = ", ".join(f"{g}: {i.type}" for g, i in merged_field.graphs.items())
            self.errors.append(f"{where} has conflicting types across subgraphs ({detail})")
        for graph, info in merged_field.graphs.items():
            if info.requires:
                for required in top_level_fields(info.requires):
                    other = merged.fields.get(required)
                    if other is None or graph not in other.graphs:
                        self.errors.append(f"[{graph}] @requires on {where} names {required}, not defined on "
                                           f"{merged.name} in {graph}")
                    elif not other.graphs[graph].external:
                        self.errors.append(f"[{graph}] @requires on {where} names {merged.name}.{required}, which "
                                           f"must be marked @external in {graph}")
        if merged.kind != "object" or merged.name in ("Query", "Mutation", "Subscription"):
            if merged.name in ("Query", "Mutation", "Subscription"):
                self._validate_shareable(merged, merged_field, where)
            return
        self._validate_shareable(merged, merged_field, where)

    def _validate_shareable(self, merged: MergedType, merged_field: MergedField, where: str) -> None:
        overridden = {info.override for info in merged_field.graphs.values() if info.override}
        resolving = [
            graph for graph, info in merged_field.graphs.items()
            if not info.external and graph not in overridden
        ]
        if len(resolving) < 2:
            return
        for graph in resolving:
            info = merged_field.graphs[graph]
            in_key = any(merged_field.name in top_level_fields(k) for k, _ in merged.graphs[graph].keys)
            if not (info.shareable or in_key):
                others = ", ".join(g for g in resolving if g != graph)
                self.errors.append(
                    f"[{graph}] {where} is also resolved by {others} but is not marked @shareable in {graph}"
                )

    # printing --------------------------------------------------------------------------------------

    def _print(self) -> str:
        graphs = [s for s in self.subgraphs]
        roots = [r for r in ("Query", "Mutation", "Subscription") if r in self.types]
        links = ['  @link(url: "https://specs.apollo.dev/link/v1.0")',
                 '  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)']
        if self.uses_inaccessible or any(t.inaccessible for t in self.types.values()):
            links.append('  @link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)')
        out = ["schema", *links, "{", *[f"  {r.lower()}: {r}" for r in roots], "}", "", PRELUDE]
        if len(links) > 2:
            out.append("directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION "
                       "| SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION\n")
        out.append("enum join__Graph {")
        for source in graphs:
            out.append(f'  {graph_enum_name(source.name)} @join__graph(name: "{source.name}", url: "{source.url}")')
        out += ["}", "", "scalar join__FieldSet", "", "scalar link__Import", "",
                "enum link__Purpose {", '  """', "  `SECURITY` features provide metadata necessary to securely "
                "resolve fields.", '  """', "  SECURITY", "", '  """', "  `EXECUTION` features provide metadata "
                "necessary for operation execution.", '  """', "  EXECUTION", "}", ""]
        ordered = roots + sorted(n for n in self.types if n not in roots)
        for name in ordered:
            out.append(self._print_type(self.types[name]))
        return "\n".join(out).rstrip() + "\n"

    def _print_type(self, merged: MergedType) -> str:
        lines: list[str] = []
        if merged.description:
            lines.append(_block(merged.description, ""))
        head = {"object": "type", "interface": "interface", "union": "union", "enum": "enum",
                "input": "input", "scalar": "scalar"}[merged.kind]
        implements = sorted({i for g in merged.graphs.values() for i in g.implements})
        header = f"{head} {merged.name}"
        if implements:
            header += " implements " + " & ".join(implements)
        type_directives: list[str] = []
        for graph, in_graph in merged.graphs.items():
            enum = graph_enum_name(graph)
            if in_graph.keys:
                for key, resolvable in in_graph.keys:
                    extra = ", extension: true" if in_graph.extension else ""
                    extra += "" if resolvable else ", resolvable: false"
                    type_directives.append(f'@join__type(graph: {enum}, key: "{key}"{extra})')
            else:
                type_directives.append(f"@join__type(graph: {enum})")
        for graph, in_graph in merged.graphs.items():
            for interface in in_graph.implements:
                type_directives.append(f'@join__implements(graph: {graph_enum_name(graph)}, interface: "{interface}")')
        if merged.inaccessible:
            type_directives.append("@inaccessible")
        if merged.kind == "union":
            members = sorted({m for g in merged.graphs.values() for m in g.members})
            for graph, in_graph in merged.graphs.items():
                for member in in_graph.members:
                    type_directives.append(f'@join__unionMember(graph: {graph_enum_name(graph)}, member: "{member}")')
            lines.append(header + _directive_lines(type_directives) + "\n  = " + " | ".join(members))
            return "\n".join(lines) + "\n"
        if merged.kind == "scalar":
            lines.append(header + _directive_lines(type_directives))
            return "\n".join(lines) + "\n"
        lines.append(header + _directive_lines(type_directives) + "\n{")
        if merged.kind == "enum":
            values: dict[str, list[str]] = {}
            for graph, in_graph in merged.graphs.items():
                for value in in_graph.values:
                    values.setdefault(value, []).append(graph)
            for value, value_graphs in values.items():
                marks = " ".join(f"@join__enumValue(graph: {graph_enum_name(g)})" for g in value_graphs)
                lines.append(f"  {value} {marks}")
        else:
            type_graphs = list(merged.graphs)
            for merged_field in merged.fields.values():
                lines.append(self._print_field(merged, merged_field, type_graphs))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _print_field(self, merged: MergedType, merged_field: MergedField, type_graphs: list[str]) -> str:
        infos = merged_field.graphs
        types = {info.type for info in infos.values() if not info.external} or {i.type for i in infos.values()}
        # The supergraph type is the most nullable of the subgraphs' (what every subgraph can return).
        field_type = sorted(types, key=lambda t: (t.count("!"), t))[0]
        needs_join = list(infos) != type_graphs or (merged.kind == "input" and list(infos) != type_graphs) or any(
            info.external or info.requires or info.provides or info.override or info.type != field_type
            for info in infos.values()
        )
        marks: list[str] = []
        if needs_join:
            for graph, info in infos.items():
                parts = [f"graph: {graph_enum_name(graph)}"]
                if info.requires:
                    parts.append(f'requires: "{info.requires}"')
                if info.provides:
                    parts.append(f'provides: "{info.provides}"')
                if info.type != field_type:
                    parts.append(f'type: "{info.type}"')
                if info.external:
                    parts.append("external: true")
                if info.override:
                    parts.append(f'override: "{info.override}"')
                marks.append(f"@join__field({', '.join(parts)})")
        if any(info.inaccessible for info in infos.values()):
            marks.append("@inaccessible")
        text = ""
        if merged_field.description:
            text = _block(merged_field.description, "  ") + "\n"
        text += f"  {merged_field.name}{merged_field.args}: {field_type}"
        if marks:
            text += " " + " ".join(marks)
        return text


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


def _link_aliases(directive: DirectiveNode) -> dict[str, str]:
    """`import: [{name: "@key", as: "@primaryKey"}]` renames a federation directive in that subgraph."""
    aliases: dict[str, str] = {}
    for argument in directive.arguments or []:
        if argument.name.value != "import" or not isinstance(argument.value, ListValueNode):
            continue
        for item in argument.value.values:
            fields = {f.name.value: getattr(f.value, "value", None) for f in getattr(item, "fields", [])}
            if isinstance(fields.get("name"), str) and isinstance(fields.get("as"), str):
                aliases[str(fields["as"]).lstrip("@")] = str(fields["name"]).lstrip("@")
    return aliases


def _directive_lines(directives: list[str]) -> str:
    return "".join(f"\n  {d}" for d in directives)


def _block(description: str, indent: str) -> str:
    body = description.replace('"""', '\\"""')
    if "\n" not in body and len(body) < 100:
        return f'{indent}"""{body}"""'
    return f'{indent}"""\n' + "\n".join(f"{indent}{line}" for line in body.split("\n")) + f'\n{indent}"""'


PRELUDE = '''directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, \
external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE

directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, \
resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | \
INPUT_OBJECT | SCALAR

directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
'''


def compose(subgraphs: Sequence[SubgraphSource]) -> str:
    """The supergraph SDL of `subgraphs`; raises CompositionError listing every problem found."""
    return _Composer(subgraphs).run()
