"""Staff pages for applications (under /<tenant>/applications): every AB role reads, admins and
accreditation managers act (request information, accept, refuse)."""

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
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, selectinload

from accreditor.applications import documents as app_documents
from accreditor.applications import services
from accreditor.applications.forms import (
    AcceptForm,
    ApplicationFilterForm,
    RefuseForm,
    RequestInfoForm,
    label_context,
)
from accreditor.applications.models import Application, ApplicationStatus
from accreditor.core.db import commit
from accreditor.core.errors import ValidationFailed
from accreditor.core.permissions import STAFF_ROLES, Role, has_role, require_role
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.extensions import db
from accreditor.refdata import services as refdata
from accreditor.scopes.models import Accreditation

bp = Blueprint("applications", __name__, url_prefix="/applications")

PAGE_SIZE = 50
ACTORS = (Role.admin, Role.manager)


@bp.context_processor
def _labels():
    return label_context()


@bp.get("/")
@require_role(*STAFF_ROLES)
def index():
    form = ApplicationFilterForm(request.args)
    programmes = refdata.programmes(active_only=False)
    form.programme.choices = [("", _("Any programme"))] + [
        (str(p.id), f"{p.standard} – {p.name}") for p in programmes]
    # A CAB's draft is its own until submitted: the AB sees applications from submission on.
    conditions = [Application.status != ApplicationStatus.draft.value]
    if form.validate():
        if form.status.data:
            conditions.append(Application.status == form.status.data)
        if form.type.data:
            conditions.append(Application.type == form.type.data)
        if form.programme.data:
            conditions.append(Application.programme_id == int(form.programme.data))
    page = max(1, request.args.get("page", 1, type=int))
    total = db.session.execute(
        select(func.count(Application.id)).where(*conditions)
    ).scalar_one()
    # One statement for the page: CAB, programme and accreditation come joined.
    applications = db.session.execute(
        select(Application).join(Application.cab).join(Application.programme)
        .outerjoin(Application.accreditation).where(*conditions)
        .options(contains_eager(Application.cab), contains_eager(Application.programme),
                 contains_eager(Application.accreditation))
        .order_by(Application.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).scalars().all()
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("applications/index.html", form=form, applications=applications,
                           page=page, pages=max(1, -(-total // PAGE_SIZE)), total=total,
                           filters=filters)


def _load(application_id: int) -> Application:
    app = get_scoped_or_404(Application, application_id, selectinload(Application.cab),
                            selectinload(Application.programme),
                            selectinload(Application.accreditation)
                            .selectinload(Accreditation.programme))
    if app.status_enum == ApplicationStatus.draft:
        abort(404)  # not sent to the AB yet
    return app


def _render(app: Application, *, status: int = 200, **forms):
    can_act = has_role(*ACTORS)
    return render_template(
        "applications/show.html", app=app, can_act=can_act, cab_url=url_for("tenant.cabs.show", cab_id=app.cab_id),
        events=services.history(app), question=services.info_question(app),
        requested=services.requested_items(app), targets=services.target_items(app),
        documents=app_documents.attached(app),
        info_form=forms.get("info_form") or RequestInfoForm(formdata=None),
        accept_form=forms.get("accept_form") or AcceptForm(formdata=None),
        refuse_form=forms.get("refuse_form") or RefuseForm(formdata=None),
    ), status


@bp.get("/<int:application_id>")
@require_role(*STAFF_ROLES)
def show(application_id: int):
    return _render(_load(application_id))


def _after_error(application_id: int, **forms):
    db.session.rollback()
    return _render(_load(application_id), status=400, **forms)


@bp.post("/<int:application_id>/request-info")
@require_role(*ACTORS)
def request_info(application_id: int):
    app = _load(application_id)
    form = RequestInfoForm()
    if not form.validate_on_submit():
        return _after_error(application_id, info_form=form)
    try:
        services.request_information(app, message=form.question.data)
    except ValidationFailed as exc:  # field errors; a wrong state is a 409 page
        form.question.errors = [*form.question.errors, exc.message]
        return _after_error(application_id, info_form=form)
    commit()
    flash(_("Information requested; the CAB has been told."), "success")
    return redirect(url_for(".show", application_id=application_id))


@bp.post("/<int:application_id>/accept")
@require_role(*ACTORS)
def accept(application_id: int):
    app = _load(application_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        return _after_error(application_id, accept_form=form)
    number = services.accept_application(app, message=form.note.data)  # 409 when not possible
    commit()
    flash(_("Application accepted. Accreditation number %(n)s is reserved.", n=number),
          "success")
    return redirect(url_for(".show", application_id=application_id))


@bp.post("/<int:application_id>/refuse")
@require_role(*ACTORS)
def refuse(application_id: int):
    app = _load(application_id)
    form = RefuseForm()
    if not form.validate_on_submit():
        return _after_error(application_id, refuse_form=form)
    try:
        services.refuse_application(app, reason=form.reason.data)
    except ValidationFailed as exc:  # field errors; a wrong state is a 409 page
        form.reason.errors = [*form.reason.errors, exc.message]
        return _after_error(application_id, refuse_form=form)
    commit()
    flash(_("Application refused; the CAB has been told the reasons."), "success")
    return redirect(url_for(".show", application_id=application_id))
