"""Access-token verification: OAuth 2.0 / OIDC JWT access tokens from one configured issuer.

    verifier = JwtVerifier(JwtSettings(issuer=..., audience=..., jwks_url=...))
    token = bearer_token(request.headers)        # None when there is no Authorization header
    claims = await verifier.verify(token)        # AuthenticationError when the token is not good
    ...
    await verifier.close()                       # the aiohttp session, at shutdown

Only asymmetric signatures are accepted (RS*/PS*/ES*/EdDSA): `alg: none` and every HMAC algorithm are
refused whatever the settings say, so an RSA public key can never be used as an HMAC secret. The key is
chosen by the token's `kid` from the issuer's JWKS only (never from `jku`, `x5u` or an embedded `jwk`),
and it must be of the type and curve the `alg` requires.

Signing keys come from `jwks_url` (fetched with aiohttp, cached, refreshed every `jwks_refresh_seconds`,
and on an unknown `kid` at most once per `jwks_min_refresh_seconds`; when the endpoint is down the cached
keys keep serving) and/or the static `jwks`.

Errors: `AuthenticationError.code` is `UNAUTHENTICATED` (HTTP 401) for anything wrong with the token, with
`reason` one of the `REASON_*` values; `AUTH_UNAVAILABLE` (HTTP 503) when no signing keys could ever be
fetched - the caller's token may be fine, the router cannot tell.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import Key, KeySet, import_key

logger = logging.getLogger("router.auth")

UNAUTHENTICATED = "UNAUTHENTICATED"
AUTH_UNAVAILABLE = "AUTH_UNAVAILABLE"

REASON_MISSING = "missing"
REASON_MALFORMED = "malformed"
REASON_EXPIRED = "expired"
REASON_NOT_YET_VALID = "not yet valid"
REASON_WRONG_ISSUER = "wrong issuer"
REASON_WRONG_AUDIENCE = "wrong audience"
REASON_UNKNOWN_KEY = "unknown key"
REASON_BAD_SIGNATURE = "bad signature"
REASON_ALGORITHM_NOT_ALLOWED = "algorithm not allowed"
REASON_KEYS_UNAVAILABLE = "signing keys unavailable"

MAX_TOKEN_BYTES = 16 * 1024

# alg -> (kty, crv or None); the only algorithms this module will ever verify.
ASYMMETRIC_ALGORITHMS: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None),
    "Ed25519": ("OKP", "Ed25519"),
}


class AuthenticationError(Exception):
    """The request's credentials cannot be accepted. `code` is the GraphQL error code
    (`UNAUTHENTICATED` or `AUTH_UNAVAILABLE`), `reason` a short fixed string (one of the `REASON_*`
    values), `message` the text for the client (never includes the token)."""

    def __init__(self, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or message

    @property
    def status(self) -> int:
        return 503 if self.code == AUTH_UNAVAILABLE else 401

    @property
    def www_authenticate(self) -> str:
        """Value for the `WWW-Authenticate` header of a 401 (RFC 6750 section 3)."""
        if self.reason == REASON_MISSING:
            return "Bearer"
        error = "invalid_request" if self.reason == REASON_MALFORMED else "invalid_token"
        description = self.message.replace("\\", "").replace('"', "'")
        return f'Bearer error="{error}", error_description="{description}"'

    def __repr__(self) -> str:
        return f"AuthenticationError({self.code!r}, {self.message!r})"


def _unauthenticated(reason: str, detail: str | None = None) -> AuthenticationError:
    message = f"invalid access token: {reason}" + (f" ({detail})" if detail else "")
    return AuthenticationError(UNAUTHENTICATED, message, reason)


@dataclass(frozen=True)
class JwtSettings:
    issuer: str
    audience: str | tuple[str, ...]
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None  # static keys ({"keys": [...]}), for tests and air-gapped deployments
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_seconds: int = 60
    scope_claim: str = "scope"  # space-separated string or list of strings: "scope", "scp", "permissions"
    jwks_refresh_seconds: int = 300
    jwks_min_refresh_seconds: float = 30  # an unknown kid triggers a refresh, at most this often
    jwks_timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not self.issuer:
            raise ValueError("auth: issuer is required")
        audiences = self.audiences
        if not audiences or not all(isinstance(a, str) and a for a in audiences):
            raise ValueError("auth: audience must be a non-empty string or a tuple of them")
        if self.jwks_url is None and self.jwks is None:
            raise ValueError("auth: jwks_url or jwks is required")
        if self.jwks_url is not None and not self.jwks_url.startswith(("https://", "http://")):
            raise ValueError(f"auth: jwks_url must be an http(s) URL, not {self.jwks_url!r}")
        if not self.algorithms:
            raise ValueError("auth: algorithms must not be empty")
        for alg in self.algorithms:
            if alg not in ASYMMETRIC_ALGORITHMS:
                raise ValueError(
                    f"auth: algorithm {alg!r} is not allowed (only asymmetric ones: {', '.join(ASYMMETRIC_ALGORITHMS)})"
                )
        if self.leeway_seconds < 0 or self.jwks_refresh_seconds <= 0 or self.jwks_min_refresh_seconds < 0:
            raise ValueError("auth: leeway_seconds and jwks_min_refresh_seconds >= 0, jwks_refresh_seconds > 0")
        if not self.scope_claim:
            raise ValueError("auth: scope_claim must not be empty")
        if self.jwks is not None:
            _import_key_set(self.jwks, "auth: jwks")  # fail at start, not on the first request

    @property
    def audiences(self) -> tuple[str, ...]:
        return (self.audience,) if isinstance(self.audience, str) else tuple(self.audience)


@dataclass(frozen=True)
class Claims:
    subject: str | None
    scopes: frozenset[str]
    client_id: str | None
    expires_at: int
    raw: Mapping[str, Any] = field(repr=False)
    issuer: str = ""

    def has_scopes(self, required: Collection[str]) -> bool:
        return self.scopes.issuperset(required)


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when there is no Authorization
    header. Any other scheme, an empty or malformed value raises AuthenticationError."""
    value = headers.get("authorization")
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if value is None:
        return None
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        shown = f" {scheme!r}" if scheme.isalnum() and len(scheme) <= 20 else ""
        raise _unauthenticated(REASON_MALFORMED, f"unsupported authorization scheme{shown}, use Bearer")
    token = rest.strip(" ")
    if not token or len(token) > MAX_TOKEN_BYTES or not all(c in _B64TOKEN for c in token):
        raise _unauthenticated(REASON_MALFORMED, "expected 'Authorization: Bearer <token>'")
    return token


_B64TOKEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=")


def _import_key_set(data: Any, where: str) -> KeySet:
    if not isinstance(data, Mapping) or not isinstance(data.get("keys"), list):
        raise ValueError(f"{where}: not a JWK set (an object with a 'keys' list)")
    keys: list[Key] = []
    for index, entry in enumerate(data["keys"]):
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: key {index} is not an object")
        if entry.get("kty") not in ("RSA", "EC", "OKP") or entry.get("use", "sig") != "sig":
            continue  # symmetric and encryption keys are never used to verify
        if any(p in entry for p in ("d", "p", "q", "dp", "dq", "qi")):
            raise ValueError(f"{where}: key {index} ({entry.get('kid')!r}) is a private key; publish public keys only")
        try:
            keys.append(import_key(dict(entry)))
        except (JoseError, ValueError, TypeError) as error:
            raise ValueError(f"{where}: key {index} ({entry.get('kid')!r}) cannot be read: {error}") from error
    return KeySet(keys)


def _key_matches(key: Key, alg: str) -> bool:
    kty, crv = ASYMMETRIC_ALGORITHMS[alg]
    if key.key_type != kty:
        return False
    if crv is not None and key.get("crv") != crv:
        return False
    key_alg = key.get("alg")
    return key_alg is None or key_alg == alg


class JwksCache:
    """The issuer's signing keys: static ones plus those from the JWKS URL.

    A fetch happens when the keys are older than `jwks_refresh_seconds`, or when a token names a `kid`
    that is not known and no fetch was attempted for `jwks_min_refresh_seconds`. Fetches are
    single-flight: concurrent callers wait for the one in progress. A failed fetch keeps the cached keys
    (logged) and is not retried before `jwks_min_refresh_seconds`."""

    def __init__(
        self,
        settings: JwtSettings,
        session: aiohttp.ClientSession | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        fetch: Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
    ) -> None:
        self.settings = settings
        # In one process with the issuer (the embedded mode) the keys are read directly, not over HTTP.
        self._fetch_override = fetch
        self._static = _import_key_set(settings.jwks, "auth: jwks") if settings.jwks is not None else KeySet([])
        self._fetched: KeySet | None = None
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()
        self._session = session
        self._own_session = session is None
        self._monotonic = monotonic
        self.fetches = 0  # attempts, for metrics and tests

    @property
    def keys(self) -> list[Key]:
        return list(self._static.keys) + (list(self._fetched.keys) if self._fetched is not None else [])

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def current(self) -> list[Key]:
        """The keys, refreshed first when they are due (stale keys are served when the fetch fails)."""
        if self.settings.jwks_url is not None and self._due(self.settings.jwks_refresh_seconds, self._fetched_at):
            if self._lock.locked() and self._fetched is not None:
                return self._usable()  # a refresh is under way: don't queue behind it with keys at hand
            await self._refresh(lambda: self._due(self.settings.jwks_refresh_seconds, self._fetched_at))
        return self._usable()

    async def refresh_for_unknown_kid(self, kid: str) -> list[Key]:
        """A token names a kid we do not know: refetch, unless one was attempted recently."""
        if self.settings.jwks_url is not None and not self._has_kid(kid):

            def still_needed() -> bool:
                return not self._has_kid(kid) and self._due(self.settings.jwks_min_refresh_seconds, self._attempted_at)

            if still_needed():
                await self._refresh(still_needed)
        return self._usable()

    def _has_kid(self, kid: str) -> bool:
        return any(key.kid == kid for key in self.keys)

    def _due(self, interval: float, since: float | None) -> bool:
        return since is None or self._monotonic() - since >= interval

    def _usable(self) -> list[Key]:
        keys = self.keys
        if not keys and self.settings.jwks_url is not None and self._fetched is None:
            raise AuthenticationError(
                AUTH_UNAVAILABLE, "the token issuer's signing keys are unavailable", REASON_KEYS_UNAVAILABLE
            )
        return keys

    async def _refresh(self, still_needed: Callable[[], bool]) -> None:
        async with self._lock:
            if not still_needed():  # another caller refreshed while we waited
                return
            # A failed attempt also waits out the minimum interval before the next one.
            if self._attempted_at is not None and not self._due(
                self.settings.jwks_min_refresh_seconds, self._attempted_at
            ):
                return
            self._attempted_at = self._monotonic()
            self.fetches += 1
            try:
                keys = await self._fetch()
            except (TimeoutError, aiohttp.ClientError, ValueError, OSError) as error:
                if self._fetched is not None:
                    logger.warning("JWKS fetch from %s failed, serving cached keys: %s", self.settings.jwks_url, error)
                else:
                    logger.error("JWKS fetch from %s failed, no keys cached: %s", self.settings.jwks_url, error)
                return
            self._fetched = keys
            self._fetched_at = self._monotonic()

    async def _fetch(self) -> KeySet:
        assert self.settings.jwks_url is not None
        if self._fetch_override is not None:
            return _import_key_set(await self._fetch_override(), f"JWKS from {self.settings.jwks_url}")
        if self._session is None:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self.settings.jwks_timeout_seconds)
        async with self._session.get(
            self.settings.jwks_url, timeout=timeout, headers={"accept": "application/jwk-set+json, application/json"}
        ) as response:
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            body = await response.read()
        if len(body) > 1024 * 1024:
            raise ValueError("JWKS larger than 1 MiB")
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"JWKS is not JSON: {error}") from error
        return _import_key_set(data, f"JWKS from {self.settings.jwks_url}")


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _json_segment(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(segment))
    except (binascii.Error, ValueError) as error:
        raise _unauthenticated(REASON_MALFORMED, f"{what} is not base64url JSON") from error
    if not isinstance(value, dict):
        raise _unauthenticated(REASON_MALFORMED, f"{what} is not a JSON object")
    return value


def _numeric(claims: Mapping[str, Any], name: str, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise _unauthenticated(REASON_MALFORMED, f"no '{name}' claim")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _unauthenticated(REASON_MALFORMED, f"'{name}' is not a number")
    return float(value)


def _optional_str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _unauthenticated(REASON_MALFORMED, f"'{name}' is not a string")
    return value


def parse_scopes(value: Any) -> frozenset[str]:
    """A scope claim: a space-separated string (RFC 8693 `scope`) or a list of strings."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(s for item in value for s in item.split())
    raise _unauthenticated(REASON_MALFORMED, "scope claim is neither a string nor a list of strings")


class JwtVerifier:
    """Verifies JWT access tokens against `JwtSettings`; one instance per router (it owns the JWKS cache)."""

    def __init__(
        self,
        settings: JwtSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        jwks_fetch: Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
    ) -> None:
        self.settings = settings
        self.jwks = JwksCache(settings, session, monotonic, jwks_fetch)
        self._clock = clock
        self._allowed = frozenset(settings.algorithms)
        self._audiences = frozenset(settings.audiences)

    async def close(self) -> None:
        await self.jwks.close()

    async def verify(self, token: str) -> Claims:
        if not isinstance(token, str) or not token:
            raise _unauthenticated(REASON_MALFORMED, "empty token")
        if len(token) > MAX_TOKEN_BYTES:
            raise _unauthenticated(REASON_MALFORMED, "token too large")
        segments = token.split(".")
        if len(segments) == 5:
            raise _unauthenticated(REASON_MALFORMED, "encrypted tokens (JWE) are not accepted")
        if len(segments) != 3 or not segments[0] or not segments[1]:
            raise _unauthenticated(REASON_MALFORMED, "not a signed JWT")
        header = _json_segment(segments[0], "header")

        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._allowed:
            shown = alg if isinstance(alg, str) and len(alg) <= 20 else "?"
            raise _unauthenticated(REASON_ALGORITHM_NOT_ALLOWED, f"alg {shown!r}")
        if not segments[2]:
            raise _unauthenticated(REASON_MALFORMED, "no signature")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _unauthenticated(REASON_MALFORMED, "'kid' is not a string")

        candidates = self._candidates(await self.jwks.current(), alg, kid)
        if not candidates and kid is not None:
            candidates = self._candidates(await self.jwks.refresh_for_unknown_kid(kid), alg, kid)
        if not candidates:
            raise _unauthenticated(REASON_UNKNOWN_KEY, f"kid {kid!r}" if kid is not None and len(kid) <= 64 else None)

        return self._check_claims(self._verified_payload(token, alg, candidates))

    @staticmethod
    def _candidates(keys: list[Key], alg: str, kid: str | None) -> list[Key]:
        return [key for key in keys if (kid is None or key.kid == kid) and _key_matches(key, alg)]

    def _verified_payload(self, token: str, alg: str, candidates: list[Key]) -> dict[str, Any]:
        registry = jws.JWSRegistry(algorithms=[alg])
        for key in candidates:
            try:
                obj = jws.deserialize_compact(token, key, registry=registry)
            except BadSignatureError:
                continue
            except JoseError as error:
                raise _unauthenticated(REASON_MALFORMED, error.error) from error
            except (ValueError, TypeError) as error:
                raise _unauthenticated(REASON_MALFORMED) from error
            try:
                payload = json.loads(obj.payload)
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise _unauthenticated(REASON_MALFORMED, "payload is not JSON") from error
            if not isinstance(payload, dict):
                raise _unauthenticated(REASON_MALFORMED, "payload is not a JSON object")
            return payload
        raise _unauthenticated(REASON_BAD_SIGNATURE)

    def _check_claims(self, claims: dict[str, Any]) -> Claims:
        now = self._clock()
        leeway = self.settings.leeway_seconds
        exp = _numeric(claims, "exp", required=True)
        nbf = _numeric(claims, "nbf", required=False)
        iat = _numeric(claims, "iat", required=False)
        assert exp is not None
        if now - leeway >= exp:
            raise _unauthenticated(REASON_EXPIRED)
        if nbf is not None and now + leeway < nbf:
            raise _unauthenticated(REASON_NOT_YET_VALID)
        if iat is not None and now + leeway < iat:
            raise _unauthenticated(REASON_NOT_YET_VALID, "issued in the future")

        if claims.get("iss") != self.settings.issuer:
            raise _unauthenticated(REASON_WRONG_ISSUER)
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not any(isinstance(a, str) and a in self._audiences for a in audiences):
            raise _unauthenticated(REASON_WRONG_AUDIENCE)

        client_id = _optional_str(claims, "client_id") or _optional_str(claims, "azp")
        return Claims(
            subject=_optional_str(claims, "sub"),
            scopes=parse_scopes(claims.get(self.settings.scope_claim)),
            client_id=client_id,
            expires_at=int(exp),
            raw=claims,
            issuer=self.settings.issuer,
        )
