"""The channel contract's types: settings in, a profile or a `ChannelError` out.

They live here rather than in the package's `__init__` so the provider modules can import them without
importing the dispatcher that imports them; `subgraphs.identity.channels` re-exports every name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CHANNELS = ("WECHAT", "ALIPAY", "SFM")


class ChannelError(Exception):
    """The provider refused or could not be reached; `code` is the provider's error code when it gave one.

    `retryable` says the failure was transient (transport, 5xx, provider busy): the login page may offer
    "try again later" instead of "login refused". A definitive refusal (invalid or used code, bad
    signature, wrong credentials) is never retryable.
    """

    def __init__(self, message: str, code: str | None = None, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class ChannelSettings:
    """A channel's configuration (the login_channel row): base URL, app id, secret or private key, ...

    `extra` is the row's settings JSON; the keys each channel reads are listed in docs/channels.md
    (mode, timeout_seconds, retries, retry_interval_seconds, alipay_public_key, authorize_base_url, ...).
    """

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
    avatar_url: str | None = None  # WeChat headimgurl, Alipay avatar


class ConfigError(ChannelError):
    """The channel's own configuration is unusable (unreadable key, bad retry count): fix the settings."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="config_error")
