"""The data-quality report: what the pipelines flagged on stored cases, per town and
per flag, each count a link to the cases list filtered to those cases, and the
counts of each crawl (its trend). Managers and admins only: it is for whoever
fixes the crawls, and its links open the case lists."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from pydantic import Field

from ctforeclosure.store import quality
from webui import params, queries
from webui.auth import require_role
from webui.db import get_conn

bp = Blueprint("quality", __name__, url_prefix="/quality")
#: How many of the newest cases crawls the trend shows.
TREND_CRAWLS = 20


class QualityArgs(params.QueryArgs):
    """The report's one parameter: "not seen" means missed by this many crawls."""

    missed: queries.MissedCrawls = Field(3, description=queries.MISSED_TEXT)


@bp.get("/")
@require_role("manager")
def index():
    """Show flagged cases per town and flag, and the flags of each recent crawl."""
    args = params.parse(QualityArgs, request.args)
    conn = get_conn()
    towns = quality.town_report(conn, args.missed)
    totals = {
        name: sum(t.counts[name] for t in towns) for name in quality.QUALITY_FLAGS
    }
    return render_template(
        "quality/index.html",
        flags=quality.QUALITY_FLAGS,
        towns=[t for t in towns if any(t.counts.values())],
        totals=totals,
        cases=sum(t.cases for t in towns),
        missed=args.missed,
        trend=quality.trend(conn, TREND_CRAWLS),
    )
