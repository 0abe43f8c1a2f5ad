"""The staff CAB workspace (under /<tenant>/cabs): the CAB list, a CAB's page and its tabs.

Every AB staff role reads; only administrators and accreditation managers change anything.
CAB users have their own portal and get 403 here. Objects load through ``get_scoped_or_404``
so another tenant's (or CAB's) id is a 404. Each page runs a fixed number of SQL statements:
relationships are ``lazy="raise"``, so everything a page shows is loaded explicitly.
"""

from __future__ import annotations

import json
from collections import defaultdict

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, exists, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from wtforms.fields.choices import SelectChoice

from accreditor.applications.models import Application, ApplicationStatus, ApplicationType
from accreditor.assessments import services as assessment_services
from accreditor.assessments.forms import MODE_LABELS, STATUS_BADGES, STATUS_LABELS, TYPE_LABELS
from accreditor.assessments.models import Assessment
from accreditor.assessments.services import PLANNERS
from accreditor.auth.models import Membership, MembershipRole, User
from accreditor.cabs import services
from accreditor.cabs.forms import (
    CabFilterForm,
    CabForm,
    ContactForm,
    LocationForm,
    OpenAccreditationForm,
)
from accreditor.cabs.models import Cab, CabContact, CabLocation, LocationKind
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, show_error
from accreditor.core.forms import drop_invalid_filters
from accreditor.core.permissions import STAFF_ROLES, Role, has_role, require_role
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.extensions import db
from accreditor.refdata import services as refdata
from accreditor.refdata.models import Programme
from accreditor.scopes import services as scope_services
from accreditor.scopes.labels import ACCREDITATION_STATUS_LABELS
from accreditor.scopes.models import Accreditation, AccreditationStatus, ItemStatus, ScopeItem

bp = Blueprint("cabs", __name__, url_prefix="/cabs")

PAGE_SIZE = 50
READERS = (Role.admin, Role.manager, Role.assessor, Role.decision_maker)
EDITORS = (Role.admin, Role.manager)
# Who may plan an assessment (the "Plan an assessment" link; assessments.views.PLANNERS).

ACCREDITATION_STATUS_COLOURS = {
    AccreditationStatus.applicant: "info",
    AccreditationStatus.accredited: "success",
    AccreditationStatus.partially_suspended: "warning",
    AccreditationStatus.suspended: "danger",
}
ITEM_STATUS_LABELS = {
    ItemStatus.applied: _l("applied for"),
    ItemStatus.accredited: _l("accredited"),
    ItemStatus.suspended: _l("suspended"),
    ItemStatus.withdrawn: _l("withdrawn"),
    ItemStatus.reduced: _l("reduced"),
    ItemStatus.expired: _l("expired"),
    ItemStatus.refused: _l("refused"),
}
APPLICATION_TYPE_LABELS = {
    ApplicationType.initial: _l("Initial accreditation"),
    ApplicationType.extension: _l("Extension of scope"),
    ApplicationType.reduction: _l("Reduction of scope"),
    ApplicationType.reaccreditation: _l("Reaccreditation"),
    ApplicationType.voluntary_suspension: _l("Voluntary suspension"),
    ApplicationType.voluntary_withdrawal: _l("Voluntary withdrawal"),
    ApplicationType.change_of_details: _l("Change of details"),
}
APPLICATION_STATUS_LABELS = {
    ApplicationStatus.draft: _l("draft"),
    ApplicationStatus.submitted: _l("submitted"),
    ApplicationStatus.info_requested: _l("information requested"),
    ApplicationStatus.accepted: _l("accepted"),
    ApplicationStatus.refused: _l("refused"),
    ApplicationStatus.lapsed: _l("lapsed"),
    ApplicationStatus.withdrawn: _l("withdrawn"),
}
LOCATION_KIND_LABELS = {
    LocationKind.permanent: _l("permanent"),
    LocationKind.site: _l("site"),
    LocationKind.mobile: _l("mobile"),
    LocationKind.virtual: _l("virtual"),
}


@bp.context_processor
def cab_helpers():
    return {
        "can_edit_cabs": has_role(*EDITORS),
        "accreditation_status_labels": ACCREDITATION_STATUS_LABELS,
        "accreditation_status_colours": ACCREDITATION_STATUS_COLOURS,
        "item_status_labels": ITEM_STATUS_LABELS,
        "application_type_labels": APPLICATION_TYPE_LABELS,
        "application_status_labels": APPLICATION_STATUS_LABELS,
        "location_kind_labels": LOCATION_KIND_LABELS,
        "scope_url": lambda acc: url_for("tenant.scopes.show", accreditation_id=acc.id),
        "application_url": lambda app: url_for("tenant.applications.show",
                                               application_id=app.id),
    }


def _staff_members() -> list[tuple[int, str]]:
    """The tenant's active staff (id, name): the people who may manage a CAB."""
    is_staff = exists().where(MembershipRole.membership_id == Membership.id,
                              MembershipRole.role.in_([r.value for r in STAFF_ROLES]))
    return [tuple(row) for row in db.session.execute(
        select(User.id, User.name).join(Membership, Membership.user_id == User.id)
        .where(Membership.is_active, is_staff).order_by(User.name, User.id)
    )]


def _manager_choices(current: User | None = None) -> list[SelectChoice]:
    staff = _staff_members()
    choices = [SelectChoice("", _("— none —"))] + [SelectChoice(uid, name) for uid, name in staff]
    if current is not None and current.id not in {uid for uid, _name in staff}:
        # Keep a former member of staff selectable, so saving other changes does not drop them.
        choices.append(SelectChoice(current.id, _("%(name)s (no longer staff)", name=current.name)))
    return choices


def _cab_values(form: CabForm) -> dict:
    return {"legal_name": form.legal_name.data or "", "trading_names": form.trading_names.data,
            "registration_number": form.registration_number.data,
            "country": form.country.data or "", "website": form.website.data,
            "related_bodies": form.related_bodies.data,
            "consultants_used": form.consultants_used.data, "manager_id": form.manager_id.data}


def _load_cab(cab_id: int, *options) -> Cab:
    return get_scoped_or_404(Cab, cab_id, *options)


# -- the list ---------------------------------------------------------------------------------


def _filter_conditions(form: CabFilterForm) -> list:
    conds: list = []
    q = (form.q.data or "").strip()
    if q:
        # Trading names are a JSON list: match its text, also in JSON's \u-escaped spelling.
        escaped = json.dumps(q)[1:-1]
        trading = cast(Cab.trading_names, String)
        conds.append(or_(Cab.legal_name.icontains(q, autoescape=True),
                         trading.icontains(q, autoescape=True),
                         trading.icontains(escaped, autoescape=True)))
    if form.programme.data or form.status.data:
        held = select(Accreditation.cab_id).where(scope_services.accreditation_visible_to_staff())
        if form.programme.data:
            held = held.join(Programme, Programme.id == Accreditation.programme_id).where(
                Programme.code == form.programme.data)
        if form.status.data:
            held = held.where(Accreditation.status == form.status.data)
        conds.append(Cab.id.in_(held))
    if form.country.data:
        conds.append(Cab.country == form.country.data)
    if form.manager.data == "none":
        conds.append(Cab.manager_id.is_(None))
    elif form.manager.data:
        conds.append(Cab.manager_id == int(form.manager.data))
    return conds


@bp.get("/")
@require_role(*READERS)
def index():
    form = CabFilterForm(request.args)
    staff = _staff_members()
    programme_codes = {p.code: p for p in refdata.programmes(active_only=False)}
    countries = db.session.execute(select(Cab.country).distinct().order_by(Cab.country)).scalars()
    form.programme.choices = [SelectChoice("", _("All programmes"))] + [
        SelectChoice(code, f"{code} – {p.name}") for code, p in programme_codes.items()]
    form.status.choices = [SelectChoice("", _("Any status"))] + [
        SelectChoice(s.value, label) for s, label in ACCREDITATION_STATUS_LABELS.items()]
    form.country.choices = [SelectChoice("", _("All countries"))] + [
        SelectChoice(c, c) for c in countries]
    form.manager.choices = [SelectChoice("", _("Anyone")), SelectChoice("none", _("No manager"))] + [
        SelectChoice(str(uid), name) for uid, name in staff]
    drop_invalid_filters(form, CabFilterForm.FILTERS, say_why=True)
    conds = _filter_conditions(form)

    total = db.session.execute(select(func.count(Cab.id)).where(*conds)).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    cabs = db.session.execute(
        select(Cab).where(*conds).outerjoin(Cab.manager)
        .options(contains_eager(Cab.manager).load_only(User.id, User.name))
        .order_by(func.lower(Cab.legal_name), Cab.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).unique().scalars().all()
    accreditations: dict[int, list[Accreditation]] = defaultdict(list)
    if cabs:
        for acc in db.session.execute(
            select(Accreditation).join(Accreditation.programme)
            .options(contains_eager(Accreditation.programme))
            .where(Accreditation.cab_id.in_([c.id for c in cabs]),
                   scope_services.accreditation_visible_to_staff())
            .order_by(Programme.sort_order, Programme.code, Accreditation.id)
        ).scalars():
            accreditations[acc.cab_id].append(acc)
    return render_template("cabs/index.html", form=form, cabs=cabs, total=total, page=page,
                           pages=pages, accreditations=accreditations, filters=form.active())


# -- create and edit --------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@require_role(*EDITORS)
def new():
    form = CabForm()
    form.manager_id.choices = _manager_choices()
    if form.validate_on_submit():
        try:
            cab = services.create_cab(**_cab_values(form))
        except DomainError as exc:
            show_error(form, exc)
        else:
            name = cab.legal_name
            commit()
            flash(_("%(name)s added.", name=name), "success")
            return redirect(url_for(".show", cab_id=cab.id))
    return render_template("cabs/new.html", form=form)


@bp.route("/<int:cab_id>/edit", methods=["GET", "POST"])
@require_role(*EDITORS)
def edit(cab_id: int):
    cab = _load_cab(cab_id, joinedload(Cab.manager))
    form = CabForm(obj=cab)
    form.manager_id.choices = _manager_choices(cab.manager)
    if request.method == "GET":
        form.trading_names.data = "\n".join(cab.trading_names or [])
    if form.validate_on_submit():
        try:
            changes = services.update_cab(cab, **_cab_values(form))
        except DomainError as exc:
            show_error(form, exc)
        else:
            commit()
            flash(_("Details saved.") if changes else _("Nothing changed."), "success")
            return redirect(url_for(".show", cab_id=cab_id))
    return render_template("cabs/edit.html", cab=cab, form=form)


# -- details and contacts ---------------------------------------------------------------------


def _render_show(cab: Cab, contact_form: ContactForm):
    contacts = sorted(cab.contacts, key=lambda c: ((c.name or "").lower(), c.id))
    return render_template("cabs/show.html", cab=cab, contacts=contacts,
                           contact_form=contact_form)


def _load_cab_with_contacts(cab_id: int) -> Cab:
    return _load_cab(cab_id, joinedload(Cab.manager), selectinload(Cab.contacts))


@bp.get("/<int:cab_id>")
@require_role(*READERS)
def show(cab_id: int):
    return _render_show(_load_cab_with_contacts(cab_id), ContactForm(formdata=None))


def _contact_values(form: ContactForm) -> dict:
    return {"name": form.name.data, "position": form.position.data, "email": form.email.data,
            "phone": form.phone.data, "is_public": form.is_public.data}


@bp.post("/<int:cab_id>/contacts")
@require_role(*EDITORS)
def add_contact(cab_id: int):
    cab = _load_cab_with_contacts(cab_id)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = services.add_contact(cab, **_contact_values(form))
        except DomainError as exc:
            show_error(form, exc)
        else:
            name = contact.name
            commit()
            flash(_("Contact %(name)s added.", name=name), "success")
            return redirect(url_for(".show", cab_id=cab_id))
    return _render_show(cab, form)


@bp.route("/<int:cab_id>/contacts/<int:contact_id>", methods=["GET", "POST"])
@require_role(*EDITORS)
def update_contact(cab_id: int, contact_id: int):
    cab = _load_cab(cab_id)
    contact = get_scoped_or_404(CabContact, contact_id, cab_id=cab.id)
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        try:
            changes = services.update_contact(contact, **_contact_values(form))
        except DomainError as exc:
            show_error(form, exc)
        else:
            commit()
            flash(_("Contact saved.") if changes else _("Nothing changed."), "success")
            return redirect(url_for(".show", cab_id=cab_id))
    return render_template("cabs/contact.html", cab=cab, contact=contact, form=form)


@bp.post("/<int:cab_id>/contacts/<int:contact_id>/remove")
@require_role(*EDITORS)
def remove_contact(cab_id: int, contact_id: int):
    cab = _load_cab(cab_id)
    contact = get_scoped_or_404(CabContact, contact_id, cab_id=cab.id)
    name = contact.name
    services.remove_contact(contact)
    commit()
    flash(_("Contact %(name)s removed.", name=name), "success")
    return redirect(url_for(".show", cab_id=cab_id))


# -- locations --------------------------------------------------------------------------------


def _location_values(form: LocationForm) -> dict:
    return {"code": form.code.data, "name": form.name.data, "address": form.address.data,
            "country": form.country.data, "activities": form.activities.data,
            "kind": form.kind.data, "is_critical": form.is_critical.data,
            "is_active": form.is_active.data}


def _render_locations(cab: Cab, form: LocationForm):
    return render_template("cabs/locations.html", cab=cab, locations=cab.locations, form=form)


@bp.get("/<int:cab_id>/locations")
@require_role(*READERS)
def locations(cab_id: int):
    cab = _load_cab(cab_id, selectinload(Cab.locations))
    form = LocationForm(formdata=None, country=cab.country)
    return _render_locations(cab, form)


@bp.post("/<int:cab_id>/locations")
@require_role(*EDITORS)
def add_location(cab_id: int):
    cab = _load_cab(cab_id, selectinload(Cab.locations))
    form = LocationForm()
    if form.validate_on_submit():
        try:
            loc = services.add_location(cab, **_location_values(form))
        except DomainError as exc:
            show_error(form, exc)
        else:
            label = loc.label
            commit()
            flash(_("Location %(label)s added.", label=label), "success")
            return redirect(url_for(".locations", cab_id=cab_id))
    return _render_locations(cab, form)


@bp.route("/<int:cab_id>/locations/<int:location_id>/edit", methods=["GET", "POST"])
@require_role(*EDITORS)
def edit_location(cab_id: int, location_id: int):
    cab = _load_cab(cab_id)
    loc = get_scoped_or_404(CabLocation, location_id, cab_id=cab.id)
    form = LocationForm(obj=loc)
    if form.validate_on_submit():
        try:
            changes = services.update_location(loc, **_location_values(form))
        except DomainError as exc:
            show_error(form, exc)
        else:
            commit()
            flash(_("Location saved.") if changes else _("Nothing changed."), "success")
            return redirect(url_for(".locations", cab_id=cab_id))
    return render_template("cabs/location.html", cab=cab, location=loc, form=form)


# -- accreditations ---------------------------------------------------------------------------


def _open_form() -> OpenAccreditationForm:
    form = OpenAccreditationForm()
    form.programme.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(p.id, f"{p.code} – {p.name} ({p.standard})") for p in refdata.programmes()]
    return form


def _render_accreditations(cab: Cab, form: OpenAccreditationForm):
    # A CAB's draft application (its lines, and the accreditation an initial draft opened) is
    # the CAB's own until submitted: left out here (scopes.services.*_visible_to_staff).
    accs = db.session.execute(
        select(Accreditation).join(Accreditation.programme)
        .options(contains_eager(Accreditation.programme), joinedload(Accreditation.edition))
        .where(Accreditation.cab_id == cab.id, scope_services.accreditation_visible_to_staff())
        .order_by(Programme.sort_order, Programme.code, Accreditation.id)
    ).scalars().all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for acc_id, status, n in db.session.execute(
        select(ScopeItem.accreditation_id, ScopeItem.status, func.count(ScopeItem.id))
        .where(ScopeItem.cab_id == cab.id, scope_services.line_visible_to_staff())
        .group_by(ScopeItem.accreditation_id, ScopeItem.status)
    ):
        counts[acc_id][status] = n
    return render_template("cabs/accreditations.html", cab=cab, accreditations=accs,
                           counts=counts, form=form, can_plan=has_role(*PLANNERS))


@bp.get("/<int:cab_id>/accreditations")
@require_role(*READERS)
def accreditations(cab_id: int):
    cab = _load_cab(cab_id)
    return _render_accreditations(cab, _open_form() if has_role(*EDITORS) else None)


@bp.post("/<int:cab_id>/accreditations")
@require_role(*EDITORS)
def open_accreditation(cab_id: int):
    cab = _load_cab(cab_id)
    form = _open_form()
    if form.validate_on_submit():
        programme = get_scoped_or_404(Programme, form.programme.data)
        # The IB type (A/B/C) means something only for inspection bodies.
        ib_type = (form.ib_type.data or None) if programme.needs_ib_type else None
        try:
            acc = scope_services.create_accreditation(cab, programme, ib_type=ib_type)
        except DomainError as exc:
            show_error(form, exc)
        else:
            code = programme.code
            commit()
            flash(_("Accreditation for %(p)s opened (status applicant).", p=code), "success")
            # Next step is the scope.
            return redirect(url_for("tenant.scopes.show", accreditation_id=acc.id))
    return _render_accreditations(cab, form)


# -- applications -----------------------------------------------------------------------------


@bp.get("/<int:cab_id>/applications")
@require_role(*READERS)
def applications(cab_id: int):
    cab = _load_cab(cab_id)
    apps = db.session.execute(
        select(Application).join(Application.programme)
        .options(contains_eager(Application.programme))
        .where(Application.cab_id == cab.id, Application.status != "draft")  # drafts are the CAB's
        .order_by(Application.created_at.desc(), Application.id.desc())
    ).scalars().all()
    return render_template("cabs/applications.html", cab=cab, applications=apps)


# -- assessments ------------------------------------------------------------------------------

ASSESSMENTS_PAGE_SIZE = 50


@bp.get("/<int:cab_id>/assessments")
@require_role(*READERS)
def assessments(cab_id: int):
    """Every assessment of the CAB, newest first, with its programme and lead (a fixed number of
    statements: the count and the page, each row with its lead's name)."""
    cab = _load_cab(cab_id)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    total = db.session.execute(
        select(func.count(Assessment.id)).where(Assessment.cab_id == cab.id)).scalar_one()
    rows = db.session.execute(
        select(Assessment, Programme.code, Accreditation.number,
               assessment_services.lead_name_column())
        .join(Accreditation, Accreditation.id == Assessment.accreditation_id)
        .join(Programme, Programme.id == Accreditation.programme_id)
        .where(Assessment.cab_id == cab.id)
        .order_by(Assessment.planned_start_on.desc(), Assessment.id.desc())
        .limit(ASSESSMENTS_PAGE_SIZE).offset((page - 1) * ASSESSMENTS_PAGE_SIZE)).all()
    pages = max((total + ASSESSMENTS_PAGE_SIZE - 1) // ASSESSMENTS_PAGE_SIZE, 1)
    return render_template("cabs/assessments.html", cab=cab, rows=rows, page=page,
                           pages=pages, total=total, type_labels=TYPE_LABELS,
                           mode_labels=MODE_LABELS, status_labels=STATUS_LABELS,
                           status_badges=STATUS_BADGES)


# -- history ----------------------------------------------------------------------------------


@bp.get("/<int:cab_id>/history")
@require_role(*READERS)
def history(cab_id: int):
    cab = _load_cab(cab_id)
    stmt = select(AuditEvent).where(AuditEvent.subject_cab_id == cab.id)
    before = request.args.get("before", type=int)
    if before:
        stmt = stmt.where(AuditEvent.seq < before)
    size = current_app.config["AUDIT_PAGE_SIZE"]
    events = db.session.execute(
        stmt.order_by(AuditEvent.seq.desc()).limit(size + 1)
    ).scalars().all()
    has_more = len(events) > size
    events = events[:size]
    older = url_for(".history", cab_id=cab_id, before=events[-1].seq) if has_more else None
    newest = url_for(".history", cab_id=cab_id) if before else None
    return render_template("cabs/history.html", cab=cab, events=events, older=older,
                           newest=newest)
