"""The CT State Library towns guide page (docs/SITES.md §6), in the layouts it may have.

The real page was never captured; the towns engineer hand-made three plausible
layouts under tests/fixtures/statelib/ (see tests/fixtures/SOURCES.md). This serves
them: ``?layout=entries`` (LibGuides entries, the default), ``table`` (the old
Town | County table) or ``partial`` (only some boxes loaded, so the towns spider's
fallback to the bundled list is exercised). A server option picks the default.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "statelib"
LAYOUT_FILES = {
    "entries": "towns__entries.html",
    "table": "towns__table.html",
    "partial": "towns__partial_lists.html",
}

bp = Blueprint("statelib", __name__)


@bp.get("")
@bp.get("/")
def towns_page():
    """Return the towns page in the requested (or the run's default) layout."""
    options = current_app.extensions["replica"].options
    layout = request.args.get("layout") or options.statelib_layout
    if layout not in LAYOUT_FILES:
        abort(404)
    body = (FIXTURES / LAYOUT_FILES[layout]).read_bytes()
    return Response(body, mimetype="text/html", content_type="text/html; charset=utf-8")
