"""The `graphql-http` server audit (GraphQL over HTTP spec conformance) against our router over real HTTP.

tests/federation/audit/ pins `graphql-http` (package.json + package-lock.json); `node audit.mjs URL` runs
its `serverAudits` and prints one JSON line per audit. This test installs it once (a file lock keeps
parallel workers from installing twice), serves the router on a free loopback port with uvicorn in a
background thread (no subgraph runs: the audit only sends `{ __typename }`, `__type(...)` and invalid
requests, all answered at the router), and checks the results:

- every MUST passes;
- every SHOULD and every MAY passes too, listed by id so that a regression names the audit. None is
  left failing today; if one must be given up, move it to ACCEPTED_FAILURES with the reason.

Without node/npm the test fails in CI and is skipped elsewhere (support.service_missing).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from support import service_missing

from router.config import LimitsConfig, ServerConfig
from router.gateway import Gateway
from router.server import create_router_app
from router.supergraph import Supergraph

ROOT = Path(__file__).resolve().parents[2]
AUDIT_DIR = ROOT / "tests" / "federation" / "audit"
INSTALL_TIMEOUT = 300.0
AUDIT_TIMEOUT = 120.0

# The SHOULDs of graphql-http 1.23.1, all passing; kept passing by the test.
SHOULDS = {
    "22EB": "accept application/graphql-response+json and match the content-type",
    "47DE": "accept */* and use application/json for the content-type",
    "80D8": "assume application/json content-type when accept is missing",
    "9ABE": "respond with 4xx status code if content-type is not supplied on POST requests",
    "34A2": "allow string {query} parameter when accepting application/graphql-response+json",
    "8161": "allow string {operationName} parameter when accepting application/graphql-response+json",
    "94B0": "allow null {variables} parameter when accepting application/graphql-response+json",
    "94B1": "allow null {operationName} parameter when accepting application/graphql-response+json",
    "94B2": "allow null {extensions} parameter when accepting application/graphql-response+json",
    "2EA1": "allow map {variables} parameter when accepting application/graphql-response+json",
    "428F": "allow map {extensions} parameter when accepting application/graphql-response+json",
    "BCF8": "use 400 status code on JSON parsing failure when accepting application/json",
    "B7N8": "use 400 status code on JSON parsing failure when accepting application/graphql-response+json",
    "572B": "use 200 status code on document parsing failure when accepting application/json",
    "FDE2": "use 200 status code on document validation failure when accepting application/json",
    "7B9B": "use a status code of 200 on variable coercion failure when accepting application/json",
    "865D": "use 4xx or 5xx status codes on document parsing failure when accepting graphql-response+json",
    "556A": "use 400 status code on document parsing failure when accepting application/graphql-response+json",
    "D586": "not contain the data entry on document parsing failure when accepting graphql-response+json",
    "51FE": "use 4xx or 5xx status codes on document validation failure when accepting graphql-response+json",
    "74FF": "use 400 status code on document validation failure when accepting graphql-response+json",
    "5E5B": "not contain the data entry on document validation failure when accepting graphql-response+json",
    "86EE": "use a status code of 400 on variable coercion failure when accepting graphql-response+json",
}

# Audits we accept failing, id -> why (none today; the audit's SHOULD/MAY results are all "ok").
ACCEPTED_FAILURES: dict[str, str] = {}

_install_lock = threading.Lock()
_installed = False


class AuditUnavailable(Exception):
    """node, npm or the pinned package cannot be had here; the message says why."""


def _tail(text: bytes | str, lines: int = 30) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "\n".join(text.strip().splitlines()[-lines:])


def _install_needed() -> bool:
    marker = AUDIT_DIR / "node_modules" / ".package-lock.json"
    lock = AUDIT_DIR / "package-lock.json"
    return not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime


def ensure_audit_installed() -> str:
    """`npm ci` in AUDIT_DIR unless node_modules matches the lock file; returns the path of `node`."""
    global _installed
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        raise AuditUnavailable("`node` is not on PATH (Node 20 or later runs the graphql-http audit)")
    if npm is None:
        raise AuditUnavailable("`npm` is not on PATH (it installs graphql-http)")
    with _install_lock:
        if _installed:
            return node
        key = hashlib.sha256(str(AUDIT_DIR.resolve()).encode()).hexdigest()[:16]
        lock_path = Path(tempfile.gettempdir()) / f"jshealth-graphql-http-audit-{key}.lock"
        with open(lock_path, "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                if _install_needed():
                    try:
                        done = subprocess.run(
                            [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
                            cwd=AUDIT_DIR, capture_output=True, timeout=INSTALL_TIMEOUT, check=False,
                        )
                    except subprocess.TimeoutExpired as exc:
                        raise AuditUnavailable(
                            f"`npm ci` in {AUDIT_DIR} took longer than {INSTALL_TIMEOUT:.0f}s:\n"
                            f"{_tail(exc.stderr or b'')}"
                        ) from exc
                    if done.returncode != 0:
                        raise AuditUnavailable(
                            f"`npm ci` in {AUDIT_DIR} failed with code {done.returncode}:\n{_tail(done.stderr)}"
                        )
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        _installed = True
    return node


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Unreachable:
    """Subgraphs that are not there: the audit's operations must not need one."""

    def __init__(self) -> None:
        self.calls = 0

    async def fetch(self, graph: str, body: dict[str, Any], headers: Any) -> dict[str, Any]:
        self.calls += 1
        raise ConnectionError(f"subgraph {graph} is not running in this test")


@pytest.fixture(scope="module")
def router_url() -> Iterator[tuple[str, _Unreachable]]:
    """Our router (the HTTP surface of router/server.py, default configuration) on a loopback port."""
    supergraph = Supergraph((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    subgraphs = _Unreachable()
    server_config = ServerConfig()
    gateway = Gateway(supergraph, subgraphs, introspection=server_config.flag("introspection"))
    app = create_router_app(gateway, server_config, LimitsConfig())
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, name="audit-router", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"the router did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/graphql", subgraphs
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run_audit(node: str, url: str) -> dict[str, dict[str, Any]]:
    done = subprocess.run([node, "audit.mjs", url], cwd=AUDIT_DIR, capture_output=True,
                          timeout=AUDIT_TIMEOUT, check=False)
    assert done.returncode == 0, f"audit.mjs exited with {done.returncode}:\n{_tail(done.stderr)}"
    results = [json.loads(line) for line in done.stdout.decode().splitlines() if line.strip()]
    assert results, "the audit printed no results"
    return {result["id"]: result for result in results}


def test_the_router_passes_the_graphql_http_audit(router_url: tuple[str, _Unreachable]) -> None:
    try:
        node = ensure_audit_installed()
    except AuditUnavailable as exc:
        service_missing("the graphql-http audit (tests/federation/audit)", str(exc))
        return
    url, subgraphs = router_url
    with httpx.Client() as client:  # `{ __typename }` is answered at the router, with no subgraph
        answer = client.post(url, json={"query": "{ __typename }"})
    assert answer.json() == {"data": {"__typename": "Query"}}

    results = run_audit(node, url)

    def failures(level: str) -> list[str]:
        return [f"{r['id']} {r['name']}: {r['reason']}" for r in results.values()
                if r["name"].startswith(level) and r["status"] != "ok" and r["id"] not in ACCEPTED_FAILURES]

    musts = [r for r in results.values() if r["name"].startswith("MUST")]
    assert len(musts) >= 13, f"the audit ran only {len(musts)} MUSTs"
    assert not failures("MUST"), "MUSTs failed:\n" + "\n".join(failures("MUST"))
    missing = sorted(set(SHOULDS) - set(results))
    assert not missing, f"the audit no longer has these SHOULDs (update SHOULDS): {missing}"
    assert not failures("SHOULD"), "SHOULDs failed:\n" + "\n".join(failures("SHOULD"))
    assert not failures("MAY"), "MAYs failed:\n" + "\n".join(failures("MAY"))
    assert subgraphs.calls == 0, "the audit's operations reached a subgraph"
