"""The JSON API ``/api/v1``: read cases, towns, defendants, skip traces and crawls.

Authenticated with per-user API tokens (``Authorization: Bearer ctf_...``), never
with the session cookie, so CSRF cannot apply. Case data comes from the court: the API
does not create or edit cases. Viewers get phones and emails masked, as on the pages.

One blueprint, one module per resource; :mod:`webui.api.common` holds what they
share (the blueprint, authentication, errors, paging, JSON values). Importing a
resource's module registers its routes.
"""

from __future__ import annotations

from flask import jsonify

# Each resource's module registers its routes on the blueprint when imported.
from webui.api import cases, defendants, scraper, skiptraces, towns  # noqa: F401
from webui.api.common import bp

__all__ = ["bp"]


@bp.get("/openapi.json")
def openapi():
    """Return the OpenAPI 3.1 description of this API."""
    from webui.openapi import spec

    return jsonify(spec())
