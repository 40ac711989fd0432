"""Shapes the merged subgraph answers into exactly what the operation asked for: response keys in
document order, nothing the planner added for its own use, and null propagation for non-null fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_directive_values
from graphql.type import GraphQLIncludeDirective, GraphQLSkipDirective
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

JSON = dict[str, Any]
_INVALID = object()


class ResponseShaper:
    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
        errors: list[JSON],
        nulled: frozenset[int] = frozenset(),
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.variables = variables
        self.errors = errors
        # field nodes removed by authorization: null, without an error of their own (theirs is reported)
        self.nulled = nulled

    def shape(self, data: JSON) -> JSON | None:
        root = self.schema.get_root_type(self.operation.operation)
        assert root is not None
        shaped = self._object(root, self.operation.selection_set, data, [])
        return None if shaped is _INVALID else shaped  # type: ignore[return-value]

    def _included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and include.get("if") is False)

    def _applies(self, condition: str | None, runtime: GraphQLObjectType) -> bool:
        if condition is None or condition == runtime.name:
            return True
        condition_type = self.schema.get_type(condition)
        if isinstance(condition_type, GraphQLInterfaceType | GraphQLUnionType):
            return self.schema.is_sub_type(condition_type, runtime)
        return False

    def _collect(
        self, runtime: GraphQLObjectType, selection_set: SelectionSetNode, into: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> dict[str, list[FieldNode]]:
        for selection in selection_set.selections:
            if not self._included(selection):  # type: ignore[arg-type]
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                into.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else None
                if self._applies(condition, runtime):
                    self._collect(runtime, selection.selection_set, into, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition.name.value, runtime):
                    self._collect(runtime, fragment.selection_set, into, visited)
        return into

    def _object(
        self, runtime: GraphQLObjectType, selection_set: SelectionSetNode | list[FieldNode], source: JSON,
        path: list[str | int],
    ) -> JSON | object:
        if isinstance(selection_set, list):
            grouped: dict[str, list[FieldNode]] = {}
            for node in selection_set:
                if node.selection_set is not None:
                    self._collect(runtime, node.selection_set, grouped, set())
        else:
            grouped = self._collect(runtime, selection_set, {}, set())
        result: JSON = {}
        for key, nodes in grouped.items():
            name = nodes[0].name.value
            if name == "__typename":
                result[key] = runtime.name
                continue
            field_def = runtime.fields.get(name)
            if field_def is None:
                meta = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef, "__typename": TypeNameMetaFieldDef}
                if name not in meta:
                    continue
                result[key] = source.get(key)
                continue
            if self.nulled and all(id(node) in self.nulled for node in nodes):
                if isinstance(field_def.type, GraphQLNonNull):
                    return _INVALID
                result[key] = None
                continue
            value = self._value(field_def.type, nodes, source.get(key), [*path, key])
            if value is _INVALID:
                return _INVALID
            result[key] = value
        return result

    def _value(
        self, type_: GraphQLOutputType, nodes: list[FieldNode], value: Any, path: list[str | int]
    ) -> Any:
        if isinstance(type_, GraphQLNonNull):
            completed = self._value(type_.of_type, nodes, value, path)
            if completed is None or completed is _INVALID:
                if completed is None:
                    self._null_error(path)
                return _INVALID
            return completed
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                self._error("a subgraph returned a non-list value for a list field", path)
                return None
            items = [self._value(type_.of_type, nodes, item, [*path, i]) for i, item in enumerate(value)]
            return None if any(item is _INVALID for item in items) else items
        if is_leaf_type(type_):
            return value
        if not isinstance(value, dict):
            self._error("a subgraph returned a non-object value for an object field", path)
            return None
        runtime = self._runtime_type(type_, value)  # type: ignore[arg-type]
        if runtime is None:
            self._error(f"a subgraph returned an object of unknown type {value.get('__typename')!r}", path)
            return None
        shaped = self._object(runtime, nodes, value, path)
        return None if shaped is _INVALID else shaped

    def _runtime_type(self, type_: GraphQLCompositeType, value: JSON) -> GraphQLObjectType | None:
        if isinstance(type_, GraphQLObjectType):
            return type_
        if is_abstract_type(type_):
            named = self.schema.get_type(str(value.get("__typename")))
            if isinstance(named, GraphQLObjectType) and self.schema.is_sub_type(type_, named):
                return named
        return None

    def _null_error(self, path: list[str | int]) -> None:
        for error in self.errors:
            other = error.get("path")
            if isinstance(other, list) and _related(path, other):
                return
        self._error(f"Cannot return null for non-nullable field at {'.'.join(map(str, path))}.", path)

    def _error(self, message: str, path: list[str | int]) -> None:
        self.errors.append({"message": message, "path": path})


def _related(path: list[str | int], other: list[str | int]) -> bool:
    """Whether one path lies on the other (`@`, in a query path, stands for any list index)."""
    return all(a == b or (b == "@" and isinstance(a, int)) for a, b in zip(path, other, strict=False))
