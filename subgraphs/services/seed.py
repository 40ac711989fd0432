"""Seeds services: the whole catalogue from the tender's list, then (seed_applications.py) tens of
thousands of applications of 2025 across the province, each with a history that walks the state machine,
and the other areas' seeds (guides, the window, the bundles) where those modules exist.

办件编号: "JS", the creation date (yyyymmdd, China), then an 8-digit serial across the seed, e.g.
JS2025031400000123. The tender gives no numbering rule; this one is unique without a lookup and sorts
by date.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from subgraphs.common.app import SeedOptions
from subgraphs.services.catalogue import load_catalogue
from subgraphs.services.models import Application, ApplicationDocument, ApplicationEvent, BusinessItem, ServiceItem
from subgraphs.services.seed_applications import NOW, applications
from subgraphs.services.seed_bundles import seed_bundles
from subgraphs.services.seed_catalogue import seed_catalogue
from subgraphs.services.seed_window import seed_window

CHUNK = 5000


async def is_seeded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(ServiceItem)))


async def seed(session: AsyncSession, options: SeedOptions) -> None:
    catalogue = load_catalogue()
    await session.execute(
        insert(ServiceItem),
        [
            {"id": i.id, "seq": i.seq, "name": i.name, "name_en": i.name_en, "power_type": i.power_type.value,
             "party": i.party.value, "online_type": i.online_type.value, "dual_publicity": i.dual_publicity,
             "xiaosu": i.xiaosu, "remark": i.remark}
            for i in catalogue.items
        ],
    )
    await session.execute(
        insert(BusinessItem),
        [
            {"id": b.id, "item_id": b.item_id, "seq": b.seq, "name": b.name, "sub_item_name": b.sub_item_name,
             "levels": ",".join(b.levels)}
            for b in catalogue.business_items
        ],
    )
    await seed_catalogue(session, NOW)
    for chunk in chunked(applications(options.seed, options.persons, catalogue), CHUNK):
        # Core inserts on the tables: the ORM's bulk insert splits a batch wherever a nullable value switches
        # between None and a value.
        await session.execute(insert(_table(Application)), [row for row, _, _ in chunk])
        for events in chunked((e for _, rows, _ in chunk for e in rows), CHUNK):
            await session.execute(insert(_table(ApplicationEvent)), events)
        for documents in chunked((d for _, _, rows in chunk for d in rows), CHUNK):
            await session.execute(insert(_table(ApplicationDocument)), documents)
    await seed_window(session, options.seed, NOW)
    await seed_bundles(session, options.seed, NOW, options.persons)


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table
