"""The code sets of the population domain, as GraphQL enums (English values, the tender's Chinese labels in
the descriptions). The database stores the enum values."""

from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry


@strawberry.enum(description="性别 (GB/T 2261.1: 1 男, 2 女).")
class Sex(Enum):
    MALE = "MALE"
    FEMALE = "FEMALE"


@strawberry.enum(description="个案状态: 正常 / 注销 / 死亡.")
class PersonStatus(Enum):
    NORMAL = "NORMAL"
    CANCELLED = "CANCELLED"
    DEAD = "DEAD"


@strawberry.enum(description="统一身份识别码的类别 (§1.3): 居民 / 新生儿 / 军人 / 港澳台居民 / 其他.")
class IdentityKind(Enum):
    RESIDENT = "RESIDENT"
    NEWBORN = "NEWBORN"
    MILITARY = "MILITARY"
    HK_MACAU_TAIWAN = "HK_MACAU_TAIWAN"
    OTHER = "OTHER"


@strawberry.enum(description="人员类型: 户籍人口 / 跨省流入人口 / 外籍、港澳台及国籍户籍不明人口.")
class PersonType(Enum):
    HOUSEHOLD_REGISTERED = "HOUSEHOLD_REGISTERED"
    INTER_PROVINCE_INFLOW = "INTER_PROVINCE_INFLOW"
    FOREIGN_HMT_UNKNOWN = "FOREIGN_HMT_UNKNOWN"


@strawberry.enum(description="流动状态: 常住人口 / 流动人口.")
class Mobility(Enum):
    RESIDENT = "RESIDENT"
    MOBILE = "MOBILE"


@strawberry.enum(description="婚姻状况 (derived from the marriage history): 未婚 / 已婚 / 离异 / 丧偶.")
class MaritalStatus(Enum):
    UNMARRIED = "UNMARRIED"
    MARRIED = "MARRIED"
    DIVORCED = "DIVORCED"
    WIDOWED = "WIDOWED"


@strawberry.enum(description="户口性质: 农业 / 非农业 / 居民户口 (统一登记).")
class HukouType(Enum):
    AGRICULTURAL = "AGRICULTURAL"
    NON_AGRICULTURAL = "NON_AGRICULTURAL"
    RESIDENT = "RESIDENT"


@strawberry.enum(description="文化程度 (GB/T 4658 groups).")
class Education(Enum):
    NONE = "NONE"
    PRIMARY = "PRIMARY"
    JUNIOR_SECONDARY = "JUNIOR_SECONDARY"
    SENIOR_SECONDARY = "SENIOR_SECONDARY"
    VOCATIONAL = "VOCATIONAL"
    JUNIOR_COLLEGE = "JUNIOR_COLLEGE"
    BACHELOR = "BACHELOR"
    POSTGRADUATE = "POSTGRADUATE"


@strawberry.enum(description="年龄段 of the population module (§4.1), completed years. The tender's 4-15岁 and "
                             "15-59岁 overlap at 15; 4-15 counts ages 4 to 14 here so that the bands add up to "
                             "the total. 65+ is a separate, overlapping band for the elderly board.")
class AgeBand(Enum):
    AGE_0_3 = "AGE_0_3"
    AGE_4_15 = "AGE_4_15"
    AGE_15_59 = "AGE_15_59"
    AGE_60_79 = "AGE_60_79"
    AGE_80_PLUS = "AGE_80_PLUS"
    AGE_65_PLUS = "AGE_65_PLUS"


# Inclusive completed-years bounds of each band (None: no upper bound).
AGE_BAND_BOUNDS: dict[AgeBand, tuple[int, int | None]] = {
    AgeBand.AGE_0_3: (0, 3),
    AgeBand.AGE_4_15: (4, 14),
    AgeBand.AGE_15_59: (15, 59),
    AgeBand.AGE_60_79: (60, 79),
    AgeBand.AGE_80_PLUS: (80, None),
    AgeBand.AGE_65_PLUS: (65, None),
}
AGE_BAND_LABELS: dict[AgeBand, str] = {
    AgeBand.AGE_0_3: "0-3岁", AgeBand.AGE_4_15: "4-15岁", AgeBand.AGE_15_59: "15-59岁",
    AgeBand.AGE_60_79: "60-79岁", AgeBand.AGE_80_PLUS: "80岁以上", AgeBand.AGE_65_PLUS: "65岁以上",
}


def birth_date_range(band: AgeBand | tuple[int, int | None], on: date) -> tuple[date | None, date]:
    """(earliest birth date or None, latest birth date) of the persons whose completed age on `on` lies in
    the band: a birth-date range, so an index on birth dates serves an age filter."""
    low, high = AGE_BAND_BOUNDS[band] if isinstance(band, AgeBand) else band
    latest = _years_before(on, low)
    earliest = None if high is None else _day_after(_years_before(on, high + 1))
    return earliest, latest


def _years_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # `on` is 29 February and that year has none: persons born up to 28 February count
        return date(on.year - years, 2, 28)


def _day_after(day: date) -> date:
    return date.fromordinal(day.toordinal() + 1)


@strawberry.enum(description="与户主关系 (relation to the head of the household): 户主 / 配偶 / 子女 / 父母 / 孙子女 / "
                             "兄弟姐妹 / 其他. A household has one HEAD.")
class RelationToHead(Enum):
    HEAD = "HEAD"
    SPOUSE = "SPOUSE"
    CHILD = "CHILD"
    PARENT = "PARENT"
    GRANDCHILD = "GRANDCHILD"
    SIBLING = "SIBLING"
    OTHER = "OTHER"


# 民族 (GB/T 3304-1991): the 56 ethnic groups by code, plus the standard's 97 (unidentified) and 98
# (Chinese citizens of foreign origin). The database stores the two-digit code.
ETHNICITIES: dict[str, str] = {
    "01": "汉族", "02": "蒙古族", "03": "回族", "04": "藏族", "05": "维吾尔族", "06": "苗族", "07": "彝族",
    "08": "壮族", "09": "布依族", "10": "朝鲜族", "11": "满族", "12": "侗族", "13": "瑶族", "14": "白族",
    "15": "土家族", "16": "哈尼族", "17": "哈萨克族", "18": "傣族", "19": "黎族", "20": "傈僳族", "21": "佤族",
    "22": "畲族", "23": "高山族", "24": "拉祜族", "25": "水族", "26": "东乡族", "27": "纳西族", "28": "景颇族",
    "29": "柯尔克孜族", "30": "土族", "31": "达斡尔族", "32": "仫佬族", "33": "羌族", "34": "布朗族",
    "35": "撒拉族", "36": "毛南族", "37": "仡佬族", "38": "锡伯族", "39": "阿昌族", "40": "普米族",
    "41": "塔吉克族", "42": "怒族", "43": "乌孜别克族", "44": "俄罗斯族", "45": "鄂温克族", "46": "德昂族",
    "47": "保安族", "48": "裕固族", "49": "京族", "50": "塔塔尔族", "51": "独龙族", "52": "鄂伦春族",
    "53": "赫哲族", "54": "门巴族", "55": "珞巴族", "56": "基诺族",
    "97": "其他未识别民族", "98": "外国血统中国籍人士",
}
