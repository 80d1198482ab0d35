"""Operations settings: the ``CTF_*`` variables of backups, retention and staleness.

``ctforeclosure.config`` reads the variables (as text); this module gives their
defaults and refuses bad values, so that a bad value stops that routine only:

=====================================  =========================  =================
``CTF_BACKUP_DIR``                     ``CTF_DATA_DIR/backups``   where backups go
``CTF_BACKUP_KEEP_DAILY``              ``7``                      newest per day
``CTF_BACKUP_KEEP_WEEKLY``             ``4``                      newest per week
``CTF_WEB_JOBS_RETENTION_DAYS``        ``30``                     finished web jobs
``CTF_LOGIN_FAILURES_RETENTION_DAYS``  ``7``                      sign-in counters
``CTF_CRAWL_STATS_RETENTION_DAYS``     ``90``                     crawl stats
``CTF_STALE_HOURS``                    ``48``                     a town not crawled
=====================================  =========================  =================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ctforeclosure import config

__all__ = ["OpsSettings"]


def _whole(cfg: config.Config, name: str, default: int) -> int:
    """Return one setting as a whole number of at least 1; refuse anything else."""
    raw = cfg.ops.get(name) or str(default)
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ValueError(f"{name}={raw!r} must be a whole number, at least 1")
    return int(raw)


@dataclass(frozen=True, kw_only=True)
class OpsSettings:
    """The checked operations settings (see the module docstring)."""

    backup_dir: Path
    keep_daily: int = 7
    keep_weekly: int = 4
    web_jobs_days: int = 30
    login_failures_days: int = 7
    crawl_stats_days: int = 90
    stale_hours: int = 48

    @classmethod
    def from_config(cls, cfg: config.Config) -> OpsSettings:
        """Return the settings; raise ValueError naming a bad variable."""
        backup_dir = cfg.ops.get("CTF_BACKUP_DIR")
        return cls(
            backup_dir=Path(backup_dir) if backup_dir else cfg.data_dir / "backups",
            keep_daily=_whole(cfg, "CTF_BACKUP_KEEP_DAILY", 7),
            keep_weekly=_whole(cfg, "CTF_BACKUP_KEEP_WEEKLY", 4),
            web_jobs_days=_whole(cfg, "CTF_WEB_JOBS_RETENTION_DAYS", 30),
            login_failures_days=_whole(cfg, "CTF_LOGIN_FAILURES_RETENTION_DAYS", 7),
            crawl_stats_days=_whole(cfg, "CTF_CRAWL_STATS_RETENTION_DAYS", 90),
            stale_hours=_whole(cfg, "CTF_STALE_HOURS", 48),
        )
