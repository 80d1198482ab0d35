"""NoBot pacing for the ``cases`` spider: when a search may start and post back.

The search page's AjaxControlToolkit NoBot control refuses a postback sent sooner
than ``NOBOT_MIN_DELAY`` seconds after its page was served, and more than
``NOBOT_MAX_POSTBACKS`` postbacks from one client in any ``NOBOT_WINDOW`` seconds
(docs/SITES.md §2; toolkit defaults 2 s, 5 / 60 s). Case pages are plain GETs, not
postbacks: they are only paced by the download delay, so the crawl fetches them
while a search waits here. Kept apart from the spider so the rules are in one place.

- ``open_search`` lets one search session run at a time (the deployment-wide
  site-budget lease allows no more, and a search form fetched long before its
  postback would hold a stale session): ``start`` awaits it before each search.
- ``postback_slot`` waits out the think time and the window; one postback is in
  flight at a time, so the window is counted exactly (by response times, which are
  later than the server's arrival times: never too soon).
"""

from __future__ import annotations

import asyncio
import logging
import time

logger = logging.getLogger(__name__)

#: Scheduler priority of search requests (form GET, postbacks) over case pages
#: (0): a search step never queues behind case pages, so postbacks keep to the
#: NoBot window's pace while case pages fill the time between them.
SEARCH_PRIORITY = 100


class NoBotPacer:
    """One search session at a time; postbacks within the NoBot timing rules."""

    def __init__(
        self,
        min_delay: float,
        max_postbacks: int,
        window: float,
        running,
        stale_after: float = 600.0,
    ):
        self.min_delay = min_delay
        self.max_postbacks = max_postbacks
        self.window = window
        self._running = running  # callable: False once the engine stops
        # A search with no postback news this long is taken as lost (a callback
        # that raised): the next one starts rather than the crawl hanging.
        self.stale_after = stale_after
        self._busy_until = 0.0
        self._done: list[float] = []
        self._open: str | None = None
        self._touched = 0.0

    # --- search sessions ----------------------------------------------------------

    async def open_search(self, term: str) -> bool:
        """Wait until no other search is open, then open ``term``'s.

        Returns False when the crawl stops meanwhile (the term is left undone, so
        a resumed run searches it).
        """
        while self._open is not None and self._open != term:
            if not self._running():
                return False
            if time.monotonic() - self._touched > self.stale_after:
                logger.warning(
                    "search %r silent for %.0f s: the next search starts",
                    self._open,
                    self.stale_after,
                )
                break
            await asyncio.sleep(0.05)
        self._open = term
        self._touched = time.monotonic()
        return True

    def close_search(self, term: str) -> None:
        """End ``term``'s search (read, abandoned or given up): the next may start."""
        if self._open == term:
            self._open = None

    # --- postbacks ------------------------------------------------------------------

    def ready_at(self, page_received: float) -> float:
        """Return the earliest monotonic time a postback may be released.

        ``page_received``: when the page carrying the NoBot key arrived (the server
        issued it before, so waiting ``min_delay`` from here is never too soon).
        """
        ready = page_received + self.min_delay
        if self.max_postbacks > 0 and self.window > 0:
            now = time.monotonic()
            self._done = [t for t in self._done if t > now - self.window]
            if len(self._done) >= self.max_postbacks:
                ready = max(ready, self._done[-self.max_postbacks] + self.window + 0.05)
        return ready

    async def postback_slot(self, page_received: float, timeout: float) -> None:
        """Wait until a postback is allowed, then hold the slot until its reply."""
        while time.monotonic() < self._busy_until:
            if not self._running():
                return  # shutting down (Ctrl-C): the request goes to JOBDIR
            await asyncio.sleep(0.05)
        self._busy_until = self._touched = time.monotonic() + timeout
        ready = self.ready_at(page_received)
        while self._running() and time.monotonic() < ready:
            await asyncio.sleep(min(0.25, ready - time.monotonic()))

    def postback_finished(self) -> None:
        """Record a postback's reply (or failure) and free the slot."""
        self._touched = time.monotonic()
        self._done.append(self._touched)
        self._busy_until = 0.0
