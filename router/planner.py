"""The query planner: an operation over the API schema in, a tree of subgraph fetches out.

It knows no domain. Every decision comes from the supergraph model: which subgraphs resolve a field,
which keys let another subgraph take over an entity, which fields a @requires needs first.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_composite_type,
)

from router.fieldset import parse_fieldset
from router.plan import LIST_MARK, FetchNode, PlanningError, QueryPlan, SubField, SubSelection
from router.supergraph import Key, Supergraph, TypeModel

INTROSPECTION_ROOT_FIELDS = {"__schema", "__type"}


def list_depth(type_: GraphQLOutputType) -> int:
    depth = 0
    while True:
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        elif isinstance(type_, GraphQLList):
            depth += 1
            type_ = type_.of_type
        else:
            return depth


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) != 1:
            raise ValueError("the document has several operations: say which one with operationName")
        return operations[0]
    for operation in operations:
        if operation.name is not None and operation.name.value == operation_name:
            return operation
    raise ValueError(f"the document has no operation named {operation_name!r}")


class QueryPlanner:
    def __init__(self, supergraph: Supergraph) -> None:
        self.supergraph = supergraph
        self.schema = supergraph.api_schema

    def plan(self, document: DocumentNode, operation_name: str | None = None) -> QueryPlan:
        return _PlanBuilder(self, document, select_operation(document, operation_name)).build()


class _PlanBuilder:
    def __init__(self, planner: QueryPlanner, document: DocumentNode, operation: OperationDefinitionNode) -> None:
        self.supergraph = planner.supergraph
        self.schema = planner.schema
        self.operation = operation
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.ids = itertools.count()
        self.kind = operation.operation.value

    def build(self) -> QueryPlan:
        root_type = self.schema.get_root_type(self.operation.operation)
        if root_type is None:
            raise PlanningError(f"the schema has no {self.kind} type")
        roots: list[FetchNode] = []
        introspection = False
        for field_node in self._root_fields(root_type, self.operation.selection_set):
            root_field = field_node.name.value
            if root_field == "__typename":
                continue
            if root_field in INTROSPECTION_ROOT_FIELDS:
                introspection = True
                continue
            graphs = self._model(root_type.name).resolving_graphs(root_field)
            if not graphs:
                raise PlanningError(f"no subgraph resolves {root_type.name}.{root_field}")
            node = self._root_node(roots, graphs, root_type.name)
            self._plan_field(node, root_type, field_node, node.selection, ())
        variables = {v.variable.name.value: v for v in self.operation.variable_definitions or []}
        name = self.operation.name.value if self.operation.name else None
        for root in roots:
            for node in root.walk():
                node.finish(self.kind, name, variables)
        return QueryPlan(kind=self.kind, operation=self.operation, roots=roots, introspection=introspection)

    def _root_node(self, roots: list[FetchNode], graphs: Sequence[str], root_type: str) -> FetchNode:
        if self.kind == "mutation":
            # Mutations run in document order: only the last fetch may take the next field.
            if roots and roots[-1].graph in graphs:
                return roots[-1]
        else:
            for root in roots:
                if root.graph in graphs:
                    return root
        node = FetchNode(id=next(self.ids), graph=graphs[0], parent_type=root_type, path=(), entity=False)
        roots.append(node)
        return node

    def _root_fields(self, root_type: GraphQLObjectType, selection_set: SelectionSetNode) -> list[FieldNode]:
        fields: list[FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                fields += self._root_fields(root_type, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fields += self._root_fields(root_type, self.fragments[selection.name.value].selection_set)
        return fields

    def _model(self, type_name: str) -> TypeModel:
        try:
            return self.supergraph.types[type_name]
        except KeyError as exc:
            raise PlanningError(f"type {type_name} is not in the supergraph") from exc

    # selections ------------------------------------------------------------------------------------

    def _plan_selection_set(
        self, node: FetchNode, parent_type: GraphQLCompositeType, selection_set: SelectionSetNode,
        target: SubSelection, path: tuple[str, ...],
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._plan_field(node, parent_type, selection, target, path)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else parent_type.name
                self._plan_fragment(node, parent_type, condition, selection.selection_set,
                                    tuple(selection.directives or ()), target, path)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                self._plan_fragment(node, parent_type, fragment.type_condition.name.value, fragment.selection_set,
                                    tuple(selection.directives or ()), target, path)

    def _plan_fragment(
        self, node: FetchNode, parent_type: GraphQLCompositeType, condition: str, selection_set: SelectionSetNode,
        directives: tuple, target: SubSelection, path: tuple[str, ...],
    ) -> None:
        condition_type = self.schema.get_type(condition)
        if not is_composite_type(condition_type):
            raise PlanningError(f"fragment condition {condition} is not a composite type")
        assert isinstance(condition_type, GraphQLObjectType) or is_abstract_type(condition_type)
        if isinstance(parent_type, GraphQLObjectType):
            # On a concrete type the fragment either always applies (validation guarantees overlap) or
            # names the type itself: its fields belong to the parent selection.
            inner = target.fragment(parent_type.name, directives) if directives else target
            self._plan_selection_set(node, parent_type, selection_set, inner, path)
            return
        target.add_typename()
        if condition_type is parent_type:
            inner = target.fragment(condition, directives) if directives else target
            self._plan_selection_set(node, parent_type, selection_set, inner, path)
            return
        for runtime in self._possible_types(condition_type, parent_type):
            if node.graph not in self._model(runtime.name).graphs:
                continue
            self._plan_selection_set(node, runtime, selection_set, target.fragment(runtime.name, directives), path)

    def _possible_types(
        self, condition: GraphQLCompositeType, parent: GraphQLCompositeType
    ) -> list[GraphQLObjectType]:
        def possible(t: GraphQLCompositeType) -> list[GraphQLObjectType]:
            if isinstance(t, GraphQLObjectType):
                return [t]
            return list(self.schema.get_possible_types(t))

        parent_names = {t.name for t in possible(parent)}
        return [t for t in possible(condition) if t.name in parent_names]

    def _plan_field(
        self, node: FetchNode, parent_type: GraphQLCompositeType, field_node: FieldNode,
        target: SubSelection, path: tuple[str, ...],
    ) -> None:
        name = field_node.name.value
        alias = field_node.alias.value if field_node.alias else None
        if name == "__typename":
            target.add(SubField("__typename", alias, directives=tuple(field_node.directives or ())))
            return
        field_def = parent_type.fields.get(name)  # type: ignore[union-attr]
        if field_def is None:
            raise PlanningError(f"{parent_type.name} has no field {name}")
        model = self._model(parent_type.name)
        graphs = model.resolving_graphs(name)
        if node.graph in graphs or (is_abstract_type(parent_type) and node.graph in model.graphs and not graphs):
            self._add_field(node, field_node, field_def.type, target, path)
            return
        if not graphs:
            raise PlanningError(f"no subgraph resolves {parent_type.name}.{name}")
        if not isinstance(parent_type, GraphQLObjectType):
            raise PlanningError(
                f"{parent_type.name}.{name} is not resolvable in {node.graph}; fetching an abstract type's field "
                "from another subgraph needs a type condition"
            )
        target_graph, key = self._route(node.graph, model, graphs, name)
        child = node.child_for(target_graph, parent_type.name, path, next(self.ids))
        representation = f"__typename {key.fields}"
        required = model.source(name, target_graph)
        if required is not None and required.requires:
            representation += " " + required.requires
        fieldset = parse_fieldset(representation)
        self._plan_selection_set(node, parent_type, fieldset, target, path)
        child.requires.merge(_subselection_of(fieldset))
        self._plan_field(child, parent_type, field_node, child.selection, path)

    def _add_field(
        self, node: FetchNode, field_node: FieldNode, field_type: GraphQLOutputType, target: SubSelection,
        path: tuple[str, ...],
    ) -> None:
        named = get_named_type(field_type)
        composite = is_composite_type(named)
        sub = target.add(SubField(
            field_node.name.value,
            field_node.alias.value if field_node.alias else None,
            tuple(field_node.arguments or ()),
            tuple(field_node.directives or ()),
            SubSelection() if composite else None,
        ))
        if composite and field_node.selection_set is not None:
            assert sub.selection is not None
            if is_abstract_type(named):
                sub.selection.add_typename()
            child_path = path + (sub.response_key,) + (LIST_MARK,) * list_depth(field_type)
            self._plan_selection_set(node, named, field_node.selection_set, sub.selection, child_path)  # type: ignore[arg-type]

    def _route(self, current: str, model: TypeModel, graphs: Sequence[str], field_name: str) -> tuple[str, Key]:
        """Pick the subgraph that takes over the entity for `field_name`, and the key to hand it over by:
        a resolvable key in the target whose fields the current subgraph can provide."""
        for graph in graphs:
            for key in model.keys_in(graph, resolvable_only=True):
                fields = [s.name.value for s in key.selection.selections if isinstance(s, FieldNode)]
                if all(current in model.resolving_graphs(f) for f in fields):
                    return graph, key
        raise PlanningError(
            f"{model.name}.{field_name} lives in {', '.join(graphs)}, but {current} cannot provide any of its "
            f"resolvable keys there ({', '.join(k.fields for k in model.keys) or 'no keys'})"
        )


def _subselection_of(selection_set: SelectionSetNode) -> SubSelection:
    result = SubSelection()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            inner = _subselection_of(selection.selection_set) if selection.selection_set else None
            result.add(SubField(selection.name.value, selection=inner))
    return result
