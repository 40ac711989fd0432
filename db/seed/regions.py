"""The Jiangsu administrative-division tree (GB/T 2260) that the synthetic world lives in.

Province, city and county codes and names are the real ones (the 95 county-level divisions as
of the 2020 adjustments: 海门 and 大丰 are districts, 海安 is a county-level city). Townships are
synthetic: every name carries 测试 so that seeded data can never be mistaken for a real
street office or town, and codes are the county code plus 001..00N.

population's region tree (`population_regions`) goes two levels further down and back in time:
synthetic villages (12 digits: township + 001..) and groups (15 digits: village + 001..; the tender
gives no group format, this one is invented), and a few real county codes that no longer exist, with
the dates they stopped being current, so that region changes can be replayed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

__all__ = [
    "CITY_CODES",
    "COUNTY_CODES",
    "CURRENT_CODES_VALID_FROM",
    "HISTORIC_COUNTIES",
    "PROVINCE_CODE",
    "PROVINCE_NAME",
    "HistoricRegion",
    "PopulationRegionLevel",
    "RegionLevel",
    "RegionRecord",
    "VersionedRegionRecord",
    "city_code_of",
    "county_code_of",
    "group_codes",
    "jiangsu_regions",
    "population_regions",
    "region_names",
    "village_codes",
]

RegionLevel = Literal["PROVINCE", "CITY", "COUNTY", "TOWNSHIP"]

PROVINCE_CODE = "320000"
PROVINCE_NAME = "江苏省"

_CITIES: tuple[tuple[str, str], ...] = (
    ("320100", "南京市"),
    ("320200", "无锡市"),
    ("320300", "徐州市"),
    ("320400", "常州市"),
    ("320500", "苏州市"),
    ("320600", "南通市"),
    ("320700", "连云港市"),
    ("320800", "淮安市"),
    ("320900", "盐城市"),
    ("321000", "扬州市"),
    ("321100", "镇江市"),
    ("321200", "泰州市"),
    ("321300", "宿迁市"),
)

_COUNTIES: tuple[tuple[str, str], ...] = (
    # 南京市
    ("320102", "玄武区"),
    ("320104", "秦淮区"),
    ("320105", "建邺区"),
    ("320106", "鼓楼区"),
    ("320111", "浦口区"),
    ("320113", "栖霞区"),
    ("320114", "雨花台区"),
    ("320115", "江宁区"),
    ("320116", "六合区"),
    ("320117", "溧水区"),
    ("320118", "高淳区"),
    # 无锡市
    ("320205", "锡山区"),
    ("320206", "惠山区"),
    ("320211", "滨湖区"),
    ("320213", "梁溪区"),
    ("320214", "新吴区"),
    ("320281", "江阴市"),
    ("320282", "宜兴市"),
    # 徐州市
    ("320302", "鼓楼区"),
    ("320303", "云龙区"),
    ("320305", "贾汪区"),
    ("320311", "泉山区"),
    ("320312", "铜山区"),
    ("320321", "丰县"),
    ("320322", "沛县"),
    ("320324", "睢宁县"),
    ("320381", "新沂市"),
    ("320382", "邳州市"),
    # 常州市
    ("320402", "天宁区"),
    ("320404", "钟楼区"),
    ("320411", "新北区"),
    ("320412", "武进区"),
    ("320413", "金坛区"),
    ("320481", "溧阳市"),
    # 苏州市
    ("320505", "虎丘区"),
    ("320506", "吴中区"),
    ("320507", "相城区"),
    ("320508", "姑苏区"),
    ("320509", "吴江区"),
    ("320581", "常熟市"),
    ("320582", "张家港市"),
    ("320583", "昆山市"),
    ("320585", "太仓市"),
    # 南通市
    ("320602", "崇川区"),
    ("320612", "通州区"),
    ("320614", "海门区"),
    ("320623", "如东县"),
    ("320681", "启东市"),
    ("320682", "如皋市"),
    ("320685", "海安市"),
    # 连云港市
    ("320703", "连云区"),
    ("320706", "海州区"),
    ("320707", "赣榆区"),
    ("320722", "东海县"),
    ("320723", "灌云县"),
    ("320724", "灌南县"),
    # 淮安市
    ("320803", "淮安区"),
    ("320804", "淮阴区"),
    ("320812", "清江浦区"),
    ("320813", "洪泽区"),
    ("320826", "涟水县"),
    ("320830", "盱眙县"),
    ("320831", "金湖县"),
    # 盐城市
    ("320902", "亭湖区"),
    ("320903", "盐都区"),
    ("320904", "大丰区"),
    ("320921", "响水县"),
    ("320922", "滨海县"),
    ("320923", "阜宁县"),
    ("320924", "射阳县"),
    ("320925", "建湖县"),
    ("320981", "东台市"),
    # 扬州市
    ("321002", "广陵区"),
    ("321003", "邗江区"),
    ("321012", "江都区"),
    ("321023", "宝应县"),
    ("321081", "仪征市"),
    ("321084", "高邮市"),
    # 镇江市
    ("321102", "京口区"),
    ("321111", "润州区"),
    ("321112", "丹徒区"),
    ("321181", "丹阳市"),
    ("321182", "扬中市"),
    ("321183", "句容市"),
    # 泰州市
    ("321202", "海陵区"),
    ("321203", "高港区"),
    ("321204", "姜堰区"),
    ("321281", "兴化市"),
    ("321282", "靖江市"),
    ("321283", "泰兴市"),
    # 宿迁市
    ("321302", "宿城区"),
    ("321311", "宿豫区"),
    ("321322", "沭阳县"),
    ("321323", "泗阳县"),
    ("321324", "泗洪县"),
)

CITY_CODES: tuple[str, ...] = tuple(code for code, _ in _CITIES)
COUNTY_CODES: tuple[str, ...] = tuple(code for code, _ in _COUNTIES)

# Cheap enough to run on every import, and a typo in the tables above would otherwise only
# surface as odd-looking seed data much later.
assert len(CITY_CODES) == 13 and len(set(CITY_CODES)) == 13, "Jiangsu has 13 prefecture-level cities"
assert len(COUNTY_CODES) == 95 and len(set(COUNTY_CODES)) == 95, "Jiangsu has 95 county-level divisions"
assert all(code[:4] + "00" in CITY_CODES for code in COUNTY_CODES), "every county must sit under a city"


@dataclass(frozen=True)
class RegionRecord:
    code: str
    name: str
    full_name: str
    level: RegionLevel
    parent_code: str | None


def city_code_of(code: str) -> str:
    """The 6-digit city code a city, county or township code belongs to."""
    return code[:4] + "00"


def county_code_of(code: str) -> str:
    """The 6-digit county code of a county or (9-digit) township code."""
    return code[:6]


def _township_name(county_name: str, ordinal: int) -> str:
    # Districts are subdivided into street offices (街道), counties and county-level cities
    # mostly into towns (镇); mirroring that keeps the synthetic names plausible.
    kind = "街道" if county_name.endswith("区") else "镇"
    return f"{county_name}测试{kind}{ordinal:02d}"


def jiangsu_regions(townships_per_county: int = 4) -> list[RegionRecord]:
    """Every region, parents before children (province, then each city followed by its subtree)."""
    if not 0 <= townships_per_county <= 999:
        raise ValueError("townships_per_county must be in 0..999 (three code digits)")
    province = RegionRecord(PROVINCE_CODE, PROVINCE_NAME, PROVINCE_NAME, "PROVINCE", None)
    out: list[RegionRecord] = [province]
    for city_code, city_name in _CITIES:
        city = RegionRecord(city_code, city_name, province.full_name + city_name, "CITY", PROVINCE_CODE)
        out.append(city)
        for county_code, county_name in _COUNTIES:
            if city_code_of(county_code) != city_code:
                continue
            county = RegionRecord(county_code, county_name, city.full_name + county_name, "COUNTY", city_code)
            out.append(county)
            for ordinal in range(1, townships_per_county + 1):
                name = _township_name(county_name, ordinal)
                out.append(
                    RegionRecord(
                        f"{county_code}{ordinal:03d}", name, county.full_name + name, "TOWNSHIP", county_code
                    )
                )
    return out


def region_names() -> dict[str, str]:
    """Code -> name for the province, cities and counties (townships are derived, not listed)."""
    names = {PROVINCE_CODE: PROVINCE_NAME}
    names.update(_CITIES)
    names.update(_COUNTIES)
    return names


# ---------------------------------------------------------------------------
# population's tree: villages, groups and historic codes, with validity dates
# ---------------------------------------------------------------------------

PopulationRegionLevel = Literal["PROVINCE", "CITY", "COUNTY", "TOWNSHIP", "VILLAGE", "GROUP"]

# When the seeded tree's current codes are taken to be valid from (the real codes are older; a region
# change replayed on the seed starts from this version of the tree).
CURRENT_CODES_VALID_FROM = date(2021, 1, 1)

# 3-6 villages per township and 3-6 groups per village: about 1,700 villages and 7,700 groups at
# 4 townships per county, so the whole region table stays near 10,000 rows.
_MIN_VILLAGES, _MAX_VILLAGES = 3, 6
_MIN_GROUPS, _MAX_GROUPS = 3, 6


@dataclass(frozen=True)
class VersionedRegionRecord:
    """A region of population's tree; valid on days d with valid_from <= d < valid_to (None: still current)."""

    code: str
    name: str
    full_name: str
    level: PopulationRegionLevel
    parent_code: str | None
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True)
class HistoricRegion:
    """A county-level code that has been abolished; `successor_code` took over its area on `valid_to`."""

    code: str
    name: str
    parent_code: str
    valid_from: date
    valid_to: date
    successor_code: str


# The changes the domain report (§7.4, §2.3) names for region-change tests. valid_to is the day the
# change was announced by the province (吴江: the city's announcement of the State Council approval);
# valid_from is approximate (the year the code was created), as nothing in the seed predates it.
HISTORIC_COUNTIES: tuple[HistoricRegion, ...] = (
    # 苏政发〔2020〕60号 (3 July 2020): 崇川区 and 港闸区 merged into a new 崇川区 that kept 320602.
    HistoricRegion("320611", "港闸区", "320600", date(1991, 1, 1), date(2020, 7, 3), "320602"),
    # Same notice: county-level 海门市 became the district 海门区 (320614).
    HistoricRegion("320684", "海门市", "320600", date(1994, 1, 1), date(2020, 7, 3), "320614"),
    # 民函〔2018〕49号, announced by the province on 14 May 2018: 海安县 became county-level 海安市 (320685).
    HistoricRegion("320621", "海安县", "320600", date(1983, 3, 1), date(2018, 5, 14), "320685"),
    # Announced 1 September 2012: county-level 吴江市 became the district 吴江区 (320509).
    HistoricRegion("320584", "吴江市", "320500", date(1992, 2, 1), date(2012, 9, 1), "320509"),
)
# A successor's current version starts the day its predecessor ended (the merged 崇川区 keeps its old code
# but is a new version of the region).
_SUCCESSOR_VALID_FROM: dict[str, date] = {h.successor_code: h.valid_to for h in HISTORIC_COUNTIES}
assert all(h.code not in COUNTY_CODES and h.successor_code in COUNTY_CODES for h in HISTORIC_COUNTIES)


def _code_draw(code: str, low: int, high: int) -> int:
    # A fixed function of the code (not of any seed): every seed shares one region tree, as with townships.
    digest = hashlib.blake2b(code.encode(), digest_size=4).digest()
    return low + int.from_bytes(digest, "big") % (high - low + 1)


def village_codes(township_code: str) -> tuple[str, ...]:
    """The 12-digit villages of a 9-digit township: township + 001..00N, 3 <= N <= 6."""
    return tuple(f"{township_code}{v:03d}" for v in range(1, _code_draw(township_code, _MIN_VILLAGES,
                                                                          _MAX_VILLAGES) + 1))


def group_codes(village_code: str) -> tuple[str, ...]:
    """The 15-digit groups (组) of a 12-digit village: village + 001..00N, 3 <= N <= 6."""
    return tuple(f"{village_code}{g:03d}" for g in range(1, _code_draw(village_code, _MIN_GROUPS, _MAX_GROUPS) + 1))


def _village_name(township_name: str, ordinal: int) -> str:
    # Street offices are divided into communities (社区), towns into villages (村).
    return f"测试社区{ordinal:02d}" if "街道" in township_name else f"测试村{ordinal:02d}"


@lru_cache(maxsize=4)
def population_regions(townships_per_county: int = 4) -> tuple[VersionedRegionRecord, ...]:
    """population's region tree, parents before children: `jiangsu_regions` with each township's villages
    and groups beneath it, then the historic county codes (valid_to set), each under its city."""
    out: list[VersionedRegionRecord] = []
    for region in jiangsu_regions(townships_per_county):
        valid_from = _SUCCESSOR_VALID_FROM.get(region.code, CURRENT_CODES_VALID_FROM)
        out.append(VersionedRegionRecord(region.code, region.name, region.full_name, region.level,
                                         region.parent_code, valid_from, None))
        if region.level != "TOWNSHIP":
            continue
        for ordinal, village in enumerate(village_codes(region.code), start=1):
            village_name = _village_name(region.name, ordinal)
            village_full = region.full_name + village_name
            out.append(VersionedRegionRecord(village, village_name, village_full, "VILLAGE", region.code,
                                             CURRENT_CODES_VALID_FROM, None))
            for group_ordinal, group in enumerate(group_codes(village), start=1):
                group_name = f"测试{group_ordinal:02d}组"
                out.append(VersionedRegionRecord(group, group_name, village_full + group_name, "GROUP", village,
                                                 CURRENT_CODES_VALID_FROM, None))
    names = region_names()
    for historic in HISTORIC_COUNTIES:
        full_name = PROVINCE_NAME + names[historic.parent_code] + historic.name
        out.append(VersionedRegionRecord(historic.code, historic.name, full_name, "COUNTY", historic.parent_code,
                                         historic.valid_from, historic.valid_to))
    return tuple(out)
