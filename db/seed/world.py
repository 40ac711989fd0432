"""The deterministic synthetic population of Jiangsu that every subgraph's seeder reads from.

Everything here is a pure function of an integer `seed` (and, for users and derived person
sets, the population size), so each subgraph can seed its own database independently and
still agree with the others on who person 4711 is, which organisation employs which account,
and who holds a nurse's practising certificate.

Design decisions worth knowing before changing anything:

* Random access. `person(seed, i)` never looks at persons 0..i-1: each person draws from a
  private `random.Random` seeded with an integer packed from (seed, stream, index). Integer
  seeding is deterministic across processes and Python versions (unlike `hash()` of a str).
* Unique ID numbers without re-rolls. The birth date and the three-digit sequence number are
  not drawn at random; they come from a seeded bijection of the person index (a 24-bit Feistel
  network with cycle walking over `range(MAX_PERSONS)`), split by the age distribution into
  (birth day, slot) pairs with at most 500 slots per day, and each slot maps to a distinct
  sequence number of the right parity for the person's sex. So two persons with index below
  `MAX_PERSONS` never share (birth date, sequence), hence never share an ID number, whatever
  their counties; iteration and random access trivially agree because nothing is re-rolled.
* The graph key `uid` carries no personal data. The tender's 统一身份识别码 of a resident is the
  ID number itself, and a key travels everywhere (every subgraph, every client, every log), so the
  key is an opaque pseudonym instead: "P" + 20 hex digits of a keyed hash of (seed, index), not
  derivable from the ID number and not enumerable. See docs/decisions.md.
* Dates are relative to the fixed `WORLD_DATE`, never today, so a seed means the same world
  on every day it is run.
* Organisation names follow real naming patterns and city hospitals use well-known real-style
  names, but every credit code is synthetic (valid check characters, random body), and
  township-level units are marked 测试 like the synthetic townships they sit in.
"""

from __future__ import annotations

import _random
import hashlib
import random
import sys
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache
from itertools import accumulate
from typing import Any, Literal, TypeVar

from tqdm import tqdm

from db.seed.regions import (
    CITY_CODES,
    COUNTY_CODES,
    PROVINCE_CODE,
    RegionLevel,
    RegionRecord,
    city_code_of,
    jiangsu_regions,
    region_names,
)
from subgraphs.common.validators import make_uscc

__all__ = [
    "MAX_PERSONS",
    "TOWNSHIPS_PER_COUNTY",
    "WORLD_DATE",
    "OrganizationKind",
    "OrganizationRecord",
    "PersonRecord",
    "Sex",
    "UserRecord",
    "UserStatus",
    "age_on",
    "applicants",
    "licence_holders",
    "organizations",
    "person",
    "persons",
    "users",
    "world_regions",
]

Sex = Literal["MALE", "FEMALE"]
OrganizationKind = Literal[
    "HEALTH_COMMISSION", "HOSPITAL", "COMMUNITY_HEALTH_CENTER", "TOWNSHIP_HEALTH_CENTER", "CLINIC"
]
UserStatus = Literal["NORMAL", "FROZEN", "CANCELLED"]

# Keys the pseudonymous person uid; a deployment with real data uses random uids, not this.
_UID_KEY = b"jshealth-synthetic-person-uid"
WORLD_DATE = date(2026, 1, 1)
TOWNSHIPS_PER_COUNTY = 4
# The uniqueness proof for ID numbers holds for indexes below this bound (see module docstring).
MAX_PERSONS = 10_000_000


@dataclass(frozen=True)
class PersonRecord:
    index: int
    uid: str
    name: str
    sex: Sex
    birth_date: date
    id_number: str
    household_region: str
    residence_region: str
    management_region: str
    phone: str


_T = TypeVar("_T")


def _frozen_constructor(cls: type[_T]) -> Callable[..., _T]:
    """A positional constructor of the frozen dataclass `cls` for the generator's hot paths.

    The generated __init__ of a frozen dataclass sets each field through object.__setattr__, about a fifth of
    a microsecond per field, which adds up over tens of millions of records. This builds the same instance (all
    fields in its __dict__, in field order) in one step. Every field must be given, in field order (there are
    no defaults); nothing is checked, as a plain frozen dataclass checks nothing either. Like dataclasses' own
    __init__, the function is compiled from the field names.
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    assert not hasattr(cls, "__post_init__") and not hasattr(cls, "__slots__"), cls
    assert all(name.isidentifier() and not name.startswith("_frozen_") for name in names), names
    source = (
        f"def construct({', '.join(names)}):\n"
        "    _frozen_instance = _frozen_new(_frozen_cls)\n"
        f"    _frozen_set(_frozen_instance, '__dict__', {{{', '.join(f'{n!r}: {n}' for n in names)}}})\n"
        "    return _frozen_instance\n"
    )
    namespace: dict[str, Any] = {"_frozen_new": object.__new__, "_frozen_set": object.__setattr__, "_frozen_cls": cls}
    exec(source, namespace)
    construct: Callable[..., _T] = namespace["construct"]
    construct.__qualname__ = construct.__name__ = f"new_{cls.__name__}"
    return construct


_new_person_record = _frozen_constructor(PersonRecord)


@dataclass(frozen=True)
class OrganizationRecord:
    id: str
    name: str
    kind: OrganizationKind
    region_code: str
    credit_code: str
    parent_id: str | None
    level: RegionLevel


@dataclass(frozen=True)
class UserRecord:
    id: str
    username: str
    display_name: str
    organization_id: str
    status: UserStatus
    person_index: int | None


def age_on(birth_date: date, on: date = WORLD_DATE) -> int:
    """Completed years of age on `on`."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def world_regions() -> list[RegionRecord]:
    """The region tree the world is built on (with `TOWNSHIPS_PER_COUNTY` townships per county)."""
    return jiangsu_regions(TOWNSHIPS_PER_COUNTY)


# ---------------------------------------------------------------------------
# Random streams
# ---------------------------------------------------------------------------

# Distinct per-index streams, so that e.g. whether person i is an applicant does not depend on
# how many draws generating person i itself took (adding a field must not reshuffle applicants).
_STREAM_PERSON = 1
_STREAM_LICENCE = 2
_STREAM_APPLICANT = 3

_SEED_MASK = (1 << 64) - 1


def _stream_key(seed: int, stream: int, index: int) -> int:
    # random.Random(int) seeds from abs(int), so the key must stay non-negative to keep
    # negative seeds distinct from positive ones; 40 index bits is far beyond MAX_PERSONS.
    return (((seed & _SEED_MASK) << 8 | stream) << 40) | index


# The C generator behind random.Random: the same stream for an integer seed (random.Random.seed hands integers
# straight to it), without random.Random's Python-level __init__ and seed() around the construction. Good for
# random(), getrandbits() and randbytes() only (gauss() and the other distributions live in random.Random).
_stream_rng = _random.Random


def _named_rng(seed: int, name: str) -> random.Random:
    # String seeds go through SHA-512, which is deterministic across processes (unlike hash()).
    return random.Random(f"jshealth-world:{seed}:{name}")


# ---------------------------------------------------------------------------
# Birth dates and ID sequence numbers: a seeded bijection of the person index
# ---------------------------------------------------------------------------

_HALF_BITS = 12
_HALF_MASK = (1 << _HALF_BITS) - 1
assert MAX_PERSONS <= 1 << (2 * _HALF_BITS)

# Jiangsu, 7th census (2020) shaped: 0-14 15.0 %, 15-59 63.0 %, 60+ 22.0 % (the census has
# 15.2 / 63.0 / 21.8). Units are basis points of the population; the last band stops at 100.
_AGE_BANDS: tuple[tuple[int, int, int], ...] = (
    (0, 5, 420),
    (5, 10, 540),
    (10, 15, 540),
    (15, 20, 460),
    (20, 25, 480),
    (25, 30, 620),
    (30, 35, 850),
    (35, 40, 700),
    (40, 45, 660),
    (45, 50, 800),
    (50, 55, 890),
    (55, 60, 840),
    (60, 65, 600),
    (65, 70, 560),
    (70, 75, 420),
    (75, 80, 280),
    (80, 85, 180),
    (85, 90, 100),
    (90, 95, 45),
    (95, 101, 15),
)
assert sum(bp for _, _, bp in _AGE_BANDS) == 10_000

# Half of the 000-999 sequence numbers have each parity, i.e. each sex.
_SLOTS_PER_DAY = 500


def _build_bands() -> tuple[list[int], list[int], list[int]]:
    p_starts: list[int] = []
    day_starts: list[int] = []
    day_counts: list[int] = []
    p = 0
    for lo, hi, bp in _AGE_BANDS:
        # Born on the day after the (hi)th birthday falls before WORLD_DATE, up to the day of
        # the (lo)th birthday; WORLD_DATE is 1 January, so replace(year=...) is always valid.
        first = WORLD_DATE.replace(year=WORLD_DATE.year - hi).toordinal() + 1
        last = WORLD_DATE.replace(year=WORLD_DATE.year - lo).toordinal()
        n = MAX_PERSONS * bp // 10_000
        days = last - first + 1
        # The ID uniqueness argument needs every (day, slot) pair to fit in the sequence space.
        assert n <= days * _SLOTS_PER_DAY, f"age band {lo}-{hi} is too dense for unique ID numbers"
        p_starts.append(p)
        day_starts.append(first)
        day_counts.append(days)
        p += n
    assert p == MAX_PERSONS
    return p_starts, day_starts, day_counts


_BAND_P_STARTS, _BAND_DAY_STARTS, _BAND_DAY_COUNTS = _build_bands()
# Any multiplier coprime to 500 makes slot -> sequence a bijection per day.
_SLOT_MULTIPLIER = 263


@dataclass(frozen=True)
class _Permutation:
    rounds: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]
    slot_shift: int
    # The keyed uid hash of the seed having absorbed f"{seed}:" (see person_uid), copied for each person.
    uid_hash: Any
    # _stream_key(seed, _STREAM_PERSON, 0): a person's key is this | index.
    person_key: int


@lru_cache(maxsize=32)
def _permutation(seed: int) -> _Permutation:
    rng = _named_rng(seed, "index-permutation")
    # Four rounds with independent random round functions are a pseudo-random permutation
    # (Luby-Rackoff); table look-ups keep each round to a few bytecodes.
    t0, t1, t2, t3 = (tuple(rng.getrandbits(_HALF_BITS) for _ in range(1 << _HALF_BITS)) for _ in range(4))
    return _Permutation(
        (t0, t1, t2, t3), rng.randrange(_SLOTS_PER_DAY), _uid_hash(seed), _stream_key(seed, _STREAM_PERSON, 0)
    )


def _birth_and_slot(perm: _Permutation, index: int) -> tuple[int, int]:
    """(birth date ordinal, sequence slot 0..499) for an index; injective below MAX_PERSONS."""
    t0, t1, t2, t3 = perm.rounds
    x = index
    while True:
        left, right = x >> _HALF_BITS, x & _HALF_MASK
        left ^= t0[right]
        right ^= t1[left]
        left ^= t2[right]
        right ^= t3[left]
        x = (left << _HALF_BITS) | right
        # Cycle walking: re-encrypting until the value lands in range keeps it a bijection.
        if x < MAX_PERSONS:
            break
    band = bisect_right(_BAND_P_STARTS, x) - 1
    offset = x - _BAND_P_STARTS[band]
    days = _BAND_DAY_COUNTS[band]
    birth = _BAND_DAY_STARTS[band] + offset % days
    # Per-day shift so old cohorts (few slots per day) still show varied sequence numbers; for
    # a fixed day it is a constant, so the map stays injective.
    slot = (offset // days * _SLOT_MULTIPLIER + perm.slot_shift + birth * 7919) % _SLOTS_PER_DAY
    return birth, slot


def _check_index(index: int) -> None:
    if not 0 <= index < MAX_PERSONS:
        raise ValueError(f"person index must be in 0..{MAX_PERSONS - 1}, got {index}")


# ---------------------------------------------------------------------------
# Names, places, phones
# ---------------------------------------------------------------------------

# The 100 most common surnames with approximate national frequencies (per 10,000).
_SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 725), ("李", 719), ("张", 683), ("刘", 538), ("陈", 461), ("杨", 322), ("黄", 245),
    ("赵", 219), ("吴", 200), ("周", 195), ("徐", 170), ("孙", 152), ("马", 146), ("朱", 127),
    ("胡", 131), ("郭", 115), ("何", 110), ("高", 100), ("林", 97), ("罗", 86), ("郑", 80),
    ("梁", 75), ("谢", 67), ("宋", 63), ("唐", 62), ("许", 60), ("韩", 58), ("冯", 57), ("邓", 56),
    ("曹", 55), ("彭", 52), ("曾", 50), ("肖", 48), ("田", 47), ("董", 46), ("袁", 45), ("潘", 44),
    ("于", 43), ("蒋", 42), ("蔡", 41), ("余", 40), ("杜", 39), ("叶", 38), ("程", 37), ("苏", 36),
    ("魏", 35), ("吕", 34), ("丁", 33), ("任", 32), ("沈", 31), ("姚", 30), ("卢", 29), ("姜", 28),
    ("崔", 27), ("钟", 26), ("谭", 25), ("陆", 25), ("汪", 24), ("范", 24), ("金", 23), ("石", 23),
    ("廖", 22), ("贾", 22), ("夏", 21), ("韦", 21), ("付", 20), ("方", 20), ("白", 19), ("邹", 19),
    ("孟", 18), ("熊", 18), ("秦", 17), ("邱", 17), ("江", 16), ("尹", 16), ("薛", 15), ("闫", 15),
    ("段", 14), ("雷", 14), ("侯", 13), ("龙", 13), ("史", 13), ("陶", 12), ("黎", 12), ("贺", 12),
    ("顾", 12), ("毛", 11), ("郝", 11), ("龚", 11), ("邵", 10), ("万", 10), ("钱", 10), ("严", 10),
    ("覃", 9), ("武", 9), ("戴", 9), ("莫", 8), ("孔", 8), ("向", 8), ("汤", 8),
)  # fmt: skip
assert len(_SURNAMES) == 100 and len({s for s, _ in _SURNAMES}) == 100

_MALE_GIVEN = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳建国文志海东峰亮成晨"
    "博睿轩然泽子皓航豪宏彬毅翔振坤家天瑞思一铭嘉奕诚元立新卫"
)
_FEMALE_GIVEN = (
    "芳娜敏静丽艳娟霞秀玲燕婷红梅琳雪倩颖慧洁佳莉萍兰怡欣雨悦梓涵诗琪晶璐瑶萱妍可馨月"
    "蕾薇君春凤英华玉桂珍思一子嘉若依晓文"
)
assert len(set(_MALE_GIVEN)) == len(_MALE_GIVEN) and len(set(_FEMALE_GIVEN)) == len(_FEMALE_GIVEN)

_SINGLE_CHAR_GIVEN_NAME_P = 0.2
# 102 males per 100 females.
_MALE_P = 102 / 202
_SAME_RESIDENCE_P = 0.85

# Approximate 2020 census resident population (thousands) per county-level division. City
# totals come out close to the census ranking: 苏州 > 南京 ≈ 徐州 > 南通 ≈ 无锡 > 盐城 > ...
_COUNTY_POPULATION: dict[str, int] = {
    "320102": 537, "320104": 740, "320105": 535, "320106": 940, "320111": 1172, "320113": 988,
    "320114": 609, "320115": 1926, "320116": 946, "320117": 491, "320118": 429,
    "320205": 729, "320206": 920, "320211": 713, "320213": 1214, "320214": 734, "320281": 1780,
    "320282": 1286,
    "320302": 586, "320303": 503, "320305": 436, "320311": 616, "320312": 1275, "320321": 924,
    "320322": 1076, "320324": 1100, "320381": 956, "320382": 1459,
    "320402": 689, "320404": 613, "320411": 840, "320412": 1767, "320413": 573, "320481": 785,
    "320505": 832, "320506": 1390, "320507": 893, "320508": 923, "320509": 1545, "320581": 1678,
    "320582": 1432, "320583": 2093, "320585": 831,
    "320602": 1250, "320612": 1283, "320614": 1062, "320623": 880, "320681": 925, "320682": 1250,
    "320685": 874,
    "320703": 285, "320706": 1118, "320707": 975, "320722": 964, "320723": 798, "320724": 622,
    "320803": 871, "320804": 825, "320812": 950, "320813": 307, "320826": 850, "320830": 646,
    "320831": 303,
    "320902": 713, "320903": 703, "320904": 616, "320921": 470, "320922": 870, "320923": 850,
    "320924": 768, "320925": 644, "320981": 896,
    "321002": 640, "321003": 700, "321012": 880, "321023": 700, "321081": 523, "321084": 690,
    "321102": 440, "321111": 290, "321112": 330, "321181": 987, "321182": 340, "321183": 640,
    "321202": 794, "321203": 265, "321204": 684, "321281": 1122, "321282": 662, "321283": 983,
    "321302": 853, "321311": 643, "321322": 1595, "321323": 846, "321324": 944,
}  # fmt: skip
assert set(_COUNTY_POPULATION) == set(COUNTY_CODES)

_COUNTY_CUM: list[int] = list(accumulate(_COUNTY_POPULATION[c] for c in COUNTY_CODES))
_COUNTY_TOTAL = _COUNTY_CUM[-1]
_TOWNSHIPS: tuple[tuple[str, ...], ...] = tuple(
    tuple(f"{county}{t:03d}" for t in range(1, TOWNSHIPS_PER_COUNTY + 1)) for county in COUNTY_CODES
)
_SURNAME_CHARS = tuple(s for s, _ in _SURNAMES)
_SURNAME_CUM: list[int] = list(accumulate(w for _, w in _SURNAMES))
_SURNAME_TOTAL = _SURNAME_CUM[-1]

_PHONE_PREFIXES: tuple[str, ...] = (
    *(f"13{d}" for d in range(10)),
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    *(f"18{d}" for d in range(10)),
    "191", "193", "195", "196", "197", "198", "199",
)  # fmt: skip


def _pick_county(rng: random.Random) -> int:
    return bisect_right(_COUNTY_CUM, rng.random() * _COUNTY_TOTAL)


def _pick_township(rng: random.Random) -> str:
    return _TOWNSHIPS[_pick_county(rng)][int(rng.random() * TOWNSHIPS_PER_COUNTY)]


def _uid_hash(seed: int) -> Any:
    return hashlib.blake2b(f"{seed}:".encode(), key=_UID_KEY, digest_size=10)


def person_uid(seed: int, index: int) -> str:
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), key=_UID_KEY, digest_size=10).hexdigest()
    return "P" + digest.upper()


# ---------------------------------------------------------------------------
# ID numbers without validation (the generator's inputs are valid by construction)
# ---------------------------------------------------------------------------

# GB 11643 weights of the region (6), birth date (8) and sequence (3) digits; see validators.id_check_digit.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


def _weighted(digits: str, first: int) -> int:
    return sum(int(c) * w for c, w in zip(digits, _ID_WEIGHTS[first : first + len(digits)], strict=True))


# Per day ordinal: (the date, its YYYYMMDD digits, their weighted sum, the age on WORLD_DATE); filled on demand.
_DAYS: dict[int, tuple[date, str, int, int]] = {}
# Per 6-digit region: the weighted sum of its digits; filled on demand.
_REGION_SUMS: dict[str, int] = {}
# Per sequence number 0..999: its three digits and their weighted sum.
_SEQUENCES: tuple[tuple[str, int], ...] = tuple((f"{n:03d}", _weighted(f"{n:03d}", 14)) for n in range(1000))


def _day(ordinal: int) -> tuple[date, str, int, int]:
    """The `_DAYS` entry of a day ordinal (made on first use)."""
    entry = _DAYS.get(ordinal)
    if entry is None:
        day = date.fromordinal(ordinal)
        digits = f"{day:%Y%m%d}"
        # _weighted(digits, 6) over the ASCII codes (the weights 2, 1, 6, 3, 7, 9, 10, 5 add up to 43).
        v = digits.encode()
        total = 2 * v[0] + v[1] + 6 * v[2] + 3 * v[3] + 7 * v[4] + 9 * v[5] + 10 * v[6] + 5 * v[7] - 43 * 48
        entry = _DAYS[ordinal] = (day, digits, total, age_on(day))
    return entry


def _region_sum(region6: str) -> int:
    total = _REGION_SUMS.get(region6)
    if total is None:
        total = _REGION_SUMS[region6] = _weighted(region6, 0)
    return total


def _resident_id(region6: str, ordinal: int, sequence: int) -> str:
    """`make_resident_id(region6, date.fromordinal(ordinal), sequence)` without its checks, for arguments known
    to be valid (6 digits of a real province, a date from 1900 on with a 4-digit year, 0 <= sequence <= 999)."""
    _, digits, date_sum, _ = _DAYS.get(ordinal) or _day(ordinal)
    sequence_digits, sequence_sum = _SEQUENCES[sequence]
    total = (_REGION_SUMS.get(region6) or _region_sum(region6)) + date_sum + sequence_sum
    return f"{region6}{digits}{sequence_digits}{_ID_CHECK_CHARS[total % 11]}"


_GIVEN_POOLS = ((_FEMALE_GIVEN, len(_FEMALE_GIVEN)), (_MALE_GIVEN, len(_MALE_GIVEN)))
_PHONE_PREFIX_COUNT = len(_PHONE_PREFIXES)


def _make_person(seed: int, perm: _Permutation, index: int) -> PersonRecord:
    # The draws, in order: sex, surname, given name (one or two characters), household township, same
    # residence (else the residence township), phone. _is_female() replays the first.
    birth_ordinal, slot = _birth_and_slot(perm, index)
    birth, birth_digits, birth_sum, _ = _DAYS.get(birth_ordinal) or _day(birth_ordinal)
    rng = _stream_rng(perm.person_key | index)  # _stream_key(seed, _STREAM_PERSON, index)
    draw = rng.random
    male = draw() < _MALE_P
    pool, pool_size = _GIVEN_POOLS[male]
    surname = _SURNAME_CHARS[bisect_right(_SURNAME_CUM, draw() * _SURNAME_TOTAL)]
    given = pool[int(draw() * pool_size)]
    if draw() >= _SINGLE_CHAR_GIVEN_NAME_P:
        given += pool[int(draw() * pool_size)]
    household = _TOWNSHIPS[bisect_right(_COUNTY_CUM, draw() * _COUNTY_TOTAL)][int(draw() * TOWNSHIPS_PER_COUNTY)]
    if draw() < _SAME_RESIDENCE_P:
        residence = household
    else:
        residence = _TOWNSHIPS[bisect_right(_COUNTY_CUM, draw() * _COUNTY_TOTAL)][int(draw() * TOWNSHIPS_PER_COUNTY)]
    phone = f"{_PHONE_PREFIXES[int(draw() * _PHONE_PREFIX_COUNT)]}{rng.getrandbits(32) % 100_000_000:08d}"
    # make_resident_id(household[:6], birth, sequence), whose checks cannot fail here.
    region6 = household[:6]
    sequence_digits, sequence_sum = _SEQUENCES[2 * slot + male]
    check = _ID_CHECK_CHARS[((_REGION_SUMS.get(region6) or _region_sum(region6)) + birth_sum + sequence_sum) % 11]
    uid_hash = perm.uid_hash.copy()
    uid_hash.update(b"%d" % index)
    return _new_person_record(
        index,
        "P" + uid_hash.hexdigest().upper(),  # person_uid(seed, index)
        surname + given,
        "MALE" if male else "FEMALE",
        birth,
        f"{region6}{birth_digits}{sequence_digits}{check}",
        household,
        residence,
        residence,
        phone,
    )


def person(seed: int, index: int) -> PersonRecord:
    """Person number `index` (0 <= index < MAX_PERSONS) of the world `seed`."""
    _check_index(index)
    return _make_person(seed, _permutation(seed), index)


def persons(seed: int, count: int, *, progress: bool = False) -> Iterator[PersonRecord]:
    """Persons 0..count-1 in index order; identical to calling `person(seed, i)` for each i."""
    if not 0 <= count <= MAX_PERSONS:
        raise ValueError(f"count must be in 0..{MAX_PERSONS}, got {count}")
    perm = _permutation(seed)
    for index in tqdm(range(count), desc="persons", unit="person", file=sys.stderr, disable=not progress):
        yield _make_person(seed, perm, index)


# ---------------------------------------------------------------------------
# Derived person sets
# ---------------------------------------------------------------------------


def _age(perm: _Permutation, index: int) -> int:
    # Avoids building the whole person when only the age matters.
    return _day(_birth_and_slot(perm, index)[0])[3]


def _is_female(seed: int, index: int) -> bool:
    return _stream_rng(_stream_key(seed, _STREAM_PERSON, index)).random() >= _MALE_P


def _check_count(person_count: int) -> None:
    if not 0 <= person_count <= MAX_PERSONS:
        raise ValueError(f"person_count must be in 0..{MAX_PERSONS}, got {person_count}")


# Nursing is overwhelmingly female; these give ~2 % of all 20-60 year olds overall.
_LICENCE_P_FEMALE = 0.038
_LICENCE_P_MALE = 0.002
_APPLICANT_P = 0.10


def licence_holders(seed: int, person_count: int) -> list[int]:
    """Indexes (ascending) of persons holding a nurse practising certificate: ~2 % of those aged 20-60."""
    _check_count(person_count)
    perm = _permutation(seed)
    out: list[int] = []
    for index in range(person_count):
        if not 20 <= _age(perm, index) <= 60:
            continue
        p = _LICENCE_P_FEMALE if _is_female(seed, index) else _LICENCE_P_MALE
        if _stream_rng(_stream_key(seed, _STREAM_LICENCE, index)).random() < p:
            out.append(index)
    return out


def applicants(seed: int, person_count: int) -> list[int]:
    """Indexes (ascending) of persons who have applied for something: ~10 % of those aged 18+."""
    _check_count(person_count)
    perm = _permutation(seed)
    return [
        index
        for index in range(person_count)
        if _age(perm, index) >= 18 and _stream_rng(_stream_key(seed, _STREAM_APPLICANT, index)).random() < _APPLICANT_P
    ]


# ---------------------------------------------------------------------------
# Organisations
# ---------------------------------------------------------------------------

# Four plausible municipal hospitals per city, flagship first; a city gets the first 2-4.
_CITY_HOSPITALS: dict[str, tuple[str, ...]] = {
    "320100": ("南京市第一医院", "南京市中医院", "南京市妇幼保健院", "南京市儿童医院"),
    "320200": ("无锡市人民医院", "无锡市中医医院", "无锡市妇幼保健院", "无锡市第二人民医院"),
    "320300": ("徐州市中心医院", "徐州市中医院", "徐州市妇幼保健院", "徐州市第一人民医院"),
    "320400": ("常州市第一人民医院", "常州市中医医院", "常州市妇幼保健院", "常州市第二人民医院"),
    "320500": ("苏州市立医院", "苏州市中医医院", "苏州市妇幼保健院", "苏州市第五人民医院"),
    "320600": ("南通市第一人民医院", "南通市中医院", "南通市妇幼保健院", "南通市第三人民医院"),
    "320700": ("连云港市第一人民医院", "连云港市中医院", "连云港市妇幼保健院", "连云港市第二人民医院"),
    "320800": ("淮安市第一人民医院", "淮安市中医院", "淮安市妇幼保健院", "淮安市第二人民医院"),
    "320900": ("盐城市第一人民医院", "盐城市中医院", "盐城市妇幼保健院", "盐城市第三人民医院"),
    "321000": ("苏北人民医院", "扬州市中医院", "扬州市妇幼保健院", "扬州市第一人民医院"),
    "321100": ("镇江市第一人民医院", "镇江市中医院", "镇江市妇幼保健院", "镇江市第四人民医院"),
    "321200": ("泰州市人民医院", "泰州市中医院", "泰州市妇幼保健院", "泰州市第四人民医院"),
    "321300": ("宿迁市第一人民医院", "宿迁市中医院", "宿迁市妇幼保健院", "宿迁市钟吾医院"),
}
assert set(_CITY_HOSPITALS) == set(CITY_CODES)

_CLINIC_BRANDS = (
    "康宁", "仁和", "济民", "博爱", "惠民", "同德", "益康", "安康",
    "德仁", "泰和", "润生", "百草", "回春", "健民", "嘉禾", "华康",
)  # fmt: skip
_CLINIC_SUFFIXES = ("诊所", "口腔诊所", "中医诊所", "综合门诊部")

# GB 32100 registration department and registrant kind per organisation kind: public bodies are
# registered with the establishment office (1) as organs (1) or public institutions (2);
# private clinics with market regulation (9) as enterprises (1).
_USCC_PREFIX: dict[OrganizationKind, tuple[str, str]] = {
    "HEALTH_COMMISSION": ("1", "1"),
    "HOSPITAL": ("1", "2"),
    "COMMUNITY_HEALTH_CENTER": ("1", "2"),
    "TOWNSHIP_HEALTH_CENTER": ("1", "2"),
    "CLINIC": ("9", "1"),
}
# Credit-code characters minus I/O/S/V/Z, as used in post-2015 "MA..." organisation codes.
_ORG_CODE_ALNUM = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _org_code8(rng: random.Random, kind: OrganizationKind, taken: set[str]) -> str:
    while True:
        if kind == "CLINIC":
            # Businesses registered after the 2015 reform got organisation codes starting "MA".
            code = "MA" + "".join(rng.choice(_ORG_CODE_ALNUM) for _ in range(6))
        else:
            # Organs and public institutions carry all-digit legacy codes.
            code = f"{rng.randrange(10**8):08d}"
        if code not in taken:
            taken.add(code)
            return code


def _display_names(regions: Sequence[RegionRecord]) -> dict[str, str]:
    """Region names as used inside organisation names, city-prefixed where a name is ambiguous.

    (Nanjing and Xuzhou both have a 鼓楼区; real institutions there say 南京市鼓楼区... .)
    """
    names = region_names()
    seen: dict[str, int] = {}
    for code in COUNTY_CODES:
        seen[names[code]] = seen.get(names[code], 0) + 1
    out: dict[str, str] = {}
    for region in regions:
        county = region.code[:6]
        if region.level in ("COUNTY", "TOWNSHIP") and seen[names[county]] > 1:
            out[region.code] = names[city_code_of(county)] + region.name
        else:
            out[region.code] = region.name
    return out


def organizations(seed: int) -> list[OrganizationRecord]:
    """All organisations in tree order (administration before the units it supervises).

    Ids are `org-<region code>-<suffix>`: hc (health administration), h<n> (hospital), c<n>
    (clinic, under its county's code), chc/thc (community/township health centre). `level` is
    always the level of `region_code`.
    """
    rng = _named_rng(seed, "organizations")
    regions = world_regions()
    display = _display_names(regions)
    taken: set[str] = set()
    out: list[OrganizationRecord] = []

    def add(org_id: str, name: str, kind: OrganizationKind, region: RegionRecord, parent_id: str | None) -> None:
        department, registrant = _USCC_PREFIX[kind]
        credit_code = make_uscc(department, registrant, region.code[:6], _org_code8(rng, kind, taken))
        out.append(OrganizationRecord(org_id, name, kind, region.code, credit_code, parent_id, region.level))

    townships_of: dict[str, list[RegionRecord]] = {}
    for region in regions:
        if region.level == "TOWNSHIP":
            townships_of.setdefault(region.code[:6], []).append(region)

    province_hc = f"org-{PROVINCE_CODE}-hc"
    city_hc = ""
    for region in regions:
        code = region.code
        if region.level == "PROVINCE":
            add(province_hc, "江苏省卫生健康委员会", "HEALTH_COMMISSION", region, None)
        elif region.level == "CITY":
            city_hc = f"org-{code}-hc"
            add(city_hc, f"{region.name}卫生健康委员会", "HEALTH_COMMISSION", region, province_hc)
            for n, name in enumerate(_CITY_HOSPITALS[code][: rng.randint(2, 4)], start=1):
                add(f"org-{code}-h{n}", name, "HOSPITAL", region, city_hc)
        elif region.level == "COUNTY":
            county_hc = f"org-{code}-hc"
            name = display[code]
            add(county_hc, f"{name}卫生健康局", "HEALTH_COMMISSION", region, city_hc)
            add(f"org-{code}-h1", f"{name}人民医院", "HOSPITAL", region, county_hc)
            add(f"org-{code}-h2", f"{name}中医院", "HOSPITAL", region, county_hc)
            townships = townships_of.get(code, [])
            for township in townships:
                if "测试街道" in township.name:
                    kind: OrganizationKind = "COMMUNITY_HEALTH_CENTER"
                    org_id, unit = f"org-{township.code}-chc", "社区卫生服务中心"
                else:
                    kind, org_id, unit = "TOWNSHIP_HEALTH_CENTER", f"org-{township.code}-thc", "卫生院"
                add(org_id, display[township.code] + unit, kind, township, county_hc)
            if townships:
                brands = rng.sample(_CLINIC_BRANDS, rng.randint(2, 4))
                for n, brand in enumerate(brands, start=1):
                    location = rng.choice(townships)
                    clinic = f"{name}{brand}{rng.choice(_CLINIC_SUFFIXES)}"
                    add(f"org-{code}-c{n}", clinic, "CLINIC", location, county_hc)
    return out


# ---------------------------------------------------------------------------
# Staff accounts
# ---------------------------------------------------------------------------

_CITY_ABBREVIATIONS: dict[str, str] = {
    "320100": "nj", "320200": "wx", "320300": "xz", "320400": "cz", "320500": "sz",
    "320600": "nt", "320700": "lyg", "320800": "ha", "320900": "yc", "321000": "yz",
    "321100": "zj", "321200": "tz", "321300": "sq",
}  # fmt: skip
assert set(_CITY_ABBREVIATIONS) == set(CITY_CODES)


def _username_prefix(code: str) -> str:
    # js / nj / nj02 (county 320102) / nj02t1 (township 320102001): short, unique, readable.
    if code == PROVINCE_CODE:
        return "js"
    city = _CITY_ABBREVIATIONS[city_code_of(code)]
    if code.endswith("00") and len(code) == 6:
        return city
    county = city + code[4:6]
    return county if len(code) == 6 else f"{county}t{int(code[6:])}"


_NORMAL_P = 0.97
_FROZEN_P = 0.02
_STAFF_MIN_AGE, _STAFF_MAX_AGE = 22, 60
# Rejection-sampling budget per account before settling for any unused person (tiny worlds).
_STAFF_DRAWS = 64


def users(seed: int, person_count: int) -> list[UserRecord]:
    """1-3 staff accounts per organisation, each linked to a distinct person (aged 22-60 when possible).

    Raises ValueError when `person_count` is smaller than the number of accounts.
    """
    _check_count(person_count)
    rng = _named_rng(seed, "users")
    perm = _permutation(seed)
    orgs = organizations(seed)
    plan = [(org, rng.randint(1, 3)) for org in orgs]
    needed = sum(n for _, n in plan)
    if person_count < needed:
        raise ValueError(f"the world's {needed} staff accounts need at least {needed} persons")

    used: set[int] = set()

    def pick_person() -> int:
        for _ in range(_STAFF_DRAWS):
            index = rng.randrange(person_count)
            if index not in used and _STAFF_MIN_AGE <= _age(perm, index) <= _STAFF_MAX_AGE:
                used.add(index)
                return index
        index = rng.randrange(person_count)
        while index in used:
            index = (index + 1) % person_count
        used.add(index)
        return index

    out: list[UserRecord] = []
    for org, n in plan:
        _, code, suffix = org.id.split("-", 2)
        for k in range(1, n + 1):
            username = f"{_username_prefix(code)}_{suffix}_{k:02d}"
            index = pick_person()
            r = rng.random()
            status: UserStatus = "NORMAL" if r < _NORMAL_P else "FROZEN" if r < _NORMAL_P + _FROZEN_P else "CANCELLED"
            display_name = _make_person(seed, perm, index).name
            out.append(UserRecord(f"usr-{username}", username, display_name, org.id, status, index))
    return out
