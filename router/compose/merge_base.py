"""What every merge rule stands on: merging descriptions and kept directives, the sources of a field, and
_MergeBase, the merge's state (the subgraphs, the merged types, the errors) with the questions the rules ask
of it (which subgraphs define a type, subtyping between merged types, @interfaceObject fields standing for an
implementation's field).

The merger is one class (_Merger, router/compose/merging.py) built in layers, one module each:
_MergeBase, then the checks (_MergeChecks, _InaccessibleChecks), the field rules (_FieldMerger) and the
type rules on top."""

from __future__ import annotations

from collections.abc import Iterable

from router.compose.merge_directives import ACCESS_CONTROL, SPEC_DIRECTIVES, merge_spec_directive
from router.compose.model import _Applied, _Field, _MType, _Type
from router.compose.subgraph import _Subgraph
from router.compose.text import _is_list, _is_non_null


def _merge_description(descriptions: Iterable[str | None]) -> str | None:
    found: list[str] = []
    counts: list[int] = []
    for description in descriptions:
        if description is None:
            continue
        if description in found:
            counts[found.index(description)] += 1
        else:
            found.append(description)
            counts.append(-(2**53) if description == "" else 1)
    if not found:
        return None
    non_empty = [d for d in found if d != ""]
    if len(found) == 1 or len(non_empty) != 1:
        return found[counts.index(max(counts))]
    return non_empty[0]


def _merge_applied(lists: Iterable[Iterable[_Applied]], field: bool = False) -> tuple[bool, list[str]]:
    """(@inaccessible anywhere?, the other kept directives): @tag repeats, the demand control and authorization
    directives merge their arguments (merge_directives.py; on a field the authorization ones come first), the
    others take the most common application."""
    applications = [d for directives in lists for d in directives]
    names = list(dict.fromkeys(d.name for d in applications))
    if field:
        names = [n for n in ACCESS_CONTROL if n in names] + [n for n in names if n not in ACCESS_CONTROL]
    merged: list[str] = []
    for name in names:
        if name == "inaccessible":
            continue
        if name in SPEC_DIRECTIVES:
            merged.append(merge_spec_directive(name, [d for d in applications if d.name == name]))
            continue
        of_name = [str(d) for d in applications if d.name == name]
        if name == "tag":
            merged += list(dict.fromkeys(of_name))
        else:
            distinct = list(dict.fromkeys(of_name))
            merged.append(max(distinct, key=lambda d: (of_name.count(d), -distinct.index(d))))
    return "inaccessible" in names, merged


Sources = dict[str, _Field | None]  # graph name -> its field (None: the graph has the type, not the field)


class _MergeBase:
    """The merge's state, and what the rules ask of it (the bottom layer of _Merger)."""

    def __init__(self, subgraphs: list[_Subgraph]) -> None:
        self.subgraphs = subgraphs
        self.by_name = {s.name: s for s in subgraphs}
        self.errors: list[str] = []
        self.types: dict[str, _MType] = {}
        self.enum_usage: dict[str, tuple[str, dict[str, str]]] = {}
        self.labels_used = False

    def error(self, graphs: Iterable[str], message: str) -> None:
        names = sorted(set(graphs))
        self.errors.append(f"[{', '.join(names)}] {message}" if names else message)

    def sources(self, dest: _MType) -> list[tuple[_Subgraph, _Type]]:
        return [(s, t) for s in self.subgraphs if (t := s.types.get(dest.name)) is not None
                and t.merged_kind == dest.kind]

    def interface_object_fields(self, dest: _MType, field_name: str, graph: str) -> list[_Field]:
        """The fields of `graph`'s @interfaceObject types that stand for dest.field_name (dest absent there)."""
        subgraph = self.by_name[graph]
        if dest.kind != "object" or dest.name in subgraph.types:
            return []
        found = []
        for interface in dest.implements:
            t = subgraph.types.get(interface)
            merged = self.types.get(interface)
            if (t is not None and t.interface_object and field_name in t.fields and merged is not None
                    and field_name in merged.fields):
                found.append(t.fields[field_name])
        return found

    def strict_subtype(self, parent: str, child: str) -> bool:
        """Apollo's default subtyping rules: non-null, list propagation and interface / union membership."""
        if _is_non_null(child):
            if _is_non_null(parent):
                return self.subtype(parent[:-1], child[:-1])
            return self.subtype(parent, child[:-1])
        if _is_list(child):
            return _is_list(parent) and self.subtype(parent[1:-1], child[1:-1])
        child_type, parent_type = self.types.get(child), self.types.get(parent)
        if child_type is None or parent_type is None or child_type.kind not in ("object", "interface"):
            return False
        if parent_type.kind == "union":
            return child_type.kind == "object" and child in parent_type.members
        return parent_type.kind == "interface" and parent in child_type.implements

    def subtype(self, parent: str, child: str) -> bool:
        return parent == child or self.strict_subtype(parent, child)

    def defining(self, type_name: str, field_name: str | None = None) -> list[str]:
        return [s.name for s in self.subgraphs if (t := s.types.get(type_name)) is not None
                and (field_name is None or field_name in t.fields or field_name in t.values)]
