"""services' GraphQL types, and the stub of the person entity that services extends."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Self, cast

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON

from subgraphs.common.context import SubgraphContext
from subgraphs.common.masking import mask_name
from subgraphs.common.paging import Connection, check_first, connection_from_rows
from subgraphs.licences.codes import LicenceTypeCode
from subgraphs.services import access, models
from subgraphs.services.access import Desk
from subgraphs.services.applications import newest_first_page, sort_key
from subgraphs.services.catalogue import ApplicationKind, BusinessArea, Channel
from subgraphs.services.domain.applications import citizen_detail, is_overdue
from subgraphs.services.domain.workflow import allowed_actions
from subgraphs.services.loaders import Loaders
from subgraphs.services.status import (
    CITIZEN_LABELS,
    STAGE_OF,
    Action,
    ApplicationStage,
    ApplicationStatus,
    CitizenStatus,
    citizen_status,
)
from subgraphs.services.vocabulary import OnlineType, Party, PowerType

if TYPE_CHECKING:
    from subgraphs.services.graphql.catalogue import ServiceCategory
    from subgraphs.services.graphql.guides import ServiceGuide

Info = strawberry.Info[SubgraphContext[Loaders], Any]


@strawberry.federation.type(keys=["id"], description="事项: a service item of the catalogue (事项清单).")
class ServiceItem:
    id: strawberry.ID
    seq: int = strawberry.field(description="序号: position in the tender's list (1-70).")
    name: str = strawberry.field(description="事项名称.")
    name_en: str = strawberry.field(description="English name (the project's translation).")
    power_type: PowerType = strawberry.field(description="事项类型 (inferred: the list has no such column).")
    party: Party = strawberry.field(description="个人或法人.")
    online_type: OnlineType = strawberry.field(description="网办类型.")
    dual_publicity: bool = strawberry.field(description="是否需要双公示.")
    xiaosu: bool = strawberry.field(description="应用智慧晓苏: the AI assistant answers for this item.")
    remark: str | None = strawberry.field(description="备注, e.g. 支持一件事办理 or 备案公示.")
    enabled: bool = strawberry.field(description="启用: false once a manager has disabled (停用) the item.")
    business_area: BusinessArea | None = strawberry.field(description="业务领域.")
    channels: list[Channel] = strawberry.field(description="受理渠道 (from 网办类型).")
    category_code: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: models.ServiceItem) -> Self:
        return cls(
            id=strawberry.ID(row.id), seq=row.seq, name=row.name, name_en=row.name_en,
            power_type=PowerType(row.power_type), party=Party(row.party),
            online_type=OnlineType(row.online_type), dual_publicity=row.dual_publicity, xiaosu=row.xiaosu,
            remark=row.remark, enabled=row.enabled,
            business_area=BusinessArea(row.business_area) if row.business_area else None,
            channels=[Channel(c) for c in row.channels or []], category_code=row.category_code,
        )

    @strawberry.field(description="事项分类: the item's category (a child of its 事项类型).")
    async def category(
        self, info: Info
    ) -> Annotated[ServiceCategory, strawberry.lazy("subgraphs.services.graphql.catalogue")] | None:
        from subgraphs.services.graphql.catalogue import ServiceCategory, category_by_code

        if self.category_code is None:
            return None
        row = await category_by_code(info, self.category_code)
        return ServiceCategory.from_row(row) if row else None

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.service_item.load(str(id))
        return cls.from_row(row) if row else None

    @strawberry.field(description="业务办理项 of this item, in the tender's order.")
    async def business_items(self, info: Info) -> list[BusinessItem]:
        rows = await info.context.loaders.business_items_of_item.load(str(self.id))
        return [BusinessItem.from_row(r) for r in rows]


@strawberry.federation.type(keys=["id"], description="业务办理项: what an application is filed against.")
class BusinessItem:
    id: strawberry.ID
    name: str = strawberry.field(description="业务项名称.")
    sub_item_name: str | None = strawberry.field(description="子项名称 (null if the item has none).")
    levels: list[str] = strawberry.field(description="支持层级: 省级, 市级 and/or 县级.")
    enabled: bool = strawberry.field(description="启用: false once a manager has disabled (停用) it.")
    kind: ApplicationKind | None = strawberry.field(
        description="情形 (from the name's suffix); null for single-case items (备案, 鉴定 …).")
    licence_type: LicenceTypeCode | None = strawberry.field(
        description="The licence an approval produces (licences' 证照类型); null for 注销 and most items.")
    row: strawberry.Private[models.BusinessItem]

    @classmethod
    def from_row(cls, row: models.BusinessItem) -> Self:
        return cls(
            id=strawberry.ID(row.id), name=row.name, sub_item_name=row.sub_item_name,
            levels=row.levels.split(","), enabled=row.enabled,
            kind=ApplicationKind(row.kind) if row.kind else None,
            licence_type=LicenceTypeCode(row.licence_type) if row.licence_type else None, row=row,
        )

    @strawberry.field(description="办事指南 for a region: the region's own, else its city's, else the province's.")
    async def guide(
        self, info: Info, region_code: str | None = None
    ) -> Annotated[ServiceGuide, strawberry.lazy("subgraphs.services.graphql.guides")] | None:
        from subgraphs.services.domain.guides import region_chain
        from subgraphs.services.graphql.guides import ServiceGuide

        region_chain(region_code)  # a bad region code is refused here, as guide_for refuses it
        row = await info.context.loaders.guide.load((self.row.id, region_code))
        return ServiceGuide.from_row(row) if row else None

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.business_item.load(str(id))
        return cls.from_row(row) if row else None

    # The next four are merged cells of the item row in the tender's table: item-level facts.
    @strawberry.field(description="个人或法人 (of the item).")
    def party(self) -> Party:
        return Party(self.row.item.party)

    @strawberry.field(description="网办类型 (of the item).")
    def online_type(self) -> OnlineType:
        return OnlineType(self.row.item.online_type)

    @strawberry.field(description="是否需要双公示 (of the item).")
    def dual_publicity(self) -> bool:
        return self.row.item.dual_publicity

    @strawberry.field(description="应用智慧晓苏 (of the item).")
    def xiaosu(self) -> bool:
        return self.row.item.xiaosu

    @strawberry.field(description="事项: the service item this belongs to.")
    def item(self) -> ServiceItem:
        return ServiceItem.from_row(self.row.item)


@strawberry.federation.type(keys=["id"], description="办件: an application for a business item.")
class Application:
    id: strawberry.ID
    number: str = strawberry.field(description="办件编号.")
    status: ApplicationStatus = strawberry.field(description="办件状态 (back office).")
    created_at: datetime = strawberry.field(description="创建时间: when the application was started.")
    submitted_at: datetime | None = strawberry.field(description="申报时间: null until submitted.")
    updated_at: datetime = strawberry.field(description="最近更新时间.")
    evaluated_at: datetime | None = strawberry.field(description="评价时间: when the applicant rated it.")
    kind: str | None = strawberry.field(description="情形: 新办, 变更, 延续, 补发, 注销 or 校验.")
    channel: str = strawberry.field(description="渠道: ONLINE, WINDOW, MAIL, PROVINCIAL_HUB or BUNDLE.")
    region_code: str | None = strawberry.field(description="受理地 (region code).")
    organization_id: strawberry.ID | None = strawberry.field(description="The organisation handling the case.")
    certificate_status: str | None = strawberry.field(
        description="制证状态 (准予 with a licence): PENDING 待制证 or ISSUED 已制证.")
    delivery_status: str | None = strawberry.field(description="邮寄: MAILED 已邮寄 or RECEIVED 已收件.")
    carrier: str | None = strawberry.field(description="邮寄: the carrier (邮政/快递).")
    waybill_number: str | None = strawberry.field(description="邮寄: the waybill number (邮政快递编码) to track.")
    rating: int | None = strawberry.field(description="好差评: 1 (非常不满意) to 5 (非常满意).")
    due_at: datetime | None = strawberry.field(description="承诺办结时间: acceptance + the promised working days.")
    accepted_at: datetime | None = strawberry.field(description="受理时间.")
    completed_at: datetime | None = strawberry.field(description="办结时间.")
    rectification_due: date | None = strawberry.field(description="限期整改 after a failed site inspection.")
    version: int = strawberry.field(description="Changes so far (+1 per transition or save).")
    row: strawberry.Private[models.Application]

    @classmethod
    def from_row(cls, row: models.Application) -> Self:
        return cls(
            id=strawberry.ID(row.id), number=row.number, status=ApplicationStatus(row.status),
            created_at=row.created_at, submitted_at=row.submitted_at,
            updated_at=row.updated_at, evaluated_at=row.evaluated_at, kind=row.kind, channel=row.channel,
            region_code=row.region_code,
            organization_id=strawberry.ID(row.organization_id) if row.organization_id else None,
            certificate_status=row.certificate_status, delivery_status=row.delivery_status, carrier=row.carrier,
            waybill_number=row.waybill_number, rating=row.rating, due_at=row.due_at, accepted_at=row.accepted_at,
            completed_at=row.completed_at, rectification_due=row.rectification_due, version=row.version, row=row,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        row = await info.context.loaders.application.load(str(id))
        return cls.from_row(row) if row and access.may_see(info.context.caller, row) else None

    @strawberry.field(description="单据状态: the back-office stage (待提交, 待受理, 办件中, 已办结).")
    def stage(self) -> ApplicationStage:
        return STAGE_OF[self.status]

    @strawberry.field(description="我的办件 status: 待提交, 已提交, 办理中, 已办结 or 待评价.")
    def citizen_status(self) -> CitizenStatus:
        return citizen_status(self.status, evaluated=self.evaluated_at is not None)

    @strawberry.field(description="The citizen status in the tender's words, e.g. 办理中.")
    def citizen_status_label(self) -> str:
        return CITIZEN_LABELS[self.citizen_status()]

    @strawberry.field(description="The sub-label under the citizen status: 暂存/退回/补正, 已受理/现场勘验/专家评审/"
                                  "领导审批, 待出证/已邮寄/已收件 (null where the tender names none).")
    def citizen_status_detail(self) -> str | None:
        return citizen_detail(self.row)

    @strawberry.field(description="超期未办结: past the promised date (dueAt) and not completed.")
    def overdue(self) -> bool:
        return is_overdue(self.row)

    @strawberry.field(description="申请人姓名: whole for the applicant and staff, masked for anyone else.")
    def applicant_name(self, info: Info) -> str | None:
        caller = info.context.caller
        if access.is_applicant_of(caller, self.row) or access.works_at(
                caller, Desk.WINDOW, Desk.APPROVER, Desk.LEADER):
            return self.row.applicant_name
        return mask_name(self.row.applicant_name)

    @strawberry.field(description="Actions the state machine allows from the current status.")
    def allowed_actions(self) -> list[Action]:
        return allowed_actions(self.status)

    async def _business_item_row(self, info: Info) -> models.BusinessItem:
        row = await info.context.loaders.business_item.load(self.row.business_item_id)
        assert row is not None, "the foreign key keeps every application's business item"
        return row

    @strawberry.field(description="业务办理项 applied for.")
    async def business_item(self, info: Info) -> BusinessItem:
        return BusinessItem.from_row(await self._business_item_row(info))

    @strawberry.field(description="事项 applied for.")
    async def item(self, info: Info) -> ServiceItem:
        return ServiceItem.from_row((await self._business_item_row(info)).item)

    @strawberry.field(description="申请人: the person who applied.")
    def applicant(self) -> Person:
        return Person(uid=strawberry.ID(self.row.applicant_uid))

    @strawberry.field(description="申请单位: the organisation that applied (法人 items), else null.")
    def applicant_organization(self) -> Organization | None:
        org_id = self.row.applicant_org_id
        return Organization(id=strawberry.ID(org_id)) if org_id else None

    @strawberry.field(description="办件行为: the timeline of transitions, oldest first.")
    async def events(self, info: Info) -> list[ApplicationEvent]:
        rows = await info.context.loaders.events_of_application.load(self.row.id)
        return [ApplicationEvent.from_row(r) for r in rows]

    @strawberry.field(description="文书: the documents issued (受理通知书, 决定书, ...); the applicant sees those "
                                  "meant for them.")
    async def documents(self, info: Info) -> list[ApplicationDocument]:
        staff = access.works_at(info.context.caller, Desk.WINDOW, Desk.APPROVER, Desk.LEADER)
        rows = await info.context.loaders.documents_of_application.load(self.row.id)
        return [ApplicationDocument.from_row(r) for r in rows if staff or r.visible_to_applicant]

    @strawberry.field(description="办件材料: the current materials (superseded ones are not listed).")
    async def materials(self, info: Info) -> list[ApplicationMaterial]:
        rows = await info.context.loaders.materials_of_application.load(self.row.id)
        return [ApplicationMaterial.from_row(r) for r in rows]


@strawberry.federation.type(keys=["uid"], description="人口个案 (owned by population), with its 办件.")
class Person:
    uid: strawberry.ID = strawberry.field(description="The person's key across the graph, an opaque pseudonym "
                                          "(the 统一身份识别码 is population's Person.identityCode).")

    @classmethod
    def resolve_reference(cls, uid: strawberry.ID) -> Self:
        # Nothing to look up: services knows a person only as an applicant.
        return cls(uid=uid)

    @strawberry.field(description="我的办件: the person's applications, newest first (the person, managers, and "
                                  "staff for the cases in their queues).")
    async def applications(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Application]:
        first = check_first(first)
        caller = info.context.caller
        whole = access.is_manager(caller) or (caller is not None and caller.person_uid == str(self.uid))
        if whole and after is None:
            rows = await info.context.loaders.first_applications.load((str(self.uid), first))
            return connection_from_rows(rows, first, sort_key, Application.from_row)
        # Later pages, and staff (only their queues' cases), are asked one person at a time.
        async with info.context.session() as session:
            stmt = select(models.Application).where(models.Application.applicant_uid == str(self.uid))
            if not whole:
                stmt = stmt.where(access.staff_sees(caller))
            return await newest_first_page(session, stmt, Application.from_row, first, after)


@strawberry.federation.type(keys=["id"], description="机构 (owned by identity), with its 单位办件.")
class Organization:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Self:
        # Whether the organisation exists is identity's business; one without applications has none here.
        return cls(id=id)

    @strawberry.field(description="单位办件: the organisation's applications (法人 items), newest first; for its own "
                                  "users, managers, and staff for the cases in their queues.")
    async def applications(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Application]:
        caller = info.context.caller
        stmt = select(models.Application).where(models.Application.applicant_org_id == str(self.id))
        own = caller is not None and not caller.anonymous and caller.organization_id == str(self.id)
        if not own and not access.is_manager(caller):
            stmt = stmt.where(access.staff_sees(caller))
        async with info.context.session() as session:
            return await newest_first_page(session, stmt, Application.from_row, first, after)


@strawberry.type(description="办件行为: one transition of an application (append-only).")
class ApplicationEvent:
    seq: int = strawberry.field(description="Position in the application's timeline (1, 2, ...).")
    action: Action
    from_status: ApplicationStatus | None
    to_status: ApplicationStatus
    actor: str = strawberry.field(description="Who acted (user, system or anonymous).")
    at: datetime
    comment: str | None = strawberry.field(description="意见.")
    details: JSON = strawberry.field(description="What the step decided beyond the move, e.g. {inspection: "
                                                 "PASSED}, {rectificationDue}, {carrier, waybillNumber}, {rating}.")
    document_ids: list[strawberry.ID] = strawberry.field(description="The documents this step issued.")

    @classmethod
    def from_row(cls, row: models.ApplicationEvent) -> Self:
        return cls(seq=row.seq, action=Action(row.action),
                   from_status=ApplicationStatus(row.from_status) if row.from_status else None,
                   to_status=ApplicationStatus(row.to_status), actor=row.actor, at=row.at, comment=row.comment,
                   details=cast(JSON, row.details or {}), document_ids=[strawberry.ID(d) for d in row.documents or []])


@strawberry.type(description="文书: 受理通知书, 不予受理决定书, 补正告知书, 准予/不准予决定书, 收件凭证.")
class ApplicationDocument:
    id: strawberry.ID
    kind: str = strawberry.field(description="ACCEPTANCE_NOTICE, REFUSAL_DECISION, CORRECTION_NOTICE, RETURN_NOTICE, "
                                             "APPROVAL_DECISION, DENIAL_DECISION or INTAKE_RECEIPT.")
    number: str = strawberry.field(description="文号.")
    title: str
    content: str
    issued_by: str
    issued_at: datetime

    @classmethod
    def from_row(cls, row: models.ApplicationDocument) -> Self:
        return cls(id=strawberry.ID(row.id), kind=row.kind, number=row.number, title=row.title, content=row.content,
                   issued_by=row.issued_by, issued_at=row.issued_at)


@strawberry.type(description="办件材料: an upload (PDF/JPG, checked by content), an electronic licence instead "
                             "(免提交) or a material reused from an earlier application (历史办件复用).")
class ApplicationMaterial:
    id: strawberry.ID
    requirement_code: str | None
    name: str
    source: str = strawberry.field(description="UPLOAD, E_LICENCE or HISTORY.")
    file_name: str | None
    content_type: str | None = strawberry.field(description="As detected from the bytes, not the file name.")
    size: int | None
    sha256: str | None
    licence_id: strawberry.ID | None
    reused_from_material_id: strawberry.ID | None
    uploaded_at: datetime

    @classmethod
    def from_row(cls, row: models.ApplicationMaterial) -> Self:
        return cls(id=strawberry.ID(row.id), requirement_code=row.requirement_code, name=row.name, source=row.source,
                   file_name=row.file_name, content_type=row.content_type, size=row.size, sha256=row.sha256,
                   licence_id=strawberry.ID(row.licence_id) if row.licence_id else None,
                   reused_from_material_id=(strawberry.ID(row.reused_from_material_id)
                                            if row.reused_from_material_id else None),
                   uploaded_at=row.uploaded_at)
