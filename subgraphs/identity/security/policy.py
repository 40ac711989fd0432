"""The security policy documents (安全策略): one JSON document per policy name in `security_policy`,
effective as soon as it is saved (every check reads the stored document; nothing caches it).

Each policy is a frozen dataclass with a NAME, defaults for every setting, `validate()` (every number
within the range the tender allows, an error naming the setting otherwise) and a JSON round trip.
A stored document missing a setting gets the default, so a policy can grow settings without a migration;
an unknown setting in a stored document is ignored.

    policy = await load_policy(session, PasswordPolicy)          # the defaults when never saved
    await save_policy(session, replace(policy, history=3), now=now, by=user_id)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.identity import models


class PolicyError(ValueError):
    """A setting out of its allowed range or of the wrong kind; `setting` names it (snake_case)."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting
        self.message = message


def check_range(setting: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(setting, f"{setting} must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise PolicyError(setting, f"{setting} must be from {low} to {high}, not {value}")


def check_choice(setting: str, value: object, allowed: Collection[str]) -> None:
    if value not in allowed:
        raise PolicyError(setting, f"{setting} must be one of {', '.join(sorted(allowed))}, not {value!r}")


def check_bool(setting: str, value: object) -> None:
    if not isinstance(value, bool):
        raise PolicyError(setting, f"{setting} must be true or false")


P = TypeVar("P", bound="PolicyDocument")


class PolicyDocument:
    """Mixin for the policy dataclasses: the JSON round trip."""

    NAME: ClassVar[str]

    def validate(self) -> None:  # pragma: no cover - every policy overrides it
        raise NotImplementedError

    def to_document(self) -> dict[str, object]:
        return _jsonable(dataclasses.asdict(self))  # type: ignore[call-overload]

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Self:
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        values = {name: _from_json(fields[name].default, value) for name, value in document.items()
                  if name in fields}
        return cls(**values)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _from_json(default: Any, value: Any) -> Any:
    # Sequences are stored as JSON lists and held as tuples (the dataclasses are frozen and hashable).
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


async def load_policy(session: AsyncSession, cls: type[P]) -> P:
    """The stored policy, or the defaults when it was never saved (or the stored one no longer
    validates, which only a hand-edited row can cause)."""
    row = await session.get(models.SecurityPolicy, cls.NAME)
    if row is None or not isinstance(row.value, dict):
        return cls()
    try:
        policy = cls.from_document(row.value)
        policy.validate()
    except (PolicyError, TypeError):
        return cls()
    return policy


async def save_policy(session: AsyncSession, policy: PolicyDocument, *, now: datetime, by: str | None = None) -> None:
    """Validate and store (the caller commits); raises PolicyError naming the first bad setting."""
    policy.validate()
    row = await session.get(models.SecurityPolicy, policy.NAME)
    if row is None:
        session.add(models.SecurityPolicy(name=policy.NAME, value=policy.to_document(), updated_at=now,
                                          updated_by=by))
    else:
        row.value = policy.to_document()
        row.updated_at = now
        row.updated_by = by
    await session.flush()
