"""What every subgraph's schema is built with.

The router sends each subgraph the same few operation texts over and over (one per query plan fetch), so
parsing and validating them again for every request is pure waste: validation alone walks the document
against the whole schema with every rule. Both steps are cached per operation text, bounded so that
unique texts cannot grow memory without limit.
"""

from __future__ import annotations

from collections.abc import Callable

from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache

OPERATION_CACHE_SIZE = 512


def schema_extensions() -> list[Callable[[], SchemaExtension]]:
    return [lambda: ParserCache(maxsize=OPERATION_CACHE_SIZE), lambda: ValidationCache(maxsize=OPERATION_CACHE_SIZE)]
