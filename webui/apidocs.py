"""The browsable API reference: ``/api/docs``, Swagger UI over the OpenAPI description.

Swagger UI's files come from the flask-swagger-ui package (it bundles
swagger-ui-dist), served from this app: no CDN, so the page works offline and on
staff networks that block one. Its own blueprint is not used: its page starts
Swagger UI with an inline script, which our Content-Security-Policy refuses; ours
loads ``static/apidocs.js`` instead. Everything here needs a staff sign-in (any
role); the description comes from a session-authenticated route, with the examples
of :mod:`webui.openapi_examples`, and "Try it out" sends the bearer token a person
enters under "Authorize" (the description's ``bearerAuth`` scheme).
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, current_app, jsonify, render_template

from webui import openapi, openapi_examples

#: swagger-ui-dist's files inside the flask-swagger-ui package.
SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"

bp = Blueprint(
    "apidocs",
    __name__,
    url_prefix="/api/docs",
    static_folder=SWAGGER_UI_DIST,
    static_url_path="/assets",
)


@bp.get("")
def index():
    """Show the API reference in Swagger UI."""
    return render_template("apidocs/index.html")


@bp.get("/openapi.json")
def description():
    """Return the OpenAPI description with its examples (for the page above)."""
    found = openapi.spec(openapi.route_scopes(current_app))
    return jsonify(openapi_examples.document(found))
