"""System-to-system presentation (亮证, 5.1.3.5): the registered calling systems (调用系统) with their grants
and limits, `present` itself, and the search and export of the presentation records.

Choices where the tender is silent (docs/licences/presentation.md):

* only a registered client may present; an unknown caller is refused (FORBIDDEN) without a record, because
  a record names a calling system and an unknown one has none. A known client's every call is recorded,
  refused or not;
* the grant is checked first (type and scenario, "限定业务场景使用，禁止超范围调用" L11597: DENIED), then the
  block and the limits (LIMITED), then the lookup. Every call that passes the grant and the limits counts,
  whatever it finds: a miss is a query of personal data too;
* the daily limit (a China day) refuses calls for the rest of the day; the yearly limit (a calendar year)
  blocks the client ("超过限制后封禁查询权限", L5413) until a manager lifts it. A manager can also block a
  client by hand. Lifting (L5467 "解除总限制、解除当日限制"): DAILY gives the client a fresh daily allowance
  for today; TOTAL ends the block and, when the year's count has reached the limit, a fresh yearly one.
  Lifted calls stay counted for the statistics (PresentationUsage.*_lifted);
* only generated licences (已制发: an ElectronicLicence exists) are served. By holder ID number the newest
  generated licence of the type is served, a valid one before an expired or revoked one.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.masking import mask_id_number
from subgraphs.common.spreadsheet import BOM, SafeCsvWriter
from subgraphs.licences import models
from subgraphs.licences.access import actor_of, check_manager, principal_of
from subgraphs.licences.codes import LicenceTypeCode, PresentationResult, type_info
from subgraphs.licences.domain.chain import ChainName, append
from subgraphs.licences.domain.face import Disclosure, disclose, face_of
from subgraphs.licences.domain.generation import FaceCheck, check_face
from subgraphs.licences.ids import new_hex
from subgraphs.licences.status import CHINA, LicenceStatus, licence_status, today_in_china

GRANTABLE = (Disclosure.FULL, Disclosure.MASKED)
MAX_EXPORT_ROWS = 100_000
_TEXT_LIMITS = {"clientId": 64, "name": 100, "scenario": 64, "operator": 64, "reason": 200}


def utcnow() -> datetime:
    """The clock (tests replace it)."""
    return datetime.now(UTC)


def _text(value: str | None, field: str, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise bad_input(f"{field} must not be blank.", field=field)
    if len(text) > _TEXT_LIMITS[field]:
        raise bad_input(f"{field} is longer than {_TEXT_LIMITS[field]} characters.", field=field)
    return text


# --- clients (调用系统) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """What a client may present, how much of the face it sees, and how often it may call."""

    allowed_types: Sequence[LicenceTypeCode]
    allowed_scenarios: Sequence[str]
    disclosure: Disclosure
    daily_limit: int
    yearly_limit: int


def _checked(grant: Grant) -> Grant:
    if not grant.allowed_types:
        raise bad_input("A client must be granted at least one licence type.", field="allowedTypes")
    scenarios = sorted({_text(s, "scenario") for s in grant.allowed_scenarios})
    if not scenarios:
        raise bad_input("A client must be granted at least one business scenario.", field="allowedScenarios")
    if grant.disclosure not in GRANTABLE:
        raise bad_input("A client is granted the FULL or the MASKED face.", field="disclosure")
    if grant.daily_limit < 1 or grant.yearly_limit < 1:
        raise bad_input("Limits must be at least 1.", field="dailyLimit")
    if grant.daily_limit > grant.yearly_limit:
        raise bad_input("The daily limit cannot exceed the yearly limit.", field="dailyLimit")
    types = sorted({t for t in grant.allowed_types}, key=lambda t: list(LicenceTypeCode).index(t))
    return Grant(types, scenarios, grant.disclosure, grant.daily_limit, grant.yearly_limit)


async def register_client(session: AsyncSession, caller: Caller | None, client_id: str, name: str, grant: Grant,
                          *, now: datetime | None = None) -> models.PresentationClient:
    check_manager(caller, "Registering a presenting system")
    client_id, name, grant = _text(client_id, "clientId"), _text(name, "name"), _checked(grant)
    if await session.get(models.PresentationClient, client_id) is not None:
        raise domain_error(ErrorCode.CONFLICT, f"The client {client_id} is already registered.", clientId=client_id)
    row = models.PresentationClient(
        client_id=client_id, name=name, allowed_types=[str(t.value) for t in grant.allowed_types],
        allowed_scenarios=list(grant.allowed_scenarios), disclosure=grant.disclosure.value,
        daily_limit=grant.daily_limit, yearly_limit=grant.yearly_limit,
        registered_by=actor_of(caller), registered_at=now or utcnow())
    session.add(row)
    await session.flush()
    return row


async def _client(session: AsyncSession, client_id: str) -> models.PresentationClient:
    row = await session.get(models.PresentationClient, client_id.strip(), with_for_update=True)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No presenting system {client_id} is registered.",
                           clientId=client_id)
    return row


async def update_client(session: AsyncSession, caller: Caller | None, client_id: str, *, name: str | None = None,
                        allowed_types: Sequence[LicenceTypeCode] | None = None,
                        allowed_scenarios: Sequence[str] | None = None, disclosure: Disclosure | None = None,
                        daily_limit: int | None = None, yearly_limit: int | None = None,
                        ) -> models.PresentationClient:
    """Change a client's name or grant; what is not given stays."""
    check_manager(caller, "Changing a presenting system")
    row = await _client(session, client_id)
    grant = _checked(Grant(
        [LicenceTypeCode(t) for t in row.allowed_types] if allowed_types is None else allowed_types,
        row.allowed_scenarios if allowed_scenarios is None else allowed_scenarios,
        Disclosure(row.disclosure) if disclosure is None else disclosure,
        row.daily_limit if daily_limit is None else daily_limit,
        row.yearly_limit if yearly_limit is None else yearly_limit))
    if name is not None:
        row.name = _text(name, "name")
    row.allowed_types = [str(t.value) for t in grant.allowed_types]
    row.allowed_scenarios = list(grant.allowed_scenarios)
    row.disclosure, row.daily_limit, row.yearly_limit = grant.disclosure.value, grant.daily_limit, grant.yearly_limit
    await session.flush()
    return row


async def block_client(session: AsyncSession, caller: Caller | None, client_id: str, reason: str,
                       *, now: datetime | None = None) -> models.PresentationClient:
    """封禁: refuse the client's calls (LIMITED) until a manager lifts the block."""
    check_manager(caller, "Blocking a presenting system")
    reason = _text(reason, "reason")
    row = await _client(session, client_id)
    row.blocked_at, row.blocked_reason = now or utcnow(), reason
    await session.flush()
    return row


class Unblock(Enum):
    DAILY = "DAILY"  # 解除当日限制
    TOTAL = "TOTAL"  # 解除总限制


async def unblock_client(session: AsyncSession, caller: Caller | None, client_id: str, scope: Unblock,
                         *, now: datetime | None = None) -> models.PresentationClient:
    """Lift today's limit (a fresh daily allowance), or the block with, when reached, the yearly limit."""
    check_manager(caller, "Unblocking a presenting system")
    now = now or utcnow()
    today = today_in_china(now)
    client_id = client_id.strip()
    if await session.get(models.PresentationClient, client_id) is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No presenting system {client_id} is registered.",
                           clientId=client_id)
    # The usage row before the client row: the order `present` locks them in.
    usage = await _usage_row(session, client_id, today)
    row = await _client(session, client_id)
    if scope is Unblock.DAILY:
        usage.daily_lifted = usage.calls
    else:
        year_count = await _year_count(session, client_id, today)
        if year_count >= row.yearly_limit:
            usage.yearly_lifted += year_count
        row.blocked_at, row.blocked_reason = None, None
    await session.flush()
    return row


# --- usage and limits -------------------------------------------------------------------------------


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def _usage_row(session: AsyncSession, client_id: str, day: date) -> models.PresentationUsage:
    U = models.PresentationUsage
    await session.execute(_insert(session)(U).values(client_id=client_id, day=day, calls=0, daily_lifted=0,
                                                     yearly_lifted=0).on_conflict_do_nothing())
    row = await session.scalar(select(U).where(U.client_id == client_id, U.day == day).with_for_update()
                               .execution_options(populate_existing=True))
    assert row is not None
    return row


async def _year_count(session: AsyncSession, client_id: str, day: date, *, before_day: bool = False) -> int:
    """The calls of `day`'s year that count against the yearly limit (up to `day`, or before it)."""
    U = models.PresentationUsage
    last = U.day < day if before_day else U.day <= day
    total = await session.scalar(select(func.coalesce(func.sum(U.calls - U.yearly_lifted), 0)).where(
        U.client_id == client_id, U.day >= date(day.year, 1, 1), last))
    return int(total or 0)


@dataclass(frozen=True)
class Usage:
    today: int
    year: int


async def usage_of(session: AsyncSession, client_ids: Sequence[str], today: date) -> dict[str, Usage]:
    """Calls today and this year per client (all calls, lifted ones included), in one query."""
    U = models.PresentationUsage
    rows = await session.execute(select(
        U.client_id, func.sum(case((U.day == today, U.calls), else_=0)), func.sum(U.calls),
    ).where(U.client_id.in_(client_ids), U.day >= date(today.year, 1, 1), U.day <= today).group_by(U.client_id))
    found = {cid: Usage(int(t or 0), int(y or 0)) for cid, t, y in rows.all()}
    return {cid: found.get(cid, Usage(0, 0)) for cid in client_ids}


class LimitHit(Enum):
    DAILY = "DAILY"
    YEARLY = "YEARLY"


async def _take_call(session: AsyncSession, client: models.PresentationClient, today: date) -> LimitHit | None:
    """Count one call when both limits allow it; which limit refused it otherwise. The conditional update
    is atomic, so concurrent calls cannot overshoot a limit."""
    U = models.PresentationUsage
    await _usage_row(session, client.client_id, today)
    earlier = await _year_count(session, client.client_id, today, before_day=True)
    result = await session.execute(
        update(U).where(U.client_id == client.client_id, U.day == today,
                        U.calls - U.daily_lifted < client.daily_limit,
                        U.calls - U.yearly_lifted + earlier < client.yearly_limit)
        .values(calls=U.calls + 1).execution_options(synchronize_session=False))
    if getattr(result, "rowcount", 0) == 1:
        return None
    row = await _usage_row(session, client.client_id, today)
    return LimitHit.YEARLY if row.calls - row.yearly_lifted + earlier >= client.yearly_limit else LimitHit.DAILY


# --- presenting -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Presentation:
    result: PresentationResult
    record: models.PresentationRecord
    face: dict[str, Any] | None
    status: LicenceStatus | None
    message: str


async def _find(session: AsyncSession, type_code: LicenceTypeCode, holder_id_number: str | None,
                licence_number: str | None, today: date,
                ) -> tuple[models.Licence | None, models.ElectronicLicence | None]:
    """The licence asked for and its electronic licence (None: not generated, 未制发)."""
    L, E = models.Licence, models.ElectronicLicence
    if licence_number is not None:
        where = [L.type_code == type_code.value, L.number == licence_number]
    else:
        where = [L.type_code == type_code.value,
                 or_(L.holder_id_number == holder_id_number, L.holder_credit_code == holder_id_number)]
    candidates = list((await session.execute(
        select(L, E).outerjoin(E, E.licence_id == L.id).where(*where)
        .order_by(L.issued_at.desc(), L.id.desc()).limit(50))).all())
    if not candidates:
        return None, None
    generated = [(row, electronic) for row, electronic in candidates if electronic is not None]
    if not generated:
        return candidates[0][0], None
    valid = [pair for pair in generated if licence_status(pair[0], today) is LicenceStatus.VALID]
    return (valid or generated)[0]


async def present(session: AsyncSession, caller: Caller | None, type_code: LicenceTypeCode, *,
                  holder_id_number: str | None = None, licence_number: str | None = None, scenario: str,
                  operator: str | None = None, now: datetime | None = None) -> Presentation:
    """亮证: one call of a presenting system, always recorded once the system is known."""
    if (holder_id_number is None) == (licence_number is None):
        raise bad_input("Give exactly one of holderIdNumber and licenceNumber.", field="holderIdNumber")
    key = (holder_id_number or "").strip().upper() if licence_number is None else licence_number.strip()
    if not key or len(key) > 40 or (holder_id_number is not None and len(key) > 18):
        raise bad_input("The holder ID number or licence number is blank or too long.", field="holderIdNumber")
    scenario = _text(scenario, "scenario")
    principal = principal_of(caller)
    client = await session.get(models.PresentationClient, principal) if principal else None
    if client is None:
        raise forbidden("Presenting licences is for registered calling systems (调用系统); "
                        f"{principal or 'an anonymous caller'} is not one.")
    operator = _text(operator, "operator", required=False) or actor_of(caller)[:64]
    now = now or utcnow()
    record = models.PresentationRecord(
        id=f"pr-{new_hex(20)}", presented_at=now, client_id=client.client_id, operator=operator,
        scenario=scenario, type_code=type_code.value,
        licence_number=key if licence_number is not None else None,
        holder_id_number=key if holder_id_number is not None else None,
        query={"by": "holderIdNumber" if holder_id_number is not None else "licenceNumber"})
    face: dict[str, Any] | None = None
    status: LicenceStatus | None = None
    result, message = await _gate(session, client, type_code, scenario, now)
    if result is None:
        licence, electronic = await _find(session, type_code, holder_id_number and key, licence_number and key,
                                          today_in_china(now))
        if licence is None:
            result, message = PresentationResult.NOT_FOUND, "No licence of the type matches."
        else:
            record.licence_id, record.licence_number = licence.id, licence.number
            record.holder_name, record.holder_id_number = licence.holder_name, licence.holder_id_number
            if electronic is None:
                result, message = PresentationResult.NOT_GENERATED, "The licence has no electronic licence yet."
            elif (check := await check_face(session, licence, electronic)) is not FaceCheck.AUTHENTIC:
                # Changed outside the write path, or signed by a key the ring does not hold: never serve a
                # face its signature does not cover.
                result, message = PresentationResult.NOT_GENERATED, (
                    f"The licence does not verify against its electronic licence ({check.value}); "
                    "it must be regenerated.")
            else:
                result, message = PresentationResult.PRESENTED, "Presented."
                status = licence_status(licence, today_in_china(now))
                face = {**disclose(face_of(licence), Disclosure(client.disclosure)), "status": status.value}
    record.result = result.value
    await append(session, ChainName.PRESENTATION, record)
    return Presentation(result, record, face, status, message)


async def _gate(session: AsyncSession, client: models.PresentationClient, type_code: LicenceTypeCode,
                scenario: str, now: datetime) -> tuple[PresentationResult | None, str]:
    """The grant, the block and the limits; (None, "") when the call may proceed (and has been counted)."""
    if type_code.value not in client.allowed_types:
        return PresentationResult.DENIED, f"{client.client_id} is not granted {type_info(type_code).name}."
    if scenario not in client.allowed_scenarios:
        return PresentationResult.DENIED, f"{client.client_id} is not granted the scenario {scenario}."
    if client.blocked_at is not None:
        return PresentationResult.LIMITED, f"{client.client_id} is blocked: {client.blocked_reason}"
    hit = await _take_call(session, client, today_in_china(now))
    if hit is LimitHit.DAILY:
        return PresentationResult.LIMITED, (f"{client.client_id} reached its daily limit of {client.daily_limit} "
                                            "calls; it resets at midnight Beijing time or when a manager lifts it.")
    if hit is LimitHit.YEARLY:
        client = await _client(session, client.client_id)
        client.blocked_at = now
        client.blocked_reason = f"年度调用总数达到上限 {client.yearly_limit}"
        return PresentationResult.LIMITED, (f"{client.client_id} reached its yearly limit of {client.yearly_limit} "
                                            "calls and is blocked until a manager lifts it.")
    return None, ""


# --- records (亮证记录): search and export ---------------------------------------------------------


@dataclass(frozen=True)
class RecordFilter:
    since: datetime | None = None
    until: datetime | None = None
    type_code: LicenceTypeCode | None = None
    client_id: str | None = None
    holder_id_number: str | None = None
    result: PresentationResult | None = None


def record_query(f: RecordFilter) -> Select[Any]:
    P = models.PresentationRecord
    stmt = select(P)
    if f.since is not None:
        stmt = stmt.where(P.presented_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(P.presented_at < f.until)
    if f.type_code is not None:
        stmt = stmt.where(P.type_code == f.type_code.value)
    if f.client_id:
        stmt = stmt.where(P.client_id == f.client_id.strip())
    if f.holder_id_number:
        stmt = stmt.where(P.holder_id_number == f.holder_id_number.strip().upper())
    if f.result is not None:
        stmt = stmt.where(P.result == f.result.value)
    return stmt


def newest_first_after(at: datetime, seq: int) -> Any:
    P = models.PresentationRecord
    return or_(P.presented_at < at, and_(P.presented_at == at, P.seq < seq))


CSV_HEADER = ("亮证时间", "调用系统", "亮证操作人", "业务场景", "证照类型", "证照编号", "持证人", "持证人证件号码",
              "亮证结果", "记录编号", "链序号")


def csv_row(r: models.PresentationRecord) -> list[Any]:
    # Written by the guarded writer (a cell Excel would read as a formula becomes text): the operator and
    # scenario come from callers.
    return [r.presented_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"), r.client_id, r.operator, r.scenario,
            type_info(r.type_code).name, r.licence_number, r.holder_name, mask_id_number(r.holder_id_number),
            r.result, r.id, r.seq]


async def export_csv(session: AsyncSession, caller: Caller | None, f: RecordFilter) -> str:
    """日志导出: the matching records, newest first, as CSV with a BOM so that Excel reads the UTF-8."""
    check_manager(caller, "Exporting presentation records")
    P = models.PresentationRecord
    count = await session.scalar(select(func.count()).select_from(record_query(f).subquery()))
    if (count or 0) > MAX_EXPORT_ROWS:
        raise bad_input(f"{count} records match; narrow the filter to at most {MAX_EXPORT_ROWS}.",
                        maximum=MAX_EXPORT_ROWS)
    out = io.StringIO()
    out.write(BOM)
    writer = SafeCsvWriter(out)
    writer.writeheader(CSV_HEADER)
    async for r in _stream(session, record_query(f).order_by(P.presented_at.desc(), P.seq.desc())):
        writer.writerow(csv_row(r))
    return out.getvalue()


async def _stream(session: AsyncSession, stmt: Select[Any],
                  ) -> AsyncIterator[models.PresentationRecord]:
    async for r in await session.stream_scalars(stmt.execution_options(yield_per=1000)):
        yield r
