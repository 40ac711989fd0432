"""Presentation (亮证) and verification (核验): clients, records, holder tokens, the hash chains.

Calls that write a record (presentLicence, verifyLicence, verifyPresentation) are mutations: each one is
counted and recorded, and the router shares identical queries in flight, never mutations.
Rules: domain/presentation.py, domain/tokens.py, domain/verification.py, domain/chain.py.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy import and_, or_, select
from strawberry.scalars import JSON

from subgraphs.common.errors import bad_input
from subgraphs.common.masking import mask_id_number
from subgraphs.common.paging import Connection, check_first, connection_from_rows, decode_cursor
from subgraphs.licences import models
from subgraphs.licences.access import check_manager
from subgraphs.licences.codes import LicenceTypeCode, PresentationResult, VerificationOutcome, type_info
from subgraphs.licences.domain import presentation, tokens, verification
from subgraphs.licences.domain.chain import ChainName, verify_chain
from subgraphs.licences.domain.face import Disclosure
from subgraphs.licences.status import LicenceStatus, today_in_china
from subgraphs.licences.types import Info

strawberry.enum(ChainName, name="RecordChain", description="A hash-chained record log: 亮证记录 or 核验记录.")


@strawberry.enum(description="How much of the licence face a presenting system sees.")
class PresentationDisclosure(Enum):
    FULL = strawberry.enum_value("FULL", description="The whole face (e.g. the holder's own wallet).")
    MASKED = strawberry.enum_value(
        "MASKED", description="Name to its first character, ID number and phone 3+4, personal details left out.")


@strawberry.enum(description="What a manager lifts (L5467).")
class UnblockScope(Enum):
    DAILY = strawberry.enum_value("DAILY", description="解除当日限制: a fresh daily allowance for today.")
    TOTAL = strawberry.enum_value(
        "TOTAL", description="解除总限制: end the block and, when reached, a fresh yearly allowance.")


def _types(codes: list[str]) -> list[LicenceTypeCode]:
    return [LicenceTypeCode(c) for c in codes]


@strawberry.type(description="调用系统: a system registered to present licences, with its grant and limits.")
class PresentationClient:
    client_id: strawberry.ID = strawberry.field(description="The system's client id (identity's Client).")
    name: str = strawberry.field(description="系统名称.")
    allowed_types: list[LicenceTypeCode] = strawberry.field(description="证照类型 it may present.")
    allowed_scenarios: list[str] = strawberry.field(description="业务场景 it may present for (L11597).")
    disclosure: PresentationDisclosure
    daily_limit: int = strawberry.field(description="单日调用上限 (a Beijing-time day).")
    yearly_limit: int = strawberry.field(description="年度调用总数上限 (a calendar year); reaching it blocks.")
    blocked_at: datetime | None = strawberry.field(description="封禁: since when its calls are refused.")
    blocked_reason: str | None
    registered_by: str
    registered_at: datetime
    calls_today: int = strawberry.field(description="Calls counted today (lifted ones included).")
    calls_this_year: int = strawberry.field(description="Calls counted this year (lifted ones included).")

    @classmethod
    def of(cls, row: models.PresentationClient, usage: presentation.Usage) -> PresentationClient:
        return cls(client_id=strawberry.ID(row.client_id), name=row.name, allowed_types=_types(row.allowed_types),
                   allowed_scenarios=list(row.allowed_scenarios),
                   disclosure=PresentationDisclosure(row.disclosure), daily_limit=row.daily_limit,
                   yearly_limit=row.yearly_limit, blocked_at=row.blocked_at, blocked_reason=row.blocked_reason,
                   registered_by=row.registered_by, registered_at=row.registered_at,
                   calls_today=usage.today, calls_this_year=usage.year)


@strawberry.input(description="A presenting system to register.")
class PresentationClientInput:
    client_id: strawberry.ID
    name: str
    allowed_types: list[LicenceTypeCode]
    allowed_scenarios: list[str]
    daily_limit: int
    yearly_limit: int
    disclosure: PresentationDisclosure = PresentationDisclosure.MASKED


@strawberry.input(description="Changes to a presenting system; what is left out stays.")
class PresentationClientPatch:
    name: str | None = None
    allowed_types: list[LicenceTypeCode] | None = None
    allowed_scenarios: list[str] | None = None
    disclosure: PresentationDisclosure | None = None
    daily_limit: int | None = None
    yearly_limit: int | None = None


@strawberry.type(description="亮证结果: the outcome of one presentation call and its record.")
class PresentLicenceResult:
    result: PresentationResult
    record_id: strawberry.ID = strawberry.field(description="The presentation record (亮证记录) written.")
    face: JSON | None = strawberry.field(description="The face as the client's grant discloses it, with its "
                                                     "status; null unless PRESENTED.")
    status: LicenceStatus | None
    message: str


@strawberry.type(description="亮证记录: one presentation call (L5290).")
class PresentationRecord:
    id: strawberry.ID
    seq: int = strawberry.field(description="Its link in the hash chain.")
    presented_at: datetime = strawberry.field(description="亮证时间.")
    client_id: str = strawberry.field(description="调用系统.")
    operator: str = strawberry.field(description="亮证操作人.")
    scenario: str = strawberry.field(description="业务场景.")
    type: LicenceTypeCode = strawberry.field(description="证照类型.")
    type_name: str
    licence_id: strawberry.ID | None
    licence_number: str | None = strawberry.field(description="证照编号.")
    holder_name: str | None = strawberry.field(description="持证人.")
    holder_id_number: str | None = strawberry.field(description="持证人证件号码, masked.")
    result: PresentationResult

    @classmethod
    def of(cls, r: models.PresentationRecord) -> PresentationRecord:
        return cls(id=strawberry.ID(r.id), seq=r.seq, presented_at=r.presented_at, client_id=r.client_id,
                   operator=r.operator, scenario=r.scenario, type=LicenceTypeCode(r.type_code),
                   type_name=type_info(r.type_code).name,
                   licence_id=strawberry.ID(r.licence_id) if r.licence_id else None, licence_number=r.licence_number,
                   holder_name=r.holder_name, holder_id_number=mask_id_number(r.holder_id_number),
                   result=PresentationResult(r.result))


@strawberry.input(description="Which presentation records: every condition given must hold.")
class PresentationRecordFilter:
    from_: datetime | None = strawberry.field(name="from", default=None, description="亮证时间 from (inclusive).")
    to: datetime | None = strawberry.field(default=None, description="亮证时间 to (exclusive).")
    type: LicenceTypeCode | None = None
    client_id: str | None = strawberry.field(default=None, description="调用系统.")
    holder_id_number: str | None = strawberry.field(default=None, description="持证人证件号码, exactly.")
    result: PresentationResult | None = None

    def domain(self) -> presentation.RecordFilter:
        return presentation.RecordFilter(_aware(self.from_, "from"), _aware(self.to, "to"), self.type,
                                         self.client_id, self.holder_id_number, self.result)


@strawberry.type(description="A holder's presentation token: the QR payload.")
class PresentationToken:
    token: str = strawberry.field(description="v1.<payload>.<signature>: show it as a QR code; single use.")
    expires_at: datetime


@strawberry.type(description="核验结果 of a presentation token.")
class PresentationVerification:
    outcome: VerificationOutcome
    disclosure: JSON | None = strawberry.field(description="Type, masked name, issuer, validity and status; "
                                                           "null unless the licence is authentic.")
    verified_at: datetime


@strawberry.type(description="核验结果 of a number lookup: authentic or not, and the status; nothing else.")
class LicenceVerification:
    authentic: bool
    status: LicenceStatus | None


@strawberry.type(description="核验记录: one verification (by token or by number).")
class VerificationRecord:
    id: strawberry.ID
    seq: int
    verified_at: datetime
    verifier: str = strawberry.field(description="The user or system that verified; anonymous otherwise.")
    method: str = strawberry.field(description="TOKEN (a scanned presentation token) or NUMBER (a lookup).")
    type: LicenceTypeCode | None
    licence_id: strawberry.ID | None
    outcome: VerificationOutcome

    @classmethod
    def of(cls, r: models.VerificationRecord) -> VerificationRecord:
        return cls(id=strawberry.ID(r.id), seq=r.seq, verified_at=r.verified_at, verifier=r.verifier,
                   method=r.method, type=LicenceTypeCode(r.type_code) if r.type_code else None,
                   licence_id=strawberry.ID(r.licence_id) if r.licence_id else None,
                   outcome=VerificationOutcome(r.outcome))


@strawberry.input(description="Which verification records: every condition given must hold.")
class VerificationRecordFilter:
    from_: datetime | None = strawberry.field(name="from", default=None, description="From (inclusive).")
    to: datetime | None = strawberry.field(default=None, description="To (exclusive).")
    type: LicenceTypeCode | None = None
    outcome: VerificationOutcome | None = None
    method: str | None = None
    verifier: str | None = None


@strawberry.type(description="The verdict on one hash-chained record log.")
class ChainVerification:
    chain: ChainName
    intact: bool
    length: int = strawberry.field(description="Records read.")
    broken_at: int | None = strawberry.field(description="The seq of the first broken link.")
    reason: str | None
    head_hash: str | None = strawberry.field(description="The last link's hash: keep it to compare later.")


def _aware(moment: datetime | None, field: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise bad_input(f"{field} needs a time zone offset (e.g. +08:00).", field=field)
    return moment


def _one_key(holder_id_number: str | None, licence_number: str | None) -> None:
    if (holder_id_number is None) == (licence_number is None):
        raise bad_input("Give exactly one of holderIdNumber and licenceNumber.", field="holderIdNumber")


def _newest_first(stmt: Any, model: Any, at_column: Any, after: str | None) -> Any:
    if after is None:
        return stmt
    at_text, seq = decode_cursor(after, 2)
    try:
        at, seq = datetime.fromisoformat(str(at_text)), int(seq)
    except (TypeError, ValueError) as exc:
        raise bad_input("The cursor is not one this service issued.", argument="after") from exc
    return stmt.where(or_(at_column < at, and_(at_column == at, model.seq < seq)))


@strawberry.type
class PresentationQueries:
    @strawberry.field(description="调用系统: the registered presenting systems with today's and this year's "
                                  "calls. For licence managers.")
    async def presentation_clients(self, info: Info) -> list[PresentationClient]:
        check_manager(info.context.caller, "Listing presenting systems")
        async with info.context.session() as session:
            rows = list((await session.scalars(
                select(models.PresentationClient).order_by(models.PresentationClient.client_id))).all())
            usage = await presentation.usage_of(session, [r.client_id for r in rows], today_in_china())
        return [PresentationClient.of(r, usage[r.client_id]) for r in rows]

    @strawberry.field(description="亮证记录查询: by time, type, calling system and holder, newest first. "
                                  "For licence managers.")
    async def presentation_records(self, info: Info, filter: PresentationRecordFilter | None = None,
                                   first: int = 20, after: str | None = None) -> Connection[PresentationRecord]:
        check_manager(info.context.caller, "Searching presentation records")
        size = check_first(first)
        P = models.PresentationRecord
        stmt = _newest_first(presentation.record_query((filter or PresentationRecordFilter()).domain()), P,
                             P.presented_at, after)
        async with info.context.session() as session:
            rows = list((await session.scalars(stmt.order_by(P.presented_at.desc(), P.seq.desc())
                                               .limit(size + 1))).all())
        return connection_from_rows(rows, size, lambda r: [r.presented_at.isoformat(), r.seq],
                                    PresentationRecord.of, has_previous=after is not None)

    @strawberry.field(description="日志导出: the matching presentation records as CSV (UTF-8 with BOM, for "
                                  "Excel), newest first, at most 100000. For licence managers.")
    async def presentation_records_csv(self, info: Info, filter: PresentationRecordFilter | None = None) -> str:
        async with info.context.session() as session:
            return await presentation.export_csv(session, info.context.caller,
                                                 (filter or PresentationRecordFilter()).domain())

    @strawberry.field(description="核验记录: verifications, newest first. For licence managers.")
    async def verification_records(self, info: Info, filter: VerificationRecordFilter | None = None,
                                   first: int = 20, after: str | None = None) -> Connection[VerificationRecord]:
        check_manager(info.context.caller, "Searching verification records")
        size = check_first(first)
        V = models.VerificationRecord
        f = filter or VerificationRecordFilter()
        stmt = select(V)
        if f.from_ is not None:
            stmt = stmt.where(V.verified_at >= _aware(f.from_, "from"))
        if f.to is not None:
            stmt = stmt.where(V.verified_at < _aware(f.to, "to"))
        if f.type is not None:
            stmt = stmt.where(V.type_code == f.type.value)
        if f.outcome is not None:
            stmt = stmt.where(V.outcome == f.outcome.value)
        if f.method:
            stmt = stmt.where(V.method == f.method.strip().upper())
        if f.verifier:
            stmt = stmt.where(V.verifier == f.verifier.strip())
        stmt = _newest_first(stmt, V, V.verified_at, after)
        async with info.context.session() as session:
            rows = list((await session.scalars(stmt.order_by(V.verified_at.desc(), V.seq.desc())
                                               .limit(size + 1))).all())
        return connection_from_rows(rows, size, lambda r: [r.verified_at.isoformat(), r.seq],
                                    VerificationRecord.of, has_previous=after is not None)

    @strawberry.field(description="Checks the hash chains of the presentation and verification records: an "
                                  "edited, deleted or truncated record breaks its chain. For licence managers.")
    async def verify_record_chains(self, info: Info) -> list[ChainVerification]:
        check_manager(info.context.caller, "Verifying the record chains")
        out = []
        async with info.context.session() as session:
            for name in ChainName:
                r = await verify_chain(session, name)
                out.append(ChainVerification(chain=name, intact=r.intact, length=r.length, broken_at=r.broken_at,
                                             reason=r.reason, head_hash=r.head_hash))
        return out


@strawberry.type
class PresentationMutations:
    @strawberry.mutation(description="Registers a presenting system (调用系统) with its grant. For licence managers.")
    async def register_presentation_client(self, info: Info, input: PresentationClientInput) -> PresentationClient:
        grant = presentation.Grant(input.allowed_types, input.allowed_scenarios, Disclosure(input.disclosure.value),
                                   input.daily_limit, input.yearly_limit)
        async with info.context.transaction() as session:
            row = await presentation.register_client(session, info.context.caller, str(input.client_id),
                                                     input.name, grant)
        return PresentationClient.of(row, presentation.Usage(0, 0))

    @strawberry.mutation(description="Changes a presenting system's name or grant. For licence managers.")
    async def update_presentation_client(self, info: Info, client_id: strawberry.ID,
                                         patch: PresentationClientPatch) -> PresentationClient:
        async with info.context.transaction() as session:
            row = await presentation.update_client(
                session, info.context.caller, str(client_id), name=patch.name, allowed_types=patch.allowed_types,
                allowed_scenarios=patch.allowed_scenarios,
                disclosure=Disclosure(patch.disclosure.value) if patch.disclosure else None,
                daily_limit=patch.daily_limit, yearly_limit=patch.yearly_limit)
            usage = await presentation.usage_of(session, [row.client_id], today_in_china())
        return PresentationClient.of(row, usage[row.client_id])

    @strawberry.mutation(description="封禁: refuses a presenting system's calls until unblocked. For licence managers.")
    async def block_presentation_client(self, info: Info, client_id: strawberry.ID,
                                        reason: str) -> PresentationClient:
        async with info.context.transaction() as session:
            row = await presentation.block_client(session, info.context.caller, str(client_id), reason)
            usage = await presentation.usage_of(session, [row.client_id], today_in_china())
        return PresentationClient.of(row, usage[row.client_id])

    @strawberry.mutation(description="解除限制: lifts today's limit (DAILY) or the block and yearly limit (TOTAL). "
                                     "For licence managers.")
    async def unblock_presentation_client(self, info: Info, client_id: strawberry.ID,
                                          scope: UnblockScope) -> PresentationClient:
        async with info.context.transaction() as session:
            row = await presentation.unblock_client(session, info.context.caller, str(client_id),
                                                    presentation.Unblock(scope.value))
            usage = await presentation.usage_of(session, [row.client_id], today_in_china())
        return PresentationClient.of(row, usage[row.client_id])

    @strawberry.mutation(description="亮证: a registered system presents a generated licence, found by the holder's "
                                     "ID number or the licence number (exactly one), for one business scenario. "
                                     "Every call is recorded and counted.")
    async def present_licence(self, info: Info, type: LicenceTypeCode, scenario: str,
                              holder_id_number: str | None = None, licence_number: str | None = None,
                              operator: Annotated[str | None, strawberry.argument(
                                  description="亮证操作人 (default: the caller).")] = None,
                              ) -> PresentLicenceResult:
        _one_key(holder_id_number, licence_number)
        async with info.context.transaction() as session:
            p = await presentation.present(session, info.context.caller, type, holder_id_number=holder_id_number,
                                           licence_number=licence_number, scenario=scenario, operator=operator)
        return PresentLicenceResult(result=p.result, record_id=strawberry.ID(p.record.id), face=cast(JSON, p.face),
                                    status=p.status, message=p.message)

    @strawberry.mutation(description="A short-lived, single-use presentation token (QR payload) for one of the "
                                     "caller's own generated licences.")
    async def create_presentation_token(self, info: Info, licence_id: strawberry.ID) -> PresentationToken:
        async with info.context.transaction() as session:
            issued = await tokens.create_token(session, info.context.caller, str(licence_id))
        return PresentationToken(token=issued.token, expires_at=issued.expires_at)

    @strawberry.mutation(description="核验 of a scanned presentation token: minimal disclosure; a replayed, expired "
                                     "or tampered token is refused. Every verification is recorded.")
    async def verify_presentation(self, info: Info, token: str) -> PresentationVerification:
        async with info.context.transaction() as session:
            v = await tokens.verify_token(session, info.context.caller, token)
        return PresentationVerification(outcome=v.outcome, disclosure=cast(JSON, v.disclosure),
                                        verified_at=v.verified_at)

    @strawberry.mutation(description="核验 by number, for regulators: authentic and status only. Recorded.")
    async def verify_licence(self, info: Info, type: LicenceTypeCode, number: str,
                             id_number: str) -> LicenceVerification:
        async with info.context.transaction() as session:
            check = await verification.verify_licence(session, info.context.caller, type, number, id_number)
        return LicenceVerification(authentic=check.authentic, status=check.status)


queries: list[type] = [PresentationQueries]
mutations: list[type] = [PresentationMutations]
