"""services subgraph: the catalogue, applications and their statuses, Person.applications, paging, errors,
batching."""

from __future__ import annotations

import filecmp
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support import TEST_PERSONS, TEST_SEED, count_statements, errors_of, execute, make_runtime

from db.seed.world import applicants, person
from subgraphs.common.app import Runtime
from subgraphs.common.paging import encode_cursor
from subgraphs.services import models
from subgraphs.services.app import definition
from subgraphs.services.catalogue import CSV_PATH
from subgraphs.services.schema import schema
from subgraphs.services.status import (
    STAGE_OF,
    ApplicationStage,
    ApplicationStatus,
    CitizenStatus,
    citizen_status,
)

ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { %s } }"
SHARED_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "service_items_seed.csv"
CATALOGUE = """{ serviceItems(first: 100) { nodes {
    id seq name nameEn powerType party onlineType dualPublicity xiaosu remark
    businessItems { id name subItemName levels party onlineType dualPublicity xiaosu item { id } } } } }"""


async def runtime_of(sqlite_runtime: Any) -> Runtime:
    runtime: Runtime = await sqlite_runtime(definition)
    return runtime






async def all_applications(runtime: Runtime) -> list[models.Application]:
    async with runtime.sessions() as session:
        stmt = select(models.Application).order_by(
            models.Application.created_at.desc(), models.Application.id.desc()
        )
        return list((await session.scalars(stmt)).all())


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- the catalogue -------------------------------------------------------------------------------


def test_packaged_catalogue_is_the_shared_one() -> None:
    if not SHARED_CSV.exists():
        pytest.skip(f"{SHARED_CSV} is not beside this checkout")
    assert filecmp.cmp(CSV_PATH, SHARED_CSV, shallow=False), "re-copy ../shared/data/service_items_seed.csv"


async def test_catalogue_has_the_tenders_70_items_and_269_business_items(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    items = (await execute(runtime, CATALOGUE))["serviceItems"]["nodes"]
    business = [b for item in items for b in item["businessItems"]]
    assert (len(items), len(business)) == (70, 269)
    assert [item["seq"] for item in items] == list(range(1, 71))
    assert [item["id"] for item in items][:2] == ["item-001", "item-002"]
    assert len({b["id"] for b in business}) == 269
    # The tender's own sub-totals (services.md §0): 个人 22/82, 法人 48/187, 智慧晓苏 25/157.
    assert Counter(i["party"] for i in items) == {"INDIVIDUAL": 22, "LEGAL_ENTITY": 48}
    assert Counter(b["party"] for b in business) == {"INDIVIDUAL": 82, "LEGAL_ENTITY": 187}
    assert (sum(i["xiaosu"] for i in items), sum(b["xiaosu"] for b in business)) == (25, 157)
    assert (sum(i["dualPublicity"] for i in items), sum(b["dualPublicity"] for b in business)) == (22, 173)
    assert Counter(b["onlineType"] for b in business) == {
        "FULL_ONLINE": 158,
        "ONLINE_CHANNEL": 108,
        "THIRD_PARTY": 2,
        "ONLINE_CHANNEL_OR_LINK": 1,
    }
    assert Counter(tuple(b["levels"]) for b in business) == {
        ("省级",): 95,
        ("市级",): 95,
        ("县级",): 57,
        ("市级", "县级"): 11,
        ("省级", "市级", "县级"): 9,
        ("省级", "市级"): 2,
    }
    assert Counter(i["powerType"] for i in items) == {
        "LICENSING": 34,
        "BENEFIT_PAYMENT": 3,
        "CONFIRMATION": 11,
        "RULING": 1,
        "OTHER_POWER": 3,
        "FILING": 18,
    }
    for item in items:
        assert all(b["item"] == {"id": item["id"]} for b in item["businessItems"])
    # Row 69 is printed "79" in the tender; ids follow the position.
    assert (items[68]["id"], items[68]["name"]) == ("item-069", "托育机构备案")
    assert items[68]["nameEn"] == "Childcare (nursery) institution filing"


async def test_service_item_with_its_business_items(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(
        runtime,
        """{ serviceItem(id: "item-006") {
             name party onlineType businessItems { id name subItemName levels } } }""",
    )
    item = data["serviceItem"]
    assert (item["name"], item["party"], item["onlineType"]) == (
        "护士执业注册",
        "INDIVIDUAL",
        "ONLINE_CHANNEL",
    )
    assert len(item["businessItems"]) == 18
    first = item["businessItems"][0]
    assert first["id"] == "bi-006-01"
    assert first["subItemName"] == "护士执业注册（省级许可权限）"
    assert first["levels"] == ["省级"]
    assert await execute(runtime, '{ serviceItem(id: "item-999") { id } }') == {"serviceItem": None}


async def test_business_item_root_field(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(
        runtime, '{ businessItem(id: "bi-032-01") { id name party item { id name remark } } }'
    )
    assert data["businessItem"]["item"] == {
        "id": "item-032",
        "name": "公共场所卫生许可",
        "remark": "支持一件事办理",
    }
    assert data["businessItem"]["party"] == "LEGAL_ENTITY"
    assert await execute(runtime, '{ businessItem(id: "bi-999-01") { id } }') == {"businessItem": None}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('keyword: "护士"', ["护士执业注册", "参加护士执业资格考试人员报名资格审定"]),
        ('keyword: " 诊所备案 "', ["中医诊所备案", "诊所备案"]),
        ('keyword: "护士", party: LEGAL_ENTITY', []),
        # LIKE wildcards in the keyword are plain characters.
        ('keyword: "%"', []),
        ('keyword: "_"', []),
    ],
)
async def test_service_items_filter(sqlite_runtime: Any, arguments: str, expected: list[str]) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(runtime, "{ serviceItems(" + arguments + ") { nodes { name } } }")
    assert [n["name"] for n in data["serviceItems"]["nodes"]] == expected


async def test_service_items_by_party_page_through(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    query = """query($after: String) { serviceItems(party: INDIVIDUAL, first: 5, after: $after) {
                 nodes { seq party } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    seqs: list[int] = []
    after = None
    while True:
        page = (await execute(runtime, query, {"after": after}))["serviceItems"]
        assert all(n["party"] == "INDIVIDUAL" for n in page["nodes"])
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seqs += [n["seq"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seqs) == 22 and seqs == sorted(seqs)


# --- applications --------------------------------------------------------------------------------


async def test_seeded_applications_follow_the_world(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    rows = await all_applications(runtime)
    # Every applicant the world names files 1-3 personal applications; other adults file some too, and
    # organisations file the legal-entity ones (through a person of the world).
    personal = [r for r in rows if r.applicant_type == "INDIVIDUAL"]
    per_person = Counter(r.applicant_uid for r in personal)
    assert set(per_person) >= {person(TEST_SEED, i).uid for i in applicants(TEST_SEED, TEST_PERSONS)}
    assert set(per_person.values()) <= {1, 2, 3}
    async with runtime.sessions() as session:
        parties = {
            business_item_id: party
            for business_item_id, party in await session.execute(
                select(models.BusinessItem.id, models.ServiceItem.party).join(models.BusinessItem.item)
            )
        }
    assert {parties[r.business_item_id] for r in personal} == {"INDIVIDUAL"}
    assert {parties[r.business_item_id] for r in rows if r.applicant_type == "LEGAL_ENTITY"} == {"LEGAL_ENTITY"}
    year = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    for r in rows:
        assert year[0] <= utc(r.created_at) <= utc(r.updated_at) < year[1]
        # Only drafts have never been submitted; withdrawn or returned cases were.
        assert (r.submitted_at is None) is (r.status in ("NEW", "DRAFT"))
        assert r.evaluated_at is None or r.status == "APPROVED"
    statuses = Counter(r.status for r in rows)
    # A realistic mix: mostly granted, some open, some drafts, some refused.
    assert statuses.most_common(1)[0][0] == "APPROVED"
    assert {"DRAFT", "REJECTED"} <= set(statuses)
    assert any(STAGE_OF[ApplicationStatus(s)] is ApplicationStage.IN_PROGRESS for s in statuses)


async def test_application_by_id(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    row = next(r for r in await all_applications(runtime) if r.status == "APPROVED")
    data = await execute(
        runtime,
        """query($id: ID!) { application(id: $id) { id number status stage citizenStatus citizenStatusLabel
             createdAt submittedAt updatedAt evaluatedAt item { id name } businessItem { id item { id } }
             applicant { uid } } }""",
        {"id": row.id},
    )
    application = data["application"]
    assert (application["id"], application["number"]) == (row.id, row.number)
    assert application["businessItem"]["id"] == row.business_item_id
    assert application["item"]["id"] == application["businessItem"]["item"]["id"]
    assert application["applicant"] == {"uid": row.applicant_uid}
    assert application["stage"] == "COMPLETED"
    evaluated = row.evaluated_at is not None
    assert (application["citizenStatus"], application["citizenStatusLabel"]) == (
        ("COMPLETED", "已办结") if evaluated else ("AWAITING_EVALUATION", "待评价")
    )
    assert await execute(runtime, '{ application(id: "app-nope") { id } }') == {"application": None}


async def test_the_slice_query(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(runtime, "{ applications(first: 5) { edges { node { status item { name } } } } }")
    edges = data["applications"]["edges"]
    assert len(edges) == 5
    assert all(
        e["node"]["item"]["name"] and e["node"]["status"] in ApplicationStatus.__members__ for e in edges
    )


async def test_applications_page_newest_first(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    query = """query($after: String) { applications(first: 17, after: $after) {
                 nodes { id } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await execute(runtime, query, {"after": after}))["applications"]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [r.id for r in await all_applications(runtime)]


async def test_applications_filters(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    rows = await all_applications(runtime)
    uid = Counter(r.applicant_uid for r in rows).most_common(1)[0][0]
    data = await execute(
        runtime,
        "query($uid: ID!) { applications(applicantUid: $uid) { nodes { id applicant { uid } } } }",
        {"uid": uid},
    )
    assert [n["id"] for n in data["applications"]["nodes"]] == [r.id for r in rows if r.applicant_uid == uid]
    data = await execute(
        runtime, "{ applications(status: DRAFT, first: 100) { nodes { id status submittedAt } } }"
    )
    nodes = data["applications"]["nodes"]
    assert [n["id"] for n in nodes] == [r.id for r in rows if r.status == "DRAFT"]
    assert all(n["status"] == "DRAFT" and n["submittedAt"] is None for n in nodes)


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ("first: -1", "first"),
        ("first: 101", "first"),
        ('after: "not-a-cursor"', "after"),
        (f'after: "{encode_cursor(["app-00000001"])}"', "after"),
        (f'after: "{encode_cursor(["yesterday", "app-00000001"])}"', "after"),
        (f'after: "{encode_cursor(["2025-06-01T00:00:00+00:00", 7])}"', "after"),
    ],
)
async def test_bad_application_paging_is_rejected(sqlite_runtime: Any, arguments: str, argument: str) -> None:
    runtime = await runtime_of(sqlite_runtime)
    for query in (
        "{ applications(%s) { nodes { id } } }",
        ENTITIES % "... on Person { applications(%s) { nodes { id } } }",
    ):
        variables = {"r": [{"__typename": "Person", "uid": "R-anyone"}]} if "_entities" in query else None
        errors = await errors_of(runtime, query % arguments, variables)
        assert errors[0].extensions["code"] == "BAD_USER_INPUT"
        assert errors[0].extensions["argument"] == argument


@pytest.mark.parametrize("arguments", ['keyword: "' + "护" * 51 + '"', "first: 101", 'after: "%%%"'])
async def test_bad_catalogue_input_is_rejected(sqlite_runtime: Any, arguments: str) -> None:
    runtime = await runtime_of(sqlite_runtime)
    errors = await errors_of(runtime, "{ serviceItems(" + arguments + ") { nodes { id } } }")
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"


# --- status derivation ---------------------------------------------------------------------------

S, C = ApplicationStatus, CitizenStatus
# Every back-office status, the stage it belongs to and the citizen's bucket (tender L1295, L4459-L4491).
STATUS_TABLE = [
    (S.NEW, ApplicationStage.PENDING_SUBMISSION, C.PENDING_SUBMISSION),
    (S.DRAFT, ApplicationStage.PENDING_SUBMISSION, C.PENDING_SUBMISSION),
    (S.WITHDRAWN, ApplicationStage.PENDING_SUBMISSION, C.PENDING_SUBMISSION),
    (S.CORRECTION_REQUIRED, ApplicationStage.PENDING_SUBMISSION, C.PENDING_SUBMISSION),
    (S.RETURNED, ApplicationStage.PENDING_SUBMISSION, C.PENDING_SUBMISSION),
    (S.SUPPLEMENT_REQUIRED, ApplicationStage.PENDING_SUBMISSION, C.PENDING_SUBMISSION),
    (S.PRE_REVIEW, ApplicationStage.AWAITING_ACCEPTANCE, C.SUBMITTED),
    (S.HANDOVER, ApplicationStage.AWAITING_ACCEPTANCE, C.SUBMITTED),
    (S.RECEIVED, ApplicationStage.AWAITING_ACCEPTANCE, C.SUBMITTED),
    (S.MATERIALS_COMPLETED, ApplicationStage.AWAITING_ACCEPTANCE, C.SUBMITTED),
    (S.UNDER_ACCEPTANCE, ApplicationStage.AWAITING_ACCEPTANCE, C.SUBMITTED),
    (S.ACCEPTED, ApplicationStage.IN_PROGRESS, C.IN_PROGRESS),
    (S.SITE_INSPECTION, ApplicationStage.IN_PROGRESS, C.IN_PROGRESS),
    (S.EXPERT_REVIEW, ApplicationStage.IN_PROGRESS, C.IN_PROGRESS),
    (S.SECTION_REVIEW, ApplicationStage.IN_PROGRESS, C.IN_PROGRESS),
    (S.LEADER_APPROVAL, ApplicationStage.IN_PROGRESS, C.IN_PROGRESS),
    (S.SUSPENDED, ApplicationStage.IN_PROGRESS, C.IN_PROGRESS),
    (S.NOT_ACCEPTED, ApplicationStage.COMPLETED, C.COMPLETED),
    (S.APPROVED, ApplicationStage.COMPLETED, C.AWAITING_EVALUATION),
    (S.REJECTED, ApplicationStage.COMPLETED, C.COMPLETED),
    (S.TERMINATED, ApplicationStage.COMPLETED, C.COMPLETED),
    (S.REVOKED, ApplicationStage.COMPLETED, C.COMPLETED),
    (S.VOIDED, ApplicationStage.COMPLETED, C.COMPLETED),
]


def test_status_table_covers_every_status() -> None:
    assert [row[0] for row in STATUS_TABLE] == list(ApplicationStatus)


@pytest.mark.parametrize(
    ("status", "stage", "citizen"), STATUS_TABLE, ids=[s.value for s, _, _ in STATUS_TABLE]
)
def test_status_derivation(
    status: ApplicationStatus, stage: ApplicationStage, citizen: CitizenStatus
) -> None:
    assert STAGE_OF[status] is stage
    assert citizen_status(status, evaluated=False) is citizen
    # Once rated, a granted case is simply 已办结; nothing else changes with a rating.
    after_rating = C.COMPLETED if status is S.APPROVED else citizen
    assert citizen_status(status, evaluated=True) is after_rating


async def test_graphql_citizen_status_for_every_seeded_status(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    rows = {r.id: r for r in await all_applications(runtime)}
    seen: set[str] = set()
    after = None
    while True:
        page = (
            await execute(
                runtime,
                """query($after: String) { applications(first: 100, after: $after) {
                 nodes { id status stage citizenStatus } pageInfo { hasNextPage endCursor } } }""",
                {"after": after},
            )
        )["applications"]
        for node in page["nodes"]:
            row = rows[node["id"]]
            status = ApplicationStatus(row.status)
            assert node["status"] == row.status and node["stage"] == STAGE_OF[status].value
            assert node["citizenStatus"] == citizen_status(status, row.evaluated_at is not None).value
            seen.add(node["citizenStatus"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert {"PENDING_SUBMISSION", "COMPLETED", "AWAITING_EVALUATION"} <= seen


# --- federation ----------------------------------------------------------------------------------


async def test_entities_resolve_catalogue_and_applications(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    row = (await all_applications(runtime))[0]
    data = await execute(
        runtime,
        ENTITIES
        % """... on ServiceItem { id name } ... on BusinessItem { id name item { id } }
                      ... on Application { id number status }""",
        {
            "r": [
                {"__typename": "ServiceItem", "id": "item-001"},
                {"__typename": "BusinessItem", "id": "bi-001-01"},
                {"__typename": "Application", "id": row.id},
                {"__typename": "ServiceItem", "id": "item-999"},
                {"__typename": "Application", "id": "app-nope"},
            ]
        },
    )
    assert data["_entities"] == [
        {"id": "item-001", "name": "放射源诊疗技术和医用辐射机构许可"},
        {"id": "bi-001-01", "name": "设置放射治疗、核医学项目许可（新办）", "item": {"id": "item-001"}},
        {"id": row.id, "number": row.number, "status": row.status},
        None,
        None,
    ]


async def test_person_applications_extension_pages(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    rows = await all_applications(runtime)
    uid = Counter(r.applicant_uid for r in rows).most_common(1)[0][0]
    expected = [r.id for r in rows if r.applicant_uid == uid]
    assert len(expected) >= 2
    query = (
        ENTITIES
        % """... on Person { uid applications(first: 1, after: $after) {
                            nodes { id applicant { uid } }
                            pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    )
    query = query.replace("query($r: [_Any!]!)", "query($r: [_Any!]!, $after: String)")
    seen: list[str] = []
    after = None
    while True:
        data = await execute(runtime, query, {"r": [{"__typename": "Person", "uid": uid}], "after": after})
        page = data["_entities"][0]["applications"]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert all(n["applicant"] == {"uid": uid} for n in page["nodes"])
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected
    data = await execute(
        runtime,
        ENTITIES % "... on Person { uid applications { nodes { id } pageInfo { hasNextPage } } }",
        {"r": [{"__typename": "Person", "uid": "R-nobody"}]},
    )
    assert data["_entities"] == [
        {"uid": "R-nobody", "applications": {"nodes": [], "pageInfo": {"hasNextPage": False}}}
    ]


async def test_person_applications_with_different_page_sizes_in_one_call(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    rows = await all_applications(runtime)
    uid = Counter(r.applicant_uid for r in rows).most_common(1)[0][0]
    expected = [r.id for r in rows if r.applicant_uid == uid]
    data = await execute(
        runtime,
        ENTITIES
        % """... on Person { one: applications(first: 1) { nodes { id } pageInfo { hasNextPage } }
                                      all: applications(first: 5) { nodes { id } pageInfo { hasNextPage } }
                    }""",
        {"r": [{"__typename": "Person", "uid": uid}]},
    )
    person_ = data["_entities"][0]
    assert person_["one"] == {"nodes": [{"id": expected[0]}], "pageInfo": {"hasNextPage": True}}
    assert person_["all"] == {"nodes": [{"id": i} for i in expected], "pageInfo": {"hasNextPage": False}}


def test_sdl_declares_the_entities_and_stubs() -> None:
    sdl = schema.as_str()
    for entity in ("ServiceItem", "BusinessItem", "Application"):
        assert f'type {entity} @key(fields: "id")' in sdl
    assert 'type Person @key(fields: "uid")' in sdl
    assert "applications(first: Int! = 20, after: String = null): ApplicationConnection!" in sdl


async def test_person_applications_take_constant_statements(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    applicant_uids = sorted({r.applicant_uid for r in await all_applications(runtime)})
    uids = list(dict.fromkeys(applicant_uids + [person(TEST_SEED, i).uid for i in range(60)]))[:30]
    query = (
        ENTITIES
        % """... on Person { uid applications(first: 5) {
                            edges { cursor node { id status citizenStatus item { name }
                                                  businessItem { name } } }
                            pageInfo { hasNextPage } } }"""
    )

    async def statements_for(some: list[str]) -> list[str]:
        with count_statements(runtime) as statements:
            data = await execute(runtime, query, {"r": [{"__typename": "Person", "uid": u} for u in some]})
        assert [e["uid"] for e in data["_entities"]] == some
        return statements

    one = await statements_for(uids[:1])
    many = await statements_for(uids)
    assert len(uids) == 30
    # One window-function statement for all the first pages, one for their business items (with items).
    assert len(one) == len(many) == 2
    assert "row_number() OVER" in many[0]


async def all_pages(runtime: Runtime, query: str, field: str) -> list[Any]:
    pages: list[Any] = []
    after = None
    while True:
        page = (await execute(runtime, query, {"after": after}))[field]
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]


@pytest.mark.postgres
async def test_postgresql_answers_exactly_like_sqlite(sqlite_runtime: Any, pg_url: str) -> None:
    lite = await runtime_of(sqlite_runtime)
    pg = await make_runtime(definition, pg_url)
    try:
        # Cursors embed timestamps: both backends must encode, decode and compare them the same way.
        query = """query($after: String) { applications(first: 40, after: $after) {
                     edges { cursor node { id createdAt submittedAt evaluatedAt status citizenStatus } }
                     pageInfo { hasNextPage endCursor } } }"""
        assert await all_pages(pg, query, "applications") == await all_pages(lite, query, "applications")
        uids = sorted({r.applicant_uid for r in await all_applications(lite)})[:30]
        entities = (
            ENTITIES
            % """... on Person { uid applications(first: 2) {
                                   edges { cursor node { id item { name } } } pageInfo { hasNextPage } } }"""
        )

        def variables() -> dict[str, Any]:
            # Fresh each time: strawberry pops __typename out of the representations it resolves.
            return {"r": [{"__typename": "Person", "uid": uid} for uid in uids]}

        with count_statements(pg) as statements:
            answer = await execute(pg, entities, variables())
        assert answer == await execute(lite, entities, variables())
        assert len(statements) == 2
    finally:
        await pg.engine.dispose()
