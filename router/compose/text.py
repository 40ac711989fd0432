"""Small text helpers every part of the composer uses: type references as written ("[Int!]!"), values as
Apollo prints them, Apollo's sort order, and lists of names in error messages."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from graphql import ListValueNode, ObjectValueNode, StringValueNode, ValueNode, print_ast


def _named(type_ref: str) -> str:
    return type_ref.replace("[", "").replace("]", "").replace("!", "")


def _is_non_null(type_ref: str) -> bool:
    return type_ref.endswith("!")


def _is_list(type_ref: str) -> bool:
    return type_ref.endswith("]")


def _value(node: ValueNode) -> str:
    """A value as Apollo prints it (strings as JSON, the rest as GraphQL)."""
    if isinstance(node, StringValueNode):
        return json.dumps(node.value, ensure_ascii=False)
    if isinstance(node, ListValueNode):
        return "[" + ", ".join(_value(v) for v in node.values) + "]"
    if isinstance(node, ObjectValueNode):
        return "{" + ", ".join(f"{f.name.value}: {_value(f.value)}" for f in node.fields) + "}"
    return print_ast(node)


def _sort_key(name: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Roughly JavaScript's localeCompare: `_` first, then digits, then letters without case, lower first."""
    primary = tuple(0 if c == "_" else 1 + ord(c) - 48 if c.isdigit() else 20 + ord(c.lower()) for c in name)
    return primary, tuple(0 if c.islower() else 1 for c in name)


def _list(names: Iterable[str]) -> str:
    items = list(names)
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _grouped(by_graph: Mapping[str, str]) -> str:
    """`"Int" in a and b and "String" in c` from {a: "Int", b: "Int", c: "String"}."""
    groups: dict[str, list[str]] = {}
    for graph, text in by_graph.items():
        groups.setdefault(text, []).append(graph)
    return " and ".join(f"{text} in {_list(graphs)}" for text, graphs in groups.items())
