"""API resource: saved searches (scope ``leads``), and the cases one matches now.

A token sees its user's own saved searches and the shared ones; another user's
private search is a 404, as if it did not exist, and only the owner may change or
delete one (403). The rules and the audit records are
:mod:`ctforeclosure.services.saved_searches`'; what a stored filter matches is
:mod:`webui.saved_queries`' (a filter that no longer reads is a 409 naming the
argument, never every case).
"""

from __future__ import annotations

from typing import Literal

from flask import abort, g, jsonify, request
from pydantic import Field

from ctforeclosure.services import saved_searches
from webui import params, saved_queries
from webui.api.cases import case_page
from webui.api.common import bp, error, row_dict, scope
from webui.db import get_conn, write
from webui.params import JsonBody, text

NAME_TEXT = "a name of 1 to 120 characters"
QUERY_TEXT = (
    "the list page's query arguments (as in GET /cases or GET /sales), "
    "by name (an argument the list has not is a 400); page is not kept"
)
#: A filter's argument value as a JSON body may give it.
ArgValue = text(params.MAX_TEXT) | int | bool


class NewSearchBody(JsonBody):
    name: text(120) = Field(min_length=1, description=NAME_TEXT)
    list: Literal["cases", "sales"] = Field("cases", description="cases | sales")
    query: dict[text(40), ArgValue] = Field(
        default_factory=dict, max_length=40, description=QUERY_TEXT
    )
    shared: bool = Field(False, description="seen by the whole team")


class SearchChangeBody(JsonBody):
    name: text(120) | None = Field(None, min_length=1, description=NAME_TEXT)
    query: dict[text(40), ArgValue] | None = Field(
        None, max_length=40, description=QUERY_TEXT + " (replaces the filter)"
    )
    shared: bool | None = Field(None, description="seen by the whole team")


def _kept(list_name: str, query: dict) -> dict:
    """Return the arguments to keep; a bad one is a 400 naming ``query.<name>``."""
    try:
        return saved_queries.kept_args(list_name, query, g.api_user.email, strict=True)
    except params.BadParameter as exc:
        abort(error(400, f"query.{exc}", parameter=f"query.{exc.name}"))


def _visible_or_404(search_id: int) -> saved_searches.SavedSearch:
    search = saved_searches.get_visible(get_conn(), search_id, g.api_user.id)
    if search is None:
        abort(error(404, f"no such saved search: {search_id}"))
    return search


def _refused(exc: saved_searches.SavedSearchError):
    if isinstance(exc, saved_searches.NotOwner):
        return error(403, str(exc))
    status = 409 if isinstance(exc, saved_searches.NameTaken) else 400
    return error(status, str(exc), parameter="name")


@bp.get("/saved-searches")
@scope("leads")
def saved_searches_list():
    """Your saved searches and the shared ones, yours first."""
    found = saved_searches.visible(get_conn(), g.api_user.id)
    return jsonify([s.as_dict(g.api_user.id) for s in found])


@bp.post("/saved-searches")
@scope("leads")
def saved_searches_create():
    """Save a cases-list or sales-list filter under a name (audited)."""
    body = params.json_body(NewSearchBody)
    kept = _kept(body.list, body.query)
    try:
        with write() as conn:
            search = saved_searches.create(
                conn,
                g.api_user.id,
                body.name,
                body.list,
                kept,
                shared=body.shared,
                actor=g.api_user.email,
            )
    except saved_searches.SavedSearchError as exc:
        return _refused(exc)
    response = jsonify(search.as_dict(g.api_user.id))
    response.status_code = 201
    return response


@bp.get("/saved-searches/<int:search_id>")
@scope("leads")
def saved_search_detail(search_id: int):
    """One saved search you may see."""
    return jsonify(_visible_or_404(search_id).as_dict(g.api_user.id))


@bp.patch("/saved-searches/<int:search_id>")
@scope("leads")
def saved_search_update(search_id: int):
    """Rename, share or unshare, or replace the filter of your saved search."""
    search = _visible_or_404(search_id)
    body = params.json_body(SearchChangeBody)
    query = _kept(search.list, body.query) if body.query is not None else None
    try:
        with write() as conn:
            changed = saved_searches.update(
                conn,
                search,
                g.api_user.id,
                g.api_user.email,
                name=body.name,
                shared=body.shared,
                query=query,
            )
    except saved_searches.SavedSearchError as exc:
        return _refused(exc)
    return jsonify(changed.as_dict(g.api_user.id))


@bp.delete("/saved-searches/<int:search_id>")
@scope("leads")
def saved_search_delete(search_id: int):
    """Delete your saved search (audited)."""
    search = _visible_or_404(search_id)
    try:
        with write() as conn:
            saved_searches.delete(conn, search, g.api_user.id, g.api_user.email)
    except saved_searches.SavedSearchError as exc:
        return _refused(exc)
    return jsonify({"deleted": search_id})


@bp.get("/saved-searches/<int:search_id>/cases")
@scope("leads")
def saved_search_cases(search_id: int):
    """The cases the saved search matches now, as ``GET /cases`` pages them."""
    search = _visible_or_404(search_id)
    paging = params.parse(params.PageArgs, request.args)
    try:
        flt = saved_queries.filter_of(search, g.api_user.email)
        if search.list == "cases":
            flt.page, flt.per_page = paging.page, paging.per_page
            return case_page(flt)
        rows, total = saved_queries.sale_search_cases(
            get_conn(), search, paging.page, paging.per_page
        )
    except saved_queries.BrokenSearch as exc:
        return error(409, str(exc), parameter=exc.parameter)
    return jsonify(
        {
            "total": total,
            "total_is_lower_bound": False,
            "page": paging.page,
            "per_page": paging.per_page,
            "filters": flt.as_args(),
            "cases": [row_dict(r) for r in rows],
        }
    )
