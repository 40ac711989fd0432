"""The one way a person record is written: every create, edit, cancellation, dispatch or death sync goes
through `person_written`, which keeps the edit history (个案历史记录), the statistics tallies and the
data-quality check items in the same transaction as the change, and emits the change event.

    before = snapshot(row)          # None for a new record
    row.phone = "13800000000"
    await person_written(session, row, actor=actor_of(caller), action="UPDATE", before=before)
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.outbox import emit, utcnow
from subgraphs.common.pseudonym import id_number_digest
from subgraphs.common.roles import actor_of as actor_of  # re-exported: the areas use changes.actor_of
from subgraphs.population import models
from subgraphs.population.domain import checks, tally

# The fields of a person that history records and that a change can touch.
TRACKED_FIELDS = (
    "person_no", "identity_code", "identity_kind", "id_number", "other_id_number", "name", "sex", "birth_date",
    "ethnicity", "marital_status", "hukou_type", "education", "person_type", "mobility", "occupation", "phone",
    "household_region_code", "residence_region_code", "management_region_code", "household_address",
    "residence_address", "household_no", "relation_to_head", "children_count", "boys_count",
    "youngest_child_birth_date", "status", "deleted", "cancelled_on", "cancel_reason", "death_date",
)

Snapshot = dict[str, Any]
# The fields a child record copies from the child's own case.
_CHILD_RECORD_FIELDS = {"name", "sex", "birth_date", "id_number", "death_date"}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def snapshot(row: models.Person) -> Snapshot:
    """The tracked fields of a person as JSON values (dates as ISO strings)."""
    return {name: _plain(getattr(row, name)) for name in TRACKED_FIELDS}


async def person_written(
    session: AsyncSession,
    row: models.Person,
    *,
    actor: str,
    action: str,
    before: Snapshot | None,
    comment: str | None = None,
    at: datetime | None = None,
) -> Snapshot:
    """Records a change made to `row` in this transaction; returns the fields that changed."""
    now = at or utcnow()
    if before is None:
        # Column defaults (status NORMAL, ...) are applied by the flush; the history must show them.
        row.created_at = row.created_at or now
        session.add(row)
        await session.flush()
    after = snapshot(row)
    changes = {name: value for name, value in after.items() if before is None or before.get(name) != value}
    if before is not None and not changes:
        # Nothing on the case moved, but what its rules read may have (a marriage event added, say).
        await checks.recheck(session, row, actor=actor)
        return changes
    if before is not None:
        row.version = (row.version or 1) + 1
    row.updated_at = now
    session.add(row)
    session.add(models.PersonHistory(id=str(uuid.uuid4()), person_uid=row.uid, at=now, actor=actor, action=action,
                                     before=before, changes=changes, comment=comment))
    await session.flush()
    await tally.person_changed(session, tally.person_key(before), tally.person_key(after))
    if before is not None and changes.keys() & _CHILD_RECORD_FIELDS:
        # A carded newborn's case and its child record stay in step whichever side is edited (§1.7).
        from subgraphs.population.domain import family  # family writes through this module

        await family.person_synced(session, row, actor=actor)
    await checks.recheck(session, row, actor=actor)
    emit(session, models.OutboxEvent, f"population.person.{action.lower()}",
         {"uid": row.uid, "managementRegion": row.management_region_code, "status": row.status,
          "fields": sorted(changes),
          # Other domains match their records of the person by this digest (licences' holders), never the number.
          "idNumberDigest": id_number_digest(row.id_number) if row.id_number else None})
    return changes
