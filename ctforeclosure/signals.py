"""Signals the crawl's components use to hand results to each other in memory.

Send with ``crawler.signals.send_catch_log(signal=..., **kwargs)`` (or
``send_catch_log_async`` when a listener may be ``async``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Crawl stats one component writes and another reads; counts that the crawl run
#: also keeps for people to see. ``ctf/town/<search term>/site_records`` and
#: ``.../rows_parsed``: the cases spider's per-term "site says n, we parsed m".
TOWN_STAT_PREFIX = "ctf/town/"
#: ``ctf/listed/<canonical town>``: dockets a complete search of the town listed
#: (the upsert pipeline, per ``town_search_complete``).
LISTED_STAT_PREFIX = "ctf/listed/"
#: ``ctf/case_pages_given_up/<canonical town>``: case pages of the town the cases
#: spider gave up on (its listing kept); the town counts as incomplete.
CASE_PAGES_GIVEN_UP_PREFIX = "ctf/case_pages_given_up/"

#: The cases spider finished a *complete* search of one town (every results page
#: read). kwargs: ``town`` (canonical name), ``dockets`` (set of compact dockets the
#: search listed for that town), ``site_total`` (the site's "Records: a-b of n" n).
#: The upsert pipeline marks the town's stored cases missing from ``dockets`` as
#: "no longer listed".
town_search_complete = object()

#: The sales spider read one town's complete sales list (no pager, as many rows as
#: the index counts). kwargs: ``town`` (canonical name), ``posting_ids`` (the
#: postings it lists). The upsert pipeline unlists the town's stored postings
#: missing from it, at the final flush.
sales_town_complete = object()

#: The upsert pipeline stored a batch. kwargs: ``new_parties``, a list of dicts
#: ``{"party_id", "docket_no", "party_no", "role", "category", "name"}`` for
#: parties inserted by this flush (never re-sent). The skip-trace extension listens.
parties_stored = object()

#: The crawl-run extension closed the crawl's run, whether or not the database took
#: its closing values (they wait beside the spool when it did not). kwargs:
#: ``record``, a :class:`CrawlRunRecord`. The alerts extension listens.
crawl_recorded = object()


@dataclass(frozen=True)
class CrawlRunRecord:
    """What a closed crawl run says: its id, status, finish reason and checks."""

    id: int
    status: str  # finished | spooled | failed
    finish_reason: str
    #: ``[{"name", "passed", "message"}]``, one per end-of-crawl check.
    checks: list[dict] = field(default_factory=list)
    outcome: str = "complete"  # complete | partial | failed
    #: The towns the crawl did not finish (``extensions.crawl_outcome``).
    incomplete_towns: list[str] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[str]:
        """Return the names of the checks that failed."""
        return [c["name"] for c in self.checks if not c["passed"]]
