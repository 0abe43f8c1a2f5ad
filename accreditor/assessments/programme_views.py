"""Accreditation cycle programme, coverage and witnessing (under /<tenant>/programme)."""

from flask import Blueprint

bp = Blueprint("programme", __name__, url_prefix="/programme")
