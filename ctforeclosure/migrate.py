"""Apply and check the Alembic migrations kept in ``sql/``.

Writers (pipelines, the web UI's services) call :func:`require_current` at start, so a
database that is behind the code is refused with the one command that fixes it.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ctforeclosure.db import make_engine

__all__ = [
    "SchemaNotCurrent",
    "current_revision",
    "head_revision",
    "require_current",
    "upgrade",
]


class SchemaNotCurrent(RuntimeError):
    """The database schema is not at the migrations' head."""


def _copy_tree(source: Traversable, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.is_dir():
            if entry.name != "__pycache__":
                _copy_tree(entry, target / entry.name)
        elif entry.name.endswith((".py", ".mako", ".ini")):
            (target / entry.name).write_bytes(entry.read_bytes())


@functools.cache
def _script_location() -> str:
    """Return a folder holding the migrations, extracting them from a zipped egg.

    scrapyd runs jobs from a zipped ``.egg``, where the package's files are not a
    folder Alembic can read: copy them out once per process.
    """
    migrations = resources.files("ctforeclosure.migrations")
    if Path(str(migrations)).is_dir():
        return str(migrations)
    target = Path(tempfile.mkdtemp(prefix="ctforeclosure-migrations-"))
    _copy_tree(migrations, target)
    import atexit

    atexit.register(shutil.rmtree, target, ignore_errors=True)
    return str(target)


def _alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", _script_location())
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """Return the newest migration's revision id."""
    script = ScriptDirectory.from_config(_alembic_config("sqlite://"))
    return script.get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    """Return the revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str]:
    """Migrate the database to ``revision``; return the revisions before and after."""
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        cfg = _alembic_config(url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return before, current_revision(engine)
    finally:
        engine.dispose()


def require_current(engine: sa.Engine) -> None:
    """Raise :class:`SchemaNotCurrent` unless the schema is at the head revision."""
    try:
        current = current_revision(engine)
    except sa.exc.OperationalError as exc:
        raise SchemaNotCurrent(
            f"cannot read the schema version of {engine.url!r}: {exc.orig}"
        ) from exc
    head = head_revision()
    if current != head:
        raise SchemaNotCurrent(
            f"database {engine.url!r} is at schema revision {current or 'none'}, "
            f"the code needs {head}: run `ctforeclosure db upgrade`"
        )
