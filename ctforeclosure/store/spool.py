"""The spool: where a crawl's items wait when the database fails mid-crawl.

One append-only JSON-lines file per crawl under ``config.spool_dir``, written with
``fsync`` after every batch, owner-only (the items hold names and addresses). Each
line is one record: ``{"type": "case" | "town", "data": {...}}`` for an item, or
``{"type": "town_complete", "data": {"town", "dockets"}}`` for a finished town search
(the "no longer listed" marking must wait for that town's cases). ``ctforeclosure
spool replay`` loads the records in order through the same store functions as the
pipeline and removes from the file only what was stored; like the pipeline, it
hands back the parties its upserts inserted, for the skip trace a crawl would have
done. Beside the spool, ``skiptrace-untraced-<crawl>.json`` holds the new parties
whose skip trace the outage cut off during the crawl (a JSON list of party ids),
for the replay to trace too.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from ctforeclosure.db import CASE_DATE_COLUMNS
from ctforeclosure.items import (
    Appearance,
    CaseItem,
    CourtDateItem,
    DocketEntryItem,
    PartyItem,
    SaleItem,
    TownItem,
)

logger = logging.getLogger(__name__)

SUFFIX = ".jsonl"
UNTRACED_PREFIX = "skiptrace-untraced-"


def _default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot spool {type(value).__name__}")


def item_to_record(item) -> dict:
    """Return the spool record of a TownItem or CaseItem."""
    if isinstance(item, CaseItem):
        return {"type": "case", "data": asdict(item)}
    if isinstance(item, TownItem):
        return {"type": "town", "data": asdict(item)}
    if isinstance(item, SaleItem):
        return {"type": "sale", "data": asdict(item)}
    raise TypeError(f"cannot spool a {type(item).__name__}")


def _d(value):
    return date.fromisoformat(value) if isinstance(value, str) else value


def case_from_dict(data: dict) -> CaseItem:
    """Rebuild a CaseItem (with its children and dates) from its JSON form."""
    data = dict(data)
    for name in CASE_DATE_COLUMNS:
        data[name] = _d(data.get(name))
    if isinstance(data.get("detail_fetched_at"), str):
        data["detail_fetched_at"] = datetime.fromisoformat(data["detail_fetched_at"])
    data["parties"] = [
        PartyItem(
            **{
                **party,
                "appearances": [
                    Appearance(**{**a, "file_date": _d(a.get("file_date"))})
                    for a in party.get("appearances") or []
                ],
            }
        )
        for party in data.get("parties") or []
    ]
    data["docket_entries"] = [
        DocketEntryItem(**{**e, "file_date": _d(e.get("file_date"))})
        for e in data.get("docket_entries") or []
    ]
    data["court_dates"] = [
        CourtDateItem(**{**c, "court_date": _d(c.get("court_date"))})
        for c in data.get("court_dates") or []
    ]
    return CaseItem(**data)


def sale_from_dict(data: dict) -> SaleItem:
    """Rebuild a SaleItem (dates, moments, deposit) from its JSON form."""
    data = dict(data)
    for name in ("sale_date", "notice_from", "notice_thru"):
        data[name] = _d(data.get(name))
    for name in ("sale_at", "notice_fetched_at"):
        if isinstance(data.get(name), str):
            data[name] = datetime.fromisoformat(data[name])
    if data.get("deposit") is not None:
        data["deposit"] = Decimal(str(data["deposit"]))
    return SaleItem(**data)


def record_to_item(record: dict):
    """Return the item a spool record holds (or the record itself for a marker)."""
    kind = record.get("type")
    if kind == "case":
        return case_from_dict(record["data"])
    if kind == "town":
        return TownItem(**record["data"])
    if kind == "sale":
        return sale_from_dict(record["data"])
    if kind in ("town_complete", "sales_town_complete"):
        return record
    raise ValueError(f"unknown spool record type {kind!r}")


def _marker_type(done: dict) -> str:
    """A complete town search (cases) or a complete town sales list (sales)."""
    return "sales_town_complete" if "posting_ids" in done else "town_complete"


class Spool:
    """An append-only, fsync'd JSON-lines file of one crawl's unstored records."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    @classmethod
    def for_crawl(cls, spool_dir: Path, label: str) -> Spool:
        return cls(Path(spool_dir) / f"{label}{SUFFIX}")

    def write_batch(
        self,
        items: list,
        towns_done: list[dict] = (),
        *,
        at: datetime | None = None,
        crawl_id: int | None = None,
    ) -> None:
        """Append the batch's items, then its town markers; return once on disk.

        ``at`` (when the crawl saw them) and ``crawl_id`` go on every record, so a
        replay stamps first/last seen and changes as the crawl would have.
        """
        stamp = {"at": at.isoformat() if at else None, "crawl_id": crawl_id}
        lines = [
            json.dumps({**item_to_record(i), **stamp}, default=_default) for i in items
        ]
        lines += [
            json.dumps({"type": _marker_type(t), "data": t, **stamp}, default=_default)
            for t in towns_done
        ]
        if not lines:
            return
        self._file.write("\n".join(lines) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def spool_files(spool_dir: Path) -> list[Path]:
    """Return the spool files, oldest first (names start with the crawl's label)."""
    folder = Path(spool_dir)
    if not folder.is_dir():
        return []
    return sorted(
        folder.glob(f"*{SUFFIX}"), key=lambda p: (p.stat().st_mtime_ns, p.name)
    )


def read_lines(path: Path) -> list[str]:
    """Return the file's non-empty lines."""
    with open(path, encoding="utf-8") as fh:
        return [line for line in fh.read().splitlines() if line.strip()]


def parse_lines(lines: list[str]) -> Iterator[tuple[int, dict | None]]:
    """Yield (index, record) per line; record None for a line that is not JSON."""
    for index, line in enumerate(lines):
        try:
            yield index, json.loads(line)
        except json.JSONDecodeError:
            yield index, None


def rewrite(path: Path, lines: list[str]) -> None:
    """Replace the file with the given lines (atomically), or remove it if none."""
    if not lines:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def save_untraced(spool_dir: Path, label: str, party_ids: list[int]) -> Path:
    """Add party ids whose skip trace could not reach the database; return the file."""
    path = Path(spool_dir) / f"{UNTRACED_PREFIX}{label}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    known = load_untraced(path) if path.exists() else []
    rewrite(path, [json.dumps(sorted(set(known) | set(party_ids)))])
    return path


def untraced_files(spool_dir: Path) -> list[Path]:
    """Return the files of parties waiting for a skip trace after an outage."""
    folder = Path(spool_dir)
    return sorted(folder.glob(f"{UNTRACED_PREFIX}*.json")) if folder.is_dir() else []


def load_untraced(path: Path) -> list[int]:
    """Return the party ids a :func:`save_untraced` file holds."""
    return [int(i) for i in json.loads(Path(path).read_text(encoding="utf-8"))]


@dataclass
class ReplayResult:
    """What a replay did."""

    files: int = 0
    stored: int = 0  # records stored (items and town markers)
    unreadable: int = 0  # lines kept because they are not valid records
    runs_completed: int = 0  # crawl runs completed from saved closing values
    #: The parties the replay inserted, as the pipeline's ``parties_stored`` signal
    #: carries them (``party_id``, ``role``, ...): new parties to skip trace.
    new_parties: list[dict] = field(default_factory=list)


def count_records(spool_dir: Path) -> int:
    """Return how many records wait in the spool (not yet stored by a replay)."""
    return sum(
        max(0, len(read_lines(p)) - stored_count(p)) for p in spool_files(spool_dir)
    )


def _store_records(conn, records: list[dict]) -> list[dict]:
    """Store the records in spool order; return the parties this inserted."""
    from ctforeclosure.store.cases import mark_town_listing, upsert_cases
    from ctforeclosure.store.sales import upsert_sales
    from ctforeclosure.store.towns import upsert_towns

    # Consecutive records of one kind, in spool order, so that a town's marker is
    # applied after that town's cases, as in the crawl.
    group: list[dict] = []
    new_parties: list[dict] = []

    def flush_group() -> None:
        if not group:
            return
        at = _stamp(group[0])
        crawl_id = group[0].get("crawl_id")
        towns = [r["data"] for r in group if r["type"] == "town"]
        cases = [record_to_item(r) for r in group if r["type"] == "case"]
        sale_items = [record_to_item(r) for r in group if r["type"] == "sale"]
        if sale_items:
            upsert_sales(conn, sale_items, now=at, crawl_id=_run_id(conn, crawl_id))
        if towns:
            upsert_towns(conn, towns, now=at)
        if cases:
            run_id = _run_id(conn, crawl_id)
            stored = upsert_cases(conn, cases, now=at, crawl_id=run_id)
            new_parties.extend(stored.new_parties)
        group.clear()

    for record in records:
        if record["type"] == "sales_town_complete":
            flush_group()
            _mark_sales(conn, record)
        elif record["type"] == "town_complete":
            flush_group()
            mark_town_listing(
                conn,
                record["data"]["town"],
                record["data"]["dockets"],
                now=_stamp(record),
                crawl_id=_run_id(conn, record.get("crawl_id")),
            )
        else:
            if group and _stamp(group[0]) != _stamp(record):
                flush_group()
            group.append(record)
    flush_group()
    return new_parties


def _mark_sales(conn, record: dict) -> None:
    from ctforeclosure.store.sales import mark_town_sales

    data = record["data"]
    mark_town_sales(
        conn,
        data["town"],
        data["posting_ids"],
        now=_stamp(record),
        today=date.fromisoformat(data["today"]),
        crawl_id=_run_id(conn, record.get("crawl_id")),
    )


def _stamp(record: dict) -> datetime:
    value = record.get("at")
    return datetime.fromisoformat(value) if value else datetime.now(UTC)


def _run_id(conn, crawl_id):
    """Return the crawl id if its crawl_runs row exists (FK), else None."""
    if crawl_id is None:
        return None
    import sqlalchemy as sa

    from ctforeclosure.db import crawl_runs

    found = conn.execute(
        sa.select(crawl_runs.c.id).where(crawl_runs.c.id == crawl_id)
    ).first()
    return crawl_id if found else None


def done_path(path: Path) -> Path:
    """The sidecar that counts a spool file's leading lines already stored."""
    return path.with_name(path.name + ".done")


def stored_count(path: Path) -> int:
    """Return how many leading lines of a spool file a replay already stored."""
    marker = done_path(path)
    try:
        return int(marker.read_text().strip() or 0)
    except FileNotFoundError:
        return 0


def _write_done(path: Path, count: int) -> None:
    tmp = done_path(path).with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(str(count))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, done_path(path))


def replay(engine, spool_dir: Path, batch_size: int = 500, progress=None):
    """Load every spooled record into the database, oldest first, idempotently.

    Each batch is one transaction; once it commits, the count of stored lines is
    saved beside the file (so an interrupted replay resumes after them), and when
    the file is done it is removed; lines that are not valid records are kept in it
    and counted. ``progress(n)`` is called with the records each batch stored. Run it
    when the crawl that spooled has ended.
    """
    from ctforeclosure.store import crawl_runs

    result = ReplayResult()
    for path in spool_files(spool_dir):
        result.files += 1
        lines = read_lines(path)
        done = stored_count(path)
        kept: list[str] = []
        batch: list[dict] = []
        for index, record in parse_lines(lines):
            if index < done:
                if record is None or record.get("type") not in _TYPES:
                    kept.append(lines[index])
                continue
            if record is None or record.get("type") not in _TYPES:
                kept.append(lines[index])
                result.unreadable += 1
            else:
                batch.append(record)
            if len(batch) >= batch_size or index + 1 == len(lines):
                if batch:
                    with engine.begin() as conn:
                        new_parties = _store_records(conn, batch)
                    result.new_parties += new_parties
                    result.stored += len(batch)
                    if progress is not None:
                        progress(len(batch))
                    batch = []
                _write_done(path, index + 1)
        rewrite(path, kept)
        done_path(path).unlink(missing_ok=True)
    for path in sorted(Path(spool_dir).glob("crawl-run-*.json")):
        run_id, values = crawl_runs.load_pending(path)
        with engine.begin() as conn:
            crawl_runs.finish_run(conn, run_id, values)
        path.unlink()
        result.runs_completed += 1
    return result


_TYPES = frozenset({"case", "town", "town_complete", "sale", "sales_town_complete"})
