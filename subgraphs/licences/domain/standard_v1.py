"""Version 1 of the standard of each licence type (证照标准 v1): its data elements (数据元), as pure data.

Built from the per-type field lists of 5.1.3.1.1 (licences.md §1.1), with the common envelope of §1.0 added
where a type's list lacks it, because 5.1.3.1.1 (L5026) and 6.5.1.2 (L11581) require 证书编号, 持有人基础信息,
发证机关, 核发日期 and 有效期 on every type and the management screens search every type by 证照编号:

* `number` is the primary key of every type. Where the tender's list has a number field (机构登记号,
  资格证书编码, 健康证编码) that field is the number; elsewhere a 证照编号 element is added.
* `issuedAt` is the business date (业务日期) of every type; types 6 and 11 list no issue date, so one is
  added (6.5.1.2 wants 制发日期 on every type; the type 6 management screen searches 核发日期).
* A single "证照有效期限" field is split into `validFrom` / `validUntil` (licences.md Appendix A.7).
* Type 9 lists no ID number at all: `holderIdNumber` is added as OPTIONAL so that holders who have one can
  be linked and served by ID number (licences.md §1.1 (9)).
* Types 1 and 10 list no 统一社会信用代码; an optional `holderCreditCode` is added so 6.5's USCC check has
  a field to check (licences.md Appendix A.10).

Record keys of ingested records are the element codes. Value domains are given only where the domain is
clear; the tender enumerates none.
"""

from __future__ import annotations

from dataclasses import dataclass

from subgraphs.licences.codes import LicenceTypeCode as T

STRING, DATE, INTEGER, DECIMAL, CODE, LIST, IMAGE = "STRING", "DATE", "INTEGER", "DECIMAL", "CODE", "LIST", "IMAGE"
DATA_TYPES = (STRING, DATE, INTEGER, DECIMAL, CODE, LIST, IMAGE)

# Element codes that fill the licence's own columns (models.Licence) rather than Licence.fields.
ENVELOPE_CODES = (
    "number", "holderName", "holderSex", "holderIdType", "holderIdNumber", "holderCreditCode", "issuerName",
    "issuedAt", "validFrom", "validUntil", "sourceStatus", "practiceInstitutionName", "practiceCategory",
    "registeredAt",
)
# The longest value each envelope column holds: a standard may not allow more (standards.py enforces it).
ENVELOPE_MAX_LENGTH = {
    "number": 40, "holderName": 100, "holderSex": 8, "holderIdType": 16, "holderIdNumber": 18,
    "holderCreditCode": 18, "issuerName": 100, "sourceStatus": 32, "practiceInstitutionName": 100,
    "practiceCategory": 32,
}
# The envelope the library cannot store a licence without (NOT NULL columns): always required.
STORAGE_REQUIRED = ("number", "holderName", "issuerName", "issuedAt")
# Optional keys a record may carry outside the standard: links into the graph and the validity flag.
LINK_KEYS = ("issuerOrgId", "holderOrgId", "practiceInstitutionId", "employerOrgId")
VALID_FLAG_KEY = "validFlag"

SEX_DOMAIN = ("MALE", "FEMALE")
PHYSICIAN_CATEGORIES = ("临床", "中医", "口腔", "公共卫生")
ID_TYPE_RESIDENT = "居民身份证"
ID_TYPES = (ID_TYPE_RESIDENT, "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "外国人永久居留身份证",
            "其他")


@dataclass(frozen=True)
class ElementDef:
    code: str
    name: str
    data_type: str = STRING
    max_length: int | None = None
    required: bool = False
    value_domain: tuple[str, ...] | None = None
    is_primary_key: bool = False
    is_business_date: bool = False
    definition: str = ""

    @property
    def envelope(self) -> str | None:
        return self.code if self.code in ENVELOPE_CODES else None


ADDED = "Not in the tender's field list for this type; added for the common envelope (L5026, L11581)."


def number(name: str = "证照编号", definition: str = ADDED) -> ElementDef:
    return ElementDef("number", name, STRING, 40, True, is_primary_key=True, definition=definition)


def holder_name(name: str, length: int = 50) -> ElementDef:
    return ElementDef("holderName", name, STRING, length, True, definition="持证人/持证主体名称, as printed.")


def sex() -> ElementDef:
    return ElementDef("holderSex", "性别", CODE, 8, value_domain=SEX_DOMAIN, definition="MALE 男 / FEMALE 女.")


def id_number(name: str = "身份证号", required: bool = True, definition: str = "") -> ElementDef:
    return ElementDef("holderIdNumber", name, STRING, 18, required,
                      definition=definition or "居民身份证号码, 18 characters (a legacy 15-digit number is converted).")


def credit_code() -> ElementDef:
    return ElementDef("holderCreditCode", "统一社会信用代码", STRING, 18,
                      definition="Optional, not in the tender's list: lets 6.5's USCC rule check the holder.")


def issuer(name: str) -> ElementDef:
    return ElementDef("issuerName", name, STRING, 100, True, definition="发证机关, as printed.")


def issued(name: str = "核发日期", definition: str = "") -> ElementDef:
    return ElementDef("issuedAt", name, DATE, required=True, is_business_date=True,
                      definition=definition or "业务日期 of the type, YYYY-MM-DD.")


def validity(start: str, end: str) -> tuple[ElementDef, ElementDef]:
    return (ElementDef("validFrom", start, DATE, required=True, definition="有效期 first day, YYYY-MM-DD."),
            ElementDef("validUntil", end, DATE, required=True, definition="有效期 last day, YYYY-MM-DD."))


def single_validity(name: str = "证照有效期限") -> tuple[ElementDef, ElementDef]:
    """The tender's one validity field, split into its first and last day."""
    return validity(f"{name}（起始）", f"{name}（截止）")


def status() -> ElementDef:
    return ElementDef("sourceStatus", "证照状态", STRING, 32, definition="证照状态 as the source system says it "
                      "(values not enumerated by the tender).")


def text(code: str, name: str, length: int = 100, required: bool = False, definition: str = "") -> ElementDef:
    return ElementDef(code, name, STRING, length, required, definition=definition)


def code_of(code: str, name: str, domain: tuple[str, ...] | None, length: int = 32) -> ElementDef:
    return ElementDef(code, name, CODE, length, value_domain=domain)


def date_of(code: str, name: str) -> ElementDef:
    return ElementDef(code, name, DATE)


def list_of(code: str, name: str, definition: str = "") -> ElementDef:
    return ElementDef(code, name, LIST, 500, definition=definition or "A JSON list (at most 500 entries).")


def practice_place(name: str = "执业地点（医疗机构名称）") -> ElementDef:
    return text("practiceInstitutionName", name, 100)


def registered() -> ElementDef:
    return date_of("registeredAt", "注册日期")


V1: dict[T, tuple[ElementDef, ...]] = {
    T.MEDICAL_INSTITUTION_PRACTICE: (
        text("address", "地址", 200),
        text("legalRepresentative", "法定代表人", 50),
        holder_name("机构名称", 100),
        issuer("发证机关"),
        issued("批准日期"),
        text("principal", "负责人", 50),
        number("机构登记号", "机构登记号: the licence number and the institution's registration key."),
        list_of("clinicalSubjects", "诊疗科目", "登记的诊疗科目, a JSON list of subject names."),
        *validity("有效期-开始", "有效期-截止"),
        ElementDef("qrCode", "二维码", IMAGE, 4000),
        credit_code(),
    ),
    T.PHYSICIAN_PRACTICE: (
        holder_name("医师姓名"), sex(), id_number(),
        code_of("practiceCategory", "执业类别", PHYSICIAN_CATEGORIES),
        text("practiceScope", "执业范围", 100),
        practice_place(),
        issuer("发证机关名称"),
        *single_validity(),
        issued(), status(), registered(),
        list_of("changeHistory", "变更记录"),
        number(),
    ),
    T.NURSE_PRACTICE: (
        holder_name("护士姓名"), sex(), id_number(), practice_place(),
        text("practiceCategory", "执业类别", 32),
        issuer("发证机关名称"),
        *single_validity(),
        issued(), status(), registered(),
        list_of("continuingEducationRecords", "继续教育记录"),
        number(),
    ),
    T.BLOOD_DONATION: (
        holder_name("持证人姓名"), sex(), id_number(),
        date_of("birthDate", "出生日期"),
        text("contact", "联系方式", 20, definition="手机号码 (11 digits) or 固定电话 (区号-号码)."),
        issuer("发证机关名称"),
        date_of("donationTime", "献血时间"),
        ElementDef("donationVolume", "献血量", INTEGER, 4, definition="毫升 (ml)."),
        text("donationPlace", "献血地点", 100),
        code_of("bloodType", "血型", ("A", "B", "O", "AB"), 2),
        status(), issued(),
        number(),
    ),
    T.BLOOD_DONATION_HONOUR: (
        holder_name("持证人姓名"), sex(), id_number(),
        code_of("honourLevel", "荣誉等级", ("铜奖", "银奖", "金奖", "终身荣誉奖")),
        issuer("发证机关名称"), issued(),
        *single_validity(),
        status(),
        ElementDef("cumulativeDonationVolume", "献血累计总量", INTEGER, 6, definition="毫升 (ml)."),
        text("honourBasis", "荣誉认定依据", 200),
        date_of("recognitionDate", "认定日期"),
        number(),
    ),
    T.PHYSICIAN_QUALIFICATION: (
        holder_name("姓名"), sex(),
        date_of("birthDate", "出生日期"),
        code_of("physicianLevel", "医师级别", ("执业医师", "执业助理医师")),
        code_of("physicianCategory", "医师类别", PHYSICIAN_CATEGORIES),
        id_number(),
        number("资格证书编码", "资格证书编码: the licence number."),
        text("institutionName", "所在机构", 100),
        issuer("发证机关"),
        text("graduatedSchool", "毕业学校", 100),
        text("educationLevel", "学历", 20),
        text("major", "所学专业", 50),
        issued("核发日期", "Not in the tender's field list; added because 6.5.1.2 wants 制发日期 on every type and "
                       "the management screen searches 核发日期 (L5250)."),
    ),
    T.RURAL_DOCTOR_PRACTICE: (
        holder_name("医师姓名"), sex(), id_number(),
        practice_place("执业地点（乡村医疗机构名称）"),
        text("practiceScope", "执业范围", 100),
        issuer("发证机关名称"),
        *single_validity(),
        issued(), status(),
        list_of("trainingRecords", "培训记录"),
        registered(),
        number(),
    ),
    T.TCM_SPECIALTY_PRACTICE: (
        holder_name("医师姓名"), sex(), id_number(), practice_place(),
        text("specialtyField", "专长领域（具体中医专长）", 200),
        issuer("发证机关名称"),
        *single_validity(),
        issued(), status(),
        text("specialtyRecognitionNo", "专长认定编号", 40),
        registered(),
        number(),
    ),
    T.TCM_SPECIALTY_QUALIFICATION: (
        holder_name("姓名"), sex(),
        number("资格证书编码", "资格证书编码: the licence number."),
        issued("签发日期"),
        text("category", "类别", 50),
        text("speciality", "专业", 50),
        text("tcmTechniques", "中医药技术方法", 500),
        text("treatableConditions", "治疗病症范围", 500),
        issuer("签发机关"),
        text("signatory", "签发人", 50),
        id_number(required=False, definition="Optional, not in the tender's list: without it a holder cannot be "
                                             "linked to a person or found by ID number (licences.md §1.1 (9))."),
    ),
    T.TCM_CLINIC_FILING: (
        holder_name("诊所名称", 100),
        text("legalRepresentative", "法定代表人", 50),
        text("filingAddress", "备案地址", 200),
        text("treatmentScope", "诊疗范围（中医类别）", 200),
        issuer("备案机关"),
        *single_validity("有效期限"),
        issued("备案日期"), status(),
        ElementDef("clinicArea", "诊所面积", DECIMAL, 10, definition="平方米 (m²)."),
        ElementDef("staffCount", "从业人员数量", INTEGER, 6),
        number(),
        credit_code(),
    ),
    T.HEALTH_CERTIFICATE: (
        holder_name("人员姓名"),
        ElementDef("photo", "人员头像", IMAGE, 200_000, definition="Base64 image or an image URL."),
        id_number("证件号码", definition="The number of the document named by 证件类型; checked as a 居民身份证 "
                                         "number when 证件类型 is empty or 居民身份证."),
        code_of("holderIdType", "证件类型", ID_TYPES, 16),
        sex(),
        ElementDef("age", "年龄", INTEGER, 3),
        code_of("maritalStatus", "婚否", ("已婚", "未婚", "离异", "丧偶"), 8),
        text("mobile", "手机号码", 20),
        code_of("certCategory", "发证类别", ("食品", "公共场所", "生活饮用水", "化妆品", "药品", "其他"), 16),
        text("certName", "健康证名称", 50),
        number("健康证编码", "健康证编码: the licence number."),
        issuer("颁证单位/体检机构"),
        *validity("有效日期（起始）", "有效日期（截止）"),
        ElementDef("qrCode", "健康证二维码", IMAGE, 4000),
        issued("核发日期", "Not in the tender's field list; added because 6.5.1.2 wants 制发日期 on every type."),
        date_of("examDate", "体检日期"),
    ),
}
