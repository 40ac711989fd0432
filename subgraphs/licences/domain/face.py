"""The face of a licence (照面): what is printed on it, as one flat dictionary, and what each kind of
reader may see of it.

The face is the envelope of licences.md §1.0 (number, holder, issuer, dates) plus the type's own fields
(`Licence.fields`, keyed by the data-element codes of its standard). Its canonical JSON is what the
electronic licence's digest covers (domain/generation.py), so a face changed outside the library no longer
matches its signature.

Disclosure levels (licences.md §7.6; the tender fixes only "employees see their own health certificate"
and field-level masking, the rest is the report's proposal adopted here):

* FULL: the holder, managers, and systems granted the full face;
* MASKED: systems granted a masked face: name to its first character, ID number 3+4, phone 3+4,
  personal details (birth date, age, marital status, photo, blood data, records) left out;
* PUBLIC: public lookups: practitioners' names in full (practice information is public-interest),
  blood donors' and health-certificate holders' names masked, no ID number, no personal details;
* MINIMAL: a verifier of a presentation token: type, masked name, issuer, validity and status only.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import orjson

from subgraphs.common.masking import mask_id_number_narrow, mask_name, mask_phone
from subgraphs.licences import models
from subgraphs.licences.codes import HolderKind, LicenceTypeCode, type_info


class Disclosure(Enum):
    FULL = "FULL"
    MASKED = "MASKED"
    PUBLIC = "PUBLIC"
    MINIMAL = "MINIMAL"


# Type fields that are personal details: shown to the holder, managers and FULL grants only.
PERSONAL_FIELDS = frozenset({
    "birthDate", "age", "maritalStatus", "mobile", "contact", "photo", "bloodType", "donationTime",
    "donationVolume", "donationPlace", "changeHistory", "continuingEducationRecords", "trainingRecords",
    "qrCode",
})
PHONE_FIELDS = frozenset({"mobile", "contact"})
# Whose names a public lookup shows in full: practitioners, whose practice information is public-interest.
PUBLIC_NAME_TYPES = frozenset({
    LicenceTypeCode.PHYSICIAN_PRACTICE, LicenceTypeCode.NURSE_PRACTICE, LicenceTypeCode.PHYSICIAN_QUALIFICATION,
    LicenceTypeCode.RURAL_DOCTOR_PRACTICE, LicenceTypeCode.TCM_SPECIALTY_PRACTICE,
    LicenceTypeCode.TCM_SPECIALTY_QUALIFICATION, LicenceTypeCode.MEDICAL_INSTITUTION_PRACTICE,
    LicenceTypeCode.TCM_CLINIC_FILING,
})
MINIMAL_KEYS = ("type", "typeName", "holderName", "issuerName", "validFrom", "validUntil")


def face_of(licence: models.Licence) -> dict[str, Any]:
    """The printed face: envelope first, then the type's fields (dates as ISO text)."""
    info = type_info(licence.type_code)
    face: dict[str, Any] = {
        "type": info.code.value,
        "typeName": info.name,
        "number": licence.number,
        "holderName": licence.holder_name,
        "holderSex": licence.holder_sex,
        "holderIdType": licence.holder_id_type,
        "holderIdNumber": licence.holder_id_number,
        "holderCreditCode": licence.holder_credit_code,
        "issuerName": licence.issuer_name,
        "issuedAt": licence.issued_at,
        "validFrom": licence.valid_from,
        "validUntil": licence.valid_until,
        "practiceInstitutionName": licence.practice_institution_name,
        "practiceCategory": licence.practice_category,
        "registeredAt": licence.registered_at,
    }
    for key, value in (licence.fields or {}).items():
        face.setdefault(key, value)
    return {k: _plain(v) for k, v in face.items() if v is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def canonical(face: dict[str, Any]) -> bytes:
    """The bytes a digest covers: sorted keys, no whitespace, UTF-8."""
    return orjson.dumps(face, option=orjson.OPT_SORT_KEYS)


def disclose(face: dict[str, Any], level: Disclosure) -> dict[str, Any]:
    """What a reader at `level` sees of a face."""
    if level is Disclosure.FULL:
        return dict(face)
    code = LicenceTypeCode(face["type"])
    organisation = type_info(code).holder_kind is HolderKind.ORGANIZATION
    if level is Disclosure.MINIMAL:
        out = {k: face[k] for k in MINIMAL_KEYS if k in face}
        if not organisation and "holderName" in out:
            out["holderName"] = mask_name(out["holderName"])
        return out
    out = {}
    for key, value in face.items():
        if key in PERSONAL_FIELDS and not (key in PHONE_FIELDS and level is Disclosure.MASKED):
            continue
        if key == "holderIdNumber":
            if level is Disclosure.PUBLIC:
                continue
            value = mask_id_number_narrow(value)
        elif key in PHONE_FIELDS:
            value = mask_phone(str(value))
        elif key == "holderName" and not organisation and (
                level is Disclosure.MASKED or code not in PUBLIC_NAME_TYPES):
            value = mask_name(value)
        out[key] = value
    return out
