"""Newest-first pages of the login log and the operation log, with keyset cursors of (time, id).

subgraphs.common.paging.keyset_page pages ascending only; logs are read newest first, so the descending
condition lives here while the cursor format, page-size check and page building are the common ones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import bad_input
from subgraphs.common.paging import Connection, check_first, connection_from_rows, decode_cursor
from subgraphs.identity import models

T = TypeVar("T")

LOGIN_HISTORY_DAYS = 30  # 近30天登录记录


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _after(cursor: str) -> tuple[datetime, int]:
    at_text, row_id = decode_cursor(cursor, 2)
    try:
        at = _as_utc(datetime.fromisoformat(at_text))
    except (TypeError, ValueError):
        raise bad_input("The cursor is not one this service issued.", argument="after") from None
    if not isinstance(row_id, int):
        raise bad_input("The cursor is not one this service issued.", argument="after")
    return at, row_id


async def _newest_first(
    session: AsyncSession, stmt: Select[Any], model: type[models.LoginEvent] | type[models.OperationLog],
    to_node: Callable[[Any], T], first: int, after: str | None,
) -> Connection[T]:
    first = check_first(first)
    if after is not None:
        at, row_id = _after(after)
        stmt = stmt.where(or_(model.at < at, and_(model.at == at, model.id < row_id)))
    rows = list((await session.scalars(stmt.order_by(model.at.desc(), model.id.desc()).limit(first + 1))).all())
    return connection_from_rows(rows, first, lambda r: [_as_utc(r.at).isoformat(), r.id], to_node,
                                has_previous=after is not None)


async def login_history(
    session: AsyncSession, user_id: str, to_node: Callable[[models.LoginEvent], T], *, first: int,
    after: str | None, since: datetime | None = None, until: datetime | None = None, method: str | None = None,
    success: bool | None = None, now: datetime | None = None,
) -> Connection[T]:
    """A user's logins of the last 30 days, newest first; `since` earlier than that is moved up to it."""
    now = now or datetime.now(UTC)
    floor = now - timedelta(days=LOGIN_HISTORY_DAYS)
    since = max(_as_utc(since), floor) if since is not None else floor
    if until is not None and _as_utc(until) < since:
        raise bad_input("`to` must not be before `from` (or before the start of the 30-day window).",
                        argument="to")
    stmt = select(models.LoginEvent).where(models.LoginEvent.user_id == user_id, models.LoginEvent.at >= since)
    if until is not None:
        stmt = stmt.where(models.LoginEvent.at <= _as_utc(until))
    if method is not None:
        stmt = stmt.where(models.LoginEvent.method == method)
    if success is not None:
        stmt = stmt.where(models.LoginEvent.success.is_(success))
    return await _newest_first(session, stmt, models.LoginEvent, to_node, first, after)


async def operation_log(
    session: AsyncSession, to_node: Callable[[models.OperationLog], T], *, first: int, after: str | None,
    actor_id: str | None = None, target: tuple[str, str] | None = None,
) -> Connection[T]:
    """Operation-log entries newest first: those made by `actor_id` and/or those about `target`
    (target type, target id)."""
    stmt = select(models.OperationLog)
    if actor_id is not None:
        stmt = stmt.where(models.OperationLog.actor_id == actor_id)
    if target is not None:
        stmt = stmt.where(models.OperationLog.target_type == target[0], models.OperationLog.target_id == target[1])
    return await _newest_first(session, stmt, models.OperationLog, to_node, first, after)
