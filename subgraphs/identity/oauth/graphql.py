"""GraphQL for the third-party login channels (第三方登录集成): their switch, endpoints and keys, in the
groups the tender's form uses (接口配置 / 密钥配置 / 状态配置). Merged into identity's Query and Mutation.

Secrets (WeChat AppSecret, Alipay private key, 苏服码 integration key) are written sealed under the master
key (channel_login.wrap_channel_secret) and never read back: the API says only whether one is set.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from typing import Any, cast
from urllib.parse import urlsplit

import strawberry
from strawberry.scalars import JSON

from subgraphs.common.errors import bad_input
from subgraphs.identity import models
from subgraphs.identity.channels import CHANNELS
from subgraphs.identity.domain import guard
from subgraphs.identity.domain.oplog import log_operation
from subgraphs.identity.oauth.channel_login import wrap_channel_secret
from subgraphs.identity.security.crypto import master_key
from subgraphs.identity.types import SIGNED_IN, Info

# settings every channel understands; the rest go to `extra` as the channel's module documents them
_KNOWN = ("base_url", "app_id")
MAX_EXTRA_BYTES = 8192


@strawberry.enum(description="第三方登录渠道")
class LoginChannelName(Enum):
    WECHAT = strawberry.enum_value("WECHAT", description="微信扫码登录 / 公众号 / 小程序")
    ALIPAY = strawberry.enum_value("ALIPAY", description="支付宝扫码登录")
    SFM = strawberry.enum_value("SFM", description="苏服码登录")


@strawberry.type(description="One third-party login channel's configuration (no secret is ever returned).")
class LoginChannel:
    channel: LoginChannelName
    enabled: bool = strawberry.field(description="状态配置: whether people may sign in with it")
    base_url: str | None = strawberry.field(description="接口配置: the provider's API base URL")
    app_id: str | None = strawberry.field(description="AppID / 应用ID")
    extra: JSON = strawberry.field(description="Channel-specific settings (docs/channels.md)")
    secret_set: bool = strawberry.field(description="密钥配置: whether a secret or private key is stored")
    updated_at: datetime | None

    @classmethod
    def of(cls, channel: str, row: models.LoginChannel | None) -> LoginChannel:
        settings: dict[str, Any] = dict(row.settings or {}) if row is not None else {}
        return cls(
            channel=LoginChannelName(channel), enabled=bool(row and row.enabled),
            base_url=settings.get("base_url"), app_id=settings.get("app_id"),
            extra=cast(JSON, {k: v for k, v in settings.items() if k not in _KNOWN}),
            secret_set=bool(row and row.secret), updated_at=row.updated_at if row is not None else None,
        )


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise bad_input(f"{value!r} is not an http(s) URL.", argument="baseUrl")
    return value.rstrip("/")


@strawberry.type
class ChannelQuery:
    @strawberry.field(directives=SIGNED_IN, description="Every third-party login channel, configured or not.")
    async def login_channels(self, info: Info) -> list[LoginChannel]:
        await guard.require_admin(info)
        async with info.context.session() as session:
            rows = {c: await session.get(models.LoginChannel, c) for c in CHANNELS}
        return [LoginChannel.of(c, rows[c]) for c in CHANNELS]


@strawberry.type
class ChannelMutation:
    @strawberry.mutation(directives=SIGNED_IN, description="Configure a login channel; arguments left out keep "
                         "their value. Switching a channel on needs its base URL, app id and secret.")
    async def configure_login_channel(
        self, info: Info, channel: LoginChannelName, enabled: bool | None = None, base_url: str | None = None,
        app_id: str | None = None, secret: str | None = None, extra: JSON | None = None,
    ) -> LoginChannel:
        caller = await guard.require_province_admin(info)
        name = channel.name  # the enum's names are the channel codes
        if extra is not None and (not isinstance(extra, dict) or len(json.dumps(extra)) > MAX_EXTRA_BYTES
                                  or any(k in _KNOWN for k in extra)):
            raise bad_input("extra is an object of channel settings (without base_url and app_id), under 8 KiB.",
                            argument="extra")
        async with info.context.transaction() as session:
            row = await session.get(models.LoginChannel, name)
            if row is None:
                row = models.LoginChannel(channel=name, enabled=False, settings={})
                session.add(row)
            settings: dict[str, Any] = dict(row.settings or {})
            if extra is not None:
                settings = {k: v for k, v in settings.items() if k in _KNOWN} | dict(extra)
            if base_url is not None:
                settings["base_url"] = _check_url(base_url)
            if app_id is not None:
                if not app_id.strip() or len(app_id) > 128:
                    raise bad_input("appId must be 1 to 128 characters.", argument="appId")
                settings["app_id"] = app_id.strip()
            if secret is not None:
                if not secret.strip() or len(secret) > 16384:
                    raise bad_input("secret must not be empty (and under 16 KiB).", argument="secret")
                row.secret = wrap_channel_secret(master_key(), name, secret)
            if enabled is not None:
                row.enabled = enabled
            if row.enabled and not (settings.get("base_url") and settings.get("app_id") and row.secret):
                raise bad_input("A channel can be switched on only with its base URL, app id and secret.",
                                argument="enabled")
            row.settings = settings
            row.updated_at = datetime.now(UTC)
            changed = [k for k, v in {"enabled": enabled, "baseUrl": base_url, "appId": app_id, "secret": secret,
                                      "extra": extra}.items() if v is not None]
            log_operation(session, actor_id=caller.user_id, action="CONFIGURE_LOGIN_CHANNEL",
                          target_type="LoginChannel", target_id=name, detail={"changed": changed})
        return LoginChannel.of(name, row)


queries: tuple[type, ...] = (ChannelQuery,)
mutations: tuple[type, ...] = (ChannelMutation,)
