"""The one write path of a licence: every change goes through `licence_written`, which in the same
transaction writes the operation log (kept forever, L5217), regenerates the electronic licence when the
face changed, and emits the domain event that keeps the cockpit's counters live."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.outbox import emit
from subgraphs.licences import models
from subgraphs.licences.codes import LicenceOperation
from subgraphs.licences.domain.generation import generate_many
from subgraphs.licences.status import licence_status, today_in_china

TOPIC = "licences.licence.{operation}"
# Operations that can change the face, and so the electronic licence.
FACE_CHANGES = frozenset({LicenceOperation.COLLECTED, LicenceOperation.UPDATED})


@dataclass(frozen=True)
class LicenceChange:
    licence: models.Licence
    operation: LicenceOperation
    detail: dict[str, Any] = field(default_factory=dict)


def log_operation(session: AsyncSession, licence: models.Licence, operation: LicenceOperation, operator: str,
                  detail: dict[str, Any] | None = None, at: datetime | None = None) -> None:
    session.add(models.LicenceOperationLog(
        licence_id=licence.id, type_code=licence.type_code, operation=operation.value, operator=operator,
        operated_at=at or datetime.now(UTC), detail=detail or {}))


async def licence_written(session: AsyncSession, licence: models.Licence, *, operation: LicenceOperation,
                          operator: str, detail: dict[str, Any] | None = None, generation_mode: str = "INCREMENTAL",
                          labels: dict[str, str] | None = None, at: datetime | None = None) -> None:
    """Record a change to `licence` (already added to the session) and everything that follows from it."""
    await licences_written(session, [LicenceChange(licence, operation, detail or {})], operator=operator,
                           generation_mode=generation_mode, labels=labels, at=at)


async def licences_written(session: AsyncSession, changes: Sequence[LicenceChange], *, operator: str,
                           generation_mode: str = "INCREMENTAL", labels: dict[str, str] | None = None,
                           at: datetime | None = None) -> None:
    """`licence_written` for many changes at once (an ingestion batch): one flush, one lookup of the
    electronic licences, the log rows in one statement."""
    if not changes:
        return
    at = at or datetime.now(UTC)
    await session.flush()
    regenerate = [c.licence for c in changes if c.operation in FACE_CHANGES]
    generated = await generate_many(session, regenerate, mode=generation_mode, labels=labels, now=at)
    logs: list[dict[str, Any]] = []
    for change in changes:
        logs.append(_log_row(change.licence, change.operation, operator, change.detail, at))
    for licence, (electronic, changed) in zip(regenerate, generated, strict=True):
        if changed:
            logs.append(_log_row(licence, LicenceOperation.GENERATED, operator,
                                 {"electronicLicenceId": electronic.id, "generation": electronic.generation,
                                  "templateId": electronic.template_id}, at))
    await session.execute(insert(models.LicenceOperationLog), logs)
    today = today_in_china(at)
    for change in changes:
        licence = change.licence
        emit(session, models.OutboxEvent, TOPIC.format(operation=change.operation.value.lower()), {
            "licenceId": licence.id, "type": licence.type_code, "operation": change.operation.value,
            "holderUid": licence.holder_uid, "holderOrgId": licence.holder_org_id,
            "issuerOrgId": licence.issuer_org_id, "status": licence_status(licence, today).value,
        })


def _log_row(licence: models.Licence, operation: LicenceOperation, operator: str, detail: dict[str, Any],
             at: datetime) -> dict[str, Any]:
    return {"licence_id": licence.id, "type_code": licence.type_code, "operation": operation.value,
            "operator": operator, "operated_at": at, "detail": detail}
