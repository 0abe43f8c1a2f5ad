"""Assessor and tenant calendars, iCalendar feeds (under /<tenant>/calendar).

``index`` is the tenant calendar every AB staff role reads: a month grid or an agenda list of a
week or a month, narrowed by programme, type, status, team member, CAB and mode, with previous
and next. ``mine`` lists the signed-in person's own team assignments with their role, and lets
an assessor create (shown once), replace or revoke the private URL of their iCalendar feed (the
feed itself is served by ``feed_views`` outside the tenant URL space). CAB users get 404 here,
like on every staff assessment URL.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from accreditor.assessments import calendars
from accreditor.assessments.forms import (
    MODE_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
    ActionForm,
    assessment_labels,
)
from accreditor.cabs import services as cab_services
from accreditor.core.db import commit
from accreditor.core.errors import DomainError
from accreditor.core.forms import drop_invalid_filters
from accreditor.core.permissions import STAFF_ROLES, Role, has_role, require_role, staff_only_or_404
from accreditor.core.web import external_url
from accreditor.extensions import db
from accreditor.refdata import services as refdata

bp = Blueprint("calendars", __name__, url_prefix="/calendar")

READERS = tuple(STAFF_ROLES)
CELL_LIMIT = 6  # entries shown in one day of the month grid; the rest behind "+N more"
VIEWS = ("month", "agenda")
PERIODS = ("month", "week")


bp.before_request(staff_only_or_404)


bp.context_processor(assessment_labels)


class CalendarFilterForm(FlaskForm):
    """The calendar's filters: a GET form, so every filtered calendar has an address."""

    class Meta:
        csrf = False

    FILTERS = ("programme", "type", "status", "person", "lead", "cab_id", "mode")

    programme = SelectField(_l("Programme"), choices=[], validators=[Optional()])
    type = SelectField(_l("Type"), choices=[], validators=[Optional()])
    status = SelectField(_l("Status"), choices=[], validators=[Optional()])
    person = SelectField(_l("Lead or assessor"), choices=[], validators=[Optional()])
    lead = SelectField(_l("Their role"), choices=[
        SelectChoice("", _l("Any role on the team")), SelectChoice("1", _l("Lead only"))],
        validators=[Optional()])
    cab_id = SelectField(_l("CAB"), choices=[], validators=[Optional()])
    mode = SelectField(_l("Mode"), choices=[], validators=[Optional()])


def _filter_form() -> CalendarFilterForm:
    form = CalendarFilterForm(request.args)
    form.programme.choices = [SelectChoice("", _("All programmes"))] + [
        SelectChoice(str(p.id), f"{p.code} – {p.name}")
        for p in refdata.programmes(active_only=False)]
    form.type.choices = [SelectChoice("", _("Any type"))] + [
        SelectChoice(t.value, lbl) for t, lbl in TYPE_LABELS.items()]
    form.status.choices = [SelectChoice("", _("Any status"))] + [
        SelectChoice(s.value, lbl) for s, lbl in STATUS_LABELS.items()]
    form.person.choices = [SelectChoice("", _("Anyone"))] + [
        SelectChoice(str(uid), name) for uid, name in calendars.person_choices()]
    form.cab_id.choices = [SelectChoice("", _("All CABs"))] + [
        SelectChoice(str(cid), name) for cid, name in cab_services.cab_choices()]
    form.mode.choices = [SelectChoice("", _("Any mode"))] + [
        SelectChoice(m.value, lbl) for m, lbl in MODE_LABELS.items()]
    drop_invalid_filters(form, CalendarFilterForm.FILTERS)
    return form


def _as_filter(form: CalendarFilterForm) -> calendars.CalendarFilter:
    def num(value):
        return int(value) if value and str(value).isdigit() else None

    return calendars.CalendarFilter(
        programme_id=num(form.programme.data), type=form.type.data or None,
        status=form.status.data or None, person_id=num(form.person.data),
        lead_only=form.lead.data == "1", cab_id=num(form.cab_id.data),
        mode=form.mode.data or None)


def _day(value: str | None) -> date:
    """The day asked for, or today; years outside 1900–2999 are refused (today), so month and
    week arithmetic never leaves the calendar."""
    try:
        day = date.fromisoformat(value) if value else date.today()
    except ValueError:
        return date.today()
    return day if 1900 <= day.year <= 2999 else date.today()


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (_month_start(day) + timedelta(days=32)).replace(day=1)


def _prev_month(day: date) -> date:
    return (_month_start(day) - timedelta(days=1)).replace(day=1)


@bp.get("/")
@require_role(*READERS)
def index():
    view = request.args.get("view") if request.args.get("view") in VIEWS else "month"
    period = request.args.get("period") if request.args.get("period") in PERIODS else "month"
    if view == "month":
        period = "month"
    on = _day(request.args.get("on"))
    form = _filter_form()
    selected = _as_filter(form)
    filters = {name: getattr(form, name).data for name in CalendarFilterForm.FILTERS
               if getattr(form, name).data}

    grid: list[list[date]] = []
    if period == "week":
        first = on - timedelta(days=on.weekday())
        last = first + timedelta(days=6)
        prev_on, next_on = first - timedelta(days=7), first + timedelta(days=7)
        title = _("Week of %(d)s", d=format_date(first, "d MMMM y"))
    else:
        first = _month_start(on)
        last = _next_month(on) - timedelta(days=1)
        prev_on, next_on = _prev_month(on), _next_month(on)
        title = format_date(first, "MMMM y")
    shown_first, shown_last = first, last
    if view == "month":
        grid = calendars.month_grid(on)
        shown_first, shown_last = grid[0][0], grid[-1][-1]
    entries, more = calendars.calendar_entries(shown_first, shown_last, selected)
    days = calendars.by_day(entries, shown_first, shown_last) if view == "month" else {}
    here = {"view": view, "period": period, **filters}
    return render_template(
        "assessments/calendar/index.html", form=form, view=view, period=period, on=on,
        first=first, last=last, title=title, grid=grid, days=days, entries=entries, more=more,
        limit=calendars.MAX_ENTRIES, cell_limit=CELL_LIMIT, today=date.today(),
        weekday_names=[format_date(day, "EEE") for day in grid[0]] if grid else [],
        filters=filters, here=here,
        prev_url=url_for(".index", on=prev_on.isoformat(), **here),
        next_url=url_for(".index", on=next_on.isoformat(), **here),
        today_url=url_for(".index", **here),
        week_url=lambda day: url_for(".index", **{**here, "view": "agenda", "period": "week",
                                                  "on": day.isoformat()}),
        switch_urls={
            "month": url_for(".index", **{**here, "view": "month", "period": "month",
                                          "on": on.isoformat()}),
            "agenda_month": url_for(".index", **{**here, "view": "agenda", "period": "month",
                                                 "on": on.isoformat()}),
            "agenda_week": url_for(".index", **{**here, "view": "agenda", "period": "week",
                                                "on": on.isoformat()}),
        })


# -- my assignments and my feed ---------------------------------------------------------------


def _render_mine(*, new_token: str | None = None, refusal: str | None = None,
                 status: int = 200):
    page = max(1, request.args.get("past", 1, type=int) or 1)
    today = date.today()
    upcoming, past, older = calendars.assignments(current_user.id, today=today, past_page=page)
    is_assessor = has_role(Role.assessor)
    token = calendars.active_token(current_user.id) if is_assessor else None
    feed_url = webcal_url = None
    if new_token:
        feed_url = external_url("calendar_feed.feed", token=new_token)  # BASE_URL, not Host
        webcal_url = "webcal://" + feed_url.split("://", 1)[1]
    return render_template(
        "assessments/calendar/mine.html", upcoming=upcoming, past=past, older=older,
        page=page, today=today, is_assessor=is_assessor, token=token, feed_url=feed_url,
        webcal_url=webcal_url, refusal=refusal, action_form=ActionForm(formdata=None),
        upcoming_limit=calendars.UPCOMING_LIMIT), status


@bp.get("/mine")
@require_role(*READERS)
def mine():
    return _render_mine()


@bp.post("/mine/feed")
@require_role(*READERS)
def create_feed():
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        raw = calendars.create_feed_token(current_user._get_current_object())
    except DomainError as exc:
        db.session.rollback()
        return _render_mine(refusal=exc.message, status=exc.status)
    commit()
    # Shown on this response only (no redirect: the address must not sit in a flash cookie or
    # in the browser history); it cannot be shown again, since only its hash is kept.
    return _render_mine(new_token=raw)


@bp.post("/mine/feed/revoke")
@require_role(*READERS)
def revoke_feed():
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        calendars.revoke_feed_token(current_user._get_current_object())
    except DomainError as exc:
        db.session.rollback()
        return _render_mine(refusal=exc.message, status=exc.status)
    commit()
    flash(_("Calendar feed URL revoked: calendars subscribed to it no longer receive your "
            "assignments."), "success")
    return redirect(url_for(".mine"))
