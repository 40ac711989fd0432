"""The population data-sharing platform (人口数据共享平台): the five datasets third-party systems read
(as persisted operations, operations/population/), the sharing records (共享记录查看) and their
statistics (共享记录统计). Rules: domain/sharing.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import select

from subgraphs.common.errors import bad_input
from subgraphs.common.paging import Connection, after_condition, check_first, connection_from_rows, decode_cursor
from subgraphs.common.regions import subtree_prefix
from subgraphs.population import models
from subgraphs.population.codes import MaritalStatus, Sex
from subgraphs.population.domain import sharing
from subgraphs.population.domain.sharing import SCOPES, ShareDataset, SharePeriod, ShareResult
from subgraphs.population.types import Info

__all__ = ["ShareDataset", "SharePeriod", "ShareResult", "SharingQuery", "mutations", "queries"]


@strawberry.type(description="户籍地: where a person's household is registered.")
class HouseholdRegistration:
    household_region_code: str | None = strawberry.field(description="户籍地区划代码.")
    household_address: str | None = strawberry.field(description="户籍地址.")

    @strawberry.field(description="户籍地区划全称, e.g. 江苏省南京市玄武区….")
    async def household_region_name(self, info: Info) -> str | None:
        if self.household_region_code is None:
            return None
        row = await info.context.loaders.region.load(self.household_region_code)
        return row.full_name if row else None


@strawberry.type(description="共享 人口基础数据: 身份证号码、姓名、性别、婚姻状况、出生年月、户籍地.")
class SharedBasicData(HouseholdRegistration):
    id_number: str = strawberry.field(description="身份证号码.")
    name: str = strawberry.field(description="姓名.")
    sex: Sex = strawberry.field(description="性别.")
    marital_status: MaritalStatus = strawberry.field(description="婚姻状况.")
    birth_year_month: str = strawberry.field(description="出生年月 YYYY-MM (the day is not shared).")

    @classmethod
    def of(cls, row: models.Person) -> SharedBasicData:
        return cls(id_number=row.id_number or "", name=row.name, sex=Sex(row.sex),
                   marital_status=MaritalStatus(row.marital_status),
                   birth_year_month=f"{row.birth_date.year:04d}-{row.birth_date.month:02d}",
                   household_region_code=row.household_region_code, household_address=row.household_address)


@strawberry.type(description="配偶信息: a spouse as the marriage event records it.")
class SharedSpouse:
    name: str | None = strawberry.field(description="配偶姓名.")
    id_number: str | None = strawberry.field(description="配偶身份证号码.")
    ethnicity: str | None = strawberry.field(description="配偶民族 (GB/T 3304 code).")
    birth_date: date | None = strawberry.field(description="配偶出生日期.")
    household_region_code: str | None = strawberry.field(description="配偶户籍地区划代码.")

    @classmethod
    def of(cls, event: models.MarriageEvent) -> SharedSpouse:
        return cls(name=event.spouse_name, id_number=event.spouse_id_number, ethnicity=event.spouse_ethnicity,
                   birth_date=event.spouse_birth_date, household_region_code=event.spouse_household_region_code)


@strawberry.type(description="婚姻历史 event as shared: kind, date, spouse.")
class SharedMarriageEvent:
    kind: str = strawberry.field(description="婚姻事件类别: FIRST_MARRIAGE 初婚, REMARRIAGE 再婚, REUNION 复婚, "
                                             "DIVORCE 离婚, WIDOWED 丧偶.")
    event_date: date = strawberry.field(description="发生日期.")
    spouse: SharedSpouse | None = strawberry.field(description="配偶信息 recorded with the event.")


@strawberry.type(description="共享 婚姻数据: 身份证号码、姓名、初婚日期、婚变日期、配偶信息、户籍地.")
class SharedMarriageData(HouseholdRegistration):
    id_number: str = strawberry.field(description="身份证号码.")
    name: str = strawberry.field(description="姓名.")
    marital_status: MaritalStatus = strawberry.field(description="婚姻状况 now.")
    first_marriage_date: date | None = strawberry.field(description="初婚日期.")
    marital_change_date: date | None = strawberry.field(
        description="婚变日期: the latest change after the first marriage (divorce, widowhood, remarriage, "
                    "reunion); null when none.")
    spouse: SharedSpouse | None = strawberry.field(description="配偶信息: the current spouse; null when not married.")
    history: list[SharedMarriageEvent] = strawberry.field(description="婚姻历史, oldest first.")

    @classmethod
    def of(cls, summary: sharing.MarriageSummary) -> SharedMarriageData:
        person = summary.person
        return cls(
            id_number=person.id_number or "", name=person.name, marital_status=MaritalStatus(person.marital_status),
            first_marriage_date=summary.first_marriage, marital_change_date=summary.change,
            spouse=SharedSpouse.of(summary.spouse) if summary.spouse is not None else None,
            history=[SharedMarriageEvent(kind=e.kind, event_date=e.event_date,
                                         spouse=SharedSpouse.of(e) if e.spouse_name or e.spouse_id_number else None)
                     for e in summary.history],
            household_region_code=person.household_region_code, household_address=person.household_address)


@strawberry.type(description="母亲信息 / 父亲信息: a parent of a newborn.")
class SharedParent:
    name: str | None = strawberry.field(description="姓名.")
    id_number: str | None = strawberry.field(description="身份证号码.")

    @classmethod
    def of(cls, party: sharing.Party | None) -> SharedParent | None:
        return None if party is None else cls(name=party.name, id_number=party.id_number)


@strawberry.type(description="共享 新生儿数据: 身份证号码、姓名、母亲信息、父亲信息、户籍地.")
class SharedNewbornData(HouseholdRegistration):
    id_number: str = strawberry.field(description="新生儿身份证号码.")
    name: str | None = strawberry.field(description="新生儿姓名.")
    mother: SharedParent | None = strawberry.field(description="母亲信息.")
    father: SharedParent | None = strawberry.field(
        description="父亲信息 (the mother's current spouse when no child record of the father names the child).")

    @classmethod
    def of(cls, record: sharing.Newborn) -> SharedNewbornData:
        return cls(id_number=record.id_number, name=record.name, mother=SharedParent.of(record.mother),
                   father=SharedParent.of(record.father), household_region_code=record.household_region_code,
                   household_address=record.household_address)


@strawberry.type(description="共享 死亡数据: 身份证号码、姓名、户籍地、死亡日期、死亡原因, with the data source.")
class SharedDeathData(HouseholdRegistration):
    id_number: str | None = strawberry.field(description="身份证号码.")
    name: str = strawberry.field(description="姓名.")
    death_date: date = strawberry.field(description="死亡日期.")
    cause: str | None = strawberry.field(description="死亡原因.")
    source: str = strawberry.field(description="数据来源: 公安销户 / 医院死亡证明 / 社区上报 / ... (code).")
    responsible_region_code: str | None = strawberry.field(description="负责处理的区划 (routed by 户籍地 or 现居住地).")

    @classmethod
    def of(cls, death: sharing.Death) -> SharedDeathData:
        row = death.row
        return cls(id_number=row.id_number, name=row.name, death_date=row.death_date, cause=row.cause,
                   source=row.source, responsible_region_code=row.responsible_region_code,
                   household_region_code=death.household_region_code, household_address=None)


@strawberry.type(description="共享 奖励扶助数据: 身份证号码、姓名、户籍地、享受类型、享受政策、享受开始时间、"
                             "享受结束时间.")
class SharedRewardSupportData(HouseholdRegistration):
    id_number: str = strawberry.field(description="身份证号码.")
    name: str = strawberry.field(description="姓名.")
    kind: str = strawberry.field(description="享受类型: REWARD 奖励扶助, SPECIAL 特别扶助.")
    policy: str = strawberry.field(description="享受政策.")
    start_date: date = strawberry.field(description="享受开始时间.")
    end_date: date | None = strawberry.field(description="享受结束时间; null while still enjoyed.")

    @classmethod
    def of(cls, item: sharing.Enrolment) -> SharedRewardSupportData:
        person, row = item.person, item.row
        return cls(id_number=person.id_number or "", name=person.name, kind=row.kind, policy=row.policy,
                   start_date=row.start_date, end_date=row.end_date,
                   household_region_code=person.household_region_code, household_address=person.household_address)


@strawberry.type(name="ShareRecord", description="共享记录: one call of a sharing dataset.")
class ShareRecordNode:
    id: strawberry.ID = strawberry.field(description="记录编号.")
    at: datetime = strawberry.field(description="共享时间.")
    client_id: str | None = strawberry.field(description="共享对象: the calling system's client id.")
    subject: str | None = strawberry.field(description="The caller's subject (the user, or the system itself).")
    dataset: ShareDataset = strawberry.field(description="共享类型.")
    result: ShareResult = strawberry.field(description="共享结果.")
    row_count: int = strawberry.field(description="共享数据量: rows returned.")
    criteria: str | None = strawberry.field(description="查询条件, ID numbers and names masked.")

    @classmethod
    def of(cls, row: models.ShareRecord) -> ShareRecordNode:
        return cls(id=strawberry.ID(row.id), at=row.at, client_id=row.client_id, subject=row.subject,
                   dataset=ShareDataset(row.dataset), result=ShareResult(row.result), row_count=row.row_count,
                   criteria=row.criteria)


@strawberry.type(description="共享记录统计: the calls of one dataset in one period (Beijing time).")
class ShareStatistics:
    period: str = strawberry.field(description="统计期: 2026, 2026-Q1 or 2026-03.")
    start: date = strawberry.field(description="First day counted.")
    end: date = strawberry.field(description="Last day counted.")
    dataset: ShareDataset = strawberry.field(description="共享类型.")
    calls: int = strawberry.field(description="共享次数: every call, refused and failed ones included.")
    rows_shared: int = strawberry.field(description="共享数据量: rows returned.")
    ok_calls: int = strawberry.field(description="Calls that returned data.")
    empty_calls: int = strawberry.field(description="Allowed calls that matched nothing.")
    denied_calls: int = strawberry.field(description="Refused calls.")
    error_calls: int = strawberry.field(description="Calls with bad criteria or a failure.")

    @classmethod
    def of(cls, f: sharing.PeriodFigures) -> ShareStatistics:
        return cls(period=f.period, start=f.start, end=f.end, dataset=f.dataset, calls=f.calls, rows_shared=f.rows,
                   ok_calls=f.by_result[ShareResult.OK], empty_calls=f.by_result[ShareResult.EMPTY],
                   denied_calls=f.by_result[ShareResult.DENIED], error_calls=f.by_result[ShareResult.ERROR])


IdArgument = Annotated[str | None, strawberry.argument(
    description="身份证号码 (required: datasets are read by exact key; 15-digit numbers are converted).")]
NameArgument = Annotated[str | None, strawberry.argument(description="姓名; when given it must match, else nothing "
                                                                     "is returned.")]


def _scopes(dataset: ShareDataset) -> list[list[str]]:
    return [[SCOPES[dataset]]]


async def _person_dataset(info: Info, dataset: ShareDataset, id_number: str | None, name: str | None,
                          fetch: Any, **extra: Any) -> list[Any]:
    criteria = {"idNumber": id_number, "name": name, **extra}

    async def read(session: Any) -> sharing.Shared:
        number = sharing.id_number(id_number, required=True)
        assert number is not None
        return await fetch(session, number, sharing.name(name))

    shared = await sharing.share(info.context.sessions, info.context.caller, dataset, criteria, read)
    return shared.rows


@strawberry.type
class SharingQuery:
    @strawberry.federation.field(
        requires_scopes=_scopes(ShareDataset.BASIC),
        description="共享 人口基础数据 by 身份证号码 (+ 姓名, 区划代码 of the 户籍地). Needs the scope "
                    "population:share:basic; every call is recorded (共享记录).")
    async def share_basic_data(
        self, info: Info, id_number: IdArgument = None, name: NameArgument = None,
        region_code: Annotated[str | None, strawberry.argument(
            description="区划代码: the person's 户籍地 must lie in this region.")] = None,
    ) -> list[SharedBasicData]:
        async def fetch(session: Any, number: str, wanted: str | None) -> sharing.Shared:
            if region_code is not None:
                subtree_prefix(region_code)  # BAD_USER_INPUT when malformed
            return await sharing.basic(session, number, wanted, region_code)

        rows = await _person_dataset(info, ShareDataset.BASIC, id_number, name, fetch, regionCode=region_code)
        return [SharedBasicData.of(row) for row in rows]

    @strawberry.federation.field(
        requires_scopes=_scopes(ShareDataset.MARRIAGE),
        description="共享 婚姻数据 by 身份证号码 (+ 姓名). Needs the scope population:share:marriage; recorded.")
    async def share_marriage_data(self, info: Info, id_number: IdArgument = None,
                                  name: NameArgument = None) -> list[SharedMarriageData]:
        rows = await _person_dataset(info, ShareDataset.MARRIAGE, id_number, name, sharing.marriage)
        return [SharedMarriageData.of(row) for row in rows]

    @strawberry.federation.field(
        requires_scopes=_scopes(ShareDataset.NEWBORN),
        description="共享 新生儿数据 by the newborn's 身份证号码 (+ 姓名). Needs the scope population:share:newborn; "
                    "recorded.")
    async def share_newborn_data(self, info: Info, id_number: IdArgument = None,
                                 name: NameArgument = None) -> list[SharedNewbornData]:
        rows = await _person_dataset(info, ShareDataset.NEWBORN, id_number, name, sharing.newborn)
        return [SharedNewbornData.of(row) for row in rows]

    @strawberry.federation.field(
        requires_scopes=_scopes(ShareDataset.REWARD_SUPPORT),
        description="共享 奖励扶助数据 (reward and special support enjoyments) by 身份证号码 (+ 姓名). Needs the "
                    "scope population:share:reward-support; recorded.")
    async def share_reward_support_data(self, info: Info, id_number: IdArgument = None,
                                        name: NameArgument = None) -> list[SharedRewardSupportData]:
        rows = await _person_dataset(info, ShareDataset.REWARD_SUPPORT, id_number, name, sharing.reward_support)
        return [SharedRewardSupportData.of(row) for row in rows]

    @strawberry.federation.field(
        requires_scopes=_scopes(ShareDataset.DEATH),
        description="共享 死亡数据 (synced deaths) by 身份证号码, or by 区划 (the responsible region) with a 死亡日期 "
                    "range of at most 366 days; in death-date order. Needs the scope population:share:death; "
                    "every page is recorded.")
    async def share_death_data(
        self, info: Info,
        region_code: Annotated[str | None, strawberry.argument(description="区划代码 (subtree).")] = None,
        death_date_from: Annotated[date | None, strawberry.argument(description="死亡日期 from (inclusive).")] = None,
        death_date_to: Annotated[date | None, strawberry.argument(description="死亡日期 to (inclusive).")] = None,
        id_number: Annotated[str | None, strawberry.argument(description="身份证号码.")] = None,
        first: int = 50, after: str | None = None,
    ) -> Connection[SharedDeathData]:
        criteria = {"regionCode": region_code, "deathDateFrom": death_date_from, "deathDateTo": death_date_to,
                    "idNumber": id_number, "first": first, "after": "…" if after else None}
        D = models.DeathRecord

        async def read(session: Any) -> sharing.Shared:
            size = check_first(first)
            found = sharing.death_criteria(region_code, death_date_from, death_date_to,
                                           sharing.id_number(id_number, required=False))
            query = sharing.death_query(found)
            order = [D.death_date, D.id]
            if after is not None:
                day, record_id = decode_cursor(after, 2)
                query = query.where(after_condition(order, [date.fromisoformat(str(day)), record_id]))
            rows = (await session.execute(query.order_by(*order).limit(size + 1))).all()
            deaths = [sharing.Death(row[0], row[1]) for row in rows]
            return sharing.Shared(deaths[:size], [d.row.person_uid for d in deaths[:size] if d.row.person_uid],
                                  more=len(deaths) > size)

        shared = await sharing.share(info.context.sessions, info.context.caller, ShareDataset.DEATH, criteria, read)
        rows = shared.rows + ([shared.rows[-1]] if shared.more else [])  # the extra row only says "more"
        return connection_from_rows(rows, len(shared.rows), lambda d: [d.row.death_date.isoformat(), d.row.id],
                                    SharedDeathData.of, has_previous=after is not None)

    @strawberry.field(description="共享记录查看: the sharing calls, newest first, by dataset, client and date "
                                  "(Beijing time). For SYSTEM_ADMIN, SECURITY_AUDITOR and PROVINCE_ADMIN.")
    async def share_records(
        self, info: Info, dataset: ShareDataset | None = None, client_id: str | None = None,
        from_: Annotated[date | None, strawberry.argument(name="from", description="First day.")] = None,
        to: Annotated[date | None, strawberry.argument(description="Last day.")] = None,
        first: int = 20, after: str | None = None,
    ) -> Connection[ShareRecordNode]:
        sharing.require_auditor(info.context.caller)
        size = check_first(first)
        R = models.ShareRecord
        query = select(R).where(*sharing.record_conditions(dataset, client_id, from_, to))
        if after is not None:
            at, record_id = decode_cursor(after, 2)
            try:
                moment = datetime.fromisoformat(str(at))
            except ValueError as exc:
                raise bad_input("The cursor is not one this service issued.", argument="after") from exc
            query = query.where(sharing.after_record(moment, str(record_id)))
        async with info.context.reading() as session:
            rows = list((await session.scalars(query.order_by(R.at.desc(), R.id.desc()).limit(size + 1))).all())
        return connection_from_rows(rows, size, lambda r: [r.at.isoformat(), r.id], ShareRecordNode.of,
                                    has_previous=after is not None)

    @strawberry.field(description="共享记录统计: calls (共享次数) and rows shared (共享数据量) per period and dataset "
                                  "(共享类型), every period of the range listed. For SYSTEM_ADMIN, SECURITY_AUDITOR "
                                  "and PROVINCE_ADMIN.")
    async def share_statistics(
        self, info: Info, period: SharePeriod,
        from_: Annotated[date, strawberry.argument(name="from", description="First day (Beijing time).")],
        to: Annotated[date, strawberry.argument(description="Last day (Beijing time).")],
        dataset: ShareDataset | None = None,
    ) -> list[ShareStatistics]:
        sharing.require_auditor(info.context.caller)
        async with info.context.reading() as session:
            figures = await sharing.share_statistics(session, period, from_, to, dataset)
        return [ShareStatistics.of(f) for f in figures]


queries: list[type] = [SharingQuery]
mutations: list[type] = []
