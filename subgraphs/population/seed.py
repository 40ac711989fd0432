"""Seeds population from the synthetic Jiangsu world (db/seed): the region tree and N persons."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.regions import jiangsu_regions
from db.seed.world import persons
from subgraphs.common.app import SeedOptions
from subgraphs.population.models import Person, Region

REGIONS_VALID_FROM = date(2021, 1, 1)
CHUNK = 5000


async def is_seeded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Region)))


async def seed(session: AsyncSession, options: SeedOptions) -> None:
    await session.execute(
        insert(Region),
        [
            {"code": r.code, "name": r.name, "full_name": r.full_name, "level": r.level,
             "parent_code": r.parent_code, "valid_from": REGIONS_VALID_FROM}
            for r in jiangsu_regions()
        ],
    )
    created = datetime(2026, 1, 1, tzinfo=UTC)
    for chunk in chunked(persons(options.seed, options.persons, progress=options.progress), CHUNK):
        await session.execute(
            insert(Person),
            [
                {"uid": p.uid, "person_no": f"RY{p.index + 1:010d}", "identity_code": p.id_number,
                 "id_number": p.id_number, "name": p.name, "sex": p.sex,
                 "birth_date": p.birth_date, "phone": p.phone, "household_region_code": p.household_region,
                 "residence_region_code": p.residence_region, "management_region_code": p.management_region,
                 "created_at": created}
                for p in chunk
            ],
        )
