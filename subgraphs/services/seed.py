"""Seeds services: the whole catalogue from the tender's list, and 1-3 applications in 2025 for every
person the synthetic world (db/seed) marks as an applicant.

办件编号: "JS", the creation date (yyyymmdd), then an 8-digit serial across the seed, e.g.
JS2025031400000123. The tender gives no numbering rule; this one is unique without a lookup and sorts
by date.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.world import WORLD_DATE, age_on, applicants, person
from subgraphs.common.app import SeedOptions
from subgraphs.services.catalogue import Catalogue, CatalogueBusinessItem, CatalogueItem, load_catalogue
from subgraphs.services.models import Application, BusinessItem, ServiceItem
from subgraphs.services.status import ApplicationStatus as S
from subgraphs.services.vocabulary import Party, PowerType

T = TypeVar("T")

CHUNK = 5000
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(WORLD_DATE.year, WORLD_DATE.month, WORLD_DATE.day, tzinfo=UTC)

# How often persons apply for each individual item, shared out over its business items; items not listed
# weigh 1. Practice registrations of nurses and physicians dominate what individuals file.
ITEM_WEIGHTS = {
    "护士执业注册": 30,
    "医师执业注册": 25,
    "参加护士执业资格考试人员报名资格审定": 8,
    "医师资格认定": 6,
    "医师多执业机构备案": 6,
    "母婴保健服务人员资格认定": 5,
    "乡村医生执业注册": 3,
    "计划生育家庭特别扶助金": 3,
    "农村部分计划生育家庭奖励扶助金": 3,
}
# The family-planning allowances are paid from these ages (特别扶助金 from 49, 奖励扶助金 from 60).
MIN_AGE = {"计划生育家庭特别扶助金": 49, "农村部分计划生育家庭奖励扶助金": 60}
# Appraisals decided by an expert panel (鉴定).
EXPERT_ITEMS = frozenset({"对职业病诊断争议的鉴定", "再生育涉及病残儿医学鉴定", "计划生育手术并发症鉴定"})

APPLICATIONS_PER_PERSON = ((1, 60), (2, 30), (3, 10))
DRAFT_P = 0.06
EVALUATED_P = 0.7
OUTCOMES = (
    (S.APPROVED, 86), (S.NOT_ACCEPTED, 4), (S.REJECTED, 4), (S.TERMINATED, 3), (S.REVOKED, 1), (S.VOIDED, 2),
)
AWAITING = (
    (S.PRE_REVIEW, 5), (S.UNDER_ACCEPTANCE, 3), (S.RECEIVED, 2), (S.HANDOVER, 1), (S.MATERIALS_COMPLETED, 1),
)
IN_PROGRESS = ((S.ACCEPTED, 4), (S.SECTION_REVIEW, 3), (S.LEADER_APPROVAL, 2), (S.SUSPENDED, 1))
# Sent back to the applicant: 补正 for licensing, 退回 for filings, or withdrawn by the applicant.
SENT_BACK_P = 0.15


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
    for chunk in chunked(applications(options.seed, options.persons, catalogue), CHUNK):
        await session.execute(insert(Application), chunk)


def _pick(rng: random.Random, weighted: Sequence[tuple[T, int]]) -> T:
    return rng.choices([s for s, _ in weighted], [w for _, w in weighted])[0]


def applications(seed: int, person_count: int, catalogue: Catalogue) -> Iterator[dict[str, Any]]:
    items = {i.id: i for i in catalogue.items}
    per_item = Counter(b.item_id for b in catalogue.business_items)
    choices = [
        (b, items[b.item_id], ITEM_WEIGHTS.get(items[b.item_id].name, 1) / per_item[b.item_id])
        for b in catalogue.business_items
        if items[b.item_id].party is Party.INDIVIDUAL
    ]
    serial = 0
    for index in applicants(seed, person_count):
        applicant = person(seed, index)
        age = age_on(applicant.birth_date)
        eligible = [(b, i, w) for b, i, w in choices if age >= MIN_AGE.get(i.name, 0)]
        # A private stream per applicant: adding a field here must not reshuffle every later application.
        rng = random.Random(f"jshealth-services:{seed}:{index}")
        count = _pick(rng, APPLICATIONS_PER_PERSON)
        for business_item, item, _ in rng.choices(eligible, [w for _, _, w in eligible], k=count):
            serial += 1
            yield _application(rng, serial, applicant.uid, business_item, item)


def _application(
    rng: random.Random,
    serial: int,
    applicant_uid: str,
    business_item: CatalogueBusinessItem,
    item: CatalogueItem,
) -> dict[str, Any]:
    # Started during 2025, leaving a few days at the end of the year to submit.
    created = YEAR_START + (YEAR_END - timedelta(days=3) - YEAR_START) * rng.random()
    submitted: datetime | None = None
    evaluated: datetime | None = None
    if rng.random() < DRAFT_P:
        status = S.DRAFT if rng.random() < 0.75 else S.NEW
        updated = created + timedelta(minutes=rng.randrange(1, 120))
    else:
        submitted = created + timedelta(minutes=rng.randrange(5, 3 * 24 * 60))
        decided = submitted + timedelta(hours=rng.randrange(3 * 24, 45 * 24))
        if decided < YEAR_END:
            status = _pick(rng, OUTCOMES)
            updated = decided
            if status is S.APPROVED and rng.random() < EVALUATED_P:
                evaluated = decided + (YEAR_END - decided) * rng.random() * 0.5
        else:
            # Still open at the end of the year: how far it got depends on how long it has been open.
            progress = (YEAR_END - submitted) / (decided - submitted)
            updated = submitted + (YEAR_END - submitted) * rng.random()
            if rng.random() < SENT_BACK_P:
                status = _sent_back(rng, item)
            elif progress < 0.25:
                status = _pick(rng, AWAITING)
            elif item.name in EXPERT_ITEMS and rng.random() < 0.5:
                status = S.EXPERT_REVIEW
            else:
                status = _pick(rng, IN_PROGRESS)
    return {
        "id": f"app-{serial:08d}",
        "number": f"JS{created:%Y%m%d}{serial:08d}",
        "business_item_id": business_item.id,
        "applicant_uid": applicant_uid,
        "status": status.value,
        "created_at": created,
        "submitted_at": submitted,
        "updated_at": updated,
        "evaluated_at": evaluated,
    }


def _sent_back(rng: random.Random, item: CatalogueItem) -> S:
    if rng.random() < 0.2:
        return S.WITHDRAWN
    if rng.random() < 0.2:
        return S.SUPPLEMENT_REQUIRED
    return S.RETURNED if item.power_type is PowerType.FILING else S.CORRECTION_REQUIRED
