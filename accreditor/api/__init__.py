"""The public JSON API (``/api/v1/…``) and its documentation (``/api/docs``).

``views`` serves the endpoints from the directory projection, ``spec`` is the OpenAPI 3.1
document (the one description of every answer, errors included), ``docs`` renders it as a page,
``http`` holds the error shape, caching/revalidation and CORS. See docs/api.md.
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the API blueprints (and anything they need: CORS, rate limits, errors)."""
    from accreditor.api import http
    from accreditor.api.docs import docs_bp
    from accreditor.api.views import bp
    from accreditor.extensions import csrf

    csrf.exempt(bp)  # GET only: nothing to protect
    app.register_blueprint(bp)
    app.register_blueprint(docs_bp)
    app.after_request(http.after_api_request)
