"""调度: moving a case's management region between regions [JS L9332–9386].

Two ways, as the tender describes them:

* push (调出) by the office that manages the case: a PENDING order appears in the receiving region's
  待处理任务 inbox; the receiver confirms (管理地 := target), or rejects; the origin may cancel while it pends;
* pull (调入) by the receiving office: completes at once (管理地 := the receiver's region) and the origin sees
  it as a notice (无需目标单位确认), which it acknowledges.

Every state change appends a DispatchEvent, moves the DISPATCH_PENDING work tally exactly as
tally.rebuild counts it (PENDING orders at their target), and a change of management region goes through
changes.person_written. The module also holds `Operator`, the acting caller of the casework workflows
(deaths reuse it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum

from graphql import GraphQLError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.outbox import emit, utcnow
from subgraphs.common.regions import subtree_prefix
from subgraphs.common.scope import RegionScope, region_scope
from subgraphs.common.validators import InvalidIdNumber, parse_resident_id
from subgraphs.population import models
from subgraphs.population.codes import PersonStatus
from subgraphs.population.domain import tally
from subgraphs.population.domain.changes import actor_of, person_written, snapshot
from subgraphs.population.domain.inputs import text as _text

PROVINCE_CODE = "320000"
# Days are China Standard Time (no daylight saving): "today" and the history's date filters.
CHINA = timezone(timedelta(hours=8))
NO_SUCH_PERSON = "查无此人"


class DispatchStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"


class DispatchDirection(StrEnum):
    PUSH = "PUSH"
    PULL = "PULL"


class DispatchScope(StrEnum):
    WITHIN_COUNTY = "WITHIN_COUNTY"
    WITHIN_PROVINCE = "WITHIN_PROVINCE"


def china_today() -> date:
    return datetime.now(CHINA).date()


def china_day_start(day: date) -> datetime:
    """The first moment of a China day, as an aware datetime (for created_at ranges)."""
    return datetime(day.year, day.month, day.day, tzinfo=CHINA).astimezone(UTC)


# --- who acts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    """The caller of a workflow action: what it may see (`scope`) and the region it acts for (`region`: its
    own region; the province for a province-wide operator without one)."""

    actor: str
    scope: RegionScope
    region: str | None

    @property
    def province_level(self) -> bool:
        """A province operator: sees everything, or acts for the province itself."""
        return self.scope.everything or self.region == PROVINCE_CODE

    def covers(self, code: str | None) -> bool:
        """Whether `code` lies in the caller's reach; None (a record no region holds) only for the province."""
        if code is None:
            return self.province_level
        return self.scope.allows(code)

    @property
    def handles_tasks(self) -> bool:
        """待处理任务 are handled by 镇级及以下用户 [JS L9339]; the province operator too (a fix-up when a
        township office cannot)."""
        return self.province_level or (self.region is not None and len(self.region) >= 9)


def operator_of(caller: Caller | None) -> Operator:
    """The acting caller; a caller that may see no personal records is refused with FORBIDDEN."""
    scope = region_scope(caller)
    if not scope.everything and scope.region is None:
        raise forbidden("Your account may not work on personal records (no data scope or region).")
    own = caller.region_code if caller is not None and caller.region_code else None
    region = scope.region if not scope.everything else (own or PROVINCE_CODE)
    return Operator(actor=actor_of(caller), scope=scope, region=region)


# --- shared checks ---------------------------------------------------------------------------------


def normalise_id_number(value: str, field: str = "idNumber") -> str:
    """A resident ID number as stored (18 characters, upper-case X; a legacy 15-digit one converted)."""
    try:
        return parse_resident_id(value.strip()).number
    except InvalidIdNumber as exc:
        raise bad_input(f"Not a valid resident ID number: {exc}", field=field) from exc


async def current_region(session: AsyncSession, code: str) -> models.Region | None:
    """The region with this code if it exists and is valid today."""
    row = await session.get(models.Region, code)
    today = china_today()
    if row is None or row.valid_from > today or (row.valid_to is not None and row.valid_to <= today):
        return None
    return row


def in_region(code: str, region: str) -> bool:
    return code.startswith(subtree_prefix(region))


def invalid_state(message: str, status: str, **details: object) -> GraphQLError:
    return domain_error(ErrorCode.INVALID_STATE, message, status=status, **details)




# --- requests --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchRequest:
    """The form of 调出 and 调入: 接收地区划代码 (pull: optional, the caller's region by default), 地址, 联系人,
    联系电话, 原因说明."""

    id_number: str
    target_region_code: str | None
    address: str | None
    contact: str | None
    contact_phone: str | None
    reason: str | None


@dataclass(frozen=True)
class _CleanRequest:
    id_number: str
    address: str | None
    contact: str
    contact_phone: str
    reason: str


def _clean(request: DispatchRequest) -> _CleanRequest:
    phone = _text(request.contact_phone, "contactPhone", 20, required=True) or ""
    if not all(c.isdigit() or c in "-+ ()" for c in phone) or sum(c.isdigit() for c in phone) < 7:
        raise bad_input("contactPhone is not a telephone number.", field="contactPhone")
    return _CleanRequest(
        id_number=normalise_id_number(request.id_number),
        address=_text(request.address, "address", 200),
        contact=_text(request.contact, "contact", 64, required=True) or "",
        contact_phone=phone,
        reason=_text(request.reason, "reason", 200, required=True) or "",
    )


async def _target(session: AsyncSession, code: str) -> str:
    code = code.strip()
    if len(code) < 9 or not code.isdigit():
        raise bad_input("The receiving region must be a township or a region below it (9 or more digits).",
                        field="targetRegionCode")
    if await current_region(session, code) is None:
        raise bad_input(f"No region {code} is in force today.", field="targetRegionCode")
    return code


async def _person_by_id_number(session: AsyncSession, id_number: str) -> models.Person | None:
    return await session.scalar(select(models.Person).where(models.Person.id_number == id_number)
                                .with_for_update().execution_options(populate_existing=True))


def _check_movable(person: models.Person) -> None:
    if person.deleted:
        raise invalid_state("The case has been deleted and cannot be dispatched.", "DELETED")
    if person.status != PersonStatus.NORMAL.value:
        raise invalid_state(f"A {person.status.lower()} case cannot be dispatched.", person.status)


async def _check_no_open_order(session: AsyncSession, person: models.Person) -> None:
    open_id = await session.scalar(select(models.DispatchOrder.id).where(
        models.DispatchOrder.person_uid == person.uid,
        models.DispatchOrder.status == DispatchStatus.PENDING.value).limit(1))
    if open_id is not None:
        raise domain_error(ErrorCode.CONFLICT, "The case already has an open dispatch order.", orderId=open_id)


def _scope_of(origin: str, target: str) -> DispatchScope:
    return DispatchScope.WITHIN_COUNTY if origin[:6] == target[:6] else DispatchScope.WITHIN_PROVINCE


def _event(session: AsyncSession, order: models.DispatchOrder, action: str, before: str | None, *, actor: str,
           at: datetime, comment: str | None = None) -> None:
    session.add(models.DispatchEvent(id=str(uuid.uuid4()), order_id=order.id, at=at, actor=actor, action=action,
                                     from_status=before, to_status=order.status, comment=comment))


def _emit(session: AsyncSession, order: models.DispatchOrder, what: str) -> None:
    emit(session, models.OutboxEvent, f"population.dispatch.{what}",
         {"id": order.id, "personUid": order.person_uid, "direction": order.direction, "status": order.status,
          "originRegion": order.origin_region_code, "targetRegion": order.target_region_code})


async def _move(session: AsyncSession, person: models.Person, target: str, *, actor: str, at: datetime,
                order: models.DispatchOrder) -> None:
    before = snapshot(person)
    person.management_region_code = target
    await person_written(session, person, actor=actor, action="DISPATCH", before=before, at=at,
                         comment=f"调度 {order.direction} {order.origin_region_code}→{target} ({order.id})")


# --- push (调出) -------------------------------------------------------------------------------------


async def push(session: AsyncSession, request: DispatchRequest, operator: Operator) -> models.DispatchOrder:
    """调出: a PENDING order at the receiving region. A case that does not exist and one managed outside the
    caller's region answer alike, "查无此人", so the form never tells where a person lives."""
    form = _clean(request)
    if request.target_region_code is None:
        raise bad_input("targetRegionCode is required.", field="targetRegionCode")
    person = await _person_by_id_number(session, form.id_number)
    if person is None or not operator.covers(person.management_region_code):
        raise domain_error(ErrorCode.NOT_FOUND, NO_SUCH_PERSON)
    _check_movable(person)
    target = await _target(session, request.target_region_code)
    if target == person.management_region_code:
        raise bad_input("The receiving region is the case's current management region.", field="targetRegionCode")
    await _check_no_open_order(session, person)
    now = utcnow()
    origin = person.management_region_code
    order = models.DispatchOrder(
        id=str(uuid.uuid4()), person_uid=person.uid, direction=DispatchDirection.PUSH.value,
        scope=_scope_of(origin, target).value, origin_region_code=origin, target_region_code=target,
        address=form.address, contact=form.contact, contact_phone=form.contact_phone, reason=form.reason,
        status=DispatchStatus.PENDING.value, created_by=operator.actor, created_at=now)
    session.add(order)
    await session.flush()
    _event(session, order, "PUSHED", None, actor=operator.actor, at=now, comment=form.reason)
    await tally.work(session, tally.DISPATCH_PENDING, target, "", +1)
    _emit(session, order, "pending")
    return order


# --- pull (调入) -------------------------------------------------------------------------------------


async def pull(session: AsyncSession, request: DispatchRequest, operator: Operator) -> models.DispatchOrder:
    """调入: the case moves to the receiving region at once (the caller's own region, which must be a township
    or below; a province or county operator names the township in `target_region_code`)."""
    form = _clean(request)
    if request.target_region_code is not None:
        target = await _target(session, request.target_region_code)
        if not operator.covers(target):
            raise forbidden(f"Region {target} is outside your region.", field="targetRegionCode")
    elif operator.region is not None and len(operator.region) >= 9:
        target = await _target(session, operator.region)
    else:
        raise bad_input("Your region is above township level: name the receiving township (targetRegionCode).",
                        field="targetRegionCode")
    person = await _person_by_id_number(session, form.id_number)
    if person is None:
        raise domain_error(ErrorCode.NOT_FOUND, NO_SUCH_PERSON)
    here = in_region(person.management_region_code, target) or (
        not operator.province_level and operator.covers(person.management_region_code))
    if here:
        raise invalid_state("The case is already managed here.", person.status, reason="ALREADY_MANAGED_HERE")
    _check_movable(person)
    await _check_no_open_order(session, person)
    now = utcnow()
    origin = person.management_region_code
    order = models.DispatchOrder(
        id=str(uuid.uuid4()), person_uid=person.uid, direction=DispatchDirection.PULL.value,
        scope=_scope_of(origin, target).value, origin_region_code=origin, target_region_code=target,
        address=form.address, contact=form.contact, contact_phone=form.contact_phone, reason=form.reason,
        status=DispatchStatus.COMPLETED.value, created_by=operator.actor, created_at=now,
        decided_by=operator.actor, decided_at=now)
    session.add(order)
    await session.flush()
    await _move(session, person, target, actor=operator.actor, at=now, order=order)
    _event(session, order, "PULLED", None, actor=operator.actor, at=now, comment=form.reason)
    _emit(session, order, "completed")
    return order


# --- the receiver and the origin act on an order ---------------------------------------------------


async def _order(session: AsyncSession, order_id: str, operator: Operator, *, lock: bool) -> models.DispatchOrder:
    """The order if either side of it lies in the caller's reach (NOT_FOUND otherwise)."""
    stmt = select(models.DispatchOrder).where(models.DispatchOrder.id == order_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    order = await session.scalar(stmt)
    if order is None or not (operator.covers(order.origin_region_code) or operator.covers(order.target_region_code)):
        raise domain_error(ErrorCode.NOT_FOUND, f"No dispatch order {order_id} in your region.")
    return order


def _as_receiver(order: models.DispatchOrder, operator: Operator) -> None:
    if not operator.covers(order.target_region_code):
        raise forbidden("Only the receiving region handles this task.")
    if not operator.handles_tasks:
        raise forbidden("待处理任务 are handled by township-level (镇级及以下) users.", region=operator.region)


def _pending(order: models.DispatchOrder) -> None:
    if order.status != DispatchStatus.PENDING.value:
        raise invalid_state(f"The order is {order.status}, not PENDING.", order.status)


async def _close(session: AsyncSession, order: models.DispatchOrder, status: DispatchStatus, action: str, *,
                 actor: str, at: datetime, comment: str | None) -> None:
    before = order.status
    order.status = status.value
    order.decided_by, order.decided_at, order.decision_comment = actor, at, comment
    _event(session, order, action, before, actor=actor, at=at, comment=comment)
    await tally.work(session, tally.DISPATCH_PENDING, order.target_region_code, "", -1)
    _emit(session, order, action.lower())


async def confirm(session: AsyncSession, order_id: str, operator: Operator) -> models.DispatchOrder:
    """确认调入: the case moves to the target."""
    peek = await _order(session, order_id, operator, lock=False)
    _as_receiver(peek, operator)
    # Person before order, as sync of a death takes them, so that the two never wait on each other.
    person = await session.scalar(select(models.Person).where(models.Person.uid == peek.person_uid)
                                  .with_for_update().execution_options(populate_existing=True))
    order = await _order(session, order_id, operator, lock=True)
    _pending(order)
    assert person is not None  # the foreign key keeps it
    if person.deleted or person.status != PersonStatus.NORMAL.value:
        raise invalid_state("The case is no longer in a state that can be dispatched; reject the task.",
                            order.status, personStatus="DELETED" if person.deleted else person.status)
    if person.management_region_code != order.origin_region_code:
        raise invalid_state("The case's management region changed since the order was made; reject the task.",
                            order.status)
    now = utcnow()
    await _move(session, person, order.target_region_code, actor=operator.actor, at=now, order=order)
    await _close(session, order, DispatchStatus.CONFIRMED, "CONFIRMED", actor=operator.actor, at=now, comment=None)
    return order


async def reject(session: AsyncSession, order_id: str, reason: str, operator: Operator) -> models.DispatchOrder:
    """拒绝调入 (not in the tender; a receiver that cannot take a case needs it): the case stays where it is."""
    comment = _text(reason, "reason", 200, required=True)
    order = await _order(session, order_id, operator, lock=True)
    _as_receiver(order, operator)
    _pending(order)
    await _close(session, order, DispatchStatus.REJECTED, "REJECTED", actor=operator.actor, at=utcnow(),
                 comment=comment)
    return order


async def cancel(session: AsyncSession, order_id: str, reason: str | None, operator: Operator) -> models.DispatchOrder:
    """撤回调出: the origin withdraws a push while it pends."""
    comment = _text(reason, "reason", 200)
    order = await _order(session, order_id, operator, lock=True)
    if not operator.covers(order.origin_region_code):
        raise forbidden("Only the origin region cancels its order.")
    _pending(order)
    await _close(session, order, DispatchStatus.CANCELLED, "CANCELLED", actor=operator.actor, at=utcnow(),
                 comment=comment)
    return order


async def acknowledge(session: AsyncSession, order_id: str, operator: Operator) -> models.DispatchOrder:
    """The origin has seen that a case was pulled away (a second acknowledgement changes nothing)."""
    order = await _order(session, order_id, operator, lock=True)
    if not operator.covers(order.origin_region_code):
        raise forbidden("Only the origin region acknowledges the notice.")
    if order.direction != DispatchDirection.PULL.value or order.status != DispatchStatus.COMPLETED.value:
        raise invalid_state("Only a completed 调入 is a notice to acknowledge.", order.status)
    if order.origin_acknowledged_at is None:
        now = utcnow()
        order.origin_acknowledged_at = now
        _event(session, order, "ACKNOWLEDGED", order.status, actor=operator.actor, at=now)
    return order


async def cancel_open_orders(session: AsyncSession, person_uid: str, *, actor: str, comment: str) -> int:
    """Cancels the person's pending orders (a death synced: nobody is to be moved any more)."""
    orders = (await session.scalars(select(models.DispatchOrder).where(
        models.DispatchOrder.person_uid == person_uid, models.DispatchOrder.status == DispatchStatus.PENDING.value)
        .with_for_update().execution_options(populate_existing=True))).all()
    now = utcnow()
    for order in orders:
        await _close(session, order, DispatchStatus.CANCELLED, "CANCELLED", actor=actor, at=now, comment=comment)
    return len(orders)
