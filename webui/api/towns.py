"""API resource: the 169 towns and the 8 counties, with their case counts."""

from __future__ import annotations

from flask import jsonify, request

from ctforeclosure import towns as ct_towns
from webui.api.common import bp, error, scope
from webui.db import get_conn
from webui.towns import county_rows


def _town_dict(town: ct_towns.Town) -> dict:
    return {
        "name": town.name,
        "county": town.county,
        "planning_region": town.planning_region,
    }


@bp.get("/towns")
@scope("read")
def towns_list():
    """List the 169 towns."""
    return jsonify([_town_dict(t) for t in ct_towns.all_towns()])


@bp.get("/towns/by-county/<county>")
@scope("read")
def towns_by_county(county: str):
    """List the towns of one county."""
    try:
        name = ct_towns.canonical_county(county)
    except ct_towns.UnknownCounty as exc:
        return error(404, str(exc))
    return jsonify([_town_dict(t) for t in ct_towns.towns_in_county(name)])


@bp.get("/towns/search")
@scope("read")
def towns_search():
    """Return towns whose name contains ``q`` (and the town ``q`` spells, if any)."""
    q = (request.args.get("q") or "").strip().lower()
    if not q:
        accepts = "a town name or part of one"
        return error(400, "q is required", parameter="q", accepts=accepts)
    found = [t for t in ct_towns.all_towns() if q in t.name.lower()]
    spelled = ct_towns.match(q)
    if spelled:  # the town the text names (or misspells) comes first
        found = [spelled, *(t for t in found if t != spelled)]
    return jsonify([_town_dict(t) for t in found])


@bp.get("/towns/validate/<name>")
@scope("read")
def towns_validate(name: str):
    """Say whether a name is a town, and which; suggest close towns if not."""
    try:
        town = ct_towns.canonical(name)
    except ct_towns.UnknownTown as exc:
        return jsonify(
            {"valid": False, "message": str(exc), "suggestions": exc.suggestions}
        )
    return jsonify({"valid": True, "town": _town_dict(town)})


@bp.get("/counties")
@scope("read")
def counties_list():
    """List counties with their number of towns and cases."""
    return jsonify(
        [
            {
                "county": c["county"],
                "towns": len(c["towns"]),
                "cases": c["cases"],
                "active": c["active"],
            }
            for c in county_rows(get_conn())
        ]
    )


@bp.get("/counties/<county>/stats")
@scope("read")
def county_stats(county: str):
    """Return one county's case counts, per town."""
    try:
        name = ct_towns.canonical_county(county)
    except ct_towns.UnknownCounty as exc:
        return error(404, str(exc))
    row = next(c for c in county_rows(get_conn()) if c["county"] == name)
    return jsonify(row)
