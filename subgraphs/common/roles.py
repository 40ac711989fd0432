"""What every domain's access rules share: who an action is recorded against, role lists configured by
environment variables, and the development switch that opens the graph to anonymous callers."""

from __future__ import annotations

import os

from subgraphs.common.caller import Caller
from subgraphs.common.scope import ANONYMOUS_SCOPE_ENV


def actor_of(caller: Caller | None) -> str:
    """Who an action is recorded against: the user, else the calling system, else anonymous."""
    if caller is None or caller.anonymous:
        return "anonymous"
    return caller.user_id or caller.client_id or caller.subject or "anonymous"


def roles_from_env(env: str, default: str) -> frozenset[str]:
    """The role codes listed (comma-separated) in environment variable `env`, else in `default`."""
    return frozenset(r.strip() for r in os.environ.get(env, default).split(",") if r.strip())


def anonymous_open() -> bool:
    """Whether the deployment lets anonymous callers act as administrators (JSHEALTH_ANONYMOUS_SCOPE=all:
    `make run`, `make stack` and the tests; production leaves it unset)."""
    return os.environ.get(ANONYMOUS_SCOPE_ENV, "").lower() == "all"
