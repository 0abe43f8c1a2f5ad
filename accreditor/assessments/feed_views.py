"""Private iCalendar feeds (under /feeds, outside any tenant: the token names the tenant).

A calendar application fetches ``/feeds/<token>.ics`` without a session. An unknown or revoked
token, or one whose owner is no longer an active assessor of that body, is a 404 that says
nothing more. Once the token has named the tenant, everything runs inside its tenant scope, so
the usual tenant filter applies to every query of the feed.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort

from accreditor.assessments import calendars
from accreditor.core.tenancy import tenant_scope
from accreditor.core.web import external_url

bp = Blueprint("calendar_feed", __name__, url_prefix="/feeds")


@bp.get("/<token>.ics")
def feed(token: str):
    owner = calendars.feed_owner(token)
    if owner is None:
        abort(404)
    with tenant_scope(owner.tenant):
        entries = calendars.feed_entries(owner.user_id, today=date.today())
        places = calendars.cities(entries)
        slug = owner.tenant.slug
        body = calendars.build_ics(
            entries, tenant=owner.tenant, user_id=owner.user_id, user_name=owner.user_name,
            places=places,
            link=lambda aid: external_url("tenant.assessments.show", tenant_slug=slug,
                                          assessment_id=aid))  # BASE_URL, not Host
    resp = Response(body, mimetype="text/calendar")
    resp.headers["Content-Disposition"] = 'inline; filename="assessments.ics"'
    # Personal data behind a secret URL: browsers and calendar clients may keep it, shared
    # caches and search engines may not.
    resp.headers["Cache-Control"] = "private, max-age=300"
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    return resp
