"""Excel exports of the organisation tree (机构树导出), the roles with their permissions (角色导出) and the
all-systems permission summary (全系统权限汇总), and the summary itself.

Every file comes from spreadsheet.write_rows, so the same data gives the same bytes (and the file names
carry no time stamp for the same reason): a download can be cached, compared and checked in a test.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import bad_input
from subgraphs.identity import models
from subgraphs.identity.domain.organizations import get as get_organization
from subgraphs.identity.domain.organizations import subtree_ids
from subgraphs.identity.domain.spreadsheet import CONTENT_TYPES, write_rows
from subgraphs.identity.domain.user_files import FileContent  # one download shape for every export

# Times in files are China Standard Time, which has no daylight saving (as in the user export).
CHINA = timezone(timedelta(hours=8))
# The province has some 37,000 medical institutions down to village clinics: the whole tree must fit.
MAX_TREE_ROWS = 100_000
MAX_ROLE_ROWS = 10_000
MAX_PERMISSION_ROWS = 100_000
# Each level of depth indents the name by one ideographic space pair, so the tree reads in Excel.
INDENT = "\u3000\u3000"

PORTAL = "portal"
PORTAL_NAME = "统一门户"  # the portal's own permissions have no connected-system row to name them

LEVEL_LABELS = {"PROVINCE": "省级", "CITY": "市级", "COUNTY": "县级", "TOWNSHIP": "乡级", "VILLAGE": "村级"}
ROLE_KIND_LABELS = {"ADMIN": "管理员角色", "BUSINESS": "业务角色"}
ROLE_STATUS_LABELS = {"ENABLED": "启用", "DISABLED": "禁用"}
PERMISSION_KIND_LABELS = {"DATA": "数据权限", "FUNCTION": "功能权限", "MENU": "菜单权限"}
KIND_ORDER = ("DATA", "FUNCTION", "MENU")  # the tabs' order: 数据、功能、菜单

TREE_COLUMNS = ("机构层级", "编码", "名称", "负责人")
ROLE_COLUMNS = ("角色编码", "角色名称", "角色类型", "描述", "状态", "关联用户数", "权限")
SUMMARY_COLUMNS = ("系统名称", "权限类型", "权限名称", "权限描述", "生效时间")


def _file(stem: str, file_format: str, content: bytes, rows: int) -> FileContent:
    return FileContent(f"{stem}.{file_format.lower()}", CONTENT_TYPES[file_format],
                       base64.b64encode(content).decode("ascii"), rows)


# --- 字母顺序 of Chinese names ---------------------------------------------------------------------

# GB 2312 orders its 3,755 level-1 hanzi by pinyin; these are the codes where each initial letter starts
# (there are no hanzi readings starting with I, U or V). With them a name sorts as a reader of a Chinese
# list expects ("按系统名称字母顺序"), without a pinyin dictionary: by initial letter, Latin letters among
# them, then by pinyin order within the letter.
_GB2312_INITIALS: tuple[tuple[int, str], ...] = (
    (0xB0A1, "A"), (0xB0C5, "B"), (0xB2C1, "C"), (0xB4EE, "D"), (0xB6EA, "E"), (0xB7A2, "F"), (0xB8C1, "G"),
    (0xB9FE, "H"), (0xBBF7, "J"), (0xBFA6, "K"), (0xC0AC, "L"), (0xC2E8, "M"), (0xC4C3, "N"), (0xC5B6, "O"),
    (0xC5BE, "P"), (0xC6DA, "Q"), (0xC8BB, "R"), (0xC8F6, "S"), (0xCBFA, "T"), (0xCDDA, "W"), (0xCEF4, "X"),
    (0xD1B9, "Y"), (0xD4D1, "Z"),
)
_GB2312_LEVEL1_END = 0xD7FA  # first code after level 1; level 2 is ordered by radical, not by sound
_AFTER_Z = "~"  # hanzi outside level 1 and other scripts: after the letters, by their code


def _char_key(char: str) -> tuple[str, bytes]:
    if char.isascii():
        return (char.upper(), char.lower().encode()) if char.isalpha() else (char, b"")
    try:
        encoded = char.encode("gb2312")
    except UnicodeEncodeError:
        return _AFTER_Z, char.encode("utf-8")
    if len(encoded) == 2:
        code = encoded[0] << 8 | encoded[1]
        if _GB2312_INITIALS[0][0] <= code < _GB2312_LEVEL1_END:
            letter = next(letter for start, letter in reversed(_GB2312_INITIALS) if code >= start)
            return letter, encoded
    return _AFTER_Z, encoded


def alphabetical_key(name: str) -> tuple[tuple[str, bytes], ...]:
    """A sort key putting names in 字母顺序: 安全 < Bank < 疾控 < 卫统 < 医保 (pinyin initials and Latin
    letters alike, case ignored)."""
    return tuple(_char_key(c) for c in name.strip())


# --- 机构树 --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeRow:
    depth: int  # 0 for the export's root(s)
    organization: Any  # a row with id, name, level, code, person_in_charge


async def organization_tree(session: AsyncSession, root_id: str | None = None) -> list[TreeRow]:
    """The tree depth-first, each organisation followed by its sub-organisations in id order (the order
    the tree shows them); from `root_id`, or from every top-level organisation."""
    columns = (models.Organization.id, models.Organization.parent_id, models.Organization.name,
               models.Organization.level, models.Organization.code, models.Organization.person_in_charge)
    stmt = select(*columns)
    if root_id is not None:
        await get_organization(session, root_id, "rootId")
        stmt = stmt.where(models.Organization.id.in_(subtree_ids(root_id)))
    rows = (await session.execute(stmt.order_by(models.Organization.id).limit(MAX_TREE_ROWS + 1))).all()
    if len(rows) > MAX_TREE_ROWS:
        raise bad_input(f"At most {MAX_TREE_ROWS} organisations can be exported at once; choose a root.",
                        maximum=MAX_TREE_ROWS)
    children: dict[str | None, list[Any]] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row)
    roots = [r for r in rows if r.id == root_id] if root_id is not None else children[None]
    out: list[TreeRow] = []
    # An explicit stack, not recursion: a tree five levels deep today, but nothing enforces a bound.
    stack: list[tuple[int, Any]] = [(0, r) for r in reversed(roots)]
    seen: set[str] = set()
    while stack:
        depth, row = stack.pop()
        if row.id in seen:  # only a hand-edited database can hold a cycle; never loop on one
            continue
        seen.add(row.id)
        out.append(TreeRow(depth, row))
        stack.extend((depth + 1, child) for child in reversed(children.get(row.id, [])))
    return out


async def export_organization_tree(session: AsyncSession, file_format: str, root_id: str | None = None
                                   ) -> FileContent:
    """机构树导出: 机构层级, 编码, 名称 (indented by depth), 负责人, in tree order."""
    tree = await organization_tree(session, root_id)
    table = [[LEVEL_LABELS.get(t.organization.level, t.organization.level), t.organization.code or "",
              INDENT * t.depth + t.organization.name, t.organization.person_in_charge or ""] for t in tree]
    content = write_rows(TREE_COLUMNS, table, file_format, sheet="机构树")
    return _file("机构树", file_format, content, len(table))


# --- 角色导出 ------------------------------------------------------------------------------------


def permission_label(system: str, code: str) -> str:
    """A permission's code in a file: codes are unique per system, so another system's carries its name."""
    return code if system == PORTAL else f"{system}/{code}"


async def export_roles(session: AsyncSession, stmt: Select[Any], file_format: str) -> FileContent:
    """The roles `stmt` selects, by code, each with its linked-user count and its permissions' codes
    (by system, kind and code; joined with 、)."""
    roles = list((await session.scalars(stmt.order_by(models.Role.code).limit(MAX_ROLE_ROWS + 1))).all())
    if len(roles) > MAX_ROLE_ROWS:
        raise bad_input(f"At most {MAX_ROLE_ROWS} roles can be exported at once; narrow the filter.",
                        maximum=MAX_ROLE_ROWS)
    role_ids = [r.id for r in roles]
    users: dict[str, int] = {}
    permissions: dict[str, list[str]] = defaultdict(list)
    # Chunks keep the IN lists within every database's parameter limit.
    for start in range(0, len(role_ids), 1000):
        chunk = role_ids[start:start + 1000]
        users.update({str(k): int(v) for k, v in (await session.execute(
            select(models.UserRole.role_id, func.count()).where(models.UserRole.role_id.in_(chunk))
            .group_by(models.UserRole.role_id))).all()})
        linked = (await session.execute(
            select(models.RolePermission.role_id, models.Permission.system, models.Permission.code)
            .join(models.Permission, models.Permission.id == models.RolePermission.permission_id)
            .where(models.RolePermission.role_id.in_(chunk))
            .order_by(models.Permission.system, models.Permission.kind, models.Permission.code))).all()
        for role_id, system, code in linked:
            permissions[role_id].append(permission_label(system, code))
    table = [[r.code, r.name, ROLE_KIND_LABELS.get(r.kind, r.kind), r.description or "",
              ROLE_STATUS_LABELS.get(r.status, r.status), users.get(r.id, 0), "、".join(permissions.get(r.id, []))]
             for r in roles]
    content = write_rows(ROLE_COLUMNS, table, file_format, sheet="角色")
    return _file("角色列表", file_format, content, len(table))


# --- 全系统权限汇总 --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemGroup:
    system: str  # the code: `portal` or a connected system's
    name: str
    permissions: list[models.Permission]


async def system_names(session: AsyncSession) -> dict[str, str]:
    names = dict((await session.execute(select(models.ConnectedSystem.code, models.ConnectedSystem.name))).all())
    names.setdefault(PORTAL, PORTAL_NAME)
    return {str(k): str(v) for k, v in names.items()}


async def permission_summary(session: AsyncSession, system: str | None = None, kind: str | None = None
                             ) -> list[SystemGroup]:
    """Permissions grouped by system, the groups in alphabetical order of the system's name (ties by
    code), each group's permissions by kind (data, function, menu) and code. Only systems with a
    permission the filters keep appear; a `system` no permission and no connected system has is refused,
    so a misspelt filter does not pass for an empty system."""
    names = await system_names(session)
    stmt = select(models.Permission)
    if system is not None:
        known = system in names or await session.scalar(
            select(models.Permission.id).where(models.Permission.system == system).limit(1)) is not None
        if not known:
            raise bad_input(f"No system has code {system}.", argument="system")
        stmt = stmt.where(models.Permission.system == system)
    if kind is not None:
        stmt = stmt.where(models.Permission.kind == kind)
    rows = list((await session.scalars(stmt.limit(MAX_PERMISSION_ROWS + 1))).all())
    if len(rows) > MAX_PERMISSION_ROWS:
        raise bad_input(f"More than {MAX_PERMISSION_ROWS} permissions match; filter by system or type.",
                        maximum=MAX_PERMISSION_ROWS)
    grouped: dict[str, list[models.Permission]] = defaultdict(list)
    for row in rows:
        grouped[row.system].append(row)
    groups = [SystemGroup(code, names.get(code, code),
                          sorted(perms, key=lambda p: (KIND_ORDER.index(p.kind) if p.kind in KIND_ORDER
                                                       else len(KIND_ORDER), p.code)))
              for code, perms in grouped.items()]
    return sorted(groups, key=lambda g: (alphabetical_key(g.name), g.system))


def _effective_text(row: models.Permission) -> str:
    """生效时间: the time it takes effect, 未生效 when switched off, 已生效 when effective from creation."""
    if not row.effective:
        return "未生效"
    if row.effective_from is None:
        return "已生效"
    return row.effective_from.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")  # stored aware (UtcDateTime)


def summary_rows(groups: Sequence[SystemGroup]) -> list[list[str]]:
    return [[g.name, PERMISSION_KIND_LABELS.get(p.kind, p.kind), p.name, p.description or "", _effective_text(p)]
            for g in groups for p in g.permissions]


async def export_permission_summary(session: AsyncSession, file_format: str, system: str | None = None,
                                    kind: str | None = None) -> FileContent:
    """全系统权限汇总导出: 系统名称, 权限类型, 权限名称, 权限描述, 生效时间, in the summary's order."""
    table = summary_rows(await permission_summary(session, system, kind))
    content = write_rows(SUMMARY_COLUMNS, table, file_format, sheet="权限汇总")
    return _file("全系统权限汇总", file_format, content, len(table))
