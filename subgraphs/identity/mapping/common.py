"""What the parts of the mapping package share: who is acting (identity's one `caller_id`) and from where,
the clock, the operation log, the field cipher, and per-request DataLoaders for connected systems.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from aiodataloader import DataLoader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.identity import models
from subgraphs.identity.domain import personal
from subgraphs.identity.domain.caller import caller_id
from subgraphs.identity.security.crypto import FieldCipher

__all__ = ["caller_id", "client_ip", "field_cipher", "mapping_loaders", "now", "record_operation"]


def now() -> datetime:
    return datetime.now(UTC)


def client_ip(info: Any) -> str | None:
    """The caller's address as the router saw it: the first x-forwarded-for entry, else x-real-ip.

    These headers are the router's view of the client (it forwards what its own proxy chain reported); the
    subgraph cannot check them, so the value is for the audit log only, never for access decisions. Anything
    that is not an IP address is dropped rather than logged.
    """
    headers: dict[str, str] = getattr(info.context, "headers", {}) or {}
    for raw in (headers.get("x-forwarded-for", "").split(",")[0], headers.get("x-real-ip", "")):
        candidate = raw.strip()
        if not candidate:
            continue
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def record_operation(
    session: AsyncSession, *, actor_id: str | None, action: str, target_type: str, target_id: str,
    detail: dict[str, object], ip: str | None,
) -> None:
    """An 操作日志 entry for changes that have no log of their own (systems, clients); never a secret."""
    session.add(models.OperationLog(actor_id=actor_id, action=action, target_type=target_type,
                                    target_id=target_id, detail=detail, ip=ip, at=now()))


async def field_cipher(session: AsyncSession) -> FieldCipher:
    """The SM4 / blind-index cipher for users' personal data, from the keyring as stored now (the database's
    master-key source is personal.py's, so tests and tools that set one are honoured)."""
    return await personal.fresh_cipher(session)


class SystemByCode(DataLoader[str, models.ConnectedSystem | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, codes: Sequence[str]) -> list[models.ConnectedSystem | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(models.ConnectedSystem).where(models.ConnectedSystem.code.in_(codes)))).all()
        found = {row.code: row for row in rows}
        return [found.get(code) for code in codes]


class MappingLoaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.system = SystemByCode(sessions)


# identity's Loaders (loaders.py) is not this package's to extend; these live as long as the request's
# Loaders object, which the context creates per request, so batching and caching stay per request.
_per_request: WeakKeyDictionary[object, MappingLoaders] = WeakKeyDictionary()


def mapping_loaders(info: Any) -> MappingLoaders:
    key = info.context.loaders
    loaders = _per_request.get(key)
    if loaders is None:
        loaders = _per_request[key] = MappingLoaders(info.context.sessions)
    return loaders


# --- the relation as account_mapping_log stores it -------------------------------------------------

LOG_VALUE_LENGTH = 256  # account_mapping_log.old_value / new_value


def encode_relation(external_username: str | None, remark: str | None) -> str | None:
    """原关系 / 新关系 of a log entry: the third-party username and the remark, as compact JSON.

    The portal user and the system never change on a mapping, so the log entry reaches them through its
    mapping; only what may change is stored. A long remark is cut so the value fits its column (the
    username, at most 128 characters, always fits whole).
    """
    if external_username is None:
        return None
    remark = remark or ""
    while True:
        text = orjson.dumps({"externalUsername": external_username, "remark": remark}).decode()
        if len(text) <= LOG_VALUE_LENGTH or not remark:
            return text[:LOG_VALUE_LENGTH]
        remark = remark[: max(0, len(remark) - (len(text) - LOG_VALUE_LENGTH) - 1)] + "…"


def decode_relation(value: str | None) -> tuple[str | None, str | None]:
    """(external username, remark) of a stored relation; a value not in that form is the username itself."""
    if value is None:
        return None, None
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return value, None
    if not isinstance(parsed, dict):
        return value, None
    username, remark = parsed.get("externalUsername"), parsed.get("remark")
    return (username if isinstance(username, str) else None), (remark or None if isinstance(remark, str) else None)
