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
from accreditor.decisions import requests, services
from accreditor.decisions.forms import (
    AnswerRequestForm,
    DecisionForm,
    DeclineForm,
    PlainForm,
    ProtectionForm,
    RequestForm,
    decision_labels,
)
from accreditor.decisions.models import (
    OPEN_REQUEST_STATUSES,
    CabRequest,
    Decision,
    DecisionInput,
    DecisionItem,
    DecisionKind,
    DecisionMaker,
    RequestStatus,
    ScheduleVersion,
)
from accreditor.extensions import db
from accreditor.findings import services as finding_services
from accreditor.portal.views import cab_user_only
from accreditor.refdata.models import Programme
from accreditor.scopes import services as scopes
from accreditor.scopes.models import Accreditation, ItemStatus, ScopeItem
from accreditor.tenants.models import TenantPolicy

bp = Blueprint("decisions", __name__, url_prefix="/decisions")
bp.before_request(staff_only_or_404)
# The CAB's own schedule versions: a blueprint of its own, outside the staff-only hook.
portal_bp = Blueprint("cab_decisions", __name__, url_prefix="/portal/decisions")

QUEUE_READERS = (Role.admin, Role.manager, Role.decision_maker)
READERS = tuple(STAFF_ROLES)
PAGE_SIZE = 50  # latest decisions under the queue
QUEUE_PAGE_SIZE = 50  # reports awaiting a decision
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


def schedule_rows(accreditation_id: int, page: int = 1) -> list:
    """(id, issue_no, issued_on, status, line count) of a page of an accreditation's schedule
    versions, newest first: one statement, without reading the lines themselves."""
    return db.session.execute(
        select(ScheduleVersion.id, ScheduleVersion.issue_no, ScheduleVersion.issued_on,
               ScheduleVersion.status,
               func.coalesce(func.json_array_length(ScheduleVersion.lines), 0).label("lines"))
        .where(ScheduleVersion.accreditation_id == accreditation_id)
        .order_by(ScheduleVersion.issue_no.desc())
        .limit(LIST_SIZE).offset((page - 1) * LIST_SIZE)).all()


LIST_SIZE = 20  # decisions and schedule issues per page on the accreditation pages


def _page(name: str) -> int:
    return max(1, request.args.get(name, 1, type=int) or 1)


def accreditation_decisions(acc: Accreditation) -> dict:
    """What the accreditation pages (staff and portal) list: a page of its decisions and of its
    schedule versions (``dpage``, ``spage``), and its CAB requests (five statements)."""
    from accreditor.decisions.requests import requests_of

    dpage, spage = _page("dpage"), _page("spage")
    decisions, dtotal = services.decisions_page(acc, dpage, LIST_SIZE)
    stotal = db.session.execute(select(func.count(ScheduleVersion.id)).where(
        ScheduleVersion.accreditation_id == acc.id)).scalar_one()
    return {"decisions": decisions, "dpage": dpage, "dpages": max(1, -(-dtotal // LIST_SIZE)),
            "schedules": schedule_rows(acc.id, spage), "spage": spage,
            "spages": max(1, -(-stotal // LIST_SIZE)), "cab_requests": requests_of(acc.id),
            **decision_labels()}


# -- the queue ----------------------------------------------------------------------------------


@bp.get("/")
@require_role(*QUEUE_READERS)
def index():
    qtotal = services.queue_count()
    qpages = max(1, -(-qtotal // QUEUE_PAGE_SIZE))
    qpage = min(_page("qpage"), qpages)
    queued = services.queue(limit=QUEUE_PAGE_SIZE, offset=(qpage - 1) * QUEUE_PAGE_SIZE)
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
        pages=pages, total=total, qpage=qpage, qpages=qpages, qtotal=qtotal,
        may_record=has_role(*services.RECORDERS), **_light_context(queued),
        open_requests=db.session.execute(select(func.count(CabRequest.id)).where(
            CabRequest.status == RequestStatus.submitted.value)).scalar_one())


def _light_context(queued: list) -> dict:
    """Which queued reports the current user may confirm on the lighter path (two statements
    whatever the queue holds; none when the setting is off)."""
    if not (TenantPolicy.current().light_surveillance_decisions
            and has_role(*services.LIGHT_CONFIRMERS)):
        return {"light_ids": set(), "light_form": None}
    candidates = [a for a in queued if services.light_path_open(a)]
    ids = [a.id for a in candidates]
    raised = services.raised_counts(ids)
    blocked = finding_services.blocking_counts({a.accreditation_id for a in candidates})
    on_team = set(db.session.execute(select(TeamAssignment.assessment_id).where(
        TeamAssignment.assessment_id.in_(ids), TeamAssignment.user_id == current_user.id)
    ).scalars()) if ids else set()
    return {"light_ids": {a.id for a in candidates if not raised.get(a.id)
                          and not blocked.get(a.accreditation_id) and a.id not in on_team},
            "light_form": PlainForm()}


@bp.post("/light/<int:assessment_id>")
@require_role(*services.LIGHT_CONFIRMERS)
def confirm_light(assessment_id: int):
    """One click from the queue: a clean surveillance outcome confirmed (a maintain decision
    on the lighter path). Refusals come back to the queue as a message."""
    a = get_scoped_or_404(Assessment, assessment_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        decision = services.confirm_light(a)
    except services.DecisionRefused as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for(".index")), 303
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for(".index")), 303
    decision_id = decision.id
    commit()
    flash(_("Surveillance outcome confirmed on the lighter path: the accreditation is "
            "maintained."), "success")
    return redirect(url_for(".show", decision_id=decision_id))


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
    form.suspension_id.choices = [("", "—")] + [
        (str(d.id), _("Decision %(n)d: %(t)s, %(e)s, from %(d)s", n=d.id, t=d.suspension_type,
                      e=d.extent, d=d.effective_on.isoformat()))
        for d in services.current_suspensions(acc)]
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
            extent=form.extent.data or None, location_codes=form.location_codes.data or [],
            suspension_id=form.suspension_id.data or None, max_end_on=form.max_end_on.data)
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
    related = db.session.execute(select(Decision).where(
        Decision.suspension_id == d.id).order_by(Decision.id)).scalars().all()
    return render_template("decisions/show.html", d=d, acc=acc, makers=makers, inputs=inputs,
                           lines=lines, schedule=schedule, related=related,
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


# -- CAB requests: staff (rules 22, 39) ---------------------------------------------------------

REQUESTS_PAGE_SIZE = 50


@bp.get("/requests")
@require_role(*QUEUE_READERS)
def requests_index():
    """The CABs' requests, open ones first, newest first."""
    total = db.session.execute(select(func.count(CabRequest.id))).scalar_one()
    pages = max(1, -(-total // REQUESTS_PAGE_SIZE))
    page = min(_page("page"), pages)
    is_open = CabRequest.status.in_(OPEN_REQUEST_STATUSES)
    rows = db.session.execute(
        select(CabRequest, Cab.legal_name, Accreditation.number)
        .join(Cab, Cab.id == CabRequest.cab_id)
        .join(Accreditation, Accreditation.id == CabRequest.accreditation_id)
        .order_by(is_open.desc(), CabRequest.id.desc())
        .limit(REQUESTS_PAGE_SIZE).offset((page - 1) * REQUESTS_PAGE_SIZE)).all()
    return render_template("decisions/requests.html", rows=rows, page=page, pages=pages,
                           total=total)


def _request_page(req: CabRequest, *, status: int = 200, answer_form=None, decline_form=None,
                  refusals=()):
    acc = _load_accreditation(req.accreditation_id)
    lines = db.session.execute(
        select(ScopeItem.id, ScopeItem.position, ScopeItem.summary, ScopeItem.status)
        .where(ScopeItem.id.in_(req.scope_item_ids or []))
        .order_by(ScopeItem.position, ScopeItem.id)).all() if req.scope_item_ids else []
    decision = requests.decision_of(req)
    answer_form = answer_form or AnswerRequestForm(
        formdata=None, maker_ids=[str(current_user.id)] if has_role(Role.decision_maker) else [])
    names = user_names([req.submitted_by_id, req.answered_by_id, *(req.maker_ids or [])])
    return render_template(
        "decisions/request.html", req=req, acc=acc, lines=lines, decision=decision,
        files=requests.protection_files(req),
        needs_protection=requests.needs_client_protection(acc),
        maker_names=", ".join(names.get(i, str(i)) for i in req.maker_ids or []),
        may_answer=has_role(*services.RECORDERS) and req.status == RequestStatus.submitted,
        answer_form=answer_form, decline_form=decline_form or DeclineForm(formdata=None),
        maker_rows=services.decision_makers(),
        checked={str(v) for v in (answer_form.maker_ids.data or [])},
        refusals=list(refusals)), status


@bp.get("/requests/<int:request_id>", endpoint="request")
@require_role(*READERS)
def request_page(request_id: int):
    return _request_page(get_scoped_or_404(CabRequest, request_id))


@bp.post("/requests/<int:request_id>/answer")
@require_role(*services.RECORDERS)
def answer_request(request_id: int):
    """Accept a resignation, or approve an inactive status or a reactivation (a decision)."""
    req = get_scoped_or_404(CabRequest, request_id)
    form = AnswerRequestForm()
    if not form.validate_on_submit():
        return _request_page(req, status=400, answer_form=form)
    try:
        if req.kind == "resignation":
            decision = requests.accept_resignation(req, maker_ids=form.maker_ids.data,
                                                   rationale=form.rationale.data)
        else:
            decision = requests.approve_request(req, maker_ids=form.maker_ids.data,
                                                rationale=form.rationale.data)
    except services.DecisionRefused as exc:
        db.session.rollback()
        return _request_page(get_scoped_or_404(CabRequest, request_id), status=exc.status,
                             answer_form=form, refusals=exc.refusals)
    except DomainError as exc:
        db.session.rollback()
        if exc.field not in ("maker_ids", "rationale"):
            exc.field = None
        show_error(form, exc)
        return _request_page(get_scoped_or_404(CabRequest, request_id), status=exc.status,
                             answer_form=form)
    commit()
    flash(_("Decision recorded.") if decision is not None else
          _("Resignation accepted: the withdrawal takes effect on its date."), "success")
    return redirect(url_for(".request", request_id=request_id))


@bp.post("/requests/<int:request_id>/decline")
@require_role(*services.RECORDERS)
def decline_request(request_id: int):
    req = get_scoped_or_404(CabRequest, request_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _request_page(req, status=400, decline_form=form)
    try:
        requests.decline_request(req, form.answer.data)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc)
        return _request_page(get_scoped_or_404(CabRequest, request_id), status=exc.status,
                             decline_form=form)
    commit()
    flash(_("Request declined; the CAB is told why."), "success")
    return redirect(url_for(".request", request_id=request_id))


# -- CAB requests: the portal -------------------------------------------------------------------


def _portal_request_page(req: CabRequest, *, status: int = 200, protection_form=None):
    acc = get_scoped_or_404(Accreditation, req.accreditation_id,
                            joinedload(Accreditation.programme))
    lines = db.session.execute(
        select(ScopeItem.id, ScopeItem.position, ScopeItem.summary, ScopeItem.status)
        .where(ScopeItem.id.in_(req.scope_item_ids or []))
        .order_by(ScopeItem.position, ScopeItem.id)).all() if req.scope_item_ids else []
    return render_template(
        "portal/decision_request.html", req=req, acc=acc, lines=lines,
        files=requests.protection_files(req),
        needs_protection=requests.needs_client_protection(acc),
        protection_form=protection_form or ProtectionForm(formdata=None),
        withdraw_form=PlainForm(formdata=None),
        is_open=req.status in OPEN_REQUEST_STATUSES), status


@portal_bp.route("/accreditations/<int:accreditation_id>/requests/new",
                 methods=["GET", "POST"])
@cab_user_only
def new_request(accreditation_id: int):
    """The CAB's written request: ``?kind=resignation|inactive|reactivation``."""
    acc = get_scoped_or_404(Accreditation, accreditation_id, joinedload(Accreditation.programme))
    kind = request.args.get("kind", "resignation")
    if kind not in ("resignation", "inactive", "reactivation"):
        abort(404)
    lines = db.session.execute(
        select(ScopeItem.id, ScopeItem.position, ScopeItem.summary)
        .where(ScopeItem.accreditation_id == acc.id, ScopeItem.status.in_(
            [ItemStatus.accredited.value, ItemStatus.suspended.value]))
        .order_by(ScopeItem.position, ScopeItem.id)).all() if kind == "resignation" else []
    form = RequestForm() if request.method == "POST" else RequestForm(
        formdata=None, effective_on=requests.earliest_resignation())

    needs_protection, earliest = requests.needs_client_protection(acc), \
        requests.earliest_resignation()
    acc_view = {"id": acc.id, "number": acc.number}

    def page(status=200):
        return render_template(
            "portal/decision_request_new.html", acc=acc_view, kind=kind, form=form,
            lines=lines, checked={str(v) for v in (form.item_ids.data or [])},
            earliest=earliest, needs_protection=needs_protection), status

    if request.method == "GET":
        return page()
    if not form.validate_on_submit():
        return page(400)
    try:
        req = requests.submit_request(
            acc, kind=kind, reason=form.reason.data, extent=form.extent.data or None,
            item_ids=form.item_ids.data, effective_on=form.effective_on.data,
            client_protection=form.client_protection.data,
            upload=form.upload.data if getattr(form.upload.data, "filename", None) else None)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc)
        return page(exc.status)
    req_id = req.id
    commit()
    flash(_("Your request is sent to the accreditation body."), "success")
    return redirect(url_for(".request", request_id=req_id))


@portal_bp.get("/requests/<int:request_id>", endpoint="request")
@cab_user_only
def portal_request(request_id: int):
    return _portal_request_page(get_scoped_or_404(CabRequest, request_id))


@portal_bp.post("/requests/<int:request_id>/withdraw")
@cab_user_only
def withdraw_request(request_id: int):
    req = get_scoped_or_404(CabRequest, request_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        requests.withdraw_request(req)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for(".request", request_id=request_id)), 303
    commit()
    flash(_("Your request is withdrawn."), "success")
    return redirect(url_for(".request", request_id=request_id))


@portal_bp.post("/requests/<int:request_id>/protection")
@cab_user_only
def add_protection(request_id: int):
    req = get_scoped_or_404(CabRequest, request_id)
    form = ProtectionForm()
    if not form.validate_on_submit():
        return _portal_request_page(req, status=400, protection_form=form)
    try:
        requests.add_protection(
            req, client_protection=form.client_protection.data,
            upload=form.upload.data if getattr(form.upload.data, "filename", None) else None)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc)
        return _portal_request_page(get_scoped_or_404(CabRequest, request_id),
                                    status=exc.status, protection_form=form)
    commit()
    flash(_("Your arrangements are recorded."), "success")
    return redirect(url_for(".request", request_id=request_id))
