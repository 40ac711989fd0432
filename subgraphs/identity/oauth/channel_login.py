"""Third-party sign-in (微信 / 支付宝 / 苏服码) in front of the SSO session.

    GET /oauth/channel/{channel}/start?continue=...    to the provider (when the channel module builds an
                                                        authorize URL), remembering state and continuation
    GET /oauth/channel/{channel}/callback?code=...      the provider's redirect: channels.authenticate(...),
                                                        then the bound user's SSO session, then the pending
                                                        /oauth/authorize or /cas/login

A channel whose login_channel row is missing or disabled is refused. A person whose external identity is
not bound yet signs in once with username and password: the external identity (sealed in a short-lived
cookie meanwhile) is then written to external_identity and the next channel sign-in goes straight through.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from subgraphs.identity import channels as channel_module
from subgraphs.identity import models
from subgraphs.identity.oauth.server import OAuthServer
from subgraphs.identity.oauth.tokens import sid_of
from subgraphs.identity.security import login as login_checks
from subgraphs.identity.security.crypto import CryptoError, MasterKey, seal, unseal

STATE_COOKIE = "jshealth_channel"
BIND_COOKIE = "jshealth_bind"
STATE_TTL = timedelta(minutes=10)
BIND_TTL = timedelta(minutes=10)


def _keys(master: MasterKey) -> tuple[bytes, bytes]:
    def sm3(data: bytes) -> bytes:
        return hmac.new(master.secret, data, lambda: hashlib.new("sm3")).digest()

    return sm3(b"jshealth identity channel binding")[:16], sm3(b"jshealth identity channel binding mac")


def seal_value(master: MasterKey, value: dict[str, Any]) -> str:
    enc, mac = _keys(master)
    return base64.urlsafe_b64encode(seal(enc, mac, json.dumps(value).encode("utf-8"))).decode("ascii")


def unseal_value(master: MasterKey, text: str) -> dict[str, Any] | None:
    enc, mac = _keys(master)
    try:
        value = json.loads(unseal(enc, mac, base64.urlsafe_b64decode(text.encode("ascii"))))
    except (CryptoError, ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _secret_keys(master: MasterKey) -> tuple[bytes, bytes]:
    def sm3(data: bytes) -> bytes:
        return hmac.new(master.secret, data, lambda: hashlib.new("sm3")).digest()

    return sm3(b"jshealth identity channel secret")[:16], sm3(b"jshealth identity channel secret mac")


def wrap_channel_secret(master: MasterKey, channel: str, secret: str) -> bytes:
    """How login_channel.secret is stored: sealed under the master key and bound to the channel's name
    (whoever saves a channel's configuration writes it with this)."""
    enc, mac = _secret_keys(master)
    return seal(enc, mac, secret.encode("utf-8"), channel.encode("ascii").ljust(16, b"\0"))


def unwrap_channel_secret(master: MasterKey, channel: str, blob: bytes) -> str:
    enc, mac = _secret_keys(master)
    if blob[:16] != channel.encode("ascii").ljust(16, b"\0"):
        raise CryptoError(f"the stored secret is not the {channel} channel's")
    return unseal(enc, mac, blob, header_length=16).decode("utf-8")


def channel_settings(master: MasterKey, row: models.LoginChannel) -> channel_module.ChannelSettings:
    """The channel's settings from its row: `base_url` and `app_id` from the settings JSON (which is also
    `extra`), the secret unwrapped. Raises ChannelError when the stored secret does not open."""
    extra = dict(row.settings or {})
    secret = ""
    if row.secret:
        try:
            secret = unwrap_channel_secret(master, row.channel, row.secret)
        except (CryptoError, UnicodeDecodeError) as exc:
            raise channel_module.ChannelError("the channel's stored secret cannot be read",
                                              code="config_error") from exc
    return channel_module.ChannelSettings(channel=row.channel, base_url=str(extra.get("base_url", "")),
                                          app_id=str(extra.get("app_id", "")), secret=secret, extra=extra)


async def bind_pending(server: OAuthServer, db: AsyncSession, request: Request, user: models.User) -> bool:
    """After a password sign-in: bind the external identity waiting in the cookie to `user`."""
    text = request.cookies.get(BIND_COOKIE)
    if not text:
        return False
    value = unseal_value(server.master, text)
    now = server.now()
    if value is None or float(value.get("exp", 0)) <= now.timestamp():
        return True  # stale: clear it
    channel, subject = str(value.get("channel")), str(value.get("subject"))
    existing = await db.get(models.ExternalIdentity, (channel, subject))
    if existing is None:
        union = value.get("union_id")
        db.add(models.ExternalIdentity(channel=channel, subject=subject, user_id=user.id,
                                       union_id=str(union) if union else None, created_at=now))
    return True


def clear_bind_cookie(server: OAuthServer, request: Request, response: Response) -> None:
    response.delete_cookie(BIND_COOKIE, path=server.cookie_path(request), secure=server.secure(request),
                           httponly=True, samesite="lax")


class ChannelLogin:
    def __init__(self, server: OAuthServer, login_form: Any) -> None:
        self.server = server
        self.login_form = login_form  # Endpoints.login_form

    async def _channel(self, db: AsyncSession, request: Request) -> models.LoginChannel | None:
        name = str(request.path_params.get("channel", "")).upper()
        if name not in channel_module.CHANNELS:
            return None
        row = await db.get(models.LoginChannel, name)
        return row if row is not None and row.enabled else None

    def _disabled(self, request: Request, target: str) -> Any:
        return self.login_form(request, target=target, status=403,
                               error="该登录方式未启用 / this sign-in channel is switched off")

    async def start(self, request: Request) -> Response:
        s = self.server
        target = s.safe_continue(request.query_params.get("continue"))
        async with s.runtime.sessions() as db:
            row = await self._channel(db, request)
        if row is None:
            return await self._disabled(request, target)
        state = secrets.token_urlsafe(24)
        callback = s.url(request, f"/oauth/channel/{row.channel.lower()}/callback")
        try:
            url = channel_module.authorize_url(row.channel, channel_settings(s.master, row), callback, state)
        except channel_module.ChannelError:
            url = ""
        if not url:
            return await self.login_form(request, target=target, status=400,
                                         error="该登录方式暂不可用 / this sign-in channel is not available")
        response = RedirectResponse(url, status_code=302)
        cookie = seal_value(s.master, {"channel": row.channel, "state": state, "continue": target,
                                       "exp": (s.now() + STATE_TTL).timestamp()})
        response.set_cookie(STATE_COOKIE, cookie, max_age=int(STATE_TTL.total_seconds()), httponly=True,
                            samesite="lax", secure=s.secure(request), path=s.cookie_path(request))
        return response

    async def callback(self, request: Request) -> Response:
        s = self.server
        params = {k: v for k, v in request.query_params.items() if k != "state"}
        pending = unseal_value(s.master, request.cookies.get(STATE_COOKIE, "")) or {}
        target = s.safe_continue(pending.get("continue"))
        async with s.runtime.sessions() as db:
            row = await self._channel(db, request)
            if row is None:
                return await self._disabled(request, target)
            state = request.query_params.get("state")
            if (pending.get("channel") != row.channel or not state or not isinstance(pending.get("state"), str)
                    or not hmac.compare_digest(pending["state"].encode("utf-8", "surrogateescape"),
                                               state.encode("utf-8", "surrogateescape"))
                    or float(pending.get("exp", 0)) <= s.now().timestamp()):
                return await self.login_form(request, target=target, status=400,
                                             error="登录请求已失效，请重试 / the sign-in request expired, try again")
            ip, now, device = s.client_ip(request), s.now(), s.device(request)
            try:
                settings = channel_settings(s.master, row)
                profile = await channel_module.authenticate(row.channel, params, settings)
            except channel_module.ChannelError as exc:
                await login_checks.record_login(db, user=None, username=None, success=False, method="THIRD_PARTY",
                                                ip=ip, now=now, channel=row.channel, device=device,
                                                failure_reason=(exc.code or "CHANNEL_ERROR")[:32])
                await db.commit()
                retry = getattr(exc, "retryable", False)
                message = ("第三方平台暂时无法访问，请稍后重试 / the provider is unavailable, try again later" if retry
                           else "第三方登录失败 / the provider refused the sign-in")
                return await self.login_form(request, target=target, status=502 if retry else 401, error=message)
            identity = await db.get(models.ExternalIdentity, (row.channel, profile.subject))
            user = await db.get(models.User, identity.user_id) if identity is not None else None
            if identity is None or user is None:
                response = await self.login_form(
                    request, target=target,
                    notice="首次使用该方式登录：请用用户名和密码登录一次以绑定账号 / "
                           "first time with this channel: sign in once with your password to link it")
                sealed = seal_value(s.master, {"channel": row.channel, "subject": profile.subject,
                                               "union_id": profile.union_id,
                                               "exp": (now + BIND_TTL).timestamp()})
                response.set_cookie(BIND_COOKIE, sealed, max_age=int(BIND_TTL.total_seconds()), httponly=True,
                                    samesite="lax", secure=s.secure(request), path=s.cookie_path(request))
                return response
            refusal = await login_checks.check_login_allowed(db, user, ip=ip, now=now)
            if refusal is not None:
                await login_checks.record_login(db, user=user, username=user.username, success=False,
                                                method="THIRD_PARTY", ip=ip, now=now, channel=row.channel,
                                                device=device, failure_reason=refusal.reason)
                await db.commit()
                from subgraphs.identity.oauth.endpoints import refusal_text

                return await self.login_form(request, target=target, status=403, error=refusal_text(refusal))
            response = s.continue_response(request, target)
            session_row = await s.start_session(db, request, user, response, method="THIRD_PARTY")
            await login_checks.record_login(db, user=user, username=user.username, success=True, method="THIRD_PARTY",
                                            ip=ip, now=now, channel=row.channel, device=device,
                                            token_id=sid_of(session_row.id))
            await db.commit()
        response.delete_cookie(STATE_COOKIE, path=s.cookie_path(request), secure=s.secure(request), httponly=True,
                               samesite="lax")
        return response

