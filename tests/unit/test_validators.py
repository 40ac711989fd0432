from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subgraphs.common.validators import (
    PROVINCE_PREFIXES,
    USCC_ALPHABET,
    USCC_DEPARTMENTS,
    InvalidCreditCode,
    InvalidIdNumber,
    ResidentId,
    convert_15_to_18,
    id_check_digit,
    is_valid_resident_id,
    is_valid_uscc,
    make_resident_id,
    make_uscc,
    org_code_check_char,
    parse_resident_id,
    uscc_check_char,
    validate_uscc,
)

# A fixed "today" keeps the future-birth-date rule deterministic.
TODAY = datetime.date(2025, 6, 1)

# No example database: property tests here are cheap to rerun and should not leave a
# .hypothesis/ directory in the work tree.
PROPERTY = settings(database=None, max_examples=200, deadline=None)

# The worked example printed in GB 11643-1999 itself.
STANDARD_ID = "11010519491231002X"
MALE_ID = "320102199003071239"
FEMALE_ID = "320583198505120024"

# The worked example printed in GB 32100-2015.
STANDARD_USCC = "91350100M000100Y43"
# Huawei Technologies Co., Ltd., as printed on its business licence and public filings.
HUAWEI_USCC = "914403001922038216"
# Cited in the project brief; its origin is unconfirmed, but both of its check characters
# (organisation code and credit code) verify.
BRIEF_USCC = "91110000600037341L"


# --- strategies ---------------------------------------------------------------------------

region_codes = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(sorted(PROVINCE_PREFIXES)),
    st.text("0123456789", min_size=4, max_size=4),
)
birth_dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)
valid_ids = st.builds(make_resident_id, region_codes, birth_dates, sequences)

uscc_departments = st.sampled_from(sorted(USCC_DEPARTMENTS))
uscc_chars = st.sampled_from(USCC_ALPHABET)
org_bodies = st.text(USCC_ALPHABET, min_size=8, max_size=8)
valid_usccs = st.builds(
    make_uscc,
    uscc_departments,
    uscc_chars,
    st.text("0123456789", min_size=6, max_size=6),
    org_bodies,
)


# --- resident ID: check digit ----------------------------------------------------------------


@pytest.mark.parametrize("number", [STANDARD_ID, MALE_ID, FEMALE_ID, "320102195208180617"])
def test_id_check_digit_matches_published_examples(number: str) -> None:
    assert id_check_digit(number[:17]) == number[17]


def test_id_check_digit_can_be_x() -> None:
    assert id_check_digit(STANDARD_ID[:17]) == "X"


@pytest.mark.parametrize(
    ("first17", "reason"),
    [
        ("1101051949123100", "length"),
        ("110105194912310021", "length"),
        ("", "length"),
        ("1101051949123100A", "characters"),
        ("１１０１０５１９４９１２３１００２", "characters"),  # full-width digits
    ],
)
def test_id_check_digit_rejects_malformed_input(first17: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        id_check_digit(first17)
    assert caught.value.reason == reason


# --- resident ID: parsing ---------------------------------------------------------------------


def test_parse_standard_example() -> None:
    parsed = parse_resident_id(STANDARD_ID, today=TODAY)
    assert parsed == ResidentId(
        number=STANDARD_ID,
        region_code="110105",
        birth_date=datetime.date(1949, 12, 31),
        sex="FEMALE",
    )


def test_parse_male() -> None:
    parsed = parse_resident_id(MALE_ID, today=TODAY)
    assert parsed.sex == "MALE"
    assert parsed.region_code == "320102"
    assert parsed.birth_date == datetime.date(1990, 3, 7)
    assert parsed.number == MALE_ID


def test_parse_female() -> None:
    parsed = parse_resident_id(FEMALE_ID, today=TODAY)
    assert parsed.sex == "FEMALE"
    assert parsed.region_code == "320583"
    assert parsed.birth_date == datetime.date(1985, 5, 12)


def test_lower_case_x_is_normalised() -> None:
    parsed = parse_resident_id(STANDARD_ID.lower(), today=TODAY)
    assert parsed.number == STANDARD_ID


def test_parse_defaults_today_to_the_real_date() -> None:
    assert parse_resident_id(MALE_ID).birth_date == datetime.date(1990, 3, 7)


def test_resident_id_is_frozen() -> None:
    parsed = parse_resident_id(MALE_ID, today=TODAY)
    with pytest.raises(AttributeError):
        parsed.sex = "FEMALE"  # type: ignore[misc]


def test_parse_legacy_15_digit_number() -> None:
    parsed = parse_resident_id("320102520818061", today=TODAY)
    assert parsed.number == "320102195208180617"
    assert parsed.birth_date == datetime.date(1952, 8, 18)
    assert parsed.sex == "MALE"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        # length
        ("", "length"),
        ("32010219900307123", "length"),
        ("3201021990030712390", "length"),
        ("32010252081806", "length"),
        (" 320102199003071239", "length"),  # not trimmed: callers decide
        # characters
        ("32010219900307123A", "characters"),
        ("3201021990030712X9", "characters"),
        ("32010219900307-239", "characters"),
        ("３２０１０２１９９００３０７１２３９", "characters"),  # full-width digits, 18 chars
        ("32010252081806X", "characters"),  # 15-digit numbers have no check character
        ("32010252O818061", "characters"),
        ("11010519491231002Y", "characters"),
        # region
        ("000000199003071236", "region"),
        ("100102199003071238", "region"),
        ("160102199003071239", "region"),
        ("830102199003071239", "region"),
        ("910102199003071239", "region"),
        ("000000520818061", "region"),
        # birth_date: impossible calendar dates, and dates before 1900 (check characters are
        # correct, so only the date rule can reject these)
        ("320102199002301231", "birth_date"),
        ("32010219901301123X", "birth_date"),
        ("320102199000011230", "birth_date"),
        ("320102190002291239", "birth_date"),  # 1900 was not a leap year
        ("320102189912311237", "birth_date"),
        ("320102000001011231", "birth_date"),
        ("320102520230061", "birth_date"),  # legacy number, 1952-02-30
        # future_birth_date
        ("320102202506021238", "future_birth_date"),
        ("320102209901011234", "future_birth_date"),
        # checksum
        ("320102199003071230", "checksum"),
        ("110105194912310021", "checksum"),
        ("320583198505120025", "checksum"),
    ],
)
def test_parse_rejects_invalid_numbers(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        parse_resident_id(value, today=TODAY)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)


def test_invalid_examples_have_correct_checksums() -> None:
    # Otherwise the region and birth date cases above could pass for the wrong reason if
    # the checks were reordered.
    for value in [
        "000000199003071236",
        "100102199003071238",
        "830102199003071239",
        "320102199002301231",
        "320102189912311237",
        "320102202506021238",
    ]:
        assert id_check_digit(value[:17]) == value[17]


def test_birth_date_boundaries() -> None:
    assert parse_resident_id(make_resident_id("320102", datetime.date(1900, 1, 1), 1), today=TODAY)
    on_today = make_resident_id("320102", TODAY, 2)
    assert parse_resident_id(on_today, today=TODAY).birth_date == TODAY
    with pytest.raises(InvalidIdNumber) as caught:
        parse_resident_id(on_today, today=TODAY - datetime.timedelta(days=1))
    assert caught.value.reason == "future_birth_date"


def test_leap_day_is_accepted() -> None:
    number = make_resident_id("320102", datetime.date(2000, 2, 29), 11)
    assert parse_resident_id(number, today=TODAY).birth_date == datetime.date(2000, 2, 29)


@pytest.mark.parametrize("prefix", sorted(PROVINCE_PREFIXES))
def test_every_province_prefix_is_accepted(prefix: str) -> None:
    number = make_resident_id(prefix + "0101", datetime.date(1990, 1, 1), 1)
    assert parse_resident_id(number, today=TODAY).region_code == prefix + "0101"


def test_province_prefixes_are_the_34_province_level_divisions() -> None:
    expected = {
        *map(str, range(11, 16)),
        *map(str, range(21, 24)),
        *map(str, range(31, 38)),
        *map(str, range(41, 47)),
        *map(str, range(50, 55)),
        *map(str, range(61, 66)),
        "71",
        "81",
        "82",
    }
    assert expected == PROVINCE_PREFIXES
    assert len(PROVINCE_PREFIXES) == 34


def test_error_message_does_not_echo_the_number() -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        parse_resident_id("320102199003071230", today=TODAY)
    assert "320102199003071230" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (STANDARD_ID, True),
        (STANDARD_ID.lower(), True),
        (MALE_ID, True),
        (FEMALE_ID, True),
        ("320102520818061", True),
        ("320102199003071230", False),
        ("320102199002301231", False),
        ("", False),
        ("not an id number", False),
    ],
)
def test_is_valid_resident_id(value: str, expected: bool) -> None:
    assert is_valid_resident_id(value) is expected


# --- resident ID: 15 -> 18 -------------------------------------------------------------------


def test_convert_15_to_18_published_example() -> None:
    assert convert_15_to_18("320102520818061") == "320102195208180617"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("320102195208180617", "length"),
        ("32010252081806", "length"),
        ("32010252081806A", "characters"),
        ("990102520818061", "region"),
        ("320102521318061", "birth_date"),
    ],
)
def test_convert_15_to_18_rejects_invalid_input(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        convert_15_to_18(value)
    assert caught.value.reason == reason


@PROPERTY
@given(region_codes, st.dates(datetime.date(1900, 1, 1), datetime.date(1999, 12, 31)), sequences)
def test_convert_15_to_18_inverts_truncation(region: str, born: datetime.date, sequence: int) -> None:
    number = make_resident_id(region, born, sequence)
    legacy = number[:6] + number[8:17]
    assert convert_15_to_18(legacy) == number


# --- resident ID: make_resident_id -----------------------------------------------------------


def test_make_resident_id_reproduces_published_examples() -> None:
    assert make_resident_id("110105", datetime.date(1949, 12, 31), 2) == STANDARD_ID
    assert make_resident_id("320102", datetime.date(1990, 3, 7), 123) == MALE_ID
    assert make_resident_id("320583", datetime.date(1985, 5, 12), 2) == FEMALE_ID


def test_make_resident_id_pads_the_sequence() -> None:
    assert make_resident_id("320102", datetime.date(1990, 3, 7), 7)[14:17] == "007"
    assert make_resident_id("320102", datetime.date(1990, 3, 7), 0)[14:17] == "000"


@pytest.mark.parametrize(
    ("region", "born", "sequence", "error"),
    [
        ("32010", datetime.date(1990, 1, 1), 1, InvalidIdNumber),
        ("3201020", datetime.date(1990, 1, 1), 1, InvalidIdNumber),
        ("32010A", datetime.date(1990, 1, 1), 1, InvalidIdNumber),
        ("990102", datetime.date(1990, 1, 1), 1, InvalidIdNumber),
        ("320102", datetime.date(1899, 12, 31), 1, InvalidIdNumber),
        ("320102", datetime.date(1990, 1, 1), -1, ValueError),
        ("320102", datetime.date(1990, 1, 1), 1000, ValueError),
        ("320102", datetime.date(1990, 1, 1), True, ValueError),
    ],
)
def test_make_resident_id_rejects_bad_parts(
    region: str, born: datetime.date, sequence: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        make_resident_id(region, born, sequence)


@PROPERTY
@given(region_codes, birth_dates, sequences)
def test_make_resident_id_round_trips(region: str, born: datetime.date, sequence: int) -> None:
    number = make_resident_id(region, born, sequence)
    assert len(number) == 18
    parsed = parse_resident_id(number, today=TODAY)
    assert parsed.number == number
    assert parsed.region_code == region
    assert parsed.birth_date == born
    assert parsed.sex == ("MALE" if sequence % 2 else "FEMALE")
    assert int(number[14:17]) == sequence


# --- resident ID: error detection -------------------------------------------------------------


@PROPERTY
@given(valid_ids, st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=10))
def test_any_single_substitution_is_rejected(number: str, position: int, shift: int) -> None:
    alphabet = "0123456789X" if position == 17 else "0123456789"
    original = number[position]
    replacement = alphabet[(alphabet.index(original) + shift) % len(alphabet)]
    if replacement == original:  # shift == len(alphabet) on the 10-digit alphabet
        replacement = alphabet[(alphabet.index(original) + 1) % len(alphabet)]
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(InvalidIdNumber) as caught:
        parse_resident_id(changed, today=TODAY)
    # A changed region or birth date may be caught by those rules first, but a changed
    # sequence digit or check character can only be caught by the checksum.
    if position >= 14:
        assert caught.value.reason == "checksum"


@PROPERTY
@given(valid_ids, st.integers(min_value=0, max_value=15))
def test_adjacent_transpositions_are_rejected(number: str, position: int) -> None:
    a, b = number[position], number[position + 1]
    if a == b:
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    assert not is_valid_resident_id(swapped)


# --- unified social credit code ----------------------------------------------------------------


@pytest.mark.parametrize("code", [STANDARD_USCC, HUAWEI_USCC, BRIEF_USCC])
def test_published_credit_codes_are_valid(code: str) -> None:
    assert uscc_check_char(code[:17]) == code[17]
    assert validate_uscc(code) == code
    assert is_valid_uscc(code)


@pytest.mark.parametrize("code", [STANDARD_USCC, HUAWEI_USCC, BRIEF_USCC])
def test_published_credit_codes_embed_valid_organisation_codes(code: str) -> None:
    assert org_code_check_char(code[8:16]) == code[16]


@pytest.mark.parametrize("code", [STANDARD_USCC, HUAWEI_USCC, BRIEF_USCC])
def test_make_uscc_reproduces_published_codes(code: str) -> None:
    assert make_uscc(code[0], code[1], code[2:8], code[8:16]) == code


def test_validate_uscc_normalises_case() -> None:
    assert validate_uscc(STANDARD_USCC.lower()) == STANDARD_USCC
    assert uscc_check_char(STANDARD_USCC[:17].lower()) == STANDARD_USCC[17]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "length"),
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y433", "length"),
        (" 91350100M000100Y43", "length"),
        ("91350100M000100I43", "characters"),
        ("91350100M000100O43", "characters"),
        ("91350100M000100Z43", "characters"),
        ("91350100M000100S43", "characters"),
        ("91350100M000100V43", "characters"),
        ("91350100M000100-43", "characters"),
        ("91350100M000100Ｙ43", "characters"),  # full-width Y
        ("21350100M000100Y43", "registration_department"),
        ("A1350100M000100Y43", "registration_department"),
        ("N1350100M000100Y43", "registration_department"),
        ("91350100M000100Y44", "checksum"),
        ("91350100M000100Y4A", "checksum"),
        ("914403001922038217", "checksum"),
        ("51350100M000100Y43", "checksum"),
    ],
)
def test_validate_uscc_rejects_invalid_codes(value: str, reason: str) -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_uscc(value)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)
    assert not is_valid_uscc(value)


@pytest.mark.parametrize(
    ("first17", "reason"),
    [("91350100M000100Y", "length"), ("91350100M000100Y43", "length"), ("91350100M000100I4", "characters")],
)
def test_uscc_check_char_rejects_malformed_input(first17: str, reason: str) -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        uscc_check_char(first17)
    assert caught.value.reason == reason


def test_non_ascii_lookalikes_do_not_normalise_into_a_valid_code() -> None:
    code = make_uscc("9", "1", "320102", "FF123456")
    assert is_valid_uscc(code)
    # "\ufb00" (the "ff" ligature) upper-cases to "FF", which would turn this 17-character
    # string into the valid code above.
    garbled = code.replace("FF", "\ufb00")
    assert garbled.upper() == code
    assert not is_valid_uscc(garbled)
    with pytest.raises(InvalidCreditCode):
        uscc_check_char(garbled[:16] + "0")


def test_uscc_check_char_maps_zero_remainder_to_zero() -> None:
    # (31 - 0) % 31 must give '0', not fall off the end of the alphabet.
    assert uscc_check_char("0" * 17) == "0"


# --- organisation code (GB 11714) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("first8", "expected"),
    [
        ("M000100Y", "4"),  # from the GB 32100-2015 example
        ("19220382", "1"),  # Huawei
        ("60003734", "1"),
        ("00000000", "0"),  # 11 - 0 = 11 -> '0'
        ("m000100y", "4"),
    ],
)
def test_org_code_check_char(first8: str, expected: str) -> None:
    assert org_code_check_char(first8) == expected


def test_org_code_check_char_can_be_x() -> None:
    # 4 x weight 3 = 12, remainder 1, and 11 - 1 = 10 is written as 'X'.
    assert org_code_check_char("40000000") == "X"


@pytest.mark.parametrize(
    ("first8", "reason"), [("1234567", "length"), ("123456789", "length"), ("1234567-", "characters")]
)
def test_org_code_check_char_rejects_malformed_input(first8: str, reason: str) -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        org_code_check_char(first8)
    assert caught.value.reason == reason


# --- make_uscc ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "reason"),
    [
        (("2", "1", "320102", "12345678"), "registration_department"),
        (("91", "1", "320102", "12345678"), "length"),
        (("9", "", "320102", "12345678"), "length"),
        (("9", "I", "320102", "12345678"), "characters"),
        (("9", "1", "32010", "12345678"), "length"),
        (("9", "1", "32010A", "12345678"), "characters"),
        (("9", "1", "320102", "1234567"), "length"),
        (("9", "1", "320102", "1234567O"), "characters"),
    ],
)
def test_make_uscc_rejects_bad_parts(parts: tuple[str, str, str, str], reason: str) -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        make_uscc(*parts)
    assert caught.value.reason == reason


def test_make_uscc_normalises_case() -> None:
    assert make_uscc("9", "1", "350100", "m000100y") == STANDARD_USCC
    assert make_uscc("y", "1", "320102", "12345678")[0] == "Y"


@PROPERTY
@given(uscc_departments, uscc_chars, st.text("0123456789", min_size=6, max_size=6), org_bodies)
def test_make_uscc_round_trips(department: str, kind: str, region: str, org_body: str) -> None:
    code = make_uscc(department, kind, region, org_body)
    assert validate_uscc(code) == code
    assert code[0] == department
    assert code[1] == kind
    assert code[2:8] == region
    assert code[8:16] == org_body
    assert code[16] == org_code_check_char(org_body)


@PROPERTY
@given(valid_usccs, st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=30))
def test_any_single_uscc_substitution_is_rejected(code: str, position: int, shift: int) -> None:
    replacement = USCC_ALPHABET[(USCC_ALPHABET.index(code[position]) + shift) % 31]
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(InvalidCreditCode) as caught:
        validate_uscc(changed)
    # Only a changed department character can be caught by anything but the checksum.
    if position > 0:
        assert caught.value.reason == "checksum"


@PROPERTY
@given(valid_usccs, st.integers(min_value=1, max_value=15))
def test_adjacent_uscc_transpositions_are_rejected(code: str, position: int) -> None:
    a, b = code[position], code[position + 1]
    if a == b:
        return
    swapped = code[:position] + b + a + code[position + 2 :]
    assert not is_valid_uscc(swapped)
