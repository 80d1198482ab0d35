"""The routines an operator schedules once and then only reads the reports of.

What they would notice: a missing prerequisite is one line and its own exit status
(and an alert, unless the routine is off on purpose); a failed routine alerts; a
restore ends with the purge; the weekly report holds counts, never names.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ctforeclosure import db
from ctforeclosure.cli.app import main
from tests.services.test_alerts import smtp_server  # noqa: F401 -- a fixture


def _invoke(args, env):
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


@pytest.mark.parametrize(
    ("args", "env", "code", "line", "alerted"),
    [
        (
            ["routine", "skiptrace"],
            {"SKIPTRACE_ENABLED": ""},
            4,
            "skip tracing is off",
            False,
        ),
        (["routine", "report"], {"SMTP_HOST": ""}, 5, "no email", True),
        (["routine", "crawl"], {"SCRAPYD_NODES": ""}, 3, "no scrapyd node", True),
        (
            ["routine", "towns"],
            {"SCRAPYD_NODES": "http://127.0.0.1:9"},
            3,
            "no scrapyd node answered",
            True,
        ),
    ],
)
def test_a_missing_prerequisite_is_one_line_with_its_own_exit_code(
    args, env, code, line, alerted, webhook, tmp_path
):
    env = {**env, "ALERT_WEBHOOK_URL": webhook.url, "CTF_DATA_DIR": str(tmp_path)}
    result = _invoke(args, env)
    assert result.exit_code == code
    [message] = result.stderr.strip().splitlines()
    assert message.startswith(f"routine {args[1]} failed: ") and line in message
    assert "Traceback" not in result.output
    assert bool(webhook.received) is alerted
    if alerted:
        assert webhook.received[0]["kind"] == "routine_failed"


def test_a_bad_setting_fails_the_routine_and_alerts(webhook, tmp_path):
    env = {
        "CTF_BACKUP_KEEP_DAILY": "none",
        "ALERT_WEBHOOK_URL": webhook.url,
        "CTF_DATA_DIR": str(tmp_path),
    }
    result = _invoke(["routine", "backup"], env)
    assert result.exit_code == 1
    assert "CTF_BACKUP_KEEP_DAILY='none'" in result.stderr
    assert webhook.received[0]["details"]["exit_code"] == "1"


def _old_rows(url: str) -> None:
    """Add a finished web job, a sign-in counter and crawl stats, all long past."""
    long_ago = datetime.now(UTC) - timedelta(days=400)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            db.web_jobs.insert().values(
                id="j1",
                kind="skiptrace",
                owner="cli",
                started_at=long_ago,
                updated_at=long_ago,
                state="finished",
            )
        )
        conn.execute(
            db.login_failures.insert().values(
                key="k" * 64, failures=3, last_at=long_ago
            )
        )
        conn.execute(
            db.crawl_runs.insert().values(
                spider="cases",
                args={},
                started_at=long_ago,
                status="finished",
                stats={"downloader/request_count": 5},
            )
        )
    engine.dispose()


def _counts(url: str) -> tuple[int, int, int, object]:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        counts = [
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (db.web_jobs, db.login_failures, db.crawl_runs)
        ]
        stats = conn.execute(sa.select(db.crawl_runs.c.stats)).scalar_one()
    engine.dispose()
    found = (*counts, stats)
    return found


def test_backup_then_restore_ends_with_the_purge(
    migrated_db_url, db_url, tmp_path, request
):
    _old_rows(migrated_db_url)
    folder = tmp_path / "backups"
    env = {"DATABASE_URL": migrated_db_url, "CTF_BACKUP_DIR": str(folder)}
    result = _invoke(["backup"], env)
    assert result.exit_code == 0, result.output
    [backup] = [p for p in folder.iterdir() if not p.name.endswith(".sha256")]
    if db_url.startswith("sqlite"):
        target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        result = _invoke(["restore", str(backup)], {**env, "DATABASE_URL": target})
    else:
        from tests.conftest import throwaway_database

        with throwaway_database(
            request.getfixturevalue("postgres_admin_url")
        ) as target:
            result = _invoke(["restore", str(backup)], {**env, "DATABASE_URL": target})
            assert _counts(target) == (0, 0, 1, None)
    assert result.exit_code == 0, result.output
    assert "purged" in result.output
    assert _counts(migrated_db_url)[:3] == (1, 1, 1)  # the original is untouched


def test_restore_refuses_a_damaged_backup_with_its_own_code(
    migrated_db_url, tmp_path, webhook
):
    env = {
        "DATABASE_URL": migrated_db_url,
        "CTF_BACKUP_DIR": str(tmp_path / "backups"),
        "ALERT_WEBHOOK_URL": webhook.url,
    }
    assert _invoke(["backup"], env).exit_code == 0
    [backup] = (tmp_path / "backups").glob("ctforeclosure-*[0-9]Z.*[a-z3]")
    backup.write_bytes(backup.read_bytes()[:-10])
    target = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = _invoke(["restore", str(backup)], {**env, "DATABASE_URL": target})
    assert result.exit_code == 6
    assert "checksum does not match" in result.stderr


def test_weekly_report_emails_counts_and_never_names(
    migrated_db_url,
    smtp_server,  # noqa: F811 -- the fixture imported above
    tmp_path,
):
    now = datetime.now(UTC)
    engine = db.make_engine(migrated_db_url)
    with engine.begin() as conn:
        for status, outcome in [
            ("failed", "failed"),
            ("finished", "partial"),
            ("lost", "lost"),
            ("finished", "complete"),
        ]:
            conn.execute(
                db.crawl_runs.insert().values(
                    spider="cases",
                    args={},
                    started_at=now,
                    status=status,
                    outcome=outcome,
                )
            )
    engine.dispose()
    env = {
        "DATABASE_URL": migrated_db_url,
        "CTF_DATA_DIR": str(tmp_path),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_SECURITY": "none",
        "SMTP_USERNAME": "alerts",
        "SMTP_PASSWORD": "smtp-pw",
        "ALERT_EMAIL_TO": "ops@example.org",
    }
    result = _invoke(["routine", "report"], env)
    assert result.exit_code == 0, result.output
    [message] = smtp_server.handler_obj.messages
    text = message.content.decode()
    assert "Crawls: 1 failed, 1 partial, 1 lost;" in text
    assert "Skip tracing: $0.00 spent" in text
