"""Saved searches: a cases-list or sales-list filter kept under a name, private to
its owner or shared with the team.

The one place that decides who sees a saved search (its owner, or anyone when it
is shared; anyone else is told it does not exist) and who may change it (its
owner), and that audits each creation, change and deletion. The pages, the API
and the change feed all read saved searches through here. What a stored filter
*means* (which cases it matches) is the web UI's filters' business
(:mod:`webui.saved_queries`): this module stores the list page's query arguments.

Audit records carry the search's name, list and shared flag, and which fields
changed, never the filter's values (a search text may be a defendant's name).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure.db import aware, saved_searches, users
from ctforeclosure.services import audit

LISTS = ("cases", "sales")


class SavedSearchError(ValueError):
    """A saved search cannot be stored as asked (the message says why)."""


class NameTaken(SavedSearchError):
    """The owner already has a saved search of that name."""

    @classmethod
    def of(cls, name: str) -> NameTaken:
        return cls(f"name: you already have a saved search named {name!r}")


class NotOwner(SavedSearchError):
    """Only a saved search's owner may change or delete it."""


@dataclass(frozen=True)
class SavedSearch:
    id: int
    owner_id: int
    owner: str
    name: str
    list: str
    query: dict
    shared: bool
    created_at: datetime
    updated_at: datetime
    last_opened_at: datetime | None

    def since(self) -> datetime:
        """When its owner last looked: the last opening, else its creation."""
        return self.last_opened_at or self.created_at

    def as_dict(self, user_id: int) -> dict:
        """The search as the API shows it to ``user_id``."""
        return {
            "id": self.id,
            "name": self.name,
            "list": self.list,
            "query": self.query,
            "shared": self.shared,
            "owner": self.owner,
            "mine": self.owner_id == user_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "last_opened_at": self.last_opened_at.isoformat()
            if self.last_opened_at
            else None,
        }


_s = saved_searches.c
_SELECT = sa.select(saved_searches, users.c.email.label("owner_email")).select_from(
    saved_searches.join(users, users.c.id == _s.owner_id)
)


def _search(row) -> SavedSearch:
    return SavedSearch(
        id=row.id,
        owner_id=row.owner_id,
        owner=row.owner_email,
        name=row.name,
        list=row.list,
        query=row.query if isinstance(row.query, dict) else {},
        shared=bool(row.shared),
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        last_opened_at=aware(row.last_opened_at),
    )


def _visible_to(user_id: int):
    return sa.or_(_s.owner_id == user_id, _s.shared.is_(True))


def visible(conn: sa.Connection, user_id: int) -> list[SavedSearch]:
    """Return the user's own saved searches and the shared ones, own first, by name."""
    rows = conn.execute(
        _SELECT.where(_visible_to(user_id)).order_by(
            (_s.owner_id != user_id), sa.func.lower(_s.name), _s.id
        )
    ).all()
    return [_search(r) for r in rows]


def owned(conn: sa.Connection, user_id: int) -> list[SavedSearch]:
    """Return the user's own saved searches by name."""
    rows = conn.execute(
        _SELECT.where(_s.owner_id == user_id).order_by(sa.func.lower(_s.name), _s.id)
    ).all()
    return [_search(r) for r in rows]


def get_visible(conn: sa.Connection, search_id: int, user_id: int):
    """Return the saved search if the user may see it (own or shared), else None:
    another user's private search is as if it did not exist."""
    row = conn.execute(_SELECT.where(_s.id == search_id, _visible_to(user_id))).first()
    return _search(row) if row else None


def by_ids(conn: sa.Connection, search_ids) -> dict[int, SavedSearch]:
    """Return the saved searches with these ids, whoever owns them, by id (for the
    notify matcher, which checks each subscriber's right to see them)."""
    rows = conn.execute(_SELECT.where(_s.id.in_(list(search_ids)))).all()
    return {row.id: _search(row) for row in rows}


def _check_name(conn, owner_id: int, name: str, search_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise SavedSearchError("name: give the search a name")
    clash = sa.select(_s.id).where(
        _s.owner_id == owner_id, sa.func.lower(_s.name) == name.lower()
    )
    if search_id is not None:
        clash = clash.where(_s.id != search_id)
    if conn.execute(clash).first():
        raise NameTaken.of(name) from None
    return name


@contextmanager
def _one_name_each(name: str):
    """Turn a race lost to another request saving the same name into NameTaken."""
    try:
        yield
    except sa.exc.IntegrityError:
        raise NameTaken.of(name) from None


def _audit(conn, actor: str, action: str, search: SavedSearch, changed=()) -> None:
    details = {"name": search.name, "list": search.list, "shared": search.shared}
    if changed:
        details["changed"] = sorted(changed)
    audit.record(
        conn, actor, f"saved_search.{action}", f"saved_search:{search.id}", details
    )


def create(
    conn: sa.Connection,
    owner_id: int,
    name: str,
    list_name: str,
    query: dict,
    *,
    shared: bool,
    actor: str,
) -> SavedSearch:
    """Store a saved search (audited); raise NameTaken or SavedSearchError."""
    if list_name not in LISTS:
        raise SavedSearchError(f"list: one of {', '.join(LISTS)}")
    name = _check_name(conn, owner_id, name)
    now = datetime.now(UTC)
    row = {"owner_id": owner_id, "name": name, "list": list_name, "query": query}
    row |= {"shared": shared, "created_at": now, "updated_at": now}
    insert = saved_searches.insert().values(row)
    with _one_name_each(name):
        search_id = conn.execute(insert.returning(_s.id)).scalar_one()
    search = get_visible(conn, search_id, owner_id)
    _audit(conn, actor, "create", search)
    return search


def update(
    conn: sa.Connection, search: SavedSearch, user_id: int, actor: str, **changes
) -> SavedSearch:
    """Change the owner's search: any of ``name``, ``shared``, ``query`` (audited);
    raise NotOwner, NameTaken or SavedSearchError."""
    if search.owner_id != user_id:
        raise NotOwner("only its owner may change a saved search")
    values = {
        k: v for k, v in changes.items() if v is not None and v != getattr(search, k)
    }
    if not values:
        return search  # nothing changed: nothing written, nothing audited
    if "name" in values:
        values["name"] = _check_name(conn, user_id, values["name"], search.id)
    with _one_name_each(values.get("name", search.name)):
        conn.execute(
            saved_searches.update()
            .where(_s.id == search.id)
            .values({**values, "updated_at": datetime.now(UTC)})
        )
    changed = get_visible(conn, search.id, user_id)
    _audit(conn, actor, "update", changed, set(values))
    return changed


def delete(conn: sa.Connection, search: SavedSearch, user_id: int, actor: str) -> None:
    """Delete the owner's search (audited); raise NotOwner."""
    if search.owner_id != user_id:
        raise NotOwner("only its owner may delete a saved search")
    conn.execute(saved_searches.delete().where(_s.id == search.id))
    _audit(conn, actor, "delete", search)


def mark_opened(conn: sa.Connection, search: SavedSearch, user_id: int) -> None:
    """Record that the owner opened the search now (others opening a shared one
    leave the owner's "new since" alone)."""
    if search.owner_id == user_id:
        conn.execute(
            saved_searches.update()
            .where(_s.id == search.id)
            .values(last_opened_at=datetime.now(UTC))
        )
