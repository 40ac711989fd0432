"""The API schema (the supergraph without its @inaccessible elements) must hold together: no inaccessible
type referenced from it, no type left with only inaccessible children, no required argument or input field
inaccessible, no inaccessible element used in a default value."""

from __future__ import annotations

from graphql import EnumValueNode, ListValueNode, ObjectValueNode, ValueNode, parse_value

from router.compose.merge_base import _MergeBase
from router.compose.model import _MField, _MValue
from router.compose.text import _is_list, _is_non_null, _named


class _InaccessibleChecks(_MergeBase):
    """The API schema checks, run after the merge (a layer of _Merger)."""

    def inaccessible_in_default(self, type_ref: str, value: ValueNode) -> list[str]:
        """The @inaccessible enum values and input fields a default value uses."""
        if _is_non_null(type_ref):
            return self.inaccessible_in_default(type_ref[:-1], value)
        if _is_list(type_ref):
            values = value.values if isinstance(value, ListValueNode) else (value,)
            return [u for v in values for u in self.inaccessible_in_default(type_ref[1:-1], v)]
        t = self.types.get(type_ref)
        if t is not None and t.kind == "enum" and isinstance(value, EnumValueNode):
            enum_value = t.values.get(value.value)
            inaccessible = enum_value is not None and enum_value.inaccessible
            return [f'Enum value "{t.name}.{value.value}"'] if inaccessible else []
        used: list[str] = []
        if t is not None and t.kind == "input" and isinstance(value, ObjectValueNode):
            for object_field in value.fields:
                input_field = t.fields.get(object_field.name.value)
                if input_field is not None:
                    if input_field.inaccessible:
                        used.append(f'Input field "{t.name}.{input_field.name}"')
                    used += self.inaccessible_in_default(input_field.type, object_field.value)
        return used

    def check_inaccessible_defaults(self) -> None:
        for dest in self.types.values():
            if dest.inaccessible:
                continue
            for f in dest.fields.values():
                if f.inaccessible:
                    continue
                elements = [(f"{dest.name}.{f.name}({a.name}:)", a.type, a.default) for a in f.args.values()
                            if "@inaccessible" not in a.directives] if dest.kind != "input" else [
                    (f"{dest.name}.{f.name}", f.type, f.default)]
                for coordinate, type_ref, default in elements:
                    if default is None:
                        continue
                    for element in self.inaccessible_in_default(type_ref, parse_value(default)):
                        self.error(self.defining(dest.name, f.name), f"{element} is @inaccessible but is used in the "
                                   f'default value of "{coordinate}", which is in the API schema '
                                   "(DEFAULT_VALUE_USES_INACCESSIBLE)")

    def check_inaccessible(self) -> None:
        """The API schema (the supergraph without its @inaccessible elements) must hold together."""
        self.check_inaccessible_defaults()
        referencers: dict[str, list[str]] = {}
        for dest in self.types.values():
            for f in dest.fields.values():
                if not (dest.inaccessible or f.inaccessible):
                    referencers.setdefault(_named(f.type), []).append(f"{dest.name}.{f.name}")
                    for arg in f.args.values():
                        if "@inaccessible" not in arg.directives:
                            referencers.setdefault(_named(arg.type), []).append(f"{dest.name}.{f.name}({arg.name}:)")
        for dest in self.types.values():
            if dest.inaccessible:
                if dest.name == "Query":
                    self.error(self.defining("Query"), 'Type "Query" is @inaccessible but is the root query type, '
                               "which must be in the API schema (QUERY_ROOT_TYPE_INACCESSIBLE)")
                for referencer in referencers.get(dest.name, []):
                    self.error(self.defining(dest.name), f'Type "{dest.name}" is @inaccessible but is referenced by '
                               f'"{referencer}", which is in the API schema (REFERENCED_INACCESSIBLE)')
                continue
            children: list[_MField | _MValue] = [*dest.fields.values(), *dest.values.values()]
            if dest.kind in ("object", "interface", "input", "enum") and children and all(
                    c.inaccessible for c in children):
                what = {"enum": "values", "input": "input fields"}.get(dest.kind, "fields")
                self.error(self.defining(dest.name), f'Type "{dest.name}" is in the API schema but all of its {what} '
                           "are @inaccessible (ONLY_INACCESSIBLE_CHILDREN)")
            if dest.kind == "union" and all(self.types[m].inaccessible for m in dest.members if m in self.types):
                self.error(self.defining(dest.name), f'Type "{dest.name}" is in the API schema but all of its '
                           "members are @inaccessible (ONLY_INACCESSIBLE_CHILDREN)")
            for f in dest.fields.values():
                where = f"{dest.name}.{f.name}"
                if f.inaccessible:
                    for interface_name in dest.implements:
                        interface = self.types.get(interface_name)
                        other = interface.fields.get(f.name) if interface is not None else None
                        if other is not None and not (interface is not None and interface.inaccessible) \
                                and not other.inaccessible:
                            self.error(self.defining(dest.name, f.name), f'Field "{where}" is @inaccessible but '
                                       f'implements the interface field "{interface_name}.{f.name}", which is in the '
                                       "API schema (IMPLEMENTED_BY_INACCESSIBLE)")
                    continue
                if dest.kind == "input":
                    continue
                for arg in f.args.values():
                    if "@inaccessible" in arg.directives and _is_non_null(arg.type) and arg.default is None:
                        self.error(self.defining(dest.name, f.name), f'Argument "{where}({arg.name}:)" is '
                                   "@inaccessible but is a required argument of its field (REQUIRED_INACCESSIBLE)")
            if dest.kind == "input":
                for f in dest.fields.values():
                    if f.inaccessible and _is_non_null(f.type) and f.default is None:
                        self.error(self.defining(dest.name, f.name), f'Input field "{dest.name}.{f.name}" is '
                                   "@inaccessible but is a required input field of its type (REQUIRED_INACCESSIBLE)")
