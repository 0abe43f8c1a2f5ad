"""Staff assessment pages (under /<tenant>/assessments): the list, planning a new assessment,
the assessment page with its sections (details, sample, team, plan, report, history) and the
estimator settings.

Every AB staff role reads. Admins and accreditation managers plan (details, sample, risk,
team, transitions); the lead and assessors on the team write the agenda, internal notes and
report (the services check it, so a refusal is a 403 with its reason); decision makers read.
CAB users and other tenants get 404 on every URL here: the CAB's view is the portal.
Refusals re-render the page with the service's reason (beside the field it names, or at the
top) and the error's status (400, 403 or 409); nothing is half-saved.
"""

from __future__ import annotations

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
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from accreditor.assessments import estimator, services
from accreditor.assessments import team as team_services
from accreditor.assessments.forms import (
    MODE_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
    AccreditationSearchForm,
    ActionForm,
    ActualDaysForm,
    AgendaForm,
    AssessmentForm,
    DetailsForm,
    FilterForm,
    MemberForm,
    NotesForm,
    ReasonForm,
    RecordObjectionForm,
    RemoveMemberForm,
    ReportForm,
    ResolveForm,
    RiskForm,
    SampleForm,
    assessment_labels,
    effort_factors_form,
)
from accreditor.assessments.models import (
    Assessment,
    AssessmentStatus,
    ObjectionStatus,
    TeamAssignment,
    TeamObjection,
    TeamRole,
)
from accreditor.assessments.services import PLANNERS
from accreditor.auth.models import User
from accreditor.cabs import services as cab_services
from accreditor.cabs.models import Cab, CabLocation
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, put_error, show_error
from accreditor.core.forms import drop_invalid_filters
from accreditor.core.permissions import STAFF_ROLES, Role, has_role, require_role, staff_only_or_404
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.extensions import db
from accreditor.refdata import services as refdata
from accreditor.refdata.models import Programme
from accreditor.scopes import services as scope_services
from accreditor.scopes.models import Accreditation
from accreditor.tenants.models import TenantPolicy

bp = Blueprint("assessments", __name__, url_prefix="/assessments")

READERS = tuple(STAFF_ROLES)
PAGE_SIZE = 50
SAMPLE_PAGE_SIZE = 2500  # lines on one page of the sample form
HISTORY_PAGE_SIZE = 100
TABS = ("details", "sample", "team", "plan", "findings", "report", "history")
S = AssessmentStatus


bp.before_request(staff_only_or_404)


@bp.context_processor
def labels():
    return {**assessment_labels(), "recommendations": services.RECOMMENDATIONS}


# -- the list -----------------------------------------------------------------------------------


@bp.get("/")
@require_role(*READERS)
def index():
    form = FilterForm(request.args)
    programmes = refdata.programmes(active_only=False)
    cabs = cab_services.cab_choices()
    form.status.choices = [SelectChoice("", _("Any status"))] + [
        SelectChoice(s.value, lbl) for s, lbl in STATUS_LABELS.items()]
    form.type.choices = [SelectChoice("", _("Any type"))] + [
        SelectChoice(t.value, lbl) for t, lbl in TYPE_LABELS.items()]
    form.mode.choices = [SelectChoice("", _("Any mode"))] + [
        SelectChoice(m.value, lbl) for m, lbl in MODE_LABELS.items()]
    form.cab_id.choices = [SelectChoice("", _("All CABs"))] + [
        SelectChoice(str(cid), name) for cid, name in cabs]
    form.programme.choices = [SelectChoice("", _("All programmes"))] + [
        SelectChoice(str(p.id), f"{p.code} – {p.name}") for p in programmes]
    drop_invalid_filters(form, FilterForm.FILTERS)
    conds = []
    if form.status.data:
        conds.append(Assessment.status == form.status.data)
    if form.type.data:
        conds.append(Assessment.type == form.type.data)
    if form.mode.data:
        conds.append(Assessment.mode == form.mode.data)
    if form.cab_id.data:
        conds.append(Assessment.cab_id == int(form.cab_id.data))
    if form.programme.data:
        conds.append(Accreditation.programme_id == int(form.programme.data))
    if form.date_from.data:  # assessments overlapping the range
        conds.append(Assessment.planned_end_on >= form.date_from.data)
    if form.date_to.data:
        conds.append(Assessment.planned_start_on <= form.date_to.data)
    if form.mine.data:
        conds.append(Assessment.id.in_(select(TeamAssignment.assessment_id).where(
            TeamAssignment.user_id == current_user.id)))
    base = select(Assessment.id).join(Accreditation,
                                      Accreditation.id == Assessment.accreditation_id)
    total = db.session.execute(
        select(func.count()).select_from(base.where(*conds).subquery())).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = db.session.execute(
        select(Assessment, Cab.legal_name, Programme.code, Accreditation.number,
               services.lead_name_column().label("lead"))
        .join(Accreditation, Accreditation.id == Assessment.accreditation_id)
        .join(Programme, Programme.id == Accreditation.programme_id)
        .join(Cab, Cab.id == Assessment.cab_id)
        .where(*conds)
        .order_by(Assessment.planned_start_on.desc(), Assessment.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("assessments/index.html", form=form, rows=rows, total=total,
                           page=page, pages=pages, filters=filters,
                           can_plan=has_role(*PLANNERS))


# -- planning a new assessment ------------------------------------------------------------------


def _locations(cab_id: int) -> list[CabLocation]:
    return list(db.session.execute(
        select(CabLocation).where(CabLocation.cab_id == cab_id, CabLocation.is_active)
        .order_by(CabLocation.code)).scalars())


def _location_choices(locations: list[CabLocation]) -> list[SelectChoice]:
    return [SelectChoice(loc.code, f"{loc.label}{' ★' if loc.is_critical else ''}")
            for loc in locations]


def _choose_accreditation():
    """No accreditation named: search the live ones by CAB name or number (50 at most)."""
    form = AccreditationSearchForm(request.args)
    q = (form.q.data or "").strip()
    rows = scope_services.live_accreditations_for_staff(q, limit=51)
    return render_template("assessments/choose.html", form=form, rows=rows[:50],
                           more=len(rows) > 50, q=q)


def _load_accreditation(accreditation_id: int) -> Accreditation:
    """404 for another tenant's accreditation and for one only a CAB's draft has opened."""
    acc = scope_services.staff_accreditation(
        accreditation_id, joinedload(Accreditation.cab), joinedload(Accreditation.programme))
    if acc is None:
        abort(404)
    return acc


@bp.route("/new", methods=["GET", "POST"])
@require_role(*PLANNERS)
def new():
    accreditation_id = request.args.get("accreditation_id", type=int)
    if not accreditation_id:
        return _choose_accreditation()
    acc = _load_accreditation(accreditation_id)
    locations = _locations(acc.cab_id)
    form = AssessmentForm()
    form.location_codes.choices = _location_choices(locations)
    status = 200
    if request.method == "GET" and not form.location_codes.data:
        form.location_codes.data = [loc.code for loc in locations if loc.is_critical][:1] or (
            [locations[0].code] if locations else [])
    if form.validate_on_submit():
        try:
            assessment = services.create_assessment(
                acc, form.type.data, form.mode.data, form.planned_start_on.data,
                form.planned_end_on.data, form.location_codes.data or [],
                remote_justification=form.remote_justification.data,
                ict_risk_note=form.ict_risk_note.data,
                onsite_not_applicable=form.onsite_not_applicable.data,
                onsite_not_applicable_reason=form.onsite_not_applicable_reason.data,
                internal_notes=form.internal_notes.data)
        except DomainError as exc:
            db.session.rollback()
            acc = _load_accreditation(accreditation_id)  # the rollback expired it
            show_error(form, exc)
            status = exc.status
        else:
            assessment_id = assessment.id
            commit()
            flash(_("Assessment planned as a draft. Next: choose the sample and the team."),
                  "success")
            return redirect(url_for(".show", assessment_id=assessment_id, tab="sample"))
    elif request.method == "POST":
        status = 400
    return render_template("assessments/new.html", acc=acc, form=form,
                           cab_url=url_for("tenant.cabs.show", cab_id=acc.cab_id)), status


# -- estimator settings -------------------------------------------------------------------------


@bp.route("/estimator", methods=["GET", "POST"])
@require_role(Role.admin)
def estimator_settings():
    policy = TenantPolicy.current()
    values = estimator.flat_values(policy)
    form = effort_factors_form(values, formdata=request.form if request.method == "POST"
                               else None)
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        reset = "reset" in request.form
        raw = None if reset else {spec.name: getattr(form, spec.name).data
                                  for spec in estimator.factor_fields()}
        try:
            changes = estimator.update_effort_factors(policy, raw)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
            status = exc.status
        else:
            commit()
            flash(_("Estimator factors reset to the defaults.") if reset and changes
                  else _("Estimator factors saved.") if changes else _("Nothing changed."),
                  "success")
            return redirect(url_for(".estimator_settings"))
    elif request.method == "POST":
        status = 400
    return render_template("assessments/estimator.html", form=form,
                           types=list(TYPE_LABELS.items()),
                           scope_types=list(estimator.SCOPE_TYPE_LABELS.items()),
                           customised=bool(policy.effort_factors)), status


# -- the assessment page ------------------------------------------------------------------------


def _load(assessment_id: int) -> Assessment:
    return get_scoped_or_404(
        Assessment, assessment_id, joinedload(Assessment.cab),
        joinedload(Assessment.accreditation).joinedload(Accreditation.programme))


def _tab(value: str | None) -> str:
    return value if value in TABS else "details"


def _render(assessment_id: int, tab: str, *, status: int = 200, refusal: str | None = None,
            **forms):
    """The assessment page on one section. ``forms`` replaces a section's blank form with the
    submitted one (showing its errors); ``refusal`` is a reason shown at the top."""
    a = _load(assessment_id)
    st = a.status_enum
    team = team_services.team_listing(a)
    members = [(m["user_id"], TeamRole(m["role"])) for m in team]
    sampled = services.sample_ids(a)
    may = {"plan": services.can_plan(), "write": services.can_write(a, members),
           "lead": services.can_lead(a, members)}
    check = None
    if st in services.PLAN_EDITABLE or tab in ("team", "sample"):
        check = team_services.check_team(a, members)
    ctx: dict = {"a": a, "tab": tab, "team": team, "may": may, "check": check,
                 "sampled": sampled,
                 "refusal": refusal, "action_form": ActionForm(formdata=None),
                 "plan_editable": st in services.PLAN_EDITABLE,
                 "team_editable": st in team_services.TEAM_EDITABLE,
                 "cab_url": url_for("tenant.cabs.show", cab_id=a.cab_id),
                 "scope_url": url_for("tenant.scopes.show",
                                      accreditation_id=a.accreditation_id),
                 "reopen_form": forms.get("reopen_form") or ReasonForm(formdata=None,
                                                                       prefix="reopen"),
                 "cancel_form": forms.get("cancel_form") or ReasonForm(formdata=None,
                                                                       prefix="cancel")}
    section = {"details": _details_context, "sample": _sample_context, "team": _team_context,
               "plan": _plan_context, "findings": _findings_context,
               "report": _report_context, "history": _history_context}[tab]
    ctx.update(section(a, forms, ctx))
    ctx["actions"] = services.next_actions(a, result=check, has_sample=bool(sampled))
    return render_template("assessments/show.html", **ctx), status


def render_tab(assessment_id: int, tab: str, **kwargs):
    """The assessment page on one section, for the findings tab's actions (raise, confirm,
    verify) that come back to it with their refusals."""
    return _render(assessment_id, _tab(tab), **kwargs)


def act(assessment_id: int, tab: str, call, success: str, **kwargs):
    """:func:`_act` for the findings tab's actions (routed through this blueprint)."""
    return _act(assessment_id, _tab(tab), call, success, **kwargs)


def _details_context(a: Assessment, forms: dict, ctx: dict) -> dict:
    details_form = forms.get("details_form") or DetailsForm(formdata=None, obj=a)
    return {
        "details_form": details_form,
        "risk_form": forms.get("risk_form") or RiskForm(
            formdata=None, risk_consideration=a.risk_consideration),
        "notes_form": forms.get("notes_form") or NotesForm(formdata=None,
                                                           internal_notes=a.internal_notes),
        "actual_form": forms.get("actual_form") or ActualDaysForm(
            formdata=None, actual_days=str(a.actual_days) if a.actual_days is not None else ""),
        "estimate": estimator.estimate_days(a),
        "locations": {loc.code: loc for loc in _locations(a.cab_id)},
        "risk_by": db.session.execute(select(User.name).where(
            User.id == a.risk_recorded_by_id)).scalar_one_or_none()
        if a.risk_recorded_by_id else None,
    }


def _sample_context(a: Assessment, forms: dict, ctx: dict) -> dict:
    total = services.sampleable_count(a)
    pages = max(1, -(-total // SAMPLE_PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    lines = services.sampleable_lines(a, limit=SAMPLE_PAGE_SIZE,
                                      offset=(page - 1) * SAMPLE_PAGE_SIZE)
    sampled = ctx["sampled"]
    locations = _locations(a.cab_id)
    form = forms.get("sample_form") or SampleForm(formdata=None)
    form.location_codes.choices = _location_choices(locations)
    if forms.get("sample_form") is None:
        form.location_codes.data = list(a.location_codes or [])
    form.shown.data = ",".join(str(row.id) for row in lines)
    checked = set(sampled) if forms.get("sample_form") is None else {
        int(i) for i in form.item_ids.data if str(i).isdigit()}
    return {"sample_form": form, "lines": lines, "checked": checked,
            "sample_total": total, "page": page, "pages": pages}


def _team_context(a: Assessment, forms: dict, ctx: dict) -> dict:
    candidates = team_services.candidates(a) if ctx["team_editable"] else []
    member_form = forms.get("member_form") or MemberForm(formdata=None)
    member_form.user_id.choices = [SelectChoice(c.user_id, c.name) for c in candidates]
    objections = team_services.objection_rows(a)
    record_form = forms.get("objection_form") or RecordObjectionForm(formdata=None)
    record_form.user_id.choices = [SelectChoice(m["user_id"], m["name"]) for m in ctx["team"]]
    return {"candidates": candidates, "member_form": member_form,
            "objections": objections,
            "objection_form": record_form,
            "resolve_forms": {o["objection"].id: forms.get(f"resolve_{o['objection'].id}")
                              or ResolveForm(formdata=None, prefix=f"o{o['objection'].id}")
                              for o in objections},
            "waive_form": forms.get("waive_form") or ReasonForm(formdata=None, prefix="waive"),
            "window_open": team_services.window_open(a),
            "objectable": a.status_enum in team_services.OBJECTABLE}


def _plan_context(a: Assessment, forms: dict, ctx: dict) -> dict:
    return {"agenda_form": forms.get("agenda_form") or AgendaForm(formdata=None,
                                                                  agenda=a.agenda),
            "locations": {loc.code: loc for loc in _locations(a.cab_id)},
            "agenda_editable": a.status_enum not in {S.report_issued, S.closed, S.cancelled}}


def _findings_context(a: Assessment, forms: dict, ctx: dict) -> dict:
    from accreditor.findings.views import tab_context  # findings build on assessments

    return tab_context(a, forms, ctx)


def _report_context(a: Assessment, forms: dict, ctx: dict) -> dict:
    form = forms.get("report_form") or ReportForm(
        formdata=None, report_summary=a.report_summary, recommendation=a.recommendation,
        scope_recommended=a.scope_recommended)
    form.recommendation.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(k, v) for k, v in services.RECOMMENDATIONS.items()]
    return {"report_form": form, "report_editable": a.status_enum == S.in_progress}


def _history_context(a: Assessment, forms: dict, ctx: dict) -> dict:
    stmt = services.history_stmt(a)
    before = request.args.get("before", type=int)
    if before:
        stmt = stmt.where(AuditEvent.seq < before)
    events = db.session.execute(stmt.limit(HISTORY_PAGE_SIZE + 1)).scalars().all()
    older = events[HISTORY_PAGE_SIZE - 1].seq if len(events) > HISTORY_PAGE_SIZE else None
    return {"events": events[:HISTORY_PAGE_SIZE], "older": older, "newest": bool(before)}


@bp.get("/<int:assessment_id>")
@require_role(*READERS)
def show(assessment_id: int):
    return _render(assessment_id, _tab(request.args.get("tab")))


# -- posting: one helper for every action ------------------------------------------------------


def _act(assessment_id: int, tab: str, call, success: str, *, form=None, form_key=None):
    """Run one service call; on success commit, flash and go back to the section; on a
    refusal roll back and show the page again with the reason and the error's status."""
    try:
        call()
    except DomainError as exc:
        db.session.rollback()
        placed = put_error(form, exc)
        forms = {form_key: form} if form_key and form is not None else {}
        return _render(assessment_id, tab, status=exc.status,
                       refusal=None if placed else exc.message, **forms)
    commit()
    flash(success, "success")
    return redirect(url_for(".show", assessment_id=assessment_id, tab=tab))


def _invalid(assessment_id: int, tab: str, form, form_key: str):
    return _render(assessment_id, tab, status=400, **{form_key: form})


@bp.post("/<int:assessment_id>/details")
@require_role(*PLANNERS)
def edit_details(assessment_id: int):
    a = _load(assessment_id)
    form = DetailsForm()
    if not form.validate_on_submit():
        return _invalid(assessment_id, "details", form, "details_form")
    values = {name: getattr(form, name).data for name in (
        "type", "mode", "planned_start_on", "planned_end_on", "remote_justification",
        "ict_risk_note", "onsite_not_applicable", "onsite_not_applicable_reason")}
    return _act(assessment_id, "details", lambda: services.update_assessment(a, **values),
                _("Details saved."), form=form, form_key="details_form")


@bp.post("/<int:assessment_id>/risk")
@require_role(*PLANNERS)
def record_risk(assessment_id: int):
    a = _load(assessment_id)
    form = RiskForm()
    if not form.validate_on_submit():
        return _invalid(assessment_id, "details", form, "risk_form")
    return _act(assessment_id, "details",
                lambda: services.record_risk_consideration(a, form.risk_consideration.data),
                _("Risk consideration recorded."), form=form, form_key="risk_form")


@bp.post("/<int:assessment_id>/estimate")
@require_role(*PLANNERS)
def update_estimate(assessment_id: int):
    a = _load(assessment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(assessment_id, "details", lambda: services.record_estimate(a),
                _("Estimate recorded with the current factors."))


@bp.post("/<int:assessment_id>/actual-days")
@require_role(*READERS)
def actual_days(assessment_id: int):
    a = _load(assessment_id)
    form = ActualDaysForm()
    if not form.validate_on_submit():
        return _invalid(assessment_id, "details", form, "actual_form")
    return _act(assessment_id, "details",
                lambda: services.record_actual_days(a, form.actual_days.data),
                _("Actual days recorded."), form=form, form_key="actual_form")


@bp.post("/<int:assessment_id>/notes")
@require_role(*READERS)
def save_notes(assessment_id: int):
    a = _load(assessment_id)
    form = NotesForm()
    if not form.validate_on_submit():
        return _invalid(assessment_id, "details", form, "notes_form")
    return _act(assessment_id, "details",
                lambda: services.update_internal_notes(a, form.internal_notes.data),
                _("Internal notes saved."), form=form, form_key="notes_form")


@bp.post("/<int:assessment_id>/sample")
@require_role(*PLANNERS)
def save_sample(assessment_id: int):
    a = _load(assessment_id)
    form = SampleForm()
    form.location_codes.choices = _location_choices(_locations(a.cab_id))
    if not form.validate_on_submit():
        return _invalid(assessment_id, "sample", form, "sample_form")
    shown = [x for x in (form.shown.data or "").split(",") if x.strip()]
    page = request.args.get("page", type=int)

    def call():
        services.set_sample(a, form.item_ids.data, only_ids=shown,
                            location_codes=form.location_codes.data or [])

    resp = _act(assessment_id, "sample", call, _("Sample saved."), form=form,
                form_key="sample_form")
    if page and resp.status_code == 302:
        return redirect(url_for(".show", assessment_id=assessment_id, tab="sample", page=page))
    return resp


@bp.post("/<int:assessment_id>/sample/all")
@require_role(*PLANNERS)
def sample_all(assessment_id: int):
    a = _load(assessment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(assessment_id, "sample", lambda: services.sample_all(a),
                _("Every current line of the scope is now in the sample."))


@bp.post("/<int:assessment_id>/agenda")
@require_role(*READERS)
def save_agenda(assessment_id: int):
    a = _load(assessment_id)
    form = AgendaForm()
    if not form.validate_on_submit():
        return _invalid(assessment_id, "plan", form, "agenda_form")
    return _act(assessment_id, "plan", lambda: services.update_agenda(a, form.agenda.data),
                _("Agenda saved."), form=form, form_key="agenda_form")


@bp.post("/<int:assessment_id>/report")
@require_role(*READERS)
def save_report(assessment_id: int):
    a = _load(assessment_id)
    form = ReportForm()
    form.recommendation.choices = [SelectChoice("", "")] + [
        SelectChoice(k, v) for k, v in services.RECOMMENDATIONS.items()]
    if not form.validate_on_submit():
        return _invalid(assessment_id, "report", form, "report_form")
    return _act(assessment_id, "report",
                lambda: services.save_report(a, report_summary=form.report_summary.data,
                                             recommendation=form.recommendation.data,
                                             scope_recommended=form.scope_recommended.data),
                _("Report saved."), form=form, form_key="report_form")


# -- team ---------------------------------------------------------------------------------------


@bp.post("/<int:assessment_id>/team/add")
@require_role(*PLANNERS)
def add_member(assessment_id: int):
    a = _load(assessment_id)
    form = MemberForm()
    # Only people with a current authorisation for the programme can be chosen (an id of
    # anyone else, even of another body, is refused without naming them).
    form.user_id.choices = [SelectChoice(c.user_id, c.name) for c in team_services.candidates(a)]
    if not form.validate_on_submit():
        if form.user_id.errors:
            form.user_id.errors = [_("Choose someone with a current authorisation for this "
                                     "programme over the planned dates, who is not on the team "
                                     "yet.")]
        return _invalid(assessment_id, "team", form, "member_form")
    name = {c.value: c.label for c in form.user_id.choices}.get(form.user_id.data, "")
    return _act(assessment_id, "team",
                lambda: team_services.add_member(a, form.user_id.data, form.role.data),
                _("%(n)s added to the team.", n=name), form=form, form_key="member_form")


@bp.post("/<int:assessment_id>/team/remove")
@require_role(*PLANNERS)
def remove_member(assessment_id: int):
    a = _load(assessment_id)
    form = RemoveMemberForm()
    if not form.validate_on_submit() or not str(form.user_id.data).isdigit():
        abort(400)
    return _act(assessment_id, "team",
                lambda: team_services.remove_member(a, int(form.user_id.data)),
                _("Removed from the team."))


@bp.post("/<int:assessment_id>/propose")
@require_role(*PLANNERS)
def propose(assessment_id: int):
    a = _load(assessment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(assessment_id, "team", lambda: team_services.propose_team(a),
                _("Team proposed; the CAB has been sent the names and may object until the "
                  "date shown."))


@bp.post("/<int:assessment_id>/waive")
@require_role(*PLANNERS)
def waive_window(assessment_id: int):
    a = _load(assessment_id)
    form = ReasonForm(prefix="waive")
    if not form.validate_on_submit():
        return _invalid(assessment_id, "team", form, "waive_form")
    return _act(assessment_id, "team",
                lambda: team_services.waive_objection_window(a, form.reason.data),
                _("Objection window closed early; the reason is on record."), form=form,
                form_key="waive_form")


@bp.post("/<int:assessment_id>/confirm")
@require_role(*PLANNERS)
def confirm(assessment_id: int):
    a = _load(assessment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(assessment_id, "team", lambda: team_services.confirm_team(a),
                _("Team confirmed."))


@bp.post("/<int:assessment_id>/objections")
@require_role(*PLANNERS)
def record_objection(assessment_id: int):
    a = _load(assessment_id)
    form = RecordObjectionForm()
    form.user_id.choices = [SelectChoice(m["user_id"], m["name"])
                            for m in team_services.team_listing(a)]
    if not form.validate_on_submit():
        return _invalid(assessment_id, "team", form, "objection_form")
    return _act(assessment_id, "team",
                lambda: team_services.record_objection(a, form.user_id.data, form.reason.data),
                _("Objection recorded; it must be resolved before the assessment starts."),
                form=form, form_key="objection_form")


@bp.post("/<int:assessment_id>/objections/<int:objection_id>/resolve")
@require_role(*PLANNERS)
def resolve_objection(assessment_id: int, objection_id: int):
    a = _load(assessment_id)
    objection = get_scoped_or_404(TeamObjection, objection_id, assessment_id=a.id)
    form = ResolveForm(prefix=f"o{objection_id}")
    key = f"resolve_{objection_id}"
    if not form.validate_on_submit():
        return _invalid(assessment_id, "team", form, key)
    upheld = form.outcome.data == ObjectionStatus.upheld.value
    return _act(assessment_id, "team",
                lambda: team_services.resolve_objection(objection, upheld, form.resolution.data),
                _("Objection upheld: the member has left the team; propose a replacement to the "
                  "CAB.") if upheld else _("Objection dismissed; the team stands."),
                form=form, form_key=key)


# -- the findings tab's actions (the findings capability's views, routed here so they come
# back to this page with its links) --------------------------------------------------------------


@bp.post("/<int:assessment_id>/findings")
@require_role(*READERS)
def raise_finding(assessment_id: int):
    from accreditor.findings import views as findings_views

    return findings_views.raise_in(assessment_id)


@bp.post("/<int:assessment_id>/findings/confirm")
@require_role(*READERS)
def confirm_finding(assessment_id: int):
    from accreditor.findings import views as findings_views

    return findings_views.confirm_in(assessment_id)


@bp.post("/<int:assessment_id>/findings/verify")
@require_role(*READERS)
def verify_finding(assessment_id: int):
    from accreditor.findings import views as findings_views

    return findings_views.verify_in(assessment_id)


# -- transitions --------------------------------------------------------------------------------


def _transition(assessment_id: int, call, success: str, tab: str = "details"):
    a = _load(assessment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(assessment_id, tab, lambda: call(a), success)


@bp.post("/<int:assessment_id>/approve")
@require_role(*PLANNERS)
def approve(assessment_id: int):
    return _transition(assessment_id, services.approve_plan, _("Plan approved."))


@bp.post("/<int:assessment_id>/start")
@require_role(*READERS)
def start(assessment_id: int):
    return _transition(assessment_id, services.start_assessment, _("Assessment started."),
                       tab="report")


@bp.post("/<int:assessment_id>/issue")
@require_role(*READERS)
def issue_report(assessment_id: int):
    return _transition(assessment_id, services.issue_report,
                       _("Report issued to the decision maker."), tab="report")


@bp.post("/<int:assessment_id>/close")
@require_role(*PLANNERS)
def close(assessment_id: int):
    return _transition(assessment_id, services.close_assessment, _("Assessment closed."))


@bp.post("/<int:assessment_id>/cancel")
@require_role(*PLANNERS)
def cancel(assessment_id: int):
    a = _load(assessment_id)
    form = ReasonForm(prefix="cancel")
    if not form.validate_on_submit():
        return _invalid(assessment_id, "details", form, "cancel_form")
    return _act(assessment_id, "details",
                lambda: services.cancel_assessment(a, form.reason.data),
                _("Assessment cancelled."), form=form, form_key="cancel_form")


@bp.post("/<int:assessment_id>/reopen")
@require_role(*PLANNERS)
def reopen(assessment_id: int):
    a = _load(assessment_id)
    form = ReasonForm(prefix="reopen")
    if not form.validate_on_submit():
        return _invalid(assessment_id, "team", form, "reopen_form")
    return _act(assessment_id, "team", lambda: team_services.reopen_team(a, form.reason.data),
                _("The team is a draft again; change it and propose it to the CAB."),
                form=form, form_key="reopen_form")

