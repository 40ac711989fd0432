"""licences subgraph: nurse certificates, Person.licences, status rules, paging, errors, batching."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from support import TEST_PERSONS, TEST_SEED, count_statements, errors_of, execute, make_runtime

from db.seed.world import licence_holders, organizations, person
from subgraphs.common.app import Runtime
from subgraphs.common.masking import mask_id_number
from subgraphs.common.paging import encode_cursor
from subgraphs.licences import models
from subgraphs.licences.app import definition
from subgraphs.licences.schema import schema
from subgraphs.licences.seed import add_years
from subgraphs.licences.status import LicenceStatus, licence_status, today_in_china

ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { %s } }"
LICENCE_FIELDS = """id number type typeName holderName holderSex holderIdNumber holder { uid }
    issuer { id } issuerName issuedAt validFrom validUntil revokedAt status
    practiceInstitution { id } practiceInstitutionName practiceCategory registeredAt"""


def face(valid_until: date | None, revoked_at: date | None) -> SimpleNamespace:
    return SimpleNamespace(valid_flag=True, valid_until=valid_until, revoked_at=revoked_at)


async def runtime_of(sqlite_runtime: Any) -> Runtime:
    runtime: Runtime = await sqlite_runtime(definition)
    return runtime






async def all_licences(runtime: Runtime) -> list[models.Licence]:
    async with runtime.sessions() as session:
        return list((await session.scalars(select(models.Licence).order_by(models.Licence.id))).all())


async def nurse_licences(runtime: Runtime) -> list[models.Licence]:
    """The seeded nurse certificates (the seed holds all eleven types)."""
    return [r for r in await all_licences(runtime) if r.type_code == "NURSE_PRACTICE"]


# --- the seed ------------------------------------------------------------------------------------


async def test_one_nurse_certificate_per_world_holder(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    rows = [r for r in await nurse_licences(runtime) if r.batch_id is None]
    holders = [person(TEST_SEED, i) for i in licence_holders(TEST_SEED, TEST_PERSONS)]
    assert holders, "the test world must hold some certificates"
    assert sorted(r.holder_uid for r in rows) == sorted(p.uid for p in holders)
    by_uid = {p.uid: p for p in holders}
    orgs = {o.id: o for o in organizations(TEST_SEED)}
    for row in rows:
        holder = by_uid[row.holder_uid]
        assert (row.holder_name, row.holder_sex, row.holder_id_number) == (
            holder.name,
            holder.sex,
            holder.id_number,
        )
        assert row.type_code == "NURSE_PRACTICE"
        # 12 digits: year of first registration, 32 for Jiangsu, a 6-digit sequence.
        assert re.fullmatch(r"\d{4}32\d{6}", row.number)
        assert row.registered_at is not None and int(row.number[:4]) == row.registered_at.year
        assert 2015 <= row.issued_at.year <= 2025
        assert row.valid_from == row.issued_at
        assert row.valid_until == add_years(row.valid_from, 5) - timedelta(days=1)
        hospital = orgs[row.practice_institution_id or ""]
        assert hospital.kind == "HOSPITAL" and hospital.name == row.practice_institution_name
        issuer = orgs[row.issuer_org_id]
        # The issuing authority is the health administration the hospital reports to.
        assert issuer.id == hospital.parent_id and issuer.kind == "HEALTH_COMMISSION"
        assert issuer.name == row.issuer_name
        assert issuer.name.endswith(("卫生健康局", "卫生健康委员会"))
    assert len({r.number for r in rows}) == len(rows)


def test_larger_world_mixes_valid_expired_and_revoked() -> None:
    from subgraphs.licences.seed import nurse_certificates

    rows = list(nurse_certificates(TEST_SEED, 20_000))
    on = date(2026, 1, 1)
    statuses = {licence_status(face(r["valid_until"], r["revoked_at"]), on) for r in rows}
    assert statuses == set(LicenceStatus)


# --- root fields ---------------------------------------------------------------------------------


async def test_licence_by_id_shows_the_certificate_face(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    row = (await nurse_licences(runtime))[0]
    data = await execute(
        runtime, "query($id: ID!) { licence(id: $id) { " + LICENCE_FIELDS + " } }", {"id": row.id}
    )
    licence = data["licence"]
    assert licence["id"] == row.id and licence["number"] == row.number
    assert (licence["type"], licence["typeName"]) == ("NURSE_PRACTICE", "护士执业证书")
    assert licence["holderIdNumber"] == mask_id_number(row.holder_id_number)
    assert row.holder_id_number not in licence["holderIdNumber"]
    assert licence["holder"] == {"uid": row.holder_uid}
    assert licence["issuer"] == {"id": row.issuer_org_id}
    assert licence["practiceInstitution"] == {"id": row.practice_institution_id}
    assert licence["practiceCategory"] == "护理"
    assert licence["validUntil"] == row.valid_until.isoformat()
    assert licence["status"] == licence_status(row, today_in_china()).value


async def test_unknown_licence_is_null(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    assert await execute(runtime, '{ licence(id: "lic-np-000000000000") { id } }') == {"licence": None}
    assert await execute(runtime, '{ licenceByNumber(number: "000000000000") { id } }') == {
        "licenceByNumber": None
    }


async def test_licence_by_number(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    row = (await all_licences(runtime))[-1]
    query = "query($n: String!) { licenceByNumber(number: $n) { id number } }"
    for number in (row.number, f"  {row.number} "):
        data = await execute(runtime, query, {"n": number})
        assert data["licenceByNumber"] == {"id": row.id, "number": row.number}


async def test_licences_pages_follow_cursors(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    query = """query($after: String) { licences(first: 2, after: $after) {
                 edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await execute(runtime, query, {"after": after}))["licences"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [r.id for r in await all_licences(runtime)]


async def test_licences_of_one_holder(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    row = (await nurse_licences(runtime))[0]
    data = await execute(
        runtime,
        "query($uid: ID!) { licences(holderUid: $uid) { nodes { id holder { uid } } } }",
        {"uid": row.holder_uid},
    )
    assert data["licences"]["nodes"] == [{"id": row.id, "holder": {"uid": row.holder_uid}}]
    data = await execute(
        runtime, '{ licences(holderUid: "R-nobody") { nodes { id } pageInfo { hasNextPage } } }'
    )
    assert data["licences"] == {"nodes": [], "pageInfo": {"hasNextPage": False}}


async def test_first_zero_is_an_empty_page(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(
        runtime, "{ licences(first: 0) { edges { cursor } pageInfo { hasNextPage endCursor } } }"
    )
    assert data["licences"] == {"edges": [], "pageInfo": {"hasNextPage": True, "endCursor": None}}


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ("first: -1", "first"),
        ("first: 101", "first"),
        ('after: "not-a-cursor"', "after"),
        (f'after: "{encode_cursor(["a", "b"])}"', "after"),
    ],
)
async def test_bad_paging_input_is_rejected(sqlite_runtime: Any, arguments: str, argument: str) -> None:
    runtime = await runtime_of(sqlite_runtime)
    errors = await errors_of(runtime, "{ licences(" + arguments + ") { edges { cursor } } }")
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert errors[0].extensions["argument"] == argument


# --- status rules --------------------------------------------------------------------------------

TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("valid_until", "revoked_at", "expected"),
    [
        # Revoked wins over everything, expired or not.
        (TODAY + timedelta(days=365), TODAY - timedelta(days=3), LicenceStatus.INVALID),
        (TODAY - timedelta(days=365), TODAY - timedelta(days=400), LicenceStatus.INVALID),
        # Expired wins over valid: the day after the last day.
        (TODAY - timedelta(days=1), None, LicenceStatus.EXPIRED),
        (TODAY - timedelta(days=2000), None, LicenceStatus.EXPIRED),
        # The last day of the validity is still valid.
        (TODAY, None, LicenceStatus.VALID),
        (TODAY + timedelta(days=1), None, LicenceStatus.VALID),
    ],
)
def test_status_rules(valid_until: date, revoked_at: date | None, expected: LicenceStatus) -> None:
    assert licence_status(face(valid_until, revoked_at), TODAY) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 23:59 UTC on 31 December is already 1 January in Beijing...
        (datetime(2025, 12, 31, 23, 59, tzinfo=UTC), date(2026, 1, 1)),
        # ...and 15:59 UTC is still 31 December there.
        (datetime(2025, 12, 31, 15, 59, tzinfo=UTC), date(2025, 12, 31)),
        (datetime(2025, 12, 31, 16, 0, tzinfo=UTC), date(2026, 1, 1)),
    ],
)
def test_today_is_the_date_in_beijing(now: datetime, expected: date) -> None:
    assert today_in_china(now) == expected


async def test_graphql_status_follows_the_rules_for_every_row(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    data = await execute(runtime, "{ licences(first: 100) { nodes { id status } } }")
    today = today_in_china()
    expected = {
        r.id: licence_status(r, today).value for r in await all_licences(runtime)
    }
    answered = {n["id"]: n["status"] for n in data["licences"]["nodes"]}
    assert len(answered) == 100 and answered == {i: expected[i] for i in answered}


# --- federation ----------------------------------------------------------------------------------


async def test_entities_resolve_licences(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    rows = (await all_licences(runtime))[:3]
    representations = [{"__typename": "Licence", "id": r.id} for r in rows]
    representations.append({"__typename": "Licence", "id": "lic-np-000000000000"})
    data = await execute(runtime, ENTITIES % "... on Licence { id number }", {"r": representations})
    assert data["_entities"] == [{"id": r.id, "number": r.number} for r in rows] + [None]


async def test_person_licences_extension(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    row = (await nurse_licences(runtime))[0]
    data = await execute(
        runtime,
        ENTITIES % "... on Person { uid licences { id holder { uid } } }",
        {"r": [{"__typename": "Person", "uid": row.holder_uid}, {"__typename": "Person", "uid": "R-nobody"}]},
    )
    assert data["_entities"] == [
        {"uid": row.holder_uid, "licences": [{"id": row.id, "holder": {"uid": row.holder_uid}}]},
        {"uid": "R-nobody", "licences": []},
    ]


def test_sdl_declares_the_entities_and_stubs() -> None:
    sdl = schema.as_str()
    assert 'type Licence @key(fields: "id")' in sdl
    assert 'type Person @key(fields: "uid")' in sdl
    assert 'type Organization @key(fields: "id")' in sdl
    enum = re.search(r"enum LicenceTypeCode \{(.*?)\}", sdl, re.S)
    assert enum is not None and len(re.findall(r"^\s+([A-Z_]+)$", enum.group(1), re.M)) == 11


async def test_person_licences_take_one_statement_however_many_persons(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    holders = sorted({r.holder_uid for r in await all_licences(runtime) if r.holder_uid})
    # Holders first, then persons without a certificate, up to 30.
    uids = list(dict.fromkeys(holders + [person(TEST_SEED, i).uid for i in range(60)]))[:30]
    query = ENTITIES % "... on Person { uid licences { id number status issuer { id } } }"

    async def statements_for(some: list[str]) -> int:
        with count_statements(runtime) as statements:
            data = await execute(runtime, query, {"r": [{"__typename": "Person", "uid": u} for u in some]})
        assert [e["uid"] for e in data["_entities"]] == some
        return len(statements)

    one = await statements_for(uids[:1])
    many = await statements_for(uids)
    assert len(uids) >= 30
    assert one == many == 1


@pytest.mark.postgres
async def test_postgresql_answers_exactly_like_sqlite(sqlite_runtime: Any, pg_url: str) -> None:
    lite = await runtime_of(sqlite_runtime)
    pg = await make_runtime(definition, pg_url)
    try:
        query = "{ licences(first: 100) { edges { cursor node { " + LICENCE_FIELDS + " } } } }"
        assert await execute(pg, query) == await execute(lite, query)
        uids = sorted({r.holder_uid for r in await all_licences(lite) if r.holder_uid})
        entities = ENTITIES % "... on Person { uid licences { id number status } }"

        def variables() -> dict[str, Any]:
            # Fresh each time: strawberry pops __typename out of the representations it resolves.
            return {"r": [{"__typename": "Person", "uid": uid} for uid in uids]}

        with count_statements(pg) as statements:
            answer = await execute(pg, entities, variables())
        assert answer == await execute(lite, entities, variables())
        assert len(statements) == 1
    finally:
        await pg.engine.dispose()
