"""services: the guides (办事指南) as applicants read them: one for every business item, the local variants
found region → county → city → province, 情形引导 choosing the case and its materials, and the working-day
arithmetic behind the promised time limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from support import count_statements, errors_of, execute

from subgraphs.common.app import Runtime
from subgraphs.services import models
from subgraphs.services.app import definition
from subgraphs.services.domain.guides import add_working_days, is_working_day, promised_due
from subgraphs.services.seed_catalogue import seed_catalogue

CHINA = ZoneInfo("Asia/Shanghai")
GUIDE = """query($id: ID!, $region: String) { serviceGuide(businessItemId: $id, regionCode: $region) {
    id regionCode conditions legalBasis free fees { name amount basis } statutoryDays promisedDays
    steps { name actor days } halls { code name regionCode address hours phone }
    scenarios { code question options { code answer kind businessItemId materialCodes } }
    materials { code name templateUrl source mandatory licenceType kinds }
    businessItem { id name } } }"""
SCENARIO = """query($id: ID!, $region: String, $answers: [ScenarioAnswerInput!]) {
  guideScenario(businessItemId: $id, regionCode: $region, answers: $answers) {
    kind businessItem { id name kind } guide { id regionCode }
    materials { code name licenceType mandatory } unanswered { code } } }"""


async def runtime_of(sqlite_runtime: Any) -> Runtime:
    runtime: Runtime = await sqlite_runtime(definition)
    async with runtime.sessions() as session:
        seeded = await session.scalar(select(func.count()).select_from(models.ServiceGuide))
    if not seeded:  # before seed.py called the catalogue's seed; a no-op once it does
        async with runtime.sessions() as session, session.begin():
            await seed_catalogue(session, datetime(2026, 1, 1, tzinfo=UTC))
    return runtime


async def guide(runtime: Runtime, business_item_id: str, region: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = (await execute(runtime, GUIDE, {"id": business_item_id, "region": region}))[
        "serviceGuide"]
    return result


async def scenario(runtime: Runtime, business_item_id: str, region: str | None = None,
                   **answers: str) -> dict[str, Any]:
    variables = {"id": business_item_id, "region": region,
                 "answers": [{"question": q, "option": o} for q, o in answers.items()]}
    result: dict[str, Any] = (await execute(runtime, SCENARIO, variables))["guideScenario"]
    return result


# --- the guides --------------------------------------------------------------------------------------


async def test_every_business_item_has_a_province_guide_with_sane_time_limits(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    async with runtime.sessions() as session:
        guides = (await session.scalars(select(models.ServiceGuide))).all()
        materials = (await session.scalars(select(models.MaterialRequirement))).all()
    province = {g.business_item_id for g in guides if g.region_code == "320000"}
    assert len(province) == 269
    assert all(0 < g.promised_days < g.statutory_days for g in guides)
    assert all(sum(step["days"] for step in g.steps) == g.promised_days for g in guides)
    assert all(g.legal_basis and g.conditions and g.halls for g in guides)
    assert all(m.template_url in (None, f"/templates/{m.code}.docx") for m in materials)
    assert {m.source for m in materials} == {"APPLICANT", "GOVERNMENT", "OTHER"}
    # City variants for the city-level business items in 南京, 无锡 and 苏州; county ones in 昆山.
    assert {g.region_code for g in guides} == {"320000", "320100", "320200", "320500", "320583"}


async def test_a_guide_reads_like_the_provinces_own(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    nurse = await guide(runtime, "bi-006-03")
    assert nurse["regionCode"] == "320000" and nurse["businessItem"]["name"] == "护士执业注册(首次注册)"
    assert "《护士条例》（国务院令第517号）" in nurse["legalBasis"]
    assert "《中华人民共和国行政许可法》" in nurse["legalBasis"]
    assert (nurse["statutoryDays"], nurse["promisedDays"], nurse["free"], nurse["fees"]) == (20, 10, True, [])
    assert [s["name"] for s in nurse["steps"]] == ["申请", "受理", "审查", "决定", "制证"]
    assert nurse["halls"][0]["code"] == "hall-320000"
    assert nurse["materials"][0] == {
        "code": "bi-006-03-01", "name": "护士执业注册(首次注册)申请表", "templateUrl": "/templates/bi-006-03-01.docx",
        "source": "APPLICANT", "mandatory": True, "licenceType": None, "kinds": []}
    # Institutions: the 45 days of the regulation, a site check, the licence as a material for 校验.
    validation = await guide(runtime, "bi-009-01")
    assert validation["statutoryDays"] == 45 and "现场核查" in [s["name"] for s in validation["steps"]]
    assert any(m["licenceType"] == "MEDICAL_INSTITUTION_PRACTICE" for m in validation["materials"])
    assert (await guide(runtime, "bi-043-01"))["free"] is False  # the exam fee
    filing = await guide(runtime, "bi-066-01")
    assert (filing["statutoryDays"], [s["name"] for s in filing["steps"]][-1]) == (5, "备案")
    # The business item carries its guide too.
    data = await execute(runtime, '{ businessItem(id: "bi-006-03") { guide(regionCode: "320100") { id } } }')
    assert data["businessItem"]["guide"] == {"id": "guide-bi-006-03-320000"}  # 首次注册 (省级) is the province's


async def test_the_guide_falls_back_from_region_to_county_city_and_province(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    province = await guide(runtime, "bi-032-01")  # 公共场所卫生许可（变更）, 设区的市级
    suzhou = await guide(runtime, "bi-032-01", "320500")
    assert suzhou["regionCode"] == "320500" and suzhou["promisedDays"] < province["promisedDays"]
    assert suzhou["halls"][0] == {
        "code": "hall-320500", "name": "苏州市政务服务中心卫生健康窗口", "regionCode": "320500",
        "address": "苏州市政务服务中心", "hours": suzhou["halls"][0]["hours"], "phone": "12345"}
    # 昆山 (a county of 苏州) has no guide of its own for a city-level item: 苏州's applies; its townships too.
    assert (await guide(runtime, "bi-032-01", "320583"))["regionCode"] == "320500"
    assert (await guide(runtime, "bi-032-01", "320583001"))["regionCode"] == "320500"
    # A county-level item: 昆山 has its own, which its townships use.
    assert (await guide(runtime, "bi-032-06", "320583001"))["regionCode"] == "320583"
    assert (await guide(runtime, "bi-032-06", "320582"))["regionCode"] == "320000"  # 张家港: no variant
    assert (await guide(runtime, "bi-032-01", "320115"))["regionCode"] == "320100"  # 江宁 → 南京
    assert (await guide(runtime, "bi-032-01", "320302"))["regionCode"] == "320000"  # 徐州 → the province
    bad = await errors_of(runtime, GUIDE, {"id": "bi-032-01", "region": "11"})
    assert bad[0].extensions["code"] == "BAD_USER_INPUT"
    missing = await errors_of(runtime, GUIDE, {"id": "bi-999-01"})
    assert missing[0].extensions["code"] == "NOT_FOUND"


CATALOGUE_GUIDES = """query($first: Int!) { serviceItems(first: $first) { nodes { id businessItems { id
    guide { id regionCode } kunshan: guide(regionCode: "320583") { id regionCode }
    xuzhou: guide(regionCode: "320302") { id regionCode } } } } }"""


async def test_the_guides_of_a_catalogue_page_load_in_one_statement(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    counts, pages = {}, {}
    for first in (2, 10):
        with count_statements(runtime) as statements:
            pages[first] = (await execute(runtime, CATALOGUE_GUIDES, {"first": first}))["serviceItems"]["nodes"]
        assert len(pages[first]) == first
        counts[first] = len(statements)
    # The items, their business items, then every guide of every region asked for: one statement each.
    assert counts[2] == counts[10], counts
    business = [b for item in pages[10] for b in item["businessItems"]]
    assert len(business) > 10 and all(b["guide"] for b in business)
    # Each business item gets the guide serviceGuide gives it, region by region.
    for b in business:
        for alias, region in (("guide", None), ("kunshan", "320583"), ("xuzhou", "320302")):
            own = await guide(runtime, b["id"], region)
            assert b[alias] == {"id": own["id"], "regionCode": own["regionCode"]}, (b["id"], region)
    # A bad region code is still refused.
    bad = await errors_of(runtime, '{ serviceItems(first: 1) { nodes { businessItems { guide(regionCode: "11") '
                                   '{ id } } } } }')
    assert bad[0].extensions["code"] == "BAD_USER_INPUT"


CATALOGUE_MATERIALS = """query($first: Int!) { serviceItems(first: $first) { nodes { businessItems {
    guide { id materials { code name } } } } } }"""


async def test_the_materials_of_a_page_of_guides_load_in_one_statement(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    counts, guides = {}, {}
    for first in (2, 10):
        with count_statements(runtime) as statements:
            page = (await execute(runtime, CATALOGUE_MATERIALS, {"first": first}))["serviceItems"]["nodes"]
        counts[first] = len(statements)
        guides[first] = [b["guide"] for item in page for b in item["businessItems"]]
    # Items, business items, guides, then the materials of every guide: the same count for 2 and 10 items.
    assert counts[2] == counts[10], counts
    assert len(guides[10]) > 10 and all(g["materials"] for g in guides[10])
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(models.MaterialRequirement).where(
            models.MaterialRequirement.guide_id.in_([g["id"] for g in guides[10]])))).all()
    by_ordinal: dict[str, list[models.MaterialRequirement]] = {}
    for row in sorted(rows, key=lambda r: r.ordinal):
        by_ordinal.setdefault(row.guide_id, []).append(row)
    # Each guide's own materials, in ordinal order, whatever guides share the batch.
    for g in guides[10]:
        assert g["materials"] == [{"code": r.code, "name": r.name} for r in by_ordinal[g["id"]]], g["id"]


# --- 情形引导 ----------------------------------------------------------------------------------------


async def test_the_kind_question_moves_to_the_business_item_of_that_case(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    start = await guide(runtime, "bi-006-03")
    kinds = {o["code"]: (o["answer"], o["businessItemId"]) for o in start["scenarios"][0]["options"]}
    assert kinds["NEW_1"] == ("重新注册", "bi-006-01") and kinds["NEW_2"] == ("首次注册", "bi-006-03")
    assert kinds["RENEWAL"] == ("延续", "bi-006-06")
    renewal = await scenario(runtime, "bi-006-03", kind="RENEWAL", agent="SELF")
    assert renewal["kind"] == "RENEWAL"
    assert renewal["businessItem"] == {"id": "bi-006-06", "name": "护士执业注册（延续注册）", "kind": "RENEWAL"}
    assert renewal["guide"] == {"id": "guide-bi-006-06-320000", "regionCode": "320000"}
    certificate = [m for m in renewal["materials"] if m["licenceType"] == "NURSE_PRACTICE"]
    assert [m["name"] for m in certificate] == ["护士执业证书"]  # an electronic one may replace it (免提交)
    assert not any("授权委托书" in m["name"] for m in renewal["materials"])
    assert renewal["unanswered"] == []
    agent = await scenario(runtime, "bi-006-06", agent="AGENT")
    assert any("授权委托书" in m["name"] for m in agent["materials"]) and agent["unanswered"] == [{"code": "kind"}]


async def test_answers_add_the_materials_of_the_case(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    lost = await scenario(runtime, "bi-006-04", kind="REISSUE", reason="LOST")
    damaged = await scenario(runtime, "bi-006-04", kind="REISSUE", reason="DAMAGED")
    assert any("遗失声明" in m["name"] for m in lost["materials"])
    assert not any(m["licenceType"] for m in lost["materials"])
    assert [m["licenceType"] for m in damaged["materials"] if m["licenceType"]] == ["NURSE_PRACTICE"]
    assert not any("遗失声明" in m["name"] for m in damaged["materials"])
    late = await scenario(runtime, "bi-006-03", exam="OVER_3_YEARS")
    assert any("3个月临床护理培训" in m["name"] for m in late["materials"])
    assert not any("3个月临床护理培训" in m["name"] for m in (await scenario(runtime, "bi-006-03"))["materials"])
    # A change of an institution: the materials of what changes.
    address = await scenario(runtime, "bi-009-05", change="ADDRESS")
    assert any("新址" in m["name"] for m in address["materials"])
    assert not any("名称预先核准" in m["name"] for m in address["materials"])


async def test_one_business_item_with_several_cases_lets_the_answer_choose(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    first = await scenario(runtime, "bi-057-01", kind="NEW")
    added = await scenario(runtime, "bi-057-01", kind="ADD_CATEGORY")
    assert (first["kind"], added["kind"], added["businessItem"]["id"]) == ("NEW", "CHANGE", "bi-057-01")
    assert any("职业病诊断医师名单" in m["name"] for m in first["materials"])
    assert not any("职业病诊断医师名单" in m["name"] for m in added["materials"])
    assert any("拟增加诊断类别" in m["name"] for m in added["materials"])
    open_ = await scenario(runtime, "bi-057-01")
    assert open_["kind"] is None and {"code": "kind"} in open_["unanswered"]


async def test_unknown_answers_are_refused(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    for answers in ([{"question": "colour", "option": "RED"}], [{"question": "kind", "option": "MAYBE"}],
                    [{"question": "agent", "option": "SELF"}, {"question": "agent", "option": "AGENT"}]):
        errors = await errors_of(runtime, SCENARIO, {"id": "bi-006-03", "answers": answers})
        assert errors[0].extensions["code"] == "BAD_USER_INPUT"


# --- working days ------------------------------------------------------------------------------------


def beijing(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=CHINA)


def end_of(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 23, 59, 59, tzinfo=CHINA).astimezone(UTC)


@pytest.mark.parametrize(("start", "days", "due"), [
    (beijing(2025, 9, 26), 1, end_of(2025, 9, 28)),  # Friday → the Sunday worked before 国庆
    (beijing(2025, 9, 30), 1, end_of(2025, 10, 9)),  # over 国庆·中秋 (10-1 … 10-8)
    (beijing(2026, 2, 12), 3, end_of(2026, 2, 24)),  # Saturday 2-14 is worked, then 春节 2-15 … 2-23
    (beijing(2026, 3, 6), 5, end_of(2026, 3, 13)),  # an ordinary week
    (beijing(2026, 3, 6, 23), 0, end_of(2026, 3, 6)),  # 当场办结: the same Beijing day
    (datetime(2026, 3, 5, 17, tzinfo=UTC), 1, end_of(2026, 3, 9)),  # 01:00 Friday in Beijing → Monday
])
def test_working_days_skip_weekends_and_holidays(start: datetime, days: int, due: datetime) -> None:
    assert add_working_days(start, days) == due


def test_worked_weekends_and_holidays() -> None:
    assert is_working_day(beijing(2025, 10, 11).date()) and not is_working_day(beijing(2025, 10, 3).date())
    assert not is_working_day(beijing(2026, 1, 1).date()) and is_working_day(beijing(2026, 1, 4).date())
    with pytest.raises(ValueError):
        add_working_days(beijing(2026, 3, 6), -1)


async def test_promised_due_uses_the_guide_of_the_region(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    accepted = beijing(2026, 3, 2)
    suzhou = await guide(runtime, "bi-032-01", "320500")
    async with runtime.sessions() as session:
        assert await promised_due(session, "bi-032-01", "320508", accepted) == add_working_days(
            accepted, suzhou["promisedDays"])
        application = models.Application(id="app-x", number="JSX", business_item_id="bi-009-01",
                                         applicant_uid="P-x", status="ACCEPTED", region_code="320302",
                                         created_at=accepted, updated_at=accepted)
        assert await promised_due(session, application, accepted) == add_working_days(accepted, 22)
