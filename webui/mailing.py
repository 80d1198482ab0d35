"""The mailing list for direct mail: one row per likely owner of the filtered cases.

Who is a likely owner is the skip-trace eligibility rule's decision
(:func:`ctforeclosure.skiptrace.service.likely_owners`). The mailing address is the
newest production skip trace's where there is one (sandbox results never), else the
property address; what of a trace may be used is the contacts policy's decision, and
people on the do-not-contact list (or flagged as litigators) are left out. Rows are
deduplicated by person and mailing address.

This module only makes the rows: :data:`HEADER` and :func:`rows` (a generator of
tuples), which :mod:`webui.exports` streams as CSV or XLSX through
:mod:`webui.streaming` and audits like its other exports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import sqlalchemy as sa

from ctforeclosure.services import contacts
from ctforeclosure.skiptrace import service
from webui import queries
from webui.filters import docket_dashed

HEADER = (
    "Name",
    "Mailing street",
    "Mailing city",
    "Mailing state",
    "Mailing zip",
    "Property address",
    "Docket",
    "Town",
    "County",
)
CHUNK = 500  # cases per query of their owners


def _property(owner) -> tuple[str, str, str, str]:
    """Return the case's property address (the owner's row carries it)."""
    street = (owner.property_street or owner.listing_street or "").splitlines()
    town = owner.property_town or owner.listing_town or owner.search_town or ""
    zip_ = owner.property_zip or owner.listing_zip or ""
    return (
        street[0].strip() if street else "",
        town,
        owner.property_state or "CT",
        zip_,
    )


def _mailing(owner, shown: list[contacts.ShownTrace]) -> tuple[str, str, str, str]:
    for trace in shown:  # newest first
        found = trace.mailing_address
        if isinstance(found, dict) and found.get("street"):
            return tuple(
                str(found.get(k) or "") for k in ("street", "city", "state", "zip")
            )
    return _property(owner)


def _key(name: str, address: tuple) -> tuple:
    return (re.sub(r"\W+", " ", name.upper()).strip(), *(a.upper() for a in address))


def rows(engine: sa.Engine, flt, tally: contacts.RevealTally) -> Iterator[tuple]:
    """Yield one row per likely owner of the matching cases (deduplicated, the
    suppressed left out), from a server-side cursor on a connection of its own,
    :data:`CHUNK` cases at a time; ``tally`` counts what the rows reveal (for the
    audit record)."""
    seen: set[tuple] = set()
    with engine.connect() as conn:
        for cases in queries.stream_cases(conn, flt, CHUNK).partitions():
            yield from _chunk_rows(conn, {c.docket_no: c for c in cases}, tally, seen)


def _chunk_rows(conn, chunk: dict, tally: contacts.RevealTally, seen: set):
    owners = service.likely_owners(conn, list(chunk))
    keys = {row.party_id: key for row, _, key in owners if key}
    traces = queries.skiptrace_by_party(conn, list(keys), include_sandbox=False)
    shown = contacts.reveal(
        tally.asker, traces, contacts.suppressions(conn, traces, keys)
    )
    tally.add(shown)
    for row, _, _ in owners:
        if row.party_id in shown.suppressed_parties:
            continue
        case = chunk[row.docket_no]
        address = _mailing(row, shown.by_party.get(row.party_id, []))
        if not address[0] or _key(row.name, address) in seen:
            continue
        seen.add(_key(row.name, address))
        yield (
            row.name,
            *address,
            ", ".join(p for p in _property(row) if p),
            docket_dashed(case.docket_no),
            case.search_town,
            case.county or "",
        )
