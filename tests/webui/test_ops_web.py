"""Readiness, metrics, request logs and the system status (issue 20, items 3-6)."""

from __future__ import annotations

import json
import logging

import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import api_token, login


def test_readyz_answers_ready_at_the_newest_revision(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"


def test_readyz_answers_503_with_the_reason_when_the_schema_is_behind(app, client):
    from webui.db import get_engine_of

    with get_engine_of(app).begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0012'"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "0012" in response.get_json()["reason"]
    assert "ctforeclosure db upgrade" in response.get_json()["reason"]


def test_metrics_need_an_admin_token(app, client):
    assert client.get("/metrics").status_code == 401
    read_only = {"Authorization": f"Bearer {api_token(app, 'manager')}"}
    refused = client.get("/metrics", headers=read_only)
    assert refused.status_code == 403
    assert refused.get_json()["missing_scope"] == "admin"


def test_metrics_count_requests_by_route_pattern_and_read_the_data(app, client):
    client.get("/readyz")
    headers = {"Authorization": f"Bearer {api_token(app, 'admin')}"}
    client.get("/api/v1/cases/HHDCV226160660S", headers=headers)
    text = client.get("/metrics", headers=headers).get_data(as_text=True)
    assert 'route="/api/v1/cases/<docket_no>"' in text
    assert "HHDCV226160660S" not in text
    assert (
        'ctf_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/readyz"}'
        in text
    )
    assert "ctf_database_up 1.0" in text
    assert 'ctf_cases{status="active"}' in text
    assert "ctf_spool_backlog_records 0.0" in text
    for name in ("Doe", "Elm Street", "FIRST BANK"):
        assert name not in text


def test_each_request_is_logged_without_its_query(client, caplog):
    login(client, "viewer")
    with caplog.at_level(logging.INFO, logger="ctforeclosure.web.requests"):
        caplog.clear()  # the sign-in's own requests are logged too
        client.get("/cases/?q=Doe", headers={"X-Request-ID": "req-12345678"})
    [record] = [r for r in caplog.records if r.name == "ctforeclosure.web.requests"]
    assert record.route == "/cases/" and record.status == 200
    assert record.request_id == "req-12345678" and record.user_id is not None
    assert "Doe" not in record.getMessage() and "q=" not in record.getMessage()


def test_json_log_lines_carry_the_request_id(client):
    import io

    from ctforeclosure.services import logs

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logs.use_json([handler])
    logger = logging.getLogger("ctforeclosure.web.requests")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        response = client.get("/healthz")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["route"] == "/healthz" and line["status"] == 200
    assert line["level"] == "INFO" and "time" in line


def test_status_page_and_api_say_what_an_operator_needs(app, client, monkeypatch):
    from datetime import UTC, datetime

    from webui.db import get_engine_of

    now = datetime.now(UTC)
    with get_engine_of(app).begin() as conn:
        conn.execute(
            db.towns.insert().values(
                town="Bethel",
                county="Fairfield",
                normalized_name="bethel-ops",
                source="bundled",
                first_seen=now,
                last_seen=now,
                updated_at=now,
            )
        )
    monkeypatch.setenv("SCRAPYD_NODES", "http://127.0.0.1:9")  # nothing listens
    headers = {"Authorization": f"Bearer {api_token(app, 'admin')}"}
    found = client.get("/api/v1/status", headers=headers).get_json()
    assert found["database"]["current"] is True
    assert found["scrapyd_nodes"][0]["reachable"] is False
    assert found["kill_switch"]["paused"] is False
    [bethel] = [t for t in found["towns"] if t["town"] == "Bethel"]
    assert bethel["stale"] is True and bethel["last_success"] is None
    assert {"spent", "budget", "left"} <= set(found["skiptrace"])
    assert (
        client.get(
            "/api/v1/status",
            headers={"Authorization": f"Bearer {api_token(app, 'manager')}"},
        ).status_code
        == 403
    )
    login(client, "admin")
    page = client.get("/status/")
    assert page.status_code == 200
    assert b"Send a test alert" in page.data and b"127.0.0.1:9" in page.data


def test_status_page_is_for_admins_only(client):
    login(client, "manager")
    assert client.get("/status/").status_code == 403
    assert b"/status/" not in client.get("/").data


def test_gunicorn_workers_metrics_add_up_and_log_lines_are_json(
    seeded_db_url, tmp_path, app
):
    import re

    import requests

    from tests.webui.test_workers import _web_server

    token = api_token(app, "admin")
    with _web_server(seeded_db_url, tmp_path, CTF_LOG_FORMAT="json") as (base, _, log):
        for _ in range(20):  # a new connection each: either worker may answer
            assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
        text = requests.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).text
        log.seek(0)
        lines = [json.loads(line) for line in log if line.startswith("{")]
    counted = re.search(
        r'ctf_http_requests_total\{method="GET",route="/readyz",status="200"\} (\S+)',
        text,
    )
    assert counted and float(counted[1]) == 20
    assert "ctf_db_pool_size" in text and "ctf_database_up 1.0" in text
    readyz = [line for line in lines if line.get("route") == "/readyz"]
    assert len(readyz) == 20
    assert len({line["request_id"] for line in readyz}) == 20
