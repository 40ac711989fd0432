"""Seeds identity from the synthetic Jiangsu world (db/seed): every organisation and its staff accounts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.world import organizations, person, users
from subgraphs.common.app import SeedOptions
from subgraphs.common.validators import validate_uscc
from subgraphs.identity.models import Organization, User

CHUNK = 5000
# The world gives every organisation at most this many accounts, each a distinct person.
MAX_USERS_PER_ORGANIZATION = 3





async def is_seeded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Organization)))


async def seed(session: AsyncSession, options: SeedOptions) -> None:
    orgs = organizations(options.seed)
    # The world lists administration before the units it supervises, so parents are inserted first
    # and the parent foreign key holds row by row.
    for org_chunk in chunked(orgs, CHUNK):
        await session.execute(
            insert(Organization),
            [
                {"id": o.id, "name": o.name, "kind": o.kind, "level": o.level, "region_code": o.region_code,
                 "credit_code": validate_uscc(o.credit_code), "parent_id": o.parent_id}
                for o in org_chunk
            ],
        )
    # world.users refuses a population smaller than its account count; a small seeded population
    # (tests) still gets every account, and only accounts of seeded persons are linked to a person.
    person_count = max(options.persons, MAX_USERS_PER_ORGANIZATION * len(orgs))
    created = datetime(2026, 1, 1, tzinfo=UTC)
    for user_chunk in chunked(users(options.seed, person_count), CHUNK):
        await session.execute(
            insert(User),
            [
                {"id": u.id, "username": u.username, "display_name": u.display_name,
                 "organization_id": u.organization_id, "status": u.status,
                 "person_uid": _person_uid(options, u.person_index), "created_at": created}
                for u in user_chunk
            ],
        )


def _person_uid(options: SeedOptions, person_index: int | None) -> str | None:
    if person_index is None or person_index >= options.persons:
        return None
    return person(options.seed, person_index).uid
