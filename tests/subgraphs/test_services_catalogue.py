"""services: the catalogue as users meet it: every item and business item with its derived columns, the
category tree, the filters, keyword search with its ranking and counts, hot items and keywords from real
searches and applications, and what enabling/disabling changes."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support import create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.services import models
from subgraphs.services.app import definition
from subgraphs.services.domain.catalogue_admin import is_open
from subgraphs.services.domain.search import china_day
from subgraphs.services.seed_catalogue import seed_catalogue

CITIZEN = Caller(subject="u-citizen", client_id="portal", scopes=frozenset(), person_uid="P-test")
MANAGER = Caller(subject="u-admin", client_id="portal", scopes=frozenset(), roles=("SERVICE_ADMIN",))
CATALOGUE = """{ serviceItems(first: 100) { nodes {
    id seq name party onlineType powerType enabled businessArea channels category { code name parentCode }
    businessItems { id name kind licenceType enabled } } } }"""
SEARCH = """query($k: String!, $region: String, $party: Party, $area: BusinessArea, $category: String,
                  $channel: Channel) {
  searchServiceItems(keyword: $k, regionCode: $region, party: $party, businessArea: $area,
                     categoryCode: $category, channel: $channel, first: 50) {
    keyword total hits { rank item { id name } businessItems { id name } } } }"""
LIST = """query($region: String, $party: Party, $area: BusinessArea, $category: String, $channel: Channel) {
  serviceItems(regionCode: $region, party: $party, businessArea: $area, categoryCode: $category,
               channel: $channel, first: 100) { nodes { id } } }"""


async def ready(runtime: Runtime) -> Runtime:
    """The runtime with the catalogue's derived data (seed.py seeds it at first start; a no-op then)."""
    async with runtime.sessions() as session, session.begin():
        await seed_catalogue(session, datetime(2026, 1, 1, tzinfo=UTC))
    return runtime


@pytest.fixture(scope="module")
async def writable(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    """A fresh database of this module's own: the tests here search, count and disable."""
    path: Path = tmp_path_factory.mktemp("catalogue") / "s.db"
    runtime = await ready(await make_runtime(definition, f"sqlite+aiosqlite:///{path}"))
    yield runtime
    await runtime.engine.dispose()


async def search(runtime: Runtime, keyword: str, caller: Caller | None = None, **filters: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await execute(runtime, SEARCH, {"k": keyword, **filters}, caller=caller))[
        "searchServiceItems"]
    return result


async def listed(runtime: Runtime, caller: Caller | None = None, **filters: Any) -> list[str]:
    return [n["id"] for n in (await execute(runtime, LIST, filters, caller=caller))["serviceItems"]["nodes"]]


# --- the catalogue -----------------------------------------------------------------------------------


async def test_every_item_and_business_item_with_its_flags_kind_and_licence(writable: Runtime) -> None:
    items = (await execute(writable, CATALOGUE))["serviceItems"]["nodes"]
    business = {b["id"]: b for i in items for b in i["businessItems"]}
    assert (len(items), len(business)) == (70, 269)
    assert all(i["enabled"] and i["businessArea"] and i["category"] for i in items)
    assert all(b["enabled"] for b in business.values())
    # Fully online items are on every channel, the mobile ones included; the rest on the PC hall and window.
    for item in items:
        if item["onlineType"] == "FULL_ONLINE":
            assert item["channels"] == ["PC", "APP", "WECHAT", "ALIPAY", "WINDOW"]
        elif item["onlineType"] == "ONLINE_CHANNEL":
            assert item["channels"] == ["PC", "WINDOW"]
    assert next(i for i in items if i["onlineType"] == "THIRD_PARTY")["channels"] == ["THIRD_PARTY", "WINDOW"]
    # 情形 from the names: suffixes in either bracket style, words of the name, unmarked siblings are 新办.
    kinds = {bid: b["kind"] for bid, b in business.items()}
    assert (kinds["bi-006-03"], kinds["bi-006-04"], kinds["bi-006-06"]) == ("NEW", "REISSUE", "RENEWAL")
    assert (kinds["bi-025-01"], kinds["bi-025-02"], kinds["bi-025-04"]) == ("NEW", "RENEWAL", "CANCELLATION")
    assert (kinds["bi-009-01"], kinds["bi-001-05"], kinds["bi-005-02"]) == ("VALIDATION", "REISSUE", "CHANGE")
    assert kinds["bi-057-01"] is None  # 初次申请、减少类别、增加类别: 情形引导 decides
    assert kinds["bi-066-01"] is None
    assert Counter(kinds.values())["VALIDATION"] == 11
    # Licences produced (licences.md §2.15), never by a 注销.
    licences = Counter(b["licenceType"] for b in business.values() if b["licenceType"])
    assert licences == {
        "NURSE_PRACTICE": 15, "PHYSICIAN_PRACTICE": 9, "MEDICAL_INSTITUTION_PRACTICE": 30,
        "PHYSICIAN_QUALIFICATION": 4, "RURAL_DOCTOR_PRACTICE": 3, "TCM_SPECIALTY_PRACTICE": 6,
        "TCM_SPECIALTY_QUALIFICATION": 2, "TCM_CLINIC_FILING": 1,
    }
    assert all(b["licenceType"] is None for b in business.values() if b["kind"] == "CANCELLATION")
    assert business["bi-013-03"]["licenceType"] is None  # 医师资格信息修改 corrects exam records only
    assert business["bi-006-04"]["licenceType"] == "NURSE_PRACTICE"  # 护士执业证书遗失补办


async def test_categories_are_power_type_over_business_area(writable: Runtime) -> None:
    query = "{ serviceCategories { code name parentCode children { code name parentCode } } }"
    tree = (await execute(writable, query))["serviceCategories"]
    assert [c["name"] for c in tree] == ["行政许可", "行政给付", "行政确认", "行政裁决", "其他行政权力", "行政备案"]
    licensing = tree[0]
    assert {c["name"] for c in licensing["children"]} >= {"医政医管", "中医药", "妇幼健康", "职业健康", "综合监督"}
    assert all(c["parentCode"] == "LICENSING" and c["code"].startswith("LICENSING.") for c in licensing["children"])
    items = (await execute(writable, CATALOGUE))["serviceItems"]["nodes"]
    children = {c["code"] for top in tree for c in top["children"]}
    assert {i["category"]["code"] for i in items} == children
    nurse = next(i for i in items if i["id"] == "item-006")
    assert (nurse["category"]["code"], nurse["businessArea"]) == ("LICENSING.MEDICAL", "MEDICAL")
    # A parent category lists its children's items.
    assert len(await listed(writable, category="LICENSING")) == 34
    assert await listed(writable, category="FILING.TCM") == ["item-058"]


async def test_filters_by_region_party_area_and_channel(writable: Runtime) -> None:
    on_app = await listed(writable, channel="APP")
    assert len(on_app) == 26  # the fully online items
    tcm = await listed(writable, area="TCM")
    assert {"item-026", "item-028", "item-030", "item-058"} <= set(tcm) and "item-006" not in tcm
    # A county (昆山市) is served by the items with a 县级 business item; the province by the 省级 ones.
    county = set(await listed(writable, region="320583"))
    assert "item-066" in county and "item-013" not in county
    province = set(await listed(writable, region="320000"))
    assert "item-013" in province and "item-066" not in province
    people_in_county = set(await listed(writable, region="320583", party="INDIVIDUAL"))
    assert people_in_county == {"item-006", "item-008", "item-022", "item-025", "item-026", "item-036",
                                "item-037", "item-049", "item-050", "item-068"}
    errors = await errors_of(writable, LIST, {"region": "110000"})
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"


# --- search ------------------------------------------------------------------------------------------


async def test_search_ranks_exact_before_prefix_before_contains(writable: Runtime) -> None:
    found = await search(writable, "  诊所备案 ")
    assert found["keyword"] == "诊所备案"
    assert [(h["item"]["name"], h["rank"]) for h in found["hits"]] == [
        ("诊所备案", "EXACT"), ("中医诊所备案", "CONTAINS")]
    physicians = (await search(writable, "医师"))["hits"]
    ranks = [h["rank"] for h in physicians]
    assert ranks == sorted(ranks, key=["EXACT", "PREFIX", "CONTAINS"].index)
    assert (physicians[0]["item"]["name"], physicians[0]["rank"]) == ("医师执业注册", "PREFIX")
    assert "item-012" in {h["item"]["id"] for h in physicians}  # 外籍医师… contains it
    # Business-item names count, and say which business items matched.
    lost = (await search(writable, "遗失补办"))["hits"]
    assert [h["item"]["id"] for h in lost] == ["item-001", "item-004", "item-006"]
    assert [b["name"] for b in lost[2]["businessItems"]] == ["护士执业证书遗失补办"] * 3
    # English names, case aside; LIKE wildcards are plain characters.
    assert [h["item"]["id"] for h in (await search(writable, "Nurse Practice"))["hits"]] == ["item-006"]
    assert (await search(writable, "%"))["total"] == 0
    # With a region, only the business items at its level: a county sees the county's nurse registrations.
    county = (await search(writable, "护士执业证书遗失补办", region="320583"))["hits"]
    assert [b["id"] for b in county[0]["businessItems"]] == ["bi-006-07"]
    assert (await search(writable, "公共场所", channel="APP", area="SUPERVISION"))["total"] == 2
    errors = await errors_of(writable, SEARCH, {"k": "医" * 51})
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_searches_are_counted_and_make_items_and_keywords_hot(writable: Runtime) -> None:
    for keyword in ("乡村医生", " 乡村医生", "乡村  医生", "乡村医生"):
        await search(writable, keyword)
    async with writable.sessions() as session:
        counts = dict((await session.execute(select(models.SearchCount.keyword, models.SearchCount.count).where(
            models.SearchCount.day == china_day(datetime.now(UTC))))).all())
    assert counts["乡村医生"] == 3 and counts["乡村 医生"] == 1
    hot = (await execute(writable, "{ hotKeywords(first: 50) { keyword searches } }"))["hotKeywords"]
    assert {"keyword": "乡村医生", "searches": 3} in hot
    assert "乡村 医生" not in {k["keyword"] for k in hot}  # finds nothing: not recommended
    items = (await execute(writable, "{ hotServiceItems(first: 50) { item { id } searches applications score } }"))[
        "hotServiceItems"]
    rural = next(h for h in items if h["item"]["id"] == "item-025")
    assert rural["searches"] >= 3


async def test_hot_items_count_the_applications_of_the_last_30_days(writable: Runtime) -> None:
    now = datetime.now(UTC)
    async with writable.sessions() as session, session.begin():
        for n, age in enumerate([1, 2, 3, 5, 8, 13, 40, 90]):
            at = now - timedelta(days=age)
            session.add(models.Application(
                id=f"app-hot-{n}", number=f"JSHOT{n:08d}", business_item_id="bi-044-01", applicant_uid="P-hot",
                status="DRAFT", created_at=at, updated_at=at))
    items = (await execute(writable, "{ hotServiceItems(first: 50) { item { id } applications score } }"))[
        "hotServiceItems"]
    apprentice = next(h for h in items if h["item"]["id"] == "item-044")
    assert apprentice["applications"] == 6  # not the two older than 30 days
    assert [h["score"] for h in items] == sorted((h["score"] for h in items), reverse=True)
    errors = await errors_of(writable, "{ hotServiceItems(first: 0) { score } }")
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"


# --- enabling and disabling ---------------------------------------------------------------------------


async def test_only_managers_enable_and_disable(writable: Runtime) -> None:
    mutation = 'mutation { setServiceItemEnabled(id: "item-066", enabled: false) { enabled } }'
    errors = await errors_of(writable, mutation, caller=CITIZEN)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    errors = await errors_of(writable, 'mutation { setBusinessItemEnabled(id: "bi-999-01", enabled: false) { id } }',
                             caller=MANAGER)
    assert errors[0].extensions["code"] == "NOT_FOUND"


async def test_a_disabled_item_leaves_public_search_and_takes_no_applications(writable: Runtime) -> None:
    toggle = "mutation($id: ID!, $on: Boolean!) { setServiceItemEnabled(id: $id, enabled: $on) { id enabled } }"
    assert (await execute(writable, toggle, {"id": "item-066", "on": False}, caller=MANAGER))[
        "setServiceItemEnabled"] == {"id": "item-066", "enabled": False}
    try:
        public = await search(writable, "诊所备案", caller=CITIZEN)
        assert [h["item"]["id"] for h in public["hits"]] == ["item-058"]
        assert "item-066" not in await listed(writable, caller=CITIZEN)
        managed = await search(writable, "诊所备案", caller=MANAGER)
        assert [h["item"]["id"] for h in managed["hits"]] == ["item-066", "item-058"]
        async with writable.sessions() as session:
            assert not await is_open(session, "bi-066-01")
            assert await is_open(session, "bi-058-01")
    finally:
        await execute(writable, toggle, {"id": "item-066", "on": True}, caller=MANAGER)
    async with writable.sessions() as session:
        assert await is_open(session, "bi-066-01")


async def test_a_disabled_business_item_is_left_out_of_its_items_matches(writable: Runtime) -> None:
    toggle = "mutation($id: ID!, $on: Boolean!) { setBusinessItemEnabled(id: $id, enabled: $on) { enabled } }"
    await execute(writable, toggle, {"id": "bi-006-04", "on": False}, caller=MANAGER)
    try:
        hits = (await search(writable, "护士执业证书遗失补办", caller=CITIZEN))["hits"]
        assert [b["id"] for b in hits[0]["businessItems"]] == ["bi-006-07", "bi-006-18"]
        async with writable.sessions() as session:
            assert not await is_open(session, "bi-006-04")
            row = await session.get(models.BusinessItem, "bi-006-07")
            assert row is not None and await is_open(session, row)
    finally:
        await execute(writable, toggle, {"id": "bi-006-04", "on": True}, caller=MANAGER)


# --- PostgreSQL ---------------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_search_filters_and_counts_on_postgresql() -> None:
    url = await create_pg_database("jshealth_svc")
    try:
        runtime = await ready(await make_runtime(definition, url))
        try:
            found = await search(runtime, "诊所备案")
            assert [(h["item"]["id"], h["rank"]) for h in found["hits"]] == [
                ("item-066", "EXACT"), ("item-058", "CONTAINS")]
            assert [h["item"]["id"] for h in (await search(runtime, "nurse practice"))["hits"]] == ["item-006"]
            assert (await search(runtime, "公共场所", channel="APP", area="SUPERVISION"))["total"] == 2
            assert len(await listed(runtime, region="320000", category="LICENSING")) > 0
            await search(runtime, "诊所备案")
            hot = (await execute(runtime, "{ hotKeywords { keyword searches } }"))["hotKeywords"]
            assert hot[0] == {"keyword": "诊所备案", "searches": 2}
            items = (await execute(runtime, "{ hotServiceItems { item { id } searches } }"))["hotServiceItems"]
            assert {"item": {"id": "item-066"}, "searches": 2} in items
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)
