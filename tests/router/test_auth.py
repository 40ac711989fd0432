"""Access-token verification (router/auth.py): signatures, time claims with leeway, issuer and audience,
algorithm confusion, JWKS fetching from a local HTTP server (refresh on rotation, no refresh storm,
stale keys when the endpoint is down), scope claims, the Authorization header."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import uvicorn
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey, generate_key
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from router.auth import (
    AUTH_UNAVAILABLE,
    REASON_ALGORITHM_NOT_ALLOWED,
    REASON_BAD_SIGNATURE,
    REASON_EXPIRED,
    REASON_MALFORMED,
    REASON_NOT_YET_VALID,
    REASON_UNKNOWN_KEY,
    REASON_WRONG_AUDIENCE,
    REASON_WRONG_ISSUER,
    UNAUTHENTICATED,
    AuthenticationError,
    JwtSettings,
    JwtVerifier,
    bearer_token,
)

ISSUER = "https://identity.example.test/"
AUDIENCE = "jshealth-graph"


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return generate_key("RSA", 2048, parameters={"kid": "rsa-1"})


@pytest.fixture(scope="module")
def rsa_key_2() -> RSAKey:
    return generate_key("RSA", 2048, parameters={"kid": "rsa-2"})


@pytest.fixture(scope="module")
def ec_key() -> ECKey:
    return generate_key("EC", "P-256", parameters={"kid": "ec-1"})


def jwks_of(*keys: RSAKey | ECKey) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "client_id": "doctor-app",
        "scope": "persons:read records:read",
        "iat": now,
        "exp": now + 300,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: RSAKey | ECKey, alg: str = "RS256", kid: str | None = None, **overrides: Any) -> str:
    header = {"alg": alg, "kid": kid if kid is not None else key.kid, "typ": "at+jwt"}
    return jwt.encode(header, claims(**overrides), key, algorithms=[alg])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class JwksServer:
    """A JWKS endpoint on a free loopback port (uvicorn in a background thread), counting requests."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.requests = 0
        self.failing = False
        app = Starlette(routes=[Route("/.well-known/jwks.json", self._serve)])
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/.well-known/jwks.json"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    async def _serve(self, request: Request) -> Response:
        self.requests += 1
        if self.failing:
            return JSONResponse({"error": "down"}, status_code=503)
        return JSONResponse(self.jwks, media_type="application/jwk-set+json")

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("JWKS server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@pytest.fixture
def jwks_server(rsa_key: RSAKey, ec_key: ECKey) -> Iterator[JwksServer]:
    server = JwksServer(jwks_of(rsa_key, ec_key))
    server.start()
    yield server
    if server._thread.is_alive():
        server.stop()


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


class Verifiers:
    def __init__(self, server: JwksServer, monotonic: FakeMonotonic) -> None:
        self.server = server
        self.monotonic = monotonic
        self.made: list[JwtVerifier] = []

    def __call__(self, **settings: Any) -> JwtVerifier:
        settings.setdefault("issuer", ISSUER)
        settings.setdefault("audience", AUDIENCE)
        if "jwks" not in settings:
            settings.setdefault("jwks_url", self.server.url)
        verifier = JwtVerifier(JwtSettings(**settings), monotonic=self.monotonic)
        self.made.append(verifier)
        return verifier


@pytest.fixture
async def make_verifier(jwks_server: JwksServer, monotonic: FakeMonotonic) -> AsyncIterator[Verifiers]:
    verifiers = Verifiers(jwks_server, monotonic)
    yield verifiers
    for verifier in verifiers.made:
        await verifier.close()


async def refused(verifier: JwtVerifier, token: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        await verifier.verify(token)
    assert info.value.code == UNAUTHENTICATED
    assert info.value.status == 401
    return info.value


# --- good tokens --------------------------------------------------------------------------------------


async def test_valid_rs256_token(make_verifier: Verifiers, rsa_key: RSAKey, jwks_server: JwksServer) -> None:
    verifier = make_verifier()
    token = sign(rsa_key)
    result = await verifier.verify(token)
    assert result.subject == "user-42"
    assert result.client_id == "doctor-app"
    assert result.scopes == frozenset({"persons:read", "records:read"})
    assert abs(result.expires_at - (time.time() + 300)) <= 5
    assert result.raw["iss"] == ISSUER
    assert result.has_scopes({"persons:read"}) and not result.has_scopes({"persons:write"})
    await verifier.verify(token)
    assert jwks_server.requests == 1  # cached


async def test_valid_es256_token(make_verifier: Verifiers, ec_key: ECKey) -> None:
    result = await make_verifier().verify(sign(ec_key, "ES256"))
    assert result.subject == "user-42"


async def test_client_id_falls_back_to_azp_and_audience_list(make_verifier: Verifiers, rsa_key: RSAKey) -> None:
    verifier = make_verifier(audience=("other", AUDIENCE))
    result = await verifier.verify(sign(rsa_key, client_id=None, azp="web-portal", aud=["x", AUDIENCE]))
    assert result.client_id == "web-portal"


async def test_static_jwks_without_url(rsa_key: RSAKey) -> None:
    verifier = JwtVerifier(JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_of(rsa_key)))
    assert (await verifier.verify(sign(rsa_key))).subject == "user-42"
    assert verifier.jwks.fetches == 0
    await verifier.close()


# --- time claims --------------------------------------------------------------------------------------


async def test_expired(make_verifier: Verifiers, rsa_key: RSAKey) -> None:
    now = int(time.time())
    error = await refused(make_verifier(), sign(rsa_key, iat=now - 3600, exp=now - 120))
    assert error.reason == REASON_EXPIRED
    assert 'error="invalid_token"' in error.www_authenticate


async def test_not_yet_valid(make_verifier: Verifiers, rsa_key: RSAKey) -> None:
    now = int(time.time())
    error = await refused(make_verifier(), sign(rsa_key, nbf=now + 300, exp=now + 900))
    assert error.reason == REASON_NOT_YET_VALID
    error = await refused(make_verifier(), sign(rsa_key, iat=now + 300, exp=now + 900))
    assert error.reason == REASON_NOT_YET_VALID


async def test_within_leeway(make_verifier: Verifiers, rsa_key: RSAKey) -> None:
    now = int(time.time())
    verifier = make_verifier(leeway_seconds=60)
    await verifier.verify(sign(rsa_key, iat=now - 600, exp=now - 30))
    await verifier.verify(sign(rsa_key, nbf=now + 30, iat=now + 30))
    strict = make_verifier(leeway_seconds=0)
    assert (await refused(strict, sign(rsa_key, iat=now - 600, exp=now - 30))).reason == REASON_EXPIRED


async def test_missing_exp_is_refused(make_verifier: Verifiers, rsa_key: RSAKey) -> None:
    error = await refused(make_verifier(), sign(rsa_key, exp=None))
    assert error.reason == REASON_MALFORMED


# --- issuer and audience ------------------------------------------------------------------------------


async def test_wrong_audience(make_verifier: Verifiers, rsa_key: RSAKey) -> None:
    verifier = make_verifier()
    assert (await refused(verifier, sign(rsa_key, aud="billing-api"))).reason == REASON_WRONG_AUDIENCE
    assert (await refused(verifier, sign(rsa_key, aud=["a", "b"]))).reason == REASON_WRONG_AUDIENCE
    assert (await refused(verifier, sign(rsa_key, aud=None))).reason == REASON_WRONG_AUDIENCE


async def test_wrong_issuer(make_verifier: Verifiers, rsa_key: RSAKey) -> None:
    verifier = make_verifier()
    assert (await refused(verifier, sign(rsa_key, iss="https://evil.example/"))).reason == REASON_WRONG_ISSUER
    assert (await refused(verifier, sign(rsa_key, iss=None))).reason == REASON_WRONG_ISSUER


# --- signatures and algorithms ------------------------------------------------------------------------


async def test_wrong_key(make_verifier: Verifiers, rsa_key_2: RSAKey) -> None:
    verifier = make_verifier()
    # a key the issuer does not publish, claiming the published kid
    error = await refused(verifier, sign(rsa_key_2, kid="rsa-1"))
    assert error.reason == REASON_BAD_SIGNATURE
    # and under its own kid
    error = await refused(verifier, sign(rsa_key_2))
    assert error.reason == REASON_UNKNOWN_KEY


async def test_tampered_payload(make_verifier: Verifiers, rsa_key: RSAKey) -> None:
    header, payload, signature = sign(rsa_key).split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["sub"] = "admin"
    body["scope"] += " persons:write"
    forged = ".".join([header, b64(json.dumps(body).encode()), signature])
    assert (await refused(make_verifier(), forged)).reason == REASON_BAD_SIGNATURE
    truncated = ".".join([header, payload, signature[:-4]])
    assert (await refused(make_verifier(), truncated)).reason in (REASON_BAD_SIGNATURE, REASON_MALFORMED)


async def test_alg_none_is_refused(make_verifier: Verifiers) -> None:
    verifier = make_verifier()
    for alg in ("none", "None", "NONE"):
        header = b64(json.dumps({"alg": alg, "kid": "rsa-1"}).encode())
        payload = b64(json.dumps(claims()).encode())
        for token in (f"{header}.{payload}.", f"{header}.{payload}.{b64(b'x')}"):
            assert (await refused(verifier, token)).reason == REASON_ALGORITHM_NOT_ALLOWED
    no_alg = b64(json.dumps({"kid": "rsa-1"}).encode())
    assert (await refused(verifier, f"{no_alg}.{b64(b'{}')}.")).reason == REASON_ALGORITHM_NOT_ALLOWED


async def test_hs256_with_rsa_public_key_is_refused(make_verifier: Verifiers, rsa_key: RSAKey) -> None:
    """The key-confusion attack: HMAC over the token with the issuer's public key as the secret."""
    public = rsa_key.as_pem(private=False)
    verifier = make_verifier()
    for kid in ("rsa-1", None):
        header_fields: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
        if kid:
            header_fields["kid"] = kid
        signing_input = f"{b64(json.dumps(header_fields).encode())}.{b64(json.dumps(claims()).encode())}"
        for secret in (public, public.strip(), json.dumps(rsa_key.as_dict(private=False)).encode()):
            mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
            error = await refused(verifier, f"{signing_input}.{b64(mac)}")
            assert error.reason == REASON_ALGORITHM_NOT_ALLOWED


def test_symmetric_and_none_algorithms_cannot_be_configured() -> None:
    for algorithms in (("HS256",), ("RS256", "none"), ()):
        with pytest.raises(ValueError):
            JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks={"keys": []}, algorithms=algorithms)
    with pytest.raises(ValueError):
        JwtSettings(issuer=ISSUER, audience=AUDIENCE)  # no keys at all


async def test_algorithm_outside_settings_and_key_type_mismatch(
    make_verifier: Verifiers, rsa_key: RSAKey, ec_key: ECKey
) -> None:
    rs_only = make_verifier(algorithms=("RS256",))
    assert (await refused(rs_only, sign(ec_key, "ES256"))).reason == REASON_ALGORITHM_NOT_ALLOWED
    # an ES256 header naming the RSA key: no key of the right type, never verified with the RSA key
    header = b64(json.dumps({"alg": "ES256", "kid": "rsa-1"}).encode())
    token = f"{header}.{b64(json.dumps(claims()).encode())}.{b64(b'0' * 64)}"
    assert (await refused(make_verifier(), token)).reason == REASON_UNKNOWN_KEY


def test_private_keys_in_jwks_are_rejected(rsa_key: RSAKey) -> None:
    with pytest.raises(ValueError, match="private"):
        JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks={"keys": [rsa_key.as_dict(private=True)]})


async def test_malformed_tokens(make_verifier: Verifiers) -> None:
    verifier = make_verifier()
    for token in ("", "abc", "a.b", "a.b.c", "..", "a.b.c.d.e", "x" * 20000, f"{b64(b'[1]')}.{b64(b'{}')}.{b64(b'x')}"):
        assert (await refused(verifier, token)).reason == REASON_MALFORMED


# --- JWKS fetching ------------------------------------------------------------------------------------


async def test_unknown_kid_refreshes_once_after_rotation(
    make_verifier: Verifiers, jwks_server: JwksServer, monotonic: FakeMonotonic, rsa_key: RSAKey, rsa_key_2: RSAKey
) -> None:
    verifier = make_verifier()
    await verifier.verify(sign(rsa_key))
    assert jwks_server.requests == 1
    jwks_server.jwks = jwks_of(rsa_key, rsa_key_2)  # the issuer rotates in a new key
    monotonic.now += 31
    result = await verifier.verify(sign(rsa_key_2))
    assert result.subject == "user-42"
    assert jwks_server.requests == 2
    await verifier.verify(sign(rsa_key_2))
    assert jwks_server.requests == 2


async def test_unknown_kid_within_min_interval_does_not_refetch(
    make_verifier: Verifiers, jwks_server: JwksServer, monotonic: FakeMonotonic, rsa_key: RSAKey, rsa_key_2: RSAKey
) -> None:
    verifier = make_verifier()
    await verifier.verify(sign(rsa_key))
    jwks_server.jwks = jwks_of(rsa_key, rsa_key_2)
    monotonic.now += 5
    assert (await refused(verifier, sign(rsa_key_2))).reason == REASON_UNKNOWN_KEY
    assert jwks_server.requests == 1
    monotonic.now += 30
    await verifier.verify(sign(rsa_key_2))
    assert jwks_server.requests == 2


async def test_no_refresh_storm(
    make_verifier: Verifiers, jwks_server: JwksServer, monotonic: FakeMonotonic, rsa_key: RSAKey
) -> None:
    verifier = make_verifier()
    await verifier.verify(sign(rsa_key))
    monotonic.now += 31
    tokens = [sign(rsa_key, kid=f"attacker-{i}") for i in range(50)]
    results = await asyncio.gather(*(verifier.verify(t) for t in tokens), return_exceptions=True)
    assert all(isinstance(r, AuthenticationError) and r.reason == REASON_UNKNOWN_KEY for r in results)
    assert jwks_server.requests == 2  # the warm-up and at most one refresh
    for token in tokens[:10]:
        await refused(verifier, token)
    assert jwks_server.requests == 2
    assert (await verifier.verify(sign(rsa_key))).subject == "user-42"


async def test_periodic_refresh(
    make_verifier: Verifiers, jwks_server: JwksServer, monotonic: FakeMonotonic, rsa_key: RSAKey
) -> None:
    verifier = make_verifier(jwks_refresh_seconds=300)
    await verifier.verify(sign(rsa_key))
    monotonic.now += 299
    await verifier.verify(sign(rsa_key))
    assert jwks_server.requests == 1
    monotonic.now += 2
    await verifier.verify(sign(rsa_key))
    assert jwks_server.requests == 2


async def test_endpoint_down_serves_cached_keys(
    make_verifier: Verifiers, jwks_server: JwksServer, monotonic: FakeMonotonic, rsa_key: RSAKey, ec_key: ECKey
) -> None:
    verifier = make_verifier()
    await verifier.verify(sign(rsa_key))
    jwks_server.failing = True  # HTTP 503
    monotonic.now += 301
    assert (await verifier.verify(sign(rsa_key))).subject == "user-42"
    assert jwks_server.requests == 2
    jwks_server.stop()  # connection refused
    monotonic.now += 301
    assert (await verifier.verify(sign(ec_key, "ES256"))).subject == "user-42"
    assert (await refused(verifier, sign(rsa_key, kid="new-kid"))).reason == REASON_UNKNOWN_KEY


async def test_endpoint_down_without_cache_is_unavailable(
    make_verifier: Verifiers, jwks_server: JwksServer, monotonic: FakeMonotonic, rsa_key: RSAKey
) -> None:
    jwks_server.failing = True
    verifier = make_verifier()
    with pytest.raises(AuthenticationError) as info:
        await verifier.verify(sign(rsa_key))
    assert info.value.code == AUTH_UNAVAILABLE and info.value.status == 503
    with pytest.raises(AuthenticationError):
        await verifier.verify(sign(rsa_key))
    assert jwks_server.requests == 1  # failed attempts are rate-limited too
    jwks_server.failing = False
    monotonic.now += 31
    assert (await verifier.verify(sign(rsa_key))).subject == "user-42"


# --- scopes -------------------------------------------------------------------------------------------


async def test_scope_claim_is_configurable(make_verifier: Verifiers, rsa_key: RSAKey) -> None:
    default = make_verifier()
    assert (await default.verify(sign(rsa_key, scope="a b  c"))).scopes == {"a", "b", "c"}
    assert (await default.verify(sign(rsa_key, scope=["a", "b"]))).scopes == {"a", "b"}
    assert (await default.verify(sign(rsa_key, scope=None))).scopes == frozenset()
    scp = make_verifier(scope_claim="scp")
    assert (await scp.verify(sign(rsa_key, scp="persons:read records:write"))).scopes == {
        "persons:read",
        "records:write",
    }
    assert (await scp.verify(sign(rsa_key, scp=["persons:read"]))).scopes == {"persons:read"}
    permissions = make_verifier(scope_claim="permissions")
    result = await permissions.verify(sign(rsa_key, permissions=["read:persons", "write:records"]))
    assert result.scopes == {"read:persons", "write:records"}
    assert (await refused(default, sign(rsa_key, scope={"a": 1}))).reason == REASON_MALFORMED


# --- Authorization header -----------------------------------------------------------------------------


def test_bearer_token() -> None:
    assert bearer_token({}) is None
    assert bearer_token({"content-type": "application/json"}) is None
    assert bearer_token({"authorization": "Bearer abc.def.ghi"}) == "abc.def.ghi"
    assert bearer_token({"Authorization": "bearer abc.def.ghi"}) == "abc.def.ghi"
    assert bearer_token({"AUTHORIZATION": "BEARER   abc.def-_ghi  "}) == "abc.def-_ghi"
    for value in ("", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b", "abc.def.ghi", "Bearer a\tb", "Token x"):
        with pytest.raises(AuthenticationError) as info:
            bearer_token({"authorization": value})
        assert info.value.code == UNAUTHENTICATED and info.value.reason == REASON_MALFORMED
        assert 'error="invalid_request"' in info.value.www_authenticate
