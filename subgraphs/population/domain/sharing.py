"""The population data-sharing platform (人口数据共享平台, §5): five datasets that authorised third-party
systems read by exact keys, each call audited (共享记录) and counted (共享记录统计).

Rules:

* A dataset is served only to a caller whose token carries the scope `population:share:<dataset>`
  (basic, marriage, newborn, death, reward-support); the schema declares it with @requiresScopes so the
  router refuses earlier, and the resolver checks again. Anonymous callers are refused whatever
  JSHEALTH_ANONYMOUS_SCOPE says: these datasets hold personal data in clear.
* Person datasets need the ID number (an exact key); a name given with it must match, otherwise nothing
  is returned (no fishing by name, no confirming a guessed name).
* Every call, allowed or not, writes one ShareRecord in its own committed transaction: the audit row of
  a refused call stays even though the call fails, and a call whose audit row cannot be written returns
  no data. Criteria are stored with ID numbers and names masked.
* Each person whose data left in clear also gets a PersonalDataAccess row (purpose 数据共享), so the
  person's access log shows the share.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, cast

import strawberry
from graphql import GraphQLError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.masking import mask_id_number, mask_name
from subgraphs.common.outbox import utcnow
from subgraphs.common.regions import in_subtree, subtree_prefix
from subgraphs.common.validators import InvalidIdNumber, convert_15_to_18
from subgraphs.population import models
from subgraphs.population.domain.marital import FIRST_MARRIAGE, MARRYING, ordered
from subgraphs.population.domain.statistics import CHINA, MAX_RANGE_YEARS

SCOPE_PREFIX = "population:share:"
# Who may read the share records and statistics (role codes of identity, on the caller token).
AUDITOR_ROLES = frozenset({"SYSTEM_ADMIN", "SECURITY_AUDITOR", "PROVINCE_ADMIN"})
MAX_DEATH_DAYS = 366  # a death query by region and dates covers at most a year
# Marriage kinds (domain/family.py MarriageKind) that begin a marriage; the others end one.


@strawberry.enum(description="共享数据集: the datasets of the population data-sharing platform.")
class ShareDataset(Enum):
    BASIC = strawberry.enum_value("BASIC", description="人口基础数据")
    MARRIAGE = strawberry.enum_value("MARRIAGE", description="婚姻数据")
    NEWBORN = strawberry.enum_value("NEWBORN", description="新生儿数据")
    DEATH = strawberry.enum_value("DEATH", description="死亡数据")
    REWARD_SUPPORT = strawberry.enum_value("REWARD_SUPPORT", description="奖励扶助数据")


@strawberry.enum(description="共享结果: the outcome of one sharing call.")
class ShareResult(Enum):
    OK = strawberry.enum_value("OK", description="成功: data returned.")
    EMPTY = strawberry.enum_value("EMPTY", description="无数据: allowed, nothing matched.")
    DENIED = strawberry.enum_value("DENIED", description="拒绝: the caller may not read the dataset.")
    ERROR = strawberry.enum_value("ERROR", description="失败: bad criteria or a failure.")


SCOPES: dict[ShareDataset, str] = {
    ShareDataset.BASIC: SCOPE_PREFIX + "basic",
    ShareDataset.MARRIAGE: SCOPE_PREFIX + "marriage",
    ShareDataset.NEWBORN: SCOPE_PREFIX + "newborn",
    ShareDataset.DEATH: SCOPE_PREFIX + "death",
    ShareDataset.REWARD_SUPPORT: SCOPE_PREFIX + "reward-support",
}


def unauthenticated(message: str) -> GraphQLError:
    return domain_error(ErrorCode.UNAUTHENTICATED, message)


def authorise(caller: Caller | None, dataset: ShareDataset) -> None:
    """UNAUTHENTICATED for an anonymous caller, FORBIDDEN without the dataset's scope."""
    if caller is None or caller.anonymous:
        raise unauthenticated("Data sharing needs an authorised system or user; anonymous calls are refused.")
    if SCOPES[dataset] not in caller.scopes:
        raise forbidden(f"This dataset needs the scope {SCOPES[dataset]}.", requiredScope=SCOPES[dataset])


def require_auditor(caller: Caller | None) -> None:
    """共享记录查看 / 共享记录统计: SYSTEM_ADMIN, SECURITY_AUDITOR or PROVINCE_ADMIN."""
    if caller is None or caller.anonymous:
        raise unauthenticated("Sign in as an administrator or auditor to see the sharing records.")
    if not AUDITOR_ROLES.intersection(caller.roles):
        raise forbidden("The sharing records need one of the roles " + ", ".join(sorted(AUDITOR_ROLES)) + ".")


# --- criteria ------------------------------------------------------------------------------------------

_ID_NUMBER = re.compile(r"\d{17}[\dX]")


def id_number(value: str | None, *, required: bool, argument: str = "idNumber") -> str | None:
    """The ID number as stored (18 characters, upper-case X; a legacy 15-digit number converted). Only the
    form is checked, not the check digit: a record with a wrong check digit must still be found by it."""
    value = (value or "").strip().upper()
    if not value:
        if required:
            raise bad_input("The ID number (身份证号码) is required: datasets are read by exact key, not by name.",
                            argument=argument)
        return None
    if len(value) == 15 and value.isdigit():
        with contextlib.suppress(InvalidIdNumber):  # an invalid legacy number is refused just below
            value = convert_15_to_18(value)
    if not _ID_NUMBER.fullmatch(value):
        raise bad_input("The ID number must have 18 characters (17 digits and a digit or X).", argument=argument)
    return value


def name(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def name_matches(wanted: str | None, actual: str | None) -> bool:
    return wanted is None or (actual or "").strip() == wanted


def describe(criteria: dict[str, Any]) -> str:
    """The criteria of a call for its audit row: ID numbers and names masked, at most 200 characters."""
    parts = []
    for key, value in criteria.items():
        if value is None or value == "":
            continue
        if key in ("idNumber",):
            value = mask_id_number(str(value))
        elif key in ("name",):
            value = mask_name(str(value))
        parts.append(f"{key}={value}")
    text = "; ".join(parts)
    return text if len(text) <= 200 else text[:199] + "…"


# --- the call ----------------------------------------------------------------------------------------------


@dataclass
class Shared:
    """What a call returns and what its audit needs: the rows, and the persons whose data left."""

    rows: list[Any]
    person_uids: list[str] = field(default_factory=list)
    more: bool = False  # a paged dataset: rows follow the last one returned


async def _audit(sessions: async_sessionmaker[AsyncSession], caller: Caller | None, dataset: ShareDataset,
                 result: ShareResult, rows: int, criteria: str, person_uids: Iterable[str] = ()) -> None:
    at = utcnow()
    async with sessions() as session, session.begin():
        session.add(models.ShareRecord(
            id=str(uuid.uuid4()), at=at, client_id=caller.client_id if caller else None,
            subject=caller.subject if caller else None, dataset=dataset.value, result=result.value,
            row_count=rows, criteria=criteria or None))
        for uid in dict.fromkeys(person_uids):
            session.add(models.PersonalDataAccess(
                id=str(uuid.uuid4()), at=at, subject=caller.subject if caller else None,
                client_id=caller.client_id if caller else None,
                organization_id=caller.organization_id if caller else None, person_uid=uid,
                purpose=f"数据共享 {SCOPES[dataset]}", fields=FIELDS[dataset]))


FIELDS: dict[ShareDataset, str] = {
    ShareDataset.BASIC: "idNumber,name,sex,maritalStatus,birthYearMonth,householdRegion",
    ShareDataset.MARRIAGE: "idNumber,name,firstMarriageDate,maritalChangeDate,spouse,householdRegion",
    ShareDataset.NEWBORN: "idNumber,name,mother,father,householdRegion",
    ShareDataset.DEATH: "idNumber,name,householdRegion,deathDate,cause,source",
    ShareDataset.REWARD_SUPPORT: "idNumber,name,householdRegion,kind,policy,startDate,endDate",
}


async def share(sessions: async_sessionmaker[AsyncSession], caller: Caller | None, dataset: ShareDataset,
                criteria: dict[str, Any], fetch: Callable[[AsyncSession], Awaitable[Shared]]) -> Shared:
    """Runs one sharing call: checks the caller, reads (`fetch`, which also validates the criteria and
    raises BAD_USER_INPUT), and audits the outcome, whatever it is."""
    text = describe(criteria)
    try:
        authorise(caller, dataset)
    except GraphQLError:
        await _audit(sessions, caller, dataset, ShareResult.DENIED, 0, text)
        raise
    try:
        async with sessions() as session:
            shared = await fetch(session)
    except Exception:
        await _audit(sessions, caller, dataset, ShareResult.ERROR, 0, text)
        raise
    result = ShareResult.OK if shared.rows else ShareResult.EMPTY
    await _audit(sessions, caller, dataset, result, len(shared.rows), text, shared.person_uids)
    return shared


# --- the datasets --------------------------------------------------------------------------------------


async def person_by_id(session: AsyncSession, number: str, wanted_name: str | None) -> models.Person | None:
    person = await session.scalar(select(models.Person).where(models.Person.id_number == number,
                                                              models.Person.deleted.is_(False)))
    return person if person is not None and name_matches(wanted_name, person.name) else None


async def basic(session: AsyncSession, number: str, wanted_name: str | None, region_code: str | None) -> Shared:
    """人口基础数据 of one person; `region_code` (when given) must contain the person's 户籍地."""
    person = await person_by_id(session, number, wanted_name)
    if person is None or (region_code is not None and
                          not person.household_region_code.startswith(subtree_prefix(region_code))):
        return Shared([])
    return Shared([person], [person.uid])


@dataclass(frozen=True)
class MarriageSummary:
    person: models.Person
    first_marriage: date | None
    change: date | None
    spouse: models.MarriageEvent | None  # the event naming the current spouse; None when not married
    history: list[models.MarriageEvent]


def summarise_marriage(person: models.Person, events: Iterable[models.MarriageEvent]) -> MarriageSummary:
    """初婚日期: the first marriage's date (the earliest marrying event when no FIRST_MARRIAGE is recorded);
    婚变日期: the date of the latest event after it (divorce, widowhood, remarriage, reunion), None when
    there is none; 配偶信息: the spouse of the current marriage, None when not married."""
    history = ordered(e for e in events if not e.deleted)
    marrying = [e for e in history if e.kind in MARRYING]
    first = next((e for e in marrying if e.kind == FIRST_MARRIAGE), marrying[0] if marrying else None)
    later = [e for e in history if first is not None and (e.event_date, e.created_at, e.id) >
             (first.event_date, first.created_at, first.id)]
    current = history[-1] if history and history[-1].kind in MARRYING else None
    return MarriageSummary(person, first.event_date if first else None, later[-1].event_date if later else None,
                           current, history)


async def marriage(session: AsyncSession, number: str, wanted_name: str | None) -> Shared:
    """婚姻数据 of one person (nothing when the person has no marriage history)."""
    person = await person_by_id(session, number, wanted_name)
    if person is None:
        return Shared([])
    events = (await session.scalars(select(models.MarriageEvent).where(
        models.MarriageEvent.person_uid == person.uid, models.MarriageEvent.deleted.is_(False)))).all()
    if not events:
        return Shared([])
    return Shared([summarise_marriage(person, events)], [person.uid])


@dataclass(frozen=True)
class Party:
    """A parent of a newborn: a person of the register, or the spouse recorded in a marriage event."""

    name: str | None
    id_number: str | None
    uid: str | None = None


@dataclass(frozen=True)
class Newborn:
    id_number: str
    name: str | None
    household_region_code: str | None
    household_address: str | None
    mother: Party | None
    father: Party | None


async def _current_spouse(session: AsyncSession, person: models.Person) -> Party | None:
    events = (await session.scalars(select(models.MarriageEvent).where(
        models.MarriageEvent.person_uid == person.uid, models.MarriageEvent.deleted.is_(False)))).all()
    current = summarise_marriage(person, events).spouse
    if current is None or (current.spouse_name is None and current.spouse_id_number is None):
        return None
    uid = None
    if current.spouse_id_number:
        uid = await session.scalar(select(models.Person.uid).where(
            models.Person.id_number == current.spouse_id_number))
    return Party(current.spouse_name, current.spouse_id_number, uid)


async def newborn(session: AsyncSession, number: str, wanted_name: str | None) -> Shared:
    """新生儿数据 of one child, by the child's ID number (on the child record or on the child's own case).
    The mother and father are the parents whose child records name the child; a parent not recorded so
    is the recorded parent's current spouse. 户籍地: the child's own case once carded, else the mother's
    (else the father's)."""
    C, P = models.Child, models.Person
    carded = await session.scalar(select(P).where(P.id_number == number, P.deleted.is_(False)))
    condition = C.id_number == number if carded is None else or_(C.id_number == number, C.child_uid == carded.uid)
    children = list((await session.scalars(select(C).where(condition, C.deleted.is_(False))
                                           .order_by(C.created_at, C.id))).all())
    if not children:
        return Shared([])
    child_name = carded.name if carded is not None else next((c.name for c in children if c.name), None)
    if not name_matches(wanted_name, child_name):
        return Shared([])
    parents = list((await session.scalars(select(P).where(P.uid.in_({c.parent_uid for c in children}))
                                          .order_by(P.uid))).all())
    mother = next((p for p in parents if p.sex == "FEMALE"), None)
    father = next((p for p in parents if p.sex == "MALE"), None)
    mother_party = Party(mother.name, mother.id_number, mother.uid) if mother else None
    father_party = Party(father.name, father.id_number, father.uid) if father else None
    if mother is not None and father_party is None:
        father_party = await _current_spouse(session, mother)
    elif father is not None and mother_party is None:
        mother_party = await _current_spouse(session, father)
    home = carded or mother or father
    record = Newborn(number, child_name, home.household_region_code if home else None,
                     home.household_address if home else None, mother_party, father_party)
    shared_uids = [u for u in (carded.uid if carded else None, mother_party and mother_party.uid,
                               father_party and father_party.uid) if u]
    return Shared([record], shared_uids)


@dataclass(frozen=True)
class Enrolment:
    person: models.Person
    row: models.SupportEnrollment


async def reward_support(session: AsyncSession, number: str, wanted_name: str | None) -> Shared:
    """奖励扶助数据: every enjoyment (reward and special support) of one person, oldest first."""
    person = await person_by_id(session, number, wanted_name)
    if person is None:
        return Shared([])
    rows = (await session.scalars(select(models.SupportEnrollment).where(
        models.SupportEnrollment.person_uid == person.uid)
        .order_by(models.SupportEnrollment.start_date, models.SupportEnrollment.id))).all()
    return Shared([Enrolment(person, row) for row in rows], [person.uid] if rows else [])


# --- deaths --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeathCriteria:
    region_code: str | None
    start: date | None
    end: date | None
    id_number: str | None


def death_criteria(region_code: str | None, start: date | None, end: date | None,
                   number: str | None) -> DeathCriteria:
    """The ID number, or a region and a date range of at most a year."""
    if start is not None and end is not None and start > end:
        raise bad_input("deathDateFrom must not be after deathDateTo.", argument="deathDateFrom")
    if number is None:
        if region_code is None or start is None or end is None:
            raise bad_input("Give the ID number, or a region with a death-date range (deathDateFrom and "
                            "deathDateTo).", argument="idNumber")
        if (end - start).days + 1 > MAX_DEATH_DAYS:
            raise bad_input(f"A death-date range covers at most {MAX_DEATH_DAYS} days.", argument="deathDateTo",
                            maximumDays=MAX_DEATH_DAYS)
    if region_code is not None:
        subtree_prefix(region_code)  # BAD_USER_INPUT when malformed
    return DeathCriteria(region_code, start, end, number)


@dataclass(frozen=True)
class Death:
    row: models.DeathRecord
    household_region_code: str | None


def death_query(criteria: DeathCriteria) -> Any:
    """Synced deaths (the closed loop's end: confirmed) matching the criteria; the region is the
    responsible region the record was routed to (by 户籍地 or 现居住地)."""
    D, P = models.DeathRecord, models.Person
    query: Any = (select(D, P.household_region_code).outerjoin(P, P.uid == D.person_uid).where(D.status == "SYNCED"))
    if criteria.id_number is not None:
        query = query.where(D.id_number == criteria.id_number)
    if criteria.region_code is not None:
        query = query.where(in_subtree(cast(Any, D.responsible_region_code), criteria.region_code))
    if criteria.start is not None:
        query = query.where(D.death_date >= criteria.start)
    if criteria.end is not None:
        query = query.where(D.death_date <= criteria.end)
    return query


# --- audit views ---------------------------------------------------------------------------------------


def china_day_start(day: date) -> datetime:
    """00:00 Beijing time of `day`, as an aware datetime (compared with UTC instants)."""
    return datetime(day.year, day.month, day.day, tzinfo=CHINA)


def record_conditions(dataset: ShareDataset | None, client_id: str | None, start: date | None,
                      end: date | None) -> list[Any]:
    R = models.ShareRecord
    conditions: list[Any] = []
    if dataset is not None:
        conditions.append(R.dataset == dataset.value)
    if client_id is not None:
        conditions.append(R.client_id == client_id)
    if start is not None:
        conditions.append(R.at >= china_day_start(start))
    if end is not None:
        conditions.append(R.at < china_day_start(end + timedelta(days=1)))
    return conditions


def after_record(at: datetime, record_id: str) -> Any:
    """Records after (at, id) in newest-first order."""
    R = models.ShareRecord
    return or_(R.at < at, and_(R.at == at, R.id < record_id))


@strawberry.enum(description="统计周期 of the sharing statistics: 年 / 季度 / 月.")
class SharePeriod(Enum):
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


@dataclass
class PeriodFigures:
    period: str
    start: date
    end: date
    dataset: ShareDataset
    calls: int = 0
    rows: int = 0
    by_result: dict[ShareResult, int] = field(default_factory=lambda: defaultdict(int))


def _local_month(session: AsyncSession) -> Any:
    """The Beijing-time month (YYYY-MM) of a share record, in SQL."""
    at = models.ShareRecord.at
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", at), "YYYY-MM")
    return func.strftime("%Y-%m", at, "+8 hours")  # SQLite keeps UTC without an offset


def _period_of(year: int, month: int, period: SharePeriod) -> tuple[str, date, date]:
    if period is SharePeriod.YEAR:
        return f"{year}", date(year, 1, 1), date(year, 12, 31)
    if period is SharePeriod.QUARTER:
        quarter = (month - 1) // 3
        first = date(year, quarter * 3 + 1, 1)
        return f"{year}-Q{quarter + 1}", first, _month_end(year, quarter * 3 + 3)
    return f"{year}-{month:02d}", date(year, month, 1), _month_end(year, month)


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


async def share_statistics(session: AsyncSession, period: SharePeriod, start: date, end: date,
                           dataset: ShareDataset | None) -> list[PeriodFigures]:
    """共享记录统计: calls and rows shared per period (Beijing time) and dataset, every period of the range
    and every dataset (or the one asked for) listed, in time then dataset order."""
    if start > end:
        raise bad_input("from must not be after to.", argument="from")
    if end.year - start.year > MAX_RANGE_YEARS:
        raise bad_input(f"A range covers at most {MAX_RANGE_YEARS} years.", argument="to")
    R = models.ShareRecord
    month = _local_month(session).label("month")
    rows = await session.execute(
        select(month, R.dataset, R.result, func.count().label("calls"), func.sum(R.row_count).label("rows"))
        .where(*record_conditions(dataset, None, start, end))
        .group_by(month, R.dataset, R.result))
    datasets: Sequence[ShareDataset] = [dataset] if dataset is not None else list(ShareDataset)
    figures: dict[tuple[str, ShareDataset], PeriodFigures] = {}
    cursor = date(start.year, start.month, 1)
    while cursor <= end:
        label, first, last = _period_of(cursor.year, cursor.month, period)
        for kind in datasets:
            figures.setdefault((label, kind), PeriodFigures(label, max(first, start), min(last, end), kind))
        cursor = _month_end(cursor.year, cursor.month) + timedelta(days=1)
    for values in rows:
        year, month_number = (int(part) for part in str(values.month).split("-"))
        label = _period_of(year, month_number, period)[0]
        entry = figures.get((label, ShareDataset(values.dataset)))
        if entry is None:
            continue
        entry.calls += int(values.calls)
        entry.rows += int(values.rows or 0)
        entry.by_result[ShareResult(values.result)] += int(values.calls)
    return list(figures.values())
