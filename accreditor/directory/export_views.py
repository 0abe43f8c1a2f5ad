"""Open-data downloads: ``/<tenant>/directory/data/…`` (one AB) and ``/directory/data/…``
(every AB), each with its generation time.

SKELETON: the routes are not built yet.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("directory_data", __name__, url_prefix="/directory/data")  # under /<tenant>/
global_bp = Blueprint("open_data", __name__, url_prefix="/directory/data")
