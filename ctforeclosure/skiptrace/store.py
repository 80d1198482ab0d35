"""Skip-trace rows in the database: candidates, earlier results, ledger, results.

SQLAlchemy Core over ``ctforeclosure.db``, one code path for SQLite and PostgreSQL.
The service decides; this module only reads and writes. Storing phones for a party
also records a ``phones_found`` change of its case (the party and how many numbers,
never the numbers), so that the change feed and watchers hear of it.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.skiptrace.normalize import e164, mask_phone
from ctforeclosure.store.bulk import chunks
from ctforeclosure.store.changes import Changes

__all__ = [
    "candidates",
    "contact_rows",
    "copy_result",
    "insert_ledger",
    "insert_result",
    "insert_results",
    "mark_has_phones",
    "plaintiff_names",
    "refresh_has_phones",
    "results_for",
    "spent_since",
]

#: Statuses that count as "traced" for dedupe (an error is retried, a review waits).
DONE_STATUSES = ("matched", "no_match")
logger = logging.getLogger(__name__)
#: UNVERIFIED (docs/SITES.md §9): per-phone DNC and TCPA booleans named as in v3 (§7.4);
#: v1 carries a person-level ``dnc`` object and a separate /phone/dnc call. A flag
#: the answer does not carry is stored as NULL (unknown), never as False.
PHONE_DNC_FIELD = "dnc"
PHONE_TCPA_FIELD = "tcpa"

CASE_COLUMNS = (
    db.cases.c.search_town,
    db.cases.c.listing_town,
    db.cases.c.listing_street,
    db.cases.c.listing_zip,
    db.cases.c.property_street,
    db.cases.c.property_town,
    db.cases.c.property_state,
    db.cases.c.property_zip,
)


def candidates(
    conn: sa.Connection,
    *,
    docket_nos: Sequence[str] | None = None,
    town: str | None = None,
    pending: bool = False,
    party_ids: Sequence[int] | None = None,
) -> list[sa.Row]:
    """Return the parties (with their case's address columns) a quote considers."""
    p = db.parties.c
    base = (
        sa.select(
            p.id.label("party_id"),
            p.docket_no,
            p.party_no,
            p.role,
            p.category,
            p.name,
            p.removed_at,
            *CASE_COLUMNS,
        )
        .join(db.cases, db.cases.c.docket_no == p.docket_no)
        .order_by(p.docket_no, p.party_no)
    )
    if town:
        base = base.where(sa.func.lower(db.cases.c.search_town) == town.lower())
    if pending:
        base = base.where(db.cases.c.listed.is_(True), p.role == "D")
    rows: list[sa.Row] = []
    if docket_nos is not None or party_ids is not None:
        column = p.docket_no if docket_nos is not None else p.id
        for chunk in chunks(list(docket_nos if docket_nos is not None else party_ids)):
            rows.extend(conn.execute(base.where(column.in_(chunk))).all())
        return sorted(rows, key=lambda r: (r.docket_no, r.party_no))
    return list(conn.execute(base).all())


def plaintiff_names(conn: sa.Connection, docket_nos: Iterable[str]) -> dict[str, list]:
    """Return the plaintiffs' names per docket."""
    out: dict[str, list[str]] = {}
    p = db.parties.c
    for chunk in chunks(sorted(set(docket_nos))):
        query = sa.select(p.docket_no, p.name).where(
            p.docket_no.in_(chunk), p.role == "P"
        )
        for docket_no, name in conn.execute(query):
            out.setdefault(docket_no, []).append(name)
    return out


def results_for(
    conn: sa.Connection, *, party_ids: Iterable[int] = (), keys: Iterable[str] = ()
) -> list[sa.Row]:
    """Return stored results of these parties or these person keys."""
    r = db.skiptrace_results.c
    cols = (r.id, r.party_id, r.person_key, r.status, r.fetched_at, r.sandbox)
    rows: dict[int, sa.Row] = {}
    for column, values in ((r.party_id, party_ids), (r.person_key, keys)):
        for chunk in chunks(sorted(set(values))):
            for row in conn.execute(sa.select(*cols).where(column.in_(chunk))):
                rows[row.id] = row
    return list(rows.values())


def spent_since(conn: sa.Connection, since: datetime, sandbox: bool) -> Decimal:
    """Return what the ledger says was spent since a time (same sandbox flag)."""
    l_ = db.skiptrace_ledger.c
    total = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(l_.cost), 0)).where(
            l_.at >= since, l_.sandbox.is_(sandbox)
        )
    ).scalar_one()
    return Decimal(str(total))


def insert_ledger(conn: sa.Connection, **values: Any) -> int:
    """Append one ledger row (one API call) and return its id."""
    result = conn.execute(db.skiptrace_ledger.insert().values(**values))
    return result.inserted_primary_key[0]


def _flag(phone: dict, name: str) -> bool | None:
    value = phone.get(name)
    return value if isinstance(value, bool) else None


def _short(value: Any, column: sa.Column) -> str | None:
    """Return a text field cut to its column's length; None for another JSON type."""
    return value[: column.type.length] or None if isinstance(value, str) else None


def _score(value: Any) -> int | None:
    """Return a score that fits an integer column, None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not -(2**31) <= value < 2**31:
        return None
    return int(value)


def _number(value: Any) -> str | None:
    """Return a phone number field in E.164: text as the API sends it, or a number."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return e164(str(value))


def _phone_rows(result_id: int, phones: Any) -> list[dict]:
    rows = []
    table = db.skiptrace_phones.c
    for rank, phone in enumerate(phones if isinstance(phones, list) else [], start=1):
        raw = phone.get("number") if isinstance(phone, dict) else None
        number = _number(raw)
        if number is None:  # the mock's "123123", or no text at all: not a number
            logger.debug("not a US phone number, left out: %s", mask_phone(str(raw)))
            continue
        rows.append(
            {
                "result_id": result_id,
                "number": number,
                "type": _short(phone.get("type"), table.type),
                "carrier": _short(phone.get("carrier"), table.carrier),
                "dnc": _flag(phone, PHONE_DNC_FIELD),
                "tcpa": _flag(phone, PHONE_TCPA_FIELD),
                "score": _score(phone.get("score")),
                "rank": rank,
            }
        )
    return rows


def _email_rows(result_id: int, emails: Any) -> list[dict]:
    limit = db.skiptrace_emails.c.email.type.length
    return [
        {"result_id": result_id, "email": e["email"].strip(), "rank": rank}
        for rank, e in enumerate(emails if isinstance(emails, list) else [], start=1)
        if isinstance(e, dict)
        and isinstance(e.get("email"), str)
        and 0 < len(e["email"].strip()) <= limit
    ]


def contact_rows(result_id: int, person: dict) -> tuple[list[dict], list[dict]]:
    """Return the phone (E.164) and email rows of one API person object.

    Whatever else the object holds is left out: a phone that is not a US number in
    a text field, an email that is not a text that fits its column, an entry that
    is not an object; a type, carrier or score that does not fit its column is None.
    """
    return (
        _phone_rows(result_id, person.get("phoneNumbers")),
        _email_rows(result_id, person.get("emails")),
    )


def _result_row(values: dict[str, Any]) -> dict[str, Any]:
    person = values.get("person") or {}
    matched = values["status"] == "matched"
    summary = {
        "name": person.get("name") or {},
        "litigator": person.get("litigator"),
        "deceased": bool(person.get("death")) or None,
        "matched": bool((person.get("meta") or {}).get("matched")),
    }
    return {
        "party_id": values["party_id"],
        "person_key": values["person_key"],
        "status": values["status"],
        "persons": [summary] if matched else [],
        "mailing_address": (person.get("mailingAddress") or None) if matched else None,
        "provider_request_id": values.get("provider_request_id"),
        "sandbox": values["sandbox"],
        "ledger_id": values.get("ledger_id"),
        "fetched_at": values["fetched_at"],
        "expires_at": values.get("expires_at"),
    }


def insert_results(conn: sa.Connection, results: Sequence[dict[str, Any]]) -> list:
    """Store results with their phones (E.164) and emails, batched; return the ids.

    Each dict has ``party_id``, ``person_key``, ``status``, ``sandbox``,
    ``fetched_at``, ``expires_at`` and optionally ``person`` (the API's person
    object), ``provider_request_id`` and ``ledger_id``.
    """
    if not results:
        return []
    table = db.skiptrace_results
    ids = (
        conn.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True),
            [_result_row(r) for r in results],
        )
        .scalars()
        .all()
    )
    phones: list[dict] = []
    emails: list[dict] = []
    for result_id, values in zip(ids, results, strict=True):
        person = values.get("person") or {}
        if values["status"] != "matched":
            continue
        person_phones, person_emails = contact_rows(result_id, person)
        phones += person_phones
        emails += person_emails
    if phones:
        conn.execute(db.skiptrace_phones.insert(), phones)
        mark_has_phones(conn, {row["result_id"] for row in phones})
        party_of = {i: r["party_id"] for i, r in zip(ids, results, strict=True)}
        _record_phones_found(conn, party_of, phones)
    if emails:
        conn.execute(db.skiptrace_emails.insert(), emails)
    return list(ids)


def insert_result(conn: sa.Connection, **values: Any) -> int:
    """Store one party's result (see :func:`insert_results`); return its id."""
    return insert_results(conn, [values])[0]


def copy_result(conn: sa.Connection, source_id: int, party_id: int) -> int:
    """Store an earlier result (and its phones and emails) for another party, free."""
    r = db.skiptrace_results
    src = conn.execute(sa.select(r).where(r.c.id == source_id)).one()
    new_id = conn.execute(
        r.insert().values(
            party_id=party_id,
            person_key=src.person_key,
            status=src.status,
            persons=src.persons,
            mailing_address=src.mailing_address,
            provider_request_id=src.provider_request_id,
            sandbox=src.sandbox,
            ledger_id=None,  # not billed again
            fetched_at=src.fetched_at,
            expires_at=src.expires_at,
        )
    ).inserted_primary_key[0]
    for table in (db.skiptrace_phones, db.skiptrace_emails):
        cols = [c for c in table.c if c.name not in ("id", "result_id")]
        rows = conn.execute(sa.select(*cols).where(table.c.result_id == source_id))
        copies = [{**row._asdict(), "result_id": new_id} for row in rows]
        if copies:
            conn.execute(table.insert(), copies)
            if table is db.skiptrace_phones:
                mark_has_phones(conn, [new_id])
                _record_phones_found(conn, {new_id: party_id}, copies)
    return new_id


def _record_phones_found(conn, party_of: dict[int, int], phones: list[dict]) -> None:
    """Add a ``phones_found`` change per party given phones: which party and how
    many numbers, never the numbers (the change feed and notifications carry it).

    ``party_of`` maps the phones' result ids to their parties' ids.
    """
    counts = Counter(party_of[row["result_id"]] for row in phones)
    p = db.parties.c
    changes = Changes(datetime.now(UTC), crawl_id=None)
    for chunk in chunks(sorted(counts)):
        query = sa.select(p.id, p.docket_no, p.party_no).where(p.id.in_(chunk))
        for party in conn.execute(query):
            new = {"party_no": party.party_no, "phones": counts[party.id]}
            changes.add(party.docket_no, "phones_found", "party", None, new)
    if changes.rows:
        conn.execute(db.case_changes.insert(), changes.rows)


# -- the cases' "has phones" flag (migration 0005) ---------------------------------
# ``cases.has_phones`` says whether any party of the case has a stored skip-trace
# result with a phone, so the web UI filters on a column instead of an EXISTS over
# parties, results and phones per case. Storing phones sets it (here); deleting
# results recomputes it (:mod:`ctforeclosure.skiptrace.purge`).


def _dockets_of_results(result_ids: Iterable[int]) -> sa.Select:
    r, p = db.skiptrace_results.c, db.parties.c
    return (
        sa.select(p.docket_no)
        .join(db.skiptrace_results, r.party_id == p.id)
        .where(r.id.in_(list(result_ids)))
    )


def mark_has_phones(conn: sa.Connection, result_ids: Iterable[int]) -> None:
    """Flag the cases of these results (which have just been given phones)."""
    c = db.cases.c
    for chunk in chunks(sorted(set(result_ids))):
        conn.execute(
            db.cases.update()
            .where(c.docket_no.in_(_dockets_of_results(chunk)), c.has_phones.is_(False))
            .values(has_phones=True)
        )


def phones_exist():
    """Return a condition true for cases where any party's result has a phone."""
    r, p = db.skiptrace_results.c, db.parties.c
    return (
        sa.select(db.skiptrace_phones.c.id)
        .join(db.skiptrace_results, r.id == db.skiptrace_phones.c.result_id)
        .join(db.parties, p.id == r.party_id)
        .where(p.docket_no == db.cases.c.docket_no)
        .exists()
    )


def refresh_has_phones(
    conn: sa.Connection, docket_nos: Iterable[str] | None = None
) -> None:
    """Recompute the flag of these cases (all cases when ``docket_nos`` is None)."""
    c = db.cases.c
    flag = phones_exist()
    if docket_nos is None:
        conn.execute(
            db.cases.update().where(c.has_phones != flag).values(has_phones=flag)
        )
        return
    for chunk in chunks(sorted(set(docket_nos))):
        conn.execute(
            db.cases.update()
            .where(c.docket_no.in_(chunk), c.has_phones != flag)
            .values(has_phones=flag)
        )
