"""The population data-sharing platform: the five datasets as a third-party system reads them (the
operations of operations/population/), the scope rules, the audit of every call (共享记录) and the sharing
statistics by month and quarter, on SQLite and PostgreSQL (the statistics SQL differs)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support import create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.caller import Caller
from subgraphs.common.masking import mask_id_number
from subgraphs.common.validators import make_resident_id
from subgraphs.population import models
from subgraphs.population.app import definition

OPERATIONS = Path(__file__).resolve().parents[2] / "operations" / "population"
SCOPE = "population:share:"


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")


def system(*datasets: str, client: str = "minzheng-system") -> Caller:
    """A third-party system calling with client credentials and the scopes of `datasets`."""
    return Caller(subject=client, client_id=client, scopes=frozenset(SCOPE + d for d in datasets))


AUDITOR = Caller(subject="usr-audit", client_id="portal-web", scopes=frozenset({"openid"}),
                 roles=("SECURITY_AUDITOR",), region_code="320000", data_scope="ALL")
OFFICER = Caller(subject="usr-officer", client_id="portal-web", scopes=frozenset({"openid"}),
                 roles=("HEALTH_OFFICER",), region_code="320000", data_scope="ALL")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def runtime(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sharing') / 'g.db'}"
    else:
        url = await create_pg_database("jshealth_share")
    live = await make_runtime(definition, url, seed_options=SeedOptions(persons=80))
    try:
        yield live
    finally:
        await live.engine.dispose()
        if request.param == "postgresql":
            await drop_pg_database(url)


async def records(runtime: Runtime, dataset: str) -> list[models.ShareRecord]:
    async with runtime.sessions() as session:
        return list((await session.scalars(select(models.ShareRecord).where(models.ShareRecord.dataset == dataset)
                                           .order_by(models.ShareRecord.at))).all())


async def a_person(runtime: Runtime, *, sex: str = "MALE", adult: bool = True) -> models.Person:
    """A new person of the register, with no marriage history, children or support enrolments (the seed's
    persons may have any)."""
    born = date(1975, 4, 9) if adult else date(2012, 9, 1)
    async with runtime.sessions() as session, session.begin():
        region = await session.scalar(select(models.Region.code).where(models.Region.level == "TOWNSHIP")
                                      .order_by(models.Region.code).offset(uuid.uuid4().int % 50).limit(1))
        assert region is not None
        while True:
            number = make_resident_id(region[:6], born, (uuid.uuid4().int % 499) * 2 + (sex == "MALE"))
            if await session.scalar(select(models.Person.uid).where(models.Person.id_number == number)) is None:
                break
        person = models.Person(
            uid=f"S{uuid.uuid4().hex[:20]}", person_no=f"S{uuid.uuid4().hex[:12]}", identity_code=number,
            id_number=number, name=("张" if sex == "MALE" else "陈") + "共享" + "甲乙丙丁戊"[uuid.uuid4().int % 5],
            sex=sex, birth_date=born, marital_status="UNMARRIED", household_region_code=region,
            residence_region_code=region, management_region_code=region, household_address="测试路1号",
            created_at=datetime.now(UTC))
        session.add(person)
    return person


def new_id(region: str, born: date) -> str:
    return make_resident_id(region[:6], born, uuid.uuid4().int % 999)


# --- access --------------------------------------------------------------------------------------------


async def test_the_schema_declares_the_scopes_for_the_router() -> None:
    sdl = definition.schema.as_str()
    for field, dataset in (("shareBasicData", "basic"), ("shareMarriageData", "marriage"),
                           ("shareNewbornData", "newborn"), ("shareDeathData", "death"),
                           ("shareRewardSupportData", "reward-support")):
        definition_text = sdl.split(f"  {field}(", 1)[1].split("\n  ):", 1)[1].splitlines()[0]
        assert f'@requiresScopes(scopes: [["{SCOPE}{dataset}"]])' in definition_text


async def test_a_caller_without_the_scope_is_refused_and_recorded(runtime: Runtime) -> None:
    person = await a_person(runtime)
    variables = {"idNumber": person.id_number, "name": person.name}
    wrong_scope = await errors_of(runtime, operation("ShareBasicData"), variables, caller=system("death"))
    assert wrong_scope[0].extensions["code"] == "FORBIDDEN"
    assert wrong_scope[0].extensions["requiredScope"] == "population:share:basic"
    # Anonymous callers are refused even where the deployment lets them explore (JSHEALTH_ANONYMOUS_SCOPE=all).
    anonymous = await errors_of(runtime, operation("ShareBasicData"), variables)
    assert anonymous[0].extensions["code"] == "UNAUTHENTICATED"
    denied = [r for r in await records(runtime, "BASIC") if r.result == "DENIED"]
    assert [(r.client_id, r.row_count) for r in denied][-2:] == [("minzheng-system", 0), (None, 0)]
    assert person.id_number is not None
    assert person.id_number not in (denied[-1].criteria or "")
    assert mask_id_number(person.id_number) in (denied[-1].criteria or "")


# --- the datasets --------------------------------------------------------------------------------------


async def test_basic_data_of_a_person(runtime: Runtime) -> None:
    person = await a_person(runtime)
    caller = system("basic")
    data = await execute(runtime, operation("ShareBasicData"),
                         {"idNumber": person.id_number, "name": person.name}, caller=caller)
    async with runtime.sessions() as session:
        region = await session.get(models.Region, person.household_region_code)
        accesses = (await session.scalars(select(models.PersonalDataAccess).where(
            models.PersonalDataAccess.person_uid == person.uid))).all()
    assert region is not None
    assert data["shareBasicData"] == [{
        "idNumber": person.id_number, "name": person.name, "sex": person.sex, "maritalStatus": person.marital_status,
        "birthYearMonth": f"{person.birth_date:%Y-%m}", "householdRegionCode": person.household_region_code,
        "householdRegionName": region.full_name, "householdAddress": person.household_address}]
    last = (await records(runtime, "BASIC"))[-1]
    assert (last.result, last.row_count, last.client_id) == ("OK", 1, "minzheng-system")
    assert [a.client_id for a in accesses] == ["minzheng-system"]
    # Also by the region of the 户籍地, and a lower-case check character is the same number.
    by_region = await execute(runtime, operation("ShareBasicData"), {
        "idNumber": (person.id_number or "").lower(), "regionCode": person.household_region_code[:4] + "00"},
        caller=caller)
    assert len(by_region["shareBasicData"]) == 1
    other_city = "320100" if not person.household_region_code.startswith("3201") else "320200"
    elsewhere = await execute(runtime, operation("ShareBasicData"), {
        "idNumber": person.id_number, "regionCode": other_city}, caller=caller)
    assert elsewhere["shareBasicData"] == []


async def test_a_name_that_does_not_match_returns_nothing(runtime: Runtime) -> None:
    person = await a_person(runtime)
    data = await execute(runtime, operation("ShareBasicData"), {"idNumber": person.id_number, "name": "不是此人"},
                         caller=system("basic"))
    assert data["shareBasicData"] == []
    last = (await records(runtime, "BASIC"))[-1]
    assert (last.result, last.row_count) == ("EMPTY", 0)
    assert "不是此人" not in (last.criteria or "")


async def test_the_id_number_is_required(runtime: Runtime) -> None:
    person = await a_person(runtime)
    for variables in ({"name": person.name}, {"idNumber": "12345", "name": person.name}):
        errors = await errors_of(runtime, operation("ShareRewardSupportData"), variables,
                                 caller=system("reward-support"))
        assert (errors[0].extensions["code"], errors[0].extensions["argument"]) == ("BAD_USER_INPUT", "idNumber")
    assert [r.result for r in await records(runtime, "REWARD_SUPPORT")][-2:] == ["ERROR", "ERROR"]


async def test_marriage_data(runtime: Runtime) -> None:
    person = await a_person(runtime)
    now = datetime.now(UTC)
    first_spouse, second_spouse = new_id("320102", date(1970, 1, 1)), new_id("320583", date(1972, 2, 2))
    async with runtime.sessions() as session, session.begin():
        for kind, day, spouse_name, spouse_id in (
                ("FIRST_MARRIAGE", date(2000, 5, 1), "李甲", first_spouse), ("DIVORCE", date(2010, 1, 1), None, None),
                ("REMARRIAGE", date(2012, 3, 3), "王乙", second_spouse)):
            session.add(models.MarriageEvent(id=str(uuid.uuid4()), person_uid=person.uid, kind=kind, event_date=day,
                                             spouse_name=spouse_name, spouse_id_number=spouse_id,
                                             spouse_household_region_code="320583" if spouse_name else None,
                                             created_at=now))
    data = (await execute(runtime, operation("ShareMarriageData"), {"idNumber": person.id_number},
                          caller=system("marriage")))["shareMarriageData"]
    assert len(data) == 1
    shared = data[0]
    assert (shared["idNumber"], shared["name"]) == (person.id_number, person.name)
    assert (shared["firstMarriageDate"], shared["maritalChangeDate"]) == ("2000-05-01", "2012-03-03")
    assert shared["spouse"] == {"name": "王乙", "idNumber": second_spouse, "birthDate": None,
                                "householdRegionCode": "320583"}
    assert [e["kind"] for e in shared["history"]] == ["FIRST_MARRIAGE", "DIVORCE", "REMARRIAGE"]
    assert shared["householdRegionCode"] == person.household_region_code
    unmarried = await a_person(runtime)
    assert (await execute(runtime, operation("ShareMarriageData"), {"idNumber": unmarried.id_number},
                          caller=system("marriage")))["shareMarriageData"] == []


async def test_newborn_data(runtime: Runtime) -> None:
    mother = await a_person(runtime, sex="FEMALE")
    now = datetime.now(UTC)
    baby_id, father_id = new_id(mother.household_region_code, date(2026, 3, 5)), new_id("320106", date(1988, 8, 8))
    async with runtime.sessions() as session, session.begin():
        session.add(models.MarriageEvent(id=str(uuid.uuid4()), person_uid=mother.uid, kind="FIRST_MARRIAGE",
                                         event_date=date(2020, 10, 1), spouse_name="赵丙", spouse_id_number=father_id,
                                         created_at=now))
        session.add(models.Child(id=str(uuid.uuid4()), parent_uid=mother.uid, name="赵小宝", sex="MALE",
                                 birth_date=date(2026, 3, 5), id_number=baby_id, birth_order=1, source="MCH",
                                 region_code=mother.management_region_code, created_at=now))
    caller = system("newborn")
    data = (await execute(runtime, operation("ShareNewbornData"), {"idNumber": baby_id, "name": "赵小宝"},
                          caller=caller))["shareNewbornData"]
    assert data == [{"idNumber": baby_id, "name": "赵小宝",
                     "mother": {"name": mother.name, "idNumber": mother.id_number},
                     "father": {"name": "赵丙", "idNumber": father_id},
                     "householdRegionCode": mother.household_region_code,
                     "householdRegionName": data[0]["householdRegionName"],
                     "householdAddress": mother.household_address}]
    assert data[0]["householdRegionName"]
    assert (await execute(runtime, operation("ShareNewbornData"), {"idNumber": baby_id, "name": "赵大宝"},
                          caller=caller))["shareNewbornData"] == []
    assert [r.result for r in await records(runtime, "NEWBORN")][-2:] == ["OK", "EMPTY"]


async def test_death_data_by_id_and_by_region_and_dates(runtime: Runtime) -> None:
    person = await a_person(runtime)
    neighbour = await a_person(runtime, adult=False)
    now = datetime.now(UTC)
    region = person.management_region_code
    async with runtime.sessions() as session, session.begin():
        for who, day, status in ((person, date(2026, 2, 1), "SYNCED"), (neighbour, date(2026, 2, 3), "CLAIMED")):
            session.add(models.DeathRecord(
                id=str(uuid.uuid4()), person_uid=who.uid, id_number=who.id_number, name=who.name, source="HOSPITAL",
                death_certificate_no="Z0001", death_date=day, cause="心力衰竭", responsible_region_code=region,
                routed_by="HUKOU", status=status, created_at=now))
        session.add(models.DeathRecord(
            id=str(uuid.uuid4()), person_uid=None, id_number=None, name="无名氏", source="POLICE",
            death_date=date(2026, 2, 2), cause=None, responsible_region_code=region, routed_by="RESIDENCE",
            status="SYNCED", created_at=now))
    caller = system("death")
    by_id = (await execute(runtime, operation("ShareDeathData"), {"idNumber": person.id_number},
                           caller=caller))["shareDeathData"]
    assert [n for n in by_id["nodes"]] == [{
        "idNumber": person.id_number, "name": person.name, "householdRegionCode": person.household_region_code,
        "householdRegionName": by_id["nodes"][0]["householdRegionName"], "deathDate": "2026-02-01",
        "cause": "心力衰竭", "source": "HOSPITAL"}]
    window = {"regionCode": region, "deathDateFrom": "2026-01-01", "deathDateTo": "2026-03-31", "first": 1}
    first_page = (await execute(runtime, operation("ShareDeathData"), window, caller=caller))["shareDeathData"]
    assert [n["deathDate"] for n in first_page["nodes"]] == ["2026-02-01"]
    assert first_page["pageInfo"]["hasNextPage"] is True
    second = (await execute(runtime, operation("ShareDeathData"),
                            {**window, "after": first_page["pageInfo"]["endCursor"]}, caller=caller))["shareDeathData"]
    assert [(n["name"], n["idNumber"]) for n in second["nodes"]] == [("无名氏", None)]  # the CLAIMED one is not shared
    assert second["pageInfo"]["hasNextPage"] is False
    shared = await records(runtime, "DEATH")
    assert [(r.result, r.row_count) for r in shared[-3:]] == [("OK", 1), ("OK", 1), ("OK", 1)]
    for bad in ({"regionCode": region}, {"regionCode": region, "deathDateFrom": "2024-01-01",
                                         "deathDateTo": "2026-01-01"}):
        error = (await errors_of(runtime, operation("ShareDeathData"), bad, caller=caller))[0]
        assert error.extensions["code"] == "BAD_USER_INPUT"


async def test_reward_support_data(runtime: Runtime) -> None:
    person = await a_person(runtime)
    now = datetime.now(UTC)
    async with runtime.sessions() as session, session.begin():
        session.add(models.SupportEnrollment(id=str(uuid.uuid4()), person_uid=person.uid, kind="REWARD",
                                             policy="农村部分计划生育家庭奖励扶助", start_date=date(2018, 1, 1),
                                             end_date=date(2024, 12, 31), created_at=now))
        session.add(models.SupportEnrollment(id=str(uuid.uuid4()), person_uid=person.uid, kind="SPECIAL",
                                             policy="计划生育家庭特别扶助", start_date=date(2025, 1, 1),
                                             created_at=now))
    data = (await execute(runtime, operation("ShareRewardSupportData"), {"idNumber": person.id_number,
                                                                         "name": person.name},
                          caller=system("reward-support")))["shareRewardSupportData"]
    assert [(d["kind"], d["policy"], d["startDate"], d["endDate"]) for d in data] == [
        ("REWARD", "农村部分计划生育家庭奖励扶助", "2018-01-01", "2024-12-31"),
        ("SPECIAL", "计划生育家庭特别扶助", "2025-01-01", None)]
    assert {(d["idNumber"], d["name"], d["householdRegionCode"]) for d in data} == {
        (person.id_number, person.name, person.household_region_code)}
    assert (await records(runtime, "REWARD_SUPPORT"))[-1].row_count == 2


# --- audit views ---------------------------------------------------------------------------------------

RECORDS = """
query($dataset: ShareDataset, $client: String, $first: Int!, $after: String) {
  shareRecords(dataset: $dataset, clientId: $client, first: $first, after: $after) {
    nodes { id at clientId dataset result rowCount criteria }
    pageInfo { hasNextPage endCursor }
  }
}"""

STATISTICS = """
query($period: SharePeriod!, $from: Date!, $to: Date!, $dataset: ShareDataset) {
  shareStatistics(period: $period, from: $from, to: $to, dataset: $dataset) {
    period start end dataset calls rowsShared okCalls emptyCalls deniedCalls errorCalls
  }
}"""


async def test_share_records_for_auditors_only(runtime: Runtime) -> None:
    person = await a_person(runtime)
    for _ in range(3):
        await execute(runtime, operation("ShareBasicData"), {"idNumber": person.id_number},
                      caller=system("basic", client="records-client"))
    page = (await execute(runtime, RECORDS, {"client": "records-client", "first": 2}, caller=AUDITOR))["shareRecords"]
    assert [n["clientId"] for n in page["nodes"]] == ["records-client"] * 2
    assert page["nodes"][0]["at"] >= page["nodes"][1]["at"]
    rest = (await execute(runtime, RECORDS, {"client": "records-client", "first": 2,
                                             "after": page["pageInfo"]["endCursor"]}, caller=AUDITOR))["shareRecords"]
    assert len(rest["nodes"]) == 1 and rest["pageInfo"]["hasNextPage"] is False
    assert len({n["id"] for n in page["nodes"] + rest["nodes"]}) == 3
    assert (await errors_of(runtime, RECORDS, {"first": 5}, caller=OFFICER))[0].extensions["code"] == "FORBIDDEN"
    assert (await errors_of(runtime, RECORDS, {"first": 5}))[0].extensions["code"] == "UNAUTHENTICATED"


async def test_share_statistics_by_month_and_quarter(runtime: Runtime) -> None:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).astimezone(UTC)

    # 2019, long before the calls the other tests make; 2019-03-31 17:30 UTC is 1 April in Beijing.
    calls = [("2019-01-15T10:00:00+08:00", "BASIC", "OK", 1), ("2019-02-10T09:00:00+08:00", "BASIC", "EMPTY", 0),
             ("2019-03-31T17:30:00+00:00", "BASIC", "OK", 1), ("2019-04-20T12:00:00+08:00", "DEATH", "OK", 40),
             ("2019-05-05T12:00:00+08:00", "BASIC", "DENIED", 0), ("2019-12-31T23:59:00+08:00", "DEATH", "OK", 7)]
    async with runtime.sessions() as session, session.begin():
        for moment, dataset, result, rows in calls:
            session.add(models.ShareRecord(id=str(uuid.uuid4()), at=at(moment), client_id="stats-client",
                                           subject="stats-client", dataset=dataset, result=result, row_count=rows))
    months = (await execute(runtime, STATISTICS, {"period": "MONTH", "from": "2019-01-01", "to": "2019-06-30",
                                                  "dataset": "BASIC"}, caller=AUDITOR))["shareStatistics"]
    assert [(m["period"], m["calls"], m["rowsShared"]) for m in months] == [
        ("2019-01", 1, 1), ("2019-02", 1, 0), ("2019-03", 0, 0), ("2019-04", 1, 1), ("2019-05", 1, 0),
        ("2019-06", 0, 0)]
    assert (months[4]["deniedCalls"], months[1]["emptyCalls"], months[0]["okCalls"]) == (1, 1, 1)
    quarters = (await execute(runtime, STATISTICS, {"period": "QUARTER", "from": "2019-01-01", "to": "2019-12-31"},
                              caller=AUDITOR))["shareStatistics"]
    table = {(q["period"], q["dataset"]): (q["calls"], q["rowsShared"]) for q in quarters}
    assert len(quarters) == 4 * 5
    assert table[("2019-Q1", "BASIC")] == (2, 1)
    assert table[("2019-Q2", "BASIC")] == (2, 1)
    assert table[("2019-Q2", "DEATH")] == (1, 40)
    assert table[("2019-Q4", "DEATH")] == (1, 7)
    assert table[("2019-Q3", "MARRIAGE")] == (0, 0)
    assert quarters[0]["start"] == "2019-01-01" and quarters[0]["end"] == "2019-03-31"
    years = (await execute(runtime, STATISTICS, {"period": "YEAR", "from": "2019-01-01", "to": "2019-12-31",
                                                 "dataset": "DEATH"}, caller=AUDITOR))["shareStatistics"]
    assert [(y["period"], y["calls"], y["rowsShared"]) for y in years] == [("2019", 2, 47)]
    refused = await errors_of(runtime, STATISTICS, {"period": "YEAR", "from": "2019-01-01", "to": "2019-12-31"},
                              caller=OFFICER)
    assert refused[0].extensions["code"] == "FORBIDDEN"


async def test_every_call_is_recorded_once(runtime: Runtime) -> None:
    person = await a_person(runtime)
    async with runtime.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(models.ShareRecord))
    await execute(runtime, operation("ShareBasicData"), {"idNumber": person.id_number}, caller=system("basic"))
    await errors_of(runtime, operation("ShareMarriageData"), {"idNumber": person.id_number}, caller=system("basic"))
    await errors_of(runtime, operation("ShareNewbornData"), {"name": person.name}, caller=system("newborn"))
    async with runtime.sessions() as session:
        after = await session.scalar(select(func.count()).select_from(models.ShareRecord))
    assert (after or 0) - (before or 0) == 3
