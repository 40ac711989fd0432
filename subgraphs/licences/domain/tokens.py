"""Holder-initiated presentation: the short-lived signed token a holder's channel shows as a QR code, and
its verification (核验) by whoever scans it.

Token: "v1.<payload>.<signature>", the payload the base64url of the compact JSON {"lid", "exp", "nonce",
"kid"} (licence id, expiry in Unix seconds, a random nonce, the id of the signing key), the signature Ed25519
(domain/signing.py) over the text "v1.<payload>", base64url: about 220 characters, well within a QR code's
comfortable size. The signature is checked with the key `kid` names, so a key rotation does not void the
tokens already shown; a token without `kid` (issued before tokens carried one) is checked with the current
key.

A token is single-use (its nonce is recorded, models.PresentationToken) and lives LICENCES_TOKEN_SECONDS
(default 120 s, at most 600): long enough to show and scan, too short to pass a screenshot around. The
verifier learns the minimal disclosure only: type, masked name, issuer, validity and status.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, domain_error, forbidden
from subgraphs.licences import models
from subgraphs.licences.access import actor_of
from subgraphs.licences.codes import VerificationOutcome
from subgraphs.licences.domain.chain import ChainName, append
from subgraphs.licences.domain.face import Disclosure, disclose, face_of
from subgraphs.licences.domain.generation import FaceCheck, check_face
from subgraphs.licences.domain.signing import SigningKey, VerifyingKey, signing_key, verifying_key
from subgraphs.licences.ids import new_hex
from subgraphs.licences.status import LicenceStatus, licence_status, today_in_china

log = logging.getLogger(__name__)

VERSION = "v1"
LIFETIME_ENV = "LICENCES_TOKEN_SECONDS"
DEFAULT_LIFETIME = 120
MAX_LIFETIME = 600
MAX_TOKEN_LENGTH = 512

OUTCOME_OF_STATUS = {
    LicenceStatus.VALID: VerificationOutcome.AUTHENTIC_VALID,
    LicenceStatus.EXPIRED: VerificationOutcome.AUTHENTIC_EXPIRED,
    LicenceStatus.INVALID: VerificationOutcome.AUTHENTIC_INVALID,
}


def utcnow() -> datetime:
    """The clock (tests replace it)."""
    return datetime.now(UTC)


def lifetime() -> timedelta:
    try:
        seconds = int(os.environ.get(LIFETIME_ENV, DEFAULT_LIFETIME))
    except ValueError:
        seconds = DEFAULT_LIFETIME
    return timedelta(seconds=min(max(seconds, 1), MAX_LIFETIME))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


async def create_token(session: AsyncSession, caller: Caller | None, licence_id: str,
                       *, now: datetime | None = None) -> IssuedToken:
    """A presentation token for one of the caller's own generated licences."""
    licence = await session.get(models.Licence, licence_id)
    if licence is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No licence {licence_id}.", licenceId=licence_id)
    if caller is None or caller.person_uid is None or caller.person_uid != licence.holder_uid:
        raise forbidden("Only the holder can present a licence with a token.")
    electronic = await session.scalar(select(models.ElectronicLicence.id)
                                      .where(models.ElectronicLicence.licence_id == licence.id))
    if electronic is None:
        raise domain_error(ErrorCode.INVALID_STATE, "The licence has no electronic licence yet.",
                           licenceId=licence_id)
    now = (now or utcnow()).replace(microsecond=0)
    expires = now + lifetime()
    nonce = _b64(secrets.token_bytes(16))
    session.add(models.PresentationToken(nonce=nonce, licence_id=licence.id, holder_uid=licence.holder_uid,
                                         issued_at=now, expires_at=expires))
    key = await signing_key(session)
    payload = _b64(orjson.dumps({"lid": licence.id, "exp": int(expires.timestamp()), "nonce": nonce,
                                 "kid": key.key_id}))
    signature = key.sign(f"{VERSION}.{payload}".encode())
    await session.flush()
    return IssuedToken(f"{VERSION}.{payload}.{signature}", expires)


@dataclass(frozen=True)
class Verification:
    outcome: VerificationOutcome
    disclosure: dict[str, Any] | None
    verified_at: datetime
    record: models.VerificationRecord


def _payload(token: str) -> dict[str, Any] | None:
    """The claims of a well-formed v1 token (signature not yet checked); None when malformed."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        claims = orjson.loads(_unb64(parts[1]))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    if not (isinstance(claims, dict) and isinstance(claims.get("lid"), str) and isinstance(claims.get("exp"), int)
            and isinstance(claims.get("nonce"), str) and isinstance(claims.get("kid", ""), str)):
        return None
    return claims


async def verify_token(session: AsyncSession, caller: Caller | None, token: str,
                       *, now: datetime | None = None) -> Verification:
    """核验 of a presentation token; every call is one verification record, whatever the outcome."""
    now = now or utcnow()
    token = token.strip()
    claims = _payload(token)
    disclosure: dict[str, Any] | None = None
    licence: models.Licence | None = None
    signed = claims is not None and await _signed(session, token, claims)
    if claims is None or not signed:
        outcome = VerificationOutcome.TAMPERED
    elif claims["exp"] < now.timestamp():
        outcome = VerificationOutcome.EXPIRED_TOKEN
    elif not await _first_use(session, claims["nonce"], claims["lid"], now):
        # Either used before or never issued here (a signed token the database does not know).
        issued = await session.get(models.PresentationToken, claims["nonce"])
        outcome = VerificationOutcome.REPLAYED if issued is not None else VerificationOutcome.NOT_FOUND
    else:
        licence = await session.get(models.Licence, claims["lid"])
        outcome, disclosure = await licence_outcome(session, licence, now)
    record = models.VerificationRecord(
        id=f"vr-{new_hex(20)}", verified_at=now, verifier=actor_of(caller)[:64], method="TOKEN",
        type_code=licence.type_code if licence is not None else None,
        # What an unsigned token claims is not worth keeping.
        licence_id=claims["lid"][:40] if claims is not None and signed else None,
        token_nonce=claims["nonce"][:40] if claims is not None and signed else None, outcome=outcome.value)
    await append(session, ChainName.VERIFICATION, record)
    return Verification(outcome, disclosure, now, record)


async def _signed(session: AsyncSession, token: str, claims: dict[str, Any]) -> bool:
    """Whether the token's signature verifies with the key that made it (its `kid`); a key the ring does not
    hold verifies nothing."""
    key: SigningKey | VerifyingKey | None
    if "kid" in claims:
        key = await verifying_key(session, claims["kid"])
        if key is None:
            log.warning("presentation token signed by a key not in the key ring: %s", claims["kid"][:40])
            return False
    else:
        key = await signing_key(session)
    message, signature = token.rsplit(".", 1)
    return key.verify(message.encode(), signature)


async def licence_outcome(session: AsyncSession, licence: models.Licence | None, now: datetime,
                          ) -> tuple[VerificationOutcome, dict[str, Any] | None]:
    """The outcome for a licence that a good token (or a number lookup) names, and what the verifier may see
    of it; its electronic licence is checked with the key that signed it."""
    if licence is None:
        return VerificationOutcome.NOT_FOUND, None
    electronic = await session.scalar(
        select(models.ElectronicLicence).where(models.ElectronicLicence.licence_id == licence.id))
    if electronic is None:
        return VerificationOutcome.NOT_FOUND, None
    if await check_face(session, licence, electronic) is not FaceCheck.AUTHENTIC:
        # Changed outside the write path, or signed by a key the ring does not hold (logged with the reason).
        return VerificationOutcome.TAMPERED, None
    status = licence_status(licence, today_in_china(now))
    return OUTCOME_OF_STATUS[status], {**disclose(face_of(licence), Disclosure.MINIMAL), "status": status.value}


async def _first_use(session: AsyncSession, nonce: str, licence_id: str, now: datetime) -> bool:
    """Mark the token used; False when it was used already (or is unknown). Atomic: of two concurrent
    verifications of one token exactly one wins."""
    T = models.PresentationToken
    result = await session.execute(
        update(T).where(T.nonce == nonce, T.licence_id == licence_id, T.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    return getattr(result, "rowcount", 0) == 1
