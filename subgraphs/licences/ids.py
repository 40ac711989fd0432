"""Ids of the rows the library creates (batches, tickets, records, electronic licences).

Random in service; the first-start seed runs the real write paths (ingestion, presentation) and must give
the same rows for the same seed, so it draws ids from a seeded generator instead (`seeded_ids`).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

_seeded: ContextVar[random.Random | None] = ContextVar("licences_seeded_ids", default=None)


def new_hex(length: int) -> str:
    rng = _seeded.get()
    digits = uuid.uuid4().hex if rng is None else f"{rng.getrandbits(128):032x}"
    return digits[:length]


def derived_hex(*parts: str, length: int = 24) -> str:
    """A stable id part for a row that is a function of other keys (one electronic licence per licence)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


@contextlib.contextmanager
def seeded_ids(seed: int | str) -> Iterator[None]:
    token = _seeded.set(random.Random(f"jshealth-licences-ids:{seed}"))
    try:
        yield
    finally:
        _seeded.reset(token)
