"""The domain events services consumes, both from the licences subgraph:

* licences.licence.<operation> {licenceId, type, operation, holderUid, holderOrgId, issuerOrgId, status}:
  which licences a person or organisation holds (LicenceHolding), what 免提交 checks;
* licences.licence.generated-for-application {applicationId, licenceId, number}: the licence an approved
  application produced (Application.licence_id), which 制证 waits for.

Each handler records the event id (outbox.consume_once) in its own transaction: a redelivery changes nothing.
A holding keeps the newest announcement: an event older than the row's updated_at is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.common.app import Runtime
from subgraphs.common.bus import Event, Handler
from subgraphs.common.outbox import consume_once
from subgraphs.services import models, publicity_events

log = logging.getLogger(__name__)

LICENCE_TOPICS = "licences.licence.*"
GENERATED_TOPIC = "licences.licence.generated-for-application"
HOLDING_CONSUMER = "services.licence-holding"
GENERATED_CONSUMER = "services.licence-generated"


def _text(value: object, limit: int) -> str | None:
    return value if isinstance(value, str) and value and len(value) <= limit else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def licence_announced(sessions: async_sessionmaker[AsyncSession], event: Event) -> bool:
    """Upsert the holding a licence event announces; False when nothing changed (replay, stale, bad)."""
    if event.topic == GENERATED_TOPIC:
        return False  # matched by the wildcard, handled by application_licence_generated
    payload = event.payload
    licence_id, type_code, status = (_text(payload.get(k), n) for k, n in
                                     (("licenceId", 40), ("type", 32), ("status", 16)))
    if licence_id is None or type_code is None or status is None:
        log.error("dropped %s %s: licenceId, type and status are required", event.topic, event.id)
        return False
    at = _aware(event.occurred_at)
    for attempt in range(2):
        try:
            async with sessions() as session, session.begin():
                if not await consume_once(session, models.ProcessedEvent, HOLDING_CONSUMER, event.id):
                    return False
                holding = await session.get(models.LicenceHolding, licence_id)
                if holding is None:
                    session.add(models.LicenceHolding(
                        licence_id=licence_id, type_code=type_code, holder_uid=_text(payload.get("holderUid"), 40),
                        holder_org_id=_text(payload.get("holderOrgId"), 64), status=status, updated_at=at))
                    return True
                if _aware(holding.updated_at) > at:
                    return False
                holding.type_code, holding.status, holding.updated_at = type_code, status, at
                holding.holder_uid = _text(payload.get("holderUid"), 40)
                holding.holder_org_id = _text(payload.get("holderOrgId"), 64)
                return True
        except IntegrityError:
            # Two first announcements of one licence raced to insert it: the second try updates.
            if attempt:
                raise
    return False


async def application_licence_generated(sessions: async_sessionmaker[AsyncSession], event: Event) -> bool:
    """Application.licence_id from licences' answer to an approval; False on a replay or a bad payload."""
    application_id = _text(event.payload.get("applicationId"), 40)
    licence_id = _text(event.payload.get("licenceId"), 40)
    if application_id is None or licence_id is None:
        log.error("dropped %s %s: applicationId and licenceId are required", event.topic, event.id)
        return False
    async with sessions() as session, session.begin():
        if not await consume_once(session, models.ProcessedEvent, GENERATED_CONSUMER, event.id):
            return False
        result = await session.execute(update(models.Application).where(
            models.Application.id == application_id).values(licence_id=licence_id))
        return bool(getattr(result, "rowcount", 0))


def consumers(runtime: Runtime) -> Sequence[tuple[str, str, Handler]]:
    """services' subscriptions (SubgraphDefinition.consumers)."""

    async def announced(event: Event) -> None:
        await licence_announced(runtime.sessions, event)

    async def generated(event: Event) -> None:
        await application_licence_generated(runtime.sessions, event)

    # One consumer group per subscription: a group is one delivery per event whatever the bus.
    return [(HOLDING_CONSUMER, LICENCE_TOPICS, announced), (GENERATED_CONSUMER, GENERATED_TOPIC, generated),
            *publicity_events.consumers(runtime)]
