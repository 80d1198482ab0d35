"""What every benchmark shares: the machine's speed, and a figure against its floor.

Absolute figures from a shared 2-core machine move by 2x from one day to the next
(issue 23): the same web UI bench gave p95 70 ms on one day and 280 ms on another.
So each benchmark measures, in the same run and under the same load, the floor its
figure is bounded by (a route that does no query, a bare COPY, the parser alone, the
stand-in's own time, a static file), and reports the ratio next to the absolute
figure; and each prints :func:`machine`, whose calibration (a fixed pure-Python
loop) tells a reader how fast the machine was that day.

    from floor import Ratio, machine
    print(machine())
    print(Ratio("p95", 42.0, 14.0, "ms", target=3.0))
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime

#: The calibration loop's length: ~0.5 s on the project's machine on a quiet day.
LOOP = 10_000_000


def calibrate(rounds: int = 3) -> float:
    """Return the best of ``rounds`` timings of a fixed pure-Python loop (seconds)."""
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        total = 0
        for i in range(LOOP):
            total += i
        best = min(best, time.perf_counter() - began)
    return best


def load() -> str:
    """Return the 1, 5 and 15 minute load averages."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """Return one line: when, which machine, its load and its speed (calibration)."""
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load()}; calibration: a {LOOP / 1e6:.0f}M-iteration "
        f"Python loop in {calibrate():.2f} s (best of 3)"
    )


def pct(values: list[float], p: float) -> float:
    """Return the ``p``-th percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Ratio:
    """A figure against its floor, measured in the same run; and its target.

    ``ratio`` is figure ÷ floor. ``at_most``: the target is a ceiling on the ratio
    (a cost: latency, CPU) rather than a floor under it (a rate, or a fraction).
    """

    what: str
    figure: float
    floor: float
    unit: str
    target: float | None = None
    at_most: bool = True

    @property
    def ratio(self) -> float:
        return self.figure / self.floor if self.floor else float("inf")

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio <= self.target if self.at_most else self.ratio >= self.target

    def __str__(self) -> str:
        line = (
            f"{self.what}: {self.figure:,.2f} {self.unit} = {self.ratio:.2f}x the "
            f"floor ({self.floor:,.2f} {self.unit})"
        )
        if self.target is not None:
            sign = "<=" if self.at_most else ">="
            verdict = "met" if self.met else "NOT met"
            line += f"; target {sign} {self.target:g}x: {verdict}"
        return line
