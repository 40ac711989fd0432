"""Operation limits: refuse abusive operations before any subgraph is called.

Three kinds of checks, by what they need:

* the raw request: `check_body_size` (the HTTP body, before JSON decoding) and `tokens_exceed` (the query
  text, before parsing: parsing a 10 MB document is the attack, so the tokens are counted with
  graphql-core's lexer and the count stops as soon as it passes the limit);
* the parsed, validated operation: `measure` gives its depth, aliases, root fields and directives, with
  fragments expanded, and `check_limits` compares them (and the tokens) with `OperationLimits`.

Every refusal is a `GraphQLError` whose extensions hold a stable `code`, the `measured` value and the
`limit`. A value equal to its limit passes; `None` switches a limit off.

Fragments are measured once each (in dependency order, without recursion from one fragment into the
next), so neither a fragment "bomb" (fragments spreading the next one many times) nor a long chain of
fragments costs more than one pass over the document; a fragment cycle (which validation rejects anyway)
contributes nothing past the point where it loops back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
)
from graphql.language import Lexer, TokenKind

MAX_DEPTH_EXCEEDED = "MAX_DEPTH_EXCEEDED"
MAX_ALIASES_EXCEEDED = "MAX_ALIASES_EXCEEDED"
MAX_ROOT_FIELDS_EXCEEDED = "MAX_ROOT_FIELDS_EXCEEDED"
MAX_TOKENS_EXCEEDED = "MAX_TOKENS_EXCEEDED"
MAX_DIRECTIVES_EXCEEDED = "MAX_DIRECTIVES_EXCEEDED"
BODY_TOO_LARGE = "BODY_TOO_LARGE"


@dataclass(frozen=True)
class OperationLimits:
    max_depth: int | None = 20  # GraphiQL's introspection query alone is 15 deep
    max_aliases: int | None = 30
    max_root_fields: int | None = 20
    max_tokens: int | None = 15000
    max_directives: int | None = 50
    max_body_bytes: int | None = 2_000_000


@dataclass(frozen=True)
class OperationShape:
    """What `measure` finds in one operation, fragments expanded (a fragment spread twice counts twice).

    depth: the deepest nesting of field selections (a root field is depth 1; fragments and inline
    fragments add no level of their own); aliases: aliased fields; root_fields: fields selected on the
    root type, `__typename` included; directives: directive usages on the operation, its variable
    definitions, its selections and the fragment definitions it uses.
    """

    depth: int
    aliases: int
    root_fields: int
    directives: int


def limit_error(message: str, code: str, measured: int, limit: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, "measured": measured, "limit": limit})


# tokens ---------------------------------------------------------------------------------------------


def count_tokens(source: str, limit: int | None = None) -> int:
    """The lexical tokens and comments of `source` (what graphql-core's `parse(max_tokens=)` counts).

    With a limit, reading stops at the first token past it and `limit + 1` is returned, so a huge
    document costs no more than `limit + 1` tokens of lexing. A lexical error also stops the count (the
    parser reports it when it reaches the same point).
    """
    lexer = Lexer(Source(source))
    token = lexer.token
    count = 0
    try:
        while True:
            # read_next_token reads exactly one token (a comment is one), unlike advance(), which would
            # read through any run of comments in one call.
            token = lexer.read_next_token(token.end)
            if token.kind == TokenKind.EOF:
                return count
            count += 1
            if limit is not None and count > limit:
                return count
    except GraphQLSyntaxError:
        return count


def tokens_exceed(source: str, limits: OperationLimits) -> GraphQLError | None:
    """The MAX_TOKENS_EXCEEDED error of a query text with too many tokens; run it before parsing."""
    if limits.max_tokens is None:
        return None
    count = count_tokens(source, limits.max_tokens)
    if count <= limits.max_tokens:
        return None
    return limit_error(
        f"the operation has more than {limits.max_tokens} tokens", MAX_TOKENS_EXCEEDED, count, limits.max_tokens
    )


def check_body_size(size: int, limits: OperationLimits) -> GraphQLError | None:
    """The BODY_TOO_LARGE error of a request body of `size` bytes over the limit (HTTP 413)."""
    if limits.max_body_bytes is None or size <= limits.max_body_bytes:
        return None
    return limit_error(
        f"the request body has {size} bytes, more than the {limits.max_body_bytes} allowed",
        BODY_TOO_LARGE, size, limits.max_body_bytes,
    )


# fragments ------------------------------------------------------------------------------------------


def fragment_definitions(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def spread_names(selection_set: SelectionSetNode | None) -> Iterator[str]:
    """The fragments spread anywhere in a selection set (without following them), iteratively."""
    stack = [selection_set] if selection_set is not None else []
    while stack:
        current = stack.pop()
        for selection in current.selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None:
                stack.append(selection.selection_set)


def fragment_order(fragments: Mapping[str, FragmentDefinitionNode], roots: Iterable[str]) -> list[str]:
    """The fragments reachable from `roots`, each after the fragments it spreads (a depth-first post-order,
    iterative so a long chain of fragments does not exhaust the stack). In a cycle, the spread that
    loops back is ignored: the fragment it names comes later in the order, not before."""
    order: list[str] = []
    seen: set[str] = set()
    for root in roots:
        if root in seen or root not in fragments:
            continue
        seen.add(root)
        stack: list[tuple[str, Iterator[str]]] = [(root, spread_names(fragments[root].selection_set))]
        while stack:
            name, pending = stack[-1]
            for dependency in pending:
                if dependency in fragments and dependency not in seen:
                    seen.add(dependency)
                    stack.append((dependency, spread_names(fragments[dependency].selection_set)))
                    break
            else:
                stack.pop()
                order.append(name)
    return order


# measuring ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Summary:
    depth: int = 0
    aliases: int = 0
    directives: int = 0
    fields: int = 0  # fields at this level (through inline fragments and spreads)


_EMPTY = _Summary()


def _summarise(selection_set: SelectionSetNode, fragments: Mapping[str, _Summary]) -> _Summary:
    depth = aliases = directives = fields = 0
    for selection in selection_set.selections:
        directives += len(selection.directives or ())
        if isinstance(selection, FieldNode):
            fields += 1
            if selection.alias is not None:
                aliases += 1
            child = _summarise(selection.selection_set, fragments) if selection.selection_set else _EMPTY
            depth = max(depth, 1 + child.depth)
        else:
            if isinstance(selection, InlineFragmentNode):
                child = _summarise(selection.selection_set, fragments)
            elif isinstance(selection, FragmentSpreadNode):
                # A fragment not measured yet is one that loops back (or does not exist): nothing.
                child = fragments.get(selection.name.value, _EMPTY)
            else:  # pragma: no cover - no other selection kinds
                continue
            depth = max(depth, child.depth)
            fields += child.fields
        aliases += child.aliases
        directives += child.directives
    return _Summary(depth, aliases, directives, fields)


def measure(document: DocumentNode, operation: OperationDefinitionNode) -> OperationShape:
    definitions = fragment_definitions(document)
    summaries: dict[str, _Summary] = {}
    for name in fragment_order(definitions, spread_names(operation.selection_set)):
        definition = definitions[name]
        body = _summarise(definition.selection_set, summaries)
        summaries[name] = _Summary(
            body.depth, body.aliases, body.directives + len(definition.directives or ()), body.fields
        )
    summary = _summarise(operation.selection_set, summaries)
    directives = summary.directives + len(operation.directives or ()) + sum(
        len(v.directives or ()) for v in operation.variable_definitions or ()
    )
    return OperationShape(depth=summary.depth, aliases=summary.aliases, root_fields=summary.fields,
                          directives=directives)


def check_shape(shape: OperationShape, limits: OperationLimits) -> list[GraphQLError]:
    errors = []
    checks = (
        (shape.depth, limits.max_depth, MAX_DEPTH_EXCEEDED, "the operation is nested {} deep"),
        (shape.aliases, limits.max_aliases, MAX_ALIASES_EXCEEDED, "the operation has {} aliases"),
        (shape.root_fields, limits.max_root_fields, MAX_ROOT_FIELDS_EXCEEDED, "the operation has {} root fields"),
        (shape.directives, limits.max_directives, MAX_DIRECTIVES_EXCEEDED, "the operation has {} directives"),
    )
    for measured, limit, code, message in checks:
        if limit is not None and measured > limit:
            errors.append(limit_error(f"{message.format(measured)}, over the limit of {limit}", code, measured, limit))
    return errors


def check_limits(
    source: str, document: DocumentNode, operation: OperationDefinitionNode, limits: OperationLimits
) -> list[GraphQLError]:
    """Every limit the operation breaks (empty when it keeps them all): tokens of `source`, then depth,
    aliases, root fields and directives of `operation` in `document`."""
    errors = []
    tokens = tokens_exceed(source, limits)
    if tokens is not None:
        errors.append(tokens)
    errors.extend(check_shape(measure(document, operation), limits))
    return errors


__all__ = [
    "BODY_TOO_LARGE",
    "MAX_ALIASES_EXCEEDED",
    "MAX_DEPTH_EXCEEDED",
    "MAX_DIRECTIVES_EXCEEDED",
    "MAX_ROOT_FIELDS_EXCEEDED",
    "MAX_TOKENS_EXCEEDED",
    "OperationLimits",
    "OperationShape",
    "check_body_size",
    "check_limits",
    "check_shape",
    "count_tokens",
    "fragment_definitions",
    "fragment_order",
    "limit_error",
    "measure",
    "spread_names",
    "tokens_exceed",
]
