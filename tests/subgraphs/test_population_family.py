"""Family events of the population subgraph: the marriage history and the marital status derived from it, children
and the children figures derived from them, the BIRTH tallies, newborn reports and carding (一键建卡) with the
two-way sync, reward and special support (奖特扶) with the stop on death, and the data scope of all of it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from identity_callers import caller_of
from sqlalchemy import select
from support import count_statements, create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.validators import make_resident_id
from subgraphs.population import models
from subgraphs.population.app import definition
from subgraphs.population.domain import family, persons, support, tally

SUZHOU_STREET, NANJING_STREET = "320505001", "320102001"
_sequence = itertools.count(901, 2)  # odd: male ID numbers; +1 gives a female one


def id_number(born: date, sex: str, region: str = "320505") -> str:
    return make_resident_id(region, born, next(_sequence) + (1 if sex == "FEMALE" else 0))


async def new_person(rt: Runtime, name: str, sex: str, born: date, *, region: str = SUZHOU_STREET,
                     with_id: bool = True) -> tuple[str, str | None]:
    """A person created the way the persons area creates one; (uid, ID number)."""
    number = id_number(born, sex, region[:6]) if with_id else None
    async with rt.sessions() as session, session.begin():
        row = await persons.create_person(session, persons.NewPerson(
            name=name, household_region_code=region, residence_region_code=region, id_number=number,
            identity_kind="RESIDENT" if with_id else "OTHER", sex=sex, birth_date=born), actor="test")
        return row.uid, number


@pytest.fixture(scope="module")
async def rt(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    path: Path = tmp_path_factory.mktemp("family") / "population.db"
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{path}",
                                 seed_options=SeedOptions(seed=20260101, persons=30))
    yield runtime
    await runtime.engine.dispose()


PERSON = """query($uid: ID!) { person(uid: $uid) {
  maritalStatus childrenCount boysCount youngestChildBirthDate
  marriages { id kind eventDate deleted }
  currentSpouse { name idNumber phone birthDate }
  spouse { uid }
  children { id name sex birthDate birthOrder carded source person { uid name birthDate sex } }
  childRecords { id }
  supportEnrollments { id kind policy startDate endDate exitReason active }
} }"""
ADD_MARRIAGE = """mutation($uid: ID!, $input: MarriageEventInput!) { addMarriageEvent(personUid: $uid, input: $input) {
  id kind eventDate spouse { name idNumber phone birthDate } person { maritalStatus } } }"""
CORRECT_MARRIAGE = """mutation($id: ID!, $input: MarriageEventCorrectionInput!) {
  correctMarriageEvent(id: $id, input: $input) { id eventDate person { maritalStatus } } }"""
DELETE_MARRIAGE = """mutation($id: ID!, $reason: String!) { deleteMarriageEvent(id: $id, reason: $reason) {
  id deleted person { maritalStatus } } }"""
ADD_CHILD = """mutation($uid: ID!, $input: ChildInput!) { addChild(parentUid: $uid, input: $input) {
  id birthOrder sex region { code } } }"""
CORRECT_CHILD = """mutation($id: ID!, $input: ChildCorrectionInput!) { correctChild(id: $id, input: $input) {
  id birthOrder sex birthDate name } }"""
DELETE_CHILD = """mutation($id: ID!, $reason: String!) { deleteChild(id: $id, reason: $reason) { id deleted } }"""
REPORT = """mutation($input: NewbornReportInput!) { reportNewborn(input: $input) { id source carded name } }"""
CARD = """mutation($id: ID!, $input: CardNewbornInput) { cardNewborn(childId: $id, input: $input) {
  id carded name person { uid name sex birthDate } } }"""
INBOX = """query($region: ID!) { newbornsToCard(regionCode: $region, first: 50) {
  edges { node { id name parent { uid } } } } }"""
ENROL = """mutation($uid: ID!, $input: SupportEnrollmentInput!) { enrolSupport(personUid: $uid, input: $input) {
  id kind active } }"""
END = """mutation($id: ID!, $day: Date!, $why: String!) { endSupport(id: $id, endDate: $day, exitReason: $why) {
  id endDate exitReason active } }"""


async def person(rt: Runtime, uid: str, **kw: Any) -> dict[str, Any]:
    data = await execute(rt, PERSON, {"uid": uid}, **kw)
    found: dict[str, Any] = data["person"]
    return found


def codes(errors: list[Any]) -> list[str]:
    return [e.extensions.get("code") for e in errors]


async def add_marriage(rt: Runtime, uid: str, kind: str, day: date, spouse: dict[str, Any] | None = None) -> Any:
    data = await execute(rt, ADD_MARRIAGE, {"uid": uid, "input": {
        "kind": kind, "eventDate": day.isoformat(), **({"spouse": spouse} if spouse else {})}})
    return data["addMarriageEvent"]


async def add_child(rt: Runtime, uid: str, sex: str, born: date, **extra: Any) -> Any:
    data = await execute(rt, ADD_CHILD, {"uid": uid, "input": {"sex": sex, "birthDate": born.isoformat(), **extra}})
    return data["addChild"]


# --- marriage ------------------------------------------------------------------------------------


async def test_marital_status_follows_the_history(rt: Runtime) -> None:
    wife, _ = await new_person(rt, "王芳", "FEMALE", date(1985, 3, 1))
    husband, husband_id = await new_person(rt, "李强", "MALE", date(1983, 6, 9))
    assert husband_id is not None
    first = await add_marriage(rt, wife, "FIRST_MARRIAGE", date(2010, 5, 1), {
        "name": "李强", "idNumber": husband_id, "phone": "13812345678", "education": "BACHELOR"})
    assert first["person"]["maritalStatus"] == "MARRIED"
    # Masked by default; the birth date comes from the ID number.
    assert first["spouse"] == {"name": "李*", "idNumber": husband_id[:3] + "*" * 11 + husband_id[-4:],
                               "phone": "138****5678", "birthDate": "1983-06-09"}
    shown = await person(rt, wife)
    assert shown["currentSpouse"]["name"] == "李*" and shown["spouse"] == {"uid": husband}

    divorce = await add_marriage(rt, wife, "DIVORCE", date(2015, 8, 1))  # the spouse of the marriage it ends
    assert divorce["person"]["maritalStatus"] == "DIVORCED"
    assert divorce["spouse"]["idNumber"] == first["spouse"]["idNumber"]
    shown = await person(rt, wife)
    assert shown["currentSpouse"] is None and shown["spouse"] is None

    second_id = id_number(date(1980, 1, 2), "MALE")
    remarriage = await add_marriage(rt, wife, "REMARRIAGE", date(2018, 2, 14), {"name": "赵磊", "idNumber": second_id})
    assert remarriage["person"]["maritalStatus"] == "MARRIED"
    widowed = await add_marriage(rt, wife, "WIDOWED", date(2022, 11, 30))
    assert widowed["person"]["maritalStatus"] == "WIDOWED"

    shown = await person(rt, wife)
    assert [m["kind"] for m in shown["marriages"]] == ["WIDOWED", "REMARRIAGE", "DIVORCE", "FIRST_MARRIAGE"]
    async with rt.sessions() as session:
        entries = (await session.scalars(select(models.PersonHistory).where(
            models.PersonHistory.person_uid == wife, models.PersonHistory.action == "MARRIAGE")
            .order_by(models.PersonHistory.at))).all()
    assert [e.changes.get("marital_status") for e in entries] == ["MARRIED", "DIVORCED", "MARRIED", "WIDOWED"]
    assert all(e.actor == "anonymous" for e in entries)

    # Deleting the widowhood brings the status back; deleting the divorce a remarriage follows is refused.
    deleted = (await execute(rt, DELETE_MARRIAGE, {"id": widowed["id"], "reason": "误录"}))["deleteMarriageEvent"]
    assert deleted == {"id": widowed["id"], "deleted": True, "person": {"maritalStatus": "MARRIED"}}
    refused = await errors_of(rt, DELETE_MARRIAGE, {"id": divorce["id"], "reason": "误录"})
    assert codes(refused) == ["INVALID_STATE"]
    # A correction is checked the same way: the remarriage cannot move before the divorce.
    refused = await errors_of(rt, CORRECT_MARRIAGE, {"id": remarriage["id"], "input": {"eventDate": "2014-01-01"}})
    assert codes(refused) == ["INVALID_STATE"]
    corrected = await execute(rt, CORRECT_MARRIAGE, {"id": remarriage["id"], "input": {"eventDate": "2019-02-14"}})
    assert corrected["correctMarriageEvent"]["eventDate"] == "2019-02-14"
    shown = await person(rt, wife)
    assert [m["kind"] for m in shown["marriages"]] == ["REMARRIAGE", "DIVORCE", "FIRST_MARRIAGE"]
    assert shown["maritalStatus"] == "MARRIED"


async def test_marriage_refusals(rt: Runtime) -> None:
    woman, _ = await new_person(rt, "陈静", "FEMALE", date(1990, 4, 4))
    variables = {"uid": woman, "input": {"kind": "DIVORCE", "eventDate": "2015-01-01"}}
    assert codes(await errors_of(rt, ADD_MARRIAGE, variables)) == ["INVALID_STATE"]  # not married

    bad_id = id_number(date(1988, 1, 1), "MALE")
    bad_id = bad_id[:-1] + ("0" if bad_id[-1] != "0" else "1")
    errors = await errors_of(rt, ADD_MARRIAGE, {"uid": woman, "input": {
        "kind": "FIRST_MARRIAGE", "eventDate": "2015-01-01", "spouse": {"idNumber": bad_id}}})
    assert codes(errors) == ["BAD_USER_INPUT"] and errors[0].extensions["field"] == "spouse.idNumber"
    errors = await errors_of(rt, ADD_MARRIAGE, {"uid": woman, "input": {  # same sex as the person
        "kind": "FIRST_MARRIAGE", "eventDate": "2015-01-01", "spouse": {"idNumber": id_number(date(1989, 1, 1),
                                                                                               "FEMALE")}}})
    assert errors[0].extensions["field"] == "spouse.idNumber"
    errors = await errors_of(rt, ADD_MARRIAGE, {"uid": woman, "input": {"kind": "FIRST_MARRIAGE",
                                                                        "eventDate": "2005-01-01"}})  # aged 14
    assert codes(errors) == ["BAD_USER_INPUT"] and errors[0].extensions["field"] == "eventDate"

    await add_marriage(rt, woman, "FIRST_MARRIAGE", date(2014, 10, 1))
    errors = await errors_of(rt, ADD_MARRIAGE, {"uid": woman, "input": {"kind": "REMARRIAGE",
                                                                        "eventDate": "2016-01-01"}})
    assert codes(errors) == ["INVALID_STATE"]  # still married

    async with rt.sessions() as session, session.begin():
        await persons.cancel_person(session, woman, date(2020, 3, 2), "死亡", date(2020, 3, 1), actor="test",
                                    scope=None)
    errors = await errors_of(rt, ADD_MARRIAGE, {"uid": woman, "input": {"kind": "DIVORCE",
                                                                        "eventDate": "2020-06-01"}})
    assert codes(errors) == ["BAD_USER_INPUT"] and "died" in errors[0].message  # DQ-17
    assert (await person(rt, woman))["maritalStatus"] == "MARRIED"


# --- children ------------------------------------------------------------------------------------


async def test_children_figures_follow_the_records(rt: Runtime) -> None:
    mother, _ = await new_person(rt, "周敏", "FEMALE", date(1984, 7, 7))
    first = await add_child(rt, mother, "FEMALE", date(2010, 1, 5), name="大女")
    third = await add_child(rt, mother, "MALE", date(2016, 9, 9), name="小儿")
    assert (first["birthOrder"], third["birthOrder"]) == (1, 2)
    assert first["region"] == {"code": SUZHOU_STREET}
    shown = await person(rt, mother)
    assert (shown["childrenCount"], shown["boysCount"], shown["youngestChildBirthDate"]) == (2, 1, "2016-09-09")

    # A child born in between takes its place by birth date; the younger one is renumbered.
    second = await add_child(rt, mother, "MALE", date(2013, 3, 3), name="二儿")
    assert second["birthOrder"] == 2
    shown = await person(rt, mother)
    assert [(c["name"], c["birthOrder"]) for c in shown["children"]] == [("大*", 1), ("二*", 2), ("小*", 3)]
    assert (shown["childrenCount"], shown["boysCount"]) == (3, 2)

    # An explicit order that contradicts the birth dates is refused, so is a birth date that breaks the order.
    errors = await errors_of(rt, ADD_CHILD, {"uid": mother, "input": {"sex": "MALE", "birthDate": "2018-01-01",
                                                                      "birthOrder": 2}})
    assert codes(errors) == ["BAD_USER_INPUT"] and errors[0].extensions["field"] == "birthOrder"
    errors = await errors_of(rt, CORRECT_CHILD, {"id": second["id"], "input": {"birthDate": "2017-01-01"}})
    assert codes(errors) == ["BAD_USER_INPUT"] and errors[0].extensions["field"] == "birthDate"

    corrected = await execute(rt, CORRECT_CHILD, {"id": third["id"], "input": {"sex": "FEMALE",
                                                                               "birthDate": "2017-09-09"}})
    assert corrected["correctChild"]["sex"] == "FEMALE"
    shown = await person(rt, mother)
    assert (shown["childrenCount"], shown["boysCount"], shown["youngestChildBirthDate"]) == (3, 1, "2017-09-09")

    await execute(rt, DELETE_CHILD, {"id": third["id"], "reason": "重复录入"})
    shown = await person(rt, mother)
    assert (shown["childrenCount"], shown["boysCount"], shown["youngestChildBirthDate"]) == (2, 1, "2013-03-03")
    async with rt.sessions() as session:
        entries = (await session.scalars(select(models.PersonHistory).where(
            models.PersonHistory.person_uid == mother, models.PersonHistory.action == "CHILDREN"))).all()
    assert len(entries) == 5 and any("重复录入" in (e.comment or "") for e in entries)

    # Impossible births: before the parent's 12th birthday, in the future.
    for born in (date(1996, 7, 7), family.today_in_china() + timedelta(days=1)):
        errors = await errors_of(rt, ADD_CHILD, {"uid": mother, "input": {"sex": "MALE",
                                                                          "birthDate": born.isoformat()}})
        assert codes(errors) == ["BAD_USER_INPUT"] and errors[0].extensions["field"] == "birthDate"


async def birth_rows(rt: Runtime) -> list[tuple[Any, ...]]:
    E = models.EventTally
    async with rt.sessions() as session:
        rows = (await session.execute(select(E.region_code, E.day, E.detail, E.sex, E.count).where(
            E.kind == tally.BIRTH, E.count != 0))).all()
    return sorted(tuple(row) for row in rows)


async def test_birth_tallies_equal_a_rebuild(rt: Runtime) -> None:
    mother, _ = await new_person(rt, "吴丽", "FEMALE", date(1982, 2, 2))
    a = await add_child(rt, mother, "MALE", date(2008, 8, 8))
    b = await add_child(rt, mother, "FEMALE", date(2012, 12, 12))
    await add_child(rt, mother, "MALE", date(2010, 10, 10))  # renumbers b from 2 to 3
    await execute(rt, CORRECT_CHILD, {"id": a["id"], "input": {"sex": "FEMALE", "birthDate": "2008-09-08"}})
    await execute(rt, DELETE_CHILD, {"id": b["id"], "reason": "误录"})
    await add_child(rt, mother, "FEMALE", date(2015, 5, 5), birthOrder=4)
    live = await birth_rows(rt)
    assert ("320000", date(2010, 10, 10), "2", "MALE", 1) in live
    async with rt.sessions() as session, session.begin():
        await tally.rebuild(session)
    assert await birth_rows(rt) == live


# --- newborns ------------------------------------------------------------------------------------


async def test_newborn_report_and_carding(rt: Runtime) -> None:
    mother, mother_id = await new_person(rt, "孙倩", "FEMALE", date(1993, 5, 20))
    assert mother_id is not None
    born = family.today_in_china() - timedelta(days=10)
    unknown = id_number(date(1990, 1, 1), "FEMALE")
    errors = await errors_of(rt, REPORT, {"input": {"motherIdNumber": unknown, "sex": "MALE",
                                                    "birthDate": born.isoformat()}})
    assert codes(errors) == ["NOT_FOUND"]

    report = {"motherIdNumber": mother_id, "sex": "MALE", "birthDate": born.isoformat(),
              "birthCertificateNo": "Q320123456"}
    child = (await execute(rt, REPORT, {"input": report}))["reportNewborn"]
    assert child["source"] == "MCH" and not child["carded"]
    again = (await execute(rt, REPORT, {"input": report}))["reportNewborn"]  # the MCH system retried
    assert again["id"] == child["id"]
    inbox = await execute(rt, INBOX, {"region": "320500"})
    assert {"id": child["id"], "name": None, "parent": {"uid": mother}} in [
        e["node"] for e in inbox["newbornsToCard"]["edges"]]

    errors = await errors_of(rt, CARD, {"id": child["id"], "input": None})
    assert codes(errors) == ["BAD_USER_INPUT"]  # no name yet
    carded = (await execute(rt, CARD, {"id": child["id"], "input": {"name": "孙小宝"}}))["cardNewborn"]
    assert carded["carded"] and carded["name"] == "孙**"  # names are masked like a person's
    assert carded["person"]["name"] == "孙**" and carded["person"]["birthDate"] == born.isoformat()
    async with rt.sessions() as session:
        mum = await session.get(models.Person, mother)
        case = await session.get(models.Person, carded["person"]["uid"])
    assert mum is not None and case is not None
    assert case.name == "孙小宝" and case.household_no == mum.household_no and case.relation_to_head == "CHILD"
    assert case.identity_kind == "NEWBORN" and case.identity_code.endswith(mum.identity_code)
    assert case.management_region_code == mum.management_region_code
    assert child["id"] not in [e["node"]["id"] for e in (await execute(rt, INBOX, {"region": "320500"}))
                               ["newbornsToCard"]["edges"]]
    assert codes(await errors_of(rt, CARD, {"id": child["id"]})) == ["CONFLICT"]
    assert (await person(rt, case.uid))["childRecords"] == [{"id": child["id"]}]

    # DQ-03: an ID number is one child record's only; one that is already a person's links the record to that case.
    errors = await errors_of(rt, ADD_CHILD, {"uid": mother, "input": {"idNumber": mother_id}})
    assert codes(errors) == ["BAD_USER_INPUT"]
    elder_child, elder_id = await new_person(rt, "孙大宝", "MALE", date(2016, 6, 6))
    record = await add_child(rt, mother, "MALE", date(2016, 6, 6))
    await execute(rt, CORRECT_CHILD, {"id": record["id"], "input": {"idNumber": elder_id}})
    linked = [c for c in (await person(rt, mother))["children"] if c["id"] == record["id"]]
    assert linked[0]["carded"] and linked[0]["person"]["uid"] == elder_child
    errors = await errors_of(rt, ADD_CHILD, {"uid": mother, "input": {"idNumber": elder_id}})
    assert codes(errors) == ["CONFLICT"]


async def test_two_way_sync_between_child_and_case(rt: Runtime) -> None:
    mother, mother_id = await new_person(rt, "郑洁", "FEMALE", date(1991, 11, 11))
    born = family.today_in_china() - timedelta(days=40)
    child = (await execute(rt, REPORT, {"input": {"motherIdNumber": mother_id, "sex": "FEMALE", "name": "郑一",
                                                  "birthDate": born.isoformat()}}))["reportNewborn"]
    case_uid = (await execute(rt, CARD, {"id": child["id"]}))["cardNewborn"]["person"]["uid"]

    # Child record -> case.
    fixed = born - timedelta(days=3)
    await execute(rt, CORRECT_CHILD, {"id": child["id"], "input": {"name": "郑一一", "birthDate": fixed.isoformat(),
                                                                   "sex": "MALE"}})
    shown = await person(rt, mother)
    assert shown["children"][0]["person"] == {"uid": case_uid, "name": "郑**", "birthDate": fixed.isoformat(),
                                              "sex": "MALE"}
    assert shown["boysCount"] == 1
    assert await names(rt, case_uid) == ("郑一一", "郑一一")

    # Case -> child record: the persons area's edit carries over by itself (changes.person_written).
    async with rt.sessions() as session, session.begin():
        case = await persons.update_person(session, case_uid, {"name": "郑安", "sex": "FEMALE"}, expected_version=None,
                                           actor="test", scope=None)
        assert await family.person_synced(session, case, actor="test") == 0  # nothing left to copy
    shown = await person(rt, mother)
    assert (shown["children"][0]["sex"], shown["boysCount"]) == ("FEMALE", 0)
    assert await names(rt, case_uid) == ("郑安", "郑安")
    assert await birth_rows(rt) == await _rebuilt_birth_rows(rt)


async def names(rt: Runtime, case_uid: str) -> tuple[str | None, str | None]:
    """(the case's name, its child record's name), in clear."""
    async with rt.sessions() as session:
        case = await session.get(models.Person, case_uid)
        record = await session.scalar(select(models.Child).where(models.Child.child_uid == case_uid))
    return (case.name if case else None), (record.name if record else None)


async def _rebuilt_birth_rows(rt: Runtime) -> list[tuple[Any, ...]]:
    async with rt.sessions() as session, session.begin():
        await tally.rebuild(session)
    return await birth_rows(rt)


# --- support -------------------------------------------------------------------------------------


async def test_support_enrolment_and_stop_on_death(rt: Runtime) -> None:
    elder, _ = await new_person(rt, "钱老伯", "MALE", date(1950, 1, 1))
    policy = "农村部分计划生育家庭奖励扶助"
    reward = (await execute(rt, ENROL, {"uid": elder, "input": {"kind": "REWARD", "policy": policy,
                                                                 "startDate": "2012-01-01", "reason": "独生子女父母"}}))
    reward_id = reward["enrolSupport"]["id"]
    assert reward["enrolSupport"]["active"]
    errors = await errors_of(rt, ENROL, {"uid": elder, "input": {"kind": "REWARD", "policy": "同上",
                                                                  "startDate": "2020-01-01"}})
    assert codes(errors) == ["CONFLICT"]
    ended = (await execute(rt, END, {"id": reward_id, "day": "2019-12-31", "why": "资格复核不符"}))["endSupport"]
    assert ended == {"id": reward_id, "endDate": "2019-12-31", "exitReason": "资格复核不符", "active": False}
    assert codes(await errors_of(rt, END, {"id": reward_id, "day": "2020-01-31", "why": "再退"})) == ["INVALID_STATE"]
    await execute(rt, ENROL, {"uid": elder, "input": {"kind": "SPECIAL", "policy": "计划生育家庭特别扶助",
                                                      "startDate": "2020-01-01"}})
    await execute(rt, ENROL, {"uid": elder, "input": {"kind": "REWARD", "policy": "农村部分计划生育家庭奖励扶助",
                                                      "startDate": "2021-01-01"}})

    async with rt.sessions() as session, session.begin():
        assert await support.stop_on_death(session, elder, date(2024, 6, 30), actor="death-sync") == 2
    shown = await person(rt, elder)
    assert [(e["kind"], e["endDate"], e["exitReason"]) for e in shown["supportEnrollments"]] == [
        ("REWARD", "2024-06-30", "死亡停发"), ("SPECIAL", "2024-06-30", "死亡停发"),
        ("REWARD", "2019-12-31", "资格复核不符")]
    async with rt.sessions() as session, session.begin():
        assert await support.stop_on_death(session, elder, date(2024, 6, 30), actor="death-sync") == 0


# --- scope and batching --------------------------------------------------------------------------


async def test_another_citys_caller_is_refused(rt: Runtime) -> None:
    woman, woman_id = await new_person(rt, "冯雪", "FEMALE", date(1987, 8, 8))
    child = await add_child(rt, woman, "MALE", date(2012, 2, 2))
    nanjing = caller_of("usr-nanjing", region="320100", data_scope="OWN_ORG")
    attempts: list[tuple[str, dict[str, Any]]] = [
        (ADD_MARRIAGE, {"uid": woman, "input": {"kind": "FIRST_MARRIAGE", "eventDate": "2011-01-01"}}),
        (ADD_CHILD, {"uid": woman, "input": {"sex": "MALE", "birthDate": "2014-01-01"}}),
        (CORRECT_CHILD, {"id": child["id"], "input": {"name": "改名"}}),
        (DELETE_CHILD, {"id": child["id"], "reason": "越权"}),
        (REPORT, {"input": {"motherIdNumber": woman_id, "sex": "MALE", "birthDate": "2014-01-01"}}),
        (ENROL, {"uid": woman, "input": {"kind": "REWARD", "policy": "x", "startDate": "2020-01-01"}}),
        (INBOX, {"region": "320500"}),
    ]
    for query, variables in attempts:
        assert codes(await errors_of(rt, query, variables, caller=nanjing)) == ["FORBIDDEN"], query
    # Reads outside the scope show nothing: Nanjing's inbox holds no Suzhou newborn.
    inbox = await execute(rt, INBOX, {"region": "320100"}, caller=nanjing)
    assert inbox["newbornsToCard"]["edges"] == []
    suzhou = caller_of("usr-suzhou", region="320500", data_scope="OWN_ORG")
    assert (await person(rt, woman, caller=suzhou))["childrenCount"] == 1


async def test_family_fields_of_a_list_cost_one_query_each(rt: Runtime) -> None:
    query = """query { persons(regionCode: "320000", first: 100) { edges { node {
      marriages { id } currentSpouse { name } children { id } supportEnrollments { id } } } } }"""
    with count_statements(rt) as statements:
        data = await execute(rt, query)
    assert len(data["persons"]["edges"]) > 20
    for table in ("marriage_event", "child", "support_enrollment"):
        assert sum(1 for s in statements if f"FROM {table}" in s) == 1, table


# --- PostgreSQL ----------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_family_flow_on_postgresql() -> None:
    url = await create_pg_database("jshealth_family")
    try:
        runtime = await make_runtime(definition, url, seed_options=SeedOptions(seed=20260101, persons=10))
        try:
            mother, mother_id = await new_person(runtime, "蒋雯", "FEMALE", date(1990, 3, 3))
            await add_marriage(runtime, mother, "FIRST_MARRIAGE", date(2015, 1, 1),
                               {"idNumber": id_number(date(1989, 9, 9), "MALE"), "name": "沈涛"})
            await add_child(runtime, mother, "MALE", date(2018, 1, 1))
            born = family.today_in_china() - timedelta(days=5)
            child = (await execute(runtime, REPORT, {"input": {"motherIdNumber": mother_id, "sex": "FEMALE",
                                                               "name": "沈二", "birthDate": born.isoformat()}}))
            child_id = child["reportNewborn"]["id"]
            carded = (await execute(runtime, CARD, {"id": child_id}))["cardNewborn"]
            assert carded["person"]["name"] == "沈*"
            await execute(runtime, CORRECT_CHILD, {"id": child_id, "input": {"name": "沈安"}})
            shown = await person(runtime, mother)
            assert (shown["maritalStatus"], shown["childrenCount"], shown["boysCount"]) == ("MARRIED", 2, 1)
            assert await names(runtime, carded["person"]["uid"]) == ("沈安", "沈安")
            live = await birth_rows(runtime)
            assert await _rebuilt_birth_rows(runtime) == live and live
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)
