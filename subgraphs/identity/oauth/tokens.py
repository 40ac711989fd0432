"""Access tokens (JWT, RFC 9068), ID tokens (OIDC), refresh tokens (opaque, rotated, reuse-detected) and
revocation.

Revocation is recorded in `revoked_token` by key, one of:
  <jti>            one access token (RFC 7009 on an access token)
  fam:<family>     every access token of one grant (a refresh-token family; a replayed authorization code)
  sid:<sid>        every access token of one browser session (logout)
An access token's jti is `<family>.<random>` when it belongs to a grant with a family, so one lookup of
three keys answers "is this token revoked". The router verifies signatures only (stateless); revocation
reaches it when the token expires, and introspection and userinfo at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import import_key
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from router.revocation import revocation_keys
from subgraphs.identity import models
from subgraphs.identity.domain.access import effective_data_scope
from subgraphs.identity.oauth import keys as signing
from subgraphs.identity.oauth.config import MAX_ACCESS_TTL
from subgraphs.identity.security.crypto import MasterKey


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sid_of(session_id: str | None) -> str | None:
    """The `sid` claim of a session: the first 32 hex digits of its id (itself a hash of the cookie)."""
    return session_id[:32] if session_id else None


def family_of_code(code_hash: str) -> str:
    return "c" + code_hash[:32]


def new_family() -> str:
    return "r" + secrets.token_hex(16)


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


async def roles_of(session: AsyncSession, user_id: str) -> list[str]:
    rows = await session.scalars(
        select(models.Role.code).join(models.UserRole, models.UserRole.role_id == models.Role.id)
        .where(models.UserRole.user_id == user_id, models.Role.status == "ENABLED").order_by(models.Role.code))
    return list(rows)


async def user_claims(session: AsyncSession, user: models.User) -> dict[str, Any]:
    org = await session.get(models.Organization, user.organization_id)
    return {
        "org": user.organization_id,
        "region": org.region_code if org is not None else None,
        "roles": await roles_of(session, user.id),
        "data_scope": await effective_data_scope(session, user.id),
        # The population person the account belongs to: how a domain recognises "my own" records
        # (a holder's licences, an applicant's applications) without a lookup.
        **({"person": user.person_uid} if user.person_uid else {}),
    }


@dataclass(frozen=True)
class Issued:
    access_token: str
    jti: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None

    def response(self) -> dict[str, Any]:
        body: dict[str, Any] = {"access_token": self.access_token, "token_type": "Bearer",
                                "expires_in": self.expires_in, "scope": self.scope}
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.id_token is not None:
            body["id_token"] = self.id_token
        return body


@dataclass(frozen=True)
class Grant:
    """What a token is issued for."""

    client: models.Client
    scope: str
    user: models.User | None = None
    session_id: str | None = None
    family: str | None = None
    nonce: str | None = None
    auth_time: datetime | None = None
    with_refresh: bool = False


class TokenIssuer:
    def __init__(self, master: MasterKey, *, issuer: str, audience: str, alg: str, now: datetime,
                 access_ttl: timedelta, refresh_ttl: timedelta) -> None:
        self.master = master
        self.issuer = issuer
        self.audience = audience
        self.alg = alg
        self.now = now
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def ttl_for(self, client: models.Client) -> timedelta:
        if client.access_token_ttl_seconds:
            low, high = timedelta(hours=1), MAX_ACCESS_TTL
            return min(max(timedelta(seconds=client.access_token_ttl_seconds), low), high)
        return self.access_ttl

    async def issue(self, session: AsyncSession, grant: Grant) -> Issued:
        key = await signing.active_key(session, self.master, now=self.now, alg=self.alg)
        ttl = self.ttl_for(grant.client)
        iat = int(self.now.timestamp())
        exp = iat + int(ttl.total_seconds())
        jti = (f"{grant.family}." if grant.family else "") + secrets.token_urlsafe(16)
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.audience, "iat": iat, "exp": exp, "jti": jti,
            "client_id": grant.client.client_id, "scope": grant.scope,
        }
        if grant.user is not None:
            claims["sub"] = grant.user.id
            claims.update(await user_claims(session, grant.user))
            if grant.session_id:
                claims["sid"] = sid_of(grant.session_id)
            if grant.auth_time is not None:
                claims["auth_time"] = int(grant.auth_time.timestamp())
        else:
            claims["sub"] = grant.client.client_id
            if grant.client.organization_id:
                claims["org"] = grant.client.organization_id
        access = signing.sign(key, claims, typ="at+jwt")
        refresh = None
        if grant.with_refresh:
            refresh = new_secret()
            session.add(models.RefreshToken(
                token_hash=token_hash(refresh), family_id=grant.family or new_family(),
                client_id=grant.client.client_id, user_id=grant.user.id if grant.user else None,
                session_id=grant.session_id, scope=grant.scope, issued_at=self.now,
                expires_at=self.now + self.refresh_ttl))
        id_token = None
        if grant.user is not None and "openid" in grant.scope.split():
            id_claims: dict[str, Any] = {
                "iss": self.issuer, "sub": grant.user.id, "aud": grant.client.client_id,
                "azp": grant.client.client_id, "iat": iat, "exp": exp, "at_hash": at_hash(access),
            }
            if grant.nonce:
                id_claims["nonce"] = grant.nonce
            if grant.auth_time is not None:
                id_claims["auth_time"] = int(grant.auth_time.timestamp())
            if grant.session_id:
                id_claims["sid"] = sid_of(grant.session_id)
            id_token = signing.sign(key, id_claims, typ="JWT")
        await session.flush()
        return Issued(access, jti, int(ttl.total_seconds()), grant.scope, refresh, id_token)


# --- verification of our own tokens (userinfo, introspection, revocation, logout) ------------------


def unverified_header(token: str) -> dict[str, Any]:
    try:
        segment = token.split(".")[0]
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError):
        return {}
    return value if isinstance(value, dict) else {}


async def decode_access_token(session: AsyncSession, token: str, *, issuer: str, now: datetime,
                              check_expiry: bool = True, typ: str = "at+jwt") -> dict[str, Any] | None:
    """The claims of an access token (or, with typ "JWT", an ID token) we signed with a key still
    published, or None: bad signature, unknown key, other issuer, or (with `check_expiry`) expired.
    Revocation is checked by `is_revoked`."""
    if token.count(".") != 2:
        return None
    header = unverified_header(token)
    kid, alg = header.get("kid"), header.get("alg")
    if header.get("typ") != typ or alg not in ("ES256", "RS256") or not isinstance(kid, str):
        return None
    jwk = (await signing.verification_keys(session)).get(kid)
    if jwk is None or jwk.get("alg") != alg:
        return None
    try:
        claims = dict(jwt.decode(token, import_key(jwk), algorithms=[alg]).claims)
    except (JoseError, ValueError, TypeError):
        return None
    if claims.get("iss") != issuer or (typ == "at+jwt" and not isinstance(claims.get("jti"), str)):
        return None
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or (check_expiry and exp <= now.timestamp()):
        return None
    return claims


async def is_revoked(session: AsyncSession, claims: dict[str, Any]) -> bool:
    hit = await session.scalar(select(models.RevokedToken.jti)
                               .where(models.RevokedToken.jti.in_(revocation_keys(claims))).limit(1))
    return hit is not None


async def revoke_key(session: AsyncSession, key: str, expires_at: datetime) -> None:
    if await session.get(models.RevokedToken, key) is None:
        session.add(models.RevokedToken(jti=key[:64], expires_at=expires_at))
        await session.flush()


async def revoke_family(session: AsyncSession, family: str, now: datetime) -> None:
    """Every refresh token of the family, and every access token issued under it."""
    await session.execute(update(models.RefreshToken).where(
        models.RefreshToken.family_id == family, models.RefreshToken.revoked_at.is_(None)).values(revoked_at=now))
    await revoke_key(session, "fam:" + family, now + MAX_ACCESS_TTL + timedelta(minutes=5))


async def revoke_session_tokens(session: AsyncSession, session_id: str, now: datetime) -> None:
    """Logout: the session's refresh tokens and every access token that names the session."""
    await session.execute(update(models.RefreshToken).where(
        models.RefreshToken.session_id == session_id, models.RefreshToken.revoked_at.is_(None)
    ).values(revoked_at=now))
    sid = sid_of(session_id)
    if sid:
        await revoke_key(session, "sid:" + sid, now + MAX_ACCESS_TTL + timedelta(minutes=5))
