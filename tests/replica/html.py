"""Fill the page templates cut from the real captures.

The master-page chrome (menus, scripts, footer) in templates/ was cut from the real
captures with every datum replaced by a ``{{NAME}}`` slot, so the replica's pages
carry the same markup around the content. Templates are split once at import and
joined per request, which keeps a 200-row page well under a millisecond to fill.
"""

from __future__ import annotations

import re
from functools import cache
from html import escape
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
_SLOT = re.compile(r"\{\{([A-Z_]+)\}\}")


@cache
def template(name: str) -> tuple[list[str], list[str]]:
    """Return a template as (literal parts, slot names) for :func:`fill`."""
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    parts = _SLOT.split(text)
    return parts[0::2], parts[1::2]


def fill(name: str, values: dict[str, str]) -> str:
    """Return the template with every slot replaced (a missing slot is a bug)."""
    literals, slots = template(name)
    out = [literals[0]]
    for slot, literal in zip(slots, literals[1:], strict=True):
        out.append(values[slot])
        out.append(literal)
    return "".join(out)


def e(text: str | None) -> str:
    """Return text HTML-escaped the way ASP.NET does (``&`` → ``&amp;``, no quotes)."""
    if not text:
        return ""
    if "&" in text or "<" in text or ">" in text:
        return escape(text, quote=False)
    return text  # the common case, kept cheap: pages have thousands of cells


@cache
def printf_template(name: str, slots: tuple[str, ...]) -> str:
    """Return a template as a ``%``-format string taking ``slots`` in this order.

    For hot paths (a grid row is filled 200 times per page): one C-level format
    instead of a Python loop over the slots.
    """
    text = (TEMPLATES / name).read_text(encoding="utf-8").replace("%", "%%")
    found = _SLOT.findall(text)
    if found != list(slots):
        raise ValueError(f"{name}: slots are {found}, not {list(slots)}")
    return _SLOT.sub("%s", text)
