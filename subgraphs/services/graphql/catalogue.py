"""The catalogue: service items (事项) and business items (业务办理项), categories, search with filters, hot
items and keywords, and enabling/disabling (managers)."""

from __future__ import annotations

import weakref
from datetime import UTC, datetime
from typing import Any, Self

import strawberry
from sqlalchemy import select

from subgraphs.common.errors import bad_input
from subgraphs.common.paging import Connection, PageRequest, check_first, keyset_page
from subgraphs.services import models
from subgraphs.services.access import is_manager
from subgraphs.services.catalogue import BusinessArea, Channel
from subgraphs.services.domain import catalogue_admin, search
from subgraphs.services.domain.search import MAX_KEYWORD_LENGTH, Filters, MatchRank
from subgraphs.services.types import BusinessItem, Info, ServiceItem
from subgraphs.services.vocabulary import Party

MAX_HOT = 50


@strawberry.type(description="事项分类: a category of the catalogue; the first level is the 事项类型, the second "
                             "the 业务领域 within it.")
class ServiceCategory:
    code: strawberry.ID = strawberry.field(description="e.g. LICENSING or LICENSING.MEDICAL.")
    name: str = strawberry.field(description="分类名称, e.g. 行政许可 or 医政医管.")
    parent_code: strawberry.ID | None = strawberry.field(description="The parent category (null at the top).")
    ordinal: int = strawberry.field(description="Position among its siblings.")
    children: list[ServiceCategory] = strawberry.field(description="子分类 (empty at the second level).")

    @classmethod
    def from_row(cls, row: models.ServiceCategory, children: list[ServiceCategory] | None = None) -> Self:
        return cls(code=strawberry.ID(row.code), name=row.name,
                   parent_code=strawberry.ID(row.parent_code) if row.parent_code else None, ordinal=row.ordinal,
                   children=children or [])


@strawberry.type(description="One item found by a search, with how it matched and the business items that did.")
class SearchHit:
    item: ServiceItem
    rank: MatchRank = strawberry.field(description="EXACT, PREFIX or CONTAINS (the best of its names).")
    business_items: list[BusinessItem] = strawberry.field(
        description="The item's business items whose name or sub-item matched (empty when only the item did).")


@strawberry.type(description="事项检索: the items a keyword finds, best first.")
class ServiceSearchResult:
    keyword: str = strawberry.field(description="The keyword as searched (trimmed, lower case).")
    total: int = strawberry.field(description="How many items match (hits holds the first ones).")
    hits: list[SearchHit]


@strawberry.type(description="热门事项: an item by its searches and applications of the last 30 days.")
class HotItem:
    item: ServiceItem
    searches: int = strawberry.field(description="Searches whose keyword finds the item.")
    applications: int = strawberry.field(description="Applications started for its business items.")
    score: int = strawberry.field(description="searches + applications: the order of the list.")


@strawberry.type(description="热门搜索词: a keyword by its searches of the last 30 days.")
class HotKeyword:
    keyword: str
    searches: int


# The whole tree (a few dozen rows) once per request, keyed by the request's Loaders object (made per request,
# dropped with it): ServiceItem.category of a list of items then costs one statement.
_trees: weakref.WeakKeyDictionary[Any, dict[str, models.ServiceCategory]] = weakref.WeakKeyDictionary()


async def category_by_code(info: Info, code: str) -> models.ServiceCategory | None:
    tree = _trees.get(info.context.loaders)
    if tree is None:
        async with info.context.session() as session:
            rows = (await session.scalars(select(models.ServiceCategory))).all()
        tree = _trees[info.context.loaders] = {row.code: row for row in rows}
    return tree.get(code)


def _filters(info: Info, region_code: str | None, party: Party | None, business_area: BusinessArea | None,
             category_code: str | None, channel: Channel | None) -> Filters:
    return Filters(region_code=region_code or None, party=party, business_area=business_area,
                   category_code=category_code or None, channel=channel,
                   include_disabled=is_manager(info.context.caller))


@strawberry.type
class CatalogueQueries:
    @strawberry.field(description="One service item (事项) by id (disabled ones too: enabled says so).")
    async def service_item(self, info: Info, id: strawberry.ID) -> ServiceItem | None:
        row = await info.context.loaders.service_item.load(str(id))
        return ServiceItem.from_row(row) if row else None

    @strawberry.field(description="事项清单 / 服务清单: service items in the tender's order, by name and the "
                                  "filters (region: items with a business item at the region's level). Disabled "
                                  "items are listed to managers only.")
    async def service_items(
        self,
        info: Info,
        keyword: str | None = None,
        party: Party | None = None,
        region_code: str | None = None,
        business_area: BusinessArea | None = None,
        category_code: str | None = None,
        channel: Channel | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[ServiceItem]:
        filters = _filters(info, region_code, party, business_area, category_code, channel)
        stmt = select(models.ServiceItem).where(*filters.item_conditions())
        if keyword is not None and (keyword := keyword.strip()):
            if len(keyword) > MAX_KEYWORD_LENGTH:
                raise bad_input(
                    f"keyword must be at most {MAX_KEYWORD_LENGTH} characters.",
                    argument="keyword", maximum=MAX_KEYWORD_LENGTH,
                )
            stmt = stmt.where(models.ServiceItem.name.contains(keyword, autoescape=True))
        async with info.context.session() as session:
            return await keyset_page(
                session,
                stmt,
                order_by=[models.ServiceItem.seq.expression],
                sort_key=lambda row: [row.seq],
                to_node=ServiceItem.from_row,
                page=PageRequest(first=first, after=after),
            )

    @strawberry.field(description="事项检索 (关键字模糊查询): items whose name, English name, business item or "
                                  "sub-item contains the keyword, exact before prefix before other matches, with "
                                  "the same filters as serviceItems. Every search counts towards the hot lists.")
    async def search_service_items(
        self,
        info: Info,
        keyword: str,
        party: Party | None = None,
        region_code: str | None = None,
        business_area: BusinessArea | None = None,
        category_code: str | None = None,
        channel: Channel | None = None,
        first: int = 20,
    ) -> ServiceSearchResult:
        first = check_first(first)
        normalised = search.normalise(keyword)
        if not normalised:
            raise bad_input("keyword must not be empty.", argument="keyword")
        filters = _filters(info, region_code, party, business_area, category_code, channel)
        async with info.context.transaction() as session:
            hits = await search.search(session, normalised, filters)
            await search.record_search(session, normalised, datetime.now(UTC))
        return ServiceSearchResult(keyword=normalised, total=len(hits), hits=[
            SearchHit(item=ServiceItem.from_row(h.item), rank=h.rank,
                      business_items=[BusinessItem.from_row(b) for b in h.business_items])
            for h in hits[:first]])

    @strawberry.field(description="事项分类: the category tree (事项类型 → 业务领域).")
    async def service_categories(self, info: Info) -> list[ServiceCategory]:
        async with info.context.session() as session:
            rows = (await session.scalars(select(models.ServiceCategory).order_by(
                models.ServiceCategory.ordinal, models.ServiceCategory.code))).all()
        children: dict[str, list[ServiceCategory]] = {}
        for row in rows:
            if row.parent_code:
                children.setdefault(row.parent_code, []).append(ServiceCategory.from_row(row))
        return [ServiceCategory.from_row(row, children.get(row.code)) for row in rows if not row.parent_code]

    @strawberry.field(description="热门事项: open items by searches and applications of the last 30 days.")
    async def hot_service_items(self, info: Info, first: int = 10) -> list[HotItem]:
        first = _check_hot(first)
        async with info.context.session() as session:
            hot = await search.hot_items(session, datetime.now(UTC), first)
        return [HotItem(item=ServiceItem.from_row(h.item), searches=h.searches, applications=h.applications,
                        score=h.searches + h.applications) for h in hot]

    @strawberry.field(description="推荐热词: the most searched keywords of the last 30 days that find an open item.")
    async def hot_keywords(self, info: Info, first: int = 10) -> list[HotKeyword]:
        first = _check_hot(first)
        async with info.context.session() as session:
            found = await search.hot_keywords(session, datetime.now(UTC), first)
        return [HotKeyword(keyword=k, searches=c) for k, c in found]

    @strawberry.field(description="One business item (业务办理项) by id.")
    async def business_item(self, info: Info, id: strawberry.ID) -> BusinessItem | None:
        row = await info.context.loaders.business_item.load(str(id))
        return BusinessItem.from_row(row) if row else None


def _check_hot(first: int) -> int:
    if not 1 <= first <= MAX_HOT:
        raise bad_input(f"first must be between 1 and {MAX_HOT}.", argument="first", maximum=MAX_HOT)
    return first


@strawberry.type
class CatalogueMutations:
    @strawberry.mutation(description="启用/停用 a service item (managers): a disabled item leaves the public "
                                     "catalogue and search and takes no new applications.")
    async def set_service_item_enabled(self, info: Info, id: strawberry.ID, enabled: bool) -> ServiceItem:
        async with info.context.transaction() as session:
            row = await catalogue_admin.set_item_enabled(session, info.context.caller, str(id), enabled)
            return ServiceItem.from_row(row)

    @strawberry.mutation(description="启用/停用 a business item (managers): a disabled one is left out of public "
                                     "search and takes no new applications.")
    async def set_business_item_enabled(self, info: Info, id: strawberry.ID, enabled: bool) -> BusinessItem:
        async with info.context.transaction() as session:
            row = await catalogue_admin.set_business_item_enabled(session, info.context.caller, str(id), enabled)
            return BusinessItem.from_row(row)


queries: list[type] = [CatalogueQueries]
mutations: list[type] = [CatalogueMutations]
