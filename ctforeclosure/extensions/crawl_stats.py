"""What a crawl's Scrapy stats say about its run, read for the crawl run's record.

The crawl run (``crawl_run.py``) and its checks (``crawl_checks.py``) both read the
same stats: the spider's arguments, errors by category, the per-town "site says n,
we parsed m" counts, the towns a complete search listed, and what an operator
should know beyond the counts. They are read here, once.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from ctforeclosure.config import SECRET_ENV_VARS
from ctforeclosure.signals import LISTED_STAT_PREFIX, TOWN_STAT_PREFIX

#: Argument names never recorded (they would be shown in the web UI).
_SECRET_ARG_WORDS = (
    "password",
    "secret",
    "token",
    "key",
    *map(str.lower, SECRET_ENV_VARS),
)


def spider_args(spider) -> dict:
    """Return the spider's arguments: its ``crawl_args`` or ``-a`` ones on argv."""
    args = getattr(spider, "crawl_args", None)
    if args is None:
        args = {}
        argv = sys.argv[1:]
        for index, value in enumerate(argv):
            if value == "-a" and index + 1 < len(argv):
                name, _, arg = argv[index + 1].partition("=")
                args[name] = arg
            elif value.startswith("-a") and len(value) > 2:
                name, _, arg = value[2:].partition("=")
                args[name] = arg
    return {
        str(k): str(v)
        for k, v in dict(args).items()
        if not any(word in str(k).lower() for word in _SECRET_ARG_WORDS)
    }


#: Which ``ctf/errors/<name>`` stats (pipelines, cases spider) count in which
#: category; an unknown name counts as "system", so that nothing goes uncounted.
ERROR_CATEGORIES = {
    "validation": "validation",
    "system": "system",
    "parsing": "parsing",
    "case_page": "parsing",
    "search_given_up": "network",
    # the sales spider: a notice or the index not fetched, a town it cannot name
    "sale_notice": "network",
    "sales_index": "network",
    "sales_town_unknown": "parsing",
}


#: Scrapy's totals that count errors: every download that failed for good, and
#: every exception a spider callback raised (Scrapy also counts each under its
#: class, ``spider_exceptions/<Class>``: those name examples, not more errors).
_ERROR_TOTALS = {
    "downloader/exception_count": "network",
    "retry/max_reached": "network",
    "spider_exceptions/count": "parsing",
}
#: Stats keys that name what an error was (an exception's class), by prefix.
_EXAMPLE_PREFIXES = {
    "downloader/exception_type_count/": "network",
    "spider_exceptions/": "parsing",
}


def error_category(key: str) -> str | None:
    """Return the category (network, parsing, validation, system) whose count the
    stats key adds to, None when it adds to none."""
    if key in _ERROR_TOTALS:
        return _ERROR_TOTALS[key]
    if key.startswith("ctf/errors/"):
        return ERROR_CATEGORIES.get(key[len("ctf/errors/") :], "system")
    return None


def error_example(key: str) -> tuple[str, str] | None:
    """Return (category, example) when the stats key names one of a category's
    errors: an exception's class, or our own ``ctf/errors/<name>`` key."""
    if key in ("downloader/exception_count", "spider_exceptions/count"):
        return None  # a total: its classes are the examples
    for prefix, category in _EXAMPLE_PREFIXES.items():
        if key.startswith(prefix):
            return category, key[len(prefix) :]
    category = error_category(key)
    return (category, key) if category else None


def errors_by_category(stats: dict) -> dict[str, int]:
    """Return error counts by category (network, parsing, validation, system)."""
    counts = dict.fromkeys(("network", "parsing", "validation", "system"), 0)
    for key, value in stats.items():
        if (category := error_category(key)) is not None:
            counts[category] += value
    return counts


def jsonable(stats: dict) -> dict:
    out = {}
    for key, value in stats.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, (int, float, str, bool)) or value is None:
            out[key] = value
        else:
            out[key] = str(value)
    return out


def notes(stats: dict, spool_file: Path | None) -> list[dict]:
    """Return what an operator should know about the run beyond the counts."""
    notes = []
    if spool_file is not None:
        notes.append(
            {
                "kind": "spooled",
                "file": str(spool_file),
                "items": stats.get("ctf/items_spooled", 0),
                "action": "ctforeclosure spool replay",
            }
        )
    if stats.get("ctf/search/records_mismatch"):
        notes.append(
            {"kind": "records_mismatch", "count": stats["ctf/search/records_mismatch"]}
        )
    if stats.get("ctf/sales/pager"):
        # The sales lists' pager markup is unknown: only page 1 of these was read.
        notes.append({"kind": "sales_pager", "count": stats["ctf/sales/pager"]})
    return notes


def status(reason: str, spooled: bool) -> str:
    """Return the run's status: finished, spooled or failed."""
    if spooled:
        return "spooled"
    return "finished" if reason == "finished" else "failed"


def listed_by_town(stats: dict) -> dict[str, int]:
    """Return canonical town -> dockets its complete search listed."""
    return {
        key[len(LISTED_STAT_PREFIX) :]: value
        for key, value in stats.items()
        if key.startswith(LISTED_STAT_PREFIX)
    }


def empty_towns(stats: dict) -> set[str]:
    """Return the towns this crawl found without any case."""
    empty = {t for t, n in listed_by_town(stats).items() if n == 0}
    empty |= {t for t, c in town_stats(stats).items() if c.get("parsed", 0) == 0}
    return empty


def town_stats(stats: dict) -> dict[str, dict[str, int]]:
    """Return town -> {"site": n, "parsed": m} from the cases spider's stats."""
    towns: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        if not key.startswith(TOWN_STAT_PREFIX):
            continue
        town, _, name = key[len(TOWN_STAT_PREFIX) :].rpartition("/")
        if name == "site_records":
            towns.setdefault(town, {})["site"] = value
        elif name == "rows_parsed":
            towns.setdefault(town, {})["parsed"] = value
    return towns
