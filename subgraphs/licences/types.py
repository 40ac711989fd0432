"""licences' GraphQL types, and the entities of other subgraphs that licences extends (Person with the
licences a person holds, Organization with the licences an organisation holds).

Who sees what of a licence (licences.md §7.6, docs/licences/records-and-lookups.md):

* managers, and the holder (the caller's person is the holder, or the caller's organisation holds it) see
  the whole face (FULL);
* the employer of a health certificate's holder sees its staff's certificates with names in full and
  personal details masked (STAFF); nobody else sees a health certificate at all (从业人员只能查看自己的健康证);
* public lookups, and other callers reading a person's or organisation's licences, get the PUBLIC face;
* any other caller reading a licence by id or number gets the MASKED face.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any, Self, cast

import strawberry
from strawberry.scalars import JSON

from subgraphs.common.caller import Caller
from subgraphs.common.context import SubgraphContext
from subgraphs.common.masking import mask_id_number, mask_name
from subgraphs.licences import models
from subgraphs.licences.access import is_manager
from subgraphs.licences.codes import HolderKind, LicenceOperation, LicenceTypeCode, type_info
from subgraphs.licences.domain.face import PUBLIC_NAME_TYPES, Disclosure, disclose, face_of
from subgraphs.licences.domain.statistics import is_near_expiry
from subgraphs.licences.loaders import Loaders
from subgraphs.licences.status import LicenceStatus, licence_status, today_in_china

Info = strawberry.Info[SubgraphContext[Loaders], Any]

LicenceOperationCode = strawberry.enum(
    LicenceOperation, name="LicenceOperation",
    description="证照操作 (日志留存): COLLECTED 归集入库, UPDATED 覆盖更新, GENERATED 证照生成, REVOKED 证照废除, "
                "INVALIDATED 置为无效 (validFlag 0), RESTORED 恢复有效 (validFlag 1).")

HEALTH_CERTIFICATE = LicenceTypeCode.HEALTH_CERTIFICATE.value


@strawberry.enum
class Sex(Enum):
    MALE = "MALE"
    FEMALE = "FEMALE"


class View(Enum):
    """How a licence was reached, which caps what a caller without a claim on it sees."""

    DIRECT = "DIRECT"  # by id or number: the MASKED face
    PUBLIC = "PUBLIC"  # public lookups, someone else's Person/Organization.licences: the PUBLIC face


class Audience(Enum):
    FULL = "FULL"  # managers and the holder
    STAFF = "STAFF"  # the employer of a health certificate's holder
    MASKED = "MASKED"
    PUBLIC = "PUBLIC"


def is_holder(caller: Caller | None, row: models.Licence) -> bool:
    if caller is None or caller.anonymous:
        return False
    return bool((caller.person_uid and caller.person_uid == row.holder_uid)
                or (caller.organization_id and caller.organization_id == row.holder_org_id))


def is_employer(caller: Caller | None, row: models.Licence) -> bool:
    return bool(caller is not None and not caller.anonymous and caller.organization_id
                and row.type_code == HEALTH_CERTIFICATE and caller.organization_id == row.employer_org_id)


def audience_of(caller: Caller | None, row: models.Licence, view: View) -> Audience | None:
    """What `caller` may see of `row`; None: not even that it exists (someone else's health certificate)."""
    if is_manager(caller) or is_holder(caller, row):
        return Audience.FULL
    if row.type_code == HEALTH_CERTIFICATE:
        return Audience.STAFF if is_employer(caller, row) else None
    return Audience.PUBLIC if view is View.PUBLIC else Audience.MASKED


DISCLOSURE = {Audience.FULL: Disclosure.FULL, Audience.STAFF: Disclosure.MASKED,
              Audience.MASKED: Disclosure.MASKED, Audience.PUBLIC: Disclosure.PUBLIC}


def visible(info: Info, rows: list[models.Licence], view: View) -> list[Licence]:
    """The rows the caller may see, as Licences carrying the view they were reached by."""
    caller = info.context.caller
    return [Licence.from_row(r, view) for r in rows if audience_of(caller, r, view) is not None]


@strawberry.federation.type(
    keys=["id"],
    description="机构 (owned by identity): an issuing authority, a medical institution or an employer; "
                "licences adds the licences the organisation holds.",
)
class Organization:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Self:
        # Any id is accepted: whether the organisation exists is identity's business, and one holding no
        # licence simply has an empty list here.
        return cls(id=id)

    @strawberry.field(description="单位证照: the licences the organisation holds (医疗机构执业许可证, 中医诊所备案证), "
                                  "newest first. Managers and the organisation's own users see the whole face, "
                                  "others the public one.")
    async def licences(self, info: Info, type: LicenceTypeCode | None = None, status: LicenceStatus | None = None,
                       first: int = 50) -> list[Licence]:
        rows = await info.context.loaders.licences_by_holder_org.load(str(self.id))
        return visible(info, filter_rows(rows, type, status), View.PUBLIC)[:max(first, 0)]


def filter_rows(rows: list[models.Licence], type: LicenceTypeCode | None,
                status: LicenceStatus | None) -> list[models.Licence]:
    today = today_in_china()
    return [r for r in rows if (type is None or r.type_code == type.value)
            and (status is None or licence_status(r, today) is status)]


@strawberry.type(description="生成的电子证照: the face matched to its type's template (底板), rendered and signed.")
class ElectronicLicence:
    id: strawberry.ID
    template_id: str = strawberry.field(description="证照底板 (template) id.")
    generation_mode: str = strawberry.field(description="制证方式: STOCK (存量), INCREMENTAL (增量) or APPLICATION.")
    key_id: str = strawberry.field(description="The id of the key that signed the face.")
    generated_at: datetime = strawberry.field(description="制证时间.")
    generation: int = strawberry.field(description="How many times the face was generated (1 = never changed).")
    row: strawberry.Private[models.ElectronicLicence]
    full: strawberry.Private[bool]

    @strawberry.field(description="在线预览 / 下载: the rendered face (SVG). Null unless you see the whole face.")
    def preview(self) -> str | None:
        return self.row.preview if self.full else None

    @strawberry.field(description="SHA-256 of the canonical face. Null unless you see the whole face (the digest "
                                  "of a face would let one guess its masked fields).")
    def face_digest(self) -> str | None:
        return self.row.face_digest if self.full else None

    @strawberry.field(description="The library's signature of the face digest. Null unless you see the whole face.")
    def signature(self) -> str | None:
        return self.row.signature if self.full else None


@strawberry.type(description="证照操作日志 (日志留存, kept forever): one operation on a licence.")
class LicenceOperationEntry:
    id: strawberry.ID
    licence_id: strawberry.ID
    type: LicenceTypeCode
    operation: LicenceOperationCode  # type: ignore[valid-type]
    operator: str = strawberry.field(description="操作人: the user or system.")
    operated_at: datetime = strawberry.field(description="操作时间.")
    detail: JSON = strawberry.field(description="原因, batch, generation and the like.")

    @classmethod
    def from_row(cls, row: models.LicenceOperationLog) -> Self:
        return cls(id=strawberry.ID(str(row.id)), licence_id=strawberry.ID(row.licence_id),
                   type=LicenceTypeCode(row.type_code), operation=LicenceOperation(row.operation),
                   operator=row.operator, operated_at=row.operated_at, detail=cast(JSON, row.detail or {}))


@strawberry.federation.type(keys=["id"], description="电子证照: a licence as issued, of any of the eleven types.")
class Licence:
    id: strawberry.ID
    number: str = strawberry.field(description="证照编号.")
    type: LicenceTypeCode = strawberry.field(description="证照类型.")
    holder_sex: Sex | None = strawberry.field(description="性别, as printed on the certificate.")
    issuer_name: str = strawberry.field(description="发证机关名称, as printed on the certificate.")
    issued_at: date = strawberry.field(description="核发日期.")
    valid_from: date | None = strawberry.field(description="证照有效期限: first day (null: the type has none).")
    valid_until: date | None = strawberry.field(
        description="证照有效期限: last day (null: the licence never expires).")
    revoked_at: date | None = strawberry.field(description="废除日期: when the licence was revoked.")
    practice_institution_name: str | None = strawberry.field(
        description="执业地点（医疗机构名称）, for practising certificates."
    )
    practice_category: str | None = strawberry.field(description="执业类别, for practising certificates.")
    registered_at: date | None = strawberry.field(
        description="注册日期 (first registration), for practising certificates."
    )
    holder_kind: HolderKind = strawberry.field(description="持证主体类别: a person or an organisation.")
    source_status: str | None = strawberry.field(description="证照状态 as the source system reported it.")
    valid_flag: bool = strawberry.field(description="是否有效标识: false once invalidated (the soft delete).")
    revoked_reason: str | None = strawberry.field(description="废除原因.")
    collection_source: str = strawberry.field(description="归集来源.")
    collected_at: datetime | None = strawberry.field(description="归集时间.")
    ingested_at: datetime | None = strawberry.field(description="入库时间: the list order (newest first).")
    standard_version_id: strawberry.ID | None = strawberry.field(
        description="The standard version (证照标准版本) that validated the record.")
    version: int = strawberry.field(description="Row version, for expectedVersion on the management mutations.")
    row: strawberry.Private[models.Licence]
    view: strawberry.Private[View]

    @classmethod
    def from_row(cls, row: models.Licence, view: View = View.DIRECT) -> Self:
        return cls(
            id=strawberry.ID(row.id), number=row.number, type=LicenceTypeCode(row.type_code),
            holder_sex=Sex(row.holder_sex) if row.holder_sex else None,
            issuer_name=row.issuer_name,
            issued_at=row.issued_at, valid_from=row.valid_from, valid_until=row.valid_until,
            revoked_at=row.revoked_at, practice_institution_name=row.practice_institution_name,
            practice_category=row.practice_category, registered_at=row.registered_at,
            holder_kind=HolderKind(row.holder_kind), source_status=row.source_status, valid_flag=row.valid_flag,
            revoked_reason=row.revoked_reason, collection_source=row.collection_source,
            collected_at=row.collected_at, ingested_at=row.ingested_at,
            standard_version_id=strawberry.ID(row.standard_version_id) if row.standard_version_id else None,
            version=row.version, row=row, view=view,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.licence.load(str(id))
        if row is None or audience_of(info.context.caller, row, View.DIRECT) is None:
            return None
        return cls.from_row(row)

    def audience(self, info: Info) -> Audience:
        # Rows reach a Licence only after audience_of allowed them; MASKED covers a caller who changed since.
        return audience_of(info.context.caller, self.row, self.view) or Audience.MASKED

    @strawberry.field(description="证照名称, e.g. 护士执业证书.")
    def type_name(self) -> str:
        return type_info(self.type).name

    @strawberry.field(description="持证人姓名, as printed on the certificate. Masked to its first character (张*) "
                                  "for the masked face, and in public lookups of blood donors.")
    def holder_name(self, info: Info) -> str:
        audience = self.audience(info)
        name = self.row.holder_name
        if self.row.holder_kind != HolderKind.PERSON.value or audience in (Audience.FULL, Audience.STAFF):
            return name
        if audience is Audience.PUBLIC and self.type in PUBLIC_NAME_TYPES:
            return name
        return mask_name(name)

    @strawberry.field(description="持证人证件号码: in full to a signed-in manager and to the holder; else masked "
                                  "(first 6 and last 4 characters shown); null in public lookups.")
    def holder_id_number(self, info: Info) -> str | None:
        audience = self.audience(info)
        caller = info.context.caller
        if audience is Audience.PUBLIC:
            return None
        if audience is Audience.FULL and caller is not None and not caller.anonymous:
            return self.row.holder_id_number
        return mask_id_number(self.row.holder_id_number)

    @strawberry.field(description="照面字段: the type's own fields, keyed by their data-element codes. Whole for "
                                  "managers and the holder; else personal details are masked or left out.")
    def fields(self, info: Info) -> JSON:
        own = self.row.fields or {}
        face = disclose(face_of(self.row), DISCLOSURE[self.audience(info)])
        return cast(JSON, {k: v for k, v in face.items() if k in own})

    @strawberry.field(description="持证人: the person holding the licence.")
    def holder(self) -> Person | None:
        uid = self.row.holder_uid
        return Person(uid=strawberry.ID(uid)) if uid else None

    @strawberry.field(description="持证机构: the organisation holding the licence (types 1 and 10).")
    def holder_organization(self) -> Organization | None:
        org_id = self.row.holder_org_id
        return Organization(id=strawberry.ID(org_id)) if org_id else None

    @strawberry.field(description="用人单位: the employer of a health certificate's holder.")
    def employer(self) -> Organization | None:
        org_id = self.row.employer_org_id
        return Organization(id=strawberry.ID(org_id)) if org_id else None

    @strawberry.field(description="发证机关: the issuing health administration.")
    def issuer(self) -> Organization | None:
        org_id = self.row.issuer_org_id
        return Organization(id=strawberry.ID(org_id)) if org_id else None

    @strawberry.field(description="执业地点: the medical institution of a practising certificate.")
    def practice_institution(self) -> Organization | None:
        org_id = self.row.practice_institution_id
        return Organization(id=strawberry.ID(org_id)) if org_id else None

    @strawberry.field(description="证照状态 today (Beijing time): revoked before expired before valid.")
    def status(self) -> LicenceStatus:
        return licence_status(self.row, today_in_china())

    @strawberry.field(description="临期: valid and ending within LICENCES_NEAR_EXPIRY_DAYS (default 90) of today.")
    def near_expiry(self) -> bool:
        today = today_in_china()
        return is_near_expiry(self.row.valid_until, licence_status(self.row, today), today)

    @strawberry.field(description="The generated electronic licence (null until generated).")
    async def electronic_licence(self, info: Info) -> ElectronicLicence | None:
        row = await info.context.loaders.electronic_licence.load(self.row.id)
        if row is None:
            return None
        return ElectronicLicence(id=strawberry.ID(row.id), template_id=row.template_id,
                                 generation_mode=row.generation_mode, key_id=row.key_id,
                                 generated_at=row.generated_at, generation=row.generation, row=row,
                                 full=self.audience(info) is Audience.FULL)

    @strawberry.field(description="操作日志 of this licence, oldest first. Null unless you are a licence manager.")
    async def operation_log(self, info: Info) -> list[LicenceOperationEntry] | None:
        if not is_manager(info.context.caller):
            return None
        rows = await info.context.loaders.operation_log.load(self.row.id)
        return [LicenceOperationEntry.from_row(r) for r in rows]


@strawberry.federation.type(keys=["uid"], description="人口个案 (owned by population), with its licences.")
class Person:
    uid: strawberry.ID = strawberry.field(description="The person's key across the graph, an opaque pseudonym "
                                          "(the 统一身份识别码 is population's Person.identityCode).")

    @classmethod
    def resolve_reference(cls, uid: strawberry.ID) -> Self:
        # Nothing to look up: licences knows a person only as the holder of certificates.
        return cls(uid=uid)

    @strawberry.field(description="我的证照: the person's licences, newest first (empty if none), optionally of one "
                                  "type or status. Managers and the person see the whole face; others see the "
                                  "public face, and never someone else's health certificate.")
    async def licences(self, info: Info, type: LicenceTypeCode | None = None,
                       status: LicenceStatus | None = None) -> list[Licence]:
        rows = await info.context.loaders.licences_by_holder.load(str(self.uid))
        return visible(info, filter_rows(rows, type, status), View.PUBLIC)
