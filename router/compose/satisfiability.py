"""Satisfiability: every field of the API schema must be reachable by some query through the subgraphs
(Apollo's check, in a simplified form: key jumps, @provides, @requires, interfaces and interface objects)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from graphql import FieldNode, GraphQLError, InlineFragmentNode, SelectionSetNode

from router.compose.merging import _Merger
from router.compose.model import _MField, _MType
from router.compose.spec import COMPOSITE, ROOT_TYPES
from router.compose.text import _grouped, _list, _named, _sort_key
from router.fieldset import parse_fieldset

Provided = tuple[tuple[str, "Provided"], ...]  # what a @provides makes available below a field
Option = tuple[str, Provided]  # one way a query can be at a type: in this subgraph, with these provided fields


def _provided(fields: str | None) -> Provided:
    if not fields:
        return ()
    try:
        selection_set = parse_fieldset(fields)
    except GraphQLError:
        return ()

    def tree(selections: SelectionSetNode, into: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                below = into.setdefault(selection.name.value, {})
                if selection.selection_set is not None:
                    tree(selection.selection_set, below)
            elif isinstance(selection, InlineFragmentNode):
                tree(selection.selection_set, into)
        return into

    def freeze(node: dict[str, dict[str, Any]]) -> Provided:
        return tuple(sorted((name, freeze(below)) for name, below in node.items()))

    return freeze(tree(selection_set, {}))


def _top_level(fields: str) -> set[str]:
    try:
        return {s.name.value for s in parse_fieldset(fields).selections
                if isinstance(s, FieldNode) and s.name.value != "__typename"}
    except GraphQLError:
        return set()


class _Satisfiability:
    """Every field of the API schema must be reachable by some query plan (Apollo's satisfiability check,
    simplified): a query is at a type in a set of options (subgraph + what @provides made available); a field
    is reachable from an option if that subgraph resolves it, or a subgraph reachable through resolvable
    @key jumps does (its @requires met), or an @interfaceObject does; it is an error when no option can."""

    def __init__(self, merger: _Merger) -> None:
        self.merger = merger
        self.types = merger.types
        self.subgraphs = merger.subgraphs
        self.errors: list[str] = []
        self.reported: set[str] = set()
        self.closures: dict[tuple[str, Option], list[str]] = {}

    def run(self) -> list[str]:
        seen: set[tuple[str, frozenset[Option]]] = set()
        for root in ROOT_TYPES:
            dest = self.types.get(root)
            if dest is None or dest.inaccessible:
                continue
            stack: list[tuple[str, frozenset[Option], tuple[str, ...]]] = [
                (root, frozenset((g, ()) for g in self.merger.defining(root)), ())]
            while stack:
                type_name, options, path = stack.pop()
                if (type_name, options) in seen:
                    continue
                seen.add((type_name, options))
                stack += self.visit(root, type_name, options, path)
        return self.errors

    def visible(self, type_name: str) -> bool:
        t = self.types.get(type_name)
        return t is None or not t.inaccessible

    def visit(self, root: str, type_name: str, options: frozenset[Option],
              path: tuple[str, ...]) -> list[tuple[str, frozenset[Option], tuple[str, ...]]]:
        dest = self.types[type_name]
        follow: list[tuple[str, frozenset[Option], tuple[str, ...]]] = []
        for f in dest.fields.values():
            target = self.types.get(_named(f.type))
            if f.inaccessible or (target is not None and target.inaccessible):
                continue
            results = {option: self.advance(type_name, option, f) for option in sorted(options)}
            if any(advanced is not None and not advanced for advanced, _why in results.values()):
                continue  # some path cannot return anything there: nothing more to check on this one
            reached: set[Option] = set()
            for advanced, _why in results.values():
                reached |= advanced or set()
            if all(advanced is None for advanced, _why in results.values()):
                self.report(root, f"{type_name}.{f.name}", path, f.name,
                            {option[0]: why for option, (_advanced, why) in results.items()})
            elif dest.kind == "object" and len(reached) > 1 and len(f.resolving) > 1 and target is not None \
                    and target.kind in ("interface", "union") and not self.runtime_types_intersect(
                        root, dest.name, f, target, reached, path):
                continue
            elif reached and target is not None and target.kind in COMPOSITE:
                follow.append((target.name, frozenset(reached), (*path, f.name)))
        if dest.kind in ("interface", "union"):
            for possible in self.runtime(dest):
                if not self.visible(possible):
                    continue
                casts = {option: self.downcast(type_name, option, possible) for option in sorted(options)}
                if any(cast is not None and not cast for cast in casts.values()):
                    continue  # not a possible type on some path: the fragment selects nothing there
                if all(cast is None for cast in casts.values()):
                    self.report(root, f"{type_name} as {possible}", path, f"... on {possible} {{ ... }}", {
                        option[0]: "no subgraph can be reached to resolve the implementation type of "
                        f'@interfaceObject type "{type_name}" (none has it as an interface with a resolvable @key)'
                        for option in casts})
                    continue
                down = {o for cast in casts.values() for o in cast or ()}
                follow.append((possible, frozenset(down), (*path, f"... on {possible}")))
        return follow

    def runtime(self, dest: _MType) -> list[str]:
        if dest.kind == "union":
            return dest.members
        return [t.name for t in self.types.values() if t.kind == "object" and dest.name in t.implements]

    def runtime_types_intersect(self, root: str, parent: str, f: _MField, target: _MType, reached: set[Option],
                                path: tuple[str, ...]) -> bool:
        """A field resolved by several subgraphs must return, in each, some runtime types in common."""
        everywhere = self.runtime(target)
        by_graph: dict[str, list[str]] = {}
        for graph, _provided_fields in sorted(reached):
            subgraph = self.merger.by_name[graph]
            t = subgraph.types.get(target.name)
            if t is None or t.kind not in ("interface", "union"):
                continue
            names = t.members if t.kind == "union" else subgraph.implementations(target.name)
            names = sorted((n for n in names if n in everywhere), key=_sort_key)
            by_graph[graph] = names
        if not any(by_graph.values()) or set(everywhere).intersection(*map(set, by_graph.values())):
            return True
        coordinate = f"{parent}.{f.name}"
        if coordinate not in self.reported:
            self.reported.add(coordinate)
            printed = {g: ", ".join(names) or "no runtime type" for g, names in by_graph.items()}
            self.errors.append(
                f"[{', '.join(by_graph)}] {coordinate}: the shared field returns {target.name} but its possible "
                f"runtime types do not intersect across subgraphs ({_grouped(printed)}) for the query "
                f"{self.query(root, path, f.name + ' { ... }')} (SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES)")
        return False

    def downcast(self, type_name: str, option: Option, possible: str) -> set[Option] | None:
        """The options for `... on possible` (empty: not possible there; None: cannot be resolved)."""
        subgraph = self.merger.by_name[option[0]]
        t = subgraph.types.get(type_name)
        if t is None:
            return set()
        if t.kind == "union":
            return {(subgraph.name, ())} if possible in t.members else set()
        if t.kind == "interface":
            return {(subgraph.name, ())} if possible in subgraph.implementations(type_name) else set()
        return {(g, ()) for g in self.closure(type_name, option)
                if (i := self.merger.by_name[g].types.get(type_name)) is not None and i.kind == "interface"
                and possible in self.merger.by_name[g].implementations(type_name)} or None

    def available(self, type_name: str, graphs: Iterable[str], option: Option) -> set[str]:
        names = {name for name, _ in option[1]}
        for graph in graphs:
            subgraph = self.merger.by_name[graph]
            t = subgraph.types.get(type_name)
            if t is not None:
                names |= {name for name, f in t.fields.items() if not subgraph.is_external(f)}
        return names

    def closure(self, type_name: str, option: Option) -> list[str]:
        """The subgraphs a query at `type_name` in option's subgraph can get to through resolvable @key jumps."""
        cached = self.closures.get((type_name, option))
        if cached is not None:
            return cached
        reached = [option[0]]
        changed = True
        while changed:
            changed = False
            available = self.available(type_name, reached, option)
            for subgraph in self.subgraphs:
                t = subgraph.types.get(type_name)
                if subgraph.name in reached or t is None or t.kind not in ("object", "interface"):
                    continue
                if any(k.resolvable and _top_level(k.fields) <= available for k in t.keys):
                    reached.append(subgraph.name)
                    changed = True
        self.closures[(type_name, option)] = reached
        return reached

    def advance(self, type_name: str, option: Option, merged: _MField) -> tuple[set[Option] | None, str]:
        """The options after `merged` from `option` (None if it cannot be had from there, with why)."""
        graph, provided = option
        subgraph = self.merger.by_name[graph]
        name = merged.name
        result: set[Option] = set()
        own = subgraph.field(type_name, name)
        below = dict(provided)
        if own is not None and subgraph.is_external(own) and name in below:
            result.add((graph, below[name]))
        closure = self.closure(type_name, option)
        unmet: dict[str, str] = {}
        for other in closure:
            theirs = self.merger.by_name[other].field(type_name, name)
            if theirs is None or self.merger.by_name[other].is_external(theirs) or other in merged.overridden:
                continue
            if theirs.requires is not None:  # the required fields must be had from the requiring subgraph
                start: Option = (other, ())
                missing = _top_level(theirs.requires) - self.available(type_name, self.closure(type_name, start), start)
                if missing:
                    unmet[other] = (f'{other} resolves it with @requires(fields: {json.dumps(theirs.requires)}) but '
                                    f"{_list(sorted(missing))} cannot be had from {other}")
                    continue
            result.add((other, _provided(theirs.provides)))
        dest = self.types[type_name]
        if dest.kind == "object":
            available = self.available(type_name, closure, option)
            for interface in dest.implements:
                for s in self.subgraphs:
                    t = s.types.get(interface)
                    f = t.fields.get(name) if t is not None and t.interface_object else None
                    if t is not None and f is not None and not s.is_external(f) and any(
                            k.resolvable and _top_level(k.fields) <= available for k in t.keys):
                        result.add((s.name, _provided(f.provides)))
        t = subgraph.types.get(type_name)
        if not result and t is not None and t.kind == "interface":
            exploded: set[Option] = set()
            for implementation in subgraph.implementations(type_name):
                implementation_field = self.types[implementation].fields.get(name) \
                    if implementation in self.types else None
                if implementation_field is None:
                    break
                advanced, _why = self.advance(implementation, (graph, ()), implementation_field)
                if advanced is None:
                    break
                exploded |= advanced
            else:
                return exploded, ""
        if result:
            return result, ""
        return None, self.explain(type_name, name, graph, closure, unmet)

    def explain(self, type_name: str, name: str, graph: str, closure: list[str], unmet: dict[str, str]) -> str:
        reasons = [f'cannot find field "{type_name}.{name}"']
        for subgraph in self.subgraphs:
            t = subgraph.types.get(type_name)
            f = t.fields.get(name) if t is not None else None
            if subgraph.name == graph or f is None or subgraph.is_external(f):
                continue
            if subgraph.name in unmet:
                reasons.append(unmet[subgraph.name])
            elif subgraph.name in closure:
                continue
            elif t is not None and not t.keys:
                reasons.append(f'cannot move to subgraph "{subgraph.name}", which has it, because type "{type_name}" '
                               f'has no @key defined in subgraph "{subgraph.name}"')
            elif t is not None and not any(k.resolvable for k in t.keys):
                reasons.append(f'cannot move to subgraph "{subgraph.name}", which has it, because none of the @key '
                               f'defined on type "{type_name}" in subgraph "{subgraph.name}" are resolvable')
            elif t is not None:
                keys = " or ".join(json.dumps(k.fields) for k in t.keys if k.resolvable)
                reasons.append(f'cannot move to subgraph "{subgraph.name}", which has it, because the fields of its '
                               f"@key ({keys}) cannot be had from \"{graph}\"")
        return "; ".join(reasons)

    @staticmethod
    def query(root: str, path: tuple[str, ...], last: str) -> str:
        query = last
        for step in reversed(path):
            query = f"{step} {{ {query} }}"
        return ("" if root == "Query" else f"{root.lower()} ") + f"{{ {query} }}"

    def report(self, root: str, subject: str, path: tuple[str, ...], last: str, failures: dict[str, str]) -> None:
        if subject in self.reported:
            return
        self.reported.add(subject)
        details = ". ".join(f'from subgraph "{g}": {why}' for g, why in failures.items())
        self.errors.append(f"[{', '.join(failures)}] {subject} cannot be reached by the query "
                           f"{self.query(root, path, last)}: {details} (SATISFIABILITY_ERROR)")
