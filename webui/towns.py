"""Towns and counties with their case counts (reference list: ctforeclosure.towns)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template

from ctforeclosure import towns as ct_towns
from ctforeclosure.db import cases
from webui.db import get_conn

bp = Blueprint("towns", __name__, url_prefix="/towns")


def town_counts(conn: sa.Connection) -> dict[str, tuple[int, int]]:
    """Return {search_town: (cases, active cases)}."""
    rows = conn.execute(
        sa.select(
            cases.c.search_town,
            sa.func.count(),
            sa.func.count().filter(cases.c.is_active.is_(True)),
        ).group_by(cases.c.search_town)
    ).all()
    return {town: (total, active) for town, total, active in rows}


def county_rows(conn: sa.Connection) -> list[dict]:
    """Return every county with its towns and case counts, from the reference list."""
    counts = town_counts(conn)
    out = []
    for county in ct_towns.counties():
        members = ct_towns.towns_in_county(county)
        town_rows = [
            {
                "name": t.name,
                "cases": counts.get(t.name, (0, 0))[0],
                "active": counts.get(t.name, (0, 0))[1],
            }
            for t in members
        ]
        out.append(
            {
                "county": county,
                "towns": town_rows,
                "cases": sum(r["cases"] for r in town_rows),
                "active": sum(r["active"] for r in town_rows),
            }
        )
    return out


@bp.get("/")
def index():
    """List counties and their towns with case counts."""
    return render_template("towns/index.html", counties=county_rows(get_conn()))
