"""Assessor register and declarations (under /<tenant>/assessors).

Every AB staff role reads the register list. One person's entry is read by admins, managers and
decision makers, and by the person themself (``/me``). Admins and managers edit profiles,
propose, approve and withdraw authorisations and attach evidence; an assessor records, edits
and ends their own declarations of interest (managers can for anyone). A user without the
assessor role has no entry (404). CAB users and other tenants get 404 on every URL here.
Refusals re-render the page with the service's reason (beside the field it names, or at the
top) and the error's status; nothing is half-saved.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from accreditor.assessments import register, register_areas
from accreditor.assessments.models import AssessorAuthorisation, InterestDeclaration
from accreditor.assessments.register_forms import (
    AUTH_ROLE_LABELS,
    AUTH_STATE_BADGES,
    AUTH_STATE_LABELS,
    INTEREST_LABELS,
    ActionForm,
    AuthorisationForm,
    DeclarationForm,
    EndDeclarationForm,
    EvidenceForm,
    FilterForm,
    ProfileForm,
    ReasonForm,
)
from accreditor.cabs import services as cab_services
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, NotFound, put_error, show_error
from accreditor.core.forms import drop_invalid_filters
from accreditor.core.permissions import STAFF_ROLES, Role, require_role, staff_only_or_404
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.documents.models import Document
from accreditor.extensions import db
from accreditor.refdata import services as refdata

bp = Blueprint("assessors", __name__, url_prefix="/assessors")

PAGE_SIZE = 50


bp.before_request(staff_only_or_404)


@bp.context_processor
def labels():
    return {"auth_role_labels": AUTH_ROLE_LABELS, "auth_state_labels": AUTH_STATE_LABELS,
            "auth_state_badges": AUTH_STATE_BADGES, "interest_labels": INTEREST_LABELS,
            "area_kind_labels": register_areas.AREA_KIND_LABELS}


# -- the register -------------------------------------------------------------------------------


@bp.get("/")
@require_role(*STAFF_ROLES)
def index():
    form = FilterForm(request.args)
    programmes = refdata.programmes(active_only=False)
    form.programme.choices = [SelectChoice("", _("All programmes"))] + [
        SelectChoice(str(p.id), f"{p.code} – {p.name}") for p in programmes]
    form.role.choices = [SelectChoice("", _("Any role"))] + [
        SelectChoice(r.value, lbl) for r, lbl in AUTH_ROLE_LABELS.items()]
    drop_invalid_filters(form, FilterForm.FILTERS)
    result = register.register_page(
        programme_id=int(form.programme.data) if form.programme.data else None,
        role=form.role.data or None, area=form.area.data, overdue=form.overdue.data == "1",
        q=form.q.data, page=request.args.get("page", 1, type=int) or 1, page_size=PAGE_SIZE)
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    readable = {r.user_id for r in result.rows if register.can_read(r.user_id)}
    return render_template("assessments/register/index.html", form=form, result=result,
                           filters=filters, readable=readable)


# -- one person's entry -------------------------------------------------------------------------


def _person(user_id: int):
    try:
        return register.assessor(user_id)
    except NotFound:
        abort(404)


def _own(user_id: int) -> bool:
    return current_user.id == user_id


def _person_url(user_id: int) -> str:
    return url_for(".me") if _own(user_id) and not register.can_manage() else url_for(
        ".show", user_id=user_id)


def _render(user_id: int, *, status: int = 200, refusal: str | None = None, **forms):
    """One person's register entry. ``forms`` replaces a blank form with the submitted one
    (showing its errors); ``refusal`` is a reason shown at the top."""
    person = _person(user_id)
    if not register.can_read(user_id):
        abort(403)
    manage = register.can_manage()
    own = _own(user_id)
    profile = register.profile_of(user_id)
    interval = register.policy().onsite_monitoring_interval_months
    auths = register.authorisations_of(user_id)
    evidence = register.evidence_for([a.id for a, _p, _n in auths])
    declarations = register.declarations_of(user_id)
    today = register.today()
    ctx: dict = {
        "person": person, "profile": profile, "own": own, "manage": manage,
        "may_declare": manage or own, "refusal": refusal, "today": today,
        "interval": interval,
        "overdue": register.monitoring_overdue(
            profile.last_onsite_monitoring_on if profile else None, interval, today),
        "auths": [(a, p, approver, register.authorisation_state(a, today))
                  for a, p, approver in auths],
        "evidence": evidence, "declarations": declarations,
        "current_decl": {d.id for d, _n in declarations
                         if register.declaration_is_current(d, today)},
        "action_form": ActionForm(formdata=None),
    }
    if manage:
        programmes = refdata.programmes()
        profile_form = forms.get("profile_form") or ProfileForm(formdata=None, obj=profile)
        auth_form = forms.get("auth_form") or AuthorisationForm(formdata=None)
        auth_form.programme_id.choices = [SelectChoice(str(p.id), f"{p.code} – {p.name}")
                                          for p in programmes]
        ctx.update({
            "profile_form": profile_form, "auth_form": auth_form,
            "programmes": programmes,
            "area_kinds": {p.code: register_areas.area_kinds(p) for p in programmes},
            "reference": register_areas.reference_lists(programmes),
            "withdraw_forms": {a.id: forms.get(f"withdraw_{a.id}")
                               or ReasonForm(formdata=None, prefix=f"w{a.id}")
                               for a, _p, _n in auths},
            "evidence_forms": {a.id: forms.get(f"evidence_{a.id}")
                               or EvidenceForm(formdata=None, prefix=f"e{a.id}")
                               for a, _p, _n in auths},
        })
    if manage or own:
        decl_form = forms.get("decl_form") or DeclarationForm(formdata=None)
        _cab_choices(decl_form)
        ctx["decl_form"] = decl_form
        ctx["end_forms"] = {d.id: forms.get(f"end_{d.id}")
                            or EndDeclarationForm(formdata=None, prefix=f"x{d.id}",
                                                  ended_on=today)
                            for d, _n in declarations if d.ended_on is None}
    return render_template("assessments/register/show.html", **ctx), status


def _refused(user_id: int, exc: DomainError, form=None, key: str | None = None):
    db.session.rollback()
    refusal = None if put_error(form, exc) else exc.message
    extra = {key: form} if key and form is not None else {}
    return _render(user_id, status=exc.status, refusal=refusal, **extra)


def _invalid(user_id: int, form, key: str):
    return _render(user_id, status=400, **{key: form})


@bp.get("/me")
def me():
    if not g.membership.has_any_role(Role.assessor):
        abort(404)
    return _render(current_user.id)


@bp.get("/<int:user_id>")
def show(user_id: int):
    return _render(user_id)


@bp.post("/<int:user_id>/profile")
def update_profile(user_id: int):
    _person(user_id)
    form = ProfileForm()
    if not form.validate_on_submit():
        return _invalid(user_id, form, "profile_form")
    try:
        changes = register.update_profile(
            user_id, organisation=form.organisation.data, is_external=form.is_external.data,
            last_onsite_monitoring_on=form.last_onsite_monitoring_on.data,
            monitoring_notes=form.monitoring_notes.data)
    except DomainError as exc:
        return _refused(user_id, exc, form, "profile_form")
    commit()
    flash(_("Profile saved.") if changes else _("Nothing changed."), "success")
    return redirect(url_for(".show", user_id=user_id))


# -- authorisations -----------------------------------------------------------------------------


@bp.post("/<int:user_id>/authorisations")
def propose(user_id: int):
    _person(user_id)
    form = AuthorisationForm()
    form.programme_id.choices = [SelectChoice(str(p.id), p.code) for p in refdata.programmes()]
    if not form.validate_on_submit():
        return _invalid(user_id, form, "auth_form")
    try:
        register.propose_authorisation(
            user_id, role=form.role.data, programme_id=form.programme_id.data,
            area_kind=form.area_kind.data, areas=form.areas.data,
            valid_from=form.valid_from.data, valid_to=form.valid_to.data, notes=form.notes.data)
    except DomainError as exc:
        return _refused(user_id, exc, form, "auth_form")
    commit()
    flash(_("Authorisation proposed. It counts once another manager approves it."), "success")
    return redirect(url_for(".show", user_id=user_id))


def _authorisation(authorisation_id: int) -> AssessorAuthorisation:
    auth = get_scoped_or_404(AssessorAuthorisation, authorisation_id)
    _person(auth.user_id)
    return auth


@bp.post("/authorisations/<int:authorisation_id>/approve")
def approve(authorisation_id: int):
    auth = _authorisation(authorisation_id)
    user_id = auth.user_id
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        register.approve_authorisation(auth)
    except DomainError as exc:
        return _refused(user_id, exc)
    commit()
    flash(_("Authorisation approved."), "success")
    return redirect(_person_url(user_id))


@bp.post("/authorisations/<int:authorisation_id>/withdraw")
def withdraw(authorisation_id: int):
    auth = _authorisation(authorisation_id)
    user_id = auth.user_id
    form = ReasonForm(prefix=f"w{authorisation_id}")
    if not form.validate_on_submit():
        return _invalid(user_id, form, f"withdraw_{authorisation_id}")
    try:
        register.withdraw_authorisation(auth, form.reason.data)
    except DomainError as exc:
        return _refused(user_id, exc, form, f"withdraw_{authorisation_id}")
    commit()
    flash(_("Authorisation withdrawn."), "success")
    return redirect(_person_url(user_id))


@bp.post("/authorisations/<int:authorisation_id>/evidence")
def upload_evidence(authorisation_id: int):
    auth = _authorisation(authorisation_id)
    user_id = auth.user_id
    key = f"evidence_{authorisation_id}"
    form = EvidenceForm(prefix=f"e{authorisation_id}")
    if not form.validate_on_submit():
        return _invalid(user_id, form, key)
    try:
        doc = register.add_evidence(auth, form.file.data)
    except DomainError as exc:
        return _refused(user_id, exc, form, key)
    name = doc.original_name
    commit()
    flash(_("Evidence “%(n)s” attached.", n=name), "success")
    return redirect(_person_url(user_id))


@bp.post("/authorisations/<int:authorisation_id>/evidence/<int:document_id>/remove")
def remove_evidence(authorisation_id: int, document_id: int):
    auth = _authorisation(authorisation_id)
    user_id = auth.user_id
    doc = get_scoped_or_404(Document, document_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        register.remove_evidence(auth, doc)
    except DomainError as exc:
        return _refused(user_id, exc)
    commit()
    flash(_("Evidence removed (it stays on record)."), "success")
    return redirect(_person_url(user_id))


# -- declarations -------------------------------------------------------------------------------


def _decl_data(form: DeclarationForm) -> dict:
    return {"kind": form.kind.data, "cab_id": form.cab_id.data,
            "organisation": form.organisation.data, "started_on": form.started_on.data,
            "ended_on": form.ended_on.data, "description": form.description.data}


def _cab_choices(form: DeclarationForm) -> None:
    form.cab_id.choices = [SelectChoice("", _("— none: name the organisation —"))] + [
        SelectChoice(str(cid), name) for cid, name in cab_services.cab_choices()]


@bp.post("/<int:user_id>/declarations")
def declare(user_id: int):
    _person(user_id)
    if not (_own(user_id) or register.can_manage()):
        abort(403)
    form = DeclarationForm()
    _cab_choices(form)
    if not form.validate_on_submit():
        return _invalid(user_id, form, "decl_form")
    try:
        register.record_declaration(user_id, **_decl_data(form))
    except DomainError as exc:
        return _refused(user_id, exc, form, "decl_form")
    commit()
    flash(_("Declaration recorded."), "success")
    return redirect(_person_url(user_id))


def _declaration(declaration_id: int) -> InterestDeclaration:
    decl = get_scoped_or_404(InterestDeclaration, declaration_id)
    if not register.can_edit_declaration(decl):
        abort(403)
    return decl


@bp.route("/declarations/<int:declaration_id>/edit", methods=["GET", "POST"])
def edit_declaration(declaration_id: int):
    decl = _declaration(declaration_id)
    person = _person(decl.user_id)
    form = DeclarationForm(obj=decl) if request.method == "POST" else DeclarationForm(
        formdata=None, obj=decl)
    _cab_choices(form)
    if request.method == "GET":
        form.cab_id.data = str(decl.cab_id) if decl.cab_id else ""
    status = 200
    if form.validate_on_submit():
        user_id = decl.user_id
        try:
            changes = register.update_declaration(decl, **_decl_data(form))
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
            status = exc.status
            decl = _declaration(declaration_id)
        else:
            commit()
            flash(_("Declaration saved.") if changes else _("Nothing changed."), "success")
            return redirect(_person_url(user_id))
    elif request.method == "POST":
        status = 400
    return render_template("assessments/register/declaration.html", form=form, decl=decl,
                           person=person, back=_person_url(decl.user_id)), status


@bp.post("/declarations/<int:declaration_id>/end")
def end_declaration(declaration_id: int):
    decl = _declaration(declaration_id)
    user_id = decl.user_id
    _person(user_id)
    key = f"end_{declaration_id}"
    form = EndDeclarationForm(prefix=f"x{declaration_id}")
    if not form.validate_on_submit():
        return _invalid(user_id, form, key)
    try:
        register.end_declaration(decl, form.ended_on.data)
    except DomainError as exc:
        return _refused(user_id, exc, form, key)
    commit()
    flash(_("Declaration ended."), "success")
    return redirect(_person_url(user_id))
