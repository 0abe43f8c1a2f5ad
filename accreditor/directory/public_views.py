"""``/directory/`` (no login): the directory of every active AB on this deployment, searchable.

The same page as ``/<tenant>/directory/`` (``views.search_page``) with the accreditation body
as one more filter; each hit links to its entry page under its AB
(``/<slug>/directory/<number>``).
"""

from __future__ import annotations

from flask import Blueprint

from accreditor.directory.views import search_limit, search_page

bp = Blueprint("public_directory", __name__, url_prefix="/directory")


@bp.get("/")
@search_limit
def index():
    return search_page(tenant=None)
