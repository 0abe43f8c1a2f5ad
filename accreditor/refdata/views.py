"""Reference lists as a tenant sees them; AB admins add terms and programmes and set clusters."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from accreditor.core.db import commit
from accreditor.core.errors import DomainError
from accreditor.core.permissions import STAFF_ROLES, Role, has_role, require_role
from accreditor.refdata import services
from accreditor.refdata.forms import GroupingForm, ProgrammeForm, TermForm
from accreditor.refdata.models import TermKind

bp = Blueprint("refdata", __name__, url_prefix="/settings/reference")

KIND_LABELS = {
    TermKind.iaf_code: _l("IAF codes (IAF ID 1) with MD 17 clusters"),
    TermKind.food_chain: _l("Food-chain categories (ISO/TS 22003-1)"),
    TermKind.md9_area: _l("MD 9 technical areas (ISO 13485)"),
    TermKind.testing_field: _l("Fields of testing"),
    TermKind.calibration_discipline: _l("Calibration disciplines and units"),
    TermKind.inspection_field: _l("Fields of inspection"),
    TermKind.inspection_stage: _l("Types / stages of inspection"),
}


def _kind(kind: str) -> TermKind:
    try:
        return TermKind(kind)
    except ValueError:
        abort(404)


@bp.get("/")
@require_role(*STAFF_ROLES)
def index():
    return render_template("refdata/index.html", kinds=KIND_LABELS,
                           programmes=services.programmes(active_only=False),
                           ms_standards=services.ms_standards(), form=ProgrammeForm())


@bp.post("/programmes")
@require_role(Role.admin)
def add_programme():
    form = ProgrammeForm()
    if form.validate_on_submit():
        try:
            services.add_programme(
                code=form.code.data, name=form.name.data, standard=form.standard.data,
                scope_type=form.scope_type.data, number_code=form.number_code.data,
                edition=form.edition.data, needs_ib_type=form.needs_ib_type.data)
        except DomainError as exc:
            getattr(form, exc.field or "code").errors.append(exc.message)
        else:
            commit()
            flash(_("Programme %(c)s added.", c=form.code.data), "success")
            return redirect(url_for(".index"))
    return render_template("refdata/index.html", kinds=KIND_LABELS,
                           programmes=services.programmes(active_only=False),
                           ms_standards=services.ms_standards(), form=form), 400


def _render_kind(kind: TermKind, form: TermForm, status: int = 200):
    return render_template("refdata/terms.html", kind=kind, label=KIND_LABELS[kind],
                           terms=list(services.terms(kind, active_only=False).values()),
                           form=form, grouping=GroupingForm(),
                           can_edit=has_role(Role.admin)), status


@bp.get("/<kind>")
@require_role(*STAFF_ROLES)
def terms(kind: str):
    return _render_kind(_kind(kind), TermForm())


@bp.post("/<kind>")
@require_role(Role.admin)
def add_term(kind: str):
    k = _kind(kind)
    form = TermForm()
    if form.validate_on_submit():
        extra = {}
        if k == TermKind.calibration_discipline:
            extra["units"] = [u.strip() for u in (form.units.data or "").split(";") if u.strip()]
        try:
            services.add_term(k, code=form.code.data, name=form.name.data, group=form.group.data,
                              is_critical=form.is_critical.data, extra=extra)
        except DomainError as exc:
            getattr(form, exc.field or "code").errors.append(exc.message)
        else:
            commit()
            flash(_("“%(n)s” added to the list.", n=form.name.data), "success")
            return redirect(url_for(".terms", kind=k.value))
    return _render_kind(k, form, 400)


@bp.post("/<kind>/<code>/grouping")
@require_role(Role.admin)
def set_grouping(kind: str, code: str):
    k = _kind(kind)
    form = GroupingForm()
    if form.validate_on_submit():
        try:
            services.set_term_grouping(k, code, group=form.group.data,
                                       is_critical=form.is_critical.data)
        except DomainError as exc:
            flash(exc.message, "danger")
        else:
            commit()
            flash(_("Code %(c)s updated for this accreditation body.", c=code), "success")
    return redirect(url_for(".terms", kind=k.value))
