"""统一身份识别码 of each kind, ID-number derivation and the masking of personal fields (pure functions)."""

from __future__ import annotations

from datetime import date

import pytest

from subgraphs.common.masking import mask_address, mask_id_number_narrow
from subgraphs.common.validators import id_check_digit, make_resident_id
from subgraphs.population.domain import identity_code as codes
from subgraphs.population.domain.personal import mask_identity_code, masked_value

TODAY = date(2026, 3, 1)
MAN = make_resident_id("320505", date(1990, 3, 7), 123)  # odd sequence: male
WOMAN = make_resident_id("320102", date(1992, 11, 30), 124)


def permit(prefix: str, born: date, sequence: int) -> str:
    first17 = f"{prefix}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_check_digit(first17)


def settle(kind: str, **given: object) -> codes.Identity:
    fields: dict[str, object] = {"id_number": None, "other_id_number": None, "sex": None, "birth_date": None,
                                 "region_code": "320505001", "today": TODAY}
    fields.update(given)
    return codes.settle(kind, **fields)  # type: ignore[arg-type]


def test_a_resident_is_identified_by_the_id_number_and_sex_and_birth_date_come_from_it() -> None:
    identity = settle("RESIDENT", id_number=MAN.lower())
    assert (identity.code, identity.id_number, identity.sex, identity.birth_date) == (
        MAN, MAN, "MALE", date(1990, 3, 7))
    assert settle("RESIDENT", id_number=WOMAN).sex == "FEMALE"


def test_a_legacy_15_digit_number_is_converted_to_18() -> None:
    legacy = MAN[:6] + MAN[8:17]
    assert settle("RESIDENT", id_number=legacy).code == MAN


@pytest.mark.parametrize(("given", "field"), [
    ({"sex": "FEMALE"}, "sex"),
    ({"birth_date": date(1990, 3, 8)}, "birthDate"),
])
def test_sex_and_birth_date_of_a_resident_are_read_only(given: dict[str, object], field: str) -> None:
    with pytest.raises(codes.InvalidIdentityCode) as refused:
        settle("RESIDENT", id_number=MAN, **given)
    assert refused.value.field == field and "derived from idNumber" in refused.value.message
    # the same values as the number says are fine
    assert settle("RESIDENT", id_number=MAN, sex="MALE", birth_date=date(1990, 3, 7)).code == MAN


@pytest.mark.parametrize("bad", [MAN[:17] + ("0" if MAN[17] != "0" else "1"), MAN[:10] + "13" + MAN[12:],
                                 "12345", "9" + MAN[1:]])
def test_invalid_id_numbers_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(codes.InvalidIdentityCode) as refused:
        settle("RESIDENT", id_number=bad)
    assert refused.value.field == "idNumber" and bad not in refused.value.message


def test_a_resident_needs_an_id_number() -> None:
    with pytest.raises(codes.InvalidIdentityCode) as refused:
        settle("RESIDENT", sex="MALE", birth_date=date(1990, 1, 1))
    assert refused.value.field == "idNumber"


def test_newborn_code() -> None:
    identity = settle("NEWBORN", sex="FEMALE", birth_date=date(2026, 2, 14), mother_identity_code=WOMAN,
                      multiple_birth_order=2)
    assert identity.code == f"B202602202{WOMAN}"
    parsed = codes.parse(identity.code)
    assert (parsed.kind, parsed.sex, parsed.multiple_birth_order, parsed.mother and parsed.mother.text) == (
        "NEWBORN", "FEMALE", 2, WOMAN)


@pytest.mark.parametrize(("given", "field"), [
    ({"mother_identity_code": None}, "motherIdentityCode"),
    ({"mother_identity_code": "B2026022" + "01" + WOMAN}, "motherIdentityCode"),
    ({"mother_identity_code": "nonsense"}, "motherIdentityCode"),
    ({"multiple_birth_order": 0}, "multipleBirthOrder"),
    ({"id_number": MAN}, "idNumber"),
    ({"birth_date": date(2026, 3, 2)}, "birthDate"),
])
def test_newborn_code_refusals(given: dict[str, object], field: str) -> None:
    fields: dict[str, object] = {"sex": "MALE", "birth_date": date(2026, 2, 1), "mother_identity_code": WOMAN}
    fields.update(given)
    with pytest.raises(codes.InvalidIdentityCode) as refused:
        settle("NEWBORN", **fields)
    assert refused.value.field == field


def test_military_code() -> None:
    identity = settle("MILITARY", other_id_number="军字第1234567号", sex="MALE", birth_date=date(1985, 5, 5))
    assert identity.code == "A军字第1234567号"
    with pytest.raises(codes.InvalidIdentityCode) as refused:
        settle("MILITARY", other_id_number="no spaces allowed", sex="MALE", birth_date=date(1985, 5, 5))
    assert refused.value.field == "otherIdNumber"
    with pytest.raises(codes.InvalidIdentityCode):
        settle("MILITARY", sex="MALE", birth_date=date(1985, 5, 5))


def test_hong_kong_macao_taiwan_code_derives_from_the_permit() -> None:
    number = permit("810000", date(1988, 8, 8), 21)
    identity = settle("HK_MACAU_TAIWAN", other_id_number=number)
    assert (identity.code, identity.sex, identity.birth_date) == ("T" + number, "MALE", date(1988, 8, 8))
    with pytest.raises(codes.InvalidIdentityCode) as refused:
        settle("HK_MACAU_TAIWAN", other_id_number=permit("320505", date(1988, 8, 8), 21))
    assert refused.value.field == "otherIdNumber"
    with pytest.raises(codes.InvalidIdentityCode) as wrong_sex:
        settle("HK_MACAU_TAIWAN", other_id_number=number, sex="FEMALE")
    assert wrong_sex.value.field == "sex"


def test_other_code_and_its_tie_breaker() -> None:
    identity = settle("OTHER", sex="FEMALE", birth_date=date(2001, 12, 31), region_code="320505001")
    assert identity.needs_tie_breaker and identity.code == "O320505200112312"
    assert codes.other_code(identity.code, 0) == "O320505200112312"
    assert codes.other_code(identity.code, 7) == "O320505200112312007"
    assert codes.parse("O320505200112312007").kind == "OTHER"
    with pytest.raises(codes.InvalidIdentityCode):
        codes.other_code(identity.code, 1000)
    with pytest.raises(codes.InvalidIdentityCode) as refused:
        settle("OTHER", birth_date=date(2001, 12, 31))
    assert refused.value.field == "sex"


def test_unknown_kinds_and_codes_are_refused() -> None:
    with pytest.raises(codes.InvalidIdentityCode) as refused:
        settle("ALIEN", sex="MALE", birth_date=date(2000, 1, 1))
    assert refused.value.field == "identityKind"
    for bad in ("", "X123", "B2026131" + "01" + WOMAN, "O99050520011231"):
        with pytest.raises(codes.InvalidIdentityCode):
            codes.parse(bad)


def test_masking() -> None:
    assert mask_id_number_narrow("320102199003071239") == "320***********1239"
    assert mask_identity_code(MAN) == MAN[:3] + "*" * 11 + MAN[-4:]
    newborn = f"B202602202{WOMAN}"
    assert mask_identity_code(newborn) == "B202602202" + WOMAN[:3] + "*" * 11 + WOMAN[-4:]
    assert mask_identity_code("O320505200112312") == "O320" + "*" * 8 + "2312"
    assert mask_address("江苏省苏州市虎丘区狮山街道金色家园3栋201室") == "江苏省苏州市虎丘区狮山街道****"
    assert mask_address("南京市鼓楼区中山北路1号") == "南京市鼓楼区****"
    assert mask_address("苏州市虎丘区金色小区3栋") == "苏州市虎丘区****"
    assert masked_value("name", "欧阳娜娜") == "欧***"
    assert masked_value("phone", "13812345678") == "138****5678"
    assert masked_value("birth_date", "1990-03-07") == "1990-03-07"
    assert masked_value("deleted", True) == "true"
