"""The router as its own process: `uvicorn --factory router.app:app`.

ROUTER_SUPERGRAPH: the supergraph file (default schema.graphql). ROUTER_SUBGRAPH_URLS: overrides of the
URLs in it, `name=url,name=url` (as deployments rarely run subgraphs where the composer assumed).
ROUTER_DEV=0 turns off the development aids (GraphiQL, query plans in responses).
ROUTER_FORWARD_HEADERS: client headers passed on to subgraphs besides the standard ones (request id,
trace context, authorization, accept-language). ROUTER_SUBGRAPH_TIMEOUTS: `name=seconds,...`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from router.gateway import Gateway
from router.server import create_router_app
from router.supergraph import Supergraph, SupergraphError
from router.transport import DeduplicatingClient, HttpSubgraphClient, forward_headers_from_env


def parse_url_overrides(raw: str) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise SupergraphError(f"ROUTER_SUBGRAPH_URLS item {item!r} is not name=url")
        overrides[name.strip()] = url.strip()
    return overrides


def parse_timeouts(raw: str) -> dict[str, float]:
    """ROUTER_SUBGRAPH_TIMEOUTS: `name=seconds,...`, a subgraph's own limit (the default is 30 s)."""
    timeouts: dict[str, float] = {}
    for name, url in parse_url_overrides(raw).items():
        try:
            timeouts[name] = float(url)
        except ValueError as exc:
            raise SupergraphError(f"ROUTER_SUBGRAPH_TIMEOUTS: {url!r} is not a number of seconds") from exc
    return timeouts


def app() -> Starlette:
    path = os.environ.get("ROUTER_SUPERGRAPH", "schema.graphql")
    with open(path, encoding="utf-8") as handle:
        supergraph = Supergraph(handle.read())
    urls = {g.name: g.url for g in supergraph.graphs.values()}
    overrides = parse_url_overrides(os.environ.get("ROUTER_SUBGRAPH_URLS", ""))
    unknown = set(overrides) - set(urls)
    if unknown:
        raise SupergraphError(f"ROUTER_SUBGRAPH_URLS names subgraphs not in the supergraph: {sorted(unknown)}")
    urls.update(overrides)
    client = DeduplicatingClient(HttpSubgraphClient(
        urls, forward_headers=forward_headers_from_env(os.environ.get("ROUTER_FORWARD_HEADERS")),
        timeouts=parse_timeouts(os.environ.get("ROUTER_SUBGRAPH_TIMEOUTS", "")),
    ))
    gateway = Gateway(supergraph, client)
    dev = os.environ.get("ROUTER_DEV", "1") != "0"
    inner = create_router_app(gateway, graphiql=dev, expose_plans=dev)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await client.close()

    outer = Starlette(lifespan=lifespan)
    outer.mount("/", inner)
    outer.state.gateway = gateway
    return outer
