"""A case's one timeline: the court's docket entries, recorded changes and staff
notes, newest first, each change read as a sentence ("law day set to 2026-03-01",
"sale date moved from 2026-08-15 to 2026-09-12") rather than raw values.

The sentences are a table keyed by the change's kind (:data:`SENTENCES`): a new
kind of change adds one entry (the sales' kinds read as :mod:`webui.sales_queries`
says them). A kind
without an entry still reads as words, never as a Python dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from typing import Any

from ctforeclosure.db import aware
from webui import sales_queries
from webui.sales_queries import SALE_CHANGE_KINDS

Sentence = Callable[[Any, Any, Any], str]


def _text(value: Any) -> str:
    """Return a stored value as words: a summary dict's values, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return " ".join(_text(v) for v in value.values() if v not in (None, ""))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _date_change(what: str) -> Sentence:
    def sentence(old, new, _field) -> str:
        if old is None:
            return f"{what} set to {_text(new)}"
        if new is None:
            return f"{what} removed (was {_text(old)})"
        return f"{what} moved from {_text(old)} to {_text(new)}"

    return sentence


def _value_change(what: str) -> Sentence:
    def sentence(old, new, _field) -> str:
        if not old:
            return f"{what}: {_text(new)}"
        return f"{what} changed from {_text(old)} to {_text(new)}"

    return sentence


def _child(what: str, verb: str) -> Sentence:
    def sentence(old, new, _field) -> str:
        return f"{what} {verb}: {_text(new if new is not None else old)}"

    return sentence


#: What each field a towns re-check corrects is called in a sentence.
_REVALIDATED = {
    "search_town": "town",
    "county": "county",
    "property_town": "property town",
}


#: How a stored judgment type reads ("strict" → "strict foreclosure").
JUDGMENTS = {"strict": "strict foreclosure", "sale": "foreclosure by sale"}


def _judgment(old, new, _field) -> str:
    """A judgment entered (ctforeclosure.store.cases), or one of another kind."""
    entered = f"judgment of {JUDGMENTS.get(new, _text(new))} entered"
    if old:
        return f"{entered} (was {JUDGMENTS.get(old, _text(old))})"
    return entered


def _phones_found(_old, new, _field) -> str:
    """A skip trace's phones for a party: how many, never which."""
    new = new if isinstance(new, Mapping) else {}
    count = new.get("phones")
    numbers = "phones" if count is None else f"{count} phone" + "s" * (count != 1)
    party = f" for party {new['party_no']}" if new.get("party_no") else ""
    return f"skip trace found {numbers}{party}"


#: The sentence of each kind of recorded change (ctforeclosure.store.changes).
def _sale_change(kind: str) -> Sentence:
    """The sales' own sentences (:func:`webui.sales_queries.describe`)."""

    def sentence(old, new, _field) -> str:
        return sales_queries.describe(
            SimpleNamespace(kind=kind, old_value=old, new_value=new)
        )

    return sentence


SENTENCES: dict[str, Sentence] = {
    "new_case": lambda _o, new, _f: f"case first seen ({_text(new)})",
    "disposition": _value_change("disposition"),
    "law_day": _date_change("law day"),
    "sale_date": _date_change("sale date"),
    "judgment": _judgment,
    "phones_found": _phones_found,
    "relisted": lambda *_: "listed on the court's site again",
    "no_longer_listed": lambda *_: "no longer listed on the court's site",
    "party_added": _child("party", "added"),
    "party_removed": _child("party", "removed"),
    "docket_entry_added": _child("docket entry", "added"),
    "docket_entry_removed": _child("docket entry", "removed"),
    "court_date_added": _child("court date", "added"),
    "court_date_removed": _child("court date", "removed"),
    **{kind: _sale_change(kind) for kind in SALE_CHANGE_KINDS},
    # ``ctforeclosure towns revalidate --fix`` (ctforeclosure.store.town_check)
    "town_revalidated": lambda old, new, field: (
        f"town mismatch flag {'set' if new else 'cleared'} (towns re-checked)"
        if field == "town_mismatch"
        else f"{_REVALIDATED.get(field, field)} corrected from {_text(old)} to "
        f"{_text(new)} (towns re-checked)"
    ),
}


def sentence(kind: str, old: Any, new: Any, field: Any = None) -> str:
    """Return one recorded change as a sentence."""
    say = SENTENCES.get(kind)
    if say is not None:
        return say(old, new, field)
    what = kind.replace("_", " ")
    if old is None:
        return f"{what}: {_text(new)}"
    return f"{what}: {_text(old)} → {_text(new)}"


@dataclass(frozen=True)
class Item:
    """One line of the timeline."""

    when: date | datetime
    kind: str  # entry | change | note
    text: str
    detail: str = ""
    author: str = ""
    ref: Any = None  # the note (to edit it), the entry

    @property
    def sort_key(self) -> datetime:
        if isinstance(self.when, datetime):
            return aware(self.when)
        return datetime.combine(self.when, time.min, UTC)


#: Changes the timeline does not repeat: the docket entry itself is on it.
SHOWN_ELSEWHERE = frozenset({"docket_entry_added"})


def build(entries: Iterable, changes: Iterable, notes: Iterable) -> list[Item]:
    """Return the case's timeline, newest first. (Sales, issue 17, join here.)"""
    items = [
        Item(
            when=e.file_date or e.first_seen,
            kind="entry",
            text=(f"#{e.entry_no} " if e.entry_no else "") + e.description,
            detail=e.result or "",
            ref=e,
        )
        for e in entries
    ]
    items += [
        Item(
            when=c.seen_at,
            kind="change",
            text=sentence(c.kind, c.old_value, c.new_value, c.field),
        )
        for c in changes
        if c.kind not in SHOWN_ELSEWHERE
    ]
    items += [
        Item(when=n.created_at, kind="note", text=n.body, author=n.author, ref=n)
        for n in notes
    ]
    return sorted(items, key=lambda i: i.sort_key, reverse=True)
