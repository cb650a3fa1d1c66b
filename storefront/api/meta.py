"""Liveness, the OpenAPI document and the interactive docs page (Swagger UI, served locally).

Swagger UI is vendored in ``storefront/swagger_ui/`` (npm ``swagger-ui-dist``, see its README):
version 5 renders OpenAPI 3.1, which the document is; no release on PyPI ships it.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, abort, request, send_from_directory, url_for

from storefront.openapi import document
from storefront.protection import DOCS_CSP
from storefront.responses import json_response

blueprint = Blueprint("meta", __name__)
SWAGGER_UI_VERSION = "5.36.0"
_ASSETS_DIR = Path(__file__).resolve().parent.parent / "swagger_ui"
_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>onec-sync storefront API</title>
<link rel="stylesheet" href="{css}"><link rel="icon" href="{icon}">
</head><body><div id="swagger-ui"></div>
<script src="{bundle}"></script><script src="{init}"></script>
</body></html>
"""
_INIT = """window.ui = SwaggerUIBundle({url: %s, dom_id: "#swagger-ui", deepLinking: true,
  persistAuthorization: true, tryItOutEnabled: true});
"""


@blueprint.get("/ping")
def ping() -> Response:
    return json_response({"ok": True}, headers={"Cache-Control": "no-store"})


@blueprint.get("/openapi.json")
def openapi() -> Response:
    server = request.script_root + "/api/v1"
    return json_response(document(server), headers={"Cache-Control": "public, max-age=300"})


@blueprint.get("/docs")
def docs() -> Response:
    page = _PAGE.format(
        css=url_for("meta.docs_asset", name="swagger-ui.css"),
        icon=url_for("meta.docs_asset", name="favicon-32x32.png"),
        bundle=url_for("meta.docs_asset", name="swagger-ui-bundle.js"),
        init=url_for("meta.docs_init"),
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.get("/docs/init.js")
def docs_init() -> Response:
    script = _INIT % _js_string(url_for("meta.openapi"))
    response = Response(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.get("/docs/assets/<name>")
def docs_asset(name: str) -> Response:
    if name not in _ASSETS:
        abort(404)
    response = send_from_directory(str(_ASSETS_DIR), name, max_age=86400)
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def _js_string(text: str) -> str:
    return json.dumps(text)
