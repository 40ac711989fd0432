"""HTTP for the channels: one attempt with a timeout, and the retry loop around a protocol step.

The tender (l.10472) asks for at most 3 retries 5 s apart on interface timeouts; those are the defaults,
and settings.extra can shorten them (tests do). Only transient failures are retried: transport errors,
timeouts, HTTP 5xx/429 and the providers' own "busy" codes. A refusal (invalid code, bad signature) is
final, and retrying it could only burn the provider's rate quota.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import aiohttp

from subgraphs.identity.channels.base import ChannelError, ChannelSettings, ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_RETRIES = 3
DEFAULT_RETRY_INTERVAL_SECONDS = 5.0
MAX_RETRIES = 10  # a sanity bound on configuration, not a protocol limit


class TransientError(ChannelError):
    """A failure worth another attempt; the retry loop turns the last one into a plain ChannelError."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message, code, retryable=True)


@dataclass(frozen=True)
class CallPolicy:
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    retries: int = DEFAULT_RETRIES  # attempts after the first one
    retry_interval_seconds: float = DEFAULT_RETRY_INTERVAL_SECONDS

    @classmethod
    def of(cls, settings: ChannelSettings) -> CallPolicy:
        extra = settings.extra
        try:
            policy = cls(
                timeout_seconds=float(extra.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
                retries=int(extra.get("retries", DEFAULT_RETRIES)),
                retry_interval_seconds=float(extra.get("retry_interval_seconds", DEFAULT_RETRY_INTERVAL_SECONDS)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{settings.channel}: timeout/retry settings must be numbers ({exc})") from None
        if not (policy.timeout_seconds > 0 and 0 <= policy.retries <= MAX_RETRIES
                and policy.retry_interval_seconds >= 0):
            raise ConfigError(f"{settings.channel}: need timeout_seconds > 0, 0 <= retries <= {MAX_RETRIES}, "
                              "retry_interval_seconds >= 0")
        return policy


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]

    def text(self, channel: str) -> str:
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ChannelError(f"{channel} answered a body that is not UTF-8", code="bad_response") from None


class Http:
    """One channel call's HTTP: a session (the caller's or our own), the policy, and the channel's name for
    messages. Messages never quote codes, tokens or bodies: they end up in login logs."""

    def __init__(self, session: aiohttp.ClientSession, policy: CallPolicy, channel: str) -> None:
        self.session = session
        self.policy = policy
        self.channel = channel
        self._timeout = aiohttp.ClientTimeout(total=policy.timeout_seconds)

    async def request(
        self, method: str, url: str, *, params: Mapping[str, str] | None = None, body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """One attempt. Transport failures, timeouts, 5xx and 429 raise TransientError; other non-2xx a
        definitive ChannelError (a 4xx means our request is wrong and will stay wrong)."""
        try:
            async with self.session.request(method, url, params=params, data=body, headers=headers,
                                            timeout=self._timeout, allow_redirects=False) as response:
                raw = await response.read()
                status = response.status
                reply_headers = {k.lower(): v for k, v in response.headers.items()}
        except TimeoutError:
            raise TransientError(f"{self.channel} did not answer within {self.policy.timeout_seconds:g} s",
                                 code="timeout") from None
        except aiohttp.ClientError as exc:
            raise TransientError(f"{self.channel} could not be reached ({type(exc).__name__})",
                                 code="transport") from None
        if status >= 500 or status == 429:
            raise TransientError(f"{self.channel} answered HTTP {status}", code=f"http_{status}")
        if not 200 <= status < 300:
            raise ChannelError(f"{self.channel} answered HTTP {status}", code=f"http_{status}")
        return Reply(status, raw, reply_headers)

    async def retrying(self, step: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt` until it succeeds, fails definitively, or the retries are spent. `attempt` builds
        its request afresh each time: signed requests need a new timestamp and nonce per attempt."""
        tries = self.policy.retries + 1
        for number in range(1, tries + 1):
            try:
                return await attempt()
            except TransientError as exc:
                if number == tries:
                    raise ChannelError(f"{self.channel} {step} failed after {tries} attempt(s): {exc}",
                                       code=exc.code, retryable=True) from exc
                log.warning("%s %s attempt %d/%d failed (%s), retrying in %g s", self.channel, step, number,
                            tries, exc.code, self.policy.retry_interval_seconds)
                await asyncio.sleep(self.policy.retry_interval_seconds)
        raise AssertionError("unreachable: the loop returns or raises")
