"""Staff pages across findings: the list (``/<tenant>/findings/``) and its CSV export, the
managers' dashboard with the proposed sanctions, and the grading settings
(``/<tenant>/settings/grading``). The finding page itself is ``findings.views``.

Who sees what: admins, managers and decision makers list every finding of the tenant; an
assessor lists the findings of the assessments they are on, those awaiting their review first.
The dashboard is for admins and managers (403 for other staff). Admins edit the grades; managers
read them. CAB users and other tenants get 404 on every URL here (their view is the portal).

Every page runs a fixed number of SQL statements: the dashboard's numbers are aggregates
(``GROUP BY`` with conditional sums), never Python loops over findings, and every table is
paged. Refusals of the services are shown beside the field they name, with their status.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import Float, and_, case, cast, func, or_, select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from accreditor.cabs import services as cab_services
from accreditor.cabs.models import Cab
from accreditor.core.csvfile import csv_response, formula_safe
from accreditor.core.db import commit, utcnow
from accreditor.core.errors import DomainError, put_error
from accreditor.core.forms import drop_invalid_filters
from accreditor.core.permissions import (
    STAFF_ROLES,
    Role,
    has_role,
    require_role,
    staff_only_or_404,
)
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.extensions import db
from accreditor.findings import services
from accreditor.findings.forms import STATUS_LABELS, finding_labels
from accreditor.findings.grading import SEVERITY_ORDER, Severity
from accreditor.findings.models import (
    OPEN_STATUSES,
    Finding,
    FindingGrade,
    FindingStatus,
    ProposalStatus,
    SanctionProposal,
)
from accreditor.tenants.models import TenantPolicy

bp = Blueprint("finding_lists", __name__)
bp.before_request(staff_only_or_404)

READERS = tuple(STAFF_ROLES)
# These see every finding of the tenant; other staff (assessors) see their assessments' only.
DASHBOARD = services.MANAGERS
PAGE_SIZE = 50
CSV_CHUNK = 64 * 1024  # characters buffered before a piece of the CSV is sent
F = FindingStatus

ANY_OPEN = "any_open"  # the status filter's group: models.OPEN_STATUSES
SORTS = {
    "due": _l("Due date"),
    "reference": _l("Reference"),
    "cab": _l("CAB"),
    "grade": _l("Grade (most severe first)"),
    "issued": _l("Issued (newest first)"),
}


@bp.context_processor
def labels():
    return finding_labels()


# -- forms (shapes only; the rules are the services') -----------------------------------------


class FindingFilterForm(FlaskForm):
    class Meta:
        csrf = False

    FILTERS = ("status", "grade", "severity", "cab_id", "sort")

    status = SelectField(_l("Status"), choices=[], validators=[Optional()])
    grade = SelectField(_l("Grade"), choices=[], validators=[Optional()])
    severity = SelectField(_l("Severity"), choices=[], validators=[Optional()])
    cab_id = SelectField(_l("CAB"), choices=[], validators=[Optional()])
    sort = SelectField(_l("Sort by"), choices=[SelectChoice(k, v) for k, v in SORTS.items()],
                       default="due", validators=[Optional()])
    overdue = BooleanField(_l("Overdue only"))
    review = BooleanField(_l("Awaiting my review"))


class DismissForm(FlaskForm):
    reason = TextAreaField(_l("Reason for not proposing it"))


CLOSURE_CHOICES = [SelectChoice("evidence", _l("Needs accepted implementation evidence")),
                   SelectChoice("plan", _l("An accepted plan suffices"))]


class GradeForm(FlaskForm):
    """One grade's editable behaviour; days are text so the service's message explains a bad
    value (empty: the tenant's default)."""

    label = StringField(_l("Name"))
    description = TextAreaField(_l("Description"), render_kw={"rows": 2})
    response_due_days = StringField(_l("Response due (days)"), render_kw={"inputmode": "numeric"})
    evidence_due_days = StringField(_l("Evidence due (days)"), render_kw={"inputmode": "numeric"})
    # Named as the service's field, so its refusal lands beside it.
    closure_requires_evidence = SelectField(_l("Closure"), choices=CLOSURE_CHOICES)
    verify_at_next_visit = BooleanField(_l("With an accepted plan, verify on site at the next "
                                           "visit"))


# -- the list -----------------------------------------------------------------------------------


def _sees_all() -> bool:
    return services.sees_all_findings()


def _filter_form() -> FindingFilterForm:
    form = FindingFilterForm(request.args)
    form.status.choices = (
        [SelectChoice("", _("Any status")), SelectChoice(ANY_OPEN, _("Open (any stage)"))]
        + [SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()])
    # The tenant's grades, current ones first (a handful of rows; a DISTINCT over the findings
    # would scan them all). By id, so a grade renamed since still finds its findings.
    grades = db.session.execute(
        select(FindingGrade.id, FindingGrade.label, FindingGrade.is_active)
        .order_by(FindingGrade.is_active.desc(), FindingGrade.position, FindingGrade.id)).all()
    form.grade.choices = [SelectChoice("", _("Any grade"))] + [
        SelectChoice(str(gid), label if active else _("%(g)s (former scheme)", g=label))
        for gid, label, active in grades]
    severity_labels = finding_labels()["severity_labels"]
    form.severity.choices = [SelectChoice("", _("Any severity"))] + [
        SelectChoice(s.value, severity_labels[s]) for s in SEVERITY_ORDER]
    form.cab_id.choices = [SelectChoice("", _("All CABs"))] + [
        SelectChoice(str(cid), name) for cid, name in cab_services.cab_choices()]
    drop_invalid_filters(form, FindingFilterForm.FILTERS)
    return form


def _conditions(form: FindingFilterForm, today: date) -> list:
    conds = []
    if not _sees_all():
        conds.append(services.listed_for(current_user.id))
    if form.status.data == ANY_OPEN:
        conds.append(Finding.status.in_(OPEN_STATUSES))
    elif form.status.data:
        conds.append(Finding.status == form.status.data)
    if form.grade.data:
        conds.append(Finding.grade_id == int(form.grade.data))
    if form.severity.data:
        conds.append(Finding.severity == form.severity.data)
    if form.cab_id.data:
        conds.append(Finding.cab_id == int(form.cab_id.data))
    if form.overdue.data:
        conds.append(services.overdue_condition(today))
    if form.review.data:
        conds.append(services.awaiting_review_by(current_user.id))
    return conds


def _severity_rank():
    return case({s.value: s.rank for s in SEVERITY_ORDER}, value=Finding.severity, else_=99)


def _order(form: FindingFilterForm) -> list:
    due = services.due_column()
    reference = [Finding.assessment_id, Finding.seq]
    orders = {
        "due": [due.is_(None), due, *reference],
        "reference": reference,
        "cab": [func.lower(Cab.legal_name), Finding.cab_id, *reference],
        "grade": [_severity_rank(), Finding.grade_label, *reference],
        "issued": [Finding.issued_at.is_(None), Finding.issued_at.desc(),
                   Finding.assessment_id.desc(), Finding.seq.desc()],
    }
    order = orders[form.sort.data or "due"]
    if not _sees_all():  # an assessor's own work first: the answers awaiting their review
        order = [case((services.awaiting_review_by(current_user.id), 0), else_=1), *order]
    return order


def _filters(form: FindingFilterForm) -> dict:
    """The valid filters, to carry into the pager and the CSV link."""
    out = {name: getattr(form, name).data for name in ("status", "grade", "severity", "cab_id")
           if getattr(form, name).data}
    if form.sort.data and form.sort.data != "due":
        out["sort"] = form.sort.data
    out.update({name: "1" for name in ("overdue", "review") if getattr(form, name).data})
    return out


@bp.get("/findings/")
@require_role(*READERS)
def index():
    today = date.today()
    form = _filter_form()
    conds = _conditions(form, today)
    total = db.session.execute(
        select(func.count()).select_from(Finding).where(*conds)).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    # Only the columns shown: the sort then carries no long texts (statement, evidence).
    rows = db.session.execute(
        select(Finding.id, Finding.assessment_id, Finding.seq, Finding.cab_id,
               Cab.legal_name.label("cab_name"), Finding.grade_label, Finding.severity,
               Finding.standard, Finding.clause, Finding.status, Finding.round,
               services.due_column().label("due_on"))
        .join(Cab, Cab.id == Finding.cab_id)
        .where(*conds).order_by(*_order(form))
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    filters = _filters(form)
    return render_template("findings/list.html", form=form, rows=rows, total=total, page=page,
                           pages=pages, filters=filters, today=today, sees_all=_sees_all(),
                           can_dashboard=has_role(*DASHBOARD))


# -- the CSV export -----------------------------------------------------------------------------

CSV_HEADER = ["reference", "cab", "grade", "severity", "standard", "clause", "statement",
              "status", "issued_on", "response_due_on", "evidence_due_on", "due_on", "overdue",
              "round", "closed_on", "days_to_close"]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):  # datetime included: the date, in ISO form
        return (value.date() if hasattr(value, "date") else value).isoformat()
    return formula_safe(str(value))  # CSV injection: see core.csvfile


@bp.get("/findings/export.csv")
@require_role(*READERS)
def export_csv():
    """The list's rows (same filters and order, every page) as CSV, streamed in pieces. Like the
    scope export, reading it is not an audited change."""
    today = date.today()
    form = _filter_form()
    due = services.due_column().label("due_on")
    stmt = (select(Finding.assessment_id, Finding.seq, Cab.legal_name, Finding.grade_label,
                   Finding.severity, Finding.standard, Finding.clause, Finding.statement,
                   Finding.status, Finding.issued_at, Finding.response_due_on,
                   Finding.evidence_due_on, due, Finding.round, Finding.closed_at,
                   Finding.days_to_close)
            .join(Cab, Cab.id == Finding.cab_id)
            .where(*_conditions(form, today)).order_by(*_order(form))
            .execution_options(yield_per=1000))

    def generate():
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(CSV_HEADER)
        for (assessment_id, seq, cab, grade, severity, standard, clause, statement, status,
             issued_at, response_due, evidence_due, due_on, round_, closed_at,
             days) in db.session.execute(stmt):
            writer.writerow([_cell(v) for v in (
                f"{assessment_id}-{seq}",  # Finding.reference
                cab, grade, severity, standard, clause, statement, status, issued_at,
                response_due, evidence_due, due_on, due_on is not None and due_on < today,
                round_, closed_at, days)])
            if buf.tell() >= CSV_CHUNK:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return csv_response(stream_with_context(generate()), f"findings-{today.isoformat()}.csv")


# -- the dashboard ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    open: int
    overdue: int
    closed: int
    avg_days: float | None


def _count_if(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _avg_days_if(cond):
    return func.avg(case((and_(cond, Finding.issued_at.is_not(None)), Finding.days_to_close)))


def _dashboard_numbers(today: date, cab_page: int) -> dict:
    """Every number of the dashboard, from aggregate queries (nonconformities only:
    observations need no answer)."""
    is_open = Finding.status.in_(OPEN_STATUSES)
    overdue = services.overdue_condition(today)
    closed = Finding.status == F.closed.value
    counted = and_(Finding.severity != Severity.observation.value,
                   Finding.status.in_(OPEN_STATUSES + (F.closed.value,)))
    timed = and_(closed, Finding.issued_at.is_not(None), Finding.days_to_close.is_not(None))
    open_n, overdue_n, closed_n = _count_if(is_open), _count_if(overdue), _count_if(closed)
    days_sum, days_n = func.sum(case((timed, Finding.days_to_close))), _count_if(timed)
    # The totals are window sums over the grade groups (… OVER ()): the same single pass over
    # the findings; the overall average is total days over total closures, not a mean of means.
    by_grade = db.session.execute(
        select(Finding.grade_label, Finding.severity, open_n.label("open"),
               overdue_n.label("overdue"), closed_n.label("closed"),
               _avg_days_if(closed).label("avg_days"),
               func.sum(open_n).over().label("all_open"),
               func.sum(overdue_n).over().label("all_overdue"),
               func.sum(closed_n).over().label("all_closed"),
               (cast(func.sum(days_sum).over(), Float)
                / func.nullif(func.sum(days_n).over(), 0)).label("all_avg_days"))
        .where(counted).group_by(Finding.grade_label, Finding.severity)
        .order_by(_severity_rank(), Finding.grade_label)).all()
    first = by_grade[0] if by_grade else None
    totals = Totals(open=first.all_open if first else 0,
                    overdue=first.all_overdue if first else 0,
                    closed=first.all_closed if first else 0,
                    avg_days=first.all_avg_days if first else None)

    since = utcnow() - timedelta(days=365)
    closed_recently = and_(closed, Finding.closed_at >= since)
    in_cab_table = and_(Finding.severity != Severity.observation.value,
                        or_(is_open, closed_recently))

    def cab_rows(page: int):
        # count(*) OVER (): the number of CABs in the table, with the page, in one pass.
        return db.session.execute(
            select(Finding.cab_id, Cab.legal_name, _count_if(is_open).label("open"),
                   overdue_n.label("overdue"), _count_if(closed_recently).label("closed"),
                   _avg_days_if(closed_recently).label("avg_days"),
                   func.count().over().label("cab_total"))
            .join(Cab, Cab.id == Finding.cab_id).where(in_cab_table)
            .group_by(Finding.cab_id, Cab.legal_name)
            .order_by(overdue_n.desc(), _count_if(is_open).desc(), func.lower(Cab.legal_name),
                      Finding.cab_id)
            .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()

    by_cab = cab_rows(cab_page)
    if not by_cab and cab_page > 1:  # past the last page (an old link): show the first
        cab_page = 1
        by_cab = cab_rows(cab_page)
    cab_total = by_cab[0].cab_total if by_cab else 0
    return {"totals": totals, "by_grade": by_grade, "by_cab": by_cab, "cab_total": cab_total,
            "cab_page": cab_page, "cab_pages": max(1, -(-cab_total // PAGE_SIZE))}


def _proposals(page: int) -> dict:
    proposed = SanctionProposal.status == ProposalStatus.proposed.value
    total = db.session.execute(
        select(func.count()).select_from(SanctionProposal).where(proposed)).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)
    rows = db.session.execute(
        select(SanctionProposal, Cab.legal_name, Finding.assessment_id, Finding.seq,
               Finding.grade_label)
        .join(Cab, Cab.id == SanctionProposal.cab_id)
        .outerjoin(Finding, Finding.id == SanctionProposal.finding_id)  # none: rules 22, 29
        .where(proposed)
        .order_by(SanctionProposal.effective_on, SanctionProposal.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return {"proposals": rows, "proposal_total": total, "proposal_page": page,
            "proposal_pages": pages}


def _render_dashboard(*, failed: tuple[int, DismissForm] | None = None,
                      top_error: str | None = None, status: int = 200):
    today = date.today()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    ppage = max(1, request.args.get("ppage", 1, type=int) or 1)
    return render_template(
        "findings/dashboard.html", today=today, failed=failed, top_error=top_error,
        blank_form=DismissForm(), **_dashboard_numbers(today, page), **_proposals(ppage)
    ), status


@bp.get("/findings/dashboard")
@require_role(*DASHBOARD)
def dashboard():
    return _render_dashboard()


@bp.post("/findings/proposals/<int:proposal_id>/dismiss")
@require_role(*DASHBOARD)
def dismiss_proposal(proposal_id: int):
    proposal = get_scoped_or_404(SanctionProposal, proposal_id)
    form = DismissForm()
    if not form.validate_on_submit():
        return _render_dashboard(failed=(proposal_id, form), status=400)
    try:
        services.dismiss_proposal(proposal, form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        top = None if put_error(form, exc) else exc.message
        return _render_dashboard(failed=(proposal_id, form), top_error=top, status=exc.status)
    commit()
    flash(_("The proposed sanction was dismissed; the reason is in the audit log."), "success")
    return redirect(url_for(".dashboard"))


# -- grading settings ---------------------------------------------------------------------------


def _grade_form(grade: FindingGrade, formdata=None) -> GradeForm:
    form = GradeForm(formdata=formdata, prefix=f"g{grade.id}", data={
        "label": grade.label, "description": grade.description or "",
        "response_due_days": "" if grade.response_due_days is None
        else str(grade.response_due_days),
        "evidence_due_days": "" if grade.evidence_due_days is None
        else str(grade.evidence_due_days),
        "closure_requires_evidence": "evidence" if grade.closure_requires_evidence else "plan",
        "verify_at_next_visit": grade.verify_at_next_visit})
    return form


def _render_grading(failed: tuple[int, GradeForm] | None = None, top_error: str | None = None,
                    status: int = 200):
    grades = services.active_grades()  # every tenant has its grades (tenant creation, migration)
    forms = {g.id: _grade_form(g) for g in grades}
    if failed is not None and failed[0] in forms:
        forms[failed[0]] = failed[1]
    return render_template("findings/grading.html", grades=grades, forms=forms,
                           policy=TenantPolicy.current(), can_edit=has_role(Role.admin),
                           top_error=top_error), status


@bp.route("/settings/grading", methods=["GET", "POST"])
@require_role(Role.admin, Role.manager)
def grading():
    if request.method == "GET":
        return _render_grading()
    if not has_role(Role.admin):
        abort(403)  # managers read the grades; administrators change them
    grade = get_scoped_or_404(FindingGrade, request.form.get("grade_id"))
    form = _grade_form(grade, formdata=request.form)
    if not form.validate_on_submit():
        return _render_grading((grade.id, form), status=400)
    try:
        changes = services.update_grade(
            grade, label=form.label.data, description=form.description.data,
            response_due_days=form.response_due_days.data,
            evidence_due_days=form.evidence_due_days.data,
            closure_requires_evidence=form.closure_requires_evidence.data == "evidence",
            verify_at_next_visit=form.verify_at_next_visit.data)
    except DomainError as exc:
        db.session.rollback()
        top = None if put_error(form, exc) else exc.message
        return _render_grading((grade.id, form), top_error=top, status=exc.status)
    label = grade.label
    commit()
    flash(_("Grade “%(g)s” saved; findings already recorded keep what they were recorded with.",
            g=label) if changes else _("Nothing changed."), "success")
    return redirect(url_for(".grading"))
