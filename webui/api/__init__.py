"""The JSON API ``/api/v1``: read cases, sales, towns, defendants, skip traces,
crawls and the change feed; keep leads, notes and the do-not-contact list.

Authenticated with per-user API tokens (``Authorization: Bearer ctf_...``), never
with the session cookie, so CSRF cannot apply. Each token has scopes, never more
than its user's role allows, and a rate limit (:mod:`webui.api.guard`). Case data
comes from the court: the API does not create or edit cases. Tokens without the
``contacts`` scope get phones and emails masked, as viewers do on the pages.

One blueprint, one module per resource; :mod:`webui.api.common` holds what they
share (the blueprint, the scope each route declares, errors, paging, JSON values).
Importing a resource's module registers its routes.
"""

from __future__ import annotations

from flask import current_app, jsonify

# Each resource's module registers its routes on the blueprint when imported.
from webui.api import (  # noqa: F401
    cases,
    changes,
    defendants,
    guard,
    leads,
    sales,
    saved_searches,
    scraper,
    skiptraces,
    status,
    subscriptions,
    suppressions,
    towns,
)
from webui.api.common import bp, scope

__all__ = ["bp"]


@bp.get("/openapi.json")
@scope("read")
def openapi():
    """Return the OpenAPI 3.1 description of this API."""
    from webui.openapi import route_scopes, spec

    return jsonify(spec(route_scopes(current_app)))
