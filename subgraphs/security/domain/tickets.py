"""运维工单 (5.3.12 运维管理): the ticket state machine, directed dispatch and the unrated-ticket job.

The whole workflow is the TRANSITIONS table: (status, action) -> next status, and WHO says which party
may take an action. Every step writes an OpsTicketEvent and emits "security.ticket.<action>" in the same
transaction, so the cockpit's ticket counters follow the table exactly.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.outbox import emit
from subgraphs.security import models
from subgraphs.security.access import Role, actor_of, has_role, org_condition, sees_org

# 故障类型 with the labels the request form shows.
FAULT_TYPES: dict[str, str] = {
    "NETWORK": "网络故障", "SERVER": "服务器故障", "APPLICATION": "应用系统故障", "TERMINAL": "终端故障",
    "SECURITY": "安全事件", "DATABASE": "数据库故障", "OTHER": "其他",
}  # fmt: skip

# Unrated resolved tickets close on their own after this long (the requester had their chance to object).
RATING_WINDOW = timedelta(days=7)


class Status(StrEnum):
    SUBMITTED = "SUBMITTED"  # 已申请
    REJECTED = "REJECTED"  # 审核驳回
    DISPATCHED = "DISPATCHED"  # 已派单
    IN_PROGRESS = "IN_PROGRESS"  # 处理中
    RESOLVED = "RESOLVED"  # 已处理/待评价
    EVALUATED = "EVALUATED"  # 已评价
    CLOSED = "CLOSED"  # 已审批/关闭


class Action(StrEnum):
    REJECT = "REJECT"  # 审核驳回
    DISPATCH = "DISPATCH"  # 派单
    REDISPATCH = "REDISPATCH"  # 二次派单 (reason required)
    ACCEPT = "ACCEPT"  # 接单
    RESOLVE = "RESOLVE"  # 填写处理结果
    EVALUATE = "EVALUATE"  # 服务评价
    REOPEN = "REOPEN"  # 未解决, back to the handler
    CLOSE = "CLOSE"  # 审批/关闭
    EXPIRE = "EXPIRE"  # closed unrated after RATING_WINDOW (the job only)


class Party(StrEnum):
    DISPATCHER = "DISPATCHER"
    HANDLER = "HANDLER"
    REQUESTER = "REQUESTER"
    SYSTEM = "SYSTEM"


S, A = Status, Action
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (S.SUBMITTED, A.REJECT): S.REJECTED,
    (S.SUBMITTED, A.DISPATCH): S.DISPATCHED,
    (S.DISPATCHED, A.REDISPATCH): S.DISPATCHED,
    (S.DISPATCHED, A.ACCEPT): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.RESOLVE): S.RESOLVED,
    (S.IN_PROGRESS, A.REDISPATCH): S.DISPATCHED,
    (S.RESOLVED, A.EVALUATE): S.EVALUATED,
    (S.RESOLVED, A.REOPEN): S.IN_PROGRESS,
    (S.RESOLVED, A.EXPIRE): S.CLOSED,
    (S.EVALUATED, A.CLOSE): S.CLOSED,
}
WHO: dict[Action, Party] = {
    A.REJECT: Party.DISPATCHER, A.DISPATCH: Party.DISPATCHER, A.REDISPATCH: Party.DISPATCHER,
    A.CLOSE: Party.DISPATCHER, A.ACCEPT: Party.HANDLER, A.RESOLVE: Party.HANDLER,
    A.EVALUATE: Party.REQUESTER, A.REOPEN: Party.REQUESTER, A.EXPIRE: Party.SYSTEM,
}  # fmt: skip
assert set(WHO) == set(Action)
OPEN = (S.DISPATCHED, S.IN_PROGRESS)  # what counts as a handler's load


def allowed_actions(status: str) -> list[str]:
    """The actions a person may take from `status` (the job's EXPIRE is not offered)."""
    return [a.value for (s, a) in TRANSITIONS if s == status and WHO[a] is not Party.SYSTEM]


@dataclass(frozen=True)
class Step:
    """What an action carries: the handler (dispatch), the reason, the result, the rating."""

    handler: str | None = None
    reason: str | None = None
    result: str | None = None
    rating: int | None = None
    comment: str | None = None


def may_see(caller: Caller | None, row: models.OpsTicket) -> bool:
    """Dispatchers and admins see every ticket; a unit its own; ops staff those dispatched to them."""
    if has_role(caller, Role.DISPATCH):
        return True
    user = caller.user_id if caller else None
    if user is not None and user in (row.requester, row.handler):
        return True
    return sees_org(caller, row.org_id, row.region_code)


def visible(caller: Caller | None) -> ColumnElement[bool]:
    """The WHERE condition of `may_see`."""
    if has_role(caller, Role.DISPATCH):
        return true()
    conditions = [org_condition(caller, models.OpsTicket.org_id, models.OpsTicket.region_code)]
    user = caller.user_id if caller else None
    if user is not None:
        conditions += [models.OpsTicket.requester == user, models.OpsTicket.handler == user]
    return or_(*conditions)


def _city(region_code: str | None) -> str | None:
    return region_code[:4] + "00" if region_code else None


def _payload(row: models.OpsTicket) -> dict[str, Any]:
    return {"ticketId": row.id, "status": row.status, "faultType": row.fault_type, "orgId": row.org_id,
            "regionCode": row.region_code, "handler": row.handler}


def _record(session: AsyncSession, row: models.OpsTicket, action: str, before: str | None, actor: str,
            now: datetime, detail: dict[str, Any]) -> None:
    session.add(models.OpsTicketEvent(ticket_id=row.id, action=action, from_status=before, to_status=row.status,
                                      actor=actor, at=now, detail=detail))
    emit(session, models.OutboxEvent, f"security.ticket.{action.lower()}", _payload(row))


def _check_fault(fault_type: str) -> None:
    if fault_type not in FAULT_TYPES:
        raise bad_input(f"Unknown fault type {fault_type}.", field="faultType", allowed=list(FAULT_TYPES))


def _check_description(description: str) -> str:
    text = description.strip()
    if not text:
        raise bad_input("故障描述 is required.", field="description")
    return text


def _new_ticket(requester: str, org_id: str, region_code: str | None, fault_type: str, description: str,
                origin: str, now: datetime) -> models.OpsTicket:
    key = uuid.uuid4().hex
    return models.OpsTicket(
        id=f"tkt-{key[:24]}", number=f"YW{now:%Y%m%d}{key[:6].upper()}", requester=requester, org_id=org_id,
        region_code=_city(region_code), fault_type=fault_type, description=description, origin=origin,
        status=S.SUBMITTED.value, dispatch_count=0, created_at=now, updated_at=now,
    )


async def request(session: AsyncSession, caller: Caller | None, fault_type: str, description: str,
                  now: datetime) -> models.OpsTicket:
    """用户申请: any signed-in user of an organisation files a ticket for that organisation."""
    user = caller.user_id if caller else None
    if caller is None or user is None or not caller.organization_id:
        raise forbidden("Requesting a ticket needs a signed-in user of an organisation.")
    _check_fault(fault_type)
    row = _new_ticket(user, caller.organization_id, caller.region_code, fault_type,
                      _check_description(description), "REQUESTED", now)
    session.add(row)
    _record(session, row, "SUBMITTED", None, user, now, {"origin": "REQUESTED"})
    await session.flush()
    return row


async def create_dispatched(session: AsyncSession, caller: Caller | None, *, requester: str, org_id: str,
                            region_code: str | None, fault_type: str, description: str, handler: str | None,
                            now: datetime) -> models.OpsTicket:
    """中心直接填写派单: the ops centre files a ticket on a user's behalf and dispatches it at once."""
    if not has_role(caller, Role.DISPATCH):
        raise forbidden("Filing and dispatching a ticket is for the operations centre.")
    _check_fault(fault_type)
    if not requester.strip() or not org_id.strip():
        raise bad_input("The requester and their organisation are required.", field="requester")
    actor = actor_of(caller)
    row = _new_ticket(requester.strip(), org_id.strip(), region_code, fault_type,
                      _check_description(description), "CENTRE", now)
    session.add(row)
    _record(session, row, "SUBMITTED", None, actor, now, {"origin": "CENTRE"})
    await session.flush()
    return await transition(session, caller, row, A.DISPATCH, Step(handler=handler), now)


async def open_load(session: AsyncSession) -> Counter[str]:
    """Open tickets (dispatched or in progress) per handler."""
    rows = await session.execute(
        select(models.OpsTicket.handler, func.count()).where(models.OpsTicket.status.in_([s.value for s in OPEN]))
        .group_by(models.OpsTicket.handler)
    )
    return Counter({handler: n for handler, n in rows.all() if handler is not None})


async def recommend(session: AsyncSession, fault_type: str,
                    region: str | None) -> list[tuple[models.OpsStaff, int]]:
    """定向派单: active staff skilled in the fault type, fewest open tickets first, then those of the same city.

    Load comes first because a queue is what delays a repair; the city breaks ties (shorter trip)."""
    _check_fault(fault_type)
    staff = (await session.scalars(select(models.OpsStaff).where(models.OpsStaff.active.is_(True)))).all()
    skilled = [s for s in staff if fault_type in (s.skills or [])]
    load = await open_load(session)
    city = _city(region)
    skilled.sort(key=lambda s: (load[s.user_id], city is None or _city(s.region_code) != city, s.user_id))
    return [(s, load[s.user_id]) for s in skilled]


async def _handler_for(session: AsyncSession, row: models.OpsTicket, named: str | None) -> str:
    if named:
        staff = await session.get(models.OpsStaff, named)
        if staff is None or not staff.active:
            raise bad_input(f"{named} is not an active member of the ops staff.", field="handler")
        return staff.user_id
    for staff, _ in await recommend(session, row.fault_type, row.region_code):
        if staff.user_id != row.handler:
            return staff.user_id
    raise bad_input(f"No active ops staff has the skill {row.fault_type}; name a handler.", field="handler")


def _check_party(caller: Caller | None, row: models.OpsTicket, action: Action) -> None:
    party = WHO[action]
    user = caller.user_id if caller else None
    if party is Party.DISPATCHER:
        if not has_role(caller, Role.DISPATCH):
            raise forbidden(f"{action.value} is for the operations centre's dispatchers.")
    elif party is Party.HANDLER:
        if user is None or user != row.handler or not has_role(caller, Role.OPS):
            raise forbidden(f"{action.value} is for the ticket's handler ({row.handler}).")
    elif party is Party.REQUESTER:
        if user is None or user != row.requester:
            raise forbidden(f"{action.value} is for the ticket's requester.")
    else:
        raise forbidden(f"{action.value} is taken by the system only.")


def _required(value: str | None, field: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise bad_input(f"{what} is required.", field=field)
    return text


async def transition(session: AsyncSession, caller: Caller | None, row: models.OpsTicket, action: Action,
                     step: Step, now: datetime, *, system: bool = False) -> models.OpsTicket:
    """Take `action` on the ticket: refused with INVALID_STATE when the table has no such move."""
    before = Status(row.status)
    target = TRANSITIONS.get((before, action))
    if target is None:
        raise domain_error(ErrorCode.INVALID_STATE,
                           f"A ticket in status {before.value} cannot take the action {action.value}.",
                           status=before.value, allowedActions=allowed_actions(before.value))
    if not system:
        _check_party(caller, row, action)
    detail: dict[str, Any] = {}
    if action is A.REJECT:
        detail["reason"] = _required(step.reason, "reason", "驳回原因")
    elif action in (A.DISPATCH, A.REDISPATCH):
        if action is A.REDISPATCH:
            detail["reason"] = _required(step.reason, "reason", "二次派单原因")
        handler = await _handler_for(session, row, step.handler)
        if action is A.REDISPATCH and handler == row.handler:
            raise bad_input("A re-dispatch must go to another handler.", field="handler")
        detail.update(previousHandler=row.handler, handler=handler)
        row.handler = handler
        row.dispatched_by = actor_of(caller)
        row.dispatch_count += 1
    elif action is A.RESOLVE:
        row.result = detail["result"] = _required(step.result, "result", "处理结果")
        row.resolved_at = now
    elif action is A.EVALUATE:
        if step.rating is None or not 1 <= step.rating <= 5:
            raise bad_input("The rating is 1 to 5 stars.", field="rating")
        comment = (step.comment or "").strip() or None
        if comment is not None and len(comment) > 500:
            raise bad_input("The comment is at most 500 characters.", field="comment")
        row.rating, row.comment = step.rating, comment
        detail.update(rating=step.rating, comment=comment)
    elif action is A.REOPEN:
        detail["reason"] = _required(step.reason, "reason", "未解决原因")
        row.resolved_at = None
    if target is S.CLOSED:
        row.closed_at = now
    row.status = target.value
    row.updated_at = now
    _record(session, row, action.value, before.value, "system" if system else actor_of(caller), now, detail)
    await session.flush()
    return row


async def close_unrated(session: AsyncSession, now: datetime) -> int:
    """Job: close the tickets resolved more than RATING_WINDOW ago and never rated; how many were closed."""
    rows = (await session.scalars(
        select(models.OpsTicket).where(models.OpsTicket.status == S.RESOLVED.value,
                                       models.OpsTicket.resolved_at <= now - RATING_WINDOW)
        .order_by(models.OpsTicket.id)
    )).all()
    for row in rows:
        await transition(session, None, row, A.EXPIRE, Step(), now, system=True)
    return len(rows)
