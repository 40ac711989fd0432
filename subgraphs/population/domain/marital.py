"""Marriage history as the rules read it: the order events happened in and the 婚姻状况 it leaves (DQ-06). One
module without dependencies, so that the family workflow, the data-quality rules and the sharing datasets
(which cannot import each other) derive it the same way."""

from __future__ import annotations

from collections.abc import Iterable

from subgraphs.population import models

FIRST_MARRIAGE = "FIRST_MARRIAGE"
MARRYING = frozenset({FIRST_MARRIAGE, "REMARRIAGE", "REUNION"})
STATUS_AFTER = {"DIVORCE": "DIVORCED", "WIDOWED": "WIDOWED"}  # any marrying kind: MARRIED


def ordered(events: Iterable[models.MarriageEvent]) -> list[models.MarriageEvent]:
    """A history in the order it happened: by date, then in the order it was recorded (a divorce and a
    remarriage on the same day are entered in that order)."""
    return sorted(events, key=lambda e: (e.event_date, e.created_at, e.id))


def derive_marital_status(events: Iterable[models.MarriageEvent]) -> str:
    """婚姻状况 from the history: the latest event that is not deleted decides; no event, 未婚."""
    history = ordered(e for e in events if not e.deleted)
    if not history:
        return "UNMARRIED"
    return STATUS_AFTER.get(history[-1].kind, "MARRIED")
