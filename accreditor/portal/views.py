"""The CAB portal (under /<tenant>/portal): a CAB user's own CAB, accreditations and applications.

Only CAB users who are not also AB staff reach these pages: for them tenant resolution has set
``g.cab_id``, so every CabScoped query is confined to their CAB. Objects are still loaded with
``get_scoped_or_404``: another CAB's id is simply not found.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from accreditor.applications import documents as app_documents
from accreditor.applications import services
from accreditor.applications.forms import label_context
from accreditor.applications.models import Application, ApplicationType
from accreditor.cabs.models import Cab
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, ValidationFailed
from accreditor.core.permissions import Role, require_role
from accreditor.core.storage import FileTooLarge, format_size
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.documents.filetypes import UnsupportedFileType, allowed_labels
from accreditor.documents.models import Document
from accreditor.extensions import db
from accreditor.portal.forms import (
    ActionForm,
    AnswerForm,
    DocumentForm,
    EditApplicationForm,
    NewApplicationForm,
    SubmitForm,
)
from accreditor.refdata import services as refdata
from accreditor.refdata.models import ScopeType
from accreditor.scopes import forms as scope_forms
from accreditor.scopes import schemas
from accreditor.scopes import services as scopes
from accreditor.scopes.models import Accreditation, AccreditationStatus, ItemStatus, ScopeItem
from accreditor.scopes.services import ScopeLineInvalid

bp = Blueprint("portal", __name__, url_prefix="/portal")

SCOPE_PAGE_SIZE = 100


def cab_user_only(view: Callable) -> Callable:
    """CAB users only; AB staff (even if they also hold the CAB-user role) get 403, because
    only a pure CAB user is confined to one CAB."""

    @functools.wraps(view)
    @require_role(Role.cab_user)
    def wrapped(*args, **kwargs):
        if g.get("cab_id") is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.context_processor
def _labels():
    return label_context()


def _cab() -> Cab:
    return get_scoped_or_404(Cab, g.cab_id, selectinload(Cab.locations))


def _location_choices(cab: Cab) -> list[tuple[str, str]]:
    return [(loc.code, loc.label) for loc in cab.locations if loc.is_active]


# -- overview -----------------------------------------------------------------------------------


@bp.get("/")
@cab_user_only
def index():
    cab = _cab()
    accreditations = db.session.execute(
        select(Accreditation).options(selectinload(Accreditation.programme))
        .order_by(Accreditation.id)
    ).scalars().all()
    applications = db.session.execute(
        select(Application).options(selectinload(Application.programme),
                                    selectinload(Application.accreditation))
        .order_by(Application.id.desc())
    ).scalars().all()
    return render_template("portal/index.html", cab=cab, accreditations=accreditations,
                           applications=applications)


@bp.get("/accreditations/<int:accreditation_id>")
@cab_user_only
def accreditation(accreditation_id: int):
    acc = get_scoped_or_404(Accreditation, accreditation_id, joinedload(Accreditation.programme),
                            joinedload(Accreditation.edition))
    page = max(1, request.args.get("page", 1, type=int))
    total = db.session.execute(
        select(func.count(ScopeItem.id)).where(ScopeItem.accreditation_id == acc.id)
    ).scalar_one()
    items = db.session.execute(
        select(ScopeItem).where(ScopeItem.accreditation_id == acc.id)
        .order_by(ScopeItem.position, ScopeItem.id)
        .limit(SCOPE_PAGE_SIZE).offset((page - 1) * SCOPE_PAGE_SIZE)
    ).scalars().all()
    scope_type = ScopeType(acc.programme.scope_type)
    from accreditor.decisions.views import accreditation_decisions

    return render_template(
        "portal/accreditation.html", acc=acc, items=items, page=page, total=total,
        pages=max(1, -(-total // SCOPE_PAGE_SIZE)), specs=schemas.SCHEMAS[scope_type],
        choice_names=_choice_names(scope_type), **accreditation_decisions(acc))


def _choice_names(scope_type: ScopeType) -> dict[str, dict[str, str]]:
    """Readable names for coded CHOICE values (a discipline code → its name)."""
    names: dict[str, dict[str, str]] = {}
    for spec in schemas.SCHEMAS[scope_type]:
        if spec.kind == schemas.CHOICE and spec.terms is not None:
            names[spec.name] = {code: t.name for code, t in refdata.terms(spec.terms).items()}
    return names


# -- starting an application ------------------------------------------------------------------


def _current_accreditations() -> list[Accreditation]:
    live = [s.value for s in (AccreditationStatus.accredited,
                              AccreditationStatus.partially_suspended,
                              AccreditationStatus.suspended)]
    return list(db.session.execute(
        select(Accreditation).where(Accreditation.status.in_(live))
        .options(selectinload(Accreditation.programme)).order_by(Accreditation.id)
    ).scalars())


@bp.route("/applications/new", methods=["GET", "POST"])
@cab_user_only
def new_application():
    cab = _cab()
    form = NewApplicationForm()
    programmes = refdata.programmes()
    current = _current_accreditations()
    form.programme.choices = [("", _("— choose —"))] + [
        (str(p.id), f"{p.standard} – {p.name}") for p in programmes]
    form.accreditation.choices = [("", _("— choose —"))] + [
        (str(a.id), f"{a.number or _('no number yet')} – {a.programme.standard} "
                    f"{a.programme.name}") for a in current]
    form.location_codes.choices = _location_choices(cab)
    if form.validate_on_submit():
        kind = ApplicationType(form.type.data)
        programme, acc = None, None
        if kind.needs_accreditation:
            acc = next((a for a in current if str(a.id) == form.accreditation.data), None)
            if acc is None:
                form.accreditation.errors.append(
                    _("Choose the accreditation this application is about."))
            else:
                programme = acc.programme
        else:
            programme = next((p for p in programmes if str(p.id) == form.programme.data), None)
            if programme is None:
                form.programme.errors.append(_("Choose the programme you apply for."))
        if programme is not None:
            try:
                app = services.start_application(
                    cab, type=kind, programme=programme, accreditation=acc,
                    summary=form.summary.data,
                    location_codes=", ".join(form.location_codes.data or []))
            except DomainError as exc:
                db.session.rollback()
                field = {"accreditation": form.accreditation, "programme": form.programme}.get(
                    exc.field or "", form.accreditation if acc else form.programme)
                field.errors.append(exc.message)
            else:
                application_id = app.id
                commit()
                flash(_("Application started. Add what it needs, then submit it."), "success")
                return redirect(url_for(".application", application_id=application_id))
    status = 400 if request.method == "POST" else 200
    return render_template("portal/new_application.html", form=form, cab=cab,
                           has_current=bool(current)), status


# -- one application ------------------------------------------------------------------------------


def _load(application_id: int) -> Application:
    return get_scoped_or_404(Application, application_id, selectinload(Application.programme),
                             selectinload(Application.accreditation)
                             .selectinload(Accreditation.programme))


def _edit_form(app: Application, cab: Cab, formdata=None) -> EditApplicationForm:
    form = EditApplicationForm(formdata=formdata)
    form.location_codes.choices = _location_choices(cab)
    if app.type_enum in services.TARGETING_TYPES:
        form.target_item_ids.choices = [
            (i.id, f"{i.position}. {i.summary} ({i.status})")
            for i in db.session.execute(
                select(ScopeItem).where(
                    ScopeItem.accreditation_id == app.accreditation_id,
                    ScopeItem.status.in_([ItemStatus.accredited.value,
                                          ItemStatus.suspended.value]))
                .order_by(ScopeItem.position, ScopeItem.id)
            ).scalars()]
    else:
        del form.target_item_ids
    if formdata is None:
        form.summary.data = app.summary
        form.location_codes.data = _split_codes(app.location_codes)
        if "target_item_ids" in form:
            form.target_item_ids.data = list(app.target_item_ids or [])
    return form


def _line_form(app: Application, cab: Cab) -> tuple[object, schemas.Context]:
    """The scope-line form of the application's programme (choices filled), and the validation
    context it was built from (reused when saving)."""
    acc = app.accreditation
    ctx = scopes.validation_context(acc)
    ref = scope_forms.LineChoices(
        terms=ctx.terms, ms_standards=list(ctx.ms_standards.values()),
        locations=[(loc.code, loc.name) for loc in cab.locations if loc.is_active])
    return scope_forms.line_form(scopes.scope_type_of(acc), ref), ctx


def _split_codes(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _document_form(*, posted: bool = False) -> DocumentForm:
    """The upload form (bound to the request's form and files when ``posted``), its field
    describing the accepted types and the size limit from the configuration."""
    form = DocumentForm() if posted else DocumentForm(formdata=None)
    config = current_app.config
    form.file.description = _("Accepted: %(types)s. At most %(limit)s per file.",
                              types=allowed_labels(config["UPLOAD_ALLOWED_TYPES"]),
                              limit=format_size(config["UPLOAD_MAX_BYTES"]))
    return form


def _render(app: Application, *, status: int = 200, **forms):
    """The application page; ``forms`` override the blank ones (to show errors)."""
    cab = _cab()
    editable = app.is_editable_by_cab
    line = forms.get("line_form")
    if line is None and editable and app.type_enum.adds_scope:
        line, _ctx = _line_form(app, cab)
    ctx = {
        "edit_form": forms.get("edit_form") or (_edit_form(app, cab) if editable else None),
        "line_form": line,
        "submit_form": forms.get("submit_form") or SubmitForm(formdata=None),
        "answer_form": forms.get("answer_form") or AnswerForm(formdata=None),
        "document_form": forms.get("document_form") or (_document_form() if editable else None),
        "action_form": ActionForm(formdata=None),
    }
    return render_template(
        "portal/application.html", app=app, cab=cab, editable=editable,
        events=services.history(app), question=services.info_question(app),
        requested=services.requested_items(app), targets=services.target_items(app),
        documents=app_documents.attached(app), can_remove_documents=app.can_be_discarded,
        locations=_split_codes(app.location_codes), **ctx), status


@bp.get("/applications/<int:application_id>")
@cab_user_only
def application(application_id: int):
    return _render(_load(application_id))


def _after_error(application_id: int, *, status: int = 400, **forms):
    db.session.rollback()
    return _render(_load(application_id), status=status, **forms)


@bp.post("/applications/<int:application_id>/edit")
@cab_user_only
def edit_application(application_id: int):
    app = _load(application_id)
    services.ensure_cab_may_edit(app)
    form = _edit_form(app, _cab(), formdata=request.form)
    if not form.validate_on_submit():
        return _after_error(application_id, edit_form=form)
    try:
        services.update_draft(
            app, summary=form.summary.data,
            location_codes=", ".join(form.location_codes.data or []),
            target_item_ids=form.target_item_ids.data if "target_item_ids" in form else None)
    except ValidationFailed as exc:
        field = getattr(form, exc.field or "summary", None) or form.summary
        field.errors = [*field.errors, exc.message]
        return _after_error(application_id, edit_form=form)
    commit()
    flash(_("Application saved."), "success")
    return redirect(url_for(".application", application_id=application_id))


@bp.post("/applications/<int:application_id>/lines")
@cab_user_only
def add_line(application_id: int):
    app = _load(application_id)
    services.ensure_cab_may_edit(app)
    form, ctx = _line_form(app, _cab())
    if not form.validate_on_submit():
        return _after_error(application_id, line_form=form)
    raw = scope_forms.raw_values(scopes.scope_type_of(app.accreditation), form)
    try:
        services.add_requested_line(app, raw, ctx=ctx)
    except ScopeLineInvalid as exc:
        for name, message in exc.errors.items():
            if name in form:
                form[name].errors = [*form[name].errors, message]
            else:
                form.form_errors.append(message)
        return _after_error(application_id, line_form=form)
    commit()
    flash(_("Scope line added."), "success")
    return redirect(url_for(".application", application_id=application_id) + "#requested-lines")


@bp.post("/applications/<int:application_id>/lines/<int:item_id>/delete")
@cab_user_only
def remove_line(application_id: int, item_id: int):
    app = _load(application_id)
    services.ensure_cab_may_edit(app)
    item = get_scoped_or_404(ScopeItem, item_id, application_id=app.id)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.remove_requested_line(app, item)
    commit()
    flash(_("Scope line removed."), "success")
    return redirect(url_for(".application", application_id=application_id) + "#requested-lines")


@bp.post("/applications/<int:application_id>/documents")
@cab_user_only
def upload_document(application_id: int):
    app = _load(application_id)
    app_documents.ensure_can_attach(app)  # 409 page once the application is with the AB
    form = _document_form(posted=True)
    if not form.validate_on_submit():
        return _after_error(application_id, document_form=form)
    try:
        doc = app_documents.attach_document(app, form.file.data)  # Conflict (409) once sent
    except (FileTooLarge, UnsupportedFileType) as exc:  # nothing was stored
        form.file.errors = [*form.file.errors, exc.message]
        return _after_error(application_id, status=exc.status, document_form=form)
    name = doc.original_name
    commit()
    flash(_("%(name)s attached to the application.", name=name), "success")
    return redirect(url_for(".application", application_id=application_id) + "#documents")


@bp.post("/applications/<int:application_id>/documents/<int:document_id>/remove")
@cab_user_only
def remove_document(application_id: int, document_id: int):
    app = _load(application_id)
    doc = get_scoped_or_404(Document, document_id, owner_type=app_documents.OWNER_TYPE,
                            owner_id=app.id)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = doc.original_name
    app_documents.remove_document(app, doc)  # Conflict (409) once submitted
    commit()
    flash(_("%(name)s removed from the application.", name=name), "success")
    return redirect(url_for(".application", application_id=application_id) + "#documents")


@bp.post("/applications/<int:application_id>/submit")
@cab_user_only
def submit_application(application_id: int):
    app = _load(application_id)
    services.ensure_cab_may_edit(app)
    form = SubmitForm()
    if not form.validate_on_submit():
        return _after_error(application_id, submit_form=form)
    try:
        services.submit_application(app, declaration=form.declaration.data)
    except ValidationFailed as exc:
        if exc.field == "declaration":
            form.declaration.errors = [*form.declaration.errors, exc.message]
        else:
            form.form_errors.append(exc.message)
        return _after_error(application_id, submit_form=form)
    commit()
    flash(_("Application submitted to the accreditation body."), "success")
    return redirect(url_for(".application", application_id=application_id))


@bp.post("/applications/<int:application_id>/answer")
@cab_user_only
def answer_application(application_id: int):
    app = _load(application_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _after_error(application_id, answer_form=form)
    try:
        services.answer_information_request(app, message=form.answer.data)
    except ValidationFailed as exc:
        form.answer.errors = [*form.answer.errors, exc.message]
        return _after_error(application_id, answer_form=form)
    commit()
    flash(_("Answer sent; the application is with the accreditation body again."), "success")
    return redirect(url_for(".application", application_id=application_id))


@bp.post("/applications/<int:application_id>/withdraw")
@cab_user_only
def withdraw_application(application_id: int):
    app = _load(application_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if app.can_be_discarded:
        services.discard_draft(app)
        commit()
        flash(_("Draft application discarded."), "success")
        return redirect(url_for(".index"))
    services.withdraw_application(app)  # InvalidTransition (409) once decided
    commit()
    flash(_("Application withdrawn."), "success")
    return redirect(url_for(".application", application_id=application_id))
