"""The end of a crawl runs ``ctforeclosure notify``: a change waiting for a
subscriber reaches their webhook when any crawl ends (``scrapy runspider`` in a
subprocess, the receiver on 127.0.0.1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ctforeclosure import db, migrate
from tests.extensions.test_alerts import CLOSING_SPIDER
from tests.services.notify_parts import (
    SECRET_KEY,
    Receiver,
    new_cases,
    search,
    serve,
    staff,
    subscribe,
)

QUIET_SPIDER = CLOSING_SPIDER.replace(
    'raise CloseSpider("layout_changed")', "return None"
)


def _crawl(tmp_path, database_url: str, **env) -> None:
    spider = tmp_path / "spider.py"
    spider.write_text(QUIET_SPIDER)
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    subprocess.run(
        [scrapy, "runspider", str(spider), "-s", "LOG_LEVEL=INFO"],
        env=dict(
            os.environ,
            SCRAPY_SETTINGS_MODULE="ctforeclosure.settings",
            DATABASE_URL=database_url,
            CTF_SECRET_KEY=SECRET_KEY,
            CTF_WEBHOOK_ALLOW_HOSTS="127.0.0.1",
            **env,
        ),
        cwd=tmp_path,
        check=True,
        timeout=120,
    )


def test_the_end_of_a_crawl_delivers_what_is_waiting(tmp_path, sqlite_url):
    migrate.upgrade(sqlite_url)
    engine = db.make_engine(sqlite_url)
    receiver = Receiver()
    try:
        with engine.begin() as conn:
            ann = staff(conn)
            bethel = search(conn, ann, {"town": "Bethel"})
            made = subscribe(conn, ann, bethel, ["new_case"], webhook_url=receiver.url)
        with engine.begin() as conn:
            [docket] = new_cases(conn, "Bethel", 1)
    finally:
        engine.dispose()
    receiver.secret = made.webhook_secret
    serve(receiver)
    try:
        _crawl(tmp_path, sqlite_url)
    finally:
        receiver.shutdown()
    [post] = receiver.posts
    assert post["signed"] and post["body"]["docket_no"] == docket
