"""``/verify`` (no login, every AB): "was this body accredited for this on that date?"

Enter an accreditation number — with the AB when two ABs use the same number — and optionally a
date (default today). The answer comes from the scope history (``scopes.services.scope_as_of``)
of an accreditation that is (or was) in the public directory: yes with the exact lines
accredited on that date, or no. It also answers for an entry whose listing period has ended
(rule 27: gone from the directory, still verifiable for past dates). Nothing unpublished is
looked at: an accreditation never published is "not found". Rate-limited per client address
(``VERIFY_RATE_LIMIT``, default 60 a minute: each answer reads the scope history).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from accreditor.directory import services
from accreditor.directory.models import status_label
from accreditor.extensions import limiter

bp = Blueprint("verify", __name__, url_prefix="/verify")

SHOWN_LINES = 500  # lines listed on the page; the count says how many there were


def _date(raw: str | None, errors: dict) -> date:
    if not raw:
        return date.today()
    try:
        on = date.fromisoformat(raw.strip())
    except ValueError:
        errors["on"] = _("Give the date as YYYY-MM-DD, e.g. 2025-06-30.")
        return date.today()
    if on > date.today():
        errors["on"] = _("Only a date up to today can be verified.")
    return on


@bp.get("/")
@limiter.limit(lambda: current_app.config["VERIFY_RATE_LIMIT"])
def verify():
    number = (request.args.get("number") or "").strip()[:60]
    ab = (request.args.get("ab") or "").strip()[:40]
    errors: dict[str, str] = {}
    on = _date(request.args.get("on"), errors)
    context = {"number": number, "ab": ab, "on": on, "on_raw": request.args.get("on", ""),
               "errors": errors, "candidates": [], "entry": None, "tenant": None,
               "lines": [], "line_count": 0, "status_label": status_label,
               "shown_lines": SHOWN_LINES, "today_date": date.today()}
    if not number or errors:
        return render_template("directory/verify.html", **context), 400 if errors else 200
    answer = services.verify_number(number, on, ab=ab or None)
    if answer.candidates:
        context["candidates"] = answer.candidates
        return render_template("directory/verify.html", **context)
    if not answer.found:
        return render_template("directory/verify.html", **context), 404
    context.update(entry=answer.entry, tenant=answer.tenant, line_count=len(answer.lines),
                   status_on=answer.status_on,
                   lines=[(i.position, i.summary) for i in answer.lines[:SHOWN_LINES]])
    return render_template("directory/verify.html", **context)
