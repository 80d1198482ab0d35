"""Lead signals: why a case deserves attention now, each from the court's own record
and citing the docket entry or date it came from, and the priority they add up to.

Nothing here is a black box: each signal says what it saw and where, and the
priority follows :data:`RULES`, short sentences the case page prints. The priority
depends on today's date, so it is computed when read (``today`` is an argument),
never stored at crawl time: a case moves from warm to hot as its law day nears,
without a crawl.

The docket wordings come from another scraper's code (docs/SITES.md §3.5, [CODE]),
not from a capture of our own: every pattern is a named constant marked
UNVERIFIED, so one real capture can correct it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

# UNVERIFIED (docs/SITES.md §3.5 [CODE]): "MOTION FOR JUDGMENT-STRICT FORECLOSURE"
MOTION_STRICT_RE = re.compile(r"MOTION FOR JUDGMENT[- ]+STRICT FORECLOSURE")
# UNVERIFIED (§3.5 [CODE]): "MOTION FOR JUDGMENT OF FORECLOSURE BY SALE"
MOTION_SALE_RE = re.compile(r"MOTION FOR JUDGMENT OF FORECLOSURE BY SALE")
# UNVERIFIED (§3.5: a granted judgment's result was never seen): "RESULT: Granted"
GRANTED_RE = re.compile(r"\bGRANTED\b", re.IGNORECASE)
# UNVERIFIED (§3.5 [CODE]): "MOTION TO OPEN JUDGMENT AND EXTEND THE SALE DATE"
MOTION_TO_OPEN_RE = re.compile(r"MOTION TO OPEN JUDGMENT")
# UNVERIFIED (§3.5 [CODE]): "AFFIDAVIT THAT PARTY IS IN BANKRUPTCY"
BANKRUPTCY_RE = re.compile(r"\bIN BANKRUPTCY\b")
# UNVERIFIED (§3.5 [CODE]): "MOTION TO RESET LAW DAYS AFTER FILING OF A BANKRUPTCY
# PETITION (CGS 49-15)"
LAW_DAYS_RESET_RE = re.compile(r"RESET LAW DAYS AFTER .*BANKRUPTCY")
# UNVERIFIED (§3.5 [CODE]): "FORECLOSURE MEDIATION TIME PERIOD EXPIRED"
MEDIATION_EXPIRED_RE = re.compile(r"MEDIATION TIME PERIOD EXPIRED")
# UNVERIFIED (§3.5 [CODE]): "FORECLOSURE MEDIATOR'S FINAL REPORT - MEDIATION PERIOD
# TERMINATED"
MEDIATION_TERMINATED_RE = re.compile(r"MEDIATION PERIOD TERMINATED")
# UNVERIFIED (§3.5 [CODE]): "FORECLOSURE MEDIATION - INELIGIBLE CASE"
MEDIATION_INELIGIBLE_RE = re.compile(r"MEDIATION\s*-\s*INELIGIBLE")
# UNVERIFIED: any other entry or court date naming mediation ("FORECLOSURE
# MEDIATION CERTIFICATE", a "Foreclosure mediation" session) means "in mediation".
MEDIATION_RE = re.compile(r"\bMEDIATION\b", re.IGNORECASE)
# UNVERIFIED (§3.5 [CODE]): "MOTION FOR DEFAULT-FAILURE TO APPEAR"
DEFAULT_NO_APPEARANCE_RE = re.compile(r"DEFAULT[- ]+FAILURE TO APPEAR")
# UNVERIFIED (§3.5 [CODE]): "AFFIDAVIT OF COMPLIANCE WITH EMAP"
EMAP_RE = re.compile(r"\bEMAP\b")
# UNVERIFIED (never seen in a capture): "WITHDRAWAL OF ACTION", "WITHDRAWAL OF
# APPEARANCE"
WITHDRAWAL_RE = re.compile(r"\bWITHDRAWAL\b")

#: How near a law day or sale makes a case hot, and warm.
HOT_DAYS = 30
WARM_DAYS = 90
#: The priority rule, in the words the case page prints (first match wins). It
#: reads only the case's dates, judgment and parties, so that lists can filter and
#: sort by it in SQL (webui.queries.priority_rank) with the same answer; the
#: signals above say why, with their sources.
RULES = (
    "cold: the case is disposed",
    f"hot: law day or sale within {HOT_DAYS} days and a defendant has appeared",
    "hot: judgment entered and no law day or sale date set yet",
    f"warm: law day or sale within {WARM_DAYS} days",
    "cold: anything else",
)
PRIORITIES = ("hot", "warm", "cold")


@dataclass(frozen=True)
class Signal:
    """One reason for attention and where it came from."""

    code: str  # "law_day", "motion_judgment_granted", ...
    text: str  # "law day in 12 days (2026-03-01)"
    source: str  # "docket entry #104.00, 2026-01-05" or "case: law day"

    def as_dict(self) -> dict:
        return {"code": self.code, "text": self.text, "source": self.source}


@dataclass(frozen=True)
class Reading:
    """A case's signals and its priority, with the rule that decided it."""

    signals: list[Signal]
    priority: str
    rule: str

    def as_dict(self) -> dict:
        return {
            "priority": self.priority,
            "rule": self.rule,
            "signals": [s.as_dict() for s in self.signals],
        }


#: Entry patterns and the signal each gives: (code, pattern, text).
ENTRY_SIGNALS = (
    ("motion_judgment_strict", MOTION_STRICT_RE, "motion for judgment (strict)"),
    ("motion_judgment_sale", MOTION_SALE_RE, "motion for judgment (sale)"),
    ("motion_to_open", MOTION_TO_OPEN_RE, "motion to open judgment"),
    ("law_days_reset", LAW_DAYS_RESET_RE, "law days reset after a bankruptcy"),
    ("bankruptcy", BANKRUPTCY_RE, "bankruptcy filed"),
    ("mediation_expired", MEDIATION_EXPIRED_RE, "mediation time period expired"),
    ("mediation_terminated", MEDIATION_TERMINATED_RE, "mediation terminated"),
    ("mediation_ineligible", MEDIATION_INELIGIBLE_RE, "mediation: ineligible"),
    ("in_mediation", MEDIATION_RE, "in mediation"),
    ("default_no_appearance", DEFAULT_NO_APPEARANCE_RE, "default: failure to appear"),
    ("emap", EMAP_RE, "EMAP affidavit filed"),
    ("withdrawal", WITHDRAWAL_RE, "withdrawal filed"),
)
_MOTIONS = {"motion_judgment_strict", "motion_judgment_sale"}


def _cite(entry: Any) -> str:
    number = f" #{entry.entry_no}" if entry.entry_no else ""
    when = f", {entry.file_date.isoformat()}" if entry.file_date else ""
    return f"docket entry{number}{when}"


def entry_signals(entries: Iterable[Any]) -> list[Signal]:
    """Return the signals of the docket entries (the first matching pattern of
    each entry; a granted motion for judgment is its own signal)."""
    out = []
    for e in entries:
        if getattr(e, "removed_at", None) is not None:
            continue
        text = f"{e.description} {e.add_desc or ''}".upper()
        for code, pattern, words in ENTRY_SIGNALS:
            if pattern.search(text):
                out.append(Signal(code, words, _cite(e)))
                if code in _MOTIONS and GRANTED_RE.search(e.result or ""):
                    out.append(
                        Signal("motion_judgment_granted", words + ": granted", _cite(e))
                    )
                break
    return out


def _days(label: str, code: str, day: date | None, today: date) -> list[Signal]:
    if day is None or day < today:
        return []
    n = (day - today).days
    return [Signal(code, f"{label} in {n} days ({day.isoformat()})", f"case: {label}")]


def _mediation_sessions(court_dates: Iterable[Any], today: date) -> list[Signal]:
    """Return "in mediation" for a mediation session the court has scheduled."""
    for d in court_dates:
        when = d.court_date
        if when and when >= today and MEDIATION_RE.search(d.description or ""):
            return [Signal("in_mediation", "in mediation", f"court date {when}")]
    return []


def read(
    case: Any,
    entries: Sequence[Any],
    parties: Sequence[Any],
    today: date,
    court_dates: Sequence[Any] = (),
) -> Reading:
    """Return a case's signals and priority as of ``today``."""
    signals = entry_signals(entries)
    if not any("mediation" in s.code for s in signals):  # the docket says more
        signals += _mediation_sessions(court_dates, today)
    signals += _days("law day", "law_day", case.law_day, today)
    signals += _days("sale", "sale", sale_day(case), today)
    defendants = [p for p in parties if p.role == "D" and p.removed_at is None]
    if any(p.non_appearing for p in defendants):
        signals.append(
            Signal("non_appearing", "a defendant is non-appearing", "parties")
        )
    appeared = any(not p.non_appearing for p in defendants)
    priority, rule = _priority(case, appeared, today)
    return Reading(signals, priority, rule)


def sale_day(case) -> date | None:
    """The effective sale date: the sale notice's (``notice_sale_date``, issue 17)
    when there is one, else the docket wording's ``sale_date``."""
    return getattr(case, "notice_sale_date", None) or case.sale_date


def _priority(case, appeared: bool, today: date) -> tuple[str, str]:
    dates = [d for d in (case.law_day, sale_day(case)) if d and d >= today]
    soonest = min((d - today).days for d in dates) if dates else None
    if case.is_active is False:
        return "cold", RULES[0]
    if soonest is not None and soonest <= HOT_DAYS and appeared:
        return "hot", RULES[1]
    if getattr(case, "judgment_type", None) and not dates:
        return "hot", RULES[2]
    if soonest is not None and soonest <= WARM_DAYS:
        return "warm", RULES[3]
    return "cold", RULES[4]
