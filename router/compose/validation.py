"""The rules a subgraph must follow on its own (Apollo's subgraph validation), checked before any merge:
@key field sets (and interface keys on every implementation), @requires and @provides field sets,
@external and @shareable where they are allowed, @interfaceObject on entities only."""

from __future__ import annotations

import json
from collections.abc import Callable

from graphql import FieldNode, GraphQLError, print_ast

from router.compose.model import _Field
from router.compose.spec import COMPOSITE
from router.compose.subgraph import _Subgraph
from router.compose.text import _list, _named
from router.fieldset import parse_fieldset


def _validate(subgraph: _Subgraph, errors: list[str]) -> None:
    """The rules a subgraph must follow on its own (Apollo's subgraph validation)."""
    name = subgraph.name

    def error(message: str) -> None:
        errors.append(f"[{name}] {message}")

    for t in subgraph.types.values():
        for key in t.keys:
            where = f'On type "{t.name}", for @key(fields: {json.dumps(key.fields)})'
            if t.kind == "interface" and subgraph.version < (2, 3):
                error(f"{where}: @key is only allowed on interfaces from federation v2.3 "
                      "(KEY_UNSUPPORTED_ON_INTERFACE)")
                continue
            problems: list[str] = []

            def on_key_field(f: _Field, selection: FieldNode, _external: bool, problems: list[str] = problems) -> None:
                if f.args:
                    problems.append(f"field {f.coordinate} cannot be included because it has arguments "
                                    "(KEY_FIELDS_HAS_ARGS)")
                base = subgraph.types.get(_named(f.type))
                if base is not None and base.kind in ("interface", "union"):
                    problems.append(f'field "{f.coordinate}" is a {base.kind.capitalize()} type which is not '
                                    "allowed in @key (KEY_FIELDS_SELECT_INVALID_TYPE)")

            problem = subgraph.walk_fieldset(t.name, key.fields, on_key_field)
            if problem:
                error(f"{where}: {problem} (the field should either be added to this subgraph or, if it should not "
                      "be resolved by this subgraph, added with @external) (KEY_INVALID_FIELDS)")
            for problem in problems:
                error(f"{where}: {problem}")
        if t.interface_object and not t.keys:
            error(f'The @interfaceObject directive can only be applied to entity types but type "{t.name}" has no '
                  "@key in this subgraph (INTERFACE_OBJECT_USAGE_ERROR)")
        if t.kind == "interface":
            for key in t.keys:
                matching = {impl: [k for k in subgraph.types[impl].keys if _same_fieldset(k.fields, key.fields)]
                            for impl in subgraph.implementations(t.name)}
                missing = [impl for impl, keys in matching.items() if not keys]
                unresolvable = [impl for impl, keys in matching.items() if keys and key.resolvable
                                and not keys[0].resolvable]
                if missing:
                    error(f'Key @key(fields: {json.dumps(key.fields)}) on interface type "{t.name}" is missing on '
                          f"implementation {_list(missing)} (INTERFACE_KEY_NOT_ON_IMPLEMENTATION)")
                elif unresolvable:
                    error(f'Key @key(fields: {json.dumps(key.fields)}) on interface type "{t.name}" should be '
                          f"resolvable on all implementation types, but is declared with resolvable: false in "
                          f"{_list(unresolvable)} (INTERFACE_KEY_NOT_ON_IMPLEMENTATION)")
        for f in t.fields.values():
            if t.kind == "interface" and f.external:
                error(f'Interface type field "{f.coordinate}" is marked @external but @external is not allowed on '
                      "interface fields (EXTERNAL_ON_INTERFACE)")
            if t.kind == "interface" and f.shareable:
                error(f'Invalid use of @shareable on field "{f.coordinate}": only object type fields can be marked '
                      "with @shareable (INVALID_SHAREABLE_USAGE)")
            if f.requires is not None:
                _validate_dependency(subgraph, f, "requires", t.name, error)
            if f.provides is not None:
                if subgraph.is_external(f):
                    error(f'Cannot have both @provides and @external on field "{f.coordinate}" '
                          "(EXTERNAL_COLLISION_WITH_ANOTHER_DIRECTIVE)")
                    continue
                base = subgraph.types.get(_named(f.type))
                if base is None or base.kind not in COMPOSITE:
                    error(f'Invalid @provides directive on field "{f.coordinate}": field has type "{f.type}" which '
                          "is not a Composite Type (PROVIDES_ON_NON_OBJECT_FIELD)")
                    continue
                _validate_dependency(subgraph, f, "provides", base.name, error)
            if (t.kind in ("object", "interface") and subgraph.is_external(f)
                    and (t.name, f.name) not in subgraph.used):
                error(f'Field "{f.coordinate}" is marked @external but is not used in any federation directive '
                      "(@key, @provides, @requires) or to satisfy an interface (EXTERNAL_UNUSED)")


def _validate_dependency(subgraph: _Subgraph, f: _Field, directive: str, parent: str,
                         error: Callable[[str], None]) -> None:
    fields = f.requires if directive == "requires" else f.provides
    assert fields is not None
    where = f'On field "{f.coordinate}", for @{directive}(fields: {json.dumps(fields)})'
    code = directive.upper()
    if subgraph.types[f.parent].kind == "interface":
        error(f'Cannot use @{directive} on field "{f.coordinate}" of parent type "{f.parent}": @{directive} is not '
              f"yet supported within interfaces ({code}_UNSUPPORTED_ON_INTERFACE)")
        return
    problems: list[str] = []

    def on_field(target: _Field, selection: FieldNode, external_parent: bool) -> None:
        if target.args and directive == "provides":
            problems.append(f"field {target.coordinate} cannot be included because it has arguments "
                            f"({code}_FIELDS_HAS_ARGS)")
        if selection.selection_set is None and not external_parent and not subgraph.is_external(target):
            problems.append(f'field "{target.coordinate}" should not be part of a @{directive} since it is already '
                            f"provided by this subgraph (it is not marked @external) ({code}_FIELDS_MISSING_EXTERNAL)")

    problem = subgraph.walk_fieldset(parent, fields, on_field)
    if problem:
        error(f"{where}: {problem} (if the field is defined in another subgraph, add it to this subgraph with "
              f"@external) ({code}_INVALID_FIELDS)")
        return
    for message in problems:
        error(f"{where}: {message}")


def _same_fieldset(a: str, b: str) -> bool:
    try:
        return print_ast(parse_fieldset(a)) == print_ast(parse_fieldset(b))
    except GraphQLError:
        return a == b
