"""The population attributes of the synthetic world (db/seed/population.py): deterministic, randomly
accessible, and shaped like Jiangsu's population (shares checked over 20,000 persons)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from db.seed.population import (
    BLOCK,
    PopulationPerson,
    population_block,
    population_person,
    population_persons,
    region_tree,
)
from db.seed.regions import HISTORIC_COUNTIES, jiangsu_regions, population_regions
from db.seed.world import WORLD_DATE, age_on, person
from subgraphs.common.validators import is_valid_resident_id, parse_resident_id

SEED = 7
SAMPLE = 4 * BLOCK  # 16,384 persons, four whole blocks
MIGRANT_CITIES = {"320500", "320100", "320200"}


@pytest.fixture(scope="module")
def sample() -> list[PopulationPerson]:
    return list(population_persons(SEED, SAMPLE))


def share(items: list[PopulationPerson], test: object) -> float:
    assert callable(test)
    return sum(1 for p in items if test(p)) / len(items)


# --- determinism -------------------------------------------------------------------------------


def test_random_access_agrees_with_iteration(sample: list[PopulationPerson]) -> None:
    population_block.cache_clear()
    for i in (0, 1, BLOCK - 1, BLOCK, 2 * BLOCK + 17, SAMPLE - 1):
        assert population_person(SEED, i) == sample[i]
    # A smaller seed holds exactly the first persons of a bigger one.
    assert list(population_persons(SEED, 300)) == sample[:300]
    assert [p.index for p in sample] == list(range(SAMPLE))


def test_world_fields_are_the_worlds(sample: list[PopulationPerson]) -> None:
    for p in sample[:: 97]:
        assert p.world == person(SEED, p.index)
        # Regions are refined below the world's township, never moved out of it.
        assert p.household_region[:9] == p.world.household_region
        assert p.residence_region[:9] == p.world.residence_region
        assert p.management_region == p.residence_region[:12]


def test_other_seed_other_population(sample: list[PopulationPerson]) -> None:
    other = list(population_persons(SEED + 1, 200))
    assert [p.ethnicity for p in other] != [p.ethnicity for p in sample[:200]] or \
        [p.marital_status for p in other] != [p.marital_status for p in sample[:200]]


# --- attributes --------------------------------------------------------------------------------


def test_ethnicity_person_type_and_mobility(sample: list[PopulationPerson]) -> None:
    minorities = share(sample, lambda p: p.ethnicity != "01")
    assert 0.008 <= minorities <= 0.025
    assert all(len(p.ethnicity) == 2 and p.ethnicity.isdigit() for p in sample)
    inflow = share(sample, lambda p: p.person_type == "INTER_PROVINCE_INFLOW")
    assert 0.05 <= inflow <= 0.08
    foreign = sum(p.person_type == "FOREIGN_HMT_UNKNOWN" for p in sample)
    assert 1 <= foreign <= SAMPLE * 0.003
    in_cities = [p for p in sample if p.management_region[:4] + "00" in MIGRANT_CITIES]
    elsewhere = [p for p in sample if p.management_region[:4] + "00" not in MIGRANT_CITIES]
    assert 0.25 <= share(in_cities, lambda p: p.mobility == "MOBILE") <= 0.30
    assert 0.05 <= share(elsewhere, lambda p: p.mobility == "MOBILE") <= 0.08
    assert all(p.mobility == "MOBILE" for p in sample if p.person_type != "HOUSEHOLD_REGISTERED")


def test_education_follows_age(sample: list[PopulationPerson]) -> None:
    for p in sample:
        age = age_on(p.world.birth_date)
        if age < 6:
            assert p.education is None and p.occupation is None
        elif age < 12:
            assert p.education == "PRIMARY" and p.occupation == "学生"
    young = [p for p in sample if 25 <= age_on(p.world.birth_date) <= 34]
    old = [p for p in sample if age_on(p.world.birth_date) >= 75]
    degree = {"JUNIOR_COLLEGE", "BACHELOR", "POSTGRADUATE"}
    assert share(young, lambda p: p.education in degree) > 3 * share(old, lambda p: p.education in degree)


def test_invalid_id_numbers_are_a_small_unique_share(sample: list[PopulationPerson]) -> None:
    residents = [p for p in sample if p.identity_kind == "RESIDENT"]
    numbers = [p.id_number for p in residents]
    assert len(set(numbers)) == len(numbers)
    assert len({p.identity_code for p in sample}) == SAMPLE
    invalid = 0
    for p in residents:
        assert p.id_number is not None and p.identity_code == p.id_number
        try:
            decoded = parse_resident_id(p.id_number, today=WORLD_DATE)
        except ValueError:
            invalid += 1
            assert p.id_defect in ("CHECKSUM", "BIRTH_DATE")
            continue
        if decoded.sex != p.world.sex:
            invalid += 1
            assert p.id_defect == "SEX_DIGIT"
        else:
            assert p.id_defect is None and p.id_number == p.world.id_number
    assert 0.005 <= invalid / SAMPLE <= 0.01
    assert {p.id_defect for p in sample} == {None, "CHECKSUM", "BIRTH_DATE", "SEX_DIGIT"}
    for p in sample:
        if p.identity_kind == "HK_MACAU_TAIWAN":
            assert p.id_number is None and p.other_id_number is not None
            assert p.identity_code == "T" + p.other_id_number and p.other_id_number[:2] in ("81", "82", "83")


def test_marital_status_matches_the_events(sample: list[PopulationPerson]) -> None:
    derived = {"FIRST_MARRIAGE": "MARRIED", "REMARRIAGE": "MARRIED", "REUNION": "MARRIED",
               "DIVORCE": "DIVORCED", "WIDOWED": "WIDOWED"}
    for p in sample:
        dates = [m.event_date for m in p.marriages]
        assert dates == sorted(dates)
        assert p.marital_status == (derived[p.marriages[-1].kind] if p.marriages else "UNMARRIED")
        if p.marriages:
            assert p.marriages[0].kind == "FIRST_MARRIAGE"
            legal = 20 if p.world.sex == "FEMALE" else 22
            assert age_on(p.world.birth_date, dates[0]) >= legal
            assert dates[-1] <= (p.death.death_date if p.death else WORLD_DATE)
            for m in p.marriages:
                assert m.spouse.id_number is None or len(m.spouse.id_number) == 18
                assert m.reported_on >= m.event_date
    by_band: dict[str, list[PopulationPerson]] = {"30-59": [], "60-69": [], "80+": []}
    for p in sample:
        age = age_on(p.world.birth_date)
        band = "30-59" if 30 <= age <= 59 else "60-69" if 60 <= age <= 69 else "80+" if age >= 80 else ""
        if band:
            by_band[band].append(p)
    assert share(by_band["30-59"], lambda p: p.marital_status == "MARRIED") > 0.75
    widowed = {band: share(ps, lambda p: p.marital_status == "WIDOWED") for band, ps in by_band.items()}
    assert widowed["30-59"] < widowed["60-69"] < widowed["80+"] and widowed["80+"] > 0.25
    assert 0.01 <= share(sample, lambda p: p.marital_status == "DIVORCED") <= 0.05


def test_couples_are_married_to_each_other(sample: list[PopulationPerson]) -> None:
    couples = 0
    for p in sample:
        for m in p.marriages:
            if m.spouse.index is not None and m.spouse.index < SAMPLE:
                other = sample[m.spouse.index]
                assert other.household_no == p.household_no
                assert {p.relation_to_head, other.relation_to_head} == {"HEAD", "SPOUSE"}
                assert [(o.event_date, o.spouse.index) for o in other.marriages] == [(m.event_date, p.index)]
                couples += 1
    assert couples > SAMPLE * 0.01


def test_children_and_birth_orders(sample: list[PopulationPerson]) -> None:
    births: Counter[int] = Counter()
    for p in sample:
        if p.world.sex == "MALE":
            assert p.children == ()
        assert [c.birth_order for c in p.children] == list(range(1, len(p.children) + 1))
        assert p.children_count == len(p.children) <= 3
        assert p.boys_count == sum(c.sex == "MALE" for c in p.children)
        assert p.youngest_child_birth_date == (p.children[-1].birth_date if p.children else None)
        for c in p.children:
            assert 20 <= age_on(p.world.birth_date, c.birth_date) <= 45
            assert c.birth_date <= WORLD_DATE
            births[min(c.birth_order, 3)] += 1
            if c.child_index is not None:
                assert c.child_uid == person(SEED, c.child_index).uid
    total = sum(births.values())
    assert 0.50 <= births[1] / total <= 0.55
    assert 0.35 <= births[2] / total <= 0.40
    assert 0.05 <= births[3] / total <= 0.10
    recent = sum(1 for p in sample for c in p.children if c.birth_date.year == 2025)
    assert 0.004 <= recent / SAMPLE <= 0.015


def test_households(sample: list[PopulationPerson]) -> None:
    numbers: Counter[str] = Counter(p.household_no for p in sample)
    for number in numbers:
        assert len(number) == 15 and number.isdigit()
    blocks = [population_block(SEED, b) for b in range(SAMPLE // BLOCK)]
    households = [h for b in blocks for h in b.households]
    assert len({h.number for h in households}) == len(households)
    by_number = {h.number: h for h in households}
    for p in sample[: len(blocks) * BLOCK]:
        household = by_number[p.household_no]
        assert p.index in household.member_indexes
        assert p.household_region == household.region_code
        assert p.household_no[:6] == p.household_region[:6]
        assert (p.relation_to_head == "HEAD") == (p.index == household.head_index)
    sizes = Counter(len(h.member_indexes) for h in households)
    assert set(sizes) <= {1, 2, 3, 4, 5}
    assert 2.0 <= sum(len(h.member_indexes) for h in households) / len(households) <= 3.0


def test_deaths_dispatch_and_support(sample: list[PopulationPerson]) -> None:
    reports = [p.death for p in sample if p.death is not None]
    assert 0.01 <= len(reports) / SAMPLE <= 0.04
    assert {r.source for r in reports} == {"POLICE", "HOSPITAL", "COMMUNITY"}
    assert {"SYNCED", "UNCLAIMED"} <= {r.status for r in reports}
    for p in sample:
        assert (p.status == "DEAD") == (p.death is not None and p.death.status == "SYNCED")
        if p.status == "DEAD":
            assert p.death_date is not None and p.dispatch is None
    unmatched = [r for b in range(SAMPLE // BLOCK) for _, r in population_block(SEED, b).unmatched_deaths]
    assert unmatched
    known = {p.id_number for p in sample} | {p.world.id_number for p in sample}
    assert all(r.person_index is None and r.id_number not in known for r in unmatched)
    assert all(r.status != "SYNCED" for r in unmatched)
    assert {r.routed_by for r in unmatched} <= {"ID_PREFIX", "UNROUTED"}
    pending = [p for p in sample if p.dispatch is not None]
    assert 0 < len(pending) < SAMPLE * 0.01
    assert all(p.status == "NORMAL" and p.dispatch.origin_region == p.management_region
               and p.dispatch.target_region[:9] != p.management_region[:9] for p in pending if p.dispatch)
    for p in sample:
        for s in p.support:
            assert p.world.sex == "FEMALE" and len(p.children) == 1 and age_on(p.world.birth_date) >= 49
            assert s.kind in ("REWARD", "SPECIAL") and (s.end_date is None) == (p.status != "DEAD")
    assert sum(len(p.support) for p in sample) > 0


# --- regions -----------------------------------------------------------------------------------


def test_region_tree_refines_the_worlds() -> None:
    tree = {r.code: r for r in region_tree()}
    assert tree == {r.code: r for r in population_regions()}
    assert len(tree) < 20_000
    for world_region in jiangsu_regions():
        assert tree[world_region.code].name == world_region.name
        assert tree[world_region.code].full_name == world_region.full_name
    levels = Counter(r.level for r in tree.values())
    assert levels["VILLAGE"] > levels["TOWNSHIP"] and levels["GROUP"] > levels["VILLAGE"]
    for region in tree.values():
        if region.level in ("VILLAGE", "GROUP"):
            parent = tree[region.parent_code or ""]
            assert len(region.code) == len(parent.code) + 3 and region.code.startswith(parent.code)
            assert "测试" in region.name and region.full_name == parent.full_name + region.name
    for historic in HISTORIC_COUNTIES:
        region = tree[historic.code]
        assert region.valid_to is not None and date(2012, 1, 1) <= region.valid_to <= date(2021, 1, 1)
        assert tree[historic.successor_code].valid_to is None
        assert tree[historic.successor_code].valid_from == region.valid_to


def test_every_person_region_is_in_the_tree(sample: list[PopulationPerson]) -> None:
    tree = {r.code: r for r in region_tree()}
    for p in sample[:: 13]:
        for code in (p.household_region, p.residence_region):
            assert tree[code].level == "GROUP" and tree[code].valid_to is None
        assert tree[p.management_region].level == "VILLAGE"
        assert p.household_address.startswith(tree[p.household_region].full_name)


def test_sanity_of_the_id_validator_on_untouched_numbers(sample: list[PopulationPerson]) -> None:
    assert all(is_valid_resident_id(p.world.id_number) for p in sample[:500])
