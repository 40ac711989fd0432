"""Configuring the third-party login channels (subgraphs/identity/oauth/graphql.py): a province-wide
administrator switches a channel on with its endpoints and secret; the secret is stored sealed and never
read back; the sign-in endpoints use what was saved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from identity_callers import admin_caller, user_caller
from support import make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.identity import models
from subgraphs.identity.app import definition
from subgraphs.identity.oauth.channel_login import unwrap_channel_secret
from subgraphs.identity.security.crypto import MASTER_KEY_ENV, master_key

MASTER = "ab" * 32
CONFIGURE = """mutation($on: Boolean, $url: String, $app: String, $secret: String, $extra: JSON) {
  configureLoginChannel(channel: WECHAT, enabled: $on, baseUrl: $url, appId: $app, secret: $secret, extra: $extra) {
    channel enabled baseUrl appId extra secretSet } }"""


@pytest.fixture
async def runtime(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    monkeypatch.setenv(MASTER_KEY_ENV, MASTER)
    rt = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    yield rt
    await rt.engine.dispose()


async def run(rt: Runtime, query: str, variables: dict[str, Any], caller: Caller | None) -> Any:
    return await rt.definition.schema.execute(query, variable_values=variables, context_value=rt.context(caller=caller))


async def test_switch_on_needs_endpoint_app_id_and_secret_which_is_never_returned(runtime: Runtime) -> None:
    admin = await admin_caller(runtime)
    incomplete = await run(runtime, CONFIGURE, {"on": True, "app": "wx-1"}, admin)
    assert incomplete.errors and incomplete.errors[0].extensions["argument"] == "enabled"
    done = await run(runtime, CONFIGURE, {"on": True, "url": "https://api.weixin.qq.com/", "app": "wx-1",
                                          "secret": "s3cr3t", "extra": {"mode": "oauth"}}, admin)
    assert done.errors is None
    assert done.data["configureLoginChannel"] == {"channel": "WECHAT", "enabled": True, "appId": "wx-1",
                                                  "baseUrl": "https://api.weixin.qq.com", "extra": {"mode": "oauth"},
                                                  "secretSet": True}
    async with runtime.sessions() as session:
        row = await session.get(models.LoginChannel, "WECHAT")
        assert row is not None and row.secret is not None and b"s3cr3t" not in row.secret
        assert unwrap_channel_secret(master_key(), "WECHAT", row.secret) == "s3cr3t"
    # switching off keeps the rest
    off = await run(runtime, CONFIGURE, {"on": False}, admin)
    assert off.data["configureLoginChannel"]["enabled"] is False and off.data["configureLoginChannel"]["secretSet"]
    listed = await run(runtime, "{ loginChannels { channel enabled secretSet } }", {}, admin)
    assert listed.data["loginChannels"] == [{"channel": "WECHAT", "enabled": False, "secretSet": True},
                                            {"channel": "ALIPAY", "enabled": False, "secretSet": False},
                                            {"channel": "SFM", "enabled": False, "secretSet": False}]


async def test_only_a_province_administrator_configures(runtime: Runtime) -> None:
    city_admin = await user_caller(runtime, data_scope="OWN_ORG", region="320500")
    refused = await run(runtime, CONFIGURE, {"on": False}, city_admin)
    assert refused.errors and refused.errors[0].extensions["code"] == "FORBIDDEN"
    anonymous = await run(runtime, CONFIGURE, {"on": False}, None)
    assert anonymous.errors and anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"
    bad = await run(runtime, CONFIGURE, {"url": "ftp://x"}, await admin_caller(runtime))
    assert bad.errors and bad.errors[0].extensions["argument"] == "baseUrl"
