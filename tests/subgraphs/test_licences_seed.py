"""licences' seed: the eleven types from the synthetic world, each licence signed, logged and linked."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from support import TEST_PERSONS, TEST_SEED

from db.seed.world import licence_holders, organizations, persons
from subgraphs.common.app import Runtime
from subgraphs.common.pseudonym import id_number_digest
from subgraphs.common.validators import is_valid_uscc
from subgraphs.licences import models
from subgraphs.licences.app import definition
from subgraphs.licences.codes import LICENCE_TYPES, HolderKind, LicenceTypeCode, type_info
from subgraphs.licences.domain.generation import face_is_authentic
from subgraphs.licences.domain.signing import signing_key
from subgraphs.licences.seed import seeded_licences
from subgraphs.licences.seed_world import SOURCES, employers
from subgraphs.licences.status import LicenceStatus, licence_status

T = LicenceTypeCode
WORLD_DATE = date(2026, 1, 1)


async def runtime_of(sqlite_runtime: Any) -> Runtime:
    runtime: Runtime = await sqlite_runtime(definition)
    return runtime


async def rows_of(runtime: Runtime, model: Any) -> list[Any]:
    async with runtime.sessions() as session:
        return list((await session.scalars(select(model))).all())


async def world_licences(runtime: Runtime) -> list[models.Licence]:
    """The licences seeded from the world (the seed's ingestion samples add others through ingestion)."""
    ids = {row["id"] for row in seeded_licences(TEST_SEED, TEST_PERSONS)}
    found = [r for r in await rows_of(runtime, models.Licence) if r.id in ids]
    assert len(found) == len(ids)
    return found


async def test_every_type_is_seeded_with_its_holder_kind_and_source(sqlite_runtime: Any) -> None:
    licences = await world_licences(await runtime_of(sqlite_runtime))
    by_type = Counter(r.type_code for r in licences)
    assert set(by_type) == {code.name for code in LICENCE_TYPES}
    for row in licences:
        info = type_info(row.type_code)
        assert row.holder_kind == info.holder_kind.value
        assert row.collection_source == SOURCES[info.code]
        assert row.business_key == row.number and row.id == f"lic-{info.id_prefix}-{row.number}"
        assert (row.valid_until is None) is (not info.has_validity)
        assert row.collected_at is not None and row.ingested_at is not None and row.collected_at <= row.ingested_at
    # Numbers are unique across the library, not only within a type: a lookup by number is never ambiguous.
    assert len({r.number for r in licences}) == len(licences)


async def test_person_holders_are_the_world_persons(sqlite_runtime: Any) -> None:
    licences = await world_licences(await runtime_of(sqlite_runtime))
    people = list(persons(TEST_SEED, TEST_PERSONS))
    world = {p.uid: p for p in people}
    nurses = {people[i].uid for i in licence_holders(TEST_SEED, TEST_PERSONS)}
    for row in licences:
        if row.holder_kind != HolderKind.PERSON.name:
            continue
        if row.holder_uid is None:
            # Only a TCM specialty qualification (no ID number in the tender) can lack its holder.
            assert row.type_code == T.TCM_SPECIALTY_QUALIFICATION.name and row.holder_id_number is None
            continue
        holder = world[row.holder_uid]
        assert (row.holder_name, row.holder_sex) == (holder.name, holder.sex)
        if row.holder_id_number is not None:
            assert row.holder_id_number == holder.id_number
            assert row.holder_id_digest == id_number_digest(holder.id_number)
        # Nurse holders keep exactly their nurse certificate (the world's licence_holders contract).
        assert (row.holder_uid in nurses) is (row.type_code == T.NURSE_PRACTICE.name)


async def test_statuses_mix_valid_expired_and_invalid(sqlite_runtime: Any) -> None:
    licences = await world_licences(await runtime_of(sqlite_runtime))
    assert {licence_status(r, WORLD_DATE) for r in licences} == set(LicenceStatus)
    revoked = [r for r in licences if r.revoked_at is not None]
    assert revoked and all(r.revoked_reason and r.revoked_at and r.revoked_at < WORLD_DATE for r in revoked)
    # A larger world has every status in the types that can have them, and soft-deleted records.
    rows = list(seeded_licences(TEST_SEED, 5000))
    statuses: dict[str, set[LicenceStatus]] = defaultdict(set)
    for row in rows:
        statuses[row["type_code"]].add(licence_status(_Status(row), WORLD_DATE))
    for code in (T.NURSE_PRACTICE, T.HEALTH_CERTIFICATE, T.MEDICAL_INSTITUTION_PRACTICE, T.RURAL_DOCTOR_PRACTICE):
        assert statuses[code.name] == set(LicenceStatus), code
    assert any(not row["valid_flag"] for row in rows)
    # Types without a validity never expire.
    for code in (T.BLOOD_DONATION, T.PHYSICIAN_QUALIFICATION, T.TCM_SPECIALTY_QUALIFICATION):
        assert LicenceStatus.EXPIRED not in statuses[code.name]


class _Status:
    def __init__(self, row: dict[str, Any]) -> None:
        self.valid_flag, self.revoked_at, self.valid_until = row["valid_flag"], row["revoked_at"], row["valid_until"]


async def test_every_licence_has_an_authentic_electronic_licence_and_its_log(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    licences = await world_licences(runtime)
    electronic = {e.licence_id: e for e in await rows_of(runtime, models.ElectronicLicence)}
    operations: dict[str, set[str]] = defaultdict(set)
    for entry in await rows_of(runtime, models.LicenceOperationLog):
        operations[entry.licence_id].add(entry.operation)
    async with runtime.sessions() as session:
        key = await signing_key(session)
    for row in licences:
        generated = electronic[row.id]
        assert generated.id == f"el-{row.id}" and generated.template_id == type_info(row.type_code).template_id
        assert face_is_authentic(row, generated, key), row.id
        assert type_info(row.type_code).name in generated.preview
        assert {"COLLECTED", "GENERATED"} <= operations[row.id]
        assert ("REVOKED" in operations[row.id]) is (row.revoked_at is not None)


async def test_institutions_hold_practice_licences_and_tcm_clinics_filings(sqlite_runtime: Any) -> None:
    licences = await world_licences(await runtime_of(sqlite_runtime))
    orgs = {o.id: o for o in organizations(TEST_SEED)}
    by_org = {r.holder_org_id: r for r in licences if r.holder_kind == HolderKind.ORGANIZATION.name}
    units = [o for o in orgs.values() if o.kind != "HEALTH_COMMISSION"]
    assert set(by_org) == {o.id for o in units}
    defects = 0
    for org in units:
        row = by_org[org.id]
        tcm_clinic = org.kind == "CLINIC" and org.name.endswith("中医诊所")
        assert row.type_code == (T.TCM_CLINIC_FILING if tcm_clinic else T.MEDICAL_INSTITUTION_PRACTICE).name
        assert row.holder_name == org.name
        if row.holder_credit_code != org.credit_code:
            # The seeded quality defect: a credit code with a wrong check character.
            code = row.holder_credit_code or ""
            assert code[:-1] == org.credit_code[:-1] and not is_valid_uscc(code)
            defects += 1
        issuer = orgs[row.issuer_org_id or ""]
        assert issuer.kind == "HEALTH_COMMISSION" and issuer.name == row.issuer_name
        if row.type_code == T.MEDICAL_INSTITUTION_PRACTICE.name:
            assert row.fields["clinicalSubjects"] and row.fields["legalRepresentative"]
        else:
            assert row.fields["clinicArea"] > 0 and row.fields["treatmentScope"]
    assert defects < len(units) * 0.05


async def test_health_certificates_name_their_exam_institution_and_employer(sqlite_runtime: Any) -> None:
    licences = await world_licences(await runtime_of(sqlite_runtime))
    known = {e.id: e for e in employers(TEST_SEED)}
    orgs = {o.id: o for o in organizations(TEST_SEED)}
    certificates = [r for r in licences if r.type_code == T.HEALTH_CERTIFICATE.name]
    assert certificates
    for row in certificates:
        employer = known[row.employer_org_id or ""]
        assert employer.category == row.fields["certCategory"] and employer.county == row.number[2:8]
        assert orgs[row.issuer_org_id or ""].kind == "HOSPITAL"
        assert row.valid_until and row.valid_from and (row.valid_until - row.valid_from).days in (364, 365)
        assert row.holder_id_type == "居民身份证"


async def test_qualifications_back_the_practising_certificates(sqlite_runtime: Any) -> None:
    licences = await world_licences(await runtime_of(sqlite_runtime))
    of_type: dict[str, list[models.Licence]] = defaultdict(list)
    for row in licences:
        of_type[row.type_code].append(row)
    qualified = {r.holder_uid for r in of_type[T.PHYSICIAN_QUALIFICATION.name]}
    assert all(r.holder_uid in qualified for r in of_type[T.PHYSICIAN_PRACTICE.name])
    recognitions = {r.number: r for r in of_type[T.TCM_SPECIALTY_QUALIFICATION.name]}
    for practice in of_type[T.TCM_SPECIALTY_PRACTICE.name]:
        qualification = recognitions[practice.fields["specialtyRecognitionNo"]]
        assert qualification.holder_uid == practice.holder_uid and qualification.holder_name == practice.holder_name
    # Most type 9 certificates carry no ID number, as the tender's field list has none.
    type9 = [r for r in seeded_licences(TEST_SEED, 5000) if r["type_code"] == T.TCM_SPECIALTY_QUALIFICATION.name]
    assert len([r for r in type9 if r["holder_id_number"] is None]) > len(type9) / 2


async def test_holder_links_cover_every_seeded_person_holder(sqlite_runtime: Any) -> None:
    runtime = await runtime_of(sqlite_runtime)
    links = {link.id_digest: link.uid for link in await rows_of(runtime, models.HolderLink)}
    expected = {r.holder_id_digest: r.holder_uid for r in await world_licences(runtime)
                if r.holder_uid and r.holder_id_digest}
    assert expected and {digest: links.get(digest) for digest in expected} == expected


def test_the_seed_is_deterministic_and_per_type_streams_are_independent() -> None:
    first = list(seeded_licences(TEST_SEED, 800))
    assert first == list(seeded_licences(TEST_SEED, 800))
    other = list(seeded_licences(TEST_SEED + 1, 800))
    assert [r["number"] for r in first] != [r["number"] for r in other]
    # The institutions do not depend on the population's size.
    institutions = [r for r in first if r["holder_kind"] == "ORGANIZATION"]
    assert institutions == [r for r in seeded_licences(TEST_SEED, 300) if r["holder_kind"] == "ORGANIZATION"]
