"""A browser's side of identity's OAuth 2.0 flows, for tests: PKCE, the sign-in form with its CSRF token,
the redirects, the code exchange. Paths are under identity's mount in the embedded mode."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

PREFIX = "/subgraphs/identity"
SPA = "portal-spa"
SPA_REDIRECT = "http://app.test/cb"
ALICE, ALICE_PW = "oauth.alice", "Alice#2026pw"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def continue_of(html: str) -> str:
    found = re.search(r'name="continue" value="([^"]+)"', html)
    assert found, html
    return found.group(1).replace("&amp;", "&")


def authorize_url(client_id: str = SPA, redirect_uri: str = SPA_REDIRECT, *, challenge: str | None = None,
                  scope: str = "openid profile graph:read", state: str = "st-1", nonce: str | None = "n-1",
                  method: str | None = "S256", **extra: str) -> str:
    params: dict[str, str] = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
                              "scope": scope, "state": state}
    if nonce:
        params["nonce"] = nonce
    if challenge:
        params["code_challenge"] = challenge
        if method:
            params["code_challenge_method"] = method
    params.update(extra)
    return f"{PREFIX}/oauth/authorize?{urlencode(params)}"


async def submit_login(browser: httpx.AsyncClient, login_location: str, username: str, password: str
                       ) -> httpx.Response:
    """GET the sign-in page at `login_location`, then POST the credentials with its CSRF token."""
    page = await browser.get(login_location)
    assert page.status_code == 200, page.text
    return await browser.post(f"{PREFIX}/oauth/login", data={
        "username": username, "password": password, "csrf_token": csrf_of(page.text),
        "continue": continue_of(page.text)})


async def sign_in_and_authorize(browser: httpx.AsyncClient, url: str, username: str = ALICE,
                                password: str = ALICE_PW) -> dict[str, str]:
    """The whole browser side: authorize -> sign-in page -> credentials -> authorize -> redirect; the
    redirect's query parameters (code, state, iss)."""
    first = await browser.get(url)
    assert first.status_code == 302, first.text
    location = first.headers["location"]
    if "/oauth/login" in location:
        posted = await submit_login(browser, location, username, password)
        assert posted.status_code == 303, posted.text
        again = await browser.get(posted.headers["location"])
        assert again.status_code == 302, again.text
        location = again.headers["location"]
    return query_of(location)


async def exchange(browser: httpx.AsyncClient, code: str, verifier: str | None, *, client_id: str = SPA,
                   redirect_uri: str = SPA_REDIRECT, auth: tuple[str, str] | None = None) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    if auth is None:
        data["client_id"] = client_id
        return await browser.post(f"{PREFIX}/oauth/token", data=data)
    return await browser.post(f"{PREFIX}/oauth/token", data=data, auth=auth)
