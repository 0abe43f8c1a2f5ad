"""CAB portal: assessment plans, teams and objections (under /<tenant>/portal/assessments)."""

from flask import Blueprint

bp = Blueprint("cab_assessments", __name__, url_prefix="/portal/assessments")
