"""Excel batch import and export of users (批量导入 / 导出) and the import template.

An import is all or nothing: every row is checked first (required fields, formats, usernames unique in the
file and in the database, organisation and role codes that exist) and a single bad row imports nothing,
answering every problem found with its row number and column, so a file is fixed in one round.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import bad_input
from subgraphs.common.masking import mask_phone
from subgraphs.identity import models
from subgraphs.identity.domain import validation
from subgraphs.identity.domain.oplog import log_operation, now
from subgraphs.identity.domain.personal import name_of, reveal_with
from subgraphs.identity.domain.spreadsheet import CONTENT_TYPES, UnreadableFile, read_rows, write_rows
from subgraphs.identity.domain.users import CleanUser, NewUser, clean_fields, new_user_row
from subgraphs.identity.security.crypto import FieldCipher

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
MAX_EXPORT_ROWS = 50_000
EXPORT_CHUNK = 1000
# Times in files are China Standard Time, which has no daylight saving.
CHINA = timezone(timedelta(hours=8))

USERNAME, NAME, ORGANIZATION, ROLES, MOBILE, EMAIL, GENDER, DEPARTMENT, REMARK = (
    "用户名", "姓名", "所属机构", "角色", "手机号", "邮箱", "性别", "部门", "备注")
TEMPLATE_COLUMNS = (USERNAME, NAME, ORGANIZATION, ROLES, MOBILE, EMAIL, GENDER, DEPARTMENT, REMARK)
REQUIRED_COLUMNS = (USERNAME, NAME, ORGANIZATION)
TEMPLATE_NOTES = (
    "用户导入模板说明",
    "带 * 的列必填：用户名、姓名、所属机构。",
    "用户名：3-64位，以字母开头，可含字母、数字、_ . -；导入后不可修改，不得与已有用户重复。",
    "所属机构：填写机构编码（或机构ID）。",
    "角色：填写角色编码，多个角色用逗号、分号或顿号分隔。",
    "手机号：11位中国大陆手机号；邮箱：有效的邮箱地址；性别：男 或 女。",
    "任一行有误时整个文件不导入，并列出每个错误的行号与列名。",
    "导入的账号需由管理员重置密码后方可登录，首次登录须修改密码。",
)
EXPORT_COLUMNS = ("用户名", "姓名", "所属机构", "角色", "手机号", "邮箱", "账号状态", "创建时间")
STATUS_LABELS = {"NORMAL": "正常", "FROZEN": "冻结", "CANCELLED": "注销"}
GENDERS = {"男": "MALE", "女": "FEMALE", "MALE": "MALE", "FEMALE": "FEMALE", "M": "MALE", "F": "FEMALE"}
_ROLE_SEPARATORS = re.compile(r"[,，;；、|\s]+")


@dataclass(frozen=True)
class RowError:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str | None
    message: str


@dataclass
class ImportOutcome:
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class FileContent:
    filename: str
    content_type: str
    content: str  # base64
    rows: int


def _decode(file: str) -> bytes:
    try:
        content = base64.b64decode(file, validate=True)
    except (binascii.Error, ValueError):
        raise bad_input("file must be the file's content in base64.", argument="file") from None
    if len(content) > MAX_IMPORT_BYTES:
        raise bad_input(f"The file must be at most {MAX_IMPORT_BYTES // (1024 * 1024)} MiB.", argument="file",
                        maximum=MAX_IMPORT_BYTES)
    return content


def _header_name(cell: str) -> str:
    # The template marks required columns "用户名*"; people also write "用户名（必填）".
    return re.sub(r"[*＊]|[（(]必填[)）]", "", cell).strip()


@dataclass
class _Row:
    number: int
    values: dict[str, str]
    clean: CleanUser | None = None
    organization_id: str | None = None
    role_ids: list[str] = field(default_factory=list)
    gender: str | None = None


async def import_users(
    session: AsyncSession, cipher: FieldCipher, file: str, file_format: str, actor_id: str | None
) -> ImportOutcome:
    try:
        table = read_rows(_decode(file), file_format, MAX_IMPORT_ROWS)
    except UnreadableFile as exc:
        raise bad_input(str(exc), argument="file") from None
    if not table:
        return ImportOutcome(errors=[RowError(1, None, "The file is empty: the template's header row is missing.")])
    header = [_header_name(c) for c in table[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return ImportOutcome(errors=[RowError(1, c, f"The header has no column {c}.") for c in missing])
    rows = [
        _Row(number, {name: (record[i] if i < len(record) else "") for i, name in enumerate(header)
                      if name in TEMPLATE_COLUMNS})
        for number, record in enumerate(table[1:], start=2)
        if any(cell.strip() for cell in record)
    ]
    if not rows:
        return ImportOutcome(errors=[RowError(2, None, "The file has no users below the header.")])
    errors = await _validate(session, rows)
    if errors:
        return ImportOutcome(errors=errors)
    at = now()
    users: list[tuple[_Row, models.User]] = []
    for row in rows:
        assert row.clean is not None and row.organization_id is not None
        new = NewUser(username=row.clean.username, name=row.clean.name, organization_id=row.organization_id,
                      gender=row.gender)
        users.append((row, new_user_row(cipher, row.clean, new, at)))
    # An id derived from a username may belong to an account created under a longer username.
    taken_ids = set((await session.scalars(
        select(models.User.id).where(models.User.id.in_([u.id for _, u in users])))).all())
    for row, user in users:
        if user.id in taken_ids:
            user.id = f"usr-{uuid.uuid4().hex}"
        session.add(user)
        session.add_all([models.UserRole(user_id=user.id, role_id=r) for r in row.role_ids])
        log_operation(session, actor_id=actor_id, action="CREATE_USER", target_type="User", target_id=user.id,
                      detail={"username": user.username, "source": "import"}, at=at)
    log_operation(session, actor_id=actor_id, action="IMPORT_USERS", target_type="User", target_id="*",
                  detail={"count": len(rows), "format": file_format}, at=at)
    await session.flush()
    return ImportOutcome(imported=len(rows))


async def _validate(session: AsyncSession, rows: list[_Row]) -> list[RowError]:
    errors: list[RowError] = []
    first_row_of: dict[str, int] = {}
    for row in rows:
        v = row.values
        problems: list[RowError] = []
        for column in REQUIRED_COLUMNS:
            if not v.get(column, "").strip():
                problems.append(RowError(row.number, column, f"{column} is required."))
        problems += _each_field(row)
        if not problems:
            row.clean = clean_fields(NewUser(
                username=v[USERNAME], name=v[NAME], organization_id="", mobile=v.get(MOBILE), email=v.get(EMAIL),
                department=v.get(DEPARTMENT), remark=v.get(REMARK)))
        gender = v.get(GENDER, "").strip()
        if gender:
            row.gender = GENDERS.get(gender.upper() if gender.isascii() else gender)
            if row.gender is None:
                problems.append(RowError(row.number, GENDER, "性别 is 男 or 女."))
        username = v.get(USERNAME, "").strip()
        if username:
            if username in first_row_of:
                problems.append(RowError(row.number, USERNAME,
                                         f"Username {username} is also on row {first_row_of[username]}."))
            else:
                first_row_of[username] = row.number
        errors += problems
    errors += await _check_references(session, rows)
    return sorted(errors, key=lambda e: (e.row, TEMPLATE_COLUMNS.index(e.column) if e.column in TEMPLATE_COLUMNS
                                         else len(TEMPLATE_COLUMNS)))


def _each_field(row: _Row) -> list[RowError]:
    out: list[RowError] = []
    checks: list[tuple[str, Any]] = [
        (USERNAME, validation.username), (NAME, validation.name), (MOBILE, validation.mobile),
        (EMAIL, validation.email),
        (DEPARTMENT, lambda s: validation.text("department", s, validation.MAX_DEPARTMENT)),
        (REMARK, lambda s: validation.text("remark", s, validation.MAX_REMARK)),
    ]
    for column, check in checks:
        value = row.values.get(column, "")
        if not value.strip():
            continue
        try:
            check(value)
        except validation.FieldProblem as problem:
            out.append(RowError(row.number, column, problem.message))
    return out


async def _check_references(session: AsyncSession, rows: list[_Row]) -> list[RowError]:
    """Usernames already in the database, organisations by code or id, role codes: one query each."""
    errors: list[RowError] = []
    usernames = {r.values.get(USERNAME, "").strip() for r in rows} - {""}
    taken = set((await session.scalars(select(models.User.username).where(models.User.username.in_(usernames)))).all())
    org_refs = {r.values.get(ORGANIZATION, "").strip() for r in rows} - {""}
    orgs = (await session.execute(
        select(models.Organization.id, models.Organization.code)
        .where(or_(models.Organization.code.in_(org_refs), models.Organization.id.in_(org_refs)))
    )).all()
    org_by_ref: dict[str, str] = {}
    for org_id, code in orgs:
        org_by_ref[org_id] = org_id
        if code:
            org_by_ref.setdefault(code, org_id)
    role_codes = {c for r in rows for c in _ROLE_SEPARATORS.split(r.values.get(ROLES, "").strip()) if c}
    role_by_code = dict((await session.execute(
        select(models.Role.code, models.Role.id).where(models.Role.code.in_(role_codes)))).all())
    for row in rows:
        username = row.values.get(USERNAME, "").strip()
        if username in taken:
            errors.append(RowError(row.number, USERNAME, f"Username {username} already exists."))
        ref = row.values.get(ORGANIZATION, "").strip()
        if ref:
            row.organization_id = org_by_ref.get(ref)
            if row.organization_id is None:
                errors.append(RowError(row.number, ORGANIZATION, f"No organisation has code or id {ref}."))
        codes = [c for c in _ROLE_SEPARATORS.split(row.values.get(ROLES, "").strip()) if c]
        unknown = [c for c in codes if c not in role_by_code]
        if unknown:
            errors.append(RowError(row.number, ROLES, f"No role has code {', '.join(unknown)}."))
        row.role_ids = list(dict.fromkeys(role_by_code[c] for c in codes if c in role_by_code))
    return errors


# --- export --------------------------------------------------------------------------------------


def template(file_format: str) -> FileContent:
    header = [f"{c}*" if c in REQUIRED_COLUMNS else c for c in TEMPLATE_COLUMNS]
    content = write_rows(header, [], file_format, sheet="用户", notes=TEMPLATE_NOTES)
    return _file("用户导入模板", file_format, content, 0)


def _file(stem: str, file_format: str, content: bytes, rows: int) -> FileContent:
    return FileContent(f"{stem}.{file_format.lower()}", CONTENT_TYPES[file_format],
                       base64.b64encode(content).decode("ascii"), rows)


async def export_users(session: AsyncSession, cipher: FieldCipher, stmt: Select[Any], file_format: str) -> FileContent:
    """The users `stmt` selects (all, or a filtered list), in id order. Mobiles are masked as everywhere
    else in the graph (docs/decisions.md 3): a spreadsheet travels further than a screen."""
    total = 0
    table: list[Sequence[Any]] = []
    last_id: str | None = None
    while True:
        chunk_stmt = stmt.order_by(models.User.id).limit(EXPORT_CHUNK)
        if last_id is not None:
            chunk_stmt = chunk_stmt.where(models.User.id > last_id)
        users = list((await session.scalars(chunk_stmt)).all())
        if not users:
            break
        total += len(users)
        if total > MAX_EXPORT_ROWS:
            raise bad_input(f"At most {MAX_EXPORT_ROWS} users can be exported at once; narrow the filter.",
                            maximum=MAX_EXPORT_ROWS)
        table += await _export_rows(session, cipher, users)
        last_id = users[-1].id
    content = write_rows(EXPORT_COLUMNS, table, file_format, sheet="用户")
    return _file(f"用户列表-{now().astimezone(CHINA):%Y%m%d%H%M%S}", file_format, content, total)


async def _export_rows(session: AsyncSession, cipher: FieldCipher, users: list[models.User]) -> list[list[Any]]:
    org_ids = {u.organization_id for u in users}
    org_names = dict((await session.execute(
        select(models.Organization.id, models.Organization.name).where(models.Organization.id.in_(org_ids))
    )).all())
    role_rows = (await session.execute(
        select(models.UserRole.user_id, models.Role.name)
        .join(models.Role, models.Role.id == models.UserRole.role_id)
        .where(models.UserRole.user_id.in_([u.id for u in users]))
        .order_by(models.Role.code)
    )).all()
    roles: dict[str, list[str]] = {}
    for user_id, role_name in role_rows:
        roles.setdefault(user_id, []).append(role_name)
    return [
        [u.username, name_of(cipher, u), org_names.get(u.organization_id, ""), "、".join(roles.get(u.id, [])),
         mask_phone(reveal_with(cipher, u.mobile_cipher)) or "", u.email or "", STATUS_LABELS.get(u.status, u.status),
         u.created_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")]
        for u in users
    ]
