"""Lists of assets with their change history and of tickets with their steps cost the same number of
statements whatever the page size (one per child table, not one per row)."""

from __future__ import annotations

from typing import Any

import pytest
from support import count_statements, execute

from subgraphs.security.app import definition

QUERIES = {
    "asset history": ("query($first: Int!) { assets(first: $first) { edges { node { id "
                      "history { action at } } } } }", "assets", "history"),
    "ticket steps": ("query($first: Int!) { opsTickets(first: $first) { edges { node { id "
                     "events { action } } } } }", "opsTickets", "events"),
}


@pytest.mark.parametrize("name", sorted(QUERIES))
async def test_children_of_a_page_load_in_one_statement(sqlite_runtime: Any, name: str) -> None:
    runtime = await sqlite_runtime(definition)
    query, root, child = QUERIES[name]
    counts = {}
    for first in (3, 30):
        with count_statements(runtime) as statements:
            data = await execute(runtime, query, {"first": first})
        edges = data[root]["edges"]
        assert len(edges) == first and any(edge["node"][child] for edge in edges)
        counts[first] = len(statements)
    assert counts[3] == counts[30], counts
