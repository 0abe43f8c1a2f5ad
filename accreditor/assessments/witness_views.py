"""Witness records and the MD 17 witnessing matrix (under /<tenant>/witnesses)."""

from flask import Blueprint

bp = Blueprint("witnesses", __name__, url_prefix="/witnesses")
