"""CAB portal pages for findings (placeholder endpoints; filled in below)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("cab_findings", __name__, url_prefix="/portal/findings")


@bp.get("/")
def index():
    abort(404)


@bp.get("/<int:finding_id>")
def show(finding_id: int):
    abort(404)
