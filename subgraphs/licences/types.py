"""licences' GraphQL types, and the stubs of the entities other subgraphs own that licences extends."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any, Self

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from subgraphs.common.context import SubgraphContext
from subgraphs.common.masking import mask_id_number
from subgraphs.licences import models
from subgraphs.licences.codes import LicenceTypeCode, type_info
from subgraphs.licences.loaders import Loaders
from subgraphs.licences.status import LicenceStatus, licence_status, today_in_china

Info = strawberry.Info[SubgraphContext[Loaders], Any]


@strawberry.enum
class Sex(Enum):
    MALE = "MALE"
    FEMALE = "FEMALE"


@strawberry.federation.type(
    keys=[Key(fields=FieldSet("id"), resolvable=False)],
    description="机构 (owned by identity): an issuing authority or a medical institution.",
)
class Organization:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"], description="电子证照: an electronic licence as issued.")
class Licence:
    id: strawberry.ID
    number: str = strawberry.field(description="证照编号.")
    type: LicenceTypeCode = strawberry.field(description="证照类型.")
    holder_name: str = strawberry.field(description="持证人姓名 (护士姓名), as printed on the certificate.")
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
    row: strawberry.Private[models.Licence]

    @classmethod
    def from_row(cls, row: models.Licence) -> Self:
        return cls(
            id=strawberry.ID(row.id), number=row.number, type=LicenceTypeCode(row.type_code),
            holder_name=row.holder_name, holder_sex=Sex(row.holder_sex) if row.holder_sex else None,
            issuer_name=row.issuer_name,
            issued_at=row.issued_at, valid_from=row.valid_from, valid_until=row.valid_until,
            revoked_at=row.revoked_at, practice_institution_name=row.practice_institution_name,
            practice_category=row.practice_category, registered_at=row.registered_at, row=row,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.licence.load(str(id))
        return cls.from_row(row) if row else None

    @strawberry.field(description="证照名称, e.g. 护士执业证书.")
    def type_name(self) -> str:
        return type_info(self.type).name

    @strawberry.field(description="持证人身份证号, masked (first 6 and last 4 characters shown).")
    def holder_id_number(self) -> str | None:
        return mask_id_number(self.row.holder_id_number)

    @strawberry.field(description="持证人: the person holding the licence.")
    def holder(self) -> Person | None:
        uid = self.row.holder_uid
        return Person(uid=strawberry.ID(uid)) if uid else None

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


@strawberry.federation.type(keys=["uid"], description="人口个案 (owned by population), with its licences.")
class Person:
    uid: strawberry.ID = strawberry.field(description="The person's key across the graph, an opaque pseudonym "
                                          "(the 统一身份识别码 is population's Person.identityCode).")

    @classmethod
    def resolve_reference(cls, uid: strawberry.ID) -> Self:
        # Nothing to look up: licences knows a person only as the holder of certificates.
        return cls(uid=uid)

    @strawberry.field(description="我的证照: the person's licences, newest first (empty if none).")
    async def licences(self, info: Info) -> list[Licence]:
        rows = await info.context.loaders.licences_by_holder.load(str(self.uid))
        return [Licence.from_row(r) for r in rows]
