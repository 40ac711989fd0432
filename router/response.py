"""Shapes the merged subgraph answers into exactly what the operation asked for: response keys in
document order, nothing the planner added for its own use, and null propagation for non-null fields.

The walk over the operation is compiled once: per operation (and fragments, schema), per set of values
that decide its @skip/@include conditions and per set of fields removed by authorization, each
(runtime type, selection) gets a plan, the list of response keys with what to do for each, built the
first time a response reaches it and kept for the next requests. Shaping a response then only walks
the data. Response paths are built only when an error must carry one."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
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
    VariableNode,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_directive_values
from graphql.type import GraphQLIncludeDirective, GraphQLSkipDirective

JSON = dict[str, Any]
_INVALID = object()
_META_FIELDS = frozenset({"__schema", "__type", "__typename"})

# What a plan does for one response key.
_GET = 0  # copy the source's value (a nullable leaf, or a meta field)
_NN_GET = 1  # copy the source's value, null is an error (a non-null leaf)
_CONST = 2  # a fixed value (__typename; null for a field removed by authorization)
_STOP = 3  # the object is invalid (a non-null field removed by authorization)
_OBJECT = 4  # a nullable field of an object type
_NN_OBJECT = 5  # a non-null field of an object type
_LIST = 6  # a nullable list field
_NN_LIST = 7  # a non-null list field
_COMPLETE = 8  # anything else: complete the value against its type

# Kinds of compiled output types.
_K_NON_NULL = 0
_K_LIST = 1
_K_LEAF = 2
_K_OBJECT = 3
_K_ABSTRACT = 4

# Plans are kept per operation node (dropped when it is garbage-collected), at most this many operations
# and this many variants (@skip/@include values, authorization removals) per operation.
MAX_OPERATIONS = 2048
MAX_VARIANTS = 64

Link = tuple[Any, str | int] | None  # a response path as a linked list: (parent link, key); None = root


class _Plan:
    """The response keys of one (runtime type, selection), in document order."""

    __slots__ = ("entries", "keys", "required")

    def __init__(self, entries: list[tuple[str, int, Any]]) -> None:
        self.entries = entries
        # all leaves: the keys to copy at once, and those of them that must not be null
        leaves = all(action in (_GET, _NN_GET) for _key, action, _arg in entries)
        self.keys = tuple(key for key, _action, _arg in entries) if leaves else None
        self.required = tuple(key for key, action, _arg in entries if action == _NN_GET)


class _Type:
    """An output type of one field, with the field nodes its sub-selections come from; object plans are
    filled in the first time a value reaches them."""

    __slots__ = ("inner", "kind", "nodes", "plan", "plans", "type")

    def __init__(
        self, kind: int, inner: _Type | None = None, type_: GraphQLCompositeType | None = None,
        nodes: list[FieldNode] | None = None,
    ) -> None:
        self.kind = kind
        self.inner = inner
        self.type = type_
        self.nodes = nodes
        self.plan: _Plan | None = None
        self.plans: dict[str, _Plan | None] = {}


class _Variant:
    __slots__ = ("roots",)

    def __init__(self) -> None:
        self.roots: dict[str, _Plan] = {}


class _OperationPlans:
    __slots__ = ("condition_names", "fragments", "schema", "variants")

    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], condition_names: tuple[str, ...]
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.condition_names = condition_names
        self.variants: dict[Any, _Variant] = {}


_PLANS: dict[int, _OperationPlans] = {}
_WATCHED: set[int] = set()  # operations whose death drops their plans


def _forget(key: int) -> None:
    _PLANS.pop(key, None)
    _WATCHED.discard(key)


def _operation_plans(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> _OperationPlans | None:
    key = id(operation)
    entry = _PLANS.get(key)
    if entry is not None and entry.schema is schema and entry.fragments is fragments:
        return entry
    if key not in _WATCHED:
        try:
            # the id stays this operation's as long as it lives; when it dies, so do its plans
            weakref.finalize(operation, _forget, key)
        except TypeError:
            return None
        _WATCHED.add(key)
    entry = _OperationPlans(schema, fragments, _condition_names(operation, fragments))
    if key not in _PLANS:
        while len(_PLANS) >= MAX_OPERATIONS:
            _PLANS.pop(next(iter(_PLANS)))
    _PLANS[key] = entry
    return entry


def _condition_names(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[str, ...]:
    """The variables that @skip/@include arguments in the operation and its fragments refer to."""
    names: set[str] = set()

    def directives(nodes: tuple[DirectiveNode, ...] | None) -> None:
        for directive in nodes or ():
            if directive.name.value in ("skip", "include"):
                for argument in directive.arguments or ():
                    _variables(argument, names)

    def walk(selection_set: SelectionSetNode | None) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            directives(selection.directives)
            if isinstance(selection, FieldNode | InlineFragmentNode):
                walk(selection.selection_set)

    walk(operation.selection_set)
    for fragment in fragments.values():
        walk(fragment.selection_set)
    return tuple(sorted(names))


def _variables(argument: ArgumentNode, into: set[str]) -> None:
    stack: list[Any] = [argument.value]
    while stack:
        value = stack.pop()
        if isinstance(value, VariableNode):
            into.add(value.name.value)
        else:
            stack.extend(getattr(value, "values", None) or ())
            stack.extend(field.value for field in getattr(value, "fields", None) or ())


def included(node: FieldNode | InlineFragmentNode | FragmentSpreadNode, variables: VariableValues | None) -> bool:
    """Whether the node's @skip / @include (if any) let it through with these variable values."""
    if not node.directives:
        return True
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip and skip.get("if") is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return not (include and include.get("if") is False)


def path_of(link: Link) -> list[str | int]:
    """A linked response path as a list (built only when an error needs it)."""
    path: list[str | int] = []
    while link is not None:
        link, key = link
        path.append(key)
    path.reverse()
    return path


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
        variant = self._variant()
        plan = variant.roots.get(root.name)
        if plan is None:
            plan = variant.roots[root.name] = self._compile(root, self.operation.selection_set)
        shaped = self._run(plan, data, None)
        return None if shaped is _INVALID else shaped  # type: ignore[return-value]

    def _variant(self) -> _Variant:
        """The plans for this operation under this request's @skip/@include values and removals."""
        plans = _operation_plans(self.schema, self.operation, self.fragments)
        if plans is None:
            return _Variant()
        names = plans.condition_names
        if names:
            coerced = getattr(self.variables, "coerced", None)
            if not isinstance(coerced, Mapping):
                return _Variant()
            key: Any = (self.nulled, tuple((name in coerced, coerced.get(name)) for name in names))
        else:
            key = self.nulled
        try:
            variant = plans.variants.get(key)
        except TypeError:  # an unhashable condition value: plan this request alone
            return _Variant()
        if variant is None:
            while len(plans.variants) >= MAX_VARIANTS:
                plans.variants.pop(next(iter(plans.variants)))
            variant = plans.variants[key] = _Variant()
        return variant

    # -- compiling ------------------------------------------------------------------------------------

    def _included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        return included(node, self.variables)

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

    def _compile(self, runtime: GraphQLObjectType, selection_set: SelectionSetNode | list[FieldNode]) -> _Plan:
        if isinstance(selection_set, list):
            grouped: dict[str, list[FieldNode]] = {}
            for node in selection_set:
                if node.selection_set is not None:
                    self._collect(runtime, node.selection_set, grouped, set())
        else:
            grouped = self._collect(runtime, selection_set, {}, set())
        entries: list[tuple[str, int, Any]] = []
        for key, nodes in grouped.items():
            name = nodes[0].name.value
            if name == "__typename":
                entries.append((key, _CONST, runtime.name))
                continue
            field_def = runtime.fields.get(name)
            if field_def is None:
                if name in _META_FIELDS:
                    entries.append((key, _GET, None))
                continue
            if self.nulled and all(id(node) in self.nulled for node in nodes):
                non_null = isinstance(field_def.type, GraphQLNonNull)
                entries.append((key, _STOP, None) if non_null else (key, _CONST, None))
                continue
            compiled = _compile_type(field_def.type, nodes)
            inner_kind = compiled.inner.kind if compiled.inner is not None else None
            if compiled.kind == _K_LEAF:
                entries.append((key, _GET, None))
            elif compiled.kind == _K_OBJECT:
                entries.append((key, _OBJECT, compiled))
            elif compiled.kind == _K_LIST:
                entries.append((key, _LIST, compiled))
            elif compiled.kind == _K_NON_NULL and inner_kind == _K_LEAF:
                entries.append((key, _NN_GET, None))
            elif compiled.kind == _K_NON_NULL and inner_kind == _K_OBJECT:
                entries.append((key, _NN_OBJECT, compiled))
            elif compiled.kind == _K_NON_NULL and inner_kind == _K_LIST:
                entries.append((key, _NN_LIST, compiled))
            else:
                entries.append((key, _COMPLETE, compiled))
        return _Plan(entries)

    def _object_plan(self, compiled: _Type) -> _Plan:
        assert isinstance(compiled.type, GraphQLObjectType) and compiled.nodes is not None
        plan = compiled.plan = self._compile(compiled.type, compiled.nodes)
        return plan

    # -- shaping --------------------------------------------------------------------------------------

    def _run(self, plan: _Plan, source: JSON, link: Link) -> JSON | object:
        """The shaped object, or _INVALID when a non-null field of it is null. Each action does what
        `_complete` would do for the field's type, the common cases without the general walk."""
        get = source.get
        keys = plan.keys
        if keys is not None:
            result: JSON = dict(zip(keys, map(get, keys), strict=True))
            for key in plan.required:
                if result[key] is None:
                    break  # the loop below reports it
            else:
                return result
        result = {}
        for key, action, arg in plan.entries:
            if action == _GET:
                result[key] = get(key)
            elif action == _NN_GET:
                value = get(key)
                if value is None:
                    self._null_error(path_of((link, key)))
                    return _INVALID
                result[key] = value
            elif action == _NN_OBJECT:
                value = get(key)
                if value.__class__ is dict:
                    inner = arg.inner
                    shaped = self._run(inner.plan or self._object_plan(inner), value, (link, key))
                    if shaped is _INVALID:
                        self._null_error(path_of((link, key)))
                        return _INVALID
                    result[key] = shaped
                else:
                    value = self._complete(arg, value, (link, key))
                    if value is _INVALID:
                        return _INVALID
                    result[key] = value
            elif action == _NN_LIST:
                value = get(key)
                if value.__class__ is list:
                    items = self._list(arg.inner, value, (link, key))
                    if items is None:
                        self._null_error(path_of((link, key)))
                        return _INVALID
                    result[key] = items
                else:
                    value = self._complete(arg, value, (link, key))
                    if value is _INVALID:
                        return _INVALID
                    result[key] = value
            elif action == _OBJECT:
                value = get(key)
                if value.__class__ is dict:
                    shaped = self._run(arg.plan or self._object_plan(arg), value, (link, key))
                    result[key] = None if shaped is _INVALID else shaped
                else:
                    result[key] = self._complete(arg, value, (link, key))
            elif action == _LIST:
                value = get(key)
                if value.__class__ is list:
                    result[key] = self._list(arg, value, (link, key))
                else:
                    result[key] = self._complete(arg, value, (link, key))
            elif action == _CONST:
                result[key] = arg
            elif action == _COMPLETE:
                value = self._complete(arg, get(key), (link, key))
                if value is _INVALID:
                    return _INVALID
                result[key] = value
            else:
                return _INVALID
        return result

    def _complete(self, compiled: _Type, value: Any, link: Link) -> Any:
        kind = compiled.kind
        if kind == _K_NON_NULL:
            assert compiled.inner is not None
            completed = self._complete(compiled.inner, value, link)
            if completed is None or completed is _INVALID:
                if completed is None:
                    self._null_error(path_of(link))
                return _INVALID
            return completed
        if value is None:
            return None
        if kind == _K_LIST:
            if not isinstance(value, list):
                self._error("a subgraph returned a non-list value for a list field", path_of(link))
                return None
            return self._list(compiled, value, link)
        if kind == _K_LEAF:
            return value
        if not isinstance(value, dict):
            self._error("a subgraph returned a non-object value for an object field", path_of(link))
            return None
        if kind == _K_OBJECT:
            plan = compiled.plan or self._object_plan(compiled)
        else:
            typename = str(value.get("__typename"))
            if typename in compiled.plans:
                found = compiled.plans[typename]
            else:
                assert compiled.type is not None and compiled.nodes is not None
                runtime = self._runtime_type(compiled.type, value)
                found = compiled.plans[typename] = None if runtime is None else self._compile(runtime, compiled.nodes)
            if found is None:
                self._error(f"a subgraph returned an object of unknown type {value.get('__typename')!r}", path_of(link))
                return None
            plan = found
        shaped = self._run(plan, value, link)
        return None if shaped is _INVALID else shaped

    def _list(self, compiled: _Type, value: list[Any], link: Link) -> list[Any] | None:
        """A list value completed against a list type: its items, or None when one is invalid."""
        inner = compiled.inner
        assert inner is not None
        kind = inner.kind
        if kind == _K_LEAF:
            return list(value)
        items: list[Any]
        if kind == _K_NON_NULL:
            inner_kind = inner.inner.kind if inner.inner is not None else None
            if inner_kind == _K_LEAF and None not in value:
                return list(value)
            if inner_kind == _K_OBJECT:
                assert inner.inner is not None
                plan = inner.inner.plan or self._object_plan(inner.inner)
                items = []
                valid = True
                for i, item in enumerate(value):
                    if item.__class__ is dict:
                        shaped = self._run(plan, item, (link, i))
                        if shaped is _INVALID:
                            self._null_error(path_of((link, i)))
                            valid = False
                        items.append(shaped)
                    else:
                        completed = self._complete(inner, item, (link, i))
                        if completed is _INVALID:
                            valid = False
                        items.append(completed)
                return items if valid else None
        elif kind == _K_OBJECT:
            plan = inner.plan or self._object_plan(inner)
            items = []
            for i, item in enumerate(value):
                if item.__class__ is dict:
                    shaped = self._run(plan, item, (link, i))
                    items.append(None if shaped is _INVALID else shaped)
                else:
                    items.append(self._complete(inner, item, (link, i)))
            return items
        items = [self._complete(inner, item, (link, i)) for i, item in enumerate(value)]
        return None if any(item is _INVALID for item in items) else items

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


def _compile_type(type_: GraphQLOutputType, nodes: list[FieldNode]) -> _Type:
    if isinstance(type_, GraphQLNonNull):
        return _Type(_K_NON_NULL, inner=_compile_type(type_.of_type, nodes))
    if isinstance(type_, GraphQLList):
        return _Type(_K_LIST, inner=_compile_type(type_.of_type, nodes))
    if is_leaf_type(type_):
        return _Type(_K_LEAF)
    if isinstance(type_, GraphQLObjectType):
        return _Type(_K_OBJECT, type_=type_, nodes=nodes)
    return _Type(_K_ABSTRACT, type_=type_, nodes=nodes)  # type: ignore[arg-type]


def _related(path: list[str | int], other: list[str | int]) -> bool:
    """Whether one path lies on the other (`@`, in a query path, stands for any list index)."""
    return all(a == b or (b == "@" and isinstance(a, int)) for a, b in zip(path, other, strict=False))
