"""Skip-trace settings: the ``SKIPTRACE_*`` variables' defaults and checks.

``ctforeclosure.config`` reads the variables (as text); this module gives their
defaults, turns them into numbers and refuses bad values, so that a bad value stops
skip tracing only. The vendor's address and key are ``Config`` fields too
(``BATCHDATA_BASE_URL``, ``BATCHDATA_API_KEY``). The variables:

=============================  ========  =============================================
``SKIPTRACE_ENABLED``          ``0``     the crawl pipeline stage traces new parties
``SKIPTRACE_UNIT_COST``        ``0.07``  dollars billed per matched record
``SKIPTRACE_RUN_BUDGET``       ``50``    most dollars one run may spend
``SKIPTRACE_MONTHLY_BUDGET``   ``500``   most dollars per calendar month (UTC)
``SKIPTRACE_DEDUPE_DAYS``      ``180``   a person+address traced this recently is reused
``SKIPTRACE_RETENTION_DAYS``   ``365``   results older than this are purged
``SKIPTRACE_BATCH_SIZE``       ``100``   records per API call (the API takes <= 100)
``SKIPTRACE_CONNECT_TIMEOUT``  ``10``    seconds to connect
``SKIPTRACE_READ_TIMEOUT``     ``60``    seconds to wait for an answer once sent
``SKIPTRACE_MAX_RETRIES``      ``5``     retries on 429, 5xx and failed connects
``SKIPTRACE_BACKOFF``          ``1``     first retry delay in seconds (then doubled)
=============================  ========  =============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ctforeclosure import config

__all__ = ["DEFAULT_UNIT_COST", "SkipTraceSettings"]

#: UNVERIFIED (docs/SITES.md §9): BatchData publishes no price; a third-party note says
#: $0.07 per record. Set SKIPTRACE_UNIT_COST to the contract price.
DEFAULT_UNIT_COST = "0.07"
#: The API takes up to 100 request items per call (docs/SITES.md §7.2).
MAX_BATCH_SIZE = 100


def _limit(cfg: config.Config, name: str, default: str, kind=str):
    """Return one ``SKIPTRACE_*`` limit as ``kind``; refuse a bad or negative one."""
    raw = cfg.skiptrace_limits.get(name) or default
    try:
        value = kind(raw)
    except (ValueError, ArithmeticError) as exc:
        raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from exc
    if kind is not str and value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value


@dataclass(frozen=True, kw_only=True)
class SkipTraceSettings:
    """Tunable limits of the skip-trace service (see the module docstring)."""

    unit_cost: Decimal = Decimal(DEFAULT_UNIT_COST)
    run_budget: Decimal = Decimal("50")
    monthly_budget: Decimal = Decimal("500")
    dedupe_days: int = 180
    retention_days: int = 365
    batch_size: int = MAX_BATCH_SIZE
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 5
    backoff: float = 1.0

    @classmethod
    def from_config(cls, cfg: config.Config) -> SkipTraceSettings:
        """Check the ``SKIPTRACE_*`` limits (defaults as in the module docstring)."""
        batch_size = _limit(cfg, "SKIPTRACE_BATCH_SIZE", "100", int)
        return cls(
            unit_cost=_limit(cfg, "SKIPTRACE_UNIT_COST", DEFAULT_UNIT_COST, Decimal),
            run_budget=_limit(cfg, "SKIPTRACE_RUN_BUDGET", "50", Decimal),
            monthly_budget=_limit(cfg, "SKIPTRACE_MONTHLY_BUDGET", "500", Decimal),
            dedupe_days=_limit(cfg, "SKIPTRACE_DEDUPE_DAYS", "180", int),
            retention_days=_limit(cfg, "SKIPTRACE_RETENTION_DAYS", "365", int),
            batch_size=max(1, min(MAX_BATCH_SIZE, batch_size)),
            connect_timeout=_limit(cfg, "SKIPTRACE_CONNECT_TIMEOUT", "10", float),
            read_timeout=_limit(cfg, "SKIPTRACE_READ_TIMEOUT", "60", float),
            max_retries=_limit(cfg, "SKIPTRACE_MAX_RETRIES", "5", int),
            backoff=_limit(cfg, "SKIPTRACE_BACKOFF", "1", float),
        )
