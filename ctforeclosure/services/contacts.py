"""Which skip-trace phones, emails and mailing addresses a person may see, and the
audit record of each reveal: one policy for every path (pages, exports, the API and,
later, notifications), so no front end keeps a rule of its own.

The rules, in order:

1. Numbers and people in :class:`Suppressions` (the internal do-not-contact list,
   litigator-flagged people) are never revealed, not even masked.
2. Phones flagged DNC or TCPA are left out unless the asker explicitly asked for
   them (``include_dnc``), which only those who see contacts may do; then they are
   shown marked as flagged.
3. Those who may not see contacts (viewers) get masked values, and nothing is
   audited for them: nothing was revealed.
4. Everything else is shown in full, and the request that showed it writes one
   ``contacts.reveal`` audit record: who, which path, which filter or ids, how many
   records, phones, emails and addresses, and whether ``include_dnc`` was used. The
   numbers and emails themselves never go into the record.

Committee contacts on sale notices are court-published business contacts: they
are not skip-trace results and this policy does not apply to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from ctforeclosure.services import audit

#: The lowest role that sees phones and emails unmasked, and may ask for flagged ones.
CONTACTS_ROLE = "manager"
#: The audit action of a request that revealed contact data.
REVEAL_ACTION = "contacts.reveal"
#: The kinds of path that reveal contacts (the audit record's ``kind``).
KINDS = ("page", "export", "api")
#: What a reveal's audit record counts.
COUNTED = ("records", "phones", "emails", "addresses")


class NotAllowed(PermissionError):
    """Flagged numbers were asked for by someone who may not see contacts."""


class _Role(Protocol):
    def can(self, role: str) -> bool: ...


class _Phone(Protocol):
    number: str
    type: str | None
    dnc: bool | None
    tcpa: bool | None
    rank: int | None


class _Email(Protocol):
    email: str


class _Trace(Protocol):
    """A stored skip-trace result with its phones and emails (newest first)."""

    id: int
    party_id: int
    status: str
    sandbox: bool
    fetched_at: Any
    mailing_address: Any
    phones: Sequence[_Phone]
    emails: Sequence[_Email]


def may_see(user: _Role) -> bool:
    """Return True when ``user`` sees contacts unmasked (managers and up)."""
    return user.can(CONTACTS_ROLE)


@dataclass(frozen=True)
class Asker:
    """Who is asking: the actor for the audit log, whether they see contacts
    unmasked, and whether they explicitly asked for DNC/TCPA-flagged numbers."""

    actor: str
    sees_contacts: bool
    include_dnc: bool = False

    def __post_init__(self) -> None:
        if self.include_dnc and not self.sees_contacts:
            raise NotAllowed(f"include_dnc needs the {CONTACTS_ROLE} role")


@dataclass(frozen=True)
class Suppressions:
    """Contacts never revealed to anyone: E.164 numbers on the internal
    do-not-contact list and the ids of litigator-flagged parties. Empty until the
    outreach work keeps those lists; :func:`suppressions` is where it loads them."""

    numbers: frozenset[str] = frozenset()
    party_ids: frozenset[int] = frozenset()


NO_SUPPRESSIONS = Suppressions()


def suppressions(conn: sa.Connection, party_ids: Iterable[int]) -> Suppressions:
    """Return the suppressions that apply to these parties (none are kept yet)."""
    return NO_SUPPRESSIONS


@dataclass(frozen=True)
class ShownPhone:
    """A phone as it may be shown: E.164 in full, or masked."""

    number: str
    type: str | None
    dnc: bool
    tcpa: bool
    rank: int | None

    @property
    def flagged(self) -> bool:
        return self.dnc or self.tcpa

    @property
    def marks(self) -> list[str]:
        """Return the flags to show beside the number ("DNC", "TCPA")."""
        return [m for m, on in (("DNC", self.dnc), ("TCPA", self.tcpa)) if on]


@dataclass(frozen=True)
class ShownTrace:
    """One skip-trace result as the asker may see it."""

    id: int
    party_id: int
    status: str
    sandbox: bool
    fetched_at: Any
    mailing_address: Any
    phones: list[ShownPhone]
    emails: list[str]
    #: flagged phones left out because include_dnc was not asked for
    flagged_hidden: int = 0


@dataclass
class Revealed:
    """What a request may show, keyed by party id, and how much of it is revealed
    (masked values reveal nothing)."""

    asker: Asker
    by_party: dict[int, list[ShownTrace]] = field(default_factory=dict)
    masked: bool = True

    def traces(self) -> Iterable[ShownTrace]:
        for shown in self.by_party.values():
            yield from shown

    def _revealing(self) -> list[ShownTrace]:
        """Return the results that show something in full (none when masked)."""
        if self.masked:
            return []
        return [t for t in self.traces() if t.phones or t.emails or t.mailing_address]

    @property
    def anything(self) -> bool:
        """Whether any phone, email or address is shown in full (then audit it)."""
        return bool(self._revealing())

    def party_ids(self) -> list[int]:
        """Return the ids of the parties whose contacts are shown in full."""
        return sorted({t.party_id for t in self._revealing()})

    def counts(self) -> dict[str, int]:
        """Return how many records, phones, emails and addresses were revealed."""
        shown = self._revealing()
        return {
            "records": len(shown),
            "phones": sum(len(t.phones) for t in shown),
            "emails": sum(len(t.emails) for t in shown),
            "addresses": sum(1 for t in shown if t.mailing_address),
        }

    @property
    def flagged_hidden(self) -> int:
        return sum(t.flagged_hidden for t in self.traces())


@dataclass
class RevealTally:
    """What a streamed answer (an export) revealed, summed part by part: the counts
    only, so an answer of any size holds one part's contacts at a time. It stands
    in for :class:`Revealed` in :func:`audit_reveal`."""

    asker: Asker
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))

    def add(self, part: Revealed) -> None:
        for name, count in part.counts().items():
            self.totals[name] += count

    @property
    def anything(self) -> bool:
        return self.totals["records"] > 0

    def counts(self) -> dict[str, int]:
        return dict(self.totals)


def mask_phone(number: str | None) -> str:
    """Keep only the last two digits: "(***) ***-**23"."""
    if not number:
        return ""
    return "(***) ***-**" + re.sub(r"\D", "", number)[-2:]


def mask_email(email: str | None) -> str:
    """Keep the first letter and the domain: "j***@example.com"."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _shown(asker: Asker, trace: _Trace, suppressed: frozenset[str]) -> ShownTrace:
    full = asker.sees_contacts
    phones, hidden = [], 0
    for p in trace.phones:
        if p.number in suppressed:
            continue
        phone = ShownPhone(
            number=p.number if full else mask_phone(p.number),
            type=p.type,
            dnc=bool(p.dnc),
            tcpa=bool(p.tcpa),
            rank=p.rank,
        )
        if phone.flagged and not asker.include_dnc:
            hidden += 1
            continue
        phones.append(phone)
    return ShownTrace(
        id=trace.id,
        party_id=trace.party_id,
        status=trace.status,
        sandbox=trace.sandbox,
        fetched_at=trace.fetched_at,
        mailing_address=trace.mailing_address if full else None,
        phones=phones,
        emails=[e.email if full else mask_email(e.email) for e in trace.emails],
        flagged_hidden=hidden,
    )


def reveal(
    asker: Asker,
    traces: Mapping[int, Sequence[_Trace]],
    suppressed: Suppressions = NO_SUPPRESSIONS,
) -> Revealed:
    """Return what ``asker`` may see of the skip-trace results, keyed by party id."""
    out = Revealed(asker=asker, masked=not asker.sees_contacts)
    for party_id, results in traces.items():
        if party_id in suppressed.party_ids:
            continue
        out.by_party[party_id] = [_shown(asker, t, suppressed.numbers) for t in results]
    return out


def audit_reveal(
    conn: sa.Connection,
    revealed: Revealed | RevealTally,
    *,
    kind: str,
    target: str,
    scope: dict[str, Any],
) -> bool:
    """Write one ``contacts.reveal`` record if anything was revealed; return whether
    one was written. ``scope`` says which filter or ids were asked for."""
    if kind not in KINDS:
        raise ValueError(f"unknown reveal kind {kind!r}: use one of {KINDS}")
    if not revealed.anything:
        return False
    details = {
        "kind": kind,
        **scope,
        **revealed.counts(),
        "include_dnc": revealed.asker.include_dnc,
    }
    audit.record(conn, revealed.asker.actor, REVEAL_ACTION, target, details)
    return True
