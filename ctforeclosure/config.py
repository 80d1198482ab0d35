"""Read the environment once, so Scrapy settings, the CLI and the web UI agree.

This is the only module that reads ``os.environ`` (``tests/test_config.py`` checks
it): every address, secret, location and switch the project takes from the
environment is named here, and everything else receives a :class:`Config` or calls
:func:`load`. Secrets (database passwords, API keys, the web session key, the SMTP
password) come from the environment only: they are never Scrapy settings (so
``scrapy -s`` cannot set them and scrapyd never echoes them) and ``repr()`` of a
:class:`Config` hides them.

Values that must be checked (numbers, budgets) are kept as text and checked by the
code that uses them, so that a bad value stops that feature only, not every command.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

__all__ = ["SECRET_ENV_VARS", "Config", "load"]

DEFAULT_STATE_LIBRARY_TOWNS_URL = "https://libguides.ctstatelibrary.org/cttowns"
DEFAULT_CTJUD_BASE_URL = "https://civilinquiry.jud.ct.gov"
DEFAULT_CTJUD_SALES_BASE_URL = "https://sso.eservices.jud.ct.gov/foreclosures/Public"
PRODUCTION_BATCHDATA_BASE_URL = "https://api.batchdata.com/api/v1"
DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium"
PROJECT_URL = "https://github.com/ctforeclosure/ctforeclosure"

#: Environment variables that hold secrets. They must never become Scrapy settings,
#: scrapyd job arguments or log lines.
SECRET_ENV_VARS = (
    "DATABASE_URL",
    "BATCHDATA_API_KEY",
    "SCRAPYD_PASSWORD",
    "CTF_SECRET_KEY",
    "SMTP_PASSWORD",
    "CTF_SUPPRESSION_KEY",
)

#: The skip-trace limits, kept as text by variable name; ``SkipTraceSettings``
#: (``ctforeclosure.skiptrace.settings``) gives their defaults and checks them.
SKIPTRACE_LIMIT_VARS = (
    "SKIPTRACE_UNIT_COST",
    "SKIPTRACE_RUN_BUDGET",
    "SKIPTRACE_MONTHLY_BUDGET",
    "SKIPTRACE_DEDUPE_DAYS",
    "SKIPTRACE_RETENTION_DAYS",
    "SKIPTRACE_BATCH_SIZE",
    "SKIPTRACE_CONNECT_TIMEOUT",
    "SKIPTRACE_READ_TIMEOUT",
    "SKIPTRACE_MAX_RETRIES",
    "SKIPTRACE_BACKOFF",
)

#: The operations settings, kept as text by variable name; ``OpsSettings``
#: (``ctforeclosure.ops.settings``) gives their defaults and checks them.
OPS_VARS = (
    "CTF_BACKUP_DIR",
    "CTF_BACKUP_KEEP_DAILY",
    "CTF_BACKUP_KEEP_WEEKLY",
    "CTF_WEB_JOBS_RETENTION_DAYS",
    "CTF_LOGIN_FAILURES_RETENTION_DAYS",
    "CTF_CRAWL_STATS_RETENTION_DAYS",
    "CTF_STALE_HOURS",
)

_ON = frozenset({"1", "true", "yes", "on"})


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def _flag(name: str) -> bool:
    """Return an on/off variable: "1", "true", "yes" and "on" are on."""
    return (_env(name) or "").lower() in _ON


def _list(name: str) -> tuple[str, ...]:
    """Return a comma-separated variable's items, without blanks."""
    return tuple(item.strip() for item in (_env(name) or "").split(",") if item.strip())


def _default_data_dir() -> Path:
    xdg = _env("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "ctforeclosure"


def is_loopback_url(url: str) -> bool:
    """Return True when the URL points at this machine (the offline replica)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or url.startswith("file:"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, kw_only=True)
class Config:
    """The project's configuration, read from the environment by :func:`load`."""

    data_dir: Path
    database_url_env: str | None = field(default=None, repr=False)
    state_library_towns_url: str = DEFAULT_STATE_LIBRARY_TOWNS_URL
    ctjud_base_url: str = DEFAULT_CTJUD_BASE_URL
    ctjud_sales_base_url: str = DEFAULT_CTJUD_SALES_BASE_URL
    batchdata_base_url: str | None = None
    batchdata_api_key: str | None = field(default=None, repr=False)
    chromium_path: str = DEFAULT_CHROMIUM_PATH
    scrapyd_nodes: tuple[str, ...] = ()
    scrapyd_username: str | None = None
    scrapyd_password: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    # The do-not-contact list's hashing key (ctforeclosure.services.suppressions).
    suppression_key: str | None = field(default=None, repr=False)
    # The web UI: how many reverse proxies in front of it to believe, as text
    # (webui checks it).
    trusted_proxy_hops: str = "0"
    contact: str | None = None
    # API requests per minute per token (text; the web UI checks it, default 120).
    api_rate_limit: str | None = None
    # The most rows an export may hold (text; the web UI checks it); none: no limit.
    export_max_rows: str | None = None
    # The web UI's public address, for the links sent by email (password resets,
    # invitations); never taken from a request's Host header, which a client writes.
    base_url: str | None = None
    # Hosts (names or IP addresses) subscription webhooks may reach over http:// or
    # at a private, loopback or link-local address (ctforeclosure.services.webhooks).
    webhook_allow_hosts: tuple[str, ...] = ()
    # The crawl: ctforeclosure.settings makes Scrapy settings of these.
    judiciary_search_mode: str = "auto"
    crawl_window: str = ""
    skiptrace_enabled: bool = False
    skiptrace_limits: dict[str, str] = field(default_factory=dict)
    # Set by scrapyd and Scrapy for the processes they start.
    scrapy_job: str | None = None
    scrapy_check: bool = False
    node_name: str | None = None
    # A running crawl's heartbeat, and how old it may get before the crawl is lost
    # (ctforeclosure.extensions.heartbeat, ctforeclosure.jobs.lost_jobs).
    crawl_heartbeat_seconds: float = 60.0
    crawl_lost_minutes: float = 10.0
    # Alerts (ctforeclosure.services.alerts.AlertChannels).
    alert_webhook_url: str | None = None
    alert_email_from: str | None = None
    alert_email_to: tuple[str, ...] = ()
    smtp_host: str | None = None
    smtp_port: str | None = None
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_security: str = "starttls"
    # Operations (ctforeclosure.ops): backups, retention, staleness, logs; kept as
    # text, checked by ctforeclosure.ops.settings.
    ops: dict[str, str] = field(default_factory=dict)
    log_format: str = "text"
    # Where gunicorn's workers keep their metrics (prometheus_client's variable).
    metrics_dir: str | None = None

    @property
    def default_database_path(self) -> Path:
        return self.data_dir / "ctforeclosure.sqlite3"

    @property
    def database_url(self) -> str:
        """The database to use: ``DATABASE_URL``, else the embedded SQLite file."""
        if self.database_url_env:
            return self.database_url_env
        return f"sqlite:///{self.default_database_path}"

    @property
    def database_url_redacted(self) -> str:
        """The database URL with any password hidden, safe to print."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def rejects_dir(self) -> Path:
        return self.data_dir / "rejects"

    @property
    def batchdata_is_sandbox(self) -> bool:
        """Results from anything but the production API are sandbox results."""
        base = (self.batchdata_base_url or "").rstrip("/")
        return base != PRODUCTION_BATCHDATA_BASE_URL

    def user_agent(self) -> str:
        """An honest User-Agent: who we are and how to reach the operator."""
        from ctforeclosure import __version__

        contact = self.contact or "offline replica run; set CONTACT for real sites"
        return f"ctforeclosure/{__version__} (+{PROJECT_URL}; contact: {contact})"


def load() -> Config:
    """Read the configuration from the environment (call again after it changes)."""
    data_dir = Path(_env("CTF_DATA_DIR") or _default_data_dir()).expanduser().absolute()
    return Config(
        data_dir=data_dir,
        database_url_env=_env("DATABASE_URL"),
        state_library_towns_url=_env(
            "STATE_LIBRARY_TOWNS_URL", DEFAULT_STATE_LIBRARY_TOWNS_URL
        ),
        ctjud_base_url=_env("CTJUD_BASE_URL", DEFAULT_CTJUD_BASE_URL).rstrip("/"),
        ctjud_sales_base_url=_env(
            "CTJUD_SALES_BASE_URL", DEFAULT_CTJUD_SALES_BASE_URL
        ).rstrip("/"),
        batchdata_base_url=(_env("BATCHDATA_BASE_URL") or "").rstrip("/") or None,
        batchdata_api_key=_env("BATCHDATA_API_KEY"),
        chromium_path=_env("CHROMIUM_PATH", DEFAULT_CHROMIUM_PATH),
        scrapyd_nodes=tuple(node.rstrip("/") for node in _list("SCRAPYD_NODES")),
        scrapyd_username=_env("SCRAPYD_USERNAME"),
        scrapyd_password=_env("SCRAPYD_PASSWORD"),
        secret_key=_env("CTF_SECRET_KEY"),
        # The key of the do-not-contact list's hashes: changing it forgets the list.
        suppression_key=_env("CTF_SUPPRESSION_KEY"),
        # Reverse proxies in front of the web UI whose X-Forwarded-For and
        # X-Forwarded-Proto are believed (1 behind one TLS proxy); default 0: the
        # client is whoever connected, and the headers are ignored.
        trusted_proxy_hops=_env("CTF_TRUSTED_PROXY_HOPS", "0"),
        contact=_env("CONTACT"),
        # CTF_API_RATE_LIMIT: API requests a token may make per minute, e.g. "120".
        api_rate_limit=_env("CTF_API_RATE_LIMIT"),
        # CTF_EXPORT_MAX_ROWS: exports matching more rows are refused, e.g. "100000".
        export_max_rows=_env("CTF_EXPORT_MAX_ROWS"),
        # CTF_BASE_URL: e.g. "https://ctf.example.org"; unset: no reset by email.
        base_url=(_env("CTF_BASE_URL") or "").rstrip("/") or None,
        # CTF_WEBHOOK_ALLOW_HOSTS: e.g. "mattermost.internal,10.0.0.7"; unset: only
        # https:// webhooks to public addresses.
        webhook_allow_hosts=_list("CTF_WEBHOOK_ALLOW_HOSTS"),
        **_crawl_fields(),
        **_alert_fields(),
        ops={name: v for name in OPS_VARS if (v := _env(name)) is not None},
        # "json": one JSON object per log line (crawls and the web UI); "text".
        log_format=(_env("CTF_LOG_FORMAT") or "text").lower(),
        metrics_dir=_env("PROMETHEUS_MULTIPROC_DIR"),
    )


def _crawl_fields() -> dict:
    """Read the crawl's switches and the variables scrapyd and Scrapy set."""
    limits = {name: _env(name) for name in SKIPTRACE_LIMIT_VARS}
    return {
        # "auto": the browser only when plain HTTP is refused; "http"; "browser".
        "judiciary_search_mode": _env("JUDICIARY_SEARCH_MODE", "auto"),
        # e.g. "22:00-06:00" (nights only); empty = any time.
        "crawl_window": _env("CTF_CRAWL_WINDOW", ""),
        "skiptrace_enabled": _flag("SKIPTRACE_ENABLED"),
        "skiptrace_limits": {name: v for name, v in limits.items() if v is not None},
        # scrapyd gives each job it starts its job id.
        "scrapy_job": _env("SCRAPY_JOB"),
        # `scrapy check` sets it while it runs the contracts.
        "scrapy_check": bool(_env("SCRAPY_CHECK")),
        # The name crawl runs give this scrapyd node (default: the host name).
        "node_name": _env("CTF_NODE"),
        # Seconds between a running crawl's heartbeats (default 60: at most one a
        # minute); tests shorten it.
        "crawl_heartbeat_seconds": _positive("CTF_CRAWL_HEARTBEAT_SECONDS", 60.0),
        # Minutes without a heartbeat (fractions allowed) after which a crawl whose
        # node does not run it any more is lost (default 10).
        "crawl_lost_minutes": _positive("CTF_CRAWL_LOST_MINUTES", 10.0),
    }


def db_timeout_seconds() -> float:
    """Seconds a PostgreSQL server may leave a connection unanswered before it counts
    as down (``CTF_DB_TIMEOUT_SECONDS``, default 30): connecting, and data sent but
    not acknowledged. Without it a silent network partition (packets dropped, no
    reset) holds a crawl for TCP's ~15 minutes of retransmissions instead of letting
    it spool."""
    return _positive("CTF_DB_TIMEOUT_SECONDS", 30.0)


def _positive(name: str, default: float) -> float:
    """Read a positive number, or raise ValueError naming the variable."""
    text = _env(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a positive number, got {text!r}")
    return value


def _alert_fields() -> dict:
    """Read where alerts go: a webhook, email over SMTP, or both."""
    return {
        "alert_webhook_url": _env("ALERT_WEBHOOK_URL"),
        "alert_email_from": _env("ALERT_EMAIL_FROM"),
        "alert_email_to": _list("ALERT_EMAIL_TO"),
        "smtp_host": _env("SMTP_HOST"),
        "smtp_port": _env("SMTP_PORT"),
        "smtp_username": _env("SMTP_USERNAME"),
        "smtp_password": _env("SMTP_PASSWORD"),
        "smtp_security": (_env("SMTP_SECURITY") or "starttls").lower(),
    }
