"""Licence standards (证照标准): versions, data elements, review and enabling, the change log."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON

from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.licences import models
from subgraphs.licences.access import actor_of, check_manager
from subgraphs.licences.codes import LICENCE_TYPES, HolderKind, LicenceTypeCode, StandardVersionStatus, type_info
from subgraphs.licences.domain import standards
from subgraphs.licences.types import Info

VersionStatus = strawberry.enum(
    StandardVersionStatus, name="StandardVersionStatus",
    description="标准版本状态: DRAFT 草稿, APPROVED 审核通过, REJECTED 审核不通过, ENABLED 启用, ARCHIVED 历史版本.")


@strawberry.enum(description="数据类型 of a data element.")
class DataType(Enum):
    STRING = "STRING"
    DATE = "DATE"
    INTEGER = "INTEGER"
    DECIMAL = "DECIMAL"
    CODE = "CODE"
    LIST = "LIST"
    IMAGE = "IMAGE"


@strawberry.type(description="数据元: one field of a standard version; its code is the key in ingested records.")
class DataElement:
    code: str = strawberry.field(description="The record key, e.g. holderIdNumber.")
    name: str = strawberry.field(description="中文名 as the tender words it for the type, e.g. 身份证号.")
    data_type: DataType = strawberry.field(description="数据类型.")
    max_length: int | None = strawberry.field(
        description="长度限制: characters (digits for INTEGER, entries for LIST).")
    required: bool = strawberry.field(description="Required (必填): missing values fail quality control.")
    value_domain: list[str] | None = strawberry.field(description="值域范围: the allowed values, if restricted.")
    is_primary_key: bool = strawberry.field(description="主键: part of the upsert key.")
    is_business_date: bool = strawberry.field(description="业务日期: checked by QC-BIZDATE-FMT.")
    envelope: str | None = strawberry.field(description="The envelope field it fills (licence column), if any.")
    definition: str = strawberry.field(description="字段定义说明.")
    ordinal: int = strawberry.field(description="Position in the standard.")

    @classmethod
    def from_row(cls, row: models.DataElement) -> DataElement:
        return cls(code=row.code, name=row.name, data_type=DataType(row.data_type), max_length=row.max_length,
                   required=row.required, value_domain=row.value_domain, is_primary_key=row.is_primary_key,
                   is_business_date=row.is_business_date, envelope=row.envelope, definition=row.definition,
                   ordinal=row.ordinal)


@strawberry.type(description="与上一个启用版本的内容区别: one element's difference from the enabled version.")
class ElementDiff:
    code: str
    change: str = strawberry.field(description="ADDED, CHANGED or REMOVED.")
    fields: list[str] = strawberry.field(description="The attributes changed (CHANGED only), snake_case.")
    before: JSON | None = strawberry.field(description="The attributes before (null when ADDED).")
    after: JSON | None = strawberry.field(description="The attributes after (null when REMOVED).")


@strawberry.type(description="标准版本: a version of a licence standard.")
class StandardVersion:
    id: strawberry.ID
    version_no: int = strawberry.field(description="版本号.")
    status: StandardVersionStatus = strawberry.field(description="DRAFT, APPROVED, REJECTED, ENABLED or ARCHIVED.")
    change_summary: str = strawberry.field(description="版本更新内容.")
    based_on_version_id: strawberry.ID | None = strawberry.field(description="The enabled version it was drafted from.")
    created_by: str
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comment: str | None
    enabled_at: datetime | None
    row: strawberry.Private[models.LicenceStandardVersion]

    @classmethod
    def from_row(cls, row: models.LicenceStandardVersion) -> StandardVersion:
        return cls(id=strawberry.ID(row.id), version_no=row.version_no, status=StandardVersionStatus(row.status),
                   change_summary=row.change_summary,
                   based_on_version_id=strawberry.ID(row.based_on_version_id) if row.based_on_version_id else None,
                   created_by=row.created_by, created_at=row.created_at, reviewed_by=row.reviewed_by,
                   reviewed_at=row.reviewed_at, review_comment=row.review_comment, enabled_at=row.enabled_at, row=row)

    @strawberry.field(description="数据元, in order.")
    async def elements(self, info: Info) -> list[DataElement]:
        async with info.context.session() as session:
            return [DataElement.from_row(e) for e in await standards.elements_of(session, self.row.id)]

    @strawberry.field(description="The difference from the enabled version it was drafted from (empty for v1).")
    def diff(self) -> list[ElementDiff]:
        return [ElementDiff(code=d["code"], change=d["change"], fields=list(d.get("fields") or []),
                            before=d.get("before"), after=d.get("after")) for d in self.row.diff or []]


@strawberry.type(description="标准变更记录: who changed a standard, when, and the content before and after (L5060).")
class StandardChange:
    id: strawberry.ID
    action: str = strawberry.field(description="CREATED, DRAFTED, APPROVED, REJECTED or ENABLED.")
    version_id: strawberry.ID | None
    operator: str = strawberry.field(description="操作人.")
    operated_at: datetime = strawberry.field(description="操作时间.")
    before: JSON | None = strawberry.field(description="修改前.")
    after: JSON | None = strawberry.field(description="修改后.")

    @classmethod
    def from_row(cls, row: models.StandardChangeLog) -> StandardChange:
        return cls(id=strawberry.ID(str(row.id)), action=row.action,
                   version_id=strawberry.ID(row.version_id) if row.version_id else None, operator=row.operator,
                   operated_at=row.operated_at, before=row.before, after=row.after)


@strawberry.type(description="证照标准: the standard of one licence type.")
class LicenceStandard:
    id: strawberry.ID
    type: LicenceTypeCode
    name: str = strawberry.field(description="证照名称.")
    created_at: datetime = strawberry.field(description="创建时间.")
    row: strawberry.Private[models.LicenceStandard]

    @classmethod
    def from_row(cls, row: models.LicenceStandard) -> LicenceStandard:
        return cls(id=strawberry.ID(row.id), type=LicenceTypeCode(row.type_code), name=row.name,
                   created_at=row.created_at, row=row)

    @strawberry.field(description="The enabled version (启用): the one that validates incoming records.")
    async def enabled_version(self, info: Info) -> StandardVersion | None:
        async with info.context.session() as session:
            row = await session.get(models.LicenceStandardVersion, self.row.enabled_version_id or "")
        return StandardVersion.from_row(row) if row else None

    @strawberry.field(description="Every version, newest first.")
    async def versions(self, info: Info) -> list[StandardVersion]:
        V = models.LicenceStandardVersion
        async with info.context.session() as session:
            rows = await session.scalars(select(V).where(V.standard_id == self.row.id).order_by(V.version_no.desc()))
            return [StandardVersion.from_row(r) for r in rows]

    @strawberry.field(description="标准变更记录, oldest first.")
    async def change_log(self, info: Info, first: int = 20, after: str | None = None) -> Connection[StandardChange]:
        C = models.StandardChangeLog
        async with info.context.session() as session:
            return await keyset_page(session, select(C).where(C.standard_id == self.row.id), order_by=[C.id],
                                     sort_key=lambda r: [r.id], to_node=StandardChange.from_row,
                                     page=PageRequest(first=first, after=after))


@strawberry.type(description="证照类型: one of the eleven licence types.")
class LicenceType:
    code: LicenceTypeCode
    ordinal: int = strawberry.field(description="The tender's numbering, 1-11.")
    name: str = strawberry.field(description="证照名称.")
    name_en: str
    holder_kind: HolderKind = strawberry.field(description="持证主体类别.")
    has_validity: bool = strawberry.field(description="Whether licences of the type carry a validity period.")
    template_id: str = strawberry.field(description="电子证照底板.")

    @strawberry.field(description="The type's standard.")
    async def standard(self, info: Info) -> LicenceStandard | None:
        async with info.context.session() as session:
            row = await session.scalar(select(models.LicenceStandard).where(
                models.LicenceStandard.type_code == self.code.value))
        return LicenceStandard.from_row(row) if row else None


@strawberry.input(description="One element change of a draft: an existing code changes the attributes given; a new "
                              "code adds an element (name and dataType required). Omitted attributes are unchanged.")
class ElementChangeInput:
    code: str
    name: str | None = strawberry.UNSET
    data_type: DataType | None = strawberry.UNSET
    max_length: int | None = strawberry.UNSET
    required: bool | None = strawberry.UNSET
    value_domain: list[str] | None = strawberry.UNSET
    definition: str | None = strawberry.UNSET
    is_primary_key: bool | None = strawberry.UNSET
    is_business_date: bool | None = strawberry.UNSET

    def to_change(self) -> standards.ElementChange:
        attrs: dict[str, Any] = {}
        for key in standards.EDITABLE:
            value = getattr(self, key)
            if value is not strawberry.UNSET:
                attrs[key] = value.value if isinstance(value, DataType) else value
        return standards.ElementChange(self.code, attrs)


def _type_of(code: LicenceTypeCode) -> LicenceType:
    info = type_info(code)
    return LicenceType(code=code, ordinal=info.ordinal, name=info.name, name_en=info.name_en,
                       holder_kind=info.holder_kind, has_validity=info.has_validity, template_id=info.template_id)


@strawberry.type
class StandardQueries:
    @strawberry.field(description="证照类型: the eleven licence types, in the tender's order.")
    def licence_types(self) -> list[LicenceType]:
        return [_type_of(code) for code in LICENCE_TYPES]

    @strawberry.field(description="证照标准 of one type.")
    async def licence_standard(self, info: Info, type: LicenceTypeCode) -> LicenceStandard | None:
        async with info.context.session() as session:
            row = await session.scalar(select(models.LicenceStandard).where(
                models.LicenceStandard.type_code == type.value))
        return LicenceStandard.from_row(row) if row else None

    @strawberry.field(description="One standard version by id.")
    async def standard_version(self, info: Info, id: strawberry.ID) -> StandardVersion | None:
        async with info.context.session() as session:
            row = await session.get(models.LicenceStandardVersion, str(id))
        return StandardVersion.from_row(row) if row else None


@strawberry.type
class StandardMutations:
    @strawberry.mutation(description="标准更新: change element lengths, data types, definitions, flags, or add "
                                     "elements. The changes go into the type's draft version (created from the "
                                     "enabled one), whose diff is recomputed. Managers only.")
    async def draft_standard_change(self, info: Info, type: LicenceTypeCode, changes: list[ElementChangeInput],
                                    summary: str = "") -> StandardVersion:
        check_manager(info.context.caller, "Changing a licence standard")
        async with info.context.transaction() as session:
            row = await standards.draft_change(session, type, [c.to_change() for c in changes], summary,
                                               actor_of(info.context.caller), datetime.now(UTC))
        return StandardVersion.from_row(row)

    @strawberry.mutation(description="审核: approve or reject (comment required) a draft version. Managers only.")
    async def review_standard_version(self, info: Info, version_id: strawberry.ID, approve: bool,
                                      comment: str = "") -> StandardVersion:
        check_manager(info.context.caller, "Reviewing a licence standard")
        async with info.context.transaction() as session:
            row = await standards.review(session, str(version_id), approve, comment, actor_of(info.context.caller),
                                         datetime.now(UTC))
        return StandardVersion.from_row(row)

    @strawberry.mutation(description="启用: an approved version becomes the enabled one; the old one is archived. "
                                     "Records are validated against it from now on. Managers only.")
    async def enable_standard_version(self, info: Info, version_id: strawberry.ID) -> StandardVersion:
        check_manager(info.context.caller, "Enabling a licence standard")
        async with info.context.transaction() as session:
            row = await standards.enable(session, str(version_id), actor_of(info.context.caller), datetime.now(UTC))
        return StandardVersion.from_row(row)


queries: list[type] = [StandardQueries]
mutations: list[type] = [StandardMutations]
