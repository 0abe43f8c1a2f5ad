"""Staff pages for cabs (under /<tenant>/)."""

from flask import Blueprint

bp = Blueprint("cabs", __name__, url_prefix="/cabs")


@bp.get("/")
def index():  # placeholder until this capability's pages are written
    from flask import abort

    abort(404)
