"""The crawl's one database: engine, schema check, availability and the crawl's id.

Every component of a crawl that reads or writes the database (the upsert pipeline,
the crawl run, the site budget, the spider's look-ups of stored cases, skip
tracing) asks this extension for it with :meth:`CrawlDatabase.of`, so one crawl
process holds one engine and one answer to "can the database be used?". What the
components learn about the database they leave here, in memory, for the others:
why it was refused at start, the crawl run's id, the spool that took over when it
failed mid-crawl.

The engine connects lazily, when a component first uses it; :attr:`is_new` tells
look-ups that the embedded SQLite file did not exist, so that they need not create
it just to ask. It is disposed when the engine stops, after every ``spider_closed``
handler has run. Other extensions look it up when the spider opens, not in their own
``from_crawler`` (the crawler's extensions are still being built then); middlewares,
pipelines and the spider's ``start`` may look it up at once.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from scrapy import signals

from ctforeclosure import config
from ctforeclosure.db import make_engine
from ctforeclosure.migrate import SchemaNotCurrent, require_current

__all__ = ["CrawlDatabase"]

logger = logging.getLogger(__name__)


class CrawlDatabase:
    """Hold the crawl's engine and what is known about the database."""

    def __init__(self, cfg: config.Config):
        self.url_redacted = cfg.database_url_redacted
        self.engine: sa.Engine = make_engine(cfg.database_url)
        #: Why the database cannot be used (set by :meth:`check`), or None.
        self.unavailable: str | None = None
        #: The id of this crawl's ``crawl_runs`` row once it is written.
        self.crawl_id: int | None = None
        #: The spool the upsert pipeline writes to since the database failed
        #: mid-crawl, or None.
        self.spool_file: Path | None = None
        #: The upsert pipeline's flushes: how many have begun, and the number of the
        #: last one after which every item it had been given was committed. A town
        #: the spider finished while ``batches_begun`` was n has all its items in
        #: the database once ``batches_stored`` > n (the heartbeat reports only
        #: such towns complete: a killed crawl loses what was still in its batch).
        self.batches_begun = 0
        self.batches_stored = 0
        self._checked = False
        self._embedded_missing = (
            not cfg.database_url_env and not cfg.default_database_path.exists()
        )

    @classmethod
    def from_crawler(cls, crawler) -> CrawlDatabase:
        ext = cls(config.load())
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    @classmethod
    def of(cls, crawler) -> CrawlDatabase:
        """Return the crawl's database (the extension must be enabled)."""
        ext = crawler.get_extension(cls)
        if ext is None:
            raise RuntimeError(
                "ctforeclosure.extensions.database.CrawlDatabase is not enabled "
                "(EXTENSIONS): the crawl has no database"
            )
        return ext

    @property
    def is_new(self) -> bool:
        """True when the embedded database did not exist when the crawl started."""
        return self._embedded_missing

    def check(self) -> str | None:
        """Check once that the schema is current; return why it cannot be used."""
        if not self._checked:
            self._checked = True
            try:
                require_current(self.engine)
            except (SchemaNotCurrent, sa.exc.SQLAlchemyError) as exc:
                text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.unavailable = text
                # The crawl closes before Scrapy's engine starts: no engine_stopped.
                self.engine.dispose()
                logger.error(
                    "Database %s cannot be used, so the crawl does not start: %s",
                    self.url_redacted,
                    text,
                )
        return self.unavailable

    def engine_stopped(self) -> None:
        self.engine.dispose()
