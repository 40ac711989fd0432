from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subgraphs.common.masking import mask_id_number, mask_name, mask_phone
from subgraphs.common.validators import make_resident_id

# No example database, so no .hypothesis/ directory is left in the work tree.
PROPERTY = settings(database=None, max_examples=200, deadline=None)


def _visible(masked: str) -> int:
    return sum(1 for c in masked if c != "*")


# --- ID numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("320102199003071239", "320102********1239"),
        ("11010519491231002X", "110105********002X"),
        ("11010519491231002x", "110105********002x"),
        (" 320102199003071239 ", "320102********1239"),
        # legacy 15-digit number: a quarter at each end
        ("320102520818061", "320*********061"),
        # other lengths: a quarter at each end, rounded down
        ("E12345678", "E1*****78"),
        ("1234567", "1*****7"),
        ("1234", "1**4"),
        ("123", "***"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_mask_id_number(value: str, expected: str) -> None:
    assert mask_id_number(value) == expected


def test_mask_id_number_passes_none_through() -> None:
    assert mask_id_number(None) is None


@PROPERTY
@given(st.text(st.characters(blacklist_characters="*"), max_size=40).filter(lambda s: s == s.strip()))
def test_mask_id_number_shows_at_most_half_unless_18_long(value: str) -> None:
    masked = mask_id_number(value)
    assert len(masked) == len(value)
    # Every visible character is the original one, in its original place.
    assert all(m in ("*", v) for m, v in zip(masked, value, strict=True))
    if len(value) == 18:
        assert masked == value[:6] + "*" * 8 + value[-4:]
    else:
        assert _visible(masked) <= len(value) // 2


@PROPERTY
@given(
    st.sampled_from(["110105", "320102", "320583", "820000"]),
    st.dates(datetime.date(1900, 1, 1), datetime.date(2025, 1, 1)),
    st.integers(0, 999),
)
def test_mask_id_number_hides_birth_date_and_sequence(region: str, born: datetime.date, seq: int) -> None:
    number = make_resident_id(region, born, seq)
    assert mask_id_number(number) == region + "********" + number[-4:]


# --- phone numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "138****5678"),
        ("19912345678", "199****5678"),
        (" 13812345678 ", "138****5678"),
        ("+8613812345678", "+86138****5678"),
        ("+86 13812345678", "+86 138****5678"),
        ("008613812345678", "0086138****5678"),
        ("86-13812345678", "86-138****5678"),
        ("025-83456789", "025-******89"),
        ("0251-8345678", "0251-*****78"),
        ("010 62345678", "010 ******78"),
        ("(025)83456789", "(025)******89"),
        # no area code, extensions, odd formats: a quarter at each end
        ("83456789", "83****89"),
        ("025-83456789-801", "025-********-801"),
        ("12345", "1***5"),
        ("23812345678", "23*******78"),
        ("", ""),
    ],
)
def test_mask_phone(value: str, expected: str) -> None:
    assert mask_phone(value) == expected


def test_mask_phone_passes_none_through() -> None:
    assert mask_phone(None) is None


@PROPERTY
@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
def test_mask_phone_mobile_property(number: str) -> None:
    assert mask_phone(number) == number[:3] + "****" + number[-4:]


@PROPERTY
@given(st.from_regex(r"0\d{2}-\d{8}", fullmatch=True))
def test_mask_phone_landline_property(number: str) -> None:
    masked = mask_phone(number)
    assert masked == number[:4] + "******" + number[-2:]


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三", "张*"),
        ("李小龙", "李**"),
        ("欧阳娜娜", "欧***"),
        ("欧阳锋", "欧**"),
        ("司马相如", "司***"),
        ("阿卜杜拉·艾买提", "阿*******"),
        ("张", "张"),
        (" 张三 ", "张*"),
        ("John Smith", "J*** S****"),
        ("Li Na", "L* N*"),
        ("Mary-Jane O'Neil", "M***-J*** O'N***"),
        ("José Álvarez", "J*** Á******"),
        ("A", "A"),
        ("", ""),
    ],
)
def test_mask_name(value: str, expected: str) -> None:
    assert mask_name(value) == expected


def test_mask_name_passes_none_through() -> None:
    assert mask_name(None) is None


@PROPERTY
@given(st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=6))
def test_mask_name_chinese_property(name: str) -> None:
    masked = mask_name(name)
    assert masked == name[0] + "*" * (len(name) - 1)


@PROPERTY
@given(st.lists(st.from_regex(r"[A-Z][a-z]{0,9}", fullmatch=True), min_size=1, max_size=4))
def test_mask_name_latin_property(words: list[str]) -> None:
    masked = mask_name(" ".join(words))
    assert masked == " ".join(w[0] + "*" * (len(w) - 1) for w in words)
