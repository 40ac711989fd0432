"""Check digits and parsing for Chinese resident ID numbers and unified social credit codes.

Resident ID numbers follow GB 11643-1999 (ISO 7064 MOD 11-2); unified social credit codes
follow GB 32100-2015 (MOD 31) and embed a GB 11714-1997 organisation code (MOD 11).

Error messages quote at most the offending field (a birth date, a region prefix), never the
whole value: these exceptions end up in GraphQL error payloads and logs, and an ID number is
personal data.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "PROVINCE_PREFIXES",
    "USCC_ALPHABET",
    "USCC_DEPARTMENTS",
    "CreditCodeReason",
    "IdNumberReason",
    "InvalidCreditCode",
    "InvalidIdNumber",
    "ResidentId",
    "Sex",
    "convert_15_to_18",
    "id_check_digit",
    "is_valid_resident_id",
    "is_valid_uscc",
    "make_resident_id",
    "make_uscc",
    "org_code_check_char",
    "parse_resident_id",
    "uscc_check_char",
    "validate_uscc",
]

Sex = Literal["MALE", "FEMALE"]
IdNumberReason = Literal["length", "characters", "region", "birth_date", "future_birth_date", "checksum"]
CreditCodeReason = Literal["length", "characters", "registration_department", "checksum"]

_DIGITS = frozenset("0123456789")

# ---------------------------------------------------------------------------
# Resident ID numbers (公民身份号码, GB 11643-1999)
# ---------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# A set, not the string: `in` on a string is a substring test, and str.upper() can turn one
# character into two ("ß" -> "SS").
_ID_CHECK_CHAR_SET = frozenset(_ID_CHECK_CHARS)

# First two digits of GB/T 2260 administrative division codes: provinces, autonomous regions,
# municipalities, plus Taiwan (71), Hong Kong (81) and Macao (82).
PROVINCE_PREFIXES: frozenset[str] = frozenset(
    str(n)
    for span in (range(11, 16), range(21, 24), range(31, 38), range(41, 47), range(50, 55), range(61, 66))
    for n in span
) | {"71", "81", "82"}

_EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)


class InvalidIdNumber(ValueError):
    """A resident ID number was rejected; `reason` says which rule failed."""

    def __init__(self, reason: IdNumberReason, message: str) -> None:
        super().__init__(message)
        self.reason: IdNumberReason = reason


@dataclass(frozen=True)
class ResidentId:
    number: str
    """Normalised 18-character number (legacy 15-digit input is converted; 'x' becomes 'X')."""
    region_code: str
    birth_date: datetime.date
    sex: Sex


def _is_ascii_digits(value: str) -> bool:
    # str.isdigit() also accepts full-width and other Unicode digits, which int() would then
    # silently convert; an ID containing them is not a valid ID.
    return bool(value) and all(c in _DIGITS for c in value)


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character ('0'-'9' or 'X') for the first 17 digits of an ID."""
    if len(first17) != 17:
        raise InvalidIdNumber("length", f"expected the first 17 digits of an ID number, got {len(first17)}")
    if not _is_ascii_digits(first17):
        raise InvalidIdNumber("characters", "the first 17 characters of an ID number must be digits 0-9")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _check_region(region_code: str) -> None:
    if len(region_code) != 6 or not _is_ascii_digits(region_code):
        raise InvalidIdNumber("region", "region code must be 6 digits")
    if region_code[:2] not in PROVINCE_PREFIXES:
        raise InvalidIdNumber(
            "region", f"region code starts with {region_code[:2]!r}, which is not a province-level prefix"
        )


def _parse_birth_date(yyyymmdd: str, today: datetime.date) -> datetime.date:
    try:
        born = datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise InvalidIdNumber("birth_date", f"birth date {yyyymmdd} is not a real calendar date") from None
    if born < _EARLIEST_BIRTH_DATE:
        raise InvalidIdNumber("birth_date", f"birth date {born.isoformat()} is before 1900-01-01")
    if born > today:
        raise InvalidIdNumber(
            "future_birth_date", f"birth date {born.isoformat()} is after today ({today.isoformat()})"
        )
    return born


def parse_resident_id(value: str, *, today: datetime.date | None = None) -> ResidentId:
    """Validate an 18-character or legacy 15-digit resident ID number and decode it.

    Surrounding whitespace is not stripped: callers decide whether user input gets trimmed,
    and a stray space must not make two different strings look like the same ID.
    """
    if today is None:
        today = datetime.date.today()
    if len(value) == 15:
        if not _is_ascii_digits(value):
            raise InvalidIdNumber("characters", "a 15-digit ID number must contain only digits 0-9")
        # The conversion rule of GB 11643-1999: a legacy number's two-digit year is always 19xx.
        first17 = value[:6] + "19" + value[6:]
        provided_check: str | None = None
    elif len(value) == 18:
        first17 = value[:17]
        provided_check = value[17].upper()
        if not _is_ascii_digits(first17) or provided_check not in _ID_CHECK_CHAR_SET:
            raise InvalidIdNumber(
                "characters", "an 18-character ID number must be 17 digits followed by a digit or X"
            )
    else:
        raise InvalidIdNumber(
            "length", f"an ID number has 18 characters (15 for a legacy number), got {len(value)}"
        )

    region_code = first17[:6]
    _check_region(region_code)
    birth_date = _parse_birth_date(first17[6:14], today)
    expected_check = id_check_digit(first17)
    if provided_check is not None and provided_check != expected_check:
        raise InvalidIdNumber("checksum", "ID number check character does not match the first 17 digits")
    sex: Sex = "MALE" if int(first17[16]) % 2 == 1 else "FEMALE"
    return ResidentId(
        number=first17 + expected_check, region_code=region_code, birth_date=birth_date, sex=sex
    )


def is_valid_resident_id(value: str) -> bool:
    try:
        parse_resident_id(value)
    except InvalidIdNumber:
        return False
    return True


def convert_15_to_18(value: str) -> str:
    """Convert a valid legacy 15-digit ID number to its 18-character form."""
    if len(value) != 15:
        raise InvalidIdNumber("length", f"a legacy ID number has 15 digits, got {len(value)}")
    return parse_resident_id(value).number


def make_resident_id(region_code: str, birth_date: datetime.date, sequence: int) -> str:
    """Build a checksummed 18-character ID number (for synthetic data).

    An odd `sequence` yields a male number, an even one a female number. The birth date is not
    compared with today, so `parse_resident_id` rejects the result if the date is in the future.
    """
    _check_region(region_code)
    if birth_date < _EARLIEST_BIRTH_DATE:
        raise InvalidIdNumber("birth_date", f"birth date {birth_date.isoformat()} is before 1900-01-01")
    # bool is an int subclass; True as a sequence number is certainly a caller bug.
    if isinstance(sequence, bool) or not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be an integer in 0..999, got {sequence!r}")
    first17 = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + id_check_digit(first17)


# ---------------------------------------------------------------------------
# Unified social credit codes (统一社会信用代码, GB 32100-2015)
# ---------------------------------------------------------------------------

# I, O, Z, S and V are left out because they are easily confused with 1, 0, 2, 5 and U.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# Registration departments from GB 32100-2015 as originally published: 1 = institutional
# establishment (机构编制), 5 = civil affairs (民政), 9 = market regulation (工商), Y = other.
# Later assignments (e.g. 3 = justice for law firms, N = agriculture for rural collectives)
# are not accepted yet.
USCC_DEPARTMENTS: frozenset[str] = frozenset("159Y")

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CODE_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class InvalidCreditCode(ValueError):
    """A unified social credit code (or a part of one) was rejected; `reason` says which rule failed."""

    def __init__(self, reason: CreditCodeReason, message: str) -> None:
        super().__init__(message)
        self.reason: CreditCodeReason = reason


def _upper(value: str) -> str:
    # Only ASCII is upper-cased: str.upper() maps some non-ASCII characters onto ASCII letters
    # (the ligature "\ufb00" becomes "FF"), which would let a garbled string normalise into a
    # valid code.
    return value.upper() if value.isascii() else value


def _check_uscc_chars(value: str, what: str) -> None:
    bad = sorted({c for c in value if c not in _USCC_VALUES})
    if bad:
        raise InvalidCreditCode(
            "characters",
            f"{what} may only contain digits and the letters {USCC_ALPHABET[10:]} (not I, O, S, V, Z); "
            f"found {''.join(bad)!r}",
        )


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a credit code."""
    first17 = _upper(first17)
    if len(first17) != 17:
        raise InvalidCreditCode(
            "length", f"expected the first 17 characters of a credit code, got {len(first17)}"
        )
    _check_uscc_chars(first17, "a credit code")
    total = sum(_USCC_VALUES[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    """Validate a unified social credit code and return it in upper case.

    The embedded organisation code's own check character is not verified: codes issued to
    individual businesses and some other registrants carry organisation codes that do not
    follow GB 11714, yet the credit code as a whole is valid.
    """
    code = _upper(value)
    if len(code) != 18:
        raise InvalidCreditCode("length", f"a unified social credit code has 18 characters, got {len(code)}")
    _check_uscc_chars(code, "a credit code")
    if code[0] not in USCC_DEPARTMENTS:
        raise InvalidCreditCode(
            "registration_department",
            f"registration department {code[0]!r} is not one of {', '.join(sorted(USCC_DEPARTMENTS))}",
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise InvalidCreditCode(
            "checksum", "credit code check character does not match the first 17 characters"
        )
    return code


def is_valid_uscc(value: str) -> bool:
    try:
        validate_uscc(value)
    except InvalidCreditCode:
        return False
    return True


def org_code_check_char(first8: str) -> str:
    """The GB 11714-1997 organisation code check character ('0'-'9' or 'X') for its first 8 characters."""
    first8 = _upper(first8)
    if len(first8) != 8:
        raise InvalidCreditCode(
            "length", f"expected the first 8 characters of an organisation code, got {len(first8)}"
        )
    if any(c not in _ORG_CODE_CHARS for c in first8):
        raise InvalidCreditCode(
            "characters", "an organisation code may only contain digits 0-9 and letters A-Z"
        )
    # Letters count as 10..35 (A=10), which int(c, 36) gives directly.
    total = sum(int(c, 36) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def make_uscc(department: str, kind: str, region_code: str, org_code8: str) -> str:
    """Build a checksummed credit code (for synthetic data) from its parts.

    The organisation code's check character and the credit code's check character are both
    computed here; `org_code8` is the organisation code without its check character.
    """
    department, kind, org_code8 = _upper(department), _upper(kind), _upper(org_code8)
    if len(department) != 1 or len(kind) != 1:
        raise InvalidCreditCode("length", "department and kind must be one character each")
    if department not in USCC_DEPARTMENTS:
        raise InvalidCreditCode(
            "registration_department",
            f"registration department {department!r} is not one of {', '.join(sorted(USCC_DEPARTMENTS))}",
        )
    _check_uscc_chars(kind, "the registrant kind")
    if len(region_code) != 6:
        raise InvalidCreditCode("length", f"region code must be 6 digits, got {len(region_code)} characters")
    if not _is_ascii_digits(region_code):
        raise InvalidCreditCode("characters", "region code must be 6 digits")
    # Checked against the credit code alphabet, not just A-Z: a letter such as I or O would be
    # a valid organisation code but could never appear in the resulting credit code.
    if len(org_code8) != 8:
        raise InvalidCreditCode(
            "length", f"organisation code body must be 8 characters, got {len(org_code8)}"
        )
    _check_uscc_chars(org_code8, "the organisation code")
    first17 = department + kind + region_code + org_code8 + org_code_check_char(org_code8)
    return first17 + uscc_check_char(first17)
