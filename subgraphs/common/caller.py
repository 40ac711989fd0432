"""Who is calling a subgraph: the caller token the router signs for each fetch (router/caller_token.py),
verified here against the router's public keys.

    verifier = CallerVerifier("population", jwks_url="http://router:4000/.well-known/router-jwks.json")
    caller = await verifier.verify(token)     # CallerRejected when the token is not good

Resolvers see the result as `info.context.caller` (None: no token, which only an unprotected subgraph
accepts; see `required`). A token is verified once and then remembered until it expires, because the
router reuses one token for a caller's many fetches.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from router.auth import AuthenticationError, Claims, JwtSettings, JwtVerifier, bearer_token
from router.caller_token import ISSUER, audience_of

DATA_SCOPES = ("OWN_DEPT", "OWN_ORG", "CROSS_ORG", "ALL")  # narrowest to widest


@dataclass(frozen=True)
class Caller:
    """The person or system a request is for, as the router vouches for it."""

    subject: str | None
    client_id: str | None
    scopes: frozenset[str]
    organization_id: str | None = None
    region_code: str | None = None
    roles: tuple[str, ...] = ()
    data_scope: str | None = None
    # The population person (uid) behind a citizen's account, if the account is linked to one.
    person_uid: str | None = None

    @property
    def user_id(self) -> str | None:
        """The user behind the request; None for anonymous callers and for systems (client credentials)."""
        if self.subject is None or self.subject == self.client_id:
            return None
        return self.subject

    @property
    def anonymous(self) -> bool:
        return self.subject is None

    @classmethod
    def from_claims(cls, claims: Claims) -> Caller:
        raw = claims.raw
        roles = raw.get("roles")
        scope = raw.get("data_scope")
        return cls(
            subject=claims.subject, client_id=claims.client_id, scopes=claims.scopes,
            organization_id=raw.get("org") if isinstance(raw.get("org"), str) else None,
            region_code=raw.get("region") if isinstance(raw.get("region"), str) else None,
            roles=tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else (),
            data_scope=scope if scope in DATA_SCOPES else None,
            person_uid=raw.get("person") if isinstance(raw.get("person"), str) else None,
        )


class CallerRejected(Exception):
    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class CallerVerifier:
    def __init__(self, subgraph: str, *, jwks_url: str | None = None, jwks: Mapping[str, Any] | None = None,
                 required: bool = False, cache_size: int = 10_000) -> None:
        self.required = required
        self._verifier = JwtVerifier(JwtSettings(
            issuer=ISSUER, audience=audience_of(subgraph), jwks_url=jwks_url,
            jwks=dict(jwks) if jwks is not None else None, algorithms=("ES256",), leeway_seconds=5,
            jwks_min_refresh_seconds=0.5))
        self._cache: OrderedDict[str, tuple[Caller, float]] = OrderedDict()
        self._cache_size = cache_size

    async def caller(self, headers: Mapping[str, str]) -> Caller | None:
        """The verified caller of a request with these headers; None without a token (when allowed)."""
        try:
            token = bearer_token(headers)
        except AuthenticationError as exc:
            raise CallerRejected(exc.message) from exc
        if token is None:
            if self.required:
                raise CallerRejected("this subgraph answers the router only: a caller token is required")
            return None
        cached = self._cache.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        try:
            claims = await self._verifier.verify(token)
        except AuthenticationError as exc:
            raise CallerRejected(f"caller token refused: {exc.reason}", exc.status) from exc
        caller = Caller.from_claims(claims)
        self._cache[token] = (caller, float(claims.expires_at))
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return caller

    async def close(self) -> None:
        await self._verifier.close()
