"""GraphQL for account mappings and API clients: merged into identity's Query and Mutation by schema.py."""

from __future__ import annotations

queries: tuple[type, ...] = ()
mutations: tuple[type, ...] = ()
