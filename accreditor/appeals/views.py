"""Appeal pages: staff (handling, under /<tenant>/appeals) and CAB portal (lodging, following,
withdrawing, asking for the panel, under /<tenant>/portal/appeals).

Staff: admins, managers and decision makers read the list (open first, overdue flagged,
filters, pages) and each appeal; the actions each state offers are the services' to allow
(acknowledge, name a handler — the choice lists only independent people and says why the
others are not offered —, record the outcome, close, appoint the panel, record its outcome).
CAB users get 404 on staff URLs. Portal: pure CAB users (``cab_user_only``) see only their own
CAB's appeals (another CAB's or tenant's appeal is a 404 through the tenancy filters).

Nothing here changes the appealed decision or finding: the pages say the decision stays in force,
and an overturned decision links the managers to record a new one (rule 23).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import case, func, select
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from accreditor.appeals import jobs as _jobs  # noqa: F401 - registers the daily deadline job
from accreditor.appeals import services
from accreditor.appeals.forms import (
    KIND_LABELS,
    STATUS_LABELS,
    ActionForm,
    HandlerForm,
    LodgeForm,
    OutcomeForm,
    PanelForm,
    ReasonForm,
    appeal_labels,
)
from accreditor.appeals.models import (
    OPEN_STATUSES,
    Appeal,
    AppealKind,
    AppealPanelMember,
    AppealStatus,
)
from accreditor.auth.services import user_names
from accreditor.cabs.models import Cab
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, show_error
from accreditor.core.forms import drop_invalid_filters
from accreditor.core.permissions import has_role, require_role, staff_only_or_404
from accreditor.core.storage import FileTooLarge
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.decisions.forms import KIND_LABELS as DECISION_KIND_LABELS
from accreditor.decisions.models import Decision
from accreditor.documents.filetypes import UnsupportedFileType
from accreditor.extensions import db
from accreditor.findings.models import Finding
from accreditor.portal.views import cab_user_only
from accreditor.refdata.models import Programme
from accreditor.scopes.models import Accreditation
from accreditor.tenants.models import TenantPolicy

bp = Blueprint("appeals", __name__, url_prefix="/appeals")
bp.before_request(staff_only_or_404)
portal_bp = Blueprint("cab_appeals", __name__, url_prefix="/portal/appeals")

S = AppealStatus
READERS = services.HANDLER_ROLES
PAGE_SIZE = 50


def _labels() -> dict:
    return {**appeal_labels(), "decision_kind_labels": {k.value: v for k, v in
                                                        DECISION_KIND_LABELS.items()}}


bp.context_processor(_labels)
portal_bp.context_processor(_labels)


@bp.app_template_global("appeal_word_for_findings")
def appeal_word_for_findings() -> str:
    """The tenant's word for contesting a nonconformity (rule 24): "appeal" or "challenge".
    Read by the link partial on the CAB's finding page (one cached policy read)."""
    return services.finding_kind().value


# -- shared pieces ------------------------------------------------------------------------------


def subject_rows(appeals: list[Appeal]) -> dict[tuple[str, int], dict]:
    """{("decision"|"finding", id): what a list shows of it}: two statements for any page."""
    out: dict[tuple[str, int], dict] = {}
    d_ids = sorted({a.decision_id for a in appeals if a.decision_id})
    f_ids = sorted({a.finding_id for a in appeals if a.finding_id})
    if d_ids:
        for d_id, kind, effective, number, code in db.session.execute(
                select(Decision.id, Decision.kind, Decision.effective_on, Accreditation.number,
                       Programme.code)
                .join(Accreditation, Accreditation.id == Decision.accreditation_id)
                .join(Programme, Programme.id == Accreditation.programme_id)
                .where(Decision.id.in_(d_ids))).all():
            out[("decision", d_id)] = {
                "label": _("Decision: %(k)s, effective %(d)s (%(p)s %(n)s)",
                           k=DECISION_KIND_LABELS.get(kind, kind), d=effective.isoformat(),
                           p=code, n=number or "")}
    if f_ids:
        for f_id, aid, seq, grade in db.session.execute(
                select(Finding.id, Finding.assessment_id, Finding.seq, Finding.grade_label)
                .where(Finding.id.in_(f_ids))).all():
            out[("finding", f_id)] = {"label": _("Nonconformity %(ref)s (%(g)s)",
                                                 ref=f"{aid}-{seq}", g=grade)}
    return out


def subject_label(appeal: Appeal, rows: dict) -> str:
    key = (appeal.subject_type, appeal.decision_id or appeal.finding_id)
    return rows.get(key, {}).get("label", "–")


def _subject(appeal: Appeal):
    if appeal.decision_id is not None:
        return db.session.execute(select(Decision).where(Decision.id == appeal.decision_id)
                                  ).scalar_one()
    return db.session.execute(select(Finding).where(Finding.id == appeal.finding_id)
                              ).scalar_one()


def _accreditation(acc_id: int) -> Accreditation:
    return db.session.execute(
        select(Accreditation.id, Accreditation.number, Programme.code, Programme.name)
        .join(Programme, Programme.id == Accreditation.programme_id)
        .where(Accreditation.id == acc_id)).one()


def _names(appeal: Appeal, panel: list) -> dict:
    return user_names([appeal.lodged_by_id, appeal.handler_id, appeal.acknowledged_by_id,
                       appeal.outcome_by_id, appeal.withdrawn_by_id,
                       appeal.review_requested_by_id, appeal.panel_recorded_by_id,
                       *(m.user_id for m in panel)])


def _panel(appeal: Appeal) -> list[AppealPanelMember]:
    return list(db.session.execute(
        select(AppealPanelMember).where(AppealPanelMember.appeal_id == appeal.id)
        .order_by(AppealPanelMember.role, AppealPanelMember.id)).scalars())


def _file_error(form, exc: DomainError) -> None:
    if isinstance(exc, (FileTooLarge, UnsupportedFileType)) or exc.field in ("file", "files"):
        form.files.errors = [*form.files.errors, exc.message]
    else:
        show_error(form, exc)


def _lodge_subject():
    subject = services.load_subject(decision_id=request.args.get("decision_id"),
                                    finding_id=request.args.get("finding_id"))
    if subject is None:
        abort(404)
    return subject


def _lodge_page(template: str, subject, form: LodgeForm, *, status: int = 200):
    kind = services.kind_for(subject)
    refusal = services.lodge_refusal(subject)
    acc = _accreditation(subject.accreditation_id)
    return render_template(template, subject=subject, is_decision=isinstance(subject, Decision),
                           kind=kind.value, form=form, refusal=refusal, acc=acc,
                           window_ends_on=services.window_ends_on(subject)), status


def _lodge(template: str, done_endpoint: str):
    subject = _lodge_subject()
    if request.method == "GET":
        return _lodge_page(template, subject, LodgeForm(formdata=None))
    form = LodgeForm()
    if not form.validate_on_submit():
        return _lodge_page(template, subject, form, status=400)
    try:
        appeal = services.lodge_appeal(subject, grounds=form.grounds.data,
                                       files=request.files.getlist("files"))
    except DomainError as exc:
        db.session.rollback()  # nothing half-saved: no appeal row, no document
        subject = _lodge_subject()
        _file_error(form, exc)
        return _lodge_page(template, subject, form, status=exc.status)
    appeal_id, reference, kind = appeal.id, appeal.reference, appeal.kind
    commit()
    flash(_("%(kind)s %(ref)s lodged. It will be acknowledged within %(n)d working days.",
            kind=KIND_LABELS[AppealKind(kind)], ref=reference,
            n=TenantPolicy.current().appeal_ack_working_days), "success")
    return redirect(url_for(done_endpoint, appeal_id=appeal_id))


# -- staff: the list ------------------------------------------------------------------------------


GROUPS = {
    "open": (_l("Open"), OPEN_STATUSES),
    "closed": (_l("Closed"), (S.closed.value,)),
    "withdrawn": (_l("Withdrawn"), (S.withdrawn.value,)),
}


class AppealFilterForm(FlaskForm):
    class Meta:
        csrf = False

    FILTERS = ("group", "status", "kind", "subject")

    group = SelectField(_l("Show"), validators=[Optional()], choices=[
        SelectChoice("", _l("All appeals (open first)"))] + [
        SelectChoice(k, label) for k, (label, _s) in GROUPS.items()])
    status = SelectField(_l("Status"), validators=[Optional()], choices=[
        SelectChoice("", _l("Any status"))] + [
        SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()])
    kind = SelectField(_l("Kind"), validators=[Optional()], choices=[
        SelectChoice("", _l("Appeals and challenges"))] + [
        SelectChoice(k.value, label) for k, label in KIND_LABELS.items()])
    subject = SelectField(_l("Subject"), validators=[Optional()], choices=[
        SelectChoice("", _l("Decisions and nonconformities")),
        SelectChoice("decision", _l("Decisions")),
        SelectChoice("finding", _l("Nonconformities"))])
    overdue = BooleanField(_l("Overdue only"))


@bp.get("/")
@require_role(*READERS)
def index():
    form = AppealFilterForm(request.args)
    drop_invalid_filters(form, AppealFilterForm.FILTERS)
    today = date.today()
    conds = []
    if form.group.data:
        conds.append(Appeal.status.in_(GROUPS[form.group.data][1]))
    if form.status.data:
        conds.append(Appeal.status == form.status.data)
    if form.kind.data:
        conds.append(Appeal.kind == form.kind.data)
    if form.subject.data == "decision":
        conds.append(Appeal.decision_id.is_not(None))
    elif form.subject.data == "finding":
        conds.append(Appeal.finding_id.is_not(None))
    if form.overdue.data:
        conds.append(services.overdue_condition(today))
    total, overdue_total = db.session.execute(
        select(func.count(Appeal.id),
               func.coalesce(func.sum(case((services.overdue_condition(today), 1), else_=0)), 0))
        .where(*conds)).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    due = services.due_column()
    rows = db.session.execute(
        select(Appeal, Cab.legal_name).join(Cab, Cab.id == Appeal.cab_id).where(*conds)
        .order_by(case((Appeal.status.in_(OPEN_STATUSES), 0), else_=1),
                  case((due.is_(None), 1), else_=0), due, Appeal.lodged_at.desc(),
                  Appeal.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    appeals = [a for a, _n in rows]
    filters = {k: v for k, v in request.args.items()
               if k in (*AppealFilterForm.FILTERS, "overdue") and v}
    return render_template(
        "appeals/index.html", form=form, rows=rows, subjects=subject_rows(appeals),
        subject_label=subject_label, handlers=user_names([a.handler_id for a in appeals]),
        today=today, total=total, overdue_total=overdue_total, page=page, pages=pages,
        filters=filters, may_manage=has_role(*services.MANAGERS))


# -- staff: lodging on the CAB's behalf ----------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@require_role(*services.MANAGERS)
def new():
    """A manager records an appeal the CAB sent in writing (recorded as on its behalf)."""
    return _lodge("appeals/new.html", ".show")


# -- staff: one appeal ----------------------------------------------------------------------------


def _load(appeal_id: int) -> Appeal:
    return get_scoped_or_404(Appeal, appeal_id)


def _staff_page(appeal: Appeal, *, status: int = 200, **forms):
    panel = _panel(appeal)
    may_manage = has_role(*services.MANAGERS)
    me = current_user.id
    ctx = {"a": appeal, "subject": _subject(appeal), "acc": _accreditation(appeal.accreditation_id),
           "cab_name": db.session.execute(select(Cab.legal_name).where(
               Cab.id == appeal.cab_id)).scalar_one(),
           "panel": panel, "names": _names(appeal, panel),
           "files": services.attachments(appeal), "today": date.today(),
           "outcome_days": TenantPolicy.current().appeal_outcome_working_days,
           "may_manage": may_manage, "is_handler": me == appeal.handler_id,
           "on_panel": any(m.user_id == me for m in panel)}
    eligible = ineligible = panel_eligible = panel_ineligible = ()
    if may_manage and appeal.status in (S.acknowledged, S.under_review):
        eligible, ineligible = services.candidates(appeal)
        form = forms.setdefault("handler_form", HandlerForm(formdata=None))
        form.handler_id.choices = [SelectChoice("", _("— choose —"))] + [
            SelectChoice(str(uid), name) for uid, name in eligible]
    if may_manage and appeal.status == S.review_requested:
        panel_eligible, panel_ineligible = services.candidates(appeal, panel=True)
        form = forms.setdefault("panel_form", PanelForm(formdata=None))
        form.chair_id.choices = [SelectChoice("", _("— choose —"))] + [
            SelectChoice(str(uid), name) for uid, name in panel_eligible]
        form.member_ids.choices = [SelectChoice(str(uid), name) for uid, name in panel_eligible]
    if appeal.status == S.under_review and (ctx["is_handler"] or may_manage):
        forms.setdefault("outcome_form", OutcomeForm(formdata=None))
    if appeal.status == S.panel_review and (ctx["on_panel"] or may_manage):
        forms.setdefault("panel_outcome_form", OutcomeForm(formdata=None, prefix="panel"))
    forms.setdefault("action_form", ActionForm(formdata=None))
    return render_template("appeals/show.html", ineligible=ineligible,
                           panel_ineligible=panel_ineligible, **ctx, **forms), status


@bp.get("/<int:appeal_id>")
@require_role(*READERS)
def show(appeal_id: int):
    return _staff_page(_load(appeal_id))


def _act(appeal_id: int, form, form_name: str, call, done: str):
    """Validate ``form``, run ``call(appeal)``, commit and redirect; a refusal is shown beside
    its field (or above the form) with its status and nothing saved."""
    appeal = _load(appeal_id)
    if not form.validate_on_submit():
        return _staff_page(appeal, status=400, **{form_name: form})
    try:
        call(appeal)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc)
        return _staff_page(_load(appeal_id), status=exc.status, **{form_name: form})
    commit()
    flash(done, "success")
    return redirect(url_for(".show", appeal_id=appeal_id))


@bp.post("/<int:appeal_id>/acknowledge")
@require_role(*services.MANAGERS)
def acknowledge(appeal_id: int):
    return _act(appeal_id, ActionForm(), "action_form", services.acknowledge_appeal,
                _("Acknowledged; the CAB has been told."))


@bp.post("/<int:appeal_id>/handler")
@require_role(*services.MANAGERS)
def handler(appeal_id: int):
    form = HandlerForm()
    return _act(appeal_id, form, "handler_form",
                lambda a: services.assign_handler(a, handler_id=form.handler_id.data),
                _("Handler named and told."))


@bp.post("/<int:appeal_id>/outcome")
@require_role(*READERS)
def outcome(appeal_id: int):
    form = OutcomeForm()
    return _act(appeal_id, form, "outcome_form",
                lambda a: services.record_outcome(a, outcome=form.outcome.data,
                                                  reasons=form.reasons.data),
                _("Outcome recorded; the CAB has been told."))


@bp.post("/<int:appeal_id>/close")
@require_role(*services.MANAGERS)
def close(appeal_id: int):
    return _act(appeal_id, ActionForm(), "action_form", services.close_appeal,
                _("Appeal closed."))


@bp.post("/<int:appeal_id>/panel")
@require_role(*services.MANAGERS)
def panel(appeal_id: int):
    form = PanelForm()
    return _act(appeal_id, form, "panel_form",
                lambda a: services.appoint_panel(a, chair_id=form.chair_id.data,
                                                 member_ids=form.member_ids.data),
                _("Panel appointed and told."))


@bp.post("/<int:appeal_id>/panel-outcome")
@require_role(*READERS)
def panel_outcome(appeal_id: int):
    form = OutcomeForm(prefix="panel")
    return _act(appeal_id, form, "panel_outcome_form",
                lambda a: services.record_panel_outcome(a, outcome=form.outcome.data,
                                                        reasons=form.reasons.data),
                _("Panel outcome recorded; the appeal is closed and the CAB told."))


# -- portal -------------------------------------------------------------------------------------


@portal_bp.get("/")
@cab_user_only
def cab_index():
    total = db.session.execute(select(func.count(Appeal.id))).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    appeals = list(db.session.execute(
        select(Appeal).order_by(case((Appeal.status.in_(OPEN_STATUSES), 0), else_=1),
                                Appeal.lodged_at.desc(), Appeal.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).scalars())
    return render_template("portal/appeals/index.html", appeals=appeals,
                           subjects=subject_rows(appeals), subject_label=subject_label,
                           page=page, pages=pages, total=total)


@portal_bp.route("/new", methods=["GET", "POST"])
@cab_user_only
def cab_new():
    return _lodge("portal/appeals/new.html", ".show")


def _cab_page(appeal: Appeal, *, status: int = 200, **forms):
    today = date.today()
    if appeal.can_withdraw():
        forms.setdefault("withdraw_form", ReasonForm(formdata=None, prefix="withdraw"))
    if appeal.can_request_review(today):
        forms.setdefault("review_form", ReasonForm(formdata=None, prefix="review"))
    panel = _panel(appeal)
    return render_template(
        "portal/appeals/show.html", a=appeal, subject=_subject(appeal),
        acc=_accreditation(appeal.accreditation_id), names=_names(appeal, panel), panel=panel,
        files=services.attachments(appeal), today=today,
        review_closed=(appeal.status in (S.decided, S.closed)
                       and appeal.review_requested_at is None
                       and not appeal.can_request_review(today)), **forms), status


@portal_bp.get("/<int:appeal_id>", endpoint="show")
@cab_user_only
def cab_show(appeal_id: int):
    return _cab_page(_load(appeal_id))


def _cab_act(appeal_id: int, prefix: str, call, done: str):
    appeal = _load(appeal_id)
    form = ReasonForm(prefix=prefix)
    name = f"{prefix}_form"
    if not form.validate_on_submit():
        return _cab_page(appeal, status=400, **{name: form})
    try:
        call(appeal, form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc)
        return _cab_page(_load(appeal_id), status=exc.status, **{name: form})
    commit()
    flash(done, "success")
    return redirect(url_for(".show", appeal_id=appeal_id))


@portal_bp.post("/<int:appeal_id>/withdraw")
@cab_user_only
def withdraw(appeal_id: int):
    return _cab_act(appeal_id, "withdraw",
                    lambda a, reason: services.withdraw_appeal(a, reason=reason),
                    _("Withdrawn. A withdrawn appeal cannot be raised again on the same "
                      "subject."))


@portal_bp.post("/<int:appeal_id>/review")
@cab_user_only
def request_review(appeal_id: int):
    return _cab_act(appeal_id, "review",
                    lambda a, reason: services.request_review(a, reason=reason),
                    _("Panel review requested. The accreditation body will appoint an "
                      "independent panel."))
