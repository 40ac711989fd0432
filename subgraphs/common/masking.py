"""Masking of personal data for display, following common practice on Chinese government systems.

Every function takes `str | None` and passes None through, so resolvers can mask nullable
fields without a branch. Surrounding whitespace is stripped first: the result is for display
only, and leading blanks would otherwise shift which characters stay visible.
"""

from __future__ import annotations

import re
import unicodedata
from typing import overload

__all__ = ["mask_address", "mask_id_number", "mask_id_number_narrow", "mask_name", "mask_phone"]

_MASK = "*"


def _keep_ends(value: str, head: int, tail: int) -> str:
    return value[:head] + _MASK * (len(value) - head - tail) + value[len(value) - tail :]


def _keep_quarters(value: str) -> str:
    # A quarter at each end keeps at most half of the value visible whatever its length.
    quarter = len(value) // 4
    return _keep_ends(value, quarter, quarter)


@overload
def mask_id_number(value: str) -> str: ...
@overload
def mask_id_number(value: None) -> None: ...
@overload
def mask_id_number(value: str | None) -> str | None: ...
def mask_id_number(value: str | None) -> str | None:
    """Mask an ID number: "320102199003071239" -> "320102********1239".

    An 18-character number keeps its region code and last four characters, the usual display
    form. Anything else (a legacy 15-digit number, a passport number, garbage) keeps at most a
    quarter at each end, so no more than half of it is shown.
    """
    if value is None:
        return None
    value = value.strip()
    if len(value) == 18:
        return _keep_ends(value, 6, 4)
    return _keep_quarters(value)


_MOBILE = re.compile(r"(?P<prefix>(?:\+|00)?86[- ]?)?(?P<number>1\d{10})")
_LANDLINE = re.compile(r"(?P<area>\(0\d{2,3}\)|0\d{2,3})(?P<sep>[- ]?)(?P<number>\d{7,8})")


@overload
def mask_phone(value: str) -> str: ...
@overload
def mask_phone(value: None) -> None: ...
@overload
def mask_phone(value: str | None) -> str | None: ...
def mask_phone(value: str | None) -> str | None:
    """Mask a phone number: "13812345678" -> "138****5678"; "025-83456789" -> "025-******89".

    Mainland mobiles (optionally with a +86 / 0086 / 86 prefix) keep the first three and last
    four digits. Landlines with an area code keep the area code and the last two digits. Any
    other format keeps at most a quarter at each end.
    """
    if value is None:
        return None
    value = value.strip()
    if mobile := _MOBILE.fullmatch(value):
        return (mobile["prefix"] or "") + _keep_ends(mobile["number"], 3, 4)
    if landline := _LANDLINE.fullmatch(value):
        return landline["area"] + landline["sep"] + _keep_ends(landline["number"], 0, 2)
    return _keep_quarters(value)


def _is_latin_name(value: str) -> bool:
    letters = [c for c in value if c.isalpha()]
    return bool(letters) and all(unicodedata.name(c, "").startswith("LATIN ") for c in letters)


_LATIN_WORD = re.compile(r"[^\W\d_]+")


@overload
def mask_name(value: str) -> str: ...
@overload
def mask_name(value: None) -> None: ...
@overload
def mask_name(value: str | None) -> str | None: ...
def mask_name(value: str | None) -> str | None:
    """Mask a personal name: "张三" -> "张*"; "欧阳娜娜" -> "欧***"; "John Smith" -> "J*** S****".

    Chinese names keep only the first character, one star per hidden character; the first
    character is kept even for a compound surname, so "欧阳" is not given away either.
    Latin-script names keep the first letter of each word; spaces, hyphens and apostrophes
    stay so the result still reads as a name.
    """
    if value is None:
        return None
    value = value.strip()
    if _is_latin_name(value):
        return _LATIN_WORD.sub(lambda word: word[0][0] + _MASK * (len(word[0]) - 1), value)
    return value[:1] + _MASK * (len(value) - 1)


@overload
def mask_id_number_narrow(value: str) -> str: ...
@overload
def mask_id_number_narrow(value: None) -> None: ...
@overload
def mask_id_number_narrow(value: str | None) -> str | None: ...
def mask_id_number_narrow(value: str | None) -> str | None:
    """Mask an ID number keeping less: "320102199003071239" -> "320***********1239".

    For records held in bulk (a whole population), where the county and birth date that
    `mask_id_number` leaves visible would narrow a person down: a number of 14 or more
    characters keeps its first three and last four; a shorter one at most a quarter at each end.
    """
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 14:
        return _keep_ends(value, 3, 4)
    return _keep_quarters(value)


# The suffixes of administrative levels in a Chinese address, and those that look like one but end the name of a
# residential compound (already the private part of an address).
_LEVEL_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "街道", "社区", "居委会", "村委会",
                   "省", "市", "区", "县", "旗", "盟", "镇", "乡", "村")
_COMPOUND_SUFFIXES = ("小区", "新村", "花园")
_BEFORE_DIGITS = re.compile(r"[^\d０-９]*")
_HIDDEN_ADDRESS = "****"


@overload
def mask_address(value: str) -> str: ...
@overload
def mask_address(value: None) -> None: ...
@overload
def mask_address(value: str | None) -> str | None: ...
def mask_address(value: str | None) -> str | None:
    """Mask an address down to its administrative part: "江苏省苏州市虎丘区狮山街道金色家园3栋201室" ->
    "江苏省苏州市虎丘区狮山街道****".

    The leading province / city / county / township / village units stay (what the record's region
    says anyway); the rest (road, compound, building, house number) becomes a fixed "****", so its
    length is not given away either. An address that does not start with such a unit keeps at most
    its first quarter.
    """
    if value is None:
        return None
    value = value.strip()
    head = _BEFORE_DIGITS.match(value)
    text = head[0] if head else ""
    kept = 0
    for end in range(2, len(text) + 1):
        unit = text[kept:end]
        # A unit is a name of at least one character and its level's suffix ("市" alone is a road's name).
        if len(unit) >= 2 and unit.endswith(_LEVEL_SUFFIXES) and not unit.endswith(_COMPOUND_SUFFIXES):
            kept = end
    if kept == len(value):
        return value
    if kept == 0:
        kept = len(value) // 4
    return value[:kept] + _HIDDEN_ADDRESS
