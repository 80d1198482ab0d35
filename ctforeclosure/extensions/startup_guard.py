"""Checks made before a crawl sends its first request.

- Secrets are environment-only: a ``-s DATABASE_URL=...`` (or any other secret) is
  refused, because scrapyd echoes settings in listjobs.json and logs them.
- A crawl of the real sites must say who runs it: without ``CONTACT`` it refuses to
  start, naming the variable to set (:func:`require_contact`, called by spiders).
"""

from __future__ import annotations

import logging

from scrapy.exceptions import NotConfigured, UsageError

from ctforeclosure import config
from ctforeclosure.config import SECRET_ENV_VARS, is_loopback_url

logger = logging.getLogger(__name__)


class StartupGuard:
    """Refuse a crawl whose settings would leak a secret or hide who we are."""

    def __init__(self, settings):
        leaked = [name for name in SECRET_ENV_VARS if settings.get(name) is not None]
        if leaked:
            raise UsageError(
                f"{', '.join(leaked)} cannot be given as a Scrapy setting (-s): "
                "secrets come from the environment only, so that scrapyd and the "
                "logs never show them. Export the variable instead."
            )

    @classmethod
    def from_crawler(cls, crawler):
        if crawler.settings.getbool("CTF_STARTUP_GUARD_DISABLED"):
            raise NotConfigured("startup guard disabled")
        return cls(crawler.settings)


def require_contact(settings, url_setting_names: tuple[str, ...]) -> None:
    """Refuse to crawl a real (non-loopback) site when CONTACT is not set.

    Spiders call this from ``from_crawler`` with the URL settings they will visit.
    """
    remote = sorted(
        {
            settings.get(name)
            for name in url_setting_names
            if settings.get(name) and not is_loopback_url(settings.get(name))
        }
    )
    if remote and not config.load().contact:
        raise UsageError(
            f"CONTACT is not set. A crawl of the real sites ({', '.join(remote)}) must "
            "identify its operator: export CONTACT='Your Name <you@example.org>' and "
            "it goes into the User-Agent, so the court can reach you instead of "
            "blocking you."
        )
