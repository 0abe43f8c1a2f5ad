"""CAB portal: the findings the accreditation body issued to the CAB, and its answers
(under /<tenant>/portal/findings).

A CAB user sees only issued findings (open, under review, plan accepted, closed) — never a draft,
a recorded finding the report has not issued, or a withdrawn one — with the requirement, the
statement and objective evidence, the affected scope lines and locations, the due dates, and
the whole thread of rounds: the CAB's answers with their evidence files (downloaded through the
access-checked documents view), and each review's outcome, note and reviewer's name (nothing
else of the reviewer). While it is the CAB's turn (``models.ANSWERABLE``) the page offers the
response form; every rule about what an answer needs is ``services.submit_response``'s, and a
refusal is shown beside the field it names with nothing saved (no response row, no document).

Only pure CAB users get in (``cab_user_only``: AB staff get 403). Another CAB's or tenant's
finding is a 404 through the tenancy filters, and so is an unissued one.
"""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased, joinedload
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from accreditor.assessments.forms import TYPE_LABELS
from accreditor.assessments.models import Assessment
from accreditor.auth.models import User
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, show_error
from accreditor.core.forms import drop_invalid_filters
from accreditor.core.storage import FileTooLarge, format_size
from accreditor.documents.filetypes import KINDS, UnsupportedFileType, allowed_labels
from accreditor.extensions import db
from accreditor.findings import forms, services
from accreditor.findings.grading import FULL_RESPONSE
from accreditor.findings.models import (
    ANSWERABLE,
    ISSUED_STATUSES,
    ClosureBasis,
    Finding,
    FindingResponse,
    FindingStatus,
    ResponseOutcome,
    ResponseType,
)
from accreditor.portal.views import cab_user_only
from accreditor.scopes.models import Accreditation

bp = Blueprint("cab_findings", __name__, url_prefix="/portal/findings")

F = FindingStatus
PAGE_SIZE = 50
TEXT_MAX = 20_000

# The status in the CAB's words, and its badge colour.
STATUS_LABELS = {
    F.open.value: _l("Awaiting your answer"),
    F.responded.value: _l("Under review"),
    F.plan_accepted.value: _l("Plan accepted — evidence due"),
    F.closed.value: _l("Closed"),
}
STATUS_BADGES = {s.value: colour for s, colour in forms.STATUS_BADGES.items()}  # as for staff

# Status groups of the list's filter.
GROUPS = {
    "answer": (_l("To answer"), ANSWERABLE),
    "review": (_l("Under review"), (F.responded.value,)),
    "closed": (_l("Closed"), (F.closed.value,)),
}
GROUP_OF = {status: key for key, (_label, statuses) in GROUPS.items() for status in statuses}

# ANAB closure evidence types 1/2/3: the names the team reads too, and what each means for the
# CAB choosing it.
_TYPE_HELP = {
    ResponseType.conformity: _l(
        "The requirement is met after all — for example a record the team did not see. Attach "
        "the evidence that shows it."),
    ResponseType.actions_completed: _l(
        "You have made the correction and implemented the corrective action. Attach the "
        "implementation evidence (records, revised procedures, training, results)."),
    ResponseType.plan_only: _l(
        "You send the correction and the corrective action plan now; the implementation "
        "evidence follows once the plan is accepted."),
}
RESPONSE_TYPES = {t.value: (forms.RESPONSE_TYPE_LABELS[t], _TYPE_HELP[t]) for t in ResponseType}

CLOSURE_LABELS = {
    ClosureBasis.evidence_accepted.value: _l("your evidence was accepted"),
    ClosureBasis.plan_accepted.value: _l("your plan was accepted; the team verifies its "
                                         "implementation at the next visit"),
    ClosureBasis.no_response_required.value: _l("an observation: no answer was required"),
}


@bp.context_processor
def _labels() -> dict:
    return {"status_labels": STATUS_LABELS, "status_badges": STATUS_BADGES,
            "type_labels": TYPE_LABELS, "response_types": RESPONSE_TYPES,
            "closure_labels": CLOSURE_LABELS,
            "document_type_labels": {k.media_type: k.label for k in KINDS.values()}}


# -- forms --------------------------------------------------------------------------------------


class FindingFilterForm(FlaskForm):
    class Meta:
        csrf = False

    FILTERS = ("group", "overdue", "sort")

    group = SelectField(_l("Show"), validators=[Optional()], choices=[
        SelectChoice("", _l("All findings"))] + [
        SelectChoice(key, label) for key, (label, _statuses) in GROUPS.items()])
    overdue = SelectField(_l("Due"), validators=[Optional()], choices=[
        SelectChoice("", _l("Overdue or not")), SelectChoice("1", _l("Overdue only"))])
    sort = SelectField(_l("Sort by"), validators=[Optional()], choices=[
        SelectChoice("", _l("Due date (soonest first, to answer first)")),
        SelectChoice("reference", _l("Reference (newest assessment first)"))])


class PortalResponseForm(FlaskForm):
    """One round of the CAB's answer. What it must contain (by grade and status) is the
    service's rule; the refusal names the field and is shown beside it."""

    response_type = RadioField(_l("Type of response"), choices=[], validate_choice=False,
                               validators=[Optional()])
    correction = TextAreaField(
        _l("Correction"), validators=[Optional(), Length(max=TEXT_MAX)],
        description=_l("What you did to fix the nonconformity itself (the immediate action)."))
    cause_analysis = TextAreaField(
        _l("Extent and root-cause analysis"), validators=[Optional(), Length(max=TEXT_MAX)],
        description=_l("How far the problem reaches (other activities, locations, records) and "
                       "why it happened."))
    corrective_action = TextAreaField(
        _l("Corrective action (plan)"), validators=[Optional(), Length(max=TEXT_MAX)],
        description=_l("What you do, or will do and by when, so that it does not happen "
                       "again."))
    files = MultipleFileField(_l("Implementation evidence"))


def _response_form(finding: Finding, *, posted: bool = False) -> PortalResponseForm:
    form = PortalResponseForm() if posted else PortalResponseForm(formdata=None)
    types = [t for t in RESPONSE_TYPES
             if not (t == ResponseType.plan_only and finding.status == F.plan_accepted)]
    form.response_type.choices = [SelectChoice(t, RESPONSE_TYPES[t][0]) for t in types]
    config = current_app.config
    form.files.description = _(
        "Accepted: %(types)s. At most %(limit)s per file; you may choose several files. "
        "Needed for types 1 and 2.",
        types=allowed_labels(config["UPLOAD_ALLOWED_TYPES"]),
        limit=format_size(config["UPLOAD_MAX_BYTES"]))
    return form


def _show_refusal(form: PortalResponseForm, exc: DomainError) -> None:
    """The service's refusal beside its field; a refused file (too large, wrong type: the
    store names no field or ``file``) beside the files field."""
    if isinstance(exc, (FileTooLarge, UnsupportedFileType)) or exc.field in ("file", "files"):
        form.files.errors = [*form.files.errors, exc.message]
    else:
        show_error(form, exc)


# -- the list -----------------------------------------------------------------------------------


@bp.get("/")
@cab_user_only
def index():
    form = FindingFilterForm(request.args)
    drop_invalid_filters(form, FindingFilterForm.FILTERS)
    today = date.today()
    group, overdue_only, sort = form.group.data, form.overdue.data == "1", form.sort.data

    # One statement: how many findings in each status, and how many of them are overdue.
    totals = {key: (0, 0) for key in GROUPS}
    for status, n, late in db.session.execute(
            select(Finding.status, func.count(Finding.id),
                   func.sum(case((services.overdue_condition(today), 1), else_=0)))
            .where(Finding.status.in_(ISSUED_STATUSES)).group_by(Finding.status)):
        key = GROUP_OF[status]
        totals[key] = (totals[key][0] + n, totals[key][1] + (late or 0))
    shown = [group] if group else list(GROUPS)
    total = sum(totals[k][1 if overdue_only else 0] for k in shown)
    overdue_total = sum(late for _n, late in totals.values())

    conds = [Finding.status.in_(GROUPS[group][1] if group else ISSUED_STATUSES)]
    if overdue_only:
        conds.append(services.overdue_condition(today))
    due = services.due_column()
    if sort == "reference":
        order = (Finding.assessment_id.desc(), Finding.seq)
    else:
        rank = case((Finding.status.in_(ANSWERABLE), 0),
                    (Finding.status == F.responded.value, 1), else_=2)
        order = (rank, case((due.is_(None), 1), else_=0), due, Finding.closed_at.desc(),
                 Finding.assessment_id, Finding.seq)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = db.session.execute(
        select(Finding, Assessment.type, Assessment.planned_start_on, Assessment.planned_end_on)
        .join(Assessment, Assessment.id == Finding.assessment_id)
        .where(*conds).order_by(*order)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    filters = {k: v for k, v in request.args.items() if k in FindingFilterForm.FILTERS and v
               and getattr(form, k).data}
    return render_template(
        "portal/findings/index.html", form=form, rows=rows, today=today, total=total,
        totals=totals, overdue_total=overdue_total, groups=GROUPS, page=page, pages=pages,
        filters=filters)


# -- one finding --------------------------------------------------------------------------------


def _load(finding_id: int) -> Finding:
    """The CAB's own issued finding, or 404 (unissued, another CAB's, another tenant's)."""
    finding = db.session.execute(
        select(Finding).where(Finding.id == finding_id, Finding.status.in_(ISSUED_STATUSES))
        .options(joinedload(Finding.assessment),
                 joinedload(Finding.accreditation).joinedload(Accreditation.programme))
    ).unique().scalar_one_or_none()
    if finding is None:
        abort(404)
    return finding


def _locations(finding: Finding) -> list:
    found = services.affected_locations(finding)
    return [(code, found.get(code)) for code in finding.location_codes or []]


def _thread(finding: Finding) -> list[dict]:
    """Every round, oldest first, with the names of who answered and who reviewed (names only)
    and the round's current evidence files: two statements whatever the number of rounds."""
    submitter, reviewer = aliased(User), aliased(User)
    rows = db.session.execute(
        select(FindingResponse, submitter.name, reviewer.name)
        .outerjoin(submitter, submitter.id == FindingResponse.submitted_by_id)
        .outerjoin(reviewer, reviewer.id == FindingResponse.reviewed_by_id)
        .where(FindingResponse.finding_id == finding.id)
        .order_by(FindingResponse.round)).all()
    evidence = services.evidence_by_response([r for r, _s, _v in rows])
    return [{"response": r, "submitted_by": s, "reviewed_by": v, "files": evidence[r.id]}
            for r, s, v in rows]


def _render(finding: Finding, *, form: PortalResponseForm | None = None, status: int = 200):
    today = date.today()
    answerable = finding.status in ANSWERABLE
    if form is None and answerable:
        form = _response_form(finding)
    thread = _thread(finding)
    last = thread[-1]["response"] if thread else None
    return render_template(
        "portal/findings/show.html", f=finding, a=finding.assessment,
        acc=finding.accreditation, lines=services.affected_lines(finding),
        locations=_locations(finding),
        thread=thread, rejected=(finding.status == F.open and last is not None
                                 and last.outcome == ResponseOutcome.rejected),
        due=finding.due_on(), overdue=finding.overdue_on(today), answerable=answerable,
        full_response=finding.severity_enum in FULL_RESPONSE, form=form), status


@bp.get("/<int:finding_id>")
@cab_user_only
def show(finding_id: int):
    return _render(_load(finding_id))


@bp.post("/<int:finding_id>/response", endpoint="respond")
@cab_user_only
def respond(finding_id: int):
    finding = _load(finding_id)
    form = _response_form(finding, posted=True)
    if not form.validate_on_submit():
        return _render(finding, form=form, status=400)
    try:
        response = services.submit_response(
            finding, response_type=form.response_type.data, correction=form.correction.data,
            cause_analysis=form.cause_analysis.data,
            corrective_action=form.corrective_action.data,
            files=request.files.getlist("files"))
    except DomainError as exc:
        db.session.rollback()  # nothing half-saved: no response row, no document row
        finding = _load(finding_id)
        _show_refusal(form, exc)
        return _render(finding, form=form, status=exc.status)
    round_no = response.round
    commit()
    flash(_("Your answer was sent to the accreditation body. You will be told when it has "
            "been reviewed."), "success")
    return redirect(url_for(".show", finding_id=finding_id) + f"#round-{round_no}")
