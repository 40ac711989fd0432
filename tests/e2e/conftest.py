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
        yield app


@pytest.fixture
async def client(embedded_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=embedded_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://embedded") as http:
        yield http
