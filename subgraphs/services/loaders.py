"""Per-request DataLoaders: every lookup by key in one request becomes one SQL statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from aiodataloader import DataLoader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from subgraphs.common.loaders import ChildRows
from subgraphs.services.applications import NEWEST_FIRST
from subgraphs.services.domain.guides import region_chain
from subgraphs.services.models import (
    Application,
    ApplicationDocument,
    ApplicationEvent,
    ApplicationMaterial,
    BusinessItem,
    MaterialRequirement,
    ServiceGuide,
    ServiceItem,
)


class ServiceItemById(DataLoader[str, ServiceItem | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[ServiceItem | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(ServiceItem).where(ServiceItem.id.in_(ids)))).all()
        found = {row.id: row for row in rows}
        return [found.get(item_id) for item_id in ids]


class BusinessItemById(DataLoader[str, BusinessItem | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[BusinessItem | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(BusinessItem).where(BusinessItem.id.in_(ids)))).all()
        found = {row.id: row for row in rows}
        return [found.get(business_item_id) for business_item_id in ids]


class BusinessItemsByItem(DataLoader[str, list[BusinessItem]]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, item_ids: Sequence[str]) -> list[list[BusinessItem]]:
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(BusinessItem).where(BusinessItem.item_id.in_(item_ids)).order_by(BusinessItem.seq)
                )
            ).all()
        children: dict[str, list[BusinessItem]] = defaultdict(list)
        for row in rows:
            children[row.item_id].append(row)
        return [children.get(item_id, []) for item_id in item_ids]


class GuideForRegion(DataLoader[tuple[str, str | None], ServiceGuide | None]):
    """BusinessItem.guide, keyed by (business item id, region code): the region's own guide, else its
    county's, city's or the province's (domain/guides.guide_for), for a page of business items in one
    statement. The region codes are validated (region_chain) before they are asked for."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, keys: Sequence[tuple[str, str | None]]) -> list[ServiceGuide | None]:
        chains = {region: region_chain(region) for _, region in keys}
        regions = sorted({code for chain in chains.values() for code in chain})
        item_ids = sorted({item_id for item_id, _ in keys})
        async with self.sessions() as session:
            rows = (await session.scalars(select(ServiceGuide).where(
                ServiceGuide.business_item_id.in_(item_ids), ServiceGuide.region_code.in_(regions)))).all()
        found = {(row.business_item_id, row.region_code): row for row in rows}
        return [next((found[(item_id, code)] for code in chains[region] if (item_id, code) in found), None)
                for item_id, region in keys]


class ApplicationById(DataLoader[str, Application | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[Application | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(Application).where(Application.id.in_(ids)))).all()
        found = {row.id: row for row in rows}
        return [found.get(application_id) for application_id in ids]


class FirstApplications(DataLoader[tuple[str, int], list[Application]]):
    """Keyed by (applicant uid, first): the applicant's newest first + 1 applications (the extra row only
    says a next page exists). One statement for every person of an `_entities` call, whatever their
    page sizes: each person's rows are ranked in a window and cut at the largest size asked for."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, keys: Sequence[tuple[str, int]]) -> list[list[Application]]:
        uids = sorted({uid for uid, _ in keys})
        limit = max(first for _, first in keys) + 1
        rank = func.row_number().over(partition_by=Application.applicant_uid, order_by=NEWEST_FIRST)
        ranked = select(Application, rank.label("rank")).where(Application.applicant_uid.in_(uids)).subquery()
        page = aliased(Application, ranked)
        stmt = select(page).where(ranked.c.rank <= limit).order_by(ranked.c.applicant_uid, ranked.c.rank)
        async with self.sessions() as session:
            rows = (await session.scalars(stmt)).all()
        newest: dict[str, list[Application]] = defaultdict(list)
        for row in rows:
            newest[row.applicant_uid].append(row)
        return [newest.get(uid, [])[: first + 1] for uid, first in keys]


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.service_item = ServiceItemById(sessions)
        self.business_item = BusinessItemById(sessions)
        self.business_items_of_item = BusinessItemsByItem(sessions)
        self.guide = GuideForRegion(sessions)
        self.materials_of_guide = ChildRows(sessions, MaterialRequirement.guide_id, (MaterialRequirement.ordinal,))
        self.application = ApplicationById(sessions)
        self.first_applications = FirstApplications(sessions)
        self.events_of_application = ChildRows(
            sessions, ApplicationEvent.application_id, (ApplicationEvent.application_id, ApplicationEvent.seq))
        self.documents_of_application = ChildRows(
            sessions, ApplicationDocument.application_id, (ApplicationDocument.issued_at, ApplicationDocument.number))
        self.materials_of_application = ChildRows(
            sessions, ApplicationMaterial.application_id, (ApplicationMaterial.uploaded_at, ApplicationMaterial.id),
            (ApplicationMaterial.superseded_at.is_(None),))
