"""Staff pages for scopes (under /<tenant>/)."""

from flask import Blueprint

bp = Blueprint("scopes", __name__, url_prefix="/accreditations")
