"""docker-compose.yml cannot be run on the development machines; this keeps it in step with the
launcher that `make stack` runs (same modules, ports and router overrides)."""

from __future__ import annotations

from pathlib import Path

import yaml

from subgraphs.registry import SUBGRAPHS

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_runs_every_subgraph_like_the_stack_mode() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    for entry in SUBGRAPHS:
        command = services[entry.name]["command"]
        assert f"{entry.module}:app" in command and str(entry.port) in command
        assert f"http://127.0.0.1:{entry.port}/health" in services[entry.name]["healthcheck"]["test"]
        assert services["router"]["depends_on"][entry.name] == {"condition": "service_healthy"}
    overrides = services["router"]["environment"]["ROUTER_SUBGRAPH_URLS"]
    expected = ",".join(f"{e.name}=http://{e.name}:{e.port}/graphql" for e in SUBGRAPHS)
    assert overrides.strip() == expected
    assert {"postgres", "redis", "setup"} <= set(services)
