"""Listing applications: newest first, with keyset cursors.

subgraphs.common.paging.keyset_page only pages in ascending order, and the lists here run newest first,
so the descending condition lives here; cursors, page-size checks and page building are the common ones.
Creation time orders the lists rather than submission time: drafts (暂存) have never been submitted,
and a NULL sort key would both sort differently on SQLite and PostgreSQL and break keyset paging.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import bad_input
from subgraphs.common.paging import Connection, check_first, connection_from_rows, decode_cursor
from subgraphs.services.models import Application

T = TypeVar("T")

NEWEST_FIRST = (Application.created_at.desc(), Application.id.desc())


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """A cursor's time as an aware UTC datetime (cursors written before the column type made every
    stored time aware carry naive ones)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def sort_key(row: Application) -> Sequence[Any]:
    return [row.created_at.isoformat(), row.id]


def older_than(cursor: str) -> ColumnElement[bool]:
    """Rows after the cursor's row in NEWEST_FIRST order."""
    created_text, application_id = decode_cursor(cursor, 2)
    try:
        created = as_utc(datetime.fromisoformat(created_text))
    except (TypeError, ValueError):
        raise bad_input("The cursor is not one this service issued.", argument="after") from None
    if not isinstance(application_id, str):
        raise bad_input("The cursor is not one this service issued.", argument="after")
    return or_(
        Application.created_at < created,
        and_(Application.created_at == created, Application.id < application_id),
    )


async def newest_first_page(
    session: AsyncSession,
    stmt: Select[Application],
    to_node: Callable[[Application], T],
    first: int,
    after: str | None,
) -> Connection[T]:
    first = check_first(first)
    if after is not None:
        stmt = stmt.where(older_than(after))
    rows = list((await session.scalars(stmt.order_by(*NEWEST_FIRST).limit(first + 1))).all())
    return connection_from_rows(rows, first, sort_key, to_node, has_previous=after is not None)
