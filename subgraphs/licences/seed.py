"""Seeds licences from the synthetic Jiangsu world (db/seed): all eleven types, each licence with its
electronic licence (signed face) and its operation log, the holder links, and, when their modules are
there, the standards (first), the ingestion quality samples and the presentation records (last).
docs/licences/seed-and-events.md says what the seed holds.

Nurse practising certificates (护士执业证书): one per person the world marks as a licence holder.
Certificate number (证照编号), 12 digits: the year of first registration (4), the Jiangsu province code
32 (2), then a sequence number within that year (6), e.g. 202132000123. The tender fixes no format;
this one keeps numbers unique without a lookup and stable across renewals (延续注册 extends the same
registration, so the number does not change). The other types are built in seed_types.py.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.world import WORLD_DATE, OrganizationRecord, licence_holders, organizations, person
from subgraphs.common.app import SeedOptions
from subgraphs.common.pseudonym import id_number_digest
from subgraphs.licences import models
from subgraphs.licences.codes import LicenceOperation, LicenceTypeCode, type_info
from subgraphs.licences.domain.face import face_of
from subgraphs.licences.domain.generation import face_digest, render_preview, signed_message
from subgraphs.licences.domain.signing import SigningKey, signing_key
from subgraphs.licences.domain.standards import seed_standards
from subgraphs.licences.ids import seeded_ids
from subgraphs.licences.models import Licence
from subgraphs.licences.seed_ingestion import seed_quality_samples
from subgraphs.licences.seed_presentation import seed_presentation
from subgraphs.licences.seed_types import (
    blood_donors,
    health_certificates,
    institutions,
    physicians,
    rural_doctors,
    tcm_specialists,
)
from subgraphs.licences.seed_world import Places, add_years, collected, face_labels, licence_row, roles

__all__ = ["add_years", "is_seeded", "nurse_certificates", "seed", "seeded_licences"]

CHUNK = 2000
JIANGSU = "32"
# The seed's "now": the world's date (db/seed/world.py), never the clock, so a seed gives the same rows
# on every day it runs.
SEEDED_AT = datetime(WORLD_DATE.year, WORLD_DATE.month, WORLD_DATE.day, tzinfo=UTC)
STOCK_OPERATOR = "system:stock-import"
VALIDITY_YEARS = 5  # 护士执业注册有效期为5年 (护士条例 第十条)
# Nurses who left the profession and let the registration lapse: their last certificate has expired.
LAPSED_P = 0.12
# Registrations cancelled (注销注册) while still in date: the certificate is revoked.
REVOKED_P = 0.02
# Most nurses work in the hospitals of the county they live in; the rest in a city hospital.
COUNTY_HOSPITAL_P = 0.6
# The tender lists 执业类别 for nurses without a value list; nursing (护理) is the one category the
# nurse regulations know, so every synthetic certificate carries it.
PRACTICE_CATEGORY = "护理"


async def is_seeded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Licence)))


async def seed(session: AsyncSession, options: SeedOptions) -> None:
    # Standards first: the seeded licences point at the enabled version of their type's standard.
    await seed_standards(session, SEEDED_AT)
    versions: dict[str, str | None] = {type_code: version for type_code, version in (await session.execute(
        select(models.LicenceStandard.type_code, models.LicenceStandard.enabled_version_id))).all()}
    key = await signing_key(session)
    links: dict[str, str] = {}
    for chunk in chunked(seeded_licences(options.seed, options.persons), CHUNK):
        for row in chunk:
            row["standard_version_id"] = versions.get(row["type_code"])
            if row["holder_uid"] and row["holder_id_digest"]:
                links[row["holder_id_digest"]] = row["holder_uid"]
        await session.execute(insert(Licence), chunk)
        electronic, log = generated(chunk, key)
        await session.execute(insert(models.ElectronicLicence), electronic)
        await session.execute(insert(models.LicenceOperationLog), log)
    for link_chunk in chunked(sorted(links.items()), CHUNK):
        await session.execute(insert(models.HolderLink), [
            {"id_digest": digest, "uid": uid, "updated_at": SEEDED_AT} for digest, uid in link_chunk])
    # The samples run the real ingestion and presentation paths; their ids come from the seed so that the
    # same seed gives the same rows.
    with seeded_ids(options.seed):
        await seed_quality_samples(session, options.seed, SEEDED_AT)
        await seed_presentation(session, options.seed, SEEDED_AT)


def seeded_licences(seed: int, person_count: int) -> Iterator[dict[str, Any]]:
    """Every seeded licence row, type by type."""
    places = Places(seed)
    nurses = licence_holders(seed, person_count)
    yield from nurse_rows(seed, person_count)
    yield from institutions(seed, places)
    held = roles(seed, person_count, set(nurses))
    yield from physicians(seed, held.physician, places)
    yield from rural_doctors(seed, held.rural, places)
    yield from tcm_specialists(seed, held.tcm, places)
    yield from blood_donors(seed, held.donor, places)
    yield from health_certificates(seed, held.worker, places)


def nurse_rows(seed: int, person_count: int) -> Iterator[dict[str, Any]]:
    """The nurse certificates as stored: nurse_certificates() plus what the library adds on collection
    (ID digest, source status, collection times), from a stream of their own so the certificates stay as
    they were."""
    for certificate in nurse_certificates(seed, person_count):
        rng = random.Random(f"jshealth-licences:{seed}:np-collected:{certificate['number']}")
        row = licence_row(LicenceTypeCode.NURSE_PRACTICE, certificate["number"])
        row.update(certificate)
        row.update(collected(rng, certificate["issued_at"]))
        row["holder_id_digest"] = id_number_digest(certificate["holder_id_number"])
        row["source_status"] = "注销" if certificate["revoked_at"] else "正常"
        if certificate["revoked_at"]:
            row["revoked_reason"] = rng.choice(("注销注册（本人申请）", "注销注册（中止执业活动满二年）"))
        yield row


def generated(rows: Iterable[dict[str, Any]], key: SigningKey) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The electronic licences of seeded rows, built as domain/generation.generate builds them (same face,
    digest and signature) but in bulk, and their operation log: collected, generated, then revoked or
    invalidated where the row says so."""
    labels = face_labels()
    electronic: list[dict[str, Any]] = []
    log: list[dict[str, Any]] = []
    for row in rows:
        licence = Licence(**row)
        face = face_of(licence)
        digest = face_digest(face)
        info = type_info(row["type_code"])
        at: datetime = row["ingested_at"]
        electronic_id = f"el-{row['id']}"
        electronic.append({
            "id": electronic_id, "licence_id": row["id"], "template_id": info.template_id, "generation_mode": "STOCK",
            "preview": render_preview(face, labels.get(row["type_code"])), "face_digest": digest,
            "signature": key.sign(signed_message(row["id"], digest)), "key_id": key.key_id, "generated_at": at,
            "generation": 1})
        base = {"licence_id": row["id"], "type_code": row["type_code"]}
        log.append({**base, "operation": LicenceOperation.COLLECTED.value, "operator": STOCK_OPERATOR,
                    "operated_at": at, "detail": {"mode": "STOCK", "source": row["collection_source"]}})
        log.append({**base, "operation": LicenceOperation.GENERATED.value, "operator": STOCK_OPERATOR,
                    "operated_at": at, "detail": {"electronicLicenceId": electronic_id, "generation": 1,
                                                  "templateId": info.template_id}})
        if row["revoked_at"] is not None:
            revoked = max(datetime.combine(row["revoked_at"], at.timetz()), at + timedelta(minutes=1))
            log.append({**base, "operation": LicenceOperation.REVOKED.value, "operator": STOCK_OPERATOR,
                        "operated_at": revoked, "detail": {"reason": row["revoked_reason"]}})
        if not row["valid_flag"]:
            log.append({**base, "operation": LicenceOperation.INVALIDATED.value, "operator": STOCK_OPERATOR,
                        "operated_at": at + timedelta(minutes=1), "detail": {"reason": "录入错误，作废"}})
    return electronic, log


def nurse_certificates(seed: int, person_count: int) -> Iterator[dict[str, Any]]:
    orgs = organizations(seed)
    by_id = {o.id: o for o in orgs}
    county_hospitals: dict[str, list[OrganizationRecord]] = {}
    city_hospitals: dict[str, list[OrganizationRecord]] = {}
    for org in orgs:
        if org.kind == "HOSPITAL":
            target = county_hospitals if org.level == "COUNTY" else city_hospitals
            target.setdefault(org.region_code[:6], []).append(org)
    sequence: dict[int, int] = {}
    created = datetime(2026, 1, 1, tzinfo=UTC)
    for index in licence_holders(seed, person_count):
        holder = person(seed, index)
        # A private stream per holder: adding a field here must not reshuffle every later certificate.
        rng = random.Random(f"jshealth-licences:{seed}:{index}")
        county = holder.residence_region[:6]
        city = county[:4] + "00"
        pool = county_hospitals[county] if rng.random() < COUNTY_HOSPITAL_P else city_hospitals[city]
        hospital = rng.choice(pool)
        # The issuing authority is the health administration the hospital reports to: a county
        # 卫生健康局 for county hospitals, the city 卫生健康委员会 for city hospitals.
        assert hospital.parent_id is not None, "the world puts every hospital under a health administration"
        issuer = by_id[hospital.parent_id]

        # First registration within four years of turning 20 (nursing school ends at 19-22), and
        # before WORLD_DATE even for the holders who turn 20 on that very day.
        registered = min(
            add_years(holder.birth_date, 20) + timedelta(days=rng.randrange(4 * 365)),
            WORLD_DATE - timedelta(days=1),
        )
        # Registration periods run back to back from the first registration; the current certificate
        # is the one whose period contains WORLD_DATE, unless the nurse let the registration lapse.
        periods = 0
        while add_years(registered, VALIDITY_YEARS * (periods + 1)) < WORLD_DATE:
            periods += 1
        lapsed = periods > 0 and rng.random() < LAPSED_P
        issued = add_years(registered, VALIDITY_YEARS * (periods - 1 if lapsed else periods))
        revoked = None
        if not lapsed and rng.random() < REVOKED_P:
            revoked = issued + timedelta(days=rng.randrange(1, (WORLD_DATE - issued).days + 1))

        sequence[registered.year] = sequence.get(registered.year, 0) + 1
        number = f"{registered.year}{JIANGSU}{sequence[registered.year]:06d}"
        yield {
            "id": f"lic-np-{number}",
            "number": number,
            "type_code": LicenceTypeCode.NURSE_PRACTICE.value,
            "business_key": number,
            "holder_kind": "PERSON",
            "holder_uid": holder.uid,
            "holder_name": holder.name,
            "holder_sex": holder.sex,
            "holder_id_number": holder.id_number,
            "issuer_org_id": issuer.id,
            "issuer_name": issuer.name,
            "issued_at": issued,
            "valid_from": issued,
            "valid_until": add_years(issued, VALIDITY_YEARS) - timedelta(days=1),
            "revoked_at": revoked,
            "practice_institution_id": hospital.id,
            "practice_institution_name": hospital.name,
            "practice_category": PRACTICE_CATEGORY,
            "registered_at": registered,
            "collection_source": "江苏省护士电子化注册系统",
            "collected_at": created,
            "ingested_at": created,
            "fields": {},
            "created_at": created,
        }
