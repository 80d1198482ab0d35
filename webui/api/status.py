"""API resource: the system's status (admin scope): the same answer as the status
page, from :mod:`ctforeclosure.ops.status`."""

from __future__ import annotations

from flask import jsonify

from ctforeclosure import config
from ctforeclosure.ops import status as ops_status
from webui.api.common import bp, scope
from webui.db import get_engine


@bp.get("/status")
@scope("admin")
def system_status():
    """Return the database, scrapyd nodes, kill switch, budgets, spool and towns."""
    return jsonify(ops_status.snapshot(config.load(), get_engine()))
