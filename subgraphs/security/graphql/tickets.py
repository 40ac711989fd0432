"""Operations tickets (运维工单): request, dispatch, re-dispatch, handling, rating, closing."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Self

import strawberry
from sqlalchemy import select

from subgraphs.common.errors import ErrorCode, domain_error
from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.security import models
from subgraphs.security.access import Role, check_admin, check_role
from subgraphs.security.domain import tickets as domain
from subgraphs.security.types import Info, Organization


@strawberry.enum(description="故障类型: what kind of fault a ticket reports.")
class FaultType(Enum):
    NETWORK = strawberry.enum_value("NETWORK", description="网络故障")
    SERVER = strawberry.enum_value("SERVER", description="服务器故障")
    APPLICATION = strawberry.enum_value("APPLICATION", description="应用系统故障")
    TERMINAL = strawberry.enum_value("TERMINAL", description="终端故障")
    SECURITY = strawberry.enum_value("SECURITY", description="安全事件")
    DATABASE = strawberry.enum_value("DATABASE", description="数据库故障")
    OTHER = strawberry.enum_value("OTHER", description="其他")


@strawberry.enum(description="工单状态.")
class TicketStatus(Enum):
    SUBMITTED = strawberry.enum_value("SUBMITTED", description="已申请")
    REJECTED = strawberry.enum_value("REJECTED", description="审核驳回")
    DISPATCHED = strawberry.enum_value("DISPATCHED", description="已派单")
    IN_PROGRESS = strawberry.enum_value("IN_PROGRESS", description="处理中")
    RESOLVED = strawberry.enum_value("RESOLVED", description="已处理/待评价")
    EVALUATED = strawberry.enum_value("EVALUATED", description="已评价")
    CLOSED = strawberry.enum_value("CLOSED", description="已审批/关闭")


@strawberry.enum(description="工单来源.")
class TicketOrigin(Enum):
    REQUESTED = strawberry.enum_value("REQUESTED", description="用户申请")
    CENTRE = strawberry.enum_value("CENTRE", description="中心直接派单")


@strawberry.type(description="运维人员 with their skills.")
class OpsStaff:
    user_id: strawberry.ID
    name: str
    skills: list[FaultType] = strawberry.field(description="技能标签: the fault types they handle.")
    region_code: str | None
    active: bool
    open_tickets: int | None = strawberry.field(default=None, description="Open tickets (recommendations).")

    @classmethod
    def from_row(cls, row: models.OpsStaff, load: int | None = None) -> Self:
        return cls(user_id=strawberry.ID(row.user_id), name=row.name,
                   skills=[FaultType(s) for s in row.skills if s in domain.FAULT_TYPES],
                   region_code=row.region_code, active=row.active, open_tickets=load)


@strawberry.type(description="A step of a ticket: who did what, when, and why.")
class OpsTicketEvent:
    action: str
    from_status: TicketStatus | None
    to_status: TicketStatus
    actor: str
    at: datetime
    handler: str | None
    reason: str | None
    rating: int | None

    @classmethod
    def from_row(cls, row: models.OpsTicketEvent) -> Self:
        d = row.detail or {}
        return cls(action=row.action, from_status=TicketStatus(row.from_status) if row.from_status else None,
                   to_status=TicketStatus(row.to_status), actor=row.actor, at=row.at, handler=d.get("handler"),
                   reason=d.get("reason"), rating=d.get("rating"))


@strawberry.type(description="运维工单.")
class OpsTicket:
    id: strawberry.ID
    number: str
    requester: str = strawberry.field(description="申请人 (user id)")
    org_id: strawberry.ID
    region_code: str | None = strawberry.field(description="The requesting unit's city.")
    fault_type: FaultType
    description: str
    origin: TicketOrigin
    status: TicketStatus
    handler: str | None = strawberry.field(description="处理人 (user id)")
    dispatched_by: str | None
    dispatch_count: int = strawberry.field(description="派单次数 (2 or more: re-dispatched).")
    result: str | None = strawberry.field(description="处理结果")
    rating: int | None = strawberry.field(description="评分 1-5")
    comment: str | None = strawberry.field(description="评价内容")
    created_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    allowed_actions: list[str] = strawberry.field(description="What may be done next (by the right party).")

    @classmethod
    def from_row(cls, row: models.OpsTicket) -> Self:
        return cls(
            id=strawberry.ID(row.id), number=row.number, requester=row.requester, org_id=strawberry.ID(row.org_id),
            region_code=row.region_code, fault_type=FaultType(row.fault_type), description=row.description,
            origin=TicketOrigin(row.origin), status=TicketStatus(row.status), handler=row.handler,
            dispatched_by=row.dispatched_by, dispatch_count=row.dispatch_count, result=row.result,
            rating=row.rating, comment=row.comment, created_at=row.created_at, resolved_at=row.resolved_at,
            closed_at=row.closed_at, allowed_actions=domain.allowed_actions(row.status),
        )

    @strawberry.field(description="申请单位")
    def organization(self) -> Organization:
        return Organization(id=self.org_id)

    @strawberry.field(description="The ticket's steps, oldest first.")
    async def events(self, info: Info) -> list[OpsTicketEvent]:
        rows = await info.context.loaders.ticket_events.load(str(self.id))
        return [OpsTicketEvent.from_row(r) for r in rows]


def _now() -> datetime:
    return datetime.now(UTC)


async def _act(info: Info, id: strawberry.ID, action: domain.Action, step: domain.Step) -> OpsTicket:
    caller = info.context.caller
    async with info.context.transaction() as session:
        row = await session.get(models.OpsTicket, str(id))
        if row is None or not domain.may_see(caller, row):
            raise domain_error(ErrorCode.NOT_FOUND, f"No ticket {id}.")
        await domain.transition(session, caller, row, action, step, _now())
        return OpsTicket.from_row(row)


@strawberry.type
class TicketQueries:
    @strawberry.field(description="One ticket by id (null when the caller may not see it).")
    async def ops_ticket(self, info: Info, id: strawberry.ID) -> OpsTicket | None:
        async with info.context.session() as session:
            row = await session.get(models.OpsTicket, str(id))
            return OpsTicket.from_row(row) if row and domain.may_see(info.context.caller, row) else None

    @strawberry.field(description="Tickets the caller may see, in id order: a unit's own, an engineer's "
                                  "dispatched ones, all for dispatchers.")
    async def ops_tickets(
        self, info: Info, status: TicketStatus | None = None, fault_type: FaultType | None = None,
        handler: str | None = None, org_id: strawberry.ID | None = None, first: int = 20, after: str | None = None,
    ) -> Connection[OpsTicket]:
        t = models.OpsTicket
        stmt = select(t).where(domain.visible(info.context.caller))
        if status is not None:
            stmt = stmt.where(t.status == status.name)
        if fault_type is not None:
            stmt = stmt.where(t.fault_type == fault_type.name)
        if handler is not None:
            stmt = stmt.where(t.handler == handler)
        if org_id is not None:
            stmt = stmt.where(t.org_id == str(org_id))
        async with info.context.session() as session:
            return await keyset_page(session, stmt, order_by=[t.id.expression], sort_key=lambda r: [r.id],
                                     to_node=OpsTicket.from_row, page=PageRequest(first=first, after=after))

    @strawberry.field(description="运维人员, optionally those with one skill (dispatchers and admins).")
    async def ops_staff(self, info: Info, fault_type: FaultType | None = None,
                        active_only: bool = True) -> list[OpsStaff]:
        check_role(info.context.caller, "The ops staff list", Role.DISPATCH, Role.OPS)
        stmt = select(models.OpsStaff).order_by(models.OpsStaff.user_id)
        if active_only:
            stmt = stmt.where(models.OpsStaff.active.is_(True))
        async with info.context.session() as session:
            rows = (await session.scalars(stmt)).all()
            load = await domain.open_load(session)
        return [OpsStaff.from_row(r, load[r.user_id]) for r in rows
                if fault_type is None or fault_type.name in r.skills]

    @strawberry.field(description="定向派单: staff recommended for a fault, fewest open tickets first, then "
                                  "those of the same city.")
    async def recommend_handlers(self, info: Info, fault_type: FaultType,
                                 region_code: str | None = None) -> list[OpsStaff]:
        check_role(info.context.caller, "Recommending handlers", Role.DISPATCH)
        async with info.context.session() as session:
            ranked = await domain.recommend(session, fault_type.name, region_code)
        return [OpsStaff.from_row(s, n) for s, n in ranked]


@strawberry.input(description="中心直接填写派单: a ticket filed and dispatched by the ops centre.")
class CentreTicketInput:
    requester: str
    org_id: strawberry.ID
    region_code: str | None = None
    fault_type: FaultType
    description: str
    handler: str | None = strawberry.field(default=None, description="Default: the first recommendation.")


@strawberry.type
class TicketMutations:
    @strawberry.mutation(description="用户申请: file a ticket for the caller's organisation.")
    async def request_ticket(self, info: Info, fault_type: FaultType, description: str) -> OpsTicket:
        async with info.context.transaction() as session:
            row = await domain.request(session, info.context.caller, fault_type.name, description, _now())
            return OpsTicket.from_row(row)

    @strawberry.mutation(description="中心直接填写派单: file and dispatch in one step (dispatchers).")
    async def create_dispatched_ticket(self, info: Info, input: CentreTicketInput) -> OpsTicket:
        async with info.context.transaction() as session:
            row = await domain.create_dispatched(
                session, info.context.caller, requester=input.requester, org_id=str(input.org_id),
                region_code=input.region_code, fault_type=input.fault_type.name, description=input.description,
                handler=input.handler, now=_now())
            return OpsTicket.from_row(row)

    @strawberry.mutation(description="审核驳回 a submitted ticket (reason required).")
    async def reject_ticket(self, info: Info, id: strawberry.ID, reason: str) -> OpsTicket:
        return await _act(info, id, domain.Action.REJECT, domain.Step(reason=reason))

    @strawberry.mutation(description="派单: to the named handler, else the first recommendation.")
    async def dispatch_ticket(self, info: Info, id: strawberry.ID, handler: str | None = None) -> OpsTicket:
        return await _act(info, id, domain.Action.DISPATCH, domain.Step(handler=handler))

    @strawberry.mutation(description="二次派单: to another handler; the reason is required.")
    async def redispatch_ticket(self, info: Info, id: strawberry.ID, reason: str,
                                handler: str | None = None) -> OpsTicket:
        return await _act(info, id, domain.Action.REDISPATCH, domain.Step(handler=handler, reason=reason))

    @strawberry.mutation(description="接单: the assigned handler starts work.")
    async def accept_ticket(self, info: Info, id: strawberry.ID) -> OpsTicket:
        return await _act(info, id, domain.Action.ACCEPT, domain.Step())

    @strawberry.mutation(description="处理结果: the handler reports the fix.")
    async def resolve_ticket(self, info: Info, id: strawberry.ID, result: str) -> OpsTicket:
        return await _act(info, id, domain.Action.RESOLVE, domain.Step(result=result))

    @strawberry.mutation(description="服务评价: the requester rates 1-5 stars, optionally with a comment.")
    async def rate_ticket(self, info: Info, id: strawberry.ID, rating: int, comment: str | None = None) -> OpsTicket:
        return await _act(info, id, domain.Action.EVALUATE, domain.Step(rating=rating, comment=comment))

    @strawberry.mutation(description="Not fixed: the requester sends it back to the handler (reason required).")
    async def reopen_ticket(self, info: Info, id: strawberry.ID, reason: str) -> OpsTicket:
        return await _act(info, id, domain.Action.REOPEN, domain.Step(reason=reason))

    @strawberry.mutation(description="审批/关闭 an evaluated ticket (dispatchers).")
    async def close_ticket(self, info: Info, id: strawberry.ID) -> OpsTicket:
        return await _act(info, id, domain.Action.CLOSE, domain.Step())

    @strawberry.mutation(description="Run the job now: close tickets resolved 7 days ago and never rated "
                                     "(admins); how many closed.")
    async def close_unrated_tickets(self, info: Info) -> int:
        check_admin(info.context.caller, "Closing unrated tickets")
        async with info.context.transaction() as session:
            return await domain.close_unrated(session, _now())


queries: list[type] = [TicketQueries]
mutations: list[type] = [TicketMutations]

