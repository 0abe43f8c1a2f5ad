"""Public directory pages of one AB (no login)."""

from flask import Blueprint

bp = Blueprint("directory", __name__, url_prefix="/directory")
