"""Progress bars for long CLI commands, drawn only when stdout is a terminal.

The rule of a crawl's progress line (``extensions/progress.py``): a person at a
terminal sees the work move; in a pipe, a file, cron or a systemd timer nothing is
drawn and the output is what it always was. A bar is cleared when its work is done:
the command's own lines then say what happened.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

#: How each step of :mod:`ctforeclosure.ops.backup` counts: unit, scaled (k, M).
STEP_UNITS = {"checksum": ("B", True), "copy": (" pages", False)}


def bar(hide: bool = False, **options) -> tqdm:
    """Return a tqdm bar on stdout, drawn only on a terminal (and not when ``hide``)."""
    return tqdm(
        file=sys.stdout, disable=hide or not sys.stdout.isatty(), leave=False, **options
    )


class StepBar:
    """Draw ``progress(step, done, total)`` reports (backup, restore) on one line, a
    bar per step."""

    def __init__(self, name: str):
        self.name = name
        self.step: str | None = None
        self.bar: tqdm | None = None

    def __call__(self, step: str, done: int, total: int | None) -> None:
        if step != self.step or (self.bar.total is None and total is not None):
            self.close()
            unit, scale = STEP_UNITS.get(step, ("", False))
            self.step = step
            self.bar = bar(
                total=total, desc=f"{self.name}: {step}", unit=unit, unit_scale=scale
            )
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> StepBar:
        return self

    def __exit__(self, *_) -> None:
        self.close()
