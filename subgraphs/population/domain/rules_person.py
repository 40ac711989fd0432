"""The per-person data-quality rules: each looks at one person row and the records around it (PersonContext)
and returns the readable detail of what is wrong, or None. They run inside every person write, so they are
pure functions of what was loaded: no queries here.

Details never carry a full ID number (masked with mask_id_number), and quote offending characters as code
points rather than raw.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date
from functools import lru_cache

from sqlalchemy import String

from subgraphs.common.masking import mask_id_number
from subgraphs.common.validators import InvalidIdNumber, ResidentId, parse_resident_id
from subgraphs.population import models
from subgraphs.population.codes import (
    Education,
    HukouType,
    IdentityKind,
    MaritalStatus,
    Mobility,
    PersonStatus,
    PersonType,
    Sex,
)
from subgraphs.population.domain.marital import derive_marital_status
from subgraphs.population.domain.rules_core import Category, Dimension, PersonContext, PersonRule

EARLIEST_DATE = date(1900, 1, 1)
# 民族 (GB/T 3304-1991): 01 汉族 … 56 基诺族, 97 其他, 98 外国血统中国籍人士.
ETHNICITY_CODES = frozenset({f"{n:02d}" for n in range(1, 57)} | {"97", "98"})
SEX_LABELS = {"MALE": "男", "FEMALE": "女"}
DEATH_SYNCED = "SYNCED"
BIRTH_RELATION = "BIRTH"
OLDEST_PLAUSIBLE_AGE = 120
YOUNGEST_PLAUSIBLE_PARENT_AGE = 12

_ID_REASONS = {
    "length": "身份证号码位数错误(应为18位)",
    "characters": "身份证号码含非法字符",
    "region": "身份证号码地址码无效",
    "birth_date": "身份证号码中的出生日期无效",
    "future_birth_date": "身份证号码中的出生日期晚于今天",
    "checksum": "身份证号码校验码错误",
}


def _values(enum: type[Sex] | type[MaritalStatus] | type[IdentityKind] | type[PersonType] | type[Mobility]
            | type[PersonStatus] | type[HukouType] | type[Education]) -> frozenset[str]:
    return frozenset(member.value for member in enum)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _join(problems: Iterable[str]) -> str | None:
    found = [p for p in problems if p]
    return "；".join(found) if found else None


@lru_cache(maxsize=256)
def _parse(value: str, today: date) -> ResidentId | str:
    # Several rules read the same number of the same person one after the other: parse it once.
    try:
        return parse_resident_id(value, today=today)
    except InvalidIdNumber as exc:
        return _ID_REASONS[exc.reason]


def id_problem(value: str, today: date) -> str | None:
    """Why an ID number is not a legal, normalised 18-character number (None: it is)."""
    parsed = _parse(value, today)
    if isinstance(parsed, str):
        return parsed
    if len(value) == 15:
        return "15位旧身份证号码未升位为18位"
    if value.endswith("x"):
        return "身份证号码校验码应为大写X"
    return None


def parsed_id(value: str | None, today: date) -> ResidentId | None:
    if not value:
        return None
    parsed = _parse(value, today)
    return None if isinstance(parsed, str) else parsed


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return date(day.year + years, 3, 1)


# --- DQ-01 / DQ-02 / DQ-28: the ID number ---------------------------------------------------------------


def check_id_number(person: models.Person, ctx: PersonContext) -> str | None:
    if _blank(person.id_number):
        return None  # a missing one is DQ-20's business
    assert person.id_number is not None
    problem = id_problem(person.id_number, ctx.today)
    return f"{problem} ({mask_id_number(person.id_number)})" if problem else None


def check_sex_vs_id(person: models.Person, ctx: PersonContext) -> str | None:
    parsed = parsed_id(person.id_number, ctx.today)
    if parsed is None or person.sex not in SEX_LABELS or parsed.sex == person.sex:
        return None
    return (f"性别为{SEX_LABELS[person.sex]}，身份证号码({mask_id_number(person.id_number)})第17位为"
            f"{SEX_LABELS[parsed.sex]}性")


def check_birth_date_vs_id(person: models.Person, ctx: PersonContext) -> str | None:
    parsed = parsed_id(person.id_number, ctx.today)
    if parsed is None or person.birth_date is None or parsed.birth_date == person.birth_date:
        return None
    return f"出生日期 {person.birth_date.isoformat()} 与身份证号码中的 {parsed.birth_date.isoformat()} 不符"


def check_related_id_numbers(person: models.Person, ctx: PersonContext) -> str | None:
    problems = []
    for event in ctx.marriages:
        if event.spouse_id_number and (problem := id_problem(event.spouse_id_number, ctx.today)):
            problems.append(f"婚姻信息({event.event_date.isoformat()})配偶{problem} "
                            f"({mask_id_number(event.spouse_id_number)})")
    for child in ctx.children:
        if child.id_number and (problem := id_problem(child.id_number, ctx.today)):
            problems.append(f"子女(孩次{child.birth_order}){problem} ({mask_id_number(child.id_number)})")
    return _join(problems)


# --- DQ-04 / §1.3: the unified identity code -----------------------------------------------------------

_IDENTITY_PREFIXES = {"NEWBORN": "B", "MILITARY": "A", "HK_MACAU_TAIWAN": "T", "OTHER": "O"}


def check_identity_code(person: models.Person, ctx: PersonContext) -> str | None:
    code = person.identity_code or ""
    if not code:
        return None
    if person.identity_kind == IdentityKind.RESIDENT.value:
        if person.id_number and code.upper() != person.id_number.upper():
            return "居民的统一身份识别码应为其身份证号码"
        return None
    prefix = _IDENTITY_PREFIXES.get(person.identity_kind)
    if prefix and not code.startswith(prefix):
        return f"统一身份识别码应以 {prefix} 开头(类别 {person.identity_kind})"
    return None


# --- DQ-06 / DQ-19: marital status vs marriage history -------------------------------------------------

_STATUS_VALUES = _values(MaritalStatus)


_MARITAL_LABELS = {"UNMARRIED": "未婚", "MARRIED": "已婚", "DIVORCED": "离异", "WIDOWED": "丧偶"}


def check_marital_status(person: models.Person, ctx: PersonContext) -> str | None:
    expected = derive_marital_status(ctx.marriages)
    if person.marital_status not in _STATUS_VALUES or person.marital_status == expected:
        return None
    history = f"婚姻历史最后一条为 {ctx.marriages[-1].event_date.isoformat()}" if ctx.marriages else "无婚姻历史"
    return (f"婚姻状况为{_MARITAL_LABELS[person.marital_status]}，{history}，"
            f"应为{_MARITAL_LABELS[expected]}")


# --- DQ-07: derived children fields ---------------------------------------------------------------------


def expected_children(children: Sequence[models.Child]) -> tuple[int, int, date | None]:
    """(孩子数, 男孩数, 最小孩出生日期) derived from the person's non-deleted child records."""
    boys = sum(1 for c in children if c.sex == Sex.MALE.value)
    return len(children), boys, max((c.birth_date for c in children), default=None)


def check_children_fields(person: models.Person, ctx: PersonContext) -> str | None:
    count, boys, youngest = expected_children(ctx.children)
    problems = []
    if person.children_count != count:
        problems.append(f"孩子数为{person.children_count}，子女记录{count}条")
    if person.boys_count != boys:
        problems.append(f"男孩数为{person.boys_count}，子女记录中男孩{boys}人")
    if (person.boys_count or 0) > (person.children_count or 0):
        problems.append("男孩数大于孩子数")
    if person.youngest_child_birth_date != youngest:
        shown = person.youngest_child_birth_date.isoformat() if person.youngest_child_birth_date else "空"
        problems.append(f"最小孩出生日期为{shown}，子女记录为{youngest.isoformat() if youngest else '空'}")
    return _join(problems)


# --- DQ-09 / DQ-10 / DQ-11: household number, address precision, valid regions -------------------------

_HOUSEHOLD_NO = re.compile(r"[0-9]{15}")


def check_household_number(person: models.Person, ctx: PersonContext) -> str | None:
    number = person.household_no
    if number is None:
        return None
    if not _HOUSEHOLD_NO.fullmatch(number):
        return "户编号应为15位数字(区划代码前6位+9位顺序号)"
    if person.household_region_code and number[:6] != person.household_region_code[:6]:
        return f"户编号前6位 {number[:6]} 与户籍地区划 {person.household_region_code[:6]} 不符"
    return None


_TOWNSHIP_CODE_LENGTH = 9


def check_address_precision(person: models.Person, ctx: PersonContext) -> str | None:
    problems = []
    for label, code, address in (("户籍地", person.household_region_code, person.household_address),
                                 ("居住地", person.residence_region_code, person.residence_address)):
        if code and len(code) < _TOWNSHIP_CODE_LENGTH and _blank(address):
            problems.append(f"{label}区划仅到区县级({code})且无详细地址，应精确至村级")
    return _join(problems)


def check_regions_valid(person: models.Person, ctx: PersonContext) -> str | None:
    problems = [f"{label}区划 {code} 已失效(区划变更后未更新)"
                for label, code in (("户籍地", person.household_region_code), ("居住地", person.residence_region_code),
                                    ("管理地", person.management_region_code))
                if code in ctx.outdated_regions]
    return _join(problems)


# --- DQ-17 / DQ-22 / §3.6: deaths --------------------------------------------------------------------------


def _death_date(person: models.Person, ctx: PersonContext) -> date | None:
    synced = [r.death_date for r in ctx.death_records if r.status == DEATH_SYNCED]
    known = [d for d in (person.death_date, *synced) if d is not None]
    return min(known, default=None)


def check_marriage_after_death(person: models.Person, ctx: PersonContext) -> str | None:
    died = _death_date(person, ctx)
    if died is None:
        return None
    late = [e.event_date.isoformat() for e in ctx.marriages if e.event_date > died]
    return f"死亡日期 {died.isoformat()} 之后仍有婚姻记录({'、'.join(late)})" if late else None


def check_death_conflicts(person: models.Person, ctx: PersonContext) -> str | None:
    synced = [r for r in ctx.death_records if r.status == DEATH_SYNCED]
    problems = []
    if person.status == PersonStatus.NORMAL.value:
        if synced:
            problems.append(f"已同步死亡信息(死亡日期 {synced[0].death_date.isoformat()})，个案状态仍为正常")
        if person.death_date is not None:
            problems.append("个案状态为正常却有死亡日期")
    if (person.status == PersonStatus.DEAD.value and person.death_date is not None and synced
            and all(r.death_date != person.death_date for r in synced)):
        problems.append(f"死亡日期 {person.death_date.isoformat()} 与已同步死亡信息的 "
                        f"{synced[0].death_date.isoformat()} 不符")
    return _join(problems)


def check_death_before_birth(person: models.Person, ctx: PersonContext) -> str | None:
    died = _death_date(person, ctx)
    if died is None or person.birth_date is None or died >= person.birth_date:
        return None
    return f"死亡日期 {died.isoformat()} 早于出生日期 {person.birth_date.isoformat()}"


def check_implausible_age(person: models.Person, ctx: PersonContext) -> str | None:
    if person.status != PersonStatus.NORMAL.value or person.birth_date is None:
        return None
    if _add_years(person.birth_date, OLDEST_PLAUSIBLE_AGE) > ctx.today:
        return None
    return f"年满{OLDEST_PLAUSIBLE_AGE}周岁仍为正常状态，疑似死亡未注销"


# --- DQ-18 / §3.6: births ----------------------------------------------------------------------------------


def check_birth_record(person: models.Person, ctx: PersonContext) -> str | None:
    problems = []
    for record in ctx.birth_records:
        if record.birth_date != person.birth_date:
            problems.append(f"出生日期 {person.birth_date.isoformat()} 与出生(子女)记录的 "
                            f"{record.birth_date.isoformat()} 不符")
        if record.sex != person.sex and record.sex in SEX_LABELS and person.sex in SEX_LABELS:
            problems.append(f"性别{SEX_LABELS[person.sex]}与出生(子女)记录的{SEX_LABELS[record.sex]}不符")
        if record.id_number and person.id_number and record.id_number.upper() != person.id_number.upper():
            problems.append(f"身份证号码与出生(子女)记录的 {mask_id_number(record.id_number)} 不符")
    return _join(problems)


def check_parent_age(person: models.Person, ctx: PersonContext) -> str | None:
    if person.birth_date is None:
        return None
    earliest = _add_years(person.birth_date, YOUNGEST_PLAUSIBLE_PARENT_AGE)
    early = [c for c in ctx.children if c.blood_relation == BIRTH_RELATION and c.birth_date < earliest]
    if not early:
        return None
    return (f"子女(孩次{'、'.join(str(c.birth_order) for c in early)})出生时本人不满"
            f"{YOUNGEST_PLAUSIBLE_PARENT_AGE}周岁")


# --- §3.6: spouse ------------------------------------------------------------------------------------------


def check_spouse_sex(person: models.Person, ctx: PersonContext) -> str | None:
    if person.sex not in SEX_LABELS:
        return None
    same = [e.event_date.isoformat() for e in ctx.marriages
            if (spouse := parsed_id(e.spouse_id_number, ctx.today)) is not None and spouse.sex == person.sex]
    return f"婚姻信息({'、'.join(same)})配偶身份证号码显示与本人同性别" if same else None


# --- DQ-20 / DQ-21 / DQ-25 / DQ-26: fields -----------------------------------------------------------------

_KEY_FIELDS = (
    ("person_no", "人员编号"), ("identity_code", "统一身份识别码"), ("name", "姓名"), ("sex", "性别"),
    ("birth_date", "出生日期"), ("ethnicity", "民族"), ("household_region_code", "户籍地"),
    ("residence_region_code", "居住地"), ("management_region_code", "管理地"),
)


def check_key_fields(person: models.Person, ctx: PersonContext) -> str | None:
    missing = [label for name, label in _KEY_FIELDS if _blank(getattr(person, name))]
    if person.identity_kind == IdentityKind.RESIDENT.value and _blank(person.id_number):
        missing.append("身份证号码")
    if person.status == PersonStatus.DEAD.value and person.death_date is None:
        missing.append("死亡日期")
    if person.status == PersonStatus.CANCELLED.value:
        missing += [label for name, label in (("cancelled_on", "注销日期"), ("cancel_reason", "注销原因"))
                    if _blank(getattr(person, name))]
    return f"关键字段为空: {'、'.join(missing)}" if missing else None


_MOBILE = re.compile(r"(?:\+?86[- ]?)?1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[0-9]{2,3}-?[0-9]{7,8}(?:-[0-9]{1,6})?")
_CODE_FIELDS = (
    ("identity_kind", "统一身份识别码类别", _values(IdentityKind), False),
    ("person_type", "人员类型", _values(PersonType), False),
    ("mobility", "流动状态", _values(Mobility), False),
    ("status", "个案状态", _values(PersonStatus), False),
    ("hukou_type", "户口性质", _values(HukouType), True),
    ("education", "文化程度", _values(Education), True),
)


def check_invalid_values(person: models.Person, ctx: PersonContext) -> str | None:
    problems = []
    for name, label, allowed, nullable in _CODE_FIELDS:
        value = getattr(person, name)
        if (value is None and not nullable) or (value is not None and value not in allowed):
            problems.append(f"{label}取值 {value!r} 不在代码集中")
    if person.phone is not None and not (_MOBILE.fullmatch(person.phone) or _LANDLINE.fullmatch(person.phone)):
        problems.append("联系电话不是有效的手机或固定电话号码")
    for name, label in (("children_count", "孩子数"), ("boys_count", "男孩数")):
        if (getattr(person, name) or 0) < 0:
            problems.append(f"{label}为负数")
    return _join(problems)


_SEXES = _values(Sex)


def check_code_sets(person: models.Person, ctx: PersonContext) -> str | None:
    problems = []
    if person.sex not in _SEXES:
        problems.append(f"性别取值 {person.sex!r} 不在代码集(男/女)中")
    if person.marital_status not in _STATUS_VALUES:
        problems.append(f"婚姻状况取值 {person.marital_status!r} 不在代码集(已婚/未婚/离异/丧偶)中")
    if person.ethnicity is not None and person.ethnicity not in ETHNICITY_CODES:
        problems.append(f"民族代码 {person.ethnicity!r} 不在国家标准(GB/T 3304)中")
    spouse_codes = {e.spouse_ethnicity for e in ctx.marriages if e.spouse_ethnicity} - ETHNICITY_CODES
    if spouse_codes:
        problems.append(f"配偶民族代码 {', '.join(sorted(spouse_codes))} 不在国家标准中")
    if any(c.sex not in _SEXES for c in ctx.children):
        problems.append("子女性别取值不在代码集中")
    return _join(problems)


_STRING_LENGTHS: tuple[tuple[str, int], ...] = tuple(
    (column.key, column.type.length) for column in models.Person.__table__.columns
    if isinstance(column.type, String) and column.type.length
)
_SHORTEST_NAME = 2


_FIELD_LABELS = {
    "name": "姓名", "id_number": "身份证号码", "other_id_number": "其他证件号码", "identity_code": "统一身份识别码",
    "person_no": "人员编号", "phone": "联系电话", "occupation": "职业", "household_address": "户籍地址",
    "residence_address": "居住地址", "cancel_reason": "注销原因", "household_no": "户编号",
}


def check_field_lengths(person: models.Person, ctx: PersonContext) -> str | None:
    problems = [f"{_FIELD_LABELS.get(name, name)}长度{len(value)}超过{limit}" for name, limit in _STRING_LENGTHS
                if isinstance(value := getattr(person, name), str) and len(value) > limit]
    if person.name and 0 < len(person.name.strip()) < _SHORTEST_NAME:
        problems.append("姓名只有1个字，疑似截断")
    return _join(problems)


# --- DQ-23 / DQ-28: garbled text ---------------------------------------------------------------------------

_MOJIBAKE = ("锟斤拷", "烫烫", "屯屯", "Ã", "Â", "â€", "ï¿½")
_NAME_MARKS = frozenset("·•・‧.-' ")


def _code_points(chars: Iterable[str]) -> str:
    return " ".join(f"U+{ord(c):04X}" for c in sorted(set(chars)))


def _is_cjk(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN ") and not ("\uff00" <= ch <= "\uffef")


def _control_like(ch: str) -> bool:
    # Control, format, surrogate, private-use, unassigned; and the replacement character of a failed decoding.
    return unicodedata.category(ch).startswith("C") or ch == "\ufffd"


def name_problem(name: str) -> str | None:
    bad = [c for c in name if not (_is_cjk(c) or _is_latin_letter(c) or c in _NAME_MARKS)]
    if bad:
        return f"姓名含非法字符 {_code_points(bad)}"
    if garbled := [m for m in _MOJIBAKE if m in name]:
        return f"姓名疑似乱码({'、'.join(garbled)})"
    if name != name.strip() or "  " in name or (" " in name and any(_is_cjk(c) for c in name)):
        return "姓名含多余空格"
    return None


def address_problem(label: str, address: str) -> str | None:
    if bad := [c for c in address if _control_like(c)]:
        return f"{label}含非法字符 {_code_points(bad)}"
    if garbled := [m for m in _MOJIBAKE if m in address] + (["??"] if "??" in address else []):
        return f"{label}疑似乱码({'、'.join(garbled)})"
    if address != address.strip():
        return f"{label}首尾有空格"
    return None


def check_garbled_text(person: models.Person, ctx: PersonContext) -> str | None:
    problems = [name_problem(person.name)] if person.name and person.name.strip() else []
    for label, address in (("户籍地址", person.household_address), ("居住地址", person.residence_address)):
        if address and address.strip():
            problems.append(address_problem(label, address))
    return _join(p for p in problems if p)


# --- DQ-24: dates in range ---------------------------------------------------------------------------------


def check_dates(person: models.Person, ctx: PersonContext) -> str | None:
    dates: list[tuple[str, date | None]] = [
        ("出生日期", person.birth_date), ("死亡日期", person.death_date), ("注销日期", person.cancelled_on),
        ("最小孩出生日期", person.youngest_child_birth_date),
    ]
    dates += [(f"婚姻信息{label}", day) for e in ctx.marriages
              for label, day in (("发生日期", e.event_date), ("上报日期", e.reported_on))]
    dates += [(f"子女(孩次{c.birth_order})出生日期", c.birth_date) for c in ctx.children]
    problems = []
    for label, day in dates:
        if day is None:
            continue
        if day > ctx.today:
            problems.append(f"{label} {day.isoformat()} 晚于今天")
        elif day < EARLIEST_DATE:
            problems.append(f"{label} {day.isoformat()} 早于1900-01-01")
    return _join(problems)


# --- the rules ---------------------------------------------------------------------------------------------

PERSON_RULES: tuple[PersonRule, ...] = (
    PersonRule("DQ-01", Dimension.VALIDITY, Category.ID_NUMBER_ERROR,
               "身份证号码合法性校验：18位、地址码、真实出生日期(不早于1900年、不晚于今天)、GB 11643校验码；"
               "15位旧号码须升位",
               "ID number legality: 18 characters, region prefix, a real birth date (1900 to today), the "
               "GB 11643 check character; legacy 15-digit numbers must be converted",
               ("DQ-01", "DQ-04", "DQ-21"), check_id_number),
    PersonRule("DQ-01-REL", Dimension.VALIDITY, Category.ID_NUMBER_ERROR,
               "婚姻信息中配偶、子女信息中子女的身份证号码合法性校验",
               "ID numbers of the spouses in the marriage history and of the children are legal",
               ("DQ-01", "DQ-21"), check_related_id_numbers),
    PersonRule("DQ-02-SEX", Dimension.CONSISTENCY, Category.SEX_ERROR,
               "性别与身份证号码第17位(奇数男、偶数女)一致；性别由身份证推算",
               "Sex matches the 17th digit of the ID number (odd male, even female); sex is derived from the ID",
               ("DQ-02", "DQ-28", "DQ-04"), check_sex_vs_id),
    PersonRule("DQ-02-DOB", Dimension.CONSISTENCY, Category.ID_NUMBER_ERROR,
               "出生日期与身份证号码第7-14位一致",
               "Birth date matches digits 7 to 14 of the ID number",
               ("DQ-02", "DQ-04"), check_birth_date_vs_id),
    PersonRule("DQ-04-IDC", Dimension.VALIDITY, Category.INVALID_VALUE,
               "统一身份识别码符合规则：居民为身份证号码，新生儿以B、军人以A、港澳台居民以T、其他以O开头",
               "The unified identity code follows §1.3: a resident's is the ID number; newborn B…, military A…, "
               "HK/Macau/Taiwan T…, other O…",
               ("DQ-04",), check_identity_code),
    PersonRule("DQ-06", Dimension.CONSISTENCY, Category.MARRIAGE_INCONSISTENT,
               "婚姻状况由婚姻历史生成，与实际婚姻记录一致",
               "Marital status is the one the marriage history leaves (no events: unmarried)",
               ("DQ-06", "DQ-19"), check_marital_status),
    PersonRule("DQ-07", Dimension.CONSISTENCY, Category.CHILDREN_INCONSISTENT,
               "孩子数、男孩数、最小孩出生日期与子女/新生儿记录一致；男孩数不大于孩子数",
               "Number of children, of boys and the youngest child's birth date match the child records; "
               "boys do not outnumber children",
               ("DQ-07", "§3.6"), check_children_fields),
    PersonRule("DQ-09", Dimension.VALIDITY, Category.INVALID_VALUE,
               "户编号为区划代码前六位加9位顺序号，前六位与户籍地区划一致",
               "The household number is 15 digits: the household-registration county code and a 9-digit counter",
               ("DQ-09",), check_household_number),
    PersonRule("DQ-10", Dimension.ACCURACY, Category.ADDRESS_IMPRECISE,
               "居住地、户籍地址精确至村级：区划仅到区县级时必须有详细地址",
               "Residence and household addresses precise to village level: a region coarser than a township "
               "needs the address text",
               ("DQ-10",), check_address_precision),
    PersonRule("DQ-11", Dimension.TIMELINESS, Category.REGION_OUTDATED,
               "区划变更后，户籍地、居住地、管理地区划须更新为有效区划",
               "After a region change, the household, residence and management regions are valid regions",
               ("DQ-11", "§3.6"), check_regions_valid),
    PersonRule("DQ-17", Dimension.REASONABLENESS, Category.DEATH_ANOMALY,
               "已死亡人员不应存在后续婚姻记录",
               "No marriage event after the person's death",
               ("DQ-17",), check_marriage_after_death),
    PersonRule("DQ-18", Dimension.CONSISTENCY, Category.CHILDREN_INCONSISTENT,
               "出生信息与人口信息匹配：建卡个案的出生日期、性别、身份证号码与其出生(子女)记录一致",
               "Birth information matches the person: a carded child's birth date, sex and ID number match the "
               "child record it was carded from",
               ("DQ-18",), check_birth_record),
    PersonRule("DQ-20", Dimension.COMPLETENESS, Category.MISSING_FIELD,
               "关键字段不能为空：人员编号、统一身份识别码、姓名、性别、出生日期、民族、户籍地、居住地、管理地；"
               "居民的身份证号码；死亡的死亡日期；注销的注销日期和原因",
               "Key fields are not null or blank (person number, identity code, name, sex, birth date, "
               "ethnicity, regions; a resident's ID number; a death date when dead; date and reason when cancelled)",
               ("DQ-20", "DQ-04"), check_key_fields),
    PersonRule("DQ-21", Dimension.VALIDITY, Category.INVALID_VALUE,
               "非法值：统一身份识别码类别、人员类型、流动状态、个案状态、户口性质、文化程度在代码集中；"
               "联系电话有效；孩子数、男孩数非负",
               "Invalid values: identity kind, person type, mobility, status, hukou type and education in "
               "their code sets; a valid phone number; no negative counts",
               ("DQ-21",), check_invalid_values),
    PersonRule("DQ-22", Dimension.CONSISTENCY, Category.DEATH_ANOMALY,
               "同一人信息冲突：已同步死亡信息而个案仍为正常，正常个案有死亡日期，死亡日期与死亡信息不符",
               "Conflicting information on one person: a synced death record while the case is NORMAL, a NORMAL "
               "case with a death date, a death date other than the synced record's",
               ("DQ-22",), check_death_conflicts),
    PersonRule("DQ-23", Dimension.VALIDITY, Category.INVALID_VALUE,
               "乱码、非法字符：姓名只含汉字、拉丁字母及间隔号，地址不含控制字符或乱码；姓名地址格式规范(无多余空格)",
               "Garbled text and illegal characters in names and addresses; names and addresses normalised "
               "(no stray blanks)",
               ("DQ-23", "DQ-28"), check_garbled_text),
    PersonRule("DQ-24", Dimension.VALIDITY, Category.INVALID_VALUE,
               "日期合法：出生、死亡、注销、婚姻、子女等日期不晚于今天、不早于1900-01-01",
               "Dates in range: birth, death, cancellation, marriage and children's dates between 1900-01-01 "
               "and today",
               ("DQ-24", "DQ-21", "§3.6"), check_dates),
    PersonRule("DQ-25", Dimension.VALIDITY, Category.INVALID_VALUE,
               "代码统一：性别(男/女)、婚姻状况(已婚/未婚/离异/丧偶)、民族(国家标准01-56、97、98)在代码集中",
               "Code sets: sex, marital status and ethnicity (GB/T 3304: 01-56, 97, 98)",
               ("DQ-25",), check_code_sets),
    PersonRule("DQ-26", Dimension.VALIDITY, Category.INVALID_VALUE,
               "字段长度统一：不超过字段长度，避免截断或溢出；姓名至少2个字",
               "Field lengths: no value longer than its field; a name of one character is taken as truncated",
               ("DQ-26",), check_field_lengths),
    PersonRule("EX-01", Dimension.REASONABLENESS, Category.DEATH_ANOMALY,
               "死亡日期不早于出生日期", "The date of death is not before the date of birth",
               ("§3.6",), check_death_before_birth),
    PersonRule("EX-02", Dimension.REASONABLENESS, Category.DEATH_ANOMALY,
               f"年满{OLDEST_PLAUSIBLE_AGE}周岁仍为正常状态的个案，疑似死亡未注销",
               f"A NORMAL case aged {OLDEST_PLAUSIBLE_AGE} or more is probably an unreported death",
               ("§3.6",), check_implausible_age, reviewable=True),
    PersonRule("EX-03", Dimension.REASONABLENESS, Category.CHILDREN_INCONSISTENT,
               f"亲生子女出生时本人应年满{YOUNGEST_PLAUSIBLE_PARENT_AGE}周岁",
               f"The person was at least {YOUNGEST_PLAUSIBLE_PARENT_AGE} at the birth of each birth child",
               ("§3.6", "DQ-38"), check_parent_age),
    PersonRule("EX-04", Dimension.REASONABLENESS, Category.MARRIAGE_INCONSISTENT,
               "配偶身份证号码显示的性别应与本人不同",
               "The spouse's ID number shows the other sex",
               ("§3.6",), check_spouse_sex),
)
