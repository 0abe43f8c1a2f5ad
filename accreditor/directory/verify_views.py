"""``/verify`` (no login, every AB): "was this body accredited for this on that date?"

Enter an accreditation number — with the AB when two ABs use the same number — and optionally a
date (default today). The answer comes from the scope history (``scopes.services.scope_as_of``)
of an accreditation that is (or was) in the public directory: yes with the exact lines
accredited on that date, or no. It also answers for an entry whose listing period has ended
(rule 27: gone from the directory, still verifiable for past dates). Nothing unpublished is
looked at: an accreditation never published is "not found". Rate-limited per client address
(``VERIFY_RATE_LIMIT``, default 60 a minute: each answer reads the scope history) — one budget
shared with the API's ``/api/v1/<ab>/verify/<number>`` (:data:`verify_limit`).
"""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from accreditor.directory import services
from accreditor.directory.models import status_label
from accreditor.extensions import limiter

bp = Blueprint("verify", __name__, url_prefix="/verify")

SHOWN_LINES = 500  # lines listed on the page; the count says how many there were
_ISO_DATE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")

# One budget per client address for every verification, page and API alike.
verify_limit = limiter.shared_limit(lambda: current_app.config["VERIFY_RATE_LIMIT"],
                                    scope="verify", methods=["GET", "HEAD"])


def parse_day(raw: str | None) -> tuple[date | None, str | None]:
    """``on=`` of a verification: empty → today; else exactly YYYY-MM-DD, a real date, not in
    the future. Returns ``(date, None)`` or ``(None, message)`` (the page and the API)."""
    today = date.today()
    if raw is None or not raw.strip():
        return today, None
    on = None
    if _ISO_DATE.match(raw.strip()):
        try:
            on = date.fromisoformat(raw.strip())
        except ValueError:
            on = None
    if on is None:
        return None, _("Give the date as YYYY-MM-DD, e.g. 2025-06-30.")
    if on > today:
        return None, _("Only a date up to today can be verified.")
    return on, None


def _date(raw: str | None, errors: dict) -> date:
    on, problem = parse_day(raw)
    if problem:
        errors["on"] = problem
    return on or date.today()


@bp.get("/")
@verify_limit
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
