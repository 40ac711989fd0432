"""Who may see and do what in security management.

* The province's security administrators (SECURITY_ADMIN_ROLES, default SECURITY_ADMIN and SYSTEM_ADMIN, or
  the scope security:admin): issue incidents and notices, review change requests, run drills, see all.
* A unit's security administrator (SECURITY_UNIT_ROLES, default UNIT_SECURITY_ADMIN): its own organisation's
  assets, incidents, disposal reports, protection records, notices; a hospital sees its own only. A
  caller whose data scope is CROSS_ORG or ALL (a city's health commission) also sees the organisations of
  its region.
* The operations centre (SECURITY_DISPATCH_ROLES, default OPS_DISPATCHER) reviews and dispatches tickets;
  the ops staff (SECURITY_OPS_ROLES, default OPS_ENGINEER) handle the tickets dispatched to them; any
  signed-in user may request a ticket.

Anonymous callers count as administrators only where the deployment opens the graph to them for development
(JSHEALTH_ANONYMOUS_SCOPE=all, set by `make run` and the tests); production leaves it unset.
"""

from __future__ import annotations

from enum import Enum
from typing import cast

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import QueryableAttribute

from subgraphs.common.caller import Caller
from subgraphs.common.errors import forbidden
from subgraphs.common.roles import actor_of as actor_of  # re-exported: callers use access.actor_of
from subgraphs.common.roles import anonymous_open, roles_from_env
from subgraphs.common.scope import region_scope

ADMIN_SCOPE = "security:admin"


class Role(Enum):
    ADMIN = ("SECURITY_ADMIN_ROLES", "SECURITY_ADMIN,SYSTEM_ADMIN")
    UNIT = ("SECURITY_UNIT_ROLES", "UNIT_SECURITY_ADMIN")
    DISPATCH = ("SECURITY_DISPATCH_ROLES", "OPS_DISPATCHER")
    OPS = ("SECURITY_OPS_ROLES", "OPS_ENGINEER")

    def roles(self) -> frozenset[str]:
        return roles_from_env(*self.value)


def is_admin(caller: Caller | None) -> bool:
    if caller is None or caller.anonymous:
        return anonymous_open()
    return ADMIN_SCOPE in caller.scopes or bool(Role.ADMIN.roles() & set(caller.roles))


def has_role(caller: Caller | None, *roles: Role) -> bool:
    """Whether the caller holds one of `roles` (administrators hold them all)."""
    if is_admin(caller):
        return True
    if caller is None or caller.anonymous:
        return False
    return any(role.roles() & set(caller.roles) for role in roles)


def check_admin(caller: Caller | None, what: str) -> None:
    if not is_admin(caller):
        raise forbidden(f"{what} is for the province's security administrators (roles "
                        f"{', '.join(sorted(Role.ADMIN.roles()))} or the scope {ADMIN_SCOPE}).")


def check_role(caller: Caller | None, what: str, *roles: Role) -> None:
    if not has_role(caller, *roles):
        names = ", ".join(sorted(set().union(*(r.roles() for r in roles))))
        raise forbidden(f"{what} needs one of the roles {names}.")


def _regional(caller: Caller) -> bool:
    return caller.data_scope in ("CROSS_ORG", "ALL") and caller.region_code is not None


def sees_org(caller: Caller | None, org_id: str | None, region_code: str | None = None) -> bool:
    """Whether the caller may see the records of organisation `org_id` (in region `region_code`)."""
    if is_admin(caller):
        return True
    if caller is None or caller.anonymous:
        return False
    if org_id is not None and caller.organization_id == org_id:
        return True
    return _regional(caller) and region_scope(caller).allows(region_code)


def org_condition(caller: Caller | None, org_column: QueryableAttribute[str],
                  region_column: QueryableAttribute[str | None] | None = None) -> ColumnElement[bool]:
    """The WHERE condition of `sees_org` over a table's organisation (and region) columns."""
    if is_admin(caller):
        return true()
    if caller is None or caller.anonymous:
        return false()
    conditions: list[ColumnElement[bool]] = []
    if caller.organization_id:
        conditions.append(org_column == caller.organization_id)
    if region_column is not None and _regional(caller):
        conditions.append(region_scope(caller).condition(cast(QueryableAttribute[str], region_column)))
    return or_(*conditions) if conditions else false()
