"""Content hashes that decide whether a stored case needs work.

The cases spider and the store share :func:`listing_hash`: a case page is fetched again
only when its search-grid row changed (or the stored page is old), and the upsert skips
unchanged cases by comparing hashes instead of rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from itemadapter import ItemAdapter

LISTING_FIELDS = (
    "docket_no",
    "listing_town",
    "listing_street",
    "listing_zip",
    "case_name",
    "property_type",
    "listing_disposition",
)


def _digest(values: Any) -> str:
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def listing_hash(case: Any) -> str:
    """Return the hash of a case's search-grid row (item, dataclass or mapping)."""
    data = case if isinstance(case, Mapping) else ItemAdapter(case).asdict()
    return _digest([data.get(name) for name in LISTING_FIELDS])


def content_hash(data: Mapping[str, Any], exclude: tuple[str, ...] = ()) -> str:
    """Return the hash of a whole mapping, without the named keys."""
    return _digest({k: v for k, v in data.items() if k not in exclude})
