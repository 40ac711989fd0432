"""The demand control (@cost, @listSize) and authorization (@authenticated, @requiresScopes, @policy)
directives: how their applications in several subgraphs merge into one, and what the supergraph links and
defines for them, as Apollo's composition does.

An element takes the application of the subgraphs that apply the directive (the others do not count): their
common application when they agree (defaults expanded), otherwise one whose arguments merge one by one:
@cost(weight:) the maximum, @listSize(assumedSize:) the maximum, (slicingArguments:, sizedFields:) the
union, (requireOneSlicingArgument:) the conjunction (a missing value being the default, true), and the
scopes / policies of @requiresScopes / @policy the conjunction of the disjunctions (Apollo's dnfConjunction).
Not done: propagating the authorization directives between interfaces and their implementations.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import parse_value, value_from_ast_untyped

from router.compose.model import _Applied

# in the order the federation spec registers them (the order Apollo links their specs in, per subgraph)
SPEC_DIRECTIVES = ("authenticated", "requiresScopes", "policy", "cost", "listSize")
ACCESS_CONTROL = ("authenticated", "requiresScopes", "policy")
SPEC_OF = {"authenticated": "authenticated", "requiresScopes": "requiresScopes", "policy": "policy",
           "cost": "cost", "listSize": "cost"}
LINKS = {
    "authenticated": '@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)',
    "requiresScopes": '@link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)',
    "policy": '@link(url: "https://specs.apollo.dev/policy/v0.1", for: SECURITY)',
    "cost": '@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@listSize"])',
}
_AUTH_LOCATIONS = "on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM"
DIRECTIVES = {
    "authenticated": {"authenticated": f"directive @authenticated {_AUTH_LOCATIONS}"},
    "requiresScopes": {"requiresScopes": "directive @requiresScopes(scopes: [[requiresScopes__Scope!]!]!) "
                                         + _AUTH_LOCATIONS},
    "policy": {"policy": f"directive @policy(policies: [[policy__Policy!]!]!) {_AUTH_LOCATIONS}"},
    "cost": {"cost": "directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | "
                     "INPUT_FIELD_DEFINITION | OBJECT | SCALAR",
             "listSize": "directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: "
                         "[String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION"},
}
TYPES = {"requiresScopes": {"requiresScopes__Scope": "scalar requiresScopes__Scope"},
         "policy": {"policy__Policy": "scalar policy__Policy"}}

# each directive's arguments in definition order: (name, default, how values merge)
_ARGUMENTS: dict[str, tuple[tuple[str, Any, str], ...]] = {
    "authenticated": (),
    "requiresScopes": (("scopes", None, "dnf"),),
    "policy": (("policies", None, "dnf"),),
    "cost": (("weight", None, "max"),),
    "listSize": (("assumedSize", None, "max"), ("slicingArguments", None, "union"),
                 ("sizedFields", None, "union"), ("requireOneSlicingArgument", True, "and")),
}


def _values(applied: _Applied) -> dict[str, Any]:
    """The arguments of `applied` as Python values, defaults expanded."""
    given = {n: value_from_ast_untyped(parse_value(v)) for n, v in applied.args}
    return {n: given.get(n, default) for n, default, _ in _ARGUMENTS[applied.name]}


def _print_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_print_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _union(values: list[list[Any]]) -> list[Any]:
    merged: list[Any] = []
    for value in values:
        merged += [v for v in value if v not in merged]
    return merged


def _json_key(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def dnf_conjunction(values: list[list[list[str]]]) -> list[list[str]]:
    """Apollo's dnfConjunction: the AND of disjunctions of conjunctions, simplified, in Apollo's order."""
    filtered: list[list[list[str]]] = []
    seen: set[str] = set()
    for value in values:
        value = [sorted(inner) for inner in (value or [[]])]
        value.sort(key=_json_key)
        if (key := _json_key(value)) not in seen:
            seen.add(key)
            filtered.append(value)
    if not filtered:
        return []
    result = filtered[0]
    for current in filtered[1:]:
        accumulator: list[list[str]] = []
        keys: set[str] = set()
        for acc in result:
            for element in current:
                candidate = sorted([*acc, *(e for e in element if e not in acc)])
                if (key := _json_key(candidate)) not in keys:
                    keys.add(key)
                    accumulator.append(candidate)
        accumulator.sort(key=len)
        result = []
        for candidate in accumulator:
            if not any(set(kept) <= set(candidate) for kept in result):
                result.append(candidate)
    return result


def merge_spec_directive(name: str, applications: list[_Applied]) -> str:
    """The one application of spec directive `name` the supergraph carries for these subgraph applications."""
    distinct: list[_Applied] = []
    expanded: list[dict[str, Any]] = []
    for applied in applications:
        values = _values(applied)
        if values not in expanded:
            distinct.append(applied)
            expanded.append(values)
    if len(distinct) == 1:
        return str(distinct[0])
    args: list[str] = []
    for arg, _, strategy in _ARGUMENTS[name]:
        present = [e[arg] for e in expanded if e[arg] is not None]
        if strategy == "dnf":
            merged: Any = dnf_conjunction(present)
        elif not present:
            continue
        elif strategy == "max":
            merged = max(present)
        elif strategy == "union":
            merged = _union(present)
        else:
            merged = all(present)
        args.append(f"{arg}: {_print_value(merged)}")
    return f"@{name}(" + ", ".join(args) + ")" if args else f"@{name}"
