"""Token-signing keys with rotation (the JWKS the router and every relying party verify against).

A key's life: NEXT (published, not yet signing, so caches learn it before its first token) -> ACTIVE
(signs every new token; exactly one) -> RETIRED (still published until every token it signed has expired,
i.e. MAX_ACCESS_TTL plus a leeway after retirement) -> REMOVED (no longer published; its tokens no longer
verify anywhere).

    key = await active_key(session, master, now=now, alg="ES256")   # creates the first keys when none exist
    token = sign(key, header, claims)
    await rotate(session, master, now=now)                           # NEXT -> ACTIVE, ACTIVE -> RETIRED
    jwks = await published_jwks(session)

The private half is stored sealed (SM4-CBC + HMAC-SM3, subgraphs/identity/security/crypto.py `seal`)
under keys derived from the master key, and bound to its kid: a row copied to another kid does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey, generate_key
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.identity import models
from subgraphs.identity.oauth.config import MAX_ACCESS_TTL
from subgraphs.identity.security.crypto import MasterKey, seal, unseal

NEXT, ACTIVE, RETIRED, REMOVED = "NEXT", "ACTIVE", "RETIRED", "REMOVED"
PUBLISHED = (NEXT, ACTIVE, RETIRED)
# A retired key stays published this long after retirement: the longest token lifetime plus the
# verifiers' clock leeway.
RETIRED_GRACE = MAX_ACCESS_TTL + timedelta(minutes=5)


def _sm3(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, lambda: hashlib.new("sm3")).digest()


def _wrap_keys(master: MasterKey) -> tuple[bytes, bytes]:
    return (_sm3(master.secret, b"jshealth identity signing-key wrap")[:16],
            _sm3(master.secret, b"jshealth identity signing-key wrap mac"))


def wrap_private_key(master: MasterKey, kid: str, pem: bytes) -> bytes:
    enc, mac = _wrap_keys(master)
    return seal(enc, mac, pem, kid.encode("utf-8"))


def unwrap_private_key(master: MasterKey, kid: str, blob: bytes) -> bytes:
    enc, mac = _wrap_keys(master)
    header = kid.encode("utf-8")
    if blob[:len(header)] != header:
        raise ValueError(f"the sealed key is not {kid}'s")
    return unseal(enc, mac, blob, header_length=len(header))


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    key: ECKey | RSAKey


def new_key_row(master: MasterKey, alg: str, status: str, now: datetime) -> models.SigningKey:
    kid = f"{now:%Y%m%d}-{secrets.token_hex(4)}"
    key: ECKey | RSAKey
    if alg == "ES256":
        key = generate_key("EC", "P-256", private=True)
    elif alg == "RS256":
        key = generate_key("RSA", 2048, private=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    public = dict(key.as_dict(private=False))
    public.update({"kid": kid, "alg": alg, "use": "sig"})
    return models.SigningKey(kid=kid, alg=alg, private_key=wrap_private_key(master, kid, key.as_pem(private=True)),
                             public_jwk=public, status=status, created_at=now,
                             activated_at=now if status == ACTIVE else None)


_unwrapped: dict[tuple[str, bytes], ECKey | RSAKey] = {}


def load_signing_key(master: MasterKey, row: models.SigningKey) -> SigningKey:
    cache_key = (row.kid, row.private_key)
    key = _unwrapped.get(cache_key)
    if key is None:
        pem = unwrap_private_key(master, row.kid, row.private_key)
        key = ECKey.import_key(pem) if row.alg == "ES256" else RSAKey.import_key(pem)
        _unwrapped[cache_key] = key
    return SigningKey(row.kid, row.alg, key)


async def _rows(session: AsyncSession, *statuses: str) -> list[models.SigningKey]:
    rows = await session.scalars(select(models.SigningKey).where(models.SigningKey.status.in_(statuses))
                                 .order_by(models.SigningKey.created_at, models.SigningKey.kid))
    return list(rows)


async def ensure_keys(session: AsyncSession, master: MasterKey, *, now: datetime, alg: str) -> models.SigningKey:
    """The ACTIVE key row; the first ACTIVE and NEXT keys are created when there is none (caller commits)."""
    active = await _rows(session, ACTIVE)
    if active:
        return active[-1]
    upcoming = await _rows(session, NEXT)
    if upcoming:
        row = upcoming[0]
        row.status, row.activated_at = ACTIVE, now
    else:
        row = new_key_row(master, alg, ACTIVE, now)
        session.add(row)
    session.add(new_key_row(master, alg, NEXT, now))
    await session.flush()
    return row


async def active_key(session: AsyncSession, master: MasterKey, *, now: datetime, alg: str) -> SigningKey:
    return load_signing_key(master, await ensure_keys(session, master, now=now, alg=alg))


async def rotate(session: AsyncSession, master: MasterKey, *, now: datetime, alg: str) -> models.SigningKey:
    """The NEXT key becomes ACTIVE, the ACTIVE one RETIRED, a new NEXT key is made, and retired keys
    whose tokens have all expired are REMOVED. Returns the new ACTIVE row (the caller commits)."""
    await ensure_keys(session, master, now=now, alg=alg)
    for row in await _rows(session, ACTIVE):
        row.status, row.retired_at = RETIRED, now
    upcoming = await _rows(session, NEXT)
    if upcoming:
        promoted = upcoming[0]
        promoted.status, promoted.activated_at = ACTIVE, now
    else:
        promoted = new_key_row(master, alg, ACTIVE, now)
        session.add(promoted)
    session.add(new_key_row(master, alg, NEXT, now))
    await remove_expired(session, now=now)
    await session.flush()
    return promoted


async def remove_expired(session: AsyncSession, *, now: datetime, grace: timedelta = RETIRED_GRACE) -> list[str]:
    """REMOVED: retired keys retired longer ago than `grace` (no token they signed is still valid)."""
    removed = []
    for row in await _rows(session, RETIRED):
        if row.retired_at is None or row.retired_at + grace <= now:
            row.status = REMOVED
            removed.append(row.kid)
    return removed


async def remove_key(session: AsyncSession, kid: str) -> None:
    """Withdraw one key now (a compromised key): its tokens stop verifying as soon as caches refresh."""
    row = await session.get(models.SigningKey, kid)
    if row is None:
        raise KeyError(kid)
    if row.status == ACTIVE:
        raise ValueError("rotate before removing the active key")
    row.status = REMOVED


async def published_jwks(session: AsyncSession) -> dict[str, Any]:
    return {"keys": [dict(row.public_jwk) for row in await _rows(session, *PUBLISHED)]}


async def verification_keys(session: AsyncSession) -> dict[str, dict[str, Any]]:
    return {row.kid: dict(row.public_jwk) for row in await _rows(session, ACTIVE, RETIRED)}


def sign(key: SigningKey, claims: dict[str, Any], *, typ: str) -> str:
    return jwt.encode({"alg": key.alg, "kid": key.kid, "typ": typ}, claims, key.key, algorithms=[key.alg])
