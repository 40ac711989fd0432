"""人口个案 maintenance (population.md §2.1): create, edit, cancel (注销) and its reversal, logical delete and
restore. Every write goes through domain/changes.person_written (history, tallies, checks, event).

Rules the tender leaves open, as decided here:
* 人员编号 is "RY" + a 10-digit value of the counter "person-no" (RY0000000601), the format the seed uses.
* A resident's sex and birth date come from the ID number and cannot be set apart from it; the ID number is
  unique; changing it re-derives sex, birth date and the identity code.
* Derived fields (marital status, children figures) are never written here; the management region changes
  only through dispatch; household membership through the household operations.
* A DEAD person whose death was synced by the death-record workflow cannot be uncancelled here (the death record
  is the source); a death entered by hand with the cancellation can.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.scope import RegionScope
from subgraphs.population import models
from subgraphs.population.codes import (
    ETHNICITIES,
    Education,
    HukouType,
    Mobility,
    PersonStatus,
    PersonType,
)
from subgraphs.population.domain import households
from subgraphs.population.domain import identity_code as codes
from subgraphs.population.domain.changes import person_written, snapshot

CHINA = ZoneInfo("Asia/Shanghai")
PERSON_NO_COUNTER = "person-no"
PERSON_NO_PREFIX = "RY"
PERSON_NO_DIGITS = 10
# The death-record status once a death is confirmed and synced (the death-record workflow's final state).
SYNCED_DEATH = "SYNCED"

MAX_NAME = 64
MAX_TEXT = 200
MAX_OCCUPATION = 64
_PHONE = re.compile(r"[0-9+\-() ]{5,20}")

NORMAL, CANCELLED, DEAD = PersonStatus.NORMAL.value, PersonStatus.CANCELLED.value, PersonStatus.DEAD.value


def today_in_china() -> date:
    return datetime.now(CHINA).date()


def new_uid() -> str:
    """The graph key: "P" + 20 hex digits, random, carrying no personal data (as the seed's pseudonyms)."""
    return "P" + uuid.uuid4().hex[:20].upper()


@dataclass
class NewPerson:
    """A person to create (个案新增). Sex and birth date of a resident come from the ID number."""

    name: str
    household_region_code: str
    residence_region_code: str
    identity_kind: str = "RESIDENT"
    id_number: str | None = None
    other_id_number: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    management_region_code: str | None = None  # defaults to the residence region
    ethnicity: str = "01"
    hukou_type: str | None = None
    education: str | None = None
    occupation: str | None = None
    phone: str | None = None
    household_address: str | None = None
    residence_address: str | None = None
    person_type: str = "HOUSEHOLD_REGISTERED"
    mobility: str = "RESIDENT"
    household_no: str | None = None
    relation_to_head: str | None = None
    mother_identity_code: str | None = None
    multiple_birth_order: int = 1


# --- field checks ------------------------------------------------------------------------------------


def _invalid(exc: codes.InvalidIdentityCode) -> Exception:
    return bad_input(exc.message, argument="input", field=exc.field)


def _choice(value: str | None, allowed: Mapping[str, Any] | frozenset[str], field_name: str,
            *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise bad_input(f"{field_name} is required.", argument="input", field=field_name)
        return None
    if value not in allowed:
        raise bad_input(f"{field_name} has no value {value!r}.", argument="input", field=field_name)
    return value


def _values(enum: Any) -> frozenset[str]:
    return frozenset(member.value for member in enum)


CHOICES: dict[str, tuple[str, Mapping[str, Any] | frozenset[str], bool]] = {
    # column: (GraphQL field, allowed values, required)
    "ethnicity": ("ethnicity", ETHNICITIES, True),
    "hukou_type": ("hukouType", _values(HukouType), False),
    "education": ("education", _values(Education), False),
    "person_type": ("personType", _values(PersonType), True),
    "mobility": ("mobility", _values(Mobility), True),
}


def _name(value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise bad_input("The name is required.", argument="input", field="name")
    if len(name) > MAX_NAME:
        raise bad_input(f"The name has at most {MAX_NAME} characters.", argument="input", field="name",
                        maximum=MAX_NAME)
    return name


def _phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    phone = value.strip()
    if not _PHONE.fullmatch(phone):
        raise bad_input("A phone number has 5 to 20 digits (with + - ( ) or spaces).", argument="input",
                        field="phone")
    return phone


def _text(value: str | None, field_name: str, limit: int = MAX_TEXT) -> str | None:
    return households.check_text(value, field_name, limit)


async def check_regions(session: AsyncSession, codes_by_field: Mapping[str, str | None], *,
                        on: date | None = None) -> None:
    """Every given region code exists and is valid on `on` (today): valid_from <= on < valid_to."""
    wanted = {code: name for name, code in codes_by_field.items() if code is not None}
    if not wanted:
        return
    rows = {r.code: r for r in await session.scalars(select(models.Region).where(models.Region.code.in_(wanted)))}
    day = on or today_in_china()
    for name, code in codes_by_field.items():
        if code is None:
            continue
        row = rows.get(code)
        if row is None:
            raise bad_input(f"No region has code {code}.", argument="input", field=name)
        if row.valid_from > day or (row.valid_to is not None and day >= row.valid_to):
            raise bad_input(f"Region {code} ({row.full_name}) is not valid today.", argument="input", field=name)


async def _check_unique(session: AsyncSession, *, id_number: str | None, identity_code: str | None,
                        uid: str | None = None) -> None:
    P = models.Person
    if id_number is not None:
        stmt = select(P.uid).where(P.id_number == id_number)
        if uid is not None:
            stmt = stmt.where(P.uid != uid)
        if await session.scalar(stmt.limit(1)) is not None:
            # The number is not repeated: the message ends up in logs and client error reports.
            raise domain_error(ErrorCode.CONFLICT, "Another person (possibly a deleted record) already has this ID "
                               "number.", field="idNumber")
    if identity_code is not None:
        stmt = select(P.uid).where(P.identity_code == identity_code)
        if uid is not None:
            stmt = stmt.where(P.uid != uid)
        if await session.scalar(stmt.limit(1)) is not None:
            raise domain_error(ErrorCode.CONFLICT, "Another person (possibly a deleted record) already has this "
                               "unified identity code.", field="identityCode")


async def _highest_person_no(session: AsyncSession) -> int:
    P = models.Person
    last = await session.scalar(select(func.max(P.person_no)).where(
        P.person_no >= PERSON_NO_PREFIX + "0" * PERSON_NO_DIGITS,
        P.person_no <= PERSON_NO_PREFIX + "9" * PERSON_NO_DIGITS))
    return int(last[len(PERSON_NO_PREFIX):]) if last else 0


async def next_person_no(session: AsyncSession) -> str:
    value = await households.next_counter_value(session, PERSON_NO_COUNTER, lambda: _highest_person_no(session))
    return f"{PERSON_NO_PREFIX}{value:0{PERSON_NO_DIGITS}d}"


async def _highest_tie_breaker(session: AsyncSession, base: str) -> int:
    """How many values of the OTHER counter `base` are already in use (1: the bare base, n: up to tie n-1)."""
    P = models.Person
    used = (await session.scalars(select(P.identity_code).where(
        P.identity_code >= base, P.identity_code <= base + "999"))).all()
    taken = [0 if code == base else int(code[len(base):]) for code in used
             if code == base or (len(code) == len(base) + 3 and code[len(base):].isdigit())]
    return max(taken) + 1 if taken else 0


async def _identity_code(session: AsyncSession, identity: codes.Identity) -> str:
    if not identity.needs_tie_breaker:
        return identity.code
    base = identity.code
    value = await households.next_counter_value(session, f"identity:{base}",
                                                lambda: _highest_tie_breaker(session, base))
    try:
        return codes.other_code(base, value - 1)
    except codes.InvalidIdentityCode as exc:
        raise domain_error(ErrorCode.CONFLICT, exc.message, field=exc.field) from None


# --- create ---------------------------------------------------------------------------------------


async def create_person(session: AsyncSession, data: NewPerson, *, actor: str) -> models.Person:
    """个案新增: validates, numbers (人员编号, 户编号, 统一身份识别码) and records a new person. The caller checks
    that the management region lies in the acting user's data scope."""
    name = _name(data.name)
    management = data.management_region_code or data.residence_region_code
    try:
        identity = codes.settle(
            data.identity_kind, id_number=data.id_number, other_id_number=data.other_id_number, sex=data.sex,
            birth_date=data.birth_date, region_code=data.residence_region_code,
            mother_identity_code=data.mother_identity_code, multiple_birth_order=data.multiple_birth_order,
            today=today_in_china())
    except codes.InvalidIdentityCode as exc:
        raise _invalid(exc) from None
    choices = {column: _choice(getattr(data, column), allowed, name_, required=required)
               for column, (name_, allowed, required) in CHOICES.items()}
    await check_regions(session, {"householdRegionCode": data.household_region_code,
                                  "residenceRegionCode": data.residence_region_code,
                                  "managementRegionCode": management})
    await _check_unique(session, id_number=identity.id_number,
                        identity_code=None if identity.needs_tie_breaker else identity.code)
    household_address = _text(data.household_address, "householdAddress")

    if data.household_no is not None:
        if data.relation_to_head is None:
            raise bad_input("Joining a household needs the relation to its head.", argument="input",
                            field="relationToHead")
        relation = households.check_relation(data.relation_to_head)
        household_no = (await households.household_for_update(session, data.household_no)).number
        if relation == households.HEAD and await households.head_of(session, household_no) is not None:
            raise domain_error(ErrorCode.CONFLICT, f"Household {household_no} already has a head.",
                               field="relationToHead")
    else:
        # Without a household to join, the person heads a new one whatever relation was given (a newborn carded
        # from a mother who has no household yet, say): the relation only means something inside a household.
        relation = households.HEAD
        household_no = (await households.new_household(session, data.household_region_code,
                                                       household_address)).number

    row = models.Person(
        uid=new_uid(), person_no=await next_person_no(session), identity_code=await _identity_code(session, identity),
        identity_kind=identity.kind, id_number=identity.id_number, other_id_number=identity.other_id_number,
        name=name, sex=identity.sex, birth_date=identity.birth_date, marital_status="UNMARRIED",
        occupation=_text(data.occupation, "occupation", MAX_OCCUPATION), phone=_phone(data.phone),
        household_region_code=data.household_region_code, residence_region_code=data.residence_region_code,
        management_region_code=management, household_address=household_address,
        residence_address=_text(data.residence_address, "residenceAddress"), household_no=household_no,
        relation_to_head=relation, children_count=0, boys_count=0, status=NORMAL, deleted=False, version=1,
        **choices,
    )
    session.add(row)
    await person_written(session, row, actor=actor, action="CREATE", before=None)
    return row


# --- loading for a write --------------------------------------------------------------------------


async def load_for_write(session: AsyncSession, uid: str, scope: RegionScope | None, *,
                         deleted: bool = False) -> models.Person:
    """The person, locked for this transaction; NOT_FOUND when absent (or deleted, unless `deleted`: restoring),
    FORBIDDEN when its management region is outside the scope (None: the caller has checked)."""
    row = (await session.scalars(select(models.Person).where(models.Person.uid == uid).with_for_update()
                                 .execution_options(populate_existing=True))).first()
    # A deleted person is invisible: to every write but restoring, it is not there.
    if row is None or (row.deleted and not deleted):
        raise domain_error(ErrorCode.NOT_FOUND, f"No person has uid {uid}.")
    if scope is not None and not scope.allows(row.management_region_code):
        raise forbidden("This person is managed outside your data scope.")
    if deleted and not row.deleted:
        raise domain_error(ErrorCode.INVALID_STATE, "The person is not deleted.")
    return row


# --- update ---------------------------------------------------------------------------------------

EDITABLE = frozenset({
    "name", "identity_kind", "id_number", "other_id_number", "sex", "birth_date", "ethnicity", "hukou_type",
    "education", "person_type", "mobility", "occupation", "phone", "household_region_code",
    "residence_region_code", "household_address", "residence_address",
})
# Fields an edit may not touch, with the reason given back.
READ_ONLY: dict[str, tuple[str, str]] = {
    "marital_status": ("maritalStatus", "is derived from the marriage history"),
    "children_count": ("childrenCount", "is derived from the children records"),
    "boys_count": ("boysCount", "is derived from the children records"),
    "youngest_child_birth_date": ("youngestChildBirthDate", "is derived from the children records"),
    "management_region_code": ("managementRegionCode", "changes only by dispatch (调度)"),
    "household_no": ("householdNo", "changes with the household operations"),
    "relation_to_head": ("relationToHead", "changes with the household operations"),
    "status": ("status", "changes by cancelling or uncancelling"),
    "cancelled_on": ("cancelledOn", "changes by cancelling or uncancelling"),
    "cancel_reason": ("cancelReason", "changes by cancelling or uncancelling"),
    "death_date": ("deathDate", "changes by cancelling or uncancelling"),
    "deleted": ("deleted", "changes by deleting or restoring"),
    "person_no": ("personNo", "is assigned by the system"),
    "identity_code": ("identityCode", "is assigned by the system"),
    "uid": ("uid", "is assigned by the system"),
}
_IDENTITY_FIELDS = ("identity_kind", "id_number", "other_id_number", "sex", "birth_date")


async def update_person(
    session: AsyncSession, uid: str, changes: Mapping[str, Any], *, expected_version: int | None, actor: str,
    scope: RegionScope | None, comment: str | None = None,
) -> models.Person:
    """个案编辑: `changes` maps column names to new values (None clears an optional field). A stale
    `expected_version` is a CONFLICT; read-only and derived fields are refused with BAD_USER_INPUT."""
    for key in changes:
        if key in READ_ONLY:
            name, why = READ_ONLY[key]
            raise bad_input(f"{name} is read-only: it {why}.", argument="input", field=name)
        if key not in EDITABLE:
            raise bad_input(f"{key} is not a field of a person.", argument="input", field=key)
    row = await load_for_write(session, uid, scope)
    if expected_version is not None and row.version != expected_version:
        raise domain_error(ErrorCode.CONFLICT, f"The person was changed since you read it (version {row.version}, "
                           f"you had {expected_version}); reload and edit again.", currentVersion=row.version)
    before = snapshot(row)
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = _name(changes["name"])
    for column, (name, allowed, required) in CHOICES.items():
        if column in changes:
            values[column] = _choice(changes[column], allowed, name, required=required)
    if "phone" in changes:
        values["phone"] = _phone(changes["phone"])
    if "occupation" in changes:
        values["occupation"] = _text(changes["occupation"], "occupation", MAX_OCCUPATION)
    for column, name in (("household_address", "householdAddress"), ("residence_address", "residenceAddress")):
        if column in changes:
            values[column] = _text(changes[column], name)
    regions = {}
    for column, name in (("household_region_code", "householdRegionCode"),
                         ("residence_region_code", "residenceRegionCode")):
        if column in changes:
            if not changes[column]:
                raise bad_input(f"{name} is required.", argument="input", field=name)
            values[column] = regions[name] = str(changes[column])
    await check_regions(session, regions)
    if any(column in changes for column in _IDENTITY_FIELDS):
        values.update(await _reidentify(session, row, changes))
    for column, value in values.items():
        setattr(row, column, value)
    await person_written(session, row, actor=actor, action="UPDATE", before=before, comment=comment)
    return row


async def _reidentify(session: AsyncSession, row: models.Person, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The identity fields after an edit, with sex and birth date re-derived from a (new) ID number and the
    identity code rebuilt when what it is made of changed."""
    kind = changes.get("identity_kind", row.identity_kind)
    if kind == codes.NEWBORN and row.identity_kind != codes.NEWBORN:
        raise bad_input("A person becomes a NEWBORN only when carded at birth.", argument="input",
                        field="identityKind")
    old: codes.ParsedCode | None = None
    if row.identity_kind in (codes.NEWBORN, codes.OTHER):
        try:
            old = codes.parse(row.identity_code)
        except codes.InvalidIdentityCode:  # a code imported in another form: rebuilt from the fields alone
            old = None
    id_number = changes.get("id_number", row.id_number)
    has_number = bool(id_number and str(id_number).strip())
    # With a number that decides them, sex and birth date follow it (a given, different value is refused);
    # otherwise the stored ones stand unless changed.
    derived = has_number or kind == codes.HK_MACAU_TAIWAN
    try:
        identity = codes.settle(
            kind, id_number=id_number, other_id_number=changes.get("other_id_number", row.other_id_number),
            sex=changes.get("sex", None if derived else row.sex),
            birth_date=changes.get("birth_date", None if derived else row.birth_date),
            region_code=old.region_code if old is not None and old.region_code else row.residence_region_code,
            mother_identity_code=old.mother.text if old is not None and old.mother is not None else None,
            multiple_birth_order=old.multiple_birth_order if old is not None and old.multiple_birth_order else 1,
            today=today_in_china())
    except codes.InvalidIdentityCode as exc:
        raise _invalid(exc) from None
    code = row.identity_code
    if identity.needs_tie_breaker:
        same_base = row.identity_kind == codes.OTHER and row.identity_code.startswith(identity.code) and len(
            row.identity_code) in (len(identity.code), len(identity.code) + 3)
        if not same_base:
            code = await _identity_code(session, identity)
    else:
        code = identity.code
    await _check_unique(session, id_number=identity.id_number if identity.id_number != row.id_number else None,
                        identity_code=code if code != row.identity_code else None, uid=row.uid)
    return {"identity_kind": identity.kind, "id_number": identity.id_number,
            "other_id_number": identity.other_id_number, "sex": identity.sex, "birth_date": identity.birth_date,
            "identity_code": code}


# --- cancel, uncancel, delete, restore -----------------------------------------------------------


def _reason(value: str | None, field_name: str = "reason", *, required: bool = True) -> str | None:
    reason = (value or "").strip()
    if not reason:
        if required:
            raise bad_input(f"A {field_name} is required.", argument=field_name)
        return None
    if len(reason) > MAX_TEXT:
        raise bad_input(f"The {field_name} has at most {MAX_TEXT} characters.", argument=field_name,
                        maximum=MAX_TEXT)
    return reason


async def cancel_person(
    session: AsyncSession, uid: str, cancelled_on: date, reason: str, death_date: date | None = None, *,
    actor: str, scope: RegionScope | None,
) -> models.Person:
    """注销: status CANCELLED, or DEAD when a death date is given, with the date and reason kept."""
    text = _reason(reason)
    row = await load_for_write(session, uid, scope)
    if row.status != NORMAL:
        raise domain_error(ErrorCode.INVALID_STATE, f"The person is already {row.status.lower()}.",
                           status=row.status)
    today = today_in_china()
    if cancelled_on > today or cancelled_on < row.birth_date:
        raise bad_input("The cancellation date lies between the birth date and today.", argument="cancelledOn")
    if death_date is not None and (death_date < row.birth_date or death_date > cancelled_on):
        raise bad_input("The death date lies between the birth date and the cancellation date.",
                        argument="deathDate")
    before = snapshot(row)
    row.status = DEAD if death_date is not None else CANCELLED
    row.cancelled_on, row.cancel_reason, row.death_date = cancelled_on, text, death_date
    await person_written(session, row, actor=actor, action="CANCEL", before=before, comment=text)
    return row


async def uncancel_person(session: AsyncSession, uid: str, reason: str | None = None, *, actor: str,
                          scope: RegionScope | None) -> models.Person:
    """取消注销: back to NORMAL, the cancellation fields cleared (history keeps them)."""
    text = _reason(reason, required=False)
    row = await load_for_write(session, uid, scope)
    if row.status == NORMAL:
        raise domain_error(ErrorCode.INVALID_STATE, "The person is not cancelled.", status=row.status)
    if row.status == DEAD:
        synced = await session.scalar(select(models.DeathRecord.id).where(
            models.DeathRecord.person_uid == uid, models.DeathRecord.status == SYNCED_DEATH).limit(1))
        if synced is not None:
            raise domain_error(ErrorCode.INVALID_STATE, "The death was confirmed through a death record; correct the "
                               "death record instead of uncancelling.", status=row.status)
    before = snapshot(row)
    row.status, row.cancelled_on, row.cancel_reason, row.death_date = NORMAL, None, None, None
    await person_written(session, row, actor=actor, action="UNCANCEL", before=before, comment=text)
    return row


async def delete_person(session: AsyncSession, uid: str, reason: str, *, actor: str,
                        scope: RegionScope | None) -> models.Person:
    """逻辑删除: the record stays (with its history) but no query shows it any more."""
    text = _reason(reason)
    row = await load_for_write(session, uid, scope)
    before = snapshot(row)
    row.deleted = True
    await person_written(session, row, actor=actor, action="DELETE", before=before, comment=text)
    return row


async def restore_person(session: AsyncSession, uid: str, reason: str | None = None, *, actor: str,
                         scope: RegionScope | None) -> models.Person:
    """Undoes a logical delete."""
    text = _reason(reason, required=False)
    row = await load_for_write(session, uid, scope, deleted=True)
    before = snapshot(row)
    row.deleted = False
    await person_written(session, row, actor=actor, action="RESTORE", before=before, comment=text)
    return row
