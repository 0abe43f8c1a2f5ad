"""Staff pages for findings inside an assessment (under /<tenant>/findings): the assessment
page's Findings tab (its findings, raising one, confirming an expert's draft, verifying earlier
findings on site), and the finding page (everything about it, the CAB's response thread, and
the actions the signed-in user may take: edit or withdraw before issue, confirm, review the
latest answer, hand over to a follow-up assessment, extend the due dates).

Every AB staff role reads. Who may act is the services' rule (a refusal is a PermissionDenied
shown with its reason and a 403); views only load through the tenant filter, parse the form,
call one service, commit and redirect. CAB users and other tenants get 404 on every URL here:
the CAB's view is the portal. The list and dashboard pages live in another module.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from accreditor.assessments import views as assessment_views
from accreditor.assessments.models import Assessment, AssessmentItem, AssessmentStatus, TeamRole
from accreditor.auth.models import User
from accreditor.auth.services import user_names
from accreditor.cabs.models import CabLocation
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, put_error, show_error
from accreditor.core.permissions import STAFF_ROLES, require_role, staff_only_or_404
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.extensions import db
from accreditor.findings import services
from accreditor.findings.clauses import clause_label, clauses_for
from accreditor.findings.forms import (
    ActionForm,
    DueDatesForm,
    FindingActionForm,
    FindingForm,
    HandOverForm,
    ReasonForm,
    ReviewForm,
    choices,
    finding_labels,
)
from accreditor.findings.models import (
    UNISSUED,
    Finding,
    FindingGrade,
    FindingStatus,
    SanctionProposal,
)
from accreditor.scopes.models import Accreditation, ScopeItem

bp = Blueprint("findings", __name__, url_prefix="/findings")
bp.before_request(staff_only_or_404)

READERS = tuple(STAFF_ROLES)
TAB = "findings"  # the assessment page's section
F = FindingStatus


@bp.context_processor
def labels():
    return {**finding_labels(), "clause_label": clause_label}


# -- shared pieces ------------------------------------------------------------------------------


def _grade_choices(grades) -> list:
    """The grade select: keyed by the grade's key (ids of a preset copied on a page that was
    only read are not kept), labelled with the tenant's words."""
    return choices([("", _("— choose —"))] + [(g.key, g.label) for g in grades])


def _grade_id(key: str | None):
    """The active grade of that key, copying the tenant's preset first if needed (None: the
    service asks to choose one)."""
    return {g.key: g.id for g in services.active_grades()}.get(key or "")


def _line_rows(a: Assessment, extra_ids=()) -> list:
    """(id, position, summary) of the assessment's sampled lines (and ``extra_ids``, lines a
    finding already cites), in scope order: one query."""
    cond = ScopeItem.id.in_(select(AssessmentItem.scope_item_id)
                            .where(AssessmentItem.assessment_id == a.id))
    if extra_ids:
        cond = or_(cond, ScopeItem.id.in_(list(extra_ids)))
    return db.session.execute(
        select(ScopeItem.id, ScopeItem.position, ScopeItem.summary)
        .where(ScopeItem.accreditation_id == a.accreditation_id, cond)
        .order_by(ScopeItem.position, ScopeItem.id)).all()


def _location_choices(cab_id: int, keep=()) -> list:
    locations = db.session.execute(
        select(CabLocation).where(CabLocation.cab_id == cab_id,
                                  or_(CabLocation.is_active, CabLocation.code.in_(list(keep))))
        .order_by(CabLocation.code)).scalars()
    return choices((loc.code, loc.label) for loc in locations)


def _prepare(form: FindingForm, a: Assessment, grades, *, extra_ids=(), keep_codes=()) -> dict:
    """Fill the finding form's choices; returns what the template needs beside it."""
    form.grade_id.choices = _grade_choices(grades)
    form.standard.choices = choices(services.requirement_standards(a.accreditation_id))
    form.location_codes.choices = _location_choices(a.cab_id, keep_codes)
    own = form.standard.choices[0].value
    return {"lines": _line_rows(a, extra_ids), "clauses": clauses_for(own), "grades": grades}


def _finding_values(form: FindingForm) -> dict:
    return {"grade_id": _grade_id(form.grade_id.data), "standard": form.standard.data,
            "other_document": form.other_document.data, "clause": form.clause.data,
            "statement": form.statement.data,
            "objective_evidence": form.objective_evidence.data,
            "item_ids": form.item_ids.data or [], "location_codes": form.location_codes.data or []}


def _role_in_team(team: list[dict]) -> TeamRole | None:
    return next((TeamRole(m["role"]) for m in team if m["user_id"] == current_user.id), None)


# -- the assessment page's Findings tab ---------------------------------------------------------


def tab_context(a: Assessment, forms: dict, ctx: dict) -> dict:
    """The Findings section of the assessment page (called by the assessments blueprint):
    a bounded number of queries whatever the number of findings."""
    role = _role_in_team(ctx["team"])
    rows = db.session.execute(
        select(Finding, User.name).join(User, User.id == Finding.raised_by_id)
        .where(Finding.assessment_id == a.id).order_by(Finding.seq)).all()
    in_progress = a.status_enum == AssessmentStatus.in_progress
    may_raise = services.can_raise(a, role)
    drafts = [f for f, _name in rows if f.status == F.draft]
    out = {**finding_labels(), "clause_label": clause_label, "finding_rows": rows,
           "today": date.today(), "may_raise": may_raise,
           "may_confirm": bool(drafts) and services.can_confirm(a.id, role),
           "finding_action_form": FindingActionForm(formdata=None)}
    if may_raise:
        form = forms.get("raise_form") or FindingForm(formdata=None)
        out["raise_form"] = form
        out["raise"] = _prepare(form, a, services.active_grades())
        if forms.get("raise_form") is None:
            form.standard.data = form.standard.choices[0].value
    out["handed_to"] = services.handed_to(a)
    verify = services.to_verify_at(a) if in_progress else []
    out["to_verify"] = verify
    out["may_verify"] = bool(verify) and services.can_review(a.id, role)
    return out


def raise_in(assessment_id: int):
    """POST /assessments/<id>/findings: raise a finding from the tab (routed by the
    assessments blueprint, so a refusal re-renders its page)."""
    a = get_scoped_or_404(Assessment, assessment_id)
    form = FindingForm()
    if not form.validate_on_submit():
        return assessment_views.render_tab(assessment_id, TAB, status=400, raise_form=form)
    try:
        finding = services.raise_finding(a, **_finding_values(form))
    except DomainError as exc:
        db.session.rollback()
        placed = put_error(form, exc)
        return assessment_views.render_tab(assessment_id, TAB, status=exc.status,
                                           refusal=None if placed else exc.message,
                                           raise_form=form)
    draft, ref = finding.status == F.draft, finding.reference
    commit()
    flash(_("Finding %(ref)s saved as a draft: the lead or an assessor confirms it (rule 6).",
            ref=ref) if draft else _("Finding %(ref)s recorded.", ref=ref), "success")
    return redirect(url_for("tenant.assessments.show", assessment_id=assessment_id, tab=TAB))


def confirm_in(assessment_id: int):
    """POST /assessments/<id>/findings/confirm: confirm an expert's draft of this assessment
    (rule 6)."""
    a = get_scoped_or_404(Assessment, assessment_id)
    form = FindingActionForm()
    finding = get_scoped_or_404(Finding, form.finding_id.data, assessment_id=a.id)
    if not form.validate_on_submit():
        abort(400)
    return _act_in_tab(assessment_id, lambda: services.confirm_finding(finding),
                       _("Finding %(ref)s confirmed: it will be issued with the report.",
                         ref=finding.reference))


def verify_in(assessment_id: int):
    """POST /assessments/<id>/findings/verify: an earlier visit's finding checked at this
    one."""
    a = get_scoped_or_404(Assessment, assessment_id)
    form = FindingActionForm()
    finding = get_scoped_or_404(Finding, form.finding_id.data)
    if not form.validate_on_submit():
        abort(400)
    return _act_in_tab(assessment_id, lambda: services.verify_on_site(finding, a),
                       _("Finding %(ref)s verified on site.", ref=finding.reference))


def _act_in_tab(assessment_id: int, call, success: str):
    """An action taken from the Findings tab: back to the tab, or the tab with the refusal."""
    return assessment_views.act(assessment_id, TAB, call, success)


# -- the finding page ---------------------------------------------------------------------------


def _load(finding_id: int) -> Finding:
    return get_scoped_or_404(
        Finding, finding_id, joinedload(Finding.assessment), joinedload(Finding.cab),
        joinedload(Finding.accreditation).joinedload(Accreditation.programme))


def _render(finding_id: int, *, status: int = 200, refusal: str | None = None, **forms):
    """The finding page. ``forms`` replaces a blank form with the submitted one (showing its
    errors); ``refusal`` is a reason shown at the top."""
    f = _load(finding_id)
    role = services.team_role(f.assessment_id, current_user.id)
    responses = services.responses_of(f)
    evidence = services.evidence_by_response(responses)
    proposals = db.session.execute(
        select(SanctionProposal).where(SanctionProposal.finding_id == f.id)
        .order_by(SanctionProposal.id)).scalars().all()
    lines = services.affected_lines(f)
    locations = services.affected_locations(f)
    names = user_names([f.raised_by_id, f.confirmed_by_id, f.closed_by_id]
                   + [r.submitted_by_id for r in responses]
                   + [r.reviewed_by_id for r in responses]
                   + [p.resolved_by_id for p in proposals])
    is_open = f.is_open
    may = {
        "edit": f.status in UNISSUED and services.can_edit(f, role),
        "confirm": f.status == F.draft and services.can_confirm(f.assessment_id, role),
        "review": f.status == F.responded and services.can_review_finding(f, role),
        "hand_over": is_open and services.can_hand_over(f.assessment_id, role),
        "extend": is_open and services.can_extend(),
    }
    hand_over_form = forms.get("hand_over_form") or HandOverForm(formdata=None,
                                                                prefix="handover")
    if may["hand_over"] or forms.get("hand_over_form") is not None:
        hand_over_form.follow_up_id.choices = choices(
            [("", _("— choose —"))]
            + [(c.id, _("Assessment %(n)s, %(d)s", n=c.id, d=c.planned_start_on.isoformat()))
               for c in services.follow_up_candidates(f)])
    ctx = {
        "f": f, "a": f.assessment, "responses": responses, "evidence": evidence,
        "latest": responses[-1] if responses else None, "proposals": proposals,
        "lines": lines, "locations": locations, "names": names, "may": may,
        "today": date.today(), "refusal": refusal, "role": role,
        "action_form": ActionForm(formdata=None),
        "withdraw_form": forms.get("withdraw_form") or ReasonForm(formdata=None,
                                                                  prefix="withdraw"),
        "review_form": forms.get("review_form") or ReviewForm(formdata=None),
        "hand_over_form": hand_over_form,
        "due_form": forms.get("due_form") or DueDatesForm(
            formdata=None, prefix="due", response_due_on=f.response_due_on,
            evidence_due_on=f.evidence_due_on),
    }
    return render_template("findings/show.html", **ctx), status


@bp.get("/<int:finding_id>")
@require_role(*READERS)
def show(finding_id: int):
    return _render(finding_id)


def _act(finding_id: int, call, success: str, *, form=None, form_key: str | None = None):
    """Run one service call; on success commit, flash and go back to the finding; on a refusal
    roll back and show the page again with the reason and the error's status (403 for a
    PermissionDenied)."""
    try:
        call()
    except DomainError as exc:
        db.session.rollback()
        placed = put_error(form, exc)
        forms = {form_key: form} if form_key and form is not None else {}
        return _render(finding_id, status=exc.status, refusal=None if placed else exc.message,
                       **forms)
    commit()
    flash(success, "success")
    return redirect(url_for(".show", finding_id=finding_id))


@bp.route("/<int:finding_id>/edit", methods=["GET", "POST"])
@require_role(*READERS)
def edit(finding_id: int):
    f = _load(finding_id)
    if request.method == "GET" and not services.can_edit(f):
        abort(403 if f.status in UNISSUED else 409)  # the page offers no edit link then
    item_ids = services.finding_item_ids([f.id]).get(f.id, [])
    if request.method == "POST":
        form = FindingForm()
    else:
        own = services.own_standard(f.accreditation_id)
        # The finding's own grade if it is still in use; after a change of scheme the editor
        # chooses again (a same-named key of the new scheme is another grade).
        grade_key = db.session.execute(select(FindingGrade.key).where(
            FindingGrade.id == f.grade_id, FindingGrade.is_active)).scalar_one_or_none()
        form = FindingForm(
            formdata=None, grade_id=grade_key, clause=f.clause, statement=f.statement,
            objective_evidence=f.objective_evidence, item_ids=[str(i) for i in item_ids],
            location_codes=list(f.location_codes or []),
            standard=f.standard if f.standard == own else services.OTHER_DOCUMENT,
            other_document="" if f.standard == own else f.standard)
    extra = _prepare(form, f.assessment, services.active_grades(), extra_ids=item_ids,
                     keep_codes=f.location_codes or [])
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400
        else:
            try:
                changes = services.update_finding(f, **_finding_values(form))
            except DomainError as exc:
                db.session.rollback()
                show_error(form, exc)
                status = exc.status
                f = _load(finding_id)  # the rollback expired it
            else:
                commit()
                flash(_("Finding saved.") if changes else _("Nothing changed."), "success")
                return redirect(url_for(".show", finding_id=finding_id))
    checked = {str(i) for i in (form.item_ids.data or [])}
    return render_template("findings/edit.html", f=f, a=f.assessment, form=form,
                           checked=checked, **extra), status


@bp.post("/<int:finding_id>/withdraw")
@require_role(*READERS)
def withdraw(finding_id: int):
    f = _load(finding_id)
    form = ReasonForm(prefix="withdraw")
    if not form.validate_on_submit():
        return _render(finding_id, status=400, withdraw_form=form)
    return _act(finding_id, lambda: services.withdraw_finding(f, form.reason.data),
                _("Finding %(ref)s withdrawn.", ref=f.reference), form=form,
                form_key="withdraw_form")


@bp.post("/<int:finding_id>/confirm")
@require_role(*READERS)
def confirm(finding_id: int):
    f = _load(finding_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(finding_id, lambda: services.confirm_finding(f),
                _("Finding %(ref)s confirmed: it will be issued with the report.",
                  ref=f.reference))


@bp.post("/<int:finding_id>/review")
@require_role(*READERS)
def review(finding_id: int):
    f = _load(finding_id)
    form = ReviewForm()
    if not form.validate_on_submit() or form.outcome.data not in ("accept", "reject"):
        return _render(finding_id, status=400, review_form=form)
    accept = form.outcome.data == "accept"
    return _act(finding_id,
                lambda: services.review_response(f, accept=accept, note=form.note.data),
                _("Answer accepted.") if accept else
                _("Answer rejected: the CAB has been told your reason and answers again."),
                form=form, form_key="review_form")


@bp.post("/<int:finding_id>/hand-over")
@require_role(*READERS)
def hand_over(finding_id: int):
    f = _load(finding_id)
    form = HandOverForm(prefix="handover")
    if not form.validate_on_submit():
        return _render(finding_id, status=400, hand_over_form=form)
    return _act(finding_id,
                lambda: services.hand_over(f, form.follow_up_id.data, form.reason.data),
                _("Finding %(ref)s handed to the follow-up assessment.", ref=f.reference),
                form=form, form_key="hand_over_form")


@bp.post("/<int:finding_id>/due-dates")
@require_role(*READERS)
def extend(finding_id: int):
    f = _load(finding_id)
    form = DueDatesForm(prefix="due")
    if not form.validate_on_submit():
        return _render(finding_id, status=400, due_form=form)
    return _act(finding_id,
                lambda: services.extend_due_dates(
                    f, response_due_on=form.response_due_on.data,
                    evidence_due_on=form.evidence_due_on.data, reason=form.reason.data),
                _("Due dates extended."), form=form, form_key="due_form")
