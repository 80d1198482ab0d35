"""When a delivery is due: at once, at the subscriber's digest hour, or after a
failure, later and later until it is given up.

Digest hours are America/New_York wall-clock hours (the court's and the staff's
time); "7" is 07:00 there in winter and in summer alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["MAX_ATTEMPTS", "NEW_YORK", "next_digest_at", "retry_at"]

NEW_YORK = ZoneInfo("America/New_York")
#: The waits after the 1st, 2nd, ... failure: 1, 5, 25, 125 minutes, then 6 hours.
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
#: Failures before a delivery is given up (marked failed, with the last reason):
#: about a day of trying (1+5+25+125 minutes, then 6-hourly).
MAX_ATTEMPTS = 8


def retry_at(failures: int, now: datetime) -> datetime | None:
    """Return when to try again after the ``failures``-th failure, or None when it
    is time to give up."""
    if failures >= MAX_ATTEMPTS:
        return None
    wait = min(FIRST_WAIT * 5 ** (failures - 1), LONGEST_WAIT)
    return now + wait


def next_digest_at(hour: int, now: datetime) -> datetime:
    """Return the next ``hour``:00 America/New_York at or after ``now`` (UTC)."""
    local = now.astimezone(NEW_YORK)
    day = local.date()
    for _ in range(3):  # today, else tomorrow (a skipped hour: the day after)
        at = datetime.combine(day, time(hour), NEW_YORK)
        if at >= local and at.astimezone(UTC).astimezone(NEW_YORK).hour == hour:
            return at.astimezone(UTC)
        day += timedelta(days=1)
    return datetime.combine(day, time(hour), NEW_YORK).astimezone(UTC)
