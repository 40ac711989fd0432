"""Who may do what in the licence library.

* Managers (证照管理员): standards, upload permissions, presentation clients, revocation, logs, quality and
  statistics. A caller holding one of LICENCES_ADMIN_ROLES (default LICENCE_OFFICER, SYSTEM_ADMIN) or the
  scope `licences:admin` (a system acting for the library).
* Uploaders: a principal (the calling system's client id, else the user id) holding an upload permission
  for the licence type (domain/ingestion.py checks and logs it).
* Presenting systems: a registered presentation client (domain/presentation.py).
* Regulators (verifyLicence): a manager or a caller holding the scope `licences:verify`.

Anonymous callers count as managers only where the deployment opens the graph to them for development
(JSHEALTH_ANONYMOUS_SCOPE=all, set by `make run` and the tests); production leaves it unset.
"""

from __future__ import annotations

from subgraphs.common.caller import Caller
from subgraphs.common.errors import forbidden
from subgraphs.common.roles import actor_of as actor_of  # re-exported: callers use access.actor_of
from subgraphs.common.roles import anonymous_open, roles_from_env

ADMIN_ROLES_ENV = "LICENCES_ADMIN_ROLES"
DEFAULT_ADMIN_ROLES = "LICENCE_OFFICER,SYSTEM_ADMIN"
ADMIN_SCOPE = "licences:admin"
VERIFY_SCOPE = "licences:verify"


def principal_of(caller: Caller | None) -> str | None:
    """The uploader or presenting system a call is for: the client of a system call, else the user."""
    if caller is None or caller.anonymous:
        return None
    return caller.client_id if caller.user_id is None else caller.user_id


def admin_roles() -> frozenset[str]:
    return roles_from_env(ADMIN_ROLES_ENV, DEFAULT_ADMIN_ROLES)


def is_manager(caller: Caller | None) -> bool:
    if caller is None or caller.anonymous:
        return anonymous_open()
    return ADMIN_SCOPE in caller.scopes or bool(admin_roles() & set(caller.roles))


def check_manager(caller: Caller | None, what: str) -> None:
    if not is_manager(caller):
        roles = ", ".join(sorted(admin_roles()))
        raise forbidden(f"{what} is for licence managers (roles {roles} or the scope {ADMIN_SCOPE}).")


def check_regulator(caller: Caller | None) -> None:
    if is_manager(caller) or (caller is not None and VERIFY_SCOPE in caller.scopes):
        return
    raise forbidden(f"Verifying a licence by number is for regulators (the scope {VERIFY_SCOPE}).")
