"""角色 and 权限: role rules (immutable code, status with a reason, copy, delete only without users) and
permission rules (a DATA permission has a scope, menus form a tree within one system)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import bad_input
from subgraphs.common.outbox import emit
from subgraphs.identity import models
from subgraphs.identity.domain import validation
from subgraphs.identity.domain.access import SCOPE_ORDER
from subgraphs.identity.domain.oplog import log_operation, now
from subgraphs.identity.domain.problems import conflict, field_error, invalid_state, not_found

CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{1,63}")
PERMISSIONS_TOPIC = "identity.role.permissions_changed"
MAX_MENU_DEPTH = 8


def _code(value: str, field: str = "code") -> str:
    value = value.strip()
    if not CODE.fullmatch(value):
        raise bad_input("A code is 2 to 64 characters: a letter first, then letters, digits, '_', '.', ':' or '-'.",
                        field=field)
    return value


def _text(field: str, value: str | None, maximum: int, *, required: bool = False) -> str | None:
    try:
        return validation.text(field, value or "", maximum, required=required)
    except validation.FieldProblem as problem:
        raise field_error(problem) from None


async def get_role(session: AsyncSession, role_id: str, argument: str = "id") -> models.Role:
    row = await session.get(models.Role, role_id)
    if row is None:
        raise not_found("role", role_id, argument)
    return row


async def _role_code_free(session: AsyncSession, code: str) -> None:
    if await session.scalar(select(models.Role.id).where(models.Role.code == code)) is not None:
        raise conflict(f"Role code {code} is already in use.", field="code")


async def create_role(
    session: AsyncSession, *, code: str, name: str, kind: str, description: str | None, remark: str | None,
    actor_id: str | None,
) -> models.Role:
    code = _code(code)
    await _role_code_free(session, code)
    row = models.Role(id=f"role-{uuid.uuid4().hex[:16]}", code=code, name=_text("name", name, 64, required=True),
                      kind=kind, description=_text("description", description, 256),
                      remark=_text("remark", remark, 256), status="ENABLED", created_at=now())
    session.add(row)
    log_operation(session, actor_id=actor_id, action="CREATE_ROLE", target_type="Role", target_id=row.id,
                  detail={"code": code, "name": row.name, "kind": kind})
    await session.flush()
    return row


async def update_role(
    session: AsyncSession, role_id: str, changes: dict[str, Any], actor_id: str | None
) -> models.Role:
    """Name, kind, description and remark; the code never changes (编码不可修改)."""
    if "code" in changes:
        raise bad_input("A role's code cannot be changed.", field="code")
    row = await get_role(session, role_id)
    if "name" in changes:
        row.name = _text("name", changes["name"], 64, required=True) or row.name
    if "kind" in changes:
        if changes["kind"] is None:
            raise bad_input("kind cannot be cleared.", field="kind")
        row.kind = changes["kind"]
    for key in ("description", "remark"):
        if key in changes:
            setattr(row, key, _text(key, changes[key], 256))
    log_operation(session, actor_id=actor_id, action="UPDATE_ROLE", target_type="Role", target_id=row.id,
                  detail={"fields": sorted(changes)})
    await session.flush()
    return row


async def change_role_status(
    session: AsyncSession, role_id: str, status: str, reason: str, actor_id: str | None
) -> models.Role:
    try:
        reason = validation.reason(reason)
    except validation.FieldProblem as problem:
        raise bad_input(problem.message, argument="reason") from None
    row = await get_role(session, role_id)
    if row.status == status:
        raise invalid_state(f"The role is already {status}.", status=status)
    before, row.status, row.status_reason = row.status, status, reason
    log_operation(session, actor_id=actor_id, action="CHANGE_ROLE_STATUS", target_type="Role", target_id=row.id,
                  detail={"from": before, "to": status, "reason": reason})
    # A disabled role stops granting at once (实时生效): the connected systems must hear it.
    emit(session, models.OutboxEvent, PERMISSIONS_TOPIC, {"roleId": row.id, "status": status})
    await session.flush()
    return row


async def role_permission_ids(session: AsyncSession, role_id: str) -> list[str]:
    return list((await session.scalars(select(models.RolePermission.permission_id)
                                       .where(models.RolePermission.role_id == role_id)
                                       .order_by(models.RolePermission.permission_id))).all())


async def copy_role(
    session: AsyncSession, role_id: str, new_code: str, new_name: str, actor_id: str | None
) -> models.Role:
    """角色复制: a new, enabled role with the source's kind, description and permissions (not its users)."""
    source = await get_role(session, role_id)
    copy = await create_role(session, code=new_code, name=new_name, kind=source.kind, description=source.description,
                             remark=source.remark, actor_id=actor_id)
    permission_ids = await role_permission_ids(session, source.id)
    session.add_all([models.RolePermission(role_id=copy.id, permission_id=p) for p in permission_ids])
    log_operation(session, actor_id=actor_id, action="COPY_ROLE", target_type="Role", target_id=copy.id,
                  detail={"from": source.id, "permissions": len(permission_ids)})
    await session.flush()
    return copy


async def delete_role(session: AsyncSession, role_id: str, actor_id: str | None) -> None:
    row = await get_role(session, role_id)
    users = int(await session.scalar(select(func.count()).where(models.UserRole.role_id == role_id)) or 0)
    if users:
        raise conflict(f"Role {row.code} still has {users} user(s); take it from them first.", users=users)
    await session.execute(delete(models.RolePermission).where(models.RolePermission.role_id == role_id))
    await session.delete(row)
    log_operation(session, actor_id=actor_id, action="DELETE_ROLE", target_type="Role", target_id=role_id,
                  detail={"code": row.code, "name": row.name})
    await session.flush()


async def set_role_permissions(
    session: AsyncSession, role_id: str, permission_ids: list[str], actor_id: str | None
) -> models.Role:
    row = await get_role(session, role_id, "roleId")
    wanted = list(dict.fromkeys(permission_ids))
    found = set((await session.scalars(select(models.Permission.id).where(models.Permission.id.in_(wanted)))).all())
    missing = [p for p in wanted if p not in found]
    if missing:
        raise not_found("permission", ", ".join(missing), "permissionIds")
    before = await role_permission_ids(session, role_id)
    await session.execute(delete(models.RolePermission).where(models.RolePermission.role_id == role_id))
    session.add_all([models.RolePermission(role_id=role_id, permission_id=p) for p in wanted])
    log_operation(session, actor_id=actor_id, action="SET_ROLE_PERMISSIONS", target_type="Role", target_id=role_id,
                  detail={"added": sorted(set(wanted) - set(before)), "removed": sorted(set(before) - set(wanted))})
    emit(session, models.OutboxEvent, PERMISSIONS_TOPIC, {"roleId": role_id})
    await session.flush()
    return row


# --- permissions ---------------------------------------------------------------------------------


@dataclass
class PermissionFields:
    kind: str
    code: str
    name: str
    system: str = "portal"
    description: str | None = None
    data_scope: str | None = None
    menu_path: str | None = None
    parent_id: str | None = None
    effective: bool = True
    effective_from: datetime | None = None


async def get_permission(session: AsyncSession, permission_id: str, argument: str = "id") -> models.Permission:
    row = await session.get(models.Permission, permission_id)
    if row is None:
        raise not_found("permission", permission_id, argument)
    return row


async def _check_permission(session: AsyncSession, f: PermissionFields, permission_id: str | None) -> None:
    if f.kind == "DATA":
        if f.data_scope not in SCOPE_ORDER:
            raise bad_input("A data permission needs its scope (OWN_ORG, OWN_DEPT, CROSS_ORG or ALL).",
                            field="dataScope")
        if f.parent_id is not None:
            raise bad_input("Data permissions are not part of the menu tree.", field="parentId")
    elif f.data_scope is not None:
        raise bad_input("Only a data permission has a data scope.", field="dataScope")
    if f.kind == "MENU" and not f.menu_path:
        raise bad_input("A menu permission needs its path.", field="menuPath")
    if f.kind != "MENU" and f.menu_path:
        raise bad_input("Only a menu permission has a path.", field="menuPath")
    if f.parent_id is None:
        return
    parent = await get_permission(session, f.parent_id, "parentId")
    if parent.kind != "MENU" or parent.system != f.system:
        raise bad_input("A permission's parent is a menu of the same system.", field="parentId")
    # Walk up: the new parent must not be the permission itself or below it, and the tree stays shallow.
    cursor: models.Permission | None = parent
    depth = 1
    while cursor is not None:
        if permission_id is not None and cursor.id == permission_id:
            raise bad_input("A menu cannot be moved under itself or one of its sub-menus.", field="parentId")
        depth += 1
        if depth > MAX_MENU_DEPTH:
            raise bad_input(f"Menus nest at most {MAX_MENU_DEPTH} levels deep.", field="parentId")
        cursor = await session.get(models.Permission, cursor.parent_id) if cursor.parent_id else None


async def create_permission(session: AsyncSession, f: PermissionFields, actor_id: str | None) -> models.Permission:
    f.code = _code(f.code)
    f.system = _code(f.system, "system")
    f.name = _text("name", f.name, 128, required=True) or f.name
    f.description = _text("description", f.description, 256)
    f.menu_path = _text("menuPath", f.menu_path, 256)
    await _check_permission(session, f, None)
    taken = select(models.Permission.id).where(models.Permission.system == f.system, models.Permission.code == f.code)
    if await session.scalar(taken) is not None:
        raise conflict(f"Permission code {f.code} is already in use in {f.system}.", field="code")
    row = models.Permission(id=f"perm-{uuid.uuid4().hex[:16]}", **vars(f))
    session.add(row)
    log_operation(session, actor_id=actor_id, action="CREATE_PERMISSION", target_type="Permission", target_id=row.id,
                  detail={"code": f.code, "kind": f.kind, "system": f.system})
    await session.flush()
    return row


async def update_permission(
    session: AsyncSession, permission_id: str, changes: dict[str, Any], actor_id: str | None
) -> models.Permission:
    """Everything but the kind, the system and the code, which other systems' mappings refer to."""
    for fixed in ("kind", "system", "code"):
        if fixed in changes:
            raise bad_input(f"A permission's {fixed} cannot be changed.", field=fixed)
    row = await get_permission(session, permission_id)
    f = PermissionFields(kind=row.kind, code=row.code, name=row.name, system=row.system,
                         description=row.description, data_scope=row.data_scope, menu_path=row.menu_path,
                         parent_id=row.parent_id, effective=row.effective, effective_from=row.effective_from)
    for key, value in changes.items():
        if value is None and key in ("name", "effective"):
            raise bad_input(f"{key} cannot be cleared.", field=key)
        setattr(f, key, value)
    f.name = _text("name", f.name, 128, required=True) or row.name
    f.description = _text("description", f.description, 256)
    f.menu_path = _text("menuPath", f.menu_path, 256)
    await _check_permission(session, f, row.id)
    for key, value in vars(f).items():
        setattr(row, key, value)
    log_operation(session, actor_id=actor_id, action="UPDATE_PERMISSION", target_type="Permission",
                  target_id=row.id, detail={"fields": sorted(changes)})
    emit(session, models.OutboxEvent, PERMISSIONS_TOPIC, {"permissionId": row.id})
    await session.flush()
    return row
