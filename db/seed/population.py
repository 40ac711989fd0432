"""The population attributes of the synthetic world (db/seed/world.py): what the whole-population database
knows about each world person beyond name, sex, birth date and regions.

Everything is a pure function of (seed, person index), like world.py: `population_person(seed, i)` gives
the same person as the i-th element of `population_persons(seed, n)` for any n > i, and nothing is
re-rolled. The unit of computation is a *block* of `BLOCK` consecutive indexes, always whole, whatever the
seeded count: its persons draw from one random stream (seeding a generator per person would cost more than the
draws), households group persons of one block registered in the same township, and the death reports that
match no person belong to a block. Random access to a person builds its block once (cached).

Simplifications worth knowing (docs/population/seed-and-scale.md has the full list):

* Households are 1-5 persons of one block registered in the same township, in index order. The head is the
  oldest member aged 18-79; relations follow the age gap to the head. When the head has a member of the other
  sex and a fitting age who is married anyway, the two are a couple: married to each other (same date, both
  sides' events); household members of the right age become the wife's children (`child_index`). Everyone else
  is married, if at all, to a synthetic spouse with a valid ID number.
* Household numbers are the county code + a 9-digit counter that is `block * BLOCK + ordinal`, so they are
  unique and computable from the block alone, but not dense; the seeded counter continues after the largest.
* Each world person's township is refined to a village and group of population's region tree
  (db/seed/regions.py `population_regions`): a household shares one group; the township prefix is world.py's,
  so every subgraph still agrees on who lives in which township. The management region (管理地) is the village
  of the residence group (world.py has management = residence): villages are the lowest office level, and
  a group-level management region would triple the statistics tally rows for nothing.
* Children records hang off the mother only (as in the tender's 育龄妇女 view); men have none.
* 0.75 % of resident ID numbers are made invalid here, in population only (wrong check digit, impossible
  birth date, sex digit contradicting the sex), each change keeping the numbers unique.
* Synthetic children's ID numbers are not provably unique (three digits per county and day); the loaders
  keep the first in index order and leave a later duplicate without a number (subgraphs/population/seed.py).
"""

from __future__ import annotations

import gc
import random
import sys
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from tqdm import tqdm

from db.seed.regions import (
    VersionedRegionRecord,
    group_codes,
    population_regions,
    region_names,
    village_codes,
)
from db.seed.world import (
    _FEMALE_GIVEN,
    _MALE_GIVEN,
    _PHONE_PREFIXES,
    _SURNAME_CHARS,
    _SURNAME_CUM,
    _SURNAME_TOTAL,
    _TOWNSHIPS,
    MAX_PERSONS,
    TOWNSHIPS_PER_COUNTY,
    WORLD_DATE,
    PersonRecord,
    _frozen_constructor,
    _make_person,
    _permutation,
    _resident_id,
    _stream_key,
    age_on,
)

__all__ = [
    "BLOCK",
    "SEED_ACTOR",
    "WORLD_MOMENT",
    "ChildRecord",
    "DeathReport",
    "DeathStep",
    "DispatchRecord",
    "HouseholdRecord",
    "MarriageRecord",
    "PopulationBlock",
    "PopulationPerson",
    "Spouse",
    "SupportRecord",
    "block_count",
    "household_counter",
    "marital_status_of",
    "person_no",
    "population_block",
    "population_blocks",
    "population_person",
    "population_persons",
    "region_tree",
]

# ~10 persons per township per block: enough to form households of 1-5 without many left-over singles.
BLOCK = 4096
# Seeded records are stamped before the world's date, by this actor.
WORLD_MOMENT = datetime(WORLD_DATE.year, WORLD_DATE.month, WORLD_DATE.day, tzinfo=UTC)
SEED_ACTOR = "seed"

# Streams of world.py's `_stream_key`: 1-3 are world.py's own; population's start at 16.
_STREAM_POPULATION = 16
_STREAM_HOUSEHOLDS = 17
_STREAM_UNMATCHED_DEATHS = 18

_DAYS_PER_YEAR = 365.2425


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Spouse:
    """The other party of a marriage event (丈夫信息 for a woman); `index` when that is a world person."""

    name: str
    id_number: str | None
    ethnicity: str
    birth_date: date
    education: str | None
    phone: str | None
    household_region: str
    residence_region: str
    index: int | None = None


@dataclass(frozen=True)
class MarriageRecord:
    """One event of a marriage history. kind: FIRST_MARRIAGE 初婚, REMARRIAGE 再婚, REUNION 复婚, DIVORCE 离婚,
    WIDOWED 丧偶; the spouse is the one married, divorced or lost."""

    id: str
    kind: str
    event_date: date
    reported_on: date
    spouse: Spouse


@dataclass(frozen=True)
class ChildRecord:
    """A child of a woman; `child_index` when the child is a world person (a member of her household)."""

    id: str
    name: str
    sex: str
    birth_date: date
    id_number: str | None
    birth_order: int
    blood_relation: str
    policy_attribute: str
    health_status: str | None
    birth_certificate_no: str | None
    reported_on: date
    death_date: date | None
    source: str
    child_index: int | None = None
    child_uid: str | None = None


@dataclass(frozen=True)
class DeathStep:
    id: str
    action: str
    from_status: str | None
    to_status: str
    at: datetime
    region_code: str | None
    comment: str | None = None


@dataclass(frozen=True)
class DeathReport:
    """A report in the death loop (标记—认领—处理—同步). `person_index` is None for a report whose ID number
    matches nobody; a SYNCED report has made its person DEAD."""

    id: str
    person_index: int | None
    id_number: str
    name: str
    source: str
    police_deregistration_no: str | None
    death_certificate_no: str | None
    death_date: date
    cause: str
    responsible_region: str | None
    routed_by: str
    status: str
    return_reason: str | None
    return_count: int
    feedback: str | None
    claimed_at: datetime | None
    processed_at: datetime | None
    synced_at: datetime | None
    created_at: datetime
    steps: tuple[DeathStep, ...]


@dataclass(frozen=True)
class DispatchRecord:
    """A pending push (调出) of a person's case to another region, awaiting the receiver's confirmation."""

    id: str
    event_id: str
    direction: str
    scope: str
    origin_region: str
    target_region: str
    address: str
    contact: str
    contact_phone: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class SupportRecord:
    """奖特扶: kind REWARD (奖励扶助) or SPECIAL (特别扶助)."""

    id: str
    kind: str
    policy: str
    start_date: date
    end_date: date | None
    reason: str
    exit_reason: str | None


@dataclass(frozen=True)
class HouseholdRecord:
    number: str
    region_code: str
    address: str
    house_number: str
    head_index: int
    member_indexes: tuple[int, ...]

    @property
    def first_index(self) -> int:
        """The lowest member index: a seed of n persons holds the household when first_index < n."""
        return self.member_indexes[0]


@dataclass(frozen=True)
class PopulationPerson:
    world: PersonRecord
    person_no: str
    identity_kind: str
    identity_code: str
    id_number: str | None
    other_id_number: str | None
    # CHECKSUM, BIRTH_DATE or SEX_DIGIT when id_number was made invalid on purpose.
    id_defect: str | None
    ethnicity: str
    person_type: str
    mobility: str
    hukou_type: str | None
    education: str | None
    occupation: str | None
    marital_status: str
    household_no: str
    relation_to_head: str
    household_region: str
    residence_region: str
    management_region: str
    household_address: str
    residence_address: str
    status: str
    cancelled_on: date | None
    cancel_reason: str | None
    death_date: date | None
    marriages: tuple[MarriageRecord, ...]
    children: tuple[ChildRecord, ...]
    death: DeathReport | None
    dispatch: DispatchRecord | None
    support: tuple[SupportRecord, ...]

    @property
    def index(self) -> int:
        return self.world.index

    @property
    def uid(self) -> str:
        return self.world.uid

    @property
    def children_count(self) -> int:
        return len(self.children)

    @property
    def boys_count(self) -> int:
        children = self.children
        return sum(1 for c in children if c.sex == "MALE") if children else 0

    @property
    def youngest_child_birth_date(self) -> date | None:
        children = self.children
        return max((c.birth_date for c in children), default=None) if children else None


@dataclass(frozen=True)
class PopulationBlock:
    number: int
    persons: tuple[PopulationPerson, ...]
    households: tuple[HouseholdRecord, ...]
    # (virtual index, report): a seed of n persons holds the report when the virtual index is below n.
    unmatched_deaths: tuple[tuple[int, DeathReport], ...]


# Positional constructors of the records made for most persons, without the frozen dataclasses' per-field
# __setattr__ (world.py `_frozen_constructor`): every field, in field order.
_new_spouse = _frozen_constructor(Spouse)
_new_marriage = _frozen_constructor(MarriageRecord)
_new_child = _frozen_constructor(ChildRecord)
_new_household = _frozen_constructor(HouseholdRecord)
_new_person = _frozen_constructor(PopulationPerson)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

_ID_CHECK_CHARS = "10X98765432"


def _check_char(first17: str) -> str:
    # GB 11643 weights written out over the ASCII codes (sum of weights 100, so the '0' offsets add to 4800):
    # four times faster than a generator, and this runs for every synthetic number of a 10-million seed.
    v = first17.encode()
    total = (7 * v[0] + 9 * v[1] + 10 * v[2] + 5 * v[3] + 8 * v[4] + 4 * v[5] + 2 * v[6] + v[7] + 6 * v[8]
             + 3 * v[9] + 7 * v[10] + 9 * v[11] + 10 * v[12] + 5 * v[13] + 8 * v[14] + 4 * v[15] + 2 * v[16] - 4800)
    return _ID_CHECK_CHARS[total % 11]


def _id_number(region6: str, born: date, sequence: int) -> str:
    # region6 + YYYYMMDD + the 3-digit sequence + _check_char of those 17 digits, from world.py's tables.
    return _resident_id(region6, born.toordinal(), sequence)


# The variant character of a UUID for each hex digit drawn in its place: '89ab'[int(digit, 16) & 3].
_UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _uuid(rng: random.Random) -> str:
    """A version-4 UUID from the block's stream (a deterministic row id)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_UUID_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def _plus_years(day: date, years: float) -> date:
    return date.fromordinal(day.toordinal() + int(years * _DAYS_PER_YEAR))


def _plus_days(day: date, days: int) -> date:
    return date.fromordinal(day.toordinal() + days)


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return date(born.year + years, 3, 1)


def _years_between(earlier: date, later: date) -> float:
    return (later.toordinal() - earlier.toordinal()) / _DAYS_PER_YEAR


def _pick(rng: random.Random, cumulative: tuple[float, ...], values: tuple[str, ...]) -> str:
    return values[bisect_right(cumulative, rng.random() * cumulative[-1])]


def _table(pairs: Iterable[tuple[str, float]]) -> tuple[tuple[float, ...], tuple[str, ...]]:
    values: list[str] = []
    cumulative: list[float] = []
    total = 0.0
    for value, weight in pairs:
        total += weight
        values.append(value)
        cumulative.append(total)
    return tuple(cumulative), tuple(values)


def _uniform(uid: str, start: int) -> float:
    # Independent of every draw of the person's own stream: a selection made this way (who has an invalid ID
    # number, who is from Hong Kong) does not move when a draw is added elsewhere.
    return int(uid[start:start + 8], 16) / 0x1_0000_0000


_MALE_POOL = (_MALE_GIVEN, len(_MALE_GIVEN))
_FEMALE_POOL = (_FEMALE_GIVEN, len(_FEMALE_GIVEN))
_PHONE_PREFIX_COUNT = len(_PHONE_PREFIXES)


def _random_name(rng: random.Random, sex: str, surname: str | None = None) -> str:
    draw = rng.random
    pool, size = _MALE_POOL if sex == "MALE" else _FEMALE_POOL
    family = surname or _SURNAME_CHARS[bisect_right(_SURNAME_CUM, draw() * _SURNAME_TOTAL)]
    given = pool[int(draw() * size)]
    if draw() >= 0.2:
        given += pool[int(draw() * size)]
    return family + given


def _random_phone(rng: random.Random) -> str:
    return f"{_PHONE_PREFIXES[int(rng.random() * _PHONE_PREFIX_COUNT)]}{rng.getrandbits(32) % 100_000_000:08d}"


def _moment(day: date, rng: random.Random) -> datetime:
    # Office hours in China (08:00-18:00 +08:00) are 00:00-10:00 UTC.
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=rng.randrange(10 * 3600))


# ---------------------------------------------------------------------------
# Region tree
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tree:
    regions: tuple[VersionedRegionRecord, ...]
    full_names: dict[str, str]
    groups_of_township: dict[str, tuple[str, ...]]
    townships_of_county: dict[str, tuple[str, ...]]


@lru_cache(maxsize=1)
def _tree() -> _Tree:
    regions = population_regions(TOWNSHIPS_PER_COUNTY)
    groups: dict[str, tuple[str, ...]] = {}
    for townships in _TOWNSHIPS:
        for township in townships:
            groups[township] = tuple(g for v in village_codes(township) for g in group_codes(v))
    return _Tree(
        regions=regions,
        full_names={r.code: r.full_name for r in regions},
        groups_of_township=groups,
        townships_of_county={ts[0][:6]: ts for ts in _TOWNSHIPS},
    )


def region_tree() -> tuple[VersionedRegionRecord, ...]:
    """population's regions (world townships refined to villages and groups, plus historic county codes)."""
    return _tree().regions


# ---------------------------------------------------------------------------
# Attribute tables
# ---------------------------------------------------------------------------

# GB/T 3304 codes. Jiangsu's minorities are about 0.5 % of residents (回族 the largest); this spreads 1.5 % over
# the common ones so that small seeds show some.
_MINORITY_P = 0.015
_MINORITIES = _table([
    ("03", 30), ("06", 14), ("15", 12), ("11", 8), ("08", 8), ("02", 6), ("12", 5), ("09", 5), ("07", 4),
    ("10", 4), ("14", 2), ("13", 2),
])

# 苏州, 南京, 无锡 draw most of the province's migrants.
_MIGRANT_CITIES = frozenset({"320500", "320100", "320200"})
_INFLOW_P = {True: 0.15, False: 0.03}
# Within-province movers (人户分离) on top of the inter-province inflow, who are always mobile.
_MOBILE_EXTRA_P = {True: 0.15, False: 0.04}
_HMT_P = 0.001
_ID_DEFECT_P = 0.0075
_CANCELLED_P = 0.003
_CANCEL_REASONS = ("迁往外省", "出国（境）定居", "重复登记", "户口迁出")

_EDUCATION_BY_AGE: tuple[tuple[int, tuple[tuple[float, ...], tuple[str, ...]]], ...] = (
    (19, _table([("JUNIOR_SECONDARY", 45), ("SENIOR_SECONDARY", 38), ("VOCATIONAL", 17)])),
    (25, _table([("JUNIOR_SECONDARY", 14), ("SENIOR_SECONDARY", 20), ("VOCATIONAL", 11), ("JUNIOR_COLLEGE", 24),
                 ("BACHELOR", 28), ("POSTGRADUATE", 3)])),
    (35, _table([("NONE", 0.5), ("PRIMARY", 3), ("JUNIOR_SECONDARY", 25), ("SENIOR_SECONDARY", 15),
                 ("VOCATIONAL", 7), ("JUNIOR_COLLEGE", 20), ("BACHELOR", 25), ("POSTGRADUATE", 4.5)])),
    (45, _table([("NONE", 1), ("PRIMARY", 7), ("JUNIOR_SECONDARY", 38), ("SENIOR_SECONDARY", 14),
                 ("VOCATIONAL", 6), ("JUNIOR_COLLEGE", 15), ("BACHELOR", 17), ("POSTGRADUATE", 2)])),
    (60, _table([("NONE", 3), ("PRIMARY", 17), ("JUNIOR_SECONDARY", 45), ("SENIOR_SECONDARY", 18),
                 ("VOCATIONAL", 5), ("JUNIOR_COLLEGE", 7), ("BACHELOR", 4.5), ("POSTGRADUATE", 0.5)])),
    (75, _table([("NONE", 10), ("PRIMARY", 38), ("JUNIOR_SECONDARY", 33), ("SENIOR_SECONDARY", 13),
                 ("VOCATIONAL", 2), ("JUNIOR_COLLEGE", 3), ("BACHELOR", 1.5), ("POSTGRADUATE", 0.5)])),
    (200, _table([("NONE", 35), ("PRIMARY", 42), ("JUNIOR_SECONDARY", 14), ("SENIOR_SECONDARY", 6),
                  ("VOCATIONAL", 1), ("JUNIOR_COLLEGE", 1), ("BACHELOR", 1)])),
)
_EDUCATION_LIMITS = tuple(limit for limit, _ in _EDUCATION_BY_AGE)
_HIGHER_EDUCATION = frozenset({"JUNIOR_COLLEGE", "BACHELOR", "POSTGRADUATE"})

# Major groups of GB/T 6565 (职业分类), plus the states of persons outside work.
_LEADER = "国家机关、党群组织、企业、事业单位负责人"
_PROFESSIONAL = "专业技术人员"
_CLERK = "办事人员和有关人员"
_SERVICE = "社会生产服务和生活服务人员"
_FARMER = "农、林、牧、渔业生产及辅助人员"
_PRODUCTION = "生产制造及有关人员"
_STUDENT = "学生"
_RETIRED = "离退休人员"
_UNEMPLOYED = "无业人员"
_WORK_GRADUATE = _table([(_LEADER, 8), (_PROFESSIONAL, 45), (_CLERK, 22), (_SERVICE, 15), (_PRODUCTION, 6),
                         (_UNEMPLOYED, 4)])
_WORK_URBAN = _table([(_LEADER, 3), (_PROFESSIONAL, 8), (_CLERK, 12), (_SERVICE, 34), (_PRODUCTION, 33),
                      (_FARMER, 4), (_UNEMPLOYED, 6)])
_WORK_RURAL = _table([(_LEADER, 2), (_PROFESSIONAL, 5), (_CLERK, 8), (_SERVICE, 25), (_PRODUCTION, 32),
                      (_FARMER, 22), (_UNEMPLOYED, 6)])

# Sizes drawn for each household of a township's persons in a block (the last one takes what is left):
# about 2.5 persons on average, Jiangsu's 2020 census says 2.6.
_HOUSEHOLD_SIZES = _table([("1", 22), ("2", 28), ("3", 22), ("4", 14), ("5", 14)])
_HOUSEHOLD_SIZE_VALUES = tuple(int(size) for size in _HOUSEHOLD_SIZES[1])

# Marriage: share ever married, and the first-marriage age as legal age + a gamma-distributed delay (peak
# 25-30 for recent cohorts, earlier for older ones).
_LEGAL_AGE = {"FEMALE": 20, "MALE": 22}
_EVER_MARRIED_P = {"FEMALE": 0.97, "MALE": 0.95}
_DIVORCE_P = 0.12
_REMARRY_AFTER_DIVORCE_P = 0.6
_REUNION_P = 0.1
_REMARRY_AFTER_WIDOWHOOD_P = 0.15
# Cumulative share widowed by age (women outlive their husbands).
_WIDOW_AGES = (40, 50, 60, 70, 80, 90, 101)
_WIDOW_CDF = {"FEMALE": (0.0, 0.02, 0.06, 0.16, 0.40, 0.70, 0.90),
              "MALE": (0.0, 0.01, 0.03, 0.07, 0.18, 0.38, 0.55)}

# Children of a woman who ever married, by her birth cohort: cumulative shares of wanting 0, 1, 2 (else 3);
# she has fewer if time runs out first. Many before 1955, one-child policy cohorts, few for the youngest.
_CHILDREN_PLAN_COHORTS = (1955, 1970, 1985, 1993)
_CHILDREN_PLANS = (
    (0.04, 0.12, 0.48),
    (0.04, 0.22, 0.80),
    (0.05, 0.32, 0.92),
    (0.12, 0.42, 0.94),
    (0.30, 0.68, 0.97),
)
# Recent cohorts wait longer for the first child and space children more widely.
_LATE_COHORT = 1985
_UNMARRIED_MOTHER_P = 0.03
_BOY_P = 0.52
_CHILD_ID_DELAY_DAYS = 60
_THREE_CHILD_POLICY = date(2021, 5, 31)
_TWO_CHILD_POLICY = date(2016, 1, 1)

# Deaths reported in the last three years, by age (annual rate per mille).
_DEATH_WINDOW = (date(2023, 1, 1), date(2025, 12, 31))
_DEATH_RATE_AGES = (1, 10, 30, 50, 60, 65, 70, 75, 80, 85, 90, 200)
_DEATH_RATE = (2.0, 0.2, 0.5, 1.5, 4.0, 7.0, 11.0, 18.0, 32.0, 58.0, 100.0, 180.0)
_DEATH_SOURCES = _table([("POLICE", 45), ("HOSPITAL", 40), ("COMMUNITY", 15)])
_DEATH_CAUSES = _table([("循环系统疾病", 40), ("恶性肿瘤", 27), ("呼吸系统疾病", 11), ("损伤和中毒", 6),
                        ("消化系统疾病", 3), ("内分泌营养代谢疾病", 3), ("其他疾病", 10)])
_UNMATCHED_DEATH_SHARE = 0.04
_OTHER_PROVINCE_COUNTIES = ("340104", "340302", "370102", "410105", "510104", "420106", "362502", "130102")
# Share of reports in each state by how long ago the death was (the loop finishes most within weeks).
_DEATH_STATES_RECENT = _table([("UNCLAIMED", 35), ("RETURNED", 5), ("CLAIMED", 25), ("PROCESSED", 15),
                               ("SYNCED", 20)])
_DEATH_STATES_YEAR = _table([("UNCLAIMED", 3), ("RETURNED", 2), ("CLAIMED", 4), ("PROCESSED", 6), ("SYNCED", 85)])
_DEATH_STATES_OLD = _table([("UNCLAIMED", 0.5), ("RETURNED", 0.5), ("CLAIMED", 0.5), ("PROCESSED", 1.5),
                            ("SYNCED", 97)])
_RETURN_REASONS = ("非本辖区人员", "户籍地与居住地不符，请重新推送", "信息不全，无法核实")

_DISPATCH_P = 0.004
_DISPATCH_REASONS = ("工作调动", "婚嫁迁入", "购房迁居", "投靠亲属", "随迁子女入学")

_SUPPORT_START = date(2004, 1, 1)
_DEATH_EXIT_REASON = "死亡停发"
_REWARD_POLICY = "农村部分计划生育家庭奖励扶助"
_SPECIAL_POLICY = "计划生育家庭特别扶助"


def _education(rng: random.Random, age: int) -> str | None:
    if 0 <= age < _EDUCATION_TABLE_AGES:
        fixed, cumulative, values = _EDUCATION_AT[age]
        return fixed if cumulative is None else values[bisect_right(cumulative, rng.random() * cumulative[-1])]
    return _education_of(rng, age)


def _education_of(rng: random.Random, age: int) -> str | None:
    if age < 6:
        return None
    if age < 12:
        return "PRIMARY"
    if age < 15:
        return "JUNIOR_SECONDARY"
    cumulative, values = _EDUCATION_BY_AGE[bisect_right(_EDUCATION_LIMITS, age)][1]
    return _pick(rng, cumulative, values)


# `_education_of` by age, looked up: (the value without a draw, or None and the table to draw from).
_EDUCATION_TABLE_AGES = 200
_EDUCATION_AT: tuple[tuple[str | None, tuple[float, ...] | None, tuple[str, ...]], ...] = tuple(
    (None if age < 6 else "PRIMARY" if age < 12 else "JUNIOR_SECONDARY", None, ()) if age < 15
    else (None, *_EDUCATION_BY_AGE[bisect_right(_EDUCATION_LIMITS, age)][1])
    for age in range(_EDUCATION_TABLE_AGES)
)


def _occupation(rng: random.Random, age: int, sex: str, education: str | None, county_is_district: bool) -> str | None:
    if age < 6:
        return None
    if age < 18 or (age < 23 and rng.random() < 0.7):
        return _STUDENT
    if age >= (60 if sex == "MALE" else 55):
        if rng.random() < 0.8:
            return _RETIRED
        return _FARMER if not county_is_district and rng.random() < 0.7 else _UNEMPLOYED
    if education in _HIGHER_EDUCATION:
        return _pick(rng, *_WORK_GRADUATE)
    return _pick(rng, *(_WORK_URBAN if county_is_district else _WORK_RURAL))


def _hukou_type(rng: random.Random, born: date, person_type: str, county_is_district: bool) -> str | None:
    if person_type == "FOREIGN_HMT_UNKNOWN":
        return None
    # Jiangsu registers everyone as 居民户口 since its 2003 reform; older records keep the old split.
    if born.year >= 2004 or rng.random() < 0.55:
        return "RESIDENT"
    rural = 0.45 if county_is_district else 0.7
    if person_type == "INTER_PROVINCE_INFLOW":
        rural = 0.75
    return "AGRICULTURAL" if rng.random() < rural else "NON_AGRICULTURAL"


def _death_rate(age: int) -> float:
    return _DEATH_RATE[bisect_right(_DEATH_RATE_AGES, age)] / 1000


def _widow_age(u: float, sex: str) -> float | None:
    cdf = _WIDOW_CDF[sex]
    if u >= cdf[-1]:
        return None
    k = bisect_right(cdf, u)
    low, high = cdf[k - 1], cdf[k]
    return _WIDOW_AGES[k - 1] + (_WIDOW_AGES[k] - _WIDOW_AGES[k - 1]) * (u - low) / (high - low)


_DISTRICTS = frozenset(code for code, name in region_names().items() if len(code) == 6 and name.endswith("区"))
# Per county: (a district, the inter-province inflow share, the within-province movers' share).
_COUNTY_TRAITS: dict[str, tuple[bool, float, float]] = {
    county: (county in _DISTRICTS, _INFLOW_P[county[:4] + "00" in _MIGRANT_CITIES],
             _MOBILE_EXTRA_P[county[:4] + "00" in _MIGRANT_CITIES])
    for county in (township[:6] for townships in _TOWNSHIPS for township in townships)
}
# The chance of a death reported in the window (three years), by age.
_DEATH_P = tuple(3 * _death_rate(age) for age in range(_DEATH_RATE_AGES[-1]))
_DEATH_FIRST, _DEATH_LAST = _DEATH_WINDOW[0].toordinal(), _DEATH_WINDOW[1].toordinal()
_WORLD_ORDINAL = WORLD_DATE.toordinal()


# ---------------------------------------------------------------------------
# Per-person draws (before households are known)
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Draft:
    w: PersonRecord
    rng: random.Random
    age: int
    ethnicity: str
    person_type: str
    mobility: str
    hukou_type: str | None
    education: str | None
    occupation: str | None
    # The individual marriage plan (a couple replaces it).
    first_marriage: date | None
    divorce_after: float | None
    remarriage_after: float | None
    reunion: bool
    widow_age: float | None
    remarry_after_widowhood: float | None
    children_wanted: int
    death_date: date | None
    cancelled: bool
    # Filled by the household pass.
    household_no: str = ""
    household_group: str = ""
    household_address: str = ""
    relation: str = "HEAD"
    partner: _Draft | None = None
    couple_date: date | None = None
    household_children: list[_Draft] = field(default_factory=list)

    @property
    def horizon(self) -> date:
        """The last day anything can happen to the person: the death, or the world's date."""
        return self.death_date or WORLD_DATE

    @property
    def married_now(self) -> bool:
        """Whether the individual plan leaves the person married (to someone) on the world's date."""
        fm = self.first_marriage
        if fm is None or fm > WORLD_DATE or self.death_date is not None or self.cancelled:
            return False
        if self.divorce_after is not None and _plus_years(fm, self.divorce_after) <= WORLD_DATE:
            return False
        return not (self.widow_age is not None and _plus_years(self.w.birth_date, self.widow_age) <= WORLD_DATE)


def _draft(rng: random.Random, w: PersonRecord) -> _Draft:
    draw = rng.random
    born, sex = w.birth_date, w.sex
    age = age_on(born)
    district, inflow_p, mobile_p = _COUNTY_TRAITS[w.management_region[:6]]
    ethnicity = _pick(rng, *_MINORITIES) if draw() < _MINORITY_P else "01"
    if _uniform(w.uid, 9) < _HMT_P:
        person_type = "FOREIGN_HMT_UNKNOWN"
    elif draw() < inflow_p:
        person_type = "INTER_PROVINCE_INFLOW"
    else:
        person_type = "HOUSEHOLD_REGISTERED"
    mobile = person_type != "HOUSEHOLD_REGISTERED" or draw() < mobile_p
    education = _education(rng, age)
    occupation = _occupation(rng, age, sex, education, district)
    hukou = _hukou_type(rng, born, person_type, district)

    death_date = None
    if draw() < _DEATH_P[age]:
        first = max(_DEATH_FIRST, born.toordinal() + 1)
        death_date = date.fromordinal(first + int(draw() * max(_DEATH_LAST - first + 1, 1)))
    cancelled = death_date is None and draw() < _CANCELLED_P

    first_marriage = None
    divorce_after = remarriage_after = remarry_after_widowhood = None
    reunion = False
    widow = None
    if draw() < _EVER_MARRIED_P[sex]:
        # Cohorts born before 1975 married younger.
        scale = 1.8 if born.year < 1975 else 2.5
        delay = min(rng.gammavariate(3.0, scale), 28.0)
        first_marriage = _plus_years(born, _LEGAL_AGE[sex] + delay)
        if draw() < _DIVORCE_P:
            divorce_after = 1 + draw() * 24
            if draw() < _REMARRY_AFTER_DIVORCE_P:
                remarriage_after = 1 + draw() * 7
                reunion = draw() < _REUNION_P
        widow = _widow_age(draw(), sex)
        if widow is not None and widow < 65 and draw() < _REMARRY_AFTER_WIDOWHOOD_P:
            remarry_after_widowhood = 1 + draw() * 4
    children_wanted = 0
    if sex == "FEMALE" and (first_marriage is not None or draw() < _UNMARRIED_MOTHER_P):
        plan = _CHILDREN_PLANS[bisect_right(_CHILDREN_PLAN_COHORTS, born.year)]
        children_wanted = bisect_right(plan, draw())
    # Positional, in _Draft's field order (cheaper than keywords for a record made per person).
    return _Draft(w, rng, age, ethnicity, person_type, "MOBILE" if mobile else "RESIDENT", hukou, education,
                  occupation, first_marriage, divorce_after, remarriage_after, reunion, widow,
                  remarry_after_widowhood, children_wanted, death_date, cancelled)


# ---------------------------------------------------------------------------
# Households
# ---------------------------------------------------------------------------


def household_counter(block: int, ordinal: int) -> int:
    """The 9-digit part of a household number: unique per county, computable from the block alone."""
    return block * BLOCK + ordinal + 1


def _relation(head: _Draft, member: _Draft) -> str:
    gap = _years_between(head.w.birth_date, member.w.birth_date)  # > 0: the member is younger
    if gap >= 46:
        return "GRANDCHILD"
    if gap >= 18:
        return "CHILD"
    if gap <= -46:
        return "OTHER"  # a grandparent: the code set has no such relation
    if gap <= -18:
        return "PARENT"
    return "SIBLING" if member.w.name[0] == head.w.name[0] else "OTHER"


def _couple_date(a: _Draft, b: _Draft) -> date | None:
    woman, man = (a, b) if a.w.sex == "FEMALE" else (b, a)
    if woman.w.sex == man.w.sex or not (woman.married_now and man.married_now):
        return None
    gap = _years_between(man.w.birth_date, woman.w.birth_date)  # > 0: the husband is older
    if not -3 <= gap <= 8:
        return None
    assert woman.first_marriage is not None
    married = max(woman.first_marriage, _birthday(man.w.birth_date, _LEGAL_AGE["MALE"]))
    return married if married <= WORLD_DATE else None


def _head_key(m: _Draft) -> tuple[int, int]:
    return m.age, -m.w.index


def _households(seed: int, block: int, drafts: list[_Draft]) -> list[HouseholdRecord]:
    rng = random.Random(_stream_key(seed, _STREAM_HOUSEHOLDS, block))
    draw = rng.random
    tree = _tree()
    groups_of_township, full_names = tree.groups_of_township, tree.full_names
    size_cumulative = _HOUSEHOLD_SIZES[0]
    size_total = size_cumulative[-1]
    by_township: dict[str, list[_Draft]] = {}
    for d in drafts:
        by_township.setdefault(d.w.household_region, []).append(d)
    ordinals: dict[str, int] = {}
    out: list[HouseholdRecord] = []
    for township in sorted(by_township):
        members_left = by_township[township]
        county = township[:6]
        groups = groups_of_township[township]
        group_count = len(groups)
        at, left = 0, len(members_left)
        while at < left:
            size = _HOUSEHOLD_SIZE_VALUES[bisect_right(size_cumulative, draw() * size_total)]
            members = members_left[at:at + size]
            at += size
            if len(members) == 1:
                head = members[0]
            else:
                grown = [m for m in members if 18 <= m.age <= 79]
                head = max(grown or members, key=_head_key)
            group = groups[int(draw() * group_count)]
            house_number = f"{1 + int(draw() * 300)}号"
            ordinal = ordinals.get(county, 0)
            ordinals[county] = ordinal + 1
            number = f"{county}{household_counter(block, ordinal):09d}"
            address = full_names[group] + house_number
            for m in members:
                m.household_no, m.household_group, m.household_address = number, group, address
                m.relation = "HEAD" if m is head else _relation(head, m)
            if len(members) > 1:
                candidates = [(abs(_years_between(m.w.birth_date, head.w.birth_date)), m.w.index, m, married)
                              for m in members if m is not head and (married := _couple_date(head, m)) is not None]
                if candidates:
                    _, _, partner, married = min(candidates, key=lambda c: (c[0], c[1]))
                    head.partner, partner.partner = partner, head
                    head.couple_date = partner.couple_date = married
                    partner.relation = "SPOUSE"
                mother = head if head.w.sex == "FEMALE" else head.partner
                if mother is not None:
                    for m in members:
                        # At most three: a fourth child member stays the head's child without being hers on
                        # record.
                        if m.relation == "CHILD" and 20 <= _years_between(mother.w.birth_date, m.w.birth_date) <= 45 \
                                and m.w.birth_date <= mother.horizon and len(mother.household_children) < 3:
                            mother.household_children.append(m)
            # (A one-person household has no couple and no child members.)
            out.append(_new_household(number, group, address, house_number, head.w.index,
                                      tuple([m.w.index for m in members])))
    out.sort(key=lambda h: h.first_index)
    return out


# ---------------------------------------------------------------------------
# Marriages and children
# ---------------------------------------------------------------------------


_TOWNSHIP_COUNTIES = len(_TOWNSHIPS)


def _synthetic_spouse(d: _Draft, married_on: date) -> Spouse:
    rng = d.rng
    draw = rng.random
    w = d.w
    # Husbands a little older than their wives, on average.
    if w.sex == "FEMALE":
        sex, gap, legal_age, pool, pool_size = "MALE", rng.gauss(2.0, 3.0), 22, *_MALE_POOL
    else:
        sex, gap, legal_age, pool, pool_size = "FEMALE", rng.gauss(-2.0, 3.0), 20, *_FEMALE_POOL
    born = date.fromordinal(w.birth_date.toordinal() + int(-gap * _DAYS_PER_YEAR))  # _plus_years(birth, -gap)
    legal = _birthday(born, legal_age)
    if legal > married_on:
        born = _plus_days(born, -(legal.toordinal() - married_on.toordinal()) - 1)
    township = w.household_region if draw() < 0.6 else _TOWNSHIPS[int(draw() * _TOWNSHIP_COUNTIES)][0]
    groups = _tree().groups_of_township[township]
    home = groups[int(draw() * len(groups))]
    sequence = 2 * int(draw() * 500) + (1 if sex == "MALE" else 0)
    ethnicity = d.ethnicity if draw() < 0.7 else "01"
    # _random_name(rng, sex):
    name = _SURNAME_CHARS[bisect_right(_SURNAME_CUM, draw() * _SURNAME_TOTAL)] + pool[int(draw() * pool_size)]
    if draw() >= 0.2:
        name += pool[int(draw() * pool_size)]
    id_number = _resident_id(township[:6], born.toordinal(), sequence)  # _id_number(township[:6], born, sequence)
    education = _education(rng, age_on(born))
    phone = f"{_PHONE_PREFIXES[int(draw() * _PHONE_PREFIX_COUNT)]}{rng.getrandbits(32) % 100_000_000:08d}"
    # Spouse(name, id_number, ethnicity, birth_date, education, phone, household_region, residence_region, index)
    return _new_spouse(name, id_number, ethnicity, born, education, phone, home, home, None)


def _world_spouse(p: _Draft) -> Spouse:
    w = p.w
    return _new_spouse(w.name, _held_id(p)[0], p.ethnicity, w.birth_date, p.education, w.phone,
                       p.household_group, p.household_group, w.index)


def _reported(d: _Draft, day: date) -> date:
    return min(_plus_days(day, int(d.rng.random() * 60)), WORLD_DATE)


def _marriages(d: _Draft) -> tuple[MarriageRecord, ...]:
    events: list[tuple[str, date, Spouse]] = []
    if d.partner is not None and d.couple_date is not None:
        events.append(("FIRST_MARRIAGE", d.couple_date, _world_spouse(d.partner)))
    elif d.first_marriage is not None and d.first_marriage <= (horizon := d.death_date or WORLD_DATE):
        current = d.first_marriage
        spouse = _synthetic_spouse(d, current)
        events.append(("FIRST_MARRIAGE", current, spouse))
        widowed_on = None if d.widow_age is None else _plus_years(d.w.birth_date, d.widow_age)
        if d.divorce_after is not None:
            divorced = _plus_years(current, d.divorce_after)
            if divorced <= horizon and (widowed_on is None or divorced < widowed_on):
                events.append(("DIVORCE", divorced, spouse))
                if d.remarriage_after is not None:
                    again = _plus_years(divorced, d.remarriage_after)
                    if again <= horizon:
                        if not d.reunion:
                            spouse = _synthetic_spouse(d, again)
                        events.append(("REUNION" if d.reunion else "REMARRIAGE", again, spouse))
                        current = again
                    else:
                        widowed_on = None
                else:
                    widowed_on = None
        if widowed_on is not None and current < widowed_on <= horizon:
            events.append(("WIDOWED", widowed_on, spouse))
            if d.remarry_after_widowhood is not None:
                again = _plus_years(widowed_on, d.remarry_after_widowhood)
                if again <= horizon:
                    events.append(("REMARRIAGE", again, _synthetic_spouse(d, again)))
    else:
        return ()
    rng = d.rng
    draw, bits = rng.random, rng.getrandbits
    out = []
    for kind, day, spouse in events:
        # MarriageRecord(id, kind, event_date, reported_on, spouse): _uuid(rng), then _reported(d, day).
        h = f"{bits(128):032x}"
        out.append(_new_marriage(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_UUID_VARIANT[h[16]]}{h[17:20]}-{h[20:]}", kind, day,
                                 min(date.fromordinal(day.toordinal() + int(draw() * 60)), WORLD_DATE), spouse))
    return tuple(out)


_MARITAL_STATUS_OF_LAST = {"DIVORCE": "DIVORCED", "WIDOWED": "WIDOWED"}


def _event_date(m: MarriageRecord) -> date:
    return m.event_date


def marital_status_of(marriages: Iterable[MarriageRecord]) -> str:
    """婚姻状况 derived from the history: the last event decides."""
    last = max(marriages, key=_event_date, default=None)
    if last is None:
        return "UNMARRIED"
    return _MARITAL_STATUS_OF_LAST.get(last.kind, "MARRIED")


def _birth_date_of(d: _Draft) -> date:
    return d.w.birth_date


def _children(d: _Draft, marriages: tuple[MarriageRecord, ...]) -> tuple[ChildRecord, ...]:
    w = d.w
    if w.sex != "FEMALE" or not (d.children_wanted or d.household_children):
        return ()
    linked = sorted(d.household_children, key=_birth_date_of)
    wanted = max(d.children_wanted, len(linked))
    rng = d.rng
    draw = rng.random
    mother_born = w.birth_date
    window_start = _birthday(mother_born, 20)
    first_marriage = marriages[0].event_date if marriages else None
    start = max(window_start, first_marriage) if first_marriage else _plus_years(window_start, draw() * 10)
    end = min(_birthday(mother_born, 45), d.death_date or WORLD_DATE)
    dates = [c.w.birth_date for c in linked]
    late = mother_born.year >= _LATE_COHORT
    day = _plus_years(start, (1.5 + draw() * 5.0) if late else (0.8 + draw() * 2.7))
    attempts = 0
    while len(dates) < wanted and day <= end and attempts < 6:
        attempts += 1
        ordinal = day.toordinal()
        if all(abs(ordinal - other.toordinal()) > 300 for other in dates):
            dates.append(day)
        day = _plus_years(day, (3.0 + draw() * 6.0) if late else (1.8 + draw() * 5.2))
    if not dates:
        return ()
    dates.sort()
    father = marriages[0].spouse.name[0] if marriages else w.name[0]
    by_date = {c.w.birth_date: c for c in linked} if linked else {}
    county = d.household_group[:6]
    out: list[ChildRecord] = []
    for order, born in enumerate(dates, start=1):
        member = by_date.get(born)
        deceased = disabled = False
        child_index: int | None
        child_uid: str | None
        if member is not None:
            sex, name, id_number, child_index = member.w.sex, member.w.name, _held_id(member)[0], member.w.index
            child_uid = member.w.uid
        else:
            sex = "MALE" if draw() < _BOY_P else "FEMALE"
            name = _random_name(rng, sex, father)
            child_index = child_uid = None
            id_number = None
            if (_WORLD_ORDINAL - born.toordinal()) > _CHILD_ID_DELAY_DAYS:
                id_number = _id_number(county, born, 2 * int(draw() * 500) + (1 if sex == "MALE" else 0))
            u = draw()
            deceased, disabled = u < 0.005, 0.005 <= u < 0.015
        policy = "IN_POLICY"
        if (order >= 3 and born < _THREE_CHILD_POLICY and draw() < 0.8) or (
                order == 2 and born < _TWO_CHILD_POLICY and draw() < 0.35):
            policy = "OUT_OF_POLICY"
        death = None
        if deceased:
            death = _plus_years(born, draw() * max(_years_between(born, WORLD_DATE), 0.1))
            death = min(death, WORLD_DATE)
        year = born.year
        certificate = f"{'NOPQRS'[year % 6]}{rng.getrandbits(32) % 1_000_000_000:09d}" if year >= 1996 else None
        source = "MCH" if born >= _TWO_CHILD_POLICY and draw() < 0.7 else "MANUAL"
        # ChildRecord(id, name, sex, birth_date, id_number, birth_order, blood_relation, policy_attribute,
        # health_status, birth_certificate_no, reported_on, death_date, source, child_index, child_uid); the
        # draws in this order: id, adoption, report delay.
        out.append(_new_child(
            _uuid(rng), name, sex, born, id_number, order, "ADOPTED" if draw() < 0.004 else "BIRTH", policy,
            # A child's death is recorded by its date; its health status is then left unrecorded.
            None if deceased else "DISABLED" if disabled else "HEALTHY", certificate,
            min(_plus_days(born, int(draw() * 60)), WORLD_DATE), death, source, child_index, child_uid))
    return tuple(out)


# ---------------------------------------------------------------------------
# Deaths, dispatch, support
# ---------------------------------------------------------------------------


def _death_report(rng: random.Random, *, person_index: int | None, id_number: str, name: str, death_date: date,
                  candidates: list[tuple[str, str]]) -> DeathReport:
    """A report's whole life as domain/deaths.py would have recorded it: REPORTED and routed to the first
    candidate region (户籍地, then 现居住地; without a case, the ID number's county), perhaps RETURNED and ROUTED
    to the next candidate, then CLAIMED, PROCESSED, SYNCED as far as its status."""
    source = _pick(rng, *_DEATH_SOURCES)
    days_ago = WORLD_DATE.toordinal() - death_date.toordinal()
    states = _DEATH_STATES_RECENT if days_ago < 60 else _DEATH_STATES_YEAR if days_ago < 365 else _DEATH_STATES_OLD
    status = _pick(rng, *states)
    if person_index is None and status == "SYNCED":
        status = "PROCESSED" if rng.random() < 0.3 else "UNCLAIMED"  # keep most reports about nobody open
    region, routed_by = candidates[0] if candidates else (None, "UNROUTED")
    if region is None:
        status = "UNCLAIMED"  # awaiting the province's assignment; an unrouted report cannot be returned
    returned = status == "RETURNED" or (len(candidates) > 1 and status != "UNCLAIMED" and rng.random() < 0.1)
    reason = rng.choice(_RETURN_REASONS) if returned else None
    reported_day = min(_plus_days(death_date, int(rng.random() * 20)), _plus_days(WORLD_DATE, -1))
    reported = _moment(reported_day, rng)
    note = f"{source}; routed by {routed_by}" + ("; no case has this ID number" if person_index is None else "")
    path: list[tuple[str, str | None, str, str | None, str | None]] = [("REPORTED", None, "UNCLAIMED", region, note)]
    current = "UNCLAIMED"
    if returned:
        old = region
        region, routed_by = candidates[1] if len(candidates) > 1 else (None, "UNROUTED")
        path.append(("RETURNED", current, "RETURNED", old, reason))
        path.append(("ROUTED", "RETURNED", "RETURNED", region, f"re-routed by {routed_by}"))
        current = "RETURNED"
        if region is None:
            status = "RETURNED"
    if status not in ("UNCLAIMED", "RETURNED"):
        for action, after in (("CLAIMED", "CLAIMED"), ("PROCESSED", "PROCESSED"), ("SYNCED", "SYNCED")):
            path.append((action, current, after, region, None))
            current = after
            if after == status:
                break
    # Steps a few hours to a few days apart, all before the world's date.
    gap = min((WORLD_MOMENT - reported).total_seconds() / (len(path) + 1), 4 * 86400)
    at = reported
    steps: list[DeathStep] = []
    for action, before, after, step_region, comment in path:
        steps.append(DeathStep(_uuid(rng), action, before, after, at, step_region, comment))
        at += timedelta(seconds=gap * (0.2 + 0.8 * rng.random()))
    times = {step.to_status: step.at for step in steps}
    county, year = (region or id_number)[:6], death_date.year
    return DeathReport(
        id=_uuid(rng), person_index=person_index, id_number=id_number, name=name, source=source,
        police_deregistration_no=f"XH{county}{year}{rng.getrandbits(24) % 10**6:06d}" if source == "POLICE" else None,
        death_certificate_no=f"{'ABCDEF'[year % 6]}{rng.getrandbits(32) % 10**9:09d}" if source == "HOSPITAL" else None,
        death_date=death_date, cause=_pick(rng, *_DEATH_CAUSES), responsible_region=region, routed_by=routed_by,
        status=status, return_reason=reason, return_count=1 if returned else 0,
        feedback="已核实死亡，个案已注销" if status in ("PROCESSED", "SYNCED") else None,
        claimed_at=times.get("CLAIMED"), processed_at=times.get("PROCESSED"), synced_at=times.get("SYNCED"),
        created_at=reported, steps=tuple(steps))


def _dispatch(d: _Draft, management: str) -> DispatchRecord:
    """The dispatch order of a person whose draw against _DISPATCH_P came out below it."""
    rng = d.rng
    tree = _tree()
    county = management[:6]
    if rng.random() < 0.85:
        townships = [t for t in tree.townships_of_county[county] if t != management[:9]]
    else:
        townships = [t for t in _TOWNSHIPS[int(rng.random() * len(_TOWNSHIPS))] if t != management[:9]]
    township = townships[int(rng.random() * len(townships))]
    groups = tree.groups_of_township[township]
    target = groups[int(rng.random() * len(groups))]
    created = _moment(_plus_days(WORLD_DATE, -1 - int(rng.random() * 40)), rng)
    return DispatchRecord(
        id=_uuid(rng), event_id=_uuid(rng), direction="PUSH",
        scope="WITHIN_COUNTY" if target[:6] == county else "WITHIN_PROVINCE", origin_region=management,
        target_region=target, address=f"{tree.full_names[target]}{1 + int(rng.random() * 300)}号",
        contact=_random_name(rng, "MALE" if rng.random() < 0.5 else "FEMALE"), contact_phone=_random_phone(rng),
        reason=rng.choice(_DISPATCH_REASONS), created_at=created)


def _support(d: _Draft, children: tuple[ChildRecord, ...], death: DeathReport | None,
             ) -> tuple[SupportRecord, ...]:
    if d.w.sex != "FEMALE" or len(children) != 1 or d.age < 49:
        return ()
    rng = d.rng
    child = children[0]
    if child.death_date is not None or child.health_status == "DISABLED":
        if rng.random() >= 0.9:
            return ()
        kind, policy = "SPECIAL", _SPECIAL_POLICY
        reason = "独生子女死亡" if child.death_date is not None else "独生子女伤残"
        start = max(_birthday(d.w.birth_date, 49), child.death_date or child.birth_date, _SUPPORT_START)
    elif d.age >= 60 and d.hukou_type == "AGRICULTURAL" and rng.random() < 0.6:
        kind, policy, reason = "REWARD", _REWARD_POLICY, "农村独生子女父母年满60周岁"
        start = max(_birthday(d.w.birth_date, 60), _SUPPORT_START)
    else:
        return ()
    start = date(start.year, start.month, 1)
    # A synced death stops the payments (domain/support.py stop_on_death).
    end = max(death.death_date, start) if death is not None and death.status == "SYNCED" else None
    return (SupportRecord(_uuid(rng), kind, policy, start, end, reason, _DEATH_EXIT_REASON if end else None),)


# ---------------------------------------------------------------------------
# ID numbers
# ---------------------------------------------------------------------------


def _defective(w: PersonRecord) -> tuple[str, str] | None:
    """(invalid ID number, defect) for the persons whose number population holds wrongly."""
    u = _uniform(w.uid, 1)
    if u >= _ID_DEFECT_P:
        return None
    number = w.id_number
    kind = u / _ID_DEFECT_P
    if kind < 0.4:
        # Another check character: the 17 digits stay this person's, so the number stays unique.
        wrong = _ID_CHECK_CHARS[(_ID_CHECK_CHARS.index(number[17]) + 1 + int(kind * 25) % 10) % 11]
        return number[:17] + wrong, "CHECKSUM"
    if kind < 0.7:
        # Month 21-32: no such date; the map is one-to-one, so the number stays unique.
        first17 = f"{number[:10]}{int(number[10:12]) + 20}{number[12:17]}"
        return first17 + _check_char(first17), "BIRTH_DATE"
    # The other parity of the same (birth date, slot) pair, which world.py gives to nobody else.
    sequence = int(number[14:17]) ^ 1
    first17 = f"{number[:14]}{sequence:03d}"
    return first17 + _check_char(first17), "SEX_DIGIT"


def _held_id(d: _Draft) -> tuple[str | None, str | None]:
    """(the resident ID number population holds, its defect): None for a person without one."""
    if d.person_type == "FOREIGN_HMT_UNKNOWN":
        return None, None
    return _defective(d.w) or (d.w.id_number, None)


def _hmt_permit(w: PersonRecord) -> str:
    """港澳台居民居住证 number: 810000 / 820000 / 830000 + the birth date and sequence of the person's slot."""
    prefix = ("810000", "820000", "830000")[int(_uniform(w.uid, 13) * 3)]
    first17 = prefix + w.id_number[6:17]
    return first17 + _check_char(first17)


# ---------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------


def person_no(counter_value: int) -> str:
    """人员编号 for a value of the "person-no" counter: the i-th world person has value i + 1, so persons
    created later (counter past the seed's count) continue the sequence."""
    return f"RY{counter_value:010d}"


def block_count(count: int) -> int:
    return (count + BLOCK - 1) // BLOCK


def _finish(d: _Draft) -> PopulationPerson:
    w, rng = d.w, d.rng
    household_group = d.household_group
    if w.residence_region == w.household_region:
        residence, residence_address = household_group, d.household_address
    else:
        tree = _tree()
        groups = tree.groups_of_township[w.residence_region]
        residence = groups[int(rng.random() * len(groups))]
        residence_address = f"{tree.full_names[residence]}{1 + int(rng.random() * 300)}号"
    marriages = _marriages(d)
    children = _children(d, marriages)
    # _held_id(d), with the common case (a valid number) first.
    if d.person_type == "FOREIGN_HMT_UNKNOWN":
        id_number, defect = None, None
    elif int(w.uid[1:9], 16) / 0x1_0000_0000 >= _ID_DEFECT_P:  # _uniform(w.uid, 1): see _defective
        id_number, defect = w.id_number, None
    else:
        id_number, defect = _held_id(d)
    death = None
    if d.death_date is not None:
        # The report carries the number population holds, wrong or not (the loop matched it to this record).
        candidates = [(household_group, "HOUSEHOLD")]
        if residence != household_group:
            candidates.append((residence, "RESIDENCE"))
        death = _death_report(rng, person_index=w.index, id_number=id_number or w.id_number, name=w.name,
                              death_date=d.death_date, candidates=candidates)
    dead = death is not None and death.status == "SYNCED"
    status = "DEAD" if dead else "CANCELLED" if d.cancelled else "NORMAL"
    # Cases are managed by the village (村/社区) of the residence: the office level below the township.
    management = residence[:12]
    dispatch = _dispatch(d, management) if status == "NORMAL" and rng.random() < _DISPATCH_P else None
    support = _support(d, children, death) if len(children) == 1 else ()
    cancelled_on = cancel_reason = None
    if d.cancelled:
        cancelled_on = _plus_days(WORLD_DATE, -1 - int(rng.random() * 5 * 365))
        cancel_reason = rng.choice(_CANCEL_REASONS)
    if id_number is None:
        permit = _hmt_permit(w)
        identity_kind, other_id, identity_code = "HK_MACAU_TAIWAN", permit, "T" + permit
    else:
        identity_kind, other_id, identity_code = "RESIDENT", None, id_number
    # PopulationPerson's fields in order: world, person_no, identity_kind, identity_code, id_number,
    # other_id_number, id_defect, ethnicity, person_type, mobility, hukou_type, education, occupation,
    # marital_status, household_no, relation_to_head, household_region, residence_region, management_region,
    # household_address, residence_address, status, cancelled_on, cancel_reason, death_date, marriages, children,
    # death, dispatch, support.
    return _new_person(
        w, f"RY{w.index + 1:010d}", identity_kind, identity_code, id_number, other_id, defect, d.ethnicity,
        d.person_type, d.mobility, d.hukou_type, d.education, d.occupation,
        marital_status_of(marriages) if marriages else "UNMARRIED", d.household_no, d.relation, household_group,
        residence, management, d.household_address, residence_address, status, cancelled_on, cancel_reason,
        d.death_date if dead else None, marriages, children, death, dispatch, support)


def _unmatched_deaths(seed: int, block: int, persons: list[PopulationPerson]) -> list[tuple[int, DeathReport]]:
    matched = sum(1 for p in persons if p.death is not None)
    rng = random.Random(_stream_key(seed, _STREAM_UNMATCHED_DEATHS, block))
    count = int(matched * _UNMATCHED_DEATH_SHARE + rng.random())
    out: list[tuple[int, DeathReport]] = []
    for _ in range(count):
        at = int(rng.random() * len(persons))
        near = persons[at]
        sex = "MALE" if rng.random() < 0.5 else "FEMALE"
        if rng.random() < 0.5:
            # Registered in another province: no Jiangsu record can match.
            region6 = rng.choice(_OTHER_PROVINCE_COUNTIES)
            born = date.fromordinal(date(1935, 1, 1).toordinal() + int(rng.random() * 60 * 365))
        else:
            # A Jiangsu number older than anyone in the world (born before 1925): a stale or mistyped record.
            region6 = near.world.household_region[:6]
            born = date.fromordinal(date(1915, 1, 1).toordinal() + int(rng.random() * 9 * 365))
        id_number = _id_number(region6, born, 2 * int(rng.random() * 500) + (1 if sex == "MALE" else 0))
        first, last = _DEATH_WINDOW
        died = date.fromordinal(first.toordinal() + int(rng.random() * (last.toordinal() - first.toordinal() + 1)))
        # Without a case the report goes to the county of the ID number, when that is one of the province's.
        candidates = [(region6, "ID_PREFIX")] if region6.startswith("32") else []
        report = _death_report(rng, person_index=None, id_number=id_number, name=_random_name(rng, sex),
                               death_date=died, candidates=candidates)
        out.append((near.index, report))
    out.sort(key=lambda pair: pair[0])
    return out


@lru_cache(maxsize=8)
def population_block(seed: int, block: int) -> PopulationBlock:
    """Persons BLOCK*block .. BLOCK*(block+1)-1 (fewer in the last block), their households and the death
    reports of the block that match nobody."""
    start = block * BLOCK
    if not 0 <= start < MAX_PERSONS:
        raise ValueError(f"block must be in 0..{block_count(MAX_PERSONS) - 1}, got {block}")
    # The cyclic garbage collector is paused while the block is built: the build allocates some 100,000
    # containers that all survive it, so the collections they would trigger free nothing, and the full ones
    # among them walk the whole heap (a third of the build's time with a large heap). It is restored on the way
    # out, whatever happens; the block's objects are collected as usual later.
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        # One stream per block (seeding a generator costs more than drawing from it): a person's draws depend on
        # the block's earlier persons, which random access builds anyway.
        rng = random.Random(_stream_key(seed, _STREAM_POPULATION, block))
        perm = _permutation(seed)
        drafts = [_draft(rng, _make_person(seed, perm, i)) for i in range(start, min(start + BLOCK, MAX_PERSONS))]
        households = _households(seed, block, drafts)
        persons = [_finish(d) for d in drafts]
        unmatched = _unmatched_deaths(seed, block, persons)
    finally:
        if collecting:
            gc.enable()
    return PopulationBlock(block, tuple(persons), tuple(households), tuple(unmatched))


def population_person(seed: int, index: int) -> PopulationPerson:
    """Person `index` of the world `seed` with every population attribute (builds and caches its block)."""
    if not 0 <= index < MAX_PERSONS:
        raise ValueError(f"person index must be in 0..{MAX_PERSONS - 1}, got {index}")
    return population_block(seed, index // BLOCK).persons[index % BLOCK]


def population_blocks(seed: int, count: int, *, first: int = 0, stop: int | None = None,
                      progress: bool = False) -> Iterator[PopulationBlock]:
    """The blocks a seed of `count` persons draws on (from block `first` up to `stop`), uncached: each block is
    built once, so memory stays flat at any count."""
    if not 0 <= count <= MAX_PERSONS:
        raise ValueError(f"count must be in 0..{MAX_PERSONS}, got {count}")
    last = block_count(count) if stop is None else min(stop, block_count(count))
    for block in tqdm(range(first, last), desc="population blocks", unit="block", file=sys.stderr,
                      disable=not progress):
        yield population_block.__wrapped__(seed, block)


def population_persons(seed: int, count: int, *, progress: bool = False) -> Iterator[PopulationPerson]:
    """Persons 0..count-1 in index order; identical to `population_person(seed, i)` for each i."""
    for block in population_blocks(seed, count, progress=progress):
        for p in block.persons:
            if p.index >= count:
                return
            yield p
