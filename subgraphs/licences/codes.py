"""The licences vocabulary: the tender's eleven licence types (licences.md §1) with what the rest of the
domain needs to know about each, and the code lists shared by tables, rules and GraphQL types.

The type list is fixed by the tender (5.1.3.1.1, L5028-L5048), so it lives in code rather than in a table;
what may change about a type (its data elements) lives in its versioned standard (models.LicenceStandard).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import strawberry


@strawberry.enum(description="证照类型: the eleven licence types of the health licence library (5.1.3.1.1).")
class LicenceTypeCode(Enum):
    MEDICAL_INSTITUTION_PRACTICE = strawberry.enum_value(
        "MEDICAL_INSTITUTION_PRACTICE", description="医疗机构执业许可证 (type 1).")
    PHYSICIAN_PRACTICE = strawberry.enum_value("PHYSICIAN_PRACTICE", description="医师执业证书 (type 2).")
    NURSE_PRACTICE = strawberry.enum_value("NURSE_PRACTICE", description="护士执业证书 (type 3).")
    BLOOD_DONATION = strawberry.enum_value("BLOOD_DONATION", description="无偿献血证 (type 4).")
    BLOOD_DONATION_HONOUR = strawberry.enum_value(
        "BLOOD_DONATION_HONOUR", description="江苏省无偿献血荣誉证 (type 5).")
    PHYSICIAN_QUALIFICATION = strawberry.enum_value(
        "PHYSICIAN_QUALIFICATION", description="医师资格证书 (type 6).")
    RURAL_DOCTOR_PRACTICE = strawberry.enum_value(
        "RURAL_DOCTOR_PRACTICE", description="乡村医生执业证书 (type 7).")
    TCM_SPECIALTY_PRACTICE = strawberry.enum_value(
        "TCM_SPECIALTY_PRACTICE", description="中医（专长）医师执业证书 (type 8).")
    TCM_SPECIALTY_QUALIFICATION = strawberry.enum_value(
        "TCM_SPECIALTY_QUALIFICATION", description="中医（专长）医师资格证书 (type 9).")
    TCM_CLINIC_FILING = strawberry.enum_value("TCM_CLINIC_FILING", description="中医诊所备案证 (type 10).")
    HEALTH_CERTIFICATE = strawberry.enum_value("HEALTH_CERTIFICATE", description="健康证 (type 11).")


@strawberry.enum(description="持证主体类别: who holds a licence of the type.")
class HolderKind(Enum):
    PERSON = "PERSON"
    ORGANIZATION = "ORGANIZATION"


@dataclass(frozen=True)
class LicenceTypeInfo:
    code: LicenceTypeCode
    ordinal: int  # the tender's numbering, 1-11
    name: str  # the exact Chinese name (证照名称)
    name_en: str
    holder_kind: HolderKind
    # Whether licences of the type carry a validity period; those without one never expire (licences.md §3.2).
    has_validity: bool
    # 电子证照底板: the template the provincial e-licence interface matches for the type.
    template_id: str
    # Prefix of the licence ids of the type (lic-<prefix>-<number>): readable in logs and exports.
    id_prefix: str


def _info(code: LicenceTypeCode, ordinal: int, name: str, name_en: str, holder: HolderKind, validity: bool,
          prefix: str) -> LicenceTypeInfo:
    return LicenceTypeInfo(code=code, ordinal=ordinal, name=name, name_en=name_en, holder_kind=holder,
                           has_validity=validity, template_id=f"JS-WJW-{ordinal:02d}-V1", id_prefix=prefix)


_P, _O = HolderKind.PERSON, HolderKind.ORGANIZATION
T = LicenceTypeCode

LICENCE_TYPES: dict[LicenceTypeCode, LicenceTypeInfo] = {info.code: info for info in (
    _info(T.MEDICAL_INSTITUTION_PRACTICE, 1, "医疗机构执业许可证", "Medical Institution Practice Licence", _O, True,
          "mi"),
    _info(T.PHYSICIAN_PRACTICE, 2, "医师执业证书", "Physician Practising Certificate", _P, True, "pp"),
    _info(T.NURSE_PRACTICE, 3, "护士执业证书", "Nurse Practising Certificate", _P, True, "np"),
    _info(T.BLOOD_DONATION, 4, "无偿献血证", "Voluntary Blood Donation Certificate", _P, False, "bd"),
    _info(T.BLOOD_DONATION_HONOUR, 5, "江苏省无偿献血荣誉证", "Jiangsu Blood Donation Honour Certificate", _P, True,
          "bh"),
    _info(T.PHYSICIAN_QUALIFICATION, 6, "医师资格证书", "Physician Qualification Certificate", _P, False, "pq"),
    _info(T.RURAL_DOCTOR_PRACTICE, 7, "乡村医生执业证书", "Rural Doctor Practising Certificate", _P, True, "rd"),
    _info(T.TCM_SPECIALTY_PRACTICE, 8, "中医（专长）医师执业证书", "TCM Specialty Physician Practising Certificate",
          _P, True, "tp"),
    _info(T.TCM_SPECIALTY_QUALIFICATION, 9, "中医（专长）医师资格证书",
          "TCM Specialty Physician Qualification Certificate", _P, False, "tq"),
    _info(T.TCM_CLINIC_FILING, 10, "中医诊所备案证", "TCM Clinic Filing Certificate", _O, True, "tc"),
    _info(T.HEALTH_CERTIFICATE, 11, "健康证", "Health Certificate", _P, True, "hc"),
)}


def type_info(code: LicenceTypeCode | str) -> LicenceTypeInfo:
    return LICENCE_TYPES[LicenceTypeCode(code)]


class LicenceOperation(Enum):
    """日志留存 (L5217): what happened to a licence; the log is kept forever."""

    COLLECTED = "COLLECTED"  # 归集入库: first stored from an ingestion batch or an approved application
    UPDATED = "UPDATED"  # 覆盖更新: a later record with the same primary key replaced the face
    GENERATED = "GENERATED"  # 证照生成: the electronic licence was (re)generated
    REVOKED = "REVOKED"  # 证照废除
    INVALIDATED = "INVALIDATED"  # validFlag 1 -> 0 (soft delete)
    RESTORED = "RESTORED"  # validFlag 0 -> 1


class IngestionMode(Enum):
    STOCK = "STOCK"  # 存量: historic records, uploaded in bulk
    INCREMENTAL = "INCREMENTAL"  # 增量: real-time, one record at a time


class BatchStatus(Enum):
    PASSED = "PASSED"  # 质控通过, stored
    REJECTED = "REJECTED"  # 质控失败: nothing stored; to be rectified and resubmitted
    RESUBMITTED = "RESUBMITTED"  # a rejected batch whose corrected resubmission has arrived


class StandardVersionStatus(Enum):
    DRAFT = "DRAFT"  # 草稿: edited, not yet reviewed
    APPROVED = "APPROVED"  # 审核通过, not yet enabled
    REJECTED = "REJECTED"  # 审核不通过
    ENABLED = "ENABLED"  # 启用: the one version that validates incoming records
    ARCHIVED = "ARCHIVED"  # a formerly enabled version, kept as history only


class IssueOutcome(Enum):
    BATCH_FAIL = "BATCH_FAIL"  # the whole batch is rejected
    OVERWRITE = "OVERWRITE"  # duplicate primary key: the newer record replaced the older
    WARN = "WARN"  # recorded for rectification, the record is stored


class QualityDimension(Enum):
    COMPLETENESS = "COMPLETENESS"  # 完整性
    ACCURACY = "ACCURACY"  # 准确性
    UNIQUENESS = "UNIQUENESS"  # 唯一性
    USAGE = "USAGE"  # 使用过程


@strawberry.enum(description="亮证结果: what one presentation call came to.")
class PresentationResult(Enum):
    PRESENTED = "PRESENTED"
    NOT_FOUND = "NOT_FOUND"
    NOT_GENERATED = "NOT_GENERATED"
    DENIED = "DENIED"  # type or scenario outside the client's grant
    LIMITED = "LIMITED"  # daily or yearly limit reached, or the client is blocked


@strawberry.enum(description="核验结果: what one verification came to.")
class VerificationOutcome(Enum):
    AUTHENTIC_VALID = "AUTHENTIC_VALID"
    AUTHENTIC_EXPIRED = "AUTHENTIC_EXPIRED"
    AUTHENTIC_INVALID = "AUTHENTIC_INVALID"  # revoked or invalidated
    NOT_FOUND = "NOT_FOUND"
    TAMPERED = "TAMPERED"
    EXPIRED_TOKEN = "EXPIRED_TOKEN"
    REPLAYED = "REPLAYED"
