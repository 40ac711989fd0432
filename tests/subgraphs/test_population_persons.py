"""Persons core of the population subgraph through GraphQL: creating cases (numbers, derived fields, identity
codes), households, masking and audited unmasking, history, data scope on reads and writes, filters and paging,
cancellation / deletion and their reversal, optimistic concurrency, the region tree; one flow on PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from graphql import GraphQLError
from identity_callers import caller_of
from sqlalchemy import func, select
from support import create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.caller import Caller
from subgraphs.common.validators import make_resident_id
from subgraphs.population import models
from subgraphs.population.app import definition
from subgraphs.population.domain import persons

SUZHOU_STREET, SUZHOU_STREET_2, NANJING_STREET = "320505001", "320505002", "320102001"
OFFICER = caller_of("usr-officer", region="320000", data_scope="ALL", roles=("POPULATION_OFFICER",))
AUDITOR = caller_of("usr-auditor", region="320000", data_scope="ALL", roles=("SECURITY_AUDITOR",))
SUZHOU = caller_of("usr-suzhou", region="320500", data_scope="OWN_ORG")
NANJING = caller_of("usr-nanjing", region="320100", data_scope="OWN_ORG")
_sequence = itertools.count(701, 2)  # odd: a male number; +1 a female one


def id_number(born: date, sex: str = "MALE", county: str = "320505") -> str:
    return make_resident_id(county, born, next(_sequence) + (1 if sex == "FEMALE" else 0))


@pytest.fixture(scope="module")
async def rt(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    path = tmp_path_factory.mktemp("persons") / "population.db"
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{path}",
                                 seed_options=SeedOptions(seed=20260101, persons=30))
    yield runtime
    await runtime.engine.dispose()


FIELDS = """uid personNo identityKind identityCode idNumber otherIdNumber name sex birthDate age
  ethnicity { code name } maritalStatus hukouType education personType mobility occupation phone
  householdRegion { code } residenceRegion { code } managementRegion { code } householdAddress residenceAddress
  household { number members { uid relationToHead } head { uid } } relationToHead childrenCount boysCount
  youngestChildBirthDate status cancellation { cancelledOn reason deathDate } version"""
CREATE = f"mutation($input: CreatePersonInput!) {{ createPerson(input: $input) {{ {FIELDS} }} }}"
PERSON = f"query($uid: ID!) {{ person(uid: $uid) {{ {FIELDS} }} }}"
UPDATE = """mutation($uid: ID!, $input: UpdatePersonInput!, $v: Int!) {
  updatePerson(uid: $uid, input: $input, expectedVersion: $v) { uid idNumber identityCode sex birthDate phone
  residenceAddress version } }"""
HISTORY = """query($uid: ID!, $first: Int!, $after: String) { person(uid: $uid) {
  history(first: $first, after: $after) {
  edges { cursor node { at actor action comment changedFields changes { field before after } } }
  pageInfo { hasNextPage endCursor } } } }"""
UNMASKED = """query($uid: ID!, $purpose: String!) { person(uid: $uid) { unmasked(purpose: $purpose) {
  name idNumber phone } } }"""
PERSONS = """query($region: ID!, $filter: PersonFilter, $first: Int!, $after: String) {
  persons(regionCode: $region, filter: $filter, first: $first, after: $after) {
    edges { node { uid sex age status personType name managementRegion { code } } }
    pageInfo { hasNextPage endCursor } } }"""


async def create(rt: Runtime, caller: Caller | None = None, **given: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": "张三丰", "householdRegionCode": SUZHOU_STREET,
                              "residenceRegionCode": SUZHOU_STREET}
    fields.update(given)
    if "idNumber" not in fields and fields.get("identityKind", "RESIDENT") == "RESIDENT":
        fields["idNumber"] = id_number(date(1980, 6, 15), county=str(fields["householdRegionCode"])[:6])
    return (await execute(rt, CREATE, {"input": fields}, caller=caller))["createPerson"]


def code_of(errors: list[GraphQLError]) -> str:
    return str(errors[0].extensions["code"]) if errors[0].extensions else ""


async def stored(rt: Runtime, uid: str) -> models.Person:
    async with rt.sessions() as session:
        row = await session.get(models.Person, uid)
    assert row is not None
    return row


# --- creating ------------------------------------------------------------------------------------


async def test_a_resident_is_created_with_numbers_derived_fields_and_masked_answers(rt: Runtime) -> None:
    number = id_number(date(1990, 3, 7), "FEMALE")
    person = await create(rt, name="欧阳娜娜", idNumber=number, phone="13812345678",
                          residenceAddress="江苏省苏州市虎丘区狮山街道金色家园3栋201室", ethnicity="03")
    assert person["personNo"].startswith("RY") and len(person["personNo"]) == 12
    assert person["identityKind"] == "RESIDENT"
    assert person["idNumber"] == number[:3] + "*" * 11 + number[-4:] == person["identityCode"]
    assert (person["name"], person["phone"]) == ("欧***", "138****5678")
    assert person["residenceAddress"] == "江苏省苏州市虎丘区狮山街道****"
    assert (person["sex"], person["birthDate"]) == ("FEMALE", "1990-03-07")
    assert person["ethnicity"] == {"code": "03", "name": "回族"}
    assert person["maritalStatus"] == "UNMARRIED" and person["childrenCount"] == 0
    assert person["managementRegion"] == {"code": SUZHOU_STREET}  # defaults to the residence
    assert person["status"] == "NORMAL" and person["cancellation"] is None and person["version"] == 1
    household = person["household"]
    assert household["number"].startswith("320505") and len(household["number"]) == 15
    assert person["relationToHead"] == "HEAD" and household["head"] == {"uid": person["uid"]}
    # seeded persons hold RY0000000001..30: the counter starts after them
    assert int(person["personNo"][2:]) > 30
    second = await create(rt)
    assert int(second["personNo"][2:]) == int(person["personNo"][2:]) + 1


async def test_household_numbers_count_per_county(rt: Runtime) -> None:
    a = (await create(rt))["household"]["number"]
    b = (await create(rt, householdRegionCode=SUZHOU_STREET_2))["household"]["number"]  # same county 320505
    nanjing = (await create(rt, householdRegionCode=NANJING_STREET))["household"]["number"]
    c = (await create(rt))["household"]["number"]
    assert (int(b[6:]), int(c[6:])) == (int(a[6:]) + 1, int(a[6:]) + 2)
    assert nanjing.startswith("320102")
    nanjing_2 = (await create(rt, householdRegionCode=NANJING_STREET))["household"]["number"]
    assert int(nanjing_2[6:]) == int(nanjing[6:]) + 1


async def test_joining_a_household(rt: Runtime) -> None:
    head = await create(rt)
    number = head["household"]["number"]
    child = await create(rt, name="张小", householdNo=number, relationToHead="CHILD")
    assert child["household"]["number"] == number and child["relationToHead"] == "CHILD"
    members = (await execute(rt, PERSON, {"uid": head["uid"]}))["person"]["household"]["members"]
    assert members == [{"uid": head["uid"], "relationToHead": "HEAD"}, {"uid": child["uid"], "relationToHead": "CHILD"}]
    second_head = await errors_of(rt, CREATE, {"input": {
        "name": "李四", "householdRegionCode": SUZHOU_STREET, "residenceRegionCode": SUZHOU_STREET,
        "idNumber": id_number(date(1970, 1, 1)), "householdNo": number, "relationToHead": "HEAD"}})
    assert code_of(second_head) == "CONFLICT"
    no_relation = await errors_of(rt, CREATE, {"input": {
        "name": "李四", "householdRegionCode": SUZHOU_STREET, "residenceRegionCode": SUZHOU_STREET,
        "idNumber": id_number(date(1970, 1, 1)), "householdNo": number}})
    assert no_relation[0].extensions == {"code": "BAD_USER_INPUT", "argument": "input", "field": "relationToHead"}


async def test_identity_codes_of_each_kind(rt: Runtime) -> None:
    mother_number = id_number(date(1995, 5, 5), "FEMALE")
    mother = await create(rt, name="王芳", idNumber=mother_number)
    newborn = await create(rt, name="王宝", identityKind="NEWBORN", sex="MALE", birthDate="2026-01-20",
                           motherIdentityCode=mother_number, multipleBirthOrder=2,
                           householdNo=mother["household"]["number"], relationToHead="CHILD")
    assert newborn["identityKind"] == "NEWBORN" and newborn["idNumber"] is None
    assert (await stored(rt, newborn["uid"])).identity_code == f"B202601102{mother_number}"
    assert newborn["identityCode"].startswith("B202601102" + mother_number[:3] + "***")

    military = await create(rt, name="赵兵", identityKind="MILITARY", otherIdNumber="军字第7654321号", sex="MALE",
                            birthDate="1988-08-01")
    assert (await stored(rt, military["uid"])).identity_code == "A军字第7654321号"

    others = [await create(rt, name=f"外{i}", identityKind="OTHER", sex="FEMALE", birthDate="2001-12-31",
                           personType="FOREIGN_HMT_UNKNOWN") for i in range(3)]
    codes = [(await stored(rt, p["uid"])).identity_code for p in others]
    assert codes == ["O320505200112312", "O320505200112312001", "O320505200112312002"]
    assert others[1]["identityCode"].endswith("2001") and others[0]["identityCode"] != others[1]["identityCode"]


async def test_creation_refusals(rt: Runtime) -> None:
    number = id_number(date(1985, 2, 2))
    await create(rt, idNumber=number)
    base = {"name": "钱七", "householdRegionCode": SUZHOU_STREET, "residenceRegionCode": SUZHOU_STREET}
    duplicate = await errors_of(rt, CREATE, {"input": {**base, "idNumber": number}})
    assert code_of(duplicate) == "CONFLICT" and number not in duplicate[0].message
    derived = await errors_of(rt, CREATE, {"input": {**base, "idNumber": id_number(date(1985, 2, 2)),
                                                     "sex": "FEMALE"}})
    assert derived[0].extensions == {"code": "BAD_USER_INPUT", "argument": "input", "field": "sex"}
    bad = number[:17] + ("1" if number[17] != "1" else "2")
    invalid = await errors_of(rt, CREATE, {"input": {**base, "idNumber": bad}})
    assert invalid[0].extensions == {"code": "BAD_USER_INPUT", "argument": "input", "field": "idNumber"}
    assert bad not in invalid[0].message
    unknown = await errors_of(rt, CREATE, {"input": {**base, "idNumber": id_number(date(1985, 2, 2)),
                                                     "residenceRegionCode": "320505999"}})
    assert unknown[0].extensions == {"code": "BAD_USER_INPUT", "argument": "input", "field": "residenceRegionCode"}
    await expired_region(rt)
    expired = await errors_of(rt, CREATE, {"input": {**base, "idNumber": id_number(date(1985, 2, 2)),
                                                     "householdRegionCode": EXPIRED}})
    assert expired[0].extensions == {"code": "BAD_USER_INPUT", "argument": "input", "field": "householdRegionCode"}
    outside = await errors_of(rt, CREATE, {"input": {**base, "idNumber": id_number(date(1985, 2, 2)),
                                                     "managementRegionCode": NANJING_STREET}}, caller=SUZHOU)
    assert code_of(outside) == "FORBIDDEN"
    no_sex = await errors_of(rt, CREATE, {"input": {**base, "identityKind": "OTHER", "birthDate": "2000-01-01"}})
    assert no_sex[0].extensions == {"code": "BAD_USER_INPUT", "argument": "input", "field": "sex"}


# --- masking, unmasking, audit, history ----------------------------------------------------------


async def test_unmasking_needs_the_role_and_a_purpose_and_is_audited(rt: Runtime) -> None:
    number = id_number(date(1979, 9, 9))
    person = await create(rt, name="孙悟空", idNumber=number, phone="13900001111")
    uid = person["uid"]
    refused = await rt.definition.schema.execute(
        'query($uid: ID!) { person(uid: $uid) { name unmasked(purpose: "核对") { name } } }',
        variable_values={"uid": uid}, context_value=rt.context(caller=SUZHOU))
    assert refused.errors and code_of(list(refused.errors)) == "FORBIDDEN"
    assert refused.data == {"person": {"name": "孙**", "unmasked": None}}  # the masked record stays
    anonymous = await errors_of(rt, UNMASKED, {"uid": uid, "purpose": "核对"})
    assert code_of(anonymous) == "FORBIDDEN"
    blank = await errors_of(rt, UNMASKED, {"uid": uid, "purpose": "  "}, caller=OFFICER)
    assert blank[0].extensions == {"code": "BAD_USER_INPUT", "argument": "purpose"}
    clear = await execute(rt, UNMASKED, {"uid": uid, "purpose": "入户核查"}, caller=OFFICER)
    assert clear["person"]["unmasked"] == {"name": "孙悟空", "idNumber": number, "phone": "13900001111"}

    accesses = """query($uid: ID) { personalDataAccesses(personUid: $uid, first: 10) {
      nodes { subject clientId personUid purpose fields at } } }"""
    log = (await execute(rt, accesses, {"uid": uid}, caller=AUDITOR))["personalDataAccesses"]["nodes"]
    assert len(log) == 1  # the refused calls handed out nothing and left no record
    assert log[0] | {"at": None} == {"subject": "usr-officer", "clientId": "portal-web", "personUid": uid,
                                     "purpose": "入户核查", "fields": ["name", "idNumber", "phone"], "at": None}
    assert code_of(await errors_of(rt, accesses, {"uid": uid}, caller=OFFICER)) == "FORBIDDEN"


async def test_the_unmasking_roles_are_configurable(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    person = await create(rt)
    monkeypatch.setenv("POPULATION_UNMASK_ROLES", "CASE_MANAGER, OTHER")
    assert code_of(await errors_of(rt, UNMASKED, {"uid": person["uid"], "purpose": "x"}, caller=OFFICER)) == \
        "FORBIDDEN"
    manager = caller_of("usr-manager", region="320500", data_scope="OWN_ORG", roles=("CASE_MANAGER",))
    clear = await execute(rt, UNMASKED, {"uid": person["uid"], "purpose": "x"}, caller=manager)
    assert clear["person"]["unmasked"]["name"] == "张三丰"


async def test_history_records_each_change_with_masked_values(rt: Runtime) -> None:
    person = await create(rt, phone="13812345678")
    uid = person["uid"]
    await execute(rt, UPDATE, {"uid": uid, "v": 1, "input": {
        "phone": "13987654321", "residenceAddress": "江苏省苏州市虎丘区狮山街道幸福路8号", "occupation": "教师"}})
    first = (await execute(rt, HISTORY, {"uid": uid, "first": 1}))["person"]["history"]
    latest = first["edges"][0]["node"]
    assert latest["action"] == "UPDATE" and latest["actor"] == "anonymous"
    assert latest["changedFields"] == ["occupation", "phone", "residenceAddress"]
    assert {c["field"]: (c["before"], c["after"]) for c in latest["changes"]} == {
        "occupation": (None, "教师"), "phone": ("138****5678", "139****4321"),
        "residenceAddress": (None, "江苏省苏州市虎丘区狮山街道****")}
    assert first["pageInfo"]["hasNextPage"]
    rest = (await execute(rt, HISTORY, {"uid": uid, "first": 5, "after": first["pageInfo"]["endCursor"]}))
    created = rest["person"]["history"]["edges"]
    assert [e["node"]["action"] for e in created] == ["CREATE"]
    after = {c["field"]: c["after"] for c in created[0]["node"]["changes"]}
    assert after["name"] == "张**" and after["idNumber"].count("*") == 11 and after["phone"] == "138****5678"


# --- editing -------------------------------------------------------------------------------------


async def test_updates_use_optimistic_versions_and_keep_derived_fields(rt: Runtime) -> None:
    person = await create(rt, idNumber=id_number(date(1960, 1, 1)))
    uid = person["uid"]
    changed = (await execute(rt, UPDATE, {"uid": uid, "v": 1, "input": {"phone": "13800000000"}}))["updatePerson"]
    assert changed["version"] == 2
    stale = await errors_of(rt, UPDATE, {"uid": uid, "v": 1, "input": {"phone": "13800000001"}})
    assert code_of(stale) == "CONFLICT" and stale[0].extensions and stale[0].extensions["currentVersion"] == 2
    sex = await errors_of(rt, UPDATE, {"uid": uid, "v": 2, "input": {"sex": "FEMALE"}})
    assert sex[0].extensions == {"code": "BAD_USER_INPUT", "argument": "input", "field": "sex"}
    birth = await errors_of(rt, UPDATE, {"uid": uid, "v": 2, "input": {"birthDate": "1961-01-01"}})
    assert birth[0].extensions == {"code": "BAD_USER_INPUT", "argument": "input", "field": "birthDate"}
    # derived and dispatch-only fields are not part of the input at all
    for field, value in (("maritalStatus", "MARRIED"), ("childrenCount", 2), ("managementRegionCode", "320102001")):
        refused = await errors_of(rt, UPDATE, {"uid": uid, "v": 2, "input": {field: value}})
        assert field in refused[0].message
    # a new ID number re-derives sex, birth date and the identity code
    new_number = id_number(date(1961, 2, 3), "FEMALE")
    renumbered = (await execute(rt, UPDATE, {"uid": uid, "v": 2, "input": {"idNumber": new_number}}))["updatePerson"]
    assert (renumbered["sex"], renumbered["birthDate"]) == ("FEMALE", "1961-02-03")
    assert renumbered["idNumber"].endswith(new_number[-4:]) and renumbered["identityCode"] == renumbered["idNumber"]
    assert (await stored(rt, uid)).identity_code == new_number
    same = await execute(rt, UPDATE, {"uid": uid, "v": 3, "input": {"sex": "FEMALE"}})  # agrees: nothing to do
    assert same["updatePerson"]["version"] == 3


async def test_the_domain_refuses_derived_fields_by_name(rt: Runtime) -> None:
    person = await create(rt)
    for column, field in (("marital_status", "maritalStatus"), ("children_count", "childrenCount"),
                          ("boys_count", "boysCount"), ("youngest_child_birth_date", "youngestChildBirthDate"),
                          ("management_region_code", "managementRegionCode")):
        async with rt.sessions() as session, session.begin():
            with pytest.raises(GraphQLError) as refused:
                await persons.update_person(session, person["uid"], {column: None}, expected_version=None,
                                            actor="test", scope=None)
        assert refused.value.extensions == {"code": "BAD_USER_INPUT", "argument": "input", "field": field}


# --- data scope ----------------------------------------------------------------------------------


async def test_a_city_caller_neither_sees_nor_changes_another_citys_person(rt: Runtime) -> None:
    number = id_number(date(1975, 7, 7), county="320102")
    nanjing = await create(rt, idNumber=number, householdRegionCode=NANJING_STREET,
                           residenceRegionCode=NANJING_STREET)
    uid = nanjing["uid"]
    assert (await execute(rt, PERSON, {"uid": uid}, caller=SUZHOU))["person"] is None
    by_number = "query($n: String!) { personByIdNumber(idNumber: $n) { uid } }"
    assert (await execute(rt, by_number, {"n": number}, caller=SUZHOU))["personByIdNumber"] is None
    assert (await execute(rt, by_number, {"n": number}, caller=NANJING))["personByIdNumber"] == {"uid": uid}
    assert code_of(await errors_of(rt, by_number, {"n": "123"})) == "BAD_USER_INPUT"
    assert code_of(await errors_of(rt, UPDATE, {"uid": uid, "v": 1, "input": {"phone": "13800000000"}},
                                   caller=SUZHOU)) == "FORBIDDEN"
    cancel = 'mutation($uid: ID!) { cancelPerson(uid: $uid, cancelledOn: "2026-01-02", reason: "迁出") { status } }'
    assert code_of(await errors_of(rt, cancel, {"uid": uid}, caller=SUZHOU)) == "FORBIDDEN"
    assert code_of(await errors_of(rt, PERSONS, {"region": "320100", "first": 5}, caller=SUZHOU)) == "FORBIDDEN"
    province = (await execute(rt, PERSONS, {"region": "320000", "first": 100}, caller=SUZHOU))["persons"]["edges"]
    assert province and all(e["node"]["managementRegion"]["code"].startswith("3205") for e in province)
    assert (await execute(rt, PERSON, {"uid": uid}, caller=NANJING))["person"]["uid"] == uid
    updated = await execute(rt, UPDATE, {"uid": uid, "v": 1, "input": {"phone": "13800000000"}}, caller=NANJING)
    assert updated["updatePerson"]["version"] == 2


# --- lists ---------------------------------------------------------------------------------------


async def test_pages_do_not_overlap_and_keep_the_index_order(rt: Runtime) -> None:
    seen: list[tuple[str, str]] = []
    after = None
    while True:
        page = (await execute(rt, PERSONS, {"region": "320000", "first": 7, "after": after}))["persons"]
        seen += [(e["node"]["managementRegion"]["code"], e["node"]["uid"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    async with rt.sessions() as session:
        expected = await session.scalar(select(func.count()).select_from(models.Person).where(
            models.Person.deleted.is_(False), models.Person.status == "NORMAL"))
    assert len(seen) == expected


async def test_filters(rt: Runtime) -> None:
    async def nodes(filter_: dict[str, Any], region: str = "320000") -> list[dict[str, Any]]:
        answer = await execute(rt, PERSONS, {"region": region, "filter": filter_, "first": 100})
        return [e["node"] for e in answer["persons"]["edges"]]

    women = await nodes({"sex": "FEMALE"})
    assert women and all(n["sex"] == "FEMALE" for n in women)
    elderly = await nodes({"ageBand": "AGE_60_79"})
    assert all(60 <= n["age"] <= 79 for n in elderly)
    middle = await nodes({"minAge": 30, "maxAge": 45})
    assert middle and all(30 <= n["age"] <= 45 for n in middle)
    both = await nodes({"ageBand": "AGE_15_59", "minAge": 40})
    assert all(40 <= n["age"] <= 59 for n in both)
    await create(rt, name="外宾", identityKind="OTHER", sex="MALE", birthDate="1970-01-01",
                 personType="FOREIGN_HMT_UNKNOWN")
    foreign = await nodes({"personType": "FOREIGN_HMT_UNKNOWN"})
    assert foreign and all(n["personType"] == "FOREIGN_HMT_UNKNOWN" for n in foreign)
    named = await create(rt, name="诸葛孔明")
    assert [n["uid"] for n in await nodes({"nameKeyword": "葛孔"})] == [named["uid"]]
    refused = await errors_of(rt, PERSONS, {"region": "320000", "filter": {"minAge": 50, "maxAge": 40}, "first": 5})
    assert code_of(refused) == "BAD_USER_INPUT"


# --- cancel, uncancel, delete, restore -----------------------------------------------------------

CANCEL = """mutation($uid: ID!, $on: Date!, $reason: String!, $death: Date) {
  cancelPerson(uid: $uid, cancelledOn: $on, reason: $reason, deathDate: $death) {
    status cancellation { cancelledOn reason deathDate } } }"""
UNCANCEL = "mutation($uid: ID!) { uncancelPerson(uid: $uid, reason: \"误注销\") { status cancellation { reason } } }"
DELETE = "mutation($uid: ID!) { deletePerson(uid: $uid, reason: \"重复建档\") { uid deleted } }"
RESTORE = "mutation($uid: ID!) { restorePerson(uid: $uid) { uid deleted status } }"


async def test_cancel_and_uncancel(rt: Runtime) -> None:
    person = await create(rt)
    uid = person["uid"]
    cancelled = await execute(rt, CANCEL, {"uid": uid, "on": "2026-01-10", "reason": "迁往外省"})
    assert cancelled["cancelPerson"] == {"status": "CANCELLED", "cancellation": {
        "cancelledOn": "2026-01-10", "reason": "迁往外省", "deathDate": None}}
    assert code_of(await errors_of(rt, CANCEL, {"uid": uid, "on": "2026-01-10", "reason": "x"})) == "INVALID_STATE"
    normal = await execute(rt, PERSONS, {"region": SUZHOU_STREET, "first": 100})
    assert uid not in {e["node"]["uid"] for e in normal["persons"]["edges"]}
    listed = await execute(rt, PERSONS, {"region": SUZHOU_STREET, "filter": {"status": "CANCELLED"}, "first": 100})
    assert uid in {e["node"]["uid"] for e in listed["persons"]["edges"]}
    assert (await execute(rt, UNCANCEL, {"uid": uid}))["uncancelPerson"] == {"status": "NORMAL",
                                                                             "cancellation": None}
    assert code_of(await errors_of(rt, UNCANCEL, {"uid": uid})) == "INVALID_STATE"

    dead = await execute(rt, CANCEL, {"uid": uid, "on": "2026-01-12", "reason": "死亡", "death": "2026-01-11"})
    assert dead["cancelPerson"]["status"] == "DEAD"
    assert (await execute(rt, PERSON, {"uid": uid}))["person"]["cancellation"]["deathDate"] == "2026-01-11"
    # a death entered by hand can be taken back ...
    assert (await execute(rt, UNCANCEL, {"uid": uid}))["uncancelPerson"]["status"] == "NORMAL"
    # ... one confirmed through the death-record workflow cannot
    await execute(rt, CANCEL, {"uid": uid, "on": "2026-01-12", "reason": "死亡", "death": "2026-01-11"})
    async with rt.sessions() as session, session.begin():
        session.add(models.DeathRecord(id=f"dr-{uid}", person_uid=uid, name="x", source="POLICE",
                                       death_date=date(2026, 1, 11), routed_by="ID_NUMBER", status="SYNCED",
                                       created_at=datetime.now(UTC)))
    assert code_of(await errors_of(rt, UNCANCEL, {"uid": uid})) == "INVALID_STATE"
    future = await errors_of(rt, CANCEL, {"uid": (await create(rt))["uid"], "on": "2999-01-01", "reason": "x"})
    assert future[0].extensions == {"code": "BAD_USER_INPUT", "argument": "cancelledOn"}


async def test_delete_hides_the_person_and_restore_brings_it_back(rt: Runtime) -> None:
    number = id_number(date(1999, 9, 9))
    uid = (await create(rt, idNumber=number))["uid"]
    assert (await execute(rt, DELETE, {"uid": uid}))["deletePerson"] == {"uid": uid, "deleted": True}
    assert (await execute(rt, PERSON, {"uid": uid}))["person"] is None
    by_number = "query($n: String!) { personByIdNumber(idNumber: $n) { uid } }"
    assert (await execute(rt, by_number, {"n": number}))["personByIdNumber"] is None
    listed = await execute(rt, PERSONS, {"region": SUZHOU_STREET, "filter": {"status": None}, "first": 100})
    assert uid not in {e["node"]["uid"] for e in listed["persons"]["edges"]}
    assert code_of(await errors_of(rt, UPDATE, {"uid": uid, "v": 2, "input": {"phone": "13800000000"}})) == \
        "NOT_FOUND"
    # the ID number stays taken by the deleted record
    taken = await errors_of(rt, CREATE, {"input": {"name": "重复", "idNumber": number,
                                                   "householdRegionCode": SUZHOU_STREET,
                                                   "residenceRegionCode": SUZHOU_STREET}})
    assert code_of(taken) == "CONFLICT"
    assert (await execute(rt, RESTORE, {"uid": uid}))["restorePerson"] == {"uid": uid, "deleted": False,
                                                                           "status": "NORMAL"}
    assert code_of(await errors_of(rt, RESTORE, {"uid": uid})) == "INVALID_STATE"
    history = (await execute(rt, HISTORY, {"uid": uid, "first": 10}))["person"]["history"]["edges"]
    assert [e["node"]["action"] for e in history] == ["RESTORE", "DELETE", "CREATE"]
    assert history[1]["node"]["comment"] == "重复建档"


# --- households ----------------------------------------------------------------------------------

SPLIT = "mutation($uid: ID!) { splitHousehold(uid: $uid) { relationToHead household { number head { uid } } } }"
MOVE = """mutation($uid: ID!, $no: ID!, $rel: RelationToHead!, $prev: RelationToHead) {
  moveToHousehold(uid: $uid, householdNo: $no, relationToHead: $rel, previousHeadRelation: $prev) {
    relationToHead household { number members { uid relationToHead } } } }"""
RELATION = """mutation($uid: ID!, $rel: RelationToHead!, $prev: RelationToHead) {
  setRelationToHead(uid: $uid, relation: $rel, previousHeadRelation: $prev) {
    relationToHead household { head { uid } members { uid relationToHead } } } }"""


async def test_households_split_move_and_change_head(rt: Runtime) -> None:
    head = await create(rt, name="周一")
    number = head["household"]["number"]
    spouse = await create(rt, name="吴二", householdNo=number, relationToHead="SPOUSE")
    alone = await execute(rt, SPLIT, {"uid": spouse["uid"]})
    new_number = alone["splitHousehold"]["household"]["number"]
    assert new_number != number and new_number[:6] == "320505"
    assert alone["splitHousehold"]["relationToHead"] == "HEAD"
    assert alone["splitHousehold"]["household"]["head"] == {"uid": spouse["uid"]}
    assert code_of(await errors_of(rt, SPLIT, {"uid": spouse["uid"]})) == "INVALID_STATE"  # already alone

    moved = await execute(rt, MOVE, {"uid": spouse["uid"], "no": number, "rel": "SPOUSE"})
    assert moved["moveToHousehold"]["household"]["members"] == [
        {"uid": head["uid"], "relationToHead": "HEAD"}, {"uid": spouse["uid"], "relationToHead": "SPOUSE"}]
    conflict = await errors_of(rt, RELATION, {"uid": spouse["uid"], "rel": "HEAD"})
    assert code_of(conflict) == "CONFLICT"
    swapped = await execute(rt, RELATION, {"uid": spouse["uid"], "rel": "HEAD", "prev": "SPOUSE"})
    assert swapped["setRelationToHead"]["household"]["head"] == {"uid": spouse["uid"]}
    assert {m["uid"]: m["relationToHead"] for m in swapped["setRelationToHead"]["household"]["members"]} == {
        head["uid"]: "SPOUSE", spouse["uid"]: "HEAD"}
    history = (await execute(rt, HISTORY, {"uid": head["uid"], "first": 1}))["person"]["history"]["edges"]
    assert history[0]["node"]["action"] == "HOUSEHOLD" and history[0]["node"]["changedFields"] == ["relationToHead"]
    missing = await errors_of(rt, MOVE, {"uid": head["uid"], "no": "320505999999999", "rel": "CHILD"})
    assert missing[0].extensions == {"code": "BAD_USER_INPUT", "argument": "input", "field": "householdNo"}


async def test_household_queries(rt: Runtime) -> None:
    person = await create(rt, name="郑三", residenceAddress="江苏省苏州市虎丘区狮山街道枫桥花苑12幢")
    number = person["household"]["number"]
    update = """mutation($no: ID!) { updateHousehold(number: $no,
      input: {address: "江苏省苏州市虎丘区狮山街道长江路8号", houseNumber: "8号"}) {
        number address houseNumber region { code } } }"""
    updated = (await execute(rt, update, {"no": number}))["updateHousehold"]
    assert updated == {"number": number, "address": "江苏省苏州市虎丘区狮山街道****", "houseNumber": "****",
                       "region": {"code": SUZHOU_STREET}}
    search = """query($region: ID!, $house: String, $address: String) {
      households(regionCode: $region, houseNumber: $house, address: $address, first: 50) {
        nodes { number members { uid name } } } }"""
    by_house = (await execute(rt, search, {"region": "320505", "house": "8号"}))["households"]["nodes"]
    assert [h["number"] for h in by_house] == [number]
    assert by_house[0]["members"] == [{"uid": person["uid"], "name": "郑*"}]
    by_residence = (await execute(rt, search, {"region": "320500", "address": "枫桥花苑"}))["households"]["nodes"]
    assert [h["number"] for h in by_residence] == [number]
    assert (await execute(rt, search, {"region": "320505", "address": "长江路"}))["households"]["nodes"][0][
        "number"] == number
    assert code_of(await errors_of(rt, search, {"region": "320505"}, caller=NANJING)) == "FORBIDDEN"
    one = "query($no: ID!) { household(number: $no) { number head { uid } } }"
    assert (await execute(rt, one, {"no": number}))["household"] == {"number": number, "head": {"uid": person["uid"]}}
    assert (await execute(rt, one, {"no": number}, caller=NANJING))["household"] is None


# --- regions -------------------------------------------------------------------------------------

EXPIRED = "320598"


async def expired_region(rt: Runtime) -> None:
    async with rt.sessions() as session, session.begin():
        if await session.get(models.Region, EXPIRED) is None:
            session.add(models.Region(code=EXPIRED, name="旧测试县", full_name="江苏省苏州市旧测试县", level="COUNTY",
                                      parent_code="320500", valid_from=date(2000, 1, 1), valid_to=date(2020, 1, 1)))


async def test_the_region_tree_knows_validity(rt: Runtime) -> None:
    await expired_region(rt)
    one = """query($code: ID!) { region(code: $code) { code validTo ancestors { code } parent { code }
      children { code } } }"""
    old = (await execute(rt, one, {"code": EXPIRED}))["region"]
    assert old["validTo"] == "2020-01-01" and old["ancestors"] == [{"code": "320000"}, {"code": "320500"}]
    street = (await execute(rt, one, {"code": SUZHOU_STREET}))["region"]
    assert [a["code"] for a in street["ancestors"]] == ["320000", "320500", "320505"]
    regions = "query($p: ID, $on: Date) { regions(parentCode: $p, asOf: $on) { code } }"
    today = {r["code"] for r in (await execute(rt, regions, {"p": "320500"}))["regions"]}
    assert "320505" in today and EXPIRED not in today
    back_then = {r["code"] for r in (await execute(rt, regions, {"p": "320500", "on": "2019-06-01"}))["regions"]}
    assert EXPIRED in back_then
    city = (await execute(rt, one, {"code": "320500"}))["region"]
    assert EXPIRED not in {c["code"] for c in city["children"]}
    assert (await execute(rt, regions, {}))["regions"] == [{"code": "320000"}]
    assert code_of(await errors_of(rt, regions, {"p": "329999"})) == "BAD_USER_INPUT"


# --- PostgreSQL ----------------------------------------------------------------------------------


async def test_the_main_flow_on_postgresql() -> None:
    url = await create_pg_database("population_persons")
    runtime = await make_runtime(definition, url, seed_options=SeedOptions(seed=20260101, persons=10))
    try:
        first = await create(runtime, phone="13811112222")
        second = await create(runtime, householdRegionCode=SUZHOU_STREET_2)
        assert int(second["household"]["number"][6:]) == int(first["household"]["number"][6:]) + 1
        assert int(second["personNo"][2:]) == int(first["personNo"][2:]) + 1 == 12
        uid = first["uid"]
        updated = await execute(runtime, UPDATE, {"uid": uid, "v": 1, "input": {"phone": "13899990000"}})
        assert updated["updatePerson"]["phone"] == "138****0000"
        assert code_of(await errors_of(runtime, UPDATE, {"uid": uid, "v": 1, "input": {"phone": "1"}})) == "CONFLICT"
        clear = await execute(runtime, UNMASKED, {"uid": uid, "purpose": "核查"}, caller=OFFICER)
        assert clear["person"]["unmasked"]["phone"] == "13899990000"
        async with runtime.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(models.PersonalDataAccess)) == 1
        await execute(runtime, CANCEL, {"uid": uid, "on": "2026-01-10", "reason": "迁出"})
        await execute(runtime, UNCANCEL, {"uid": uid})
        await execute(runtime, DELETE, {"uid": uid})
        assert (await execute(runtime, PERSON, {"uid": uid}))["person"] is None
        await execute(runtime, RESTORE, {"uid": uid})
        history = (await execute(runtime, HISTORY, {"uid": uid, "first": 10}))["person"]["history"]["edges"]
        assert [e["node"]["action"] for e in history] == ["RESTORE", "DELETE", "UNCANCEL", "CANCEL", "UPDATE",
                                                          "CREATE"]
        page = await execute(runtime, PERSONS, {"region": "320000", "first": 5})
        rest = await execute(runtime, PERSONS, {"region": "320000", "first": 50,
                                                "after": page["persons"]["pageInfo"]["endCursor"]})
        uids = [e["node"]["uid"] for e in page["persons"]["edges"] + rest["persons"]["edges"]]
        assert len(uids) == len(set(uids)) == 12
    finally:
        await runtime.engine.dispose()
        await drop_pg_database(url)
