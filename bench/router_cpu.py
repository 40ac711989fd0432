"""The router's own CPU per request, with the subgraphs taken out: their answers are recorded once
(embedded mode, SQLite) and replayed, so only the router's work is timed (planning cache hit, variable
coercion, representation building, merging, decoding the replayed subgraph JSON, response shaping and
serialising the answer; not the HTTP server).

  python -m bench.router_cpu [--iterations 200] [--rounds 5] [--record] [--compare REF] [--gc-freeze]

  --record       re-record the subgraph answers (else the recording in var/bench is reused)
  --compare REF  also measure the router of git revision REF (extracted with `git archive`, nothing in
                 the checkout changes) in a subprocess, replaying the same recording, and print
                 the ratio this checkout ÷ REF
  --gc-freeze    call gc.freeze() once the router is set up (what a server could do after startup): the
                 full collections then no longer walk the schema and the cached plans

Every replayed answer is checked byte for byte against the one recorded through the real subgraphs.
CPU is `time.process_time()` over `--iterations` sequential requests (50 times as many for the shallow
operation), best of `--rounds` rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ROOT / "bench" / "operations"
RECORDING = ROOT / "var" / "bench" / "router-cpu-recording.json"
CASES = ("deep", "shallow")
SCALE = {"deep": 1, "shallow": 50}  # iterations per round: --iterations times this


# The bench reads the graph without signing in, as the development modes do (subgraphs/common/scope.py).
os.environ.setdefault("JSHEALTH_ANONYMOUS_SCOPE", "all")

def _key(graph: str, body: Mapping[str, Any]) -> str:
    return orjson.dumps([graph, body], option=orjson.OPT_SORT_KEYS).decode()


async def record(path: Path, persons: int) -> None:
    from router.gateway import GraphQLRequest
    from subgraphs.common.app import SeedOptions
    from subgraphs.launch import compose_supergraph, create_embedded_app, setup_databases

    url = f"sqlite+aiosqlite:///{path.parent / 'bench.db'}"
    await setup_databases(url, SeedOptions(seed=20260101, persons=persons, progress=True))
    app = await create_embedded_app(url)
    gateway = app.state.gateway
    inner = gateway.executor.client
    fetches: dict[str, str] = {}

    class Recorder:
        async def fetch(self, graph: str, body: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
            response: dict[str, Any] = await inner.fetch(graph, body, headers)
            fetches[_key(graph, body)] = orjson.dumps(response).decode()
            return response

    gateway.executor.client = Recorder()
    answers = {}
    async with app.router.lifespan_context(app):
        for case in CASES:
            response = await gateway.run(GraphQLRequest((OPERATIONS / f"{case}.graphql").read_text()), {})
            assert "errors" not in response.body, response.body
            answers[case] = orjson.dumps(response.body).decode()
    path.write_text(json.dumps({"supergraph": compose_supergraph(), "answers": answers, "fetches": fetches}))
    print(f"recorded {len(fetches)} subgraph answers to {path}", file=sys.stderr)


class ReplayClient:
    def __init__(self, fetches: Mapping[str, str]) -> None:
        self.fetches = {key: value.encode() for key, value in fetches.items()}

    async def fetch(self, graph: str, body: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        decoded: dict[str, Any] = orjson.loads(self.fetches[_key(graph, body)])
        return decoded


async def replay(path: Path, iterations: int, rounds: int, freeze: bool = False) -> dict[str, float]:
    from router.gateway import Gateway, GraphQLRequest
    from router.supergraph import Supergraph

    recording = json.loads(path.read_text())
    gateway = Gateway(Supergraph(recording["supergraph"]), ReplayClient(recording["fetches"]))
    answers: dict[str, str] = recording["answers"]
    del recording
    if freeze:
        gc.collect()
        gc.freeze()
    results = {}
    for case in CASES:
        request = GraphQLRequest((OPERATIONS / f"{case}.graphql").read_text())
        expected = answers[case].encode()

        async def run(request: GraphQLRequest = request, expected: bytes = expected, case: str = case) -> None:
            response = await gateway.run(request, {})
            if orjson.dumps(response.body) != expected:
                raise SystemExit(f"{case}: the replayed answer differs from the recorded one")

        count = iterations * SCALE[case]
        for _ in range(max(5, count // 10)):
            await run()
        best = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            for _ in range(count):
                await run()
            best = min(best, (time.process_time() - started) / count)
        results[case] = best * 1000
    return results


def _compare(ref: str, args: argparse.Namespace) -> dict[str, float]:
    """Measure the router of `ref` on the same recording: its router/ package in a temporary directory,
    this script run there."""
    with tempfile.TemporaryDirectory() as scratch:
        archive = subprocess.run(["git", "archive", ref, "router"], cwd=ROOT, check=True, capture_output=True).stdout
        tar_path = Path(scratch) / "router.tar"
        tar_path.write_bytes(archive)
        with tarfile.open(tar_path) as tar:
            tar.extractall(scratch, filter="data")
        (Path(scratch) / "bench").mkdir()
        (Path(scratch) / "bench" / "__init__.py").write_text("")
        (Path(scratch) / "bench" / "router_cpu.py").write_text(Path(__file__).read_text())
        command = [sys.executable, "-m", "bench.router_cpu", "--json", "--recording", str(args.recording),
                   "--operations", str(OPERATIONS), "--iterations", str(args.iterations),
                   "--rounds", str(args.rounds)] + (["--gc-freeze"] if args.gc_freeze else [])
        env = {**os.environ, "PYTHONPATH": scratch}
        out = subprocess.run(command, cwd=scratch, env=env, check=True, capture_output=True, text=True).stdout
    measured: dict[str, float] = json.loads(out)
    return measured


def main() -> None:
    global OPERATIONS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--persons", type=int, default=5000, help="persons seeded when recording")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--recording", type=Path, default=RECORDING)
    parser.add_argument("--operations", type=Path, default=OPERATIONS)
    parser.add_argument("--compare", metavar="REF")
    parser.add_argument("--gc-freeze", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the measurement as JSON only")
    args = parser.parse_args()
    OPERATIONS = args.operations
    if args.record or not args.recording.exists():
        args.recording.parent.mkdir(parents=True, exist_ok=True)
        asyncio.run(record(args.recording, args.persons))
    baseline = _compare(args.compare, args) if args.compare else None
    measured = asyncio.run(replay(args.recording, args.iterations, args.rounds, args.gc_freeze))
    if args.json:
        print(json.dumps(measured))
        return
    frozen = ", gc.freeze()" if args.gc_freeze else ""
    print(f"router CPU per request (replayed subgraph answers, best of {args.rounds} x {args.iterations}{frozen})")
    header = f"{'operation':<10} {'ms/req':>8}"
    if baseline is not None:
        header += f" {args.compare + ' ms/req':>16} {'ratio':>7}"
    print(header)
    for case, ms in measured.items():
        line = f"{case:<10} {ms:>8.3f}"
        if baseline is not None:
            line += f" {baseline[case]:>16.3f} {ms / baseline[case]:>7.2f}"
        print(line)


if __name__ == "__main__":
    main()
