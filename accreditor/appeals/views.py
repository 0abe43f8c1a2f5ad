"""Appeal pages: staff (handling) and CAB portal (lodging, following, withdrawing)."""

from flask import Blueprint

bp = Blueprint("appeals", __name__, url_prefix="/appeals")
portal_bp = Blueprint("cab_appeals", __name__, url_prefix="/portal/appeals")
