"""Complaint pages: the public form (no login) and the staff register."""

from flask import Blueprint

bp = Blueprint("complaints", __name__, url_prefix="/complaints")
