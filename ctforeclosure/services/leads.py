"""Leads: a case's status, assignee, tags and follow-up date, and the status list.

A case is a lead once somebody works on it; until then it has the first status
(New) and nothing else. The lead lives in its own tables (``leads``, ``lead_tags``,
``lead_statuses``), which crawls and skip traces never write, so a re-crawl or a
re-trace never resets it. Every change is audited, one record per action (a bulk
action names its dockets), saying what changed in words.

The same functions serve the case page's one-click changes, the list's bulk
actions and the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import sqlalchemy as sa

from ctforeclosure.db import cases, lead_statuses, lead_tags, leads, users
from ctforeclosure.services import audit

#: Tags are short words: letters, digits, "-", "_" and spaces inside.
TAG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _\-]{0,38}[A-Za-z0-9]|[A-Za-z0-9]")
#: The role a staff member needs to be assigned leads.
ASSIGNABLE_ROLES = ("admin", "manager")


class LeadError(ValueError):
    """A change that cannot be made: an unknown status or assignee, a bad tag, a
    status in use."""


@dataclass(frozen=True)
class Status:
    id: int
    name: str
    position: int
    closed: bool


@dataclass
class Lead:
    """One case's lead, as shown and as the API returns it."""

    docket_no: str
    status: str
    assignee: str | None = None
    follow_up: date | None = None
    tags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "assignee": self.assignee,
            "follow_up": self.follow_up.isoformat() if self.follow_up else None,
            "tags": self.tags,
        }


#: A change not asked for (None means "clear it").
UNSET = object()


def statuses(conn: sa.Connection) -> list[Status]:
    """Return the status list in its order."""
    rows = conn.execute(sa.select(lead_statuses).order_by(lead_statuses.c.position))
    return [Status(**r._mapping) for r in rows]


def status_named(conn: sa.Connection, name: str) -> Status:
    for s in statuses(conn):
        if s.name.lower() == name.strip().lower():
            return s
    raise LeadError(f"unknown lead status {name!r}")


def get(conn: sa.Connection, docket_no: str) -> Lead:
    """Return a case's lead (the first status and nothing else when untouched)."""
    return leads_of(conn, [docket_no])[docket_no]


def leads_of(conn: sa.Connection, docket_nos: Sequence[str]) -> dict[str, Lead]:
    """Return the leads of these cases, by docket."""
    first = statuses(conn)[0].name
    out = {d: Lead(d, first) for d in docket_nos}
    rows = conn.execute(
        sa.select(leads.c.docket_no, lead_statuses.c.name, users.c.email, leads)
        .join(lead_statuses, lead_statuses.c.id == leads.c.status_id)
        .outerjoin(users, users.c.id == leads.c.assignee_id)
        .where(leads.c.docket_no.in_(list(docket_nos)))
    )
    for r in rows:
        out[r.docket_no] = Lead(r.docket_no, r.name, r.email, r.follow_up)
    for r in conn.execute(
        sa.select(lead_tags)
        .where(lead_tags.c.docket_no.in_(list(docket_nos)))
        .order_by(lead_tags.c.tag)
    ):
        out[r.docket_no].tags.append(r.tag)
    return out


def check_tag(tag: str) -> str:
    """Return the tag trimmed and lower-cased; raise LeadError if it is not one."""
    tag = tag.strip().lower()
    if not TAG_RE.fullmatch(tag):
        raise LeadError(f"tag {tag!r}: 1 to 40 letters, digits, spaces, '-' or '_'")
    return tag


def assignee_id(conn: sa.Connection, email: str | None) -> int | None:
    """Return the id of an active staff member who may be assigned leads."""
    if email is None:
        return None
    row = conn.execute(
        sa.select(users.c.id, users.c.role, users.c.active).where(
            users.c.email == email.strip().lower()
        )
    ).first()
    if row is None or not row.active or row.role not in ASSIGNABLE_ROLES:
        raise LeadError(f"{email!r} is not an active manager or admin")
    return row.id


@dataclass(frozen=True)
class Change:
    """What to change on one or more leads (UNSET: leave as it is)."""

    status: str | object = UNSET
    assignee: str | object | None = UNSET
    follow_up: date | object | None = UNSET
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()

    def words(self) -> dict:
        """The change as the audit record keeps it."""
        out = {
            name: (value.isoformat() if isinstance(value, date) else value)
            for name in ("status", "assignee", "follow_up")
            if (value := getattr(self, name)) is not UNSET
        }
        if self.add_tags:
            out["add_tags"] = list(self.add_tags)
        if self.remove_tags:
            out["remove_tags"] = list(self.remove_tags)
        return out


def update(
    conn: sa.Connection, docket_nos: Sequence[str], change: Change, actor: str
) -> int:
    """Apply one change to these cases' leads (audited once); return how many."""
    values: dict = {}
    if change.status is not UNSET:
        values["status_id"] = status_named(conn, str(change.status)).id
    if change.assignee is not UNSET:
        values["assignee_id"] = assignee_id(conn, change.assignee)
    if change.follow_up is not UNSET:
        values["follow_up"] = change.follow_up
    add = [check_tag(t) for t in change.add_tags]
    remove = [check_tag(t) for t in change.remove_tags]
    if not docket_nos or not (values or add or remove):
        return 0
    _upsert(conn, docket_nos, values, actor)
    _retag(conn, docket_nos, add, remove)
    target = f"case:{docket_nos[0]}" if len(docket_nos) == 1 else "cases"
    details = {**change.words(), "dockets": list(docket_nos)[:200]}
    details["count"] = len(docket_nos)
    audit.record(conn, actor, "lead.update", target, details)
    return len(docket_nos)


def _upsert(conn, docket_nos: Sequence[str], values: dict, actor: str) -> None:
    """Write the lead rows: update those that exist, insert the others."""
    now = datetime.now(UTC)
    stamp = {"updated_at": now, "updated_by": actor}
    existing = set(
        conn.execute(
            sa.select(leads.c.docket_no).where(leads.c.docket_no.in_(docket_nos))
        ).scalars()
    )
    if existing and values:
        conn.execute(
            leads.update()
            .where(leads.c.docket_no.in_(existing))
            .values(**values, **stamp)
        )
    new = [d for d in docket_nos if d not in existing]
    if new:
        first = statuses(conn)[0].id
        conn.execute(
            leads.insert(),
            [{"docket_no": d, "status_id": first, **values, **stamp} for d in new],
        )


def _retag(conn, docket_nos: Sequence[str], add: list, remove: list) -> None:
    if remove:
        conn.execute(
            lead_tags.delete().where(
                lead_tags.c.docket_no.in_(docket_nos), lead_tags.c.tag.in_(remove)
            )
        )
    if add:
        have = set(
            conn.execute(
                sa.select(lead_tags.c.docket_no, lead_tags.c.tag).where(
                    lead_tags.c.docket_no.in_(docket_nos), lead_tags.c.tag.in_(add)
                )
            ).all()
        )
        rows = [
            {"docket_no": d, "tag": t}
            for d in docket_nos
            for t in add
            if (d, t) not in have
        ]
        if rows:
            conn.execute(lead_tags.insert(), rows)


# -- the status list (admins) ---------------------------------------------------


def add_status(conn: sa.Connection, name: str, closed: bool, actor: str) -> Status:
    """Add a status at the end of the list (audited)."""
    name = _status_name(conn, name)
    last = conn.execute(sa.select(sa.func.max(lead_statuses.c.position))).scalar()
    values = {"name": name, "position": (last or 0) + 1, "closed": closed}
    new_id = conn.execute(lead_statuses.insert().values(**values)).inserted_primary_key
    audit.record(conn, actor, "lead_status.add", f"lead_status:{new_id[0]}", values)
    return Status(id=new_id[0], **values)


def rename_status(conn: sa.Connection, status_id: int, name: str, actor: str) -> None:
    name = _status_name(conn, name, status_id)
    _edit_status(conn, status_id, {"name": name}, actor, "lead_status.rename")


def move_status(conn: sa.Connection, status_id: int, step: int, actor: str) -> None:
    """Move a status up (-1) or down (+1) the list: swap it with its neighbour."""
    order = statuses(conn)
    at = next((i for i, s in enumerate(order) if s.id == status_id), None)
    if at is None or not 0 <= at + step < len(order):
        raise LeadError("that status cannot move that way")
    mine, other = order[at], order[at + step]
    for sid, position in ((mine.id, other.position), (other.id, mine.position)):
        conn.execute(
            lead_statuses.update()
            .where(lead_statuses.c.id == sid)
            .values(position=position)
        )
    audit.record(
        conn, actor, "lead_status.move", f"lead_status:{status_id}", {"step": step}
    )


def delete_status(conn: sa.Connection, status_id: int, actor: str) -> None:
    """Delete a status no lead has (audited); raise LeadError if one has it, or
    if it is the first (untouched cases have it)."""
    order = statuses(conn)
    if order and order[0].id == status_id:
        raise LeadError("the first status is every new case's: it cannot be deleted")
    used = conn.execute(
        sa.select(sa.func.count()).where(leads.c.status_id == status_id)
    ).scalar_one()
    if used:
        raise LeadError(f"{used} leads have this status: it cannot be deleted")
    conn.execute(lead_statuses.delete().where(lead_statuses.c.id == status_id))
    audit.record(conn, actor, "lead_status.delete", f"lead_status:{status_id}")


def _edit_status(conn, status_id: int, values: dict, actor: str, action: str) -> None:
    done = conn.execute(
        lead_statuses.update().where(lead_statuses.c.id == status_id).values(**values)
    ).rowcount
    if not done:
        raise LeadError(f"no status {status_id}")
    audit.record(conn, actor, action, f"lead_status:{status_id}", values)


def _status_name(conn, name: str, own_id: int | None = None) -> str:
    name = re.sub(r"\s+", " ", name).strip()
    if not 1 <= len(name) <= 40:
        raise LeadError("a status name has 1 to 40 characters")
    for s in statuses(conn):
        if s.name.lower() == name.lower() and s.id != own_id:
            raise LeadError(f"there is a status {s.name!r} already")
    return name


def assigned_to(conn: sa.Connection, email: str) -> list:
    """Return the open leads assigned to ``email``: docket, status, follow-up and
    the case's name, town and law day; follow-ups first, soonest first."""
    return conn.execute(
        sa.select(
            leads.c.docket_no,
            lead_statuses.c.name.label("status"),
            leads.c.follow_up,
            cases.c.case_name,
            cases.c.search_town,
            cases.c.law_day,
        )
        .join(lead_statuses, lead_statuses.c.id == leads.c.status_id)
        .join(users, users.c.id == leads.c.assignee_id)
        .join(cases, cases.c.docket_no == leads.c.docket_no)
        .where(users.c.email == email, lead_statuses.c.closed.is_(False))
        .order_by(
            leads.c.follow_up.is_(None), leads.c.follow_up, lead_statuses.c.position
        )
    ).all()


def tags_in_use(conn: sa.Connection) -> list[str]:
    return list(
        conn.execute(
            sa.select(lead_tags.c.tag).distinct().order_by(lead_tags.c.tag)
        ).scalars()
    )


def staff(conn: sa.Connection) -> list[str]:
    """Return the emails of those who may be assigned leads."""
    return list(
        conn.execute(
            sa.select(users.c.email)
            .where(users.c.active.is_(True), users.c.role.in_(ASSIGNABLE_ROLES))
            .order_by(users.c.email)
        ).scalars()
    )


def split_tags(text: str | Iterable[str]) -> tuple[str, ...]:
    """Return tags from a comma-separated text (or a list), checked."""
    items = text.split(",") if isinstance(text, str) else list(text)
    return tuple(check_tag(t) for t in items if t.strip())
