"""Composition: subgraph SDLs in, a Federation v2 supergraph (link v1.0 + join v0.3 or v0.4) out.

The rules and the output follow Apollo's composition (@apollo/composition 2.x), and
tests/federation/test_reference_harness.py checks them against it case by case:

* subgraphs are taken in name order, and the supergraph prints its types and directives alphabetically;
* each subgraph is checked on its own first (GraphQL validity, @key / @requires / @provides field sets,
  @external use, @interfaceObject and interface keys);
* object and interface types merge by union of their fields, input types and field arguments by
  intersection (a required one missing somewhere is an error), enums by usage: union of the values when
  only used as output, intersection when only used as input, equal value sets when used as both;
* a field resolved by several subgraphs must be @shareable in each (fields provided through @provides
  count), `@override(from:)` takes a field from a subgraph (kept as `usedOverridden` while that subgraph
  still needs it, or both sides kept with `overrideLabel` for a progressive override, which links join
  v0.4), an `@interfaceObject` adds its fields to the interface and to every implementation;
* descriptions, @deprecated, @specifiedBy, @tag and @inaccessible are kept (the last two @link their
  specs), and the API schema must hold together without the @inaccessible elements;
* @cost / @listSize (demand control) and @authenticated / @requiresScopes / @policy (authorization) are
  kept and @link their specs (cost v0.1, authenticated v0.1, requiresScopes v0.1, policy v0.1); differing
  applications merge by argument as Apollo's do (max weights, unions, AND of the scope/policy disjunctions);
* finally every field of the API schema must be reachable by some query through the subgraphs
  (satisfiability, in a simplified form: key jumps, @provides, @requires, interfaces and interface objects).

Invalid sets are rejected with errors that name the subgraph, the type and the field, and end with the
code Apollo uses for the same problem. Federation 1 subgraphs (no federation @link) are upgraded as Apollo
does (simplified: every field shareable, extensions made definitions, meaningless @external dropped).
Not composed: custom directives (@composeDirective), executable directive definitions, @context /
@fromContext; the authorization directives are not propagated between interfaces and implementations, nor
checked where Apollo forbids them (e.g. on interfaces, @listSize on a non-list).

The supergraph links join v0.3, or v0.4 when a progressive @override (label) needs `overrideLabel`. (Apollo
picks the join version from the subgraphs' federation version: v0.5 from federation v2.8 on; the join
directives we write mean the same in all three.)

The package, in the order compose() goes:

* model.py: the input (SubgraphSource), the failure (CompositionError), the data of the subgraphs as read
  and of the supergraph as merged; spec.py and text.py: the federation names and small text helpers;
* reading.py: each subgraph's SDL into a _Subgraph (subgraph.py), Federation 1 subgraphs upgraded;
* validation.py: each subgraph checked on its own;
* merging.py: the merge (_Merger), in layers: merge_base.py (state, subtyping), merge_checks.py (@override,
  @external, field sharing, interface fields), inaccessible.py (the API schema holds together),
  merge_fields.py (fields, arguments, type references, defaults, @join__field), merge_directives.py (the
  demand control and authorization directives: merging their arguments, their links and definitions);
* printing.py: the supergraph text; satisfiability.py: every field of the API schema reachable.
"""

from __future__ import annotations

from collections.abc import Sequence

from router.compose.merging import _Merger
from router.compose.model import CompositionError, SubgraphSource
from router.compose.printing import _print, _supergraph_errors
from router.compose.reading import _Reader, _upgrade
from router.compose.satisfiability import _Satisfiability
from router.compose.spec import ROOT_TYPES
from router.compose.subgraph import _Subgraph, graph_enum_name
from router.compose.validation import _validate

__all__ = ["CompositionError", "SubgraphSource", "compose", "graph_enum_name"]


def compose(subgraphs: Sequence[SubgraphSource]) -> str:
    """The supergraph SDL of `subgraphs`; raises CompositionError listing every problem found."""
    names = [s.name for s in subgraphs]
    if not subgraphs:
        raise CompositionError(["no subgraphs to compose"])
    if len(set(names)) != len(names):
        raise CompositionError([f"subgraph names must be unique: {names}"])
    errors: list[str] = []
    read: list[_Subgraph] = []
    for source in sorted(subgraphs, key=lambda s: s.name):
        subgraph = _Reader(source, errors).read()
        if subgraph is not None:
            read.append(subgraph)
    for subgraph in read:
        for t in subgraph.types.values() if not subgraph.fed2 else ():
            if (t.name not in ROOT_TYPES and t.kind in ("object", "interface")
                    and (t.extends or (t.has_extension and not t.has_definition))
                    and not any((o := other.types.get(t.name)) is not None and o.has_definition
                                for other in read if other is not subgraph)):
                errors.append(f'[{subgraph.name}] Type "{t.name}" is an extension type, but there is no type '
                              f'definition for "{t.name}" in any subgraph (EXTENSION_WITH_NO_BASE)')
    for subgraph in read:
        if not subgraph.fed2:
            _upgrade(subgraph, read, errors)
    for subgraph in read:
        subgraph.compute()
        _validate(subgraph, errors)
    enums = [s.enum for s in read]
    for subgraph in read:
        if enums.count(subgraph.enum) > 1:
            clashing = [s for s in read if s.enum == subgraph.enum]
            subgraph.enum = f"{subgraph.enum}_{clashing.index(subgraph) + 1}"
    if errors:
        raise CompositionError(errors)
    merger = _Merger(read)
    merger.merge()
    if merger.errors:
        raise CompositionError(merger.errors)
    sdl = _print(merger)
    problems = _supergraph_errors(merger, sdl) or _Satisfiability(merger).run()
    if problems:
        raise CompositionError(problems)
    return sdl
