"""The pieces of a query plan: what each subgraph is asked, and where its answer goes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import (
    ArgumentNode,
    DirectiveNode,
    OperationDefinitionNode,
    VariableDefinitionNode,
    VariableNode,
    print_ast,
)
from graphql.language import Visitor, visit

LIST_MARK = "@"


@dataclass
class SubField:
    name: str
    alias: str | None = None
    arguments: tuple[ArgumentNode, ...] = ()
    directives: tuple[DirectiveNode, ...] = ()
    selection: SubSelection | None = None

    @property
    def response_key(self) -> str:
        return self.alias or self.name

    def signature(self) -> tuple[str, str, str]:
        return (
            self.name,
            ",".join(print_ast(a) for a in self.arguments),
            ",".join(print_ast(d) for d in self.directives),
        )


@dataclass
class SubSelection:
    """A selection set being built for one subgraph: fields by response key, then inline fragments."""

    fields: dict[str, SubField] = field(default_factory=dict)
    fragments: dict[tuple[str, str], SubSelection] = field(default_factory=dict)
    fragment_directives: dict[tuple[str, str], tuple[DirectiveNode, ...]] = field(default_factory=dict)

    def add(self, candidate: SubField) -> SubField:
        existing = self.fields.get(candidate.response_key)
        if existing is None:
            self.fields[candidate.response_key] = candidate
            return candidate
        if existing.signature()[:2] != candidate.signature()[:2]:
            raise PlanningError(
                f"two selections answer to the response key {candidate.response_key!r} with different "
                "fields or arguments"
            )
        if existing.directives != candidate.directives:
            # The same field wanted under different @skip/@include (the client's, and unconditionally by
            # the planner for a key): fetch it whenever any wants it; the response shaping still applies
            # the client's conditions.
            existing.directives = ()
        if candidate.selection is not None and existing.selection is None:
            existing.selection = candidate.selection
        return existing

    def add_typename(self) -> None:
        self.fields.setdefault("__typename", SubField("__typename"))

    def fragment(self, type_condition: str, directives: tuple[DirectiveNode, ...] = ()) -> SubSelection:
        key = (type_condition, " ".join(print_ast(d) for d in directives))
        if directives:
            self.fragment_directives[key] = directives
        return self.fragments.setdefault(key, SubSelection())

    def merge(self, other: SubSelection) -> None:
        for sub in other.fields.values():
            mine = self.add(SubField(sub.name, sub.alias, sub.arguments, sub.directives,
                                     SubSelection() if sub.selection is not None else None))
            if sub.selection is not None and mine.selection is not None:
                mine.selection.merge(sub.selection)
        for key, fragment in other.fragments.items():
            self.fragments.setdefault(key, SubSelection()).merge(fragment)
            if key in other.fragment_directives:
                self.fragment_directives[key] = other.fragment_directives[key]

    def is_empty(self) -> bool:
        return not self.fields and not self.fragments

    def render(self) -> str:
        parts: list[str] = []
        for sub in self.fields.values():
            text = f"{sub.alias}: {sub.name}" if sub.alias else sub.name
            if sub.arguments:
                text += "(" + ", ".join(print_ast(a) for a in sub.arguments) + ")"
            for directive in sub.directives:
                text += " " + print_ast(directive)
            if sub.selection is not None:
                text += " " + sub.selection.render()
            parts.append(text)
        for (condition, directives), fragment in self.fragments.items():
            head = f"... on {condition}" + (f" {directives}" if directives else "")
            parts.append(f"{head} {fragment.render()}")
        return "{ " + " ".join(parts) + " }"

    def walk_nodes(self) -> Iterator[ArgumentNode | DirectiveNode]:
        for sub in self.fields.values():
            yield from sub.arguments
            yield from sub.directives
            if sub.selection is not None:
                yield from sub.selection.walk_nodes()
        for key, fragment in self.fragments.items():
            yield from self.fragment_directives.get(key, ())
            yield from fragment.walk_nodes()


class PlanningError(Exception):
    """The operation cannot be answered from this supergraph (a routing gap, not a client error)."""


@dataclass(eq=False)
class FetchNode:
    """One request to one subgraph. Root fetches answer root fields; entity fetches send the
    representations found at `path` to `_entities` and merge the answers back into those objects."""

    id: int
    graph: str
    parent_type: str
    path: tuple[str, ...]
    entity: bool
    # Root fetch: the root selection. Entity fetch: one `... on T` fragment per entity type it serves,
    # and `requires`, the representation's shape per __typename sent.
    selection: SubSelection = field(default_factory=SubSelection)
    requires: dict[str, SubSelection] = field(default_factory=dict)
    children: list[FetchNode] = field(default_factory=list)
    # Fetches besides the parent whose answers this one needs first (e.g. for @requires).
    dependencies: list[FetchNode] = field(default_factory=list)
    # The objects at `path` this fetch applies to (by __typename), and the __typename to send in their
    # representations when the target knows the entity by its interface (an @interfaceObject).
    type_filter: frozenset[str] = frozenset()
    typename_override: str | None = None
    operation: str = ""
    variable_names: tuple[str, ...] = ()

    def child_for(
        self, graph: str, type_name: str, path: tuple[str, ...], next_id: int, *,
        type_filter: frozenset[str] | None = None, typename_override: str | None = None,
    ) -> FetchNode:
        """The entity fetch to `graph` for the objects at `path` (one per subgraph and path: all entity
        types there share it, each in its own fragment)."""
        wanted = type_filter or frozenset({type_name})
        for child in self.children:
            if (child.graph, child.path, child.typename_override) == (graph, path, typename_override):
                child.type_filter |= wanted
                return child
        child = FetchNode(id=next_id, graph=graph, parent_type=type_name, path=path, entity=True,
                          type_filter=wanted, typename_override=typename_override)
        self.children.append(child)
        return child

    def representation_shape(self, type_name: str) -> SubSelection:
        return self.requires.setdefault(type_name, SubSelection())

    def finish(self, kind: str, operation_name: str | None, variables: dict[str, VariableDefinitionNode]) -> None:
        """Render the subgraph operation text once, at plan time."""
        used = sorted({n for node in self.selection.walk_nodes() for n in _variables_in(node)})
        self.variable_names = tuple(u for u in used if u in variables)
        definitions = [print_ast(variables[name]) for name in self.variable_names]
        name = f"{operation_name}__{self.graph}__{self.id}" if operation_name else None
        if self.entity:
            definitions.insert(0, "$representations: [_Any!]!")
            body = f"{{ _entities(representations: $representations) {self.selection.render()} }}"
            kind = "query"
        else:
            body = self.selection.render()
        head = kind + (f" {name}" if name else "")
        if definitions:
            head += "(" + ", ".join(definitions) + ")"
        self.operation = f"{head} {body}"

    def walk(self) -> Iterator[FetchNode]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class QueryPlan:
    kind: str
    operation: OperationDefinitionNode
    roots: list[FetchNode]
    introspection: bool = False

    def nodes(self) -> list[FetchNode]:
        return [node for root in self.roots for node in root.walk()]

    def describe(self) -> str:
        """A readable outline of the plan, for the dev-mode `queryPlan` extension and for tests."""
        lines: list[str] = [f"{'Sequence' if self.kind == 'mutation' else 'Parallel'} {{"]

        def emit(node: FetchNode, depth: int) -> None:
            pad = "  " * depth
            where = ".".join(node.path) or "(root)"
            lines.append(f"{pad}Fetch({node.graph}) at {where}: {node.operation}")
            for child in node.children:
                emit(child, depth + 1)

        for root in self.roots:
            emit(root, 1)
        lines.append("}")
        return "\n".join(lines)


def _variables_in(node: ArgumentNode | DirectiveNode) -> set[str]:
    found: set[str] = set()

    class Collect(Visitor):
        def enter_variable(self, variable: VariableNode, *_args: object) -> None:
            found.add(variable.name.value)

    visit(node, Collect())
    return found
