"""Our router against other federation gateways, on the same subgraphs, the same core and the same load.

  python -m bench.gateways [--duration 10] [--warmup 3] [--connections 16] [--gateway-cpus 1]
                           [--load-cpus 0] [--only router,hive-rust,...] [--persons 20000]

What it does, in one run:
  1. seeds a dedicated PostgreSQL database (`jshealth_bench`, reused on later runs) and starts the stack
     (five subgraph processes + our router, subgraphs.launch.start_stack) on ports 4600-4605;
  2. installs the pinned peers (bench/peers, `npm ci`) and starts them on the same supergraph, its
     join__graph URLs pointed at those subgraph ports:
       hive-rust   Hive Gateway, Rust query planner  (hive-gateway supergraph FILE --hive-router-runtime)
       hive-js     Hive Gateway, JS query planner    (hive-gateway supergraph FILE)
       apollo      Apollo Gateway (@apollo/gateway + @apollo/server, bench/peers/apollo-gateway.mjs)
  3. pins every gateway (ours included) to --gateway-cpus with taskset, and the subgraphs and the load
     generator (wrk) to --load-cpus;
  4. for each operation (bench/operations/deep.graphql, shallow.graphql, and shallow sent straight to
     the population subgraph as the floor) asks every gateway once, checks its parsed `data` equals our
     router's, then drives it with wrk (warm-up, then --duration seconds); every response must be
     byte-identical to the checked one or it is counted bad and not counted as a request;
  5. prints requests/s, p50, p99, peak RSS (VmHWM of the gateway's process tree) and our router's
     ratio to each peer; writes bench/results/gateways.json.

wrk is required (Debian: `apt-get install -y wrk`); without it the bench says so and stops.
A peer that cannot be installed or started is reported with its error; the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEERS_DIR = BENCH / "peers"
OPERATIONS = BENCH / "operations"
RESULTS = BENCH / "results"
DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/jshealth_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
SUBGRAPH_NAMES = ("identity", "population", "licences", "services", "security")


class Unavailable(Exception):
    """A peer cannot be had here; the message says why."""


@dataclass
class Target:
    name: str
    label: str
    url: str
    pids: list[int] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    error: str | None = None


# --- supergraph ---------------------------------------------------------------------------------

# The bench reads the graph without signing in, as the development modes do (subgraphs/common/scope.py).
os.environ.setdefault("JSHEALTH_ANONYMOUS_SCOPE", "all")



# --- processes ----------------------------------------------------------------------------------

def descendants(pid: int) -> list[int]:
    out = [pid]
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            for child in children:
                out += descendants(int(child))
    return sorted(set(out))


def peak_rss_mb(pids: list[int]) -> float:
    """Sum of VmHWM (peak resident set) over the process tree, in MiB."""
    total = 0
    for pid in {p for root in pids for p in descendants(root)}:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pids: list[int]) -> float:
    """user+system CPU time of the process tree (all threads), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in {p for root in pids for p in descendants(root)}:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def settle(pids: list[int], timeout: float = 60.0) -> None:
    """Wait until the gateway is idle: requests still in flight after wrk stopped must not leak into
    the next cell."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pids)
        if now - before < 0.03:
            return
        before = now


def pin(pids: list[int], cpus: str) -> None:
    for root in pids:
        for pid in descendants(root):
            subprocess.run(["taskset", "-a", "-cp", cpus, str(pid)], check=False, stdout=subprocess.DEVNULL)


def wait_ready(url: str, process: subprocess.Popen[bytes] | None, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise Unavailable(f"exited with code {process.returncode} before answering")
        try:
            r = httpx.post(url, json={"query": "{ __typename }"}, timeout=5)
            if r.status_code == 200 and r.json().get("data", {}).get("__typename") == "Query":
                return
            last = f"{r.status_code} {r.text[:200]}"
        except (httpx.HTTPError, ValueError) as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise Unavailable(f"did not answer {{ __typename }} within {timeout:.0f}s (last: {last})")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 15)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait()


def tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])


# --- peers --------------------------------------------------------------------------------------

def ensure_peers_installed() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Unavailable("`node`/`npm` not on PATH (Node 20+ runs the peer gateways)")
    marker = PEERS_DIR / "node_modules" / ".package-lock.json"
    lock = PEERS_DIR / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    print("installing the peer gateways (npm ci in bench/peers) …", file=sys.stderr, flush=True)
    result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEERS_DIR, capture_output=True,
                            text=True, timeout=900)
    if result.returncode != 0:
        raise Unavailable(f"npm ci failed (exit {result.returncode}):\n{tail_text(result.stderr)}")


def tail_text(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def peer_command(name: str, supergraph: Path, port: int) -> list[str]:
    hive = str(PEERS_DIR / "node_modules" / ".bin" / "hive-gateway")
    common = ["--host", "127.0.0.1", "--port", str(port), "--fork", "1"]
    if name == "hive-rust":
        return [hive, "supergraph", str(supergraph), "--hive-router-runtime", *common]
    if name == "hive-js":
        return [hive, "supergraph", str(supergraph), *common]
    if name == "apollo":
        return ["node", str(PEERS_DIR / "apollo-gateway.mjs"), "--supergraph", str(supergraph), "--port", str(port)]
    raise ValueError(name)


PEERS = {
    "hive-rust": "Hive Gateway 2.15.1 + Rust planner (router-runtime 1.4.23)",
    "hive-js": "Hive Gateway 2.15.1, JS planner",
    "apollo": "Apollo Gateway 2.14.4 (@apollo/server 5.5.1)",
}


def start_peer(name: str, supergraph: Path, port: int, cpus: str, workdir: Path) -> Target:
    log_path = workdir / f"{name}.log"
    target = Target(name, PEERS[name], f"http://127.0.0.1:{port}/graphql", log=log_path)
    env = {**os.environ, "NODE_ENV": "production"}
    with log_path.open("wb") as log:
        target.process = subprocess.Popen(["taskset", "-c", cpus, *peer_command(name, supergraph, port)],
                                          cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)
    target.pids = [target.process.pid]
    try:
        wait_ready(target.url, target.process)
    except Unavailable as exc:
        stop_process(target.process)
        raise Unavailable(f"{exc}\n{tail(target.log)}") from exc
    except BaseException:
        stop_process(target.process)
        raise
    pin(target.pids, cpus)  # any worker forked after start
    return target


# --- load ---------------------------------------------------------------------------------------

def post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(url, content=body, headers={"content-type": "application/json", "accept": "application/json"},
                      timeout=60)


def run_wrk(url: str, body_file: Path, expect_file: Path, seconds: float, connections: int,
            cpus: str) -> dict[str, Any]:
    env = {**os.environ, "BENCH_BODY_FILE": str(body_file), "BENCH_EXPECT_FILE": str(expect_file)}
    command = ["taskset", "-c", cpus, "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(BENCH / "wrk_check.lua"), url]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    for line in result.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise RuntimeError(f"wrk gave no summary (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")


def data_of(response: httpx.Response) -> Any:
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise AssertionError(f"status {response.status_code}, errors {str(body.get('errors'))[:300]}")
    return body["data"]


# --- main ---------------------------------------------------------------------------------------

def prepare_database(url: str, persons: int) -> None:
    from subgraphs.common.app import SeedOptions
    from subgraphs.launch import ensure_postgres_database, setup_databases

    asyncio.run(ensure_postgres_database(url))
    asyncio.run(setup_databases(url, SeedOptions(persons=persons, progress=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gateways", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per gateway per operation")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before each measurement")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--gateway-cpus", default="1", help="taskset CPU list for every gateway (default 1)")
    parser.add_argument("--load-cpus", default="0", help="taskset CPU list for wrk and the subgraphs (default 0)")
    parser.add_argument("--only", default="router,hive-rust,hive-js,apollo", help="comma-separated gateways")
    parser.add_argument("--persons", type=int, default=20000, help="persons seeded on first run")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--base-port", type=int, default=4600, help="router; subgraphs +1..+5; peers +10..")
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        print("wrk is not installed: the gateway bench drives every gateway with wrk.\n"
              "  Debian/Ubuntu: apt-get update && apt-get install -y wrk\n"
              "  macOS: brew install wrk", file=sys.stderr)
        return 2
    if shutil.which("taskset") is None:
        print("taskset is not installed (util-linux): the bench pins each gateway to the same cores.", file=sys.stderr)
        return 2

    from router.supergraph import with_subgraph_urls, without_access_control
    from subgraphs.launch import start_stack, stop_stack

    wanted = [n.strip() for n in args.only.split(",") if n.strip()]
    ports = {name: args.base_port + 1 + i for i, name in enumerate(SUBGRAPH_NAMES)}
    subgraph_urls = {name: f"http://127.0.0.1:{port}/graphql" for name, port in ports.items()}
    print(f"database {args.database_url} (seeded once, reused)", file=sys.stderr, flush=True)
    prepare_database(args.database_url, args.persons)

    workdir = Path(tempfile.mkdtemp(prefix="jshealth-bench-"))
    supergraph = workdir / "supergraph.graphql"
    # Apollo Gateway refuses supergraphs linking the authorization features; the bench's reads need none.
    supergraph.write_text(without_access_control(with_subgraph_urls(
        (ROOT / "schema.graphql").read_text(encoding="utf-8"), subgraph_urls)),
                          encoding="utf-8")

    targets: dict[str, Target] = {}
    unavailable: dict[str, str] = {}
    stack: list[subprocess.Popen[bytes]] = []
    results: dict[str, dict[str, Any]] = {}
    try:
        print("starting the subgraphs and our router …", file=sys.stderr, flush=True)
        stack = start_stack(args.database_url, args.redis_url, router_port=args.base_port, ports=ports)
        pin([p.pid for p in stack[:-1]], args.load_cpus)
        pin([stack[-1].pid], args.gateway_cpus)
        targets["router"] = Target("router", "our router (Python, 1 uvicorn process)",
                                   f"http://127.0.0.1:{args.base_port}/graphql", pids=[stack[-1].pid])
        peers = [n for n in wanted if n in PEERS]
        if peers:
            try:
                ensure_peers_installed()
            except Unavailable as exc:
                for name in peers:
                    unavailable[name] = str(exc)
                peers = []
        for offset, name in enumerate(peers):
            print(f"starting {name} …", file=sys.stderr, flush=True)
            try:
                targets[name] = start_peer(name, supergraph, args.base_port + 10 + offset, args.gateway_cpus, workdir)
            except Unavailable as exc:
                unavailable[name] = str(exc)
                print(f"  {name} unavailable: {exc}", file=sys.stderr, flush=True)
        order = [n for n in wanted if n in targets]

        operations: list[tuple[str, str, list[str]]] = [
            ("deep", (OPERATIONS / "deep.graphql").read_text(encoding="utf-8"), order),
            ("shallow", (OPERATIONS / "shallow.graphql").read_text(encoding="utf-8"), order),
        ]
        floor = Target("direct", "population subgraph, no gateway (floor)", subgraph_urls["population"],
                       pids=[stack[SUBGRAPH_NAMES.index("population")].pid])
        for op, query, names in operations:
            body = json.dumps({"query": query}).encode()
            body_file = workdir / f"{op}.body.json"
            body_file.write_bytes(body)
            reference = data_of(post(targets["router"].url, body))
            runs = [(targets[n], op) for n in names]
            if op == "shallow":
                runs.append((floor, "shallow"))
            for target, _ in runs:
                key = f"{op}/{target.name}"
                response = post(target.url, body)
                expect_file = workdir / f"{op}.{target.name}.expect"
                expect_file.write_bytes(response.content)
                try:
                    got = data_of(response)
                    if got != reference:
                        raise AssertionError("data differs from our router's answer")
                except (AssertionError, ValueError) as exc:
                    results[key] = {"error": f"wrong answer: {exc}"}
                    print(f"{key}: WRONG ANSWER ({exc}); not measured", file=sys.stderr, flush=True)
                    continue
                if args.warmup > 0:
                    run_wrk(target.url, body_file, expect_file, args.warmup, args.connections, args.load_cpus)
                    settle(target.pids)
                cpu_before = cpu_seconds(target.pids)
                m = run_wrk(target.url, body_file, expect_file, args.duration, args.connections, args.load_cpus)
                cpu_used = cpu_seconds(target.pids) - cpu_before
                settle(target.pids)
                seconds = m["duration_us"] / 1e6
                row = {
                    "gateway": target.name, "operation": op, "response_bytes": len(response.content),
                    "rps": m["good"] / seconds, "p50_ms": m["p50_us"] / 1000, "p99_ms": m["p99_us"] / 1000,
                    "good": m["good"], "bad": m["bad"], "socket_errors": m["socket_errors"],
                    "first_bad": m["first_bad"],
                    "cpu_ms_per_request": cpu_used * 1000 / m["good"] if m["good"] else None,
                    "cpu_busy": cpu_used / seconds,
                }
                results[key] = row
                print(f"{key:<22} {row['rps']:>8.1f} req/s  p50 {row['p50_ms']:>7.2f} ms  p99 {row['p99_ms']:>7.2f} ms"
                      f"  cpu {fmt(row['cpu_ms_per_request'])} ms/req, busy {row['cpu_busy']:.0%}"
                      f"  ({m['good']} ok, {m['bad']} bad)", file=sys.stderr, flush=True)
        rss = {name: peak_rss_mb(t.pids) for name, t in targets.items()}
    finally:
        for target in targets.values():
            if target.name != "router":
                stop_process(target.process)
        stop_stack(stack)

    report(results, rss, unavailable, targets, args, workdir)
    return 0


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report(results: dict[str, dict[str, Any]], rss: dict[str, float], unavailable: dict[str, str],
           targets: dict[str, Target], args: argparse.Namespace, workdir: Path) -> None:
    lines = [f"gateways pinned to CPU {args.gateway_cpus}; wrk (1 thread, {args.connections} connections) and "
             f"subgraphs on CPU {args.load_cpus}; {args.warmup:g}s warm-up + {args.duration:g}s per cell",
             "",
             f"{'operation':<9} {'gateway':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>8}"
             f" {'bad':>5} {'cpu ms/req':>10} {'busy':>5} {'router/peer req/s':>18} {'router-peer p50':>16}"]
    for key, row in results.items():
        op, name = key.split("/")
        if "error" in row:
            lines.append(f"{op:<9} {name:<10} {row['error']}")
            continue
        ratio, delta = "", ""
        ours = results.get(f"{op}/router")
        if ours and "rps" in ours and name not in ("router",):
            ratio = f"{ours['rps'] / row['rps']:.2f}x" if row["rps"] else "-"
            delta = f"{ours['p50_ms'] - row['p50_ms']:+.2f} ms"
        lines.append(f"{op:<9} {name:<10} {row['rps']:>9.1f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}"
                     f" {row['response_bytes']:>8} {row['bad']:>5} {fmt(row['cpu_ms_per_request']):>10}"
                     f" {row['cpu_busy']:>5.0%} {ratio:>18} {delta:>16}")
    lines += ["", f"{'gateway':<10} {'peak RSS MiB':>12} {'router/peer':>12}"]
    for name, mb in rss.items():
        ratio = "" if name == "router" else f"{rss['router'] / mb:.2f}x" if mb else "-"
        lines.append(f"{name:<10} {mb:>12.1f} {ratio:>12}")
    for name, error in unavailable.items():
        lines.append(f"\n{name}: NOT RUN — {error}")
    print("\n".join(lines))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gateways.json").write_text(json.dumps({
        "args": vars(args), "results": results, "peak_rss_mb": rss, "unavailable": unavailable,
        "labels": {n: t.label for n, t in targets.items()}, "nproc": os.cpu_count(),
    }, indent=2, ensure_ascii=False))
    print(f"\nwritten bench/results/gateways.json (peer logs in {workdir})")


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # runs the finally blocks: no orphaned gateways


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, _interrupted)
    sys.exit(main())
