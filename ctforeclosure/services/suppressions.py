"""The internal do-not-contact list: add, remove, list and look up entries.

An entry is a phone number, an email address, or a person at a property (the skip
trace's person key: normalised name and property address). The list keeps no
contact data of its own: each entry is a keyed hash (HMAC-SHA256 with
``CTF_SUPPRESSION_KEY``) of the normalised value, plus its last 4 characters to
recognise it by. Changing the key forgets the list, so the key is kept like the
other secrets. ``purge`` never removes an entry; only an admin does, with a reason,
and the row stays (who removed it, when, why). Every addition and removal is
audited.

What the list means for each path (pages, exports, the API, skip tracing) is the
contacts policy's decision (:mod:`ctforeclosure.services.contacts`), not this
module's.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure import config
from ctforeclosure.db import suppressions
from ctforeclosure.services import audit

KINDS = ("phone", "email", "person")
#: Why someone must not be contacted: the stored code and the text shown.
REASONS = {
    "asked": "asked not to be contacted",
    "wrong_number": "wrong number",
    "attorney": "attorney-represented",
    "deceased": "deceased",
    "other": "other",
}


class NoKey(RuntimeError):
    """CTF_SUPPRESSION_KEY is not set: the list can be neither kept nor read."""

    def __init__(self) -> None:
        super().__init__(
            "CTF_SUPPRESSION_KEY is not set: the do-not-contact list needs it"
        )


class AlreadyListed(ValueError):
    """The value is on the list already."""


@dataclass(frozen=True)
class Entry:
    """One entry as it may be shown: never the value, only its last 4."""

    id: int
    kind: str
    last4: str | None
    reason: str
    docket_no: str | None
    party_no: str | None
    added_by: str
    added_at: datetime
    removed_at: datetime | None = None
    removed_by: str | None = None
    removal_reason: str | None = None

    @property
    def reason_text(self) -> str:
        return REASONS.get(self.reason, self.reason)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "last4": self.last4,
            "reason": self.reason,
            "docket_no": self.docket_no,
            "party_no": self.party_no,
            "added_by": self.added_by,
            "added_at": self.added_at.isoformat(),
        }


def key(value: str | None = None) -> bytes:
    """Return the hashing key: ``value``, else the environment's; raise NoKey."""
    value = value or config.load().suppression_key
    if not value:
        raise NoKey()
    return value.encode("utf-8")


def normalise(kind: str, value: str) -> str:
    """Return the form that is hashed: emails lower-cased, all values trimmed.
    Phones come as E.164 (the skip-trace store's form, "+18605550123")."""
    value = value.strip()
    return value.lower() if kind == "email" else value


def digest(kind: str, value: str, secret: bytes) -> str:
    """Return the keyed hash of a value of a kind (hex, 64 characters)."""
    text = f"{kind}:{normalise(kind, value)}".encode()
    return hmac.new(secret, text, hashlib.sha256).hexdigest()


def last4(kind: str, value: str) -> str | None:
    """Return what the list keeps to recognise an entry: a phone's last 4 digits,
    the last 4 characters of an email's local part; nothing of a person."""
    if kind == "phone":
        return "".join(ch for ch in value if ch.isdigit())[-4:]
    if kind == "email":
        return normalise(kind, value).partition("@")[0][-4:]
    return None


def _entry(row) -> Entry:
    fields = Entry.__dataclass_fields__
    return Entry(**{k: v for k, v in row._mapping.items() if k in fields})


_ACTIVE = suppressions.c.removed_at.is_(None)


def add(
    conn: sa.Connection,
    kind: str,
    value: str,
    reason: str,
    actor: str,
    *,
    docket_no: str | None = None,
    party_no: str | None = None,
) -> Entry:
    """Put a value on the list (audited); raise AlreadyListed if it is."""
    if kind not in KINDS or reason not in REASONS:
        raise ValueError(f"kind {kind!r} or reason {reason!r} unknown")
    hashed = digest(kind, value, key())
    found = conn.execute(
        sa.select(suppressions.c.id).where(suppressions.c.value_hash == hashed, _ACTIVE)
    ).first()
    if found:
        raise AlreadyListed(f"already on the do-not-contact list (entry {found.id})")
    values = {
        "kind": kind,
        "value_hash": hashed,
        "last4": last4(kind, value),
        "reason": reason,
        "docket_no": docket_no,
        "party_no": party_no,
        "added_by": actor,
        "added_at": datetime.now(UTC),
    }
    new_id = conn.execute(suppressions.insert().values(**values)).inserted_primary_key
    entry = Entry(
        id=new_id[0], **{k: v for k, v in values.items() if k != "value_hash"}
    )
    details = {k: values[k] for k in ("kind", "last4", "reason", "docket_no")}
    audit.record(conn, actor, "suppression.add", f"suppression:{entry.id}", details)
    return entry


def remove(conn: sa.Connection, entry_id: int, actor: str, reason: str) -> bool:
    """Take an entry off the list, keeping the row (audited); return whether an
    active entry was removed."""
    done = conn.execute(
        suppressions.update()
        .where(suppressions.c.id == entry_id, _ACTIVE)
        .values(removed_at=datetime.now(UTC), removed_by=actor, removal_reason=reason)
    ).rowcount
    if done:
        audit.record(
            conn,
            actor,
            "suppression.remove",
            f"suppression:{entry_id}",
            {"reason": reason},
        )
    return bool(done)


def listed(conn: sa.Connection, *, limit: int = 200, offset: int = 0) -> list[Entry]:
    """Return the active entries, newest first."""
    rows = conn.execute(
        sa.select(suppressions)
        .where(_ACTIVE)
        .order_by(suppressions.c.added_at.desc(), suppressions.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_entry(r) for r in rows]


def get(conn: sa.Connection, entry_id: int) -> Entry | None:
    row = conn.execute(
        sa.select(suppressions).where(suppressions.c.id == entry_id)
    ).first()
    return _entry(row) if row else None


def _any_active(conn: sa.Connection) -> bool:
    return conn.execute(sa.select(suppressions.c.id).where(_ACTIVE).limit(1)).first()


def lookup(
    conn: sa.Connection, values: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Entry]:
    """Return the active entries among ``(kind, value)`` pairs, by pair.

    Without a key the list cannot be read: that is an error when the list holds
    anything (fail closed), and an empty answer when it holds nothing.
    """
    pairs = {(kind, v) for kind, v in values if v}
    if not pairs:
        return {}
    try:
        secret = key()
    except NoKey:
        if _any_active(conn):
            raise
        return {}
    by_hash = {digest(kind, v, secret): (kind, v) for kind, v in pairs}
    rows = conn.execute(
        sa.select(suppressions).where(
            suppressions.c.value_hash.in_(list(by_hash)), _ACTIVE
        )
    )
    return {by_hash[r.value_hash]: _entry(r) for r in rows}
