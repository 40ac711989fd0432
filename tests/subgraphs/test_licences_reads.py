"""licences: licence reads and management (status transitions, revocation, invalidation, the operation log),
masking per caller, public lookups, health certificates, the management list."""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import strawberry
from sqlalchemy import select
from strawberry.tools import merge_types
from support import TEST_SEED, create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.caller import Caller
from subgraphs.common.masking import mask_id_number, mask_name, mask_phone
from subgraphs.common.schema import schema_extensions
from subgraphs.common.scope import ANONYMOUS_SCOPE_ENV
from subgraphs.licences import models
from subgraphs.licences.app import definition
from subgraphs.licences.codes import LicenceOperation
from subgraphs.licences.domain.changes import licence_written
from subgraphs.licences.status import today_in_china

MANAGER = Caller(subject="u-officer", client_id="c-console", scopes=frozenset(), roles=("LICENCE_OFFICER",))
HOLDER = Caller(subject="u-holder", client_id="c-app", scopes=frozenset(), person_uid="R-holder")
OTHER = Caller(subject="u-other", client_id="c-app", scopes=frozenset(), person_uid="R-other")
EMPLOYER = Caller(subject="u-boss", client_id="c-app", scopes=frozenset(), organization_id="org-employer")
OTHER_EMPLOYER = Caller(subject="u-rival", client_id="c-app", scopes=frozenset(), organization_id="org-rival")
ANONYMOUS = Caller(subject=None, client_id=None, scopes=frozenset())
ID_NUMBER = "320102199003071239"
ISSUER = "测试市卫生健康委员会"
FAR = today_in_china() + timedelta(days=1000)


def _with_lookups(runtime: Runtime) -> Runtime:
    """The subgraph as it will be once schema.py lists the lookups area (the lead adds it)."""
    if "nurseLookup" in runtime.definition.schema.as_str():
        return runtime
    from subgraphs.licences.graphql import ingestion, licences, lookups, presentation, standards, statistics
    from subgraphs.licences.types import Licence, Organization, Person

    areas = (licences, standards, ingestion, presentation, statistics, lookups)
    query = merge_types("Query", tuple(q for a in areas for q in a.queries))
    mutation = merge_types("Mutation", tuple(m for a in areas for m in a.mutations))
    schema = strawberry.federation.Schema(query=query, mutation=mutation, types=[Licence, Person, Organization],
                                          extensions=schema_extensions())
    runtime.definition = replace(runtime.definition, schema=schema)
    return runtime


@pytest.fixture
async def runtime(tmp_path: Path) -> Any:
    rt = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'l.db'}",
                            seed_options=SeedOptions(seed=TEST_SEED, persons=40))
    yield _with_lookups(rt)
    await rt.engine.dispose()


async def add_licence(runtime: Runtime, number: str, *, type: str = "NURSE_PRACTICE", name: str = "张三丰",
                      id_number: str | None = ID_NUMBER, uid: str | None = "R-holder",
                      valid_from: date | None = date(2024, 1, 1), valid_until: date | None = FAR,
                      fields: dict[str, Any] | None = None, ingested_at: datetime | None = None,
                      employer: str | None = None, holder_org: str | None = None, issuer: str = ISSUER,
                      revoked_at: date | None = None, valid_flag: bool = True) -> str:
    """A licence stored through the one write path (log, electronic licence, event)."""
    now = datetime.now(UTC)
    row = models.Licence(
        id=f"lic-t-{type[:4].lower()}-{number}", number=number, type_code=type, business_key=number,
        holder_kind="ORGANIZATION" if holder_org else "PERSON", holder_uid=None if holder_org else uid,
        holder_org_id=holder_org, holder_name=name, holder_sex=None if holder_org else "MALE",
        holder_id_number=None if holder_org else id_number, issuer_org_id="org-issuer", issuer_name=issuer,
        issued_at=valid_from or date(2020, 5, 1), valid_from=valid_from,
        valid_until=valid_until, revoked_at=revoked_at, valid_flag=valid_flag,
        practice_institution_name="测试人民医院" if type == "NURSE_PRACTICE" else None,
        practice_category="护理" if type == "NURSE_PRACTICE" else None, employer_org_id=employer,
        fields=fields or {}, collection_source="测试来源", collected_at=now, ingested_at=ingested_at or now,
        created_at=now)
    async with runtime.sessions() as session, session.begin():
        session.add(row)
        await licence_written(session, row, operation=LicenceOperation.COLLECTED, operator="test",
                              generation_mode="STOCK")
    return row.id


async def log_of(runtime: Runtime, licence_id: str) -> list[str]:
    async with runtime.sessions() as session:
        L = models.LicenceOperationLog
        rows = (await session.scalars(select(L).where(L.licence_id == licence_id).order_by(L.id))).all()
    return [r.operation for r in rows]


async def generation_of(runtime: Runtime, licence_id: str) -> int:
    async with runtime.sessions() as session:
        E = models.ElectronicLicence
        row = await session.scalar(select(E).where(E.licence_id == licence_id))
    assert row is not None
    return row.generation


READ = """query($id: ID!) { licence(id: $id) { id status validFlag revokedAt revokedReason nearExpiry holderName
    holderIdNumber fields electronicLicence { templateId preview faceDigest generation } operationLog { operation }
    version } }"""
REVOKE = "mutation($id: ID!, $r: String!, $v: Int) { revokeLicence(id: $id, reason: $r, expectedVersion: $v) { " \
         "id status revokedAt revokedReason version } }"
INVALIDATE = "mutation($id: ID!, $r: String!, $v: Int) { invalidateLicence(id: $id, reason: $r, " \
             "expectedVersion: $v) { id status validFlag version } }"
RESTORE = "mutation($id: ID!) { restoreLicence(id: $id) { id status validFlag } }"


async def read(runtime: Runtime, licence_id: str, caller: Caller | None = MANAGER) -> dict[str, Any] | None:
    data = await execute(runtime, READ, {"id": licence_id}, caller=caller)
    licence: dict[str, Any] | None = data["licence"]
    return licence


# --- status transitions ----------------------------------------------------------------------------


async def test_revocation_makes_a_licence_invalid_for_good_and_regenerates_nothing(runtime: Runtime) -> None:
    lid = await add_licence(runtime, "N-0001")
    before = await read(runtime, lid)
    assert before is not None and before["status"] == "VALID" and before["revokedAt"] is None
    assert before["electronicLicence"]["generation"] == 1
    assert before["electronicLicence"]["templateId"] == "JS-WJW-03-V1"

    revoked = (await execute(runtime, REVOKE, {"id": lid, "r": " 注销注册 "}, caller=MANAGER))["revokeLicence"]
    assert revoked["status"] == "INVALID" and revoked["revokedReason"] == "注销注册"
    assert revoked["revokedAt"] == today_in_china().isoformat() and revoked["version"] == before["version"] + 1
    assert await log_of(runtime, lid) == ["COLLECTED", "GENERATED", "REVOKED"]
    assert await generation_of(runtime, lid) == 1

    errors = await errors_of(runtime, REVOKE, {"id": lid, "r": "again"}, caller=MANAGER)
    assert errors[0].extensions["code"] == "INVALID_STATE"
    # Restoring undoes an invalidation, not a revocation.
    errors = await errors_of(runtime, RESTORE, {"id": lid}, caller=MANAGER)
    assert errors[0].extensions["code"] == "INVALID_STATE"
    assert (await read(runtime, lid) or {})["status"] == "INVALID"


async def test_revocation_needs_a_reason_a_manager_and_an_existing_licence(runtime: Runtime) -> None:
    lid = await add_licence(runtime, "N-0002")
    errors = await errors_of(runtime, REVOKE, {"id": lid, "r": "  "}, caller=MANAGER)
    assert (errors[0].extensions["code"], errors[0].extensions["argument"]) == ("BAD_USER_INPUT", "reason")
    errors = await errors_of(runtime, REVOKE, {"id": lid, "r": "x"}, caller=HOLDER)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    errors = await errors_of(runtime, REVOKE, {"id": "lic-none", "r": "x"}, caller=MANAGER)
    assert errors[0].extensions["code"] == "NOT_FOUND"
    assert await log_of(runtime, lid) == ["COLLECTED", "GENERATED"]


async def test_invalidation_and_restoration_with_the_expected_version(runtime: Runtime) -> None:
    lid = await add_licence(runtime, "N-0003")
    errors = await errors_of(runtime, INVALIDATE, {"id": lid, "r": "重复数据", "v": 7}, caller=MANAGER)
    assert errors[0].extensions["code"] == "CONFLICT" and errors[0].extensions["version"] == 1

    gone = (await execute(runtime, INVALIDATE, {"id": lid, "r": "重复数据", "v": 1}, caller=MANAGER))
    assert gone["invalidateLicence"] == {"id": lid, "status": "INVALID", "validFlag": False, "version": 2}
    errors = await errors_of(runtime, INVALIDATE, {"id": lid, "r": "again"}, caller=MANAGER)
    assert errors[0].extensions["code"] == "INVALID_STATE"

    back = await execute(runtime, RESTORE, {"id": lid}, caller=MANAGER)
    assert back["restoreLicence"] == {"id": lid, "status": "VALID", "validFlag": True}
    errors = await errors_of(runtime, RESTORE, {"id": lid}, caller=MANAGER)
    assert errors[0].extensions["code"] == "INVALID_STATE"
    assert await log_of(runtime, lid) == ["COLLECTED", "GENERATED", "INVALIDATED", "RESTORED"]
    assert await generation_of(runtime, lid) == 1
    licence = await read(runtime, lid)
    assert licence is not None
    assert [e["operation"] for e in licence["operationLog"]] == ["COLLECTED", "GENERATED", "INVALIDATED",
                                                                  "RESTORED"]


async def test_expiry_follows_the_date_and_types_without_validity_never_expire(runtime: Runtime) -> None:
    today = today_in_china()
    expired = await add_licence(runtime, "N-0010", valid_until=today - timedelta(days=1))
    last_day = await add_licence(runtime, "N-0011", valid_until=today)
    later = await add_licence(runtime, "N-0012", valid_until=today + timedelta(days=200))
    donation = await add_licence(runtime, "B-0001", type="BLOOD_DONATION", valid_from=None, valid_until=None)
    revoked_and_expired = await add_licence(runtime, "N-0013", valid_until=today - timedelta(days=30),
                                            revoked_at=today - timedelta(days=40))
    expected: dict[str, tuple[str, bool]] = {
        expired: ("EXPIRED", False), last_day: ("VALID", True), later: ("VALID", False), donation: ("VALID", False),
        revoked_and_expired: ("INVALID", False)}
    for lid, (status, near) in expected.items():
        licence = await read(runtime, lid)
        assert licence is not None and (licence["status"], licence["nearExpiry"]) == (status, near), lid


async def test_near_expiry_days_are_configurable(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    lid = await add_licence(runtime, "N-0014", valid_until=today_in_china() + timedelta(days=100))
    assert (await read(runtime, lid) or {})["nearExpiry"] is False
    monkeypatch.setenv("LICENCES_NEAR_EXPIRY_DAYS", "120")
    assert (await read(runtime, lid) or {})["nearExpiry"] is True


# --- masking per caller ----------------------------------------------------------------------------

DONATION_FIELDS = {"bloodType": "A", "donationVolume": "400ml", "contact": "13812345678", "donationPlace": "南京"}


async def test_managers_and_the_holder_see_the_whole_face(runtime: Runtime) -> None:
    lid = await add_licence(runtime, "B-0100", type="BLOOD_DONATION", valid_until=None, fields=DONATION_FIELDS)
    for caller in (MANAGER, HOLDER):
        licence = await read(runtime, lid, caller)
        assert licence is not None
        assert licence["holderName"] == "张三丰" and licence["holderIdNumber"] == ID_NUMBER
        assert licence["fields"] == DONATION_FIELDS
        assert licence["electronicLicence"]["preview"].startswith("<svg")
        assert len(licence["electronicLicence"]["faceDigest"]) == 64
    assert (await read(runtime, lid, MANAGER) or {})["operationLog"] is not None
    assert (await read(runtime, lid, HOLDER) or {})["operationLog"] is None


async def test_other_callers_see_the_masked_face(runtime: Runtime) -> None:
    lid = await add_licence(runtime, "B-0101", type="BLOOD_DONATION", valid_until=None, fields=DONATION_FIELDS)
    licence = await read(runtime, lid, OTHER)
    assert licence is not None
    assert licence["holderName"] == mask_name("张三丰") == "张**"
    assert licence["holderIdNumber"] == mask_id_number(ID_NUMBER)
    # Blood data and the place are personal details; a phone number is masked.
    assert licence["fields"] == {"contact": mask_phone("13812345678")}
    assert licence["electronicLicence"] == {"templateId": "JS-WJW-04-V1", "preview": None, "faceDigest": None,
                                            "generation": 1}
    assert licence["operationLog"] is None


async def test_an_anonymous_caller_never_sees_a_full_id_number(runtime: Runtime) -> None:
    # Even where the development mode lets anonymous callers manage (the tests' JSHEALTH_ANONYMOUS_SCOPE=all).
    lid = await add_licence(runtime, "N-0102")
    licence = await read(runtime, lid, None)
    assert licence is not None and licence["holderIdNumber"] == mask_id_number(ID_NUMBER)


async def test_person_licences_filter_and_disclose_per_caller(runtime: Runtime) -> None:
    today = today_in_china()
    await add_licence(runtime, "N-0200")
    await add_licence(runtime, "N-0201", valid_until=today - timedelta(days=3))
    await add_licence(runtime, "B-0200", type="BLOOD_DONATION", valid_until=None, fields=DONATION_FIELDS)
    await add_licence(runtime, "H-0200", type="HEALTH_CERTIFICATE", employer="org-employer")
    query = """query($r: [_Any!]!, $t: LicenceTypeCode, $s: LicenceStatus) { _entities(representations: $r) {
        ... on Person { licences(type: $t, status: $s) { number holderName holderIdNumber } } } }"""

    async def numbers(caller: Caller, **args: Any) -> list[dict[str, Any]]:
        data = await execute(runtime, query, {"r": [{"__typename": "Person", "uid": "R-holder"}], **args},
                             caller=caller)
        return sorted(data["_entities"][0]["licences"], key=lambda n: n["number"])

    mine = await numbers(HOLDER)
    assert [n["number"] for n in mine] == ["B-0200", "H-0200", "N-0200", "N-0201"]
    assert {n["holderIdNumber"] for n in mine} == {ID_NUMBER}
    assert [n["number"] for n in await numbers(HOLDER, t="NURSE_PRACTICE", s="EXPIRED")] == ["N-0201"]
    assert [n["number"] for n in await numbers(MANAGER, s="VALID")] == ["B-0200", "H-0200", "N-0200"]
    # A stranger: the public face, and no health certificate.
    theirs = await numbers(OTHER)
    assert theirs == [{"number": "B-0200", "holderName": "张**", "holderIdNumber": None},
                      {"number": "N-0200", "holderName": "张三丰", "holderIdNumber": None},
                      {"number": "N-0201", "holderName": "张三丰", "holderIdNumber": None}]


async def test_organization_licences(runtime: Runtime) -> None:
    await add_licence(runtime, "MI-1", type="MEDICAL_INSTITUTION_PRACTICE", name="测试第一医院",
                      holder_org="org-hospital", fields={"address": "南京市", "legalRepresentative": "李四"})
    await add_licence(runtime, "TC-1", type="TCM_CLINIC_FILING", name="测试中医诊所", holder_org="org-hospital",
                      valid_until=today_in_china() - timedelta(days=1))
    query = """query($r: [_Any!]!, $s: LicenceStatus) { _entities(representations: $r) { ... on Organization {
        id licences(status: $s) { number holderKind holderName holderOrganization { id } fields } } } }"""

    def reps() -> list[dict[str, str]]:
        # Fresh each time: strawberry pops __typename out of the representations it resolves.
        return [{"__typename": "Organization", "id": "org-hospital"}, {"__typename": "Organization", "id": "org-x"}]

    data = await execute(runtime, query, {"r": reps()}, caller=OTHER)
    hospital, nothing = data["_entities"]
    assert nothing == {"id": "org-x", "licences": []}
    assert sorted(n["number"] for n in hospital["licences"]) == ["MI-1", "TC-1"]
    mi = next(n for n in hospital["licences"] if n["number"] == "MI-1")
    assert mi == {"number": "MI-1", "holderKind": "ORGANIZATION", "holderName": "测试第一医院",
                  "holderOrganization": {"id": "org-hospital"},
                  "fields": {"address": "南京市", "legalRepresentative": "李四"}}
    data = await execute(runtime, query, {"r": reps()[:1], "s": "EXPIRED"}, caller=OTHER)
    assert [n["number"] for n in data["_entities"][0]["licences"]] == ["TC-1"]


# --- public lookups --------------------------------------------------------------------------------

NURSE = "query($n: String!, $no: String, $id: String) { nurseLookup(name: $n, number: $no, idNumber: $id) { " \
        "number type holderName holderIdNumber practiceInstitutionName status fields } }"


async def test_nurse_lookup_needs_name_and_number_and_shows_the_public_face(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ANONYMOUS_SCOPE_ENV, raising=False)
    await add_licence(runtime, "N-0300", fields={"continuingEducationRecords": ["2024 护理学会"], "mobile": "1"})
    gone = await add_licence(runtime, "N-0301", name="李四")
    await execute(runtime, INVALIDATE, {"id": gone, "r": "错误数据"}, caller=MANAGER)
    expected: list[dict[str, Any]] = [{
        "number": "N-0300", "type": "NURSE_PRACTICE", "holderName": "张三丰", "holderIdNumber": None,
        "practiceInstitutionName": "测试人民医院", "status": "VALID", "fields": {}}]
    for variables in ({"n": "张三丰", "no": "N-0300"}, {"n": " 张三丰 ", "id": ID_NUMBER.lower()}):
        assert (await execute(runtime, NURSE, variables, caller=ANONYMOUS))["nurseLookup"] == expected
    assert (await execute(runtime, NURSE, {"n": "张三", "no": "N-0300"}, caller=ANONYMOUS))["nurseLookup"] == []
    assert (await execute(runtime, NURSE, {"n": "李四", "no": "N-0301"}, caller=ANONYMOUS))["nurseLookup"] == []
    errors = await errors_of(runtime, NURSE, {"n": "张三丰"}, caller=ANONYMOUS)
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    errors = await errors_of(runtime, NURSE, {"n": " ", "no": "N-0300"}, caller=ANONYMOUS)
    assert errors[0].extensions["argument"] == "name"


async def test_doctor_lookup_finds_practice_and_qualification(runtime: Runtime,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ANONYMOUS_SCOPE_ENV, raising=False)
    await add_licence(runtime, "P-1", type="PHYSICIAN_PRACTICE", name="王医生")
    await add_licence(runtime, "Q-1", type="PHYSICIAN_QUALIFICATION", name="王医生", valid_until=None,
                      fields={"physicianLevel": "执业医师", "birthDate": "1990-03-07"})
    await add_licence(runtime, "N-9", name="王医生")
    query = "query($id: String) { doctorLookup(name: \"王医生\", idNumber: $id) { number fields holderIdNumber } }"
    found = (await execute(runtime, query, {"id": ID_NUMBER}, caller=ANONYMOUS))["doctorLookup"]
    assert sorted(found, key=lambda n: n["number"]) == [
        {"number": "P-1", "fields": {}, "holderIdNumber": None},
        {"number": "Q-1", "fields": {"physicianLevel": "执业医师"}, "holderIdNumber": None}]


async def test_institution_lookup_by_part_of_the_name(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ANONYMOUS_SCOPE_ENV, raising=False)
    for i in range(23):
        await add_licence(runtime, f"MI-{i:02d}", type="MEDICAL_INSTITUTION_PRACTICE", name=f"测试康复医院{i:02d}",
                          holder_org=f"org-h{i}")
    await add_licence(runtime, "TC-7", type="TCM_CLINIC_FILING", name="测试康复中医诊所", holder_org="org-c7",
                      fields={"legalRepresentative": "赵六"})
    query = "query($n: String, $r: String) { institutionLookup(name: $n, registrationNo: $r) { number holderName " \
            "fields } }"
    many = (await execute(runtime, query, {"n": "康复"}, caller=ANONYMOUS))["institutionLookup"]
    assert len(many) == 20
    clinic = (await execute(runtime, query, {"n": "康复中医"}, caller=ANONYMOUS))["institutionLookup"]
    assert clinic == [{"number": "TC-7", "holderName": "测试康复中医诊所", "fields": {"legalRepresentative": "赵六"}}]
    by_number = (await execute(runtime, query, {"r": "MI-05"}, caller=ANONYMOUS))["institutionLookup"]
    assert [n["number"] for n in by_number] == ["MI-05"]
    errors = await errors_of(runtime, query, {"n": "康"}, caller=ANONYMOUS)
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    errors = await errors_of(runtime, query, {}, caller=ANONYMOUS)
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"


# --- health certificates ---------------------------------------------------------------------------

HC_FIELDS = {"certCategory": "食品", "mobile": "13812345678", "maritalStatus": "未婚", "age": 30}
MINE = "{ myHealthCertificates { number holderName holderIdNumber fields } }"
STAFF = "{ staffHealthCertificates { nodes { number holderName holderIdNumber validUntil status fields } } }"


async def test_an_employee_sees_only_their_own_health_certificate(runtime: Runtime,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ANONYMOUS_SCOPE_ENV, raising=False)
    mine = await add_licence(runtime, "H-1", type="HEALTH_CERTIFICATE", employer="org-employer", fields=HC_FIELDS)
    await add_licence(runtime, "N-5", uid="R-holder")
    data = await execute(runtime, MINE, caller=HOLDER)
    assert data["myHealthCertificates"] == [{"number": "H-1", "holderName": "张三丰", "holderIdNumber": ID_NUMBER,
                                             "fields": HC_FIELDS}]
    assert await execute(runtime, MINE, caller=OTHER) == {"myHealthCertificates": []}
    # Someone else's certificate does not exist for them, by id or by number.
    assert await read(runtime, mine, OTHER) is None
    by_number = '{ licenceByNumber(number: "H-1", type: HEALTH_CERTIFICATE) { id } }'
    assert await execute(runtime, by_number, caller=OTHER) == {"licenceByNumber": None}
    assert (await execute(runtime, by_number, caller=HOLDER))["licenceByNumber"] == {"id": mine}
    errors = await errors_of(runtime, MINE, caller=ANONYMOUS)
    assert errors[0].extensions["code"] == "UNAUTHENTICATED"
    errors = await errors_of(runtime, MINE, caller=EMPLOYER)
    assert errors[0].extensions["code"] == "FORBIDDEN"


async def test_an_employer_sees_its_own_staff_only(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ANONYMOUS_SCOPE_ENV, raising=False)
    staff = await add_licence(runtime, "H-2", type="HEALTH_CERTIFICATE", employer="org-employer", fields=HC_FIELDS)
    await add_licence(runtime, "H-3", type="HEALTH_CERTIFICATE", name="外单位", uid="R-x", employer="org-rival")
    nodes = (await execute(runtime, STAFF, caller=EMPLOYER))["staffHealthCertificates"]["nodes"]
    assert [(n["number"], n["holderName"], n["holderIdNumber"], n["status"]) for n in nodes] == [
        ("H-2", "张三丰", mask_id_number(ID_NUMBER), "VALID")]
    assert nodes[0]["fields"] == {"certCategory": "食品", "mobile": mask_phone("13812345678")}
    assert (await read(runtime, staff, EMPLOYER) or {})["holderName"] == "张三丰"
    rival = (await execute(runtime, STAFF, caller=OTHER_EMPLOYER))["staffHealthCertificates"]["nodes"]
    assert [n["number"] for n in rival] == ["H-3"]
    assert await read(runtime, staff, OTHER_EMPLOYER) is None
    errors = await errors_of(runtime, STAFF, caller=OTHER)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    # Lists leave out certificates the caller may not see.
    held = '{ licences(holderUid: "R-holder") { nodes { number } } }'
    assert (await execute(runtime, held, caller=OTHER))["licences"]["nodes"] == []
    assert (await execute(runtime, held, caller=HOLDER))["licences"]["nodes"] == [{"number": "H-2"}]
    assert (await execute(runtime, held, caller=MANAGER))["licences"]["nodes"] == [{"number": "H-2"}]


# --- the management list ---------------------------------------------------------------------------

LIST = """query($t: LicenceTypeCode!, $f: LicenceListFilter, $first: Int!, $after: String) {
    licenceList(type: $t, filter: $f, first: $first, after: $after) {
        totalCount nodes { number } pageInfo { hasNextPage endCursor } } }"""


async def test_list_is_newest_upload_first_and_pages(runtime: Runtime) -> None:
    base = datetime(2031, 1, 1, tzinfo=UTC)
    for i in range(5):
        await add_licence(runtime, f"B-L{i}", type="BLOOD_DONATION", valid_until=None, issuer="列表测试献血办",
                          ingested_at=base + timedelta(hours=i % 3), fields={"bloodType": "AB" if i % 2 else "O"})
    seen: list[str] = []
    after = None
    while True:
        page = (await execute(runtime, LIST, {"t": "BLOOD_DONATION", "f": {"issuerName": "列表测试"}, "first": 2,
                                              "after": after}, caller=MANAGER))["licenceList"]
        assert page["totalCount"] == 5
        seen += [n["number"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # Hours 2, 1, 1, 0, 0: newest first, then by id, descending.
    assert seen == ["B-L2", "B-L4", "B-L1", "B-L3", "B-L0"]
    ab = await execute(runtime, LIST, {"t": "BLOOD_DONATION", "first": 10, "f": {
        "issuerName": "列表测试", "fieldEquals": [{"code": "bloodType", "value": "AB"}]}}, caller=MANAGER)
    assert sorted(n["number"] for n in ab["licenceList"]["nodes"]) == ["B-L1", "B-L3"]
    assert ab["licenceList"]["totalCount"] == 2
    errors = await errors_of(runtime, LIST, {"t": "BLOOD_DONATION", "first": 2}, caller=HOLDER)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    errors = await errors_of(runtime, LIST, {"t": "BLOOD_DONATION", "first": 2, "f": {
        "fieldEquals": [{"code": "a') or 1=1 --", "value": "x"}]}}, caller=MANAGER)
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_list_filters(runtime: Runtime) -> None:
    today = today_in_china()
    await add_licence(runtime, "F-1", name="周小雨", valid_from=date(2020, 1, 1), valid_until=date(2024, 12, 31))
    await add_licence(runtime, "F-2", name="周大风", id_number="32010219900307123X", valid_from=date(2025, 1, 1))
    await add_licence(runtime, "F-3", name="吴小雨", issuer="另一卫健局", valid_from=date(2025, 6, 1),
                      revoked_at=today)

    async def numbers(**where: Any) -> list[str]:
        data = await execute(runtime, LIST, {"t": "NURSE_PRACTICE", "f": where, "first": 50}, caller=MANAGER)
        assert data["licenceList"]["totalCount"] == len(data["licenceList"]["nodes"])
        return sorted(n["number"] for n in data["licenceList"]["nodes"] if n["number"].startswith("F-"))

    assert await numbers(holderName="小雨") == ["F-1", "F-3"]
    assert await numbers(idNumber="32010219900307123x") == ["F-2"]
    assert await numbers(number="F-3") == ["F-3"]
    assert await numbers(issuerName="另一") == ["F-3"]
    assert await numbers(holderName="周", status="EXPIRED") == ["F-1"]
    assert await numbers(holderName="小雨", status="INVALID") == ["F-3"]
    assert await numbers(holderName="周", status="VALID") == ["F-2"]
    assert await numbers(holderName="周", validityFrom="2024-06-01", validityTo="2024-12-31") == ["F-1"]
    assert await numbers(holderName="周", issuedFrom="2025-01-01") == ["F-2"]
    assert await numbers(practiceInstitutionName="人民", holderName="周") == ["F-1", "F-2"]
    assert await numbers(holderName="%") == []


async def test_licence_by_number_prefers_the_first_type(runtime: Runtime) -> None:
    await add_licence(runtime, "SAME-1", type="TCM_SPECIALTY_PRACTICE")
    await add_licence(runtime, "SAME-1", type="PHYSICIAN_PRACTICE")
    query = "query($t: LicenceTypeCode) { licenceByNumber(number: \"SAME-1\", type: $t) { type } }"
    assert (await execute(runtime, query, {}))["licenceByNumber"] == {"type": "PHYSICIAN_PRACTICE"}
    assert (await execute(runtime, query, {"t": "TCM_SPECIALTY_PRACTICE"}))["licenceByNumber"] == {
        "type": "TCM_SPECIALTY_PRACTICE"}


# --- the operation log -----------------------------------------------------------------------------

LOG = """query($f: LicenceOperationLogFilter, $after: String) { licenceOperationLog(filter: $f, first: 2,
    after: $after) { nodes { licenceId type operation operator detail } pageInfo { hasNextPage endCursor } } }"""


async def test_operation_log_search_and_export(runtime: Runtime) -> None:
    a = await add_licence(runtime, "N-L1")
    b = await add_licence(runtime, "N-L2")
    await execute(runtime, REVOKE, {"id": a, "r": "吊销"}, caller=MANAGER)
    await execute(runtime, INVALIDATE, {"id": b, "r": "重复"}, caller=MANAGER)
    revoked = await execute(runtime, LOG, {"f": {"operation": "REVOKED", "operator": "u-officer"}}, caller=MANAGER)
    nodes = revoked["licenceOperationLog"]["nodes"]
    assert nodes[0] == {"licenceId": a, "type": "NURSE_PRACTICE", "operation": "REVOKED", "operator": "u-officer",
                        "detail": {"reason": "吊销"}}
    assert {(n["operation"], n["operator"]) for n in nodes} == {("REVOKED", "u-officer")}
    today = today_in_china().isoformat()
    seen: list[str] = []
    after = None
    while True:
        page = (await execute(runtime, LOG, {"f": {"from": today, "to": today, "type": "NURSE_PRACTICE"},
                                             "after": after}, caller=MANAGER))["licenceOperationLog"]
        seen += [f"{n['licenceId']}:{n['operation']}" for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen[:2] == [f"{b}:INVALIDATED", f"{a}:REVOKED"]
    assert set(seen) >= {f"{a}:COLLECTED", f"{a}:GENERATED", f"{b}:COLLECTED", f"{b}:GENERATED"}
    yesterday = (today_in_china() - timedelta(days=1)).isoformat()
    empty = await execute(runtime, LOG, {"f": {"to": yesterday, "licenceId": a}}, caller=MANAGER)
    assert empty["licenceOperationLog"]["nodes"] == []

    export = """query($f: LicenceOperationLogFilter) { licenceOperationLogCsv(filter: $f) { filename contentType
        contentBase64 rowCount } }"""
    file = (await execute(runtime, export, {"f": {"licenceId": a}}, caller=MANAGER))["licenceOperationLogCsv"]
    raw = base64.b64decode(file["contentBase64"])
    assert raw.startswith(b"\xef\xbb\xbf") and file["rowCount"] == 3
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["操作时间", "证照类型", "证照名称", "证照ID", "操作", "操作人", "详情"]
    assert (rows[1][4], rows[1][2], rows[1][5]) == ("REVOKED", "护士执业证书", "u-officer")
    errors = await errors_of(runtime, export, {}, caller=OTHER)
    assert errors[0].extensions["code"] == "FORBIDDEN"


async def test_operation_log_export_writes_formulas_as_text(runtime: Runtime) -> None:
    a = await add_licence(runtime, "NF-1")
    async with runtime.sessions() as session, session.begin():
        session.add(models.LicenceOperationLog(licence_id=a, type_code="NURSE_PRACTICE", operation="REVOKED",
                                               operator='=HYPERLINK("http://x")', operated_at=datetime.now(UTC),
                                               detail={"reason": "吊销"}))
    export = """query($f: LicenceOperationLogFilter) { licenceOperationLogCsv(filter: $f) { contentBase64 } }"""
    file = (await execute(runtime, export, {"f": {"licenceId": a}}, caller=MANAGER))["licenceOperationLogCsv"]
    rows = list(csv.reader(io.StringIO(base64.b64decode(file["contentBase64"]).decode("utf-8-sig"))))
    assert rows[0][5] == "操作人"
    assert [r[5] for r in rows[1:] if r[4] == "REVOKED"] == ["'=HYPERLINK(\"http://x\")"]


@pytest.mark.postgres
async def test_management_and_lookups_on_postgresql() -> None:
    url = await create_pg_database("jshealth_lic")
    pg = _with_lookups(await make_runtime(definition, url, seed_options=SeedOptions(seed=TEST_SEED, persons=40)))
    try:
        # The flows whose data do not overlap, on one database: SQL (keyset paging on moments, JSON fields,
        # LIKE escapes, row locks, day bounds) the way PostgreSQL runs it.
        await test_revocation_makes_a_licence_invalid_for_good_and_regenerates_nothing(pg)
        await test_invalidation_and_restoration_with_the_expected_version(pg)
        await test_list_is_newest_upload_first_and_pages(pg)
        await test_list_filters(pg)
        await test_operation_log_search_and_export(pg)
        with pytest.MonkeyPatch.context() as patch:
            await test_doctor_lookup_finds_practice_and_qualification(pg, patch)
            await test_institution_lookup_by_part_of_the_name(pg, patch)
    finally:
        await pg.engine.dispose()
        await drop_pg_database(url)
