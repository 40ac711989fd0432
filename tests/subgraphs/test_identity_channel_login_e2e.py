"""Third-party sign-in end to end, nothing stubbed: identity's /oauth/channel/wechat/* endpoints call the
real WeChat client (subgraphs/identity/channels/wechat.py), which speaks WeChat's protocol over HTTP to a
local stand-in of WeChat's servers (tests/channel_standins.py); the person then gets our tokens."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from channel_standins import WeChatStandIn, serve_standins
from sqlalchemy import select
from test_identity_oauth_support import (
    DAVE,
    DAVE_PW,
    PREFIX,
    SPA_REDIRECT,
    World,
    authorize_url,
    continue_of,
    csrf_of,
    exchange,
    pkce_pair,
    query_of,
    world,
)

from subgraphs.identity import models
from subgraphs.identity.oauth.channel_login import wrap_channel_secret

__all__ = ["world"]

APP_ID, APP_SECRET = "wx-e2e-app", "wx-e2e-secret"


@pytest.fixture(scope="module")
def wechat() -> Iterator[tuple[WeChatStandIn, str]]:
    standin = WeChatStandIn(APP_ID, APP_SECRET)
    with serve_standins(standin) as [base_url]:
        yield standin, base_url


async def _enable(world: World, base_url: str, secret: str = APP_SECRET) -> None:
    async with world.runtime.sessions() as db:
        row = await db.get(models.LoginChannel, "WECHAT")
        if row is not None:
            await db.delete(row)
            await db.flush()
        db.add(models.LoginChannel(
            channel="WECHAT", enabled=True,
            settings={"base_url": base_url, "app_id": APP_ID, "authorize_base_url": f"{base_url}/connect",
                      "retries": 0, "timeout_seconds": 2},
            secret=wrap_channel_secret(world.master, "WECHAT", secret)))
        await db.commit()


async def _state(browser: httpx.AsyncClient, target: str) -> str:
    start = await browser.get(f"{PREFIX}/oauth/channel/wechat/start", params={"continue": target})
    assert start.status_code == 302, start.text
    return parse_qs(urlsplit(start.headers["location"]).query)["state"][0]


async def test_wechat_sign_in_over_the_real_protocol(world: World, wechat: tuple[WeChatStandIn, str]) -> None:
    standin, base_url = wechat
    await _enable(world, base_url)
    verifier, challenge = pkce_pair()
    async with world.browser() as browser:
        first = await browser.get(authorize_url(challenge=challenge))
        target = parse_qs(urlsplit(first.headers["location"]).query)["continue"][0]
        state = await _state(browser, target)
        code = standin.issue_code("o-e2e-dave", unionid="u-e2e-dave", nickname="戴维")
        # first time: WeChat vouches for the openid; the person binds it with the password once
        callback = await browser.get(f"{PREFIX}/oauth/channel/wechat/callback", params={"code": code, "state": state})
        assert callback.status_code == 200 and "first time" in callback.text, callback.text
        posted = await browser.post(f"{PREFIX}/oauth/login", data={
            "username": DAVE, "password": DAVE_PW, "csrf_token": csrf_of(callback.text),
            "continue": continue_of(callback.text)})
        done = await browser.get(posted.headers["location"])
        assert done.headers["location"].startswith(SPA_REDIRECT)
        assert (await exchange(browser, query_of(done.headers["location"])["code"], verifier)).status_code == 200
        # the code was spent at WeChat: replaying the callback fails there, not here
        replay = await browser.get(f"{PREFIX}/oauth/channel/wechat/callback", params={"code": code, "state": state})
        assert replay.status_code in (400, 401)
    async with world.runtime.sessions() as db:
        bound = await db.get(models.ExternalIdentity, ("WECHAT", "o-e2e-dave"))
        assert bound is not None and bound.user_id == world.users[DAVE] and bound.union_id == "u-e2e-dave"

    # next time the WeChat scan alone signs Dave in
    verifier, challenge = pkce_pair()
    async with world.browser() as browser:
        first = await browser.get(authorize_url(challenge=challenge))
        target = parse_qs(urlsplit(first.headers["location"]).query)["continue"][0]
        state = await _state(browser, target)
        code = standin.issue_code("o-e2e-dave", unionid="u-e2e-dave")
        callback = await browser.get(f"{PREFIX}/oauth/channel/wechat/callback", params={"code": code, "state": state})
        assert callback.status_code == 303, callback.text
        done = await browser.get(callback.headers["location"])
        tokens = (await exchange(browser, query_of(done.headers["location"])["code"], verifier)).json()
        assert tokens["access_token"]
    assert standin.hits["/sns/oauth2/access_token"] >= 3 and standin.hits["/sns/userinfo"] >= 2


async def test_wrong_app_secret_is_refused_by_wechat(world: World, wechat: tuple[WeChatStandIn, str]) -> None:
    standin, base_url = wechat
    await _enable(world, base_url, secret="not-the-secret")
    async with world.browser() as browser:
        state = await _state(browser, "/oauth/signed-in")
        code = standin.issue_code("o-e2e-eve")
        refused = await browser.get(f"{PREFIX}/oauth/channel/wechat/callback", params={"code": code, "state": state})
        assert refused.status_code == 401
    async with world.runtime.sessions() as db:
        assert await db.scalar(select(models.ExternalIdentity).where(
            models.ExternalIdentity.subject == "o-e2e-eve")) is None
