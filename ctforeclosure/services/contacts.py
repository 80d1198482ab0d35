"""Which skip-trace phones, emails and mailing addresses a person may see, and the
audit record of each reveal: one policy for every path (pages, exports, the API and,
later, notifications), so no front end keeps a rule of its own.

The rules, in order:

1. Numbers, emails and people in :class:`Suppressions` (the internal
   do-not-contact list, :mod:`ctforeclosure.services.suppressions`, and people
   BatchData flags as TCPA litigators) are never revealed: a suppressed number or
   email is listed apart, masked to its last 4, with the reason (the case page
   strikes it through, the API flags it), and never in an export or a mailing
   list; a suppressed person's results are left out altogether, with the reason.
   The list is read by hashes, so a new trace that finds the same number again
   finds it suppressed.
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
from ctforeclosure.services import suppressions as dnc_list

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


#: The reason shown for a person BatchData flags as a TCPA litigator.
LITIGATOR = "TCPA litigator"


@dataclass(frozen=True)
class Suppressions:
    """Contacts never revealed to anyone: E.164 numbers and emails on the internal
    do-not-contact list, and the ids of suppressed or litigator-flagged parties,
    each with the reason shown (``reasons``, by number, email or party id)."""

    numbers: frozenset[str] = frozenset()
    party_ids: frozenset[int] = frozenset()
    emails: frozenset[str] = frozenset()
    reasons: Mapping[Any, str] = field(default_factory=dict, hash=False)

    def reason(self, value: Any) -> str:
        return self.reasons.get(value, "do not contact")


NO_SUPPRESSIONS = Suppressions()


def _litigator(trace: Any) -> bool:
    """Whether BatchData flagged the person of a result as a TCPA litigator."""
    persons = getattr(trace, "persons", None) or []
    return any(isinstance(p, dict) and p.get("litigator") for p in persons)


def suppressions(
    conn: sa.Connection,
    traces: Mapping[int, Sequence[_Trace]],
    person_keys: Mapping[int, str] | None = None,
) -> Suppressions:
    """Return the suppressions that apply to these parties' results: their numbers
    and emails on the do-not-contact list, the parties whose person (the results'
    person key, or ``person_keys``) is on it, and litigator-flagged parties."""
    keys = dict(person_keys or {})
    asked: list[tuple[str, str]] = []
    for party_id, results in traces.items():
        for t in results:
            asked += [("phone", p.number) for p in t.phones]
            asked += [("email", e.email) for e in t.emails]
            if getattr(t, "person_key", None):
                keys.setdefault(party_id, t.person_key)
    asked += [("person", k) for k in keys.values()]
    found = dnc_list.lookup(conn, asked)
    reasons: dict[Any, str] = {}
    for (kind, value), entry in found.items():
        if kind != "person":
            reasons[normalised(kind, value)] = entry.reason_text
    for party_id, person in keys.items():
        if entry := found.get(("person", person)):
            reasons[party_id] = entry.reason_text
    for party_id, results in traces.items():
        if party_id not in reasons and any(_litigator(t) for t in results[:1]):
            reasons[party_id] = LITIGATOR
    return Suppressions(
        numbers=frozenset(v for (k, v) in found if k == "phone"),
        emails=frozenset(normalised("email", v) for (k, v) in found if k == "email"),
        party_ids=frozenset(k for k in reasons if isinstance(k, int)),
        reasons=reasons,
    )


def normalised(kind: str, value: str) -> str:
    """Return a number or email as the list compares it."""
    return dnc_list.normalise(kind, value)


def suppressed_people(conn: sa.Connection, person_keys: Iterable[str]) -> set[str]:
    """Return those of the skip trace's person keys that are on the list (they are
    not traced: a quote skips them, unbilled)."""
    found = dnc_list.lookup(conn, [("person", k) for k in person_keys])
    return {value for _, value in found}


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

    @property
    def callable(self) -> bool:
        """The phone's one verdict: callable unless flagged (suppressed numbers
        are :class:`Withheld`, never callable)."""
        return not self.flagged

    @property
    def verdict(self) -> str:
        """Return "callable", or why not ("not callable: DNC/TCPA")."""
        return "callable" if self.callable else "not callable: " + "/".join(self.marks)


@dataclass(frozen=True)
class Withheld:
    """A number or email on the do-not-contact list, as every path may show it:
    masked to its last 4, never callable, with the reason."""

    kind: str  # phone | email
    masked: str  # "(***) ***-0123", "***rdoe@example.com"
    reason: str

    callable = False

    @property
    def verdict(self) -> str:
        return f"not callable: do not contact ({self.reason})"


def _withheld(kind: str, value: str, reason: str) -> Withheld:
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        return Withheld(kind, f"(***) ***-{digits[-4:]}", reason)
    local, _, domain = value.partition("@")
    return Withheld(kind, f"***{local[-4:]}@{domain}", reason)


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
    #: numbers and emails on the do-not-contact list: masked, with the reason
    withheld: list[Withheld] = field(default_factory=list)


@dataclass
class Revealed:
    """What a request may show, keyed by party id, and how much of it is revealed
    (masked values reveal nothing)."""

    asker: Asker
    by_party: dict[int, list[ShownTrace]] = field(default_factory=dict)
    masked: bool = True
    #: parties left out as do-not-contact, and why (party id -> reason)
    suppressed_parties: dict[int, str] = field(default_factory=dict)

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


def _shown(asker: Asker, trace: _Trace, suppressed: Suppressions) -> ShownTrace:
    full = asker.sees_contacts
    phones, withheld, hidden = [], [], 0
    for p in trace.phones:
        if p.number in suppressed.numbers:
            reason = suppressed.reason(p.number)
            withheld.append(_withheld("phone", p.number, reason))
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
    emails = []
    for e in trace.emails:
        if (plain := normalised("email", e.email)) in suppressed.emails:
            withheld.append(_withheld("email", plain, suppressed.reason(plain)))
        else:
            emails.append(e.email if full else mask_email(e.email))
    return ShownTrace(
        id=trace.id,
        party_id=trace.party_id,
        status=trace.status,
        sandbox=trace.sandbox,
        fetched_at=trace.fetched_at,
        mailing_address=trace.mailing_address if full else None,
        phones=phones,
        emails=emails,
        flagged_hidden=hidden,
        withheld=withheld,
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
            out.suppressed_parties[party_id] = suppressed.reason(party_id)
            continue
        out.by_party[party_id] = [_shown(asker, t, suppressed) for t in results]
    for party_id in suppressed.party_ids - out.suppressed_parties.keys():
        out.suppressed_parties[party_id] = suppressed.reason(party_id)
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
