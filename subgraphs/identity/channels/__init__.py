"""Third-party login channels (WeChat, Alipay, 苏服码): each speaks its provider's real HTTP protocol against a
configurable base URL and yields an `ExternalProfile`; the authorization server exchanges it for our tokens.

    profile = await authenticate("WECHAT", {"code": code}, settings)   # ChannelError when refused
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CHANNELS = ("WECHAT", "ALIPAY", "SFM")


class ChannelError(Exception):
    """The provider refused or could not be reached; `code` is the provider's error code when it gave one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ChannelSettings:
    """A channel's configuration (the login_channel row): base URL, app id, secret or private key, ..."""

    channel: str
    base_url: str
    app_id: str
    secret: str  # WeChat AppSecret, Alipay app private key (PEM), 苏服码 integration key
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. Alipay's public key for response checks


@dataclass(frozen=True)
class ExternalProfile:
    channel: str
    subject: str  # openid, Alipay user_id, 苏服码 user id
    union_id: str | None = None
    name: str | None = None
    mobile: str | None = None
    id_number: str | None = None  # real-name channels (苏服码) give the ID number


async def authenticate(channel: str, params: Mapping[str, str], settings: ChannelSettings) -> ExternalProfile:
    """Exchange what the provider's redirect brought (`code`, `auth_code`, ...) for the person's profile."""
    raise ChannelError(f"the {channel} login channel is not implemented yet")
