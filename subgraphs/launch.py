"""Starts the graph.

  python -m subgraphs.launch embedded   one process: five subgraphs + router on SQLite (make run)
  python -m subgraphs.launch stack      one process per subgraph and the router, PostgreSQL + Redis (make stack)
  python -m subgraphs.launch compose    write schema.graphql from the subgraphs' SDL (make compose)
  python -m subgraphs.launch setup      migrate and seed the database named by DATABASE_URL

The launcher lives beside the subgraphs because it is the one place that knows which domains exist.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from bff.registry import CHANNELS
from db.config import database_url, domain_url, is_sqlite
from db.engine import make_engine
from db.migrate import upgrade
from router.app import ROUTER_JWKS_PATH, auth_guard, jwks_endpoint, protect
from router.auth import JwtSettings, JwtVerifier
from router.caller_token import CallerTokenClient, CallerTokenMinter
from router.compose import SubgraphSource, compose
from router.config import RouterConfig
from router.gateway import Gateway
from router.ipblock import IpBlocklist, ip_guard
from router.revocation import RevocationList
from router.server import create_router_app
from router.supergraph import Supergraph
from router.transport import AsgiSubgraphClient, DeduplicatingClient
from subgraphs.common.app import Runtime, SeedOptions, graphql_routes
from subgraphs.common.bus import EventBus, InProcessBus
from subgraphs.common.caller import CallerVerifier
from subgraphs.common.scope import ANONYMOUS_SCOPE_ENV
from subgraphs.identity.oauth.keys import published_jwks
from subgraphs.identity.security.routes import (
    IP_BLACKLIST_PATH,
    REVOKED_TOKENS_PATH,
    blacklist_networks,
    revoked_token_keys,
)
from subgraphs.registry import SUBGRAPHS, subgraph_sdl

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schema.graphql"
DEFAULT_STACK_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/jshealth"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ROUTER_PORT = 4000


def compose_supergraph() -> str:
    return compose([SubgraphSource(e.name, e.url, subgraph_sdl(e.definition())) for e in SUBGRAPHS])


def write_schema(path: Path = SCHEMA_PATH) -> bool:
    """Write the supergraph; True when the file changed."""
    sdl = compose_supergraph()
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old != sdl:
        path.write_text(sdl, encoding="utf-8")
    return old != sdl


async def setup_databases(url: str, options: SeedOptions, *, log: bool = True) -> None:
    """Bring every subgraph's database to the latest migration and seed the empty ones."""
    for entry in SUBGRAPHS:
        definition = entry.definition()
        engine = make_engine(entry.name, url)
        try:
            await upgrade(engine, entry.name)
            runtime = Runtime(definition, engine, InProcessBus())
            async with runtime.sessions() as session, session.begin():
                if await definition.is_seeded(session):
                    continue
                started = time.monotonic()
                if log:
                    print(f"seeding {entry.name} …", file=sys.stderr, flush=True)
                await definition.seed(session, options)
            if log:
                print(f"seeded {entry.name} in {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
        finally:
            await engine.dispose()


async def create_embedded_app(url: str | None = None, *, bus: EventBus | None = None,
                              public_url: str = "http://127.0.0.1:4000") -> Starlette:
    """Five subgraphs and the router in one ASGI app; the router calls the subgraphs in-process.

    `public_url` is where the app is reached; identity's authorization server issues tokens as
    `<public_url>/subgraphs/identity` (unless IDENTITY_ISSUER says otherwise) and the router accepts them."""
    url = url or database_url()
    bus = bus or InProcessBus()
    runtimes = [Runtime(e.definition(), make_engine(e.name, url), bus) for e in SUBGRAPHS]
    identity = next(r for r in runtimes if r.definition.name == "identity")
    issuer = os.environ.get("IDENTITY_ISSUER") or f"{public_url.rstrip('/')}/subgraphs/identity"
    identity.settings["IDENTITY_ISSUER"] = issuer
    subgraph_apps = {r.definition.name: Starlette(routes=graphql_routes(r)) for r in runtimes}
    supergraph = Supergraph(compose_supergraph())
    # Subgraphs learn who calls from the caller token, in one process as between processes.
    minter = CallerTokenMinter()
    for runtime in runtimes:
        runtime.caller_verifier = CallerVerifier(runtime.definition.name, jwks=minter.jwks)
    # The same protection as a router process: a crashing subgraph is cut off, not hammered.
    client = DeduplicatingClient(protect(CallerTokenClient(AsgiSubgraphClient(subgraph_apps), minter), RouterConfig()))
    gateway = Gateway(supergraph, client)
    blocklist = IpBlocklist(lambda: blacklist_networks(identity), refresh_seconds=2.0)
    # Tokens from identity are verified as in the stack, with its keys read in-process.
    verifier = JwtVerifier(JwtSettings(issuer=issuer, audience=os.environ.get("IDENTITY_AUDIENCE", "jshealth-graph"),
                                       jwks_url=f"{issuer}/.well-known/jwks.json"),
                           jwks_fetch=lambda: identity_jwks(identity))
    revocation = RevocationList(lambda: revoked_token_keys(identity), refresh_seconds=2.0)
    router = create_router_app(gateway, guards=(ip_guard(blocklist), auth_guard(verifier, "optional", revocation)))

    async def health(_request: Request) -> Response:
        states = {r.definition.name: await r.healthy() for r in runtimes}
        ok = all(states.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "subgraphs": states}, status_code=200 if ok else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await bus.start()
        for runtime in runtimes:
            runtime.relay.start()
        for polled in (blocklist, revocation):
            await polled.refresh()
            polled.start()
        try:
            yield
        finally:
            await blocklist.stop()
            await revocation.stop()
            await verifier.close()
            for runtime in runtimes:
                await runtime.relay.stop()
            await bus.close()
            for runtime in runtimes:
                if runtime.caller_verifier is not None:
                    await runtime.caller_verifier.close()
                await runtime.engine.dispose()

    routes: list[Route | Mount] = [Route("/health", health), Route(ROUTER_JWKS_PATH, jwks_endpoint(minter))]
    routes += [Mount(f"/subgraphs/{name}", app) for name, app in subgraph_apps.items()]
    routes += [Mount(f"/bff/{channel.name}", channel.make_app()) for channel in CHANNELS]
    routes.append(Mount("/", router))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.gateway = gateway
    app.state.ip_blocklist = blocklist
    app.state.revocation = revocation
    app.state.caller_minter = minter
    app.state.runtimes = {r.definition.name: r for r in runtimes}
    return app


def print_banner(base: str, subgraph_urls: dict[str, str], issuer: str) -> None:
    lines = [
        "",
        "Jiangsu health cloud graph is up:",
        f"  router (GraphQL, GraphiQL in a browser)  {base}/graphql",
        f"  health                                   {base}/health",
        f"  sign in (OAuth 2.0 / OIDC, CAS)          {issuer}/.well-known/openid-configuration",
    ]
    lines += [f"  subgraph {name:<12}                    {url}" for name, url in subgraph_urls.items()]
    lines.append("  channel BFFs                             " + (
        ", ".join(f"{base}/bff/{c.name}" for c in CHANNELS) or "none yet (each channel comes with its own issue)"))
    if os.environ.get(ANONYMOUS_SCOPE_ENV) == "all":
        lines.append("  development mode: anonymous callers see every region's records (JSHEALTH_ANONYMOUS_SCOPE=all)")
    print("\n".join(lines) + "\n", file=sys.stderr, flush=True)


def run_embedded(args: argparse.Namespace) -> None:
    import uvicorn

    os.environ.setdefault(ANONYMOUS_SCOPE_ENV, "all")  # a development mode: see subgraphs/common/scope.py
    url = database_url()
    if not is_sqlite(url):
        print(f"embedded mode on {domain_url('identity', url).render_as_string()} (DATABASE_URL)", file=sys.stderr)
    asyncio.run(setup_databases(url, SeedOptions(seed=args.seed, persons=args.persons, progress=True)))
    base = f"http://{args.host}:{args.port}"
    app = asyncio.run(create_embedded_app(url, public_url=base))
    print_banner(base, {e.name: f"{base}/subgraphs/{e.name}/graphql" for e in SUBGRAPHS},
                 os.environ.get("IDENTITY_ISSUER") or f"{base}/subgraphs/identity")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with code {process.returncode} before it became healthy")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy within {timeout:.0f}s")


async def identity_jwks(identity: Runtime) -> dict[str, Any]:
    async with identity.sessions() as session:
        return await published_jwks(session)


def stack_environment(url: str, redis_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url}


def start_stack(url: str, redis_url: str, *, host: str = "127.0.0.1", router_port: int = ROUTER_PORT,
                ports: dict[str, int] | None = None, supergraph: Path = SCHEMA_PATH) -> list[subprocess.Popen[bytes]]:
    """Start the subgraph processes and the router; returns them once all answer /health."""
    ports = ports or {e.name: e.port for e in SUBGRAPHS}
    issuer = os.environ.get("IDENTITY_ISSUER") or f"http://{host}:{ports['identity']}"
    env = {**stack_environment(url, redis_url),
           "ROUTER_JWKS_URL": f"http://{host}:{router_port}{ROUTER_JWKS_PATH}", "IDENTITY_ISSUER": issuer}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for entry in SUBGRAPHS:
            port = ports[entry.name]
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", f"{entry.module}:app", "--host", host,
                 "--port", str(port), "--log-level", "warning", "--no-access-log"], env=env, cwd=ROOT))
        for entry, process in zip(SUBGRAPHS, processes, strict=True):
            _wait_healthy(f"http://{host}:{ports[entry.name]}/health", process)
        overrides = ",".join(f"{e.name}=http://{host}:{ports[e.name]}/graphql" for e in SUBGRAPHS)
        # started before the router: they fetch its keys on the first caller token they see
        router_env = {**env, "ROUTER_SUPERGRAPH": str(supergraph), "ROUTER_SUBGRAPH_URLS": overrides,
                      "ROUTER_IP_BLACKLIST_URL": f"http://{host}:{ports['identity']}{IP_BLACKLIST_PATH}",
                      "ROUTER_REVOCATION_URL": f"http://{host}:{ports['identity']}{REVOKED_TOKENS_PATH}",
                      # identity's tokens: optional (anonymous requests still answer), verified when sent
                      "ROUTER_AUTH_MODE": os.environ.get("ROUTER_AUTH_MODE", "optional"),
                      "ROUTER_AUTH_ISSUER": issuer, "ROUTER_AUTH_JWKS_URL": f"{issuer}/.well-known/jwks.json",
                      "ROUTER_AUTH_AUDIENCE": os.environ.get("IDENTITY_AUDIENCE", "jshealth-graph")}
        router = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "router.app:app", "--host", host,
             "--port", str(router_port), "--log-level", "warning", "--no-access-log"], env=router_env, cwd=ROOT)
        processes.append(router)
        _wait_healthy(f"http://{host}:{router_port}/health", router)
    except BaseException:
        stop_stack(processes)
        raise
    return processes


def stop_stack(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


async def ensure_postgres_database(url: str, *, recreate_unless_c_collation: bool = False) -> None:
    """Create the stack's database on first use (CREATE DATABASE cannot run inside a transaction).

    It is created with the C collation (docs/decisions.md): the keys compared and sorted are ASCII codes
    (region codes, uids, ID numbers), UTF-8 text in C sorts by code point as C.UTF-8 does, and PostgreSQL
    compares C text with memcmp and abbreviated keys, which makes index builds and sorts several times
    cheaper. `recreate_unless_c_collation` drops an existing database of another collation first (for
    throw-away databases such as the population bench's)."""
    import asyncpg

    target = domain_url("identity", url)
    name = target.database
    admin = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        collation = await connection.fetchval("SELECT datcollate FROM pg_database WHERE datname = $1", name)
        if collation is not None and collation != "C" and recreate_unless_c_collation:
            await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            collation = None
        if collation is None:
            await connection.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C'")
    finally:
        await connection.close()


def run_stack(args: argparse.Namespace) -> None:
    os.environ.setdefault(ANONYMOUS_SCOPE_ENV, "all")  # a development mode: see subgraphs/common/scope.py
    url = os.environ.get("DATABASE_URL", DEFAULT_STACK_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    if is_sqlite(url):
        sys.exit("the stack mode runs on PostgreSQL: set DATABASE_URL to a postgresql:// URL")
    asyncio.run(ensure_postgres_database(url))
    asyncio.run(setup_databases(url, SeedOptions(seed=args.seed, persons=args.persons, progress=True)))
    processes = start_stack(url, redis_url)
    identity_url = next(e.url for e in SUBGRAPHS if e.name == "identity").removesuffix("/graphql")
    print_banner(f"http://127.0.0.1:{ROUTER_PORT}", {e.name: e.url for e in SUBGRAPHS},
                 os.environ.get("IDENTITY_ISSUER") or identity_url)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for process in processes:
                if process.poll() is not None:
                    print(f"a stack process exited with code {process.returncode}; stopping", file=sys.stderr)
                    stopping = True
            time.sleep(0.5)
    finally:
        stop_stack(processes)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m subgraphs.launch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("embedded", "stack", "setup"):
        command = commands.add_parser(name)
        command.add_argument("--persons", type=int, default=int(os.environ.get("SEED_PERSONS", "20000")),
                             help="persons to generate on first start (default 20000)")
        command.add_argument("--seed", type=int, default=20260101, help="the synthetic world's seed")
        if name == "embedded":
            command.add_argument("--host", default="127.0.0.1")
            command.add_argument("--port", type=int, default=ROUTER_PORT)
    compose_command = commands.add_parser("compose")
    compose_command.add_argument("--check", action="store_true", help="fail if schema.graphql is stale")
    args = parser.parse_args(argv)
    if args.command == "embedded":
        run_embedded(args)
    elif args.command == "stack":
        run_stack(args)
    elif args.command == "setup":
        url = database_url()
        if not is_sqlite(url):
            asyncio.run(ensure_postgres_database(url))
        asyncio.run(setup_databases(url, SeedOptions(seed=args.seed, persons=args.persons, progress=True)))
    elif args.command == "compose":
        if args.check:
            if SCHEMA_PATH.read_text(encoding="utf-8") != compose_supergraph():
                sys.exit("schema.graphql is stale: run `make compose`")
            print("schema.graphql is up to date")
        else:
            changed = write_schema()
            print(f"schema.graphql {'written' if changed else 'unchanged'}")


if __name__ == "__main__":
    main()
