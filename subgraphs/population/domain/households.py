"""户 (households) and the named counters that number households and persons.

A household number is the first 6 digits of the household-registration region + a 9-digit counter per county
(population.md §1.4): "320505" + "000000001". Membership is the person's `household_no`, with the relation to the
head (与户主关系); a household has at most one HEAD. Making someone HEAD while another member is head is a CONFLICT
unless the caller says what the current head becomes (`previous_head_relation`): the change of head is then one
write recorded on both persons.

Every function here works on rows the caller has loaded for writing (domain/persons.py: `load_for_write`) and
records each person it changes through `person_written` with the action HOUSEHOLD.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.outbox import utcnow
from subgraphs.common.scope import RegionScope
from subgraphs.population import models
from subgraphs.population.codes import RelationToHead
from subgraphs.population.domain.changes import person_written, snapshot

HOUSEHOLD = "HOUSEHOLD"
HEAD = RelationToHead.HEAD.value
RELATIONS = frozenset(r.value for r in RelationToHead)
HOUSEHOLD_SEQUENCE_DIGITS = 9
MAX_ADDRESS = 200
MAX_HOUSE_NUMBER = 40


# --- named counters --------------------------------------------------------------------------------


def _insert_for(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def next_counter_value(session: AsyncSession, name: str, start: Callable[[], Awaitable[int]]) -> int:
    """The next value of the named counter, taken under the counter row's lock (UPDATE ... RETURNING locks the
    row on PostgreSQL until the transaction ends; SQLite serialises writers), so no value is handed out twice.

    A counter that does not exist yet starts after `start()`, the highest value already in use (records
    imported or seeded without the counter), so that its first number never collides with them."""
    bump = (update(models.Counter).where(models.Counter.name == name)
            .values(last_value=models.Counter.last_value + 1).returning(models.Counter.last_value))
    value = await session.scalar(bump)
    if value is None:
        initial = await start()
        await session.execute(_insert_for(session)(models.Counter).values(name=name, last_value=initial)
                              .on_conflict_do_nothing(index_elements=["name"]))
        value = await session.scalar(bump)
    assert value is not None
    return int(value)


async def _highest_household_sequence(session: AsyncSession, county: str) -> int:
    low, high = county + "0" * HOUSEHOLD_SEQUENCE_DIGITS, county + "9" * HOUSEHOLD_SEQUENCE_DIGITS
    last = await session.scalar(select(func.max(models.Household.number))
                                .where(models.Household.number >= low, models.Household.number <= high))
    return int(last[6:]) if last and last[6:].isdigit() else 0


async def next_household_number(session: AsyncSession, region_code: str) -> str:
    """户编号: the county part of the region code + the county's next 9-digit value."""
    county = region_code[:6]
    value = await next_counter_value(session, f"household:{county}",
                                     lambda: _highest_household_sequence(session, county))
    if value >= 10**HOUSEHOLD_SEQUENCE_DIGITS:
        raise domain_error(ErrorCode.CONFLICT, f"County {county} has used up its household numbers.")
    return f"{county}{value:0{HOUSEHOLD_SEQUENCE_DIGITS}d}"


async def new_household(session: AsyncSession, region_code: str, address: str | None,
                        house_number: str | None = None) -> models.Household:
    household = models.Household(number=await next_household_number(session, region_code), region_code=region_code,
                                 address=address, house_number=house_number, created_at=utcnow())
    session.add(household)
    await session.flush()  # before a person refers to it: the unit of work does not order unrelated mappers
    return household


# --- membership ------------------------------------------------------------------------------------


def check_relation(relation: str | None, field: str = "relationToHead") -> str:
    if relation not in RELATIONS:
        raise bad_input(f"{field} must be one of {', '.join(sorted(RELATIONS))}.", argument="input", field=field)
    return relation


async def head_of(session: AsyncSession, household_no: str, *, other_than: str | None = None) -> models.Person | None:
    """The household's current head (deleted persons are no longer members)."""
    stmt = select(models.Person).where(models.Person.household_no == household_no,
                                       models.Person.relation_to_head == HEAD, models.Person.deleted.is_(False))
    if other_than is not None:
        stmt = stmt.where(models.Person.uid != other_than)
    return (await session.scalars(stmt.limit(1).with_for_update())).first()


async def make_room_for_head(
    session: AsyncSession, household_no: str, person_uid: str | None, previous_head_relation: str | None, *,
    actor: str, scope: RegionScope | None,
) -> None:
    """Before `person_uid` becomes HEAD of the household: the current head, if any, takes
    `previous_head_relation`; without one that is a CONFLICT."""
    current = await head_of(session, household_no, other_than=person_uid)
    if current is None:
        return
    if previous_head_relation is None:
        raise domain_error(ErrorCode.CONFLICT, f"Household {household_no} already has a head; say what the current "
                           "head becomes (previousHeadRelation) to replace them.", field="relationToHead")
    relation = check_relation(previous_head_relation, "previousHeadRelation")
    if relation == HEAD:
        raise bad_input("previousHeadRelation cannot be HEAD: a household has one head.", argument="input",
                        field="previousHeadRelation")
    if scope is not None and not scope.allows(current.management_region_code):
        raise forbidden("The current head of this household is outside your data scope.")
    before = snapshot(current)
    current.relation_to_head = relation
    await person_written(session, current, actor=actor, action=HOUSEHOLD, before=before,
                         comment=f"户主变更: 原户主改为 {relation}")


async def household_for_update(session: AsyncSession, number: str, field: str = "householdNo") -> models.Household:
    household = await session.get(models.Household, number)
    if household is None:
        raise bad_input(f"No household has number {number}.", argument="input", field=field)
    return household


async def split_household(session: AsyncSession, person: models.Person, *, actor: str,
                          comment: str | None = None) -> models.Household:
    """设为单独户: the person leaves their household for a new one that they head."""
    if person.household_no is not None:
        others = await session.scalar(select(func.count()).select_from(models.Person).where(
            models.Person.household_no == person.household_no, models.Person.uid != person.uid,
            models.Person.deleted.is_(False)))
        if not others:
            raise domain_error(ErrorCode.INVALID_STATE, "This person is already the only member of the household.")
    household = await new_household(session, person.household_region_code, person.household_address)
    before = snapshot(person)
    old = person.household_no
    person.household_no, person.relation_to_head = household.number, HEAD
    await person_written(session, person, actor=actor, action=HOUSEHOLD, before=before,
                         comment=comment or (f"设为单独户 (原户 {old})" if old else "设为单独户"))
    return household


async def move_to_household(
    session: AsyncSession, person: models.Person, household_no: str, relation: str, *, actor: str,
    scope: RegionScope | None, previous_head_relation: str | None = None,
) -> None:
    """The person joins another household with the given relation to its head."""
    check_relation(relation)
    household = await household_for_update(session, household_no)
    if household.number == person.household_no:
        raise domain_error(ErrorCode.INVALID_STATE, "The person is already a member of this household.")
    if relation == HEAD:
        await make_room_for_head(session, household.number, person.uid, previous_head_relation, actor=actor,
                                 scope=scope)
    before = snapshot(person)
    old = person.household_no
    person.household_no, person.relation_to_head = household.number, relation
    await person_written(session, person, actor=actor, action=HOUSEHOLD, before=before,
                         comment=f"迁入户 {household.number}" + (f" (原户 {old})" if old else ""))


async def set_relation_to_head(
    session: AsyncSession, person: models.Person, relation: str, *, actor: str, scope: RegionScope | None,
    previous_head_relation: str | None = None,
) -> None:
    check_relation(relation, "relation")
    if person.household_no is None:
        raise domain_error(ErrorCode.INVALID_STATE, "The person belongs to no household.")
    if relation == HEAD:
        await make_room_for_head(session, person.household_no, person.uid, previous_head_relation, actor=actor,
                                 scope=scope)
    before = snapshot(person)
    person.relation_to_head = relation
    await person_written(session, person, actor=actor, action=HOUSEHOLD, before=before)


def check_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise bad_input(f"{field} has at most {limit} characters.", argument="input", field=field, maximum=limit)
    return value or None


async def update_household(session: AsyncSession, number: str, changes: dict[str, str | None], *,
                           scope: RegionScope) -> models.Household:
    """A household's address and house number (门牌号); the number and region do not change."""
    household = await session.get(models.Household, number, with_for_update=True)
    if household is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No household has number {number}.")
    if not scope.allows(household.region_code):
        raise forbidden("This household is outside your data scope.")
    if "address" in changes:
        household.address = check_text(changes["address"], "address", MAX_ADDRESS)
    if "house_number" in changes:
        household.house_number = check_text(changes["house_number"], "houseNumber", MAX_HOUSE_NUMBER)
    await session.flush()
    return household
