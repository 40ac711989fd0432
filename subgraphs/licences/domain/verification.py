"""Number lookup 核验 for regulators (管理机构 checking a licence they were shown, "真伪查验" L7741): given the
type, the number and the holder's ID number, is the licence authentic, and what is its status. Nothing
else is disclosed; a wrong ID number reads exactly like a licence that does not exist, so the lookup cannot
be used to learn whose licence a number is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import bad_input
from subgraphs.licences import models
from subgraphs.licences.access import actor_of, check_regulator
from subgraphs.licences.codes import LicenceTypeCode, VerificationOutcome
from subgraphs.licences.domain.chain import ChainName, append
from subgraphs.licences.domain.tokens import licence_outcome
from subgraphs.licences.ids import new_hex
from subgraphs.licences.status import LicenceStatus

AUTHENTIC = frozenset({VerificationOutcome.AUTHENTIC_VALID, VerificationOutcome.AUTHENTIC_EXPIRED,
                       VerificationOutcome.AUTHENTIC_INVALID})


@dataclass(frozen=True)
class LicenceCheck:
    authentic: bool
    status: LicenceStatus | None
    outcome: VerificationOutcome
    record: models.VerificationRecord


async def verify_licence(session: AsyncSession, caller: Caller | None, type_code: LicenceTypeCode, number: str,
                         id_number: str, *, now: datetime | None = None) -> LicenceCheck:
    check_regulator(caller)
    number, id_number = number.strip(), id_number.strip().upper()
    if not number or not id_number or len(number) > 40 or len(id_number) > 18:
        raise bad_input("Give the licence number and the holder's ID number (or credit code).", field="number")
    now = now or datetime.now(UTC)
    L = models.Licence
    licence = await session.scalar(select(L).where(L.type_code == type_code.value, L.number == number))
    holder = None if licence is None else (licence.holder_id_number or licence.holder_credit_code or "").upper()
    if licence is None or holder != id_number:
        licence = None
    outcome, disclosure = await licence_outcome(session, licence, now)
    record = models.VerificationRecord(
        id=f"vr-{new_hex(20)}", verified_at=now, verifier=actor_of(caller)[:64], method="NUMBER",
        type_code=type_code.value, licence_id=licence.id if licence is not None else None, outcome=outcome.value)
    await append(session, ChainName.VERIFICATION, record)
    status = LicenceStatus(disclosure["status"]) if disclosure is not None else None
    return LicenceCheck(outcome in AUTHENTIC, status, outcome, record)
