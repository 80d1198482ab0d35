"""API resource: the change feed, every recorded change of every case once, in a
stable order, for integrators that poll (``GET /api/v1/changes?after=<cursor>``).

The store's reader (:mod:`ctforeclosure.store.feed`) orders the changes and makes
the cursor; this module reads the parameters (a bad one is a 400 naming it), turns a
saved search into the cases it watches (the asker's own or a shared one; another
user's private search is a 404, as if it did not exist), and writes each change
with its sentence.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, g, jsonify, request
from pydantic import Field

from ctforeclosure.db import case_changes
from ctforeclosure.services import saved_searches
from ctforeclosure.store import feed
from ctforeclosure.store.changes import KINDS
from webui import params, saved_queries, timeline
from webui.api.common import bp, error, plain, scope
from webui.db import get_conn

#: The most changes one answer holds.
MAX_LIMIT = 1000
AFTER_TEXT = "a cursor from an earlier answer's next (omit it to start at the first)"
KINDS_TEXT = "change kinds separated by commas, of: " + ", ".join(KINDS)


class ChangesArgs(params.QueryArgs):
    """The query arguments of ``GET /changes``."""

    after: params.text(4000) = Field("", description=AFTER_TEXT)
    kinds: params.text(1000) = Field("", description=KINDS_TEXT)
    town: params.Town = Field("", description="a Connecticut town (any spelling)")
    county: params.County = Field("", description="a Connecticut county")
    saved_search: int | None = Field(
        None, ge=1, le=params.MAX_ID, description="the id of a saved search you see"
    )
    limit: int = Field(
        100, ge=1, le=MAX_LIMIT, description=f"a whole number from 1 to {MAX_LIMIT}"
    )


def _cursor(text: str) -> feed.Cursor:
    if not text:
        return feed.Cursor()
    try:
        return feed.Cursor.decode(text)
    except feed.BadCursor as exc:
        raise params.BadParameter("after", AFTER_TEXT, str(exc)) from None


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    for kind in kinds:
        if kind not in KINDS:
            raise params.BadParameter("kinds", KINDS_TEXT, f"unknown kind {kind!r}")
    return kinds


def _watched(conn: sa.Connection, search_id: int) -> tuple[sa.ColumnElement, dict]:
    """Return the condition "the change's case matches the saved search" and its
    bound values; a search the asker may not see is a 404, one whose filter no
    longer reads (a renamed town) a 409 saying why, as every reader of saved searches
    answers, never every case."""
    search = saved_searches.get_visible(conn, search_id, g.api_user.id)
    if search is None:
        abort(
            error(404, f"no such saved search: {search_id}", parameter="saved_search")
        )
    try:
        dockets, bound = saved_queries.matching_dockets(conn, search, g.api_user.email)
    except saved_queries.BrokenSearch as exc:
        abort(error(409, str(exc), parameter="saved_search"))
    return case_changes.c.docket_no.in_(dockets), bound


def change_json(row) -> dict:
    """Return a delivered change as the API shows it, with its sentence."""
    return {
        "id": row.id,
        "docket_no": row.docket_no,
        "town": row.town,
        "county": row.county,
        "kind": row.kind,
        "field": row.field,
        "old_value": plain(row.old_value),
        "new_value": plain(row.new_value),
        "seen_at": plain(row.seen_at),
        "crawl_id": row.crawl_id,
        "text": timeline.sentence(row.kind, row.old_value, row.new_value),
    }


@bp.get("/changes")
@scope("read")
def changes_feed():
    """Return the changes after ``after``, oldest first, with the cursor to go on."""
    args = params.parse(ChangesArgs, request.args)
    cursor = _cursor(args.after)
    conn = get_conn()
    where = feed.conditions(_kinds(args.kinds), args.town, args.county)
    bound: dict = {}
    if args.saved_search is not None:
        watched, bound = _watched(conn, args.saved_search)
        where.append(watched)
    page = feed.read_changes(conn, cursor, args.limit, where, bound)
    return jsonify(
        {
            "changes": [change_json(row) for row in page.rows],
            "next": page.next.encode(),
            "more": page.more,
        }
    )
