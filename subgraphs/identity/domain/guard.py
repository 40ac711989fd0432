"""Who may do what through identity's GraphQL API: the one place its access rules live.

The caller is the one the router vouches for (`info.context.caller`, subgraphs/common/caller.py); nothing
else on a request (headers, arguments) says who calls.

* **Administrator** (管理员): a user whose *enabled* roles include one of kind ADMIN, read from the
  database on each request (a role disabled or removed, or an account frozen, stops working at once,
  whatever the token still says), or a system client (client credentials) whose token carries the
  `identity:admin` scope. Its reach (`Administrator.scope`) is the province for a data scope of ALL and
  for such a system, else its organisation's region and the subtree below it (a city administrator
  manages its city), else nothing.
* **Province-wide settings** (roles, permissions, security policies, the IP blacklist, keys, clients,
  connected systems and account mappings) need an administrator whose reach is the whole province.
* **Staff personal data** (the user list, a user, a user's login history and operation log): an
  administrator within its reach, or the user themself for their own records; otherwise FORBIDDEN.
* **Federated reads** (`Person.account`, `Organization.users`, `User` entities) follow the data scope of
  the caller token like every other subgraph (subgraphs/common/scope.py): anonymous callers see them only
  where the deployment opts in with JSHEALTH_ANONYMOUS_SCOPE=all.
* **Personal centre** (个人中心): any signed-in user, for their own account.
* Open: organisations (names, codes and regions are not personal data) and the live password check.

Anonymous callers are refused with UNAUTHENTICATED, signed-in callers without the right with FORBIDDEN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import QueryableAttribute

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, domain_error, forbidden
from subgraphs.common.scope import RegionScope, region_scope
from subgraphs.identity import models
from subgraphs.identity.domain.access import SCOPE_ORDER, data_scopes, widest

ADMIN_SCOPE = "identity:admin"  # the token scope that makes a system client an administrator
_CACHE = "_identity_administrator"  # where the request's answer is kept on the context


@dataclass(frozen=True)
class Administrator:
    caller: Caller
    scope: RegionScope  # where it may act
    data_scope: str | None  # its effective data scope (ALL for an identity:admin system)


def _caller(info: Any) -> Caller | None:
    caller = getattr(info.context, "caller", None)
    return caller if isinstance(caller, Caller) and not caller.anonymous else None


def unauthenticated(message: str = "Sign in to do this.") -> GraphQLError:
    return domain_error(ErrorCode.UNAUTHENTICATED, message)


def signed_in_caller(info: Any) -> Caller:
    """The verified caller; UNAUTHENTICATED when there is none."""
    caller = _caller(info)
    if caller is None:
        raise unauthenticated()
    return caller


async def _load_administrator(info: Any, caller: Caller) -> Administrator | None:
    user_id = caller.user_id
    if user_id is None:
        if caller.client_id is not None and ADMIN_SCOPE in caller.scopes:
            return Administrator(caller=caller, scope=RegionScope(everything=True), data_scope="ALL")
        return None
    async with info.context.session() as session:
        user = await session.get(models.User, user_id)
        if user is None or user.status != "NORMAL":
            return None
        admin_role = await session.scalar(
            select(models.Role.id).join(models.UserRole, models.UserRole.role_id == models.Role.id)
            .where(models.UserRole.user_id == user_id, models.Role.kind == "ADMIN", models.Role.status == "ENABLED")
            .limit(1))
        if admin_role is None:
            return None
        scope = (await data_scopes(session, [user_id])).get(user_id)
        organization = await session.get(models.Organization, user.organization_id)
    if scope == "ALL":
        reach = RegionScope(everything=True)
    elif scope is not None and organization is not None:
        reach = RegionScope(region=organization.region_code)
    else:
        reach = RegionScope()
    return Administrator(caller=caller, scope=reach, data_scope=scope)


async def administrator(info: Any) -> Administrator | None:
    """The caller as an administrator, or None (anonymous callers included); read once per request."""
    caller = _caller(info)
    if caller is None:
        return None
    cached = getattr(info.context, _CACHE, None)
    if isinstance(cached, tuple) and cached[0] is caller:
        result: Administrator | None = cached[1]
        return result
    found = await _load_administrator(info, caller)
    setattr(info.context, _CACHE, (caller, found))
    return found


async def _organization_region(info: Any, organization_id: str) -> str | None:
    row = await info.context.loaders.organization.load(organization_id)
    return row.region_code if row is not None else None


def _refuse_outside(admin: Administrator, region_code: str | None, what: str) -> None:
    if region_code is not None and not admin.scope.allows(region_code):
        raise forbidden(f"{what} lies outside the region you administer.", regionCode=region_code)


async def require_admin(
    info: Any, *, organization_id: str | None = None, organization_ids: Sequence[str] = (),
    region_code: str | None = None,
) -> Caller:
    """An administrator (UNAUTHENTICATED for anonymous callers, FORBIDDEN for others). With target
    organisations (or a region), one whose reach covers all of them: a city administrator manages its city.
    An organisation that does not exist is left to the operation to report."""
    caller = signed_in_caller(info)
    admin = await administrator(info)
    if admin is None:
        raise forbidden("Only an administrator may do this.")
    targets = [*([organization_id] if organization_id is not None else []), *organization_ids]
    for target in targets:
        _refuse_outside(admin, await _organization_region(info, target), f"Organisation {target}")
    _refuse_outside(admin, region_code, f"Region {region_code}")
    return caller


async def require_province_admin(info: Any) -> Caller:
    """An administrator of the whole province (data scope ALL) or an `identity:admin` system: for the
    settings that hold province-wide (roles, permissions, security, clients, connected systems, mappings)."""
    caller = signed_in_caller(info)
    admin = await administrator(info)
    if admin is None or not admin.scope.everything:
        raise forbidden("Only a province-wide administrator (data scope ALL) may do this.")
    return caller


async def require_user_admin(info: Any, user_id: str) -> Caller:
    """An administrator whose reach covers the user's organisation (a missing user is the operation's to
    report)."""
    user = await info.context.loaders.user.load(user_id)
    return await require_admin(info, organization_id=user.organization_id if user is not None else None)


async def require_grantable(info: Any, role_ids: Sequence[str]) -> None:
    """An administrator below the province may give only roles whose data scope is no wider than its own
    (a city administrator cannot make anyone a province administrator)."""
    admin = await administrator(info)
    if admin is None or admin.scope.everything or not role_ids:
        return
    async with info.context.session() as session:
        rows = (await session.execute(
            select(models.RolePermission.role_id, models.Permission.data_scope)
            .join(models.Permission, models.Permission.id == models.RolePermission.permission_id)
            .where(models.RolePermission.role_id.in_(list(role_ids)), models.Permission.kind == "DATA"))).all()
    mine = SCOPE_ORDER.index(admin.data_scope) if admin.data_scope in SCOPE_ORDER else -1
    for role_id, scope in rows:
        theirs = widest([scope])
        if theirs is not None and SCOPE_ORDER.index(theirs) > mine:
            raise forbidden(f"Role {role_id} gives a data scope ({theirs}) wider than yours.", argument="roleIds")


async def require_signed_in(info: Any) -> Caller:
    """A signed-in user (not a system), for the personal centre."""
    caller = signed_in_caller(info)
    if caller.user_id is None:
        raise unauthenticated("Sign in as a user to use the personal centre (个人中心).")
    return caller


# --- reads of staff personal data ----------------------------------------------------------------


async def staff_scope(info: Any) -> RegionScope:
    """Where the caller may list staff accounts: an administrator's reach (UNAUTHENTICATED, FORBIDDEN)."""
    signed_in_caller(info)
    admin = await administrator(info)
    if admin is None:
        raise forbidden("Only an administrator may list user accounts.")
    return admin.scope


def in_scope(scope: RegionScope, organization_column: QueryableAttribute[str] | Any) -> ColumnElement[bool]:
    """A WHERE condition keeping rows whose organisation (an organisation-id column) lies in `scope`."""
    return organization_column.in_(
        select(models.Organization.id).where(scope.condition(models.Organization.region_code)))


async def check_organization_filter(info: Any, scope: RegionScope, organization_id: str | None,
                                    argument: str = "organizationId") -> None:
    """A filter naming an organisation wholly outside the scope is FORBIDDEN (decisions.md, 10)."""
    if organization_id is None or scope.everything:
        return
    region = await _organization_region(info, organization_id)
    if region is not None:
        scope.check_request(region, argument)


async def may_read_user(info: Any, user_id: str, organization_id: str) -> bool:
    """The user themself, or an administrator whose reach covers the user's organisation. Anonymous:
    UNAUTHENTICATED; a signed-in caller that is neither: FORBIDDEN; an administrator out of reach: False
    (the record is null, its existence not revealed)."""
    caller = signed_in_caller(info)
    if caller.user_id == user_id:
        return True
    admin = await administrator(info)
    if admin is None:
        raise forbidden("Only an administrator, or the user themself, may see this account's records.")
    return admin.scope.allows(await _organization_region(info, organization_id))


async def require_user_records(info: Any, user_id: str, organization_id: str) -> None:
    """A user's login history or operation log: the user themself or an administrator within reach."""
    if not await may_read_user(info, user_id, organization_id):
        raise forbidden("This account lies outside the region you administer.")


async def federated_may_see(info: Any, organization_id: str, user_id: str | None = None) -> bool:
    """The reads other subgraphs join (Person.account, Organization.users, User entities) follow the data
    scope of the caller token, as in every subgraph (anonymous callers only with
    JSHEALTH_ANONYMOUS_SCOPE=all); an administrator within reach and the user themself see them too."""
    caller = getattr(info.context, "caller", None)
    scope = region_scope(caller)
    if scope.everything:
        return True
    region = await _organization_region(info, organization_id)
    if scope.allows(region):
        return True
    signed_in = _caller(info)
    if signed_in is None:
        return False
    if user_id is not None and signed_in.user_id == user_id:
        return True
    admin = await administrator(info)
    return admin is not None and admin.scope.allows(region)
