"""互联网资产 rules: registration with host validation and the duplicate warning (重复登记), field updates,
the status machine 在用 ↔ 停用 → 报废, owner changes, batch status changes, periodic verification (僵尸资产)
and the change history. Every change writes one AssetChange and one outbox event in the caller's transaction.

Region: an asset's region_code is the city of its owner's region (the board counts by city). It comes from
the `region_code` argument (6 digits) when given, else from the owner id, whose world form is
"org-<6-digit region>-...". An owner id of another shape needs the argument.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.regions import city_code_of
from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.masking import mask_phone
from subgraphs.common.outbox import emit
from subgraphs.security import access, models

KINDS = ("DOMAIN", "IP", "APPLICATION", "SERVER", "TERMINAL")
STATUSES = ("IN_USE", "DISABLED", "SCRAPPED")
# SCRAPPED is final: a scrapped asset keeps its history but never comes back into use.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "IN_USE": ("DISABLED", "SCRAPPED"),
    "DISABLED": ("IN_USE", "SCRAPPED"),
    "SCRAPPED": (),
}
BATCH_LIMIT = 200
# The fields an update may change, as column names; host is re-validated and re-checked for duplicates.
EDITABLE = ("name", "host", "icp_filing_number", "ip_segment", "location", "online_date", "department",
            "contact_name", "contact_phone")

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_REGION = re.compile(r"^\d{6}$")
_OWNER_REGION = re.compile(r"^org-(\d{6})(?:-|$)")
_PHONE = re.compile(r"^[0-9+\-() ]{5,32}$")


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- validation ------------------------------------------------------------------------------------------------


def normalize_domain(value: str) -> str:
    """A domain name per RFC 1035 labels, lower-cased; internationalised names are stored as IDNA (xn--)."""
    name = value.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise bad_input(f"{value!r} is not a valid domain name.", argument="host") from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise bad_input(f"{value!r} is not a valid domain name (labels of letters, digits and inner hyphens, "
                        "at most 63 characters each, at least two labels).", argument="host")
    if labels[-1].isdigit():
        raise bad_input(f"{value!r} looks like an IP address, not a domain name.", argument="host")
    return name


def normalize_ip(value: str) -> str:
    """An IPv4 or IPv6 address in canonical form: 2001:DB8:0::1 and 2001:db8::1 are the same host."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise bad_input(f"{value!r} is not an IPv4 or IPv6 address.", argument="host") from None


def normalize_host(kind: str, value: str) -> str:
    """The stored form of an asset's host: a domain for DOMAIN, an address for IP, either for the rest."""
    if kind == "DOMAIN":
        return normalize_domain(value)
    if kind == "IP":
        return normalize_ip(value)
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return normalize_domain(value)


def normalize_segment(value: str | None) -> str | None:
    """IP网段: a CIDR network (v4 or v6) in canonical form; host bits must be zero."""
    if value is None or not value.strip():
        return None
    try:
        return str(ipaddress.ip_network(value.strip(), strict=True))
    except ValueError:
        raise bad_input(f"{value!r} is not an IP segment in CIDR form (e.g. 10.1.2.0/24).",
                        argument="ipSegment") from None


def region_of(owner_id: str, region_code: str | None) -> str:
    """The city code of the owner's region, from the argument or the owner id (see the module docstring)."""
    if region_code is not None:
        if not _REGION.match(region_code):
            raise bad_input("regionCode must be a 6-digit region code.", argument="regionCode")
        return city_code_of(region_code)
    match = _OWNER_REGION.match(owner_id)
    if match is None:
        raise bad_input(f"The region of {owner_id!r} cannot be read from its id; give regionCode.",
                        argument="regionCode")
    return city_code_of(match.group(1))


def _text(value: str | None, argument: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise bad_input(f"{argument} is longer than {limit} characters.", argument=argument, limit=limit)
    return value or None


def _phone(value: str | None) -> str | None:
    value = _text(value, "contactPhone", 32)
    if value is not None and not _PHONE.match(value):
        raise bad_input("contactPhone holds digits, spaces and + - ( ) only.", argument="contactPhone")
    return value


def _reason(reason: str | None, required: bool) -> str | None:
    reason = _text(reason, "reason", 200)
    if required and not reason:
        raise bad_input("A reason is required (变更原因).", argument="reason")
    return reason


@dataclass
class AssetFields:
    """The descriptive fields of an asset (all optional on update: None leaves a field as it is)."""

    name: str | None = None
    host: str | None = None
    icp_filing_number: str | None = None
    ip_segment: str | None = None
    location: str | None = None
    online_date: date | None = None
    department: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None

    def cleaned(self, kind: str) -> dict[str, Any]:
        """The given fields, validated and normalised, as column values."""
        out: dict[str, Any] = {}
        if self.name is not None:
            name = _text(self.name, "name", 128)
            if not name:
                raise bad_input("name must not be empty.", argument="name")
            out["name"] = name
        if self.host is not None:
            out["host"] = normalize_host(kind, self.host)
        if self.icp_filing_number is not None:
            out["icp_filing_number"] = _text(self.icp_filing_number, "icpFilingNumber", 40)
        if self.ip_segment is not None:
            out["ip_segment"] = normalize_segment(self.ip_segment)
        for column, argument, limit in (("location", "location", 100), ("department", "department", 64),
                                        ("contact_name", "contactName", 64)):
            value = getattr(self, column)
            if value is not None:
                out[column] = _text(value, argument, limit)
        if self.online_date is not None:
            out["online_date"] = self.online_date
        if self.contact_phone is not None:
            out["contact_phone"] = _phone(self.contact_phone)
        return out


# --- access ----------------------------------------------------------------------------------------------------


def may_manage(caller: Caller | None, owner_id: str) -> bool:
    """An administrator, or a unit security administrator of the owner organisation."""
    if access.is_admin(caller):
        return True
    return (caller is not None and caller.organization_id == owner_id
            and access.has_role(caller, access.Role.UNIT))


def check_manage(caller: Caller | None, owner_id: str) -> None:
    if not may_manage(caller, owner_id):
        raise forbidden(f"Only the security administrators of {owner_id} or the province's administrators may "
                        "manage its assets.")


def sees_contact(caller: Caller | None, row: models.Asset) -> bool:
    """The contact phone in full: the owner organisation's own users and the province's administrators."""
    return access.is_admin(caller) or (caller is not None and caller.organization_id == row.owner_id)


def contact_phone_for(caller: Caller | None, row: models.Asset) -> str | None:
    return row.contact_phone if sees_contact(caller, row) else mask_phone(row.contact_phone)


def visible(caller: Caller | None) -> Any:
    """The WHERE condition of the assets the caller may see (a hospital: its own)."""
    return access.org_condition(caller, models.Asset.owner_id, models.Asset.region_code)


# --- reads -----------------------------------------------------------------------------------------------------


def not_found(asset_id: str) -> Exception:
    return domain_error(ErrorCode.NOT_FOUND, f"No asset {asset_id}.", argument="id")


async def get_visible(session: AsyncSession, caller: Caller | None, asset_id: str, *,
                      for_update: bool = False) -> models.Asset:
    """The asset, if the caller may see it; otherwise NOT_FOUND (another unit's asset is not revealed)."""
    stmt = select(models.Asset).where(models.Asset.id == asset_id, visible(caller))
    if for_update:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise not_found(asset_id)
    return row


async def history(session: AsyncSession, asset_id: str) -> list[models.AssetChange]:
    """An asset's changes, newest first."""
    stmt = (select(models.AssetChange).where(models.AssetChange.asset_id == asset_id)
            .order_by(models.AssetChange.at.desc(), models.AssetChange.id.desc()))
    return list((await session.scalars(stmt)).all())


@dataclass
class AssetSearch:
    keyword: str | None = None
    kinds: Sequence[str] = ()
    statuses: Sequence[str] = ()
    owner_id: str | None = None
    region_code: str | None = None
    online_from: date | None = None
    online_to: date | None = None
    # 报废 assets are managed apart: a search leaves them out unless asked for.
    include_scrapped: bool = False


def search_statement(caller: Caller | None, search: AssetSearch) -> Select[models.Asset]:
    """The assets the caller sees that match `search` (unordered; the caller pages)."""
    asset = models.Asset
    stmt = select(asset).where(visible(caller))
    if search.keyword is not None and search.keyword.strip():
        keyword = search.keyword.strip().lower()
        if len(keyword) > 100:
            raise bad_input("keyword is longer than 100 characters.", argument="keyword")
        # The pattern is a bound parameter; %/_ in the keyword are escaped so they match themselves.
        pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(*(func.lower(column).like(pattern, escape="\\") for column in
                                (asset.name, asset.host, asset.contact_name, asset.department))))
    if search.kinds:
        stmt = stmt.where(asset.kind.in_(list(search.kinds)))
    if search.statuses:
        stmt = stmt.where(asset.status.in_(list(search.statuses)))
    elif not search.include_scrapped:
        stmt = stmt.where(asset.status != "SCRAPPED")
    if search.owner_id is not None:
        stmt = stmt.where(asset.owner_id == search.owner_id)
    if search.region_code is not None:
        stmt = stmt.where(asset.region_code == region_of("", search.region_code))
    if search.online_from is not None and search.online_to is not None and search.online_from > search.online_to:
        raise bad_input("onlineFrom is after onlineTo.", argument="onlineFrom")
    if search.online_from is not None:
        stmt = stmt.where(asset.online_date >= search.online_from)
    if search.online_to is not None:
        stmt = stmt.where(asset.online_date <= search.online_to)
    return stmt


def stale_statement(caller: Caller | None, days: int, now: datetime) -> Select[models.Asset]:
    """僵尸资产: assets in use or disabled that nobody verified (or registered) within `days`."""
    if not 1 <= days <= 3650:
        raise bad_input("days must be between 1 and 3650.", argument="days")
    cutoff = now - timedelta(days=days)
    asset = models.Asset
    last_seen = func.coalesce(asset.verified_at, asset.created_at)
    return select(asset).where(visible(caller), asset.status != "SCRAPPED", last_seen < cutoff)


# --- changes ---------------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _record(session: AsyncSession, caller: Caller | None, row: models.Asset, action: str, event: str,
            changes: dict[str, Any], reason: str | None, now: datetime) -> None:
    session.add(models.AssetChange(asset_id=row.id, action=action, changes=changes, reason=reason,
                                   actor=access.actor_of(caller), at=now))
    emit(session, models.OutboxEvent, f"security.asset.{event}",
         {"assetId": row.id, "orgId": row.owner_id, "regionCode": row.region_code, "kind": row.kind,
          "status": row.status})


async def _check_unique_host(session: AsyncSession, host: str, exclude_id: str | None = None) -> None:
    stmt = select(models.Asset).where(models.Asset.host == host)
    if exclude_id is not None:
        stmt = stmt.where(models.Asset.id != exclude_id)
    existing = await session.scalar(stmt)
    if existing is not None:
        raise domain_error(ErrorCode.CONFLICT,
                           f"重复登记: {host} is already registered as asset {existing.id} ({existing.name}) "
                           f"of {existing.owner_id}.",
                           argument="host", existingAssetId=existing.id, existingOwnerId=existing.owner_id)


async def _flush(session: AsyncSession, host: str) -> None:
    # Two registrations of one host at the same moment: the unique index decides, and the loser is told.
    try:
        await session.flush()
    except IntegrityError:
        raise domain_error(ErrorCode.CONFLICT, f"重复登记: {host} was registered at the same moment by someone "
                           "else.", argument="host") from None


async def register(session: AsyncSession, caller: Caller | None, *, kind: str, owner_id: str,
                   fields: AssetFields, region_code: str | None = None,
                   now: datetime | None = None) -> models.Asset:
    """Register an asset; a host registered before is refused with the existing asset named."""
    now = now or now_utc()
    if kind not in KINDS:
        raise bad_input(f"kind must be one of {', '.join(KINDS)}.", argument="kind")
    owner_id = owner_id.strip()
    if not owner_id or len(owner_id) > 40:
        raise bad_input("ownerId must be an organisation id.", argument="ownerId")
    check_manage(caller, owner_id)
    if fields.name is None or fields.host is None:
        raise bad_input("name and host are required.", argument="name" if fields.name is None else "host")
    values = fields.cleaned(kind)
    region = region_of(owner_id, region_code)
    await _check_unique_host(session, values["host"])
    row = models.Asset(id=f"ast-{uuid4().hex[:20]}", kind=kind, status="IN_USE", owner_id=owner_id,
                       region_code=region, created_at=now, updated_at=now, version=1, **values)
    session.add(row)
    await _flush(session, row.host)
    after = {"kind": kind, "status": "IN_USE", "ownerId": owner_id, "regionCode": region,
             **{k: _jsonable(v) for k, v in values.items()}}
    _record(session, caller, row, "REGISTERED", "registered",
            {k: {"before": None, "after": v} for k, v in after.items()}, None, now)
    return row


async def update(session: AsyncSession, caller: Caller | None, asset_id: str, fields: AssetFields,
                 reason: str | None = None, now: datetime | None = None) -> models.Asset:
    """Change an asset's descriptive fields: one AssetChange with before/after of each changed field."""
    now = now or now_utc()
    row = await get_visible(session, caller, asset_id, for_update=True)
    check_manage(caller, row.owner_id)
    if row.status == "SCRAPPED":
        raise domain_error(ErrorCode.INVALID_STATE, f"Asset {row.id} is SCRAPPED (报废); its record is kept as it "
                           "was. Allowed actions: none.", status=row.status, allowed=[])
    values = fields.cleaned(row.kind)
    reason = _reason(reason, required=False)
    changes = {k: {"before": _jsonable(getattr(row, k)), "after": _jsonable(v)}
               for k, v in values.items() if getattr(row, k) != v}
    if not changes:
        return row
    if "host" in changes:
        await _check_unique_host(session, values["host"], exclude_id=row.id)
    for column in changes:
        setattr(row, column, values[column])
    row.version += 1
    row.updated_at = now
    await _flush(session, row.host)
    _record(session, caller, row, "UPDATED", "updated", changes, reason, now)
    return row


def _check_transition(row: models.Asset, target: str) -> None:
    if target not in STATUSES:
        raise bad_input(f"status must be one of {', '.join(STATUSES)}.", argument="status")
    allowed = TRANSITIONS[row.status]
    if target not in allowed:
        raise domain_error(
            ErrorCode.INVALID_STATE,
            f"Asset {row.id} is {row.status}; it can move to {', '.join(allowed) or 'nothing (报废 is final)'}, "
            f"not {target}.", assetId=row.id, status=row.status, allowed=list(allowed))


def _apply_status(session: AsyncSession, caller: Caller | None, row: models.Asset, target: str,
                  reason: str | None, now: datetime) -> None:
    before = row.status
    row.status = target
    row.version += 1
    row.updated_at = now
    _record(session, caller, row, "STATUS", "status_changed", {"status": {"before": before, "after": target}},
            reason, now)


async def change_status(session: AsyncSession, caller: Caller | None, asset_id: str, status: str, reason: str,
                        now: datetime | None = None) -> models.Asset:
    """在用 ↔ 停用, either → 报废 (final); a reason is required."""
    now = now or now_utc()
    reason_ = _reason(reason, required=True)
    row = await get_visible(session, caller, asset_id, for_update=True)
    check_manage(caller, row.owner_id)
    _check_transition(row, status)
    _apply_status(session, caller, row, status, reason_, now)
    return row


async def change_statuses(session: AsyncSession, caller: Caller | None, asset_ids: Sequence[str], status: str,
                          reason: str, now: datetime | None = None) -> list[models.Asset]:
    """批量状态变更: every asset moves, or none (the first refusal names the asset and nothing is written)."""
    now = now or now_utc()
    reason_ = _reason(reason, required=True)
    ids = list(dict.fromkeys(asset_ids))
    if not ids or len(ids) > BATCH_LIMIT:
        raise bad_input(f"Give between 1 and {BATCH_LIMIT} asset ids.", argument="ids", limit=BATCH_LIMIT)
    stmt = select(models.Asset).where(models.Asset.id.in_(ids), visible(caller)).with_for_update()
    rows = {r.id: r for r in (await session.scalars(stmt)).all()}
    # Checked in full before any change, so a refusal leaves every asset as it was.
    for asset_id in ids:
        if asset_id not in rows:
            raise not_found(asset_id)
        check_manage(caller, rows[asset_id].owner_id)
        _check_transition(rows[asset_id], status)
    for asset_id in ids:
        _apply_status(session, caller, rows[asset_id], status, reason_, now)
    return [rows[i] for i in ids]


async def change_owner(session: AsyncSession, caller: Caller | None, asset_id: str, reason: str, *,
                       owner_id: str | None = None, region_code: str | None = None,
                       contact_name: str | None = None, contact_phone: str | None = None,
                       now: datetime | None = None) -> models.Asset:
    """负责人变更 / 归属单位变更: administrators only, with a reason."""
    now = now or now_utc()
    access.check_admin(caller, "Changing an asset's owner or person in charge")
    reason_ = _reason(reason, required=True)
    row = await get_visible(session, caller, asset_id, for_update=True)
    if row.status == "SCRAPPED":
        raise domain_error(ErrorCode.INVALID_STATE, f"Asset {row.id} is SCRAPPED (报废); its owner stays as it "
                           "was. Allowed actions: none.", status=row.status, allowed=[])
    values: dict[str, Any] = {}
    if owner_id is not None:
        owner_id = owner_id.strip()
        if not owner_id or len(owner_id) > 40:
            raise bad_input("ownerId must be an organisation id.", argument="ownerId")
        values["owner_id"] = owner_id
        values["region_code"] = region_of(owner_id, region_code)
    if contact_name is not None:
        values["contact_name"] = _text(contact_name, "contactName", 64)
    if contact_phone is not None:
        values["contact_phone"] = _phone(contact_phone)
    changes = {k: {"before": getattr(row, k), "after": v} for k, v in values.items() if getattr(row, k) != v}
    if not changes:
        raise bad_input("Nothing to change: give a new ownerId or contact.", argument="ownerId")
    for column in changes:
        setattr(row, column, values[column])
    row.version += 1
    row.updated_at = now
    _record(session, caller, row, "OWNER", "owner_changed", changes, reason_, now)
    return row


async def verify(session: AsyncSession, caller: Caller | None, asset_id: str, note: str | None = None,
                 now: datetime | None = None) -> models.Asset:
    """定期核查: the unit confirms the asset's information is current."""
    now = now or now_utc()
    row = await get_visible(session, caller, asset_id, for_update=True)
    check_manage(caller, row.owner_id)
    if row.status == "SCRAPPED":
        raise domain_error(ErrorCode.INVALID_STATE, f"Asset {row.id} is SCRAPPED (报废); there is nothing to "
                           "verify. Allowed actions: none.", status=row.status, allowed=[])
    before = row.verified_at
    row.verified_at = now
    row.updated_at = now
    _record(session, caller, row, "VERIFIED", "verified",
            {"verifiedAt": {"before": _jsonable(before), "after": _jsonable(now)}}, _reason(note, False), now)
    return row


async def application_asset_for(session: AsyncSession, org_id: str, system_name: str) -> models.Asset | None:
    """The APPLICATION asset of `org_id` named `system_name` (not scrapped), for 等保's automatic link."""
    stmt = (select(models.Asset)
            .where(and_(models.Asset.owner_id == org_id, models.Asset.kind == "APPLICATION",
                        models.Asset.name == system_name, models.Asset.status != "SCRAPPED"))
            .order_by(models.Asset.id).limit(1))
    return await session.scalar(stmt)
