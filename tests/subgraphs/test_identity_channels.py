"""Third-party login channels against local stand-ins speaking each provider's protocol over real HTTP.

Retry and timeout settings are shortened (0.3 s timeout, 2 retries 10 ms apart) so the file runs in seconds;
the tender's defaults (3 retries, 5 s apart) are checked on the policy itself.
"""

from __future__ import annotations

import datetime
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import httpx
import pytest
from channel_standins import (
    AlipayStandIn,
    SfmStandIn,
    StandIn,
    WeChatStandIn,
    new_rsa_key,
    private_base64,
    private_pem,
    public_pem,
    serve_standins,
)

from subgraphs.common.validators import make_resident_id
from subgraphs.identity.channels import (
    CallPolicy,
    ChannelError,
    ChannelSettings,
    ExternalProfile,
    authenticate,
    authorize_url,
)
from subgraphs.identity.channels import alipay as alipay_channel
from subgraphs.identity.channels import sfm as sfm_channel
from subgraphs.identity.channels.transport import Http

RETRIES = 2
FAST: dict[str, Any] = {"timeout_seconds": 0.3, "retries": RETRIES, "retry_interval_seconds": 0.01}
TRIES = RETRIES + 1
TOKEN_PATH = "/sns/oauth2/access_token"


@dataclass
class World:
    wechat: WeChatStandIn
    alipay: AlipayStandIn
    sfm: SfmStandIn
    wechat_settings: ChannelSettings
    alipay_settings: ChannelSettings
    sfm_settings: ChannelSettings

    def standins(self) -> tuple[StandIn, ...]:
        return self.wechat, self.alipay, self.sfm


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    app_key, alipay_key = new_rsa_key(), new_rsa_key()
    wechat = WeChatStandIn("wx0123456789abcdef", "wechat-app-secret")
    alipay = AlipayStandIn("2021000000000001", public_pem(app_key), alipay_key)
    sfm = SfmStandIn("sfm-jshc-001", "sfm-integration-key-0123456789")
    for standin in (wechat, alipay, sfm):
        standin.hang_seconds = 1.0  # well past FAST's 0.3 s timeout
    with serve_standins(wechat, alipay, sfm) as (wechat_url, alipay_url, sfm_url):
        yield World(
            wechat, alipay, sfm,
            ChannelSettings("WECHAT", wechat_url, wechat.app_id, wechat.secret, dict(FAST)),
            # The app key as Alipay's key tool gives it (bare base64 DER); Alipay's public key as PEM.
            ChannelSettings("ALIPAY", alipay_url, alipay.app_id, private_base64(app_key),
                            {**FAST, "alipay_public_key": public_pem(alipay_key)}),
            ChannelSettings("SFM", sfm_url, sfm.app_id, sfm.key, dict(FAST)),
        )


@pytest.fixture(autouse=True)
def clean(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "world" in request.fixturenames:
        for standin in request.getfixturevalue("world").standins():
            standin.reset()


async def refused(channel: str, params: dict[str, str], settings: ChannelSettings) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        await authenticate(channel, params, settings)
    return caught.value


def with_extra(settings: ChannelSettings, **extra: Any) -> ChannelSettings:
    return replace(settings, extra={**settings.extra, **extra})


# --- contract, policy and authorize URLs ---------------------------------------------------------------------


def test_policy_defaults_follow_the_tender() -> None:
    # l.10472: at most 3 retries, 5 s apart; the brief's default timeout is 5 s.
    assert CallPolicy.of(ChannelSettings("SFM", "http://x", "a", "k")) == CallPolicy(5.0, 3, 5.0)


@pytest.mark.parametrize("extra", [{"retries": -1}, {"retries": "many"}, {"timeout_seconds": 0}])
async def test_bad_policy_is_a_config_error(world: World, extra: dict[str, Any]) -> None:
    error = await refused("SFM", {"code": "x"}, with_extra(world.sfm_settings, **extra))
    assert error.code == "config_error"


async def test_unknown_channel_and_mismatched_settings(world: World) -> None:
    assert (await refused("QQ", {"code": "x"}, world.sfm_settings)).code == "unknown_channel"
    assert (await refused("WECHAT", {"code": "x"}, world.sfm_settings)).code == "config_error"


def test_authorize_urls() -> None:
    settings = ChannelSettings("WECHAT", "", "wxAPP", "s")
    url = authorize_url("WECHAT", settings, "https://id.jshealth.cn/login/wechat?x=1", "st8")
    assert url == ("https://open.weixin.qq.com/connect/qrconnect?appid=wxAPP&redirect_uri="
                   "https%3A%2F%2Fid.jshealth.cn%2Flogin%2Fwechat%3Fx%3D1&response_type=code&scope=snsapi_login"
                   "&state=st8#wechat_redirect")
    official = authorize_url("WECHAT", replace(settings, extra={"authorize_scope": "snsapi_userinfo",
                                                                "authorize_base_url": "http://wx.test"}), "r", "s")
    assert official.startswith("http://wx.test/connect/oauth2/authorize?appid=wxAPP&")
    assert "scope=snsapi_userinfo" in official and official.endswith("#wechat_redirect")

    ali = urlsplit(authorize_url("ALIPAY", ChannelSettings("ALIPAY", "", "2021", "k"), "https://r/cb", "s1"))
    assert (ali.netloc, ali.path) == ("openauth.alipay.com", "/oauth2/publicAppAuthorize.htm")
    assert parse_qs(ali.query) == {"app_id": ["2021"], "scope": ["auth_user"], "redirect_uri": ["https://r/cb"],
                                   "state": ["s1"]}
    sfm = authorize_url("SFM", ChannelSettings("SFM", "https://sfm.test/", "app", "k"), "https://r/cb", "s2")
    assert sfm == "https://sfm.test/oauth2/authorize?app_id=app&redirect_uri=https%3A%2F%2Fr%2Fcb&response_type=code&state=s2"


# --- WeChat --------------------------------------------------------------------------------------------------


async def test_wechat_qr_login_gives_the_profile(world: World) -> None:
    code = world.wechat.issue_code("o-openid-1", unionid="u-union-1", nickname="张三",
                                   headimgurl="https://thirdwx.qlogo.cn/mmopen/abc/132")
    profile = await authenticate("WECHAT", {"code": code, "state": "s"}, world.wechat_settings)
    assert profile == ExternalProfile(channel="WECHAT", subject="o-openid-1", union_id="u-union-1", name="张三",
                                      avatar_url="https://thirdwx.qlogo.cn/mmopen/abc/132")
    assert world.wechat.hits == {TOKEN_PATH: 1, "/sns/userinfo": 1}


async def test_wechat_snsapi_base_gives_the_openid_only(world: World) -> None:
    code = world.wechat.issue_code("o-openid-2", scope="snsapi_base")
    profile = await authenticate("WECHAT", {"code": code}, world.wechat_settings)
    assert profile == ExternalProfile(channel="WECHAT", subject="o-openid-2")
    assert world.wechat.hits["/sns/userinfo"] == 0


async def test_wechat_invalid_reused_and_expired_codes(world: World) -> None:
    error = await refused("WECHAT", {"code": "never-issued"}, world.wechat_settings)
    assert (error.code, error.retryable) == ("40029", False)
    assert world.wechat.hits[TOKEN_PATH] == 1  # a refusal is not retried

    code = world.wechat.issue_code("o-openid-3")
    await authenticate("WECHAT", {"code": code}, world.wechat_settings)
    assert (await refused("WECHAT", {"code": code}, world.wechat_settings)).code == "40163"

    expired = world.wechat.issue_code("o-openid-4", ttl=-1)
    assert (await refused("WECHAT", {"code": expired}, world.wechat_settings)).code == "40029"
    assert (await refused("WECHAT", {}, world.wechat_settings)).code == "41008"


async def test_wechat_wrong_credentials(world: World) -> None:
    code = world.wechat.issue_code("o-openid-5")
    wrong_secret = replace(world.wechat_settings, secret="not-the-secret")
    assert (await refused("WECHAT", {"code": code}, wrong_secret)).code == "40125"
    wrong_app = replace(world.wechat_settings, app_id="wx-other")
    assert (await refused("WECHAT", {"code": code}, wrong_app)).code == "40013"


async def test_wechat_mini_program(world: World) -> None:
    settings = with_extra(world.wechat_settings, mode="miniprogram")
    js_code = world.wechat.issue_js_code("o-mini-1", unionid="u-union-9")
    profile = await authenticate("WECHAT", {"code": js_code}, settings)
    assert profile == ExternalProfile(channel="WECHAT", subject="o-mini-1", union_id="u-union-9")
    assert (await refused("WECHAT", {"code": js_code}, settings)).code == "40163"
    # A website code is no mini-program code, and the mode must be one we know.
    oauth_code = world.wechat.issue_code("o-openid-6")
    assert (await refused("WECHAT", {"code": oauth_code}, settings)).code == "40029"
    assert (await refused("WECHAT", {"code": oauth_code}, with_extra(settings, mode="app"))).code == "config_error"


async def test_wechat_retries_transient_failures(world: World) -> None:
    world.wechat.fail_next("http_500", "busy")
    code = world.wechat.issue_code("o-openid-7")
    profile = await authenticate("WECHAT", {"code": code}, world.wechat_settings)
    assert profile.subject == "o-openid-7"
    assert world.wechat.hits[TOKEN_PATH] == 3


async def test_wechat_gives_up_after_the_retries(world: World) -> None:
    world.wechat.fail_next(*["busy"] * (TRIES + 2))
    error = await refused("WECHAT", {"code": world.wechat.issue_code("o-openid-8")}, world.wechat_settings)
    assert (error.code, error.retryable) == ("-1", True)
    assert world.wechat.hits[TOKEN_PATH] == TRIES


async def test_wechat_rate_limit_is_retried(world: World) -> None:
    world.wechat.fail_next("busy")
    code = world.wechat.issue_code("o-openid-9")
    assert (await authenticate("WECHAT", {"code": code}, world.wechat_settings)).subject == "o-openid-9"


async def test_wechat_timeout_then_success(world: World) -> None:
    world.wechat.fail_next("hang")
    code = world.wechat.issue_code("o-openid-10")
    started = time.monotonic()
    profile = await authenticate("WECHAT", {"code": code}, world.wechat_settings)
    assert profile.subject == "o-openid-10"
    # The first attempt timed out at 0.3 s instead of waiting for the 1 s answer.
    assert time.monotonic() - started < 0.9


async def test_wechat_timeouts_exhaust_the_retries(world: World) -> None:
    world.wechat.fail_next(*["hang"] * TRIES)
    error = await refused("WECHAT", {"code": world.wechat.issue_code("o-openid-11")}, world.wechat_settings)
    assert (error.code, error.retryable) == ("timeout", True)
    assert world.wechat.hits[TOKEN_PATH] == TRIES


async def test_unreachable_provider_is_a_transport_error(world: World) -> None:
    settings = replace(world.wechat_settings, base_url="http://127.0.0.1:9")  # discard port: nobody listens
    error = await refused("WECHAT", {"code": "c"}, settings)
    assert (error.code, error.retryable) == ("transport", True)


# --- Alipay --------------------------------------------------------------------------------------------------


async def test_alipay_login_gives_the_profile(world: World) -> None:
    code = world.alipay.issue_code("2088102177846880", nick_name="李四", avatar="https://tfs.alipayobjects.com/a.png",
                                   mobile="13912345678")
    profile = await authenticate("ALIPAY", {"auth_code": code, "app_id": world.alipay.app_id},
                                 world.alipay_settings)
    assert profile == ExternalProfile(channel="ALIPAY", subject="2088102177846880", name="李四",
                                      mobile="13912345678", avatar_url="https://tfs.alipayobjects.com/a.png")
    assert world.alipay.hits["/gateway.do"] == 2


async def test_alipay_open_id_mode(world: World) -> None:
    code = world.alipay.issue_code("074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5", open_id=True)
    profile = await authenticate("ALIPAY", {"auth_code": code}, world.alipay_settings)
    assert profile.subject == "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"
    assert profile.mobile is None


async def test_alipay_invalid_and_reused_codes(world: World) -> None:
    error = await refused("ALIPAY", {"auth_code": "never-issued"}, world.alipay_settings)
    assert (error.code, error.retryable) == ("isv.code-invalid", False)
    assert world.alipay.hits["/gateway.do"] == 1
    code = world.alipay.issue_code("2088000000000002")
    await authenticate("ALIPAY", {"auth_code": code}, world.alipay_settings)
    assert (await refused("ALIPAY", {"auth_code": code}, world.alipay_settings)).code == "isv.code-invalid"
    expired = world.alipay.issue_code("2088000000000003", ttl=-1)
    assert (await refused("ALIPAY", {"auth_code": expired}, world.alipay_settings)).code == "isv.code-invalid"


async def test_alipay_tampered_response_is_refused(world: World) -> None:
    world.alipay.tamper_next()
    code = world.alipay.issue_code("2088000000000004")
    error = await refused("ALIPAY", {"auth_code": code}, world.alipay_settings)
    assert (error.code, error.retryable) == ("bad_signature", False)


async def test_alipay_response_signed_by_another_key_is_refused(world: World) -> None:
    settings = with_extra(world.alipay_settings, alipay_public_key=public_pem(new_rsa_key()))
    code = world.alipay.issue_code("2088000000000005")
    assert (await refused("ALIPAY", {"auth_code": code}, settings)).code == "bad_signature"


async def test_alipay_refuses_our_bad_signature(world: World) -> None:
    settings = replace(world.alipay_settings, secret=private_pem(new_rsa_key()))
    code = world.alipay.issue_code("2088000000000006")
    error = await refused("ALIPAY", {"auth_code": code}, settings)
    assert (error.code, error.retryable) == ("isv.invalid-signature", False)
    # The code was not spent on a refused request.
    assert (await authenticate("ALIPAY", {"auth_code": code}, world.alipay_settings)).subject == "2088000000000006"


async def test_alipay_wrong_app_id_and_missing_key(world: World) -> None:
    code = world.alipay.issue_code("2088000000000007")
    wrong_app = replace(world.alipay_settings, app_id="2021999999999999")
    assert (await refused("ALIPAY", {"auth_code": code}, wrong_app)).code == "isv.invalid-app-id"
    no_key = replace(world.alipay_settings, extra=dict(FAST))
    assert (await refused("ALIPAY", {"auth_code": code}, no_key)).code == "config_error"
    bad_key = replace(world.alipay_settings, secret="not a key")
    assert (await refused("ALIPAY", {"auth_code": code}, bad_key)).code == "config_error"


async def test_alipay_retries_then_succeeds(world: World) -> None:
    world.alipay.fail_next("http_500", "busy")
    code = world.alipay.issue_code("2088000000000008")
    assert (await authenticate("ALIPAY", {"auth_code": code}, world.alipay_settings)).subject == "2088000000000008"
    assert world.alipay.hits["/gateway.do"] == 4  # token: 2 failures + 1; user info: 1


async def test_alipay_gives_up_after_the_retries(world: World) -> None:
    world.alipay.fail_next(*["busy"] * TRIES)
    error = await refused("ALIPAY", {"auth_code": world.alipay.issue_code("2088000000000009")},
                          world.alipay_settings)
    assert (error.code, error.retryable) == ("isp.unknow-error", True)
    assert world.alipay.hits["/gateway.do"] == TRIES


async def test_alipay_unsigned_busy_is_not_retried(world: World) -> None:
    # An unauthenticated "busy" may come from anyone on the path: reported, but no reason to hammer.
    world.alipay.sign_errors = False
    try:
        world.alipay.fail_next("busy")
        error = await refused("ALIPAY", {"auth_code": "x"}, world.alipay_settings)
    finally:
        world.alipay.sign_errors = True
    assert (error.code, error.retryable) == ("isp.unknow-error", False)
    assert world.alipay.hits["/gateway.do"] == 1


async def test_alipay_timeout_then_success(world: World) -> None:
    world.alipay.fail_next("hang")
    code = world.alipay.issue_code("2088000000000010")
    assert (await authenticate("ALIPAY", {"auth_code": code}, world.alipay_settings)).subject == "2088000000000010"


async def test_alipay_invalid_token_on_user_info(world: World) -> None:
    # user.info.share answers errors in its own node, with a code other than 10000.
    error = await refused_call(world, alipay_channel.USER_INFO_METHOD, {"auth_token": "forged"})
    assert (error.code, error.retryable) == ("aop.invalid-auth-token", False)


async def refused_call(world: World, method: str, params: dict[str, str]) -> ChannelError:
    async with aiohttp.ClientSession() as session:
        http = Http(session, CallPolicy.of(world.alipay_settings), "ALIPAY")
        with pytest.raises(ChannelError) as caught:
            await alipay_channel.call(http, world.alipay_settings, method, params)
    return caught.value


def test_alipay_signing_string() -> None:
    params = {"method": "alipay.system.oauth.token", "app_id": "2021", "sign": "zzz", "empty": "",
              "timestamp": "2024-05-01 10:00:00", "biz_content": '{"a":"中"}'}
    assert alipay_channel.signing_string(params) == (
        'app_id=2021&biz_content={"a":"中"}&method=alipay.system.oauth.token&timestamp=2024-05-01 10:00:00')


def test_alipay_raw_members_are_exact_slices() -> None:
    text = '{ "alipay_user_info_share_response" : {"nick_name":"\\u674e","x": [1, {"y":"}"}]} ,\n"sign":"abc=="}'
    members = alipay_channel.raw_members(text)
    assert members == {"alipay_user_info_share_response": '{"nick_name":"\\u674e","x": [1, {"y":"}"}]}',
                       "sign": '"abc=="'}
    for broken in ('["not an object"]', '{"a":1', '{"a":1} trailing'):
        with pytest.raises(ValueError):
            alipay_channel.raw_members(broken)


def test_alipay_timestamp_is_beijing_time() -> None:
    utc = datetime.datetime(2024, 12, 31, 20, 30, 5, tzinfo=datetime.UTC)
    assert alipay_channel.beijing_timestamp(utc) == "2025-01-01 04:30:05"


# --- 苏服码 --------------------------------------------------------------------------------------------------------

ID_NUMBER = make_resident_id("320102", datetime.date(1988, 3, 9), 235)


async def test_sfm_login_gives_the_real_name_profile(world: World) -> None:
    code = world.sfm.issue_code("sfm-u-1", name="王五", cert_no=ID_NUMBER.lower(), mobile="13700001111")
    profile = await authenticate("SFM", {"code": code}, world.sfm_settings)
    assert profile == ExternalProfile(channel="SFM", subject="sfm-u-1", name="王五", mobile="13700001111",
                                      id_number=ID_NUMBER.upper())
    assert world.sfm.hits == {sfm_channel.VERIFY_PATH: 1, sfm_channel.REALNAME_PATH: 1}


async def test_sfm_invalid_reused_and_expired_codes(world: World) -> None:
    error = await refused("SFM", {"code": "never-issued"}, world.sfm_settings)
    assert (error.code, error.retryable) == ("2001", False)
    assert world.sfm.hits[sfm_channel.VERIFY_PATH] == 1
    code = world.sfm.issue_code("sfm-u-2", name="赵六", cert_no=ID_NUMBER)
    await authenticate("SFM", {"code": code}, world.sfm_settings)
    assert (await refused("SFM", {"code": code}, world.sfm_settings)).code == "2002"
    expired = world.sfm.issue_code("sfm-u-3", name="孙七", cert_no=ID_NUMBER, ttl=-1)
    assert (await refused("SFM", {"code": expired}, world.sfm_settings)).code == "2001"


async def test_sfm_person_without_real_name_verification(world: World) -> None:
    code = world.sfm.issue_code("sfm-u-4", name="周八", cert_no=ID_NUMBER, auth_level="L1")
    assert (await refused("SFM", {"code": code}, world.sfm_settings)).code == "2004"


async def test_sfm_id_numbers(world: World) -> None:
    passport = world.sfm.issue_code("sfm-u-5", name="Anna", cert_no="E12345678", cert_type="414")
    assert (await authenticate("SFM", {"code": passport}, world.sfm_settings)).id_number is None
    wrong_check = ID_NUMBER[:17] + ("0" if ID_NUMBER[17] != "0" else "1")
    broken = world.sfm.issue_code("sfm-u-6", name="吴九", cert_no=wrong_check)
    error = await refused("SFM", {"code": broken}, world.sfm_settings)
    assert error.code == "bad_response"
    assert wrong_check not in str(error)  # an ID number never goes into a message


async def test_sfm_tampered_response_is_refused(world: World) -> None:
    world.sfm.tamper_next()
    code = world.sfm.issue_code("sfm-u-7", name="郑十", cert_no=ID_NUMBER)
    error = await refused("SFM", {"code": code}, world.sfm_settings)
    assert (error.code, error.retryable) == ("bad_signature", False)


async def test_sfm_stale_response_is_refused(world: World) -> None:
    world.sfm.response_skew_seconds = -600
    try:
        code = world.sfm.issue_code("sfm-u-8", name="钱一", cert_no=ID_NUMBER)
        assert (await refused("SFM", {"code": code}, world.sfm_settings)).code == "stale_response"
    finally:
        world.sfm.response_skew_seconds = 0


async def test_sfm_refuses_our_bad_signature(world: World) -> None:
    code = world.sfm.issue_code("sfm-u-9", name="冯二", cert_no=ID_NUMBER)
    error = await refused("SFM", {"code": code}, replace(world.sfm_settings, secret="wrong-integration-key"))
    # The refusal is signed with the real key, so we cannot verify it: reported as is, never retried.
    assert (error.code, error.retryable) == ("1002", False)
    assert world.sfm.hits[sfm_channel.VERIFY_PATH] == 1
    assert (await authenticate("SFM", {"code": code}, world.sfm_settings)).subject == "sfm-u-9"


async def test_sfm_unknown_app(world: World) -> None:
    error = await refused("SFM", {"code": "c"}, replace(world.sfm_settings, app_id="sfm-other"))
    assert error.code == "1001"


def signed_body(world: World, *, timestamp_ms: int, nonce: str, code: str) -> bytes:
    params = {"app_id": world.sfm.app_id, "timestamp": str(timestamp_ms), "nonce": nonce,
              "sign_method": sfm_channel.SIGN_METHOD, "code": code}
    return json.dumps(sfm_channel.sign_request(params, world.sfm.key)).encode()


def test_sfm_standin_refuses_stale_timestamps_and_reused_nonces(world: World) -> None:
    url = world.sfm_settings.base_url + sfm_channel.VERIFY_PATH
    with httpx.Client(timeout=5.0) as client:
        old = signed_body(world, timestamp_ms=int((time.time() - 301) * 1000), nonce=secrets.token_hex(16), code="c")
        assert client.post(url, content=old).json()["code"] == "1003"
        future = signed_body(world, timestamp_ms=int((time.time() + 301) * 1000), nonce=secrets.token_hex(16),
                             code="c")
        assert client.post(url, content=future).json()["code"] == "1003"

        body = signed_body(world, timestamp_ms=int(time.time() * 1000), nonce=secrets.token_hex(16),
                           code=world.sfm.issue_code("sfm-u-10", name="陈三", cert_no=ID_NUMBER))
        first = client.post(url, content=body)
        assert first.json()["code"] == "0"
        # The same signed request again (a replay) is refused for its nonce, before the code is looked at.
        assert client.post(url, content=body).json()["code"] == "1004"
        # Every answer is signed over our nonce, its timestamp and the raw body.
        nonce = json.loads(body)["nonce"]
        assert first.headers["x-sfm-signature"] == sfm_channel.response_signature(
            world.sfm.key, nonce, first.headers["x-sfm-timestamp"], first.content)


async def test_sfm_retries_then_succeeds(world: World) -> None:
    world.sfm.fail_next("busy", "http_500")
    code = world.sfm.issue_code("sfm-u-11", name="褚四", cert_no=ID_NUMBER)
    assert (await authenticate("SFM", {"code": code}, world.sfm_settings)).subject == "sfm-u-11"
    assert world.sfm.hits[sfm_channel.VERIFY_PATH] == 3  # each retry signed afresh: no nonce was reused


async def test_sfm_gives_up_after_the_retries(world: World) -> None:
    world.sfm.fail_next(*["http_500"] * TRIES)
    error = await refused("SFM", {"code": world.sfm.issue_code("sfm-u-12", name="卫五", cert_no=ID_NUMBER)},
                          world.sfm_settings)
    assert (error.code, error.retryable) == ("http_503", True)
    assert world.sfm.hits[sfm_channel.VERIFY_PATH] == TRIES


async def test_sfm_timeout_on_the_second_step_retries_that_step_only(world: World) -> None:
    world.sfm.fail_next("ok", "hang")  # the code check passes, the real-name query hangs once
    code = world.sfm.issue_code("sfm-u-13", name="蒋六", cert_no=ID_NUMBER)
    assert (await authenticate("SFM", {"code": code}, world.sfm_settings)).subject == "sfm-u-13"
    assert world.sfm.hits == {sfm_channel.VERIFY_PATH: 1, sfm_channel.REALNAME_PATH: 2}
