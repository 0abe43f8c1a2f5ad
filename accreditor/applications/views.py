"""Staff pages for applications (under /<tenant>/)."""

from flask import Blueprint

bp = Blueprint("applications", __name__, url_prefix="/applications")


@bp.get("/")
def index():  # placeholder until this capability's pages are written
    from flask import abort

    abort(404)
