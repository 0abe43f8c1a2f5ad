"""Witness records and the MD 17 witnessing matrix (under /<tenant>/witnesses).

* ``index`` — every witness record of the tenant, filtered by CAB, activity and date range,
  50 a page;
* ``matrix`` — for a 17021-1 accreditation the MD 17 coverage matrix (standard × cluster × code
  of the live scope, critical flags, last witness date, due status); for other programmes the
  witness history grouped by scope field / discipline / scheme with the last date;
* ``new`` (``?accreditation_id=``; without it, a search of the live accreditations), ``show``,
  ``edit``.

Every AB staff role reads. Admins, accreditation managers and assessors reach the forms; the
service lets an assessor write only records linked to an assessment on whose team they are the
lead or an assessor (a refusal is a 403 with its reason). Decision makers read. CAB users and
other tenants get 404 on every URL here. Each page runs a fixed number of SQL statements
whatever the number of records or scope codes.
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
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from accreditor.assessments import md17
from accreditor.assessments import witness as services
from accreditor.assessments.forms import TYPE_LABELS, AccreditationSearchForm
from accreditor.assessments.models import Witness
from accreditor.assessments.witness_forms import (
    ACTIVITY_LABELS,
    AUDIT_TYPE_LABELS,
    DUE_BADGES,
    DUE_LABELS,
    EXTENT_LABELS,
    OUTCOME_LABELS,
    WITNESS_MODE_LABELS,
    WitnessFilterForm,
    witness_form,
)
from accreditor.cabs import services as cab_services
from accreditor.cabs.models import Cab
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, put_error
from accreditor.core.forms import drop_invalid_filters
from accreditor.core.permissions import STAFF_ROLES, Role, has_role, require_role, staff_only_or_404
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.extensions import db
from accreditor.refdata.models import Programme, ScopeType
from accreditor.scopes import services as scope_services
from accreditor.scopes.models import Accreditation

bp = Blueprint("witnesses", __name__, url_prefix="/witnesses")

READERS = tuple(STAFF_ROLES)
WRITERS = (Role.admin, Role.manager, Role.assessor)
PAGE_SIZE = 50


bp.before_request(staff_only_or_404)


@bp.context_processor
def labels():
    return {"activity_labels": ACTIVITY_LABELS, "audit_type_labels": AUDIT_TYPE_LABELS,
            "extent_labels": EXTENT_LABELS, "witness_mode_labels": WITNESS_MODE_LABELS,
            "outcome_labels": OUTCOME_LABELS, "due_labels": DUE_LABELS,
            "due_badges": DUE_BADGES, "type_labels": TYPE_LABELS}


def _load_accreditation(accreditation_id: int) -> Accreditation:
    """404 for another tenant's accreditation and for one only a CAB's draft has opened."""
    acc = scope_services.staff_accreditation(accreditation_id, joinedload(Accreditation.cab),
                                             joinedload(Accreditation.programme))
    if acc is None:
        abort(404)
    return acc


def _scope_type(acc: Accreditation) -> ScopeType:
    return ScopeType(acc.programme.scope_type)


# -- the list -----------------------------------------------------------------------------------


@bp.get("/")
@require_role(*READERS)
def index():
    form = WitnessFilterForm(request.args)
    cabs = cab_services.cab_choices()
    form.cab_id.choices = [SelectChoice("", _("All CABs"))] + [
        SelectChoice(str(cid), name) for cid, name in cabs]
    drop_invalid_filters(form, WitnessFilterForm.FILTERS)
    conds = []
    if form.cab_id.data:
        conds.append(Witness.cab_id == int(form.cab_id.data))
    if form.activity.data:
        conds.append(Witness.activity == form.activity.data)
    if form.date_from.data:
        conds.append(Witness.witnessed_on >= form.date_from.data)
    if form.date_to.data:
        conds.append(Witness.witnessed_on <= form.date_to.data)
    accreditation_id = request.args.get("accreditation_id", type=int)
    if accreditation_id:
        conds.append(Witness.accreditation_id == accreditation_id)
    total = db.session.execute(
        select(func.count()).select_from(Witness).where(*conds)).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = db.session.execute(
        select(Witness, Cab.legal_name, Programme.code, Accreditation.number)
        .join(Accreditation, Accreditation.id == Witness.accreditation_id)
        .join(Programme, Programme.id == Accreditation.programme_id)
        .join(Cab, Cab.id == Witness.cab_id)
        .where(*conds)
        .order_by(Witness.witnessed_on.desc(), Witness.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("assessments/witness/index.html", form=form, rows=rows, total=total,
                           page=page, pages=pages, filters=filters,
                           can_record=_may_open_forms())


def _may_open_forms() -> bool:
    return has_role(*WRITERS)


# -- the matrix ---------------------------------------------------------------------------------


@bp.get("/accreditation/<int:accreditation_id>")
@require_role(*READERS)
def matrix(accreditation_id: int):
    acc = _load_accreditation(accreditation_id)
    st = _scope_type(acc)
    ctx: dict = {"acc": acc, "is_ms": st == ScopeType.ms_certification,
                 "recent": services.recent(acc), "can_record": _may_open_forms(),
                 "cab_url": url_for("tenant.cabs.show", cab_id=acc.cab_id),
                 "scope_url": url_for("tenant.scopes.show", accreditation_id=acc.id)}
    if ctx["is_ms"]:
        ctx["m"] = md17.matrix(acc)
    else:
        ctx["history"] = services.history(acc, services.scope_areas(acc, st))
    return render_template("assessments/witness/matrix.html", **ctx)


# -- recording and editing ----------------------------------------------------------------------


def _choose_accreditation():
    """No accreditation named: search the live ones by CAB name or number (50 at most)."""
    form = AccreditationSearchForm(request.args)
    q = (form.q.data or "").strip()
    rows = scope_services.live_accreditations_for_staff(q, limit=51)
    return render_template("assessments/witness/choose.html", form=form, rows=rows[:50],
                           more=len(rows) > 50, q=q)


def _form(acc: Accreditation, **kwargs):
    st = _scope_type(acc)
    areas = services.scope_areas(acc, st)
    activities = services.ACTIVITIES_FOR.get(st, ())
    form = witness_form(areas, activities, services.linkable_assessments(acc, st), **kwargs)
    return form, st


def _data(form) -> dict:
    return {f.name: f.data for f in form if f.type != "CSRFTokenField"}


def _render_form(acc: Accreditation, form, *, witness=None, status: int = 200,
                 refusal: str | None = None):
    return render_template("assessments/witness/form.html", acc=acc, form=form, w=witness,
                           is_ms=_scope_type(acc) == ScopeType.ms_certification,
                           refusal=refusal), status


@bp.route("/new", methods=["GET", "POST"])
@require_role(*WRITERS)
def new():
    accreditation_id = request.args.get("accreditation_id", type=int)
    if not accreditation_id:
        return _choose_accreditation()
    acc = _load_accreditation(accreditation_id)
    defaults = {}
    if request.method == "GET":
        defaults = {"assessment_id": request.args.get("assessment_id", ""),
                    "extent": "full", "mode": "onsite", "outcome": "satisfactory"}
    form, _st = _form(acc, **defaults)
    if form.validate_on_submit():
        try:
            w = services.record_witness(acc, **_data(form))
        except DomainError as exc:
            db.session.rollback()
            placed = put_error(form, exc)
            return _render_form(_load_accreditation(accreditation_id), form, status=exc.status,
                                refusal=None if placed else exc.message)  # reloaded: rolled back
        witness_id = w.id
        commit()
        flash(_("Witness recorded."), "success")
        return redirect(url_for(".show", witness_id=witness_id))
    status = 400 if request.method == "POST" else 200
    return _render_form(acc, form, status=status)


def _load_witness(witness_id: int) -> Witness:
    return get_scoped_or_404(Witness, witness_id)


@bp.get("/<int:witness_id>")
@require_role(*READERS)
def show(witness_id: int):
    w = _load_witness(witness_id)
    acc = _load_accreditation(w.accreditation_id)
    assessment = services.linked_assessment_of(w)
    return render_template(
        "assessments/witness/show.html", w=w, acc=acc, assessment=assessment,
        can_edit=_may_open_forms() and services.can_write(assessment),
        assessment_url=url_for("tenant.assessments.show", assessment_id=w.assessment_id)
        if w.assessment_id else None,
        cab_url=url_for("tenant.cabs.show", cab_id=acc.cab_id))


@bp.route("/<int:witness_id>/edit", methods=["GET", "POST"])
@require_role(*WRITERS)
def edit(witness_id: int):
    w = _load_witness(witness_id)
    acc = _load_accreditation(w.accreditation_id)
    if not services.can_write(services.linked_assessment_of(w)):
        abort(403)
    if request.method == "GET":
        form, _st = _form(acc, obj=w)
        form.assessment_id.data = str(w.assessment_id) if w.assessment_id else ""
    else:
        form, _st = _form(acc)
    if form.validate_on_submit():
        try:
            services.update_witness(w, acc, **_data(form))
        except DomainError as exc:
            db.session.rollback()
            placed = put_error(form, exc)
            w = _load_witness(witness_id)  # reloaded after the rollback
            return _render_form(_load_accreditation(w.accreditation_id), form, witness=w,
                                status=exc.status, refusal=None if placed else exc.message)
        commit()
        flash(_("Witness record saved."), "success")
        return redirect(url_for(".show", witness_id=witness_id))
    status = 400 if request.method == "POST" else 200
    return _render_form(acc, form, witness=w, status=status)
