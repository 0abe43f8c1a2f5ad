"""Assessor and tenant calendars, iCalendar feeds (under /<tenant>/calendar)."""

from flask import Blueprint

bp = Blueprint("calendars", __name__, url_prefix="/calendar")
