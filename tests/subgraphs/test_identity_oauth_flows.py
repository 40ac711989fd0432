"""identity's OAuth 2.0 / OIDC authorization server over real HTTP: discovery and JWKS, authorization code +
PKCE through the sign-in page, the router's JwtVerifier accepting the tokens, client credentials, refresh
rotation and reuse detection, revocation and introspection, the idle timeout, lockout, must-change-password,
logout, key rotation."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import import_key
from sqlalchemy import delete, select, update
from test_identity_oauth_support import (
    ALICE,
    ALICE_PW,
    BATCH,
    BATCH_SECRET,
    BOB,
    BOB_PW,
    CAROL,
    CAROL_PW,
    FENCED,
    FENCED_SECRET,
    HIS,
    HIS_SECRET,
    OFF,
    OFF_SECRET,
    ORG,
    PREFIX,
    SPA,
    SPA_REDIRECT,
    World,
    authorize_url,
    continue_of,
    csrf_of,
    exchange,
    pkce_pair,
    query_of,
    sign_in_and_authorize,
    submit_login,
    user_tokens,
    world,
)

from router.auth import REASON_UNKNOWN_KEY, AuthenticationError, JwtSettings, JwtVerifier
from subgraphs.identity import models
from subgraphs.identity.oauth import keys as signing
from subgraphs.identity.oauth.config import ConfigError, OAuthSettings, SsoPolicy
from subgraphs.identity.security.policy import save_policy

__all__ = ["world"]  # the fixture, imported for pytest


def verifier_for(world: World, **settings: Any) -> JwtVerifier:
    return JwtVerifier(JwtSettings(issuer=world.issuer, audience="jshealth-graph",
                                   jwks_url=world.issuer + "/.well-known/jwks.json", **settings))


def header_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    import json

    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return value


async def client_token(browser: httpx.AsyncClient, client_id: str, secret: str, *, post: bool = False,
                       scope: str | None = None) -> httpx.Response:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    if post:
        data.update(client_id=client_id, client_secret=secret)
        return await browser.post(f"{PREFIX}/oauth/token", data=data)
    return await browser.post(f"{PREFIX}/oauth/token", data=data, auth=(client_id, secret))


async def introspect(browser: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await browser.post(f"{PREFIX}/oauth/introspect", data={"token": token}, auth=(HIS, HIS_SECRET))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- discovery and JWKS ------------------------------------------------------------------------------


async def test_discovery_and_jwks(world: World) -> None:
    async with world.browser() as browser:
        document = (await browser.get(f"{PREFIX}/.well-known/openid-configuration")).json()
        assert document["issuer"] == world.issuer
        assert document["authorization_endpoint"] == world.issuer + "/oauth/authorize"
        assert document["token_endpoint"] == world.issuer + "/oauth/token"
        assert document["jwks_uri"] == world.issuer + "/.well-known/jwks.json"
        assert document["code_challenge_methods_supported"] == ["S256"]
        assert "openid" in document["scopes_supported"] and "graph:read" in document["scopes_supported"]
        jwks = await browser.get(f"{PREFIX}/.well-known/jwks.json")
        assert jwks.headers["content-type"].startswith("application/jwk-set+json")
        keys = jwks.json()["keys"]
        assert keys and all(k["use"] == "sig" and k["alg"] == "ES256" and "d" not in k for k in keys)
    async with world.runtime.sessions() as db:
        statuses = sorted(r.status for r in await db.scalars(select(models.SigningKey)))
        assert statuses.count("ACTIVE") == 1 and "NEXT" in statuses
        row = next(r for r in await db.scalars(select(models.SigningKey)))
        assert b"PRIVATE KEY" not in row.private_key  # sealed


def test_settings_validate_the_token_lifetime() -> None:
    with pytest.raises(ConfigError):
        OAuthSettings(access_token_ttl=timedelta(minutes=30))
    with pytest.raises(ConfigError):
        OAuthSettings.from_env({"IDENTITY_ACCESS_TOKEN_TTL": str(25 * 3600)})
    settings = OAuthSettings.from_env({"IDENTITY_ISSUER": "https://id.example/", "IDENTITY_ACCESS_TOKEN_TTL": "3600"})
    assert settings.issuer == "https://id.example" and settings.access_token_ttl == timedelta(hours=1)
    assert settings.idle_timeout == timedelta(minutes=30) and settings.code_ttl == timedelta(seconds=60)


# --- authorization code + PKCE ---------------------------------------------------------------------


async def test_authorization_code_flow_and_router_verification(world: World) -> None:
    verifier_code, challenge = pkce_pair()
    async with world.browser() as browser:
        first = await browser.get(authorize_url(challenge=challenge))
        assert first.status_code == 302 and "/oauth/login?" in first.headers["location"]
        page = await browser.get(first.headers["location"])
        assert page.status_code == 200 and "<form" in page.text
        assert "HttpOnly" in page.headers["set-cookie"] and "samesite=strict" in page.headers["set-cookie"].lower()
        # The form refuses a post without the CSRF token.
        forged = await browser.post(f"{PREFIX}/oauth/login", data={
            "username": ALICE, "password": ALICE_PW, "csrf_token": "x" * 43, "continue": continue_of(page.text)})
        assert forged.status_code == 400 and "jshealth_sso" not in forged.headers.get("set-cookie", "")
        posted = await browser.post(f"{PREFIX}/oauth/login", data={
            "username": ALICE, "password": ALICE_PW, "csrf_token": csrf_of(page.text),
            "continue": continue_of(page.text)})
        assert posted.status_code == 303
        cookie = posted.headers["set-cookie"]
        assert "jshealth_sso=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        assert f"Path={PREFIX}" in cookie and "Secure" not in cookie  # http issuer
        back = await browser.get(posted.headers["location"])
        assert back.status_code == 302 and back.headers["location"].startswith(SPA_REDIRECT + "?")
        result = query_of(back.headers["location"])
        assert result["state"] == "st-1" and result["iss"] == world.issuer
        response = await exchange(browser, result["code"], verifier_code)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 7200
        assert body["scope"] == "openid profile graph:read" and body["refresh_token"]

        # The router accepts the token, fetching our JWKS over HTTP.
        router = verifier_for(world)
        try:
            claims = await router.verify(body["access_token"])
        finally:
            await router.close()
        assert claims.subject == world.users[ALICE] and claims.client_id == SPA
        assert claims.scopes == frozenset({"openid", "profile", "graph:read"})
        raw = claims.raw
        assert raw["org"] == ORG and raw["region"] == "320100"
        assert raw["roles"] == ["AUDITOR", "DOCTOR"]  # the disabled role is left out
        assert raw["data_scope"] == "CROSS_ORG"  # widest of the enabled roles' (ALL is the disabled role's)
        assert raw["aud"] == "jshealth-graph" and raw["jti"] and raw["exp"] - raw["iat"] == 7200
        assert header_of(body["access_token"])["typ"] == "at+jwt"

        # The ID token: audience the client, the nonce back, at_hash of the access token.
        jwks = (await browser.get(f"{PREFIX}/.well-known/jwks.json")).json()
        kid = header_of(body["id_token"])["kid"]
        key = import_key(next(k for k in jwks["keys"] if k["kid"] == kid))
        id_claims = jwt.decode(body["id_token"], key, algorithms=["ES256"]).claims
        assert id_claims["aud"] == SPA and id_claims["nonce"] == "n-1" and id_claims["iss"] == world.issuer
        digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
        assert id_claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

        bearer = {"authorization": f"Bearer {body['access_token']}"}
        info = await browser.get(f"{PREFIX}/oauth/userinfo", headers=bearer)
        assert info.status_code == 200
        assert info.json()["sub"] == world.users[ALICE] and info.json()["preferred_username"] == ALICE

        # A second /authorize in the same browser skips the form (SSO).
        verifier_2, challenge_2 = pkce_pair()
        again = await browser.get(authorize_url(challenge=challenge_2, state="st-2"))
        assert again.status_code == 302 and again.headers["location"].startswith(SPA_REDIRECT)
        assert query_of(again.headers["location"])["state"] == "st-2"
        second = await exchange(browser, query_of(again.headers["location"])["code"], verifier_2)
        assert second.status_code == 200

    async with world.runtime.sessions() as db:
        events = list(await db.scalars(select(models.LoginEvent).where(models.LoginEvent.username == ALICE)))
        assert any(e.success and e.method == "SSO" and e.ip == "127.0.0.1" and e.device == "pytest-browser/1.0"
                   and e.token_id for e in events)


async def test_pkce_is_enforced(world: World) -> None:
    async with world.browser() as browser:
        await sign_in_and_authorize(browser, authorize_url(challenge=pkce_pair()[1]))  # signs the browser in
        # A public client without PKCE, or with the plain method, is refused at /authorize.
        missing = await browser.get(authorize_url())
        assert query_of(missing.headers["location"])["error"] == "invalid_request"
        plain = await browser.get(authorize_url(challenge="a" * 43, method="plain"))
        assert query_of(plain.headers["location"])["error"] == "invalid_request"
        # A wrong verifier at /token.
        _, challenge = pkce_pair()
        result = await sign_in_and_authorize(browser, authorize_url(challenge=challenge))
        wrong = await exchange(browser, result["code"], pkce_pair()[0])
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        assert wrong.headers["cache-control"] == "no-store"
        # No verifier at all.
        _, challenge = pkce_pair()
        result = await sign_in_and_authorize(browser, authorize_url(challenge=challenge))
        assert (await exchange(browser, result["code"], None)).json()["error"] == "invalid_grant"


async def test_code_reuse_revokes_what_the_code_gave(world: World) -> None:
    async with world.browser() as browser:
        verifier, challenge = pkce_pair()
        result = await sign_in_and_authorize(browser, authorize_url(challenge=challenge))
        first = await exchange(browser, result["code"], verifier)
        assert first.status_code == 200
        tokens = first.json()
        assert (await introspect(browser, tokens["access_token"]))["active"] is True
        replay = await exchange(browser, result["code"], verifier)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        assert (await introspect(browser, tokens["access_token"]))["active"] is False
        refreshed = await browser.post(f"{PREFIX}/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": SPA})
        assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_redirect_uri_must_match_exactly(world: World) -> None:
    async with world.browser() as browser:
        _, challenge = pkce_pair()
        for bad in ("http://app.test/cb/", "http://app.test/cb?x=1", "http://evil.test/cb", "http://APP.test/cb"):
            response = await browser.get(authorize_url(challenge=challenge, redirect_uri=bad))
            assert response.status_code == 400 and "location" not in response.headers  # never redirected
        # Unknown client: an error page, no redirect either.
        assert (await browser.get(authorize_url(client_id="nope", challenge=challenge))).status_code == 400
        # At /token the redirect_uri must be the authorization request's.
        verifier, challenge = pkce_pair()
        result = await sign_in_and_authorize(browser, authorize_url(challenge=challenge))
        other = await exchange(browser, result["code"], verifier, redirect_uri="http://app.test/other")
        assert other.status_code == 400 and other.json()["error"] == "invalid_grant"
        # A scope the client does not have.
        bad_scope = await browser.get(authorize_url(challenge=challenge, scope="openid graph:write"))
        assert query_of(bad_scope.headers["location"])["error"] == "invalid_scope"
        wrong_type = await browser.get(authorize_url(challenge=challenge, response_type="token"))
        assert query_of(wrong_type.headers["location"])["error"] == "unsupported_response_type"


# --- client credentials ----------------------------------------------------------------------------


async def test_client_credentials(world: World) -> None:
    async with world.browser() as browser:
        basic = await client_token(browser, BATCH, BATCH_SECRET)
        assert basic.status_code == 200, basic.text
        post = await client_token(browser, BATCH, BATCH_SECRET, post=True, scope="graph:read")
        assert post.status_code == 200 and post.json()["scope"] == "graph:read"
        assert "refresh_token" not in basic.json()
        router = verifier_for(world)
        try:
            claims = await router.verify(basic.json()["access_token"])
        finally:
            await router.close()
        assert claims.subject == BATCH and claims.client_id == BATCH and claims.raw["org"] == ORG
        assert claims.scopes == frozenset({"graph:read", "graph:write"})

        bad = await client_token(browser, BATCH, "wrong-secret")
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
        assert bad.headers["www-authenticate"].startswith("Basic") and bad.headers["cache-control"] == "no-store"
        unknown = await client_token(browser, "nobody", "x", post=True)
        assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
        fenced = await client_token(browser, FENCED, FENCED_SECRET)  # 127.0.0.1 is not in 10.1.0.0/16
        assert fenced.status_code == 401 and fenced.json()["error"] == "invalid_client"
        disabled = await client_token(browser, OFF, OFF_SECRET)
        assert disabled.status_code == 401 and disabled.json()["error"] == "invalid_client"
        scope = await client_token(browser, BATCH, BATCH_SECRET, scope="openid")
        assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
        public = await browser.post(f"{PREFIX}/oauth/token", data={"grant_type": "client_credentials",
                                                                   "client_id": SPA})
        assert public.status_code == 400 and public.json()["error"] == "unauthorized_client"
        grant = await browser.post(f"{PREFIX}/oauth/token", data={"grant_type": "password"},
                                   auth=(BATCH, BATCH_SECRET))
        assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
        missing = await browser.post(f"{PREFIX}/oauth/token", data={}, auth=(BATCH, BATCH_SECRET))
        assert missing.json()["error"] == "invalid_request"
        twice = await browser.post(f"{PREFIX}/oauth/token", content="grant_type=client_credentials&scope=a&scope=b",
                                   headers={"content-type": "application/x-www-form-urlencoded"},
                                   auth=(BATCH, BATCH_SECRET))
        assert twice.status_code == 400 and twice.json()["error"] == "invalid_request"


async def test_token_lifetime_follows_the_sso_policy(world: World) -> None:
    async with world.runtime.sessions() as db:
        await save_policy(db, SsoPolicy(token_ttl_hours=3), now=world.clock.now)
        await db.commit()
    try:
        async with world.browser() as browser:
            response = await client_token(browser, BATCH, BATCH_SECRET)
            assert response.json()["expires_in"] == 3 * 3600
    finally:
        async with world.runtime.sessions() as db:
            await db.execute(delete(models.SecurityPolicy).where(models.SecurityPolicy.name == "SSO"))
            await db.commit()


# --- refresh tokens -----------------------------------------------------------------------------------


async def test_refresh_rotation_and_reuse_detection(world: World) -> None:
    tokens = await user_tokens(world)
    async with world.browser() as browser:

        async def refresh(token: str) -> httpx.Response:
            return await browser.post(f"{PREFIX}/oauth/token", data={
                "grant_type": "refresh_token", "refresh_token": token, "client_id": SPA})

        first = await refresh(tokens["refresh_token"])
        assert first.status_code == 200, first.text
        rotated = first.json()
        assert rotated["refresh_token"] != tokens["refresh_token"] and rotated["id_token"]
        narrower = await browser.post(f"{PREFIX}/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": rotated["refresh_token"], "client_id": SPA,
            "scope": "openid graph:write"})
        assert narrower.json()["error"] == "invalid_scope"
        # (the failed widening did not spend the token)
        second = await refresh(rotated["refresh_token"])
        assert second.status_code == 200
        latest = second.json()
        # The first token comes back: reuse. The whole family is revoked, the latest token included.
        reuse = await refresh(tokens["refresh_token"])
        assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
        assert (await refresh(latest["refresh_token"])).json()["error"] == "invalid_grant"
        assert (await introspect(browser, latest["access_token"]))["active"] is False
        assert (await introspect(browser, latest["refresh_token"]))["active"] is False
        # Another client cannot use the refresh token.
        other = await user_tokens(world)
        stolen = await browser.post(f"{PREFIX}/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": other["refresh_token"]}, auth=(HIS, HIS_SECRET))
        assert stolen.json()["error"] == "invalid_grant"


# --- revocation and introspection ------------------------------------------------------------------


async def test_revocation_and_introspection(world: World) -> None:
    tokens = await user_tokens(world)
    async with world.browser() as browser:
        active = await introspect(browser, tokens["access_token"])
        assert active["active"] is True and active["sub"] == world.users[ALICE] and active["client_id"] == SPA
        assert active["username"] == ALICE and active["token_type"] == "Bearer"
        assert (await introspect(browser, tokens["refresh_token"]))["token_type"] == "refresh_token"
        assert (await introspect(browser, "not-a-token"))["active"] is False
        # Introspection needs an authenticated (confidential) client.
        anonymous = await browser.post(f"{PREFIX}/oauth/introspect", data={"token": tokens["access_token"],
                                                                          "client_id": SPA})
        assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"

        revoked = await browser.post(f"{PREFIX}/oauth/revoke", data={"token": tokens["access_token"],
                                                                    "client_id": SPA})
        assert revoked.status_code == 200
        assert (await introspect(browser, tokens["access_token"]))["active"] is False
        bearer = {"authorization": f"Bearer {tokens['access_token']}"}
        info = await browser.get(f"{PREFIX}/oauth/userinfo", headers=bearer)
        assert info.status_code == 401
        # The refresh token is still good until it is revoked too.
        assert (await introspect(browser, tokens["refresh_token"]))["active"] is True
        assert (await browser.post(f"{PREFIX}/oauth/revoke", data={
            "token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": SPA})).status_code == 200
        assert (await introspect(browser, tokens["refresh_token"]))["active"] is False
        # Unknown tokens: 200 all the same (RFC 7009 2.2).
        assert (await browser.post(f"{PREFIX}/oauth/revoke", data={"token": "whatever", "client_id": SPA})
                ).status_code == 200
        # Expired tokens are inactive.
        fresh = await client_token(browser, BATCH, BATCH_SECRET)
        world.clock.advance(hours=2, seconds=1)
        try:
            assert (await introspect(browser, fresh.json()["access_token"]))["active"] is False
        finally:
            world.clock.reset()


# --- sessions: idle timeout, lockout, must-change-password, logout ---------------------------------------


async def test_idle_session_expires_after_30_minutes(world: World) -> None:
    try:
        async with world.browser() as browser:
            await sign_in_and_authorize(browser, authorize_url(challenge=pkce_pair()[1]))
            world.clock.advance(minutes=29)
            within = await browser.get(authorize_url(challenge=pkce_pair()[1]))
            assert within.headers["location"].startswith(SPA_REDIRECT)  # activity resets the idle timer
            world.clock.advance(minutes=29)
            still = await browser.get(authorize_url(challenge=pkce_pair()[1]))
            assert still.headers["location"].startswith(SPA_REDIRECT)
            world.clock.advance(minutes=30, seconds=1)
            expired = await browser.get(authorize_url(challenge=pkce_pair()[1]))
            assert "/oauth/login?" in expired.headers["location"]
            silent = await browser.get(authorize_url(challenge=pkce_pair()[1], prompt="none"))
            assert query_of(silent.headers["location"])["error"] == "login_required"
    finally:
        world.clock.reset()


async def test_failed_logins_and_lockout(world: World) -> None:
    async with world.browser() as browser:
        first = await browser.get(authorize_url(challenge=pkce_pair()[1]))
        wrong = await submit_login(browser, first.headers["location"], BOB, "not-the-password")
        assert wrong.status_code == 401 and "wrong username or password" in wrong.text
        nobody = await submit_login(browser, first.headers["location"], "oauth.nobody", "whatever")
        assert nobody.status_code == 401 and "wrong username or password" in nobody.text  # same answer
        # Whatever the login policy counts, the lock check_login_allowed reports is shown.
        for _ in range(10):
            last = await submit_login(browser, first.headers["location"], BOB, "still-wrong")
            if last.status_code == 403:
                break
        async with world.runtime.sessions() as db:
            await db.execute(update(models.User).where(models.User.username == BOB).values(
                locked_until=world.clock.now + timedelta(hours=1)))
            await db.commit()
        locked = await submit_login(browser, first.headers["location"], BOB, BOB_PW)
        assert locked.status_code == 403 and "locked" in locked.text and "jshealth_sso" not in locked.headers.get(
            "set-cookie", "")
        async with world.runtime.sessions() as db:
            events = list(await db.scalars(select(models.LoginEvent).where(models.LoginEvent.username == BOB)
                                           .order_by(models.LoginEvent.id)))
            assert events[0].failure_reason == "WRONG_PASSWORD" and events[-1].failure_reason == "LOCKED"
            unknown = await db.scalar(select(models.LoginEvent).where(models.LoginEvent.username == "oauth.nobody"))
            assert unknown is not None and unknown.failure_reason == "ACCOUNT_NOT_FOUND"
            await db.execute(update(models.User).where(models.User.username == BOB).values(locked_until=None,
                                                                                          failed_logins=0))
            await db.commit()


async def test_must_change_password_first(world: World) -> None:
    async with world.browser() as browser:
        verifier, challenge = pkce_pair()
        first = await browser.get(authorize_url(challenge=challenge))
        posted = await submit_login(browser, first.headers["location"], CAROL, CAROL_PW)
        assert posted.status_code == 303 and "/oauth/password?" in posted.headers["location"]
        # The restricted session does not pass /authorize.
        blocked = await browser.get(authorize_url(challenge=challenge))
        assert "/oauth/login?" in blocked.headers["location"]
        page = await browser.get(posted.headers["location"])
        assert page.status_code == 200 and "new_password" in page.text
        action = f"{PREFIX}/oauth/password"
        fields = {"csrf_token": csrf_of(page.text), "continue": continue_of(page.text), "current_password": CAROL_PW}
        weak = await browser.post(action, data={**fields, "new_password": "abc", "confirm_password": "abc"})
        assert weak.status_code == 400
        new = "Carol#New-2026-pw"
        changed = await browser.post(action, data={**fields, "new_password": new, "confirm_password": new})
        assert changed.status_code == 303, changed.text
        done = await browser.get(changed.headers["location"])
        assert done.status_code == 302 and done.headers["location"].startswith(SPA_REDIRECT)
        assert (await exchange(browser, query_of(done.headers["location"])["code"], verifier)).status_code == 200
    async with world.runtime.sessions() as db:
        carol = await db.scalar(select(models.User).where(models.User.username == CAROL))
        assert carol is not None and not carol.must_change_password


async def test_logout_ends_the_session_and_destroys_its_tokens(world: World) -> None:
    async with world.browser() as browser:
        verifier, challenge = pkce_pair()
        result = await sign_in_and_authorize(browser, authorize_url(challenge=challenge))
        tokens = (await exchange(browser, result["code"], verifier)).json()
        out = await browser.get(f"{PREFIX}/oauth/logout", params={
            "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SPA_REDIRECT, "state": "bye"})
        assert out.status_code == 302 and out.headers["location"] == SPA_REDIRECT + "?state=bye"
        assert 'jshealth_sso=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
        assert (await introspect(browser, tokens["access_token"]))["active"] is False
        refreshed = await browser.post(f"{PREFIX}/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": SPA})
        assert refreshed.json()["error"] == "invalid_grant"
        again = await browser.get(authorize_url(challenge=challenge))
        assert "/oauth/login?" in again.headers["location"]
        # An unregistered post-logout address is not followed.
        page = await browser.get(f"{PREFIX}/oauth/logout", params={"post_logout_redirect_uri": "http://evil.test/"})
        assert page.status_code == 200


# --- signing keys -------------------------------------------------------------------------------------


async def test_key_rotation_keeps_old_tokens_until_removed(world: World) -> None:
    async with world.browser() as browser:
        before = (await client_token(browser, BATCH, BATCH_SECRET)).json()["access_token"]
        old_kid = header_of(before)["kid"]
        async with world.runtime.sessions() as db:
            promoted = await signing.rotate(db, world.master, now=world.clock.now, alg="ES256")
            await db.commit()
        assert promoted.kid != old_kid
        after = (await client_token(browser, BATCH, BATCH_SECRET)).json()["access_token"]
        assert header_of(after)["kid"] == promoted.kid
        router = verifier_for(world)
        try:
            assert (await router.verify(before)).client_id == BATCH  # RETIRED: still published
            assert (await router.verify(after)).client_id == BATCH
        finally:
            await router.close()
        assert (await introspect(browser, before))["active"] is True
        # Once the retired key's tokens could all have expired, rotation removes it.
        async with world.runtime.sessions() as db:
            assert await signing.remove_expired(db, now=world.clock.now) == []
            removed = await signing.remove_expired(db, now=world.clock.now + timedelta(hours=24, minutes=6))
            await db.commit()
        assert old_kid in removed
        kids = {k["kid"] for k in (await browser.get(f"{PREFIX}/.well-known/jwks.json")).json()["keys"]}
        assert old_kid not in kids and promoted.kid in kids
        router = verifier_for(world)
        try:
            with pytest.raises(AuthenticationError) as refused:
                await router.verify(before)
            assert refused.value.reason == REASON_UNKNOWN_KEY
            assert (await router.verify(after)).client_id == BATCH
        finally:
            await router.close()
        assert (await introspect(browser, before))["active"] is False


async def test_rs256_keys_sign_and_verify(world: World) -> None:
    async with world.runtime.sessions() as db:
        row = signing.new_key_row(world.master, "RS256", signing.NEXT, world.clock.now)
        key = signing.load_signing_key(world.master, row)
        token = signing.sign(key, {"iss": world.issuer, "aud": "jshealth-graph", "sub": "x", "exp": 2**31},
                             typ="at+jwt")
        await db.rollback()
    verifier = JwtVerifier(JwtSettings(issuer=world.issuer, audience="jshealth-graph",
                                       jwks={"keys": [row.public_jwk]}))
    assert (await verifier.verify(token)).subject == "x"
    await verifier.close()
    assert row.public_jwk["kty"] == "RSA" and "d" not in row.public_jwk


async def test_identity_app_serves_the_endpoints() -> None:
    from starlette.routing import Route

    from subgraphs.common.app import graphql_routes
    from subgraphs.identity.app import definition

    class FakeRuntime:
        pass

    runtime: Any = FakeRuntime()
    runtime.definition = definition
    runtime.settings = {}
    paths = {r.path for r in graphql_routes(runtime) if isinstance(r, Route)}
    assert {"/graphql", "/.well-known/openid-configuration", "/.well-known/jwks.json", "/oauth/token",
            "/cas/serviceValidate", "/security/ip-blacklist"} <= paths


async def test_blacklisted_address_cannot_sign_in(world: World) -> None:
    from subgraphs.identity.security.blacklist import normalise

    async with world.runtime.sessions() as db:
        db.add(models.IpBlacklistEntry(id="ipb-oauth-test", network=normalise("127.0.0.0/8"), enabled=True,
                                       created_at=world.clock.now))
        await db.commit()
    try:
        async with world.browser() as browser:
            first = await browser.get(authorize_url(challenge=pkce_pair()[1]))
            refused = await submit_login(browser, first.headers["location"], ALICE, ALICE_PW)
            assert refused.status_code == 403 and "not allowed" in refused.text
            assert "jshealth_sso" not in refused.headers.get("set-cookie", "")
        async with world.runtime.sessions() as db:
            event = await db.scalar(select(models.LoginEvent).where(
                models.LoginEvent.failure_reason == "IP_RESTRICTED"))
            assert event is not None and event.username == ALICE and event.ip == "127.0.0.1"
    finally:
        async with world.runtime.sessions() as db:
            await db.execute(delete(models.IpBlacklistEntry).where(models.IpBlacklistEntry.id == "ipb-oauth-test"))
            await db.commit()


async def test_nul_characters_are_refused_before_any_query(world: World) -> None:
    """PostgreSQL cannot store NUL in text: such input is an invalid request, never a server error."""
    async with world.browser() as browser:
        token = await browser.post(f"{PREFIX}/oauth/token", data={"grant_type": "client_credentials",
                                                                   "client_id": "batch\x00", "client_secret": "x"})
        assert token.status_code == 400 and token.json()["error"] == "invalid_request"
        cas = await browser.get(f"{PREFIX}/cas/serviceValidate", params={"service": "https://a", "ticket": "ST-\x00"})
        assert cas.status_code == 400
        login = await browser.post(f"{PREFIX}/oauth/login", data={"username": "a\x00", "password": "p"})
        assert login.status_code == 400
