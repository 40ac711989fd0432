"""办事指南: the guide of a business item for a region, 情形引导, and the working-day arithmetic of time limits.

A guide is looked up region → its county (for a township) → its city → the province (320000): localities
keep their own guide only where they differ (services.md §5.1 rule 2).

Working days skip weekends and the public holidays of 2025 and 2026 as the State Council's notices
(国办发明电〔2024〕12号 for 2025, and the notice of November 2025 for 2026) set them, including the
weekend days worked in exchange (调休上班). Other years count Monday to Friday only; add each year's notice
to HOLIDAYS / WORKED_WEEKENDS when it is published.

For the applications helper: `promised_due(session, application, accepted_at)` (or
`promised_due(session, business_item_id, region_code, accepted_at)`) gives Application.due_at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, overload
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import bad_input
from subgraphs.common.regions import subtree_prefix
from subgraphs.services import models
from subgraphs.services.catalogue import ApplicationKind

CHINA = ZoneInfo("Asia/Shanghai")
PROVINCE = "320000"


def _days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


HOLIDAYS: frozenset[date] = frozenset(
    # 2025: 元旦, 春节 (8 days), 清明, 劳动节, 端午, 国庆·中秋 (8 days)
    {date(2025, 1, 1)} | _days(date(2025, 1, 28), date(2025, 2, 4)) | _days(date(2025, 4, 4), date(2025, 4, 6))
    | _days(date(2025, 5, 1), date(2025, 5, 5)) | _days(date(2025, 5, 31), date(2025, 6, 2))
    | _days(date(2025, 10, 1), date(2025, 10, 8))
    # 2026: 元旦 (3 days), 春节 (9 days), 清明, 劳动节, 端午, 中秋, 国庆
    | _days(date(2026, 1, 1), date(2026, 1, 3)) | _days(date(2026, 2, 15), date(2026, 2, 23))
    | _days(date(2026, 4, 4), date(2026, 4, 6)) | _days(date(2026, 5, 1), date(2026, 5, 5))
    | _days(date(2026, 6, 19), date(2026, 6, 21)) | _days(date(2026, 9, 25), date(2026, 9, 27))
    | _days(date(2026, 10, 1), date(2026, 10, 7))
)
WORKED_WEEKENDS: frozenset[date] = frozenset({
    date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11),
    date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
    date(2026, 10, 10),
})


def is_working_day(day: date) -> bool:
    if day in WORKED_WEEKENDS:
        return True
    return day.weekday() < 5 and day not in HOLIDAYS


def add_working_days(start: datetime, days: int) -> datetime:
    """The end (23:59:59 Beijing time, returned in UTC) of the `days`-th working day after `start`'s
    Beijing date; `days` 0 is the end of that date itself (当场办结)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start.astimezone(CHINA).date()
    left = days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=CHINA).astimezone(UTC)


# --- which guide ------------------------------------------------------------------------------------


def region_chain(region_code: str | None) -> list[str]:
    """The regions whose guide may serve `region_code`, nearest first, ending with the province."""
    if not region_code:
        return [PROVINCE]
    subtree_prefix(region_code)  # validates the code (BAD_USER_INPUT otherwise)
    if not region_code.startswith("32"):
        raise bad_input(f"Region {region_code} is not in Jiangsu (32xxxx).", argument="regionCode")
    chain = [region_code]
    county = region_code[:6]
    city = region_code[:4] + "00"
    for code in (county, city, PROVINCE):
        if code not in chain:
            chain.append(code)
    return chain


async def guide_for(session: AsyncSession, business_item_id: str,
                    region_code: str | None) -> models.ServiceGuide | None:
    """The guide that applies to `region_code`: its own, else its county's, city's or the province's."""
    chain = region_chain(region_code)
    rows = (await session.scalars(select(models.ServiceGuide).where(
        models.ServiceGuide.business_item_id == business_item_id,
        models.ServiceGuide.region_code.in_(chain)))).all()
    by_region = {row.region_code: row for row in rows}
    return next((by_region[code] for code in chain if code in by_region), None)


async def materials_of(session: AsyncSession, guide_id: str) -> list[models.MaterialRequirement]:
    return list((await session.scalars(select(models.MaterialRequirement).where(
        models.MaterialRequirement.guide_id == guide_id).order_by(models.MaterialRequirement.ordinal))).all())


# --- 情形引导 ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioOutcome:
    """What the answers lead to: the business item (the kind question may move to a sibling), its guide, the
    kind of case, the materials that apply, and the questions still open."""

    business_item_id: str
    guide: models.ServiceGuide
    kind: ApplicationKind | None
    materials: list[models.MaterialRequirement]
    unanswered: list[dict[str, Any]]


def _conditional_codes(scenarios: list[dict[str, Any]]) -> set[str]:
    return {code for q in scenarios for option in q["options"] for code in option.get("materials", [])}


def _check_answers(answers: dict[str, str], guides: list[models.ServiceGuide]) -> None:
    questions: dict[str, set[str]] = {}
    for guide in guides:
        for q in guide.scenarios:
            questions.setdefault(q["code"], set()).update(o["code"] for o in q["options"])
    for question, option in answers.items():
        if question not in questions:
            raise bad_input(f"The guide asks no question {question!r}.", argument="answers", question=question,
                            questions=sorted(questions))
        if option not in questions[question]:
            raise bad_input(f"{option!r} is not an answer to {question!r}.", argument="answers", question=question,
                            options=sorted(questions[question]))


async def scenario(session: AsyncSession, business_item: models.BusinessItem, region_code: str | None,
                   answers: dict[str, str]) -> ScenarioOutcome | None:
    """Applies 情形引导 answers ({question code: option code}); None when the business item has no guide."""
    guide = await guide_for(session, business_item.id, region_code)
    if guide is None:
        return None
    target_id = business_item.id
    kind = ApplicationKind(business_item.kind) if business_item.kind else None
    chosen = _chosen(guide, answers.get("kind"))
    guides = [guide]
    if chosen is not None:
        kind = ApplicationKind(chosen["kind"]) if chosen.get("kind") else kind
        if chosen.get("businessItemId") and chosen["businessItemId"] != business_item.id:
            target_id = chosen["businessItemId"]
            sibling_guide = await guide_for(session, target_id, region_code)
            if sibling_guide is not None:
                guide = sibling_guide
                guides.append(guide)
    _check_answers(answers, guides)
    selected: set[str] = set()
    unanswered: list[dict[str, Any]] = []
    for q in guide.scenarios:
        option = _chosen(guide, answers.get(q["code"]), q["code"])
        if option is None:
            unanswered.append(q)
        else:
            selected.update(option.get("materials", []))
    conditional = _conditional_codes(guide.scenarios)
    materials = [
        m for m in await materials_of(session, guide.id)
        if (not m.kinds or (kind is not None and kind.value in m.kinds))
        and (m.code not in conditional or m.code in selected)
    ]
    return ScenarioOutcome(target_id, guide, kind, materials, unanswered)


def _chosen(guide: models.ServiceGuide, answer: str | None, question: str = "kind") -> dict[str, Any] | None:
    if answer is None:
        return None
    for q in guide.scenarios:
        if q["code"] == question:
            return next((o for o in q["options"] if o["code"] == answer), None)
    return None


# --- 承诺办结时间 -------------------------------------------------------------------------------------


@overload
async def promised_due(session: AsyncSession, subject: models.Application, region_or_accepted: datetime,
                       accepted_at: None = None) -> datetime: ...


@overload
async def promised_due(session: AsyncSession, subject: str, region_or_accepted: str | None,
                       accepted_at: datetime) -> datetime: ...


async def promised_due(session: AsyncSession, subject: models.Application | str,
                       region_or_accepted: str | datetime | None, accepted_at: datetime | None = None) -> datetime:
    """承诺办结时间: `accepted_at` plus the promised working days of the guide for the business item and
    region (an application's own business item and 受理地 when given one). Without a guide, the 20 working
    days of the licensing law (《中华人民共和国行政许可法》第四十二条)."""
    if isinstance(subject, models.Application):
        business_item_id, region = subject.business_item_id, subject.region_code
        accepted = region_or_accepted if isinstance(region_or_accepted, datetime) else accepted_at
    else:
        business_item_id = subject
        region = region_or_accepted if isinstance(region_or_accepted, str) else None
        accepted = accepted_at
    if accepted is None:
        raise ValueError("promised_due needs the acceptance time")
    guide = await guide_for(session, business_item_id, region)
    return add_working_days(accepted, guide.promised_days if guide else 20)
