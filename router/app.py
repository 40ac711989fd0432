"""The router as its own process: `uvicorn --factory router.app:app` (or `python -m router serve`).

Configuration comes from router/config.py: a TOML file (ROUTER_CONFIG) and environment overrides; the
subgraph URLs come from the supergraph's join__graph directives unless configured otherwise.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from router.config import ConfigError, RouterConfig, check_against_supergraph, load_config
from router.gateway import Gateway
from router.server import create_router_app
from router.supergraph import Supergraph, SupergraphError
from router.transport import FORWARDED_HEADERS, DeduplicatingClient, HttpSubgraphClient


def build(config: RouterConfig) -> Starlette:
    try:
        with open(config.supergraph_path, encoding="utf-8") as handle:
            supergraph = Supergraph(handle.read())
    except OSError as exc:
        raise SupergraphError(f"cannot read the supergraph {config.supergraph_path}: {exc}") from exc
    check_against_supergraph(config, set(supergraph.graph_by_name))
    urls = {g.name: g.url for g in supergraph.graphs.values()}
    timeouts: dict[str, float] = {}
    for name, settings in config.subgraphs.items():
        if settings.url:
            urls[name] = settings.url
        if settings.timeout_seconds is not None:
            timeouts[name] = settings.timeout_seconds
    forward = FORWARDED_HEADERS + tuple(h.lower() for h in config.forward_headers if h.lower() not in FORWARDED_HEADERS)
    client = DeduplicatingClient(HttpSubgraphClient(urls, forward_headers=forward, timeouts=timeouts))
    gateway = Gateway(supergraph, client, introspection=config.server.flag("introspection"))
    inner = create_router_app(gateway, config.server, config.limits)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await client.close()

    outer = Starlette(lifespan=lifespan)
    outer.mount("/", inner)
    outer.state.gateway = gateway
    outer.state.config = config
    return outer


def app() -> Starlette:
    try:
        return build(load_config())
    except ConfigError as exc:
        raise SystemExit(f"router configuration: {exc}") from exc
