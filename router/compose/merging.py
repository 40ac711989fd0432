"""The merge of the subgraphs' types into the supergraph's (_Merger): kinds must agree; objects and
interfaces by union of their fields, unions by union of their members, enums by usage, input types by
intersection; @join__type, @join__implements, @join__unionMember and @join__enumValue record the routing.
Fields merge by the rules of router/compose/merge_fields.py."""

from __future__ import annotations

import json

from router.compose.inaccessible import _InaccessibleChecks
from router.compose.merge_base import Sources, _merge_applied, _merge_description
from router.compose.merge_fields import _FieldMerger
from router.compose.model import _MArg, _MField, _MType, _MValue, _Override, _Type
from router.compose.spec import ROOT_TYPES
from router.compose.subgraph import _Subgraph
from router.compose.text import _grouped, _list


class _Merger(_FieldMerger, _InaccessibleChecks):
    """The supergraph's types merged from the subgraphs': merge() runs every rule; problems go to `errors`."""

    # types ------------------------------------------------------------------------------------------

    def merge(self) -> None:
        kinds: dict[str, dict[str, str]] = {}
        for subgraph in self.subgraphs:
            for t in subgraph.types.values():
                kinds.setdefault(t.name, {})[subgraph.name] = t.merged_kind
        for name, by_graph in kinds.items():
            if len(set(by_graph.values())) > 1:
                labels = {g: f"{k} type" if not self.by_name[g].types[name].interface_object
                          else "interface object (object type with @interfaceObject)" for g, k in by_graph.items()}
                self.error(by_graph, f'Type "{name}" has mismatched kind: it is defined as {_grouped(labels)} '
                           "(TYPE_KIND_MISMATCH)")
                continue
            self.types[name] = _MType(name, next(iter(by_graph.values())))
            objects = [g for g in by_graph if self.by_name[g].types[name].interface_object]
            if objects and len(objects) == len(by_graph):
                self.error(objects, f'Type "{name}" is declared with @interfaceObject in all the subgraphs in which '
                           "it is defined (it should be an interface in at least one) (INTERFACE_OBJECT_USAGE_ERROR)")
        if self.errors:
            return
        by_kind = {kind: [t for t in self.types.values() if t.kind == kind] for kind in
                   ("object", "interface", "union", "enum", "input", "scalar")}
        for dest in by_kind["object"] + by_kind["interface"]:
            for subgraph, t in self.sources(dest):
                for interface in t.implements:
                    if interface not in dest.implements:
                        dest.implements.append(interface)
                    dest.directives.append(f'@join__implements(graph: {subgraph.enum}, interface: "{interface}")')
        for kind in ("union", "scalar", "input", "interface", "object", "enum"):
            for dest in by_kind[kind]:
                self.merge_type(dest)
        query = self.types.get("Query")
        if query is None or not query.fields:
            self.error([], "No queries found in any subgraph: a supergraph must have a query root type (NO_QUERIES)")
        self.add_interface_object_fields()
        if not self.errors:
            self.check_implementations()
            self.check_inaccessible()

    def merge_type(self, dest: _MType) -> None:
        sources = self.sources(dest)
        if not (dest.kind == "object" and dest.name in ROOT_TYPES) and not any(t.has_definition for _, t in sources):
            for subgraph, _t in sources:
                self.error([subgraph.name], f'Type "{dest.name}" is an extension type, but there is no type definition '
                           f'for "{dest.name}" in any subgraph (EXTENSION_WITH_NO_BASE)')
        dest.description = _merge_description(t.description for _, t in sources)
        for subgraph, t in sources:
            interface_object = ", isInterfaceObject: true" if t.interface_object else ""
            if not t.keys:
                dest.directives.append(f"@join__type(graph: {subgraph.enum}{interface_object})")
            for key in t.keys:
                extension = ", extension: true" if key.extension or t.extends else ""
                resolvable = "" if key.resolvable else ", resolvable: false"
                dest.directives.append(f"@join__type(graph: {subgraph.enum}, key: {json.dumps(key.fields)}"
                                       f"{extension}{resolvable}{interface_object})")
        dest.inaccessible, others = _merge_applied(t.directives for _, t in sources)
        if dest.inaccessible:
            dest.directives.append("@inaccessible")
        if dest.kind == "object":
            self.merge_object(dest, sources)
        elif dest.kind == "interface":
            self.merge_interface(dest, sources)
        elif dest.kind == "union":
            self.merge_union(dest, sources)
        elif dest.kind == "enum":
            self.merge_enum(dest, sources)
        elif dest.kind == "input":
            self.merge_input(dest, sources)
        dest.directives += others

    def fields_shallow(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> dict[str, Sources]:
        """Per field name, every graph that has the type (or abstracts it with an @interfaceObject): its field."""
        having = {s.name for s, _ in sources}
        for subgraph in self.subgraphs:
            if dest.name in subgraph.types or any(
                    (i := subgraph.types.get(interface)) is not None and i.interface_object
                    for interface in dest.implements):
                having.add(subgraph.name)
        graphs = [s.name for s in self.subgraphs if s.name in having]
        result: dict[str, Sources] = {}
        for subgraph, t in sources:
            for name, f in t.fields.items():
                result.setdefault(name, dict.fromkeys(graphs))[subgraph.name] = f
        return result

    def merge_object(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> None:
        fields = self.fields_shallow(dest, sources)
        if not fields:
            del self.types[dest.name]
            return
        for name, field_sources in fields.items():
            merged = dest.fields[name] = _MField(name)
            override = self.validate_override(dest, name, field_sources)
            if dest.name == "Subscription":
                shared = [g for g, f in field_sources.items() if f is not None and self.by_name[g].is_shareable(f)]
                if shared:
                    self.error(shared, f'Subscription.{name}: fields on root level subscription object cannot be '
                               "marked as shareable (INVALID_FIELD_SHARING)")
            self.merge_field(dest, merged, field_sources, override)
            self.validate_sharing(dest, merged, field_sources, override)

    def merge_interface(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> None:
        implementations = [t.name for t in self.types.values() if t.kind == "object" and dest.name in t.implements]
        for subgraph, t in sources:
            if t.interface_object:
                defined = [i for i in implementations if i in subgraph.types]
                if defined:
                    self.error([subgraph.name], f'Interface type "{dest.name}" is defined as an @interfaceObject in '
                               f'subgraph "{subgraph.name}" so that subgraph should not define any of the '
                               f"implementation types of \"{dest.name}\", but it defines {_list(defined)} "
                               "(INTERFACE_OBJECT_USAGE_ERROR)")
                continue
            resolvable = [k for k in t.keys if k.resolvable]
            if resolvable:
                missing = [i for i in implementations if i not in subgraph.implementations(dest.name)]
                if missing:
                    self.error([subgraph.name], f'Interface type "{dest.name}" has a resolvable key '
                               f"(@key(fields: {json.dumps(resolvable[0].fields)})) in subgraph \"{subgraph.name}\" "
                               f"but that subgraph is missing some of the supergraph implementation types of "
                               f'"{dest.name}": it should define {_list(missing)} (and have them implement '
                               f'"{dest.name}") (INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE)')
        for name, field_sources in self.fields_shallow(dest, sources).items():
            merged = dest.fields[name] = _MField(name)
            self.merge_field(dest, merged, field_sources, self.validate_override(dest, name, field_sources))

    def merge_union(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> None:
        for _subgraph, t in sources:
            for member in t.members:
                if member not in dest.members:
                    dest.members.append(member)
        for member in dest.members:
            for subgraph, t in sources:
                if member in t.members:
                    dest.directives.append(f'@join__unionMember(graph: {subgraph.enum}, member: "{member}")')

    def merge_enum(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> None:
        position, examples = self.enum_usage.get(dest.name, ("Output", {}))
        names = list(dict.fromkeys(v for _, t in sources for v in t.values))
        for name in names:
            value_sources = [(s, t.values.get(name)) for s, t in sources]
            present = [(s, v) for s, v in value_sources if v is not None]
            merged = _MValue(name, _merge_description(v.description for _, v in present))
            merged.inaccessible, others = _merge_applied(v.directives for _, v in present)
            if merged.inaccessible:
                merged.directives.append("@inaccessible")
            merged.directives += [f"@join__enumValue(graph: {s.enum})" for s, _ in present] + others
            missing = [s.name for s, v in value_sources if v is None]
            if not merged.inaccessible and position != "Output" and missing:
                if position == "Both":
                    self.error([s.name for s, _ in present] + missing,
                               f'Enum type "{dest.name}" is used as both input type (for example, as type of '
                               f'"{examples["Input"]}") and output type (for example, as type of '
                               f'"{examples["Output"]}"), but value "{name}" is not defined in all the subgraphs '
                               f"defining \"{dest.name}\": it is defined in {_list(s.name for s, _ in present)} but "
                               f"not in {_list(missing)} (ENUM_VALUE_MISMATCH)")
                continue
            dest.values[name] = merged
        if not dest.values:
            self.error([s.name for s, _ in sources], f'None of the values of enum type "{dest.name}" are defined '
                       "consistently in all the subgraphs defining that type (EMPTY_MERGED_ENUM_TYPE)")

    def merge_input(self, dest: _MType, sources: list[tuple[_Subgraph, _Type]]) -> None:
        for name, field_sources in self.fields_shallow(dest, sources).items():
            present = {g: f for g, f in field_sources.items() if f is not None}
            merged = _MField(name, description=_merge_description(f.description for f in present.values()))
            coordinate = f"{dest.name}.{name}"
            merged.inaccessible, others = _merge_applied(f.directives for f in present.values())
            if merged.inaccessible:
                merged.directives.append("@inaccessible")
            merged.type, all_equal = self.merge_type_reference(
                coordinate, {g: f.type for g, f in present.items()}, is_input=True, element="field")
            self.add_join_field(dest, merged, field_sources, all_equal, _Override())
            merged.directives += others
            merged.default = self.merge_default(
                f'Input field "{coordinate}"', {g: f.default for g, f in present.items()}, "INPUT_FIELD")
            missing = [g for g, f in field_sources.items() if f is None]
            if not merged.inaccessible and missing:
                required = [g for g, f in present.items() if f.required]
                if required:
                    self.error(required + missing, f'Input object field "{coordinate}" is required in some subgraphs '
                               f"but does not appear in all subgraphs: it is required in {_list(required)} but does "
                               f"not appear in {_list(missing)} (REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH)")
                continue
            dest.fields[name] = merged
        if not dest.fields:
            self.error([s.name for s, _ in sources], f'None of the fields of input object type "{dest.name}" are '
                       "consistently defined in all the subgraphs defining that type (EMPTY_MERGED_INPUT_TYPE)")

    # after the merge --------------------------------------------------------------------------------

    def add_interface_object_fields(self) -> None:
        """Fields an @interfaceObject adds to an interface also go on each of its implementations."""
        for dest in list(self.types.values()):
            if dest.kind != "object":
                continue
            for interface_name in dest.implements:
                interface = self.types.get(interface_name)
                if interface is None:
                    continue
                for name, interface_field in interface.fields.items():
                    if name in dest.fields or not any(
                            (t := s.types.get(interface_name)) is not None and t.interface_object and name in t.fields
                            and not s.is_external(t.fields[name]) for s in self.subgraphs):
                        continue
                    copied = [d for d in interface_field.directives if not d.startswith("@join__")]
                    dest.fields[name] = _MField(
                        name, interface_field.type, interface_field.description,
                        {a.name: _MArg(a.name, a.type, a.default, a.description, list(a.directives))
                         for a in interface_field.args.values()},
                        [*copied, "@join__field"], inaccessible=interface_field.inaccessible)
                    self.validate_sharing(dest, dest.fields[name], dict.fromkeys(self.by_name), _Override())
