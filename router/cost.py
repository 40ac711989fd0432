"""Demand control: the static cost estimate of an operation, before any subgraph is called.

The rules are those of the IBM GraphQL cost directives (https://ibm.github.io/graphql-specs/cost-spec.html)
as Apollo's router applies them (demand control, `static_estimated`), scored on the client operation
against the API schema:

* a field costs its `@cost(weight:)`, else the `@cost` of its type, else 1 when it returns an object,
  interface or union and 0 when it returns a scalar or enum; `__typename` costs nothing, and nor do the
  introspection fields `__schema` / `__type` unless `count_introspection` (the router answers them itself);
* a field's selections add to its own cost, and a list field multiplies the sum by its list size: the
  largest slicing argument of its `@listSize` (from a literal, a variable, a variable's default or the
  argument's default; a dotted name such as "page.first" reads into an input object), else the
  `@listSize(assumedSize:)`, else `default_list_size` (10 unless configured);
* `@listSize(sizedFields:)` gives that size to the named list fields right under the field (a Relay
  connection: `users(first: 5) { edges {...} }` has 5 edges);
* each argument given adds its `@cost` weight (or its type's); an input object adds 1 (or its weight) plus
  the cost of the fields given in it, a list adds its weight plus that of each element;
* a mutation adds `mutation_cost` (10) per root field (Apollo adds 10 per mutation operation it sends to
  a subgraph; per root field is the same or more);
* fields skipped with @skip / @include (on fields, inline fragments and spreads) cost nothing; fragments
  on the members of an abstract type are all counted (a sum, not a maximum: an upper bound).

`@listSize(requireOneSlicingArgument:)` (true by default) makes a field without exactly one slicing
argument (given, or defaulted when none is given) an error, as in Apollo: `estimate` raises
`CostEstimationError` (code COST_QUERY_PARSE_FAILURE) unless the model has `enforce_slicing=False`.

The directives are read from the supergraph document (the API schema does not have them): `@cost` and
`@listSize`, `@federation__cost` / `@federation__listSize`, and the names a `@link` to the cost spec
(https://specs.apollo.dev/cost/v0.1) or to the federation spec gives them (imports, `as:` renames, or the
`cost__` / `federation__` prefixes of what it does not import). Weights may be Int, Float or String
("2.5", as in the IBM spec); the estimate is exact (fractions) and rounded up to an int.

Each fragment is scored once (in dependency order, so fragment bombs and long fragment chains cost one
pass), and a fragment cycle contributes nothing past the point where it loops back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldNode,
    FloatValueNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLInputType,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    IntValueNode,
    ListValueNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    SelectionSetNode,
    StringValueNode,
    Undefined,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    ValueNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_input_object_type,
    is_list_type,
    is_object_type,
    parse,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from graphql.utilities import value_from_ast_untyped

from router.limits import fragment_definitions, fragment_order, spread_names
from router.supergraph import Supergraph

# Costs stay ints while the weights are whole numbers (fast), and become exact fractions otherwise.
Cost = int | Fraction

COST_ESTIMATED_TOO_EXPENSIVE = "COST_ESTIMATED_TOO_EXPENSIVE"
COST_QUERY_PARSE_FAILURE = "COST_QUERY_PARSE_FAILURE"
DEFAULT_LIST_SIZE = 10
MUTATION_COST = 10
COST_SPEC = "https://specs.apollo.dev/cost/"
FEDERATION_SPEC = "https://specs.apollo.dev/federation/"


class CostEstimationError(GraphQLError):
    """The operation cannot be costed (a @listSize field without exactly one slicing argument)."""

    def __init__(self, message: str, node: FieldNode) -> None:
        super().__init__(message, node, extensions={"code": COST_QUERY_PARSE_FAILURE})


@dataclass(frozen=True)
class ListSize:
    assumed_size: int | None = None
    slicing_arguments: tuple[str, ...] | None = None
    sized_fields: tuple[str, ...] | None = None
    require_one_slicing_argument: bool = True


@dataclass(frozen=True, eq=False)
class CostModel:
    """The cost directives of a supergraph, and the defaults used where there are none.

    `CostModel()` is the defaults-only model; `CostModel.from_supergraph(...)` reads the directives.
    """

    type_weights: Mapping[str, Cost] = field(default_factory=dict)
    field_weights: Mapping[tuple[str, str], Cost] = field(default_factory=dict)
    argument_weights: Mapping[tuple[str, str, str], Cost] = field(default_factory=dict)
    input_field_weights: Mapping[tuple[str, str], Cost] = field(default_factory=dict)
    list_sizes: Mapping[tuple[str, str], ListSize] = field(default_factory=dict)
    default_list_size: int = DEFAULT_LIST_SIZE
    mutation_cost: int = MUTATION_COST
    count_introspection: bool = False
    enforce_slicing: bool = True

    @classmethod
    def from_supergraph(
        cls, supergraph: Supergraph | DocumentNode | str, *, default_list_size: int = DEFAULT_LIST_SIZE,
        mutation_cost: int = MUTATION_COST, count_introspection: bool = False, enforce_slicing: bool = True,
    ) -> CostModel:
        if isinstance(supergraph, Supergraph):
            document = supergraph.document
        elif isinstance(supergraph, str):
            document = parse(supergraph)
        else:
            document = supergraph
        reader = _DirectiveReader(document)
        return cls(
            type_weights=reader.type_weights, field_weights=reader.field_weights,
            argument_weights=reader.argument_weights, input_field_weights=reader.input_field_weights,
            list_sizes=reader.list_sizes, default_list_size=default_list_size, mutation_cost=mutation_cost,
            count_introspection=count_introspection, enforce_slicing=enforce_slicing,
        )


# reading the directives -------------------------------------------------------------------------------


def _arguments(directive: DirectiveNode) -> dict[str, ValueNode]:
    return {a.name.value: a.value for a in directive.arguments or ()}


def _string(value: ValueNode | None) -> str | None:
    return value.value if isinstance(value, StringValueNode) else None


def _strings(value: ValueNode | None) -> tuple[str, ...] | None:
    if isinstance(value, StringValueNode):  # input coercion: one item for a list
        return (value.value,)
    if isinstance(value, ListValueNode):
        return tuple(v.value for v in value.values if isinstance(v, StringValueNode))
    return None


def _weight(value: ValueNode | None) -> Cost | None:
    try:
        if isinstance(value, IntValueNode | FloatValueNode | StringValueNode):
            weight = Fraction(value.value.strip())
            return weight.numerator if weight.denominator == 1 else weight
    except (ValueError, ZeroDivisionError):
        return None
    return None


def directive_names(document: DocumentNode) -> tuple[frozenset[str], frozenset[str]]:
    """The names `@cost` and `@listSize` go by in a supergraph (or subgraph) document."""
    cost = {"cost", "federation__cost"}
    list_size = {"listSize", "federation__listSize"}
    renamed: set[str] = set()
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for directive in definition.directives or ():
            if directive.name.value not in ("link", "core"):
                continue
            arguments = _arguments(directive)
            url = _string(arguments.get("url")) or _string(arguments.get("feature")) or ""
            if not url.startswith((COST_SPEC, FEDERATION_SPEC)):
                continue
            prefix = _string(arguments.get("as")) or ("cost" if url.startswith(COST_SPEC) else "federation")
            cost.add(f"{prefix}__cost")
            list_size.add(f"{prefix}__listSize")
            imports = arguments.get("import")
            for item in imports.values if isinstance(imports, ListValueNode) else ():
                original = local = None
                if isinstance(item, StringValueNode):
                    original = local = item.value
                elif isinstance(item, ObjectValueNode):
                    fields = {f.name.value: f.value for f in item.fields}
                    original = _string(fields.get("name"))
                    local = _string(fields.get("as")) or original
                if original is None or local is None:
                    continue
                original, local = original.lstrip("@"), local.lstrip("@")
                target = cost if original == "cost" else list_size if original == "listSize" else None
                if target is not None:
                    target.add(local)
                    if local != original:
                        renamed.add(original)
    return frozenset(cost - renamed), frozenset(list_size - renamed)


_FIELDED = (ObjectTypeDefinitionNode, ObjectTypeExtensionNode, InterfaceTypeDefinitionNode,
            InterfaceTypeExtensionNode)
_TYPES = (*_FIELDED, InputObjectTypeDefinitionNode, InputObjectTypeExtensionNode, EnumTypeDefinitionNode,
          EnumTypeExtensionNode, ScalarTypeDefinitionNode, ScalarTypeExtensionNode, UnionTypeDefinitionNode,
          UnionTypeExtensionNode)


class _DirectiveReader:
    def __init__(self, document: DocumentNode) -> None:
        self.cost_names, self.list_size_names = directive_names(document)
        self.type_weights: dict[str, Cost] = {}
        self.field_weights: dict[tuple[str, str], Cost] = {}
        self.argument_weights: dict[tuple[str, str, str], Cost] = {}
        self.input_field_weights: dict[tuple[str, str], Cost] = {}
        self.list_sizes: dict[tuple[str, str], ListSize] = {}
        for definition in document.definitions:
            if isinstance(definition, _TYPES):
                self._read_type(definition)

    def _cost(self, node: Any) -> Cost | None:
        for directive in getattr(node, "directives", None) or ():
            if directive.name.value in self.cost_names:
                weight = _weight(_arguments(directive).get("weight"))
                if weight is not None:
                    return weight
        return None

    def _list_size(self, node: Any) -> ListSize | None:
        for directive in getattr(node, "directives", None) or ():
            if directive.name.value in self.list_size_names:
                arguments = _arguments(directive)
                assumed = arguments.get("assumedSize")
                require = arguments.get("requireOneSlicingArgument")
                return ListSize(
                    assumed_size=int(assumed.value) if isinstance(assumed, IntValueNode) else None,
                    slicing_arguments=_strings(arguments.get("slicingArguments")),
                    sized_fields=_strings(arguments.get("sizedFields")),
                    require_one_slicing_argument=require.value if isinstance(require, BooleanValueNode) else True,
                )
        return None

    def _read_type(self, definition: Any) -> None:
        name = definition.name.value
        weight = self._cost(definition)
        if weight is not None:
            self.type_weights[name] = weight
        input_object = isinstance(definition, InputObjectTypeDefinitionNode | InputObjectTypeExtensionNode)
        for field_node in getattr(definition, "fields", None) or ():
            field_name = field_node.name.value
            weight = self._cost(field_node)
            if weight is not None:
                (self.input_field_weights if input_object else self.field_weights)[(name, field_name)] = weight
            if input_object:
                continue
            list_size = self._list_size(field_node)
            if list_size is not None:
                self.list_sizes[(name, field_name)] = list_size
            for argument in field_node.arguments or ():
                weight = self._cost(argument)
                if weight is not None:
                    self.argument_weights[(name, field_name, argument.name.value)] = weight


# estimating -------------------------------------------------------------------------------------------



@dataclass
class _Scored:
    """The cost of a selection set, kept open to a parent's `sizedFields`: `base` scores every list field
    with its own size; `lists[name]` is (sum of per-item costs, sum of size * per-item cost) of the list
    fields called `name` at this level, so a parent's size can replace theirs."""

    base: Cost = 0
    lists: dict[str, tuple[Cost, Cost]] = field(default_factory=dict)
    fields: int = 0

    def add(self, other: _Scored) -> None:
        self.base += other.base
        self.fields += other.fields
        for name, (per_item, counted) in other.lists.items():
            mine = self.lists.get(name, (0, 0))
            self.lists[name] = (mine[0] + per_item, mine[1] + counted)

    def sized(self, size: int | None, sized_fields: tuple[str, ...] | None) -> Cost:
        total = self.base
        if size is not None and sized_fields:
            for name in set(sized_fields):
                if name in self.lists:
                    per_item, counted = self.lists[name]
                    total += size * per_item - counted
        return total


_NOTHING = _Scored()


class _Estimator:
    def __init__(self, model: CostModel, schema: GraphQLSchema, document: DocumentNode,
                 operation: OperationDefinitionNode, variables: Mapping[str, Any] | None) -> None:
        self.model = model
        self.schema = schema
        self.operation = operation
        # Raw or coerced variables; a variable not given takes its default from the operation.
        self.variables: dict[str, Any] = {}
        for definition in operation.variable_definitions or ():
            if definition.default_value is not None:
                self.variables[definition.variable.name.value] = value_from_ast_untyped(definition.default_value)
        self.variables.update(variables or {})
        self.definitions = fragment_definitions(document)
        self.fragments: dict[str, _Scored] = {}

    def run(self) -> Cost:
        for name in fragment_order(self.definitions, spread_names(self.operation.selection_set)):
            definition = self.definitions[name]
            self.fragments[name] = self._selection_set(
                definition.selection_set, self.schema.get_type(definition.type_condition.name.value))
        root_type = self.schema.get_root_type(self.operation.operation)
        scored = self._selection_set(self.operation.selection_set, root_type)
        total = scored.base
        if self.operation.operation == OperationType.MUTATION:
            total += self.model.mutation_cost * scored.fields
        return total

    def _value(self, node: ValueNode) -> Any:
        """The Python value of an argument (None when null or a variable that is not given)."""
        value = value_from_ast_untyped(node, self.variables)
        return None if value is Undefined else value

    def _skipped(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name in ("skip", "include"):
                condition = next((self._value(a.value) for a in directive.arguments or ()
                                  if a.name.value == "if"), None)
                if (name == "skip" and condition is True) or (name == "include" and condition is False):
                    return True
        return False

    def _field_definition(self, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
        if name == "__schema" and parent is self.schema.query_type:
            return SchemaMetaFieldDef
        if name == "__type" and parent is self.schema.query_type:
            return TypeMetaFieldDef
        fields = getattr(parent, "fields", None)
        return fields.get(name) if fields is not None else None

    def _selection_set(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> _Scored:
        scored = _Scored()
        for selection in selection_set.selections:
            if self._skipped(selection):
                continue
            if isinstance(selection, FieldNode):
                self._field(selection, parent, scored)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                scope = self.schema.get_type(condition.name.value) if condition is not None else parent
                scored.add(self._selection_set(selection.selection_set, scope))
            elif isinstance(selection, FragmentSpreadNode):
                scored.add(self.fragments.get(selection.name.value, _NOTHING))
        return scored

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None, scored: _Scored) -> None:
        name = node.name.value
        if name == "__typename" or (name.startswith("__") and not self.model.count_introspection):
            return
        definition = self._field_definition(parent, name)
        if definition is None or parent is None:
            return  # not in the schema: validation has refused it already
        scored.fields += 1
        named = get_named_type(definition.type)
        weight = self.model.field_weights.get((parent.name, name))
        if weight is None:
            weight = self.model.type_weights.get(named.name)
        if weight is None:
            weight = 1 if is_object_type(named) or is_abstract_type(named) else 0
        list_size = self.model.list_sizes.get((parent.name, name))
        expected = self._expected_size(list_size, node, definition, parent.name) if list_size else None
        children = self._selection_set(node.selection_set, named) if node.selection_set else _NOTHING
        per_item = weight + children.sized(expected, list_size.sized_fields if list_size else None)
        arguments = self._arguments_cost(node, definition, parent.name)
        if is_list_type(get_nullable_type(definition.type)):
            size = expected if expected is not None else self.model.default_list_size
            scored.base += size * per_item + arguments
            mine = scored.lists.get(name, (0, 0))
            scored.lists[name] = (mine[0] + per_item, mine[1] + size * per_item)
        else:
            scored.base += per_item + arguments

    # list sizes ---------------------------------------------------------------------------------------

    def _slicing_value(self, path: str, node: FieldNode, definition: GraphQLField) -> tuple[bool, Any]:
        """(given in the operation, value) of a slicing argument ("first", or "page.first")."""
        head, *rest = path.split(".")
        given = next((a.value for a in node.arguments or () if a.name.value == head), None)
        value: Any = None
        if given is not None:
            value = self._value(given)
        from_query = value is not None
        if not from_query:
            argument = definition.args.get(head)
            value = _default(argument) if argument is not None else None
        for key in rest:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, bool) or not isinstance(value, int):
            return from_query, None
        return from_query, max(value, 0)

    def _expected_size(self, list_size: ListSize, node: FieldNode, definition: GraphQLField,
                       parent: str) -> int | None:
        if not list_size.slicing_arguments:
            return list_size.assumed_size
        given: list[int] = []
        defaulted: list[int] = []
        for path in list_size.slicing_arguments:
            from_query, value = self._slicing_value(path, node, definition)
            if value is not None:
                (given if from_query else defaulted).append(value)
        values = given or defaulted
        if list_size.require_one_slicing_argument and self.model.enforce_slicing and (
                len(given) > 1 or not values):
            names = ", ".join(f'"{n}"' for n in list_size.slicing_arguments)
            raise CostEstimationError(
                f"{parent}.{node.name.value} needs exactly one of its slicing arguments {names}, "
                f"found {len(given)}", node)
        return max(values) if values else list_size.assumed_size

    # arguments ----------------------------------------------------------------------------------------

    def _arguments_cost(self, node: FieldNode, definition: GraphQLField, parent: str) -> Cost:
        total: Cost = 0
        for argument in node.arguments or ():
            argument_definition = definition.args.get(argument.name.value)
            if argument_definition is None:
                continue
            weight = self.model.argument_weights.get((parent, node.name.value, argument.name.value))
            if weight is None:
                weight = self.model.type_weights.get(get_named_type(argument_definition.type).name)
            total += self._input_cost(self._value(argument.value), argument_definition.type, weight)
        return total

    def _input_cost(self, value: Any, type_: GraphQLInputType, weight: Cost | None) -> Cost:
        if value is None or value is Undefined:
            return 0
        nullable = get_nullable_type(type_)
        if is_list_type(nullable):
            if isinstance(value, list):
                total = weight if weight is not None else 0
                for item in value:
                    total += self._input_cost(item, nullable.of_type, weight)
                return total
            return self._input_cost(value, nullable.of_type, weight)
        if is_input_object_type(nullable) and isinstance(value, dict):
            total = weight if weight is not None else 1
            for key, item in value.items():
                input_field = nullable.fields.get(key)
                if input_field is None:
                    continue
                item_weight = self.model.input_field_weights.get((nullable.name, key))
                if item_weight is None:
                    item_weight = self.model.type_weights.get(get_named_type(input_field.type).name)
                total += self._input_cost(item, input_field.type, item_weight)
            return total
        return weight if weight is not None else 0


def _default(argument: GraphQLArgument) -> Any:
    """The default value of a schema argument, as a plain Python value (None without one)."""
    default = getattr(argument, "default", None)  # graphql-core 3.3: GraphQLDefaultInput
    if default is not None:
        value = value_from_ast_untyped(default.literal) if default.literal is not None else default.value
    else:
        value = argument.default_value
    return None if value is Undefined else value


def estimate(
    model: CostModel, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The estimated cost of `operation` (parsed and validated against `schema`, the API schema), rounded
    up. `variables` may be raw or coerced. Raises CostEstimationError when a @listSize field breaks
    requireOneSlicingArgument (see the module docstring)."""
    total = _Estimator(model, schema, document, operation, variables).run()
    return max(math.ceil(total), 0)


def check_cost(estimate: int, max_cost: int | None) -> GraphQLError | None:
    """The COST_ESTIMATED_TOO_EXPENSIVE error of an estimate over the maximum (equal passes; None: no
    maximum)."""
    if max_cost is None or estimate <= max_cost:
        return None
    return GraphQLError(
        f"the operation's estimated cost {estimate} is over the maximum of {max_cost}",
        extensions={"code": COST_ESTIMATED_TOO_EXPENSIVE, "measured": estimate, "limit": max_cost},
    )


__all__ = [
    "COST_ESTIMATED_TOO_EXPENSIVE",
    "COST_QUERY_PARSE_FAILURE",
    "DEFAULT_LIST_SIZE",
    "MUTATION_COST",
    "CostEstimationError",
    "CostModel",
    "ListSize",
    "check_cost",
    "directive_names",
    "estimate",
]
