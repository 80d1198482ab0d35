"""Saved searches in the web UI: saved from the cases and sales lists, listed,
opened, renamed, shared and deleted on the Saved searches page; others' private
searches stay hidden; a filter that no longer reads says why; the dashboard counts
each search's cases new since its owner last opened it (SQLite and PostgreSQL)."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import (
    DOCKET_HARTFORD,
    EMAILS,
    csrf_token,
    save_search,
)

PAGE = "/saved-searches/"


def _saved(app) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(
            sa.select(db.saved_searches).order_by(db.saved_searches.c.id)
        ).all()


def _post(client, path: str, **form):
    form["csrf_token"] = csrf_token(client, "/cases/")
    return client.post(path, data=form)


def test_a_user_saves_opens_edits_and_deletes_searches(app, as_role):
    viewer = as_role("viewer")
    listed = viewer.get("/cases/?town=Hartford").get_data(as_text=True)
    assert 'id="save-search-form"' in listed and 'value="town=Hartford"' in listed
    saved = _post(
        viewer, PAGE, name="Hartford", list="cases", query="town=Hartford&page=2"
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    sales = _post(viewer, PAGE, name="Sales", list="sales", query="county=Hartford")
    assert sales.status_code == 302
    cases_search, sales_search = _saved(app)
    assert cases_search.query == {"town": "Hartford"}  # not the page it was on
    assert cases_search.shared is False and cases_search.last_opened_at is None
    page = viewer.get(PAGE).get_data(as_text=True)
    assert "Hartford" in page and "county=Hartford" in page
    opened = viewer.get(f"{PAGE}{cases_search.id}/open")
    assert opened.location.endswith("/cases/?town=Hartford")
    assert _saved(app)[0].last_opened_at is not None
    assert viewer.get(f"{PAGE}{sales_search.id}/open").location.endswith(
        "/sales/?county=Hartford"
    )
    edited = _post(
        viewer,
        f"{PAGE}{cases_search.id}",
        name="Old Hartford",
        query="town=Hartford&status=active",
        shared="1",
    )
    assert edited.status_code == 302
    changed = _saved(app)[0]
    assert changed.name == "Old Hartford" and changed.shared is True
    assert changed.query == {"town": "Hartford", "status": "active"}
    # the same name twice is refused, saying so
    twice = _post(viewer, PAGE, name="old hartford", list="cases", query="")
    assert twice.status_code == 400
    assert "already have a saved search named" in twice.get_data(as_text=True)
    assert _post(viewer, f"{PAGE}{sales_search.id}/delete").status_code == 302
    assert [s.name for s in _saved(app)] == ["Old Hartford"]
    no_csrf = viewer.post(f"{PAGE}{cases_search.id}/delete")
    assert no_csrf.status_code == 400 and len(_saved(app)) == 1


def test_others_private_searches_are_hidden_and_shared_ones_read_only(app, as_role):
    private = save_search(app, "manager", "Manager's own", {"town": "Hartford"})
    shared = save_search(
        app, "manager", "Team list", {"county": "Hartford"}, shared=True
    )
    viewer = as_role("viewer")
    page = viewer.get(PAGE).get_data(as_text=True)
    assert "Team list" in page and EMAILS["manager"] in page
    assert "Manager&#39;s own" not in page and "Manager's own" not in page
    assert viewer.get(f"{PAGE}{private}/open").status_code == 404
    assert _post(viewer, f"{PAGE}{private}", name="x").status_code == 404
    assert _post(viewer, f"{PAGE}{private}/delete").status_code == 404
    assert viewer.get(f"{PAGE}{shared}/open").status_code == 302
    assert _post(viewer, f"{PAGE}{shared}/delete").status_code == 403
    assert _post(viewer, f"{PAGE}{shared}", name="Mine now").status_code == 403
    # another user opening a shared search leaves its owner's "new since" alone
    assert all(s.last_opened_at is None for s in _saved(app))


def test_a_broken_filter_says_why_on_each_page(app, as_role):
    broken = save_search(app, "viewer", "Renamed town", {"town": "Atlantis"})
    viewer = as_role("viewer")
    opened = viewer.get(f"{PAGE}{broken}/open")
    assert opened.status_code == 400
    text = opened.get_data(as_text=True)
    assert "no longer reads" in text and "Atlantis" in text
    dashboard = viewer.get("/").get_data(as_text=True)
    assert "filter no longer reads" in dashboard
    refused = _post(
        viewer, PAGE, name="Bad", list="cases", query="filed_from=2026-13-45"
    )
    assert refused.status_code == 400
    assert "Not saved: filed_from" in refused.get_data(as_text=True)
    assert len(_saved(app)) == 1


def test_the_dashboard_counts_cases_new_since_the_owner_last_opened(app, as_role):
    day_ago = datetime.now(UTC) - timedelta(days=1)
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        conn.execute(
            db.cases.update()
            .where(db.cases.c.docket_no == DOCKET_HARTFORD)
            .values(first_seen=day_ago - timedelta(days=1))
        )
    search = save_search(app, "viewer", "Hartford", {"town": "Hartford"}, at=day_ago)
    save_search(app, "manager", "Not the viewer's", {}, shared=True, at=day_ago)
    viewer = as_role("viewer")

    def count() -> str:
        page = viewer.get("/").get_data(as_text=True)
        assert "Not the viewer" not in page
        row = page.split(f'data-search="{search}"')[1].split("</tr>")[0]
        return row.split('class="num new-count">')[1].split("<")[0]

    assert count() == "1"  # DOCKET_OLD, first seen now; DOCKET_HARTFORD before
    assert viewer.get(f"{PAGE}{search}/open").status_code == 302
    assert count() == "0"


def test_renaming_a_search_keeps_a_filter_with_ampersands_and_pluses(app, as_role):
    viewer = as_role("viewer")
    search = save_search(app, "viewer", "Firm", {"q": "a & b+c", "town": "Hartford"})
    page = viewer.get(PAGE).get_data(as_text=True)
    # what a browser sends back: the attribute's text, unescaped
    query = html.unescape(page.split('name="query" value="')[1].split('"')[0])
    renamed = _post(viewer, f"{PAGE}{search}", name="Firm, renamed", query=query)
    assert renamed.status_code == 302, renamed.get_data(as_text=True)
    (saved,) = _saved(app)
    assert saved.name == "Firm, renamed"
    assert saved.query == {"q": "a & b+c", "town": "Hartford"}


def test_a_search_for_cases_not_seen_lately_counts_on_the_dashboard(app, as_role):
    # quality=not_seen reads the crawl runs for its dockets: every reader of a
    # saved search must pass them (the dashboard, the feeds), not only the list
    search = save_search(app, "viewer", "Unseen", {"quality": "not_seen"})
    viewer = as_role("viewer")
    page = viewer.get("/")
    assert page.status_code == 200
    row = page.get_data(as_text=True).split(f'data-search="{search}"')[1]
    assert 'class="num new-count">0<' in row.split("</tr>")[0]
