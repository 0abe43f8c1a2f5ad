"""Private iCalendar feeds (under /feeds, outside any tenant: the token names the tenant)."""

from flask import Blueprint

bp = Blueprint("calendar_feed", __name__, url_prefix="/feeds")
