"""The one write path of a licence: every change goes through `licence_written`, which in the same
transaction writes the operation log (kept forever, L5217), regenerates the electronic licence when the
face changed, and emits the domain event that keeps the cockpit's counters live."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.outbox import emit
from subgraphs.licences import models
from subgraphs.licences.codes import LicenceOperation
from subgraphs.licences.domain.generation import generate
from subgraphs.licences.status import licence_status, today_in_china

TOPIC = "licences.licence.{operation}"
# Operations that can change the face, and so the electronic licence.
FACE_CHANGES = frozenset({LicenceOperation.COLLECTED, LicenceOperation.UPDATED})


def log_operation(session: AsyncSession, licence: models.Licence, operation: LicenceOperation, operator: str,
                  detail: dict[str, Any] | None = None, at: datetime | None = None) -> None:
    session.add(models.LicenceOperationLog(
        licence_id=licence.id, type_code=licence.type_code, operation=operation.value, operator=operator,
        operated_at=at or datetime.now(UTC), detail=detail or {}))


async def licence_written(session: AsyncSession, licence: models.Licence, *, operation: LicenceOperation,
                          operator: str, detail: dict[str, Any] | None = None, generation_mode: str = "INCREMENTAL",
                          labels: dict[str, str] | None = None, at: datetime | None = None) -> None:
    """Record a change to `licence` (already added to the session) and everything that follows from it."""
    at = at or datetime.now(UTC)
    await session.flush()
    log_operation(session, licence, operation, operator, detail, at)
    if operation in FACE_CHANGES:
        electronic, changed = await generate(session, licence, mode=generation_mode, labels=labels, now=at)
        if changed:
            log_operation(session, licence, LicenceOperation.GENERATED, operator,
                          {"electronicLicenceId": electronic.id, "generation": electronic.generation,
                           "templateId": electronic.template_id}, at)
    emit(session, models.OutboxEvent, TOPIC.format(operation=operation.value.lower()), {
        "licenceId": licence.id, "type": licence.type_code, "operation": operation.value,
        "holderUid": licence.holder_uid, "holderOrgId": licence.holder_org_id, "issuerOrgId": licence.issuer_org_id,
        "status": licence_status(licence, today_in_china()).value,
    })
