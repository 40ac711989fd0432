"""identity's CAS 2.0/3.0 endpoints and third-party sign-in (with channels.authenticate monkeypatched: the real
channels are tested on their own), over real HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import delete, select
from test_identity_oauth_support import (
    ALICE,
    ALICE_PW,
    DAVE,
    DAVE_PW,
    LEGACY_SERVICE,
    PREFIX,
    SPA_REDIRECT,
    World,
    authorize_url,
    continue_of,
    csrf_of,
    exchange,
    pkce_pair,
    query_of,
    submit_login,
    world,
)

from subgraphs.identity import channels, models
from subgraphs.identity.oauth.channel_login import wrap_channel_secret

__all__ = ["world"]

CAS = "{http://www.yale.edu/tp/cas}"


def parse(xml: str) -> ET.Element:
    root = ET.fromstring(xml)
    assert root.tag == f"{CAS}serviceResponse"
    return root


# --- CAS -------------------------------------------------------------------------------------------


async def test_cas_login_and_service_validate(world: World) -> None:
    service = LEGACY_SERVICE + "/index.do?dept=1"
    async with world.browser() as browser:
        start = await browser.get(f"{PREFIX}/cas/login", params={"service": service})
        assert start.status_code == 302 and "/oauth/login?" in start.headers["location"]
        posted = await submit_login(browser, start.headers["location"], ALICE, ALICE_PW)
        assert posted.status_code == 303 and "/cas/login?" in posted.headers["location"]
        back = await browser.get(posted.headers["location"])
        assert back.status_code == 302 and back.headers["location"].startswith(service + "&ticket=ST-")
        ticket = query_of(back.headers["location"])["ticket"]

        valid = await browser.get(f"{PREFIX}/cas/serviceValidate", params={"service": service, "ticket": ticket})
        assert valid.status_code == 200 and "xml" in valid.headers["content-type"]
        success = parse(valid.text).find(f"{CAS}authenticationSuccess")
        assert success is not None and success.findtext(f"{CAS}user") == ALICE
        assert success.find(f"{CAS}attributes") is None  # CAS 2.0: no attributes

        # Single use: the same ticket again fails.
        reuse = await browser.get(f"{PREFIX}/cas/serviceValidate", params={"service": service, "ticket": ticket})
        failure = parse(reuse.text).find(f"{CAS}authenticationFailure")
        assert failure is not None and failure.get("code") == "INVALID_TICKET"

        # A second service login rides on the SSO session (no form); CAS 3.0 adds the attributes.
        second = await browser.get(f"{PREFIX}/cas/login", params={"service": service})
        assert second.status_code == 302 and "ticket=ST-" in second.headers["location"]
        ticket_2 = query_of(second.headers["location"])["ticket"]
        p3 = await browser.get(f"{PREFIX}/cas/p3/serviceValidate", params={"service": service, "ticket": ticket_2})
        success = parse(p3.text).find(f"{CAS}authenticationSuccess")
        assert success is not None
        attributes = success.find(f"{CAS}attributes")
        assert attributes is not None
        assert attributes.findtext(f"{CAS}organizationId") == "org-oauth-test"
        assert attributes.findtext(f"{CAS}region") == "320100"
        assert sorted(e.text or "" for e in attributes.findall(f"{CAS}role")) == ["AUDITOR", "DOCTOR"]
        assert attributes.findtext(f"{CAS}authenticationDate")

        # A ticket presented by another service is refused (and spent).
        third = await browser.get(f"{PREFIX}/cas/login", params={"service": service})
        ticket_3 = query_of(third.headers["location"])["ticket"]
        other = await browser.get(f"{PREFIX}/cas/serviceValidate",
                                  params={"service": LEGACY_SERVICE + "/other", "ticket": ticket_3})
        failure = parse(other.text).find(f"{CAS}authenticationFailure")
        assert failure is not None and failure.get("code") == "INVALID_SERVICE"
        missing = await browser.get(f"{PREFIX}/cas/serviceValidate", params={"service": service})
        failure = parse(missing.text).find(f"{CAS}authenticationFailure")
        assert failure is not None and failure.get("code") == "INVALID_REQUEST"

        # Expired tickets (10 s by default).
        fourth = await browser.get(f"{PREFIX}/cas/login", params={"service": service})
        ticket_4 = query_of(fourth.headers["location"])["ticket"]
        world.clock.advance(seconds=11)
        try:
            late = await browser.get(f"{PREFIX}/cas/serviceValidate", params={"service": service, "ticket": ticket_4})
            failure = parse(late.text).find(f"{CAS}authenticationFailure")
            assert failure is not None and failure.get("code") == "INVALID_TICKET"
        finally:
            world.clock.reset()

        # Only registered services, matched as prefixes on a path boundary.
        for unregistered in ("https://evil.test/app", LEGACY_SERVICE + "lication", "https://legacy.test/"):
            refused = await browser.get(f"{PREFIX}/cas/login", params={"service": unregistered})
            assert refused.status_code == 403 and "location" not in refused.headers

        out = await browser.get(f"{PREFIX}/cas/logout", params={"service": LEGACY_SERVICE})
        assert out.status_code == 302 and out.headers["location"] == LEGACY_SERVICE
        after = await browser.get(f"{PREFIX}/cas/login", params={"service": service})
        assert "/oauth/login?" in after.headers["location"]
        gateway = await browser.get(f"{PREFIX}/cas/login", params={"service": service, "gateway": "true"})
        assert gateway.headers["location"] == service  # not signed in, no ticket, no form

    async with world.runtime.sessions() as db:
        event = await db.scalar(select(models.LoginEvent).where(models.LoginEvent.method == "CAS"))
        assert event is not None and event.success and event.username == ALICE


# --- third-party sign-in ------------------------------------------------------------------------------


async def _enable(world: World, channel: str, enabled: bool = True) -> None:
    async with world.runtime.sessions() as db:
        row = await db.get(models.LoginChannel, channel)
        if row is None:
            db.add(models.LoginChannel(channel=channel, enabled=enabled,
                                       settings={"base_url": "http://wechat.test", "app_id": "wx-app"},
                                       secret=wrap_channel_secret(world.master, channel, "app-secret")))
        else:
            row.enabled = enabled
        await db.commit()


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A stand-in provider: authorize_url points at it, authenticate maps codes to openids."""
    calls: dict[str, Any] = {"authenticate": []}

    def authorize_url(channel: str, settings: channels.ChannelSettings, redirect_uri: str, state: str) -> str:
        return f"http://wechat.test/connect/qrconnect?appid={settings.app_id}&redirect_uri={redirect_uri}&state={state}"

    async def authenticate(channel: str, params: Mapping[str, str], settings: channels.ChannelSettings
                           ) -> channels.ExternalProfile:
        calls["authenticate"].append((channel, dict(params), settings))
        code = params.get("code", "")
        if code == "refused":
            raise channels.ChannelError("invalid code", code="40029")
        return channels.ExternalProfile(channel=channel, subject=f"openid-{code}", union_id=f"union-{code}")

    monkeypatch.setattr(channels, "authorize_url", authorize_url, raising=False)
    monkeypatch.setattr(channels, "authenticate", authenticate)
    return calls


async def _start(browser: Any, target: str) -> str:
    """/start: the provider's authorize URL; returns the state it carries."""
    start = await browser.get(f"{PREFIX}/oauth/channel/wechat/start", params={"continue": target})
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert location.startswith("http://wechat.test/connect/qrconnect?appid=wx-app")
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"][0].endswith(f"{PREFIX}/oauth/channel/wechat/callback")
    return query["state"][0]


async def test_channel_sign_in_binds_then_continues_the_authorization(world: World, provider: dict[str, Any]
                                                                    ) -> None:
    await _enable(world, "WECHAT")
    verifier, challenge = pkce_pair()
    url = authorize_url(challenge=challenge)
    async with world.browser() as browser:
        first = await browser.get(url)
        target = parse_qs(urlsplit(first.headers["location"]).query)["continue"][0]
        page = await browser.get(first.headers["location"])
        assert "/oauth/channel/wechat/start" in page.text  # the enabled channel is offered
        state = await _start(browser, target)
        # A callback with another state is refused (login CSRF).
        forged = await browser.get(f"{PREFIX}/oauth/channel/wechat/callback", params={"code": "d1", "state": "x"})
        assert forged.status_code == 400 and not provider["authenticate"]

        # Not bound yet: the sign-in page asks for the password once.
        callback = await browser.get(f"{PREFIX}/oauth/channel/wechat/callback", params={"code": "d1", "state": state})
        assert callback.status_code == 200 and "first time" in callback.text
        channel, params, settings = provider["authenticate"][0]
        assert channel == "WECHAT" and params == {"code": "d1"} and settings.app_id == "wx-app"
        assert settings.secret == "app-secret" and settings.base_url == "http://wechat.test"
        posted = await browser.post(f"{PREFIX}/oauth/login", data={
            "username": DAVE, "password": DAVE_PW, "csrf_token": csrf_of(callback.text),
            "continue": continue_of(callback.text)})
        assert posted.status_code == 303
        done = await browser.get(posted.headers["location"])
        assert done.headers["location"].startswith(SPA_REDIRECT)
        assert (await exchange(browser, query_of(done.headers["location"])["code"], verifier)).status_code == 200
    async with world.runtime.sessions() as db:
        bound = await db.get(models.ExternalIdentity, ("WECHAT", "openid-d1"))
        assert bound is not None and bound.user_id == world.users[DAVE] and bound.union_id == "union-d1"

    # Next time, in a fresh browser, the channel alone signs Dave in and the authorization continues.
    verifier, challenge = pkce_pair()
    async with world.browser() as browser:
        first = await browser.get(authorize_url(challenge=challenge))
        target = parse_qs(urlsplit(first.headers["location"]).query)["continue"][0]
        state = await _start(browser, target)
        callback = await browser.get(f"{PREFIX}/oauth/channel/wechat/callback", params={"code": "d1", "state": state})
        assert callback.status_code == 303, callback.text
        done = await browser.get(callback.headers["location"])
        assert done.headers["location"].startswith(SPA_REDIRECT)
        tokens = (await exchange(browser, query_of(done.headers["location"])["code"], verifier)).json()
        assert tokens["access_token"]
    async with world.runtime.sessions() as db:
        event = await db.scalar(select(models.LoginEvent).where(
            models.LoginEvent.method == "THIRD_PARTY", models.LoginEvent.success.is_(True)))
        assert event is not None and event.channel == "WECHAT" and event.user_id == world.users[DAVE]


async def test_channel_refusals(world: World, provider: dict[str, Any]) -> None:
    await _enable(world, "WECHAT")
    async with world.browser() as browser:
        state = await _start(browser, "/oauth/signed-in")
        refused = await browser.get(f"{PREFIX}/oauth/channel/wechat/callback",
                                    params={"code": "refused", "state": state})
        assert refused.status_code == 401 and "refused" in refused.text
        # Switched off: neither start nor callback proceeds, and the provider is not called.
        await _enable(world, "WECHAT", enabled=False)
        calls = len(provider["authenticate"])
        start = await browser.get(f"{PREFIX}/oauth/channel/wechat/start")
        assert start.status_code == 403 and "switched off" in start.text
        callback = await browser.get(f"{PREFIX}/oauth/channel/wechat/callback", params={"code": "x", "state": state})
        assert callback.status_code == 403 and len(provider["authenticate"]) == calls
        # A channel with no row at all, and one that does not exist.
        assert (await browser.get(f"{PREFIX}/oauth/channel/alipay/callback", params={"code": "x"})).status_code == 403
        assert (await browser.get(f"{PREFIX}/oauth/channel/nope/start")).status_code == 403
    async with world.runtime.sessions() as db:
        await db.execute(delete(models.LoginChannel).where(models.LoginChannel.channel == "WECHAT"))
        await db.commit()
