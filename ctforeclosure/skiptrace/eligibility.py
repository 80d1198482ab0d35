"""Who is skip traced: the one rule, in :func:`decide`.

Skip tracing costs money per record and finds *people*, so only defendants who are
likely owners or occupants of the property are traced. The court page shows no home
address for defendants (docs/SITES.md §3.4), so each is looked up by name and the case's
property address.

Not traced (``skip``), with the reason shown in every quote:

- parties no longer on the case page; anyone but a defendant (plaintiffs are "P",
  "For Notice Only" parties are "L" or say so in their category);
- placeholders for unknown people ("UNKNOWN HEIRS", "JOHN DOE", "X, THE WIDOW(ER)
  HEIRS AND/OR CREDITORS OF Y": the named owner is dead);
- government bodies and courts ("CITY OF HARTFORD", "SECRETARY OF HOUSING ...");
- banks, lenders and servicers ("WELLS FARGO BANK, N.A.", "... LOAN SERVICING, LLC");
- condominium and homeowners associations;
- trusts, and institutions acting as trustee ("... TRUST 2018-F", "... AS TRUSTEE");
- other organisations and estates (LLC, INC, CORP, churches, "ESTATE OF ...");
- a defendant whose name is the plaintiff's (the plaintiff's side);
- a name that cannot be read as first and last name.

Sent to the review list (``review``), never to the vendor: an eligible person whose
case has no usable property address ("See Clerk's Note", no house number, no zip and
no town).

A person acting for an estate or a family trust ("JANE ROE, EXECUTOR OF THE ESTATE OF
...", "JANE ROE, TRUSTEE OF THE ROE REVOCABLE TRUST") is traced by their own name: the
rules look at the part of the name before the role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ctforeclosure.skiptrace.normalize import (
    Address,
    PersonName,
    person_part,
    split_name,
)

__all__ = ["Decision", "decide", "property_address"]

Action = Literal["trace", "skip", "review"]


def _any(*words: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Z0-9])(?:" + "|".join(words) + r")(?![A-Z0-9])")


PLACEHOLDER_RE = _any(
    r"UNKNOWN",
    r"HEIRS?",
    r"JOHN DOE",
    r"JANE DOE",
    r"OCCUPANTS?",
    r"TENANTS?",
    r"CREDITORS",
    r"BENEFICIARIES",
)  # "THE HEIRS REPRESENTATIVES CREDITORS OR BENEFICIARIES ..."
GOVERNMENT_RE = _any(
    r"CITY OF",
    r"TOWN OF",
    r"STATE OF",
    r"UNITED STATES",
    r"INTERNAL REVENUE",
    r"SECRETARY OF",
    r"DEPARTMENT OF",
    r"COMMISSIONER",
    r"FIRE DISTRICT",
    r"TAX COLLECTOR",
    r"AUTHORITY",
    r"COURT",
    r"DOCKET",
    r"HOUSING AND URBAN",
    r"MUNICIPAL",
    r"IRS",
    r"HUD",
    r"WPCA",
    r"WATER POLLUTION",
)  # "CITY OF MIDDLETOWN", "CONNECTICUT HOUSING FINANCE AUTHORITY"
LENDER_RE = _any(
    r"BANK",
    r"BANCORP",
    r"[A-Z]*BANK",
    r"[A-Z]*MORTGAGE",
    r"LOANS?",
    r"LENDING",
    r"LENDER",
    r"SERVICING",
    r"SERVICER",
    r"SERVICES",
    r"FINANCIAL",
    r"FINANCE",
    r"CREDIT UNION",
    r"SAVINGS",
    r"FSB",
    r"N\.? ?A\.?",
    r"NATIONAL ASSOCIATION",
    r"CAPITAL",
    r"FUNDS?",
    r"FUNDING",
    r"MERS",
    r"ELECTRONIC REGISTRATION",
    r"INSURANCE",
    r"ACCEPTANCE",
    r"INVESTMENTS?",
)  # "WELLS FARGO BANK, N.A.", "LAKEVIEW LOAN SERVICING, LLC", "CITIMORTGAGE, INC."
ASSOCIATION_RE = _any(
    r"CONDOMINIUMS?",
    r"CONDO",
    r"ASSOCIATION",
    r"ASSN",
    r"ASSOC",
    r"HOMEOWNERS",
    r"HOA",
    r"OWNERS",
    r"VILLAGE",
    r"COMMUNITY",
)  # "BERKELEY CONDOMINIUM ASSOCIATION, INC."
TRUST_RE = _any(r"TRUST", r"TRUSTEES?", r"TRUSTS")  # "BP-JR 1 LOAN TRUST"
ORGANISATION_RE = _any(
    r"L\.?L\.?C\.?",
    r"INC\.?",
    r"INCORPORATED",
    r"CORP\.?",
    r"CORPORATION",
    r"COMPANY",
    r"CO\.?",
    r"L\.?P\.?",
    r"LTD",
    r"PARTNERS",
    r"PARTNERSHIP",
    r"ASSOCIATES",
    r"HOLDINGS",
    r"REALTY",
    r"PROPERTIES",
    r"GROUP",
    r"CHURCH",
    r"IGLESIA",
    r"MINISTRIES",
    r"ENTERPRISES",
    r"DEVELOPMENT",
    r"DEVELOPERS",
    r"MANAGEMENT",
    r"ESTATE OF",
    r"ESTATES",
    r"SOLUTIONS",
    r"SYSTEMS",
    r"PORTFOLIO",
    r"HEALTH",
    r"FOUNDATION",
    r"UNIVERSITY",
    r"HOSPITAL",
    r"SOCIETY",
    r"AGENCY",
)  # "834 PARTNERS, CT LLC", "BETHEL APOSTOLIC CHURCH, INCORPORATED"

#: Street text that means the court has no usable address ("See Clerk's Note").
UNUSABLE_STREET_RE = re.compile(r"CLERK|SEE NOTE|UNKNOWN|^N/?A$", re.IGNORECASE)
#: Zips the court prints when it has none (docs/SITES.md §8 item 7: "00000", "06").
ZIP_RE = re.compile(r"^\d{5}$")


@dataclass(frozen=True)
class Decision:
    """What to do with one party, and why (shown in quotes)."""

    action: Action
    reason: str
    person: PersonName | None = None
    address: Address | None = None


def property_address(case: Mapping[str, Any]) -> Address | None:
    """Return the case's property address as BatchData wants it, or None if unusable.

    The case page's parsed address wins over the search grid's; a zip of "00000" or
    "06" is dropped (street + town + state still works, docs/SITES.md §7.2).
    """
    street = case.get("property_street") or case.get("listing_street") or ""
    street = (street.strip().splitlines() or [""])[0].strip()  # "1 Russell St.\nUnit 5"
    town = (
        case.get("property_town")
        or case.get("listing_town")
        or case.get("search_town")
        or ""
    ).strip()
    state = (case.get("property_state") or "CT").strip().upper()
    zip_ = (case.get("property_zip") or case.get("listing_zip") or "").strip()[:5]
    if not ZIP_RE.match(zip_) or zip_ == "00000":
        zip_ = ""
    if not street or UNUSABLE_STREET_RE.search(street):
        return None
    if not re.search(r"\d", street):  # no house number: the vendor cannot match
        return None
    if not zip_ and not town:
        return None
    return Address(street=street, city=town or None, state=state, zip=zip_ or None)


def _institution_reason(text: str) -> str | None:
    if PLACEHOLDER_RE.search(text):
        return "placeholder for unknown people, not a named person"
    if GOVERNMENT_RE.search(text):
        return "government body or court"
    if LENDER_RE.search(text):
        return "bank, lender or servicer"
    if ASSOCIATION_RE.search(text):
        return "condominium or homeowners association"
    if TRUST_RE.search(text):
        return "trust or trustee institution"
    if ORGANISATION_RE.search(text) or re.search(r"\d", text):
        return "organisation or estate, not a person"
    return None


def decide(
    party: Mapping[str, Any],
    case: Mapping[str, Any],
    plaintiffs: Iterable[str] = (),
) -> Decision:
    """Decide whether one party is traced, skipped or put on the review list.

    ``party`` has ``name``, ``role`` ("D"), ``category`` and optionally
    ``removed_at``; ``case`` has the address columns of ``cases``; ``plaintiffs``
    are the names of the case's plaintiffs.
    """
    if party.get("removed_at") is not None:
        return Decision("skip", "no longer on the case page")
    category = (party.get("category") or "").upper()
    if "NOTICE ONLY" in category:
        return Decision("skip", "for notice only")
    if (party.get("role") or "").upper() != "D":
        return Decision("skip", "not a defendant (plaintiff's side or other)")
    name = re.sub(r"\s+", " ", (party.get("name") or "").upper()).strip()
    if not name:
        return Decision("skip", "no name")
    plaintiff_names = {re.sub(r"\s+", " ", p.upper()).strip() for p in plaintiffs}
    if name in plaintiff_names:
        return Decision("skip", "also a plaintiff (plaintiff's side)")
    # The whole name first: "FEDERAL HOME LOAN MORTGAGE CORPORATION, AS TRUSTEE".
    whole = _institution_reason(name)
    own = person_part(name)
    if whole and (
        PLACEHOLDER_RE.search(name)  # "X, THE WIDOW(ER) HEIRS AND/OR CREDITORS"
        or not own
        or own == name
        or _institution_reason(own)
    ):
        return Decision("skip", whole)
    person = split_name(name)
    if person is None:
        return Decision("skip", "name cannot be read as first and last name")
    address = property_address(case)
    if address is None:
        return Decision("review", "property address unusable", person=person)
    return Decision("trace", "defendant, likely owner or occupant", person, address)
