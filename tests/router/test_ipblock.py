"""The IP blacklist at the router (router/ipblock.py): identity's list, enforced before anything else on
every request, refreshed from identity, kept when identity cannot be reached."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from db.engine import make_engine
from db.migrate import upgrade
from router.caller_token import CallerTokenMinter
from router.ipblock import IpBlocklist
from subgraphs.identity.security.blacklist import NewEntry, add_entries, delete_entries
from subgraphs.launch import create_embedded_app

QUERY = {"query": "{ __typename }"}


async def test_addresses_and_ranges_v4_and_v6() -> None:
    networks = ["203.0.113.7", "198.51.100.0/24", "2001:db8::/32"]

    async def source() -> list[str]:
        return networks

    blocklist = IpBlocklist(source)
    assert await blocklist.refresh()
    for address in ("203.0.113.7", "198.51.100.200", "2001:db8::1", "::ffff:198.51.100.9"):
        assert blocklist.blocked(address), address
    for address in ("203.0.113.8", "198.51.101.1", "2001:db9::1", None, "not-an-ip"):
        assert not blocklist.blocked(address), address


async def test_a_failed_refresh_keeps_the_last_list() -> None:
    answers: list[list[str] | Exception] = [["192.0.2.1"], RuntimeError("identity is down")]

    async def source() -> list[str]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    blocklist = IpBlocklist(source)
    assert await blocklist.refresh()
    assert not await blocklist.refresh()
    assert blocklist.blocked("192.0.2.1") and "identity is down" in (blocklist.last_error or "")




async def test_embedded_router_refuses_a_blacklisted_address_once_identity_lists_it(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ipblock.db'}"
    engine = make_engine("identity", url)
    await upgrade(engine, "identity")
    await engine.dispose()
    app = await create_embedded_app(url)
    identity = app.state.runtimes["identity"]
    blocked = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    other = httpx.ASGITransport(app=app, client=("203.0.113.8", 40000))
    async with httpx.AsyncClient(transport=blocked, base_url="http://e") as attacker, \
            httpx.AsyncClient(transport=other, base_url="http://e") as neighbour:
        assert (await attacker.post("/graphql", json=QUERY)).status_code == 200
        async with identity.sessions() as session, session.begin():
            [entry] = await add_entries(session, [NewEntry("203.0.113.0/28", remark="scanner")],
                                        now=datetime.now(UTC))
        await app.state.ip_blocklist.refresh()  # what the 2 s refresh loop does
        refused = await attacker.post("/graphql", json=QUERY)
        assert refused.status_code == 403 and refused.json()["errors"][0]["extensions"]["code"] == "IP_BLOCKED"
        # a token does not help
        assert (await attacker.post("/graphql", json=QUERY, headers={"authorization": "Bearer x.y.z"})
                ).status_code == 403
        assert (await neighbour.post("/graphql", json=QUERY)).status_code == 403  # .8 is inside /28
        async with identity.sessions() as session, session.begin():
            await delete_entries(session, [entry.id])
        await app.state.ip_blocklist.refresh()
        assert (await attacker.post("/graphql", json=QUERY)).status_code == 200


async def test_identity_serves_the_list_to_the_router_only(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ipblock.db'}"
    engine = make_engine("identity", url)
    await upgrade(engine, "identity")
    await engine.dispose()
    app = await create_embedded_app(url)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e") as http:
        assert (await http.get("/subgraphs/identity/security/ip-blacklist")).status_code == 401
        forged = CallerTokenMinter().mint(None, "identity")
        assert (await http.get("/subgraphs/identity/security/ip-blacklist",
                               headers={"authorization": f"Bearer {forged}"})).status_code == 401
        genuine = app.state.caller_minter.mint(None, "identity")
        answer = await http.get("/subgraphs/identity/security/ip-blacklist",
                                headers={"authorization": f"Bearer {genuine}"})
        assert answer.status_code == 200 and answer.json() == {"networks": []}
