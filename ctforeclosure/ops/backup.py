"""Backups that can be trusted, and restores that are tested.

A backup is consistent: PostgreSQL's ``pg_dump`` in its custom format (one snapshot
of the whole database), or SQLite's online backup API (never a file copy of a live
database, which can catch a half-written page). It is written under a temporary
name, owner-only, and renamed when complete, after its ``.sha256`` file: a backup
that fails half-way leaves no file that looks complete. Retention keeps the newest
backup of each of the last N days and of each of the last M weeks.

A restore checks the checksum first, refuses a database that holds tables unless
forced, and the caller then runs the purge, so that results past their retention
do not come back from an old backup.

Each step can report its progress to a ``progress(step, done, total)`` callable (the
CLI draws it on a terminal): the SQLite copy in pages, the checksum in bytes;
``pg_dump`` and ``pg_restore`` tell no counts (``total`` None).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

__all__ = [
    "BackupRefused",
    "backup",
    "backups",
    "restore",
    "retain",
    "verify",
]

PREFIX = "ctforeclosure-"
SUFFIXES = {"postgresql": ".pgdump", "sqlite": ".sqlite3"}


#: ``progress(step, done, total)``: a step's units done of its total (None: unknown).
Progress = Callable[[str, int, int | None], None]
#: The online backup's steps (between progress reports): few, and back to back.
#: SQLite starts a stepped backup over when another connection writes between two
#: steps, so many small steps with its default pause could chase a crawl's writes
#: for ever; twenty with none give a moving bar and the near-atomic copy of one.
BACKUP_STEPS = 20


def _quiet(step: str, done: int, total: int | None) -> None:
    """Report nothing (no one is watching)."""


class BackupRefused(RuntimeError):
    """A backup or restore that cannot be done as asked (the message says why)."""


def _backend(url: str) -> str:
    return sa.make_url(url).get_backend_name()


def _libpq(url: str) -> tuple[str, str | None]:
    """Return a libpq URL without the password (never on a command line), and the
    password."""
    parsed = sa.make_url(url)
    plain = parsed.set(drivername="postgresql", password=None)
    password = str(parsed.password) if parsed.password else None
    return plain.render_as_string(hide_password=False), password


def _run(args: list[str], password: str | None) -> None:
    tool = args[0]
    if shutil.which(tool) is None:
        raise BackupRefused(f"{tool} not found: install the PostgreSQL client tools")
    if password:
        os.environ["PGPASSWORD"] = password  # for the child only; removed below
    try:
        done = subprocess.run(  # noqa: S603 -- pg_dump/pg_restore, our arguments
            args, capture_output=True, text=True, check=False
        )
    finally:
        os.environ.pop("PGPASSWORD", None)
    if done.returncode:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise BackupRefused(f"{tool} failed: {lines[-1]}")


def sha256(path: Path, progress: Progress = _quiet) -> str:
    digest = hashlib.sha256()
    total, done = path.stat().st_size, 0
    progress("checksum", 0, total)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            done += len(block)
            progress("checksum", done, total)
    return digest.hexdigest()


def _sqlite_copy(source: sqlite3.Connection, target, progress: Progress) -> None:
    """Copy a SQLite database with its online backup API, reporting pages."""
    progress("copy", 0, None)

    def report(_status, remaining: int, total: int) -> None:
        progress("copy", total - remaining, total)

    pages = source.execute("PRAGMA page_count").fetchone()[0]
    step = max(pages // BACKUP_STEPS, 1)
    source.backup(target, pages=step, progress=report, sleep=0)


def _write(url: str, target: Path, progress: Progress = _quiet) -> None:
    """Write a consistent copy of the database to ``target``."""
    if _backend(url) == "postgresql":
        dsn, password = _libpq(url)
        progress("pg_dump", 0, None)
        _run(["pg_dump", "--format=custom", f"--file={target}", dsn], password)
        return
    source = sqlite3.connect(f"file:{sa.make_url(url).database}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        with copy:
            _sqlite_copy(source, copy, progress)
    finally:
        copy.close()
        source.close()


def backup(
    url: str, folder: Path, now: datetime | None = None, progress: Progress = _quiet
) -> Path:
    """Back up the database at ``url`` into ``folder``; return the backup's path."""
    backend = _backend(url)
    if backend not in SUFFIXES:
        raise BackupRefused(f"cannot back up a {backend} database")
    now = now or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = folder / f"{PREFIX}{now:%Y%m%dT%H%M%SZ}{SUFFIXES[backend]}"
    partial = folder / f".{final.name}.partial"
    old_umask = os.umask(0o077)
    try:
        _write(url, partial, progress)
        digest = sha256(partial, progress)
        checksum = Path(f"{final}.sha256")
        checksum.write_text(f"{digest}  {final.name}\n")
        partial.rename(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        os.umask(old_umask)
    return final


def backups(folder: Path) -> list[Path]:
    """Return the complete backups in ``folder``, oldest first."""
    found = [p for s in SUFFIXES.values() for p in folder.glob(f"{PREFIX}*{s}")]
    return sorted(found, key=lambda p: p.name)


def _taken_at(path: Path) -> datetime:
    stamp = path.name[len(PREFIX) :].split(".")[0]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def retain(folder: Path, keep_daily: int, keep_weekly: int) -> list[Path]:
    """Delete backups beyond the newest per day (N days) and per week (M weeks)."""
    keep: set[Path] = set()
    days: dict[str, Path] = {}
    weeks: dict[tuple[int, int], Path] = {}
    for path in reversed(backups(folder)):  # newest first
        taken = _taken_at(path)
        days.setdefault(taken.strftime("%Y-%m-%d"), path)
        weeks.setdefault(taken.isocalendar()[:2], path)
    keep |= set(list(days.values())[:keep_daily])
    keep |= set(list(weeks.values())[:keep_weekly])
    deleted = [p for p in backups(folder) if p not in keep]
    for path in deleted:
        path.unlink()
        Path(f"{path}.sha256").unlink(missing_ok=True)
    return deleted


def verify(path: Path, progress: Progress = _quiet) -> None:
    """Refuse a backup whose ``.sha256`` file is missing or does not match."""
    checksum = Path(f"{path}.sha256")
    if not path.is_file():
        raise BackupRefused(f"{path}: no such backup")
    if not checksum.is_file():
        raise BackupRefused(f"{path}: no checksum file {checksum.name}: incomplete?")
    expected = checksum.read_text().split()[0]
    if sha256(path, progress) != expected:
        raise BackupRefused(f"{path}: checksum does not match: the file is damaged")


def _has_tables(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        return bool(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def restore(
    path: Path, url: str, force: bool = False, progress: Progress = _quiet
) -> None:
    """Restore the backup at ``path`` into the database at ``url``."""
    verify(path, progress)
    backend = _backend(url)
    if path.suffix != SUFFIXES.get(backend):
        raise BackupRefused(f"{path.name} is not a {backend} backup")
    if _has_tables(url) and not force:
        raise BackupRefused(
            f"{sa.make_url(url).render_as_string(hide_password=True)} is not empty: "
            "restore into an empty database, or give --force to replace it"
        )
    if backend == "postgresql":
        dsn, password = _libpq(url)
        clean = ["--clean", "--if-exists"] if force else []
        progress("pg_restore", 0, None)
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                *clean,
                f"--dbname={dsn}",
                str(path),
            ],
            password,
        )
        return
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(sa.make_url(url).database)
    try:
        _sqlite_copy(source, target, progress)
    finally:
        target.close()
        source.close()
