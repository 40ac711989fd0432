"""Hot reload of the supergraph: swapped under load without a failed request; a bad file is refused
and the old supergraph keeps serving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fixture_cases import CASES
from fixture_subgraphs import serve_fixture
from reference_gateway import with_subgraph_urls

from router.app import build
from router.config import load_config


async def test_a_changed_supergraph_is_swapped_under_load_and_a_bad_one_refused(tmp_path: Path) -> None:
    chain, keys = CASES["chain"], CASES["keys"]
    assert chain.supergraph_sdl is not None and keys.supergraph_sdl is not None
    chain_query = next(o for o in chain.operations.values() if not o.down and not o.delays)
    keys_query = next(iter(keys.operations.values()))
    with serve_fixture(chain.subgraphs) as chain_urls, serve_fixture(keys.subgraphs) as keys_urls:
        file = tmp_path / "supergraph.graphql"
        file.write_text(with_subgraph_urls(chain.supergraph_sdl, chain_urls), encoding="utf-8")
        config_file = tmp_path / "router.toml"
        config_file.write_text(f'[supergraph]\npath = "{file}"\n', encoding="utf-8")
        app = build(load_config(str(config_file), {}))
        watcher = app.state.watcher
        watcher.interval = 0.05
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://router") as client:
            stop = asyncio.Event()
            answers: list[httpx.Response] = []

            async def load() -> None:
                while not stop.is_set():
                    answers.append(await client.post("/graphql", json={
                        "query": chain_query.query, "variables": dict(chain_query.variables or {})}))

            workers = [asyncio.create_task(load()) for _ in range(8)]
            for round_ in range(3):
                await asyncio.sleep(0.1)
                file.write_text(with_subgraph_urls(chain.supergraph_sdl, chain_urls) + f"\n# edit {round_}\n",
                                encoding="utf-8")
                await asyncio.sleep(0.2)
            stop.set()
            await asyncio.gather(*workers)
            assert app.state.gateway.generation >= 3
            assert len(answers) > 20
            assert all(a.status_code == 200 and a.json().get("data") == chain_query.expected_data for a in answers)

            file.write_text("this is not a supergraph", encoding="utf-8")
            await asyncio.sleep(0.3)
            health = (await client.get("/health")).json()
            assert "does not parse" in health["supergraph"]["reload_error"]
            still = (await client.post("/graphql", json={
                "query": chain_query.query, "variables": dict(chain_query.variables or {})})).json()
            assert still.get("data") == chain_query.expected_data

            file.write_text(with_subgraph_urls(keys.supergraph_sdl, keys_urls), encoding="utf-8")
            await asyncio.sleep(0.3)
            swapped = (await client.post("/graphql", json={
                "query": keys_query.query, "variables": dict(keys_query.variables or {})})).json()
            assert swapped.get("data") == keys_query.expected_data
