"""The court's clock: Connecticut's time zone and its "today".

Law days, sale dates and "this week" are Connecticut dates. A server that keeps UTC
would otherwise move them a day early every evening after 7 or 8 pm in New York.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

#: The time zone of every court date and sale time.
COURT_TZ = ZoneInfo("America/New_York")


def court_today() -> date:
    """Return today's date in Connecticut."""
    return datetime.now(COURT_TZ).date()
