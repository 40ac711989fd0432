"""WeChat login: website QR login and official-account 网页授权 (OAuth 2.0 code flow), and mini programs
(wx.login code → jscode2session).

    GET {base}/sns/oauth2/access_token?appid=&secret=&code=&grant_type=authorization_code
        → {access_token, expires_in, refresh_token, openid, scope, unionid?} | {errcode, errmsg}
    GET {base}/sns/userinfo?access_token=&openid=&lang=zh_CN
        → {openid, nickname, sex, province, city, country, headimgurl, privilege, unionid?} | {errcode, errmsg}
    GET {base}/sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code
        → {openid, session_key, unionid?} | {errcode, errmsg}

WeChat answers HTTP 200 for errors and often labels JSON as text/plain, so bodies are parsed whatever
their content type, and `errcode` (absent or 0 on success) decides.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from subgraphs.identity.channels.base import ChannelError, ChannelSettings, ConfigError, ExternalProfile
from subgraphs.identity.channels.transport import Http, TransientError

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
DEFAULT_AUTHORIZE_BASE_URL = "https://open.weixin.qq.com"
MODES = ("oauth", "miniprogram")

# -1 is "system busy, try again"; 45011 is the per-minute API quota: both pass, so they are retried.
RETRYABLE_ERRCODES = frozenset({-1, 45011})
# The codes a login can meet, for messages (WeChat's own errmsg is English and terse).
ERRCODES = {
    -1: "system busy",
    40001: "invalid credential (access_token)",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    40226: "high-risk user, login blocked",
    41008: "missing code",
    42001: "access_token expired",
    45011: "API minute-quota reached",
}
# Scopes that allow /sns/userinfo; snsapi_base gives the openid only.
USERINFO_SCOPES = frozenset({"snsapi_login", "snsapi_userinfo"})


def authorize_url(settings: ChannelSettings, redirect_uri: str, state: str, *, scope: str = "snsapi_login") -> str:
    """Where the login page sends the browser. `snsapi_login` is the website QR page (/connect/qrconnect);
    `snsapi_userinfo` / `snsapi_base` are official-account 网页授权 inside WeChat (/connect/oauth2/authorize).

    WeChat checks the parameter order and needs the `#wechat_redirect` fragment; redirect_uri is
    percent-encoded completely (quote, not quote_plus) as its documentation asks.
    """
    base = str(settings.extra.get("authorize_base_url") or DEFAULT_AUTHORIZE_BASE_URL).rstrip("/")
    path = "/connect/qrconnect" if scope == "snsapi_login" else "/connect/oauth2/authorize"
    query = urlencode(
        [("appid", settings.app_id), ("redirect_uri", redirect_uri), ("response_type", "code"),
         ("scope", scope), ("state", state)],
        quote_via=quote, safe="",
    )
    return f"{base}{path}?{query}#wechat_redirect"


def mode_of(settings: ChannelSettings) -> str:
    mode = str(settings.extra.get("mode") or "oauth")
    if mode not in MODES:
        raise ConfigError(f"WECHAT: mode must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


async def authenticate(http: Http, params: Mapping[str, str], settings: ChannelSettings) -> ExternalProfile:
    code = params.get("code") or params.get("js_code")
    if not code:
        raise ChannelError("WECHAT: the redirect brought no code", code="41008")
    base = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
    if mode_of(settings) == "miniprogram":
        return await _miniprogram(http, base, code, settings)
    return await _oauth(http, base, code, settings)


async def _oauth(http: Http, base: str, code: str, settings: ChannelSettings) -> ExternalProfile:
    token = await http.retrying("access_token", lambda: _get(http, f"{base}/sns/oauth2/access_token", {
        "appid": settings.app_id, "secret": settings.secret, "code": code, "grant_type": "authorization_code",
    }))
    openid = _required(token, "openid")
    access_token = _required(token, "access_token")
    union_id = _optional(token, "unionid")
    scopes = set(str(token.get("scope") or "").split(","))
    if not scopes & USERINFO_SCOPES:
        # snsapi_base: a silent login inside WeChat that grants the openid and nothing else.
        return ExternalProfile(channel="WECHAT", subject=openid, union_id=union_id)
    info = await http.retrying("userinfo", lambda: _get(http, f"{base}/sns/userinfo", {
        "access_token": access_token, "openid": openid, "lang": "zh_CN",
    }))
    # The profile must be the person the code belonged to; a mismatch means a confused proxy or cache.
    if info.get("openid") != openid:
        raise ChannelError("WECHAT: userinfo answered for another openid", code="bad_response")
    return ExternalProfile(
        channel="WECHAT", subject=openid, union_id=_optional(info, "unionid") or union_id,
        name=_optional(info, "nickname"), avatar_url=_optional(info, "headimgurl"),
    )


async def _miniprogram(http: Http, base: str, code: str, settings: ChannelSettings) -> ExternalProfile:
    session = await http.retrying("jscode2session", lambda: _get(http, f"{base}/sns/jscode2session", {
        "appid": settings.app_id, "secret": settings.secret, "js_code": code, "grant_type": "authorization_code",
    }))
    # session_key is dropped on purpose: it decrypts the mini program's encrypted data (phone number) and is a
    # secret we have no use for at login; keeping it would only widen what a log or dump can leak.
    return ExternalProfile(channel="WECHAT", subject=_required(session, "openid"),
                           union_id=_optional(session, "unionid"))


async def _get(http: Http, url: str, query: Mapping[str, str]) -> dict[str, Any]:
    reply = await http.request("GET", url, params=query)
    try:
        body = json.loads(reply.text("WECHAT"))
    except ValueError:
        raise ChannelError("WECHAT answered a body that is not JSON", code="bad_response") from None
    if not isinstance(body, dict):
        raise ChannelError("WECHAT answered a body that is not a JSON object", code="bad_response")
    errcode = _errcode(body.get("errcode", 0))
    if errcode:
        meaning = ERRCODES.get(errcode) or str(body.get("errmsg") or "error")
        message = f"WECHAT refused: {errcode} {meaning}"
        if errcode in RETRYABLE_ERRCODES:
            raise TransientError(message, code=str(errcode))
        raise ChannelError(message, code=str(errcode))
    return body


def _errcode(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        # An errcode we cannot read is still an error; -2 is no code WeChat uses.
        return -2


def _required(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ChannelError(f"WECHAT answered without {key}", code="bad_response")
    return value


def _optional(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None
