"""Quality control (质控) of ingested records: the rule registry and the checks, against the ENABLED version of
the type's standard (5.1.3.2.3 L5085-L5092, 6.5.1.2 L11575-L11599).

Outcomes (docs/licences/standards-and-ingestion.md explains the choice):

* BATCH_FAIL: the whole batch is rejected, nothing is stored (不允许入库，需整改后重新上传). The tender names two
  such rules at the interface (主键非空, 业务日期格式); the 6.5 governance rules that say what a stored licence
  must be (complete, well-formed, unique) fail the batch too, since a licence stored wrong would be generated,
  signed and presented wrong, and 6.5.1.3 wants them corrected and re-checked before collection.
* OVERWRITE: a duplicate primary key within one batch: the later record wins (主键重复校验, L5089).
* WARN: stored, and recorded for rectification: checks the tender does not ask for that compare fields with
  each other (ID number against sex and birth date), contact formats and fields outside the standard.

Everything here is pure: the caller (domain/ingestion.py) loads what the library already holds (`Existing`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from subgraphs.common.validators import InvalidCreditCode, InvalidIdNumber, parse_resident_id, validate_uscc
from subgraphs.licences import models
from subgraphs.licences.codes import IssueOutcome, LicenceTypeCode, QualityDimension
from subgraphs.licences.domain.standard_v1 import (
    DATE,
    DECIMAL,
    ID_TYPE_RESIDENT,
    INTEGER,
    LINK_KEYS,
    LIST,
    VALID_FLAG_KEY,
    ElementDef,
)

D, OUT = QualityDimension, IssueOutcome
KEY_SEPARATOR = "|"
KEY_LENGTH = 200  # Licence.business_key
LINK_LENGTH = 64
MESSAGE_LENGTH = 500
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
CONTACT_CODES = frozenset({"mobile", "contact"})
# Types a holder may validly hold several of: a 无偿献血证 is issued per donation (licences.md §1.1 (4)).
SEVERAL_PER_HOLDER = frozenset({LicenceTypeCode.BLOOD_DONATION})


@dataclass(frozen=True)
class Rule:
    code: str
    name: str  # Chinese, as the tender words it where it does
    dimension: QualityDimension
    outcome: IssueOutcome
    description: str
    source: str  # tender lines, or "inference"


RULES: tuple[Rule, ...] = (
    Rule("QC-PK-NOTNULL", "主键非空校验", D.COMPLETENESS, OUT.BATCH_FAIL,
         "A primary-key element (主键) of the enabled standard is missing or empty.", "L5087"),
    Rule("QC-BIZDATE-FMT", "业务日期格式校验", D.ACCURACY, OUT.BATCH_FAIL,
         "The business-date element (业务日期) is not a real date written YYYY-MM-DD.", "L5091"),
    Rule("QC-PK-DUP", "主键重复校验", D.UNIQUENESS, OUT.OVERWRITE,
         "Two records of one batch share a primary key: the later one is stored (最新入库覆盖). Across batches "
         "the later batch updates the stored licence without an issue.", "L5089"),
    Rule("QC-META-COMPLETE", "元数据完整", D.COMPLETENESS, OUT.BATCH_FAIL,
         "A required envelope element (证照编号, 持证主体, 制发机构, 制发日期, 有效期) is missing or empty.", "L11581"),
    Rule("QC-REQUIRED", "必填数据项", D.COMPLETENESS, OUT.BATCH_FAIL,
         "Another element the enabled standard marks required is missing or empty.", "L5053, L4565"),
    Rule("QC-DATE-ISO", "日期格式规范", D.ACCURACY, OUT.BATCH_FAIL,
         "A date element other than the business date is not a real date written YYYY-MM-DD.", "L11589"),
    Rule("QC-IDCARD", "身份证号校验", D.ACCURACY, OUT.BATCH_FAIL,
         "The holder's 居民身份证 number fails the 15/18-digit rules (region, birth date, check character).",
         "L11589"),
    Rule("QC-USCC", "统一社会信用代码校验", D.ACCURACY, OUT.BATCH_FAIL,
         "The holder's 统一社会信用代码 fails GB 32100-2015 (characters, department, check character).", "L11589"),
    Rule("QC-CONTACT", "联系方式格式", D.ACCURACY, OUT.WARN,
         "A phone number (手机号码/联系方式) is neither an 11-digit mobile number nor 区号-号码; stored as sent.",
         "L11589"),
    Rule("QC-TYPE", "数据类型", D.ACCURACY, OUT.BATCH_FAIL,
         "A value is not of the element's data type (INTEGER, DECIMAL, LIST, text), or validFlag is not 0/1.",
         "L5053"),
    Rule("QC-LENGTH", "长度限制", D.ACCURACY, OUT.BATCH_FAIL,
         "A value is longer than the element's maxLength (characters; digits for INTEGER; entries for LIST).",
         "L5053"),
    Rule("QC-VALUE-DOMAIN", "值域范围", D.ACCURACY, OUT.BATCH_FAIL,
         "A value is outside the element's value domain (值域范围).", "L5053"),
    Rule("QC-VALIDITY-ORDER", "有效期起止", D.ACCURACY, OUT.BATCH_FAIL,
         "The validity starts after it ends (validFrom > validUntil).", "inference (licences.md §4.2)"),
    Rule("QC-ISSUE-NOT-FUTURE", "核发日期不晚于当日", D.ACCURACY, OUT.BATCH_FAIL,
         "The business date (核发日期) is after today (China time).", "inference (licences.md §4.2)"),
    Rule("QC-ID-BIRTH", "出生日期一致", D.ACCURACY, OUT.WARN,
         "出生日期 differs from the birth date in the ID number; stored as sent (the face is the source's).",
         "inference (licences.md §4.2)"),
    Rule("QC-ID-SEX", "性别一致", D.ACCURACY, OUT.WARN,
         "性别 differs from the sex the ID number encodes; stored as sent (the face is the source's).",
         "inference (licences.md §4.2)"),
    Rule("QC-KEY-UNIQUE", "关键字段无重复", D.UNIQUENESS, OUT.BATCH_FAIL,
         "The 证照编号 is already used by another licence of the type (another primary key), in the library or "
         "in the batch.", "L11595"),
    Rule("QC-ONE-VALID-PER-SUBJECT", "同一主体同类证照无重复有效数据", D.UNIQUENESS, OUT.BATCH_FAIL,
         "The holder (ID number, or credit code for institutions) would hold two valid licences of the type "
         "with different numbers; send the older one with validFlag 0 first or in the same batch. Not applied "
         "to 无偿献血证 (one per donation).", "L11595, L11583"),
    Rule("QC-UNKNOWN-FIELD", "标准外数据项", D.COMPLETENESS, OUT.WARN,
         "A record key is not an element of the enabled standard (nor a link key): it is not stored.",
         "L5067"),
)
BY_CODE = {r.code: r for r in RULES}


@dataclass(frozen=True)
class Element:
    code: str
    name: str
    data_type: str
    max_length: int | None
    required: bool
    value_domain: tuple[str, ...] | None
    is_primary_key: bool
    is_business_date: bool
    envelope: str | None


@dataclass(frozen=True)
class Standard:
    """The enabled version of a type's standard, as the checks read it."""

    type_code: LicenceTypeCode
    version_id: str
    version_no: int
    elements: tuple[Element, ...]

    @classmethod
    def of(cls, type_code: LicenceTypeCode | str, version: models.LicenceStandardVersion,
           rows: Sequence[models.DataElement]) -> Standard:
        return cls(LicenceTypeCode(type_code), version.id, version.version_no, tuple(
            Element(r.code, r.name, r.data_type, r.max_length, r.required,
                    tuple(r.value_domain) if r.value_domain is not None else None, r.is_primary_key,
                    r.is_business_date, r.envelope) for r in rows))

    @classmethod
    def of_defs(cls, type_code: LicenceTypeCode, defs: Sequence[ElementDef], version_id: str = "v",
                version_no: int = 1) -> Standard:
        """A standard straight from element definitions (standard_v1.V1), without the database."""
        return cls(type_code, version_id, version_no, tuple(
            Element(d.code, d.name, d.data_type, d.max_length, d.required, d.value_domain, d.is_primary_key,
                    d.is_business_date, d.envelope) for d in defs))

    @cached_property
    def by_code(self) -> dict[str, Element]:
        return {e.code: e for e in self.elements}

    @cached_property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(e.code for e in self.elements if e.is_primary_key)


@dataclass
class Finding:
    rule: Rule
    message: str
    record_index: int | None = None
    record_key: str | None = None
    field: str | None = None
    issuer_name: str | None = None


@dataclass
class Checked:
    """One record after the record rules: its normalised values (element codes, link keys, validFlag)."""

    index: int
    values: dict[str, Any]
    key: str | None
    failed: bool = False

    @property
    def valid_flag(self) -> bool:
        return bool(self.values.get(VALID_FLAG_KEY, True))

    def holder(self) -> str | None:
        """Who holds it, for 同一主体: the ID number of a person, the credit code of an institution."""
        if self.values.get("holderIdNumber"):
            return f"id:{self.values['holderIdNumber']}"
        if self.values.get("holderCreditCode"):
            return f"uscc:{self.values['holderCreditCode']}"
        return None

    def is_valid_on(self, today: date) -> bool:
        until = self.values.get("validUntil")
        return self.valid_flag and (until is None or until >= today)


@dataclass(frozen=True)
class Stored:
    """A licence the library holds, as the cross-record rules need it."""

    key: str
    number: str
    holder: str | None
    valid: bool  # VALID today (not invalidated, revoked or expired)


@dataclass
class Existing:
    licences: list[Stored] = field(default_factory=list)

    @cached_property
    def by_key(self) -> dict[str, Stored]:
        return {s.key: s for s in self.licences}

    @cached_property
    def by_number(self) -> dict[str, Stored]:
        return {s.number: s for s in self.licences}


@dataclass
class Outcome:
    records: list[Checked]  # what to store, one per primary key (the last of the batch)
    findings: list[Finding]

    @property
    def rejected(self) -> bool:
        return any(f.rule.outcome is OUT.BATCH_FAIL for f in self.findings)


class _Record:
    """Collects the findings of one record."""

    def __init__(self, index: int, raw: dict[str, Any], findings: list[Finding]) -> None:
        self.index, self.raw, self.findings = index, raw, findings
        issuer = raw.get("issuerName")
        self.issuer = issuer.strip()[:100] if isinstance(issuer, str) and issuer.strip() else None
        self.failed = False

    def add(self, code: str, message: str, element: str | None = None) -> None:
        rule = BY_CODE[code]
        self.failed = self.failed or rule.outcome is OUT.BATCH_FAIL
        self.findings.append(Finding(rule, message[:MESSAGE_LENGTH], self.index, None, element, self.issuer))


def _label(e: Element) -> str:
    return f"{e.name}（{e.code}）"


def _present(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not DATE_PATTERN.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _typed(rec: _Record, e: Element, value: Any) -> tuple[bool, Any]:
    """(ok, normalised value) for the element's data type; records the finding when not ok."""
    if e.data_type == DATE:
        parsed = parse_date(value)
        if parsed is None:
            rule = "QC-BIZDATE-FMT" if e.is_business_date else "QC-DATE-ISO"
            rec.add(rule, f"{_label(e)} must be a real date written YYYY-MM-DD.", e.code)
            return False, None
        return True, parsed
    if e.data_type == INTEGER:
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return True, int(value)
        rec.add("QC-TYPE", f"{_label(e)} must be a whole number.", e.code)
        return False, None
    if e.data_type == DECIMAL:
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise InvalidOperation
            number = Decimal(str(value))
            if not number.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            rec.add("QC-TYPE", f"{_label(e)} must be a number.", e.code)
            return False, None
        return True, int(number) if number == number.to_integral_value() else float(number)
    if e.data_type == LIST:
        if not isinstance(value, list):
            rec.add("QC-TYPE", f"{_label(e)} must be a JSON list.", e.code)
            return False, None
        return True, value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # numbers sent for text codes (e.g. a registration number)
    if not isinstance(value, str):
        rec.add("QC-TYPE", f"{_label(e)} must be text.", e.code)
        return False, None
    return True, value


def _length_of(e: Element, value: Any) -> int:
    if e.data_type == LIST:
        return len(value)
    if e.data_type in (INTEGER, DECIMAL):
        return len(str(value).replace("-", "").replace(".", ""))
    return len(value) if isinstance(value, str) else 0


def _check_element(rec: _Record, e: Element, raw: Any) -> Any:
    value = _present(raw)
    if value is None or value == []:
        if e.is_primary_key:
            rec.add("QC-PK-NOTNULL", f"The primary key {_label(e)} is empty.", e.code)
        elif e.required:
            rule = "QC-META-COMPLETE" if e.envelope else "QC-REQUIRED"
            rec.add(rule, f"{_label(e)} is required.", e.code)
        return None
    ok, value = _typed(rec, e, value)
    if not ok:
        return None
    if e.max_length is not None and e.data_type != DATE and _length_of(e, value) > e.max_length:
        rec.add("QC-LENGTH", f"{_label(e)} is longer than {e.max_length}.", e.code)
        return None
    if e.value_domain is not None and e.data_type != LIST and str(value) not in e.value_domain:
        rec.add("QC-VALUE-DOMAIN", f"{_label(e)} must be one of {', '.join(e.value_domain)}.", e.code)
        return None
    return value


def _check_identity(rec: _Record, std: Standard, values: dict[str, Any], today: date) -> None:
    number = values.get("holderIdNumber")
    id_type = values.get("holderIdType")
    if number is not None and id_type in (None, ID_TYPE_RESIDENT):
        label = _label(std.by_code["holderIdNumber"])
        try:
            resident = parse_resident_id(number, today=today)
        except InvalidIdNumber as exc:
            rec.add("QC-IDCARD", f"{label}: {exc}", "holderIdNumber")
            values.pop("holderIdNumber")
        else:
            values["holderIdNumber"] = resident.number  # 格式标准化: 15 -> 18 digits, x -> X
            sex = values.get("holderSex")
            if sex is not None and sex != resident.sex:
                rec.add("QC-ID-SEX", f"性别 {sex} differs from the sex the ID number encodes.", "holderSex")
            born = values.get("birthDate")
            if isinstance(born, date) and born != resident.birth_date:
                rec.add("QC-ID-BIRTH", "出生日期 differs from the birth date in the ID number.", "birthDate")
    code = values.get("holderCreditCode")
    if code is not None:
        try:
            values["holderCreditCode"] = validate_uscc(code)
        except InvalidCreditCode as exc:
            rec.add("QC-USCC", f"{_label(std.by_code['holderCreditCode'])}: {exc}", "holderCreditCode")
            values.pop("holderCreditCode")


def _check_dates(rec: _Record, std: Standard, values: dict[str, Any], today: date) -> None:
    start, end = values.get("validFrom"), values.get("validUntil")
    if isinstance(start, date) and isinstance(end, date) and start > end:
        rec.add("QC-VALIDITY-ORDER", f"The validity starts ({start}) after it ends ({end}).", "validFrom")
    for e in std.elements:
        day = values.get(e.code)
        if e.is_business_date and isinstance(day, date) and day > today:
            rec.add("QC-ISSUE-NOT-FUTURE", f"{_label(e)} {day} is after today ({today}).", e.code)


def _check_contacts(rec: _Record, values: dict[str, Any]) -> None:
    for code in CONTACT_CODES & values.keys():
        phone = re.sub(r"[\s]", "", str(values[code]))
        if not (MOBILE.match(phone) or LANDLINE.match(phone)):
            rec.add("QC-CONTACT", f"{code} is neither an 11-digit mobile number nor 区号-号码.", code)


def _check_extras(rec: _Record, std: Standard, raw: dict[str, Any], values: dict[str, Any]) -> None:
    for key, item in raw.items():
        if key in std.by_code:
            continue
        item = _present(item)
        if key == VALID_FLAG_KEY:
            if item is None:
                continue
            if item in (0, 1, "0", "1") or isinstance(item, bool):
                values[VALID_FLAG_KEY] = item in (1, "1", True)
            else:
                rec.add("QC-TYPE", "validFlag must be 1 (有效) or 0 (无效).", VALID_FLAG_KEY)
        elif key in LINK_KEYS:
            if item is None:
                continue
            if not isinstance(item, str):
                rec.add("QC-TYPE", f"{key} must be text.", key)
            elif len(item) > LINK_LENGTH:
                rec.add("QC-LENGTH", f"{key} is longer than {LINK_LENGTH}.", key)
            else:
                values[key] = item
        else:
            rec.add("QC-UNKNOWN-FIELD", f"{str(key)[:64]} is not an element of standard version "
                    f"{std.version_no}: not stored.", str(key)[:64])


def business_key(std: Standard, values: dict[str, Any]) -> str | None:
    parts = [values.get(code) for code in std.primary_key]
    if any(p is None for p in parts):
        return None
    return KEY_SEPARATOR.join(p.isoformat() if isinstance(p, date) else str(p) for p in parts)


def check_record(std: Standard, index: int, raw: Any, today: date, findings: list[Finding]) -> Checked:
    """The record rules on one record; findings are appended to `findings`."""
    if not isinstance(raw, dict):
        rec = _Record(index, {}, findings)
        rec.add("QC-TYPE", "A record must be a JSON object keyed by element codes.")
        return Checked(index, {}, None, True)
    start = len(findings)
    rec = _Record(index, raw, findings)
    values: dict[str, Any] = {}
    for e in std.elements:
        value = _check_element(rec, e, raw.get(e.code))
        if value is not None:
            values[e.code] = value
    _check_identity(rec, std, values, today)
    _check_dates(rec, std, values, today)
    _check_contacts(rec, values)
    _check_extras(rec, std, raw, values)
    key = business_key(std, values)
    if key is not None and len(key) > KEY_LENGTH:
        rec.add("QC-LENGTH", f"The primary key is longer than {KEY_LENGTH}.", std.primary_key[0])
        key = None
    for finding in findings[start:]:
        finding.record_key = key
    return Checked(index, values, key, rec.failed)


def _dedupe(records: list[Checked], findings: list[Finding]) -> list[Checked]:
    """主键重复 within the batch: the last record of a key wins; the earlier ones are OVERWRITE findings."""
    last: dict[str, Checked] = {}
    for rec in records:
        if rec.key is None:
            continue
        earlier = last.get(rec.key)
        if earlier is not None:
            findings.append(Finding(BY_CODE["QC-PK-DUP"], f"Record {earlier.index} has the same primary key as "
                                    f"record {rec.index}, which replaces it.", earlier.index, rec.key,
                                    None, _issuer(earlier)))
        last[rec.key] = rec
    return list(last.values())


def _issuer(rec: Checked) -> str | None:
    issuer = rec.values.get("issuerName")
    return str(issuer)[:100] if issuer else None


def _fail(findings: list[Finding], code: str, rec: Checked, message: str, element: str | None) -> None:
    rec.failed = True
    findings.append(Finding(BY_CODE[code], message[:MESSAGE_LENGTH], rec.index, rec.key, element, _issuer(rec)))


def _check_numbers(records: list[Checked], existing: Existing, findings: list[Finding]) -> None:
    """证照编号无重复: a number belongs to one primary key (relevant when the key is not the number alone)."""
    seen: dict[str, Checked] = {}
    for rec in records:
        number = rec.values.get("number")
        if number is None or rec.key is None:
            continue
        other = seen.get(number)
        if other is not None and other.key != rec.key:
            _fail(findings, "QC-KEY-UNIQUE", rec, f"证照编号 is also used by record {other.index} of this batch.",
                  "number")
            continue
        seen[number] = rec
        stored = existing.by_number.get(number)
        if stored is not None and stored.key != rec.key:
            _fail(findings, "QC-KEY-UNIQUE", rec, "证照编号 is already used by another licence of this type.",
                  "number")


def _check_one_valid(std: Standard, records: list[Checked], existing: Existing, today: date,
                     findings: list[Finding]) -> None:
    """同一主体同类证照无重复有效数据, over the library as it would be after this batch."""
    if std.type_code in SEVERAL_PER_HOLDER:
        return
    valid: dict[str, dict[str, str]] = defaultdict(dict)  # holder -> key -> number
    batch_keys = {r.key for r in records if r.key is not None}
    for stored in existing.licences:
        if stored.valid and stored.holder is not None and stored.key not in batch_keys:
            valid[stored.holder][stored.key] = stored.number
    for rec in records:
        holder = rec.holder()
        if rec.key is not None and holder is not None and rec.is_valid_on(today):
            valid[holder][rec.key] = str(rec.values.get("number"))
    for rec in records:
        holder = rec.holder()
        if rec.key is None or holder is None or not rec.is_valid_on(today) or len(valid[holder]) < 2:
            continue
        others = sorted(n for k, n in valid[holder].items() if k != rec.key)
        _fail(findings, "QC-ONE-VALID-PER-SUBJECT", rec, "The holder would hold another valid licence of this "
              f"type: 证照编号 {', '.join(others[:3])}.", "holderIdNumber" if holder.startswith("id:")
              else "holderCreditCode")


def check_records(std: Standard, records: Sequence[Any], today: date) -> Outcome:
    """The record rules and the in-batch duplicate rule; what `check_across` needs to know is then in
    `Outcome.records` (keys, numbers, holders)."""
    findings: list[Finding] = []
    checked = [check_record(std, i, raw, today, findings) for i, raw in enumerate(records)]
    return Outcome(_dedupe(checked, findings), findings)


def check_across(std: Standard, outcome: Outcome, existing: Existing, today: date) -> Outcome:
    """The rules across records: numbers and valid licences per holder, against the batch and `existing` (the
    library's licences of the type sharing a primary key, a number or a holder with the batch)."""
    candidates = [r for r in outcome.records if not r.failed]
    _check_numbers(candidates, existing, outcome.findings)
    _check_one_valid(std, candidates, existing, today, outcome.findings)
    return outcome


def check_batch(std: Standard, records: Sequence[Any], existing: Existing, today: date) -> Outcome:
    """Every rule on a batch."""
    return check_across(std, check_records(std, records, today), existing, today)
