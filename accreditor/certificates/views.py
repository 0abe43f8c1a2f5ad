"""Downloads of rendered certificates and schedules (staff, CAB portal, public current issue)."""

from flask import Blueprint

bp = Blueprint("certificates", __name__, url_prefix="/certificates")
