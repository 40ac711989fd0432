"""A person's family events: the marriage history (婚姻信息, with the spouse: 丈夫信息 for a woman), from which
the person's 婚姻状况 is derived; the children and newborns (子女 / 新生儿信息), from which 孩子数, 男孩数 and
最小孩出生日期 are derived; and newborn carding (一键建卡), which creates a newborn's own case and keeps it and
the child record in step.

The derived person fields are never written by anything else (DQ-06, DQ-07, DQ-19): every change here
recomputes them from the records that are not deleted and records the result through
changes.person_written, so the edit history, the tallies and the data checks follow. Every change also
leaves one entry in the person's history (个案历史记录), even when no derived field moved, so that "who
deleted this marriage and why" is answerable, and emits an outbox event without personal data.

Births are counted in the BIRTH event tally under the child's region (the parent's management region at
registration), its birth date, its birth-order bucket and its sex, for every child not deleted: the same
rule as tally.rebuild, kept by moving the child between tally rows whenever one of those changes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import strawberry
from graphql import GraphQLError
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.outbox import emit, utcnow
from subgraphs.common.scope import RegionScope
from subgraphs.common.validators import InvalidIdNumber, parse_resident_id
from subgraphs.population import models
from subgraphs.population.codes import ETHNICITIES, RelationToHead
from subgraphs.population.domain import tally
from subgraphs.population.domain.changes import person_written, snapshot
from subgraphs.population.domain.inputs import text as _text
from subgraphs.population.domain.marital import MARRYING, STATUS_AFTER, derive_marital_status, ordered

CHINA = ZoneInfo("Asia/Shanghai")


def today_in_china(now: datetime | None = None) -> date:
    """Event dates are calendar dates in China (UTC is still on yesterday until 08:00 there)."""
    return (now or datetime.now(UTC)).astimezone(CHINA).date()


def birthday(born: date, years: int) -> date:
    """The day a person born on `born` turns `years` (29 February birthdays fall on 1 March)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)


# --- code sets -----------------------------------------------------------------------------------


@strawberry.enum(description="婚姻事件类别: the kind of one event of a marriage history.")
class MarriageKind(Enum):
    FIRST_MARRIAGE = strawberry.enum_value("FIRST_MARRIAGE", description="初婚: first marriage.")
    REMARRIAGE = strawberry.enum_value("REMARRIAGE", description="再婚: marriage after a divorce or widowhood.")
    REUNION = strawberry.enum_value("REUNION", description="复婚: marrying again the spouse one divorced.")
    DIVORCE = strawberry.enum_value("DIVORCE", description="离婚: divorce.")
    WIDOWED = strawberry.enum_value("WIDOWED", description="丧偶: the spouse died.")


ENDING = frozenset({MarriageKind.DIVORCE.name, MarriageKind.WIDOWED.name})
KIND_LABELS = {"FIRST_MARRIAGE": "初婚", "REMARRIAGE": "再婚", "REUNION": "复婚", "DIVORCE": "离婚", "WIDOWED": "丧偶"}


@strawberry.enum(description="血缘关系: how a child is related to the parent of the record.")
class BloodRelation(Enum):
    BIRTH = strawberry.enum_value("BIRTH", description="亲生: born to the parent.")
    ADOPTED = strawberry.enum_value("ADOPTED", description="收养: adopted.")
    STEP = strawberry.enum_value("STEP", description="继子女: the spouse's child.")
    OTHER = strawberry.enum_value("OTHER", description="其他: any other relation.")


@strawberry.enum(description="政策属性: whether the birth was within the family-planning policy of its time.")
class PolicyAttribute(Enum):
    IN_POLICY = strawberry.enum_value("IN_POLICY", description="政策内.")
    OUT_OF_POLICY = strawberry.enum_value("OUT_OF_POLICY", description="政策外.")


@strawberry.enum(description="健康状况 of a child (the tender names the field without its codes; a death is "
                             "recorded by the death date, not here).")
class HealthStatus(Enum):
    HEALTHY = strawberry.enum_value("HEALTHY", description="健康.")
    ILL = strawberry.enum_value("ILL", description="患病: a long-term illness.")
    DISABLED = strawberry.enum_value("DISABLED", description="残疾.")


@strawberry.enum(description="子女信息来源: who recorded the child.")
class ChildSource(Enum):
    MANUAL = strawberry.enum_value("MANUAL", description="手工录入: entered by staff.")
    MCH = strawberry.enum_value("MCH", description="妇幼系统: reported by the maternal and child health system.")


# --- shared guards -------------------------------------------------------------------------------

MIN_MARRIAGE_AGE = 16  # younger is impossible, not merely below the legal age (22 men, 20 women)
MIN_PARENT_AGE = 12  # §3.6 / DQ-38: a birth child born before the parent's 12th birthday is impossible
POSTHUMOUS_BIRTH_DAYS = 300  # a father may die before the birth; a mother may not
MAX_BIRTH_ORDER = 20
_REGION = re.compile(r"\d{6}(\d{3}){0,3}")
_PHONE = re.compile(r"[0-9+\- ()]{5,20}")
_CERTIFICATE = re.compile(r"[A-Z0-9]{6,20}")


def not_found(what: str, **details: Any) -> Exception:
    return domain_error(ErrorCode.NOT_FOUND, what, **details)


async def person_for_write(session: AsyncSession, uid: str, scope: RegionScope, *, argument: str) -> models.Person:
    """The person `uid`, locked for this transaction; NOT_FOUND when missing or deleted, FORBIDDEN when its
    management region is outside the caller's scope."""
    row = await session.scalar(select(models.Person).where(models.Person.uid == uid).with_for_update())
    if row is None or row.deleted:
        raise not_found(f"No person has uid {uid}.", argument=argument)
    check_writable(row, scope, argument=argument)
    return row


def check_writable(person: models.Person, scope: RegionScope, *, argument: str) -> None:
    if not scope.allows(person.management_region_code):
        raise forbidden(f"The person is managed in {person.management_region_code}, outside your data scope.",
                        argument=argument)


def normalised_id(value: str, *, field: str, today: date | None = None) -> tuple[str, date, str]:
    """(18-character ID number, birth date, sex) of a resident ID number, or BAD_USER_INPUT (GB 11643)."""
    try:
        parsed = parse_resident_id(value.strip(), today=today or today_in_china())
    except InvalidIdNumber as exc:
        raise bad_input(f"The ID number is not valid: {exc}.", field=field, reason=exc.reason) from None
    return parsed.number, parsed.birth_date, parsed.sex




def _region_code(value: str | None, *, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    if not _REGION.fullmatch(value.strip()):
        raise bad_input(f"{field} is not a region code (6, 9, 12 or 15 digits).", field=field)
    return value.strip()


def _history(session: AsyncSession, person: models.Person, *, actor: str, action: str, detail: dict[str, Any],
             comment: str | None) -> None:
    """A history entry for a family event that moved no field of the person itself. `detail` takes the place
    of the changed fields: snake_case keys with plain values, personal ones under the column names the
    history view masks (id_number)."""
    session.add(models.PersonHistory(id=str(uuid.uuid4()), person_uid=person.uid, at=utcnow(), actor=actor,
                                     action=action, before=None, changes=detail, comment=comment))


async def _record(session: AsyncSession, person: models.Person, before: dict[str, Any], *, actor: str, action: str,
                  detail: dict[str, Any], comment: str) -> None:
    """Records the person's recomputed fields (with `comment`), or the event alone when none moved."""
    changes = await person_written(session, person, actor=actor, action=action, before=before,
                                   comment=comment[:200])
    if not changes:
        _history(session, person, actor=actor, action=action, detail=detail, comment=comment[:200])


# --- marriage ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpouseData:
    """配偶 (丈夫信息 for a woman): all optional; the birth date is derived from the ID number when given."""

    name: str | None = None
    id_number: str | None = None
    ethnicity: str | None = None
    birth_date: date | None = None
    education: str | None = None
    phone: str | None = None
    household_region_code: str | None = None
    residence_region_code: str | None = None

    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in SPOUSE_FIELDS)


SPOUSE_FIELDS = ("name", "id_number", "ethnicity", "birth_date", "education", "phone", "household_region_code",
                 "residence_region_code")


@dataclass(frozen=True)
class MarriageData:
    kind: str
    event_date: date
    reported_on: date | None = None
    spouse: SpouseData | None = None


def spouse_of(event: models.MarriageEvent) -> SpouseData:
    return SpouseData(**{name: getattr(event, f"spouse_{name}") for name in SPOUSE_FIELDS})


def current_marriage(events: Iterable[models.MarriageEvent]) -> models.MarriageEvent | None:
    """The event that began the marriage the person is in now, None when not married."""
    history = ordered(e for e in events if not e.deleted)
    return history[-1] if history and history[-1].kind in MARRYING else None


def check_history(events: Iterable[models.MarriageEvent]) -> None:
    """Refuses (INVALID_STATE) a history that cannot have happened: a marriage while married, a divorce or
    widowhood while not married, a first marriage after an earlier one, a reunion with someone else than
    the divorced spouse. A history may begin with a remarriage or a reunion (earlier events predate the
    records)."""
    state, married_before, ended_spouse = "UNMARRIED", False, None
    for event in ordered(e for e in events if not e.deleted):
        when, label = event.event_date.isoformat(), KIND_LABELS[event.kind]
        if event.kind in MARRYING:
            if state == "MARRIED":
                raise domain_error(ErrorCode.INVALID_STATE, f"{label} on {when} while still married: record the "
                                   "divorce or widowhood first.", field="kind")
            if event.kind == MarriageKind.FIRST_MARRIAGE.name and married_before:
                raise domain_error(ErrorCode.INVALID_STATE, f"初婚 on {when} after an earlier marriage: it is a "
                                   "remarriage (再婚) or a reunion (复婚).", field="kind")
            if event.kind == MarriageKind.REUNION.name and married_before:
                if state != "DIVORCED":
                    raise domain_error(ErrorCode.INVALID_STATE, f"复婚 on {when}: a reunion follows a divorce.",
                                       field="kind")
                if ended_spouse and event.spouse_id_number and event.spouse_id_number != ended_spouse:
                    raise domain_error(ErrorCode.INVALID_STATE, f"复婚 on {when} with someone else than the "
                                       "divorced spouse: it is a remarriage (再婚).", field="kind")
            state, married_before = "MARRIED", True
        else:
            if state != "MARRIED":
                raise domain_error(ErrorCode.INVALID_STATE, f"{label} on {when} while not married.", field="kind")
            state, ended_spouse = STATUS_AFTER[event.kind], event.spouse_id_number


def _check_spouse(person: models.Person, spouse: SpouseData, event_date: date) -> SpouseData:
    """The spouse's data cleaned; BAD_USER_INPUT naming the field for what cannot be right."""
    values: dict[str, Any] = {}
    values["name"] = _text(spouse.name, field="spouse.name", limit=64)
    born = spouse.birth_date
    if spouse.id_number is not None and spouse.id_number.strip():
        number, id_born, sex = normalised_id(spouse.id_number, field="spouse.idNumber")
        if number == person.id_number:
            raise bad_input("The spouse's ID number is the person's own.", field="spouse.idNumber")
        if sex == person.sex:
            raise bad_input("The spouse's ID number belongs to someone of the same sex as the person; a spouse "
                            "is of the opposite sex.", field="spouse.idNumber")
        if born is not None and born != id_born:
            raise bad_input(f"The spouse's birth date {born} differs from the one in the ID number ({id_born}).",
                            field="spouse.birthDate")
        values["id_number"], born = number, id_born
    else:
        values["id_number"] = None
    if born is not None and event_date < birthday(born, MIN_MARRIAGE_AGE):
        raise bad_input(f"The spouse would be under {MIN_MARRIAGE_AGE} on {event_date}.", field="eventDate")
    values["birth_date"] = born
    if spouse.ethnicity is not None and spouse.ethnicity not in ETHNICITIES:
        raise bad_input("spouse.ethnicity is a GB/T 3304 code: 01-56, 97 or 98.", field="spouse.ethnicity")
    values["ethnicity"] = spouse.ethnicity
    values["education"] = spouse.education
    phone = _text(spouse.phone, field="spouse.phone", limit=20)
    if phone is not None and not _PHONE.fullmatch(phone):
        raise bad_input("spouse.phone is not a phone number.", field="spouse.phone")
    values["phone"] = phone
    values["household_region_code"] = _region_code(spouse.household_region_code, field="spouse.householdRegionCode")
    values["residence_region_code"] = _region_code(spouse.residence_region_code, field="spouse.residenceRegionCode")
    return SpouseData(**values)


def _check_event_date(person: models.Person, data: MarriageData) -> None:
    if data.event_date > today_in_china():
        raise bad_input("A marriage event cannot be dated in the future.", field="eventDate")
    if person.death_date is not None and data.event_date > person.death_date:
        # DQ-17: 已死亡人员不应存在后续婚姻记录.
        raise bad_input(f"The person died on {person.death_date}; no marriage event can follow.", field="eventDate")
    if data.event_date < birthday(person.birth_date, MIN_MARRIAGE_AGE):
        raise bad_input(f"The person would be under {MIN_MARRIAGE_AGE} on {data.event_date}.", field="eventDate")
    if data.reported_on is not None and data.reported_on < data.event_date:
        raise bad_input("The report date is before the event date.", field="reportedOn")


async def _events(session: AsyncSession, person_uid: str) -> list[models.MarriageEvent]:
    return list((await session.scalars(select(models.MarriageEvent).where(
        models.MarriageEvent.person_uid == person_uid, models.MarriageEvent.deleted.is_(False)))).all())


def _inherited_spouse(history: Sequence[models.MarriageEvent], kind: str, day: date) -> SpouseData | None:
    """The spouse a divorce, widowhood or reunion refers to when none is given: the one of the marriage
    that ends, or of the marriage a reunion restores."""
    before = [e for e in ordered(history) if e.event_date <= day]
    if kind in ENDING:
        marriage = current_marriage(before)
        return spouse_of(marriage) if marriage else None
    if kind == MarriageKind.REUNION.name and before and before[-1].kind == MarriageKind.DIVORCE.name:
        return spouse_of(before[-1])
    return None


def _apply(event: models.MarriageEvent, data: MarriageData, spouse: SpouseData) -> None:
    event.kind, event.event_date, event.reported_on = data.kind, data.event_date, data.reported_on
    for name in SPOUSE_FIELDS:
        setattr(event, f"spouse_{name}", getattr(spouse, name))


_VERBS = {"added": "登记", "corrected": "更正", "deleted": "删除"}


async def _rederive(session: AsyncSession, person: models.Person, event: models.MarriageEvent, *, actor: str,
                    operation: str, comment: str | None) -> None:
    before = snapshot(person)
    person.marital_status = derive_marital_status(await _events(session, person.uid))
    summary = (f"{_VERBS[operation]}婚姻事件 {KIND_LABELS[event.kind]} {event.event_date}"
               + (f": {comment}" if comment else ""))
    await _record(session, person, before, actor=actor, action="MARRIAGE", comment=summary,
                  detail={"marriage_event_id": event.id, "kind": event.kind,
                          "event_date": event.event_date.isoformat(), "operation": operation})
    emit(session, models.OutboxEvent, f"population.marriage.{operation}",
         {"id": event.id, "personUid": person.uid, "kind": event.kind, "eventDate": event.event_date.isoformat(),
          "managementRegion": person.management_region_code, "maritalStatus": person.marital_status})


async def add_marriage_event(session: AsyncSession, person: models.Person, data: MarriageData, *,
                             actor: str) -> models.MarriageEvent:
    """Adds an event to the person's history and re-derives the person's 婚姻状况."""
    _check_event_date(person, data)
    history = await _events(session, person.uid)
    spouse = data.spouse if data.spouse is not None and not data.spouse.empty() else None
    if spouse is None:
        spouse = _inherited_spouse(history, data.kind, data.event_date) or SpouseData()
    spouse = _check_spouse(person, spouse, data.event_date)
    event = models.MarriageEvent(id=str(uuid.uuid4()), person_uid=person.uid, deleted=False, created_at=utcnow())
    _apply(event, data, spouse)
    check_history([*history, event])
    session.add(event)
    await session.flush()
    await _rederive(session, person, event, actor=actor, operation="added", comment=None)
    return event


async def correct_marriage_event(session: AsyncSession, person: models.Person, event: models.MarriageEvent,
                                 changes: Mapping[str, Any], *, actor: str) -> models.MarriageEvent:
    """Corrects an event (`changes`: kind, event_date, reported_on, spouse; a given spouse replaces the
    recorded one) and re-derives the person's 婚姻状况."""
    if event.deleted:
        raise not_found(f"No marriage event has id {event.id}.", argument="id")
    data = MarriageData(kind=event.kind, event_date=event.event_date, reported_on=event.reported_on,
                        spouse=spouse_of(event))
    data = replace(data, **{k: v for k, v in changes.items() if k in ("kind", "event_date", "reported_on", "spouse")})
    _check_event_date(person, data)
    spouse = _check_spouse(person, data.spouse or SpouseData(), data.event_date)
    history = [e for e in await _events(session, person.uid) if e.id != event.id]
    candidate = models.MarriageEvent(id=event.id, person_uid=person.uid, deleted=False, created_at=event.created_at)
    _apply(candidate, data, spouse)
    check_history([*history, candidate])
    _apply(event, data, spouse)
    await session.flush()
    await _rederive(session, person, event, actor=actor, operation="corrected", comment=None)
    return event


async def delete_marriage_event(session: AsyncSession, person: models.Person, event: models.MarriageEvent,
                                reason: str, *, actor: str) -> models.MarriageEvent:
    """Deletes an event logically (it stays, marked deleted, with the reason in the history); refused when
    what remains could not have happened (deleting a divorce that a remarriage follows)."""
    if event.deleted:
        raise not_found(f"No marriage event has id {event.id}.", argument="id")
    why = _text(reason, field="reason", limit=150, required=True)
    remaining = [e for e in await _events(session, person.uid) if e.id != event.id]
    try:
        check_history(remaining)
    except GraphQLError as exc:
        raise domain_error(ErrorCode.INVALID_STATE, f"Deleting this event would leave a history that cannot have "
                           f"happened: {exc.message}", argument="id") from None
    event.deleted = True
    await session.flush()
    await _rederive(session, person, event, actor=actor, operation="deleted", comment=why)
    return event


# --- children ------------------------------------------------------------------------------------

CHILD_FIELDS = ("name", "sex", "birth_date", "id_number", "blood_relation", "policy_attribute", "birth_order",
                "health_status", "birth_certificate_no", "change_date", "reported_on", "death_date")


@dataclass(frozen=True)
class ChildData:
    """子女信息 as entered; sex and birth date may be left to the ID number; birth order defaults to the
    child's place among its siblings by birth date."""

    sex: str | None = None
    birth_date: date | None = None
    name: str | None = None
    id_number: str | None = None
    blood_relation: str = BloodRelation.BIRTH.name
    policy_attribute: str | None = None
    birth_order: int | None = None
    health_status: str | None = None
    birth_certificate_no: str | None = None
    change_date: date | None = None
    reported_on: date | None = None
    death_date: date | None = None


BirthKey = tuple[str, date, str, str]


def birth_key(child: models.Child) -> BirthKey | None:
    """Where tally.rebuild counts the child (None: not counted)."""
    if child.deleted:
        return None
    return child.region_code, child.birth_date, tally.birth_order_bucket(child.birth_order), child.sex


async def move_birth(session: AsyncSession, before: BirthKey | None, after: BirthKey | None) -> None:
    if before == after:
        return
    for key, delta in ((before, -1), (after, 1)):
        if key is not None:
            region, day, bucket, sex = key
            await tally.event(session, tally.BIRTH, region, day, bucket, sex, delta)


async def _siblings(session: AsyncSession, parent_uid: str) -> list[models.Child]:
    return list((await session.scalars(select(models.Child).where(
        models.Child.parent_uid == parent_uid, models.Child.deleted.is_(False)).with_for_update())).all())


def _clean_child(parent: models.Person, values: dict[str, Any], *, today: date) -> dict[str, Any]:
    """The child's values cleaned and checked; BAD_USER_INPUT naming the field otherwise."""
    values["name"] = _text(values.get("name"), field="name", limit=64)
    number = values.get("id_number")
    if number is not None and number.strip():
        number, id_born, id_sex = normalised_id(number, field="idNumber", today=today)
        if values.get("birth_date") is None:
            values["birth_date"] = id_born
        elif values["birth_date"] != id_born:
            raise bad_input(f"The birth date differs from the one in the ID number ({id_born}).", field="birthDate")
        if values.get("sex") is None:
            values["sex"] = id_sex
        elif values["sex"] != id_sex:
            raise bad_input("The sex differs from the one in the ID number.", field="sex")
        if number == parent.id_number:
            raise bad_input("The child's ID number is the parent's own.", field="idNumber")
        values["id_number"] = number
    else:
        values["id_number"] = None
    if values.get("sex") is None:
        raise bad_input("Give the child's sex (or an ID number).", field="sex")
    born: date | None = values.get("birth_date")
    if born is None:
        raise bad_input("Give the child's birth date (or an ID number).", field="birthDate")
    if born > today:
        raise bad_input("A child cannot be born in the future.", field="birthDate")
    if values.get("blood_relation", "BIRTH") == BloodRelation.BIRTH.name:
        if born <= birthday(parent.birth_date, MIN_PARENT_AGE):
            # §3.6 / DQ-38; an adopted or step child may be close in age to the parent.
            raise bad_input(f"The parent was not yet {MIN_PARENT_AGE} on {born}.", field="birthDate")
        if parent.death_date is not None:
            latest = parent.death_date + (timedelta(days=POSTHUMOUS_BIRTH_DAYS) if parent.sex == "MALE"
                                          else timedelta())
            if born > latest:
                raise bad_input(f"The parent died on {parent.death_date}, before this birth.", field="birthDate")
    for field, name in (("deathDate", "death_date"), ("changeDate", "change_date"), ("reportedOn", "reported_on")):
        day = values.get(name)
        if day is not None and (day < born or day > today):
            raise bad_input(f"{field} must lie between the birth date and today.", field=field)
    order = values.get("birth_order")
    if order is not None and not 1 <= order <= MAX_BIRTH_ORDER:
        raise bad_input(f"birthOrder must be between 1 and {MAX_BIRTH_ORDER}.", field="birthOrder")
    certificate = _text(values.get("birth_certificate_no"), field="birthCertificateNo", limit=20)
    if certificate is not None:
        certificate = certificate.upper()
        if not _CERTIFICATE.fullmatch(certificate):
            raise bad_input("birthCertificateNo is 6 to 20 letters A-Z and digits.", field="birthCertificateNo")
    values["birth_certificate_no"] = certificate
    return values


def order_conflict(child: models.Child, siblings: Iterable[models.Child]) -> str | None:
    """Why the child's birth order does not fit its siblings' (same order, or out of birth-date order)."""
    for other in siblings:
        if other.id == child.id or other.deleted:
            continue
        if other.birth_order == child.birth_order:
            return f"birth order {child.birth_order} is already the child born on {other.birth_date}"
        if other.birth_date < child.birth_date and other.birth_order > child.birth_order:
            return (f"the child born earlier, on {other.birth_date}, has the later birth order "
                    f"{other.birth_order}")
        if other.birth_date > child.birth_date and other.birth_order < child.birth_order:
            return (f"the child born later, on {other.birth_date}, has the earlier birth order "
                    f"{other.birth_order}")
    return None


async def _place(session: AsyncSession, child: models.Child, siblings: list[models.Child]) -> None:
    """Gives a child without a birth order its place by birth date: one after the siblings born before it
    (or on the same day), renumbering the later-born siblings upwards where their orders collide."""
    earlier = [s.birth_order for s in siblings if s.birth_date <= child.birth_date]
    child.birth_order = max(earlier, default=0) + 1
    wanted = child.birth_order
    for sibling in sorted((s for s in siblings if s.birth_date > child.birth_date), key=lambda s: s.birth_order):
        if sibling.birth_order != wanted:
            break
        before = birth_key(sibling)
        sibling.birth_order, wanted = wanted + 1, wanted + 1
        await move_birth(session, before, birth_key(sibling))


async def _conflicting_id(session: AsyncSession, number: str, *, child_id: str | None) -> None:
    """DQ-03: an ID number is one child's only."""
    other = await session.scalar(select(models.Child.id).where(models.Child.id_number == number,
                                                                models.Child.id != (child_id or "")))
    if other is not None:
        raise domain_error(ErrorCode.CONFLICT, "Another child record has this ID number.", field="idNumber",
                           childId=other)


async def _person_by_id_number(session: AsyncSession, number: str) -> models.Person | None:
    return await session.scalar(select(models.Person).where(models.Person.id_number == number))


async def recount(session: AsyncSession, parent: models.Person, *, actor: str, comment: str,
                  detail: dict[str, Any]) -> None:
    """孩子数 / 男孩数 / 最小孩出生日期 of the parent from its children not deleted (DQ-07)."""
    C = models.Child
    count, boys, youngest = (await session.execute(
        select(func.count(), func.coalesce(func.sum(case((C.sex == "MALE", 1), else_=0)), 0), func.max(C.birth_date))
        .where(C.parent_uid == parent.uid, C.deleted.is_(False)))).one()
    before = snapshot(parent)
    parent.children_count, parent.boys_count, parent.youngest_child_birth_date = int(count), int(boys), youngest
    await _record(session, parent, before, actor=actor, action="CHILDREN", comment=comment, detail=detail)


def _child_event(session: AsyncSession, child: models.Child, parent: models.Person, what: str) -> None:
    emit(session, models.OutboxEvent, f"population.child.{what}",
         {"id": child.id, "parentUid": parent.uid, "childUid": child.child_uid, "source": child.source,
          "birthDate": child.birth_date.isoformat(), "sex": child.sex, "birthOrder": child.birth_order,
          "region": child.region_code})


async def add_child(session: AsyncSession, parent: models.Person, data: ChildData, *, actor: str,
                    source: str = ChildSource.MANUAL.name) -> models.Child:
    """Records a child of `parent` (counted in the parent's management region), places it among its
    siblings, counts the birth and re-derives the parent's children fields."""
    today = today_in_china()
    values = _clean_child(parent, {name: getattr(data, name) for name in CHILD_FIELDS}, today=today)
    existing_case: models.Person | None = None
    if values["id_number"] is not None:
        await _conflicting_id(session, values["id_number"], child_id=None)
        existing_case = await _person_by_id_number(session, values["id_number"])
        if existing_case is not None and existing_case.uid == parent.uid:
            raise bad_input("The child's ID number is the parent's own.", field="idNumber")
    siblings = await _siblings(session, parent.uid)
    child = models.Child(id=str(uuid.uuid4()), parent_uid=parent.uid, source=source,
                         region_code=parent.management_region_code, deleted=False, created_at=utcnow(),
                         child_uid=existing_case.uid if existing_case is not None and not existing_case.deleted
                         else None, **values)
    if child.name is None and existing_case is not None:
        child.name = existing_case.name
    if data.birth_order is None:
        await _place(session, child, siblings)
    elif why := order_conflict(child, siblings):
        raise bad_input(f"Birth order {child.birth_order} does not fit: {why}.", field="birthOrder")
    session.add(child)
    await session.flush()
    await move_birth(session, None, birth_key(child))
    await recount(session, parent, actor=actor, comment=f"登记子女 {child.birth_date} 第{child.birth_order}孩",
                  detail={"child_id": child.id, "operation": "登记"})
    _child_event(session, child, parent, "added")
    return child


async def correct_child(session: AsyncSession, parent: models.Person, child: models.Child,
                        changes: Mapping[str, Any], *, actor: str) -> models.Child:
    """Corrects a child record (`changes`: the CHILD_FIELDS given; None clears an optional one), moves
    its birth in the tallies, re-derives the parent's children fields and, for a carded child, writes
    name, sex and birth date through to the child's own case (the last write wins, on either side). An ID
    number that is a person's links the record to that case, as on add."""
    if child.deleted:
        raise not_found(f"No child has id {child.id}.", argument="id")
    today = today_in_china()
    given = {k: v for k, v in changes.items() if k in CHILD_FIELDS}
    if "id_number" in given and child.child_uid is not None and given["id_number"] != child.id_number:
        raise domain_error(ErrorCode.INVALID_STATE, "The child has its own case: its ID number is maintained "
                           "there and follows here.", field="idNumber", personUid=child.child_uid)
    for required in ("sex", "birth_date", "birth_order", "blood_relation"):
        if required in given and given[required] is None:
            raise bad_input(f"{required} cannot be cleared.", field=required)
    values = {name: getattr(child, name) for name in CHILD_FIELDS}
    if "id_number" in given and given["id_number"] and values["id_number"] != given["id_number"]:
        # A new ID number brings its own sex and birth date unless those are given too.
        values.update(sex=None, birth_date=None)
    values.update(given)
    values = _clean_child(parent, values, today=today)
    if values["id_number"] is not None and values["id_number"] != child.id_number:
        await _conflicting_id(session, values["id_number"], child_id=child.id)
        holder = await _person_by_id_number(session, values["id_number"])
        if holder is not None and holder.uid == parent.uid:
            raise bad_input("The child's ID number is the parent's own.", field="idNumber")
        if holder is not None and not holder.deleted:
            child.child_uid = holder.uid  # the child already has a case: the record now points at it
    siblings = await _siblings(session, parent.uid)
    before = birth_key(child)
    for name, value in values.items():
        setattr(child, name, value)
    if why := order_conflict(child, siblings):
        field = "birthOrder" if "birth_order" in given else "birthDate"
        raise bad_input(f"The birth order {child.birth_order} would not fit: {why}; give a birth order that does.",
                        field=field)
    child.change_date = values["change_date"] if "change_date" in given else today
    await session.flush()
    await move_birth(session, before, birth_key(child))
    await recount(session, parent, actor=actor, comment=f"更正子女 {child.birth_date} 第{child.birth_order}孩",
                  detail={"child_id": child.id, "operation": "更正", "fields": ",".join(sorted(given))})
    await _write_to_case(session, child, actor=actor)
    _child_event(session, child, parent, "corrected")
    return child


async def delete_child(session: AsyncSession, parent: models.Person, child: models.Child, reason: str, *,
                       actor: str) -> models.Child:
    """Deletes a child record logically: no longer counted in births nor in the parent's fields. Its ID
    number is released (kept in the history entry) so that a correct record can be entered again; its
    siblings keep their birth orders (a gap says a child is missing)."""
    if child.deleted:
        raise not_found(f"No child has id {child.id}.", argument="id")
    why = _text(reason, field="reason", limit=150, required=True)
    before = birth_key(child)
    released, child.id_number, child.deleted = child.id_number, None, True
    await session.flush()
    await move_birth(session, before, None)
    await recount(session, parent, actor=actor, comment=f"删除子女 {child.birth_date}: {why}",
                  detail={"child_id": child.id, "operation": "删除", "id_number": released, "reason": why})
    _child_event(session, child, parent, "deleted")
    return child


# --- newborns ------------------------------------------------------------------------------------


async def mother_for_report(session: AsyncSession, id_number: str, scope: RegionScope) -> models.Person:
    """The mother a newborn report names (by ID number), locked; NOT_FOUND without her case."""
    number, _born, sex = normalised_id(id_number, field="motherIdNumber")
    if sex != "FEMALE":
        raise bad_input("motherIdNumber is a man's ID number.", field="motherIdNumber")
    mother = await session.scalar(select(models.Person).where(models.Person.id_number == number).with_for_update())
    if mother is None or mother.deleted:
        raise not_found("No person has the mother's ID number: create her case first.", argument="motherIdNumber")
    check_writable(mother, scope, argument="motherIdNumber")
    return mother


async def report_newborn(session: AsyncSession, mother: models.Person, data: ChildData, *,
                         actor: str) -> models.Child:
    """A newborn reported by the MCH system (妇幼系统). A repeated report (same mother, same birth
    certificate) returns the recorded child when it says the same, and is a CONFLICT otherwise."""
    if data.birth_certificate_no:
        certificate = data.birth_certificate_no.strip().upper()
        same = await session.scalar(select(models.Child).where(
            models.Child.parent_uid == mother.uid, models.Child.deleted.is_(False),
            models.Child.birth_certificate_no == certificate))
        if same is not None:
            if same.birth_date == data.birth_date and same.sex == data.sex and same.name == data.name:
                return same
            raise domain_error(ErrorCode.CONFLICT, "This birth certificate is already recorded for the mother with "
                               "other data: correct that record instead.", field="birthCertificateNo",
                               childId=same.id)
    return await add_child(session, mother, data, actor=actor, source=ChildSource.MCH.name)


@dataclass(frozen=True)
class CardData:
    """What a newborn's case needs beyond the child record; the rest comes from the mother's case."""

    name: str | None = None
    ethnicity: str | None = None
    hukou_type: str | None = None
    household_address: str | None = None
    residence_address: str | None = None


def newborn_relation(mother_relation: str | None) -> str:
    """与户主关系 of a newborn carded into the mother's household: the head's child when the mother is the head
    or the head's spouse (or the household has no recorded head), the head's grandchild when she is the
    head's child, otherwise 其他."""
    if mother_relation in (None, RelationToHead.HEAD.value, RelationToHead.SPOUSE.value):
        return RelationToHead.CHILD.value
    if mother_relation == RelationToHead.CHILD.value:
        return RelationToHead.GRANDCHILD.value
    return RelationToHead.OTHER.value


async def card_newborn(session: AsyncSession, parent: models.Person, child: models.Child, data: CardData, *,
                       actor: str) -> models.Person:
    """一键建卡: creates the child's own case in the mother's household and regions and links it."""
    from subgraphs.population.domain import persons  # persons imports nothing of family; late all the same

    if child.deleted:
        raise not_found(f"No child has id {child.id}.", argument="childId")
    if child.child_uid is not None:
        raise domain_error(ErrorCode.CONFLICT, "The child already has a case.", argument="childId",
                           personUid=child.child_uid)
    if child.death_date is not None:
        raise domain_error(ErrorCode.INVALID_STATE, f"The child died on {child.death_date}; no case is created.",
                           argument="childId")
    name = _text(data.name, field="name", limit=64) or child.name
    if name is None:
        raise bad_input("The child has no name yet: give one.", field="name")
    if data.ethnicity is not None and data.ethnicity not in ETHNICITIES:
        raise bad_input("ethnicity is a GB/T 3304 code: 01-56, 97 or 98.", field="ethnicity")
    if child.id_number is not None:
        holder = await _person_by_id_number(session, child.id_number)
        if holder is not None:  # DQ-03
            raise domain_error(ErrorCode.CONFLICT, "A person already has the child's ID number.", argument="childId",
                               personUid=holder.uid)
    elif parent.sex != "FEMALE":
        raise domain_error(ErrorCode.INVALID_STATE, "A newborn without an ID number is identified through its "
                           "mother's identity code; record the child on the mother's case.", argument="childId")
    twins = sorted((s for s in await _siblings(session, parent.uid) if s.birth_date == child.birth_date),
                   key=lambda s: s.birth_order)
    new = persons.NewPerson(
        name=name, household_region_code=parent.household_region_code,
        residence_region_code=parent.residence_region_code, management_region_code=parent.management_region_code,
        identity_kind="RESIDENT" if child.id_number else "NEWBORN", id_number=child.id_number, sex=child.sex,
        birth_date=child.birth_date, ethnicity=data.ethnicity or parent.ethnicity,
        hukou_type=data.hukou_type or parent.hukou_type,
        household_address=_text(data.household_address, field="householdAddress", limit=200)
        or parent.household_address,
        residence_address=_text(data.residence_address, field="residenceAddress", limit=200)
        or parent.residence_address,
        person_type=parent.person_type, mobility=parent.mobility, household_no=parent.household_no,
        # Without a household the mother's case cannot take the child in: the child heads a new one.
        relation_to_head=newborn_relation(parent.relation_to_head) if parent.household_no else None,
        mother_identity_code=parent.identity_code if child.id_number is None else None,
        multiple_birth_order=next((i for i, s in enumerate(twins, 1) if s.id == child.id), 1),
    )
    person = await persons.create_person(session, new, actor=actor)
    child.child_uid, child.name = person.uid, name
    await session.flush()
    _history(session, parent, actor=actor, action="CHILDREN", comment=f"新生儿建卡 {child.birth_date}",
             detail={"child_id": child.id, "operation": "建卡", "child_uid": person.uid})
    _child_event(session, child, parent, "carded")
    return person


async def _write_to_case(session: AsyncSession, child: models.Child, *, actor: str) -> None:
    """Child record -> the carded case: name, sex and birth date, through the persons area's edit (which
    re-derives the case's identity code and records the change)."""
    from subgraphs.population.domain import persons

    if child.child_uid is None:
        return
    case_row = await session.scalar(select(models.Person).where(models.Person.uid == child.child_uid))
    if case_row is None or case_row.deleted:
        return
    wanted = {"name": child.name or case_row.name, "sex": child.sex, "birth_date": child.birth_date}
    differing = {k: v for k, v in wanted.items() if getattr(case_row, k) != v}
    if differing:
        await persons.update_person(session, case_row.uid, differing, expected_version=None, actor=actor,
                                    scope=None, comment="子女信息更正同步")


async def person_synced(session: AsyncSession, person: models.Person, *, actor: str) -> int:
    """The carded case -> its child records: call after a person's name, sex, birth date, ID number or
    death date changed (the persons area's update path, the death workflow). Copies them onto every child
    record linked to the person (an ID number or death date only when the case has one), moves the births
    in the tallies and re-derives each parent's children fields. Returns how many child records changed.
    Birth orders are not re-checked here (a data check reports a misfit): a case's correction is not
    refused because of its mother's records."""
    children = (await session.scalars(select(models.Child).where(
        models.Child.child_uid == person.uid, models.Child.deleted.is_(False)).with_for_update())).all()
    changed = 0
    for child in children:
        wanted: dict[str, Any] = {"name": person.name, "sex": person.sex, "birth_date": person.birth_date,
                                  "id_number": person.id_number or child.id_number,
                                  "death_date": person.death_date or child.death_date}
        differing = {k: v for k, v in wanted.items() if getattr(child, k) != v}
        if not differing:
            continue
        if "id_number" in differing:
            await _conflicting_id(session, wanted["id_number"], child_id=child.id)
        before = birth_key(child)
        for name, value in differing.items():
            setattr(child, name, value)
        child.change_date = today_in_china()
        await session.flush()
        await move_birth(session, before, birth_key(child))
        parent = await session.scalar(select(models.Person).where(models.Person.uid == child.parent_uid)
                                      .with_for_update())
        if parent is not None:
            await recount(session, parent, actor=actor, comment="子女个案变更同步",
                          detail={"child_id": child.id, "operation": "同步", "fields": ",".join(sorted(differing))})
        changed += 1
    return changed
