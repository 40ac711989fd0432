"""Router benchmarks, in-process (embedded mode), reported as ratios against a baseline measured in the
same run: the population subgraph answering its own part directly. (`make bench` runs the other bench,
bench/gateways.py: our router against Hive Gateway and Apollo Gateway over HTTP; see bench/RESULTS.md.)

  python -m bench [--persons 5000] [--iterations 300]

  direct      population subgraph, `persons` page of 20, no router      (the baseline)
  routed      the same operation through the router                     (router overhead)
  federated   the slice's list query through the router: 5 subgraphs    (planning + 4 entity fetches)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from subgraphs.common.app import SeedOptions
from subgraphs.launch import create_embedded_app, setup_databases

ROOT_QUERY = '{ persons(regionCode: "320500", first: 20) { edges { node { uid name birthDate } } } }'
FEDERATED_QUERY = """{ persons(regionCode: "320500", first: 20) { edges { node {
  uid name birthDate managementRegion { name parent { name } }
  account { username organization { name assets { host } } }
  licences { number type issuedAt } applications(first: 5) { edges { node { status item { name } } } } } } } }"""


# The bench reads the graph without signing in, as the development modes do (subgraphs/common/scope.py).
os.environ.setdefault("JSHEALTH_ANONYMOUS_SCOPE", "all")

async def measure(run: Callable[[], Awaitable[object]], iterations: int) -> list[float]:
    for _ in range(max(10, iterations // 10)):
        await run()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - started)
    return samples


async def main(args: argparse.Namespace) -> None:
    url = f"sqlite+aiosqlite:///{Path(args.data) / 'bench.db'}"
    await setup_databases(url, SeedOptions(seed=20260101, persons=args.persons, progress=True))
    app = await create_embedded_app(url)
    gateway = app.state.gateway
    client = gateway.executor.client
    from router.gateway import GraphQLRequest

    async def direct() -> object:
        return await client.fetch("population", {"query": ROOT_QUERY, "variables": {}}, {})

    async def routed() -> object:
        response = await gateway.run(GraphQLRequest(ROOT_QUERY), {})
        assert "errors" not in response.body, response.body
        return response

    async def federated() -> object:
        response = await gateway.run(GraphQLRequest(FEDERATED_QUERY), {})
        assert "errors" not in response.body, response.body
        return response

    results = {}
    async with app.router.lifespan_context(app):
        for name, run in (("direct", direct), ("routed", routed), ("federated", federated)):
            samples = await measure(run, args.iterations)
            results[name] = {"median_ms": statistics.median(samples) * 1000,
                             "p95_ms": sorted(samples)[int(len(samples) * 0.95)] * 1000}
    baseline = results["direct"]["median_ms"]
    print(f"{'case':<10} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
    for name, row in results.items():
        row["ratio"] = row["median_ms"] / baseline
        print(f"{name:<10} {row['median_ms']:>10.2f} {row['p95_ms']:>8.2f} {row['ratio']:>11.2f}")
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "router-inprocess.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--data", default="var/bench")
    arguments = parser.parse_args()
    Path(arguments.data).mkdir(parents=True, exist_ok=True)
    asyncio.run(main(arguments))
    sys.exit(0)
