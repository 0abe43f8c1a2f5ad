"""Staff pages for accreditation decisions (under /<tenant>/decisions), and the CAB's view of
its schedule versions (under /<tenant>/portal/decisions).

* the queue: reports with a recommendation no decision has answered yet, and the latest
  decisions (admins, managers and decision makers read it);
* the decision form, with what the decision maker needs in front of them (17011 7.7: the CAB,
  the cited assessments' dates, teams and reports, the team's recommendation, the open
  nonconformities). Only recorders (``services.RECORDERS``) open it. Every rule is
  ``services.record_decision``'s: a refusal (``DecisionRefused``) lists each broken rule at the
  top with a 409 and nothing saved; a field's problem sits beside it with a 400;
* the decision page and a schedule version page (every staff role reads them).

CAB users get 404 on the staff URLs (their view is the portal); another tenant's or CAB's
decision or schedule version is a 404 through the tenancy filters.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from accreditor.assessments.forms import ROLE_LABELS, TYPE_LABELS
from accreditor.assessments.models import Assessment, TeamAssignment
from accreditor.assessments.services import RECOMMENDATIONS
from accreditor.auth.models import User
from accreditor.auth.services import user_names
from accreditor.cabs.models import Cab, CabLocation
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, show_error
from accreditor.core.permissions import STAFF_ROLES, Role, has_role, require_role, staff_only_or_404
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.decisions import services
from accreditor.decisions.forms import DecisionForm, decision_labels
from accreditor.decisions.models import (
    Decision,
    DecisionInput,
    DecisionItem,
    DecisionKind,
    DecisionMaker,
    ScheduleVersion,
)
from accreditor.extensions import db
from accreditor.findings import services as finding_services
from accreditor.portal.views import cab_user_only
from accreditor.refdata.models import Programme
from accreditor.scopes import services as scopes
from accreditor.scopes.models import Accreditation, ItemStatus, ScopeItem

bp = Blueprint("decisions", __name__, url_prefix="/decisions")
bp.before_request(staff_only_or_404)
# The CAB's own schedule versions: a blueprint of its own, outside the staff-only hook.
portal_bp = Blueprint("cab_decisions", __name__, url_prefix="/portal/decisions")

QUEUE_READERS = (Role.admin, Role.manager, Role.decision_maker)
READERS = tuple(STAFF_ROLES)
PAGE_SIZE = 50  # latest decisions under the queue
K = DecisionKind


def _labels() -> dict:
    from accreditor.findings.forms import STATUS_LABELS as FINDING_STATUS_LABELS
    from accreditor.scopes.views import ACCREDITATION_STATUS_LABELS, ITEM_STATUS_LABELS

    return {**decision_labels(), "recommendation_labels": RECOMMENDATIONS,
            "type_labels": TYPE_LABELS, "role_labels": ROLE_LABELS,
            "acc_status_labels": {s.value: label for s, label in
                                  ACCREDITATION_STATUS_LABELS.items()},
            "item_status_labels": {s.value: label for s, label in ITEM_STATUS_LABELS.items()},
            "finding_status_labels": FINDING_STATUS_LABELS}


bp.context_processor(_labels)
portal_bp.context_processor(_labels)


# -- pieces shared with the accreditation pages ------------------------------------------------


def schedule_rows(accreditation_id: int) -> list:
    """(id, issue_no, issued_on, status, line count) of an accreditation's schedule versions,
    newest first: one statement, without reading the lines themselves."""
    return db.session.execute(
        select(ScheduleVersion.id, ScheduleVersion.issue_no, ScheduleVersion.issued_on,
               ScheduleVersion.status,
               func.coalesce(func.json_array_length(ScheduleVersion.lines), 0).label("lines"))
        .where(ScheduleVersion.accreditation_id == accreditation_id)
        .order_by(ScheduleVersion.issue_no.desc())).all()


def accreditation_decisions(acc: Accreditation) -> dict:
    """What the accreditation pages (staff and portal) list: its decisions and schedule
    versions (two statements)."""
    return {"decisions": services.decisions_of(acc), "schedules": schedule_rows(acc.id),
            **decision_labels()}


# -- the queue ----------------------------------------------------------------------------------


@bp.get("/")
@require_role(*QUEUE_READERS)
def index():
    queued = services.queue()
    acc_ids = sorted({a.accreditation_id for a in queued})
    accs = {a.id: a for a in db.session.execute(
        select(Accreditation).where(Accreditation.id.in_(acc_ids))
        .options(joinedload(Accreditation.cab), joinedload(Accreditation.programme))
    ).scalars()} if acc_ids else {}
    total = db.session.execute(select(func.count(Decision.id))).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    latest = db.session.execute(
        select(Decision, Accreditation.number, Programme.code, Cab.legal_name)
        .join(Accreditation, Accreditation.id == Decision.accreditation_id)
        .join(Programme, Programme.id == Accreditation.programme_id)
        .join(Cab, Cab.id == Decision.cab_id)
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template(
        "decisions/index.html", queued=[(a, accs[a.accreditation_id]) for a in queued],
        open_counts=finding_services.blocking_counts(acc_ids), latest=latest, page=page,
        pages=pages, total=total,
        may_record=has_role(*services.RECORDERS))


# -- recording a decision -----------------------------------------------------------------------


def _load_accreditation(accreditation_id) -> Accreditation:
    try:
        ident = int(accreditation_id)
    except (TypeError, ValueError):
        abort(404)
    acc = scopes.staff_accreditation(ident, joinedload(Accreditation.cab),
                                     joinedload(Accreditation.programme))
    if acc is None:
        abort(404)
    return acc


def _line_rows(acc: Accreditation) -> list:
    """(id, position, summary, status) of the lines a decision may name, in scope order."""
    return db.session.execute(
        select(ScopeItem.id, ScopeItem.position, ScopeItem.summary, ScopeItem.status)
        .where(ScopeItem.accreditation_id == acc.id, scopes.line_visible_to_staff(),
               ScopeItem.status.in_([s.value for s in (ItemStatus.applied, ItemStatus.accredited,
                                                       ItemStatus.suspended)]))
        .order_by(ScopeItem.position, ScopeItem.id)).all()


def _form_page(acc: Accreditation, form: DecisionForm, answered_id: int | None, *,
               status: int = 200, refusals=(), lines=None):
    """The decision form with the decision inputs beside it (a bounded number of statements
    whatever the number of assessments, lines or findings)."""

    citable = services.citable(acc)
    team: dict[int, list] = {}
    if citable:
        for aid, name, role in db.session.execute(
                select(TeamAssignment.assessment_id, User.name, TeamAssignment.role)
                .join(User, User.id == TeamAssignment.user_id)
                .where(TeamAssignment.assessment_id.in_([a.id for a in citable]))
                .order_by(TeamAssignment.assessment_id, TeamAssignment.id)).all():
            team.setdefault(aid, []).append((name, role))
    form.location_codes.choices = [(loc.code, loc.label) for loc in db.session.execute(
        select(CabLocation).where(CabLocation.cab_id == acc.cab_id, CabLocation.is_active)
        .order_by(CabLocation.code)).scalars()]
    answered = next((a for a in citable if a.id == answered_id), None)
    lines = lines if lines is not None else _line_rows(acc)
    item_labels = _labels()["item_status_labels"]
    ctx = {
        "acc": acc, "form": form, "refusals": list(refusals), "citable": citable, "team": team,
        "answered": answered, "answered_id": answered_id,
        "findings": finding_services.open_blocking_findings(acc, for_grant=True),
        # (value, label) of each checkbox list
        "maker_rows": services.decision_makers(),
        "input_rows": [(a.id, _("Assessment %(n)d: %(t)s, %(d)s", n=a.id,
                                t=TYPE_LABELS.get(a.type, a.type),
                                d=a.planned_start_on.isoformat())) for a in citable],
        "line_rows": [(r.id, f"{r.position}. {r.summary} "
                             f"({item_labels.get(r.status, r.status)})") for r in lines],
        "checked": {name: {str(v) for v in (getattr(form, name).data or [])}
                    for name in ("maker_ids", "input_ids", "item_ids")},
    }
    return render_template("decisions/new.html", **ctx), status


@bp.route("/new", methods=["GET", "POST"])
@require_role(*services.RECORDERS)
def new():
    acc = _load_accreditation(request.args.get("accreditation_id"))
    acc_id = acc.id
    answered_id = request.args.get("assessment_id", type=int)
    answered = None if answered_id is None else \
        get_scoped_or_404(Assessment, answered_id, accreditation_id=acc_id)
    if request.method == "GET":
        kind = services.FROM_RECOMMENDATION.get(answered.recommendation or "") if answered \
            else None
        lines = _line_rows(acc)
        picked = services.default_line_ids(acc, kind)
        form = DecisionForm(
            formdata=None, kind=kind.value if kind else None,
            maker_ids=[str(current_user.id)] if has_role(Role.decision_maker) else [],
            input_ids=[str(answered_id)] if answered_id is not None else [],
            item_ids=[str(i) for i in picked])
        return _form_page(acc, form, answered_id, lines=lines)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _form_page(acc, form, answered_id, status=400)
    try:
        decision = services.record_decision(
            acc, kind=form.kind.data, rationale=form.rationale.data,
            effective_on=form.effective_on.data, maker_ids=form.maker_ids.data,
            input_ids=form.input_ids.data, item_ids=form.item_ids.data,
            assessment_id=answered_id, suspension_type=form.suspension_type.data or None,
            extent=form.extent.data or None, location_codes=form.location_codes.data or [])
    except services.DecisionRefused as exc:
        db.session.rollback()  # nothing of it is kept
        return _form_page(_load_accreditation(acc_id), form, answered_id, status=exc.status,
                          refusals=exc.refusals)
    except DomainError as exc:
        db.session.rollback()
        if exc.field == "items":  # the service's name for the lines field
            exc.field = "item_ids"
        show_error(form, exc)
        return _form_page(_load_accreditation(acc_id), form, answered_id, status=exc.status)
    decision_id, issue = decision.id, decision.schedule_issue
    commit()
    flash(_("Decision recorded; schedule issue %(n)d produced.", n=issue) if issue else
          _("Decision recorded."), "success")
    return redirect(url_for(".show", decision_id=decision_id))


# -- reading ------------------------------------------------------------------------------------


@bp.get("/<int:decision_id>")
@require_role(*READERS)
def show(decision_id: int):
    d = get_scoped_or_404(Decision, decision_id)
    acc = _load_accreditation(d.accreditation_id)
    makers = db.session.execute(
        select(User.name).join(DecisionMaker, DecisionMaker.user_id == User.id)
        .where(DecisionMaker.decision_id == d.id).order_by(User.name)).scalars().all()
    inputs = db.session.execute(
        select(Assessment).join(DecisionInput, DecisionInput.assessment_id == Assessment.id)
        .where(DecisionInput.decision_id == d.id)
        .order_by(Assessment.planned_start_on, Assessment.id)).scalars().all()
    lines = db.session.execute(
        select(ScopeItem.id, ScopeItem.position, ScopeItem.summary, ScopeItem.status)
        .join(DecisionItem, DecisionItem.scope_item_id == ScopeItem.id)
        .where(DecisionItem.decision_id == d.id)
        .order_by(ScopeItem.position, ScopeItem.id)).all()
    schedule = db.session.execute(
        select(ScheduleVersion.id, ScheduleVersion.issue_no, ScheduleVersion.issued_on)
        .where(ScheduleVersion.decision_id == d.id)).first()
    return render_template("decisions/show.html", d=d, acc=acc, makers=makers, inputs=inputs,
                           lines=lines, schedule=schedule,
                           recorded_by=user_names([d.recorded_by_id]).get(d.recorded_by_id))


def _schedule_page(v: ScheduleVersion, acc: Accreditation, *, back: str):
    lines = sorted(v.lines or [], key=lambda r: (r.get("position") or 0, r.get("id") or 0))
    return render_template("decisions/schedule.html", v=v, acc=acc, lines=lines, back=back)


@bp.get("/schedules/<int:schedule_id>")
@require_role(*READERS)
def schedule(schedule_id: int):
    v = get_scoped_or_404(ScheduleVersion, schedule_id)
    acc = _load_accreditation(v.accreditation_id)
    return _schedule_page(v, acc, back=url_for("tenant.scopes.show", accreditation_id=acc.id,
                                               _anchor="decisions"))


@portal_bp.get("/schedules/<int:schedule_id>")
@cab_user_only
def cab_schedule(schedule_id: int):
    """The CAB's own schedule version; another CAB's is not found (CabScoped filter)."""
    v = get_scoped_or_404(ScheduleVersion, schedule_id)
    acc = get_scoped_or_404(Accreditation, v.accreditation_id, joinedload(Accreditation.cab),
                            joinedload(Accreditation.programme))
    return _schedule_page(v, acc, back=url_for("tenant.portal.accreditation",
                                               accreditation_id=acc.id, _anchor="decisions"))
