"""AB admin pages for reference lists (under /<tenant>/settings/reference)."""

from flask import Blueprint

bp = Blueprint("refdata", __name__, url_prefix="/settings/reference")


@bp.get("/")
def index():  # placeholder until this capability's pages are written
    from flask import abort

    abort(404)
