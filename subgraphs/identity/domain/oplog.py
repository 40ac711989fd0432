"""操作日志: every change made through this API, with who made it and, for a status change, why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.identity import models


def now() -> datetime:
    return datetime.now(UTC)


def log_operation(
    session: AsyncSession, *, actor_id: str | None, action: str, target_type: str, target_id: str,
    detail: dict[str, Any] | None = None, at: datetime | None = None,
) -> models.OperationLog:
    """Adds the entry to the caller's transaction, so a change and its log commit together or not at all."""
    entry = models.OperationLog(actor_id=actor_id, action=action, target_type=target_type, target_id=target_id,
                                detail=detail or {}, at=at or now())
    session.add(entry)
    return entry
