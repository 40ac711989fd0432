"""Relay-style cursor connections with keyset paging.

A cursor is the opaque encoding of the sort key of the row it points at, so pages stay stable under
inserts and a deep page costs the same as the first (no OFFSET).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
import strawberry
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import bad_input

T = TypeVar("T")
Row = TypeVar("Row")

MAX_PAGE_SIZE = 100


@strawberry.federation.type(shareable=True, description="Where a page sits in its list (Relay).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values), default=str)).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise bad_input("The cursor is not one this service issued.", argument="after") from exc
    if not isinstance(values, list) or len(values) != width:
        raise bad_input("The cursor is not one this service issued.", argument="after")
    return values


def check_first(first: int) -> int:
    if first < 0 or first > MAX_PAGE_SIZE:
        raise bad_input(
            f"first must be between 0 and {MAX_PAGE_SIZE}.", argument="first", maximum=MAX_PAGE_SIZE
        )
    return first


def after_condition(order_by: Sequence[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in ascending (a, b, ...) order, written out so every database can use
    the index (row-value comparison is not portable)."""
    clauses = []
    for i, column in enumerate(order_by):
        equal_prefix = [order_by[j] == values[j] for j in range(i)]
        clauses.append(and_(*equal_prefix, column > values[i]))
    return or_(*clauses)


@dataclass(frozen=True)
class PageRequest:
    first: int
    after: str | None


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    order_by: Sequence[Any],
    sort_key: Callable[[Any], Sequence[Any]],
    to_node: Callable[[Any], T],
    page: PageRequest,
) -> Connection[T]:
    first = check_first(page.first)
    if page.after is not None:
        stmt = stmt.where(after_condition(order_by, decode_cursor(page.after, len(order_by))))
    rows = list((await session.scalars(stmt.order_by(*order_by).limit(first + 1))).all())
    return connection_from_rows(rows, first, sort_key, to_node, has_previous=page.after is not None)


def connection_from_rows(
    rows: Sequence[Row],
    first: int,
    sort_key: Callable[[Row], Sequence[Any]],
    to_node: Callable[[Row], T],
    *,
    has_previous: bool = False,
) -> Connection[T]:
    """Build a page from up to first + 1 rows already in order (the extra row only says more exist)."""
    edges = [Edge(cursor=encode_cursor(sort_key(row)), node=to_node(row)) for row in rows[:first]]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
