"""Read the environment once, so Scrapy settings, the CLI and the web UI agree.

Every address, secret and location the project uses is named here and nowhere else.
Secrets (database passwords, API keys, the web session key) come from the environment
only: they are never Scrapy settings (so ``scrapy -s`` cannot set them and scrapyd
never echoes them) and ``repr()`` of a :class:`Config` hides them.
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
)


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


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
    contact: str | None = None

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
    def skiptrace_enabled_by_config(self) -> bool:
        """Skip tracing stays off until a BatchData base URL is configured."""
        return bool(self.batchdata_base_url)

    @property
    def batchdata_is_sandbox(self) -> bool:
        """Results from anything but the production API are sandbox results."""
        base = (self.batchdata_base_url or "").rstrip("/")
        return base != PRODUCTION_BATCHDATA_BASE_URL

    def remote_site_urls(self) -> dict[str, str]:
        """The sites a crawl may visit, by setting name."""
        return {
            "STATE_LIBRARY_TOWNS_URL": self.state_library_towns_url,
            "CTJUD_BASE_URL": self.ctjud_base_url,
            "CTJUD_SALES_BASE_URL": self.ctjud_sales_base_url,
        }

    def user_agent(self) -> str:
        """An honest User-Agent: who we are and how to reach the operator."""
        from ctforeclosure import __version__

        contact = self.contact or "offline replica run; set CONTACT for real sites"
        return f"ctforeclosure/{__version__} (+{PROJECT_URL}; contact: {contact})"


def load() -> Config:
    """Read the configuration from the environment (call again after it changes)."""
    nodes = tuple(
        n.strip().rstrip("/")
        for n in (_env("SCRAPYD_NODES") or "").split(",")
        if n.strip()
    )
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
        scrapyd_nodes=nodes,
        scrapyd_username=_env("SCRAPYD_USERNAME"),
        scrapyd_password=_env("SCRAPYD_PASSWORD"),
        secret_key=_env("CTF_SECRET_KEY"),
        contact=_env("CONTACT"),
    )
