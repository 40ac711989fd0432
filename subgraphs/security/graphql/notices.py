"""Security notices (网络安全通知): publishing, delivery per unit, material submissions and reminders."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Self

import strawberry
from sqlalchemy import select

from subgraphs.common.errors import ErrorCode, domain_error
from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.security import models
from subgraphs.security.access import check_admin
from subgraphs.security.domain import notices as domain
from subgraphs.security.types import Info, Organization


@strawberry.enum(description="通知类型.")
class NoticeType(Enum):
    POLICY = strawberry.enum_value("POLICY", description="政策文件")
    ARRANGEMENT = strawberry.enum_value("ARRANGEMENT", description="工作部署")
    RISK = strawberry.enum_value("RISK", description="风险提示")


@strawberry.enum(description="发送渠道.")
class NoticeChannel(Enum):
    POPUP = strawberry.enum_value("POPUP", description="系统内消息弹窗")
    EMAIL = strawberry.enum_value("EMAIL", description="企业邮箱")
    SMS = strawberry.enum_value("SMS", description="手机短信")


@strawberry.enum(description="通知状态.")
class NoticeStatus(Enum):
    PUBLISHED = strawberry.enum_value("PUBLISHED", description="已发布")
    WITHDRAWN = strawberry.enum_value("WITHDRAWN", description="已撤回")


@strawberry.enum(description="接收状态.")
class DeliveryStatus(Enum):
    UNREAD = strawberry.enum_value("UNREAD", description="未读")
    READ = strawberry.enum_value("READ", description="已读")
    REFUSED = strawberry.enum_value("REFUSED", description="拒收")


@strawberry.enum(description="材料完整性.")
class MaterialStatus(Enum):
    MISSING = strawberry.enum_value("MISSING", description="缺失")
    COMPLETE = strawberry.enum_value("COMPLETE", description="完整")
    NON_COMPLIANT = strawberry.enum_value("NON_COMPLIANT", description="不符合要求")


@strawberry.type(description="A material a notice asks the units to submit.")
class NoticeMaterialSpec:
    code: str
    name: str
    required: bool


@strawberry.input(description="A material to submit: code, name, whether required.")
class NoticeMaterialInput:
    code: str
    name: str
    required: bool = True


@strawberry.type(description="A submitted material file (its content is not served here).")
class NoticeMaterial:
    id: strawberry.ID
    code: str
    name: str
    content_type: str
    size: int
    sha256: str
    submitted_by: str
    submitted_at: datetime

    @classmethod
    def from_row(cls, row: models.NoticeMaterial) -> Self:
        return cls(id=strawberry.ID(row.id), code=row.code, name=row.name, content_type=row.content_type,
                   size=row.size, sha256=row.sha256, submitted_by=row.submitted_by, submitted_at=row.submitted_at)


@strawberry.type(description="A notice's delivery to one unit: receipt state and material submission.")
class NoticeDelivery:
    id: strawberry.ID
    notice_id: strawberry.ID
    org_id: strawberry.ID
    status: DeliveryStatus
    read_at: datetime | None
    refusal_reason: str | None = strawberry.field(description="拒收原因")
    material_status: MaterialStatus | None = strawberry.field(description="Null when no materials are asked.")
    submitted_at: datetime | None
    review_note: str | None = strawberry.field(description="修改要求 of the last return.")
    reminders: int = strawberry.field(description="补报提醒 sent so far.")
    last_reminded_at: datetime | None

    @classmethod
    def from_row(cls, row: models.NoticeDelivery) -> Self:
        return cls(id=strawberry.ID(str(row.id)), notice_id=strawberry.ID(row.notice_id),
                   org_id=strawberry.ID(row.org_id), status=DeliveryStatus[row.status], read_at=row.read_at,
                   refusal_reason=row.refusal_reason,
                   material_status=MaterialStatus[row.material_status] if row.material_status else None,
                   submitted_at=row.submitted_at, review_note=row.review_note, reminders=row.reminders,
                   last_reminded_at=row.last_reminded_at)

    @strawberry.field(description="接收单位")
    def organization(self) -> Organization:
        return Organization(id=self.org_id)

    @strawberry.field(description="Every file submitted, oldest first (resubmissions included).")
    async def materials(self, info: Info) -> list[NoticeMaterial]:
        return [NoticeMaterial.from_row(r) for r in await info.context.loaders.notice_materials.load(int(self.id))]


@strawberry.type(description="网络安全通知.")
class SecurityNotice:
    id: strawberry.ID
    notice_type: NoticeType
    title: str
    content: str
    channels: list[NoticeChannel]
    materials: list[NoticeMaterialSpec]
    material_deadline: datetime | None
    status: NoticeStatus
    edit_reason: str | None = strawberry.field(description="修改/撤回原因, shown to the units.")
    sender: str
    published_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: models.SecurityNotice) -> Self:
        return cls(id=strawberry.ID(row.id), notice_type=NoticeType[row.notice_type], title=row.title,
                   content=row.content, channels=[NoticeChannel[c] for c in row.channels],
                   materials=[NoticeMaterialSpec(code=m["code"], name=m["name"], required=m.get("required", True))
                              for m in row.materials],
                   material_deadline=row.material_deadline, status=NoticeStatus[row.status],
                   edit_reason=row.edit_reason, sender=row.sender, published_at=row.published_at,
                   updated_at=row.updated_at)

    @strawberry.field(description="Deliveries the caller may see: all for administrators, a unit its own.")
    async def deliveries(self, info: Info) -> list[NoticeDelivery]:
        async with info.context.session() as session:
            rows = await session.scalars(select(models.NoticeDelivery).where(
                models.NoticeDelivery.notice_id == str(self.id), domain.delivery_visible(info.context.caller))
                .order_by(models.NoticeDelivery.org_id))
            return [NoticeDelivery.from_row(r) for r in rows]


def _now() -> datetime:
    return datetime.now(UTC)


@strawberry.type
class NoticeQueries:
    @strawberry.field(description="One notice (null unless the caller is an administrator or a recipient).")
    async def security_notice(self, info: Info, id: strawberry.ID) -> SecurityNotice | None:
        async with info.context.session() as session:
            row = await session.scalar(select(models.SecurityNotice).where(
                models.SecurityNotice.id == str(id), domain.notice_visible(info.context.caller)))
            return SecurityNotice.from_row(row) if row else None

    @strawberry.field(description="Notices the caller may see, in id order.")
    async def security_notices(self, info: Info, notice_type: NoticeType | None = None,
                               status: NoticeStatus | None = None, first: int = 20,
                               after: str | None = None) -> Connection[SecurityNotice]:
        n = models.SecurityNotice
        stmt = select(n).where(domain.notice_visible(info.context.caller))
        if notice_type is not None:
            stmt = stmt.where(n.notice_type == notice_type.name)
        if status is not None:
            stmt = stmt.where(n.status == status.name)
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[n.id.expression], sort_key=lambda r: [r.id],
                                     to_node=SecurityNotice.from_row, page=PageRequest(first=first, after=after))

    @strawberry.field(description="材料报送台账: deliveries by notice, unit, material status and submission time.")
    async def notice_ledger(
        self, info: Info, notice_id: strawberry.ID | None = None, org_id: strawberry.ID | None = None,
        material_status: MaterialStatus | None = None, submitted_from: datetime | None = None,
        submitted_to: datetime | None = None, first: int = 50, after: str | None = None,
    ) -> Connection[NoticeDelivery]:
        d = models.NoticeDelivery
        stmt = select(d).where(domain.delivery_visible(info.context.caller))
        if notice_id is not None:
            stmt = stmt.where(d.notice_id == str(notice_id))
        if org_id is not None:
            stmt = stmt.where(d.org_id == str(org_id))
        if material_status is not None:
            stmt = stmt.where(d.material_status == material_status.name)
        if submitted_from is not None:
            stmt = stmt.where(d.submitted_at >= submitted_from)
        if submitted_to is not None:
            stmt = stmt.where(d.submitted_at < submitted_to)
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[d.id.expression], sort_key=lambda r: [r.id],
                                     to_node=NoticeDelivery.from_row, page=PageRequest(first=first, after=after))


@strawberry.input(description="A new security notice.")
class SecurityNoticeInput:
    notice_type: NoticeType
    title: str
    content: str
    channels: list[NoticeChannel]
    org_ids: list[strawberry.ID]
    materials: list[NoticeMaterialInput] = strawberry.field(default_factory=list)
    material_deadline: datetime | None = None


@strawberry.input(description="Changes to a published notice; the reason is required and told to the units.")
class SecurityNoticeEdit:
    reason: str
    title: str | None = None
    content: str | None = None
    channels: list[NoticeChannel] | None = None
    materials: list[NoticeMaterialInput] | None = None
    material_deadline: datetime | None = None


def _specs(items: list[NoticeMaterialInput]) -> list[dict[str, object]]:
    return [{"code": m.code, "name": m.name, "required": m.required} for m in items]


@strawberry.type
class NoticeMutations:
    @strawberry.mutation(description="Publish a notice to units (administrators).")
    async def publish_security_notice(self, info: Info, input: SecurityNoticeInput) -> SecurityNotice:
        async with info.context.transaction() as session:
            row = await domain.publish(
                session, info.context.caller, notice_type=input.notice_type.name, title=input.title,
                content=input.content, channels=[c.name for c in input.channels],
                org_ids=[str(o) for o in input.org_ids], materials=_specs(input.materials),
                material_deadline=input.material_deadline, now=_now())
            return SecurityNotice.from_row(row)

    @strawberry.mutation(description="Edit a notice: every delivery is unread again and shows the reason.")
    async def edit_security_notice(self, info: Info, id: strawberry.ID, input: SecurityNoticeEdit) -> SecurityNotice:
        channels = [c.name for c in input.channels] if input.channels is not None else None
        async with info.context.transaction() as session:
            row = await domain.edit(
                session, info.context.caller, str(id), reason=input.reason, title=input.title,
                content=input.content, channels=channels,
                materials=_specs(input.materials) if input.materials is not None else None,
                material_deadline=input.material_deadline, now=_now())
            return SecurityNotice.from_row(row)

    @strawberry.mutation(description="Withdraw a notice (reason required, shown to the units).")
    async def withdraw_security_notice(self, info: Info, id: strawberry.ID, reason: str) -> SecurityNotice:
        async with info.context.transaction() as session:
            return SecurityNotice.from_row(await domain.withdraw(session, info.context.caller, str(id), reason,
                                                                 _now()))

    @strawberry.mutation(description="已读: the caller's unit has read the notice.")
    async def read_security_notice(self, info: Info, id: strawberry.ID) -> NoticeDelivery:
        async with info.context.transaction() as session:
            d = await domain.receive(session, info.context.caller, str(id), refuse=False, reason=None, now=_now())
            return NoticeDelivery.from_row(d)

    @strawberry.mutation(description="拒收: the caller's unit refuses the notice, with a reason.")
    async def refuse_security_notice(self, info: Info, id: strawberry.ID, reason: str) -> NoticeDelivery:
        async with info.context.transaction() as session:
            d = await domain.receive(session, info.context.caller, str(id), refuse=True, reason=reason, now=_now())
            return NoticeDelivery.from_row(d)

    @strawberry.mutation(description="材料报送: the caller's unit uploads a material (base64), checked by content.")
    async def submit_notice_material(self, info: Info, notice_id: strawberry.ID, code: str, name: str,
                                     content_base64: str) -> NoticeDelivery:
        async with info.context.transaction() as session:
            await domain.submit_material(session, info.context.caller, str(notice_id), code, name, content_base64,
                                         _now())
            _, d = await domain.own_delivery(session, info.context.caller, str(notice_id))
            return NoticeDelivery.from_row(d)

    @strawberry.mutation(description="不符合要求: return a submission with 修改要求 (administrators).")
    async def return_notice_material(self, info: Info, delivery_id: strawberry.ID, note: str) -> NoticeDelivery:
        if not str(delivery_id).isdigit():
            raise domain_error(ErrorCode.NOT_FOUND, f"No delivery {delivery_id}.")
        async with info.context.transaction() as session:
            d = await domain.return_material(session, info.context.caller, int(delivery_id), note, _now())
            return NoticeDelivery.from_row(d)

    @strawberry.mutation(description="Run 补报提醒 now (administrators): how many reminders were sent.")
    async def remind_missing_materials(self, info: Info) -> int:
        check_admin(info.context.caller, "Sending material reminders")
        async with info.context.transaction() as session:
            return await domain.remind_missing(session, _now())


queries: list[type] = [NoticeQueries]
mutations: list[type] = [NoticeMutations]
