"""`ctforeclosure db upgrade` on SQLite and PostgreSQL, from empty and again."""

import sqlalchemy as sa
from click.testing import CliRunner

from ctforeclosure import db, migrate
from ctforeclosure.cli.app import main


def test_db_upgrade_from_empty_then_noop(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    first = runner.invoke(main, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert f"migrated from empty to revision {migrate.head_revision()}" in first.output
    second = runner.invoke(main, ["db", "upgrade"])
    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.output


def test_db_upgrade_creates_every_table_in_the_metadata(migrated_engine):
    present = set(sa.inspect(migrated_engine).get_table_names())
    assert set(db.metadata.tables) <= present


def test_db_upgrade_without_database_url_uses_the_data_dir(isolated_env):
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    database = isolated_env / "ctforeclosure.sqlite3"
    assert database.exists()
    assert str(database) in result.output


def test_db_upgrade_hides_the_password(postgres_admin_url, monkeypatch):
    url = sa.make_url(postgres_admin_url).set(password="s3cret-pw")
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    result = CliRunner().invoke(main, ["db", "status"])
    assert "s3cret-pw" not in result.output


def test_require_current_refuses_an_unmigrated_database(sqlite_url):
    engine = db.make_engine(sqlite_url)
    try:
        try:
            migrate.require_current(engine)
        except migrate.SchemaNotCurrent as exc:
            assert "run `ctforeclosure db upgrade`" in str(exc)
        else:
            raise AssertionError("an empty database was accepted")
    finally:
        engine.dispose()


def test_migrations_match_the_table_definitions(migrated_engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with migrated_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_migrations_are_found_inside_a_zipped_egg(tmp_path):
    """scrapyd runs jobs from a zipped egg: the head revision must still be readable."""
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    import ctforeclosure

    package = Path(ctforeclosure.__file__).parent
    sql = package.parent / "sql"
    egg = tmp_path / "project.egg"
    with zipfile.ZipFile(egg, "w") as zf:
        for path in package.rglob("*.py"):
            zf.write(path, path.relative_to(package.parent))
        for path in (package / "data").glob("*.csv"):
            zf.write(path, path.relative_to(package.parent))
        for path in [*sql.rglob("*.py"), *sql.glob("*.mako")]:
            zf.write(path, Path("ctforeclosure/migrations") / path.relative_to(sql))
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import ctforeclosure, ctforeclosure.migrate as m;"
        "assert '.egg' in ctforeclosure.__file__, ctforeclosure.__file__;"
        "print(m.head_revision())"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(egg)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == migrate.head_revision()
