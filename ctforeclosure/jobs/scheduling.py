"""Schedule crawls on scrapyd nodes, list their jobs, cancel them.

The CLI (``ctforeclosure schedule|jobs|cancel``) and the web UI call this module; it
talks to scrapyd's HTTP API (:mod:`ctforeclosure.jobs.scrapyd_api`) and never runs
crawls itself. The kill switch (``pause``/``resume``) is in the database:
:mod:`ctforeclosure.store.site_budget`. API:

- :func:`schedule` posts one job per town (or per ``batch_size`` towns) to the node
  with the fewest pending + running jobs, optionally ``stagger`` seconds apart, and
  returns :class:`ScheduledJob` records. Town names go through
  :func:`ctforeclosure.towns.canonical` first, so a typo fails here, not in a job.
- :func:`list_jobs` returns :class:`Job` records across nodes. scrapyd lists a
  crashed job as "finished"; this reads each finished job's log (the stats dump, or
  the traceback) and reports it as ``failed`` with its reason.
- :func:`cancel` cancels a job on the node that has it.
- :func:`alert_crashed` alerts (once) on jobs that crashed before Scrapy could
  (a bad argument, an import error): ``ctforeclosure jobs --alert-crashed``.

Nodes come from ``SCRAPYD_NODES`` (comma-separated URLs) unless given; credentials
from ``SCRAPYD_USERNAME``/``SCRAPYD_PASSWORD``. Secrets are never job arguments or
settings (:func:`check_no_secrets`, the one rule for the CLI, the web UI and the
API): jobs read ``DATABASE_URL`` and ``BATCHDATA_API_KEY`` from scrapyd's
environment.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ctforeclosure import config, towns
from ctforeclosure.config import SECRET_ENV_VARS
from ctforeclosure.extensions.crawl_outcome import (
    INCOMPLETE_STAT,
    OUTCOME_STAT,
    TOWN_SEPARATOR,
)
from ctforeclosure.jobs.scrapyd_api import ScrapydClient, ScrapydError

__all__ = [
    "PROJECT",
    "Job",
    "NoNodes",
    "ScheduledJob",
    "SecretParameter",
    "alert_crashed",
    "cancel",
    "check_no_secrets",
    "list_jobs",
    "parse_log",
    "schedule",
]

logger = logging.getLogger(__name__)

#: The scrapyd project name (scrapy.cfg ``[deploy] project``).
PROJECT = "ctforeclosure"

# Scrapy's stats dump at the end of a job log: "'finish_reason': 'finished',"
_STAT_RE = re.compile(r"^\s*[{ ]?'(?P<key>[\w/.-]+)': (?P<value>'[^']*'|\d+)", re.M)
# The exception line that ends a traceback: "ctforeclosure.towns.UnknownTown: ..."
_EXCEPTION_RE = re.compile(r"^(?P<exc>[A-Za-z_][\w.]*(?::.*)?)$")
# "2026-11-24 02:00:01 [ctforeclosure.pipelines.upsert] ERROR: Database ..."
_ERROR_LINE_RE = re.compile(
    r"^\S+ \S+ \[[\w.]+\] (?:ERROR|CRITICAL): (?P<message>.*)$", re.M
)
#: Parts of a job parameter's name, any case, that mark it a secret
#: ("api_token", "ALERT_WEBHOOK_URL", "BATCHDATA_API_KEY").
SECRET_NAME_PARTS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "WEBHOOK")
#: Whole words of a name that mark it a secret (Scrapy's ``http_pass``).
SECRET_NAME_WORDS = frozenset({"PASS", "PWD", "CREDENTIALS"})
# Credentials in a URL: "s3://user:pw@bucket/x", "https://token@host/" (up to the
# first "/" after "://", so "https://host/?who=ops@example.org" is not one).
_URL_USERINFO_RE = re.compile(r"[A-Za-z][\w+.-]*://[^\s/@]+@")
# user:password@host without a scheme: "postgres:pw@db.example.org:5432/ctf".
_BARE_USERINFO_RE = re.compile(r"(?:^|[\s,;=\"'])[^\s:/@,;=\"']+:[^\s/@,;\"']+@\w")
#: Longest failure reason shown (a traceback line can be long; no data is in it).
MAX_REASON = 300


class NoNodes(RuntimeError):
    """No scrapyd node is configured or reachable."""


@dataclass(frozen=True)
class ScheduledJob:
    """One job posted to scrapyd."""

    node: str
    job_id: str
    towns: tuple[str, ...]


@dataclass
class Job:
    """One scrapyd job as an operator sees it."""

    node: str
    job_id: str
    spider: str
    state: str  # pending | running | finished | failed
    start_time: str | None = None
    end_time: str | None = None
    finish_reason: str | None = None
    items_scraped: int | None = None
    errors: int | None = None
    reason: str | None = None  # why it failed
    args: dict[str, str] = field(default_factory=dict)  # pending jobs only
    outcome: str | None = None  # complete | partial | failed, from its log's stats
    incomplete_towns: list[str] = field(default_factory=list)


def _nodes(nodes: Iterable[str] | None, cfg: config.Config) -> list[str]:
    chosen = [n.strip().rstrip("/") for n in (nodes or cfg.scrapyd_nodes) if n.strip()]
    if not chosen:
        raise NoNodes("no scrapyd node: set SCRAPYD_NODES or pass --nodes")
    return chosen


def _resolve_towns(
    town_names: Iterable[str] | None, county: str | None, all_towns: bool
) -> list[str]:
    chosen = [bool(town_names), bool(county), all_towns]
    if sum(chosen) != 1:
        raise ValueError("give exactly one of: towns, county, all_towns")
    if all_towns:
        return [t.name for t in towns.all_towns()]
    if county:
        return [t.name for t in towns.towns_in_county(county)]
    resolved: list[str] = []
    for name in town_names or ():
        town = towns.canonical(name).name
        if town not in resolved:
            resolved.append(town)
    return resolved


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _job_id(spider: str, batch: list[str]) -> str:
    if not batch:
        label = "all-towns"
    else:
        label = _slug(batch[0]) + (f"-and-{len(batch) - 1}" if len(batch) > 1 else "")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{spider}-{stamp}-{label}-{uuid.uuid4().hex[:6]}"


class SecretParameter(ValueError):
    """A job argument or setting that is, or carries, a secret."""


def check_no_secrets(mapping: dict[str, str], kind: str) -> None:
    """Refuse secrets as job arguments or settings: listjobs.json would show them.

    ``kind`` ("setting", "spider argument") names what is refused in the message,
    which names the parameter and never repeats its value.
    """
    for name, value in mapping.items():
        if reason := _secret_reason(name, str(value)):
            raise SecretParameter(
                f"{kind} {name} {reason}: scrapyd shows job {kind}s in listjobs.json "
                "to anyone with its password; give it to scrapyd's environment "
                "instead, where the crawl reads it"
            )


def _secret_reason(name: str, value: str) -> str | None:
    """Return why a parameter is a secret (its name or its value), or None."""
    upper = name.upper()
    words = set(re.split(r"[^A-Z0-9]+", upper))
    if (
        upper in SECRET_ENV_VARS
        or any(part in upper for part in SECRET_NAME_PARTS)
        or words & SECRET_NAME_WORDS
    ):
        return "is named like a secret"
    if _URL_USERINFO_RE.search(value) or _BARE_USERINFO_RE.search(value):
        return "holds credentials (user:password@host)"
    return None


#: Spiders that read one index of every town: ``--all`` posts one job with no town
#: argument (most towns have no pending sale; the index says which do).
ONE_JOB_SPIDERS = frozenset({"sales"})


def _batches(names: list[str], size: int, spider: str, all_towns: bool):
    """Return the town batches, one job each ([[]]: one job for every town)."""
    if all_towns and spider in ONE_JOB_SPIDERS:
        return [[]]
    return [names[i : i + size] for i in range(0, len(names), size)]


def _town_args(batch: list[str]) -> dict[str, str]:
    """Return the spider arguments naming a batch's towns (none for every town)."""
    if not batch:
        return {}
    if len(batch) == 1:
        return {"town": batch[0]}
    return {"towns": ",".join(batch)}


def schedule(
    *,
    towns: Iterable[str] | None = None,
    county: str | None = None,
    all_towns: bool = False,
    nodes: Iterable[str] | None = None,
    batch_size: int = 1,
    stagger: float = 0.0,
    spider: str = "cases",
    extra_args: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[ScheduledJob]:
    """Post crawl jobs for the towns over the nodes; return what was scheduled.

    Exactly one of ``towns`` (names, any spelling :func:`towns.canonical` accepts),
    ``county`` or ``all_towns``. Raises ``towns.UnknownTown``/``UnknownCounty`` before
    posting anything, :class:`NoNodes` when no node answers, ``ScrapydError`` when a
    node refuses a job. Nodes that do not answer are skipped (logged).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cfg = config.load()
    names = _resolve_towns(towns, county, all_towns)
    extra_args = dict(extra_args or {})
    settings = dict(settings or {})
    check_no_secrets(extra_args, "spider argument")
    check_no_secrets(settings, "setting")
    clients = [ScrapydClient.from_config(n, cfg) for n in _nodes(nodes, cfg)]
    loads: dict[str, int] = {}
    for client in clients:
        try:
            loads[client.url] = client.load()
        except ScrapydError as exc:
            logger.warning("skipping scrapyd node: %s", exc)
    live = [c for c in clients if c.url in loads]
    if not live:
        raise NoNodes("no scrapyd node answered: " + ", ".join(c.url for c in clients))
    batches = _batches(names, batch_size, spider, all_towns)
    scheduled: list[ScheduledJob] = []
    for index, batch in enumerate(batches):
        if index and stagger > 0:
            sleep(stagger)
        client = min(live, key=lambda c: loads[c.url])  # ties: the order given
        args = dict(extra_args) | _town_args(batch)
        job_id = client.schedule(
            PROJECT,
            spider,
            args=args,
            settings=settings,
            jobid=_job_id(spider, batch),
        )
        loads[client.url] += 1
        scheduled.append(ScheduledJob(client.url, job_id, tuple(batch)))
    return scheduled


def parse_log(text: str | None) -> dict:
    """Read a job log's outcome: finish reason, item and error counts, failure reason.

    Returns ``{"finish_reason", "items_scraped", "errors", "failed", "reason",
    "outcome", "incomplete_towns"}`` (the last two: the crawl run's, in its stats).
    """
    if not text:
        return {
            "finish_reason": None,
            "items_scraped": None,
            "errors": None,
            "failed": True,
            "reason": "no log kept for this job",
            "outcome": None,
            "incomplete_towns": [],
        }
    stats: dict[str, str | int] = {}
    dump = text.rfind("Dumping Scrapy stats:")
    if dump >= 0:
        for m in _STAT_RE.finditer(text[dump:]):
            value = m["value"]
            stats[m["key"]] = value.strip("'") if value.startswith("'") else int(value)
    finish_reason = stats.get("finish_reason")
    errors = int(stats.get("log_count/ERROR", 0)) + int(
        stats.get("log_count/CRITICAL", 0)
    )
    reason = None
    if finish_reason is None:
        reason = _last_exception(text) or "crashed before Scrapy dumped its stats"
    elif finish_reason != "finished":
        reason = f"finish_reason {finish_reason}"
        if detail := _last_exception(text) or _first_error(text):
            reason += f" ({detail})"
    elif stats.get("log_count/CRITICAL"):
        reason = _last_exception(text) or "critical errors in the log"
    return {
        "finish_reason": finish_reason,
        "items_scraped": int(stats.get("item_scraped_count", 0)) if stats else None,
        "errors": errors if stats else None,
        "failed": reason is not None,
        "reason": reason[:MAX_REASON] if reason else None,
        "outcome": stats.get(OUTCOME_STAT),
        "incomplete_towns": [
            t for t in str(stats.get(INCOMPLETE_STAT, "")).split(TOWN_SEPARATOR) if t
        ],
    }


def _first_error(text: str) -> str | None:
    m = _ERROR_LINE_RE.search(text)
    return m["message"] if m else None


def _last_exception(text: str) -> str | None:
    start = text.rfind("Traceback (most recent call last):")
    if start < 0:
        return None
    for line in text[start:].splitlines()[1:]:
        if line and not line[0].isspace() and (m := _EXCEPTION_RE.match(line)):
            return m["exc"]
    return None


def list_jobs(
    nodes: Iterable[str] | None = None, settled: Container[str] = ()
) -> list[Job]:
    """Return every job of the project on the nodes (unreachable nodes are logged).

    A finished job whose id is in ``settled`` (its outcome is recorded already) is
    listed without reading its log: state "finished", no outcome.
    """
    cfg = config.load()
    jobs: list[Job] = []
    for node in _nodes(nodes, cfg):
        client = ScrapydClient.from_config(node, cfg)
        try:
            listing = client.list_jobs(PROJECT)
        except ScrapydError as exc:
            if "not found" in str(exc):
                continue  # nothing deployed there yet
            logger.warning("cannot list jobs: %s", exc)
            continue
        for entry in listing.get("pending", []):
            args = {k: v for k, v in entry.get("args", {}).items() if k != "project"}
            jobs.append(Job(node, entry["id"], entry["spider"], "pending", args=args))
        for entry in listing.get("running", []):
            jobs.append(
                Job(
                    node,
                    entry["id"],
                    entry["spider"],
                    "running",
                    start_time=entry.get("start_time"),
                )
            )
        for entry in listing.get("finished", []):
            if entry["id"] in settled:
                jobs.append(Job(node, entry["id"], entry["spider"], "finished"))
                continue
            outcome = parse_log(client.log(PROJECT, entry["spider"], entry["id"]))
            jobs.append(
                Job(
                    node,
                    entry["id"],
                    entry["spider"],
                    "failed" if outcome["failed"] else "finished",
                    start_time=entry.get("start_time"),
                    end_time=entry.get("end_time"),
                    finish_reason=outcome["finish_reason"],
                    items_scraped=outcome["items_scraped"],
                    errors=outcome["errors"],
                    reason=outcome["reason"],
                    outcome=outcome["outcome"],
                    incomplete_towns=outcome["incomplete_towns"],
                )
            )
    return jobs


def cancel(job_id: str, node: str | None = None) -> list[tuple[str, str]]:
    """Cancel a job; return ``[(node, previous_state)]`` (empty when none had it)."""
    cfg = config.load()
    cancelled: list[tuple[str, str]] = []
    for url in _nodes([node] if node else None, cfg):
        client = ScrapydClient.from_config(url, cfg)
        try:
            listing = client.list_jobs(PROJECT)
        except ScrapydError as exc:
            logger.warning("cannot list jobs: %s", exc)
            continue
        active = listing.get("pending", []) + listing.get("running", [])
        if any(entry["id"] == job_id for entry in active):
            cancelled.append((client.url, client.cancel(PROJECT, job_id)))
    return cancelled


def alert_crashed(jobs: Iterable[Job], state_file: Path | None = None) -> list[Job]:
    """Alert once for each failed job without a finish reason; return those alerted.

    Crawls that close badly alert by themselves (``ctforeclosure.extensions.alerts``);
    a job that crashed before Scrapy ran (a bad argument) cannot, so this catches it
    from the job list. Job ids already alerted are kept in ``state_file``
    (default ``<CTF_DATA_DIR>/alerted_jobs.txt``).
    """
    from ctforeclosure.services import alerts

    state_file = state_file or config.load().data_dir / "alerted_jobs.txt"
    done = set(state_file.read_text().split()) if state_file.exists() else set()
    alerted = []
    for job in jobs:
        if job.state != "failed" or job.finish_reason or job.job_id in done:
            continue
        alerts.crawl_failed(
            spider=job.spider,
            reason=job.reason or "crashed",
            job_id=job.job_id,
            node=job.node,
        )
        alerted.append(job)
        state_file.parent.mkdir(parents=True, exist_ok=True)
        with state_file.open("a") as f:
            f.write(job.job_id + "\n")
    return alerted
