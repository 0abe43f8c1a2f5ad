"""The public JSON API (``/api/v1/…``) and its documentation (``/api/docs``).

SKELETON: ``register(app)`` is called by the app factory; the blueprints are not built yet.
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the API blueprints (and anything they need: CORS, rate limits, errors)."""
