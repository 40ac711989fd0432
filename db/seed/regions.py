"""The Jiangsu administrative-division tree (GB/T 2260) that the synthetic world lives in.

Province, city and county codes and names are the real ones (the 95 county-level divisions as
of the 2020 adjustments: 海门 and 大丰 are districts, 海安 is a county-level city). Townships are
synthetic: every name carries 测试 so that seeded data can never be mistaken for a real
street office or town, and codes are the county code plus 001..00N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CITY_CODES",
    "COUNTY_CODES",
    "PROVINCE_CODE",
    "PROVINCE_NAME",
    "RegionLevel",
    "RegionRecord",
    "city_code_of",
    "county_code_of",
    "jiangsu_regions",
    "region_names",
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
