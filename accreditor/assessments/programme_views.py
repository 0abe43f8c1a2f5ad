"""Accreditation cycle programme and coverage (under /<tenant>/programme).

* ``/programme/``: every accreditation with its next assessment, last on-site assessment and
  the number of blocking problems in its programme;
* ``/programme/<accreditation_id>``: the cycle timeline, each assessment with the rules its
  dates break (rules 7–11), the "propose programme" button and per-assessment date adjustment;
* ``/programme/<accreditation_id>/coverage``: what each assessment of the cycle samples (scope
  lines, locations, MD 17 clusters and critical codes) and what remains uncovered.

Every AB staff role reads; admins and accreditation managers propose and move dates. CAB users
and other tenants get 404. Each page runs a fixed number of SQL statements whatever the size of
the scope or the number of assessments (the rules run in Python on loaded rows).
"""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import DateField
from wtforms.validators import InputRequired

from accreditor.assessments import programme, services
from accreditor.assessments.forms import (
    TYPE_LABELS,
    assessment_labels,
)
from accreditor.assessments.models import Assessment, AssessmentStatus
from accreditor.cabs.models import Cab
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, show_error
from accreditor.core.permissions import STAFF_ROLES, Role, has_role, require_role, staff_only_or_404
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.extensions import db
from accreditor.refdata.models import Programme
from accreditor.scopes import services as scope_services
from accreditor.scopes.labels import ACCREDITATION_STATUS_LABELS
from accreditor.scopes.models import LIVE_STATUSES, Accreditation
from accreditor.tenants.models import TenantPolicy

bp = Blueprint("programme", __name__, url_prefix="/programme")

READERS = tuple(STAFF_ROLES)
EDITORS = (Role.admin, Role.manager)
PAGE_SIZE = 50
LINES_PAGE_SIZE = 200
S = AssessmentStatus



class DatesForm(FlaskForm):
    planned_start_on = DateField(_l("Planned start"), validators=[InputRequired()])
    planned_end_on = DateField(_l("Planned end"), validators=[InputRequired()])


bp.before_request(staff_only_or_404)


@bp.context_processor
def labels():
    return {**assessment_labels(), "acc_status_labels": ACCREDITATION_STATUS_LABELS,
            "fmt": programme.fmt, "assessment_url": _assessment_url}


def _assessment_url(assessment_id: int) -> str:
    return url_for("tenant.assessments.show", assessment_id=assessment_id)


def _load(accreditation_id: int) -> Accreditation:
    """404 for another tenant's accreditation and for one only a CAB's draft has opened."""
    acc = scope_services.staff_accreditation(
        accreditation_id, joinedload(Accreditation.cab), joinedload(Accreditation.programme))
    if acc is None:
        abort(404)
    return acc


def _last_onsite(assessments) -> Assessment | None:
    held = [a for a in assessments if a.counts_as_onsite and a.status in programme.HELD]
    return max(held, key=lambda a: (a.planned_end_on, a.id)) if held else None


def _next_planned(assessments, today: date) -> Assessment | None:
    """The next visit still to come (a past one that never started is not "next")."""
    planned = [a for a in assessments if a.status in programme.NOT_STARTED
               and not programme.not_held(a, today)]
    return min(planned, key=lambda a: (a.planned_start_on, a.id)) if planned else None


# -- the list -----------------------------------------------------------------------------------


@bp.get("/")
@require_role(*READERS)
def index():
    today = date.today()
    show_all = request.args.get("show") == "all"
    only_problems = request.args.get("problems") == "1"
    q = (request.args.get("q") or "").strip()
    conds = [scope_services.accreditation_visible_to_staff()]
    if not show_all:
        conds.append(Accreditation.status.in_([s.value for s in LIVE_STATUSES]))
    if q:
        conds.append(Cab.legal_name.icontains(q, autoescape=True)
                     | Accreditation.number.icontains(q, autoescape=True))
    listing = (select(Accreditation, Cab.legal_name, Programme.code)
               .join(Cab, Cab.id == Accreditation.cab_id)
               .join(Programme, Programme.id == Accreditation.programme_id).where(*conds)
               .order_by(func.lower(Cab.legal_name), Programme.code, Accreditation.id))
    wanted = max(1, request.args.get("page", 1, type=int) or 1)
    if only_problems:
        # Which programmes have a blocking problem is only known by evaluating them, so this
        # filter reads every matching accreditation (a tenant's live ones, not its history).
        accs = db.session.execute(listing).all()
    else:
        total = db.session.execute(
            select(func.count()).select_from(listing.order_by(None).subquery())).scalar_one()
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(wanted, pages)
        offset = (page - 1) * PAGE_SIZE
        accs = db.session.execute(listing.limit(PAGE_SIZE).offset(offset)).all()
    by_acc: dict[int, list[Assessment]] = {acc.id: [] for acc, _n, _c in accs}
    for a in programme.assessments_of(list(by_acc)):
        by_acc[a.accreditation_id].append(a)
    policy = TenantPolicy.current()
    rows = []
    for acc, cab_name, code in accs:
        problems = programme.evaluate(acc, by_acc[acc.id], policy, today)
        blocking = sum(1 for p in problems if p.blocking)
        if only_problems and not blocking:
            continue
        rows.append({"acc": acc, "cab_name": cab_name, "programme_code": code,
                     "next": _next_planned(by_acc[acc.id], today),
                     "last_onsite": _last_onsite(by_acc[acc.id]), "blocking": blocking,
                     "warnings": len(problems) - blocking,
                     "planned": sum(1 for a in by_acc[acc.id] if a.status != S.cancelled)})
    if only_problems:
        total = len(rows)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(wanted, pages)
        rows = rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    filters = {k: v for k, v in {"show": "all" if show_all else None,
                                 "problems": "1" if only_problems else None,
                                 "q": q or None}.items() if v}
    return render_template("assessments/programme/index.html",
                           rows=rows, total=total,
                           page=page, pages=pages, filters=filters, show_all=show_all,
                           only_problems=only_problems, q=q, today=today)


# -- one accreditation's programme ----------------------------------------------------------------


def _timeline(acc: Accreditation, assessments: list[Assessment], today: date) -> dict | None:
    """Positions (0–1000) of the cycle bounds, today and each assessment on an SVG line."""
    dates = [a.planned_start_on for a in assessments] + [a.planned_end_on for a in assessments]
    dates += [d for d in (acc.cycle_start_on, acc.cycle_end_on) if d]
    if not dates:
        return None
    lo, hi = min(dates), max(dates)
    span = max((hi - lo).days, 1)

    def x(d: date) -> int:
        return 20 + round(960 * (d - lo).days / span)

    marks = [{"a": a, "x": x(a.planned_start_on), "onsite": a.counts_as_onsite,
              "label": f"{TYPE_LABELS.get(a.type, a.type)} · {programme.fmt(a.planned_start_on)}"}
             for a in assessments if a.status != S.cancelled]
    years = []
    year = lo.year + 1
    while date(year, 1, 1) <= hi:
        years.append({"x": x(date(year, 1, 1)), "label": str(year)})
        year += 1
    return {"marks": marks, "years": years,
            "start": x(acc.cycle_start_on) if acc.cycle_start_on else None,
            "end": x(acc.cycle_end_on) if acc.cycle_end_on else None,
            "today": x(today) if lo <= today <= hi else None}


def _render_show(acc: Accreditation, *, forms: dict | None = None, status: int = 200,
                 refusal: str | None = None):
    today = date.today()
    forms = forms or {}
    assessments = programme.assessments_of([acc.id])
    policy = TenantPolicy.current()
    problems = sorted(programme.evaluate(acc, assessments, policy, today),
                      key=lambda p: not p.blocking)
    can_edit = has_role(*EDITORS)
    proposal = []
    if can_edit and acc.is_live:
        try:
            proposal = [s for s in programme.plan_slots(acc, assessments, policy, today)
                        if s.is_new]
        except DomainError as exc:
            proposal, refusal = [], refusal or exc.message
    date_forms = {}
    for a in assessments:
        if can_edit and a.status_enum in services.PLAN_EDITABLE:
            date_forms[a.id] = forms.get(a.id) or DatesForm(
                formdata=None, prefix=f"a{a.id}", planned_start_on=a.planned_start_on,
                planned_end_on=a.planned_end_on)
    ordered = sorted(assessments, key=lambda a: (a.status == S.cancelled, a.planned_start_on,
                                                 a.id))
    ctx = {
        "acc": acc, "assessments": ordered, "policy": policy, "today": today,
        "problems": problems,
        "general": [p for p in problems if p.subject_id is None],
        "by_assessment": {a.id: [p for p in problems if p.subject_id == a.id]
                          for a in assessments},
        "blocking": sum(1 for p in problems if p.blocking),
        "can_edit": can_edit, "date_forms": date_forms, "proposal": proposal,
        "nothing_planned": not any(a.status in programme.NOT_STARTED for a in assessments),
        "propose_form": FlaskForm(formdata=None), "refusal": refusal,
        "timeline": _timeline(acc, assessments, today),
        "last_onsite": _last_onsite(assessments), "next": _next_planned(assessments, today),
        "in_cycle": {a.id: programme.in_cycle(acc, a) for a in assessments},
        "cab_url": url_for("tenant.cabs.show", cab_id=acc.cab_id),
        "scope_url": url_for("tenant.scopes.show", accreditation_id=acc.id),
        "new_url": url_for("tenant.assessments.new", accreditation_id=acc.id),
    }
    return render_template("assessments/programme/show.html", **ctx), status


@bp.get("/<int:accreditation_id>")
@require_role(*READERS)
def show(accreditation_id: int):
    return _render_show(_load(accreditation_id))


@bp.post("/<int:accreditation_id>/propose")
@require_role(*EDITORS)
def propose(accreditation_id: int):
    acc = _load(accreditation_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        return _render_show(acc, status=400, refusal=_("The form expired; try again."))
    try:
        created = programme.propose_programme(acc)
    except DomainError as exc:
        db.session.rollback()
        return _render_show(_load(accreditation_id), status=exc.status, refusal=exc.message)
    count = len(created)
    commit()
    if count:
        flash(_("%(n)d draft assessment(s) proposed from the tenant's policy. Adjust the dates "
                "below; any rule they break is shown beside them.", n=count), "success")
    else:
        flash(_("The programme already has every visit the policy asks for; nothing was "
                "added."), "info")
    return redirect(url_for(".show", accreditation_id=accreditation_id))


@bp.post("/<int:accreditation_id>/assessments/<int:assessment_id>/dates")
@require_role(*EDITORS)
def adjust_dates(accreditation_id: int, assessment_id: int):
    acc = _load(accreditation_id)
    assessment = get_scoped_or_404(Assessment, assessment_id, accreditation_id=acc.id)
    form = DatesForm(prefix=f"a{assessment.id}")
    if not form.validate_on_submit():
        return _render_show(acc, forms={assessment.id: form}, status=400)
    try:
        services.update_assessment(assessment, planned_start_on=form.planned_start_on.data,
                                   planned_end_on=form.planned_end_on.data)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc)
        return _render_show(_load(accreditation_id), forms={assessment.id: form},
                            status=exc.status)
    problems = programme.blocking_problems(assessment)
    commit()
    if problems:
        flash(_("Dates saved. Blocking: %(p)s The plan of this assessment cannot be approved "
                "until this is put right.", p=" ".join(p.message for p in problems)), "warning")
    else:
        flash(_("Dates saved."), "success")
    return redirect(url_for(".show", accreditation_id=accreditation_id,
                            _anchor=f"assessment-{assessment_id}"))


# -- coverage -----------------------------------------------------------------------------------


@bp.get("/<int:accreditation_id>/coverage")
@require_role(*READERS)
def coverage(accreditation_id: int):
    acc = _load(accreditation_id)
    cov = programme.coverage(acc)
    uncovered_only = request.args.get("uncovered") == "1"
    lines = cov.uncovered_items if uncovered_only else cov.items
    pages = max(1, -(-len(lines) // LINES_PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    return render_template(
        "assessments/programme/coverage.html", acc=acc, cov=cov,
        lines=lines[(page - 1) * LINES_PAGE_SIZE:page * LINES_PAGE_SIZE], page=page, pages=pages,
        uncovered_only=uncovered_only,
        columns=[r.assessment for r in cov.assessments],
        cab_url=url_for("tenant.cabs.show", cab_id=acc.cab_id),
        witness_url=url_for("tenant.witnesses.matrix", accreditation_id=acc.id))
