"""One subgraph as read (_Subgraph): its types, lookups, field-set walking, and what depends on the whole
subgraph (fake externals, provided, shareable and used fields)."""

from __future__ import annotations

import re
from collections.abc import Callable

from graphql import FieldNode, GraphQLError, InlineFragmentNode, SelectionSetNode, print_ast

from router.compose.model import SubgraphSource, _Field, _Type
from router.compose.spec import COMPOSITE
from router.compose.text import _named
from router.fieldset import parse_fieldset


def graph_enum_name(name: str) -> str:
    """The join__Graph value of a subgraph name (Apollo's sanitisation; clashes get _1, _2 suffixes)."""
    sanitized = re.sub(r"\W", "_", name, flags=re.ASCII)
    if sanitized[:1].isdigit():
        sanitized = "_" + sanitized
    if re.search(r"_\d+$", sanitized):
        sanitized += "_"
    return sanitized.upper()


class _Subgraph:
    def __init__(self, source: SubgraphSource) -> None:
        self.name = source.name
        self.url = source.url
        self.enum = graph_enum_name(source.name)
        self.types: dict[str, _Type] = {}
        self.fed2 = False
        self.version = (1, 0)
        self.fake_external: set[tuple[str, str]] = set()
        self.provided: set[tuple[str, str]] = set()
        self.shareable: set[tuple[str, str]] = set()
        self.used: set[tuple[str, str]] = set()
        self.spec_uses: list[str] = []  # the demand control and authorization directives applied, as met

    def __repr__(self) -> str:
        return f"<subgraph {self.name}>"

    def field(self, type_name: str, field_name: str) -> _Field | None:
        t = self.types.get(type_name)
        return t.fields.get(field_name) if t is not None else None

    def implementations(self, interface: str) -> list[str]:
        return [t.name for t in self.types.values() if t.kind == "object" and interface in t.implements]

    def is_external(self, f: _Field) -> bool:
        t = self.types[f.parent]
        return (f.external or (self.fed2 and t.external_type)) and (f.parent, f.name) not in self.fake_external

    def is_fully_external(self, f: _Field) -> bool:
        return self.is_external(f) and (f.parent, f.name) not in self.provided

    def is_shareable(self, f: _Field) -> bool:
        return (f.parent, f.name) in self.shareable

    # field sets -------------------------------------------------------------------------------------

    def walk_fieldset(
        self, parent: str, fields: str,
        on_field: Callable[[_Field, FieldNode, bool], None] | None = None,
    ) -> str | None:
        """Walk a field set from `parent`; the first problem found, or None. `on_field(field, selection,
        has_external_in_parents)` sees every field selected."""
        try:
            selection_set = parse_fieldset(fields)
        except GraphQLError as exc:
            return f"the field set does not parse: {exc.message}"
        return self._walk(parent, selection_set, on_field, False)

    def _walk(self, parent: str, selection_set: SelectionSetNode,
              on_field: Callable[[_Field, FieldNode, bool], None] | None, external_parent: bool) -> str | None:
        t = self.types.get(parent)
        for selection in selection_set.selections:
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else parent
                if condition not in self.types:
                    return f'Unknown type "{condition}"'
                problem = self._walk(condition, selection.selection_set, on_field, external_parent)
                if problem:
                    return problem
                continue
            if not isinstance(selection, FieldNode):
                return "fragment spreads are not allowed in field sets"
            name = selection.name.value
            if name == "__typename":
                continue
            if selection.alias is not None:
                return f'Cannot use alias "{selection.alias.value}" in "{print_ast(selection)}"'
            if t is None or t.kind not in ("object", "interface") or name not in t.fields:
                return f'Cannot query field "{name}" on type "{parent}"'
            f = t.fields[name]
            base = self.types.get(_named(f.type))
            composite = base is not None and base.kind in COMPOSITE
            if on_field is not None:
                on_field(f, selection, external_parent)
            if selection.selection_set is not None:
                if not composite:
                    return f'Field "{f.coordinate}" must not have a selection since type "{f.type}" has no subfields'
                external = external_parent or self.is_external(f)
                if not external and t.kind == "interface":
                    external = any(
                        (g := self.field(impl, name)) is not None and self.is_external(g)
                        for impl in self.implementations(parent)
                    )
                problem = self._walk(_named(f.type), selection.selection_set, on_field, external)
                if problem:
                    return problem
            elif composite:
                return f'Field "{f.coordinate}" of type "{f.type}" must have a selection of subfields'
        return None

    def targets(self, parent: str, fields: str, *, implementations: bool = True) -> list[_Field]:
        found: list[_Field] = []

        def note(f: _Field, _selection: FieldNode, _external: bool) -> None:
            found.append(f)
            if implementations and self.types[f.parent].kind == "interface":
                found.extend(g for impl in self.implementations(f.parent) if (g := self.field(impl, f.name)))

        self.walk_fieldset(parent, fields, note)
        return found

    def compute(self) -> None:
        """What depends on the whole subgraph: fake externals, provided, shareable and used fields."""
        for computed in (self.fake_external, self.provided, self.shareable, self.used):
            computed.clear()
        for t in self.types.values():
            for key in t.keys:
                if key.extension or t.extends:
                    for f in self.targets(t.name, key.fields, implementations=False):
                        if f.external:
                            self.fake_external.add((f.parent, f.name))
        for t in self.types.values():
            for f in t.fields.values():
                if f.provides and t.kind in ("object", "interface"):
                    for target in self.targets(_named(f.type), f.provides):
                        self.provided.add((target.parent, target.name))
        for t in self.types.values():
            if t.kind not in ("object", "interface"):
                continue
            for key in t.keys:
                for f in self.targets(t.name, key.fields):
                    self.shareable.add((f.parent, f.name))
                    self.used.add((f.parent, f.name))
            for f in t.fields.values():
                if t.kind == "object" and (not self.fed2 or f.shareable or f.extension in t.shareable_on):
                    self.shareable.add((t.name, f.name))
                if f.provides:
                    for target in self.targets(_named(f.type), f.provides):
                        self.used.add((target.parent, target.name))
                        if self.is_external(target):
                            self.shareable.add((target.parent, target.name))
                if f.requires:
                    for target in self.targets(t.name, f.requires):
                        self.used.add((target.parent, target.name))
            if t.kind == "interface":
                for f in t.fields.values():
                    for impl in self.implementations(t.name):
                        if self.field(impl, f.name) is not None:
                            self.used.add((impl, f.name))
