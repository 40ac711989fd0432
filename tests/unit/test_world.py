from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from db.seed.regions import CITY_CODES, COUNTY_CODES, PROVINCE_CODE, RegionRecord, jiangsu_regions
from db.seed.world import (
    MAX_PERSONS,
    TOWNSHIPS_PER_COUNTY,
    WORLD_DATE,
    OrganizationRecord,
    PersonRecord,
    UserRecord,
    age_on,
    applicants,
    licence_holders,
    organizations,
    person,
    persons,
    users,
    world_regions,
)
from subgraphs.common.validators import is_valid_resident_id, is_valid_uscc, parse_resident_id

SEED = 7
SAMPLE = 20_000

EXPECTED_CITIES = {
    "320100": "南京市", "320200": "无锡市", "320300": "徐州市", "320400": "常州市", "320500": "苏州市",
    "320600": "南通市", "320700": "连云港市", "320800": "淮安市", "320900": "盐城市", "321000": "扬州市",
    "321100": "镇江市", "321200": "泰州市", "321300": "宿迁市",
}  # fmt: skip

# How many leading code digits a region shares with everything beneath it.
PREFIX_LENGTH = {"PROVINCE": 2, "CITY": 4, "COUNTY": 6, "TOWNSHIP": 9}

EXPECTED_COUNTIES = (
    "320102", "320104", "320105", "320106", "320111", "320113",
    "320114", "320115", "320116", "320117", "320118",
    "320205", "320206", "320211", "320213", "320214", "320281", "320282",
    "320302", "320303", "320305", "320311", "320312", "320321", "320322", "320324", "320381", "320382",
    "320402", "320404", "320411", "320412", "320413", "320481",
    "320505", "320506", "320507", "320508", "320509", "320581", "320582", "320583", "320585",
    "320602", "320612", "320614", "320623", "320681", "320682", "320685",
    "320703", "320706", "320707", "320722", "320723", "320724",
    "320803", "320804", "320812", "320813", "320826", "320830", "320831",
    "320902", "320903", "320904", "320921", "320922", "320923", "320924", "320925", "320981",
    "321002", "321003", "321012", "321023", "321081", "321084",
    "321102", "321111", "321112", "321181", "321182", "321183",
    "321202", "321203", "321204", "321281", "321282", "321283",
    "321302", "321311", "321322", "321323", "321324",
)  # fmt: skip


@pytest.fixture(scope="module")
def sample() -> list[PersonRecord]:
    return list(persons(SEED, SAMPLE))


@pytest.fixture(scope="module")
def orgs() -> list[OrganizationRecord]:
    return organizations(SEED)


@pytest.fixture(scope="module")
def accounts() -> list[UserRecord]:
    return users(SEED, SAMPLE)


# --- regions ---------------------------------------------------------------------------------


def test_cities_and_counties_are_exactly_the_real_ones() -> None:
    regions = jiangsu_regions()
    cities = {r.code: r.name for r in regions if r.level == "CITY"}
    counties = [r.code for r in regions if r.level == "COUNTY"]
    assert cities == EXPECTED_CITIES
    assert tuple(EXPECTED_CITIES) == CITY_CODES
    assert len(counties) == len(COUNTY_CODES) == 95
    assert sorted(counties) == sorted(COUNTY_CODES) == sorted(EXPECTED_COUNTIES)
    provinces = [r for r in regions if r.level == "PROVINCE"]
    assert [(p.code, p.name, p.parent_code) for p in provinces] == [(PROVINCE_CODE, "江苏省", None)]


def test_region_names_and_full_names() -> None:
    by_code = {r.code: r for r in jiangsu_regions()}
    assert by_code["320102"].full_name == "江苏省南京市玄武区"
    assert by_code["320302"].full_name == "江苏省徐州市鼓楼区"
    assert by_code["320281"].name == "江阴市"
    assert by_code["321324"].name == "泗洪县"
    assert by_code["320102001"].name == "玄武区测试街道01"
    assert by_code["320321002"].name == "丰县测试镇02"


@pytest.mark.parametrize("per_county", [0, 1, 4, 12])
def test_region_tree_is_consistent(per_county: int) -> None:
    regions = jiangsu_regions(per_county)
    codes = [r.code for r in regions]
    assert len(codes) == len(set(codes))
    seen: dict[str, RegionRecord] = {}
    parent_level = {"CITY": "PROVINCE", "COUNTY": "CITY", "TOWNSHIP": "COUNTY"}
    for region in regions:
        if region.parent_code is not None:
            # Tree order: the parent has already been emitted.
            parent = seen[region.parent_code]
            assert parent.level == parent_level[region.level]
            assert region.code.startswith(parent.code[: PREFIX_LENGTH[parent.level]])
            assert region.full_name == parent.full_name + region.name
        seen[region.code] = region
    townships = [r for r in regions if r.level == "TOWNSHIP"]
    assert len(townships) == 95 * per_county
    assert all(len(t.code) == 9 and t.code[:6] == t.parent_code and "测试" in t.name for t in townships)


# --- persons: determinism ----------------------------------------------------------------------


def test_same_seed_same_people(sample: list[PersonRecord]) -> None:
    again = list(persons(SEED, 2000))
    assert again == sample[:2000]
    for i in (0, 1, 2, 17, 999, 1999, SAMPLE - 1):
        assert person(SEED, i) == sample[i]
    assert [p.index for p in sample] == list(range(SAMPLE))


def test_same_people_in_another_process() -> None:
    # Seeders run in separate processes; a different hash seed must not change the world.
    code = "from db.seed.world import person; print(repr(person(7, 12345)))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == repr(person(SEED, 12345))


def test_world_is_pinned() -> None:
    # Every subgraph's seeder derives its rows from this module; an accidental change to the
    # generator would silently desynchronise databases seeded before and after it.
    first = person(SEED, 0)
    assert (first.id_number, first.name, first.household_region) == (
        "320922198005024676",
        "张宁俊",
        "320922004",
    )
    assert organizations(SEED)[2].credit_code == "12320100574064003Y"


def test_random_access_beyond_the_iterated_range() -> None:
    far = MAX_PERSONS - 1
    assert person(SEED, far) == person(SEED, far)
    assert person(SEED, far).index == far


def test_different_seeds_differ(sample: list[PersonRecord]) -> None:
    other = list(persons(SEED + 1, 200))
    assert sum(a == b for a, b in zip(sample[:200], other, strict=True)) == 0
    assert {p.id_number for p in other}.isdisjoint({p.id_number for p in sample[:200]})


def test_out_of_range_indexes_are_rejected() -> None:
    with pytest.raises(ValueError):
        person(SEED, -1)
    with pytest.raises(ValueError):
        person(SEED, MAX_PERSONS)
    with pytest.raises(ValueError):
        next(persons(SEED, MAX_PERSONS + 1))


# --- persons: content --------------------------------------------------------------------------


def test_id_numbers_valid_unique_and_consistent(sample: list[PersonRecord]) -> None:
    assert len({p.id_number for p in sample}) == SAMPLE
    assert len({p.uid for p in sample}) == SAMPLE
    for p in sample:
        assert is_valid_resident_id(p.id_number)
        # Pinned to WORLD_DATE so the check does not depend on the machine's clock.
        decoded = parse_resident_id(p.id_number, today=WORLD_DATE)
        assert decoded.number == p.id_number
        assert decoded.birth_date == p.birth_date
        assert decoded.sex == p.sex
        assert decoded.region_code == p.household_region[:6]
        # The key carries no personal data: an opaque pseudonym, unrelated to the ID number.
        assert p.uid.startswith("P") and len(p.uid) == 21 and p.id_number[6:14] not in p.uid


def test_person_fields_are_well_formed(sample: list[PersonRecord]) -> None:
    townships = {r.code for r in world_regions() if r.level == "TOWNSHIP"}
    for p in sample:
        assert p.birth_date <= WORLD_DATE
        assert 0 <= age_on(p.birth_date) <= 100
        assert 2 <= len(p.name) <= 3
        assert all("\u4e00" <= c <= "\u9fff" for c in p.name)
        assert {p.household_region, p.residence_region, p.management_region} <= townships
        assert p.management_region == p.residence_region
        assert len(p.phone) == 11 and p.phone.isdigit()
        assert p.phone[:2] in {"13", "15", "18", "19"}


def test_age_distribution(sample: list[PersonRecord]) -> None:
    ages = [age_on(p.birth_date) for p in sample]
    children = sum(a <= 14 for a in ages) / SAMPLE
    working = sum(15 <= a <= 59 for a in ages) / SAMPLE
    elderly = sum(a >= 60 for a in ages) / SAMPLE
    assert 0.13 <= children <= 0.17
    assert 0.60 <= working <= 0.66
    assert 0.20 <= elderly <= 0.24
    assert max(ages) <= 100
    assert sum(a >= 90 for a in ages) > 0


def test_sex_ratio_and_names(sample: list[PersonRecord]) -> None:
    sexes = Counter(p.sex for p in sample)
    assert 0.97 <= sexes["MALE"] / sexes["FEMALE"] <= 1.07
    surnames = Counter(p.name[0] for p in sample)
    assert {s for s, _ in surnames.most_common(5)} <= {"王", "李", "张", "刘", "陈", "杨"}
    assert len({p.name for p in sample}) > SAMPLE // 4


def test_population_is_weighted_towards_big_cities(sample: list[PersonRecord]) -> None:
    by_city = Counter(p.household_region[:4] + "00" for p in sample)
    ranking = [code for code, _ in by_city.most_common()]
    assert ranking[0] == "320500"  # 苏州
    assert set(ranking[:5]) == {"320500", "320100", "320300", "320200", "320600"}
    assert ranking[-1] == "321100"  # 镇江
    moved = sum(p.household_region != p.residence_region for p in sample) / SAMPLE
    assert 0.10 <= moved <= 0.20


def test_townships_are_spread_within_counties(sample: list[PersonRecord]) -> None:
    suffixes = Counter(p.residence_region[6:] for p in sample)
    assert set(suffixes) == {f"{t:03d}" for t in range(1, TOWNSHIPS_PER_COUNTY + 1)}


# --- organisations -----------------------------------------------------------------------------


def test_organizations_are_deterministic(orgs: list[OrganizationRecord]) -> None:
    assert organizations(SEED) == orgs
    assert organizations(SEED + 1) != orgs


def test_organization_tree(orgs: list[OrganizationRecord]) -> None:
    by_id: dict[str, OrganizationRecord] = {}
    regions = {r.code: r for r in world_regions()}
    for org in orgs:
        assert org.id not in by_id
        if org.parent_id is None:
            assert org.id == "org-320000-hc" and org.name == "江苏省卫生健康委员会"
        else:
            parent = by_id[org.parent_id]  # parents come first
            assert parent.kind == "HEALTH_COMMISSION"
            assert org.region_code.startswith(parent.region_code[: PREFIX_LENGTH[parent.level]])
        assert org.region_code in regions
        assert org.level == regions[org.region_code].level
        by_id[org.id] = org
    assert len({o.name for o in orgs}) == len(orgs)


def test_credit_codes_valid_and_unique(orgs: list[OrganizationRecord]) -> None:
    assert len({o.credit_code for o in orgs}) == len(orgs)
    for org in orgs:
        assert is_valid_uscc(org.credit_code), org
        assert org.credit_code[2:8] == org.region_code[:6]
        expected = {"HEALTH_COMMISSION": "11", "CLINIC": "91"}.get(org.kind, "12")
        assert org.credit_code[:2] == expected


def test_every_region_has_its_institutions(orgs: list[OrganizationRecord]) -> None:
    names = {o.name for o in orgs}
    for city in CITY_CODES:
        hospitals = [o for o in orgs if o.kind == "HOSPITAL" and o.region_code == city]
        assert 2 <= len(hospitals) <= 4
        assert any(o.kind == "HEALTH_COMMISSION" and o.region_code == city for o in orgs)
    for county in COUNTY_CODES:
        assert sum(o.kind == "HOSPITAL" and o.region_code == county for o in orgs) == 2
        assert sum(o.kind == "HEALTH_COMMISSION" and o.region_code == county for o in orgs) == 1
        assert 2 <= sum(o.kind == "CLINIC" and o.region_code[:6] == county for o in orgs) <= 4
    townships = [r.code for r in world_regions() if r.level == "TOWNSHIP"]
    centres = Counter(
        o.region_code for o in orgs if o.kind in ("COMMUNITY_HEALTH_CENTER", "TOWNSHIP_HEALTH_CENTER")
    )
    assert centres == Counter(townships)
    assert {
        "南京市卫生健康委员会",
        "玄武区卫生健康局",
        "江宁区人民医院",
        "江阴市中医院",
        "南京市第一医院",
    } <= names
    assert {"南京市鼓楼区卫生健康局", "徐州市鼓楼区卫生健康局"} <= names


# --- users and derived sets -------------------------------------------------------------------


def test_users(orgs: list[OrganizationRecord], accounts: list[UserRecord]) -> None:
    assert users(SEED, SAMPLE) == accounts
    org_ids = {o.id for o in orgs}
    assert len({u.username for u in accounts}) == len(accounts)
    assert len({u.id for u in accounts}) == len(accounts)
    linked = [u.person_index for u in accounts]
    assert None not in linked and len(set(linked)) == len(linked)
    per_org = Counter(u.organization_id for u in accounts)
    assert set(per_org) == org_ids
    assert all(1 <= n <= 3 for n in per_org.values())
    for u in accounts:
        assert u.username.isascii() and u.username == u.username.lower()
        assert u.person_index is not None and 0 <= u.person_index < SAMPLE
        staff = person(SEED, u.person_index)
        assert u.display_name == staff.name
        assert 22 <= age_on(staff.birth_date) <= 60
    normal = sum(u.status == "NORMAL" for u in accounts) / len(accounts)
    assert 0.94 <= normal <= 0.995


def test_users_need_enough_persons(accounts: list[UserRecord]) -> None:
    with pytest.raises(ValueError):
        users(SEED, 10)
    tight = users(SEED, len(accounts))
    assert sorted(u.person_index for u in tight if u.person_index is not None) == list(range(len(accounts)))


def test_licence_holders_and_applicants(sample: list[PersonRecord]) -> None:
    holders = licence_holders(SEED, SAMPLE)
    assert holders == licence_holders(SEED, SAMPLE) == sorted(set(holders))
    # A prefix of the population gets the prefix of the answer: the rule is per person.
    assert licence_holders(SEED, 5000) == [i for i in holders if i < 5000]
    eligible = [p for p in sample if 20 <= age_on(p.birth_date) <= 60]
    assert all(20 <= age_on(sample[i].birth_date) <= 60 for i in holders)
    assert 0.012 <= len(holders) / len(eligible) <= 0.03
    assert sum(sample[i].sex == "FEMALE" for i in holders) > 0.8 * len(holders)

    chosen = applicants(SEED, SAMPLE)
    assert chosen == applicants(SEED, SAMPLE) == sorted(set(chosen))
    adults = [p for p in sample if age_on(p.birth_date) >= 18]
    assert all(age_on(sample[i].birth_date) >= 18 for i in chosen)
    assert 0.08 <= len(chosen) / len(adults) <= 0.12
    assert applicants(SEED + 1, SAMPLE) != chosen
