"""Third-party login channels (WeChat, Alipay, 苏服码): each speaks its provider's real HTTP protocol against a
configurable base URL and yields an `ExternalProfile`; the authorization server exchanges it for our tokens.

    profile = await authenticate("WECHAT", {"code": code}, settings)   # ChannelError when refused

Whether a channel is switched on is the login_channel row's `enabled`, which the authorization server
checks before calling here. Protocols, settings and error codes: docs/channels.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import aiohttp

from subgraphs.identity.channels import alipay, sfm, wechat
from subgraphs.identity.channels.base import (
    CHANNELS,
    ChannelError,
    ChannelSettings,
    ConfigError,
    ExternalProfile,
)
from subgraphs.identity.channels.transport import CallPolicy, Http

__all__ = [
    "CHANNELS",
    "CallPolicy",
    "ChannelError",
    "ChannelSettings",
    "ConfigError",
    "ExternalProfile",
    "authenticate",
    "authorize_url",
]

_Handler = Callable[[Http, Mapping[str, str], ChannelSettings], Awaitable[ExternalProfile]]
_HANDLERS: dict[str, _Handler] = {
    "WECHAT": wechat.authenticate,
    "ALIPAY": alipay.authenticate,
    "SFM": sfm.authenticate,
}


async def authenticate(
    channel: str, params: Mapping[str, str], settings: ChannelSettings,
    *, session: aiohttp.ClientSession | None = None,
) -> ExternalProfile:
    """Exchange what the provider's redirect brought (`code`, `auth_code`, ...) for the person's profile.

    `session` lets a long-lived caller share one connection pool; without it each call opens and closes
    its own, which costs a TLS handshake but keeps a login free of shared state.
    """
    handler = _HANDLERS.get(channel)
    if handler is None:
        raise ChannelError(f"unknown login channel {channel!r}; known: {', '.join(CHANNELS)}", code="unknown_channel")
    if settings.channel != channel:
        raise ConfigError(f"settings for {settings.channel!r} passed to the {channel} channel")
    policy = CallPolicy.of(settings)
    if session is not None:
        return await handler(Http(session, policy, channel), params, settings)
    async with aiohttp.ClientSession() as own:
        return await handler(Http(own, policy, channel), params, settings)


def authorize_url(channel: str, settings: ChannelSettings, redirect_uri: str, state: str) -> str:
    """Where the login page redirects the browser for `channel` (WeChat: the website QR page; set
    settings.extra["authorize_scope"] to snsapi_userinfo or snsapi_base for official-account 网页授权)."""
    if channel == "WECHAT":
        scope = str(settings.extra.get("authorize_scope") or "snsapi_login")
        return wechat.authorize_url(settings, redirect_uri, state, scope=scope)
    if channel == "ALIPAY":
        return alipay.authorize_url(settings, redirect_uri, state)
    if channel == "SFM":
        return sfm.authorize_url(settings, redirect_uri, state)
    raise ChannelError(f"unknown login channel {channel!r}; known: {', '.join(CHANNELS)}", code="unknown_channel")
