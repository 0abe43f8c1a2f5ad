"""Complaint pages (under /<tenant>/complaints): the public form (no login, rate-limited, with a
honeypot) and its thank-you page; the staff register of complaints received otherwise; the
staff list and the complaint page with its thread and the actions allowed in its state.

Readers: admins, managers and decision makers; an assessor reads only the complaints they
investigate. Who may act is the services' rule. CAB users get 404 on every staff URL here (their
view is the portal, ``portal_views``); the public pages show nothing but the form and the
public list of accredited bodies (legal name and accreditation number).
"""

from __future__ import annotations

import logging
from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from accreditor.auth.services import user_names
from accreditor.cabs.models import Cab
from accreditor.complaints import forms, services
from accreditor.complaints.models import (
    Complaint,
    ComplaintEntry,
    ComplaintStatus,
)
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, put_error, show_error
from accreditor.core.forms import drop_invalid_filters
from accreditor.core.permissions import Role, has_role, public_endpoint, staff_only_or_404
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.extensions import db, limiter

bp = Blueprint("complaints", __name__, url_prefix="/complaints")
log = logging.getLogger(__name__)

S = ComplaintStatus
READERS = (Role.admin, Role.manager, Role.decision_maker)
PAGE_SIZE = 50
REFERENCE_KEY = "complaint_reference"


@bp.before_request
def _staff_or_public():
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "is_public", False):
        return None
    staff_only_or_404()
    return None


@bp.context_processor
def _labels() -> dict:
    return forms.labels()


@bp.errorhandler(429)
def _too_many(e):
    return render_template("complaints/too_many.html"), 429


# -- public -------------------------------------------------------------------------------------


def _cab_choices(form) -> None:
    form.cab_id.choices = [SelectChoice("", _("— choose the body —"))] + [
        SelectChoice(str(cid), f"{name} ({numbers})" if numbers else name)
        for cid, name, numbers in services.complainable_cabs()]


def _values(form) -> dict:
    return {"subject": form.subject.data, "cab_id": form.cab_id.data or None,
            "complainant_name": form.complainant_name.data,
            "complainant_email": form.complainant_email.data,
            "complainant_phone": form.complainant_phone.data,
            "complainant_organisation": form.complainant_organisation.data,
            "what_happened": form.what_happened.data, "event_on": form.event_on.data,
            "desired_outcome": form.desired_outcome.data,
            "consent_to_share": form.consent_to_share.data}


@bp.route("/new", methods=["GET", "POST"])
@public_endpoint
@limiter.limit(lambda: current_app.config["COMPLAINT_RATE_LIMIT"], methods=["POST"])
def new():
    """The public complaint form."""
    form = forms.ComplaintForm()
    _cab_choices(form)
    if request.method == "GET" and request.args.get("cab_id", type=int):
        form.cab_id.data = str(request.args.get("cab_id", type=int))
    if request.method == "POST" and (form.website.data or "").strip():
        # A bot filled the hidden field: answer as if accepted, store nothing.
        log.warning("complaint form honeypot filled from %s; nothing stored",
                    request.remote_addr)
        session.pop(REFERENCE_KEY, None)
        return redirect(url_for(".received"))
    if form.validate_on_submit():
        try:
            c = services.receive_complaint(**_values(form))
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            reference = c.reference
            commit()
            session[REFERENCE_KEY] = reference
            return redirect(url_for(".received"))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("complaints/new.html", form=form), status


@bp.get("/received")
@public_endpoint
def received():
    return render_template("complaints/received.html", reference=session.pop(REFERENCE_KEY, None))


# -- staff: register and list -------------------------------------------------------------------


def _is_reader() -> bool:
    return has_role(*READERS)


@bp.route("/register", methods=["GET", "POST"])
def register():
    if not has_role(*services.HANDLERS):
        abort(403)
    form = forms.RegisterForm()
    _cab_choices(form)
    if request.method == "GET":
        form.received_on.data = date.today()
    if form.validate_on_submit():
        try:
            c = services.receive_complaint(**_values(form), channel=form.channel.data,
                                           received_on=form.received_on.data)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            commit()
            flash(_("Complaint %(ref)s registered.", ref=c.reference), "success")
            return redirect(url_for(".show", complaint_id=c.id))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("complaints/register.html", form=form), status


@bp.get("/")
def index():
    if not (_is_reader() or has_role(Role.assessor)):
        abort(403)
    today = date.today()
    form = forms.FilterForm(request.args)
    cabs = db.session.execute(
        select(Cab.id, Cab.legal_name).where(Cab.id.in_(select(Complaint.cab_id)))
        .order_by(func.lower(Cab.legal_name))).all()
    form.cab_id.choices = [SelectChoice("", _("Any"))] + [
        SelectChoice(str(cid), name) for cid, name in cabs]
    drop_invalid_filters(form, ("status", "cab_id"))
    stmt = select(Complaint)
    if not _is_reader():
        stmt = stmt.where(Complaint.investigator_id == current_user.id)
    filters = {}
    if form.status.data:
        stmt = stmt.where(Complaint.status == form.status.data)
        filters["status"] = form.status.data
    cab_id = request.args.get("cab_id", type=int)
    if cab_id:
        stmt = stmt.where(Complaint.cab_id == cab_id)
        filters["cab_id"] = cab_id
    if form.overdue.data:
        stmt = stmt.where(services.overdue_condition(today))
        filters["overdue"] = 1
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    rows = db.session.execute(
        stmt.add_columns(Cab.legal_name).outerjoin(Cab, Cab.id == Complaint.cab_id)
        .order_by(Complaint.received_on.desc(), Complaint.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("complaints/list.html", rows=rows, form=form, filters=filters,
                           total=total, page=page, pages=pages, today=today,
                           may_register=has_role(*services.HANDLERS))


# -- staff: the complaint page and its actions ---------------------------------------------------


def _load(complaint_id) -> Complaint:
    c = get_scoped_or_404(Complaint, complaint_id)
    if not _is_reader() and c.investigator_id != current_user.id:
        abort(403)
    return c


def _staff_choices() -> list[SelectChoice]:
    from accreditor.auth.models import Membership, MembershipRole, User

    rows = db.session.execute(
        select(User.id, User.name).join(Membership, Membership.user_id == User.id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(Membership.is_active,
               MembershipRole.role.in_([Role.admin.value, Role.manager.value,
                                        Role.assessor.value, Role.decision_maker.value]))
        .group_by(User.id, User.name).order_by(User.name)).all()
    return [SelectChoice("", _("— choose —"))] + [SelectChoice(str(i), n) for i, n in rows]


def _actions(c: Complaint, posted: dict | None = None) -> dict:
    """The forms of the actions allowed in the complaint's state (``posted``: the one just
    submitted, with its errors)."""
    posted = posted or {}
    me = current_user.id
    handler = has_role(*services.HANDLERS)
    investigator = handler or c.investigator_id == me
    out: dict = {}

    def add(name, form_class, to: ComplaintStatus | None = None):
        # A step is offered only where the transition table allows it (else it would be a 409).
        if to is None or c.can_move_to(to):
            out[name] = posted.get(name) or form_class(prefix=name, formdata=None)

    st = c.status_enum
    if handler and st == S.received:
        add("acknowledge", forms.AcknowledgeForm, S.acknowledged)
    if handler and st in (S.received, S.acknowledged):
        add("reject", forms.ReasonForm, S.rejected)
    if handler and st == S.acknowledged and c.about_cab:
        add("refer", forms.ActionForm, S.referred)
    if handler and st in (S.acknowledged, S.referred):
        add("investigate", forms.InvestigateForm, S.investigating)
        if "investigate" in out:
            out["investigate"].investigator_id.choices = _staff_choices()
    if investigator and st == S.investigating:
        add("propose", forms.DecisionForm, S.decision_proposed)
    if has_role(*services.APPROVERS) and st == S.decision_proposed:
        add("approve", forms.ActionForm, S.decision_approved)
        add("return", forms.ReasonForm, S.investigating)
    if handler and st == S.decision_approved:
        add("close", forms.ActionForm, S.closed)
    if handler and c.is_open:
        add("withdraw", forms.WithdrawForm, S.withdrawn)
    if investigator:
        add("note", forms.NoteForm)
        if c.is_open:
            add("update", forms.NoteForm)
    return out


def _page(c: Complaint, posted: dict | None = None, status: int = 200,
          refusal: str | None = None):
    entries = db.session.execute(
        select(ComplaintEntry).where(ComplaintEntry.complaint_id == c.id)
        .order_by(ComplaintEntry.created_at, ComplaintEntry.id)).scalars().all()
    names = user_names([c.investigator_id, c.handler_id, c.approved_by_id, c.proposed_by_id,
                        c.registered_by_id, c.cab_responded_by_id]
                       + [e.author_id for e in entries])
    cab_name = (db.session.execute(select(Cab.legal_name).where(Cab.id == c.cab_id)).scalar()
                if c.cab_id else None)
    return render_template("complaints/show.html", c=c, entries=entries, names=names,
                           cab_name=cab_name, actions=_actions(c, posted), today=date.today(),
                           refusal=refusal), status


@bp.get("/<int:complaint_id>")
def show(complaint_id):
    return _page(_load(complaint_id))


# action name → (form class, service call taking the complaint and the form, flash message)
ACTIONS = {
    "acknowledge": (forms.AcknowledgeForm,
                    lambda c, f: services.acknowledge(c, note=f.note.data),
                    _l("Acknowledged; the complainant has been told.")),
    "refer": (forms.ActionForm, lambda c, f: services.refer_to_cab(c),
              _l("Referred to the CAB; its users have been told.")),
    "investigate": (forms.InvestigateForm,
                    lambda c, f: services.start_investigation(
                        c, investigator_id=f.investigator_id.data,
                        skip_referral_reason=f.skip_referral_reason.data),
                    _l("Investigation started.")),
    "propose": (forms.DecisionForm,
                lambda c, f: services.propose_decision(c, outcome=f.outcome.data,
                                                       decision_text=f.decision_text.data,
                                                       actions=f.actions.data),
                _l("Decision proposed; it now needs the approval of someone not involved.")),
    "approve": (forms.ActionForm, lambda c, f: services.approve_decision(c),
                _l("Decision approved.")),
    "return": (forms.ReasonForm,
               lambda c, f: services.return_to_investigation(c, reason=f.reason.data),
               _l("Sent back to the investigation.")),
    "close": (forms.ActionForm, lambda c, f: services.close_complaint(c),
              _l("Closed; the formal notice has been sent to the complainant.")),
    "reject": (forms.ReasonForm, lambda c, f: services.reject_complaint(c, reason=f.reason.data),
               _l("Rejected; the complainant has been told why.")),
    "withdraw": (forms.WithdrawForm,
                 lambda c, f: services.withdraw_complaint(c, note=f.note.data),
                 _l("Recorded as withdrawn.")),
    "note": (forms.NoteForm, lambda c, f: services.add_note(c, body=f.body.data),
             _l("Note added.")),
    "update": (forms.NoteForm, lambda c, f: services.send_update(c, body=f.body.data),
               _l("Update sent to the complainant.")),
}


def act(complaint_id, action):
    """Every action of the complaint page: validate its form, call one service, commit."""
    c = _load(complaint_id)
    form_class, call, message = ACTIONS[action]
    form = form_class(prefix=action)
    if action == "investigate":
        form.investigator_id.choices = _staff_choices()
    if not form.validate_on_submit():
        return _page(c, {action: form}, 400)
    try:
        call(c, form)
    except DomainError as exc:
        db.session.rollback()
        refusal = None if put_error(form, exc) else exc.message
        return _page(get_scoped_or_404(Complaint, complaint_id), {action: form}, exc.status,
                     refusal)
    commit()
    flash(str(message), "success")
    return redirect(url_for(".show", complaint_id=complaint_id))


def _action_view(action: str):
    def view(complaint_id):
        return act(complaint_id, action)

    view.__name__ = f"act_{action}"
    return view


for _name in ACTIONS:
    bp.add_url_rule(f"/<int:complaint_id>/{_name}", endpoint=f"act_{_name}",
                    view_func=_action_view(_name), methods=["POST"])
