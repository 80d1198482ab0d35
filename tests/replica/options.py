"""The knobs of one replica run (seed, size, speed, faults), shared by all its parts."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Every fault the replica can inject (``--fault NAME``); see README.md.
FAULTS = frozenset(
    {
        "latency",  # every response is delayed (FAULT_LATENCY_SECONDS)
        "http-500",  # bursts of 500 responses
        "http-503",  # bursts of 503 responses with Retry-After
        "http-403",  # every request refused 403 Forbidden (the court blocking us)
        "drop-connection",  # some requests get the connection closed, no response
        "truncated-html",  # some HTML bodies are cut off mid-page
        "changed-layout",  # the results grid id is renamed (a redesign)
        "viewstate-expiry",  # sessions expire after a few requests
        "nobot-reject",  # every NoBot answer is refused
        "nobot-reject-some",  # bursts of refused NoBot answers (two in 2 * N)
        "nobot-reject-town",  # every NoBot answer to a search of fault_town refused
        "nobot-unknown-script",  # NoBot challenge only a browser can answer
        "robots-disallow",  # robots.txt says Disallow: /
        "sales-notice-500",  # every sale notice page answers 500
        "direct-case-pages-refused",  # a case page only right after its LoadDocket
        "address-other-town",  # some case pages' addresses name another town
        "case-page-500",  # some case pages always answer 500 (listing only)
        "zip-missing",  # some cases have no zip, on the grid nor the page
    }
)
STATELIB_LAYOUTS = ("entries", "table", "partial")
#: The pending-sales index's two markups (docs/SITES.md §5.1 (a) and (b)).
SALES_INDEX_LAYOUTS = ("panel", "grid")
#: Fixed fake key; must equal tests.replica.batchdata.TEST_API_KEY (a test checks).
BATCHDATA_API_KEY = "replica-test-key"


@dataclass(frozen=True)
class ReplicaOptions:
    """Options for one replica instance."""

    seed: int = 0
    cases: int = 5000
    fast: bool = False  # turn the NoBot timing rules off (unit tests)
    faults: frozenset[str] = field(default_factory=frozenset)
    day: int = 0
    towns: tuple[str, ...] | None = None  # only these canonical towns get cases
    abbreviate_towns: bool = False  # some grid rows say "E. HARTFORD"
    statelib_layout: str = "entries"
    capture_mode: bool = False  # serve scrubbed real captures for their towns
    nobot_min_delay: float | None = None  # None: toolkit default (2 s)
    nobot_window: float | None = None  # None: 60 s
    nobot_max_instances: int | None = None  # None: 5
    session_expire_after: int = 4  # requests per session under "viewstate-expiry"
    fault_every: int = 3  # how often a probabilistic fault hits (1 in N requests)
    fault_town: str = "Meriden"  # the town text "nobot-reject-town" refuses
    batchdata_rate_limit: int = 3000  # requests per minute
    server_timing: bool = False  # add a Server-Timing header (benchmarks only)
    sales_index_layout: str = "panel"  # pending-sales town index: panel | grid

    def __post_init__(self):
        # "batchdata-NAME" faults are passed on to the BatchData stand-in as NAME.
        unknown = {f for f in self.faults if not f.startswith("batchdata-")} - FAULTS
        if unknown:
            raise ValueError(
                f"unknown fault(s): {sorted(unknown)}; known: {sorted(FAULTS)}"
            )
        if self.sales_index_layout not in SALES_INDEX_LAYOUTS:
            raise ValueError(f"unknown sales index layout {self.sales_index_layout!r}")
        if self.statelib_layout not in STATELIB_LAYOUTS:
            raise ValueError(f"unknown layout {self.statelib_layout!r}")
