"""The caller token: a short-lived JWT the router signs for each subgraph it calls, saying who the caller is.

Subgraphs never see the caller's own access token (its audience is the router, and a subgraph that
accepted it could be handed any token minted for the router). Instead, for every fetch, the router puts
in `Authorization: Bearer <caller token>` a token it signed itself (ES256, header typ `caller+jwt`):

    iss        urn:jshealth:router
    aud        urn:jshealth:subgraph:<name>   (a token for one subgraph is refused by the others)
    iat, exp   valid for at most `lifetime_seconds` (60) and never past the caller's own token
    sub, client_id, scope, org, region, roles, data_scope
               copied from the verified caller token; absent for an anonymous caller
    act        {"sub": "urn:jshealth:router"}: the router acts for the caller (RFC 8693 §4.1)

The verified claims reach the subgraph client through `CALLER` (a context variable the HTTP layer sets
for the request), never through a request header, so no client can claim an identity it was not
verified for. The public keys are served at /.well-known/router-jwks.json; subgraphs verify with
subgraphs/common/caller.py.
"""

from __future__ import annotations

import contextvars
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from joserfc import jwt
from joserfc.jwk import ECKey

from router.auth import Claims

ISSUER = "urn:jshealth:router"
AUDIENCE_PREFIX = "urn:jshealth:subgraph:"
TOKEN_TYPE = "caller+jwt"
COPIED_CLAIMS = ("org", "region", "roles", "data_scope", "name", "person")
JSON = dict[str, Any]

# The verified claims of the request being served (None: anonymous). Set by the HTTP layer.
CALLER: contextvars.ContextVar[Claims | None] = contextvars.ContextVar("router_caller", default=None)


def audience_of(subgraph: str) -> str:
    return AUDIENCE_PREFIX + subgraph


class CallerTokenMinter:
    """Signs caller tokens; one key per router (from a PEM file shared by replicas, or made at start)."""

    def __init__(self, key: ECKey | None = None, *, lifetime_seconds: int = 60, cache_size: int = 10_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.key = key or ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex[:16]}, private=True)
        if not self.key.kid:
            self.key = ECKey.import_key(self.key.as_dict(private=True) | {"kid": self.key.thumbprint()})
        self.lifetime = lifetime_seconds
        self._clock = clock
        self._cache: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def from_pem(cls, path: str | Path, **options: Any) -> CallerTokenMinter:
        key = ECKey.import_key(Path(path).read_bytes())
        if not key.is_private:
            raise ValueError(f"{path} holds a public key; the router needs the private key to sign")
        return cls(key, **options)

    @property
    def jwks(self) -> JSON:
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "use": "sig", "alg": "ES256"}]}

    def mint(self, claims: Claims | None, subgraph: str) -> str:
        now = self._clock()
        identity: JSON = {"aud": audience_of(subgraph)}
        limit = now + self.lifetime
        if claims is not None:
            limit = min(limit, claims.expires_at)
            if claims.subject:
                identity["sub"] = claims.subject
            if claims.client_id:
                identity["client_id"] = claims.client_id
            if claims.scopes:
                identity["scope"] = " ".join(sorted(claims.scopes))
            for name in COPIED_CLAIMS:
                if name in claims.raw:
                    identity[name] = claims.raw[name]
        # Signing costs tens of microseconds; one caller's many fetches in a short time reuse a token.
        cache_key = orjson.dumps(identity, option=orjson.OPT_SORT_KEYS)
        cached = self._cache.get(cache_key)
        # Reused until a third of its life is left, so a subgraph always gets a token with time to spare,
        # and never past the caller's own expiry.
        if cached is not None and cached[1] - now > self.lifetime / 3 and cached[1] <= limit:
            self._cache.move_to_end(cache_key)
            return cached[0]
        payload = {"iss": ISSUER, **identity, "iat": int(now), "exp": int(limit), "act": {"sub": ISSUER}}
        token = jwt.encode({"alg": "ES256", "typ": TOKEN_TYPE, "kid": self.key.kid}, payload, self.key)
        self._cache[cache_key] = (token, limit)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return token


class CallerTokenClient:
    """A subgraph client that replaces the Authorization header of each fetch by a caller token."""

    def __init__(self, inner: Any, minter: CallerTokenMinter) -> None:
        self.inner = inner
        self.minter = minter

    @property
    def forward_headers(self) -> tuple[str, ...]:
        names: tuple[str, ...] = getattr(self.inner, "forward_headers", ())
        return names

    async def fetch(self, graph: str, body: JSON, headers: Mapping[str, str]) -> JSON:
        token = self.minter.mint(CALLER.get(), graph)
        return await self.inner.fetch(graph, body, {**headers, "authorization": f"Bearer {token}"})

    async def close(self) -> None:
        await self.inner.close()
