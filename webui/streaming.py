"""The one writer behind every export (cases today; sales, the mailing list and crawl
jobs as they come): CSV generated row by row, XLSX written through a temporary
file, every cell formula-safe, an operator's maximum refused up front, and one audit
record written when the download ends, with the rows it really held.

Why it exists: exports were built whole in memory (a list of rows, then the file),
so a worker's memory grew with the export, and a fixed cap cut them silently at
100,000 rows (issue 26). Here memory holds one chunk of rows, whatever the size.

How to plug an export in::

    from webui.streaming import stream_export

    def rows():                       # a generator: read lazily, close in finally
        with engine.connect() as conn:
            streamed = {"stream_results": True, "yield_per": 500}
            result = conn.execute(stmt, execution_options=streamed)
            for chunk in result.partitions():
                yield from (tuple_for(r) for r in chunk)

    def audited(ending):              # called once, when the download ends
        with write() as conn:
            audit.record(conn, actor, ending.action, "csv",
                         {"filters": ..., **ending.details()})

    return stream_export("csv", "sales-20261203.csv", HEADER, rows(),
                         audit=audited, count=lambda: count_of_matches())

- ``fmt``: ``"csv"`` or ``"xlsx"``; ``filename``: the attachment's name.
- ``header``: the column names; ``rows``: an iterator of tuples as long as the
  header, values ``str``, numbers, ``date``/naive ``datetime`` or ``None``. Make it
  a generator over a server-side cursor (SQLAlchemy ``stream_results``/
  ``yield_per``) and release its connection in its own ``finally``: it is closed
  when the stream ends, however it ends.
- ``count``: returns how many rows the export will hold. It is called only when the
  operator set a maximum (``CTF_EXPORT_MAX_ROWS``, app setting ``EXPORT_MAX_ROWS``):
  an export over it is refused with 400 and the count and the maximum ("212,418
  cases match; exports are limited to 100,000: narrow the filter"), nothing read
  from ``rows``, never truncated.
- ``audit(ending)``: called exactly once, with an :class:`Ending`:
  ``ending.action`` (``"export"``, or ``"export.refused"``) and
  ``ending.details()`` (rows and how it ended: complete, the client went away
  first, or failed; or the refusal's count and maximum) are made for
  :func:`ctforeclosure.services.audit.record`. A download ends after the request's
  context is gone: the audit and ``rows`` run in an app context (``write()``,
  ``current_app`` work), so take the actor and path from the request up front.
- ``noun``: what the rows are, for the refusal ("cases", "sales").
- ``sheet``: the XLSX sheet's title; past :data:`XLSX_SHEET_ROWS` rows (Excel's
  limit) the rows go on in a new sheet ("Cases 2", ...), each with the header.

A CSV's first row is read before the response starts, so a database that cannot
answer gives the usual 503, not a broken download. An error after that ends the
download unfinished (the client sees a truncated transfer) and is audited.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from flask import Response, current_app
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

__all__ = ["Ending", "neutralise", "stream_export"]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
#: Excel's rows per sheet (the header included); a test lowers it.
XLSX_SHEET_ROWS = 1_048_576
#: CSV text gathered before it is handed to the server: one write per ~64 KiB,
#: not one per row (a system call each).
FLUSH_CHARS = 64 * 1024
#: Bytes per read of the finished XLSX file.
FILE_CHUNK = 256 * 1024
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

COMPLETE = "complete"
CLIENT_WENT_AWAY = "client went away"
FAILED = "failed"
REFUSED = "refused"


@dataclass(frozen=True)
class Ending:
    """How an export ended, for its audit record."""

    rows: int  # data rows sent (CSV) or in the file (XLSX); 0 when refused
    how: str  # COMPLETE, CLIENT_WENT_AWAY, FAILED or REFUSED
    matches: int | None = None  # refused: how many rows matched
    limit: int | None = None  # refused: the operator's maximum

    @property
    def action(self) -> str:
        return "export.refused" if self.how == REFUSED else "export"

    def details(self) -> dict:
        if self.how == REFUSED:
            return {"matches": self.matches, "limit": self.limit}
        return {"rows": self.rows, "ended": self.how}


def neutralise(value) -> object:
    """Return the value with a leading ``'`` when a spreadsheet would run it."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def refusal(matches: int, limit: int, noun: str = "rows") -> str:
    """Return the message refusing an export of ``matches`` rows over ``limit``."""
    return (
        f"{matches:,} {noun} match; exports are limited to {limit:,}: narrow the filter"
    )


def stream_export(
    fmt: str,
    filename: str,
    header: Sequence[str],
    rows: Iterator[tuple],
    *,
    audit: Callable[[Ending], None],
    count: Callable[[], int],
    sheet: str = "Export",
    noun: str = "rows",
) -> Response:
    """Return the export as a streamed attachment (see the module docstring)."""
    if fmt not in MIMETYPES:
        raise ValueError(f"unknown export format {fmt!r}: use one of {list(MIMETYPES)}")
    limit = current_app.config.get("EXPORT_MAX_ROWS")
    if limit is not None and (matches := count()) > limit:
        _close(rows)
        audit(Ending(rows=0, how=REFUSED, matches=matches, limit=limit))
        return Response(
            refusal(matches, limit, noun), status=400, mimetype="text/plain"
        )
    if fmt == "csv":
        counted = _Counted()
        body = _Body(_csv_pieces(header, _started(rows), counted), counted, audit)
    else:
        handle, written = _xlsx_file(header, rows, sheet)
        body = _Body(_file_pieces(handle), _Counted(written), audit)
    return Response(
        body,
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class _Counted:
    """The rows a download has sent (CSV) or holds (XLSX), for its audit."""

    def __init__(self, rows: int = 0):
        self.rows = rows


class _Body:
    """A response body that audits once, when the download ends: after its last
    piece, on an error, or when the server closes it first because the client went
    away (PEP 3333: servers always call ``close()``). Servers read a body after the
    request's context is gone, so each piece is made in an app context of its own,
    and so is the audit."""

    def __init__(self, pieces: Iterator, counted: _Counted, audit):
        self.app = current_app._get_current_object()
        self.pieces, self.counted, self.audit = pieces, counted, audit
        self.ended = False

    def __iter__(self):
        return self

    def __next__(self):
        if self.ended:
            raise StopIteration
        with self.app.app_context():
            try:
                return next(self.pieces)
            except StopIteration:
                self._end(COMPLETE)
                raise
            except BaseException:
                self._end(FAILED)
                raise

    def close(self) -> None:
        if not self.ended:
            with self.app.app_context():
                self._end(CLIENT_WENT_AWAY)

    def _end(self, how: str) -> None:
        self.ended = True
        try:
            _close(self.pieces)
        finally:
            self.audit(Ending(rows=self.counted.rows, how=how))


def _close(rows: Iterable) -> None:
    close = getattr(rows, "close", None)
    if close is not None:
        close()


def _started(rows: Iterator[tuple]) -> Iterator[tuple]:
    """Read the first row now (a failing query answers before the response
    starts); return an iterator over all of them."""
    try:
        first = next(rows, None)
    except BaseException:
        _close(rows)
        raise
    return _chained(first, rows)


def _chained(first: tuple | None, rows: Iterator[tuple]) -> Iterator[tuple]:
    try:
        if first is not None:
            yield first
            yield from rows
    finally:
        _close(rows)


def _csv_cell(value) -> object:
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(value)


def _csv_pieces(header, rows: Iterator[tuple], counted: _Counted) -> Iterator[str]:
    """Yield the CSV in pieces of about :data:`FLUSH_CHARS`; count the rows the
    server has taken (a piece is taken when the next one is asked for)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    pending = 0
    try:
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])
            pending += 1
            if buffer.tell() >= FLUSH_CHARS:
                yield _drain(buffer)
                counted.rows, pending = counted.rows + pending, 0
        yield _drain(buffer)
        counted.rows += pending
    finally:
        _close(rows)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _xlsx_cell(value) -> object:
    if isinstance(value, str):
        # characters XML cannot hold (openpyxl refuses them): dropped, not a 500
        return neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def _xlsx_file(header, rows: Iterator[tuple], title: str) -> tuple[BinaryIO, int]:
    """Write the rows with openpyxl's write-only mode (rows go to disk as they
    come) into an anonymous temporary file (gone when closed, however the request
    ends); return it, rewound, and the number of data rows."""
    workbook = Workbook(write_only=True)
    try:
        written = _append_sheets(workbook, header, rows, title)
    finally:
        _close(rows)
    # closed (and so removed) by the response body, when the download ends
    handle = tempfile.TemporaryFile(prefix="ctf-export-", suffix=".xlsx")  # noqa: SIM115
    try:
        workbook.save(handle)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle, written


def _append_sheets(workbook: Workbook, header, rows, title: str) -> int:
    """Append the rows, each sheet starting with the header, a new sheet when one
    holds :data:`XLSX_SHEET_ROWS`; return the number of data rows."""
    written, used, worksheet = 0, XLSX_SHEET_ROWS, None
    for row in rows:
        if used == XLSX_SHEET_ROWS:
            number = len(workbook.worksheets) + 1
            worksheet = workbook.create_sheet(
                title if number == 1 else f"{title} {number}"
            )
            worksheet.append(list(header))
            used = 1
        worksheet.append([_xlsx_cell(v) for v in row])
        used += 1
        written += 1
    if worksheet is None:
        workbook.create_sheet(title).append(list(header))
    return written


def _file_pieces(handle: BinaryIO) -> Iterator[bytes]:
    """Yield the file's bytes; close it (which removes it) when done or closed."""
    with handle:
        while chunk := handle.read(FILE_CHUNK):
            yield chunk
