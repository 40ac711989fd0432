"""The seeded applications (办件) of 2025 with their histories: every case walks a legal path through the
state machine (status.TRANSITIONS, each step checked with next_status while it is generated) and keeps one
ApplicationEvent per step, the documents its steps issue and the fields that follow from its path.

Who applies (all derived from db/seed/world, so every subgraph agrees on the persons):
* the world's applicants (world.applicants, ~8 % of persons) file 1-3 personal applications each;
* other adults file one or two personal applications with EXTRA_P (the province's volume);
* organisations (world.organizations, except the health administrations) file LEGAL_ENTITY_PER_PERSON
  applications per person of the world, each filed by a person (one of its staff where the world has one).

Times are China working time (Mon-Fri 09:00-17:00; public holidays are not modelled). Due dates are the
exception: they are what the live path gives (domain/guides.promised_due: the promised working days of the
guide nearest to the case's region, on the holiday calendar with 调休), so a seeded case is due when an
accepted one would be and the overdue figures agree. The approval steps' durations scale with that promise
(Walk.pace), so a 1-day item is decided within about a day and a 22-day one takes longer. A case is planned
forward from a tentative start, then moved by whole weeks (which keeps weekdays and hours) so that its main
path ends before NOW; cases still open end a few days before NOW, and a share of them weeks before (stuck,
so past their due date: 超期未办结). Steps of a granted case's tracks (制证, 邮寄, 收件, 评价) that would
fall after NOW are left out.

Numbers: 办件编号 "JS" + creation date (yyyymmdd, China) + an 8-digit serial; 文书 "苏卫<word>〔<year>〕
<8-digit serial>号" with word 收 (收件凭证), 受 (受理通知书), 不受 (不予受理决定书), 补 (补正/退回通知书),
准 (准予决定书), 不准 (不准予决定书); ids doc-<serial>.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from itertools import accumulate
from typing import Any, TypeVar

from db.seed.regions import city_code_of
from db.seed.world import WORLD_DATE, OrganizationRecord, PersonRecord, age_on, applicants, organizations, person, users
from subgraphs.common.pseudonym import id_number_digest
from subgraphs.services.catalogue import (
    ApplicationKind,
    Catalogue,
    CatalogueBusinessItem,
    CatalogueItem,
    business_item_kinds,
    load_catalogue,
)
from subgraphs.services.domain.guides import add_working_days, region_chain
from subgraphs.services.seed_catalogue import guide_rows
from subgraphs.services.status import STAGE_OF, ApplicationStage, next_status
from subgraphs.services.status import Action as A
from subgraphs.services.status import ApplicationStatus as S
from subgraphs.services.vocabulary import Party, PowerType

T = TypeVar("T")

CHINA = timezone(timedelta(hours=8))
OPEN, CLOSE = 9, 17
# The seed's "now": the world date. Rows never depend on the wall clock, so two seeds are identical.
NOW = datetime(WORLD_DATE.year, WORLD_DATE.month, WORLD_DATE.day, tzinfo=UTC)
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
PROMISED_WORKING_DAYS = 20
PROVINCE = "320000"

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
# What organisations file most: practice registrations of institutions, clinic filings, advertising.
ORG_ITEM_WEIGHTS = {
    "医疗机构执业登记": 20,
    "诊所备案": 12,
    "中医诊所备案": 6,
    "医疗广告审查": 6,
    "放射源诊疗技术和医用辐射机构许可": 6,
    "母婴保健技术服务机构执业许可": 5,
    "限制类医疗技术备案": 5,
    "医疗机构设置审批": 4,
    "中医医疗机构执业登记": 4,
    "医疗机构承担非免疫规划疫苗接种备案": 4,
    "公共场所卫生许可": 3,
}
# The family-planning allowances are paid from these ages (特别扶助金 from 49, 奖励扶助金 from 60).
MIN_AGE = {"计划生育家庭特别扶助金": 49, "农村部分计划生育家庭奖励扶助金": 60}
# Appraisals decided by an expert panel (鉴定).
EXPERT_ITEMS = frozenset({"对职业病诊断争议的鉴定", "再生育涉及病残儿医学鉴定", "计划生育手术并发症鉴定"})

APPLICATIONS_PER_PERSON = ((1, 60), (2, 30), (3, 10))
EXTRA_P = 0.62
EXTRA_PER_PERSON = ((1, 80), (2, 20))
LEGAL_ENTITY_PER_PERSON = 0.42
WINDOW_P = 0.2
SLOW_P = 0.08  # cases whose every step drags: completed after their due date
STUCK_P = 0.2  # open cases left untouched for weeks: overdue

# Where a case ends up (weights, per 1000).
TARGETS: tuple[tuple[S, int], ...] = (
    (S.APPROVED, 640), (S.NOT_ACCEPTED, 30), (S.REJECTED, 30), (S.TERMINATED, 12), (S.REVOKED, 10),
    (S.VOIDED, 15),
    (S.NEW, 8), (S.DRAFT, 40), (S.WITHDRAWN, 15), (S.CORRECTION_REQUIRED, 20), (S.RETURNED, 10),
    (S.SUPPLEMENT_REQUIRED, 10),
    (S.PRE_REVIEW, 25), (S.HANDOVER, 5), (S.RECEIVED, 5), (S.MATERIALS_COMPLETED, 5), (S.UNDER_ACCEPTANCE, 15),
    (S.ACCEPTED, 25), (S.SITE_INSPECTION, 15), (S.EXPERT_REVIEW, 7), (S.SECTION_REVIEW, 25),
    (S.LEADER_APPROVAL, 15), (S.SUSPENDED, 8),
)
assert {s for s, _ in TARGETS} == set(S)
# Targets placed anywhere in the year; the others are open cases, placed shortly before NOW.
ANYWHERE = frozenset(s for s, stage in STAGE_OF.items() if stage is ApplicationStage.COMPLETED) | {
    S.NEW, S.DRAFT, S.WITHDRAWN}
WINDOW_ONLY = frozenset({S.RECEIVED, S.HANDOVER, S.MATERIALS_COMPLETED})
ONLINE_ONLY = frozenset({S.DRAFT, S.PRE_REVIEW, S.WITHDRAWN, S.CORRECTION_REQUIRED, S.RETURNED})
# The actions the applicant takes; the others are the staff's.
APPLICANT_ACTIONS = frozenset({A.SAVE, A.SUBMIT, A.WITHDRAW, A.RESUBMIT, A.SUPPLY, A.CONFIRM_RECEIPT, A.EVALUATE})
WINDOW_ACTIONS = frozenset({A.RECEIVE_WALK_IN, A.HANDOVER, A.ISSUE_CERTIFICATE, A.MAIL})
LEADER_ACTIONS = frozenset({A.APPROVE, A.DENY})
RATINGS = ((5, 82), (4, 9), (3, 3), (2, 3), (1, 3))
COMMENTS = {5: "办理很快，服务很好", 4: "总体满意", 3: "一般", 2: "等待时间较长", 1: "材料反复补正，体验很差"}

DOCUMENT_WORDS = {
    "INTAKE_RECEIPT": "收", "ACCEPTANCE_NOTICE": "受", "REFUSAL_DECISION": "不受", "CORRECTION_NOTICE": "补",
    "APPROVAL_DECISION": "准", "DENIAL_DECISION": "不准",
}
DOCUMENT_OF = {
    A.RECEIVE_WALK_IN: "INTAKE_RECEIPT", A.ACCEPT: "ACCEPTANCE_NOTICE", A.REFUSE: "REFUSAL_DECISION",
    A.REQUEST_CORRECTION: "CORRECTION_NOTICE", A.RETURN: "CORRECTION_NOTICE", A.APPROVE: "APPROVAL_DECISION",
    A.DENY: "DENIAL_DECISION",
}


def _pick(rng: random.Random, weighted: tuple[tuple[T, int], ...]) -> T:
    values, cumulative = _cumulative(weighted)
    return rng.choices(values, cum_weights=cumulative)[0]


@cache
def _cumulative(weighted: tuple[tuple[Any, int], ...]) -> tuple[list[Any], list[float]]:
    # What random.choices computes from plain weights on every call: the same draws, once.
    return [v for v, _ in weighted], list(accumulate(w for _, w in weighted))


# --- working time ---------------------------------------------------------------------------------------


_EPOCH = date(2024, 1, 1)  # a Monday: working days are numbered from it
_DAY = (CLOSE - OPEN) * 60


def _working_minute(t: datetime) -> int:
    """`t` (China time, whole minutes) as working minutes since _EPOCH; a moment off duty counts as the next
    opening."""
    days = (t.date() - _EPOCH).days
    weeks, weekday = divmod(days, 7)
    index = weeks * 5 + min(weekday, 5)
    if weekday >= 5:
        return index * _DAY
    minute = (t.hour - OPEN) * 60 + t.minute
    if minute < 0:
        return index * _DAY
    return (index + 1) * _DAY if minute >= _DAY else index * _DAY + minute


def _moment(working_minute: int) -> datetime:
    index, minute = divmod(working_minute, _DAY)
    weeks, weekday = divmod(index, 5)
    day = _EPOCH + timedelta(days=weeks * 7 + weekday)
    return datetime(day.year, day.month, day.day, OPEN, tzinfo=CHINA) + timedelta(minutes=minute)


def _on_duty(t: datetime) -> datetime:
    """`t` (China time), or the next moment the offices are open."""
    return _moment(_working_minute(t))


def after_working(t: datetime, minutes: int) -> datetime:
    """The moment `minutes` of working time after `t` (China time, whole minutes)."""
    return _moment(_working_minute(t) + minutes)


# --- the walk through the state machine -----------------------------------------------------------------


@dataclass
class Step:
    action: A
    from_status: S
    to_status: S
    actor: str
    at: datetime  # China time while planning
    document: str | None = None  # the kind of 文书 the step issues
    main: bool = True  # False for the tracks of a granted case, which may be cut at NOW


@dataclass
class Walk:
    """A case's path, built one legal step at a time."""

    rng: random.Random
    t: datetime
    applicant: str
    staff: Sequence[str]
    slow: float
    # The case's promised working days ÷ PROMISED_WORKING_DAYS: the approval steps' durations were drawn for a
    # 20-day promise and shrink or stretch with the guide's, so a short promise runs late no more often than a
    # long one (about 11 % of completed 10-day and 22-day cases alike, slow ones included).
    pace: float = 1.0
    status: S = S.NEW
    suspended_from: S | None = None
    steps: list[Step] = field(default_factory=list)

    def do(self, action: A, minutes: float, *, main: bool = True) -> None:
        target = next_status(action, self.status, self.suspended_from)
        if target is None:
            raise AssertionError(f"{action.value} is not allowed from {self.status.value}")
        if action in (A.SUSPEND, A.REQUEST_SUPPLEMENT):
            self.suspended_from = self.status
        elif action in (A.RESUME, A.SUPPLY):
            self.suspended_from = None
        self.t = after_working(self.t, max(1, int(minutes * (self.slow if main else 1))))
        self.steps.append(Step(action, self.status, target, self._actor(action), self.t, DOCUMENT_OF.get(action),
                               main))
        self.status = target

    def _actor(self, action: A) -> str:
        if action in APPLICANT_ACTIONS:
            return self.applicant
        if action in LEADER_ACTIONS:
            return self.staff[0]
        return self.rng.choice(self.staff)

    def hours(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high) * 60

    def days(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high) * 8 * 60

    def paced_days(self, low: float, high: float) -> float:
        """Working days of an approval step, inside the promised time limit."""
        return self.days(low, high) * self.pace


@dataclass(frozen=True)
class Case:
    """What the planner needs to know about one application."""

    target: S
    channel: str
    item: CatalogueItem
    legal: bool
    pace: float = 1.0


def plan(w: Walk, case: Case) -> None:
    """Walks `w` from NEW to `case.target` along a plausible path."""
    target, rng = case.target, w.rng
    if target is S.NEW:
        return
    if not _intake(w, case):
        return
    if target is S.WITHDRAWN:
        w.do(A.WITHDRAW, w.hours(1, 24))
        return
    if target is S.UNDER_ACCEPTANCE or rng.random() < 0.5:
        w.do(A.START_ACCEPTANCE, w.hours(1, 8))
    if target is S.UNDER_ACCEPTANCE:
        return
    if target is S.NOT_ACCEPTED:
        w.do(A.REFUSE, w.days(0.5, 3))
        return
    if target is S.VOIDED and rng.random() < 0.5:
        w.do(A.VOID, w.hours(1, 16))
        return
    w.do(A.ACCEPT, w.days(0.2, 2))
    _approval(w, case)


def _intake(w: Walk, case: Case) -> bool:
    """From NEW to the acceptance desk; False when the case stops before it."""
    target, rng = case.target, w.rng
    if case.channel == "WINDOW":
        w.do(A.RECEIVE_WALK_IN, w.hours(0.1, 0.5))
        if target is S.RECEIVED:
            return False
        w.do(A.HANDOVER, w.hours(2, 8))
        if target is S.HANDOVER:
            return False
        w.do(A.COMPLETE_MATERIALS, w.days(0.2, 2))
        return target is not S.MATERIALS_COMPLETED
    if target is S.DRAFT or rng.random() < 0.4:
        w.do(A.SAVE, w.hours(0.1, 2))
        if target is S.DRAFT:
            return False
        w.do(A.SUBMIT, w.days(0, 3))
    else:
        w.do(A.SUBMIT, w.hours(0.2, 2))
    sent_back = A.RETURN if case.item.power_type is PowerType.FILING else A.REQUEST_CORRECTION
    rounds = 1 if target in (S.CORRECTION_REQUIRED, S.RETURNED) or rng.random() < 0.1 else 0
    for _ in range(rounds):
        w.do(sent_back, w.days(0.3, 2))
        if target in (S.CORRECTION_REQUIRED, S.RETURNED):
            return False
        w.do(A.RESUBMIT, w.days(1, 6))
    return target is not S.PRE_REVIEW


APPROVAL_STOPS = frozenset({S.ACCEPTED, S.SITE_INSPECTION, S.EXPERT_REVIEW, S.SECTION_REVIEW, S.LEADER_APPROVAL})
INTERRUPTIONS = {S.SUPPLEMENT_REQUIRED: A.REQUEST_SUPPLEMENT, S.SUSPENDED: A.SUSPEND, S.TERMINATED: A.TERMINATE,
                 S.REVOKED: A.REVOKE, S.VOIDED: A.VOID}


def _approval(w: Walk, case: Case) -> None:
    """From ACCEPTED through the approval steps to the target."""
    target, rng = case.target, w.rng
    licensing = case.item.power_type is PowerType.LICENSING
    route = [S.ACCEPTED]
    if target is S.SITE_INSPECTION or (case.legal and licensing and rng.random() < 0.6):
        route.append(S.SITE_INSPECTION)
    if target is S.EXPERT_REVIEW or case.item.name in EXPERT_ITEMS or (
            case.legal and licensing and rng.random() < 0.15):
        route.append(S.EXPERT_REVIEW)
    route += [S.SECTION_REVIEW, S.LEADER_APPROVAL]
    # Where an interrupted case (补充, 中止, 终止, 撤销, 作废) stops.
    stop = target if target in APPROVAL_STOPS else rng.choice(route) if target in INTERRUPTIONS else None
    enter = {S.SITE_INSPECTION: A.SEND_TO_INSPECTION, S.EXPERT_REVIEW: A.SEND_TO_EXPERTS,
             S.SECTION_REVIEW: A.SEND_TO_SECTION_REVIEW}
    for station in route:
        if station is S.LEADER_APPROVAL:
            agree = (target is not S.REJECTED and rng.random() < 0.97) or rng.random() < 0.2
            w.do(A.SECTION_AGREE if agree else A.SECTION_DISAGREE, w.paced_days(1, 5))
        elif station in enter:
            w.do(enter[station], w.paced_days(0.5, 3) if station is not S.SITE_INSPECTION else w.paced_days(1, 4))
        _while_at(w, station)
        if station is stop:
            if target in INTERRUPTIONS:
                w.do(INTERRUPTIONS[target], w.days(0.5, 3))
            return
    w.do(A.APPROVE if target is S.APPROVED else A.DENY, w.paced_days(1, 4))
    if target is S.APPROVED:
        _tracks(w)


def _while_at(w: Walk, station: S) -> None:
    """What may happen while a case sits at an approval step: 补充 and back, 中止 and back, a failed site
    inspection (限期整改, then a second inspection)."""
    rng = w.rng
    if station is S.SITE_INSPECTION and rng.random() < 0.2:
        w.do(A.INSPECTION_FAILED, w.paced_days(1, 3))
    if rng.random() < 0.04:
        w.do(A.REQUEST_SUPPLEMENT, w.days(0.5, 2))
        w.do(A.SUPPLY, w.days(1, 5))
    if rng.random() < 0.02:
        w.do(A.SUSPEND, w.days(0.5, 2))
        w.do(A.RESUME, w.days(3, 10))


def _tracks(w: Walk) -> None:
    """A granted case: 制证, then 邮寄 and 收件 for mailed certificates, then, mostly, 评价."""
    rng = w.rng
    w.do(A.ISSUE_CERTIFICATE, w.days(0.2, 2), main=False)
    if rng.random() < 0.4:
        w.do(A.MAIL, w.hours(1, 8), main=False)
        w.do(A.CONFIRM_RECEIPT, w.days(1, 3), main=False)
    if rng.random() < 0.7:
        w.do(A.EVALUATE, w.days(0, 10), main=False)


def replay(steps: Sequence[tuple[str, str | None, str]]) -> S:
    """The status a history leads to from NEW, checking that every step (action, from, to) is legal and
    chained; raises AssertionError otherwise. The seed's tests replay every seeded history with it."""
    status, suspended_from = S.NEW, None
    for action_name, from_status, to_status in steps:
        action = A(action_name)
        assert from_status == status.value, f"{action_name} recorded from {from_status}, the case was {status}"
        target = next_status(action, status, suspended_from)
        assert target is not None and target.value == to_status, f"{action_name} from {status} is not {to_status}"
        if action in (A.SUSPEND, A.REQUEST_SUPPLEMENT):
            suspended_from = status
        elif action in (A.RESUME, A.SUPPLY):
            suspended_from = None
        status = target
    return status


# --- who applies for what ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applicant:
    uid: str
    name: str
    id_digest: str
    region: str  # where the applicant lives or the organisation sits
    org_id: str | None = None


@dataclass
class World:
    """The world's organisations and staff accounts the seed assigns cases to."""

    seed: int
    persons: int
    orgs: dict[str, OrganizationRecord]
    staff: dict[str, list[str]]  # organisation id -> its accounts' ids

    @classmethod
    def of(cls, seed: int, persons: int) -> World:
        orgs = organizations(seed)
        staff: dict[str, list[str]] = {}
        # Account ids do not depend on the population size; world.users needs one person per account.
        for user in users(seed, max(persons, 3 * len(orgs))):
            staff.setdefault(user.organization_id, []).append(user.id)
        return cls(seed, persons, {o.id: o for o in orgs}, staff)

    def handling(self, levels: Sequence[str], region: str) -> OrganizationRecord:
        """The health administration that handles a business item for an applicant in `region`: the
        lowest level the item supports."""
        county, city = f"org-{region[:6]}-hc", f"org-{city_code_of(region[:6])}-hc"
        if "县级" in levels and county in self.orgs and region[:6] != city_code_of(region[:6]):
            return self.orgs[county]
        if ("市级" in levels or "县级" in levels) and city in self.orgs:
            return self.orgs[city]
        return self.orgs[f"org-{PROVINCE}-hc"]


@dataclass
class Serials:
    application: int = 0
    document: int = 0


Choice = tuple[CatalogueBusinessItem, CatalogueItem, float]
# The ages from which more items open (MIN_AGE).
AGE_STEPS = frozenset(MIN_AGE.values())


def applications(seed: int, person_count: int, catalogue: Catalogue) -> Iterator[
        tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]:
    """Per case, in serial order: the application row, its event rows (seq 1..n) and its document rows."""
    world = World.of(seed, person_count)
    items = {i.id: i for i in catalogue.items}
    per_item = Counter(b.item_id for b in catalogue.business_items)

    def choices(party: Party, weights: dict[str, int]) -> list[Choice]:
        return [(b, items[b.item_id], weights.get(items[b.item_id].name, 1) / per_item[b.item_id])
                for b in catalogue.business_items if items[b.item_id].party is party]

    individual, legal = choices(Party.INDIVIDUAL, ITEM_WEIGHTS), choices(Party.LEGAL_ENTITY, ORG_ITEM_WEIGHTS)

    @cache
    def individual_for(age: int) -> tuple[list[Choice], list[float]]:
        eligible = [(b, i, w) for b, i, w in individual if age >= MIN_AGE.get(i.name, 0)]
        return eligible, list(accumulate(w for _, _, w in eligible))

    @cache
    def legal_for(target: S) -> tuple[list[Choice], list[float]]:
        # 退回 is for filings, 补正 for the rest.
        fits = [(b, i, w) for b, i, w in legal
                if (target is not S.RETURNED or i.power_type is PowerType.FILING)
                and (target is not S.CORRECTION_REQUIRED or i.power_type is not PowerType.FILING)]
        return fits, list(accumulate(w for _, _, w in fits))

    serials = Serials()
    world_applicants = set(applicants(seed, person_count))
    for index in range(person_count):
        who = person(seed, index)
        age = age_on(who.birth_date)
        # A private stream per person: adding a field here must not reshuffle every later application.
        rng = random.Random(f"jshealth-services:{seed}:{index}")
        if index in world_applicants:
            count = _pick(rng, APPLICATIONS_PER_PERSON)
        elif age >= 18 and rng.random() < EXTRA_P:
            count = _pick(rng, EXTRA_PER_PERSON)
        else:
            continue
        eligible, cumulative = individual_for(max((a for a in AGE_STEPS if a <= age), default=0))
        applicant = Applicant(who.uid, who.name, id_number_digest(who.id_number), who.residence_region)
        for business_item, item, _ in rng.choices(eligible, cum_weights=cumulative, k=count):
            yield _case(world, rng, serials, applicant, business_item, item, _pick(rng, TARGETS))
    orgs = [o for o in world.orgs.values() if o.kind != "HEALTH_COMMISSION"]
    for k in range(round(person_count * LEGAL_ENTITY_PER_PERSON)):
        rng = random.Random(f"jshealth-services-org:{seed}:{k}")
        org = rng.choice(orgs)
        target = list(S)[k] if k < len(S) else _pick(rng, TARGETS)
        fits, cumulative = legal_for(target)
        business_item, item, _ = rng.choices(fits, cum_weights=cumulative)[0]
        filer = _filer(world, rng)
        applicant = Applicant(filer.uid, org.name, id_number_digest(org.credit_code), org.region_code, org.id)
        yield _case(world, rng, serials, applicant, business_item, item, target)


def _filer(world: World, rng: random.Random) -> PersonRecord:
    """The person filing for an organisation: an adult of the world (its staff accounts' persons may lie
    outside a small world)."""
    while True:
        who = person(world.seed, rng.randrange(world.persons))
        if age_on(who.birth_date) >= 20:
            return who


def _fit(target: S, item: CatalogueItem) -> S:
    # 补正 is for licensing and the like, 退回 for filings.
    if target is S.RETURNED and item.power_type is not PowerType.FILING:
        return S.CORRECTION_REQUIRED
    if target is S.CORRECTION_REQUIRED and item.power_type is PowerType.FILING:
        return S.RETURNED
    return target


def _case(world: World, rng: random.Random, serials: Serials, applicant: Applicant,
          business_item: CatalogueBusinessItem, item: CatalogueItem, target: S) -> tuple[
        dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    target = _fit(target, item)
    channel = ("WINDOW" if target in WINDOW_ONLY else "ONLINE" if target in ONLINE_ONLY
               else "WINDOW" if rng.random() < WINDOW_P else "ONLINE")
    org = world.handling(business_item.levels, applicant.region)
    staff = world.staff.get(org.id) or [f"usr-{org.id}"]
    slow = rng.uniform(3, 6) if rng.random() < SLOW_P else 1.0
    stuck = rng.random() < STUCK_P
    case = Case(target, channel, item, applicant.org_id is not None,
                promised_days(business_item.id, org.region_code) / PROMISED_WORKING_DAYS)
    for _ in range(4):
        placed = _place(rng, case, applicant.uid, staff, slow, stuck)
        if placed is not None:
            break
        # A long case placed late would have to start before the year: plan a brisker one.
        slow, stuck = 1.0, False
    else:
        raise AssertionError(f"cannot place a {target.value} case in 2025")
    created, steps, suspended_from = placed
    serials.application += 1
    return _rows(rng, serials, org, applicant, business_item, item, channel, created, steps, suspended_from)


def _place(rng: random.Random, case: Case, applicant_uid: str, staff: Sequence[str], slow: float,
           stuck: bool) -> tuple[datetime, list[Step], S | None] | None:
    """Plans a case and moves it by whole weeks so that its main path ends before NOW (open cases: shortly
    before, or weeks before when stuck); None when it would then start before the year."""
    start = datetime(2025, 1, 2, OPEN, tzinfo=CHINA) + timedelta(minutes=rng.randrange(360 * 24 * 60))
    walk = Walk(rng, _on_duty(start), applicant_uid, staff, slow, case.pace)
    created = walk.t - timedelta(minutes=rng.randrange(5, 60))
    plan(walk, case)
    assert walk.status is case.target, (walk.status, case.target)
    main_end = max([s.at for s in walk.steps if s.main], default=created)
    week = timedelta(weeks=1)
    if case.target in ANYWHERE:
        weeks = (main_end - NOW) // week + 1 if main_end >= NOW else 0
    else:
        # Moving by whole weeks puts the end up to a week before `latest`: an open case that is not stuck was
        # last touched 0-7 days ago, which a short promise (5 working days, say) may already have run out in.
        latest = NOW - timedelta(days=rng.uniform(15, 90)) if stuck else NOW
        weeks = (main_end - latest) // week + 1
    shift = weeks * week
    if created - shift < YEAR_START:
        return None
    steps = [s for s in walk.steps if s.at - shift < NOW]
    for s in steps:
        s.at = (s.at - shift).astimezone(UTC)
    return (created - shift).astimezone(UTC), steps, walk.suspended_from


def _rows(rng: random.Random, serials: Serials, org: OrganizationRecord, applicant: Applicant,
          business_item: CatalogueBusinessItem, item: CatalogueItem, channel: str, created: datetime,
          steps: list[Step], suspended_from: S | None) -> tuple[
        dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    app_id = f"app-{serials.application:08d}"
    status = steps[-1].to_status if steps else S.NEW
    first: dict[A, datetime] = {}
    for s in steps:
        first.setdefault(s.action, s.at)
    submitted = min((first[a] for a in (A.SUBMIT, A.RECEIVE_WALK_IN) if a in first), default=None)
    accepted = first.get(A.ACCEPT)
    completed = next((s.at for s in steps if STAGE_OF[s.to_status] is ApplicationStage.COMPLETED), None)
    events: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    for seq, s in enumerate(steps, start=1):
        doc_ids: list[str] = []
        if s.document:
            serials.document += 1
            doc_ids.append(f"doc-{serials.document:08d}")
            documents.append(_document(serials.document, app_id, s.document, item, org, applicant, s.at,
                                       s.actor))
        events.append({"application_id": app_id, "seq": seq, "action": s.action.value,
                       "from_status": s.from_status.value, "to_status": s.to_status.value, "actor": s.actor,
                       "at": s.at, "comment": None, "documents": doc_ids})
    approved = status is S.APPROVED
    mailed = approved and A.MAIL in first
    rating = _pick(rng, RATINGS) if A.EVALUATE in first else None
    # The catalogue's 情形 of the business item, as the workflow and the guides store it (NEW, CHANGE, ...).
    kind = _business_item_kinds().get(business_item.id)
    rectification = None
    if status is S.SITE_INSPECTION and steps[-1].action is A.INSPECTION_FAILED:
        rectification = (steps[-1].at.astimezone(CHINA) + timedelta(days=30)).date()
    row = {
        "id": app_id,
        "number": f"JS{created.astimezone(CHINA):%Y%m%d}{serials.application:08d}",
        "business_item_id": business_item.id,
        "applicant_uid": applicant.uid,
        "status": status.value,
        "created_at": created,
        "submitted_at": submitted,
        "updated_at": steps[-1].at if steps else created,
        "evaluated_at": first.get(A.EVALUATE),
        "kind": kind.value if kind else None,
        "applicant_type": Party.LEGAL_ENTITY.value if applicant.org_id else Party.INDIVIDUAL.value,
        "applicant_org_id": applicant.org_id,
        "applicant_name": applicant.name,
        "applicant_id_digest": applicant.id_digest,
        "region_code": org.region_code,
        "organization_id": org.id,
        "channel": channel,
        "suspended_from": suspended_from.value if suspended_from else None,
        "accepted_at": accepted,
        "completed_at": completed,
        "due_at": add_working_days(accepted, promised_days(business_item.id, org.region_code)) if accepted else None,
        "rectification_due": rectification,
        "certificate_status": ("ISSUED" if A.ISSUE_CERTIFICATE in first else "PENDING") if approved else None,
        "delivery_method": ("MAIL" if mailed else "PICKUP") if approved and A.ISSUE_CERTIFICATE in first else None,
        "delivery_status": ("RECEIVED" if A.CONFIRM_RECEIPT in first else "MAILED") if mailed else None,
        "carrier": "EMS" if mailed else None,
        "waybill_number": f"1{serials.application:012d}" if mailed else None,
        "rating": rating,
        "evaluation_comment": COMMENTS[rating] if rating is not None and rng.random() < 0.4 else None,
    }
    return row, events, documents


TITLES = {
    "INTAKE_RECEIPT": ("收件凭证", "收件凭证"),
    "ACCEPTANCE_NOTICE": ("行政许可申请受理通知书", "受理通知书"),
    "REFUSAL_DECISION": ("行政许可申请不予受理决定书", "不予受理决定书"),
    "CORRECTION_NOTICE": ("行政许可申请材料补正告知书", "退回通知书"),
    "APPROVAL_DECISION": ("准予行政许可决定书", "准予决定书"),
    "DENIAL_DECISION": ("不予行政许可决定书", "不予批准决定书"),
}


def _document(serial: int, app_id: str, kind: str, item: CatalogueItem, org: OrganizationRecord,
              applicant: Applicant, at: datetime, actor: str) -> dict[str, Any]:
    licensing, other = TITLES[kind]
    title = licensing if item.power_type is PowerType.LICENSING else other
    number = f"苏卫{DOCUMENT_WORDS[kind]}〔{at.astimezone(CHINA).year}〕{serial:08d}号"
    return {"id": f"doc-{serial:08d}", "application_id": app_id, "kind": kind, "number": number,
            "title": f"{item.name}{title}", "issued_by": org.id, "issued_at": at, "visible_to_applicant": True,
            "content": f"{applicant.name}：你（单位）申请的{item.name}事项，{org.name}已作出{title}（{number}）。"}


@cache
def promised_days(business_item_id: str, region_code: str) -> int:
    """The working days guides.promised_due gives a case of this business item accepted in this region: those
    of the nearest seeded guide on the region's chain (its own, its county's, city's, the province's), else
    the 20 of the licensing law."""
    days = _promised_days()
    return next((days[(business_item_id, code)] for code in region_chain(region_code)
                 if (business_item_id, code) in days), PROMISED_WORKING_DAYS)


@cache
def _promised_days() -> dict[tuple[str, str], int]:
    guides, _materials = guide_rows(load_catalogue(), NOW)
    return {(g["business_item_id"], g["region_code"]): g["promised_days"] for g in guides}


@cache
def _business_item_kinds() -> dict[str, ApplicationKind | None]:
    return business_item_kinds(load_catalogue())
