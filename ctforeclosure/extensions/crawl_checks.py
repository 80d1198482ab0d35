"""End-of-crawl checks (Spidermon monitors) whose results are stored on the run.

The crawl-run extension runs :class:`CrawlChecks` when a spider closes and
stores each check's outcome in ``crawl_runs.checks``; a failed check is logged at
ERROR with its message, so it shows in the scrapyd log and the web UI, not only in
a stats dump.

Checks and their settings:

- finish reason is one of ``CTF_EXPECTED_FINISH_REASONS`` (default ``["finished"]``);
- logged errors (``log_count/ERROR``) at most ``CTF_MAX_ERRORS`` (default 0);
- validation drop rate (dropped / (stored + dropped)) at most ``CTF_MAX_DROP_RATE``
  (default 0.01);
- no town that had stored cases before this crawl returns none now (stats
  ``ctf/town/<term>/rows_parsed`` of the cases spider's search terms, and
  ``ctf/listed/<Town>`` of the upsert pipeline per complete town search).
"""

from __future__ import annotations

import logging

from spidermon import Monitor, MonitorSuite, monitors
from spidermon.runners import MonitorRunner
from spidermon.settings import MONITOR

from ctforeclosure.extensions.crawl_stats import empty_towns

logger = logging.getLogger(__name__)


class _CrawlMonitor(Monitor):
    longMessage = False  # our message only, not unittest's "x not less than y : "

    @property
    def stats(self):
        return self.data.stats

    @property
    def settings(self):
        return self.data.crawler.settings


@monitors.name("finish_reason")
class FinishReasonMonitor(_CrawlMonitor):
    """The crawl finished normally."""

    @monitors.name("finish reason is expected")
    def test_finish_reason(self):
        expected = self.settings.getlist("CTF_EXPECTED_FINISH_REASONS", ["finished"])
        reason = self.stats.get("finish_reason")
        self.assertIn(
            reason, expected, msg=f"finished with {reason!r}, expected {expected}"
        )


@monitors.name("error_count")
class ErrorCountMonitor(_CrawlMonitor):
    """Few enough errors were logged."""

    @monitors.name("logged errors within the limit")
    def test_error_count(self):
        limit = self.settings.getint("CTF_MAX_ERRORS", 0)
        errors = self.stats.get("log_count/ERROR", 0)
        self.assertLessEqual(
            errors, limit, msg=f"{errors} errors logged, at most {limit} allowed"
        )


@monitors.name("validation_drop_rate")
class DropRateMonitor(_CrawlMonitor):
    """Few items were dropped by validation."""

    @monitors.name("validation drop rate within the limit")
    def test_drop_rate(self):
        limit = self.settings.getfloat("CTF_MAX_DROP_RATE", 0.01)
        dropped = sum(v for k, v in self.stats.items() if k.startswith("ctf/dropped/"))
        total = dropped + self.stats.get("item_scraped_count", 0)
        rate = dropped / total if total else 0.0
        self.assertLessEqual(
            rate,
            limit,
            msg=f"{dropped} of {total} items dropped ({rate:.1%}), limit {limit:.1%}",
        )


@monitors.name("towns_still_listed")
class TownsStillListedMonitor(_CrawlMonitor):
    """No town that had cases before returns none now."""

    @monitors.name("no town lost all its cases")
    def test_towns(self):
        before = self.data.meta.get("town_cases_before", {})
        emptied = sorted(t for t in empty_towns(self.stats) if before.get(t, 0) > 0)
        self.assertFalse(
            emptied,
            msg="returned no case but had cases before: "
            + ", ".join(f"{t} ({before[t]})" for t in emptied),
        )


class CrawlChecks(MonitorSuite):
    """The checks every crawl run carries."""

    monitors = [
        FinishReasonMonitor,
        ErrorCountMonitor,
        DropRateMonitor,
        TownsStillListedMonitor,
    ]


def run_checks(crawler, stats: dict, town_cases_before: dict[str, int]) -> list[dict]:
    """Run :class:`CrawlChecks`; return ``[{"name", "passed", "message"}]``, logged."""
    runner = MonitorRunner()
    result = runner.run(
        CrawlChecks(crawler=crawler),
        stats=stats,
        crawler=crawler,
        meta={"town_cases_before": town_cases_before},
    )
    checks = []
    for item in result.monitor_results:
        monitor = item.monitor
        passed = item.status in MONITOR.STATUSES.SUCCESSFUL
        message = ""
        if not passed and item.error:
            # The assertion's own message is the last line of the traceback.
            message = item.error.strip().splitlines()[-1].split("AssertionError: ")[-1]
        checks.append(
            {"name": monitor.monitor_name, "passed": passed, "message": message}
        )
        if passed:
            logger.info("Check %s passed", monitor.monitor_name)
        else:
            logger.error("CHECK FAILED: %s: %s", monitor.monitor_name, message)
    return checks
