"""licences quality control (质控): every rule of the registry, passing and failing, on the v1 standards
(no database: the rules are pure; test_licences_ingestion.py runs them through ingestion)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest

from subgraphs.common.validators import make_resident_id, make_uscc
from subgraphs.licences.codes import IssueOutcome, LicenceTypeCode
from subgraphs.licences.domain.quality import RULES, Existing, Outcome, Standard, Stored, check_batch
from subgraphs.licences.domain.standard_v1 import V1

T = LicenceTypeCode
TODAY = date(2026, 3, 1)
ID_MALE = make_resident_id("320102", date(1980, 5, 17), 123)  # odd sequence: male
ID_FEMALE = make_resident_id("320104", date(1990, 2, 3), 456)
USCC = make_uscc("1", "2", "320102", "12345678")


def std(code: T, **changes: dict[str, Any]) -> Standard:
    """The v1 standard of a type, with some elements' attributes changed."""
    defs = [dataclasses.replace(d, **changes[d.code]) if d.code in changes else d for d in V1[code]]
    return Standard.of_defs(code, defs)


def physician(**over: Any) -> dict[str, Any]:
    record = {"number": "110332202400001", "holderName": "张伟", "holderSex": "MALE", "holderIdNumber": ID_MALE,
              "practiceCategory": "临床", "practiceScope": "内科专业", "practiceInstitutionName": "南京鼓楼医院",
              "issuerName": "南京市卫生健康委员会", "issuedAt": "2024-01-02", "validFrom": "2024-01-02",
              "validUntil": "2029-01-01", "sourceStatus": "正常", "registeredAt": "2024-01-02"}
    return {k: v for k, v in {**record, **over}.items() if v is not None}


def donor(**over: Any) -> dict[str, Any]:
    record = {"number": "32012025000001", "holderName": "李娜", "holderSex": "FEMALE", "holderIdNumber": ID_FEMALE,
              "birthDate": "1990-02-03", "contact": "13812345678", "issuerName": "江苏省血液中心",
              "donationTime": "2025-06-01", "donationVolume": 400, "donationPlace": "新街口献血屋", "bloodType": "O",
              "issuedAt": "2025-06-01"}
    return {k: v for k, v in {**record, **over}.items() if v is not None}


def institution(**over: Any) -> dict[str, Any]:
    record = {"number": "PDY00001X32010217A1002", "holderName": "南京样例门诊部", "holderCreditCode": USCC,
              "issuerName": "南京市卫生健康委员会", "issuedAt": "2023-05-12", "validFrom": "2023-05-12",
              "validUntil": "2028-05-11", "clinicalSubjects": ["内科", "外科"]}
    return {k: v for k, v in {**record, **over}.items() if v is not None}


def check(standard: Standard, records: list[Any], existing: Existing | None = None) -> Outcome:
    return check_batch(standard, records, existing or Existing(), TODAY)


def codes(outcome: Outcome) -> list[str]:
    return sorted(f.rule.code for f in outcome.findings)


def only(outcome: Outcome, code: str, field: str | None = None) -> None:
    """Every finding is of rule `code` (on the element `field`)."""
    assert set(codes(outcome)) == {code}, [(f.rule.code, f.message) for f in outcome.findings]
    if field is not None:
        assert outcome.findings[0].field == field
    rule = outcome.findings[0].rule
    assert outcome.rejected is (rule.outcome is IssueOutcome.BATCH_FAIL)


# --- the registry and the clean records -------------------------------------------------------------------


def test_every_rule_has_a_dimension_outcome_and_source() -> None:
    assert len({r.code for r in RULES}) == len(RULES)
    interface = {r.code: r.outcome for r in RULES if r.source in ("L5087", "L5089", "L5091")}
    assert interface == {"QC-PK-NOTNULL": IssueOutcome.BATCH_FAIL, "QC-PK-DUP": IssueOutcome.OVERWRITE,
                         "QC-BIZDATE-FMT": IssueOutcome.BATCH_FAIL}
    assert all(r.description and r.name for r in RULES)


@pytest.mark.parametrize(("code", "record"), [
    (T.PHYSICIAN_PRACTICE, physician()), (T.BLOOD_DONATION, donor()),
    (T.MEDICAL_INSTITUTION_PRACTICE, institution()),
])
def test_clean_records_pass_every_rule(code: T, record: dict[str, Any]) -> None:
    outcome = check(std(code), [record])
    assert outcome.findings == [] and not outcome.rejected
    assert outcome.records[0].key == record["number"]


def test_values_are_normalised_for_storage() -> None:
    legacy = ID_MALE[:6] + ID_MALE[8:17]  # the same person's 15-digit number
    outcome = check(std(T.PHYSICIAN_PRACTICE), [physician(holderIdNumber=legacy, number=110332202400001)])
    assert outcome.findings == []
    values = outcome.records[0].values
    assert values["holderIdNumber"] == ID_MALE  # 格式标准化: 15 -> 18 digits
    assert values["number"] == "110332202400001" and values["issuedAt"] == date(2024, 1, 2)


# --- interface rules (5.1.3.2.3) ----------------------------------------------------------------------------


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_pk_notnull_fails_the_batch(empty: str | None) -> None:
    record = physician(number=empty)  # None: the key left out altogether
    outcome = check(std(T.PHYSICIAN_PRACTICE), [physician(number="110332202400002", holderIdNumber=ID_FEMALE,
                                                          holderSex="FEMALE"), record])
    only(outcome, "QC-PK-NOTNULL", "number")
    assert outcome.rejected and outcome.findings[0].record_index == 1


@pytest.mark.parametrize("bad", ["2024/01/02", "2024-1-2", "2024-02-30", "20240102", 20240102])
def test_business_date_format_fails_the_batch(bad: Any) -> None:
    only(check(std(T.PHYSICIAN_PRACTICE), [physician(issuedAt=bad)]), "QC-BIZDATE-FMT", "issuedAt")


def test_duplicate_key_in_a_batch_keeps_the_last_record() -> None:
    outcome = check(std(T.PHYSICIAN_PRACTICE), [physician(holderName="张伟"), physician(holderName="张玮")])
    only(outcome, "QC-PK-DUP")
    assert not outcome.rejected and len(outcome.records) == 1
    assert outcome.records[0].values["holderName"] == "张玮" and outcome.findings[0].record_index == 0


# --- completeness -------------------------------------------------------------------------------------------


def test_meta_complete_needs_the_envelope() -> None:
    only(check(std(T.PHYSICIAN_PRACTICE), [physician(holderName="")]), "QC-META-COMPLETE", "holderName")
    only(check(std(T.PHYSICIAN_PRACTICE), [physician(validUntil=None)]), "QC-META-COMPLETE", "validUntil")
    # 证照有效期 is not part of the envelope of a type without validity (无偿献血证).
    assert check(std(T.BLOOD_DONATION), [donor()]).findings == []


def test_required_elements_of_the_standard() -> None:
    strict = std(T.PHYSICIAN_PRACTICE, practiceScope={"required": True})
    only(check(strict, [physician(practiceScope=None)]), "QC-REQUIRED", "practiceScope")
    assert check(strict, [physician()]).findings == []


def test_unknown_fields_are_warned_and_link_keys_accepted() -> None:
    outcome = check(std(T.PHYSICIAN_PRACTICE), [physician(favouriteColour="red", issuerOrgId="org-320100-hc",
                                                          validFlag=0)])
    only(outcome, "QC-UNKNOWN-FIELD", "favouriteColour")
    values = outcome.records[0].values
    assert "favouriteColour" not in values and values["issuerOrgId"] == "org-320100-hc"
    assert values["validFlag"] is False


# --- accuracy -------------------------------------------------------------------------------------------------


def test_other_dates_must_be_iso() -> None:
    only(check(std(T.PHYSICIAN_PRACTICE), [physician(registeredAt="02/01/2024")]), "QC-DATE-ISO", "registeredAt")


@pytest.mark.parametrize("bad", [ID_MALE[:17] + ("0" if ID_MALE[17] != "0" else "1"), "32010219800532123X",
                                 ID_MALE[:16], "990102198005171235"])
def test_id_number_rules(bad: str) -> None:
    only(check(std(T.PHYSICIAN_PRACTICE), [physician(holderIdNumber=bad)]), "QC-IDCARD", "holderIdNumber")


def test_passports_are_not_checked_as_resident_ids() -> None:
    record = {"number": "HC2025000001", "holderName": "John Smith", "holderIdType": "护照",
              "holderIdNumber": "E12345678", "issuerName": "南京市玄武区疾病预防控制中心", "issuedAt": "2025-06-01",
              "validFrom": "2025-06-01", "validUntil": "2026-05-31", "mobile": "13912345678"}
    assert check(std(T.HEALTH_CERTIFICATE), [record]).findings == []
    only(check(std(T.HEALTH_CERTIFICATE), [{**record, "holderIdType": None}]), "QC-IDCARD")


def test_credit_code_rule() -> None:
    wrong = USCC[:17] + ("0" if USCC[17] != "0" else "1")
    only(check(std(T.MEDICAL_INSTITUTION_PRACTICE), [institution(holderCreditCode=wrong)]), "QC-USCC",
         "holderCreditCode")
    assert check(std(T.MEDICAL_INSTITUTION_PRACTICE), [institution(holderCreditCode=USCC.lower())]).findings == []


@pytest.mark.parametrize(("phone", "ok"), [("13812345678", True), ("025-84561234", True), ("1381234567", False),
                                           ("12812345678", False), ("phone", False)])
def test_contact_format_warns(phone: str, ok: bool) -> None:
    outcome = check(std(T.BLOOD_DONATION), [donor(contact=phone)])
    if ok:
        assert outcome.findings == []
    else:
        only(outcome, "QC-CONTACT", "contact")
        assert not outcome.rejected and outcome.records[0].values["contact"] == phone  # stored as sent


@pytest.mark.parametrize(("field", "value"), [("donationVolume", "many"), ("donationVolume", True),
                                              ("holderName", {"x": 1}), ("validFlag", 2)])
def test_data_types(field: str, value: Any) -> None:
    only(check(std(T.BLOOD_DONATION), [donor(**{field: value})]), "QC-TYPE", field)


def test_data_types_accept_numeric_text() -> None:
    outcome = check(std(T.BLOOD_DONATION), [donor(donationVolume="300")])
    assert outcome.findings == [] and outcome.records[0].values["donationVolume"] == 300


def test_lengths() -> None:
    only(check(std(T.PHYSICIAN_PRACTICE), [physician(holderName="张" * 51)]), "QC-LENGTH", "holderName")
    only(check(std(T.BLOOD_DONATION), [donor(donationVolume=12000)]), "QC-LENGTH", "donationVolume")


def test_value_domains() -> None:
    only(check(std(T.BLOOD_DONATION), [donor(bloodType="C")]), "QC-VALUE-DOMAIN", "bloodType")
    only(check(std(T.PHYSICIAN_PRACTICE), [physician(holderSex="男")]), "QC-VALUE-DOMAIN", "holderSex")


def test_validity_order() -> None:
    only(check(std(T.PHYSICIAN_PRACTICE), [physician(validFrom="2029-01-02")]), "QC-VALIDITY-ORDER", "validFrom")


def test_issue_date_not_in_the_future() -> None:
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    only(check(std(T.PHYSICIAN_PRACTICE), [physician(issuedAt=tomorrow, validFrom=tomorrow)]),
         "QC-ISSUE-NOT-FUTURE", "issuedAt")
    assert check(std(T.PHYSICIAN_PRACTICE), [physician(issuedAt=TODAY.isoformat())]).findings == []


def test_id_number_against_birth_date_and_sex_warns() -> None:
    outcome = check(std(T.BLOOD_DONATION), [donor(birthDate="1990-02-04")])
    only(outcome, "QC-ID-BIRTH", "birthDate")
    assert not outcome.rejected
    only(check(std(T.BLOOD_DONATION), [donor(holderSex="MALE")]), "QC-ID-SEX", "holderSex")


# --- uniqueness ---------------------------------------------------------------------------------------------


def test_key_unique_when_the_key_is_more_than_the_number() -> None:
    # The key joins its elements in the standard's order: 身份证号 comes before 证照编号 for physicians.
    keyed = std(T.PHYSICIAN_PRACTICE, holderIdNumber={"is_primary_key": True})
    outcome = check(keyed, [physician(), physician(holderIdNumber=ID_FEMALE, holderSex="FEMALE")])
    only(outcome, "QC-KEY-UNIQUE", "number")
    stored = Existing([Stored(f"{ID_FEMALE}|110332202400001", "110332202400001", f"id:{ID_FEMALE}", True)])
    only(check(keyed, [physician()], stored), "QC-KEY-UNIQUE", "number")
    assert check(keyed, [physician()], Existing([Stored(f"{ID_MALE}|110332202400001", "110332202400001",
                                                        f"id:{ID_MALE}", True)])).findings == []


def test_one_valid_licence_per_holder_and_type() -> None:
    physicians = std(T.PHYSICIAN_PRACTICE)
    second = physician(number="110332202400002")
    both = check(physicians, [physician(), second])
    only(both, "QC-ONE-VALID-PER-SUBJECT")
    assert sorted(f.record_index or 0 for f in both.findings) == [0, 1]
    held = Existing([Stored("110332202400009", "110332202400009", f"id:{ID_MALE}", True)])
    outcome = check(physicians, [physician()], held)
    only(outcome, "QC-ONE-VALID-PER-SUBJECT", "holderIdNumber")
    assert "110332202400009" in outcome.findings[0].message
    # The old one invalidated in the same batch, expired, or already invalid: no conflict.
    assert check(physicians, [physician(), physician(number="110332202400009", validFlag=0)], held).findings == []
    assert check(physicians, [physician()], Existing([Stored("110332202400009", "110332202400009",
                                                             f"id:{ID_MALE}", False)])).findings == []
    assert check(physicians, [physician(), physician(number="110332202400002", validUntil="2026-02-28")]
                 ).findings == []
    # The same key is an update, not a second licence.
    assert check(physicians, [physician()], Existing([Stored("110332202400001", "110332202400001",
                                                             f"id:{ID_MALE}", True)])).findings == []


def test_several_blood_donation_certificates_per_donor_are_fine() -> None:
    assert check(std(T.BLOOD_DONATION), [donor(), donor(number="32012025000002")]).findings == []


def test_one_valid_per_institution_by_credit_code() -> None:
    outcome = check(std(T.MEDICAL_INSTITUTION_PRACTICE), [institution(), institution(number="PDY00002")])
    only(outcome, "QC-ONE-VALID-PER-SUBJECT", "holderCreditCode")
