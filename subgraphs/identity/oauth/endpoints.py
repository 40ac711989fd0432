"""OAuth 2.0 / OpenID Connect endpoints: discovery, JWKS, authorize (code + PKCE), the sign-in and
password-change pages, token (authorization_code, client_credentials, refresh_token), revocation (RFC 7009),
introspection (RFC 7662), userinfo and logout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from subgraphs.identity import models
from subgraphs.identity.oauth import keys as signing
from subgraphs.identity.oauth import pages
from subgraphs.identity.oauth.server import (
    MUST_CHANGE,
    NO_STORE,
    OAuthError,
    OAuthServer,
    pkce_value_ok,
    s256,
    single_values,
    with_query,
)
from subgraphs.identity.oauth.tokens import (
    Grant,
    decode_access_token,
    family_of_code,
    is_revoked,
    new_secret,
    revoke_family,
    revoke_key,
    sid_of,
    token_hash,
)
from subgraphs.identity.security import login as login_checks
from subgraphs.identity.security.hashing import verify_password

GRANT_CODE = "authorization_code"
GRANT_CLIENT = "client_credentials"
GRANT_REFRESH = "refresh_token"
OIDC_SCOPES = ("openid", "profile", "email")


class Endpoints:
    def __init__(self, server: OAuthServer) -> None:
        self.server = server

    # --- discovery ----------------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        s = self.server
        async with s.runtime.sessions() as db:
            scopes = sorted({scope for client in await db.scalars(select(models.Client.scopes))
                             for scope in client or []} | set(OIDC_SCOPES))
        return JSONResponse({
            "issuer": s.issuer(request),
            "authorization_endpoint": s.url(request, "/oauth/authorize"),
            "token_endpoint": s.url(request, "/oauth/token"),
            "userinfo_endpoint": s.url(request, "/oauth/userinfo"),
            "jwks_uri": s.url(request, "/.well-known/jwks.json"),
            "revocation_endpoint": s.url(request, "/oauth/revoke"),
            "introspection_endpoint": s.url(request, "/oauth/introspect"),
            "end_session_endpoint": s.url(request, "/oauth/logout"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": [GRANT_CODE, GRANT_CLIENT, GRANT_REFRESH],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256", "RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": scopes,
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "name",
                                 "preferred_username", "email", "org", "region", "roles", "data_scope"],
            "authorization_response_iss_parameter_supported": True,
            "cas_login_endpoint": s.url(request, "/cas/login"),
        }, headers={"Cache-Control": "public, max-age=300"})

    async def jwks(self, request: Request) -> Response:
        s = self.server
        async with s.runtime.sessions() as db:
            await signing.ensure_keys(db, s.master, now=s.now(), alg=s.settings.signing_alg)
            await signing.remove_expired(db, now=s.now())
            await db.commit()
            body = await signing.published_jwks(db)
        return JSONResponse(body, media_type="application/jwk-set+json",
                            headers={"Cache-Control": "public, max-age=300"})

    # --- authorize ------------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        s = self.server
        try:
            params = single_values(list(request.query_params.multi_items()))
        except OAuthError as exc:
            return s.error_page(exc.description)
        async with s.runtime.sessions() as db:
            client = await db.get(models.Client, params.get("client_id", ""))
            if client is None or client.status != "ENABLED":
                return s.error_page("未知或已停用的应用 / unknown or disabled client")
            redirect_uri = params.get("redirect_uri")
            if redirect_uri is None and len(client.redirect_uris) == 1:
                redirect_uri = client.redirect_uris[0]
            if redirect_uri is None or redirect_uri not in client.redirect_uris:
                return s.error_page("回调地址未登记 / the redirect_uri is not registered for this client")
            state = params.get("state")

            def fail(error: str, description: str) -> Response:
                assert redirect_uri is not None
                return RedirectResponse(with_query(redirect_uri, {
                    "error": error, "error_description": description, "state": state, "iss": s.issuer(request)}),
                    status_code=302)

            if params.get("response_type") != "code":
                return fail("unsupported_response_type", "only response_type=code is supported")
            if GRANT_CODE not in client.grant_types:
                return fail("unauthorized_client", "the client may not use the authorization code grant")
            requested = params.get("scope", "").split() or list(client.scopes)
            if not set(requested) <= set(client.scopes):
                return fail("invalid_scope", "a requested scope is not granted to this client")
            challenge = params.get("code_challenge")
            method = params.get("code_challenge_method")
            if challenge is None:
                if client.secret_hash is None:
                    return fail("invalid_request", "PKCE (code_challenge, S256) is required for public clients")
                if method is not None:
                    return fail("invalid_request", "code_challenge_method without code_challenge")
            else:
                if method != "S256":
                    return fail("invalid_request", "code_challenge_method must be S256 (plain is not accepted)")
                if not pkce_value_ok(challenge):
                    return fail("invalid_request", "malformed code_challenge")
            prompt = set(params.get("prompt", "").split())
            browser = await s.browser_session(db, request)
            if browser is None:
                if "none" in prompt:
                    return fail("login_required", "the user is not signed in")
                return s.login_redirect(request, "/oauth/authorize?" + request.url.query)
            code = new_secret()
            db.add(models.AuthorizationCode(
                code_hash=token_hash(code), client_id=client.client_id, user_id=browser.user.id,
                session_id=browser.row.id, redirect_uri=redirect_uri, scope=" ".join(requested),
                code_challenge=challenge, code_challenge_method=method if challenge else None,
                nonce=params.get("nonce"), expires_at=s.now() + s.settings.code_ttl))
            await db.commit()
        return RedirectResponse(with_query(redirect_uri, {"code": code, "state": state, "iss": s.issuer(request)}),
                                status_code=302)

    # --- sign-in ----------------------------------------------------------------------------------

    async def _channel_links(self, db: AsyncSession, request: Request, target: str) -> list[tuple[str, str]]:
        from urllib.parse import urlencode

        labels = {"WECHAT": "微信扫码登录 / WeChat", "ALIPAY": "支付宝扫码登录 / Alipay", "SFM": "苏服码登录 / 苏服码"}
        rows = await db.scalars(select(models.LoginChannel).where(models.LoginChannel.enabled.is_(True))
                                .order_by(models.LoginChannel.channel))
        root = self.server.root(request)
        return [(labels.get(r.channel, r.channel),
                 f"{root}/oauth/channel/{r.channel.lower()}/start?{urlencode({'continue': target})}") for r in rows]

    async def login_form(self, request: Request, *, target: str, status: int = 200, error: str | None = None,
                         notice: str | None = None, username: str = "") -> Response:
        s = self.server
        csrf, new = s.csrf_token(request)
        async with s.runtime.sessions() as db:
            links = await self._channel_links(db, request, target)
        if notice is None and request.cookies.get("jshealth_bind"):
            notice = ("首次使用第三方登录：请用用户名和密码登录一次以绑定账号 / "
                      "sign in once to link your external account")
        html = pages.login_page(action=f"{s.root(request)}/oauth/login", csrf=csrf, continue_to=target,
                                username=username, error=error, notice=notice, channels=links)
        response = s.html(html, status)
        s.set_csrf(request, response, csrf, new)
        return response

    async def login_get(self, request: Request) -> Response:
        target = self.server.safe_continue(request.query_params.get("continue"))
        return await self.login_form(request, target=target, error=request.query_params.get("error_message"))

    async def login_post(self, request: Request) -> Response:
        s = self.server
        form = await request.form()
        target = s.safe_continue(form.get("continue"))
        username = form.get("username")
        password = form.get("password")
        if not s.csrf_ok(request, form):
            return await self.login_form(request, target=target, status=400,
                                         error="页面已过期，请重试 / the form expired, please try again")
        if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
            return await self.login_form(request, target=target, status=400,
                                         error="请输入用户名和密码 / enter your username and password")
        method = "CAS" if target.startswith("/cas/") else "SSO"
        ip, now, device = s.client_ip(request), s.now(), s.device(request)
        async with s.runtime.sessions() as db:
            user = await db.scalar(select(models.User).where(models.User.username == username))
            refusal = await login_checks.check_login_allowed(db, user, ip=ip, now=now)
            if refusal is not None:
                await login_checks.record_login(db, user=user, username=username, success=False, method=method,
                                                ip=ip, now=now, device=device, failure_reason=refusal.reason)
                await db.commit()
                return await self.login_form(request, target=target, status=403, error=refusal_text(refusal),
                                             username=username)
            if user is None or not verify_password(user.password_hash, password):
                reason = login_checks.ACCOUNT_NOT_FOUND if user is None else login_checks.WRONG_PASSWORD
                await login_checks.record_login(db, user=user, username=username, success=False, method=method,
                                                ip=ip, now=now, device=device, failure_reason=reason)
                await db.commit()
                error = "用户名或密码错误 / wrong username or password"
                if user is not None:  # the failure may just have locked the account
                    after = await login_checks.check_login_allowed(db, user, ip=ip, now=now)
                    if after is not None:
                        error = refusal_text(after)
                return await self.login_form(request, target=target, status=401, error=error, username=username)
            from subgraphs.identity.oauth import channel_login

            bound = await channel_login.bind_pending(s, db, request, user)
            must_change = await password_must_change(db, user, now)
            response = s.continue_response(request, target)
            if must_change:
                response = RedirectResponse(
                    f"{s.root(request)}/oauth/password?{_q({'continue': target})}", status_code=303)
            row = await s.start_session(db, request, user, response, method=MUST_CHANGE if must_change else "PASSWORD")
            await login_checks.record_login(db, user=user, username=username, success=True, method=method, ip=ip,
                                            now=now, device=device, token_id=sid_of(row.id))
            await db.commit()
        if bound:
            channel_login.clear_bind_cookie(s, request, response)
        return response

    async def signed_in(self, request: Request) -> Response:
        s = self.server
        async with s.runtime.sessions() as db:
            browser = await s.browser_session(db, request)
        if browser is None:
            return s.login_redirect(request, "/oauth/signed-in")
        return s.html(pages.message_page("已登录 · Signed in", f"{browser.user.username}"))

    # --- password change ------------------------------------------------------------------------

    async def password_get(self, request: Request, *, errors: list[str] | None = None, status: int = 200) -> Response:
        s = self.server
        target = s.safe_continue(request.query_params.get("continue"))
        async with s.runtime.sessions() as db:
            browser = await s.browser_session(db, request, allow_password_change=True)
        if browser is None:
            return s.login_redirect(request, target)
        reason = ("密码已过期或需要修改，请设置新密码 / your password has expired or must be changed"
                  if browser.row.method == MUST_CHANGE else "修改您的密码 / change your password")
        csrf, new = s.csrf_token(request)
        response = s.html(pages.password_page(action=f"{s.root(request)}/oauth/password?{_q({'continue': target})}",
                                              csrf=csrf, continue_to=target, reason=reason, errors=errors), status)
        s.set_csrf(request, response, csrf, new)
        return response

    async def password_post(self, request: Request) -> Response:
        s = self.server
        form = await request.form()
        target = s.safe_continue(form.get("continue"))
        if not s.csrf_ok(request, form):
            return await self.password_get(request, errors=["页面已过期，请重试 / the form expired"], status=400)
        current, new, confirm = form.get("current_password"), form.get("new_password"), form.get("confirm_password")
        if not all(isinstance(v, str) and v for v in (current, new, confirm)):
            return await self.password_get(request, errors=["请填写所有字段 / fill in every field"], status=400)
        assert isinstance(current, str) and isinstance(new, str)
        now = s.now()
        async with s.runtime.sessions() as db:
            browser = await s.browser_session(db, request, allow_password_change=True)
            if browser is None:
                return s.login_redirect(request, target)
            user = browser.user
            if not verify_password(user.password_hash, current):
                return await self.password_get(request, errors=["当前密码错误 / the current password is wrong"],
                                               status=400)
            if new != confirm:
                return await self.password_get(request, errors=["两次输入的新密码不一致 / the new passwords differ"],
                                               status=400)
            problems = await change_password(db, user, new, now)
            if problems:
                await db.rollback()
                return await self.password_get(request, errors=problems, status=400)
            await db.execute(update(models.AuthSession).where(models.AuthSession.id == browser.row.id)
                             .values(method="PASSWORD", last_seen_at=now))
            await db.commit()
        return s.continue_response(request, target)

    # --- token --------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        s = self.server
        try:
            form = single_values(list((await request.form()).multi_items()))
            async with s.runtime.sessions() as db:
                client, confidential = await s.authenticate_client(db, request, form)
                grant_type = form.get("grant_type")
                if grant_type == GRANT_CODE:
                    body = await self._code_grant(db, request, client, form)
                elif grant_type == GRANT_CLIENT:
                    body = await self._client_grant(db, request, client, confidential, form)
                elif grant_type == GRANT_REFRESH:
                    body = await self._refresh_grant(db, request, client, form)
                elif grant_type is None:
                    raise OAuthError("invalid_request", "grant_type is required")
                else:
                    raise OAuthError("unsupported_grant_type", f"grant_type {grant_type[:40]} is not supported")
                await db.commit()
        except OAuthError as exc:
            return exc.response()
        return JSONResponse(body, headers=NO_STORE)

    async def _code_grant(self, db: AsyncSession, request: Request, client: models.Client,
                          form: dict[str, str]) -> dict[str, Any]:
        s = self.server
        if GRANT_CODE not in client.grant_types:
            raise OAuthError("unauthorized_client", "the client may not use the authorization code grant")
        code = form.get("code")
        if code is None:
            raise OAuthError("invalid_request", "code is required")
        now = s.now()
        code_hash = token_hash(code)
        row = await db.get(models.AuthorizationCode, code_hash)
        if row is None or row.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown authorization code")
        claimed = await db.execute(update(models.AuthorizationCode).where(
            models.AuthorizationCode.code_hash == code_hash, models.AuthorizationCode.used_at.is_(None)
        ).values(used_at=now))
        if getattr(claimed, "rowcount", 0) != 1:
            # A second use: whoever holds the code is not to be trusted; revoke what the first use got.
            await revoke_family(db, family_of_code(code_hash), now)
            await db.commit()
            raise OAuthError("invalid_grant", "the authorization code was already used; its tokens are revoked")
        await db.commit()  # the code is spent whatever happens next
        if row.expires_at <= now:
            raise OAuthError("invalid_grant", "the authorization code has expired")
        if form.get("redirect_uri") != row.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier")
        if row.code_challenge is not None:
            if verifier is None:
                raise OAuthError("invalid_grant", "code_verifier is required")
            if not pkce_value_ok(verifier) or s256(verifier) != row.code_challenge:
                raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
        elif verifier is not None:
            raise OAuthError("invalid_grant", "no code_challenge was sent with the authorization request")
        user = await db.get(models.User, row.user_id)
        if user is None or user.status != "NORMAL":
            raise OAuthError("invalid_grant", "the account can no longer sign in")
        browser = await db.get(models.AuthSession, row.session_id) if row.session_id else None
        if browser is not None and browser.ended_at is not None:
            raise OAuthError("invalid_grant", "the sign-in session has ended")
        issuer = await s.token_issuer(db, request)
        issued = await issuer.issue(db, Grant(
            client=client, scope=row.scope, user=user, session_id=row.session_id, family=family_of_code(code_hash),
            nonce=row.nonce, auth_time=browser.created_at if browser is not None else None,
            with_refresh=GRANT_REFRESH in client.grant_types))
        return issued.response()

    async def _client_grant(self, db: AsyncSession, request: Request, client: models.Client, confidential: bool,
                            form: dict[str, str]) -> dict[str, Any]:
        if not confidential:
            raise OAuthError("unauthorized_client", "client_credentials needs a confidential client")
        if GRANT_CLIENT not in client.grant_types:
            raise OAuthError("unauthorized_client", "the client may not use the client_credentials grant")
        requested = form.get("scope", "").split() or list(client.scopes)
        if not set(requested) <= set(client.scopes):
            raise OAuthError("invalid_scope", "a requested scope is not granted to this client")
        issuer = await self.server.token_issuer(db, request)
        issued = await issuer.issue(db, Grant(client=client, scope=" ".join(requested)))
        return issued.response()

    async def _refresh_grant(self, db: AsyncSession, request: Request, client: models.Client,
                             form: dict[str, str]) -> dict[str, Any]:
        s = self.server
        if GRANT_REFRESH not in client.grant_types:
            raise OAuthError("unauthorized_client", "the client may not use the refresh_token grant")
        presented = form.get("refresh_token")
        if presented is None:
            raise OAuthError("invalid_request", "refresh_token is required")
        now = s.now()
        hashed = token_hash(presented)
        row = await db.get(models.RefreshToken, hashed)
        if row is None or row.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown refresh token")
        if row.revoked_at is not None:
            raise OAuthError("invalid_grant", "the refresh token was revoked")
        claimed = await db.execute(update(models.RefreshToken).where(
            models.RefreshToken.token_hash == hashed, models.RefreshToken.used_at.is_(None)).values(used_at=now))
        if getattr(claimed, "rowcount", 0) != 1:
            # Reuse detection: a rotated-out token came back, so two parties hold the family. End it.
            await revoke_family(db, row.family_id, now)
            await db.commit()
            raise OAuthError("invalid_grant", "the refresh token was already used; the whole grant is revoked")
        if row.expires_at <= now:
            raise OAuthError("invalid_grant", "the refresh token has expired")
        requested = form.get("scope", "").split() or row.scope.split()
        if not set(requested) <= set(row.scope.split()):
            raise OAuthError("invalid_scope", "a refresh cannot widen the scope")
        user = None
        browser = None
        if row.user_id is not None:
            user = await db.get(models.User, row.user_id)
            if user is None or user.status != "NORMAL":
                raise OAuthError("invalid_grant", "the account can no longer sign in")
        if row.session_id is not None:
            browser = await db.get(models.AuthSession, row.session_id)
            if browser is not None and browser.ended_at is not None:
                raise OAuthError("invalid_grant", "the sign-in session has ended (logout)")
        issuer = await s.token_issuer(db, request)
        issued = await issuer.issue(db, Grant(
            client=client, scope=" ".join(requested), user=user, session_id=row.session_id, family=row.family_id,
            auth_time=browser.created_at if browser is not None else None, with_refresh=True))
        return issued.response()

    # --- revocation and introspection -----------------------------------------------------------------

    async def revoke(self, request: Request) -> Response:
        s = self.server
        try:
            form = single_values(list((await request.form()).multi_items()))
            async with s.runtime.sessions() as db:
                client, _ = await s.authenticate_client(db, request, form)
                token = form.get("token")
                if token is None:
                    raise OAuthError("invalid_request", "token is required")
                now = s.now()
                claims = await decode_access_token(db, token, issuer=s.issuer(request), now=now,
                                                   check_expiry=False)
                if claims is not None:
                    if claims.get("client_id") == client.client_id:
                        expires = now + timedelta(seconds=max(0, float(claims["exp"]) - now.timestamp()) + 300)
                        await revoke_key(db, str(claims["jti"]), expires)
                else:
                    row = await db.get(models.RefreshToken, token_hash(token))
                    if row is not None and row.client_id == client.client_id:
                        await revoke_family(db, row.family_id, now)
                await db.commit()
        except OAuthError as exc:
            return exc.response()
        return Response(status_code=200, headers=NO_STORE)

    async def introspect(self, request: Request) -> Response:
        s = self.server
        try:
            form = single_values(list((await request.form()).multi_items()))
            async with s.runtime.sessions() as db:
                await s.authenticate_client(db, request, form, require_secret=True)
                token = form.get("token")
                if token is None:
                    raise OAuthError("invalid_request", "token is required")
                body = await self._introspection(db, request, token)
        except OAuthError as exc:
            return exc.response()
        return JSONResponse(body, headers=NO_STORE)

    async def _introspection(self, db: AsyncSession, request: Request, token: str) -> dict[str, Any]:
        s = self.server
        now = s.now()
        claims = await decode_access_token(db, token, issuer=s.issuer(request), now=now)
        if claims is not None:
            if await is_revoked(db, claims):
                return {"active": False}
            body: dict[str, Any] = {"active": True, "token_type": "Bearer", **{k: claims[k] for k in (
                "scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti", "org", "region", "roles",
                "data_scope", "person", "sid") if k in claims}}
            if "sid" in claims:
                user = await db.get(models.User, claims.get("sub", ""))
                if user is not None:
                    body["username"] = user.username
            return body
        row = await db.get(models.RefreshToken, token_hash(token))
        if row is None or row.used_at is not None or row.revoked_at is not None or row.expires_at <= now:
            return {"active": False}
        return {"active": True, "token_type": "refresh_token", "scope": row.scope, "client_id": row.client_id,
                "sub": row.user_id or row.client_id, "exp": int(row.expires_at.timestamp()),
                "iat": int(row.issued_at.timestamp()), "iss": s.issuer(request)}

    # --- userinfo and logout -----------------------------------------------------------------------

    async def userinfo(self, request: Request) -> Response:
        s = self.server
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else None
        challenge = 'Bearer error="invalid_token"'
        if not token:
            return JSONResponse({"error": "invalid_token"}, status_code=401,
                                headers={**NO_STORE, "WWW-Authenticate": "Bearer"})
        async with s.runtime.sessions() as db:
            claims = await decode_access_token(db, token, issuer=s.issuer(request), now=s.now())
            if claims is None or await is_revoked(db, claims):
                return JSONResponse({"error": "invalid_token"}, status_code=401,
                                    headers={**NO_STORE, "WWW-Authenticate": challenge})
            scopes = str(claims.get("scope", "")).split()
            if "openid" not in scopes:
                return JSONResponse({"error": "insufficient_scope"}, status_code=403, headers={
                    **NO_STORE, 'WWW-Authenticate': 'Bearer error="insufficient_scope", scope="openid"'})
            user = await db.get(models.User, claims.get("sub", ""))
            if user is None:
                return JSONResponse({"error": "invalid_token"}, status_code=401,
                                    headers={**NO_STORE, "WWW-Authenticate": challenge})
            body: dict[str, Any] = {"sub": user.id, "org": claims.get("org"), "region": claims.get("region"),
                                    "roles": claims.get("roles", []), "data_scope": claims.get("data_scope")}
            if "profile" in scopes:
                body["preferred_username"] = user.username
                body["name"] = await display_name(db, s, user)
            if "email" in scopes and user.email:
                body["email"] = user.email
        return JSONResponse(body, headers=NO_STORE)

    async def logout(self, request: Request) -> Response:
        """Ends the browser session and destroys its tokens (tender: 清除当前登录状态、销毁登录令牌); an
        access token presented as a Bearer credential is revoked with its session."""
        s = self.server
        params = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        now = s.now()
        redirect = params.get("post_logout_redirect_uri")
        async with s.runtime.sessions() as db:
            cookie_session = request.cookies.get("jshealth_sso")
            if cookie_session:
                await s.end_session(db, token_hash(cookie_session))
            header = request.headers.get("authorization", "")
            if header[:7].lower() == "bearer ":
                claims = await decode_access_token(db, header[7:].strip(), issuer=s.issuer(request), now=now)
                if claims is not None:
                    await revoke_key(db, str(claims["jti"]), now + timedelta(days=1, minutes=5))
                    sid = claims.get("sid")
                    if isinstance(sid, str) and sid:
                        for row_id in await db.scalars(select(models.AuthSession.id).where(
                                models.AuthSession.id.startswith(sid, autoescape=True))):
                            await s.end_session(db, row_id)
            allowed: list[str] = []
            client_id = params.get("client_id")
            hint = params.get("id_token_hint")
            if hint:
                id_claims = await decode_access_token(db, hint, issuer=s.issuer(request), now=now,
                                                      check_expiry=False, typ="JWT")
                if id_claims is not None:
                    client_id = str(id_claims.get("aud"))
            if client_id:
                client = await db.get(models.Client, client_id)
                allowed = list(client.redirect_uris) if client is not None else []
            await db.commit()
        if redirect and redirect in allowed:
            response: Response = RedirectResponse(with_query(redirect, {"state": params.get("state")}),
                                                  status_code=302)
        else:
            response = s.html(pages.message_page("已退出 · Signed out", "您已安全退出 / you are signed out"))
        s.clear_session_cookie(request, response)
        return response


def _q(values: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(values)


def refusal_text(refusal: login_checks.LoginRefusal) -> str:
    texts = {
        login_checks.LOCKED: "账号已锁定 / the account is locked after too many failed sign-ins",
        login_checks.IP_RESTRICTED: "当前IP地址禁止登录 / sign-in from this address is not allowed",
        login_checks.NOT_PERMITTED: "该账号无法登录 / this account cannot sign in",
    }
    text = texts.get(refusal.reason, refusal.message)
    if refusal.retry_after_seconds:
        minutes = max(1, (refusal.retry_after_seconds + 59) // 60)
        text += f"（请{minutes}分钟后再试 / try again in {minutes} min）"
    return text


async def password_must_change(db: AsyncSession, user: models.User, now: Any) -> bool:
    """An administrator's reset or an expired password (the password policy's expiry)."""
    if user.must_change_password:
        return True
    try:
        from subgraphs.identity.security.passwords import PasswordPolicy, password_status
        from subgraphs.identity.security.policy import load_policy
    except ImportError:  # the password policy module is not there: only the explicit flag counts
        return False
    policy = await load_policy(db, PasswordPolicy)
    return password_status(user, policy, now).must_change


async def change_password(db: AsyncSession, user: models.User, new: str, now: Any) -> list[str]:
    try:
        from subgraphs.identity.security.passwords import PasswordPolicy, set_password, validate_new_password
        from subgraphs.identity.security.policy import load_policy
    except ImportError:
        from subgraphs.identity.security.hashing import hash_password

        if len(new) < 8:
            return ["The password must have at least 8 characters."]
        user.password_hash, user.password_changed_at, user.must_change_password = hash_password(new), now, False
        return []
    policy = await load_policy(db, PasswordPolicy)
    problems = await validate_new_password(db, user, new, policy, now)
    if not problems:
        await set_password(db, user, new, now)
    return problems


async def display_name(db: AsyncSession, server: OAuthServer, user: models.User) -> str | None:
    if user.name_cipher is None:
        return user.display_name
    try:
        from subgraphs.identity.security.crypto import CryptoError, FieldCipher, load_keyring

        cipher = FieldCipher(await load_keyring(db, server.master, create=False))
        return cipher.decrypt(user.name_cipher)
    except (CryptoError, ValueError):
        return None

