"""Seeds licences from the synthetic Jiangsu world (db/seed): one nurse practising certificate
(护士执业证书) per person the world marks as a licence holder.

Certificate number (证照编号), 12 digits: the year of first registration (4), the Jiangsu province code
32 (2), then a sequence number within that year (6), e.g. 202132000123. The tender fixes no format;
this one keeps numbers unique without a lookup and stable across renewals (延续注册 extends the same
registration, so the number does not change).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.world import WORLD_DATE, OrganizationRecord, licence_holders, organizations, person
from subgraphs.common.app import SeedOptions
from subgraphs.licences.codes import LicenceTypeCode
from subgraphs.licences.models import Licence

CHUNK = 5000
JIANGSU = "32"
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
    for chunk in chunked(nurse_certificates(options.seed, options.persons), CHUNK):
        await session.execute(insert(Licence), chunk)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


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
