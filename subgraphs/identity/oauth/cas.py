"""CAS 2.0/3.0 for the legacy systems (the tender's OAuth2.0/CAS双协议): /cas/login, /cas/serviceValidate,
/cas/p3/serviceValidate (with attributes), /cas/logout, sharing the SSO session and sign-in page.

A service is registered as a client whose grant_types include "cas"; its redirect_uris are the service
URL prefixes it may use (a service matches a prefix exactly, or continues it after "/", "?" or "#", so
"https://his.example/app" does not admit "https://his.example/application"). Service tickets (ST-...)
are single-use and live `IDENTITY_CAS_TICKET_TTL` seconds (default 10, the CAS server's customary value);
a validation attempt spends the ticket whether it succeeds or not (CAS protocol 3.0, section 3.1.1).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from html import escape

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from subgraphs.identity import models
from subgraphs.identity.oauth import pages
from subgraphs.identity.oauth.server import OAuthServer, with_query
from subgraphs.identity.oauth.tokens import user_claims

CAS_NS = "http://www.yale.edu/tp/cas"
INVALID_REQUEST, INVALID_TICKET, INVALID_SERVICE = "INVALID_REQUEST", "INVALID_TICKET", "INVALID_SERVICE"


def service_matches(service: str, prefix: str) -> bool:
    if service == prefix:
        return True
    if not service.startswith(prefix):
        return False
    return prefix.endswith(("/", "?", "#")) or service[len(prefix)] in "/?#"


async def registered_service(db: AsyncSession, service: str) -> models.Client | None:
    for client in await db.scalars(select(models.Client).where(models.Client.status == "ENABLED")):
        if "cas" in (client.grant_types or []) and any(service_matches(service, p) for p in client.redirect_uris):
            return client
    return None


def _xml(body: str) -> Response:
    return Response(f'<cas:serviceResponse xmlns:cas="{CAS_NS}">\n{body}\n</cas:serviceResponse>\n',
                    media_type="application/xml; charset=utf-8", headers={"Cache-Control": "no-store"})


def failure(code: str, message: str) -> Response:
    return _xml(f'  <cas:authenticationFailure code="{code}">{escape(message)}</cas:authenticationFailure>')


class Cas:
    def __init__(self, server: OAuthServer) -> None:
        self.server = server

    async def login(self, request: Request) -> Response:
        s = self.server
        service = request.query_params.get("service")
        gateway = request.query_params.get("gateway") in ("true", "1")
        async with s.runtime.sessions() as db:
            if service is not None and await registered_service(db, service) is None:
                return s.error_page("该应用未登记为CAS服务 / the service is not registered for CAS", 403)
            browser = await s.browser_session(db, request)
            if browser is None:
                if gateway and service is not None:
                    return RedirectResponse(service, status_code=302)
                return s.login_redirect(request, "/cas/login?" + request.url.query)
            if service is None:
                return s.html(pages.message_page("已登录 · Signed in", browser.user.username))
            ticket = "ST-" + secrets.token_urlsafe(32)
            db.add(models.CasTicket(ticket=ticket, service=service, user_id=browser.user.id,
                                    session_id=browser.row.id, expires_at=s.now() + s.settings.cas_ticket_ttl))
            await db.commit()
        return RedirectResponse(with_query(service, {"ticket": ticket}), status_code=302)

    async def service_validate(self, request: Request) -> Response:
        return await self._validate(request, attributes=False)

    async def p3_service_validate(self, request: Request) -> Response:
        return await self._validate(request, attributes=True)

    async def _validate(self, request: Request, *, attributes: bool) -> Response:
        s = self.server
        service = request.query_params.get("service")
        ticket = request.query_params.get("ticket")
        if not service or not ticket:
            return failure(INVALID_REQUEST, "service and ticket are required")
        now = s.now()
        async with s.runtime.sessions() as db:
            row = await db.get(models.CasTicket, ticket)
            if row is None or not ticket.startswith("ST-"):
                return failure(INVALID_TICKET, f"ticket {ticket[:40]} not recognized")
            spent = await db.execute(update(models.CasTicket).where(
                models.CasTicket.ticket == ticket, models.CasTicket.used_at.is_(None)).values(used_at=now))
            await db.commit()
            if getattr(spent, "rowcount", 0) != 1:
                return failure(INVALID_TICKET, f"ticket {ticket[:40]} was already used")
            if row.expires_at <= now:
                return failure(INVALID_TICKET, f"ticket {ticket[:40]} has expired")
            if row.service != service:
                return failure(INVALID_SERVICE, "the ticket was issued for another service")
            user = await db.get(models.User, row.user_id)
            browser = await db.get(models.AuthSession, row.session_id) if row.session_id else None
            if user is None or user.status != "NORMAL" or (browser is not None and browser.ended_at is not None):
                return failure(INVALID_TICKET, "the sign-in behind the ticket is no longer valid")
            body = f"    <cas:user>{escape(user.username)}</cas:user>"
            if attributes:
                body += "\n" + await self._attributes(db, user, browser, now)
        return _xml(f"  <cas:authenticationSuccess>\n{body}\n  </cas:authenticationSuccess>")

    async def _attributes(self, db: AsyncSession, user: models.User, browser: models.AuthSession | None,
                          now: datetime) -> str:
        claims = await user_claims(db, user)
        auth_time = browser.created_at if browser is not None else now
        values: list[tuple[str, str]] = [
            ("authenticationDate", auth_time.isoformat().replace("+00:00", "Z")),
            ("isFromNewLogin", "true" if browser is not None and (now - browser.created_at).total_seconds() < 60
             else "false"),
            ("longTermAuthenticationRequestTokenUsed", "false"),
            ("userId", user.id),
            ("organizationId", str(claims["org"])),
        ]
        if claims.get("region"):
            values.append(("region", str(claims["region"])))
        if user.display_name:
            values.append(("name", user.display_name))
        if user.email:
            values.append(("email", user.email))
        if claims.get("data_scope"):
            values.append(("dataScope", str(claims["data_scope"])))
        values += [("role", role) for role in claims["roles"]]
        lines = "".join(f"\n      <cas:{name}>{escape(value)}</cas:{name}>" for name, value in values)
        return f"    <cas:attributes>{lines}\n    </cas:attributes>"

    async def logout(self, request: Request) -> Response:
        s = self.server
        service = request.query_params.get("service")
        async with s.runtime.sessions() as db:
            cookie = request.cookies.get("jshealth_sso")
            if cookie:
                from subgraphs.identity.oauth.tokens import token_hash

                await s.end_session(db, token_hash(cookie))
            target = service if service and await registered_service(db, service) is not None else None
            await db.commit()
        response: Response
        if target:
            response = RedirectResponse(target, status_code=302)
        else:
            response = s.html(pages.message_page("已退出 · Signed out", "您已安全退出 / you are signed out"))
        s.clear_session_cookie(request, response)
        return response
