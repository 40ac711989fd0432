"""GraphQL for the security policies (安全策略): merged into identity's Query and Mutation by schema.py."""

from __future__ import annotations

queries: tuple[type, ...] = ()
mutations: tuple[type, ...] = ()
