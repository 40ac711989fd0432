"""Calendar days in China: what "today", a statistics day or a deadline day means for users of the graph,
whatever the server's clock zone. China has had no daylight saving since 1991, so a fixed UTC+8 is exact
for every date the graph reasons about as "a day"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

CHINA = timezone(timedelta(hours=8))


def today_in_china(now: datetime | None = None) -> date:
    """The China date of `now` (default: the current time); a naive `now` is taken as UTC."""
    moment = now or datetime.now(UTC)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(CHINA).date()


def china_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a China calendar day starts and ends at (half-open)."""
    start = datetime.combine(day, time.min, CHINA).astimezone(UTC)
    return start, start + timedelta(days=1)
