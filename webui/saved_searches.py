"""Saved searches in the web UI: "Save this search" on the cases and sales lists,
and the "Saved searches" page that lists the user's own and the shared ones, opens
one (the list page with its arguments), and renames, shares, re-saves or deletes
the user's own.

Who sees and changes what, and the audit records, are
:mod:`ctforeclosure.services.saved_searches`'; what a stored filter means is
:mod:`webui.saved_queries`'. A filter that no longer reads is shown with what is
wrong with it, never opened as a list of every case.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qsl, urlencode

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask import request as flask_request
from flask_login import current_user
from pydantic import Field
from werkzeug.datastructures import MultiDict

from ctforeclosure.services import saved_searches, subscriptions
from webui import params, saved_queries
from webui.db import get_conn, write
from webui.params import Flag, QueryArgs, text

bp = Blueprint("saved_searches", __name__, url_prefix="/saved-searches")
#: The list page each kind of search opens.
LIST_PAGES = {"cases": "cases.index", "sales": "sales.index"}
FILTER_TEXT = "the list page's query arguments, as in its address after the ?"


class SaveForm(QueryArgs):
    """Save the list page's current filter (its query string) under a name."""

    name: text(120) = Field(min_length=1, description="a name of 1 to 120 characters")
    list: Literal["cases", "sales"] = Field(description="cases | sales")
    query: text(4000) = Field("", description=FILTER_TEXT)
    shared: Flag = Field(False, description=params.FLAG_TEXT)


class EditForm(QueryArgs):
    """Rename, share or unshare, or re-save the filter of one's own search."""

    name: text(120) = Field(min_length=1, description="a name of 1 to 120 characters")
    query: text(4000) = Field("", description=FILTER_TEXT)
    shared: Flag = Field(False, description=params.FLAG_TEXT)


def _args(query: str) -> MultiDict:
    return MultiDict(parse_qsl(query.lstrip("?"), keep_blank_values=True))


def _page(problem=None, status: int = 200):
    """The Saved searches page, with a problem (what was refused and why)."""
    conn = get_conn()
    found = saved_searches.visible(conn, current_user.id)
    mine = subscriptions.list_for_user(conn, current_user.id)
    page = render_template(
        "saved_searches/index.html",
        searches=found,
        subscribed={s.saved_search_id: s.id for s in mine},
        problem=problem,
        # Encoded: the edit form sends it back, and "a & b" must stay one value.
        filter_text=lambda s: urlencode(s.query),
    )
    return make_response(page, status)


def _visible_or_404(search_id: int) -> saved_searches.SavedSearch:
    search = saved_searches.get_visible(get_conn(), search_id, current_user.id)
    if search is None:
        abort(404)
    return search


def _back(message: str):
    """Say what was done, back on the Saved searches page."""
    flash(message)
    return redirect(url_for("saved_searches.index"))


@bp.get("/")
def index():
    """List the user's own saved searches and the shared ones."""
    return _page()


@bp.post("/")
def save():
    """Save a list page's filter (from its "Save this search" form)."""
    form = params.parse(SaveForm, flask_request.form)
    try:
        kept = saved_queries.kept_args(form.list, _args(form.query), current_user.email)
        with write() as conn:
            search = saved_searches.create(
                conn,
                current_user.id,
                form.name,
                form.list,
                kept,
                shared=form.shared,
                actor=current_user.email,
            )
    except ValueError as exc:  # BadParameter, SavedSearchError
        return _page(f"Not saved: {exc}", 400)
    return _back(f"Saved the search {search.name!r}.")


@bp.post("/<int:search_id>")
def edit(search_id: int):
    """Rename, share or unshare, or re-save the filter of one's own search."""
    search = _visible_or_404(search_id)
    form = params.parse(EditForm, flask_request.form)
    try:
        kept = saved_queries.kept_args(
            search.list, _args(form.query), current_user.email
        )
        with write() as conn:
            changed = saved_searches.update(
                conn,
                search,
                current_user.id,
                current_user.email,
                name=form.name,
                shared=form.shared,
                query=kept,
            )
    except saved_searches.NotOwner:
        abort(403)
    except ValueError as exc:
        return _page(f"Not changed: {exc}", 400)
    return _back(f"Changed the search {changed.name!r}.")


@bp.post("/<int:search_id>/delete")
def delete(search_id: int):
    """Delete one's own saved search."""
    search = _visible_or_404(search_id)
    try:
        with write() as conn:
            saved_searches.delete(conn, search, current_user.id, current_user.email)
    except saved_searches.NotOwner:
        abort(403)
    return _back(f"Deleted the search {search.name!r}.")


@bp.get("/<int:search_id>/open")
def open_search(search_id: int):
    """Open the list page with the search's arguments (the owner's opening resets
    its "new since" count); a filter that no longer reads says what is wrong."""
    search = _visible_or_404(search_id)
    try:
        saved_queries.filter_of(search, current_user.email)
    except saved_queries.BrokenSearch as exc:
        return _page(str(exc), 400)
    with write() as conn:
        saved_searches.mark_opened(conn, search, current_user.id)
    return redirect(url_for(LIST_PAGES[search.list], **search.query))
