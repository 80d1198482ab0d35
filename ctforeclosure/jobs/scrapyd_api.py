"""A small client for scrapyd's HTTP API, so scheduling code never builds URLs by hand.

scrapyd (https://scrapyd.readthedocs.io/en/latest/api.html) answers JSON with a
``status`` of ``ok`` or ``error``; this client turns ``error`` and HTTP failures into
:class:`ScrapydError`. Basic auth comes from ``SCRAPYD_USERNAME``/``SCRAPYD_PASSWORD``
(``ctforeclosure.config``). Nothing secret is ever sent as a job argument or setting:
scrapyd echoes both in ``listjobs.json``.
"""

from __future__ import annotations

from urllib.parse import quote

import requests

from ctforeclosure import config

__all__ = ["ScrapydClient", "ScrapydError"]

#: Seconds to wait for one scrapyd call. Scheduling is a handful of small requests.
TIMEOUT = 30.0


class ScrapydError(RuntimeError):
    """A scrapyd node refused a call or could not be reached."""

    def __init__(self, node: str, message: str):
        super().__init__(f"{node}: {message}")
        self.node = node


class ScrapydClient:
    """One scrapyd node: ``http://host:6800`` (a reverse proxy path prefix is fine)."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = TIMEOUT,
    ):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if username is not None:
            self.session.auth = (username, password or "")

    @classmethod
    def from_config(cls, url: str, cfg: config.Config | None = None) -> ScrapydClient:
        """Return a client for ``url`` with the configured credentials."""
        cfg = cfg or config.load()
        return cls(url, username=cfg.scrapyd_username, password=cfg.scrapyd_password)

    def __repr__(self) -> str:
        return f"ScrapydClient({self.url!r})"

    def _call(self, method: str, endpoint: str, **kwargs) -> dict:
        try:
            response = self.session.request(
                method, f"{self.url}/{endpoint}", timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise ScrapydError(self.url, f"unreachable ({type(exc).__name__})") from exc
        if response.status_code == 401:
            raise ScrapydError(
                self.url, "401 Unauthorized: set SCRAPYD_USERNAME and SCRAPYD_PASSWORD"
            )
        if response.status_code != 200:
            raise ScrapydError(self.url, f"HTTP {response.status_code} on {endpoint}")
        try:
            data = response.json()
        except ValueError as exc:
            raise ScrapydError(self.url, f"{endpoint} did not answer JSON") from exc
        if data.get("status") != "ok":
            raise ScrapydError(self.url, f"{endpoint}: {data.get('message', data)}")
        return data

    def daemon_status(self) -> dict:
        """Return ``{"pending": n, "running": n, "finished": n, ...}``."""
        return self._call("GET", "daemonstatus.json")

    def load(self) -> int:
        """Return how many jobs the node has waiting or running."""
        status = self.daemon_status()
        return int(status.get("pending", 0)) + int(status.get("running", 0))

    def schedule(
        self,
        project: str,
        spider: str,
        *,
        args: dict[str, str] | None = None,
        settings: dict[str, str] | None = None,
        jobid: str | None = None,
    ) -> str:
        """Queue one job; return its job id."""
        data: list[tuple[str, str]] = [("project", project), ("spider", spider)]
        if jobid:
            data.append(("jobid", jobid))
        data.extend(("setting", f"{k}={v}") for k, v in (settings or {}).items())
        data.extend((k, str(v)) for k, v in (args or {}).items())
        return self._call("POST", "schedule.json", data=data)["jobid"]

    def list_jobs(self, project: str) -> dict:
        """Return ``{"pending": [...], "running": [...], "finished": [...]}``."""
        return self._call("GET", "listjobs.json", params={"project": project})

    def cancel(self, project: str, job: str) -> str:
        """Cancel a pending or running job; return its state before the cancel."""
        return self._call("POST", "cancel.json", data={"project": project, "job": job})[
            "prevstate"
        ]

    def log(self, project: str, spider: str, job: str) -> str | None:
        """Return a job's log text, or None when the node keeps no log for it."""
        path = "/".join(quote(part, safe="") for part in (project, spider, job))
        try:
            response = self.session.get(
                f"{self.url}/logs/{path}.log", timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise ScrapydError(self.url, f"unreachable ({type(exc).__name__})") from exc
        if response.status_code != 200:
            return None
        return response.content.decode("utf-8", errors="replace")
