"""Data scope (数据权限): which regions' records a caller may see.

The caller token carries the caller's data scope and region (from identity: the widest DATA permission of
its roles, and its organisation's region). A subgraph turns that into a `RegionScope`:

* `ALL` (全量): every region;
* `CROSS_ORG`, `OWN_ORG`, `OWN_DEPT`: the caller's region and its subtree (a city's user sees the city,
  a county's user the county); finer organisation and department limits are each domain's business;
* a caller without a data scope (a system client, a user without a DATA permission): nothing;
* an anonymous caller: nothing, unless the deployment says otherwise with JSHEALTH_ANONYMOUS_SCOPE=all,
  which the development modes (`make run`, `make stack`) and the tests set so that the graph can be
  explored without signing in. Production leaves it unset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import QueryableAttribute

from subgraphs.common.caller import Caller
from subgraphs.common.errors import forbidden
from subgraphs.common.regions import in_subtree, subtree_prefix

ANONYMOUS_SCOPE_ENV = "JSHEALTH_ANONYMOUS_SCOPE"


@dataclass(frozen=True)
class RegionScope:
    everything: bool = False
    region: str | None = None  # with everything False: the subtree the caller may see; None: nothing

    def allows(self, code: str | None) -> bool:
        if self.everything:
            return True
        if self.region is None or code is None:
            return False
        return code.startswith(subtree_prefix(self.region))

    def condition(self, column: QueryableAttribute[str]) -> ColumnElement[bool]:
        """A WHERE condition keeping the rows whose region `column` lies in the scope."""
        if self.everything:
            return true()
        if self.region is None:
            return false()
        return in_subtree(column, self.region)

    def check_request(self, requested: str, argument: str = "regionCode") -> None:
        """Refuses, with FORBIDDEN, a region that lies wholly outside the scope (one that contains the
        scope, such as the province for a city user, is narrowed to it by `condition`)."""
        if self.everything:
            return
        if self.region is None:
            raise forbidden("Your account may not see personal records.", argument=argument)
        mine, theirs = subtree_prefix(self.region), subtree_prefix(requested)
        if not (theirs.startswith(mine) or mine.startswith(theirs)):
            raise forbidden(f"Region {requested} is outside your data scope ({self.region}).", argument=argument)


def region_scope(caller: Caller | None) -> RegionScope:
    if caller is None or caller.anonymous:
        return RegionScope(everything=os.environ.get(ANONYMOUS_SCOPE_ENV, "").lower() == "all")
    if caller.data_scope == "ALL":
        return RegionScope(everything=True)
    if caller.data_scope is not None and caller.region_code:
        return RegionScope(region=caller.region_code)
    return RegionScope()
