"""Field rules shared by the GraphQL mutations and the spreadsheet import.

Each check returns the cleaned value or raises `FieldProblem`; the mutations turn a problem into a
BAD_USER_INPUT error naming the field, the import into a row error naming the column.
"""

from __future__ import annotations

import re

from subgraphs.common.validators import InvalidCreditCode, validate_uscc
from subgraphs.identity.domain.personal import normalise_mobile

USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{2,63}")
# Mainland mobile numbers: 11 digits, 1 then 3-9 (no 10x/11x/12x ranges are issued).
MOBILE = re.compile(r"1[3-9]\d{9}")
# Deliberately loose: one @, no blanks, a dot in the domain; the mailbox itself is the only real test.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MAX_NAME = 64
MAX_EMAIL = 128
MAX_DEPARTMENT = 64
MAX_REMARK = 256
MAX_REASON = 256


class FieldProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def username(value: str) -> str:
    value = value.strip()
    if not USERNAME.fullmatch(value):
        raise FieldProblem("username", "A username is 3 to 64 characters: a letter first, then letters, digits, "
                                       "'_', '.' or '-'.")
    return value


def text(field: str, value: str, maximum: int, *, required: bool = False) -> str | None:
    """Surrounding blanks trimmed; an empty optional value becomes None."""
    value = value.strip()
    if not value:
        if required:
            raise FieldProblem(field, f"{field} is required.")
        return None
    if len(value) > maximum:
        raise FieldProblem(field, f"{field} must be at most {maximum} characters.")
    return value


def required_text(field: str, value: str, maximum: int) -> str:
    cleaned = text(field, value, maximum, required=True)
    assert cleaned is not None
    return cleaned


def name(value: str) -> str:
    return required_text("name", value, MAX_NAME)


def mobile(value: str) -> str | None:
    if not value.strip():
        return None
    digits = normalise_mobile(value)
    if not MOBILE.fullmatch(digits):
        raise FieldProblem("mobile", "A mobile number is 11 digits starting with 13 to 19.")
    return digits


def email(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_EMAIL or not EMAIL.fullmatch(value):
        raise FieldProblem("email", "The email address is not valid.")
    return value


def reason(value: str) -> str:
    """操作理由: every status change must say why."""
    value = value.strip()
    if not value:
        raise FieldProblem("reason", "A reason is required for a status change.")
    if len(value) > MAX_REASON:
        raise FieldProblem("reason", f"reason must be at most {MAX_REASON} characters.")
    return value


def credit_code(value: str) -> str:
    try:
        return validate_uscc(value.strip())
    except InvalidCreditCode as exc:
        raise FieldProblem("creditCode", f"The unified social credit code is not valid: {exc}") from exc
