"""事项检索: keyword fuzzy search over the catalogue, the catalogue filters, and what is hot.

* A keyword matches an item by its name, English name, or the name or sub-item of one of its business
  items; exact matches rank before prefix matches before the rest (EXACT > PREFIX > CONTAINS), then the
  tender's order. English matches ignore case. Pinyin initials are not supported.
* Every search is counted per keyword (normalised: trimmed, inner whitespace collapsed, lower case, at most
  50 characters) and China day in SearchCount.
* Hot items (热门事项, services.md §5.1 rule 15): over the last 30 days, the searches whose keyword finds
  the item plus the applications started for its business items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum

import strawberry
from sqlalchemy import ColumnElement, String, case, cast, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from subgraphs.common.errors import bad_input
from subgraphs.services import models
from subgraphs.services.catalogue import BusinessArea, Channel
from subgraphs.services.domain.guides import CHINA, region_chain
from subgraphs.services.vocabulary import Party

MAX_KEYWORD_LENGTH = 50
HOT_WINDOW_DAYS = 30
_SPACES = re.compile(r"\s+")


@strawberry.enum(description="How a keyword matched: the whole name, its start, or somewhere inside.")
class MatchRank(Enum):
    EXACT = 0
    PREFIX = 1
    CONTAINS = 2


def normalise(keyword: str) -> str:
    """The keyword as searched and counted; BAD_USER_INPUT when longer than 50 characters."""
    text = _SPACES.sub(" ", keyword).strip().lower()
    if len(text) > MAX_KEYWORD_LENGTH:
        raise bad_input(f"keyword must be at most {MAX_KEYWORD_LENGTH} characters.", argument="keyword",
                        maximum=MAX_KEYWORD_LENGTH)
    return text


def level_of(region_code: str) -> str:
    """支持层级 that serves a region: 省级 for the province, 市级 for a city, 县级 below."""
    region_chain(region_code)  # validates
    if region_code == "320000":
        return "省级"
    if len(region_code) == 6 and region_code.endswith("00"):
        return "市级"
    return "县级"


@dataclass(frozen=True)
class Filters:
    """服务清单 多维度查询: region (its level), party, business area, category (a parent covers its children),
    channel; disabled entries are left out unless the caller manages the catalogue."""

    region_code: str | None = None
    party: Party | None = None
    business_area: BusinessArea | None = None
    category_code: str | None = None
    channel: Channel | None = None
    include_disabled: bool = False

    def item_conditions(self) -> list[ColumnElement[bool]]:
        item = models.ServiceItem
        out: list[ColumnElement[bool]] = []
        if not self.include_disabled:
            out.append(item.enabled.is_(True))
        if self.party is not None:
            out.append(item.party == self.party.value)
        if self.business_area is not None:
            out.append(item.business_area == self.business_area.value)
        if self.category_code:
            out.append(or_(item.category_code == self.category_code,
                           item.category_code.startswith(self.category_code + ".", autoescape=True)))
        if self.channel is not None:
            # The JSON list as text ('["PC", "APP"]') on SQLite and PostgreSQL alike.
            out.append(cast(item.channels, String).contains(f'"{self.channel.value}"', autoescape=True))
        if self.region_code:
            out.append(exists().where(models.BusinessItem.item_id == item.id, *self.business_item_conditions()))
        return out

    def business_item_conditions(self) -> list[ColumnElement[bool]]:
        """Which business items count: open ones (for the public) at the region's level (with a region)."""
        out: list[ColumnElement[bool]] = []
        if not self.include_disabled:
            out.append(models.BusinessItem.enabled.is_(True))
        if self.region_code:
            out.append(models.BusinessItem.levels.contains(level_of(self.region_code), autoescape=True))
        return out


def _rank(column: ColumnElement[str] | QueryableAttribute[str], keyword: str) -> ColumnElement[int]:
    return case((column == keyword, 0), (column.startswith(keyword, autoescape=True), 1),
                (column.contains(keyword, autoescape=True), 2), else_=3)


@dataclass
class Hit:
    item: models.ServiceItem
    rank: MatchRank
    business_items: list[models.BusinessItem] = field(default_factory=list)


async def search(session: AsyncSession, keyword: str, filters: Filters) -> list[Hit]:
    """Items matching the (normalised) keyword, best first, each with its matching business items."""
    item, business = models.ServiceItem, models.BusinessItem
    # Both ranks of a row come back and the better one is taken here: SQLite's min(a, b) is PostgreSQL's least.
    items = {row.id: (row, min(by_name, by_en)) for row, by_name, by_en in (await session.execute(
        select(item, _rank(item.name, keyword), _rank(func.lower(item.name_en), keyword))
        .where(*filters.item_conditions())))}
    matches = [(b, min(by_name, by_sub)) for b, by_name, by_sub in (await session.execute(
        select(business, _rank(business.name, keyword), _rank(func.coalesce(business.sub_item_name, ""), keyword))
        .where(business.item_id.in_(list(items)), *filters.business_item_conditions())
        .order_by(business.seq)))]
    hits: dict[str, Hit] = {}
    for item_id, (row, rank) in items.items():
        if rank < 3:
            hits[item_id] = Hit(row, MatchRank(rank))
    for b, rank in matches:
        if rank >= 3:
            continue
        hit = hits.get(b.item_id)
        if hit is None:
            hit = hits[b.item_id] = Hit(items[b.item_id][0], MatchRank(rank))
        elif rank < hit.rank.value:
            hit.rank = MatchRank(rank)
        hit.business_items.append(b)
    return sorted(hits.values(), key=lambda h: (h.rank.value, h.item.seq))


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


async def record_search(session: AsyncSession, keyword: str, at: datetime) -> None:
    """Counts one search of the normalised keyword on `at`'s China day (safe against a concurrent first
    count of the same keyword and day)."""
    day = china_day(at)
    counter = models.SearchCount
    bump = update(counter).where(counter.keyword == keyword, counter.day == day).values(count=counter.count + 1)
    if (await session.execute(bump)).rowcount:  # type: ignore[attr-defined]
        return
    try:
        async with session.begin_nested():
            session.add(counter(keyword=keyword, day=day, count=1))
    except IntegrityError:
        await session.execute(bump)


async def keyword_counts(session: AsyncSession, now: datetime) -> list[tuple[str, int]]:
    """Searches per keyword over the last 30 China days, most searched first."""
    since = china_day(now) - timedelta(days=HOT_WINDOW_DAYS - 1)
    total = func.sum(models.SearchCount.count)
    rows = await session.execute(
        select(models.SearchCount.keyword, total).where(models.SearchCount.day >= since)
        .group_by(models.SearchCount.keyword).order_by(total.desc(), models.SearchCount.keyword))
    return [(keyword, int(count)) for keyword, count in rows]


@dataclass(frozen=True)
class HotItem:
    item: models.ServiceItem
    searches: int
    applications: int


async def _names(session: AsyncSession) -> dict[str, list[str]]:
    """Every open item's searchable names (its own and its open business items'), lower-cased."""
    names: dict[str, list[str]] = {}
    for row in (await session.scalars(select(models.ServiceItem).where(models.ServiceItem.enabled.is_(True)))).all():
        names[row.id] = [row.name.lower(), row.name_en.lower()]
    rows = await session.execute(select(models.BusinessItem.item_id, models.BusinessItem.name,
                                        models.BusinessItem.sub_item_name)
                                 .where(models.BusinessItem.enabled.is_(True)))
    for item_id, name, sub in rows:
        if item_id in names:
            names[item_id].extend(n.lower() for n in (name, sub) if n)
    return names


async def hot_items(session: AsyncSession, now: datetime, limit: int) -> list[HotItem]:
    names = await _names(session)
    searches: dict[str, int] = {}
    for keyword, count in (await keyword_counts(session, now))[:500]:
        for item_id, texts in names.items():
            if any(keyword in text for text in texts):
                searches[item_id] = searches.get(item_id, 0) + count
    since = now - timedelta(days=HOT_WINDOW_DAYS)
    applied = dict((await session.execute(
        select(models.BusinessItem.item_id, func.count(models.Application.id))
        .join(models.Application, models.Application.business_item_id == models.BusinessItem.id)
        .where(models.Application.created_at >= since).group_by(models.BusinessItem.item_id))).all())
    scored = [(item_id, searches.get(item_id, 0), int(applied.get(item_id, 0))) for item_id in names]
    scored = [s for s in scored if s[1] + s[2] > 0]
    if not scored:
        return []
    rows = {row.id: row for row in (await session.scalars(select(models.ServiceItem).where(
        models.ServiceItem.id.in_([s[0] for s in scored])))).all()}
    scored.sort(key=lambda s: (-(s[1] + s[2]), rows[s[0]].seq))
    return [HotItem(rows[item_id], s, a) for item_id, s, a in scored[:limit]]


async def hot_keywords(session: AsyncSession, now: datetime, limit: int) -> list[tuple[str, int]]:
    """The most searched keywords of the last 30 days that find at least one open item (推荐热词)."""
    names = await _names(session)
    texts = [text for item_texts in names.values() for text in item_texts]
    found = [(k, c) for k, c in await keyword_counts(session, now) if k and any(k in text for text in texts)]
    return found[:limit]


__all__ = ["Filters", "Hit", "HotItem", "MatchRank", "hot_items", "hot_keywords", "normalise",
           "record_search", "search"]
