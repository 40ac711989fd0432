"""services consumes its own "services.application.completed" {applicationId, outcome, businessItemId, powerType,
regionCode} (emitted by the workflow when an application is completed) to publish 许可公示 / 备案公示.

Effectively once: the event id is recorded for the consumer "services.publicity" in the handler's
transaction, and an application has at most one publicity whatever the event id (domain/publicity.py).
The merge into the subgraph's consumers (events.py) is `consumers(runtime)`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.common.app import Runtime
from subgraphs.common.bus import Event, Handler
from subgraphs.common.outbox import consume_once
from subgraphs.services import models
from subgraphs.services.domain.publicity import KIND_OF_POWER, publish_for

log = logging.getLogger(__name__)

GROUP = "services.publicity"
COMPLETED_TOPIC = "services.application.completed"
CONSUMER = "services.publicity"
APPROVED = "APPROVED"


async def application_completed(sessions: async_sessionmaker[AsyncSession], event: Event) -> str | None:
    """Handle one delivery; the id of the publicity written, None when nothing was written."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    application_id = payload.get("applicationId")
    if not isinstance(application_id, str) or not application_id:
        log.error("dropped %s %s: applicationId is required", event.topic, event.id)
        return None
    # The payload only spares a lookup for what never publishes; publish_for checks the application itself.
    if payload.get("outcome") != APPROVED or payload.get("powerType") not in KIND_OF_POWER:
        return None
    at = event.occurred_at if event.occurred_at.tzinfo else event.occurred_at.replace(tzinfo=UTC)
    try:
        async with sessions() as session, session.begin():
            if not await consume_once(session, models.ProcessedEvent, CONSUMER, event.id):
                return None
            row = await publish_for(session, application_id, at)
            return row.id if row else None
    except IntegrityError:
        # Another delivery of the same application (another event id, another replica) published it.
        async with sessions() as session:
            existing = await session.scalar(select(models.Publicity.id).where(
                models.Publicity.application_id == application_id))
        if existing is None:
            raise
        return None


def consumers(runtime: Runtime) -> Sequence[tuple[str, str, Handler]]:
    """The publicity subscription, for services' SubgraphDefinition.consumers."""

    async def completed(event: Event) -> None:
        await application_completed(runtime.sessions, event)

    return [(GROUP, COMPLETED_TOPIC, completed)]
