from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from support import TEST_PERSONS, TEST_SEED

from subgraphs.common.app import SeedOptions
from subgraphs.launch import create_embedded_app, setup_databases


@pytest.fixture(scope="session")
async def embedded_app(sqlite_url: str) -> AsyncIterator[Starlette]:
    await setup_databases(sqlite_url, SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS), log=False)
    app = await create_embedded_app(sqlite_url)
    async with app.router.lifespan_context(app):
        await settle(app)
        yield app


async def settle(app: Starlette) -> None:
    """Wait until the seed's events have been published and consumed (licences' ingestion samples announce
    their licences, services records the holdings), so that tests measure their own requests only."""
    runtimes = app.state.runtimes.values()
    buses = {id(r.bus): r.bus for r in runtimes}.values()
    while True:
        published = sum([await r.relay.relay_once() for r in runtimes])
        for bus in buses:
            await bus.drain()  # type: ignore[attr-defined]
        if not published:
            return


@pytest.fixture
async def client(embedded_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=embedded_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://embedded") as http:
        yield http
