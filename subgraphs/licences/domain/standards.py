"""Licence standards (证照标准, 5.1.3.1): seeding v1, the enabled version, drafts with their diff, review and
enabling, and the change log (L5051-L5067).

A version is never edited once reviewed: an edit goes into the standard's one DRAFT version (created as a copy
of the enabled version on the first edit), whose diff against the enabled version is recomputed on every
edit (标记与上一个启用版本的内容区别, L5065). Review approves or rejects it; enabling an approved version
archives the previously enabled one. Only the enabled version validates incoming records (L5067).

Callers check the manager role (access.check_manager); these functions record `actor` as the operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.licences import models
from subgraphs.licences.codes import LICENCE_TYPES, LicenceTypeCode, StandardVersionStatus, type_info
from subgraphs.licences.domain.standard_v1 import (
    DATA_TYPES,
    DATE,
    ENVELOPE_CODES,
    ENVELOPE_MAX_LENGTH,
    LINK_KEYS,
    STORAGE_REQUIRED,
    V1,
    VALID_FLAG_KEY,
    ElementDef,
)

S = StandardVersionStatus
# The attributes of a data element a draft may change (标准更新: 字段长度、字段数据类型、修改字段定义说明, plus
# the 核心字段配置 of L5055: primary key and business date), and those a new element must state.
EDITABLE = ("name", "data_type", "max_length", "required", "value_domain", "definition", "is_primary_key",
            "is_business_date")
CODE_PATTERN = re.compile(r"^[a-z][A-Za-z0-9]{0,63}$")
NAME_LENGTH, DEFINITION_LENGTH, SUMMARY_LENGTH, COMMENT_LENGTH = 64, 500, 500, 500
DOMAIN_SIZE = 200


@dataclass
class ElementChange:
    """One edit of a draft: the element `code` (new or existing) and the attributes it changes."""

    code: str
    attrs: dict[str, Any] = field(default_factory=dict)


def standard_id(type_code: LicenceTypeCode | str) -> str:
    return f"std-{type_info(type_code).id_prefix}"


def version_id(type_code: LicenceTypeCode | str, version_no: int) -> str:
    return f"stdv-{type_info(type_code).id_prefix}-{version_no}"


def element_dict(element: models.DataElement | ElementDef) -> dict[str, Any]:
    """The element as plain data: what the diff and the change log compare."""
    domain = element.value_domain
    return {
        "code": element.code, "name": element.name, "data_type": element.data_type,
        "max_length": element.max_length, "required": element.required,
        "value_domain": list(domain) if domain is not None else None, "is_primary_key": element.is_primary_key,
        "is_business_date": element.is_business_date, "definition": element.definition,
    }


def _element_row(version: str, ordinal: int, spec: ElementDef) -> models.DataElement:
    return models.DataElement(
        version_id=version, ordinal=ordinal, code=spec.code, name=spec.name, data_type=spec.data_type,
        max_length=spec.max_length, required=spec.required,
        value_domain=list(spec.value_domain) if spec.value_domain is not None else None,
        is_primary_key=spec.is_primary_key, is_business_date=spec.is_business_date, envelope=spec.envelope,
        definition=spec.definition)


async def seed_standards(session: AsyncSession, now: datetime) -> int:
    """Create the standard of every type that has none, with v1 ENABLED; returns how many were created."""
    existing = set((await session.scalars(select(models.LicenceStandard.type_code))).all())
    created = 0
    for code, info in LICENCE_TYPES.items():
        if code.value in existing:
            continue
        std, ver = standard_id(code), version_id(code, 1)
        session.add(models.LicenceStandard(id=std, type_code=code.value, name=info.name, enabled_version_id=ver,
                                           created_at=now))
        await session.flush()
        session.add(models.LicenceStandardVersion(
            id=ver, standard_id=std, version_no=1, status=S.ENABLED.value,
            change_summary="v1: the tender's field list (5.1.3.1.1) with the common envelope", diff=[],
            created_by="system", created_at=now, reviewed_by="system", reviewed_at=now, enabled_at=now))
        await session.flush()
        session.add_all(_element_row(ver, i, spec) for i, spec in enumerate(V1[code], start=1))
        session.add(models.StandardChangeLog(
            standard_id=std, version_id=ver, action="CREATED", operator="system", operated_at=now, before=None,
            after={"versionNo": 1, "elements": [element_dict(e) for e in V1[code]]}))
        created += 1
    await session.flush()
    return created


async def standard_of(session: AsyncSession, type_code: LicenceTypeCode | str) -> models.LicenceStandard:
    row = await session.scalar(select(models.LicenceStandard).where(
        models.LicenceStandard.type_code == LicenceTypeCode(type_code).value))
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"The standard of {LicenceTypeCode(type_code).value} is not set up.",
                           argument="type")
    return row


async def enabled_version(session: AsyncSession, type_code: LicenceTypeCode | str
                          ) -> tuple[models.LicenceStandardVersion, list[models.DataElement]]:
    """The version that validates incoming records of the type, with its elements in order (one query)."""
    V, E, St = models.LicenceStandardVersion, models.DataElement, models.LicenceStandard
    rows = (await session.execute(
        select(V, E).join(St, St.enabled_version_id == V.id).join(E, E.version_id == V.id)
        .where(St.type_code == LicenceTypeCode(type_code).value).order_by(E.ordinal))).all()
    if not rows:
        raise domain_error(ErrorCode.INVALID_STATE,
                           f"{LicenceTypeCode(type_code).value} has no enabled standard version.", argument="type")
    return rows[0][0], [r[1] for r in rows]


async def elements_of(session: AsyncSession, version: str) -> list[models.DataElement]:
    E = models.DataElement
    return list((await session.scalars(select(E).where(E.version_id == version).order_by(E.ordinal))).all())


async def version_of(session: AsyncSession, version: str) -> models.LicenceStandardVersion:
    row = await session.get(models.LicenceStandardVersion, version)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No standard version has id {version}.", argument="versionId")
    return row


def diff_of(enabled: list[models.DataElement], draft: list[models.DataElement]) -> list[dict[str, Any]]:
    """Element by element: ADDED, REMOVED, or CHANGED with the changed attributes before and after."""
    before = {e.code: element_dict(e) for e in enabled}
    after = {e.code: element_dict(e) for e in draft}
    out: list[dict[str, Any]] = []
    for code, new in after.items():
        old = before.get(code)
        if old is None:
            out.append({"code": code, "change": "ADDED", "fields": [], "before": None, "after": new})
            continue
        changed = [k for k in EDITABLE if old[k] != new[k]]
        if changed:
            out.append({"code": code, "change": "CHANGED", "fields": changed,
                        "before": {k: old[k] for k in changed}, "after": {k: new[k] for k in changed}})
    out.extend({"code": code, "change": "REMOVED", "fields": [], "before": old, "after": None}
               for code, old in before.items() if code not in after)
    return out


def _clean_attrs(code: str, attrs: dict[str, Any], existing: models.DataElement | None) -> dict[str, Any]:
    """The edit's attributes, validated one by one (BAD_USER_INPUT naming the element and attribute)."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if key not in EDITABLE:
            raise bad_input(f"{key} of a data element cannot be changed.", element=code, field=key)
        if key == "name":
            value = (value or "").strip()
            if not value or len(value) > NAME_LENGTH:
                raise bad_input(f"The name of {code} must have 1 to {NAME_LENGTH} characters.", element=code,
                                field=key)
        elif key == "definition":
            value = (value or "").strip()
            if len(value) > DEFINITION_LENGTH:
                raise bad_input(f"The definition of {code} holds at most {DEFINITION_LENGTH} characters.",
                                element=code, field=key)
        elif key == "data_type":
            if value not in DATA_TYPES:
                raise bad_input(f"dataType must be one of {', '.join(DATA_TYPES)}.", element=code, field=key)
            if code in ENVELOPE_CODES and existing is not None and value != existing.data_type:
                raise bad_input(f"{code} fills a column of the licence: its data type stays {existing.data_type}.",
                                element=code, field=key)
        elif key == "max_length":
            cap = ENVELOPE_MAX_LENGTH.get(code)
            if value is not None and (value < 1 or (cap is not None and value > cap)):
                raise bad_input(f"maxLength of {code} must be between 1 and {cap or 'any length'}.", element=code,
                                field=key, maximum=cap)
            if value is None and cap is not None:
                raise bad_input(f"{code} fills a column of at most {cap} characters: it needs a maxLength.",
                                element=code, field=key, maximum=cap)
        elif key == "value_domain":
            if value is not None:
                value = [str(v).strip() for v in value]
                if not value or len(value) > DOMAIN_SIZE or not all(value) or len(set(value)) != len(value):
                    raise bad_input(f"valueDomain of {code} must list 1 to {DOMAIN_SIZE} distinct, non-empty "
                                    "values.", element=code, field=key)
        elif value is None:
            raise bad_input(f"{key} of {code} cannot be null.", element=code, field=key)
        out[key] = value
    return out


def _check_version(elements: list[models.DataElement]) -> None:
    """What must hold of a whole version for ingestion to work with it."""
    keys = [e for e in elements if e.is_primary_key]
    if not keys:
        raise bad_input("A standard needs at least one primary-key element (主键).", field="isPrimaryKey")
    dates = [e for e in elements if e.is_business_date]
    if len(dates) != 1 or dates[0].data_type != DATE:
        raise bad_input("A standard needs exactly one business-date element (业务日期), of type DATE.",
                        field="isBusinessDate")
    for e in elements:
        if e.code in STORAGE_REQUIRED and not e.required:
            raise bad_input(f"{e.code} is needed to store a licence: it stays required.", element=e.code,
                            field="required")
        if e.is_primary_key and not e.required:
            e.required = True  # a key is never optional (主键非空校验)


async def draft_change(session: AsyncSession, type_code: LicenceTypeCode | str, changes: list[ElementChange],
                       summary: str, actor: str, now: datetime) -> models.LicenceStandardVersion:
    """Apply `changes` to the type's DRAFT version (created from the enabled one if there is none)."""
    if not changes:
        raise bad_input("A standard change needs at least one element change.", argument="changes")
    summary = summary.strip()
    if len(summary) > SUMMARY_LENGTH:
        raise bad_input(f"The summary holds at most {SUMMARY_LENGTH} characters.", argument="summary")
    standard = await standard_of(session, type_code)
    enabled, enabled_elements = await enabled_version(session, type_code)
    V = models.LicenceStandardVersion
    draft = await session.scalar(select(V).where(V.standard_id == standard.id, V.status == S.DRAFT.value))
    if draft is None:
        number = int(await session.scalar(select(func.max(V.version_no)).where(V.standard_id == standard.id))
                     or 0) + 1
        draft = V(id=version_id(type_code, number), standard_id=standard.id, version_no=number,
                  status=S.DRAFT.value, change_summary=summary, diff=[], based_on_version_id=enabled.id,
                  created_by=actor, created_at=now)
        session.add(draft)
        await session.flush()
        session.add_all(_element_row(draft.id, e.ordinal, ElementDef(
            e.code, e.name, e.data_type, e.max_length, e.required,
            tuple(e.value_domain) if e.value_domain is not None else None, e.is_primary_key, e.is_business_date,
            e.definition)) for e in enabled_elements)
        await session.flush()
    elif summary:
        draft.change_summary = summary
    elements = await elements_of(session, draft.id)
    by_code = {e.code: e for e in elements}
    log_before: dict[str, Any] = {}
    log_after: dict[str, Any] = {}
    for change in changes:
        code = change.code.strip()
        existing = by_code.get(code)
        attrs = _clean_attrs(code, change.attrs, existing)
        log_before[code] = element_dict(existing) if existing else None
        if existing is None:
            _check_new(code, attrs)
            existing = _element_row(draft.id, max((e.ordinal for e in elements), default=0) + 1, ElementDef(
                code, attrs["name"], attrs["data_type"]))
            session.add(existing)
            elements.append(existing)
            by_code[code] = existing
        for key, value in attrs.items():
            setattr(existing, key, value)
        log_after[code] = element_dict(existing)
    _check_version(elements)
    draft.diff = diff_of(enabled_elements, elements)
    session.add(models.StandardChangeLog(standard_id=standard.id, version_id=draft.id, action="DRAFTED",
                                         operator=actor, operated_at=now, before=log_before, after=log_after))
    await session.flush()
    return draft


def _check_new(code: str, attrs: dict[str, Any]) -> None:
    if not CODE_PATTERN.match(code):
        raise bad_input("A new element's code must be camelCase letters and digits (e.g. examResult).",
                        element=code, field="code")
    if code in LINK_KEYS or code == VALID_FLAG_KEY:
        raise bad_input(f"{code} is a reserved record key.", element=code, field="code")
    if code in ENVELOPE_CODES:
        raise bad_input(f"{code} is an envelope field; it can only be added as part of the type's envelope.",
                        element=code, field="code")
    if "name" not in attrs or "data_type" not in attrs:
        raise bad_input(f"The new element {code} needs a name and a dataType.", element=code)


async def review(session: AsyncSession, version: str, approve: bool, comment: str, actor: str,
                 now: datetime) -> models.LicenceStandardVersion:
    """审核: approve or reject a DRAFT version."""
    comment = comment.strip()
    if len(comment) > COMMENT_LENGTH:
        raise bad_input(f"The comment holds at most {COMMENT_LENGTH} characters.", argument="comment")
    row = await version_of(session, version)
    if row.status != S.DRAFT.value:
        raise domain_error(ErrorCode.INVALID_STATE, f"Version {row.version_no} is {row.status}: only a draft is "
                           "reviewed.", argument="versionId", status=row.status)
    if not approve and not comment:
        raise bad_input("Say why the version is rejected (comment).", argument="comment")
    row.status = (S.APPROVED if approve else S.REJECTED).value
    row.reviewed_by, row.reviewed_at, row.review_comment = actor, now, comment or None
    session.add(models.StandardChangeLog(
        standard_id=row.standard_id, version_id=row.id, action="APPROVED" if approve else "REJECTED",
        operator=actor, operated_at=now, before={"status": S.DRAFT.value},
        after={"status": row.status, "comment": comment or None}))
    await session.flush()
    return row


async def enable(session: AsyncSession, version: str, actor: str, now: datetime) -> models.LicenceStandardVersion:
    """启用: the approved version replaces the enabled one, which is archived."""
    row = await version_of(session, version)
    if row.status != S.APPROVED.value:
        raise domain_error(ErrorCode.INVALID_STATE, f"Version {row.version_no} is {row.status}: only an approved "
                           "version can be enabled.", argument="versionId", status=row.status)
    standard = await session.get(models.LicenceStandard, row.standard_id)
    assert standard is not None
    if row.based_on_version_id != standard.enabled_version_id:
        raise domain_error(ErrorCode.INVALID_STATE, f"Version {row.version_no} was drafted from a version that is "
                           "no longer enabled: draft the change again.", argument="versionId")
    old = await session.get(models.LicenceStandardVersion, standard.enabled_version_id or "")
    if old is not None:
        old.status = S.ARCHIVED.value
    row.status, row.enabled_at = S.ENABLED.value, now
    standard.enabled_version_id = row.id
    session.add(models.StandardChangeLog(
        standard_id=standard.id, version_id=row.id, action="ENABLED", operator=actor, operated_at=now,
        before={"enabledVersion": old.version_no if old else None},
        after={"enabledVersion": row.version_no, "diff": row.diff}))
    await session.flush()
    return row
