"""Printing: the supergraph text as Apollo prints it (the schema with its @link, the join and link
prelude, then directives and types in Apollo's order), and what GraphQL itself finds wrong with it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from graphql import GraphQLError, build_ast_schema, parse, validate_schema

from router.compose.merge_directives import DIRECTIVES as SPEC_DEFINITIONS
from router.compose.merge_directives import LINKS, SPEC_DIRECTIVES, SPEC_OF, TYPES
from router.compose.merging import _Merger
from router.compose.model import _MArg, _MType
from router.compose.spec import ROOT_TYPES
from router.compose.text import _sort_key

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
    used = {d[1:].split("(", 1)[0] for d in applied}
    specs = [SPEC_OF[n] for s in merger.subgraphs for n in SPEC_DIRECTIVES if n in s.spec_uses and n in used]
    for spec in dict.fromkeys(specs):
        links.append(LINKS[spec])
        directives.update(SPEC_DEFINITIONS[spec])
        definitions.update(TYPES.get(spec, {}))
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
