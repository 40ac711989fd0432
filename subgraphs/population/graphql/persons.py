"""Persons, households and the region tree: queries and mutations (rules in domain/persons.py,
domain/households.py, domain/personal.py).

Reads keep to the caller's data scope (the person's management region; a household's registration region);
writes need the person's management region inside it (FORBIDDEN otherwise). Answers are masked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any

import strawberry
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.paging import (
    Connection,
    PageRequest,
    after_condition,
    check_first,
    connection_from_rows,
    decode_cursor,
)
from subgraphs.common.regions import in_subtree
from subgraphs.common.scope import RegionScope, region_scope
from subgraphs.common.search import contains, matches_keyword
from subgraphs.population import models
from subgraphs.population.codes import (
    AgeBand,
    Education,
    HukouType,
    IdentityKind,
    Mobility,
    PersonStatus,
    PersonType,
    RelationToHead,
    Sex,
    birth_date_range,
)
from subgraphs.population.domain import households, personal
from subgraphs.population.domain import identity_code as codes
from subgraphs.population.domain import persons as rules
from subgraphs.population.domain.changes import actor_of
from subgraphs.population.types import (
    Household,
    HouseholdByNumber,
    Info,
    MembersOfHousehold,
    Person,
    PersonalDataAccess,
    Region,
    newest_first,
    valid_on,
    visible,
)

MAX_AGE = 150
MAX_KEYWORD = 50


def _scope(info: Info) -> RegionScope:
    return region_scope(info.context.caller)


def _actor(info: Info) -> str:
    return actor_of(info.context.caller)


@asynccontextmanager
async def _writing(info: Info) -> AsyncIterator[AsyncSession]:
    """One transaction for a mutation; a unique key taken by a concurrent write is a CONFLICT, not a crash."""
    try:
        async with info.context.transaction() as session:
            yield session
    except IntegrityError:
        raise domain_error(ErrorCode.CONFLICT, "The change collides with another one made at the same time (a number "
                           "or household already taken); read again and retry.") from None


def _value(item: Any) -> Any:
    return item.value if hasattr(item, "value") and not isinstance(item, str) else item


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input(description="个案新增: a resident's sex and birth date come from the ID number (give them only to "
                              "confirm); without householdNo the person heads a new household (户编号 generated).")
class CreatePersonInput:
    name: str = strawberry.field(description="姓名")
    household_region_code: strawberry.ID = strawberry.field(description="户籍地区划, valid today.")
    residence_region_code: strawberry.ID = strawberry.field(description="居住地区划, valid today.")
    identity_kind: IdentityKind = strawberry.field(default=IdentityKind.RESIDENT, description="统一身份识别码类别")
    id_number: str | None = strawberry.field(default=None, description="身份证号 (GB 11643; 15-digit numbers are "
                                                                        "converted). Required for a RESIDENT.")
    other_id_number: str | None = strawberry.field(default=None, description="其他证件号码: officer card "
                                                   "(MILITARY), residence permit (HK_MACAU_TAIWAN), passport...")
    sex: Sex | None = strawberry.field(default=None, description="性别: required unless an ID number gives it.")
    birth_date: date | None = strawberry.field(default=None, description="出生日期: required unless an ID number "
                                                                         "gives it.")
    management_region_code: strawberry.ID | None = strawberry.field(default=None, description="管理地 (default: the "
                                                                    "residence region); inside your data scope.")
    ethnicity: str = strawberry.field(default="01", description="民族 code (GB/T 3304), default 01 汉族.")
    hukou_type: HukouType | None = strawberry.field(default=None, description="户口性质")
    education: Education | None = strawberry.field(default=None, description="文化程度")
    occupation: str | None = strawberry.field(default=None, description="职业")
    phone: str | None = strawberry.field(default=None, description="联系电话")
    household_address: str | None = strawberry.field(default=None, description="户籍地址")
    residence_address: str | None = strawberry.field(default=None, description="居住地址")
    person_type: PersonType = strawberry.field(default=PersonType.HOUSEHOLD_REGISTERED, description="人员类型")
    mobility: Mobility = strawberry.field(default=Mobility.RESIDENT, description="流动状态")
    household_no: strawberry.ID | None = strawberry.field(default=None, description="户编号 of an existing "
                                                          "household to join (with relationToHead).")
    relation_to_head: RelationToHead | None = strawberry.field(default=None, description="与户主关系 when joining.")
    mother_identity_code: str | None = strawberry.field(default=None,
                                                        description="NEWBORN: the mother's 统一身份识别码.")
    multiple_birth_order: int = strawberry.field(default=1, description="NEWBORN: 多胞胎序号, 1 for a single birth.")


@strawberry.input(description="个案编辑: fields left out stay as they are, null clears an optional one. Derived fields "
                              "(marital status, children figures), the management region (dispatch only) and "
                              "household membership (household mutations) are not edited here.")
class UpdatePersonInput:
    name: str | None = strawberry.UNSET
    identity_kind: IdentityKind | None = strawberry.UNSET
    id_number: str | None = strawberry.field(default=strawberry.UNSET, description="身份证号: a new number re-derives "
                                             "sex, birth date and a resident's identity code.")
    other_id_number: str | None = strawberry.UNSET
    sex: Sex | None = strawberry.field(default=strawberry.UNSET, description="Refused when it differs from what the "
                                       "ID number says.")
    birth_date: date | None = strawberry.field(default=strawberry.UNSET, description="Refused when it differs from "
                                               "what the ID number says.")
    ethnicity: str | None = strawberry.UNSET
    hukou_type: HukouType | None = strawberry.UNSET
    education: Education | None = strawberry.UNSET
    person_type: PersonType | None = strawberry.UNSET
    mobility: Mobility | None = strawberry.UNSET
    occupation: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    household_region_code: strawberry.ID | None = strawberry.UNSET
    residence_region_code: strawberry.ID | None = strawberry.UNSET
    household_address: str | None = strawberry.UNSET
    residence_address: str | None = strawberry.UNSET


@strawberry.input(description="A household's address and house number; fields left out stay, null clears.")
class UpdateHouseholdInput:
    address: str | None = strawberry.field(default=strawberry.UNSET, description="户籍地址")
    house_number: str | None = strawberry.field(default=strawberry.UNSET, description="门牌号")


@strawberry.input(description="Conditions on persons; all given ones must hold.")
class PersonFilter:
    sex: Sex | None = None
    age_band: AgeBand | None = strawberry.field(default=None, description="年龄段 (completed years today).")
    min_age: int | None = strawberry.field(default=None, description="Youngest age, completed years.")
    max_age: int | None = strawberry.field(default=None, description="Oldest age, completed years.")
    person_type: PersonType | None = None
    mobility: Mobility | None = None
    status: PersonStatus | None = strawberry.field(default=PersonStatus.NORMAL, description="个案状态, default NORMAL; "
                                                   "null for every status.")
    name_keyword: str | None = strawberry.field(default=None, description="Part of the name (exact characters).")


def _given(value: Any) -> dict[str, Any]:
    return {key: (str(item) if isinstance(item, str) else _value(item))
            for key, item in vars(value).items() if item is not strawberry.UNSET}


def _person_conditions(f: PersonFilter) -> list[Any]:
    P = models.Person
    conditions: list[Any] = []
    if f.sex is not None:
        conditions.append(P.sex == f.sex.value)
    if f.person_type is not None:
        conditions.append(P.person_type == f.person_type.value)
    if f.mobility is not None:
        conditions.append(P.mobility == f.mobility.value)
    if f.status is not None:
        conditions.append(P.status == f.status.value)
    today = rules.today_in_china()
    for age in (f.min_age, f.max_age):
        if age is not None and not 0 <= age <= MAX_AGE:
            raise bad_input(f"Ages lie between 0 and {MAX_AGE}.", argument="filter")
    if f.min_age is not None and f.max_age is not None and f.min_age > f.max_age:
        raise bad_input("minAge is greater than maxAge.", argument="filter")
    ranges = []
    if f.age_band is not None:
        ranges.append(birth_date_range(f.age_band, today))
    if f.min_age is not None or f.max_age is not None:
        ranges.append(birth_date_range((f.min_age or 0, f.max_age), today))
    for earliest, latest in ranges:  # ages become birth-date ranges
        conditions.append(P.birth_date <= latest)
        if earliest is not None:
            conditions.append(P.birth_date >= earliest)
    keyword = (f.name_keyword or "").strip()
    if len(keyword) > MAX_KEYWORD:
        raise bad_input(f"nameKeyword has at most {MAX_KEYWORD} characters.", argument="filter")
    if (match := matches_keyword(keyword, P.name)) is not None:
        conditions.append(match)
    return conditions


# --- queries -------------------------------------------------------------------------------------


@strawberry.type
class PersonQuery:
    @strawberry.field(description="One person by uid; null when absent, deleted or outside the caller's data scope.")
    async def person(self, info: Info, uid: strawberry.ID) -> Person | None:
        row = await info.context.loaders.person.load(str(uid))
        return Person.from_row(row) if row and visible(info, row) else None

    @strawberry.field(description="One person by resident ID number (exact; 15-digit numbers are converted); null "
                                  "when absent, deleted or outside the caller's data scope. A malformed number is "
                                  "BAD_USER_INPUT.")
    async def person_by_id_number(self, info: Info, id_number: str) -> Person | None:
        try:
            number = codes.parse_id_number(id_number)[0]
        except codes.InvalidIdentityCode as exc:
            raise bad_input(exc.message, argument="idNumber") from None
        async with info.context.reading() as session:
            row = (await session.scalars(select(models.Person).where(models.Person.id_number == number))).first()
        return Person.from_row(row) if row and visible(info, row) else None

    @strawberry.field(description="Persons managed in a region and its whole subtree, within the caller's data scope "
                                  "(a region wholly outside it is FORBIDDEN; one containing it is narrowed to it), "
                                  "ordered by management region then uid; by default only NORMAL cases.")
    async def persons(
        self, info: Info, region_code: strawberry.ID,
        filter_: Annotated[PersonFilter | None, strawberry.argument(name="filter")] = None,
        first: int = 20, after: str | None = None,
    ) -> Connection[Person]:
        P = models.Person
        scope = _scope(info)
        scope.check_request(str(region_code))
        first = check_first(first)
        stmt = select(P).where(in_subtree(P.management_region_code, str(region_code)),
                               scope.condition(P.management_region_code), P.deleted.is_(False),
                               *_person_conditions(filter_ or PersonFilter()))
        # (management region, uid): the order of ix_person_management_region_uid, so a page is an index range scan
        # however many persons the region holds; the extra lower bound lets the planner start the scan there.
        order = [P.management_region_code, P.uid]
        if after is not None:
            region, uid = decode_cursor(after, 2)
            stmt = stmt.where(P.management_region_code >= str(region), after_condition(order, [str(region), str(uid)]))
        async with info.context.reading() as session:
            rows = list((await session.scalars(stmt.order_by(*order).limit(first + 1))).all())
        return connection_from_rows(rows, first, lambda r: [r.management_region_code, r.uid], Person.from_row,
                                    has_previous=after is not None)

    @strawberry.field(description="One region by code, whether or not it is still valid.")
    async def region(self, info: Info, code: strawberry.ID) -> Region | None:
        row = await info.context.loaders.region.load(str(code))
        return Region.from_row(row) if row else None

    @strawberry.field(description="The regions valid on asOf (default today) under a parent; without a parent, the top "
                                  "of the tree. An unknown parent code is BAD_USER_INPUT.")
    async def regions(self, info: Info, parent_code: strawberry.ID | None = None,
                      as_of: date | None = None) -> list[Region]:
        day = as_of or rules.today_in_china()
        if parent_code is not None:
            rows = await info.context.loaders.region_children.load(str(parent_code))
            if not rows and await info.context.loaders.region.load(str(parent_code)) is None:
                raise bad_input(f"No region has code {parent_code}.", argument="parentCode")
            return [Region.from_row(r) for r in rows if valid_on(r, day)]
        async with info.context.reading() as session:
            top = await session.scalars(
                select(models.Region).where(models.Region.parent_code.is_(None)).order_by(models.Region.code)
            )
            return [Region.from_row(r) for r in top if valid_on(r, day)]

    @strawberry.field(description="户: one household by number; null when absent or when neither its region nor any "
                                  "member is inside the caller's data scope.")
    async def household(self, info: Info, number: strawberry.ID) -> Household | None:
        row = await info.context.loaders.of(HouseholdByNumber).load(str(number))
        if row is None:
            return None
        if _scope(info).allows(row.region_code):
            return Household.from_row(row)
        members = await info.context.loaders.of(MembersOfHousehold).load(row.number)
        return Household.from_row(row) if any(visible(info, m) for m in members) else None

    @strawberry.field(description="户查询: households registered in a region's subtree (within the caller's data "
                                  "scope), by house number (门牌号, exact) and/or an address keyword matched against "
                                  "the household address and its members' residence and registration addresses.")
    async def households(
        self, info: Info, region_code: strawberry.ID, house_number: str | None = None, address: str | None = None,
        first: int = 20, after: str | None = None,
    ) -> Connection[Household]:
        H, P = models.Household, models.Person
        scope = _scope(info)
        scope.check_request(str(region_code))
        first = check_first(first)
        stmt = select(H).where(in_subtree(H.region_code, str(region_code)), scope.condition(H.region_code))
        if house_number is not None and house_number.strip():
            stmt = stmt.where(H.house_number == house_number.strip())
        keyword = (address or "").strip()
        if len(keyword) > MAX_KEYWORD:
            raise bad_input(f"address has at most {MAX_KEYWORD} characters.", argument="address")
        if keyword:
            in_members = exists().where(P.household_no == H.number, P.deleted.is_(False),
                                        or_(contains(P.residence_address, keyword),
                                            contains(P.household_address, keyword)))
            stmt = stmt.where(or_(contains(H.address, keyword), in_members))
        order = [H.region_code, H.number]
        if after is not None:
            stmt = stmt.where(after_condition(order, [str(v) for v in decode_cursor(after, 2)]))
        async with info.context.reading() as session:
            rows = list((await session.scalars(stmt.order_by(*order).limit(first + 1))).all())
        return connection_from_rows(rows, first, lambda r: [r.region_code, r.number], Household.from_row,
                                    has_previous=after is not None)

    @strawberry.field(description="个人信息访问记录 (audit), newest first, optionally of one person; for callers with "
                                  "one of POPULATION_AUDIT_ROLES (default SECURITY_AUDITOR, SYSTEM_ADMIN).")
    async def personal_data_accesses(
        self, info: Info, person_uid: strawberry.ID | None = None, first: int = 20, after: str | None = None,
    ) -> Connection[PersonalDataAccess]:
        personal.check_may_audit(info.context.caller)
        A = models.PersonalDataAccess
        stmt = select(A)
        if person_uid is not None:
            stmt = stmt.where(A.person_uid == str(person_uid))
        async with info.context.reading() as session:
            return await newest_first(session, stmt, A.at, A.id, PersonalDataAccess.from_row,
                                      PageRequest(first=first, after=after))


# --- mutations -----------------------------------------------------------------------------------


@strawberry.type
class PersonMutation:
    @strawberry.mutation(description="个案新增: creates a person (人员编号, 统一身份识别码 and, without householdNo, "
                                     "a new 户编号 generated); the management region must be inside your data scope.")
    async def create_person(self, info: Info, input: CreatePersonInput) -> Person:
        data = rules.NewPerson(
            name=input.name, household_region_code=str(input.household_region_code),
            residence_region_code=str(input.residence_region_code), identity_kind=input.identity_kind.value,
            id_number=input.id_number, other_id_number=input.other_id_number,
            sex=input.sex.value if input.sex else None, birth_date=input.birth_date,
            management_region_code=str(input.management_region_code) if input.management_region_code else None,
            ethnicity=input.ethnicity, hukou_type=_value(input.hukou_type), education=_value(input.education),
            occupation=input.occupation, phone=input.phone, household_address=input.household_address,
            residence_address=input.residence_address, person_type=input.person_type.value,
            mobility=input.mobility.value, household_no=str(input.household_no) if input.household_no else None,
            relation_to_head=_value(input.relation_to_head), mother_identity_code=input.mother_identity_code,
            multiple_birth_order=input.multiple_birth_order,
        )
        management = data.management_region_code or data.residence_region_code
        if not _scope(info).allows(management):
            raise forbidden(f"The management region {management} is outside your data scope.",
                            argument="input", field="managementRegionCode")
        async with _writing(info) as session:
            row = await rules.create_person(session, data, actor=_actor(info))
        return Person.from_row(row)

    @strawberry.mutation(description="个案编辑: expectedVersion is the version you read (CONFLICT when the case "
                                     "changed since); every change is kept in the history.")
    async def update_person(self, info: Info, uid: strawberry.ID, input: UpdatePersonInput, expected_version: int,
                            comment: str | None = None) -> Person:
        changes = {key: (str(value) if key.endswith("_code") and value is not None else value)
                   for key, value in _given(input).items()}
        async with _writing(info) as session:
            row = await rules.update_person(session, str(uid), changes, expected_version=expected_version,
                                            actor=_actor(info), scope=_scope(info), comment=comment)
        return Person.from_row(row)

    @strawberry.mutation(description="个案注销: status CANCELLED, or DEAD when a death date is given.")
    async def cancel_person(self, info: Info, uid: strawberry.ID, cancelled_on: date, reason: str,
                            death_date: date | None = None) -> Person:
        async with _writing(info) as session:
            row = await rules.cancel_person(session, str(uid), cancelled_on, reason, death_date, actor=_actor(info),
                                            scope=_scope(info))
        return Person.from_row(row)

    @strawberry.mutation(description="取消注销: back to NORMAL. A death confirmed through a death record is corrected "
                                     "there instead (INVALID_STATE).")
    async def uncancel_person(self, info: Info, uid: strawberry.ID, reason: str | None = None) -> Person:
        async with _writing(info) as session:
            row = await rules.uncancel_person(session, str(uid), reason, actor=_actor(info), scope=_scope(info))
        return Person.from_row(row)

    @strawberry.mutation(description="逻辑删除: the case disappears from every query but stays, with its history, "
                                     "and can be restored.")
    async def delete_person(self, info: Info, uid: strawberry.ID, reason: str) -> Person:
        async with _writing(info) as session:
            row = await rules.delete_person(session, str(uid), reason, actor=_actor(info), scope=_scope(info))
        return Person.from_row(row)

    @strawberry.mutation(description="Restores a logically deleted case.")
    async def restore_person(self, info: Info, uid: strawberry.ID, reason: str | None = None) -> Person:
        async with _writing(info) as session:
            row = await rules.restore_person(session, str(uid), reason, actor=_actor(info), scope=_scope(info))
        return Person.from_row(row)

    @strawberry.mutation(description="设为单独户: the person leaves their household for a new one (new 户编号) that "
                                     "they head.")
    async def split_household(self, info: Info, uid: strawberry.ID) -> Person:
        async with _writing(info) as session:
            row = await rules.load_for_write(session, str(uid), _scope(info))
            await households.split_household(session, row, actor=_actor(info))
        return Person.from_row(row)

    @strawberry.mutation(description="Moves the person into another household. Joining as HEAD where there is a head "
                                     "is a CONFLICT unless previousHeadRelation says what the current head becomes.")
    async def move_to_household(self, info: Info, uid: strawberry.ID, household_no: strawberry.ID,
                                relation_to_head: RelationToHead,
                                previous_head_relation: RelationToHead | None = None) -> Person:
        async with _writing(info) as session:
            scope = _scope(info)
            row = await rules.load_for_write(session, str(uid), scope)
            await households.move_to_household(session, row, str(household_no), relation_to_head.value,
                                               actor=_actor(info), scope=scope,
                                               previous_head_relation=_value(previous_head_relation))
        return Person.from_row(row)

    @strawberry.mutation(description="与户主关系: sets the person's relation to the head. Making them HEAD where "
                                     "there is a head is a CONFLICT unless previousHeadRelation says what the current "
                                     "head becomes.")
    async def set_relation_to_head(self, info: Info, uid: strawberry.ID, relation: RelationToHead,
                                   previous_head_relation: RelationToHead | None = None) -> Person:
        async with _writing(info) as session:
            scope = _scope(info)
            row = await rules.load_for_write(session, str(uid), scope)
            await households.set_relation_to_head(session, row, relation.value, actor=_actor(info), scope=scope,
                                                  previous_head_relation=_value(previous_head_relation))
        return Person.from_row(row)

    @strawberry.mutation(description="A household's address and house number (门牌号), within your data scope.")
    async def update_household(self, info: Info, number: strawberry.ID, input: UpdateHouseholdInput) -> Household:
        async with _writing(info) as session:
            row = await households.update_household(session, str(number), _given(input), scope=_scope(info))
        return Household.from_row(row)


queries: list[type] = [PersonQuery]
mutations: list[type] = [PersonMutation]
