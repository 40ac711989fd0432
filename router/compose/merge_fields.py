"""The merge rules of one field: description and kept directives from the subgraphs that resolve it,
arguments by intersection (a required one missing somewhere is an error), the type reference (the most
general for output, the most specific for input, noting enum usage), default values, and the
@join__field applications that record the routing."""

from __future__ import annotations

import json

from router.compose.merge_base import Sources, _merge_applied, _merge_description
from router.compose.merge_checks import _MergeChecks
from router.compose.model import _Field, _MArg, _MField, _MType, _Override
from router.compose.text import _grouped, _is_non_null, _list, _named


class _FieldMerger(_MergeChecks):
    """The merge rules of one field (a layer of _Merger)."""

    def merge_field(self, dest: _MType, merged: _MField, sources: Sources, override: _Override) -> None:
        coordinate = f"{dest.name}.{merged.name}"
        present = {g: f for g, f in sources.items() if f is not None}
        external = {g for g, f in present.items() if self.by_name[g].is_external(f)}
        every_external = all(
            g in external if f is not None else all(self.by_name[g].is_external(i)
                                                    for i in self.interface_object_fields(dest, merged.name, g))
            for g, f in sources.items())
        if every_external:
            self.error(present, f'Field "{coordinate}" is marked @external on all the subgraphs in which it is listed '
                       f"({_list(present)}) (EXTERNAL_MISSING_ON_BASE)")
            return
        for graph in external:
            if present[graph].directives:
                self.error([graph], f'Cannot apply merged directive {present[graph].directives[0]} to external field '
                           f'"{coordinate}" (MERGED_DIRECTIVE_APPLICATION_ON_EXTERNAL)')
        resolving = {g: f for g, f in present.items() if g not in external}
        others: list[str] = []
        if resolving:
            merged.description = _merge_description(f.description for f in resolving.values())
            merged.inaccessible, others = _merge_applied((f.directives for f in resolving.values()), field=True)
            self.merge_arguments(coordinate, merged, resolving)
        merged.type, all_equal = self.merge_type_reference(
            coordinate, {g: f.type for g, f in (resolving or present).items()}, is_input=False, element="field")
        if external:
            self.validate_external(coordinate, merged, {g: present[g] for g in external}, all_equal)
        if merged.inaccessible:
            merged.directives.append("@inaccessible")
        self.add_join_field(dest, merged, sources, all_equal, override)
        merged.directives += others
        merged.overridden = (override.used | override.unused) - set(override.labels)
        merged.resolving = [g for g in resolving if g not in merged.overridden]

    def merge_arguments(self, coordinate: str, merged: _MField, sources: dict[str, _Field]) -> None:
        names = list(dict.fromkeys(a for f in sources.values() for a in f.args))
        for name in names:
            missing = [g for g, f in sources.items() if name not in f.args]
            where = f"{coordinate}({name}:)"
            if missing:
                required = [g for g, f in sources.items() if name in f.args and _is_non_null(f.args[name].type)
                            and f.args[name].default is None]
                if required:
                    self.error(required + missing, f'Argument "{where}" is required in some subgraphs but does not '
                               f"appear in all subgraphs: it is required in {_list(required)} but does not appear in "
                               f"{_list(missing)} (REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH)")
                continue
            args = {g: f.args[name] for g, f in sources.items()}
            arg = merged.args[name] = _MArg(name, description=_merge_description(a.description for a in args.values()))
            inaccessible, others = _merge_applied(a.directives for a in args.values())
            arg.directives = (["@inaccessible"] if inaccessible else []) + others
            arg.type, _ = self.merge_type_reference(where, {g: a.type for g, a in args.items()}, is_input=True,
                                                    element="argument")
            arg.default = self.merge_default(f'Argument "{where}"', {g: a.default for g, a in args.items()},
                                             "ARGUMENT")

    def merge_type_reference(self, coordinate: str, types: dict[str, str], *, is_input: bool,
                             element: str) -> tuple[str, bool]:
        merged: str | None = None
        subtypes = incompatible = False
        for type_ref in types.values():
            if merged is None or merged == type_ref:
                merged = type_ref
            elif self.strict_subtype(merged, type_ref):
                subtypes = True
                if is_input:
                    merged = type_ref
            elif self.strict_subtype(type_ref, merged):
                subtypes = True
                if not is_input:
                    merged = type_ref
            else:
                incompatible = True
        assert merged is not None
        base = self.types.get(_named(merged))
        if base is not None and base.kind == "enum":
            this = "Input" if is_input else "Output"
            position, examples = self.enum_usage.get(base.name, (this, {}))
            examples.setdefault(this, coordinate)
            self.enum_usage[base.name] = (position if position == this else "Both", examples)
        if incompatible:
            code = "ARGUMENT_TYPE_MISMATCH" if element == "argument" else "FIELD_TYPE_MISMATCH"
            self.error(types, f'Type of {element} "{coordinate}" is incompatible across subgraphs: it has '
                       f"{_grouped({g: f'type {json.dumps(t)}' for g, t in types.items()})} ({code})")
        return merged, not (incompatible or subtypes)

    def merge_default(self, what: str, defaults: dict[str, str | None], code: str) -> str | None:
        merged: str | None = None
        seen = inconsistent = incompatible = False
        for default in defaults.values():
            if merged is None:
                merged = default
                inconsistent = inconsistent or (seen and default is not None)
            elif merged != default:
                inconsistent = True
                incompatible = incompatible or default is not None
            seen = True
        if incompatible:
            printed = {g: f"default value {d}" if d is not None else "no default value" for g, d in defaults.items()}
            self.error(defaults, f"{what} has incompatible default values across subgraphs: it has {_grouped(printed)} "
                       f"({code}_DEFAULT_MISMATCH)")
        return merged if not inconsistent or incompatible else None

    def add_join_field(self, dest: _MType, merged: _MField, sources: Sources, all_equal: bool,
                       override: _Override) -> None:
        def needed() -> bool:
            if not all_equal or override.used or override.labels:
                return True
            for graph, f in sources.items():
                subgraph = self.by_name[graph]
                if f is not None and graph not in override.unused:
                    if subgraph.is_external(f) or f.provides is not None or f.requires is not None:
                        return True
                elif dest.name in subgraph.types:
                    return True
            return False

        if not needed():
            return
        for graph, f in sources.items():
            if f is None or (graph in override.unused and graph not in override.labels):
                continue
            subgraph = self.by_name[graph]
            parts = [f"graph: {subgraph.enum}"]
            if f.requires is not None:
                parts.append(f"requires: {json.dumps(f.requires)}")
            if f.provides is not None:
                parts.append(f"provides: {json.dumps(f.provides)}")
            if f.override is not None:
                parts.append(f"override: {json.dumps(f.override)}")
            if not all_equal:
                parts.append(f"type: {json.dumps(f.type)}")
            if subgraph.is_external(f):
                parts.append("external: true")
            if graph in override.used:
                parts.append("usedOverridden: true")
            if graph in override.labels:
                parts.append(f"overrideLabel: {json.dumps(override.labels[graph])}")
            merged.directives.append(f"@join__field({', '.join(parts)})")
