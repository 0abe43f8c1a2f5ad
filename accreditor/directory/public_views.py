"""``/directory`` (no login): the directory of every AB on this deployment, searchable.

SKELETON: the search page is not built yet.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public_directory", __name__, url_prefix="/directory")
