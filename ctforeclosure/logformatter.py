"""A log formatter that never prints a whole item.

Scrapy's default formatter writes every scraped item at DEBUG and every dropped item
at WARNING, in full: party names, addresses and skip-trace phones would end up in the
logs scrapyd serves over HTTP. Here an item is named by its key only (the docket, or
the town), and a drop by that key and the pipeline's reason.
"""

from __future__ import annotations

import logging

from scrapy.logformatter import LogFormatter


def item_key(item) -> str:
    """Return a name for an item without personal data: "CaseItem HHDCV226160660S"."""
    kind = type(item).__name__
    for attr in ("docket_no", "town", "party_id"):
        value = getattr(item, attr, None)
        if value is None and isinstance(item, dict):
            value = item.get(attr)
        if value is not None:
            return f"{kind} {str(value)[:40]}"
    return kind


class SafeLogFormatter(LogFormatter):
    """Name items by key; never log their content."""

    def scraped(self, item, response, spider):
        return {
            "level": logging.DEBUG,
            "msg": "Scraped %(item)s",
            "args": {"item": item_key(item)},
        }

    def dropped(self, item, exception, response, spider):
        result = super().dropped(item, exception, response, spider)
        result["msg"] = "Dropped %(item)s: %(exception)s"
        result["args"] = {"item": item_key(item), "exception": exception}
        return result

    def item_error(self, item, exception, response, spider):
        return {
            "level": logging.ERROR,
            "msg": "Error processing %(item)s",
            "args": {"item": item_key(item)},
        }
