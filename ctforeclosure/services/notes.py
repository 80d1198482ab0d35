"""Staff notes on a case (and optionally on one of its parties).

A note keeps its author and time. Its author may edit it for
:data:`EDIT_WINDOW`; after that it is append-only: a correction is a new note. Every
note written or edited is audited (never its text: notes may hold what an owner
said).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure.db import aware, notes, parties
from ctforeclosure.services import audit

#: How long a note's author may still change it.
EDIT_WINDOW = timedelta(minutes=15)
MAX_NOTE = 10_000


class NoteError(ValueError):
    """A note that cannot be written or changed (empty, too long, not yours, too
    late, a party of another case)."""


@dataclass(frozen=True)
class Note:
    id: int
    docket_no: str
    party_id: int | None
    author: str
    body: str
    created_at: datetime
    edited_at: datetime | None = None

    def editable_by(self, email: str, now: datetime | None = None) -> bool:
        """Whether ``email`` may still change this note."""
        now = now or datetime.now(UTC)
        return email == self.author and now - self.created_at < EDIT_WINDOW

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "party_id": self.party_id,
            "author": self.author,
            "body": self.body,
            "created_at": self.created_at.isoformat(),
            "edited_at": self.edited_at.isoformat() if self.edited_at else None,
        }


def _note(row) -> Note:
    values = dict(row._mapping)
    values["created_at"] = aware(values["created_at"])
    values["edited_at"] = aware(values["edited_at"])
    return Note(**values)


def _body(body: str) -> str:
    body = body.strip()
    if not body or len(body) > MAX_NOTE or "\x00" in body:
        raise NoteError(f"a note has 1 to {MAX_NOTE:,} characters")
    return body


def of_case(conn: sa.Connection, docket_no: str) -> list[Note]:
    """Return a case's notes, newest first."""
    rows = conn.execute(
        sa.select(notes)
        .where(notes.c.docket_no == docket_no)
        .order_by(notes.c.created_at.desc(), notes.c.id.desc())
    )
    return [_note(r) for r in rows]


def count(conn: sa.Connection, docket_no: str) -> int:
    return conn.execute(
        sa.select(sa.func.count()).where(notes.c.docket_no == docket_no)
    ).scalar_one()


def docket_of(conn: sa.Connection, note_id: int) -> str | None:
    return conn.execute(
        sa.select(notes.c.docket_no).where(notes.c.id == note_id)
    ).scalar()


def add(
    conn: sa.Connection,
    docket_no: str,
    author: str,
    body: str,
    party_id: int | None = None,
) -> Note:
    """Write a note (audited)."""
    body = _body(body)
    if party_id is not None:
        owner = conn.execute(
            sa.select(parties.c.docket_no).where(parties.c.id == party_id)
        ).scalar()
        if owner != docket_no:
            raise NoteError(f"party {party_id} is not a party of {docket_no}")
    values = {
        "docket_no": docket_no,
        "party_id": party_id,
        "author": author,
        "body": body,
        "created_at": datetime.now(UTC),
    }
    new_id = conn.execute(notes.insert().values(**values)).inserted_primary_key[0]
    audit.record(conn, author, "note.add", f"case:{docket_no}", {"note": new_id})
    return Note(id=new_id, **values)


def edit(conn: sa.Connection, note_id: int, author: str, body: str) -> Note:
    """Change a note's text: its author only, within :data:`EDIT_WINDOW`."""
    row = conn.execute(sa.select(notes).where(notes.c.id == note_id)).first()
    if row is None:
        raise NoteError(f"no note {note_id}")
    note = _note(row)
    if not note.editable_by(author):
        raise NoteError(
            "only its author may change a note, within "
            f"{int(EDIT_WINDOW.total_seconds() // 60)} minutes; add a new note"
        )
    body, now = _body(body), datetime.now(UTC)
    conn.execute(
        notes.update().where(notes.c.id == note_id).values(body=body, edited_at=now)
    )
    audit.record(conn, author, "note.edit", f"case:{note.docket_no}", {"note": note_id})
    return Note(**{**note.__dict__, "body": body, "edited_at": now})
