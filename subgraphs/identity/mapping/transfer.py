"""Excel (XLSX) and CSV import and export of account mappings and their log, as base64 strings.

Import (通过Excel模板批量导入, 导入前需支持数据校验): every row is checked first, against the database and
against the other rows; any error and nothing is written (the result lists each row's problems); a dry run
only checks. A row links a portal user (by username) to an account of a system (by code); a row already
linked exactly so is left alone; a user already linked to another account of that system is an error (edit
that mapping instead: an import never silently replaces a relation).

Files are read and written as user import does (domain/spreadsheet.py): CSV in UTF-8 or GB18030, or the
first sheet of an XLSX workbook; the first row is the header, in Chinese (the template's) or English. Cells
a spreadsheet would run as a formula are written with a leading apostrophe (CSV and XLSX injection), which
this import strips again.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from graphql import GraphQLError
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from subgraphs.common.errors import bad_input
from subgraphs.common.spreadsheet import unguard_cell
from subgraphs.identity import models
from subgraphs.identity.domain import personal, spreadsheet
from subgraphs.identity.mapping.accounts import (
    REMARK_LENGTH,
    Actor,
    clean_external_username,
    link_loaded,
)
from subgraphs.identity.mapping.common import decode_relation, now

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 10_000
MAX_REPORTED_ERRORS = 500
MAX_EXPORT_ROWS = 100_000
LOOKUP_CHUNK = 500  # rows per IN (...) list, well below every database's parameter limit
CHINA = timezone(timedelta(hours=8), "CST")  # no daylight saving, so a fixed offset is exact

# column -> accepted header names (the template's Chinese first)
IMPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "username": ("门户用户名", "username", "portalUsername"),
    "systemCode": ("第三方系统编码", "systemCode"),
    "externalUsername": ("第三方用户名", "externalUsername"),
    "remark": ("备注", "remark"),
}
REQUIRED_COLUMNS = ("username", "systemCode", "externalUsername")
STATUS_LABELS = {"LINKED": "已关联", "UNLINKED": "未关联"}
METHOD_LABELS = {"MANUAL": "手动", "AUTO": "自动"}
OPERATION_LABELS = {"LINK": "关联", "EDIT": "编辑", "UNLINK": "解除"}


@dataclass
class RowError:
    row: int
    column: str | None
    message: str


@dataclass
class ImportOutcome:
    linked: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class FileContent:
    filename: str
    content_type: str
    data: bytes
    rows: int


# --- reading -------------------------------------------------------------------------------------


def decode_file(content_base64: str) -> bytes:
    if len(content_base64) > MAX_FILE_BYTES * 4 // 3 + 4:
        raise bad_input(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB.", argument="file")
    try:
        return base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_input("The file is not valid base64.", argument="file") from exc


def _unformula(value: str) -> str:
    # Undo the export's guard: "'=x" was written for "=x".
    return unguard_cell(value)


def read_rows(data: bytes, file_format: str) -> list[list[str]]:
    """The file's rows as stripped text (header included), read as user import reads its files."""
    try:
        rows = spreadsheet.read_rows(data, file_format, MAX_IMPORT_ROWS)
    except spreadsheet.UnreadableFile as exc:
        raise bad_input(str(exc), argument="file") from exc
    return [[_unformula(cell) for cell in row] for row in rows]


def _column_positions(header: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    lowered = [h.strip().lower() for h in header]
    for column, names in IMPORT_COLUMNS.items():
        for name in names:
            if name.lower() in lowered:
                positions[column] = lowered.index(name.lower())
                break
    missing = [IMPORT_COLUMNS[c][0] for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise bad_input(f"The header row lacks the columns {', '.join(missing)} (see the import template).",
                        argument="file")
    return positions


@dataclass
class _Row:
    number: int
    username: str
    system_code: str
    external_username: str
    remark: str | None


async def _lookup(session: AsyncSession, stmt_of: Any, keys: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        for key, value in (await session.execute(stmt_of(keys[start:start + LOOKUP_CHUNK]))).all():
            found[key] = value
    return found


async def import_mappings(
    session: AsyncSession, data: bytes, file_format: str, *, dry_run: bool, reason: str | None, actor: Actor,
) -> ImportOutcome:
    """Check every row, then (not a dry run, no errors) link them all in the caller's transaction."""
    rows = read_rows(data, file_format)
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise bad_input("The file is empty; start from the import template.", argument="file")
    positions = _column_positions(rows[0])
    outcome = ImportOutcome()

    def error(row: int, column: str | None, message: str) -> None:
        if len(outcome.errors) < MAX_REPORTED_ERRORS:
            outcome.errors.append(RowError(row, column, message))

    parsed: list[_Row] = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cells):
            continue

        def cell(column: str, cells: list[str] = cells) -> str:
            position = positions.get(column)
            return cells[position] if position is not None and position < len(cells) else ""

        values = {c: cell(c) for c in IMPORT_COLUMNS}
        bad = False
        for column in REQUIRED_COLUMNS:
            if not values[column]:
                error(number, column, f"{IMPORT_COLUMNS[column][0]} is empty.")
                bad = True
        try:
            external = clean_external_username(values["externalUsername"]) if values["externalUsername"] else ""
        except GraphQLError as exc:
            error(number, "externalUsername", exc.message)
            bad = True
        if len(values["remark"]) > REMARK_LENGTH:
            error(number, "remark", f"备注 is longer than {REMARK_LENGTH} characters.")
            bad = True
        if not bad:
            parsed.append(_Row(number, values["username"], values["systemCode"], external, values["remark"] or None))
    if len(parsed) > MAX_IMPORT_ROWS:
        raise bad_input(f"At most {MAX_IMPORT_ROWS} rows per file; split it.", argument="file")

    users = await _lookup(session, lambda keys: select(models.User.username, models.User.id).where(
        models.User.username.in_(keys)), sorted({r.username for r in parsed}))
    systems = await _lookup(session, lambda keys: select(models.ConnectedSystem.code, models.ConnectedSystem).where(
        models.ConnectedSystem.code.in_(keys)), sorted({r.system_code for r in parsed}))
    # The mappings of the users named, and the linked owners of the accounts named, per system.
    mine: dict[tuple[str, str], models.AccountMapping] = {}
    owners: dict[tuple[str, str], str] = {}
    user_ids = sorted(set(users.values()))
    for start in range(0, len(user_ids), LOOKUP_CHUNK):
        for m in (await session.scalars(select(models.AccountMapping).where(
                models.AccountMapping.user_id.in_(user_ids[start:start + LOOKUP_CHUNK])))).all():
            mine[(m.user_id, m.system_code)] = m
    externals = sorted({r.external_username for r in parsed})
    for start in range(0, len(externals), LOOKUP_CHUNK):
        for m in (await session.scalars(select(models.AccountMapping).where(
                models.AccountMapping.status == "LINKED",
                models.AccountMapping.external_username.in_(externals[start:start + LOOKUP_CHUNK])))).all():
            owners[(m.system_code, m.external_username)] = m.user_id

    to_link: list[tuple[_Row, str, models.AccountMapping | None]] = []
    seen_pairs: dict[tuple[str, str], int] = {}
    seen_accounts: dict[tuple[str, str], int] = {}
    for row in parsed:
        user_id = users.get(row.username)
        system = systems.get(row.system_code)
        if user_id is None:
            error(row.number, "username", f"No portal user has username {row.username}.")
        if system is None:
            error(row.number, "systemCode", f"No connected system has code {row.system_code}.")
        elif system.status != "ENABLED":
            error(row.number, "systemCode", f"The system {row.system_code} is disabled.")
        if user_id is None or system is None or system.status != "ENABLED":
            continue
        pair, account = (user_id, row.system_code), (row.system_code, row.external_username)
        if pair in seen_pairs:
            error(row.number, "username", f"Row {seen_pairs[pair]} already links this user in this system.")
            continue
        if account in seen_accounts:
            error(row.number, "externalUsername",
                  f"Row {seen_accounts[account]} already links this third-party account.")
            continue
        seen_pairs[pair], seen_accounts[account] = row.number, row.number
        holder = owners.get(account)
        if holder is not None and holder != user_id:
            error(row.number, "externalUsername",
                  f"{row.external_username} is already linked to another portal user in {row.system_code}.")
            continue
        existing = mine.get(pair)
        if existing is not None and existing.status == "LINKED":
            if existing.external_username == row.external_username and existing.remark == row.remark:
                outcome.unchanged += 1
            else:
                error(row.number, "externalUsername",
                      f"The user is already linked to {existing.external_username} in {row.system_code}; "
                      "edit that mapping instead.")
            continue
        to_link.append((row, user_id, existing))
    if outcome.errors:
        outcome.unchanged = 0
        return outcome
    outcome.linked = len(to_link)
    if dry_run:
        return outcome
    at = now()
    for row, user_id, existing in to_link:
        link_loaded(session, existing, user_id=user_id, system_code=row.system_code,
                    external_username=row.external_username, remark=row.remark, method="MANUAL",
                    reason=reason or "Excel导入", actor=actor, at=at)
    return outcome


# --- writing -------------------------------------------------------------------------------------


def _local(value: datetime | None) -> str:
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def write_file(basename: str, file_format: str, header: list[str], rows: list[list[object]]) -> FileContent:
    data = spreadsheet.write_rows(header, rows, file_format, sheet=basename[:31])
    extension = "csv" if file_format == "CSV" else "xlsx"
    return FileContent(f"{basename}.{extension}", spreadsheet.CONTENT_TYPES[file_format], data, len(rows))


def template(file_format: str) -> FileContent:
    return write_file("account-mapping-template", file_format, [names[0] for names in IMPORT_COLUMNS.values()], [])


async def _names(session: AsyncSession, users: Sequence[models.User]) -> dict[str, str]:
    """姓名 in the clear: decrypted where the row is encrypted, the legacy plaintext otherwise."""
    if not any(u.name_cipher is not None for u in users):
        return {u.id: u.display_name or "" for u in users}
    cipher = await personal.fresh_cipher(session)
    return {u.id: personal.name_of(cipher, u) for u in users}


async def _limited(session: AsyncSession, stmt: Select[Any]) -> list[Any]:
    rows = list((await session.execute(stmt.limit(MAX_EXPORT_ROWS + 1))).all())
    if len(rows) > MAX_EXPORT_ROWS:
        raise bad_input(f"More than {MAX_EXPORT_ROWS} rows; narrow the filter and export in parts.")
    return rows


async def export_mappings(session: AsyncSession, stmt: Select[Any],
                          file_format: str) -> FileContent:
    portal, operator = aliased(models.User), aliased(models.User)
    mapping = models.AccountMapping
    joined = (stmt.add_columns(portal, models.ConnectedSystem.name, operator.username)
              .join(portal, portal.id == mapping.user_id)
              .join(models.ConnectedSystem, models.ConnectedSystem.code == mapping.system_code)
              .outerjoin(operator, operator.id == mapping.operator_id)
              .order_by(mapping.id))
    rows = await _limited(session, joined)
    names = await _names(session, [r[1] for r in rows])
    header = ["门户用户名", "姓名", "第三方系统编码", "第三方系统", "第三方用户名", "关联状态", "关联方式", "关联时间",
              "操作人", "备注"]
    body: list[list[object]] = [
        [user.username, names.get(user.id, ""), m.system_code, system_name, m.external_username,
         STATUS_LABELS.get(m.status, m.status), METHOD_LABELS.get(m.method, m.method), _local(m.linked_at),
         operator_name or "", m.remark or ""]
        for m, user, system_name, operator_name in rows
    ]
    return write_file("account-mappings", file_format, header, body)


async def export_log(session: AsyncSession, stmt: Select[Any],
                     file_format: str) -> FileContent:
    operator = aliased(models.User)
    portal = aliased(models.User)
    entry = models.AccountMappingLog
    joined = (stmt.add_columns(operator.username, portal.username, models.ConnectedSystem.name,
                               models.AccountMapping.system_code)
              .join(models.AccountMapping, models.AccountMapping.id == entry.mapping_id)
              .join(portal, portal.id == models.AccountMapping.user_id)
              .join(models.ConnectedSystem, models.ConnectedSystem.code == models.AccountMapping.system_code)
              .outerjoin(operator, operator.id == entry.operator_id)
              .order_by(entry.id))
    rows = await _limited(session, joined)
    header = ["操作人", "操作时间", "操作类型", "门户用户名", "第三方系统", "原第三方用户名", "新第三方用户名",
              "操作理由", "IP地址"]
    body: list[list[object]] = []
    for e, operator_name, portal_name, system_name, system_code in rows:
        old_username, _ = decode_relation(e.old_value)
        new_username, _ = decode_relation(e.new_value)
        body.append([operator_name or e.operator_id or "", _local(e.at), OPERATION_LABELS.get(e.operation, e.operation),
                     portal_name, system_name or system_code, old_username or "", new_username or "",
                     e.reason or "", e.ip or ""])
    return write_file("account-mapping-log", file_format, header, body)
