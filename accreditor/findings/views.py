"""Staff pages for findings (placeholder endpoints; filled in below)."""

from __future__ import annotations

from flask import Blueprint, abort

from accreditor.core.permissions import staff_only_or_404

bp = Blueprint("findings", __name__, url_prefix="/findings")
bp.before_request(staff_only_or_404)


@bp.get("/")
def index():
    abort(404)


@bp.get("/dashboard")
def dashboard():
    abort(404)


@bp.get("/<int:finding_id>")
def show(finding_id: int):
    abort(404)
