"""The query planner: an operation over the API schema in, a graph of subgraph fetches out.

It knows no domain. Every decision comes from the supergraph model: which subgraphs resolve a field
(given the request's progressive-override labels), which keys let another subgraph take over an
entity, which fields a @requires needs first, which fields a @provides makes local.

The walk keeps a current fetch. A field the current subgraph can answer joins that fetch; any other
field opens (or joins) an entity fetch at the same response path in a subgraph that answers it. The
representation it needs (__typename, a key, the @requires fields) is itself planned in the current
fetch, and where some of it can only come from other fetches, the new fetch waits for those.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLUnionType,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_composite_type,
)

from router.fieldset import parse_fieldset
from router.plan import LIST_MARK, FetchNode, PlanningError, QueryPlan, SubField, SubSelection
from router.supergraph import NO_LABELS, Key, Supergraph, TypeModel

INTROSPECTION_ROOT_FIELDS = {"__schema", "__type"}
MAX_DEPTH = 64


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

    def plan(
        self, document: DocumentNode, operation_name: str | None = None, labels: frozenset[str] = NO_LABELS
    ) -> QueryPlan:
        return _PlanBuilder(self, document, select_operation(document, operation_name), labels).build()


Providers = set[FetchNode]


class _PlanBuilder:
    def __init__(
        self, planner: QueryPlanner, document: DocumentNode, operation: OperationDefinitionNode,
        labels: frozenset[str],
    ) -> None:
        self.supergraph = planner.supergraph
        self.schema = planner.schema
        self.operation = operation
        self.labels = labels
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.ids = itertools.count()
        self.kind = operation.operation.value
        self.depth = 0

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
            graphs = self._model(root_type.name).resolving_graphs(root_field, self.labels)
            if not graphs:
                raise PlanningError(f"no subgraph resolves {root_type.name}.{root_field}")
            node = self._root_node(roots, graphs, root_type.name)
            self._plan_field(node, root_type, field_node, node.selection, (), None)
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
        target: SubSelection, path: tuple[str, ...], provided: SelectionSetNode | None,
    ) -> Providers:
        providers: Providers = set()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                providers |= self._plan_field(node, parent_type, selection, target, path, provided)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else parent_type.name
                providers |= self._plan_fragment(node, parent_type, condition, selection.selection_set,
                                                 tuple(selection.directives or ()), target, path, provided)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                providers |= self._plan_fragment(
                    node, parent_type, fragment.type_condition.name.value, fragment.selection_set,
                    tuple(selection.directives or ()), target, path, provided)
        return providers

    def _plan_fragment(
        self, node: FetchNode, parent_type: GraphQLCompositeType, condition: str, selection_set: SelectionSetNode,
        directives: tuple[DirectiveNode, ...], target: SubSelection, path: tuple[str, ...],
        provided: SelectionSetNode | None,
    ) -> Providers:
        condition_type = self.schema.get_type(condition)
        if not isinstance(condition_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            raise PlanningError(f"fragment condition {condition} is not a composite type")
        if isinstance(parent_type, GraphQLObjectType):
            # On a concrete type the fragment applies whenever validation let it through.
            inner = target.fragment(parent_type.name, directives) if directives else target
            return self._plan_selection_set(node, parent_type, selection_set, inner, path, provided)
        if self._is_interface_object_here(node, parent_type) and condition_type is not parent_type:
            # This subgraph sees the interface as an object: concrete types come from a subgraph
            # that knows them, through the interface's key.
            child = self._interface_jump(node, parent_type, None, target, path)
            return self._plan_fragment(child, parent_type, condition, selection_set, directives,
                                       child.selection.fragment(parent_type.name), path, None) | {child}
        target.add_typename()
        if condition_type is parent_type:
            inner = target.fragment(condition, directives) if directives else target
            return self._plan_selection_set(node, parent_type, selection_set, inner, path, provided)
        providers: Providers = set()
        for runtime in self._runtime_types(node.graph, parent_type):
            if not self._applies(condition_type, runtime):
                continue
            inner = target.fragment(runtime.name, directives)
            providers |= self._plan_selection_set(node, runtime, selection_set, inner, path, provided)
        return providers

    def _applies(self, condition: GraphQLCompositeType, runtime: GraphQLObjectType) -> bool:
        if isinstance(condition, GraphQLObjectType):
            return condition is runtime
        return self.schema.is_sub_type(condition, runtime)

    def _runtime_types(self, graph: str, abstract: GraphQLCompositeType) -> list[GraphQLObjectType]:
        """The object types a subgraph can return where the schema says `abstract`."""
        assert isinstance(abstract, GraphQLInterfaceType | GraphQLUnionType)
        model = self._model(abstract.name)
        found = []
        for runtime in self.schema.get_possible_types(abstract):
            runtime_model = self._model(runtime.name)
            if graph not in runtime_model.defining_graphs():
                continue
            if isinstance(abstract, GraphQLUnionType):
                members = model.union_members.get(graph)
                if members is not None and runtime.name not in members:
                    continue
            else:
                implemented = runtime_model.implements.get(graph)
                if implemented is not None and abstract.name not in implemented:
                    continue
            found.append(runtime)
        return found

    def _is_interface_object_here(self, node: FetchNode, parent_type: GraphQLCompositeType) -> bool:
        return isinstance(parent_type, GraphQLInterfaceType) and node.graph in self._model(
            parent_type.name).interface_object_in

    # fields ----------------------------------------------------------------------------------------

    def _plan_field(
        self, node: FetchNode, parent_type: GraphQLCompositeType, field_node: FieldNode,
        target: SubSelection, path: tuple[str, ...], provided: SelectionSetNode | None,
    ) -> Providers:
        """Plan one field; returns the fetches whose answers hold it (the current one or others)."""
        name = field_node.name.value
        alias = field_node.alias.value if field_node.alias else None
        if name == "__typename":
            if self._is_interface_object_here(node, parent_type):
                child = self._interface_jump(node, parent_type, None, target, path)
                inner = child.selection.fragment(parent_type.name)
                return self._plan_field(child, parent_type, field_node, inner, path, None) | {child}
            target.add(SubField("__typename", alias, directives=tuple(field_node.directives or ())))
            return {node}
        field_def = parent_type.fields.get(name) if not isinstance(parent_type, GraphQLUnionType) else None
        if field_def is None:
            raise PlanningError(f"{parent_type.name} has no field {name}")
        model = self._model(parent_type.name)
        if self._local(node, parent_type, model, name, provided):
            better = self._better_owner(node, parent_type, model, field_node, field_def.type, provided)
            if better is not None:
                return self._entity_jump(node, parent_type, model, [better], field_node, target, path)  # type: ignore[arg-type]
            return self._add_field(node, model, field_node, field_def.type, target, path, provided)
        graphs = model.resolving_graphs(name, self.labels)
        if isinstance(parent_type, GraphQLInterfaceType):
            jumps = [g for g in graphs if model.keys_in(g, resolvable_only=True)]
            if jumps:
                child = self._interface_jump(node, parent_type, jumps, target, path)
                inner = child.selection.fragment(parent_type.name)
                return self._plan_field(child, parent_type, field_node, inner, path, None) | {child}
            providers: Providers = set()
            target.add_typename()
            for runtime in self._runtime_types(node.graph, parent_type):
                inner = target.fragment(runtime.name)
                providers |= self._plan_field(node, runtime, field_node, inner, path, provided)
            return providers
        assert isinstance(parent_type, GraphQLObjectType)
        if not graphs:
            # A field an @interfaceObject adds to an interface is on every implementation, resolved
            # by no subgraph as that type: it is fetched through the interface's key.
            for interface in parent_type.interfaces:
                interface_model = self._model(interface.name)
                jumps = [g for g in interface_model.resolving_graphs(name, self.labels)
                         if interface_model.keys_in(g, resolvable_only=True)]
                if jumps:
                    child = self._interface_jump(node, interface, jumps, target, path,
                                                 type_filter=frozenset({parent_type.name}))
                    inner = child.selection.fragment(interface.name)
                    return self._plan_field(child, interface, field_node, inner, path, None) | {child}
            raise PlanningError(f"no subgraph resolves {parent_type.name}.{name}")
        return self._entity_jump(node, parent_type, model, graphs, field_node, target, path)

    def _local(
        self, node: FetchNode, parent_type: GraphQLCompositeType, model: TypeModel, name: str,
        provided: SelectionSetNode | None,
    ) -> bool:
        """Whether the current fetch can answer the field itself (never fetch what it already can)."""
        graph = node.graph
        if graph in model.resolving_graphs(name, self.labels):
            if isinstance(parent_type, GraphQLInterfaceType) and graph not in model.interface_object_in:
                # An interface field is local only if every implementation this subgraph may return
                # resolves it here too (implementations may differ per subgraph).
                return all(graph in self._model(t.name).resolving_graphs(name, self.labels)
                           for t in self._runtime_types(graph, parent_type))
            return True
        # Federation 1 supergraphs do not list the provided (external) field for the providing
        # subgraph; knowing the type there is enough.
        knows = model.source(name, graph) is not None or graph in model.defining_graphs()
        return knows and _provided_field(provided, name, parent_type.name) is not None

    def _better_owner(
        self, node: FetchNode, parent_type: GraphQLCompositeType, model: TypeModel, field_node: FieldNode,
        field_type: GraphQLOutputType, provided: SelectionSetNode | None,
    ) -> str | None:
        """Another subgraph to take this whole field from, when the current one can answer the field but
        not all of its selection (a shared value type, an object key): one hop at the entity instead of
        one for each missing piece below it."""
        named = get_named_type(field_type)
        if (field_node.selection_set is None or not isinstance(parent_type, GraphQLObjectType)
                or not model.is_entity() or not is_composite_type(named)):
            return None
        name = field_node.name.value
        inner_provided = _provided_field(provided, name, parent_type.name)
        if self._covers(node.graph, named, field_node.selection_set, inner_provided):
            return None
        for graph in model.resolving_graphs(name, self.labels):
            if graph == node.graph or not self._covers(graph, named, field_node.selection_set, None):
                continue
            keys = model.keys_in(graph, resolvable_only=True)
            if any(self._has_fields(node.graph, model, key.selection) for key in keys):
                return graph
        return None

    def _covers(
        self, graph: str, parent_type: GraphQLCompositeType, selection_set: SelectionSetNode,
        provided: SelectionSetNode | None, depth: int = 0,
    ) -> bool:
        """Whether one subgraph answers a whole selection by itself."""
        if depth > 8:
            return False
        model = self.supergraph.types.get(parent_type.name)
        if model is None:
            return False
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name == "__typename":
                    continue
                if isinstance(parent_type, GraphQLUnionType):
                    return False
                field_def = parent_type.fields.get(name)
                if field_def is None:
                    return False
                inner_provided = _provided_field(provided, name, parent_type.name)
                resolvable = graph in model.resolving_graphs(name, self.labels) or (
                    inner_provided is not None
                    and (model.source(name, graph) is not None or graph in model.defining_graphs()))
                if not resolvable:
                    return False
                inner = get_named_type(field_def.type)
                if selection.selection_set is not None and not self._covers(
                        graph, inner, selection.selection_set, inner_provided, depth + 1):
                    return False
            else:
                if isinstance(selection, FragmentSpreadNode):
                    fragment = self.fragments[selection.name.value]
                    condition, inner_set = fragment.type_condition.name.value, fragment.selection_set
                else:
                    assert isinstance(selection, InlineFragmentNode)
                    condition = selection.type_condition.name.value if selection.type_condition else parent_type.name
                    inner_set = selection.selection_set
                condition_type = self.schema.get_type(condition)
                if not isinstance(condition_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                    return False
                if not self._covers(graph, condition_type, inner_set, provided, depth + 1):
                    return False
        return True

    def _add_field(
        self, node: FetchNode, model: TypeModel, field_node: FieldNode, field_type: GraphQLOutputType,
        target: SubSelection, path: tuple[str, ...], provided: SelectionSetNode | None,
    ) -> Providers:
        named = get_named_type(field_type)
        composite = is_composite_type(named)
        sub = target.add(SubField(
            field_node.name.value,
            field_node.alias.value if field_node.alias else None,
            tuple(field_node.arguments or ()),
            tuple(field_node.directives or ()),
            SubSelection() if composite else None,
        ))
        providers: Providers = {node}
        if composite and field_node.selection_set is not None:
            assert sub.selection is not None
            if is_abstract_type(named):
                sub.selection.add_typename()
            inner_provided = _provided_field(provided, field_node.name.value, model.name)
            source = model.source(field_node.name.value, node.graph)
            if source is not None and source.provides:
                inner_provided = _merge_fieldsets(inner_provided, parse_fieldset(source.provides))
            child_path = path + (sub.response_key,) + (LIST_MARK,) * list_depth(field_type)
            self._descend()
            try:
                providers |= self._plan_selection_set(node, named, field_node.selection_set,  # type: ignore[arg-type]
                                                      sub.selection, child_path, inner_provided)
            finally:
                self.depth -= 1
        return providers

    def _descend(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise PlanningError("the operation nests deeper than the planner follows")

    # handing entities over -------------------------------------------------------------------------

    def _entity_jump(
        self, node: FetchNode, parent_type: GraphQLObjectType, model: TypeModel, graphs: Sequence[str],
        field_node: FieldNode, target: SubSelection, path: tuple[str, ...],
    ) -> Providers:
        target_graph, key = self._route(node, model, graphs, field_node.name.value)
        representation = f"__typename {key.fields}"
        required = model.source(field_node.name.value, target_graph)
        if required is not None and required.requires:
            representation += " " + required.requires
        fieldset = self._alias_conflicts(parse_fieldset(representation), target)
        self._descend()
        try:
            providers = self._plan_selection_set(node, parent_type, fieldset, target, path, None)
        finally:
            self.depth -= 1
        parent, waits = _attach_point(node, providers)
        child = parent.child_for(target_graph, parent_type.name, path, next(self.ids))
        for other in waits:
            if other not in child.dependencies and other is not child:
                child.dependencies.append(other)
        child.representation_shape(parent_type.name).merge(_subselection_of(fieldset))
        inner = child.selection.fragment(parent_type.name)
        return self._plan_field(child, parent_type, field_node, inner, path, None) | {child}

    def _alias_conflicts(self, fieldset: SelectionSetNode, target: SubSelection) -> SelectionSetNode:
        """Representation fields whose response key the client already uses for something else (the
        same field with other arguments or under @skip/@include) are fetched under an alias."""
        selections = []
        for selection in fieldset.selections:
            if isinstance(selection, FieldNode) and selection.alias is None:
                existing = target.fields.get(selection.name.value)
                wanted = SubField(selection.name.value, None, tuple(selection.arguments or ()))
                # A field with arguments is aliased even without a conflict yet: the client may ask for
                # it later in the walk with its own arguments, under the plain name.
                if selection.arguments or (existing is not None and existing.signature()[:2] != wanted.signature()[:2]):
                    alias = f"_fed_{selection.name.value}_{next(self.ids)}"
                    selection = FieldNode(alias=NameNode(value=alias), name=selection.name,
                                          arguments=selection.arguments, directives=(),
                                          selection_set=selection.selection_set)
            selections.append(selection)
        return SelectionSetNode(selections=tuple(selections))

    def _interface_jump(
        self, node: FetchNode, interface: GraphQLCompositeType, graphs: Sequence[str] | None,
        target: SubSelection, path: tuple[str, ...], type_filter: frozenset[str] | None = None,
    ) -> FetchNode:
        """An entity fetch at the interface level: the target knows the entity by the interface (as an
        @interfaceObject, or as an interface entity that resolves to its concrete type)."""
        assert isinstance(interface, GraphQLInterfaceType)
        model = self._model(interface.name)
        if graphs is None:
            # Whoever knows the concrete types: a subgraph where the interface is a real one.
            graphs = [g for g in model.defining_graphs()
                      if g not in model.interface_object_in and model.keys_in(g, resolvable_only=True)]
        if not graphs:
            raise PlanningError(f"no subgraph resolves {interface.name} by a key from {node.graph}")
        target_graph, key = self._route(node, model, graphs, "__typename")
        fieldset = parse_fieldset(key.fields)
        self._descend()
        try:
            providers = self._plan_selection_set(node, interface, fieldset, target, path, None)
        finally:
            self.depth -= 1
        target.add_typename()
        parent, waits = _attach_point(node, providers)
        possible = type_filter or frozenset(
            {interface.name} | {t.name for t in self.schema.get_possible_types(interface)})
        child = parent.child_for(target_graph, interface.name, path, next(self.ids), type_filter=possible,
                                 typename_override=interface.name)
        for other in waits:
            if other not in child.dependencies and other is not child:
                child.dependencies.append(other)
        child.representation_shape(interface.name).merge(_subselection_of(parse_fieldset(f"__typename {key.fields}")))
        return child

    def _route(self, node: FetchNode, model: TypeModel, graphs: Sequence[str], field_name: str) -> tuple[str, Key]:
        """The subgraph that takes over the entity, and the key to hand it over by: a resolvable key
        in the target whose fields the current subgraph has, else one whose fields another subgraph
        can supply first. Among candidates, one already fetched at this point wins."""
        current = node.graph
        ordered = sorted(graphs, key=lambda g: not any(c.graph == g for c in node.children))
        for graph in ordered:
            if graph == current:
                continue
            for key in model.keys_in(graph, resolvable_only=True):
                if self._has_fields(current, model, key.selection):
                    return graph, key
        for graph in ordered:
            if graph == current:
                continue
            for key in model.keys_in(graph, resolvable_only=True):
                if self._reachable(current, model, key.selection):
                    return graph, key
        raise PlanningError(
            f"{model.name}.{field_name} lives in {', '.join(graphs)}, but {current} cannot provide any of its "
            f"resolvable keys there ({', '.join(k.fields for k in model.keys) or 'no keys'})"
        )

    def _has_fields(self, graph: str, model: TypeModel, selection: SelectionSetNode) -> bool:
        for field_node in selection.selections:
            if not isinstance(field_node, FieldNode):
                return False
            if graph not in model.resolving_graphs(field_node.name.value, self.labels):
                source = model.source(field_node.name.value, graph)
                if source is None or not (source.external and self._key_field(model, graph, field_node)):
                    return False
            if field_node.selection_set is not None:
                inner = self._inner_model(model, field_node.name.value)
                if inner is None or not self._has_fields(graph, inner, field_node.selection_set):
                    return False
        return True

    def _key_field(self, model: TypeModel, graph: str, field_node: FieldNode) -> bool:
        # A key field marked @external in a subgraph that uses it in its own key still comes back
        # from that subgraph's entity resolvers (Federation 1 style extensions).
        return any(field_node.name.value in (f.name.value for f in k.selection.selections
                                             if isinstance(f, FieldNode)) for k in model.keys_in(graph))

    def _reachable(self, graph: str, model: TypeModel, selection: SelectionSetNode) -> bool:
        """Whether each key field is in a subgraph the current one can hand the entity to directly."""
        for field_node in selection.selections:
            if not isinstance(field_node, FieldNode):
                return False
            name = field_node.name.value
            if graph in model.resolving_graphs(name, self.labels):
                continue
            holders = model.resolving_graphs(name, self.labels)
            keys = [key for other in holders for key in model.keys_in(other, resolvable_only=True)]
            if not any(self._has_fields(graph, model, key.selection) for key in keys):
                return False
        return True

    def _inner_model(self, model: TypeModel, field_name: str) -> TypeModel | None:
        parent = self.schema.get_type(model.name)
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return None
        field_def = parent.fields.get(field_name)
        if field_def is None:
            return None
        return self.supergraph.types.get(get_named_type(field_def.type).name)


def _attach_point(node: FetchNode, providers: Providers) -> tuple[FetchNode, list[FetchNode]]:
    """Where a new entity fetch hangs: under the current fetch, or under the fetch that supplies its
    representation; any further suppliers become explicit dependencies."""
    others = sorted((p for p in providers if p is not node), key=lambda p: p.id)
    if not others:
        return node, []
    return others[-1], others[:-1]


def _provided_field(provided: SelectionSetNode | None, name: str, type_name: str) -> SelectionSetNode | None:
    """The @provides selection for `name` on `type_name` (an empty set for a leaf), or None."""
    if provided is None:
        return None
    for selection in provided.selections:
        if isinstance(selection, FieldNode) and selection.name.value == name:
            return selection.selection_set or SelectionSetNode(selections=())
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else type_name
            if condition == type_name:
                found = _provided_field(selection.selection_set, name, type_name)
                if found is not None:
                    return found
    return None


def _merge_fieldsets(first: SelectionSetNode | None, second: SelectionSetNode) -> SelectionSetNode:
    if first is None or not first.selections:
        return second
    return SelectionSetNode(selections=(*first.selections, *second.selections))


def _subselection_of(selection_set: SelectionSetNode) -> SubSelection:
    result = SubSelection()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            inner = _subselection_of(selection.selection_set) if selection.selection_set else None
            alias = selection.alias.value if selection.alias else None
            result.add(SubField(selection.name.value, alias, selection=inner))
    return result
