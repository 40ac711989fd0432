"""The router's command line: `python -m router serve` serves any supergraph (here a fixture case's, not
ours) from the URLs in its join__graph directives; `python -m router plan` prints a plan."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fixture_cases import CASES
from fixture_subgraphs import serve_fixture
from reference_gateway import with_subgraph_urls

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_a_foreign_supergraph_from_its_own_urls(tmp_path: Path) -> None:
    case = CASES["chain"]
    assert case.supergraph_sdl is not None
    with serve_fixture(case.subgraphs) as urls:
        supergraph = tmp_path / "supergraph.graphql"
        supergraph.write_text(with_subgraph_urls(case.supergraph_sdl, urls), encoding="utf-8")
        port = free_port()
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "router", "serve", "--supergraph", str(supergraph), "--listen", f"127.0.0.1:{port}"],
            cwd=ROOT, stderr=subprocess.PIPE)
        try:
            ready = None
            while time.monotonic() - started < 20 and process.poll() is None:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        ready = time.monotonic() - started
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            assert ready is not None, process.stderr.read().decode() if process.stderr else "no output"
            assert ready < 10, f"took {ready:.1f}s to serve"
            for operation in case.operations.values():
                if operation.down or operation.delays:
                    continue
                case.reset(operation)
                body = httpx.post(f"http://127.0.0.1:{port}/graphql", timeout=10,
                                  json={"query": operation.query, "variables": dict(operation.variables or {})}).json()
                assert body.get("data") == operation.expected_data, (operation.name, body)
        finally:
            process.terminate()
            process.wait(timeout=10)
            case.reset()


def test_serve_refuses_a_broken_supergraph_with_a_clear_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.graphql"
    broken.write_text("type Query { a: Int }", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "router", "serve", "--supergraph", str(broken)],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "no schema definition" in result.stderr


def test_plan_prints_the_fetches(tmp_path: Path) -> None:
    operation = tmp_path / "op.graphql"
    operation.write_text('{ person(uid: "P1") { name account { username } } }', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "router", "plan", "--supergraph", "schema.graphql", str(operation)],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "Fetch(population) at (root)" in result.stdout
    assert "Fetch(identity) at person" in result.stdout
