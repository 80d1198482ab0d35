"""Scrapy settings. Addresses come from ``ctforeclosure.config`` (the environment).

Secrets are deliberately NOT settings: components get them from ``config``, and
``ctforeclosure.extensions.startup_guard.StartupGuard`` refuses a crawl that tries
to pass one with ``-s`` (scrapyd would echo it in listjobs.json). Each value that
differs from Scrapy's default says why and what the default is.
"""

import os as _os

from ctforeclosure import config as _config

# Scrapy's cookie middleware asks tldextract for the public-suffix list, which by
# default downloads it from the internet on first use: a request to a host that is
# not the site being crawled, and a traceback on machines without internet. Use the
# snapshot tldextract ships instead (export the variable to choose otherwise).
# A write, not a read of the environment (config.py is the only reader): tldextract
# reads the variable itself, and this is the one place the project sets it.
_os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

_cfg = _config.load()

BOT_NAME = "ctforeclosure"
SPIDER_MODULES = ["ctforeclosure.spiders"]
# `scrapy crawl` exits 1 when the crawl's finish reason is a failure (Scrapy's exits
# 0 unless the crawler cannot start); scrapyd jobs run it too. Default "" (none).
COMMANDS_MODULE = "ctforeclosure.cli.scrapy_commands"
NEWSPIDER_MODULE = "ctforeclosure.spiders"

# Where the crawls go. Point these at the offline replica with
# `python -m tests.replica --print-env`.
STATE_LIBRARY_TOWNS_URL = _cfg.state_library_towns_url
CTJUD_BASE_URL = _cfg.ctjud_base_url
CTJUD_SALES_BASE_URL = _cfg.ctjud_sales_base_url
CHROMIUM_PATH = _cfg.chromium_path

# An honest client: who we are and how to reach the operator (CONTACT).
# Default: "Scrapy/VERSION (+https://scrapy.org)".
USER_AGENT = _cfg.user_agent()

# robots.txt is obeyed by default. The judiciary hosts reportedly disallow everything
# (docs/SITES.md §1.3): crawling them anyway is an explicit operator decision,
# `-s ROBOTSTXT_OBEY=False`, which the crawl logs and records. Default: False.
ROBOTSTXT_OBEY = True

# The court's site is a small load-balanced ASP.NET farm: be gentle.
CONCURRENT_REQUESTS = 8  # default 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2  # default 8
DOWNLOAD_DELAY = 1.0  # seconds between requests to one site; default 0
# A true minimum, not a mean: Scrapy's jitter (default 0.5) sends some requests
# after half the delay and, redrawing at each wake-up, averages more than the delay
# (BENCHMARKS.md "Cases spider", bench/cases_bench.py --polite). Default 0.5.
DOWNLOAD_DELAY_JITTER = 0.0
AUTOTHROTTLE_ENABLED = True  # back off when the site slows down; default False
AUTOTHROTTLE_START_DELAY = 2.0  # default 5
AUTOTHROTTLE_MAX_DELAY = 60.0  # default 60
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0  # default 1.0
DOWNLOAD_TIMEOUT = 60  # default 180: a stuck page should be retried sooner

# Retry transient failures; 429/503 honour Retry-After (ctforeclosure.middlewares).
RETRY_ENABLED = True
RETRY_TIMES = 5  # default 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Retries wait for Retry-After (capped) or back off exponentially from this base
# (ctforeclosure.middlewares.retry_after). Scrapy's own retries go at once.
RETRY_AFTER_MAX_SECONDS = 120.0
RETRY_BACKOFF_BASE = 1.0

# The cases spider (ctforeclosure.spiders.cases). The search page's NoBot control
# refuses a postback sooner than 2 s after the page was issued or more than 5 per
# client in 60 s (AjaxControlToolkit defaults; the site's own values are unknown,
# docs/SITES.md §1.2): the spider treats them as hard limits.
NOBOT_MIN_DELAY = 2.0
NOBOT_MAX_POSTBACKS = 5
NOBOT_WINDOW = 60.0
# "auto": plain HTTP, the browser only for a challenge of unknown form or a refused
# search; "http": never the browser; "browser": every search in Chromium.
JUDICIARY_SEARCH_MODE = _cfg.judiciary_search_mode
SEARCH_MAX_ATTEMPTS = 8  # fresh sessions per search before it is given up
CASE_MAX_ATTEMPTS = 5  # tries per case page (error page, truncated body)
# Open a case page directly in the session that searched its town (one request)
# rather than through LoadDocket's redirect (two). UNVERIFIED on the real site
# (docs/SITES.md §3.1); the crawl falls back to LoadDocket by itself when the site
# refuses it. Our own setting.
CASE_PAGES_DIRECT = True
# details=changed (the default) re-reads a case page whose grid row is unchanged once
# the stored page is this old, so docket entries added without a grid change (new
# motions, rescheduled hearings) are still picked up by a daily refresh.
DETAILS_MAX_AGE_DAYS = 7.0
# The sales spider re-reads a sale notice whose list row is unchanged once the stored
# notice is this old (a notice can change its deposit or committee without the row).
SALES_NOTICE_MAX_AGE_DAYS = 7.0
# Chromium for the browser fallback (scrapy-playwright; its download handlers are
# switched on by the cases spider only when the mode may need them).
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": CHROMIUM_PATH,
    "headless": True,
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    ],
}

# The judiciary hosts fail the TLS handshake at OpenSSL 3's default SECLEVEL=2
# (docs/SITES.md §1.3, reported by several scrapers; unverified here).
# Default: "DEFAULT".
DOWNLOADER_CLIENT_TLS_CIPHERS = "DEFAULT@SECLEVEL=1"

# Personal data must not reach logs that scrapyd serves over HTTP: INFO, and a log
# formatter that names dropped items by docket only. Default: DEBUG.
LOG_LEVEL = "INFO"

TELNETCONSOLE_ENABLED = False  # nobody should attach to a crawl; default True
# Scrapy 2.19's remote control runs Python sent over HTTP inside the crawl, whose
# environment holds DATABASE_URL and the API keys (on a scrapyd node, every job).
# Default: True.
REMOTE_CONTROL_ENABLED = False

# Every request to the judiciary hosts takes its turn from one budget shared by all
# crawl processes on all scrapyd nodes (ctforeclosure.middlewares.site_budget): one
# rate limit, one search session at a time, a crawl window and the kill switch.
# Placed after retries (550) so that each retry waits its turn too. Default: none.
DOWNLOADER_MIDDLEWARES = {
    "ctforeclosure.middlewares.site_budget.SiteBudgetMiddleware": 800,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "ctforeclosure.middlewares.retry_after.RetryAfterMiddleware": 550,
}
SITE_BUDGET_ENABLED = True
# Seconds between court requests across the deployment; None = DOWNLOAD_DELAY.
SITE_BUDGET_INTERVAL = None
SITE_BUDGET_POLL_SECONDS = 2.0  # how soon running crawls see `ctforeclosure pause`
SITE_BUDGET_SESSION_TTL = 120.0  # a crashed crawl's search session frees itself
# A session with nothing in flight this long ends (longer than a NoBot wait).
SITE_BUDGET_SESSION_GRACE = 75.0
# Crawl window, e.g. "22:00-06:00" (nights only); empty = any time.
SITE_BUDGET_WINDOW = _cfg.crawl_window  # CTF_CRAWL_WINDOW
SITE_BUDGET_TIMEZONE = "America/New_York"

EXTENSIONS = {
    "ctforeclosure.extensions.startup_guard.StartupGuard": 0,
    # The crawl's one database (engine, schema check, crawl id) for every component.
    "ctforeclosure.extensions.database.CrawlDatabase": 100,
    # Skip trace the new eligible defendants each upsert flush stores (costs money
    # per record). Also needs BATCHDATA_BASE_URL and BATCHDATA_API_KEY in the
    # environment; limits are SKIPTRACE_* variables (ctforeclosure.skiptrace.settings).
    "ctforeclosure.extensions.skiptrace.SkipTrace": 400,
    # The running crawl's heartbeat on its crawl_runs row, with the towns done, every
    # CTF_CRAWL_HEARTBEAT_SECONDS (default 60), so a lost crawl is found. Before the
    # crawl run: it stops beating before the run is closed.
    "ctforeclosure.extensions.heartbeat.CrawlHeartbeat": 450,
    # A crawl_runs row per crawl, with end-of-crawl checks (extensions.crawl_checks),
    # its outcome and incomplete towns (extensions.crawl_outcome).
    "ctforeclosure.extensions.crawl_run.CrawlRun": 500,
    # Webhook/email alert when a crawl ends with anything but "finished" or its
    # checks fail; off unless ALERT_WEBHOOK_URL or SMTP_HOST + ALERT_EMAIL_TO are set.
    "ctforeclosure.extensions.alerts.CrawlAlerts": 600,
    # CTF_LOG_FORMAT=json: one JSON object per log line, each with the crawl's id
    # (after the crawl run, which writes that id). Off by default.
    "ctforeclosure.extensions.json_logs.JsonLogs": 700,
    # One updating progress line on stdout, only when stdout is a terminal.
    "ctforeclosure.extensions.progress.CrawlProgress": 800,
}
# How far a town's "site says n" and "we parsed m" may differ before the crawl
# counts the town incomplete (outcome partial: extensions.crawl_outcome); default 0.
CTF_TOWN_COUNT_TOLERANCE = 0
# Off: no progress line even on a terminal (logs are unchanged either way).
PROGRESS_ENABLED = True

# Pipelines in order: validate -> normalise town -> upsert.
ITEM_PIPELINES = {
    "ctforeclosure.pipelines.validate.ValidatePipeline": 100,
    "ctforeclosure.pipelines.normalize_town.NormalizeTownPipeline": 200,
    "ctforeclosure.pipelines.upsert.UpsertPipeline": 300,
}

# Skip trace the new eligible defendants each flush stores (costs money per record;
# ctforeclosure.extensions.skiptrace). Also needs BATCHDATA_BASE_URL and
# BATCHDATA_API_KEY; limits are SKIPTRACE_* variables
# (ctforeclosure.skiptrace.settings). Default: off.
SKIPTRACE_ENABLED = _cfg.skiptrace_enabled

# The upsert pipeline stores items in batches, one transaction each: flushed at this
# many items, after this many seconds, and when the spider closes.
UPSERT_BATCH_SIZE = 500
UPSERT_FLUSH_SECONDS = 10.0

# Scrapy passes each callback's output through CONCURRENT_ITEMS asyncio tasks, all of
# them started for every response, though a case page yields one item and every
# pipeline here is synchronous (the upsert only batches): parallel items gain
# nothing, and the 100 tasks a response cost ~10 % of a crawl's CPU
# (BENCHMARKS.md, "Cases spider"). Default 100.
CONCURRENT_ITEMS = 1
# Scrapy re-reads a callback's source (inspect + ast) to warn when a generator
# returns a value, again each time the callback's bound method has been collected:
# about one case page in eight. tests/spiders/test_cases.py checks every spider
# callback once instead. Default True.
WARN_ON_GENERATOR_RETURN_VALUE = False

# Scrapy's default log formatter prints whole items (names, addresses) when it logs
# a scraped or dropped item; ours names the docket and the reason only.
# Default: "scrapy.logformatter.LogFormatter".
LOG_FORMATTER = "ctforeclosure.logformatter.SafeLogFormatter"

FEED_EXPORT_ENCODING = "utf-8"  # default None (ASCII-escaped JSON)

# `scrapy check` feeds callbacks saved pages (@fixture), so it runs offline.
# Default: {} (only Scrapy's own @url/@returns/@scrapes contracts).
SPIDER_CONTRACTS = {
    "ctforeclosure.contracts.FixtureContract": 10,
    "ctforeclosure.contracts.ValuesContract": 11,
}
