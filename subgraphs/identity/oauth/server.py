"""The authorization server's shared machinery: request context (issuer, client address, clock), the SSO
browser session, CSRF, client authentication and RFC 6749 error responses. The endpoints live in
endpoints.py (OAuth 2.0 / OIDC), cas.py and channel_login.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from subgraphs.common.app import Runtime
from subgraphs.identity import models
from subgraphs.identity.oauth import pages
from subgraphs.identity.oauth.config import Effective, OAuthSettings, effective
from subgraphs.identity.oauth.tokens import TokenIssuer, revoke_session_tokens, token_hash
from subgraphs.identity.security.crypto import MasterKey, master_key
from subgraphs.identity.security.hashing import verify_password

SESSION_COOKIE = "jshealth_sso"
CSRF_COOKIE = "jshealth_csrf"
MUST_CHANGE = "MUST_CHANGE"  # auth_session.method of a session that may only change its password
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The pages a sign-in may continue to (relative to the server's root): never an arbitrary URL.
CONTINUE_PATHS = ("/oauth/authorize", "/cas/login", "/oauth/signed-in")


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error of the token, revocation and introspection endpoints."""

    def __init__(self, error: str, description: str, status: int = 400, *, basic: bool = False) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = 401 if error == "invalid_client" else status
        self.basic = basic

    def response(self) -> Response:
        headers = dict(NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="identity", charset="UTF-8"'
        return JSONResponse({"error": self.error, "error_description": self.description},
                            status_code=self.status, headers=headers)


@dataclass
class BrowserSession:
    row: models.AuthSession
    user: models.User


class OAuthServer:
    def __init__(self, runtime: Runtime, settings: OAuthSettings, master: MasterKey | None = None) -> None:
        self.runtime = runtime
        self.settings = settings
        self._master = master

    @property
    def master(self) -> MasterKey:
        if self._master is None:
            self._master = master_key()
        return self._master

    # --- request context -------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.settings.now()

    def root(self, request: Request) -> str:
        """The path prefix the server is mounted under ("/subgraphs/identity" in the embedded mode)."""
        return str(request.scope.get("root_path", "")).rstrip("/")

    def issuer(self, request: Request) -> str:
        if self.settings.issuer:
            return self.settings.issuer
        # The scheme and host of the request, and the path the server is mounted at (which, unlike
        # request.base_url, includes the Mount prefix).
        return f"{request.url.scheme}://{request.url.netloc}{self.root(request)}"

    def url(self, request: Request, path: str) -> str:
        return self.issuer(request) + path

    def client_ip(self, request: Request) -> str | None:
        if self.settings.trust_proxy:
            forwarded = request.headers.get("x-forwarded-for")
            if forwarded:
                return forwarded.split(",")[0].strip()[:45]
        return request.client.host if request.client else None

    @staticmethod
    def device(request: Request) -> str | None:
        agent = request.headers.get("user-agent")
        return agent[:256] if agent else None

    def secure(self, request: Request) -> bool:
        return self.issuer(request).startswith("https://")

    def cookie_path(self, request: Request) -> str:
        return self.root(request) or "/"

    async def effective(self, db: AsyncSession) -> Effective:
        return await effective(db, self.settings)

    async def token_issuer(self, db: AsyncSession, request: Request) -> TokenIssuer:
        lifetimes = await self.effective(db)
        return TokenIssuer(self.master, issuer=self.issuer(request), audience=self.settings.audience,
                           alg=self.settings.signing_alg, now=self.now(), access_ttl=lifetimes.access_token_ttl,
                           refresh_ttl=self.settings.refresh_token_ttl)

    # --- the SSO session ------------------------------------------------------------------------

    async def browser_session(self, db: AsyncSession, request: Request, *, touch: bool = True,
                              allow_password_change: bool = False) -> BrowserSession | None:
        """The signed-in session of the request's cookie, or None (none, ended, idle too long, too old)."""
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        row = await db.get(models.AuthSession, token_hash(cookie))
        if row is None or row.ended_at is not None:
            return None
        if row.method == MUST_CHANGE and not allow_password_change:
            return None
        now = self.now()
        idle = (await self.effective(db)).idle_timeout
        if row.last_seen_at + idle <= now or row.created_at + self.settings.session_max_age <= now:
            row.ended_at = now  # automatic logout (无操作30分钟); the tokens end on their own
            await db.commit()
            return None
        user = await db.get(models.User, row.user_id)
        if user is None or user.status != "NORMAL":
            return None
        if touch:
            row.last_seen_at = now
            await db.commit()
        return BrowserSession(row, user)

    async def start_session(self, db: AsyncSession, request: Request, user: models.User, response: Response, *,
                            method: str) -> models.AuthSession:
        """A new session row and its cookie on `response` (the caller commits)."""
        cookie = secrets.token_urlsafe(32)
        now = self.now()
        previous = request.cookies.get(SESSION_COOKIE)
        if previous:  # a new sign-in replaces the browser's old session
            await self.end_session(db, token_hash(previous))
        row = models.AuthSession(id=token_hash(cookie), user_id=user.id, created_at=now, last_seen_at=now,
                                 ip=self.client_ip(request), method=method)
        db.add(row)
        response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=self.secure(request),
                            path=self.cookie_path(request))
        return row

    async def end_session(self, db: AsyncSession, session_id: str) -> None:
        now = self.now()
        await db.execute(update(models.AuthSession).where(models.AuthSession.id == session_id,
                                                          models.AuthSession.ended_at.is_(None))
                         .values(ended_at=now))
        await revoke_session_tokens(db, session_id, now)

    def clear_session_cookie(self, request: Request, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path=self.cookie_path(request), secure=self.secure(request),
                               httponly=True, samesite="lax")

    # --- CSRF (double submit: a SameSite=Strict cookie and the same value in the form) ---------------

    def csrf_token(self, request: Request) -> tuple[str, bool]:
        value = request.cookies.get(CSRF_COOKIE)
        if value and len(value) >= 32:
            return value, False
        return secrets.token_urlsafe(32), True

    def set_csrf(self, request: Request, response: Response, value: str, new: bool) -> None:
        if new:
            response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="strict", secure=self.secure(request),
                                path=self.cookie_path(request))

    @staticmethod
    def csrf_ok(request: Request, form: FormData) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE) or ""
        submitted = form.get("csrf_token")
        # As bytes: compare_digest refuses str with non-ASCII characters, which anyone can submit.
        return bool(cookie) and isinstance(submitted, str) and hmac.compare_digest(
            cookie.encode("utf-8", "surrogateescape"), submitted.encode("utf-8", "surrogateescape"))

    # --- continuation after sign-in ---------------------------------------------------------------

    @staticmethod
    def safe_continue(value: object) -> str:
        """A continuation within this server (a path and query), else the signed-in page."""
        if isinstance(value, str):
            parts = urlsplit(value)
            if not parts.scheme and not parts.netloc and parts.path in CONTINUE_PATHS:
                return value
        return "/oauth/signed-in"

    def continue_response(self, request: Request, target: str) -> RedirectResponse:
        return RedirectResponse(self.root(request) + self.safe_continue(target), status_code=303)

    def login_redirect(self, request: Request, target: str, **extra: str) -> RedirectResponse:
        query = urlencode({"continue": target, **extra})
        return RedirectResponse(f"{self.root(request)}/oauth/login?{query}", status_code=302)

    def html(self, content: str, status: int = 200) -> HTMLResponse:
        headers = {**NO_STORE, "X-Frame-Options": "DENY", "Content-Security-Policy": "default-src 'none'; "
                   "style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"}
        return HTMLResponse(content, status_code=status, headers=headers)

    def error_page(self, message: str, status: int = 400) -> HTMLResponse:
        return self.html(pages.message_page("无法继续 · Cannot continue", message, error=True), status)

    # --- clients ----------------------------------------------------------------------------------

    async def authenticate_client(self, db: AsyncSession, request: Request, form: Mapping[str, str], *,
                                  require_secret: bool = False) -> tuple[models.Client, bool]:
        """The client of a token, revocation or introspection request and whether it authenticated with
        a secret (client_secret_basic or client_secret_post); a public client names itself (client_id).
        Raises OAuthError(invalid_client) when it cannot be trusted."""
        header = request.headers.get("authorization")
        basic = header is not None and header[:6].lower() == "basic "
        client_id: str | None
        secret: str | None
        if basic:
            assert header is not None
            if "client_secret" in form:
                raise OAuthError("invalid_request", "use one client authentication method, not two")
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
                raw_id, _, raw_secret = decoded.partition(":")
                client_id, secret = unquote(raw_id.replace("+", " ")), unquote(raw_secret.replace("+", " "))
            except (ValueError, UnicodeDecodeError) as exc:
                raise OAuthError("invalid_client", "malformed Basic credentials", basic=True) from exc
            if form.get("client_id") not in (None, client_id):
                raise OAuthError("invalid_request", "client_id differs from the authenticated client")
        else:
            client_id, secret = form.get("client_id"), form.get("client_secret")
        if not client_id:
            raise OAuthError("invalid_client", "client authentication is required", basic=basic)
        client = await db.get(models.Client, client_id)
        if client is None:
            verify_password(None, secret or "")  # the same work whether or not the client exists
            raise OAuthError("invalid_client", "unknown client or bad credentials", basic=basic)
        if secret is not None:
            if client.secret_hash is None or not verify_password(client.secret_hash, secret):
                raise OAuthError("invalid_client", "unknown client or bad credentials", basic=basic)
        elif client.secret_hash is not None or require_secret:
            raise OAuthError("invalid_client", "this client must authenticate with its secret", basic=basic)
        if client.status != "ENABLED":
            raise OAuthError("invalid_client", "the client is disabled", basic=basic)
        if not ip_allowed(client.ip_allow, self.client_ip(request)):
            raise OAuthError("invalid_client", "requests from this address are not allowed for the client",
                             basic=basic)
        return client, secret is not None


def ip_allowed(networks: list[str] | None, ip: str | None) -> bool:
    if not networks:
        return True
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for network in networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def single_values(items: list[tuple[str, Any]]) -> dict[str, str]:
    """Request parameters as a dict; a parameter sent twice is an error (RFC 6749 section 3.1)."""
    values: dict[str, str] = {}
    for name, value in items:
        if not isinstance(value, str):
            raise OAuthError("invalid_request", f"{name} must be a plain value")
        if name in values:
            raise OAuthError("invalid_request", f"{name} was sent more than once")
        if value != "":
            values[name] = value
    return values


def with_query(url: str, params: Mapping[str, str | None]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


PKCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def pkce_value_ok(value: str) -> bool:
    return 43 <= len(value) <= 128 and all(c in PKCE_CHARS for c in value)
