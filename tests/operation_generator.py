"""Random valid operations over an API schema (hypothesis), for differential tests: the same operation
through our router and a reference gateway must give the same data, and errors in the same places.

Arguments come from `hints` ("Type.field.arg" -> candidate values) where random values would only
exercise "not found"; otherwise from the argument's type. Selections mix leaves, nested objects,
aliases, inline fragments on abstract types, named fragments, __typename and @include/@skip.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)
from graphql.pyutils import Undefined
from hypothesis import strategies as st

Hints = Mapping[str, Sequence[Any]]


@dataclass
class _Builder:
    schema: GraphQLSchema
    hints: Hints
    draw: Any
    max_depth: int
    fragments: dict[str, str] = field(default_factory=dict)
    aliases: int = 0

    def value_literal(self, type_: GraphQLInputType, hint_key: str) -> str:
        hinted = self.hints.get(hint_key)
        if hinted:
            return _literal(self.draw(st.sampled_from(list(hinted))), type_)
        if isinstance(type_, GraphQLNonNull):
            return self.value_literal(type_.of_type, hint_key)
        if isinstance(type_, GraphQLList):
            items = self.draw(st.integers(0, 2))
            return "[" + ", ".join(self.value_literal(type_.of_type, hint_key) for _ in range(items)) + "]"
        if isinstance(type_, GraphQLEnumType):
            return self.draw(st.sampled_from(sorted(type_.values)))
        if isinstance(type_, GraphQLInputObjectType):
            parts = []
            for name, input_field in type_.fields.items():
                required = isinstance(input_field.type, GraphQLNonNull) and input_field.default_value is Undefined
                if required or self.draw(st.booleans()):
                    parts.append(f"{name}: {self.value_literal(input_field.type, f'{hint_key}.{name}')}")
            return "{" + ", ".join(parts) + "}"
        assert isinstance(type_, GraphQLScalarType)
        if type_.name == "Int":
            return str(self.draw(st.integers(0, 30)))
        if type_.name == "Float":
            return repr(float(self.draw(st.integers(0, 30))))
        if type_.name == "Boolean":
            return self.draw(st.sampled_from(["true", "false"]))
        return json.dumps(self.draw(st.sampled_from(["1", "2", "a", "x-unknown"])), ensure_ascii=False)

    def arguments(self, parent: str, name: str, definition: GraphQLField) -> str:
        parts = []
        for arg_name, arg in definition.args.items():
            required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
            hinted = f"{parent}.{name}.{arg_name}" in self.hints
            if required or (hinted and self.draw(st.booleans())) or self.draw(st.integers(0, 4)) == 0:
                parts.append(f"{arg_name}: {self.value_literal(arg.type, f'{parent}.{name}.{arg_name}')}")
        return "(" + ", ".join(parts) + ")" if parts else ""

    def selection(self, type_: Any, depth: int) -> str:
        named = get_named_type(type_)
        if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
            return self.abstract_selection(named, depth)
        assert isinstance(named, GraphQLObjectType)
        fields = sorted(named.fields.items())
        leaves = [(n, f) for n, f in fields if is_leaf_type(get_named_type(f.type))]
        objects = [(n, f) for n, f in fields if not is_leaf_type(get_named_type(f.type))]
        chosen: list[str] = []
        if leaves:
            for n, f in self.draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=min(4, len(leaves)),
                                           unique_by=lambda item: item[0])):
                chosen.append(self.field_text(named.name, n, f, depth))
        if objects and depth < self.max_depth:
            for n, f in self.draw(st.lists(st.sampled_from(objects), max_size=min(2, len(objects)),
                                           unique_by=lambda item: item[0])):
                chosen.append(self.field_text(named.name, n, f, depth))
        if not chosen:
            chosen.append("__typename")
        if self.draw(st.integers(0, 5)) == 0:
            chosen.append("__typename")
        if self.draw(st.integers(0, 6)) == 0 and leaves:
            name, definition = self.draw(st.sampled_from(leaves))
            fragment = f"F{len(self.fragments)}"
            self.fragments[fragment] = (
                f"fragment {fragment} on {named.name} {{ {self.field_text(named.name, name, definition, depth)} }}")
            chosen.append(f"...{fragment}")
        return "{ " + " ".join(chosen) + " }"

    def abstract_selection(self, named: GraphQLUnionType | GraphQLInterfaceType, depth: int) -> str:
        parts = ["__typename"]
        if isinstance(named, GraphQLInterfaceType):
            leaves = [(n, f) for n, f in sorted(named.fields.items()) if is_leaf_type(get_named_type(f.type))]
            if leaves and self.draw(st.booleans()):
                name, definition = self.draw(st.sampled_from(leaves))
                parts.append(self.field_text(named.name, name, definition, depth))
        possible = sorted(self.schema.get_possible_types(named), key=lambda t: t.name)
        for runtime in self.draw(st.lists(st.sampled_from(possible), max_size=len(possible),
                                          unique_by=lambda t: t.name)) if possible else []:
            parts.append(f"... on {runtime.name} {self.selection(runtime, depth)}")
        return "{ " + " ".join(parts) + " }"

    def field_text(self, parent: str, name: str, definition: GraphQLField, depth: int) -> str:
        text = name
        if self.draw(st.integers(0, 4)) == 0:
            self.aliases += 1
            text = f"a{self.aliases}: {name}"
        text += self.arguments(parent, name, definition)
        directive = self.draw(st.integers(0, 9))
        if directive == 0:
            text += " @include(if: false)"
        elif directive == 1:
            text += " @skip(if: false)"
        if not is_leaf_type(get_named_type(definition.type)):
            text += " " + self.selection(definition.type, depth + 1)
        return text


@st.composite
def operations(draw: Any, schema: GraphQLSchema, hints: Hints | None = None, max_depth: int = 3,
               root_fields: Sequence[str] | None = None) -> str:
    """A valid query over `schema`, as text."""
    builder = _Builder(schema, hints or {}, draw, max_depth)
    query = schema.query_type
    assert query is not None
    names = sorted(root_fields or query.fields)
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=min(3, len(names)), unique=True))
    body = " ".join(builder.field_text("Query", n, query.fields[n], 1) for n in chosen)
    text = "query Generated { " + body + " }"
    if builder.fragments:
        text += "\n" + "\n".join(builder.fragments.values())
    errors = validate(schema, parse(text))
    assert not errors, (text, errors)
    return text


def _literal(value: Any, type_: GraphQLInputType) -> str:
    named = get_named_type(type_)
    if isinstance(named, GraphQLEnumType):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
