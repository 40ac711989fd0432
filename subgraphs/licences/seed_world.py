"""The licences of the synthetic Jiangsu world besides the nurse certificates (seed.py): who holds which of
the other ten types, and what each licence says. Pure functions of the world seed and size; seed.py writes
the rows. docs/licences/seed-and-events.md gives the numbers and the choices behind them.

Every record draws from a private random stream named by the seed, the type and the person or organisation,
so adding a type or a field never reshuffles the licences of another type.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from db.seed.regions import region_names
from db.seed.world import WORLD_DATE, OrganizationRecord, PersonRecord, age_on, organizations, person, persons
from subgraphs.common.pseudonym import id_number_digest
from subgraphs.licences.codes import LicenceTypeCode as T
from subgraphs.licences.codes import type_info

JIANGSU = "32"
PROVINCE_HC = "org-320000-hc"
ID_TYPE_RESIDENT = "居民身份证"
LAST_DAY = WORLD_DATE - timedelta(days=1)

# 归集来源: the upstream system of each type (licences.md §2.15; an inference, the tender only lists them).
SOURCES: dict[T, str] = {
    T.MEDICAL_INSTITUTION_PRACTICE: "江苏省医疗机构电子化注册系统",
    T.PHYSICIAN_PRACTICE: "江苏省医师电子化注册系统",
    T.NURSE_PRACTICE: "江苏省护士电子化注册系统",
    T.BLOOD_DONATION: "江苏省血液信息联网综合管理系统",
    T.BLOOD_DONATION_HONOUR: "江苏省血液信息联网综合管理系统",
    T.PHYSICIAN_QUALIFICATION: "省卫生人力资源系统",
    T.RURAL_DOCTOR_PRACTICE: "省卫生人力资源系统",
    T.TCM_SPECIALTY_PRACTICE: "江苏省中医药服务智慧管理系统",
    T.TCM_SPECIALTY_QUALIFICATION: "江苏省中医药服务智慧管理系统",
    T.TCM_CLINIC_FILING: "江苏省中医药服务智慧管理系统",
    T.HEALTH_CERTIFICATE: "从业人员健康体检信息系统",
}

# --- who holds what -----------------------------------------------------------------------------------
# (role, ages at WORLD_DATE, share of the eligible, at least this many holders in any world). The shares
# over-represent the rare professions (real Jiangsu has a few thousand TCM specialty physicians among 85
# million people) so that small test worlds still hold every type. Roles are exclusive and nurse holders
# take none: world.licence_holders stays the set of persons holding exactly one (nurse) certificate.
ROLES: tuple[tuple[str, int, int, float, int], ...] = (
    ("physician", 25, 65, 0.015, 6),
    ("rural", 30, 65, 0.006, 3),
    ("tcm", 30, 70, 0.006, 3),
    ("worker", 18, 60, 0.05, 6),
)
DONOR_AGES, DONOR_P, DONOR_MIN = (18, 60), 0.04, 6


@dataclass
class Roles:
    physician: list[PersonRecord] = field(default_factory=list)
    rural: list[PersonRecord] = field(default_factory=list)
    tcm: list[PersonRecord] = field(default_factory=list)
    worker: list[PersonRecord] = field(default_factory=list)
    donor: list[PersonRecord] = field(default_factory=list)


def roles(seed: int, person_count: int, nurses: set[int]) -> Roles:
    """Which persons hold which licences. One draw per role per person from the person's role stream;
    below a role's floor the eligible persons with the lowest draws are added."""
    draws: dict[str, list[tuple[float, PersonRecord]]] = {name: [] for name, *_ in ROLES}
    donors: list[tuple[float, PersonRecord]] = []
    for p in persons(seed, person_count):
        if p.index in nurses:
            continue
        age = age_on(p.birth_date)
        rng = random.Random(f"jshealth-licences:{seed}:roles:{p.index}")
        for name, low, high, _p, _floor in ROLES:
            u = rng.random()
            if low <= age <= high:
                draws[name].append((u, p))
        u = rng.random()
        if DONOR_AGES[0] <= age <= DONOR_AGES[1]:
            donors.append((u, p))
    out = Roles()
    taken: set[int] = set()
    for name, _low, _high, share, floor in ROLES:
        free = [(u, p) for u, p in draws[name] if p.index not in taken]
        chosen = {p.index for u, p in free if u < share}
        for _u, p in sorted(free, key=lambda d: (d[0], d[1].index))[:floor]:
            chosen.add(p.index)
        taken |= chosen
        setattr(out, name, [p for _u, p in free if p.index in chosen])
    chosen = {p.index for u, p in donors if u < DONOR_P}
    chosen |= {p.index for _u, p in sorted(donors, key=lambda d: (d[0], d[1].index))[:DONOR_MIN]}
    out.donor = [p for _u, p in donors if p.index in chosen]
    return out


# --- the places of the world --------------------------------------------------------------------------


@dataclass(frozen=True)
class Employer:
    """A food or public-place business employing health-certificate holders (用人单位). These are not among
    the world's organisations (identity knows medical institutions and administrations only), so their ids
    are local: emp-<county code>-<n>."""

    id: str
    name: str
    county: str
    category: str  # 发证类别: 食品 / 公共场所


EMPLOYERS_PER_COUNTY = 6  # four food businesses, two public places
_FOOD_KINDS = ("餐饮店", "食品有限公司", "超市", "饭店", "面包坊", "快餐店")
_PUBLIC_KINDS = ("宾馆", "浴室", "美容美发店", "游泳馆", "酒店", "足浴店")
_BRANDS = ("福满", "味之源", "鑫盛", "佳缘", "苏味", "金桥", "和顺", "惠丰", "百味", "锦绣", "万家", "悦来")


class Places:
    """The world's organisations arranged for the seed: by id, by region, by kind."""

    def __init__(self, seed: int) -> None:
        self.orgs = organizations(seed)
        self.by_id = {o.id: o for o in self.orgs}
        self.names = region_names()
        self.county_hospitals: dict[str, list[OrganizationRecord]] = {}
        self.city_hospitals: dict[str, list[OrganizationRecord]] = {}
        self.centre_of_township: dict[str, OrganizationRecord] = {}
        self.clinics_of_county: dict[str, list[OrganizationRecord]] = {}
        for org in self.orgs:
            if org.kind == "HOSPITAL":
                target = self.county_hospitals if org.level == "COUNTY" else self.city_hospitals
                target.setdefault(org.region_code[:6], []).append(org)
            elif org.kind in ("COMMUNITY_HEALTH_CENTER", "TOWNSHIP_HEALTH_CENTER"):
                self.centre_of_township[org.region_code] = org
            elif org.kind == "CLINIC":
                self.clinics_of_county.setdefault(org.region_code[:6], []).append(org)
        self.employers = employers(seed)
        self.employers_of: dict[tuple[str, str], list[Employer]] = {}
        for employer in self.employers:
            self.employers_of.setdefault((employer.county, employer.category), []).append(employer)

    def administration(self, org: OrganizationRecord) -> OrganizationRecord:
        assert org.parent_id is not None, "the world puts every unit under a health administration"
        return self.by_id[org.parent_id]

    def hospital_near(self, rng: random.Random, region: str) -> OrganizationRecord:
        county = region[:6]
        if rng.random() < 0.6:
            return rng.choice(self.county_hospitals[county])
        return rng.choice(self.city_hospitals[county[:4] + "00"])

    def address(self, rng: random.Random, region: str) -> str:
        county, city = region[:6], region[:4] + "00"
        road = rng.choice(("人民路", "中山路", "解放路", "建设路", "健康路", "长江路", "文昌路", "新华路"))
        district = "" if county == city else self.names[county]  # city hospitals sit at the city's code
        return f"江苏省{self.names[city]}{district}{road}{rng.randint(1, 300)}号"


def employers(seed: int) -> list[Employer]:
    """The world's food and public-place employers: EMPLOYERS_PER_COUNTY per county, deterministic."""
    names = region_names()
    out: list[Employer] = []
    for county in sorted(code for code in names if len(code) == 6 and not code.endswith("00")):
        rng = random.Random(f"jshealth-licences:{seed}:employers:{county}")
        brands = rng.sample(_BRANDS, EMPLOYERS_PER_COUNTY)
        for n, brand in enumerate(brands, start=1):
            category = "食品" if n <= 4 else "公共场所"
            kind = rng.choice(_FOOD_KINDS if category == "食品" else _PUBLIC_KINDS)
            out.append(Employer(f"emp-{county}-{n}", f"{names[county[:4] + '00']}{names[county]}{brand}{kind}", county,
                                category))
    return out


# --- row building -------------------------------------------------------------------------------------

COLUMNS = (
    "id", "number", "type_code", "business_key", "holder_kind", "holder_uid", "holder_org_id", "holder_name",
    "holder_sex", "holder_id_type", "holder_id_number", "holder_id_digest", "holder_credit_code", "issuer_org_id",
    "issuer_name", "issued_at", "valid_from", "valid_until", "source_status", "valid_flag", "revoked_at",
    "revoked_reason", "practice_institution_id", "practice_institution_name", "practice_category",
    "registered_at", "employer_org_id", "fields", "standard_version_id", "batch_id", "source_application_id",
    "collection_source", "collected_at", "ingested_at", "created_at",
)


def licence_row(code: T, number: str, **values: Any) -> dict[str, Any]:
    """A licence row with every column present (bulk inserts need one shape) and the derived ones filled."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(id=f"lic-{type_info(code).id_prefix}-{number}", number=number, type_code=code.value,
               business_key=number, valid_flag=True, fields={}, collection_source=SOURCES[code])
    row.update(values)
    if row["holder_id_number"] and not row["holder_id_digest"]:
        row["holder_id_digest"] = id_number_digest(row["holder_id_number"])
    return row


def of_person(p: PersonRecord, *, linked: bool = True, id_number: bool = True) -> dict[str, Any]:
    return {"holder_kind": "PERSON", "holder_uid": p.uid if linked else None, "holder_name": p.name,
            "holder_sex": p.sex, "holder_id_number": p.id_number if id_number else None}


def of_org(org: OrganizationRecord) -> dict[str, Any]:
    return {"holder_kind": "ORGANIZATION", "holder_org_id": org.id, "holder_name": org.name,
            "holder_credit_code": org.credit_code}


def issued_by(org: OrganizationRecord) -> dict[str, Any]:
    return {"issuer_org_id": org.id, "issuer_name": org.name}


def collected(rng: random.Random, issued: date) -> dict[str, Any]:
    """归集时间 / 入库时间: some days after issue, in Beijing office hours, never after the world's date."""
    day = min(issued + timedelta(days=rng.randrange(0, 15)), LAST_DAY)
    at = datetime.combine(day, time(1 + rng.randrange(9), rng.randrange(60), rng.randrange(60)), tzinfo=UTC)
    ingested = at + timedelta(seconds=rng.randrange(5, 600))
    return {"collected_at": at, "ingested_at": ingested, "created_at": ingested}


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


def between(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def current_period(rng: random.Random, first: date, years: int, lapse_p: float) -> tuple[date, bool]:
    """The start of the validity period containing WORLD_DATE for a licence renewed every `years` since
    `first`, or of the last period when the holder let it lapse (True)."""
    periods = 0
    while add_years(first, years * (periods + 1)) < WORLD_DATE:
        periods += 1
    lapsed = periods > 0 and rng.random() < lapse_p
    return add_years(first, years * (periods - 1 if lapsed else periods)), lapsed


def until(start: date, years: int) -> date:
    return add_years(start, years) - timedelta(days=1)


def a_name(seed: int, rng: random.Random) -> str:
    """A person's name from the world, for the people a licence names who are not its holder (法定代表人,
    负责人, 签发人): drawn far beyond any seeded population so it never names a seeded person by accident."""
    return person(seed, 9_000_000 + rng.randrange(900_000)).name


class Sequences:
    """Per-key running numbers: numbers stay unique without a lookup."""

    def __init__(self) -> None:
        self._next: dict[Any, int] = {}

    def next(self, key: Any) -> int:
        self._next[key] = self._next.get(key, 0) + 1
        return self._next[key]


def maybe_revoked(rng: random.Random, issued: date, p: float, reasons: tuple[str, ...]) -> dict[str, Any]:
    if rng.random() >= p or issued >= LAST_DAY:
        return {"source_status": "正常"}
    return {"source_status": "注销", "revoked_at": between(rng, issued + timedelta(days=1), LAST_DAY),
            "revoked_reason": rng.choice(reasons)}


@lru_cache(maxsize=1)
def face_labels() -> dict[str, dict[str, str]]:
    """The data-element names of each type's v1 standard, printed on the rendered face instead of the codes
    (empty until the standards module is there)."""
    try:
        from subgraphs.licences.domain.standard_v1 import V1
    except ImportError:
        return {}
    return {code.name: {e.code: e.name for e in elements} for code, elements in V1.items()}
