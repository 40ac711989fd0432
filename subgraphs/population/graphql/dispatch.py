"""调度 over GraphQL: 调出 (push) and 调入 (pull), the receiver's 待处理任务 inbox, the origin's notices of
cases pulled away, and the four history views [JS L9332–9386]. The rules live in domain/dispatch.py.

Also the helpers the casework modules share (graphql/deaths.py imports them): `Info` and newest-first or
oldest-first keyset paging on (created_at, id).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Self, TypeVar

import strawberry
from aiodataloader import DataLoader
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.common.context import SubgraphContext
from subgraphs.common.errors import bad_input
from subgraphs.common.masking import mask_id_number, mask_name
from subgraphs.common.paging import Connection, PageRequest, check_first, connection_from_rows, decode_cursor
from subgraphs.common.scope import region_scope
from subgraphs.population import models
from subgraphs.population.domain import dispatch as rules
from subgraphs.population.loaders import Loaders

if TYPE_CHECKING:
    from subgraphs.population.types import Person, Region

Info = strawberry.Info[SubgraphContext[Loaders], Any]
T = TypeVar("T")
LazyPerson = Annotated["Person", strawberry.lazy("subgraphs.population.types")]
LazyRegion = Annotated["Region", strawberry.lazy("subgraphs.population.types")]


# --- shared helpers ----------------------------------------------------------------------------------


async def page_by_creation(session: AsyncSession, stmt: Select[Any], model: Any, page: PageRequest,
                           to_node: Callable[[Any], T], *, newest_first: bool) -> Connection[T]:
    """A keyset page of `model` rows (which have created_at and id) in creation order, newest or oldest
    first; the cursor holds (created_at, id)."""
    first = check_first(page.first)
    created, ident = model.created_at, model.id
    if page.after is not None:
        at_text, last_id = decode_cursor(page.after, 2)
        try:
            at = datetime.fromisoformat(str(at_text))
        except ValueError as exc:
            raise bad_input("The cursor is not one this service issued.", argument="after") from exc
        if newest_first:
            stmt = stmt.where(or_(created < at, and_(created == at, ident < str(last_id))))
        else:
            stmt = stmt.where(or_(created > at, and_(created == at, ident > str(last_id))))
    order = [created.desc(), ident.desc()] if newest_first else [created.asc(), ident.asc()]
    rows = list((await session.scalars(stmt.order_by(*order).limit(first + 1))).all())
    return connection_from_rows(rows, first, lambda row: [row.created_at.isoformat(), row.id], to_node,
                                has_previous=page.after is not None)


async def region_of(info: Info, code: str | None) -> Region | None:
    from subgraphs.population.types import Region

    if code is None:
        return None
    row = await info.context.loaders.region.load(code)
    return Region.from_row(row) if row else None


async def person_if_visible(info: Info, uid: str | None) -> Person | None:
    """The full case, when the caller's data scope covers its management region."""
    from subgraphs.population.types import Person

    if uid is None:
        return None
    row = await info.context.loaders.person.load(uid)
    return Person.from_row(row) if row and region_scope(info.context.caller).allows(row.management_region_code) \
        else None


# --- loaders -------------------------------------------------------------------------------------------


class DispatchOrdersByPerson(DataLoader[str, list[models.DispatchOrder]]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, uids: Sequence[str]) -> list[list[models.DispatchOrder]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(models.DispatchOrder).where(
                models.DispatchOrder.person_uid.in_(uids)).order_by(
                models.DispatchOrder.created_at.desc(), models.DispatchOrder.id.desc()))).all()
        found: dict[str, list[models.DispatchOrder]] = defaultdict(list)
        for row in rows:
            found[row.person_uid].append(row)
        return [found.get(uid, []) for uid in uids]


class DispatchEventsByOrder(DataLoader[str, list[models.DispatchEvent]]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[list[models.DispatchEvent]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(models.DispatchEvent).where(
                models.DispatchEvent.order_id.in_(ids)).order_by(models.DispatchEvent.at,
                                                                 models.DispatchEvent.id))).all()
        found: dict[str, list[models.DispatchEvent]] = defaultdict(list)
        for row in rows:
            found[row.order_id].append(row)
        return [found.get(i, []) for i in ids]


# --- types ---------------------------------------------------------------------------------------------


@strawberry.enum(description="调度方向: 调出 (PUSH, by the managing office; the receiver confirms) or 调入 (PULL, "
                             "by the receiving office; completes at once).")
class DispatchDirection(Enum):
    PUSH = "PUSH"
    PULL = "PULL"


@strawberry.enum(description="调度范围: 县内 (origin and target in one county) or 省内.")
class DispatchScope(Enum):
    WITHIN_COUNTY = "WITHIN_COUNTY"
    WITHIN_PROVINCE = "WITHIN_PROVINCE"


@strawberry.enum(description="调度单状态 (本地处理状态): 待处理 PENDING, 已确认 CONFIRMED, 已拒绝 REJECTED, 已撤回 "
                             "CANCELLED, 已完成 COMPLETED (a pull).")
class DispatchStatus(Enum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"


@strawberry.enum(description="Which side of an order the caller's region is: INCOMING (调入, the target) or "
                             "OUTGOING (调出, the origin).")
class DispatchSide(Enum):
    INCOMING = "INCOMING"
    OUTGOING = "OUTGOING"


@strawberry.enum(description="Who started the order: LOCAL (本地, the caller's side) or OTHER (异地, the other "
                             "side).")
class DispatchLocality(Enum):
    LOCAL = "LOCAL"
    OTHER = "OTHER"


@strawberry.type(description="调度记录: one step of a dispatch order.")
class DispatchEvent:
    at: datetime = strawberry.field(description="When.")
    actor: str = strawberry.field(description="Who (user or system id).")
    action: str = strawberry.field(description="PUSHED, PULLED, CONFIRMED, REJECTED, CANCELLED or ACKNOWLEDGED.")
    from_status: DispatchStatus | None = strawberry.field(description="Status before the step.")
    to_status: DispatchStatus = strawberry.field(description="Status after the step.")
    comment: str | None = strawberry.field(description="Reason or note.")

    @classmethod
    def from_row(cls, row: models.DispatchEvent) -> Self:
        return cls(at=row.at, actor=row.actor, action=row.action,
                   from_status=DispatchStatus(row.from_status) if row.from_status else None,
                   to_status=DispatchStatus(row.to_status), comment=row.comment)


@strawberry.type(description="调度人员: the person of a dispatch order, masked (人员编号, 姓名, 身份证号码); the full "
                             "case only within the caller's data scope.")
class DispatchPerson:
    row: strawberry.Private[models.Person]

    @strawberry.field(description="人员编号: the person number.")
    def person_no(self) -> str:
        return self.row.person_no

    @strawberry.field(description="姓名, masked (张*).")
    def name(self) -> str:
        return mask_name(self.row.name)

    @strawberry.field(description="身份证号码, masked (first 6 and last 4 digits).")
    def id_number(self) -> str | None:
        return mask_id_number(self.row.id_number)

    @strawberry.field(name="case", description="人口个案: the full case, when the caller's data scope covers it "
                                               "(null otherwise).")
    async def case(self, info: Info) -> LazyPerson | None:
        return await person_if_visible(info, self.row.uid)


@strawberry.type(description="调度单: moving a case's management region (管理地) from the origin to the target.")
class DispatchOrder:
    id: strawberry.ID
    direction: DispatchDirection = strawberry.field(description="调出 PUSH or 调入 PULL.")
    scope: DispatchScope = strawberry.field(description="县内 or 省内.")
    status: DispatchStatus = strawberry.field(description="本地处理状态.")
    address: str | None = strawberry.field(description="地址 at the receiving region.")
    contact: str | None = strawberry.field(description="联系人.")
    contact_phone: str | None = strawberry.field(description="联系电话 of the contact, for the receiving office.")
    reason: str | None = strawberry.field(description="原因说明.")
    created_by: str = strawberry.field(description="Who made the order.")
    created_at: datetime = strawberry.field(description="调出日期 of a push, 调入日期 of a pull.")
    decided_by: str | None = strawberry.field(description="Who confirmed, rejected or cancelled it.")
    decided_at: datetime | None = strawberry.field(description="When it was confirmed, rejected, cancelled or "
                                                               "completed (调入日期 of a push).")
    decision_comment: str | None = strawberry.field(description="Reason of a rejection or cancellation.")
    origin_acknowledged_at: datetime | None = strawberry.field(description="When the origin acknowledged the "
                                                                           "notice of a pull.")
    row: strawberry.Private[models.DispatchOrder]

    @classmethod
    def from_row(cls, row: models.DispatchOrder) -> Self:
        return cls(
            id=strawberry.ID(row.id), direction=DispatchDirection(row.direction), scope=DispatchScope(row.scope),
            status=DispatchStatus(row.status), address=row.address, contact=row.contact,
            contact_phone=row.contact_phone, reason=row.reason, created_by=row.created_by, created_at=row.created_at,
            decided_by=row.decided_by, decided_at=row.decided_at, decision_comment=row.decision_comment,
            origin_acknowledged_at=row.origin_acknowledged_at, row=row)

    @strawberry.field(description="The person moved (masked).")
    async def person(self, info: Info) -> DispatchPerson:
        row = await info.context.loaders.person.load(self.row.person_uid)
        assert row is not None  # the foreign key keeps it
        return DispatchPerson(row=row)

    @strawberry.field(description="原管理地: the management region before.")
    async def origin_region(self, info: Info) -> LazyRegion | None:
        return await region_of(info, self.row.origin_region_code)

    @strawberry.field(description="目标管理地: the receiving region (接收地).")
    async def target_region(self, info: Info) -> LazyRegion | None:
        return await region_of(info, self.row.target_region_code)

    @strawberry.field(description="The order's history, oldest first.")
    async def events(self, info: Info) -> list[DispatchEvent]:
        rows = await info.context.loaders.of(DispatchEventsByOrder).load(self.row.id)
        return [DispatchEvent.from_row(r) for r in rows]


@strawberry.input(description="调出 (push): the case managed in the caller's region goes to the receiving region "
                              "once it confirms.")
class PushDispatchInput:
    id_number: str = strawberry.field(description="身份证号码 of the case.")
    target_region_code: strawberry.ID = strawberry.field(description="接收地区划代码: township level or below.")
    contact: str = strawberry.field(description="联系人.")
    contact_phone: str = strawberry.field(description="联系电话.")
    reason: str = strawberry.field(description="原因说明.")
    address: str | None = strawberry.field(default=None, description="地址 at the receiving region.")


@strawberry.input(description="调入 (pull): a case managed elsewhere comes to the caller's region at once.")
class PullDispatchInput:
    id_number: str = strawberry.field(description="身份证号码 of the case.")
    contact: str = strawberry.field(description="联系人.")
    contact_phone: str = strawberry.field(description="联系电话.")
    reason: str = strawberry.field(description="原因说明.")
    address: str | None = strawberry.field(default=None, description="地址 in the caller's region.")
    target_region_code: strawberry.ID | None = strawberry.field(
        default=None, description="接收地区划代码: defaults to the caller's region (a township or below); a province "
                                  "or county operator names the township.")


def _request(form: PushDispatchInput | PullDispatchInput) -> rules.DispatchRequest:
    target = form.target_region_code
    return rules.DispatchRequest(id_number=form.id_number, target_region_code=str(target) if target else None,
                                 address=form.address, contact=form.contact, contact_phone=form.contact_phone,
                                 reason=form.reason)


# --- root fields -----------------------------------------------------------------------------------------

_O = models.DispatchOrder


@strawberry.type
class DispatchQuery:
    @strawberry.field(description="One dispatch order, when its origin or its target lies in the caller's region.")
    async def dispatch_order(self, info: Info, id: strawberry.ID) -> DispatchOrder | None:
        operator = rules.operator_of(info.context.caller)
        async with info.context.reading() as session:
            row = await session.get(_O, str(id))
        if row is None or not (operator.covers(row.origin_region_code) or operator.covers(row.target_region_code)):
            return None
        return DispatchOrder.from_row(row)

    @strawberry.field(description="待处理任务: pushed orders awaiting the caller's region (the target lies in it), "
                                  "oldest first. 镇级及以下 users confirm or reject them; higher levels see them.")
    async def pending_dispatch_tasks(self, info: Info, first: int = 20, after: str | None = None
                                     ) -> Connection[DispatchOrder]:
        operator = rules.operator_of(info.context.caller)
        stmt = select(_O).where(_O.status == rules.DispatchStatus.PENDING.value,
                                operator.scope.condition(_O.target_region_code))
        async with info.context.reading() as session:
            return await page_by_creation(session, stmt, _O, PageRequest(first, after), DispatchOrder.from_row,
                                          newest_first=False)

    @strawberry.field(description="调出通知: cases pulled away from the caller's region (调入 by another region, "
                                  "completed without the origin's confirmation) not yet acknowledged, oldest first.")
    async def dispatch_notices(self, info: Info, first: int = 20, after: str | None = None
                               ) -> Connection[DispatchOrder]:
        operator = rules.operator_of(info.context.caller)
        stmt = select(_O).where(_O.direction == rules.DispatchDirection.PULL.value,
                                _O.status == rules.DispatchStatus.COMPLETED.value,
                                _O.origin_acknowledged_at.is_(None), operator.scope.condition(_O.origin_region_code))
        async with info.context.reading() as session:
            return await page_by_creation(session, stmt, _O, PageRequest(first, after), DispatchOrder.from_row,
                                          newest_first=False)

    @strawberry.field(description="调度历史 of the caller's region, newest first: INCOMING+LOCAL 本地调入历史 (our "
                                  "pulls), INCOMING+OTHER 异地调出历史 (pushes to us, with 本地处理状态), "
                                  "OUTGOING+LOCAL 本地调出历史 (our pushes), OUTGOING+OTHER 异地调入历史 (others "
                                  "pulled ours). from/to: China days of the order, inclusive.")
    async def dispatch_history(
        self, info: Info, side: DispatchSide, locality: DispatchLocality,
        from_: Annotated[date | None, strawberry.argument(name="from", description="First day.")] = None,
        to: Annotated[date | None, strawberry.argument(description="Last day.")] = None,
        id_number: Annotated[str | None, strawberry.argument(description="身份证号码 of the case.")] = None,
        first: int = 20, after: str | None = None,
    ) -> Connection[DispatchOrder]:
        operator = rules.operator_of(info.context.caller)
        mine = _O.target_region_code if side is DispatchSide.INCOMING else _O.origin_region_code
        # Who started it: a pull is started by the target, a push by the origin.
        started_by_target = (side is DispatchSide.INCOMING) == (locality is DispatchLocality.LOCAL)
        direction = rules.DispatchDirection.PULL if started_by_target else rules.DispatchDirection.PUSH
        stmt = select(_O).where(_O.direction == direction.value, operator.scope.condition(mine))
        if from_ is not None:
            stmt = stmt.where(_O.created_at >= rules.china_day_start(from_))
        if to is not None:
            stmt = stmt.where(_O.created_at < rules.china_day_start(to + timedelta(days=1)))
        if id_number is not None:
            number = rules.normalise_id_number(id_number)
            stmt = stmt.where(_O.person_uid.in_(select(models.Person.uid).where(models.Person.id_number == number)))
        async with info.context.reading() as session:
            return await page_by_creation(session, stmt, _O, PageRequest(first, after), DispatchOrder.from_row,
                                          newest_first=True)


@strawberry.type
class DispatchMutation:
    @strawberry.mutation(description="调出: a PENDING order at the receiving region for a case managed in the "
                                     "caller's region; \"查无此人\" (NOT_FOUND) when the ID number matches no case in "
                                     "the caller's region.")
    async def push_dispatch(self, info: Info, input: PushDispatchInput) -> DispatchOrder:
        operator = rules.operator_of(info.context.caller)
        async with info.context.transaction() as session:
            row = await rules.push(session, _request(input), operator)
        return DispatchOrder.from_row(row)

    @strawberry.mutation(description="调入: the case moves to the caller's region (or the township named) at once; "
                                     "the origin gets a notice. \"查无此人\" when no case has the ID number; "
                                     "INVALID_STATE when it is already managed here.")
    async def pull_dispatch(self, info: Info, input: PullDispatchInput) -> DispatchOrder:
        operator = rules.operator_of(info.context.caller)
        async with info.context.transaction() as session:
            row = await rules.pull(session, _request(input), operator)
        return DispatchOrder.from_row(row)

    @strawberry.mutation(description="确认调入: the receiving region takes the case (管理地 := target).")
    async def confirm_dispatch(self, info: Info, id: strawberry.ID) -> DispatchOrder:
        operator = rules.operator_of(info.context.caller)
        async with info.context.transaction() as session:
            row = await rules.confirm(session, str(id), operator)
        return DispatchOrder.from_row(row)

    @strawberry.mutation(description="拒绝调入: the receiving region declines (the reason is required); the case "
                                     "stays where it is.")
    async def reject_dispatch(self, info: Info, id: strawberry.ID, reason: str) -> DispatchOrder:
        operator = rules.operator_of(info.context.caller)
        async with info.context.transaction() as session:
            row = await rules.reject(session, str(id), reason, operator)
        return DispatchOrder.from_row(row)

    @strawberry.mutation(description="撤回调出: the origin withdraws its push while it is PENDING.")
    async def cancel_dispatch(self, info: Info, id: strawberry.ID, reason: str | None = None) -> DispatchOrder:
        operator = rules.operator_of(info.context.caller)
        async with info.context.transaction() as session:
            row = await rules.cancel(session, str(id), reason, operator)
        return DispatchOrder.from_row(row)

    @strawberry.mutation(description="The origin has seen the notice of a case pulled away.")
    async def acknowledge_dispatch_notice(self, info: Info, id: strawberry.ID) -> DispatchOrder:
        operator = rules.operator_of(info.context.caller)
        async with info.context.transaction() as session:
            row = await rules.acknowledge(session, str(id), operator)
        return DispatchOrder.from_row(row)


async def person_dispatch_orders(info: Info, person: models.Person) -> list[DispatchOrder]:
    """Person.dispatchOrders (the mixin in graphql/casework.py): newest first."""
    rows = await info.context.loaders.of(DispatchOrdersByPerson).load(person.uid)
    return [DispatchOrder.from_row(r) for r in rows]


queries: list[type] = [DispatchQuery]
mutations: list[type] = [DispatchMutation]
