"""Lists of parents with their children (assets with their change history, tickets with their steps, drills
with their files and viewers, ...) cost the same number of statements whatever the page size (one per child
table, not one per row)."""

from __future__ import annotations

from typing import Any

import pytest
from support import count_statements, execute

from subgraphs.common.caller import Caller
from subgraphs.security.app import definition

# A regional unit: the protection records it sees are cut to its region by a caller-scoped loader.
NANJING = Caller(subject="u-nanjing", client_id="portal", scopes=frozenset(), roles=("UNIT_SECURITY_ADMIN",),
                 organization_id="org-320100-hc", region_code="320100", data_scope="CROSS_ORG")

QUERIES = {
    "asset history": ("query($first: Int!) { assets(first: $first) { edges { node { id "
                      "history { action at } } } } }", "assets", ("history",)),
    "ticket steps": ("query($first: Int!) { opsTickets(first: $first) { edges { node { id "
                     "events { action } } } } }", "opsTickets", ("events",)),
    "notice materials": ("query($first: Int!) { noticeLedger(materialStatus: COMPLETE, first: $first) { edges { "
                         "node { id materials { id code submittedAt } } } } }", "noticeLedger", ("materials",)),
    "protection change requests": ("query($first: Int!) { protectionRecords(first: $first) { edges { node { id "
                                   "changeRequests { id requestedAt } } } } }", "protectionRecords",
                                   ("changeRequests",)),
    "asset protection records": ("query($first: Int!) { searchAssets(filter: {kinds: [APPLICATION]}, "
                                 "first: $first) { edges { node { id protectionRecords { id level } } } } }",
                                 "searchAssets", ("protectionRecords",)),
}


async def statements_per_page(runtime: Any, query: str, root: str, children: tuple[str, ...],
                              sizes: tuple[int, ...], caller: Caller | None = None) -> dict[int, int]:
    """How many statements the query issues for each page size (each page full; the largest with children)."""
    counts = {}
    for first in sizes:
        with count_statements(runtime) as statements:
            data = await execute(runtime, query, {"first": first}, caller=caller)
        nodes = [edge["node"] for edge in data[root]["edges"]] if isinstance(data[root], dict) else data[root]
        assert len(nodes) == first
        if first == max(sizes):
            assert all(any(node[child] for node in nodes) for child in children), (root, children)
        counts[first] = len(statements)
    return counts


@pytest.mark.parametrize("name", sorted(QUERIES))
async def test_children_of_a_page_load_in_one_statement(sqlite_runtime: Any, name: str) -> None:
    runtime = await sqlite_runtime(definition)
    query, root, children = QUERIES[name]
    counts = await statements_per_page(runtime, query, root, children, (3, 30))
    assert counts[3] == counts[30], counts


async def test_scoped_children_of_a_page_load_in_one_statement(sqlite_runtime: Any) -> None:
    # The same for a caller whose data scope cuts the rows (the scope is part of the batched statement).
    runtime = await sqlite_runtime(definition)
    query, root, children = QUERIES["asset protection records"]
    counts = await statements_per_page(runtime, query, root, children, (2, 10), caller=NANJING)
    assert counts[2] == counts[10], counts


async def test_files_and_viewers_of_drills_load_in_one_statement_each(sqlite_runtime: Any) -> None:
    runtime = await sqlite_runtime(definition)
    query = ("query($first: Int!) { drills(first: $first) { id files { id phase } "
             "plan: files(phase: PLAN) { id phase } viewers { principal } } }")
    # The seed has three drills, each with files in every phase and viewers.
    counts = await statements_per_page(runtime, query, "drills", ("files", "plan", "viewers"), (1, 3))
    # The drills, then their files (both aliases) and their viewers: one statement each.
    assert counts[1] == counts[3] == 3, counts
    data = await execute(runtime, query, {"first": 3})
    for drill in data["drills"]:
        assert drill["plan"] == [f for f in drill["files"] if f["phase"] == "PLAN"]
