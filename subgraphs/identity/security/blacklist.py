"""IP blacklist (IP黑名单, tender 5.3.9.5 (3)): single IPv4/IPv6 addresses and CIDR ranges, each enabled
(the default) or disabled, with a remark; Excel (XLSX) or CSV import and export.

Stored form: `network` is normalised by the ipaddress module, a single address without a prefix
("192.168.1.7", "2001:db8::1"; "192.168.1.7/32" is stored as "192.168.1.7") and a range as its network
("192.168.1.0/24", "2001:db8::/32", IPv6 lower-case and compressed). A range written with host bits set
("192.168.1.7/24") is REFUSED with an error naming the network it probably meant, rather than silently
widened: a typo in a blacklist should not block a whole subnet unnoticed. "/0" is refused too (it would
block every address). An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is checked as the IPv4 address.

Effect is immediate: `is_blocked` reads the enabled entries from the database on every call (there is
no cache to go stale; the list is small and the read is one query), so an edit committed by one replica
applies at once on every other.

For the router (token use): `enabled_networks(session)` returns the enabled entries as ipaddress network
objects, and `blocked_by(networks, ip)` checks an address against such a list. The router can hold that
list and refresh it (from the identity database, or an identity endpoint serving it) every few seconds,
or on the "identity.ip_blacklist.changed" outbox event that every change here emits.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from openpyxl import Workbook, load_workbook
from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.outbox import emit
from subgraphs.common.search import matches_keyword
from subgraphs.common.spreadsheet import csv_text, safe_cell, unguard_cell
from subgraphs.identity import models

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
CHANGED_TOPIC = "identity.ip_blacklist.changed"
REMARK_MAX = 256
IMPORT_MAX_ROWS = 10_000

# Import/export columns (the standard template): IP地址/IP段, 类型, 状态, 备注
HEADERS = ("IP地址/IP段", "类型", "状态", "备注")
KIND_LABELS = {"SINGLE": "单个IP", "RANGE": "IP段"}
STATUS_LABELS = {True: "启用", False: "禁用"}
_STATUS_INPUT = {"启用": True, "enabled": True, "enable": True, "1": True, "true": True, "": True,
                 "禁用": False, "disabled": False, "disable": False, "0": False, "false": False}


class BlacklistError(ValueError):
    """An entry or an import that cannot be accepted; `errors` lists (row, message) for an import
    (row numbers as in the file, the header being row 1)."""

    def __init__(self, message: str, errors: Sequence[tuple[int, str]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)


def parse_network(text: str) -> Network:
    """An address or CIDR range in normalised form; BlacklistError when it is neither (see above)."""
    value = text.strip()
    if not value:
        raise BlacklistError("The IP address or range is empty.")
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise BlacklistError(f"{value!r} is not an IPv4 or IPv6 address or CIDR range.") from exc
        raise BlacklistError(f"{value!r} has host bits set; the range is written {loose}.") from exc
    if network.prefixlen == 0:
        raise BlacklistError(f"{value!r} would block every address.")
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped is not None \
            and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        network = ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network


def network_text(network: Network) -> str:
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def normalise(text: str) -> str:
    return network_text(parse_network(text))


def kind_of(network: str) -> Literal["SINGLE", "RANGE"]:
    return "RANGE" if "/" in network else "SINGLE"


def parse_address(ip: str | None) -> Address | None:
    """The client address as the ipaddress module reads it (zone id dropped, IPv4-mapped unwrapped);
    None when it is missing or malformed."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def blocked_by(networks: Iterable[Network], ip: str | None) -> bool:
    """Whether `ip` lies in one of `networks` (a malformed or missing address is not blocked)."""
    address = parse_address(ip)
    if address is None:
        return False
    return any(address.version == n.version and address in n for n in networks)


async def enabled_networks(session: AsyncSession) -> list[Network]:
    """The enabled entries as networks: what the router enforces on token use."""
    rows = (await session.scalars(select(models.IpBlacklistEntry.network)
                                  .where(models.IpBlacklistEntry.enabled.is_(True)))).all()
    return [ipaddress.ip_network(n) for n in rows]


async def is_blocked(session: AsyncSession, ip: str | None) -> bool:
    """Whether an enabled entry covers `ip`, as of now (read from the database on each call)."""
    if parse_address(ip) is None:
        return False
    return blocked_by(await enabled_networks(session), ip)


@dataclass(frozen=True)
class NewEntry:
    network: str
    remark: str | None = None
    enabled: bool = True


def _check_remark(remark: str | None) -> str | None:
    if remark is None or not remark.strip():
        return None
    if len(remark) > REMARK_MAX:
        raise BlacklistError(f"The remark is longer than {REMARK_MAX} characters.")
    return remark.strip()


async def _existing(session: AsyncSession, networks: Iterable[str]) -> set[str]:
    wanted = list(set(networks))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update((await session.scalars(select(models.IpBlacklistEntry.network).where(
            models.IpBlacklistEntry.network.in_(wanted[start:start + 500])))).all())
    return found


def _changed(session: AsyncSession, action: str, count: int) -> None:
    emit(session, models.OutboxEvent, CHANGED_TOPIC, {"action": action, "count": count})


async def add_entries(
    session: AsyncSession, entries: Sequence[NewEntry], *, now: datetime, row_numbers: Sequence[int] | None = None
) -> list[models.IpBlacklistEntry]:
    """Add entries, all or none: every bad or duplicate one (within the batch or already listed) is an
    error, numbered by `row_numbers` (an import's rows in its file) or else by position from 1; nothing
    is written unless every entry is acceptable. The caller commits."""
    errors: list[tuple[int, str]] = []
    prepared: list[tuple[int, str, str | None, bool]] = []
    seen: dict[str, int] = {}
    numbers = list(row_numbers) if row_numbers is not None else list(range(1, len(entries) + 1))
    for row, entry in zip(numbers, entries, strict=True):
        try:
            network = normalise(entry.network)
            remark = _check_remark(entry.remark)
        except BlacklistError as exc:
            errors.append((row, exc.message))
            continue
        if network in seen:
            errors.append((row, f"{network} appears twice (also row {seen[network]})."))
            continue
        seen[network] = row
        prepared.append((row, network, remark, entry.enabled))
    existing = await _existing(session, seen)
    errors += [(row, f"{network} is already in the blacklist.") for row, network, _r, _e in prepared
               if network in existing]
    if errors:
        errors.sort()
        raise BlacklistError(f"{len(errors)} of {len(entries)} entries cannot be added; nothing was added.", errors)
    rows = [models.IpBlacklistEntry(id=f"ipb-{uuid.uuid4().hex}", network=network, enabled=enabled, remark=remark,
                                    created_at=now) for _row, network, remark, enabled in prepared]
    session.add_all(rows)
    if rows:
        _changed(session, "ADD", len(rows))
    await session.flush()
    return rows


async def update_entry(
    session: AsyncSession, entry_id: str, *, network: str | None = None, remark: str | None = None,
    enabled: bool | None = None,
) -> models.IpBlacklistEntry:
    """Edit an entry's address or range, remark (an empty remark clears it) or status."""
    row = await session.get(models.IpBlacklistEntry, entry_id)
    if row is None:
        raise BlacklistError(f"No blacklist entry has id {entry_id}.")
    if network is not None:
        normalised = normalise(network)
        if normalised != row.network and await _existing(session, [normalised]):
            raise BlacklistError(f"{normalised} is already in the blacklist.")
        row.network = normalised
    if remark is not None:
        row.remark = _check_remark(remark)
    if enabled is not None:
        row.enabled = enabled
    _changed(session, "UPDATE", 1)
    await session.flush()
    return row


async def set_enabled(session: AsyncSession, entry_ids: Sequence[str], enabled: bool) -> list[models.IpBlacklistEntry]:
    rows = list((await session.scalars(select(models.IpBlacklistEntry)
                                       .where(models.IpBlacklistEntry.id.in_(list(entry_ids))))).all())
    missing = set(entry_ids) - {r.id for r in rows}
    if missing:
        raise BlacklistError(f"No blacklist entry has id {', '.join(sorted(missing))}.")
    for row in rows:
        row.enabled = enabled
    _changed(session, "ENABLE" if enabled else "DISABLE", len(rows))
    await session.flush()
    return rows


async def delete_entries(session: AsyncSession, entry_ids: Sequence[str]) -> int:
    """Delete entries (single or batch; the UI asks for confirmation first); returns how many."""
    stmt = delete(models.IpBlacklistEntry).where(models.IpBlacklistEntry.id.in_(list(entry_ids)))
    result = await session.execute(stmt)
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        _changed(session, "DELETE", count)
    return count


def filtered(keyword: str | None = None, enabled: bool | None = None) -> Select[models.IpBlacklistEntry]:
    """Entries whose address or range contains `keyword` (case-insensitive), of the given status."""
    stmt = select(models.IpBlacklistEntry)
    if (found := matches_keyword(keyword, models.IpBlacklistEntry.network, models.IpBlacklistEntry.remark)) is not None:
        stmt = stmt.where(found)
    if enabled is not None:
        stmt = stmt.where(models.IpBlacklistEntry.enabled.is_(enabled))
    return stmt


# --- import and export ------------------------------------------------------------------------------

Format = Literal["XLSX", "CSV"]


def _cell(value: object) -> str:
    return "" if value is None else str(value).strip()


def parse_import(content: bytes, fmt: Format) -> list[tuple[int, NewEntry]]:
    """The rows of an import file (header row first, as the template), numbered as in the file; rows
    with every cell empty are skipped. BlacklistError with per-row errors for a bad status value, or when
    the file cannot be read at all."""
    try:
        if fmt == "CSV":
            text = content.decode("utf-8-sig")
            raw: list[list[str]] = [[_cell(c) for c in row] for row in csv.reader(io.StringIO(text))]
        else:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            sheet = workbook.worksheets[0]
            raw = [[_cell(c) for c in row] for row in sheet.iter_rows(values_only=True)]
            workbook.close()
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise BlacklistError(f"The file cannot be read as {fmt}: {exc}") from exc
    if not raw or not raw[0] or raw[0][0] != HEADERS[0]:
        raise BlacklistError(f"The first row must be the template's header ({', '.join(HEADERS)}).")
    if len(raw) - 1 > IMPORT_MAX_ROWS:
        raise BlacklistError(f"At most {IMPORT_MAX_ROWS} rows can be imported at once.")
    header = raw[0]
    status_col = header.index(HEADERS[2]) if HEADERS[2] in header else None
    remark_col = header.index(HEADERS[3]) if HEADERS[3] in header else None
    rows: list[tuple[int, NewEntry]] = []
    errors: list[tuple[int, str]] = []
    for number, cells in enumerate(raw[1:], start=2):
        if not any(cells):
            continue

        def at(col: int | None, cells: list[str] = cells) -> str:
            return cells[col] if col is not None and col < len(cells) else ""

        status = at(status_col).lower()
        if status not in _STATUS_INPUT:
            errors.append((number, f"The status {at(status_col)!r} is neither 启用 nor 禁用."))
            continue
        # The export guards a remark Excel would run as a formula ("'=x"); it imports back as it was.
        rows.append((number, NewEntry(cells[0] if cells else "", unguard_cell(at(remark_col)) or None,
                                      _STATUS_INPUT[status])))
    if errors:
        raise BlacklistError(f"{len(errors)} rows cannot be imported; nothing was imported.", errors)
    return rows


async def import_entries(session: AsyncSession, content: bytes, fmt: Format, *, now: datetime) -> int:
    """Validate the whole file and add every row, or none (BlacklistError lists each bad row by its
    number in the file); returns how many were added. The caller commits."""
    rows = parse_import(content, fmt)
    await add_entries(session, [entry for _n, entry in rows], now=now, row_numbers=[n for n, _e in rows])
    return len(rows)


def export_rows(entries: Iterable[models.IpBlacklistEntry]) -> list[list[str]]:
    return [[e.network, KIND_LABELS[kind_of(e.network)], STATUS_LABELS[bool(e.enabled)], e.remark or ""]
            for e in entries]


def export_file(entries: Iterable[models.IpBlacklistEntry], fmt: Format) -> bytes:
    """The entries as the import template reads them (so an export can be edited and imported back)."""
    rows = [[safe_cell(v) for v in row] for row in export_rows(entries)]  # no formula injection
    if fmt == "CSV":
        return csv_text(HEADERS, rows).encode()
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "IP黑名单"
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append(row)
    sheet.column_dimensions["A"].width = 42
    sheet.column_dimensions["D"].width = 40
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def import_template() -> bytes:
    """The standard import template (标准导入模板): the header and two example rows."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "IP黑名单"
    sheet.append(list(HEADERS))
    sheet.append(["192.168.1.0/24", "IP段", "启用", "示例：IP段"])
    sheet.append(["2001:db8::1", "单个IP", "禁用", "示例：单个IPv6地址"])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
