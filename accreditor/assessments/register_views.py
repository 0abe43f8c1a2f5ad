"""Assessor register and declarations (under /<tenant>/assessors)."""

from flask import Blueprint

bp = Blueprint("assessors", __name__, url_prefix="/assessors")
