"""PostgreSQL drops the web UI's connections: staff get a clear 503, then service."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.webui.conftest import api_token

pytestmark = pytest.mark.postgres


def _drop_connections(app, postgres_admin_url) -> int:
    """Terminate every server connection to the app's database (as a restart does)."""
    name = sa.make_url(app.config["DATABASE_URL"]).database
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).all()
            )
    finally:
        admin.dispose()


@pytest.fixture
def postgres_app(app):
    if sa.make_url(app.config["DATABASE_URL"]).get_backend_name() != "postgresql":
        pytest.skip("a PostgreSQL outage; the SQLite file cannot drop connections")
    return app


def test_lost_database_connections_give_a_clear_503_then_the_page_again(
    postgres_app, as_role, postgres_admin_url
):
    staff = as_role("viewer")
    assert staff.get("/cases/").status_code == 200
    assert _drop_connections(postgres_app, postgres_admin_url) >= 1
    page = staff.get("/cases/")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert "Database unavailable" in page.get_data(as_text=True)
    assert staff.get("/cases/").status_code == 200  # the pool reconnected


def test_lost_database_connections_give_the_api_a_json_503(
    postgres_app, client, postgres_admin_url
):
    headers = {"Authorization": f"Bearer {api_token(postgres_app, 'viewer')}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    _drop_connections(postgres_app, postgres_admin_url)
    answer = client.get("/api/v1/cases", headers=headers)
    assert answer.status_code == 503
    assert answer.get_json()["error"] == "database_unavailable"
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
