"""奖特扶: a person's enjoyment of reward support (奖励扶助) or special support (特别扶助), and the stop of
payments driven by death data (DQ-12: "结合死亡人口等数据自动进行停发校验").

The tender names the fields (享受类型, 享受政策, 开始日期, 截止日期, 享受原因, 退出原因) but not the
eligibility conditions, so none are invented here beyond what cannot be right: no enrolment of a dead
person, none starting before birth or after death, no two open enrolments of one kind at once. Every
change leaves an entry in the person's history (who, when, what) and an outbox event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from enum import Enum

import strawberry
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.common.outbox import emit, utcnow
from subgraphs.population import models
from subgraphs.population.domain.inputs import text as _text

DEATH_EXIT_REASON = "死亡停发"


@strawberry.enum(description="享受类型 of 奖特扶.")
class SupportKind(Enum):
    REWARD = strawberry.enum_value("REWARD", description="奖励扶助: reward support for family-planning families.")
    SPECIAL = strawberry.enum_value("SPECIAL", description="特别扶助: special support for family-planning families "
                                                           "(特殊家庭扶助).")


KIND_LABELS = {"REWARD": "奖励扶助", "SPECIAL": "特别扶助"}


@dataclass(frozen=True)
class SupportData:
    kind: str
    policy: str
    start_date: date
    reason: str | None = None




def _audit(session: AsyncSession, person_uid: str, enrolment: models.SupportEnrollment, *, actor: str,
           operation: str, comment: str) -> None:
    session.add(models.PersonHistory(
        id=str(uuid.uuid4()), person_uid=person_uid, at=utcnow(), actor=actor, action="SUPPORT", before=None,
        changes={"support_enrollment_id": enrolment.id, "kind": enrolment.kind, "operation": operation,
                 "start_date": enrolment.start_date.isoformat(),
                 "end_date": enrolment.end_date.isoformat() if enrolment.end_date else None},
        comment=comment[:200]))
    emit(session, models.OutboxEvent, f"population.support.{operation}",
         {"id": enrolment.id, "personUid": person_uid, "kind": enrolment.kind,
          "startDate": enrolment.start_date.isoformat(),
          "endDate": enrolment.end_date.isoformat() if enrolment.end_date else None,
          "exitReason": enrolment.exit_reason})


async def enrol(session: AsyncSession, person: models.Person, data: SupportData, *,
                actor: str) -> models.SupportEnrollment:
    """Starts an enjoyment; refused for a dead person and while one of the same kind is open then."""
    if person.status == "DEAD" or person.death_date is not None:
        raise domain_error(ErrorCode.INVALID_STATE, "The person has died: no support can start.",
                           argument="personUid")
    policy = _text(data.policy, field="policy", limit=100, required=True)
    reason = _text(data.reason, field="reason", limit=200)
    if data.start_date < person.birth_date:
        raise bad_input("The start date is before the person's birth.", field="startDate")
    S = models.SupportEnrollment
    overlapping = await session.scalar(select(S.id).where(
        S.person_uid == person.uid, S.kind == data.kind, or_(S.end_date.is_(None), S.end_date >= data.start_date)))
    if overlapping is not None:
        raise domain_error(ErrorCode.CONFLICT, f"The person already enjoys {KIND_LABELS[data.kind]} on that date: "
                           "end that enrolment first.", field="kind", enrollmentId=overlapping)
    row = S(id=str(uuid.uuid4()), person_uid=person.uid, kind=data.kind, policy=policy, start_date=data.start_date,
            reason=reason, created_at=utcnow())
    session.add(row)
    await session.flush()
    _audit(session, person.uid, row, actor=actor, operation="enrolled",
           comment=f"享受{KIND_LABELS[row.kind]} {row.start_date}起")
    return row


async def end(session: AsyncSession, person: models.Person, row: models.SupportEnrollment, end_date: date,
              exit_reason: str, *, actor: str) -> models.SupportEnrollment:
    """Ends an open enjoyment on `end_date` (its last day), with the 退出原因."""
    if row.end_date is not None:
        raise domain_error(ErrorCode.INVALID_STATE, f"The enrolment already ended on {row.end_date}.", argument="id")
    why = _text(exit_reason, field="exitReason", limit=200, required=True)
    if end_date < row.start_date:
        raise bad_input("The end date is before the start date.", field="endDate")
    if person.death_date is not None and end_date > person.death_date:
        raise bad_input(f"The person died on {person.death_date}; payments end then at the latest.",
                        field="endDate")
    row.end_date, row.exit_reason = end_date, why
    await session.flush()
    _audit(session, person.uid, row, actor=actor, operation="ended", comment=f"退出{KIND_LABELS[row.kind]}: {why}")
    return row


async def stop_on_death(session: AsyncSession, person_uid: str, death_date: date, *, actor: str) -> int:
    """Ends every enjoyment still running after `death_date` (open, or ending later) on the death date with
    the exit reason 死亡停发; returns how many. Called by the death workflow when a death is synced. An
    enrolment that started after the death ends on its start date (it never ran)."""
    S = models.SupportEnrollment
    rows = (await session.scalars(select(S).where(
        S.person_uid == person_uid, or_(S.end_date.is_(None), S.end_date > death_date)).with_for_update())).all()
    for row in rows:
        row.end_date, row.exit_reason = max(death_date, row.start_date), DEATH_EXIT_REASON
        _audit(session, person_uid, row, actor=actor, operation="ended",
               comment=f"{DEATH_EXIT_REASON} {KIND_LABELS.get(row.kind, row.kind)} 死亡日期 {death_date}")
    await session.flush()
    return len(rows)
