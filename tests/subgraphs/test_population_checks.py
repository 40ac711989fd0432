"""Data-quality checks (数据核查) of the population subgraph: every rule finds its crafted fault and stays silent on
a clean record; a bad write opens an item that the fixing write clears (自动消除); the CHECK_OPEN cards always
equal a rebuild from the items; national feedback clears at the next edit; the batch job finds the invalid ID
numbers and changes nothing when run again; the data scope of every field."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from identity_callers import caller_of, system_caller
from sqlalchemy import func, select, update
from support import create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.validators import is_valid_resident_id, make_resident_id, parse_resident_id
from subgraphs.population import models
from subgraphs.population.app import definition
from subgraphs.population.domain import checks, tally
from subgraphs.population.domain.changes import person_written, snapshot
from subgraphs.population.domain.rules import PERSON_RULES, PersonContext
from subgraphs.population.graphql import checks as checks_api
from subgraphs.population.jobs import checks as job

NANJING_STREET, SUZHOU_STREET = "320102001", "320505001"
TODAY = date(2026, 6, 1)
_sequence = itertools.count(611, 2)  # odd: male ID numbers; +1 gives a female one


def id_number(born: date, sex: str, region: str = "320102") -> str:
    return make_resident_id(region, born, next(_sequence) + (1 if sex == "FEMALE" else 0))


def new_person(*, sex: str = "MALE", born: date = date(1985, 4, 12), region: str = NANJING_STREET,
               **fields: Any) -> models.Person:
    """A clean person row (every column set, as the database would hand it back)."""
    number = fields.pop("id_number", None) or id_number(born, sex, region[:6])
    values: dict[str, Any] = dict(
        uid="T" + uuid.uuid4().hex[:20].upper(), person_no="RY" + uuid.uuid4().hex[:10], identity_code=number,
        identity_kind="RESIDENT", id_number=number, other_id_number=None, name="张建国", sex=sex, birth_date=born,
        ethnicity="01", marital_status="UNMARRIED", hukou_type=None, education=None,
        person_type="HOUSEHOLD_REGISTERED", mobility="RESIDENT", occupation=None, phone="13812345678",
        household_region_code=region, residence_region_code=region, management_region_code=region,
        household_address=None, residence_address=None, household_no=None, relation_to_head=None,
        children_count=0, boys_count=0, youngest_child_birth_date=None, status="NORMAL", deleted=False,
        cancelled_on=None, cancel_reason=None, death_date=None, created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=None, version=1)
    values.update(fields)
    return models.Person(**values)


def marriage(kind: str, day: date, **fields: Any) -> models.MarriageEvent:
    return models.MarriageEvent(id=str(uuid.uuid4()), person_uid="x", kind=kind, event_date=day, deleted=False,
                                created_at=datetime(2026, 1, 1, tzinfo=UTC), **fields)


def child(sex: str, born: date, order: int = 1, **fields: Any) -> models.Child:
    values: dict[str, Any] = dict(id=str(uuid.uuid4()), parent_uid="x", child_uid=None, name=None, sex=sex,
                                  birth_date=born, id_number=None, blood_relation="BIRTH", birth_order=order,
                                  source="MANUAL", region_code=NANJING_STREET, deleted=False,
                                  created_at=datetime(2026, 1, 1, tzinfo=UTC))
    values.update(fields)
    return models.Child(**values)


def death(day: date, status: str = "SYNCED") -> models.DeathRecord:
    return models.DeathRecord(id=str(uuid.uuid4()), person_uid="x", name="张建国", source="POLICE", death_date=day,
                              routed_by="HOUSEHOLD", status=status, created_at=datetime(2026, 1, 1, tzinfo=UTC))


CONTEXT = PersonContext(today=TODAY)


def wrong_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


# (rule id, what the detail says, the fields that break a clean person, the context)
CLEAN_ID = make_resident_id("320102", date(1985, 4, 12), 11)  # a man born 1985-04-12 in 320102
CASES: list[tuple[str, str, dict[str, Any], PersonContext]] = [
    ("DQ-01", "校验码", {"id_number": wrong_check_digit(CLEAN_ID)}, CONTEXT),
    ("DQ-01", "升位", {"id_number": "320102850412011"}, CONTEXT),
    ("DQ-01", "出生日期", {"id_number": make_resident_id("320102", date(2030, 1, 1), 7)}, CONTEXT),
    ("DQ-01-REL", "配偶", {}, replace(CONTEXT, marriages=(
        marriage("FIRST_MARRIAGE", date(2010, 1, 1), spouse_id_number="320102199001011235"),))),
    ("DQ-02-SEX", "性别为女", {"sex": "FEMALE"}, CONTEXT),
    ("DQ-02-DOB", "不符", {"birth_date": date(1985, 4, 13)}, CONTEXT),
    ("DQ-04-IDC", "身份证号码", {"identity_code": "O320102198504121001"}, CONTEXT),
    ("DQ-04-IDC", "以 B 开头", {"identity_kind": "NEWBORN", "id_number": None}, CONTEXT),
    ("DQ-06", "应为已婚", {}, replace(CONTEXT, marriages=(marriage("FIRST_MARRIAGE", date(2010, 5, 1)),))),
    ("DQ-06", "无婚姻历史", {"marital_status": "MARRIED"}, CONTEXT),
    ("DQ-06", "应为离异", {"marital_status": "MARRIED"}, replace(CONTEXT, marriages=(
        marriage("FIRST_MARRIAGE", date(2010, 5, 1)), marriage("DIVORCE", date(2015, 1, 1))))),
    ("DQ-07", "孩子数为1", {"children_count": 1}, CONTEXT),
    ("DQ-07", "男孩", {"children_count": 1, "youngest_child_birth_date": date(2012, 1, 1)},
     replace(CONTEXT, children=(child("MALE", date(2012, 1, 1)),))),
    ("DQ-09", "15位数字", {"household_no": "32010200001"}, CONTEXT),
    ("DQ-09", "前6位", {"household_no": "320505000000001"}, CONTEXT),
    ("DQ-10", "村级", {"residence_region_code": "320102"}, CONTEXT),
    ("DQ-11", "已失效", {}, replace(CONTEXT, outdated_regions=frozenset({NANJING_STREET}))),
    ("DQ-17", "之后仍有婚姻", {"status": "DEAD", "death_date": date(2020, 1, 1), "marital_status": "MARRIED"},
     replace(CONTEXT, marriages=(marriage("FIRST_MARRIAGE", date(2021, 5, 1)),))),
    ("DQ-18", "性别", {}, replace(CONTEXT, birth_records=(child("FEMALE", date(1985, 4, 12)),))),
    ("DQ-18", "出生日期", {}, replace(CONTEXT, birth_records=(child("MALE", date(1985, 4, 11)),))),
    ("DQ-20", "姓名", {"name": "  "}, CONTEXT),
    ("DQ-20", "身份证号码", {"id_number": None}, CONTEXT),
    ("DQ-20", "注销原因", {"status": "CANCELLED", "cancelled_on": date(2025, 1, 1)}, CONTEXT),
    ("DQ-21", "流动状态", {"mobility": "FLYING"}, CONTEXT),
    ("DQ-21", "联系电话", {"phone": "12345"}, CONTEXT),
    ("DQ-22", "仍为正常", {}, replace(CONTEXT, death_records=(death(date(2025, 3, 1)),))),
    ("DQ-22", "不符", {"status": "DEAD", "death_date": date(2025, 3, 2)},
     replace(CONTEXT, death_records=(death(date(2025, 3, 1)),))),
    ("DQ-23", "U+FFFD", {"name": "张\ufffd国"}, CONTEXT),
    ("DQ-23", "乱码", {"residence_address": "南京市玄武区锟斤拷路1号"}, CONTEXT),
    ("DQ-23", "空格", {"name": "张 建国"}, CONTEXT),
    ("DQ-24", "晚于今天", {"status": "DEAD", "death_date": date(2027, 1, 1)}, CONTEXT),
    ("DQ-24", "早于1900", {}, replace(CONTEXT, marriages=(marriage("FIRST_MARRIAGE", date(1899, 5, 1)),))),
    ("DQ-25", "民族", {"ethnicity": "99"}, CONTEXT),
    ("DQ-25", "婚姻状况", {"marital_status": "SINGLE"}, CONTEXT),
    ("DQ-26", "超过64", {"name": "张" * 65}, CONTEXT),
    ("DQ-26", "截断", {"name": "张"}, CONTEXT),
    ("EX-01", "早于出生日期", {"status": "DEAD", "death_date": date(1980, 1, 1)}, CONTEXT),
    ("EX-02", "疑似死亡未注销", {"birth_date": date(1904, 1, 1)}, CONTEXT),
    ("EX-03", "不满12周岁", {}, replace(CONTEXT, children=(child("MALE", date(1995, 1, 1)),))),
    ("EX-04", "同性别", {"marital_status": "MARRIED"}, replace(CONTEXT, marriages=(
        marriage("FIRST_MARRIAGE", date(2010, 5, 1), spouse_id_number=make_resident_id("320102", date(1986, 1, 1),
                                                                                       13)),))),
]


def test_every_person_rule_has_a_case() -> None:
    assert {rule.id for rule in PERSON_RULES} == {case[0] for case in CASES}


def test_a_clean_person_passes_every_rule() -> None:
    person = new_person()
    findings, evaluated = checks.evaluate(person, CONTEXT)
    assert findings == {}
    assert evaluated == {rule.id for rule in PERSON_RULES}
    # A township-level region without an address is fine (DQ-10 asks for village precision only when the region
    # itself is coarser than a township), and so is a consistent family.
    married = new_person(sex="FEMALE", marital_status="MARRIED", children_count=2, boys_count=1,
                         youngest_child_birth_date=date(2015, 2, 1), household_no="320102000000042",
                         residence_region_code="320102", residence_address="南京市玄武区珠江路1号")
    family = replace(CONTEXT, marriages=(
        marriage("FIRST_MARRIAGE", date(2008, 1, 1), spouse_id_number=id_number(date(1983, 1, 1), "MALE")),
        marriage("DIVORCE", date(2011, 1, 1)), marriage("REMARRIAGE", date(2012, 1, 1))),
        children=(child("FEMALE", date(2009, 3, 1)), child("MALE", date(2015, 2, 1), 2)))
    assert checks.evaluate(married, family)[0] == {}


@pytest.mark.parametrize(("rule_id", "expected", "fields", "context"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_finds_its_fault(rule_id: str, expected: str, fields: dict[str, Any], context: PersonContext) -> None:
    person = new_person(id_number=CLEAN_ID)
    for name, value in fields.items():
        setattr(person, name, value)
    findings, _ = checks.evaluate(person, context)
    assert rule_id in findings, findings
    assert expected in findings[rule_id]
    # Details never carry a full ID number.
    for number in (person.id_number, *(e.spouse_id_number for e in context.marriages)):
        if number and len(number) == 18:
            assert number not in findings[rule_id]


def test_rule_registry_has_dimensions_categories_and_descriptions() -> None:
    for rule in checks_api.RULES:
        assert rule.description and rule.description_en and rule.covers
    assert {r.category.value for r in checks_api.RULES} >= {
        "ID_NUMBER_ERROR", "SEX_ERROR", "DEATH_ANOMALY", "NATIONAL_MARRIAGE_FEEDBACK", "NATIONAL_BASIC_FEEDBACK",
        "DUPLICATE"}


# --- writes, on a database of its own ------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def rt(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    path: Path = tmp_path_factory.mktemp("checks") / "population.db"
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{path}",
                                 seed_options=SeedOptions(seed=20260101, persons=40))
    yield runtime
    await runtime.engine.dispose()


async def create(rt: Runtime, person: models.Person) -> str:
    async with rt.sessions() as session, session.begin():
        session.add(person)
        await session.flush()
        await person_written(session, person, actor="clerk-a", action="CREATE", before=None)
    return person.uid


async def edit(rt: Runtime, uid: str, actor: str = "clerk-b", **changes: Any) -> None:
    async with rt.sessions() as session, session.begin():
        row = await session.get(models.Person, uid)
        assert row is not None
        before = snapshot(row)
        for name, value in changes.items():
            setattr(row, name, value)
        await person_written(session, row, actor=actor, action="UPDATE", before=before)


async def items_of(rt: Runtime, uid: str) -> dict[str, models.CheckItem]:
    async with rt.sessions() as session:
        rows = await session.scalars(select(models.CheckItem).where(models.CheckItem.person_uid == uid))
        return {row.rule_id: row for row in rows}


COUNTS = """query($region: ID!) { checkItemCounts(regionCode: $region) {
  regionCode total categories { category label openCount } } }"""


async def cards(rt: Runtime, region: str, caller: Any = None) -> dict[str, int]:
    data = await execute(rt, COUNTS, {"region": region}, caller=caller)
    return {c["category"]: c["openCount"] for c in data["checkItemCounts"]["categories"] if c["openCount"]}


async def open_tallies(rt: Runtime) -> dict[tuple[str, str], int]:
    W = models.WorkTally
    async with rt.sessions() as session:
        rows = await session.execute(select(W.region_code, W.detail, W.count)
                                     .where(W.kind == tally.CHECK_OPEN, W.count != 0))
        return {(region, detail): int(count) for region, detail, count in rows}


async def rebuilt_tallies(rt: Runtime) -> dict[tuple[str, str], int]:
    """CHECK_OPEN as tally.rebuild computes it from the items (rolled back: the live tallies stay)."""
    W = models.WorkTally
    async with rt.sessions() as session, session.begin():
        await tally.rebuild(session)
        rows = await session.execute(select(W.region_code, W.detail, W.count)
                                     .where(W.kind == tally.CHECK_OPEN, W.count != 0))
        found = {(region, detail): int(count) for region, detail, count in rows}
        await session.rollback()
    return found


async def test_a_bad_write_opens_an_item_and_the_fixing_write_clears_it(rt: Runtime) -> None:
    before = await cards(rt, "320102")
    uid = await create(rt, new_person())
    assert await items_of(rt, uid) == {}

    await edit(rt, uid, sex="FEMALE")  # the ID number says male
    item = (await items_of(rt, uid))["DQ-02-SEX"]
    assert (item.status, item.category, item.region_code) == ("OPEN", "SEX_ERROR", NANJING_STREET)
    assert "性别为女" in item.detail
    # The card of every level above the person counts it: county, city, province.
    assert (await cards(rt, "320102")).get("SEX_ERROR", 0) == before.get("SEX_ERROR", 0) + 1
    assert (await cards(rt, "320100"))["SEX_ERROR"] >= 1 and (await cards(rt, "320000"))["SEX_ERROR"] >= 1
    data = await execute(rt, 'query($uid: ID!) { person(uid: $uid) { checkItems { ruleId category status } } }',
                         {"uid": uid})
    assert data["person"]["checkItems"] == [{"ruleId": "DQ-02-SEX", "category": "SEX_ERROR", "status": "OPEN"}]

    await edit(rt, uid, actor="clerk-c", sex="MALE")  # 处理: the record is fixed
    item = (await items_of(rt, uid))["DQ-02-SEX"]
    assert (item.status, item.resolved_by) == ("RESOLVED", "clerk-c")
    assert item.resolved_at is not None
    assert await cards(rt, "320102") == before

    # Broken again: the same row is reopened, not a second one.
    await edit(rt, uid, sex="FEMALE")
    items = await items_of(rt, uid)
    assert list(items) == ["DQ-02-SEX"] and items["DQ-02-SEX"].status == "OPEN"
    assert items["DQ-02-SEX"].resolved_at is None
    assert await open_tallies(rt) == await rebuilt_tallies(rt)


async def test_items_follow_the_person_to_its_new_management_region(rt: Runtime) -> None:
    uid = await create(rt, new_person(phone="12345"))
    assert (await items_of(rt, uid))["DQ-21"].region_code == NANJING_STREET
    suzhou_before = await cards(rt, "320500")
    await edit(rt, uid, management_region_code=SUZHOU_STREET)
    assert (await items_of(rt, uid))["DQ-21"].region_code == SUZHOU_STREET
    assert (await cards(rt, "320500")).get("INVALID_VALUE", 0) == suzhou_before.get("INVALID_VALUE", 0) + 1
    assert await open_tallies(rt) == await rebuilt_tallies(rt)


async def test_tallies_equal_a_rebuild_after_a_sequence_of_writes(rt: Runtime) -> None:
    male_number = id_number(date(1985, 4, 12), "MALE")
    uid = await create(rt, new_person(sex="FEMALE", id_number=male_number, ethnicity="99", phone="1"))  # 3 rules
    other = await create(rt, new_person(region=SUZHOU_STREET, name="李\ufffd"))
    await edit(rt, uid, ethnicity="01")
    await edit(rt, other, management_region_code=NANJING_STREET, marital_status="MARRIED")
    await edit(rt, uid, phone="13900000000", management_region_code="320505002")
    await edit(rt, other, deleted=True)  # a deleted person keeps no open item
    assert all(i.status == "RESOLVED" for i in (await items_of(rt, other)).values())
    assert (await items_of(rt, uid))["DQ-02-SEX"].status == "OPEN"
    assert await open_tallies(rt) == await rebuilt_tallies(rt)


async def test_a_write_costs_a_few_indexed_queries(rt: Runtime) -> None:
    from support import count_statements

    uid = await create(rt, new_person())
    async with rt.sessions() as session, session.begin():
        row = await session.get(models.Person, uid)
        assert row is not None
        with count_statements(rt) as statements:
            await checks.recheck(session, row, actor="clerk")
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 5
    assert not [s for s in statements if not s.lstrip().upper().startswith("SELECT")]


FEEDBACK = """mutation($input: NationalFeedbackInput!) { recordNationalFeedback(input: $input) {
  id ruleId category status detail region { code } person { uid } } }"""
START = "mutation($id: ID!) { startCheckItem(id: $id) { id status } }"


async def test_national_feedback_is_cleared_by_the_next_edit(rt: Runtime) -> None:
    number = id_number(date(1979, 9, 9), "FEMALE")
    uid = await create(rt, new_person(sex="FEMALE", born=date(1979, 9, 9), id_number=number))
    variables = {"input": {"idNumber": number, "kind": "MARRIAGE",
                           "detail": f"国家平台：{number} 婚姻状况与民政登记不符"}}
    item = (await execute(rt, FEEDBACK, variables, caller=system_caller(checks_api.FEEDBACK_SCOPE)))[
        "recordNationalFeedback"]
    assert (item["category"], item["status"]) == ("NATIONAL_MARRIAGE_FEEDBACK", "OPEN")
    assert item["person"] is None  # the feeding system has no data scope: it sees no personal record
    seen = await execute(rt, "query($id: ID!) { checkItem(id: $id) { person { uid } } }", {"id": item["id"]})
    assert seen["checkItem"]["person"]["uid"] == uid
    assert number not in item["detail"] and number[:6] in item["detail"]
    assert (await execute(rt, START, {"id": item["id"]}))["startCheckItem"]["status"] == "IN_PROGRESS"
    assert (await cards(rt, NANJING_STREET)).get("NATIONAL_MARRIAGE_FEEDBACK", 0) >= 1

    # A batch pass does not clear it (the record has not been edited since the feedback) ...
    async with rt.sessions() as session, session.begin():
        row = await session.get(models.Person, uid)
        assert row is not None
        await checks.recheck(session, row, actor="batch")
    assert (await items_of(rt, uid))["NF-MARRIAGE"].status == "IN_PROGRESS"
    # ... the 处理 does: an edit of the person after the feedback.
    await edit(rt, uid, actor="clerk-d", phone="13911112222")
    item_row = (await items_of(rt, uid))["NF-MARRIAGE"]
    assert (item_row.status, item_row.resolved_by) == ("RESOLVED", "clerk-d")
    errors = await errors_of(rt, START, {"id": item["id"]})
    assert errors[0].extensions["code"] == "INVALID_STATE"

    # New feedback reopens the row; anonymous development callers may send it too.
    again = (await execute(rt, FEEDBACK, {"input": {**variables["input"], "kind": "MARRIAGE"}}))[
        "recordNationalFeedback"]
    assert again["id"] == item["id"] and again["status"] == "OPEN"
    assert await open_tallies(rt) == await rebuilt_tallies(rt)


async def test_national_feedback_needs_its_scope_and_a_known_person(rt: Runtime,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    number = id_number(date(1970, 1, 1), "MALE")
    variables = {"input": {"idNumber": number, "kind": "BASIC", "detail": "出生日期有误"}}
    errors = await errors_of(rt, FEEDBACK, variables, caller=system_caller("graph:read"))
    assert errors[0].extensions["code"] == "FORBIDDEN"
    errors = await errors_of(rt, FEEDBACK, variables, caller=system_caller(checks_api.FEEDBACK_SCOPE))
    assert errors[0].extensions["code"] == "NOT_FOUND"
    monkeypatch.delenv("JSHEALTH_ANONYMOUS_SCOPE", raising=False)
    errors = await errors_of(rt, FEEDBACK, variables)
    assert errors[0].extensions["code"] == "FORBIDDEN"


CONFIRM = "mutation($id: ID!, $reason: String!) { confirmCheckItem(id: $id, reason: $reason) { id status } }"


async def test_a_reviewable_finding_can_be_confirmed_and_stays_confirmed(rt: Runtime) -> None:
    born = date(1905, 3, 3)
    uid = await create(rt, new_person(born=born, id_number=id_number(born, "MALE"), phone="1"))
    items = await items_of(rt, uid)
    assert {"EX-02", "DQ-21"} <= set(items)
    errors = await errors_of(rt, CONFIRM, {"id": items["DQ-21"].id, "reason": "核实无误"})
    assert errors[0].extensions["code"] == "INVALID_STATE"  # a wrong phone number is fixed, not confirmed
    errors = await errors_of(rt, CONFIRM, {"id": items["EX-02"].id, "reason": " "})
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    confirmed = (await execute(rt, CONFIRM, {"id": items["EX-02"].id, "reason": "入户核实，本人健在"}))
    assert confirmed["confirmCheckItem"]["status"] == "RESOLVED"
    await edit(rt, uid, phone="13800001111")  # the next write re-runs the rules: the confirmation stands
    items = await items_of(rt, uid)
    assert items["EX-02"].status == "RESOLVED" and (items["EX-02"].resolved_by or "").startswith("confirmed:")
    assert items["DQ-21"].status == "RESOLVED"
    async with rt.sessions() as session:
        history = await session.scalar(select(models.PersonHistory.comment).where(
            models.PersonHistory.person_uid == uid, models.PersonHistory.action == "CHECK_CONFIRM"))
    assert history == "入户核实，本人健在"
    assert await open_tallies(rt) == await rebuilt_tallies(rt)


ITEMS = """query($region: ID!, $category: CheckCategory, $status: CheckStatus, $after: String) {
  checkItems(regionCode: $region, category: $category, status: $status, first: 2, after: $after) {
    edges { node { id ruleId category status region { code } } } pageInfo { hasNextPage endCursor } } }"""


async def test_check_items_pages_and_filters_within_the_data_scope(rt: Runtime) -> None:
    for _ in range(3):
        await create(rt, new_person(region="320102002", ethnicity="77"))
    seen: list[str] = []
    after = None
    while True:
        page = (await execute(rt, ITEMS, {"region": "320102002", "category": "INVALID_VALUE",
                                          "after": after}))["checkItems"]
        seen += [e["node"]["id"] for e in page["edges"]]
        assert all(e["node"]["category"] == "INVALID_VALUE" for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) >= 3

    nanjing = caller_of("usr-nj", region="320100", data_scope="OWN_ORG")
    suzhou = caller_of("usr-sz", region="320500", data_scope="OWN_ORG")
    assert (await execute(rt, ITEMS, {"region": "320102002"}, caller=nanjing))["checkItems"]["edges"]
    errors = await errors_of(rt, ITEMS, {"region": "320102002"}, caller=suzhou)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    errors = await errors_of(rt, COUNTS, {"region": "320100"}, caller=caller_of("usr-none"))
    assert errors[0].extensions["code"] == "FORBIDDEN"
    errors = await errors_of(rt, START, {"id": seen[0]}, caller=suzhou)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    # A province-wide card request from a city user is narrowed to the city.
    counts = (await execute(rt, COUNTS, {"region": "320000"}, caller=nanjing))["checkItemCounts"]
    assert counts["regionCode"] == "320100"
    assert [c["category"] for c in counts["categories"]][:5] == [
        "ID_NUMBER_ERROR", "SEX_ERROR", "DEATH_ANOMALY", "NATIONAL_MARRIAGE_FEEDBACK", "NATIONAL_BASIC_FEEDBACK"]


async def test_check_rules_lists_the_registry(rt: Runtime) -> None:
    data = await execute(rt, "{ checkRules { id dimension dimensionLabel category categoryLabel description "
                             "descriptionEn covers runsOnWrite } }")
    rules = {r["id"]: r for r in data["checkRules"]}
    assert rules["DQ-01"]["category"] == "ID_NUMBER_ERROR" and rules["DQ-01"]["runsOnWrite"]
    assert rules["DQ-32"]["dimension"] == "UNIQUENESS" and not rules["DQ-32"]["runsOnWrite"]
    assert rules["NF-BASIC"]["categoryLabel"] == "国家反馈人口基础信息"


RUN = "mutation($region: ID!) { runDataChecks(regionCode: $region) { status personsChecked itemsOpened } }"


async def test_run_data_checks_through_graphql_is_for_small_regions(rt: Runtime,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    run = (await execute(rt, RUN, {"region": NANJING_STREET}))["runDataChecks"]
    assert run["status"] == "SUCCEEDED" and run["personsChecked"] >= 1
    monkeypatch.setattr(checks_api, "MAX_GRAPHQL_RUN_PERSONS", 2)
    errors = await errors_of(rt, RUN, {"region": "320000"})
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert "jobs.checks --region 320000" in errors[0].message
    errors = await errors_of(rt, RUN, {"region": "320000"}, caller=caller_of("usr-nj", region="320100",
                                                                             data_scope="OWN_ORG"))
    assert errors[0].extensions["code"] == "FORBIDDEN"
    runs = (await execute(rt, "{ checkRuns(first: 5) { status personsChecked } }"))["checkRuns"]
    assert runs and runs[0]["status"] == "SUCCEEDED"


# --- the batch job ----------------------------------------------------------------------------------------------


async def invalid_id_persons(rt: Runtime) -> set[str]:
    async with rt.sessions() as session:
        rows = await session.execute(select(models.Person.uid, models.Person.id_number)
                                     .where(models.Person.deleted.is_(False)))
        # A legacy 15-digit number is legal but is to be converted: DQ-01 reports it too.
        return {uid for uid, number in rows if number and (len(number) != 18 or not is_valid_resident_id(number))}


async def wrong_sex_persons(rt: Runtime) -> set[str]:
    """Persons whose (valid) ID number says the other sex: the seed makes some (a flipped sex digit)."""
    async with rt.sessions() as session:
        rows = await session.execute(select(models.Person.uid, models.Person.id_number, models.Person.sex)
                                     .where(models.Person.deleted.is_(False)))
        return {uid for uid, number, sex in rows if number and is_valid_resident_id(number)
                and parse_resident_id(number).sex != sex}


async def open_items(rt: Runtime, rule_id: str) -> set[str]:
    K = models.CheckItem
    async with rt.sessions() as session:
        return set(await session.scalars(select(K.person_uid).where(K.rule_id == rule_id,
                                                                    K.status.in_(("OPEN", "IN_PROGRESS")))))


async def latest_run(rt: Runtime) -> models.CheckRun:
    async with rt.sessions() as session:
        run = await session.scalar(select(models.CheckRun).order_by(models.CheckRun.started_at.desc()).limit(1))
        assert run is not None
        return run


async def test_the_batch_job_finds_invalid_id_numbers_and_duplicates_and_is_idempotent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'batch.db'}"
    runtime = await make_runtime(definition, url, seed_options=SeedOptions(seed=20260101, persons=250))
    try:
        P = models.Person
        async with runtime.sessions() as session, session.begin():
            residents = await session.execute(select(P.uid, P.id_number).where(P.identity_kind == "RESIDENT")
                                              .order_by(P.uid).limit(20))
            uids = [uid for uid, number in residents if number and is_valid_resident_id(number)
                    and number[6:8] == "19"][:5]
            # Bad data as an import leaves it, behind the write path's back: two broken check digits, and a
            # second record of the same person (same name, birth date, ethnicity, another ID number).
            originals = {}
            for uid in uids[:2]:
                originals[uid] = number = await session.scalar(select(P.id_number).where(P.uid == uid))
                await session.execute(update(P).where(P.uid == uid).values(id_number=wrong_check_digit(number or "")))
            first = await session.get(P, uids[2])
            assert first is not None
            await session.execute(update(P).where(P.uid == uids[3]).values(
                name=first.name, birth_date=first.birth_date, ethnicity=first.ethnicity))
            # The same person entered again under the legacy 15-digit form of its number (DQ-16), and a child
            # record carrying that person's number without being linked to it (DQ-03).
            fifth = await session.get(P, uids[4])
            assert fifth is not None and fifth.id_number is not None
            legacy = new_person(id_number=fifth.id_number[:6] + fifth.id_number[8:17], sex=fifth.sex,
                                born=fifth.birth_date)
            session.add(legacy)
            session.add(child(fifth.sex, fifth.birth_date, parent_uid=uids[2], id_number=fifth.id_number))
        invalid, wrong_sex = await invalid_id_persons(runtime), await wrong_sex_persons(runtime)
        assert set(uids[:2]) <= invalid
        async with runtime.sessions() as session:
            persons = int(await session.scalar(select(func.count()).select_from(P)) or 0)

        monkeypatch.setenv("DATABASE_URL", url)
        assert await job.amain(["--quiet", "--batch", "64"]) == 0
        run = await latest_run(runtime)
        assert (run.status, run.persons_checked) == ("SUCCEEDED", persons)
        assert run.items_opened >= len(invalid) + 2
        # Every invalid number (the seed's 0.5-1 % and the two broken here) is an ID_NUMBER_ERROR item; a number
        # whose sex digit contradicts the sex is a SEX_ERROR one.
        assert await open_items(runtime, "DQ-01") == invalid
        assert await open_items(runtime, "DQ-02-SEX") == wrong_sex
        K = models.CheckItem
        async with runtime.sessions() as session:
            categories = set(await session.scalars(select(K.category).where(K.rule_id == "DQ-01")))
        assert categories == {"ID_NUMBER_ERROR"}
        assert {uids[2], uids[3]} <= await open_items(runtime, "DQ-32")
        assert {uids[4], legacy.uid} <= await open_items(runtime, "DQ-16")
        assert uids[4] in await open_items(runtime, "DQ-03")
        assert legacy.uid in await open_items(runtime, "DQ-01")  # a legacy number is to be converted
        assert (await cards(runtime, "320000"))["ID_NUMBER_ERROR"] >= len(invalid)

        # Run again: nothing changes.
        async with runtime.sessions() as session:
            item_count = int(await session.scalar(select(func.count()).select_from(K)) or 0)
        assert await job.amain(["--quiet"]) == 0
        again = await latest_run(runtime)
        assert (again.status, again.items_opened, again.items_resolved) == ("SUCCEEDED", 0, 0)
        async with runtime.sessions() as session:
            assert int(await session.scalar(select(func.count()).select_from(K)) or 0) == item_count
        assert await open_tallies(runtime) == await rebuilt_tallies(runtime)

        # Fixed behind its back too: the next run (here one region's) clears what it finds fixed.
        async with runtime.sessions() as session, session.begin():
            await session.execute(update(P).where(P.uid == uids[0]).values(id_number=originals[uids[0]]))
            region = await session.scalar(select(P.management_region_code).where(P.uid == uids[0]))
            await session.execute(update(P).where(P.uid == uids[3]).values(name=first.name + "华"))
        assert region is not None
        assert await job.amain(["--quiet", "--region", region]) == 0
        third = await latest_run(runtime)
        assert third.items_resolved >= 1 and uids[0] not in await open_items(runtime, "DQ-01")
        assert await open_tallies(runtime) == await rebuilt_tallies(runtime)
        assert await job.amain(["--quiet"]) == 0
        assert uids[3] not in await open_items(runtime, "DQ-32")
        assert uids[2] not in await open_items(runtime, "DQ-32")
        assert await open_tallies(runtime) == await rebuilt_tallies(runtime)
    finally:
        await runtime.engine.dispose()


async def test_a_seed_can_check_its_records_in_its_own_transaction(tmp_path: Path) -> None:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'seeded.db'}",
                                 seed_options=SeedOptions(seed=20260101, persons=120))
    try:
        async with runtime.sessions() as session, session.begin():
            run = await job.check_in_session(session)
        assert (run.status, run.persons_checked) == ("SUCCEEDED", 120)
        assert await open_items(runtime, "DQ-01") == await invalid_id_persons(runtime)
        assert await open_tallies(runtime) == await rebuilt_tallies(runtime)
        again = await job.run_checks(runtime.sessions)
        assert (again.items_opened, again.items_resolved) == (0, 0)
    finally:
        await runtime.engine.dispose()


# --- PostgreSQL ------------------------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_write_flow_and_batch_on_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    url = await create_pg_database("jshealth_checks")
    try:
        pg = await make_runtime(definition, url, seed_options=SeedOptions(seed=20260101, persons=60))
        try:
            uid = await create(pg, new_person())
            await edit(pg, uid, sex="FEMALE", phone="123")
            assert {"DQ-02-SEX", "DQ-21"} <= set(await items_of(pg, uid))
            await edit(pg, uid, sex="MALE", phone=None)
            assert all(i.status == "RESOLVED" for i in (await items_of(pg, uid)).values())
            await execute(pg, FEEDBACK, {"input": {"idNumber": (await pg_number(pg, uid)), "kind": "BASIC",
                                                   "detail": "民族与国家库不符"}})
            monkeypatch.setenv("DATABASE_URL", url)
            assert await job.amain(["--quiet"]) == 0
            assert await job.amain(["--quiet"]) == 0
            run = await latest_run(pg)
            assert (run.status, run.items_opened, run.items_resolved) == ("SUCCEEDED", 0, 0)
            await edit(pg, uid, phone="13700000000")
            assert (await items_of(pg, uid))["NF-BASIC"].status == "RESOLVED"
            assert await open_tallies(pg) == await rebuilt_tallies(pg)
        finally:
            await pg.engine.dispose()
    finally:
        await drop_pg_database(url)


async def pg_number(rt: Runtime, uid: str) -> str:
    async with rt.sessions() as session:
        number = await session.scalar(select(models.Person.id_number).where(models.Person.uid == uid))
    assert number is not None
    return number
