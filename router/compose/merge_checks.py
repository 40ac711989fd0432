"""The checks made while fields merge: @override (its target, its collisions, its label), @external
fields against the merged field, field sharing (a field resolved by several subgraphs must be @shareable
in each), and interface fields present on every implementation."""

from __future__ import annotations

import json

from router.compose.merge_base import Sources, _MergeBase
from router.compose.model import _Field, _MField, _MType, _Override
from router.compose.spec import LABEL, PERCENT_LABEL
from router.compose.text import _grouped, _list


class _MergeChecks(_MergeBase):
    """The checks made while fields merge (a layer of _Merger)."""

    def validate_override(self, dest: _MType, name: str, sources: Sources) -> _Override:
        result = _Override()
        coordinate = f"{dest.name}.{name}"
        overriding = {g: f for g, f in sources.items() if f is not None and f.override is not None}
        for graph, f in overriding.items():
            subgraph = self.by_name[graph]
            target = f.override or ""
            if subgraph.types[dest.name].kind == "interface":
                self.error([graph], f'@override cannot be used on field "{coordinate}" on subgraph "{graph}": '
                           "@override is not supported on interface type fields (OVERRIDE_ON_INTERFACE)")
            elif subgraph.types[dest.name].interface_object:
                self.error([graph], f'@override is not yet supported on fields of @interfaceObject types: cannot be '
                           f'used on field "{coordinate}" on subgraph "{graph}" '
                           "(OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE)")
            elif target not in self.by_name:
                result.unknown_target.add(graph)
            elif target == graph:
                self.error([graph], f'Source and destination subgraphs "{graph}" are the same for overridden field '
                           f'"{coordinate}" (OVERRIDE_FROM_SELF_ERROR)')
            elif target in overriding:
                self.error([graph, target], f'Field "{coordinate}" on subgraph "{graph}" is also marked with directive '
                           f'@override in subgraph "{target}". Only one @override directive is allowed per field '
                           "(OVERRIDE_SOURCE_HAS_OVERRIDE)")
            elif (source := sources.get(target)) is not None:
                source_subgraph = self.by_name[target]
                conflict = ("@requires" if source.requires is not None else "@provides"
                            if source.provides is not None else None)
                if conflict is not None or subgraph.is_external(f):
                    where, directive = (target, conflict) if conflict else (graph, "@external")
                    self.error([graph], f'@override cannot be used on field "{coordinate}" on subgraph "{graph}" '
                               f'since "{coordinate}" on "{where}" is marked with directive "{directive}" '
                               "(OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE)")
                    continue
                if source_subgraph.is_external(source):
                    continue
                if (dest.name, name) in source_subgraph.used:
                    result.used.add(target)
                else:
                    result.unused.add(target)
                label = f.override_label
                if label is not None:
                    percent = PERCENT_LABEL.match(label)
                    if LABEL.match(label) or (percent and 0 <= float(percent.group(1)) <= 100):
                        result.labels[graph] = result.labels[target] = label
                        self.labels_used = True
                    else:
                        self.error([graph], f'Invalid @override label "{label}" on field "{coordinate}" on subgraph '
                                   f'"{graph}": labels must start with a letter and after that may contain '
                                   "alphanumerics, underscores, minuses, colons, periods, or slashes, or be "
                                   '"percent(x)" with x between 0 and 100 (OVERRIDE_LABEL_INVALID)')
        return result

    def validate_external(self, coordinate: str, merged: _MField, externals: dict[str, _Field],
                          all_equal: bool) -> None:
        wrong = [g for g, f in externals.items()
                 if not (f.type == merged.type or (not all_equal and self.strict_subtype(merged.type, f.type)))]
        if wrong:
            self.error(wrong, f'Type of field "{coordinate}" is incompatible across subgraphs (where marked '
                       f'@external): it has type "{merged.type}" in the supergraph but '
                       f"{_grouped({g: json.dumps(externals[g].type) for g in wrong})} (EXTERNAL_TYPE_MISMATCH)")
        for name, arg in merged.args.items():
            for graph, f in externals.items():
                theirs = f.args.get(name)
                if theirs is None:
                    self.error([graph], f'Field "{coordinate}" is missing argument "{coordinate}({name}:)" in '
                               f"{graph}, where it is @external (EXTERNAL_ARGUMENT_MISSING)")
                elif theirs.type != arg.type and not self.strict_subtype(arg.type, theirs.type):
                    self.error([graph], f'Type of argument "{coordinate}({name}:)" is incompatible across subgraphs '
                               f'(where "{coordinate}" is marked @external) (EXTERNAL_ARGUMENT_TYPE_MISMATCH)')
                elif theirs.default != arg.default:
                    self.error([graph], f'Argument "{coordinate}({name}:)" has incompatible defaults across '
                               f'subgraphs (where "{coordinate}" is marked @external) '
                               "(EXTERNAL_ARGUMENT_DEFAULT_MISMATCH)")

    def validate_sharing(self, dest: _MType, merged: _MField, sources: Sources, override: _Override) -> None:
        resolving: list[str] = []
        shareable: list[str] = []
        not_shareable: list[str] = []
        for graph, f in sources.items():
            subgraph = self.by_name[graph]
            if f is None:
                candidates = [(f"{graph} (through @interfaceObject {i.parent})", i)
                              for i in self.interface_object_fields(dest, merged.name, graph)]
            elif graph in override.used or graph in override.unused:
                continue
            else:
                provided = subgraph.is_external(f)
                candidates = [(f"{graph} (through @provides)" if provided else graph, f)]
            for label, candidate in candidates:
                if subgraph.is_fully_external(candidate):
                    continue
                resolving.append(label)
                (shareable if subgraph.is_shareable(candidate) else not_shareable).append(label)
        if not_shareable and (shareable or len(not_shareable) > 1):
            for label in not_shareable:
                graph = label.split(" ", 1)[0]
                hint = ""
                overriding = sources.get(graph)
                if graph in override.unknown_target and overriding is not None:
                    hint = f' (its @override(from: "{overriding.override}") names no subgraph: a misspelling?)'
                self.error([graph], f"{dest.name}.{merged.name} is resolved by {_list(resolving)} but is not marked "
                           f"@shareable in {graph}{hint} (INVALID_FIELD_SHARING)")

    def check_implementations(self) -> None:
        for dest in self.types.values():
            for interface_name in dest.implements:
                interface = self.types.get(interface_name)
                for name in interface.fields if interface is not None else {}:
                    if name not in dest.fields:
                        declared = [s.name for s in self.subgraphs if (t := s.types.get(interface_name)) is not None
                                    and t.kind == "interface" and name in t.fields]
                        implementing = [s.name for s in self.subgraphs if (t := s.types.get(dest.name)) is not None
                                        and interface_name in t.implements]
                        self.error(declared + implementing, f'Interface field "{interface_name}.{name}" is declared in '
                                   f'{_list(declared)} but type "{dest.name}", which implements "{interface_name}" '
                                   f'only in {_list(implementing)}, does not have field "{name}" '
                                   "(INTERFACE_FIELD_NO_IMPLEM)")
