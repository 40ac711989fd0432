"""Shared setup of the authorization-server tests (test_identity_oauth_*.py): a migrated identity database of
their own (SQLite, so that the session's seeded graph keeps its counts), a few users, roles and clients,
the endpoints mounted under /subgraphs/identity as in the embedded mode and served over real HTTP by
uvicorn on the tests' event loop, an injectable clock, and helpers that walk the browser flows."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import uvicorn
from oauth_browser import (  # noqa: F401 - the flow helpers, re-exported for the OAuth tests
    ALICE,
    ALICE_PW,
    PREFIX,
    SPA,
    SPA_REDIRECT,
    authorize_url,
    continue_of,
    csrf_of,
    exchange,
    pkce_pair,
    query_of,
    sign_in_and_authorize,
    submit_login,
)
from starlette.applications import Starlette
from starlette.routing import Mount

from db.engine import make_engine
from db.migrate import upgrade
from subgraphs.common.app import Runtime, SubgraphDefinition
from subgraphs.common.bus import InProcessBus
from subgraphs.identity import models, oauth
from subgraphs.identity.oauth.config import OAuthSettings
from subgraphs.identity.security.crypto import MasterKey
from subgraphs.identity.security.hashing import hash_password

ORG = "org-oauth-test"
BOB, BOB_PW = "oauth.bob", "Bob#2026pw!"
CAROL, CAROL_PW = "oauth.carol", "Carol#2026pw"
DAVE, DAVE_PW = "oauth.dave", "Dave#2026pw!"
HIS, HIS_SECRET = "his-web", "his-secret-value-1"
BATCH, BATCH_SECRET = "batch-sys", "batch-secret-value-1"
FENCED, FENCED_SECRET = "fenced-sys", "fenced-secret-value-1"
OFF, OFF_SECRET = "disabled-sys", "disabled-secret-value-1"
LEGACY = "legacy-his"
LEGACY_SERVICE = "https://legacy.test/app"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def reset(self) -> None:
        """Back to the wall clock (the router's verifier checks iat and exp against it)."""
        self.now = datetime.now(UTC)


@dataclass
class World:
    runtime: Runtime
    clock: FakeClock
    origin: str
    master: MasterKey
    users: dict[str, str] = field(default_factory=dict)  # username -> id

    @property
    def issuer(self) -> str:
        return self.origin + PREFIX

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.origin, follow_redirects=False, timeout=20,
                                 headers={"user-agent": "pytest-browser/1.0"})


async def _populate(runtime: Runtime, now: datetime) -> dict[str, str]:
    users: dict[str, str] = {}
    async with runtime.sessions() as db, db.begin():
        db.add(models.Organization(id=ORG, name="南京市测试医院", kind="HOSPITAL", level="CITY", region_code="320100",
                                   credit_code="12320100MB0000000X"))
        await db.flush()
        for index, (name, password, must_change) in enumerate(
                [(ALICE, ALICE_PW, False), (BOB, BOB_PW, False), (CAROL, CAROL_PW, True), (DAVE, DAVE_PW, False)]):
            user_id = f"usr-oauth-{index}"
            users[name] = user_id
            db.add(models.User(id=user_id, username=name, display_name=name.split(".")[1].title(), organization_id=ORG,
                               status="NORMAL", created_at=now, password_hash=hash_password(password),
                               password_changed_at=now, must_change_password=must_change, email=f"{name}@test.cn"))
        db.add_all([
            models.Role(id="role-oauth-doc", code="DOCTOR", name="医生", kind="BUSINESS", status="ENABLED",
                        created_at=now),
            models.Role(id="role-oauth-aud", code="AUDITOR", name="审计", kind="BUSINESS", status="ENABLED",
                        created_at=now),
            models.Role(id="role-oauth-off", code="SUPER", name="停用角色", kind="ADMIN", status="DISABLED",
                        created_at=now),
            models.Permission(id="perm-oauth-own", kind="DATA", code="records.own", name="本机构数据",
                              data_scope="OWN_ORG"),
            models.Permission(id="perm-oauth-cross", kind="DATA", code="records.cross", name="跨机构数据",
                              data_scope="CROSS_ORG"),
            models.Permission(id="perm-oauth-all", kind="DATA", code="records.all", name="全部数据",
                              data_scope="ALL"),
        ])
        await db.flush()
        db.add_all([
            models.UserRole(user_id=users[ALICE], role_id="role-oauth-doc"),
            models.UserRole(user_id=users[ALICE], role_id="role-oauth-aud"),
            models.UserRole(user_id=users[ALICE], role_id="role-oauth-off"),
            models.RolePermission(role_id="role-oauth-doc", permission_id="perm-oauth-own"),
            models.RolePermission(role_id="role-oauth-aud", permission_id="perm-oauth-cross"),
            models.RolePermission(role_id="role-oauth-off", permission_id="perm-oauth-all"),  # disabled role
        ])
        scopes = ["openid", "profile", "email", "graph:read", "graph:write"]
        code_grants = ["authorization_code", "refresh_token"]
        db.add_all([
            models.Client(client_id=SPA, name="门户", kind="WEB", grant_types=code_grants,
                          redirect_uris=[SPA_REDIRECT, "http://app.test/other"], scopes=scopes[:4], created_at=now),
            models.Client(client_id=HIS, name="HIS", kind="WEB", secret_hash=hash_password(HIS_SECRET),
                          grant_types=[*code_grants, "client_credentials"], redirect_uris=["https://his.test/cb"],
                          scopes=scopes, created_at=now),
            models.Client(client_id=BATCH, name="批处理", kind="SYSTEM", secret_hash=hash_password(BATCH_SECRET),
                          grant_types=["client_credentials"], scopes=["graph:read", "graph:write"],
                          ip_allow=["127.0.0.0/8", "::1/128"], organization_id=ORG, created_at=now),
            models.Client(client_id=FENCED, name="限IP", kind="SYSTEM", secret_hash=hash_password(FENCED_SECRET),
                          grant_types=["client_credentials"], scopes=["graph:read"], ip_allow=["10.1.0.0/16"],
                          created_at=now),
            models.Client(client_id=OFF, name="停用", kind="SYSTEM", secret_hash=hash_password(OFF_SECRET),
                          grant_types=["client_credentials"], scopes=["graph:read"], status="DISABLED",
                          created_at=now),
            models.Client(client_id=LEGACY, name="老HIS", kind="WEB", grant_types=["cas"],
                          redirect_uris=[LEGACY_SERVICE], scopes=[], created_at=now),
        ])
    return users


async def _no_seed(_session: Any, _options: Any) -> None:
    return None


async def _seeded(_session: Any) -> bool:
    return True


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    directory: Path = tmp_path_factory.mktemp("oauth")
    engine = make_engine("identity", f"sqlite+aiosqlite:///{directory / 'oauth.db'}")
    await upgrade(engine, "identity")
    # The endpoints need identity's tables, not its GraphQL schema: a definition without one keeps these
    # tests independent of the schema's state.
    definition = SubgraphDefinition(name="identity", schema=cast(Any, None), base=models.Base,
                                    outbox=models.OutboxEvent, make_loaders=lambda _s: None, seed=_no_seed,
                                    is_seeded=_seeded)
    runtime = Runtime(definition, engine, InProcessBus())
    clock = FakeClock()
    users = await _populate(runtime, clock.now)
    master = MasterKey(secrets.token_bytes(32))
    identity = Starlette(routes=list(oauth.routes(runtime, OAuthSettings(clock=clock), master)))
    app = Starlette(routes=[Mount(PREFIX, identity)])
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield World(runtime, clock, f"http://127.0.0.1:{sock.getsockname()[1]}", master, users)
    finally:
        server.should_exit = True
        await task
        sock.close()
        await engine.dispose()


# --- browser helpers ---------------------------------------------------------------------------------


async def user_tokens(world: World, username: str = ALICE, password: str = ALICE_PW,
                      scope: str = "openid profile graph:read") -> dict[str, Any]:
    async with world.browser() as browser:
        verifier, challenge = pkce_pair()
        result = await sign_in_and_authorize(browser, authorize_url(challenge=challenge, scope=scope), username,
                                             password)
        response = await exchange(browser, result["code"], verifier)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body
