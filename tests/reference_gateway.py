"""Apollo's gateway and composition as a reference (imported as `reference_gateway`).

The Node side lives in tests/federation/reference/ (package.json and its lock file pin the versions;
compose.mjs and gateway.mjs are the two entry points). This module installs it on first use, runs
Apollo's composition on subgraph SDL, and runs Apollo's gateway on a supergraph as a subprocess, so
that our composer and router can be compared with Apollo's, operation by operation.

    reference_or_skip()                       # in a test: fails in CI, skips elsewhere, without Node
    supergraph = apollo_compose([(name, url, sdl), ...])
    with ReferenceGateway(supergraph) as gateway:
        gateway.post("{ __typename }")
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
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from router.supergraph import with_subgraph_urls  # noqa: F401 - re-exported for the tests

REFERENCE_DIR = Path(__file__).parent / "federation" / "reference"
INSTALL_TIMEOUT = 600.0
READY_TIMEOUT = 60.0
REQUEST_TIMEOUT = 60.0

_installed = threading.Lock()
_install_done = False


class ReferenceUnavailable(Exception):
    """Node, npm or the pinned packages cannot be had on this machine; the message says why."""


class ApolloCompositionError(Exception):
    """Apollo's composition rejected the subgraphs; `errors` holds one "CODE: message" per error."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("Apollo composition failed:\n" + "\n".join(errors))
        self.errors = errors


def _tail(text: str | bytes, lines: int = 30) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "\n".join(text.strip().splitlines()[-lines:])


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise ReferenceUnavailable("`node` is not on PATH (Node 20 or later runs the Apollo reference)")
    return node


def _install_needed() -> bool:
    marker = REFERENCE_DIR / "node_modules" / ".package-lock.json"
    lock = REFERENCE_DIR / "package-lock.json"
    return not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime


def ensure_installed() -> None:
    """`npm ci` in REFERENCE_DIR unless node_modules already matches package-lock.json.

    A file lock (outside the work tree, keyed by REFERENCE_DIR) serialises parallel test workers: the
    first installs, the others wait and then find the install done.
    """
    global _install_done
    with _installed:
        if _install_done:
            return
        _node()
        npm = shutil.which("npm")
        if npm is None:
            raise ReferenceUnavailable("`npm` is not on PATH (it installs the Apollo reference packages)")
        key = hashlib.sha256(str(REFERENCE_DIR.resolve()).encode()).hexdigest()[:16]
        lock_path = Path(tempfile.gettempdir()) / f"jshealth-reference-{key}.lock"
        with open(lock_path, "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                if _install_needed():
                    try:
                        done = subprocess.run(
                            [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
                            cwd=REFERENCE_DIR, capture_output=True, timeout=INSTALL_TIMEOUT, check=False,
                        )
                    except subprocess.TimeoutExpired as exc:
                        raise ReferenceUnavailable(
                            f"`npm ci` in {REFERENCE_DIR} took longer than {INSTALL_TIMEOUT:.0f}s:\n"
                            f"{_tail(exc.stderr or b'')}"
                        ) from exc
                    if done.returncode != 0:
                        raise ReferenceUnavailable(
                            f"`npm ci` in {REFERENCE_DIR} failed with code {done.returncode}:\n{_tail(done.stderr)}"
                        )
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        _install_done = True


def reference_or_skip() -> None:
    """ensure_installed() for a test: without Node/npm/the packages, fail in CI and skip elsewhere."""
    from support import service_missing

    try:
        ensure_installed()
    except ReferenceUnavailable as exc:
        service_missing("the Apollo reference (tests/federation/reference)", str(exc))


def apollo_compose(subgraphs: Sequence[tuple[str, str, str]]) -> str:
    """Apollo's supergraph SDL for (name, url, sdl) subgraphs; ApolloCompositionError when it refuses."""
    ensure_installed()
    payload = json.dumps([{"name": name, "url": url, "sdl": sdl} for name, url, sdl in subgraphs])
    done = subprocess.run(
        [_node(), "compose.mjs"], cwd=REFERENCE_DIR, input=payload.encode(), capture_output=True,
        timeout=120, check=False,
    )
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode == 1:
        raise ApolloCompositionError([line for line in stderr.splitlines() if line.strip()])
    if done.returncode != 0:
        raise RuntimeError(f"compose.mjs exited with code {done.returncode}:\n{_tail(stderr)}")
    return done.stdout.decode("utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ReferenceGateway:
    """Apollo's gateway on `supergraph_sdl` as a subprocess on a free loopback port.

    Subgraph URLs are those of the supergraph's @join__graph directives: rewrite them beforehand
    (see `with_subgraph_urls`) to point the gateway elsewhere.
    """

    def __init__(self, supergraph_sdl: str, *, host: str = "127.0.0.1") -> None:
        self.supergraph_sdl = supergraph_sdl
        self.host = host
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None

    def __enter__(self) -> ReferenceGateway:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        ensure_installed()
        self._workdir = Path(tempfile.mkdtemp(prefix="reference-gateway-"))
        supergraph = self._workdir / "supergraph.graphql"
        supergraph.write_text(self.supergraph_sdl, encoding="utf-8")
        try:
            for attempt in range(3):  # a port picked free can be taken before node binds it
                port = _free_port()
                if self._launch(supergraph, port, last=attempt == 2):
                    return
        except BaseException:
            self.stop()
            raise

    def _launch(self, supergraph: Path, port: int, *, last: bool) -> bool:
        assert self._workdir is not None
        stdout_path, stderr_path = self._workdir / "stdout.log", self._workdir / "stderr.log"
        # Files, not pipes: nothing has to drain them while the gateway runs.
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            self._process = subprocess.Popen(
                [_node(), "gateway.mjs", "--supergraph", str(supergraph), "--port", str(port), "--host", self.host],
                cwd=REFERENCE_DIR, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            for line in stdout_path.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("ready "):
                    self.url = line.removeprefix("ready ").strip()
                    return True
            if self._process.poll() is not None:
                stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
                if "EADDRINUSE" in stderr and not last:
                    return False
                raise RuntimeError(
                    f"Apollo's gateway exited with code {self._process.returncode} before it was ready:\n"
                    f"{_tail(stderr)}"
                )
            time.sleep(0.05)
        stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
        raise RuntimeError(f"Apollo's gateway was not ready within {READY_TIMEOUT:.0f}s:\n{_tail(stderr)}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    @property
    def stderr(self) -> str:
        """What the gateway logged so far (for failure messages)."""
        if self._workdir is None:
            return ""
        path = self._workdir / "stderr.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def _body(self, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return body

    def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(self.url, json=self._body(query, variables), timeout=REQUEST_TIMEOUT)
        answer: dict[str, Any] = response.json()
        return answer

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as client:
            response = await client.post(self.url, json=self._body(query, variables))
        answer: dict[str, Any] = response.json()
        return answer
