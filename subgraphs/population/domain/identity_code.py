"""统一身份识别码 (unified identity code, population.md §1.3): the first-level database's key of a natural person.

    RESIDENT         the 18-character resident ID number itself (GB 11643; legacy 15-digit numbers converted)
    NEWBORN          "B" + birth YYYYMM + sex code + 2-digit multiple-birth order + the mother's identity code
    MILITARY         "A" + the officer card number (军官证号码)
    HK_MACAU_TAIWAN  "T" + the 18-character residence permit number (港澳台居民居住证, 810000/820000/830000...)
    OTHER            "O" + 6-digit region code + birth YYYYMMDD + sex code [+ 3-digit tie-breaker]

Widths where the tender is silent: the sex code is one digit (GB/T 2261.1: 1 male, 2 female); the newborn's
"出生年月" is YYYYMM (the "other" rule spells out 出生年月日 when it means the day); the multiple-birth order is
two digits (01 for a single birth, 02 for the second twin, ...); the "other" tie-breaker is absent for the first
person with a given region, birth date and sex and "001".."999" for the next ones. A mother's identity code may
be of any kind but NEWBORN (a mother is carded under her own identity).

Errors are `InvalidIdentityCode` with the GraphQL field at fault; messages never quote the whole number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from subgraphs.common.validators import (
    PROVINCE_PREFIXES,
    InvalidIdNumber,
    id_check_digit,
    parse_resident_id,
)

RESIDENT, NEWBORN, MILITARY, HK_MACAU_TAIWAN, OTHER = "RESIDENT", "NEWBORN", "MILITARY", "HK_MACAU_TAIWAN", "OTHER"
KINDS = (RESIDENT, NEWBORN, MILITARY, HK_MACAU_TAIWAN, OTHER)
PREFIXES = {NEWBORN: "B", MILITARY: "A", HK_MACAU_TAIWAN: "T", OTHER: "O"}
SEX_CODES = {"MALE": "1", "FEMALE": "2"}
SEXES = {code: sex for sex, code in SEX_CODES.items()}
# 港澳台居民居住证 numbers start with these instead of a region code (Hong Kong, Macao, Taiwan).
PERMIT_PREFIXES = ("810000", "820000", "830000")
MAX_TIE_BREAKER = 999
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

_OFFICER_CARD = re.compile(r"[0-9A-Z\u4e00-\u9fff]{4,32}")
_NEWBORN = re.compile(r"B(?P<year>\d{4})(?P<month>\d{2})(?P<sex>[12])(?P<order>\d{2})(?P<mother>.+)")
_OTHER = re.compile(r"O(?P<region>\d{6})(?P<born>\d{8})(?P<sex>[12])(?P<tie>\d{3})?")


class InvalidIdentityCode(ValueError):
    """An identity or one of its parts was refused; `field` names the GraphQL input field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ParsedCode:
    kind: str
    # The ID-like number inside the code (a resident's ID number, a permit number), for masking.
    number: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    multiple_birth_order: int | None = None
    mother: ParsedCode | None = None
    region_code: str | None = None
    text: str = ""


def parse_id_number(value: str, field: str = "idNumber", *, today: date | None = None) -> tuple[str, date, str]:
    """(normalised 18-character number, birth date, sex) of a resident ID number; legacy 15-digit numbers are
    converted."""
    try:
        parsed = parse_resident_id(value.strip().upper(), today=today)
    except InvalidIdNumber as exc:
        raise InvalidIdentityCode(field, f"Not a valid resident ID number: {exc}.") from None
    return parsed.number, parsed.birth_date, parsed.sex


def parse_permit(value: str, field: str = "otherIdNumber", *, today: date | None = None) -> tuple[str, date, str]:
    """(number, birth date, sex) of a Hong Kong / Macao / Taiwan residence permit number: the ID-number layout
    with 810000, 820000 or 830000 in place of the region code."""
    number = value.strip().upper()
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise InvalidIdentityCode(field, "A residence permit number has 17 digits and a check digit or X.")
    if not number.startswith(PERMIT_PREFIXES):
        raise InvalidIdentityCode(field, "A Hong Kong, Macao or Taiwan residence permit number starts with "
                                         "810000, 820000 or 830000.")
    born = _date(number[6:14], field, today=today)
    if id_check_digit(number[:17]) != number[17]:
        raise InvalidIdentityCode(field, "The residence permit number's check digit does not match.")
    return number, born, "MALE" if int(number[16]) % 2 else "FEMALE"


def check_officer_card(value: str, field: str = "otherIdNumber") -> str:
    number = value.strip().upper()
    if not _OFFICER_CARD.fullmatch(number):
        raise InvalidIdentityCode(field, "An officer card number has 4 to 32 digits, capital letters or Chinese "
                                         "characters (e.g. 军字第1234567号 without spaces).")
    return number


def check_birth_date(born: date, field: str = "birthDate", *, today: date | None = None) -> date:
    if born < EARLIEST_BIRTH_DATE:
        raise InvalidIdentityCode(field, "The birth date is before 1900-01-01.")
    if born > (today or date.today()):
        raise InvalidIdentityCode(field, "The birth date is in the future.")
    return born


def sex_code(sex: str, field: str = "sex") -> str:
    try:
        return SEX_CODES[sex]
    except KeyError:
        raise InvalidIdentityCode(field, "Sex must be MALE or FEMALE.") from None


def newborn_code(born: date, sex: str, multiple_birth_order: int, mother_identity_code: str) -> str:
    if isinstance(multiple_birth_order, bool) or not 1 <= multiple_birth_order <= 99:
        raise InvalidIdentityCode("multipleBirthOrder", "The multiple-birth order is 1 (a single birth) to 99.")
    mother = parse(mother_identity_code, field="motherIdentityCode")
    if mother.kind == NEWBORN:
        raise InvalidIdentityCode("motherIdentityCode", "A mother's identity code is her own (resident, military, "
                                                        "Hong Kong/Macao/Taiwan or other), not a newborn's.")
    return f"B{born:%Y%m}{sex_code(sex)}{multiple_birth_order:02d}{mother.text}"


def military_code(officer_card_number: str) -> str:
    return "A" + check_officer_card(officer_card_number)


def hk_macau_taiwan_code(permit_number: str) -> str:
    return "T" + parse_permit(permit_number)[0]


def other_base(region_code: str, born: date, sex: str) -> str:
    """The "other" code without its tie-breaker."""
    if len(region_code) < 6 or not region_code[:6].isascii() or not region_code[:6].isdigit():
        raise InvalidIdentityCode("residenceRegionCode", "The region code must start with 6 digits.")
    return f"O{region_code[:6]}{born:%Y%m%d}{sex_code(sex)}"


def other_code(base: str, tie_breaker: int) -> str:
    """The "other" code given its base and tie-breaker (0: the first person with that base)."""
    if not 0 <= tie_breaker <= MAX_TIE_BREAKER:
        raise InvalidIdentityCode("identityKind", "Too many persons of the same region, birth date and sex "
                                                  "without any document: no tie-breaker is left.")
    return base if tie_breaker == 0 else f"{base}{tie_breaker:03d}"


def _date(yyyymmdd: str, field: str, *, today: date | None = None) -> date:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise InvalidIdentityCode(field, "The birth date inside the number is not a calendar date.") from None
    return check_birth_date(born, field, today=today)


def parse(code: str, field: str = "identityCode") -> ParsedCode:
    """Validates an identity code of any kind and splits it into its parts."""
    text = code.strip().upper()
    if not text:
        raise InvalidIdentityCode(field, "The identity code is empty.")
    first = text[0]
    if first.isdigit():
        number, born, sex = parse_id_number(text, field)
        return ParsedCode(RESIDENT, number=number, birth_date=born, sex=sex, text=number)
    if first == "A":
        return ParsedCode(MILITARY, number=check_officer_card(text[1:], field), text=text)
    if first == "T":
        number, born, sex = parse_permit(text[1:], field)
        return ParsedCode(HK_MACAU_TAIWAN, number=number, birth_date=born, sex=sex, text=text)
    if first == "B" and (m := _NEWBORN.fullmatch(text)):
        born_month = _date(f"{m['year']}{m['month']}01", field)
        mother = parse(m["mother"], field)
        if mother.kind == NEWBORN:
            raise InvalidIdentityCode(field, "A newborn's code ends with the mother's own identity code.")
        order = int(m["order"])
        if order == 0:
            raise InvalidIdentityCode(field, "The multiple-birth order starts at 01.")
        return ParsedCode(NEWBORN, birth_date=born_month, sex=SEXES[m["sex"]], multiple_birth_order=order,
                          mother=mother, text=text)
    if first == "O" and (m := _OTHER.fullmatch(text)):
        if m["region"][:2] not in PROVINCE_PREFIXES:
            raise InvalidIdentityCode(field, "The region code inside the identity code is not a Chinese region.")
        return ParsedCode(OTHER, birth_date=_date(m["born"], field), sex=SEXES[m["sex"]], region_code=m["region"],
                          text=text)
    raise InvalidIdentityCode(field, "An identity code is an ID number or starts with B (newborn), A (military), "
                                     "T (Hong Kong, Macao, Taiwan) or O (other) followed by its parts.")


@dataclass(frozen=True)
class Identity:
    """What the identity fields of a person settle to: normalised numbers, the sex and birth date (derived from a
    number where it carries them) and the identity code (for OTHER, the base: the tie-breaker needs the database)."""

    kind: str
    id_number: str | None
    other_id_number: str | None
    sex: str
    birth_date: date
    code: str
    needs_tie_breaker: bool = False


def settle(
    kind: str,
    *,
    id_number: str | None,
    other_id_number: str | None,
    sex: str | None,
    birth_date: date | None,
    region_code: str,
    mother_identity_code: str | None = None,
    multiple_birth_order: int = 1,
    today: date | None = None,
) -> Identity:
    """Validates a person's identity fields together. A resident ID number (or a residence permit number) decides
    sex and birth date: given ones must agree with it. `region_code` is the region of an OTHER code."""
    if kind not in KINDS:
        raise InvalidIdentityCode("identityKind", f"Unknown identity kind {kind!r}.")
    derived: tuple[date, str, str] | None = None  # (birth date, sex, which number decided them)
    number = None
    if id_number is not None and id_number.strip():
        if kind == NEWBORN:
            raise InvalidIdentityCode("idNumber", "A newborn with an ID number is carded as a RESIDENT.")
        number, born, id_sex = parse_id_number(id_number, today=today)
        derived = (born, id_sex, "idNumber")
    elif kind == RESIDENT:
        raise InvalidIdentityCode("idNumber", "A resident needs a resident ID number.")
    other = other_id_number.strip().upper() if other_id_number is not None and other_id_number.strip() else None
    if kind == HK_MACAU_TAIWAN:
        if other is None:
            raise InvalidIdentityCode("otherIdNumber", "A Hong Kong, Macao or Taiwan resident needs the residence "
                                                       "permit number (otherIdNumber).")
        other, born, permit_sex = parse_permit(other, today=today)
        if derived is not None and derived[:2] != (born, permit_sex):
            raise InvalidIdentityCode("otherIdNumber", "The residence permit and the ID number disagree on the "
                                                       "birth date or sex.")
        derived = derived or (born, permit_sex, "otherIdNumber")
    elif kind == MILITARY:
        if other is None:
            raise InvalidIdentityCode("otherIdNumber", "A member of the military needs the officer card number "
                                                       "(otherIdNumber).")
        other = check_officer_card(other)
    elif other is not None and len(other) > 40:
        raise InvalidIdentityCode("otherIdNumber", "The other document number has at most 40 characters.")
    if derived is not None:
        born, settled_sex, source = derived
        if birth_date is not None and birth_date != born:
            raise InvalidIdentityCode("birthDate", f"The birth date is read-only: it is derived from {source}.")
        if sex is not None and sex != settled_sex:
            raise InvalidIdentityCode("sex", f"The sex is read-only: it is derived from {source}.")
    else:
        if birth_date is None:
            raise InvalidIdentityCode("birthDate", "The birth date is required when no ID number gives it.")
        if sex is None:
            raise InvalidIdentityCode("sex", "The sex is required when no ID number gives it.")
        born, settled_sex = check_birth_date(birth_date, today=today), sex
    sex_code(settled_sex)
    code: str
    if kind == RESIDENT:
        assert number is not None
        code = number
    elif kind == NEWBORN:
        if not mother_identity_code:
            raise InvalidIdentityCode("motherIdentityCode", "A newborn's identity code needs the mother's.")
        code = newborn_code(born, settled_sex, multiple_birth_order, mother_identity_code)
    elif kind == MILITARY:
        assert other is not None
        code = "A" + other
    elif kind == HK_MACAU_TAIWAN:
        assert other is not None
        code = "T" + other
    else:
        code = other_base(region_code, born, settled_sex)
    return Identity(kind, number, other, settled_sex, born, code, needs_tie_breaker=kind == OTHER)
