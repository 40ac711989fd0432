"""Authorization directives from the supergraph: @authenticated, @requiresScopes and @policy.

    model = AccessModel.from_supergraph(supergraph)          # once per supergraph
    sites = model.sites(schema, operation, fragments)       # once per prepared operation (None: nothing guarded)
    denied = await decide(sites, AccessContext(claims, headers), policies)   # per request
    filtered = filter_operation(document, operation, sites, denied)           # cached per denied set

Semantics (those of Apollo's router, which the supergraph directives come from):

* A field is guarded by the directives on its definition, on the type it returns (object, interface,
  scalar or enum) and, for a field of an interface, on that field in every implementation (the composer
  does not propagate them, so the router does). A fragment whose type condition is a guarded type is
  guarded by that type's directives.
* `@authenticated` holds when the request carries a verified token; `@requiresScopes(scopes: [[...]])`
  when the token's scopes include every scope of at least one inner list; `@policy(policies: [[...]])`
  when every named policy of at least one inner list answers true. Several directives on one element
  must all hold.
* An element that does not hold is removed from the operation before planning (so no subgraph sees it);
  a field or fragment left with nothing selected is removed in turn. The response carries `null` there
  (with the usual null propagation for non-null fields) and one error per removed element and query
  path, code `UNAUTHORIZED_FIELD_OR_TYPE`, `@` standing for the items of a list.

Policies are named functions registered in router configuration ([authorization.policies]
name = "package.module:function"); each takes an `AccessContext` and returns a bool (or an awaitable of
one). A policy the supergraph names but no configuration registers never holds.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    SelectionSetNode,
    StringValueNode,
    get_named_type,
)
from graphql.execution.values import VariableValues

from router.auth import Claims
from router.response import included

logger = logging.getLogger("router.authorization")
_N = TypeVar("_N", bound=Node)

UNAUTHORIZED_FIELD_OR_TYPE = "UNAUTHORIZED_FIELD_OR_TYPE"
UNAUTHORIZED_MESSAGE = "Unauthorized field or type"
# Enough to name every removed element of a reasonable operation; a fragment spread many times over
# must not turn into a flood of errors (nor a walk that long).
MAX_PATHS_PER_ELEMENT = 20
MAX_ERRORS = 100
MAX_FILTERED = 16  # filtered variants kept per operation (callers differ in a few ways, not thousands)

SPECS = {
    "https://specs.apollo.dev/authenticated/": "authenticated",
    "https://specs.apollo.dev/requiresScopes/": "requiresScopes",
    "https://specs.apollo.dev/policy/": "policy",
}


class PolicyError(Exception):
    """A policy cannot be registered (bad reference, nothing to import, not callable)."""


@dataclass(frozen=True)
class Requirement:
    """One directive application: `authenticated`, or `scopes` / `policy` with its alternatives (any
    one inner set satisfied is enough)."""

    kind: str
    alternatives: tuple[frozenset[str], ...] = ()


Rule = tuple[Requirement, ...]  # every requirement must hold; () guards nothing


@dataclass(frozen=True)
class AccessContext:
    """What a policy sees of the request: the verified token's claims (None without a token) and the
    request headers (lower-case names)."""

    claims: Claims | None
    headers: Mapping[str, str] = field(default_factory=dict)


Policy = Callable[[AccessContext], bool | Awaitable[bool]]


def load_policies(references: Mapping[str, str]) -> dict[str, Policy]:
    """name -> "package.module:function" (as in configuration) to name -> the function."""
    policies: dict[str, Policy] = {}
    for name, reference in references.items():
        module_name, sep, attribute = reference.partition(":")
        if not sep or not module_name or not attribute:
            raise PolicyError(f"policy {name!r}: {reference!r} is not 'package.module:function'")
        try:
            target: Any = importlib.import_module(module_name)
        except ImportError as exc:
            raise PolicyError(f"policy {name!r}: cannot import {module_name}: {exc}") from exc
        for part in attribute.split("."):
            target = getattr(target, part, None)
        if not callable(target):
            raise PolicyError(f"policy {name!r}: {reference} is not a function")
        policies[name] = target
    return policies


# reading the supergraph ------------------------------------------------------------------------------


def _string(value: Any) -> str | None:
    return value.value if isinstance(value, StringValueNode) else None


def linked_names(document: DocumentNode) -> dict[str, str]:
    """The local name of each authorization directive -> its spec name, following @link `as:` and
    `import:` renames; the plain names count when the supergraph does not link the specs at all."""
    names: dict[str, str] = {}
    linked = False
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for directive in definition.directives or ():
            if directive.name.value != "link":
                continue
            arguments = {a.name.value: a.value for a in directive.arguments or ()}
            url = _string(arguments.get("url")) or ""
            spec = next((name for prefix, name in SPECS.items() if url.startswith(prefix)), None)
            if spec is None:
                continue
            linked = True
            names[_string(arguments.get("as")) or spec] = spec
            imports = arguments.get("import")
            for item in imports.values if isinstance(imports, ListValueNode) else ():
                if isinstance(item, StringValueNode):
                    original = local = item.value
                elif isinstance(item, ObjectValueNode):
                    fields = {f.name.value: f.value for f in item.fields}
                    original = _string(fields.get("name")) or ""
                    local = _string(fields.get("as")) or original
                else:
                    continue
                if original.lstrip("@") == spec:
                    names[local.lstrip("@")] = spec
    if not linked:
        names = {spec: spec for spec in SPECS.values()}
    return names


def _alternatives(directive: DirectiveNode, argument: str) -> tuple[frozenset[str], ...]:
    for node in directive.arguments or ():
        if node.name.value == argument and isinstance(node.value, ListValueNode):
            alternatives = []
            for inner in node.value.values:
                items = inner.values if isinstance(inner, ListValueNode) else (inner,)
                alternatives.append(frozenset(v.value for v in items if isinstance(v, StringValueNode)))
            return tuple(alternatives)
    return ()


class AccessModel:
    """The authorization directives of one supergraph, by type and by (type, field)."""

    def __init__(self, type_rules: Mapping[str, Rule], field_rules: Mapping[tuple[str, str], Rule]) -> None:
        self.type_rules = dict(type_rules)
        self.field_rules = dict(field_rules)
        self._effective: dict[tuple[str, str], Rule] = {}

    @classmethod
    def from_supergraph(cls, document: DocumentNode) -> AccessModel:
        names = linked_names(document)
        type_rules: dict[str, list[Requirement]] = {}
        field_rules: dict[tuple[str, str], list[Requirement]] = {}

        def rule(node: Any) -> list[Requirement]:
            found = []
            for directive in getattr(node, "directives", None) or ():
                spec = names.get(directive.name.value)
                if spec == "authenticated":
                    found.append(Requirement("authenticated"))
                elif spec == "requiresScopes":
                    found.append(Requirement("scopes", _alternatives(directive, "scopes")))
                elif spec == "policy":
                    found.append(Requirement("policy", _alternatives(directive, "policies")))
            return found

        for definition in document.definitions:
            type_name = getattr(getattr(definition, "name", None), "value", None)
            if type_name is None or not hasattr(definition, "directives"):
                continue
            if found := rule(definition):
                type_rules.setdefault(type_name, []).extend(found)
            for field_node in getattr(definition, "fields", None) or ():
                if found := rule(field_node):
                    field_rules.setdefault((type_name, field_node.name.value), []).extend(found)
        return cls({k: tuple(v) for k, v in type_rules.items()}, {k: tuple(v) for k, v in field_rules.items()})

    def __bool__(self) -> bool:
        return bool(self.type_rules or self.field_rules)

    @property
    def policy_names(self) -> frozenset[str]:
        rules = [*self.type_rules.values(), *self.field_rules.values()]
        return frozenset(name for rule in rules for r in rule if r.kind == "policy"
                         for alternative in r.alternatives for name in alternative)

    def field_rule(self, schema: GraphQLSchema, parent: GraphQLNamedType, name: str,
                   returns: GraphQLNamedType) -> Rule:
        key = (parent.name, name)
        cached = self._effective.get(key)
        if cached is not None:
            return cached
        rule = list(self.field_rules.get(key, ()))
        rule.extend(self.type_rules.get(returns.name, ()))
        if isinstance(parent, GraphQLInterfaceType):
            for implementation in schema.get_possible_types(parent):
                rule.extend(self.field_rules.get((implementation.name, name), ()))
        effective = tuple(dict.fromkeys(rule))
        self._effective[key] = effective
        return effective


# finding the guarded elements of an operation --------------------------------------------------------


Path = tuple[str, ...]
Guarded = FieldNode | InlineFragmentNode | FragmentSpreadNode
Conditions = tuple[Guarded, ...]


def _conditional(node: Guarded) -> bool:
    return any(d.name.value in ("skip", "include") for d in node.directives or ())


def _with(conditions: Conditions, node: Guarded) -> Conditions:
    return (*conditions, node) if _conditional(node) else conditions


def all_included(conditions: Conditions, variables: VariableValues | None) -> bool:
    """Whether every @skip / @include on the way lets the element through, with these variable values."""
    return all(included(node, variables) for node in conditions)


@dataclass
class GuardedSites:
    """The guarded elements of one operation: node id -> (node, its rule, the query paths it is at)."""

    rules: dict[int, Rule] = field(default_factory=dict)
    nodes: dict[int, Guarded] = field(default_factory=dict)
    # each query path with the nodes on the way that carry @skip / @include (decided per request)
    paths: dict[int, list[tuple[Path, Conditions]]] = field(default_factory=dict)
    # filtered operations by the set of denied node ids (a handful per operation: one per kind of caller)
    filtered: dict[frozenset[int], FilteredOperation] = field(default_factory=dict)

    def add(self, node: Guarded, rule: Rule, path: Path, conditions: Conditions) -> None:
        key = id(node)
        self.rules[key] = rule
        self.nodes[key] = node
        paths = self.paths.setdefault(key, [])
        if len(paths) < MAX_PATHS_PER_ELEMENT and (path, conditions) not in paths:
            paths.append((path, conditions))


def _list_markers(type_: GraphQLOutputType) -> Path:
    markers: list[str] = []
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            markers.append("@")
        type_ = type_.of_type
    return tuple(markers)


def find_sites(model: AccessModel, schema: GraphQLSchema, operation: OperationDefinitionNode,
               fragments: Mapping[str, FragmentDefinitionNode]) -> GuardedSites | None:
    """The guarded elements of `operation`, or None when it touches none (the common case: then the
    request goes on without any per-request work)."""
    if not model:
        return None
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    sites = GuardedSites()
    # A fragment reached again at a path already seen adds nothing: one visit per (fragment, path).
    budget = [10_000]

    def walk(selection_set: SelectionSetNode, parent: GraphQLNamedType, path: Path, stack: tuple[str, ...],
             conditions: Conditions) -> None:
        for selection in selection_set.selections:
            budget[0] -= 1
            if budget[0] < 0:
                return
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
                    continue
                definition = parent.fields.get(name)
                if definition is None:
                    continue
                returns = get_named_type(definition.type)
                key = selection.alias.value if selection.alias else name
                here = (*path, key)
                rule = model.field_rule(schema, parent, name, returns)
                on_the_way = _with(conditions, selection)
                if rule:
                    sites.add(selection, rule, here, on_the_way)
                if selection.selection_set is not None:
                    walk(selection.selection_set, returns, here + _list_markers(definition.type), stack, on_the_way)
            elif isinstance(selection, InlineFragmentNode):
                condition = schema.get_type(selection.type_condition.name.value) if selection.type_condition \
                    else parent
                if condition is None:
                    continue
                on_the_way = _with(conditions, selection)
                if condition is not parent and (rule := model.type_rules.get(condition.name, ())):
                    sites.add(selection, rule, path, on_the_way)
                walk(selection.selection_set, condition, path, stack, on_the_way)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is None or fragment.name.value in stack:
                    continue
                condition = schema.get_type(fragment.type_condition.name.value)
                if condition is None:
                    continue
                on_the_way = _with(conditions, selection)
                if condition is not parent and (rule := model.type_rules.get(condition.name, ())):
                    sites.add(selection, rule, path, on_the_way)
                walk(fragment.selection_set, condition, path, (*stack, fragment.name.value), on_the_way)

    walk(operation.selection_set, root, (), (), ())
    return sites if sites.rules else None


# deciding, per request --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    denied: frozenset[int]  # the guarded nodes this request may not see
    errors: list[dict[str, Any]]  # one per denied element and query path the request includes


async def decide(sites: GuardedSites, context: AccessContext, policies: Mapping[str, Policy],
                 variables: VariableValues | None = None) -> Decision:
    """What this request may not see. An element that @skip / @include leave out (with these variable
    values) is not asked for, so it is neither denied nor reported."""
    verdicts: dict[str, bool] = {}

    async def policy(name: str) -> bool:
        if name not in verdicts:
            function = policies.get(name)
            if function is None:
                verdicts[name] = False
            else:
                try:
                    answer = function(context)
                    if inspect.isawaitable(answer):
                        answer = await answer
                    verdicts[name] = answer is True
                except Exception:  # a failing policy denies; the operator needs to know why
                    logger.exception("policy %s failed; access denied", name)
                    verdicts[name] = False
        return verdicts[name]

    async def holds(requirement: Requirement) -> bool:
        if requirement.kind == "authenticated":
            return context.claims is not None
        if requirement.kind == "scopes":
            scopes = context.claims.scopes if context.claims is not None else frozenset()
            return any(alternative <= scopes for alternative in requirement.alternatives)
        for alternative in requirement.alternatives:
            if all([await policy(name) for name in sorted(alternative)]):
                return True
        return False

    outcome: dict[Rule, bool] = {}
    denied = []
    errors: list[dict[str, Any]] = []
    for key, rule in sites.rules.items():
        asked = [path for path, conditions in sites.paths[key] if not conditions or all_included(conditions, variables)]
        if not asked:
            continue
        if rule not in outcome:
            outcome[rule] = all([await holds(requirement) for requirement in rule])
        if not outcome[rule]:
            denied.append(key)
            errors += [{"message": UNAUTHORIZED_MESSAGE, "path": list(path),
                        "extensions": {"code": UNAUTHORIZED_FIELD_OR_TYPE}} for path in asked]
    return Decision(frozenset(denied), errors[:MAX_ERRORS])


# filtering the operation ------------------------------------------------------------------------------


@dataclass
class FilteredOperation:
    """The operation without what the request may not see: the document to plan (None when nothing is
    left to fetch) and the original field nodes whose value is to be null."""

    document: DocumentNode | None
    nulled: frozenset[int]


def _fields_of(selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode],
               seen: set[str]) -> Iterable[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields_of(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                seen.add(selection.name.value)
                yield from _fields_of(fragment.selection_set, fragments, seen)


def filter_operation(document: DocumentNode, operation: OperationDefinitionNode,
                     fragments: Mapping[str, FragmentDefinitionNode], sites: GuardedSites,
                     denied: frozenset[int]) -> FilteredOperation:
    """`operation` of `document` without the `denied` elements (and what is left empty by their removal);
    the document holds that one operation only."""
    cached = sites.filtered.get(denied)
    if cached is not None:
        return cached
    nulled: set[int] = set()
    emptied: dict[str, bool] = {}  # fragment name -> nothing left in it

    def selections(selection_set: SelectionSetNode) -> SelectionSetNode | None:
        kept = []
        for selection in selection_set.selections:
            if id(selection) in denied:
                if isinstance(selection, FieldNode):
                    nulled.add(id(selection))
                else:
                    inner = selection.selection_set if isinstance(selection, InlineFragmentNode) else (
                        fragments[selection.name.value].selection_set)  # type: ignore[attr-defined]
                    nulled.update(id(f) for f in _fields_of(inner, fragments, set()))
                continue
            if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None:
                inner_set = selections(selection.selection_set)
                if inner_set is None:
                    if isinstance(selection, FieldNode):
                        nulled.add(id(selection))
                    continue
                if inner_set is not selection.selection_set:
                    selection = _replace(selection, selection_set=inner_set)
            elif isinstance(selection, FragmentSpreadNode) and emptied.get(selection.name.value):
                continue
            kept.append(selection)
        if not kept:
            return None
        if len(kept) == len(selection_set.selections) and all(
                a is b for a, b in zip(kept, selection_set.selections, strict=True)):
            return selection_set
        return _replace(selection_set, selections=tuple(kept))

    # Fragments first, in dependency order, so a spread of an emptied fragment can be dropped.
    definitions: dict[str, FragmentDefinitionNode | None] = {}

    def fragment(name: str, stack: tuple[str, ...]) -> None:
        if name in definitions or name in stack or name not in fragments:
            return
        for spread in _spreads(fragments[name].selection_set):
            fragment(spread, (*stack, name))
        original = fragments[name]
        inner = selections(original.selection_set)
        emptied[name] = inner is None
        if inner is None:
            definitions[name] = None
        elif inner is original.selection_set:
            definitions[name] = original
        else:
            definitions[name] = _replace(original, selection_set=inner)

    for name in fragments:
        fragment(name, ())
    new_definitions: list[Any] = []
    operation_left = False
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            kept_fragment = definitions.get(definition.name.value)
            if kept_fragment is not None:
                new_definitions.append(kept_fragment)
        elif isinstance(definition, OperationDefinitionNode):
            if definition is not operation:
                continue
            inner = selections(definition.selection_set)
            if inner is None:
                continue
            operation_left = True
            new_definitions.append(definition if inner is definition.selection_set
                                   else _replace(definition, selection_set=inner))
        else:
            new_definitions.append(definition)
    filtered_document = None
    if operation_left:
        filtered_document = _replace(document, definitions=tuple(_unused_fragments_dropped(new_definitions)))
    result = FilteredOperation(filtered_document, frozenset(nulled))
    if len(sites.filtered) >= MAX_FILTERED:
        sites.filtered.pop(next(iter(sites.filtered)))
    sites.filtered[denied] = result
    return result


def _replace(node: _N, **changes: Any) -> _N:
    """A copy of an AST node with some attributes changed (graphql-core's nodes are treated as immutable)."""
    values = {key: getattr(node, key) for key in node.keys}
    values.update(changes)
    return type(node)(**values)


def _spreads(selection_set: SelectionSetNode) -> Iterable[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            yield selection.name.value
        elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None:
            yield from _spreads(selection.selection_set)


def _unused_fragments_dropped(definitions: list[Any]) -> list[Any]:
    """Only the fragments still spread somewhere (a document with an unused fragment is invalid)."""
    used: set[str] = set()
    pending: list[OperationDefinitionNode | FragmentDefinitionNode] = [
        d for d in definitions if isinstance(d, OperationDefinitionNode)]
    by_name = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    while pending:
        node = pending.pop()
        for name in _spreads(node.selection_set):
            if name not in used and name in by_name:
                used.add(name)
                pending.append(by_name[name])
    return [d for d in definitions if not isinstance(d, FragmentDefinitionNode) or d.name.value in used]
