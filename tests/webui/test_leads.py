"""Leads in the web UI and the API: one-click changes on the case page, bulk
actions from the list, list filters, My work, notes with their edit window, the
one timeline read as sentences, the status list, and who may do what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import (
    DOCKET_HARTFORD,
    DOCKET_NEW_HAVEN,
    DOCKET_OLD,
    EMAILS,
    api_token,
    csrf_token,
)

CASE = f"/cases/{DOCKET_HARTFORD}"

#: Tests whose logic does not depend on the database run on SQLite only (the
#: time budget); those exercising SQL filters, sorts or sequences run on both.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _post(client, path: str, page: str = CASE, **form):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **form})


def _audit(app, action: str) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(
            sa.select(db.audit_log).where(db.audit_log.c.action == action)
        ).all()


@SQLITE_ONLY
def test_a_manager_changes_a_lead_in_one_click_and_a_viewer_reads_it(app, as_role):
    manager, viewer = as_role("manager"), as_role("viewer")
    follow_up = (date.today() + timedelta(days=2)).isoformat()
    saved = _post(
        manager,
        f"/leads/case/{DOCKET_HARTFORD}",
        status="Contacting",
        assignee=EMAILS["manager"],
        follow_up=follow_up,
        add_tags="Callback, spanish",
    )
    assert saved.status_code == 302
    page = viewer.get(CASE).get_data(as_text=True)
    assert '<dd id="lead-status">Contacting</dd>' in page
    assert EMAILS["manager"] in page and follow_up in page
    assert ">callback<" in page and ">spanish<" in page
    assert 'id="lead-form"' not in page  # viewers read only
    refused = _post(viewer, f"/leads/case/{DOCKET_HARTFORD}", status="Won")
    assert refused.status_code == 403
    [record] = _audit(app, "lead.update")
    assert (
        record.actor == EMAILS["manager"] and record.target == f"case:{DOCKET_HARTFORD}"
    )
    assert record.details["status"] == "Contacting"
    bad = _post(manager, f"/leads/case/{DOCKET_HARTFORD}", follow_up="tomorrow")
    assert bad.status_code == 400 and "follow_up" in bad.get_data(as_text=True)
    unknown = _post(manager, "/leads/case/HHDCV209999999S", status="Won")
    assert unknown.status_code == 404


def test_bulk_actions_and_list_filters_by_status_assignee_and_tag(as_role):
    manager = as_role("manager")
    for action, value in (
        ("status", "Researching"),
        ("assign", EMAILS["admin"]),
        ("tag", "north"),
    ):
        done = manager.post(
            "/leads/bulk",
            data={
                "csrf_token": csrf_token(manager, "/cases/"),
                "action": action,
                "value": value,
                "docket_no": [DOCKET_HARTFORD, DOCKET_OLD],
            },
        )
        assert done.status_code == 302
    for query, expected in (
        ("lead_status=researching", {DOCKET_HARTFORD, DOCKET_OLD}),
        ("lead_status=New", {DOCKET_NEW_HAVEN}),  # untouched cases are New
        (f"assignee={EMAILS['admin']}", {DOCKET_HARTFORD, DOCKET_OLD}),
        ("assignee=none", {DOCKET_NEW_HAVEN}),
        ("assignee=me", set()),
        ("tag=north", {DOCKET_HARTFORD, DOCKET_OLD}),
    ):
        html = manager.get(f"/cases/?{query}").get_data(as_text=True)
        shown = {
            d
            for d in (DOCKET_HARTFORD, DOCKET_NEW_HAVEN, DOCKET_OLD)
            if f'value="{d}"' in html
        }
        assert shown == expected, query
    refused = manager.get("/cases/?follow_up_by=soon")
    assert refused.status_code == 400


@SQLITE_ONLY
def test_my_work_lists_my_leads_by_status_and_follow_ups_due(as_role):
    manager = as_role("manager")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    _post(
        manager,
        f"/leads/case/{DOCKET_HARTFORD}",
        assignee=EMAILS["manager"],
        follow_up=yesterday,
    )
    _post(
        manager,
        f"/leads/case/{DOCKET_OLD}",
        page=f"/cases/{DOCKET_OLD}",
        assignee=EMAILS["manager"],
        status="Won",
        follow_up=(date.today() + timedelta(days=5)).isoformat(),
    )
    by_follow_up = manager.get("/cases/?sort=follow_up&order=desc").get_data(
        as_text=True
    )
    assert by_follow_up.index(DOCKET_OLD) < by_follow_up.index(DOCKET_HARTFORD)
    html = manager.get("/leads/mine").get_data(as_text=True)
    due = html[html.index('id="due"') : html.index("</section>")]
    assert DOCKET_HARTFORD in due and "overdue" in due
    assert 'data-status="New"' in html
    assert "HHD-CV-19-6001234-S" not in html  # Won closes the lead


@SQLITE_ONLY
def test_notes_join_the_timeline_and_are_editable_for_15_minutes(app, as_role):
    manager, admin = as_role("manager"), as_role("admin")
    _post(manager, f"/leads/case/{DOCKET_HARTFORD}/notes", body="Left a voicemail")
    page = manager.get(CASE).get_data(as_text=True)
    timeline = page[page.index('id="timeline"') :]
    assert "Left a voicemail" in timeline
    assert "law day set to 2026-12-04" in timeline  # a sentence, not a dict
    assert "{&#39;" not in page and "{'" not in timeline
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        note_id = conn.execute(sa.select(db.notes.c.id)).scalar_one()
    edit = f"/leads/notes/{note_id}"
    _post(admin, edit, body="not mine")  # another author: refused
    _post(manager, edit, body="Left a voicemail, will call back")
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        assert conn.execute(sa.select(db.notes.c.body)).scalar_one().endswith("back")
        conn.execute(
            db.notes.update().values(
                created_at=datetime.now(UTC) - timedelta(minutes=16)
            )
        )
    _post(manager, edit, body="rewritten later")
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        assert conn.execute(sa.select(db.notes.c.body)).scalar_one().endswith("back")
    assert len(_audit(app, "note.add")) == 1 and len(_audit(app, "note.edit")) == 1


def test_admins_edit_the_status_list_and_a_status_in_use_stays(app, as_role):
    admin, manager = as_role("admin"), as_role("manager")
    page = "/leads/statuses"
    assert _post(manager, page, page=page, do="add", name="Nurture").status_code == 403
    _post(admin, page, page=page, do="add", name="Nurture")
    _post(admin, f"/leads/case/{DOCKET_HARTFORD}", status="Nurture")
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        nurture = conn.execute(
            sa.select(db.lead_statuses.c.id).where(db.lead_statuses.c.name == "Nurture")
        ).scalar_one()
    _post(admin, page, page=page, do="delete", status_id=str(nurture))
    _post(admin, page, page=page, do="rename", status_id=str(nurture), name="Warm")
    _post(admin, page, page=page, do="up", status_id=str(nurture))
    html = admin.get(page).get_data(as_text=True)
    assert html.index("Warm") < html.index("Not a lead")  # renamed, moved up, kept
    assert _post(admin, page, page=page, do="explode").status_code == 400


def test_the_api_changes_a_lead_and_writes_notes_with_the_leads_scope(app):
    role = "manager"
    client = app.test_client()
    reader = {"Authorization": f"Bearer {api_token(app, role, ['read'])}"}
    writer = {"Authorization": f"Bearer {api_token(app, role)}"}
    path = f"/api/v1/cases/{DOCKET_HARTFORD}"
    refused = client.patch(f"{path}/lead", json={"status": "Won"}, headers=reader)
    assert refused.status_code == 403 and refused.json["missing_scope"] == "leads"
    changed = client.patch(
        f"{path}/lead",
        json={"status": "Contacting", "tags": ["a", "b"], "follow_up": "2026-12-24"},
        headers=writer,
    )
    assert changed.json == {
        "status": "Contacting",
        "assignee": None,
        "follow_up": "2026-12-24",
        "tags": ["a", "b"],
    }
    again = client.patch(
        f"{path}/lead", json={"tags": ["b"], "follow_up": None}, headers=writer
    )
    assert again.json["tags"] == ["b"] and again.json["status"] == "Contacting"
    assert again.json["follow_up"] is None
    bad = client.patch(f"{path}/lead", json={"status": "Bogus"}, headers=writer)
    assert bad.status_code == 400
    note = client.post(f"{path}/notes", json={"body": "Called"}, headers=writer)
    assert note.status_code == 201
    case = client.get(path, headers=reader).json
    assert case["lead"]["status"] == "Contacting" and case["notes_count"] == 1
    assert case["signals"]["priority"] in ("hot", "warm", "cold")
    assert case["changes"][0]["sentence"] == "law day set to 2026-12-04"
    assert client.get(f"{path}/notes", headers=reader).json[0]["body"] == "Called"


def test_lists_filter_and_sort_by_priority_as_the_case_page_reads_it(as_role):
    viewer = as_role("viewer")
    # Hartford: law day in 10 days, no defendant marked non-appearing: hot. New
    # Haven: disposed: cold. The old case: no dates, no judgment: cold.
    hot = viewer.get("/cases/?priority=hot").get_data(as_text=True)
    assert DOCKET_HARTFORD in hot and DOCKET_OLD not in hot
    assert '<span class="badge bad" id="priority">hot</span>' in viewer.get(
        CASE
    ).get_data(as_text=True)
    ordered = viewer.get("/cases/?sort=priority&order=desc").get_data(as_text=True)
    assert ordered.index(DOCKET_HARTFORD) < ordered.index(DOCKET_OLD)
    searched = viewer.get("/cases/?q=street&sort=priority").get_data(as_text=True)
    assert searched.index(DOCKET_HARTFORD) < searched.index(DOCKET_NEW_HAVEN)
    assert viewer.get("/cases/?priority=urgent").status_code == 400
