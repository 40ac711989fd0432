"""Who may see and do what in the service hall.

* Applicants: a citizen sees and acts on the applications whose applicant is the person behind the account
  (Caller.person_uid); a legal entity's staff, those of their organisation (Caller.organization_id).
* Staff: the window (SERVICES_WINDOW_ROLES, default SERVICE_WINDOW), the approval desk
  (SERVICES_APPROVER_ROLES, default SERVICE_APPROVER) and the leaders (SERVICES_LEADER_ROLES, default
  SERVICE_LEADER) work on the cases of their organisation and of their region (the caller's data scope).
* Managers (SERVICES_ADMIN_ROLES, default SERVICE_ADMIN and SYSTEM_ADMIN, or the scope services:admin):
  the catalogue, guides, notices and bundles, and every case.

Anonymous callers count as managers only where the deployment opens the graph to them for development
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
from subgraphs.services import models

ADMIN_SCOPE = "services:admin"


class Desk(Enum):
    WINDOW = ("SERVICES_WINDOW_ROLES", "SERVICE_WINDOW")
    APPROVER = ("SERVICES_APPROVER_ROLES", "SERVICE_APPROVER")
    LEADER = ("SERVICES_LEADER_ROLES", "SERVICE_LEADER")
    ADMIN = ("SERVICES_ADMIN_ROLES", "SERVICE_ADMIN,SYSTEM_ADMIN")

    def roles(self) -> frozenset[str]:
        return roles_from_env(*self.value)


def is_manager(caller: Caller | None) -> bool:
    if caller is None or caller.anonymous:
        return anonymous_open()
    return ADMIN_SCOPE in caller.scopes or bool(Desk.ADMIN.roles() & set(caller.roles))


def check_manager(caller: Caller | None, what: str) -> None:
    if not is_manager(caller):
        raise forbidden(f"{what} is for the service hall's managers (roles "
                        f"{', '.join(sorted(Desk.ADMIN.roles()))} or the scope {ADMIN_SCOPE}).")


def works_at(caller: Caller | None, *desks: Desk) -> bool:
    """Whether the caller staffs one of `desks` (managers staff every desk)."""
    if is_manager(caller):
        return True
    if caller is None or caller.anonymous:
        return False
    roles = set(caller.roles)
    return any(desk.roles() & roles for desk in desks)


def check_desk(caller: Caller | None, what: str, *desks: Desk) -> None:
    if not works_at(caller, *desks):
        names = ", ".join(sorted(set().union(*(d.roles() for d in desks))))
        raise forbidden(f"{what} is for staff with one of the roles {names}.")


def is_applicant_of(caller: Caller | None, application: models.Application) -> bool:
    if caller is None or caller.anonymous:
        return False
    if caller.person_uid is not None and caller.person_uid == application.applicant_uid:
        return True
    return application.applicant_org_id is not None and caller.organization_id == application.applicant_org_id


def staff_sees(caller: Caller | None) -> ColumnElement[bool]:
    """The applications a staff member's queues hold: their organisation's and their region's (managers:
    all; callers who are not staff: none)."""
    if is_manager(caller):
        return true()
    if caller is None or caller.anonymous or not works_at(caller, Desk.WINDOW, Desk.APPROVER, Desk.LEADER):
        return false()
    # Applications without a region are only the organisation's to see.
    region_column = cast(QueryableAttribute[str], models.Application.region_code)
    conditions: list[ColumnElement[bool]] = [region_scope(caller).condition(region_column)]
    if caller.organization_id:
        conditions.append(models.Application.organization_id == caller.organization_id)
    return or_(*conditions)


def may_see(caller: Caller | None, application: models.Application) -> bool:
    """One application: its applicant, staff of its organisation or region, managers."""
    if is_applicant_of(caller, application) or is_manager(caller):
        return True
    if caller is None or caller.anonymous or not works_at(caller, Desk.WINDOW, Desk.APPROVER, Desk.LEADER):
        return False
    if caller.organization_id and caller.organization_id == application.organization_id:
        return True
    return region_scope(caller).allows(application.region_code)
