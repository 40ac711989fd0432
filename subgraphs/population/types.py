"""population's GraphQL types: the region tree, the person (人口个案, personal fields masked), the household,
and the history and audit records around them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any, Self, TypeVar

import strawberry
from aiodataloader import DataLoader
from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute
from strawberry.types.nodes import SelectedField, Selection

from subgraphs.common.context import SubgraphContext
from subgraphs.common.errors import bad_input, forbidden
from subgraphs.common.masking import mask_address, mask_id_number_narrow, mask_name, mask_phone
from subgraphs.common.paging import Connection, PageRequest, check_first, connection_from_rows, decode_cursor
from subgraphs.common.scope import region_scope
from subgraphs.population import models
from subgraphs.population.codes import (
    ETHNICITIES,
    Education,
    HukouType,
    IdentityKind,
    Mobility,
    PersonStatus,
    PersonType,
    RelationToHead,
    Sex,
)
from subgraphs.population.domain import personal
from subgraphs.population.domain.changes import TRACKED_FIELDS
from subgraphs.population.domain.persons import today_in_china
from subgraphs.population.graphql.casework import PersonCaseworkFields
from subgraphs.population.graphql.checks import PersonCheckFields
from subgraphs.population.graphql.family import PersonFamilyFields
from subgraphs.population.loaders import Loaders

Info = strawberry.Info[SubgraphContext[Loaders], Any]
T = TypeVar("T")

__all__ = [
    "Cancellation", "Ethnicity", "FieldChange", "Household", "Info", "Person", "PersonHistoryEntry", "PersonalData",
    "PersonalDataAccess", "Region", "RegionLevel", "Sex", "newest_first", "visible",
]


@strawberry.enum(description="区划层级: 省 / 市 / 区县 / 乡镇街道 / 村居 / 组.")
class RegionLevel(Enum):
    PROVINCE = "PROVINCE"
    CITY = "CITY"
    COUNTY = "COUNTY"
    TOWNSHIP = "TOWNSHIP"
    VILLAGE = "VILLAGE"
    GROUP = "GROUP"


def valid_on(row: models.Region, day: date) -> bool:
    """A region is valid on `day` from its valid_from (inclusive) to its valid_to (exclusive)."""
    return row.valid_from <= day and (row.valid_to is None or day < row.valid_to)


@strawberry.federation.type(keys=["code"], description="区划: an administrative region (GB/T 2260 code).")
class Region:
    code: strawberry.ID = strawberry.field(description="区划代码: 6 digits to the county, 9 township, 12 village, "
                                                       "15 group.")
    name: str = strawberry.field(description="名称")
    full_name: str = strawberry.field(description="全名称: the names from the province down.")
    level: RegionLevel = strawberry.field(description="层级")
    valid_from: date = strawberry.field(description="启用日期: first day the code is valid.")
    valid_to: date | None = strawberry.field(description="停用日期: first day the code is no longer valid (null: "
                                                         "still valid).")
    parent_code: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: models.Region) -> Self:
        return cls(
            code=strawberry.ID(row.code), name=row.name, full_name=row.full_name, level=RegionLevel(row.level),
            valid_from=row.valid_from, valid_to=row.valid_to, parent_code=row.parent_code,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, code: strawberry.ID) -> Self | None:
        row = await info.context.loaders.region.load(str(code))
        return cls.from_row(row) if row else None

    @strawberry.field(description="上级: the parent region (null for the province).")
    async def parent(self, info: Info) -> Region | None:
        if self.parent_code is None:
            return None
        row = await info.context.loaders.region.load(self.parent_code)
        return Region.from_row(row) if row else None

    @strawberry.field(description="下级: the child regions valid on asOf (default today, Beijing time), by code.")
    async def children(self, info: Info, as_of: date | None = None) -> list[Region]:
        day = as_of or today_in_china()
        rows = await info.context.loaders.region_children.load(str(self.code))
        return [Region.from_row(r) for r in rows if valid_on(r, day)]

    @strawberry.field(description="上级区划链: every region above this one, the province first.")
    async def ancestors(self, info: Info) -> list[Region]:
        chain: list[Region] = []
        code = self.parent_code
        while code is not None and len(chain) < 8:
            row = await info.context.loaders.region.load(code)
            if row is None:
                break
            chain.append(Region.from_row(row))
            code = row.parent_code
        return chain[::-1]


def visible(info: Info, row: models.Person) -> bool:
    """Whether the caller may see the person: not logically deleted, and managed inside the caller's data scope."""
    return not row.deleted and region_scope(info.context.caller).allows(row.management_region_code)


async def _region(info: Info, code: str | None) -> Region | None:
    if code is None:
        return None
    row = await info.context.loaders.region.load(code)
    return Region.from_row(row) if row else None


def completed_years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(word.title() for word in rest)


async def newest_first(
    session: AsyncSession, stmt: Select[Any], at: InstrumentedAttribute[datetime], key: InstrumentedAttribute[str],
    to_node: Callable[[Any], T], page: PageRequest,
) -> Connection[T]:
    """A keyset page in (at, key) descending order: the newest records first, stable under inserts."""
    first = check_first(page.first)
    if page.after is not None:
        moment, last_key = decode_cursor(page.after, 2)
        try:
            when = datetime.fromisoformat(str(moment))
        except ValueError:
            raise bad_input("The cursor is not one this service issued.", argument="after") from None
        condition: ColumnElement[bool] = or_(at < when, and_(at == when, key < str(last_key)))
        stmt = stmt.where(condition)
    rows = list((await session.scalars(stmt.order_by(at.desc(), key.desc()).limit(first + 1))).all())
    return connection_from_rows(rows, first, lambda r: [getattr(r, at.key).isoformat(), getattr(r, key.key)],
                                to_node, has_previous=page.after is not None)


# --- small value types -----------------------------------------------------------------------------


@strawberry.type(description="民族 (GB/T 3304): code and name.")
class Ethnicity:
    code: str = strawberry.field(description="两位民族代码, e.g. 01.")
    name: str = strawberry.field(description="民族名称, e.g. 汉族 (the code itself when unknown to the table).")


@strawberry.type(description="注销信息: when and why a case was cancelled, and the death date for a death.")
class Cancellation:
    cancelled_on: date | None = strawberry.field(description="注销日期")
    reason: str | None = strawberry.field(description="注销原因")
    death_date: date | None = strawberry.field(description="死亡日期 (null unless the person died).")


@strawberry.type(description="One changed field of a history entry; personal fields are masked.")
class FieldChange:
    field: str = strawberry.field(description="The Person field that changed (GraphQL name, e.g. residenceAddress).")
    before: str | None = strawberry.field(description="Value before the change (masked when personal).")
    after: str | None = strawberry.field(description="Value after the change (masked when personal).")


@strawberry.type(description="个案历史记录: one change of a case: when, by whom, what, and the values (masked).")
class PersonHistoryEntry:
    id: strawberry.ID
    at: datetime = strawberry.field(description="修改时间 (UTC).")
    actor: str = strawberry.field(description="操作用户: the user, else the calling system.")
    action: str = strawberry.field(description="What was done: CREATE, UPDATE, CANCEL, UNCANCEL, DELETE, RESTORE, "
                                               "HOUSEHOLD, and the actions of other workflows (DISPATCH, ...).")
    comment: str | None = strawberry.field(description="Reason or note given with the change.")
    changes: list[FieldChange] = strawberry.field(description="修改内容: each changed field with before and after.")

    @strawberry.field(description="The GraphQL names of the fields that changed.")
    def changed_fields(self) -> list[str]:
        return [change.field for change in self.changes]

    @classmethod
    def from_row(cls, row: models.PersonHistory) -> Self:
        before: dict[str, Any] = row.before or {}
        changes = [
            FieldChange(field=camel(column), before=personal.masked_value(column, before.get(column)),
                        after=personal.masked_value(column, value))
            for column, value in sorted(row.changes.items(), key=lambda kv: _field_order(kv[0]))
        ]
        return cls(id=strawberry.ID(row.id), at=row.at, actor=row.actor, action=row.action, comment=row.comment,
                   changes=changes)


def _field_order(column: str) -> int:
    return TRACKED_FIELDS.index(column) if column in TRACKED_FIELDS else len(TRACKED_FIELDS)


@strawberry.type(description="个人信息明文: a person's personal data in clear. Every read is audited.")
class PersonalData:
    name: str = strawberry.field(description="姓名")
    id_number: str | None = strawberry.field(description="身份证号")
    other_id_number: str | None = strawberry.field(description="其他证件号码")
    phone: str | None = strawberry.field(description="联系电话")
    household_address: str | None = strawberry.field(description="户籍地址")
    residence_address: str | None = strawberry.field(description="居住地址")


@strawberry.type(description="个人信息访问记录: one clear read of a person's personal data (audit).")
class PersonalDataAccess:
    id: strawberry.ID
    at: datetime = strawberry.field(description="When (UTC).")
    subject: str | None = strawberry.field(description="Who: the user (or system) the token was for.")
    client_id: str | None = strawberry.field(description="Through which client application.")
    organization_id: str | None = strawberry.field(description="The caller's organisation.")
    person_uid: strawberry.ID = strawberry.field(description="Whose data.")
    purpose: str = strawberry.field(description="访问目的, as the caller gave it.")
    fields: list[str] = strawberry.field(description="Which personal fields were read.")

    @classmethod
    def from_row(cls, row: models.PersonalDataAccess) -> Self:
        return cls(id=strawberry.ID(row.id), at=row.at, subject=row.subject, client_id=row.client_id,
                   organization_id=row.organization_id, person_uid=strawberry.ID(row.person_uid),
                   purpose=row.purpose, fields=[f for f in row.fields.split(",") if f])


# --- households ----------------------------------------------------------------------------------


class HouseholdByNumber(DataLoader[str, models.Household | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, numbers: Sequence[str]) -> list[models.Household | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(models.Household).where(models.Household.number.in_(numbers)))).all()
        found = {row.number: row for row in rows}
        return [found.get(number) for number in numbers]


_RELATION_ORDER = {relation.value: i for i, relation in enumerate(RelationToHead)}


class MembersOfHousehold(DataLoader[str, list[models.Person]]):
    """The members of households (not deleted): the head first, then by relation and person number."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, numbers: Sequence[str]) -> list[list[models.Person]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(models.Person).where(
                models.Person.household_no.in_(numbers), models.Person.deleted.is_(False)))).all()
        members: dict[str, list[models.Person]] = defaultdict(list)
        for row in sorted(rows, key=lambda r: (_RELATION_ORDER.get(r.relation_to_head or "", 99), r.person_no)):
            members[row.household_no or ""].append(row)
        return [members.get(number, []) for number in numbers]


@strawberry.type(description="户: a household; its members are the persons carrying its number (户编号).")
class Household:
    number: strawberry.ID = strawberry.field(description="户编号: county code (6) + 9-digit sequence.")
    row: strawberry.Private[models.Household]

    @classmethod
    def from_row(cls, row: models.Household) -> Self:
        return cls(number=strawberry.ID(row.number), row=row)

    @strawberry.field(description="户籍地址 of the household, masked (administrative part only).")
    def address(self) -> str | None:
        return mask_address(self.row.address)

    @strawberry.field(description="门牌号, masked (part of the address).")
    def house_number(self) -> str | None:
        return None if self.row.house_number is None else "****"

    @strawberry.field(description="户籍地区划: the household's registration region.")
    async def region(self, info: Info) -> Region | None:
        return await _region(info, self.row.region_code)

    @strawberry.field(description="户成员: the members within your data scope, the head first.")
    async def members(self, info: Info) -> list[Person]:
        rows = await info.context.loaders.of(MembersOfHousehold).load(self.row.number)
        return [Person.from_row(r) for r in rows if visible(info, r)]

    @strawberry.field(description="户主: the head of the household (null when none, or outside your data scope).")
    async def head(self, info: Info) -> Person | None:
        rows = await info.context.loaders.of(MembersOfHousehold).load(self.row.number)
        return next((Person.from_row(r) for r in rows if r.relation_to_head == RelationToHead.HEAD.value
                     and visible(info, r)), None)


# --- the person ----------------------------------------------------------------------------------


def _requested(selections: Sequence[Selection], names: set[str]) -> None:
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:  # fragment spreads and inline fragments
            _requested(selection.selections, names)


@strawberry.federation.type(keys=["uid"], description="人口个案: one person of the whole-population database. Personal "
                                                      "fields are masked; `unmasked` gives them in clear, audited.")
class Person(PersonFamilyFields, PersonCaseworkFields, PersonCheckFields):
    uid: strawberry.ID = strawberry.field(description="The person's key across the graph, an opaque pseudonym "
                                          "(the 统一身份识别码 is population's Person.identityCode).")
    row: strawberry.Private[models.Person]

    @classmethod
    def from_row(cls, row: models.Person) -> Self:
        return cls(uid=strawberry.ID(row.uid), row=row)

    @classmethod
    async def resolve_reference(cls, info: Info, uid: strawberry.ID) -> Self | None:
        # Reached through another subgraph's field (a licence's holder, say): the same scope applies.
        row = await info.context.loaders.person.load(str(uid))
        return cls.from_row(row) if row and visible(info, row) else None

    @strawberry.field(description="人员编号: the local case number (RY + 10 digits).")
    def person_no(self) -> str:
        return self.row.person_no

    @strawberry.field(description="统一身份识别码的类别.")
    def identity_kind(self) -> IdentityKind:
        return IdentityKind(self.row.identity_kind)

    @strawberry.field(description="统一身份识别码 (§1.3), masked: the class letter stays, numbers inside are masked.")
    def identity_code(self) -> str:
        return personal.mask_identity_code(self.row.identity_code) or ""

    @strawberry.field(description="身份证号, masked (first 3 and last 4 characters: 320***********1239).")
    def id_number(self) -> str | None:
        return mask_id_number_narrow(self.row.id_number)

    @strawberry.field(description="其他证件号码 (officer card, residence permit, passport), masked.")
    def other_id_number(self) -> str | None:
        return mask_id_number_narrow(self.row.other_id_number)

    @strawberry.field(description="姓名, masked: the first character, then one * per character (张**).")
    def name(self) -> str:
        return mask_name(self.row.name)

    @strawberry.field(description="性别 (derived from the ID number for residents).")
    def sex(self) -> Sex:
        return Sex(self.row.sex)

    @strawberry.field(description="出生日期 (derived from the ID number for residents).")
    def birth_date(self) -> date:
        return self.row.birth_date

    @strawberry.field(description="年龄: completed years today (Beijing time); for the dead, at the death date.")
    def age(self) -> int:
        on = self.row.death_date if self.row.death_date is not None else today_in_china()
        return max(completed_years(self.row.birth_date, on), 0)

    @strawberry.field(description="民族 (GB/T 3304).")
    def ethnicity(self) -> Ethnicity:
        code = self.row.ethnicity or "01"
        return Ethnicity(code=code, name=ETHNICITIES.get(code, code))

    @strawberry.field(description="户口性质")
    def hukou_type(self) -> HukouType | None:
        return HukouType(self.row.hukou_type) if self.row.hukou_type else None

    @strawberry.field(description="文化程度")
    def education(self) -> Education | None:
        return Education(self.row.education) if self.row.education else None

    @strawberry.field(description="人员类型")
    def person_type(self) -> PersonType:
        return PersonType(self.row.person_type)

    @strawberry.field(description="流动状态")
    def mobility(self) -> Mobility:
        return Mobility(self.row.mobility)

    @strawberry.field(description="职业")
    def occupation(self) -> str | None:
        return self.row.occupation

    @strawberry.field(description="联系电话, masked (138****5678).")
    def phone(self) -> str | None:
        return mask_phone(self.row.phone)

    @strawberry.field(description="户籍地: household-registration region.")
    async def household_region(self, info: Info) -> Region | None:
        return await _region(info, self.row.household_region_code)

    @strawberry.field(description="居住地: residence region.")
    async def residence_region(self, info: Info) -> Region | None:
        return await _region(info, self.row.residence_region_code)

    @strawberry.field(description="管理地: the region that manages this record (changed only by dispatch).")
    async def management_region(self, info: Info) -> Region | None:
        return await _region(info, self.row.management_region_code)

    @strawberry.field(description="户籍地址, masked: the administrative part stays, the rest becomes ****.")
    def household_address(self) -> str | None:
        return mask_address(self.row.household_address)

    @strawberry.field(description="居住地址, masked: the administrative part stays, the rest becomes ****.")
    def residence_address(self) -> str | None:
        return mask_address(self.row.residence_address)

    @strawberry.field(description="户: the person's household.")
    async def household(self, info: Info) -> Household | None:
        if self.row.household_no is None:
            return None
        row = await info.context.loaders.of(HouseholdByNumber).load(self.row.household_no)
        return Household.from_row(row) if row else None

    @strawberry.field(description="与户主关系")
    def relation_to_head(self) -> RelationToHead | None:
        return RelationToHead(self.row.relation_to_head) if self.row.relation_to_head else None

    @strawberry.field(description="个案状态: NORMAL, CANCELLED (注销) or DEAD.")
    def status(self) -> PersonStatus:
        return PersonStatus(self.row.status)

    @strawberry.field(description="注销信息: null unless the case is cancelled or dead.")
    def cancellation(self) -> Cancellation | None:
        if self.row.status == PersonStatus.NORMAL.value:
            return None
        return Cancellation(cancelled_on=self.row.cancelled_on, reason=self.row.cancel_reason,
                            death_date=self.row.death_date)

    @strawberry.field(description="逻辑删除: true only in the answer of deletePerson (deleted cases are invisible "
                                  "everywhere else).")
    def deleted(self) -> bool:
        return self.row.deleted

    @strawberry.field(description="Version of the record, raised by every change: pass it as expectedVersion.")
    def version(self) -> int:
        return self.row.version

    @strawberry.field(description="个案历史记录: the changes of this case, newest first; personal values masked.")
    async def history(self, info: Info, first: int = 20, after: str | None = None) -> Connection[PersonHistoryEntry]:
        H = models.PersonHistory
        async with info.context.reading() as session:
            return await newest_first(session, select(H).where(H.person_uid == self.row.uid), H.at, H.id,
                                      PersonHistoryEntry.from_row, PageRequest(first=first, after=after))

    @strawberry.field(description="个人信息明文: the personal fields in clear, for a caller whose role allows it "
                                  "(POPULATION_UNMASK_ROLES, default POPULATION_OFFICER; FORBIDDEN otherwise). "
                                  "Each call is recorded (who, when, whose data, why, which fields) before the data "
                                  "is returned; on refusal null, with the error.")
    async def unmasked(self, info: Info, purpose: str) -> PersonalData | None:
        # Nullable so that a refusal leaves the rest of the (masked) person in the answer.
        if not visible(info, self.row):
            raise forbidden("This person is outside your data scope.")
        names: set[str] = set()
        for selected in info.selected_fields:
            _requested(selected.selections, names)
        fields = [name for name in personal.PERSONAL_FIELDS if name in names]
        await personal.unmask(info.context.sessions, info.context.caller, self.row, purpose, fields)
        row = self.row
        return PersonalData(name=row.name, id_number=row.id_number, other_id_number=row.other_id_number,
                            phone=row.phone, household_address=row.household_address,
                            residence_address=row.residence_address)
