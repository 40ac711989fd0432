"""Family events of a person: marriage history and spouse (婚姻 / 丈夫信息), children and newborns (子女 /
新生儿, 一键建卡), reward and special support (奖特扶). The rules live in domain/family.py and
domain/support.py; this module is their GraphQL face: types, inputs, Person fields, root fields, and the
loaders that make a list of persons cost one query per field.

Writes need the person's (the parent's) management region inside the caller's data scope (FORBIDDEN
otherwise); reads of persons outside it resolve to null.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import fields as dataclass_fields
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from aiodataloader import DataLoader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.common.context import SubgraphContext
from subgraphs.common.errors import ErrorCode, domain_error
from subgraphs.common.masking import mask_id_number_narrow, mask_name, mask_phone
from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.common.regions import in_subtree
from subgraphs.common.scope import region_scope
from subgraphs.population import models
from subgraphs.population.codes import Education, HukouType, MaritalStatus, Sex
from subgraphs.population.domain import family, support
from subgraphs.population.domain.changes import actor_of
from subgraphs.population.domain.family import (
    BloodRelation,
    ChildSource,
    HealthStatus,
    MarriageKind,
    PolicyAttribute,
)
from subgraphs.population.domain.support import SupportKind
from subgraphs.population.loaders import Loaders

if TYPE_CHECKING:
    from subgraphs.population.types import Person, Region

Info = strawberry.Info[SubgraphContext[Loaders], Any]
PersonRef = Annotated["Person", strawberry.lazy("subgraphs.population.types")]
RegionRef = Annotated["Region", strawberry.lazy("subgraphs.population.types")]


# --- loaders -------------------------------------------------------------------------------------


class _Loader(DataLoader[str, Any]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions


class MarriagesByPerson(_Loader):
    """Every marriage event (deleted ones too) of each person."""

    async def batch_load_fn(self, uids: Sequence[str]) -> list[list[models.MarriageEvent]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(models.MarriageEvent)
                                          .where(models.MarriageEvent.person_uid.in_(uids)))).all()
        found: dict[str, list[models.MarriageEvent]] = defaultdict(list)
        for row in rows:
            found[row.person_uid].append(row)
        return [found.get(uid, []) for uid in uids]


class ChildrenByParent(_Loader):
    """Every child record (deleted ones too) of each parent."""

    async def batch_load_fn(self, uids: Sequence[str]) -> list[list[models.Child]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(models.Child).where(models.Child.parent_uid.in_(uids)))).all()
        found: dict[str, list[models.Child]] = defaultdict(list)
        for row in rows:
            found[row.parent_uid].append(row)
        return [found.get(uid, []) for uid in uids]


class ChildRecordsOfCase(_Loader):
    """The child records (not deleted) linked to each carded case."""

    async def batch_load_fn(self, uids: Sequence[str]) -> list[list[models.Child]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(models.Child).where(
                models.Child.child_uid.in_(uids), models.Child.deleted.is_(False)))).all()
        found: dict[str, list[models.Child]] = defaultdict(list)
        for row in rows:
            found[row.child_uid or ""].append(row)
        return [found.get(uid, []) for uid in uids]


class SupportByPerson(_Loader):
    async def batch_load_fn(self, uids: Sequence[str]) -> list[list[models.SupportEnrollment]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(models.SupportEnrollment)
                                          .where(models.SupportEnrollment.person_uid.in_(uids)))).all()
        found: dict[str, list[models.SupportEnrollment]] = defaultdict(list)
        for row in rows:
            found[row.person_uid].append(row)
        return [found.get(uid, []) for uid in uids]


class PersonByIdNumber(_Loader):
    async def batch_load_fn(self, numbers: Sequence[str]) -> list[models.Person | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(models.Person).where(models.Person.id_number.in_(numbers)))).all()
        found = {row.id_number: row for row in rows}
        return [found.get(number) for number in numbers]


async def _visible_person(info: Info, row: models.Person | None) -> Person | None:
    from subgraphs.population.types import Person

    if row is None or row.deleted or not region_scope(info.context.caller).allows(row.management_region_code):
        return None
    return Person.from_row(row)


async def _person(info: Info, uid: str | None) -> Person | None:
    return await _visible_person(info, await info.context.loaders.person.load(uid) if uid else None)


async def _region(info: Info, code: str | None) -> Region | None:
    from subgraphs.population.types import Region

    row = await info.context.loaders.region.load(code) if code else None
    return Region.from_row(row) if row else None


# --- types ---------------------------------------------------------------------------------------


@strawberry.type(description="配偶信息 (丈夫信息 for a woman) recorded with a marriage event; personal data masked.")
class MarriageSpouse:
    row: strawberry.Private[models.MarriageEvent]

    @strawberry.field(description="姓名, masked (first character shown).")
    def name(self) -> str | None:
        return mask_name(self.row.spouse_name)

    @strawberry.field(description="身份证号码, masked (first 3 and last 4 characters shown).")
    def id_number(self) -> str | None:
        return mask_id_number_narrow(self.row.spouse_id_number)

    @strawberry.field(description="民族 (GB/T 3304 code).")
    def ethnicity(self) -> str | None:
        return self.row.spouse_ethnicity

    @strawberry.field(description="出生日期 (from the ID number when one was given).")
    def birth_date(self) -> date | None:
        return self.row.spouse_birth_date

    @strawberry.field(description="文化程度.")
    def education(self) -> Education | None:
        return Education(self.row.spouse_education) if self.row.spouse_education else None

    @strawberry.field(description="联系电话, masked (138****5678).")
    def phone(self) -> str | None:
        return mask_phone(self.row.spouse_phone)

    @strawberry.field(description="户籍地 code (may lie outside the province).")
    def household_region_code(self) -> strawberry.ID | None:
        code = self.row.spouse_household_region_code
        return strawberry.ID(code) if code else None

    @strawberry.field(description="户籍地, when it is a region of this database.")
    async def household_region(self, info: Info) -> RegionRef | None:
        return await _region(info, self.row.spouse_household_region_code)

    @strawberry.field(description="居住地 code (may lie outside the province).")
    def residence_region_code(self) -> strawberry.ID | None:
        code = self.row.spouse_residence_region_code
        return strawberry.ID(code) if code else None

    @strawberry.field(description="居住地, when it is a region of this database.")
    async def residence_region(self, info: Info) -> RegionRef | None:
        return await _region(info, self.row.spouse_residence_region_code)

    @strawberry.field(description="The spouse's own case (by ID number), when in your data scope.")
    async def person(self, info: Info) -> PersonRef | None:
        number = self.row.spouse_id_number
        return await _visible_person(info, await info.context.loaders.of(PersonByIdNumber).load(number)
                                     if number else None)


@strawberry.type(description="婚姻信息: one event of a person's marriage history (婚姻历史).")
class MarriageEvent:
    row: strawberry.Private[models.MarriageEvent]

    @classmethod
    def from_row(cls, row: models.MarriageEvent) -> MarriageEvent:
        return cls(row=row)

    @strawberry.field(description="Event id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.row.id)

    @strawberry.field(description="婚姻事件类别: 初婚 / 再婚 / 复婚 / 离婚 / 丧偶.")
    def kind(self) -> MarriageKind:
        return MarriageKind(self.row.kind)

    @strawberry.field(description="发生日期 (结婚日期 for a marriage, 婚变日期 for a divorce or widowhood).")
    def event_date(self) -> date:
        return self.row.event_date

    @strawberry.field(description="上报日期.")
    def reported_on(self) -> date | None:
        return self.row.reported_on

    @strawberry.field(description="The spouse (null when none was recorded).")
    def spouse(self) -> MarriageSpouse | None:
        return None if all(getattr(self.row, f"spouse_{n}") is None for n in family.SPOUSE_FIELDS) \
            else MarriageSpouse(row=self.row)

    @strawberry.field(description="Logically deleted (kept for the record; not part of the derived status).")
    def deleted(self) -> bool:
        return self.row.deleted

    @strawberry.field(description="When the event was recorded.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="The person whose history this is (null outside your data scope).")
    async def person(self, info: Info) -> PersonRef | None:
        return await _person(info, self.row.person_uid)


@strawberry.type(description="子女信息 / 新生儿信息: a child of a person (the mother, for a reported newborn).")
class Child:
    row: strawberry.Private[models.Child]

    @classmethod
    def from_row(cls, row: models.Child) -> Child:
        return cls(row=row)

    @strawberry.field(description="Child record id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.row.id)

    @strawberry.field(description="子女姓名, masked like a person's name (张**); a newborn may not be named yet.")
    def name(self) -> str | None:
        return mask_name(self.row.name)

    @strawberry.field(description="性别.")
    def sex(self) -> Sex:
        return Sex(self.row.sex)

    @strawberry.field(description="出生日期.")
    def birth_date(self) -> date:
        return self.row.birth_date

    @strawberry.field(description="身份证号码, masked (first 3 and last 4 characters shown).")
    def id_number(self) -> str | None:
        return mask_id_number_narrow(self.row.id_number)

    @strawberry.field(description="血缘关系.")
    def blood_relation(self) -> BloodRelation:
        return BloodRelation(self.row.blood_relation)

    @strawberry.field(description="政策属性.")
    def policy_attribute(self) -> PolicyAttribute | None:
        return PolicyAttribute(self.row.policy_attribute) if self.row.policy_attribute else None

    @strawberry.field(description="孩次: the child's place among the parent's children.")
    def birth_order(self) -> int:
        return self.row.birth_order

    @strawberry.field(description="健康状况.")
    def health_status(self) -> HealthStatus | None:
        return HealthStatus(self.row.health_status) if self.row.health_status else None

    @strawberry.field(description="出生医学证明编号, masked (at most a quarter shown at each end).")
    def birth_certificate_no(self) -> str | None:
        return mask_id_number_narrow(self.row.birth_certificate_no)

    @strawberry.field(description="变化日期: when the record last changed.")
    def change_date(self) -> date | None:
        return self.row.change_date

    @strawberry.field(description="上报日期.")
    def reported_on(self) -> date | None:
        return self.row.reported_on

    @strawberry.field(description="死亡日期.")
    def death_date(self) -> date | None:
        return self.row.death_date

    @strawberry.field(description="来源: entered by staff or reported by the MCH system.")
    def source(self) -> ChildSource:
        return ChildSource(self.row.source)

    @strawberry.field(description="Logically deleted (no longer counted).")
    def deleted(self) -> bool:
        return self.row.deleted

    @strawberry.field(description="When the record was created.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="The region the birth is counted in: the parent's management region when the "
                                  "child was recorded.")
    async def region(self, info: Info) -> RegionRef | None:
        return await _region(info, self.row.region_code)

    @strawberry.field(description="已建卡: whether the child has its own case.")
    def carded(self) -> bool:
        return self.row.child_uid is not None

    @strawberry.field(description="The parent (母亲 for a newborn); null outside your data scope.")
    async def parent(self, info: Info) -> PersonRef | None:
        return await _person(info, self.row.parent_uid)

    @strawberry.field(description="The child's own case once carded (一键建卡); null outside your data scope.")
    async def person(self, info: Info) -> PersonRef | None:
        return await _person(info, self.row.child_uid)


@strawberry.type(description="奖特扶享受信息: one enjoyment of reward (奖励扶助) or special support (特别扶助).")
class SupportEnrollment:
    row: strawberry.Private[models.SupportEnrollment]

    @classmethod
    def from_row(cls, row: models.SupportEnrollment) -> SupportEnrollment:
        return cls(row=row)

    @strawberry.field(description="Enrolment id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.row.id)

    @strawberry.field(description="享受类型.")
    def kind(self) -> SupportKind:
        return SupportKind(self.row.kind)

    @strawberry.field(description="享受政策.")
    def policy(self) -> str:
        return self.row.policy

    @strawberry.field(description="开始日期.")
    def start_date(self) -> date:
        return self.row.start_date

    @strawberry.field(description="截止日期 (null while it runs).")
    def end_date(self) -> date | None:
        return self.row.end_date

    @strawberry.field(description="享受原因.")
    def reason(self) -> str | None:
        return self.row.reason

    @strawberry.field(description="退出原因 (死亡停发 when stopped by a death).")
    def exit_reason(self) -> str | None:
        return self.row.exit_reason

    @strawberry.field(description="Whether it runs today.")
    def active(self) -> bool:
        today = family.today_in_china()
        return self.row.start_date <= today and (self.row.end_date is None or self.row.end_date >= today)

    @strawberry.field(description="The beneficiary; null outside your data scope.")
    async def person(self, info: Info) -> PersonRef | None:
        return await _person(info, self.row.person_uid)


@strawberry.type
class PersonFamilyFields:
    """Person fields of this area (types.Person inherits them)."""

    if TYPE_CHECKING:
        row: models.Person

    @strawberry.field(description="婚姻状况, derived from the marriage history (read-only).")
    def marital_status(self) -> MaritalStatus:
        return MaritalStatus(self.row.marital_status)

    @strawberry.field(description="孩子数: children recorded and not deleted (read-only, derived).")
    def children_count(self) -> int:
        return self.row.children_count

    @strawberry.field(description="男孩数 (read-only, derived).")
    def boys_count(self) -> int:
        return self.row.boys_count

    @strawberry.field(description="最小孩出生日期 (read-only, derived).")
    def youngest_child_birth_date(self) -> date | None:
        return self.row.youngest_child_birth_date

    @strawberry.field(description="婚姻历史, newest first.")
    async def marriages(self, info: Info, include_deleted: bool = False) -> list[MarriageEvent]:
        rows = await info.context.loaders.of(MarriagesByPerson).load(self.row.uid)
        kept = [row for row in family.ordered(rows) if include_deleted or not row.deleted]
        return [MarriageEvent.from_row(row) for row in reversed(kept)]

    @strawberry.field(description="现配偶: the spouse of the marriage the person is in now; null when not married.")
    async def current_spouse(self, info: Info) -> MarriageSpouse | None:
        marriage = family.current_marriage(await info.context.loaders.of(MarriagesByPerson).load(self.row.uid))
        return MarriageSpouse(row=marriage) if marriage is not None else None

    @strawberry.field(description="The current spouse's own case (by ID number), when in your data scope.")
    async def spouse(self, info: Info) -> PersonRef | None:
        marriage = family.current_marriage(await info.context.loaders.of(MarriagesByPerson).load(self.row.uid))
        if marriage is None or marriage.spouse_id_number is None:
            return None
        return await _visible_person(info, await info.context.loaders.of(PersonByIdNumber)
                                     .load(marriage.spouse_id_number))

    @strawberry.field(description="子女信息, by birth order.")
    async def children(self, info: Info, include_deleted: bool = False) -> list[Child]:
        rows = await info.context.loaders.of(ChildrenByParent).load(self.row.uid)
        kept = sorted((r for r in rows if include_deleted or not r.deleted),
                      key=lambda r: (r.deleted, r.birth_order, r.birth_date, r.id))
        return [Child.from_row(row) for row in kept]

    @strawberry.field(description="This person's record as a parent's child (set once carded), if any.")
    async def child_records(self, info: Info) -> list[Child]:
        rows = await info.context.loaders.of(ChildRecordsOfCase).load(self.row.uid)
        return [Child.from_row(row) for row in sorted(rows, key=lambda r: r.id)]

    @strawberry.field(description="奖特扶享受信息, newest first.")
    async def support_enrollments(self, info: Info) -> list[SupportEnrollment]:
        rows = await info.context.loaders.of(SupportByPerson).load(self.row.uid)
        return [SupportEnrollment.from_row(r) for r in sorted(rows, key=lambda r: (r.start_date, r.id), reverse=True)]


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input(description="配偶信息 (丈夫信息) of a marriage event; the birth date follows the ID number.")
class MarriageSpouseInput:
    name: str | None = strawberry.field(default=None, description="姓名.")
    id_number: str | None = strawberry.field(default=None, description="身份证号码 (GB 11643; of the opposite sex).")
    ethnicity: str | None = strawberry.field(default=None, description="民族 (GB/T 3304 code, 01-56, 97, 98).")
    birth_date: date | None = strawberry.field(default=None, description="出生日期 (only without an ID number).")
    education: Education | None = strawberry.field(default=None, description="文化程度.")
    phone: str | None = strawberry.field(default=None, description="联系电话.")
    household_region_code: strawberry.ID | None = strawberry.field(default=None, description="户籍地 code.")
    residence_region_code: strawberry.ID | None = strawberry.field(default=None, description="居住地 code.")


@strawberry.input(description="婚姻事件. A divorce, widowhood or reunion without a spouse takes the spouse of the "
                              "marriage it ends or restores.")
class MarriageEventInput:
    kind: MarriageKind = strawberry.field(description="初婚 / 再婚 / 复婚 / 离婚 / 丧偶.")
    event_date: date = strawberry.field(description="发生日期.")
    reported_on: date | None = strawberry.field(default=None, description="上报日期.")
    spouse: MarriageSpouseInput | None = strawberry.field(default=None, description="配偶信息.")


@strawberry.input(description="更正婚姻事件: fields left out stay as they are; a given spouse replaces the recorded "
                              "one; reportedOn null clears it.")
class MarriageEventCorrectionInput:
    kind: MarriageKind | None = strawberry.field(default=strawberry.UNSET, description="婚姻事件类别.")
    event_date: date | None = strawberry.field(default=strawberry.UNSET, description="发生日期.")
    reported_on: date | None = strawberry.field(default=strawberry.UNSET, description="上报日期.")
    spouse: MarriageSpouseInput | None = strawberry.field(default=strawberry.UNSET, description="配偶信息.")


@strawberry.input(description="子女信息. Sex and birth date may be left to the ID number; birth order defaults to "
                              "the child's place among its siblings by birth date.")
class ChildInput:
    sex: Sex | None = strawberry.field(default=None, description="性别.")
    birth_date: date | None = strawberry.field(default=None, description="出生日期.")
    name: str | None = strawberry.field(default=None, description="姓名.")
    id_number: str | None = strawberry.field(default=None, description="身份证号码 (unique among children).")
    blood_relation: BloodRelation = strawberry.field(default=BloodRelation.BIRTH, description="血缘关系.")
    policy_attribute: PolicyAttribute | None = strawberry.field(default=None, description="政策属性.")
    birth_order: int | None = strawberry.field(default=None, description="孩次.")
    health_status: HealthStatus | None = strawberry.field(default=None, description="健康状况.")
    birth_certificate_no: str | None = strawberry.field(default=None, description="出生医学证明编号.")
    reported_on: date | None = strawberry.field(default=None, description="上报日期.")
    death_date: date | None = strawberry.field(default=None, description="死亡日期.")


@strawberry.input(description="更正子女信息: fields left out stay as they are, null clears an optional one.")
class ChildCorrectionInput:
    sex: Sex | None = strawberry.field(default=strawberry.UNSET, description="性别.")
    birth_date: date | None = strawberry.field(default=strawberry.UNSET, description="出生日期.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="姓名.")
    id_number: str | None = strawberry.field(default=strawberry.UNSET, description="身份证号码.")
    blood_relation: BloodRelation | None = strawberry.field(default=strawberry.UNSET, description="血缘关系.")
    policy_attribute: PolicyAttribute | None = strawberry.field(default=strawberry.UNSET, description="政策属性.")
    birth_order: int | None = strawberry.field(default=strawberry.UNSET, description="孩次.")
    health_status: HealthStatus | None = strawberry.field(default=strawberry.UNSET, description="健康状况.")
    birth_certificate_no: str | None = strawberry.field(default=strawberry.UNSET, description="出生医学证明编号.")
    change_date: date | None = strawberry.field(default=strawberry.UNSET, description="变化日期 (default: today).")
    reported_on: date | None = strawberry.field(default=strawberry.UNSET, description="上报日期.")
    death_date: date | None = strawberry.field(default=strawberry.UNSET, description="死亡日期.")


@strawberry.input(description="新生儿信息 reported by the maternal and child health system (妇幼系统).")
class NewbornReportInput:
    mother_id_number: str = strawberry.field(description="母亲身份证号码: the mother's case must exist.")
    sex: Sex = strawberry.field(description="性别.")
    birth_date: date = strawberry.field(description="出生日期.")
    name: str | None = strawberry.field(default=None, description="子女姓名.")
    id_number: str | None = strawberry.field(default=None, description="身份证号码.")
    blood_relation: BloodRelation = strawberry.field(default=BloodRelation.BIRTH, description="血缘关系.")
    policy_attribute: PolicyAttribute | None = strawberry.field(default=None, description="政策属性.")
    birth_order: int | None = strawberry.field(default=None, description="孩次 (default: by birth date).")
    health_status: HealthStatus | None = strawberry.field(default=None, description="健康状况.")
    birth_certificate_no: str | None = strawberry.field(default=None, description="出生医学证明编号 (a repeated "
                                                        "report of the same certificate is recognised).")
    reported_on: date | None = strawberry.field(default=None, description="上报日期.")


@strawberry.input(description="一键建卡: what the newborn's case needs beyond the child record; anything left out "
                              "is taken from the mother's case.")
class CardNewbornInput:
    name: str | None = strawberry.field(default=None, description="姓名 (required when the record has none).")
    ethnicity: str | None = strawberry.field(default=None, description="民族 (GB/T 3304 code).")
    hukou_type: HukouType | None = strawberry.field(default=None, description="户口性质.")
    household_address: str | None = strawberry.field(default=None, description="户籍地址.")
    residence_address: str | None = strawberry.field(default=None, description="居住地址.")


@strawberry.input(description="奖特扶享受登记.")
class SupportEnrollmentInput:
    kind: SupportKind = strawberry.field(description="享受类型.")
    policy: str = strawberry.field(description="享受政策 (e.g. 农村部分计划生育家庭奖励扶助).")
    start_date: date = strawberry.field(description="开始日期.")
    reason: str | None = strawberry.field(default=None, description="享受原因.")


def _plain(value: Any) -> Any:
    return value.name if isinstance(value, Enum) else value


def _given(value: Any) -> dict[str, Any]:
    """The fields of a correction input that the client sent (UNSET ones are left alone; null clears)."""
    return {key: _plain(item) for key, item in vars(value).items() if item is not strawberry.UNSET}


def _spouse(value: MarriageSpouseInput | None) -> family.SpouseData | None:
    if value is None:
        return None
    return family.SpouseData(**{f.name: _plain(getattr(value, f.name)) for f in dataclass_fields(family.SpouseData)})


def _child_data(value: ChildInput | NewbornReportInput) -> family.ChildData:
    names = {f.name for f in dataclass_fields(family.ChildData)}
    return family.ChildData(**{k: _plain(v) for k, v in vars(value).items() if k in names})


# --- root fields ---------------------------------------------------------------------------------


async def _marriage_event(session: AsyncSession, event_id: str) -> models.MarriageEvent:
    row = await session.get(models.MarriageEvent, event_id, with_for_update=True)
    if row is None or row.deleted:
        raise domain_error(ErrorCode.NOT_FOUND, f"No marriage event has id {event_id}.", argument="id")
    return row


async def _child(session: AsyncSession, child_id: str, argument: str = "id") -> models.Child:
    row = await session.get(models.Child, child_id, with_for_update=True)
    if row is None or row.deleted:
        raise domain_error(ErrorCode.NOT_FOUND, f"No child has id {child_id}.", argument=argument)
    return row


@strawberry.type
class FamilyQuery:
    @strawberry.field(description="新生儿待建卡: children (reported newborns first of all) without a case of their own "
                                  "yet, counted in a region and its subtree, within your data scope, oldest birth "
                                  "first.")
    async def newborns_to_card(self, info: Info, region_code: strawberry.ID, first: int = 20,
                               after: str | None = None, source: ChildSource | None = None) -> Connection[Child]:
        scope = region_scope(info.context.caller)
        scope.check_request(str(region_code))
        C = models.Child
        stmt = select(C).where(in_subtree(C.region_code, str(region_code)), scope.condition(C.region_code),
                               C.child_uid.is_(None), C.deleted.is_(False), C.death_date.is_(None))
        if source is not None:
            stmt = stmt.where(C.source == source.name)
        async with info.context.reading() as session:
            return await keyset_page(session, stmt, order_by=[C.birth_date, C.id],
                                     sort_key=lambda row: [row.birth_date.isoformat(), row.id],
                                     to_node=Child.from_row, page=PageRequest(first=first, after=after))


@strawberry.type
class FamilyMutation:
    @strawberry.mutation(description="登记婚姻事件: adds an event to a person's marriage history; the person's "
                                     "婚姻状况 follows.")
    async def add_marriage_event(self, info: Info, person_uid: strawberry.ID,
                                 input: MarriageEventInput) -> MarriageEvent:
        scope, actor = region_scope(info.context.caller), actor_of(info.context.caller)
        async with info.context.transaction() as session:
            person = await family.person_for_write(session, str(person_uid), scope, argument="personUid")
            event = await family.add_marriage_event(session, person, family.MarriageData(
                kind=input.kind.name, event_date=input.event_date, reported_on=input.reported_on,
                spouse=_spouse(input.spouse)), actor=actor)
        return MarriageEvent.from_row(event)

    @strawberry.mutation(description="更正婚姻事件; the person's 婚姻状况 follows.")
    async def correct_marriage_event(self, info: Info, id: strawberry.ID,
                                     input: MarriageEventCorrectionInput) -> MarriageEvent:
        scope, actor = region_scope(info.context.caller), actor_of(info.context.caller)
        changes = _given(input)
        if "spouse" in changes:
            changes["spouse"] = _spouse(input.spouse) or family.SpouseData()
        for required in ("kind", "event_date"):
            if required in changes and changes[required] is None:
                raise domain_error(ErrorCode.BAD_USER_INPUT, f"{required} cannot be cleared.", field=required)
        async with info.context.transaction() as session:
            event = await _marriage_event(session, str(id))
            person = await family.person_for_write(session, event.person_uid, scope, argument="id")
            event = await family.correct_marriage_event(session, person, event, changes, actor=actor)
        return MarriageEvent.from_row(event)

    @strawberry.mutation(description="删除婚姻事件 (logical, with the reason in the person's history); the person's "
                                     "婚姻状况 follows.")
    async def delete_marriage_event(self, info: Info, id: strawberry.ID, reason: str) -> MarriageEvent:
        scope, actor = region_scope(info.context.caller), actor_of(info.context.caller)
        async with info.context.transaction() as session:
            event = await _marriage_event(session, str(id))
            person = await family.person_for_write(session, event.person_uid, scope, argument="id")
            event = await family.delete_marriage_event(session, person, event, reason, actor=actor)
        return MarriageEvent.from_row(event)

    @strawberry.mutation(description="登记子女: the parent's 孩子数, 男孩数 and 最小孩出生日期 follow.")
    async def add_child(self, info: Info, parent_uid: strawberry.ID, input: ChildInput) -> Child:
        scope, actor = region_scope(info.context.caller), actor_of(info.context.caller)
        async with info.context.transaction() as session:
            parent = await family.person_for_write(session, str(parent_uid), scope, argument="parentUid")
            child = await family.add_child(session, parent, _child_data(input), actor=actor)
        return Child.from_row(child)

    @strawberry.mutation(description="更正子女信息; the parent's derived fields and a carded child's case follow.")
    async def correct_child(self, info: Info, id: strawberry.ID, input: ChildCorrectionInput) -> Child:
        scope, actor = region_scope(info.context.caller), actor_of(info.context.caller)
        async with info.context.transaction() as session:
            child = await _child(session, str(id))
            parent = await family.person_for_write(session, child.parent_uid, scope, argument="id")
            child = await family.correct_child(session, parent, child, _given(input), actor=actor)
        return Child.from_row(child)

    @strawberry.mutation(description="删除子女信息 (logical, with the reason in the parent's history).")
    async def delete_child(self, info: Info, id: strawberry.ID, reason: str) -> Child:
        scope, actor = region_scope(info.context.caller), actor_of(info.context.caller)
        async with info.context.transaction() as session:
            child = await _child(session, str(id))
            parent = await family.person_for_write(session, child.parent_uid, scope, argument="id")
            child = await family.delete_child(session, parent, child, reason, actor=actor)
        return Child.from_row(child)

    @strawberry.mutation(description="新生儿上报 (妇幼系统接口): records a newborn on the mother's case, found by "
                                     "her ID number (NOT_FOUND without one).")
    async def report_newborn(self, info: Info, input: NewbornReportInput) -> Child:
        scope, actor = region_scope(info.context.caller), actor_of(info.context.caller)
        async with info.context.transaction() as session:
            mother = await family.mother_for_report(session, input.mother_id_number, scope)
            child = await family.report_newborn(session, mother, _child_data(input), actor=actor)
        return Child.from_row(child)

    @strawberry.mutation(description="一键建卡: creates the child's own case in the mother's household and regions "
                                     "and links it to the child record (kept in step both ways).")
    async def card_newborn(self, info: Info, child_id: strawberry.ID,
                           input: CardNewbornInput | None = None) -> Child:
        scope, actor = region_scope(info.context.caller), actor_of(info.context.caller)
        given = input or CardNewbornInput()
        async with info.context.transaction() as session:
            child = await _child(session, str(child_id), argument="childId")
            parent = await family.person_for_write(session, child.parent_uid, scope, argument="childId")
            await family.card_newborn(session, parent, child, family.CardData(
                name=given.name, ethnicity=given.ethnicity,
                hukou_type=given.hukou_type.value if given.hukou_type else None,
                household_address=given.household_address, residence_address=given.residence_address), actor=actor)
        return Child.from_row(child)

    @strawberry.mutation(description="奖特扶享受登记.")
    async def enrol_support(self, info: Info, person_uid: strawberry.ID,
                            input: SupportEnrollmentInput) -> SupportEnrollment:
        scope, actor = region_scope(info.context.caller), actor_of(info.context.caller)
        async with info.context.transaction() as session:
            person = await family.person_for_write(session, str(person_uid), scope, argument="personUid")
            row = await support.enrol(session, person, support.SupportData(
                kind=input.kind.name, policy=input.policy, start_date=input.start_date, reason=input.reason),
                actor=actor)
        return SupportEnrollment.from_row(row)

    @strawberry.mutation(description="奖特扶退出: ends an enjoyment on its last day, with the 退出原因.")
    async def end_support(self, info: Info, id: strawberry.ID, end_date: date, exit_reason: str) -> SupportEnrollment:
        scope, actor = region_scope(info.context.caller), actor_of(info.context.caller)
        async with info.context.transaction() as session:
            row = await session.get(models.SupportEnrollment, str(id), with_for_update=True)
            if row is None:
                raise domain_error(ErrorCode.NOT_FOUND, f"No support enrolment has id {id}.", argument="id")
            person = await family.person_for_write(session, row.person_uid, scope, argument="id")
            row = await support.end(session, person, row, end_date, exit_reason, actor=actor)
        return SupportEnrollment.from_row(row)


queries: list[type] = [FamilyQuery]
mutations: list[type] = [FamilyMutation]
