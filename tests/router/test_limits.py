"""Operation limits: each limit at, below and above its threshold; fragments and inline fragments
expanded; fragment cycles, fragment bombs and long fragment chains measured in one pass; tokens counted
with an early stop."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLError, OperationDefinitionNode, get_introspection_query, parse
from graphql.language import Lexer

from router.limits import (
    BODY_TOO_LARGE,
    MAX_ALIASES_EXCEEDED,
    MAX_DEPTH_EXCEEDED,
    MAX_DIRECTIVES_EXCEEDED,
    MAX_ROOT_FIELDS_EXCEEDED,
    MAX_TOKENS_EXCEEDED,
    OperationLimits,
    OperationShape,
    check_body_size,
    check_limits,
    count_tokens,
    measure,
    tokens_exceed,
)

NO_LIMITS = OperationLimits(max_depth=None, max_aliases=None, max_root_fields=None, max_tokens=None,
                            max_directives=None, max_body_bytes=None)


def shape(query: str, operation_name: str | None = None) -> OperationShape:
    document = parse(query)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(o for o in operations if operation_name is None or (o.name and o.name.value == operation_name))
    return measure(document, operation)


def errors(query: str, **limits: Any) -> list[GraphQLError]:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return check_limits(query, document, operation, OperationLimits(**{**NO_LIMITS.__dict__, **limits}))


def codes(found: list[GraphQLError]) -> list[str]:
    return [(e.extensions or {})["code"] for e in found]


def nested(depth: int) -> str:
    return "{ " + "a { " * (depth - 1) + "b" + " }" * (depth - 1) + " }"


# depth ------------------------------------------------------------------------------------------------


def test_depth_counts_field_nesting() -> None:
    assert shape("{ a }").depth == 1
    assert shape("{ a b { c } d { e { f } } }").depth == 3
    assert shape(nested(7)).depth == 7


@pytest.mark.parametrize(("depth", "refused"), [(14, False), (15, False), (16, True)])
def test_max_depth_at_below_and_above(depth: int, refused: bool) -> None:
    found = errors(nested(depth), max_depth=15)
    assert codes(found) == ([MAX_DEPTH_EXCEEDED] if refused else [])
    if refused:
        assert found[0].extensions == {"code": MAX_DEPTH_EXCEEDED, "measured": 16, "limit": 15}


def test_depth_expands_fragments_and_inline_fragments() -> None:
    # Apollo's example: fragments and inline fragments add no level of their own.
    query = """
        query GetBook { book { ...bookDetails } }
        fragment bookDetails on Book { details { ... on ProductDetailsBook { country } } }
    """
    assert shape(query).depth == 3
    deeper = """
        { a { ...F ... on A { x { y { z } } } } }
        fragment F on A { b { ...G } }
        fragment G on B { c { d { e } } }
    """
    assert shape(deeper).depth == 5  # a > b > c > d > e


def test_introspection_subtrees_count_toward_depth() -> None:
    assert shape("{ __schema { types { fields { type { name } } } } }").depth == 5
    assert shape('{ __type(name: "A") { ofType { ofType { name } } } }').depth == 4
    # The standard introspection query (GraphiQL's) is 15 deep: it passes the default limit, exactly.
    query = get_introspection_query(descriptions=True)
    assert shape(query).depth == 15
    assert errors(query, max_depth=15) == []
    assert codes(errors(query, max_depth=14)) == [MAX_DEPTH_EXCEEDED]


# aliases ----------------------------------------------------------------------------------------------


def test_aliases_count_aliased_fields_in_fragments_as_often_as_spread() -> None:
    assert shape("{ user { nickname: name username: name handle: name } }").aliases == 3
    query = """
        { first: user { ...Names } second: user { ...Names } ... on Query { third: user { id } } }
        fragment Names on User { a: name b: name }
    """
    # first, second, third, and a/b twice (one per spread)
    assert shape(query).aliases == 7


@pytest.mark.parametrize(("count", "refused"), [(29, False), (30, False), (31, True)])
def test_max_aliases_at_below_and_above(count: int, refused: bool) -> None:
    query = "{ " + " ".join(f"a{i}: name" for i in range(count)) + " }"
    found = errors(query, max_aliases=30)
    assert codes(found) == ([MAX_ALIASES_EXCEEDED] if refused else [])
    if refused:
        assert found[0].extensions == {"code": MAX_ALIASES_EXCEEDED, "measured": 31, "limit": 30}


# root fields ------------------------------------------------------------------------------------------


def test_root_fields_count_through_fragments_and_inline_fragments() -> None:
    query = """
        query { topBooks { id } topMovies { id } ...Games ... on Query { again: topBooks { id } __typename } }
        fragment Games on Query { topGames { id } topApps { id } }
    """
    assert shape(query).root_fields == 6
    # Nested fields are not root fields.
    assert shape("{ a { b c d } }").root_fields == 1


@pytest.mark.parametrize(("count", "refused"), [(19, False), (20, False), (21, True)])
def test_max_root_fields_at_below_and_above(count: int, refused: bool) -> None:
    query = "{ " + " ".join(f"f{i}" for i in range(count)) + " }"
    found = errors(query, max_root_fields=20)
    assert codes(found) == ([MAX_ROOT_FIELDS_EXCEEDED] if refused else [])
    if refused:
        assert found[0].extensions == {"code": MAX_ROOT_FIELDS_EXCEEDED, "measured": 21, "limit": 20}


# directives -------------------------------------------------------------------------------------------


def test_directives_count_every_usage_in_the_operation_and_its_fragments() -> None:
    query = """
        query Q($v: Boolean = true @deprecated) @live {
          a @include(if: $v) @cached { b @skip(if: false) }
          ...F @include(if: true)
          ... on Query @skip(if: false) { c @x }
          ...F
        }
        fragment F on Query @fragmentDirective { d @y }
    """
    # variable 1, operation 1, a 2, b 1, spread 1, inline 1, c 1, F twice x (definition 1 + d 1)
    assert shape(query).directives == 12


@pytest.mark.parametrize(("count", "refused"), [(49, False), (50, False), (51, True)])
def test_max_directives_at_below_and_above(count: int, refused: bool) -> None:
    query = "{ a " + " ".join("@include(if: true)" for _ in range(count)) + " }"
    found = errors(query, max_directives=50)
    assert codes(found) == ([MAX_DIRECTIVES_EXCEEDED] if refused else [])
    if refused:
        assert found[0].extensions == {"code": MAX_DIRECTIVES_EXCEEDED, "measured": 51, "limit": 50}


# fragments --------------------------------------------------------------------------------------------


def test_only_the_selected_operation_and_its_fragments_count() -> None:
    query = """
        query A { x { ...Deep } }
        query B { y }
        fragment Deep on X { a { b { c } } }
    """
    assert shape(query, "A") == OperationShape(depth=4, aliases=0, root_fields=1, directives=0)
    assert shape(query, "B") == OperationShape(depth=1, aliases=0, root_fields=1, directives=0)


def test_fragment_cycles_terminate() -> None:
    # Validation rejects these (NoFragmentCycles); measuring must still terminate on them.
    query = """
        { a { ...A } }
        fragment A on T { x { ...B } y: z }
        fragment B on T { w { ...A } ...B }
    """
    result = shape(query)
    assert result.depth >= 3
    assert result.aliases >= 1
    assert shape("{ ...Self } fragment Self on Query { me ...Self }").root_fields == 1


def test_a_fragment_bomb_is_measured_without_expanding_it() -> None:
    # F0 spreads F1 twice, F1 spreads F2 twice, ...: 2**40 aliased root fields in a few hundred bytes.
    levels = 40
    fragments = "\n".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    query = "{ ...F0 }\n" + fragments + f"\nfragment F{levels} on Query {{ x: a @d {{ b }} }}"
    result = shape(query)
    assert result == OperationShape(depth=2, aliases=2**levels, root_fields=2**levels, directives=2**levels)
    assert codes(errors(query, max_aliases=30, max_root_fields=20, max_directives=50)) == [
        MAX_ALIASES_EXCEEDED, MAX_ROOT_FIELDS_EXCEEDED, MAX_DIRECTIVES_EXCEEDED]


def test_a_long_fragment_chain_does_not_exhaust_the_stack() -> None:
    count = 3000  # each link a Python frame or more if measured recursively: past the recursion limit
    fragments = "\n".join(f"fragment F{i} on T {{ f{i} {{ ...F{i + 1} }} }}" for i in range(count))
    query = "{ t { ...F0 } }\n" + fragments + f"\nfragment F{count} on T {{ leaf }}"
    assert shape(query).depth == count + 2


# tokens -----------------------------------------------------------------------------------------------


def test_tokens_are_the_lexical_tokens_and_comments() -> None:
    assert count_tokens("{ a }") == 3
    assert count_tokens("# a comment\n{ a(x: 1) }") == 9  # comment { a ( x : 1 ) }
    assert count_tokens("") == 0
    # The same count as graphql-core's parse(max_tokens=): one token fewer is refused.
    query = 'query Q($v: Int = 3) @d { ...F } fragment F on T { a(s: "x", b: """y""") }'
    n = count_tokens(query)
    parse(query, max_tokens=n)
    with pytest.raises(GraphQLError):
        parse(query, max_tokens=n - 1)


@pytest.mark.parametrize(("extra", "refused"), [(-1, False), (0, False), (1, True)])
def test_max_tokens_at_below_and_above(extra: int, refused: bool) -> None:
    limit = 100
    query = "{ " + "a " * (limit - 2 + extra) + "}"
    assert count_tokens(query) == limit + extra
    found = errors(query, max_tokens=limit)
    assert codes(found) == ([MAX_TOKENS_EXCEEDED] if refused else [])
    error = tokens_exceed(query, OperationLimits(max_tokens=limit))
    assert (error is not None) == refused
    if error is not None:
        assert error.extensions == {"code": MAX_TOKENS_EXCEEDED, "measured": limit + 1, "limit": limit}


class _CountingLexer:
    """Counts the tokens graphql-core's lexer reads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = 0
        original = Lexer.read_next_token

        def read_next_token(lexer: Lexer, start: int) -> Any:
            self.reads += 1
            return original(lexer, start)

        monkeypatch.setattr(Lexer, "read_next_token", read_next_token)


@pytest.mark.parametrize("unit", ["{ a } ", "# padding comment\n", "field(arg: 1) "])
def test_a_5_mb_query_is_refused_after_reading_just_past_the_limit(
    monkeypatch: pytest.MonkeyPatch, unit: str
) -> None:
    query = unit * (5_000_000 // len(unit))
    assert len(query) > 4_900_000
    lexer = _CountingLexer(monkeypatch)
    error = tokens_exceed(query, OperationLimits())  # the default limit, 15000
    assert error is not None and (error.extensions or {})["code"] == MAX_TOKENS_EXCEEDED
    assert lexer.reads == 15001  # one past the limit, of the ~1 million tokens there


def test_a_lexical_error_stops_the_count() -> None:
    assert count_tokens("{ a ' b c }") == 2
    assert tokens_exceed("{ a ' b c }", OperationLimits(max_tokens=5)) is None


# body size --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "refused"), [(1_999_999, False), (2_000_000, False), (2_000_001, True)])
def test_body_size_at_below_and_above(size: int, refused: bool) -> None:
    error = check_body_size(size, OperationLimits())
    assert (error is not None) == refused
    if error is not None:
        assert error.extensions == {"code": BODY_TOO_LARGE, "measured": 2_000_001, "limit": 2_000_000}


# all together -----------------------------------------------------------------------------------------


def test_none_switches_every_limit_off() -> None:
    query = "{ " + " ".join(f"a{i}: x @d" for i in range(100)) + " " + nested(40)[2:-2] + " }"
    assert errors(query) == []
    assert check_body_size(10**9, NO_LIMITS) is None
    assert tokens_exceed(query, NO_LIMITS) is None


def test_check_limits_reports_every_limit_broken() -> None:
    query = "{ " + " ".join(f"a{i}: x {{ y {{ z }} }}" for i in range(5)) + " }"
    found = errors(query, max_depth=2, max_aliases=4, max_root_fields=4, max_tokens=10, max_directives=0)
    assert codes(found) == [MAX_TOKENS_EXCEEDED, MAX_DEPTH_EXCEEDED, MAX_ALIASES_EXCEEDED, MAX_ROOT_FIELDS_EXCEEDED]
    assert all(isinstance(e, GraphQLError) and e.message for e in found)
    assert found[1].formatted["extensions"] == {"code": MAX_DEPTH_EXCEEDED, "measured": 3, "limit": 2}


def test_default_limits_accept_an_ordinary_operation() -> None:
    query = """
        query Users($first: Int = 10) {
          users(first: $first) { edges { cursor node { id name: displayName organization { ...Org } } } }
        }
        fragment Org on Organization { id name region { code parent { code } } }
    """
    assert errors(query, **OperationLimits().__dict__) == []
