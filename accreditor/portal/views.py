"""CAB portal pages (under /<tenant>/portal)."""

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.get("/")
def index():  # placeholder until this capability's pages are written
    from flask import abort

    abort(404)
