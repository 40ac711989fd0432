"""Data-quality rules (数据核查). Placeholder contract, completed by the rule-registry work:

`recheck(session, person, actor=...)` evaluates every per-person rule against the person as it now is,
opens a CheckItem for each failing rule and resolves the open items of rules that now pass (keeping the
CHECK_OPEN work tally in step). It is called by domain/changes.person_written after every write.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.population import models


async def recheck(session: AsyncSession, person: models.Person, *, actor: str) -> None:
    return None
