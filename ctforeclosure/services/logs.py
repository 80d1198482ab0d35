"""Log lines an operator's tools can read: ``CTF_LOG_FORMAT=json`` gives one JSON
object per line (python-json-logger) for crawls and the web UI.

Every line carries what ties it to its work: the crawl's id and scrapyd job in a
crawl process (:func:`set_process_fields`), the request id in the web UI
(:data:`request_fields`, set per request). The personal-data rules are upstream of
this module and still apply: crawls log items by docket only
(``ctforeclosure.logformatter``), the web UI logs route patterns, never query
strings or form values (``webui.request_log``). This module adds no data; it only
changes the shape of the lines.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

__all__ = [
    "ContextFilter",
    "configure",
    "json_formatter",
    "request_fields",
    "set_process_fields",
    "use_json",
]

#: The fields of the request being served (each thread has its own).
request_fields: ContextVar[dict | None] = ContextVar("ctf_request", default=None)
_process_fields: dict[str, object] = {}
#: The keys of a JSON line, in this order; extra fields follow.
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def set_process_fields(**fields) -> None:
    """Add fields to every line this process logs from now on (the crawl id)."""
    _process_fields.update({k: v for k, v in fields.items() if v is not None})


class ContextFilter(logging.Filter):
    """Add the process's and the current request's fields to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for fields in (_process_fields, request_fields.get() or {}):
            for key, value in fields.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


def json_formatter() -> JsonFormatter:
    """Return the formatter of JSON lines: time, level, logger, message, extras."""
    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
        json_ensure_ascii=False,
    )


def use_json(handlers: list[logging.Handler]) -> None:
    """Make these handlers write JSON lines with the context fields."""
    for handler in handlers:
        handler.setFormatter(json_formatter())
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())


def configure(log_format: str, level: int = logging.INFO) -> logging.Handler:
    """Log to stderr at ``level`` in ``log_format`` ("json" or "text"), once."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "ctf_handler", False):
            return handler
    handler = logging.StreamHandler(sys.stderr)
    handler.ctf_handler = True
    if log_format == "json":
        use_json([handler])
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s")
        )
    root.addHandler(handler)
    root.setLevel(level)
    return handler
