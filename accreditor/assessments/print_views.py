"""Printable assessment plans and reports, HTML and PDF (under /<tenant>/print)."""

from flask import Blueprint

bp = Blueprint("assessment_print", __name__, url_prefix="/print")
