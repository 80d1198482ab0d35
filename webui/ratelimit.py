"""Login throttling: count recent failures per client address and per email.

In memory, per process: ``ctforeclosure web`` runs one waitress process, so this is
the whole picture. A restart forgets the counts, which only helps a legitimate user.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class FailureLimiter:
    """Allow at most ``max_failures`` failures per key within ``window`` seconds."""

    def __init__(self, max_failures: int, window: float, clock=time.monotonic):
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque:
        stamps = self._failures[key]
        while stamps and now - stamps[0] > self.window:
            stamps.popleft()
        return stamps

    def blocked(self, *keys: str) -> bool:
        """Return True when any key has used up its failures."""
        now = self._clock()
        with self._lock:
            return any(len(self._prune(k, now)) >= self.max_failures for k in keys)

    def fail(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                self._prune(key, now).append(now)

    def reset(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
