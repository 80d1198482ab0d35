"""What a skip trace would do (:class:`Quote`) and what it did (:class:`RunResult`).

Plain data with the short text both the CLI and the web UI show: counts, costs,
dockets and party numbers, reasons. Never names, phones or emails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ctforeclosure.skiptrace.normalize import Address, PersonName

__all__ = ["Quote", "ReviewItem", "RunResult", "Skipped", "TraceRecord"]


@dataclass(frozen=True)
class TraceRecord:
    """One request item: a person at an address, for one or more parties."""

    person_key: str
    person: PersonName
    address: Address
    party_ids: tuple[int, ...]

    def request_item(self) -> dict:
        """Return the BatchData request item (docs/SITES.md §7.2)."""
        return {
            "propertyAddress": self.address.as_request(),
            "name": {"first": self.person.first, "last": self.person.last},
            "requestId": self.person_key[:16],
        }


@dataclass(frozen=True)
class Skipped:
    """A party left out of a quote, and why (no personal data: docket and number)."""

    party_id: int
    docket_no: str
    party_no: str
    reason: str


@dataclass(frozen=True)
class ReviewItem:
    """An eligible party whose address is unusable: listed for a person to check."""

    party_id: int
    docket_no: str
    party_no: str
    person_key: str
    reason: str


@dataclass
class Quote:
    """What a run would do; nothing is spent until :meth:`SkipTraceService.run`."""

    records: list[TraceRecord]
    reuse: list[tuple[int, int]]  # (party_id, earlier result id)
    review: list[ReviewItem]
    skipped: list[Skipped]
    unit_cost: Decimal
    sandbox: bool
    run_budget: Decimal
    monthly_budget: Decimal
    month_spent: Decimal
    created_at: datetime

    @property
    def max_cost(self) -> Decimal:
        """The cost if every record matches (no-match records are not billed)."""
        return self.unit_cost * len(self.records)

    @property
    def affordable(self) -> int:
        """How many records fit within both budget caps right now."""
        room = min(self.run_budget, self.monthly_budget - self.month_spent)
        if self.unit_cost <= 0:
            return len(self.records)
        return max(0, min(len(self.records), int(room // self.unit_cost)))

    def skip_reasons(self) -> dict[str, int]:
        """Return how many parties are skipped for each reason."""
        counts: dict[str, int] = {}
        for item in self.skipped:
            counts[item.reason] = counts.get(item.reason, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def lines(self) -> list[str]:
        """Return the quote as short lines for a terminal or a web page."""
        tag = (
            " [SANDBOX: canned data, never a real owner's phone]"
            if self.sandbox
            else ""
        )
        parties = sum(len(r.party_ids) for r in self.records)
        out = [
            f"Skip-trace quote{tag}",
            f"  To send: {len(self.records)} records ({parties} parties), "
            f"at most ${self.max_cost:.2f} at ${self.unit_cost} per matched record "
            "(no-match records are not billed)",
            f"  Reused from earlier traces, free: {len(self.reuse)} parties",
            f"  Review list (address unusable, not sent): {len(self.review)} parties",
            f"  Skipped: {len(self.skipped)} parties",
        ]
        out += [f"    {n} x {reason}" for reason, n in self.skip_reasons().items()]
        out.append(
            f"  Budget: ${self.run_budget:.2f} per run; ${self.month_spent:.2f} of "
            f"${self.monthly_budget:.2f} spent this month"
        )
        if self.affordable < len(self.records):
            out.append(
                f"  Only {self.affordable} of {len(self.records)} records fit within "
                "the budget caps: the run stops there."
            )
        return out


@dataclass
class RunResult:
    """What a run did."""

    sent: int = 0
    matched: int = 0
    no_match: int = 0
    reused: int = 0
    review: int = 0
    reconcile: int = 0
    errors: int = 0
    cost: Decimal = Decimal(0)
    stopped: str | None = None
    ledger_ids: list[int] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"Sent {self.sent} records: {self.matched} matched, {self.no_match} no "
            f"match; cost ${self.cost:.2f}",
            f"Reused {self.reused} earlier results; {self.review} to the review list",
        ]
        if self.reconcile:
            out.append(
                f"{self.reconcile} records marked 'unknown - reconcile' (may have been "
                "billed; not sent again until someone decides)"
            )
        if self.errors:
            out.append(f"{self.errors} records failed (not billed; will be retried)")
        if self.stopped:
            out.append(f"Stopped: {self.stopped}")
        return out
