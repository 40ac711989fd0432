"""The router's command line.

  python -m router plan --supergraph schema.graphql query.graphql [--operation NAME]
  python -m router serve --supergraph schema.graphql [--listen 127.0.0.1:4000]
  python -m router compose --out schema.graphql name=url=path.graphql ...

`serve` reads the subgraph URLs from the supergraph's join__graph directives (override them with
ROUTER_SUBGRAPH_URLS=name=url,...), so it serves any Federation v2 supergraph, not only ours.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from graphql import GraphQLError, parse

from router.compose import CompositionError, SubgraphSource, compose
from router.plan import PlanningError
from router.planner import QueryPlanner
from router.supergraph import Supergraph, SupergraphError


def _load(path: str) -> Supergraph:
    try:
        return Supergraph(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        sys.exit(f"cannot read the supergraph: {exc}")
    except SupergraphError as exc:
        sys.exit(f"{path}: {exc}")


def plan_command(args: argparse.Namespace) -> None:
    supergraph = _load(args.supergraph)
    source = sys.stdin.read() if args.operation_file == "-" else Path(args.operation_file).read_text(encoding="utf-8")
    try:
        plan = QueryPlanner(supergraph).plan(parse(source), args.operation)
    except GraphQLError as exc:
        sys.exit(f"the operation does not parse: {exc.message}")
    except (PlanningError, ValueError) as exc:
        sys.exit(f"cannot plan: {exc}")
    print(plan.describe())


def serve_command(args: argparse.Namespace) -> None:
    import uvicorn

    from router.app import build
    from router.config import ConfigError, load_config

    started = time.monotonic()
    try:
        config = load_config(args.config)
        if args.supergraph:
            config = replace(config, supergraph_path=args.supergraph)
        listen = args.listen or config.server.listen
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            sys.exit(f"--listen takes HOST:PORT, not {listen!r}")
        application = build(config)
    except (ConfigError, SupergraphError) as exc:
        sys.exit(f"cannot serve: {exc}")
    print(f"router: {config.supergraph_path} loaded in {time.monotonic() - started:.2f}s; "
          f"serving http://{host}:{port}/graphql", file=sys.stderr, flush=True)
    uvicorn.run(application, host=host, port=int(port), log_level="warning", access_log=False)


def compose_command(args: argparse.Namespace) -> None:
    sources = []
    for item in args.subgraphs:
        parts = item.split("=", 2)
        if len(parts) != 3:
            sys.exit(f"subgraphs are given as name=url=path.graphql, not {item!r}")
        name, url, path = parts
        sources.append(SubgraphSource(name, url, Path(path).read_text(encoding="utf-8")))
    try:
        sdl = compose(sources)
    except CompositionError as exc:
        sys.exit(str(exc))
    if args.out:
        Path(args.out).write_text(sdl, encoding="utf-8")
    else:
        sys.stdout.write(sdl)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m router", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="print the query plan of an operation")
    plan.add_argument("--supergraph", default="schema.graphql")
    plan.add_argument("--operation", help="operation name, when the document has several")
    plan.add_argument("operation_file", help="a .graphql file, or - for standard input")
    serve = commands.add_parser("serve", help="serve a supergraph over HTTP")
    serve.add_argument("--supergraph", help="default: the configuration's (schema.graphql)")
    serve.add_argument("--listen", help="HOST:PORT; default: the configuration's (127.0.0.1:4000)")
    serve.add_argument("--config", help="a router TOML file (default: ROUTER_CONFIG, or router.toml if present)")
    composer = commands.add_parser("compose", help="compose subgraph SDL files into a supergraph")
    composer.add_argument("--out")
    composer.add_argument("subgraphs", nargs="+", metavar="name=url=path.graphql")
    args = parser.parse_args(argv)
    {"plan": plan_command, "serve": serve_command, "compose": compose_command}[args.command](args)


if __name__ == "__main__":
    main()
