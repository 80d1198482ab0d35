"""What a crawl came to: complete, partial (with its incomplete towns) or failed.

A crawl whose search for a town was given up still closes with finish reason
``finished``; so the outcome is read from what the crawl did per town, not from the
finish reason alone. A town is incomplete when

- its search was given up, or the crawl stopped before it was done (the spider's
  ``towns_done()`` does not hold it: its searches and its case pages all finished);
- the site's "Records: n" and the rows parsed differ by more than the Scrapy setting
  ``CTF_TOWN_COUNT_TOLERANCE`` (default 0) for a search text that covers it;
- one of its case pages was given up (stats ``ctf/case_pages_given_up/<town>``).

The outcome is ``failed`` when the finish reason is not a normal end
(:func:`ended_normally`), else ``partial`` with incomplete towns, else ``complete``.
``lost`` is never decided here: the crawl that is lost is not there to say so
(``ctforeclosure.jobs.lost_jobs``). The crawl-run extension stores both, and puts
them in the stats (``ctf/outcome``, ``ctf/incomplete_towns``), so the crawl command
and scrapyd's log read them too.
"""

from __future__ import annotations

from ctforeclosure.signals import CASE_PAGES_GIVEN_UP_PREFIX, TOWN_STAT_PREFIX

COMPLETE, PARTIAL, FAILED, LOST = "complete", "partial", "failed", "lost"
#: Stats the outcome is put in: "partial", and "Meriden, Wallingford".
OUTCOME_STAT = "ctf/outcome"
INCOMPLETE_STAT = "ctf/incomplete_towns"
TOWN_SEPARATOR = ", "
#: Scrapy setting: how far "site says n" and "we parsed m" may differ for a town
#: that counts as complete.
TOLERANCE_SETTING = "CTF_TOWN_COUNT_TOLERANCE"
#: Finish reasons of a crawl that did its job, or stopped where the operator said.
NORMAL_REASONS = frozenset(
    {
        "finished",
        "shutdown",
        "closespider_timeout",
        "closespider_itemcount",
        "closespider_pagecount",
    }
)
#: The sales spider's per-town stats carry this before the town's name.
_SALES_PREFIX = "sales:"


def ended_normally(reason: str | None, settings) -> bool:
    """Return True for a finish reason that is not a failure."""
    expected = settings.getlist("CTF_EXPECTED_FINISH_REASONS", [])
    return reason is not None and (reason in NORMAL_REASONS or reason in expected)


def mismatched(stats: dict, tolerance: int) -> set[str]:
    """Return the search texts whose site count and rows parsed differ too much."""
    counts: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        if key.startswith(TOWN_STAT_PREFIX) and isinstance(value, int):
            term, _, name = key[len(TOWN_STAT_PREFIX) :].rpartition("/")
            counts.setdefault(term, {})[name] = value
    return {
        term
        for term, c in counts.items()
        if c.get("site_records") is not None
        and abs(c["site_records"] - c.get("rows_parsed", 0)) > tolerance
    }


def incomplete_towns(spider, stats: dict, tolerance: int) -> list[str]:
    """Return the towns the crawl did not finish, sorted."""
    town_terms: dict = getattr(spider, "town_terms", None) or {}
    incomplete: set[str] = set()
    for term in mismatched(stats, tolerance):
        covered = {town for town, needed in town_terms.items() if term in needed}
        incomplete |= covered or {term.removeprefix(_SALES_PREFIX)}
    incomplete |= {
        key[len(CASE_PAGES_GIVEN_UP_PREFIX) :]
        for key, value in stats.items()
        if key.startswith(CASE_PAGES_GIVEN_UP_PREFIX) and value
    }
    towns_done = getattr(spider, "towns_done", None)
    if callable(towns_done):
        targets = getattr(spider, "target_names", None) or set()
        incomplete |= set(targets) - set(towns_done())
    return sorted(incomplete)


def towns_done(spider) -> list[str]:
    """Return the towns the spider finished (searches and case pages), sorted."""
    done = getattr(spider, "towns_done", None)
    return sorted(done()) if callable(done) else []


def outcome(reason: str | None, incomplete: list[str], settings) -> str:
    """Return complete, partial or failed."""
    if not ended_normally(reason, settings):
        return FAILED
    return PARTIAL if incomplete else COMPLETE
