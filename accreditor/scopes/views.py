"""Staff pages for accreditations and their scopes (under /<tenant>/accreditations).

Every AB staff role reads; admins and accreditation managers edit. CAB users have their own
read-only portal and get 403 here. Lines are edited only while they are requested ("applied");
after the grant they change only through a decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

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
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from accreditor.auth.models import User
from accreditor.cabs.models import CabLocation
from accreditor.core.csvfile import csv_response
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, show_error
from accreditor.core.permissions import Role, has_role, require_role
from accreditor.extensions import db
from accreditor.refdata import services as refdata
from accreditor.refdata.models import TermKind
from accreditor.scopes import forms, schemas, services
from accreditor.scopes.models import (
    Accreditation,
    AccreditationStatus,
    ItemStatus,
    ScopeEvent,
    ScopeItem,
)

bp = Blueprint("scopes", __name__, url_prefix="/accreditations")

READERS = (Role.admin, Role.manager, Role.assessor, Role.decision_maker)
EDITORS = (Role.admin, Role.manager)

PAGE_SIZE = 100  # scope lines per page
HISTORY_ON_SHOW = 50
HISTORY_PAGE_SIZE = 100
MAX_CSV_BYTES = 5 * 1024 * 1024

ACCREDITATION_STATUS_LABELS = {
    AccreditationStatus.applicant: _l("Applicant"),
    AccreditationStatus.accredited: _l("Accredited"),
    AccreditationStatus.partially_suspended: _l("Accredited — partially suspended"),
    AccreditationStatus.suspended: _l("Suspended"),
    AccreditationStatus.withdrawn: _l("Withdrawn"),
    AccreditationStatus.voluntarily_withdrawn: _l("Voluntarily withdrawn"),
    AccreditationStatus.expired: _l("Expired"),
    AccreditationStatus.refused: _l("Refused"),
    AccreditationStatus.lapsed: _l("Lapsed"),
    AccreditationStatus.inactive: _l("Inactive (at the CAB's request)"),
}
ACCREDITATION_STATUS_BADGES = {
    AccreditationStatus.applicant: "text-bg-info",
    AccreditationStatus.accredited: "text-bg-success",
    AccreditationStatus.partially_suspended: "text-bg-warning",
    AccreditationStatus.suspended: "text-bg-danger",
    AccreditationStatus.inactive: "text-bg-secondary",
}
ITEM_STATUS_LABELS = {
    ItemStatus.applied: _l("requested"),
    ItemStatus.accredited: _l("accredited"),
    ItemStatus.suspended: _l("suspended"),
    ItemStatus.withdrawn: _l("withdrawn"),
    ItemStatus.reduced: _l("removed (reduced)"),
    ItemStatus.expired: _l("expired"),
    ItemStatus.refused: _l("refused"),
}
ITEM_STATUS_BADGES = {
    ItemStatus.applied: "text-bg-info",
    ItemStatus.accredited: "text-bg-success",
    ItemStatus.suspended: "text-bg-warning",
    ItemStatus.refused: "text-bg-danger",
}
# Lists whose codes mean something to readers (IAF 28, category CI, MD 9 "IVD"): shown as
# "code – name". Other lists' codes are made from their names, so only the name is shown.
CODED_KINDS = frozenset({TermKind.iaf_code, TermKind.food_chain, TermKind.md9_area})


@bp.url_value_preprocessor
def raise_upload_limits(endpoint, values):
    """The CSV import takes up to 5 MB, as a file or as pasted text; Flask limits a multipart
    text part to 500 KB app-wide. URL value preprocessors run before every before_request hook,
    so the import's own limits are in place before the CSRF check parses the form."""
    if endpoint == "tenant.scopes.import_csv":
        request.max_content_length = 2 * MAX_CSV_BYTES + 256 * 1024
        request.max_form_memory_size = MAX_CSV_BYTES + 64 * 1024


@bp.context_processor
def scope_labels():
    return {"item_status_label": _item_status_label, "item_status_badge": _item_status_badge}


def _item_status_label(status: str) -> str:
    try:
        return str(ITEM_STATUS_LABELS[ItemStatus(status)])
    except ValueError:
        return status


def _item_status_badge(status: str) -> str:
    try:
        return ITEM_STATUS_BADGES.get(ItemStatus(status), "text-bg-secondary")
    except ValueError:
        return "text-bg-secondary"


# -- loading ----------------------------------------------------------------------------------


def _load(accreditation_id: int) -> Accreditation:
    """The accreditation with its CAB, programme and edition (one statement); 404 for another
    tenant's, and for one that only a CAB's draft application has opened (still the CAB's)."""
    acc = services.staff_accreditation(
        accreditation_id, joinedload(Accreditation.cab), joinedload(Accreditation.programme),
        joinedload(Accreditation.edition))
    if acc is None:
        abort(404)
    return acc


def _load_item(acc: Accreditation, item_id: int) -> ScopeItem:
    """A line of this accreditation; a line of any other accreditation, or a requested line of
    a CAB's draft application, is a 404."""
    item = db.session.execute(
        select(ScopeItem).where(ScopeItem.id == item_id, ScopeItem.accreditation_id == acc.id,
                                services.line_visible_to_staff())
    ).scalar_one_or_none()
    if item is None:
        abort(404)
    return item


class Terms:
    """Reference lists for display, each read at most once per request."""

    def __init__(self) -> None:
        self._cache: dict[TermKind, dict] = {}

    def __call__(self, kind: TermKind) -> dict:
        if kind not in self._cache:
            self._cache[kind] = refdata.terms(kind)
        return self._cache[kind]

    def label(self, kind: TermKind, code: str) -> str:
        term = self(kind).get(code)
        if term is None:
            return code
        return f"{code} – {term.name}" if kind in CODED_KINDS else term.name


@dataclass
class Column:
    name: str
    label: object
    spec: schemas.FieldSpec


def _columns(acc: Accreditation, terms: Terms) -> list[Column]:
    """Table columns from the line schema; reads each reference list the columns use now, so
    the number of statements does not depend on the rows."""
    specs = schemas.SCHEMAS[services.scope_type_of(acc)]
    for spec in specs:
        if spec.terms is not None:
            terms(spec.terms)
    return [Column(s.name, s.label, s) for s in specs]


def _cell(spec: schemas.FieldSpec, value, terms: Terms) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list):
        if spec.terms is not None:
            return "; ".join(terms.label(spec.terms, str(v)) for v in value)
        return "; ".join(str(v) for v in value)
    if spec.terms is not None:
        return terms.label(spec.terms, str(value))
    return str(value)


def _rows(items: list[ScopeItem], columns: list[Column], terms: Terms) -> list[dict]:
    return [{"item": item, "cells": [_cell(c.spec, (item.fields or {}).get(c.name), terms)
                                     for c in columns]} for item in items]


def _status_counts(acc: Accreditation) -> dict[str, int]:
    return dict(db.session.execute(
        select(ScopeItem.status, func.count())
        .where(ScopeItem.accreditation_id == acc.id, services.line_visible_to_staff())
        .group_by(ScopeItem.status)
    ).all())


def _history_stmt(acc: Accreditation):
    return (
        select(ScopeEvent, ScopeItem.position, ScopeItem.summary, User.name)
        .join(ScopeItem, ScopeItem.id == ScopeEvent.scope_item_id)
        .outerjoin(User, User.id == ScopeEvent.actor_id)
        .where(ScopeEvent.accreditation_id == acc.id, services.line_visible_to_staff())
        .order_by(ScopeEvent.effective_on.desc(), ScopeEvent.id.desc())
    )


def _page_arg() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _header(acc: Accreditation, counts: dict[str, int] | None = None) -> dict:
    status = acc.status_enum
    return {
        "acc": acc,
        "cab_url": url_for("tenant.cabs.show", cab_id=acc.cab_id),
        "status_label": ACCREDITATION_STATUS_LABELS.get(status, acc.status),
        "status_badge": ACCREDITATION_STATUS_BADGES.get(status, "text-bg-secondary"),
        "counts": counts,
        "can_edit": has_role(*EDITORS),
    }


# -- reading ----------------------------------------------------------------------------------


@bp.get("/<int:accreditation_id>")
@require_role(*READERS)
def show(accreditation_id: int):
    acc = _load(accreditation_id)
    terms = Terms()
    columns = _columns(acc, terms)
    counts = _status_counts(acc)
    status = request.args.get("status") or None
    if status not in {s.value for s in ItemStatus}:
        status = None
    total = counts.get(status, 0) if status else sum(counts.values())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(_page_arg(), pages)
    stmt = select(ScopeItem).where(ScopeItem.accreditation_id == acc.id,
                                   services.line_visible_to_staff())
    if status:
        stmt = stmt.where(ScopeItem.status == status)
    items = db.session.execute(
        stmt.order_by(ScopeItem.position, ScopeItem.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).scalars().all()
    history = db.session.execute(_history_stmt(acc).limit(HISTORY_ON_SHOW + 1)).all()
    from accreditor.decisions import services as decisions
    from accreditor.decisions.views import accreditation_decisions

    return render_template(
        "scopes/show.html", **_header(acc, counts), **accreditation_decisions(acc),
        may_decide=has_role(*decisions.RECORDERS), columns=columns,
        rows=_rows(items, columns, terms), status=status, page=page, pages=pages, total=total,
        first_index=(page - 1) * PAGE_SIZE, history=history[:HISTORY_ON_SHOW],
        more_history=len(history) > HISTORY_ON_SHOW,
        statuses=[s for s in ItemStatus if counts.get(s.value)],
    )


@bp.get("/<int:accreditation_id>/history")
@require_role(*READERS)
def history(accreditation_id: int):
    acc = _load(accreditation_id)
    total = db.session.execute(
        select(func.count()).select_from(ScopeEvent)
        .where(ScopeEvent.accreditation_id == acc.id)
    ).scalar_one()
    pages = max(1, -(-total // HISTORY_PAGE_SIZE))
    page = min(_page_arg(), pages)
    events = db.session.execute(
        _history_stmt(acc).limit(HISTORY_PAGE_SIZE).offset((page - 1) * HISTORY_PAGE_SIZE)
    ).all()
    return render_template("scopes/history.html", **_header(acc), history=events, page=page,
                           pages=pages, total=total)


@bp.get("/<int:accreditation_id>/as-of")
@require_role(*READERS)
def as_of(accreditation_id: int):
    acc = _load(accreditation_id)
    form = forms.AsOfForm(request.args)
    rows = columns = None
    on: date | None = None
    status = 200
    if "on" in request.args:
        if form.validate():
            on = form.on.data
            terms = Terms()
            columns = _columns(acc, terms)
            rows = _rows(services.scope_as_of(acc, on), columns, terms)
        else:
            status = 400
    return render_template("scopes/as_of.html", **_header(acc), form=form, on=on,
                           columns=columns, rows=rows), status


# -- accreditation details --------------------------------------------------------------------


@bp.route("/<int:accreditation_id>/edit", methods=["GET", "POST"])
@require_role(*EDITORS)
def edit(accreditation_id: int):
    acc = _load(accreditation_id)
    programme = acc.programme
    form = forms.AccreditationForm(obj=acc)
    form.edition_id.choices = [
        (e.id, f"{programme.standard}:{e.edition}" + ("" if e.is_current else
                                                      " " + _("(superseded)")))
        for e in refdata.editions(programme)
    ]
    if not programme.needs_ib_type:
        del form.ib_type
    if acc.cycle_start_on is None:  # the cycle starts with the grant decision
        del form.cycle_start_on
        del form.cycle_end_on
    status = 200
    if form.validate_on_submit():
        try:
            changes = services.update_accreditation(
                acc,
                ib_type=form.ib_type.data if form.ib_type is not None else acc.ib_type,
                expiry_on=form.expiry_on.data,
                cycle_start_on=(form.cycle_start_on.data
                                if form.cycle_start_on is not None else None),
                cycle_end_on=form.cycle_end_on.data if form.cycle_end_on is not None else None,
                edition_id=form.edition_id.data,
            )
        except DomainError as exc:
            show_error(form, exc)
            status = exc.status
        else:
            commit()
            flash(_("Accreditation details saved.") if changes else _("Nothing changed."),
                  "success")
            return redirect(url_for(".show", accreditation_id=accreditation_id))
    elif form.is_submitted():
        status = 400
    return render_template("scopes/edit.html", **_header(acc), form=form), status


# -- scope lines ------------------------------------------------------------------------------


def _line_choices(acc: Accreditation, ctx: schemas.Context) -> forms.LineChoices:
    locations = db.session.execute(
        select(CabLocation.code, CabLocation.name)
        .where(CabLocation.cab_id == acc.cab_id, CabLocation.is_active)
        .order_by(CabLocation.code)
    ).all()
    return forms.LineChoices(terms=ctx.terms, ms_standards=list(ctx.ms_standards.values()),
                             locations=[(c, n) for c, n in locations])


def _line_page(acc, form, *, item=None, status=200):
    return render_template("scopes/line_form.html", **_header(acc), form=form, item=item), status


def _save_line(acc: Accreditation, form, save) -> tuple[object | None, int]:
    """Run ``save(raw)``; put the service's messages beside their fields."""
    stype = services.scope_type_of(acc)
    try:
        return save(forms.raw_values(stype, form)), 200
    except services.ScopeLineInvalid as exc:
        for name, message in exc.errors.items():
            if name in form._fields:
                form[name].errors = [*form[name].errors, message]
            else:
                form.form_errors.append(message)
        return None, exc.status
    except DomainError as exc:
        form.form_errors.append(exc.message)
        return None, exc.status


@bp.route("/<int:accreditation_id>/lines/new", methods=["GET", "POST"])
@require_role(*EDITORS)
def new_line(accreditation_id: int):
    acc = _load(accreditation_id)
    ctx = services.validation_context(acc)
    form = forms.line_form(services.scope_type_of(acc), _line_choices(acc, ctx))
    status = 200
    if form.validate_on_submit():
        item, status = _save_line(acc, form,
                                  lambda raw: services.add_scope_item(acc, raw, ctx=ctx))
        if item is not None:
            commit()
            flash(_("Line %(n)d added to the requested scope.", n=item.position), "success")
            if request.form.get("next") == "another":
                return redirect(url_for(".new_line", accreditation_id=accreditation_id))
            return redirect(url_for(".show", accreditation_id=accreditation_id))
    return _line_page(acc, form, status=status)


@bp.route("/<int:accreditation_id>/lines/<int:item_id>/edit", methods=["GET", "POST"])
@require_role(*EDITORS)
def edit_line(accreditation_id: int, item_id: int):
    acc = _load(accreditation_id)
    item = _load_item(acc, item_id)
    ctx = services.validation_context(acc)
    data = None if request.method == "POST" else dict(item.fields or {})
    form = forms.line_form(services.scope_type_of(acc), _line_choices(acc, ctx), data=data)
    status = 200
    if form.validate_on_submit():
        saved, status = _save_line(acc, form,
                                   lambda raw: services.update_scope_item(item, acc, raw))
        if saved is not None:
            position = item.position
            commit()
            flash(_("Line %(n)d saved.", n=position), "success")
            return redirect(url_for(".show", accreditation_id=accreditation_id))
    return _line_page(acc, form, item=item, status=status)


@bp.post("/<int:accreditation_id>/lines/<int:item_id>/delete")
@require_role(*EDITORS)
def delete_line(accreditation_id: int, item_id: int):
    acc = _load(accreditation_id)
    item = _load_item(acc, item_id)
    position = item.position
    try:
        services.remove_scope_item(item, acc)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        commit()
        flash(_("Line %(n)d removed from the requested scope.", n=position), "success")
    return redirect(url_for(".show", accreditation_id=accreditation_id))


# -- CSV --------------------------------------------------------------------------------------


def _safe_filename(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "scope"


@bp.get("/<int:accreditation_id>/export.csv")
@require_role(*READERS)
def export_csv(accreditation_id: int):
    acc = _load(accreditation_id)
    name = _safe_filename(f"scope-{acc.number or f'draft-{acc.id}'}")
    return csv_response(services.export_scope_csv(acc), f"{name}.csv")


@bp.get("/<int:accreditation_id>/template.csv")
@require_role(*READERS)
def csv_template(accreditation_id: int):
    acc = _load(accreditation_id)
    header = ",".join(c.name for c in services.csv_columns(acc))
    return csv_response(header + "\r\n",
                         f"scope-template-{_safe_filename(acc.programme.code)}.csv")


def _uploaded_text(form) -> tuple[str | None, str | None]:
    """The CSV text from the upload (or the paste box), or an error message."""
    upload = form.file.data
    if upload is not None and getattr(upload, "filename", ""):
        data = upload.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            return None, _("The file is larger than 5 MB; split it into several imports.")
        try:
            return data.decode("utf-8-sig"), None
        except UnicodeDecodeError as exc:
            return None, _("The file is not UTF-8 text (unreadable byte at position %(p)d). In "
                           "a spreadsheet program, save it as “CSV UTF-8” and upload it again.",
                           p=exc.start)
    text = (form.csv_text.data or "").lstrip("\ufeff")
    if not text.strip():
        return None, _("Choose a CSV file or paste the CSV text.")
    if len(text.encode()) > MAX_CSV_BYTES:
        return None, _("The text is larger than 5 MB; split it into several imports.")
    return text, None


def _column_help(acc: Accreditation) -> list[dict]:
    out = []
    for spec in services.csv_columns(acc):
        if spec.kind == schemas.MULTI:
            hint = _("codes from the list, separated by “;”")
        elif spec.kind == schemas.DECIMAL:
            hint = _("a number, with a point as decimal separator")
        elif spec.kind == schemas.UNIT:
            hint = _("a unit of the discipline")
        elif spec.kind == schemas.CHOICE:
            hint = _("a code or name from the list")
        elif spec.name == "location":
            hint = _("a location code of the CAB")
        else:
            hint = ""
        out.append({"name": spec.name, "label": spec.label, "required": spec.required,
                    "hint": hint, "help": spec.help})
    return out


@bp.route("/<int:accreditation_id>/import", methods=["GET", "POST"])
@require_role(*EDITORS)
def import_csv(accreditation_id: int):
    acc = _load(accreditation_id)
    form = forms.ImportForm()
    page = {**_header(acc), "form": form, "columns": _column_help(acc)}
    if not form.validate_on_submit():
        return render_template("scopes/import.html", **page), 400 if form.is_submitted() else 200
    text, error = _uploaded_text(form)
    if error:
        form.file.errors = [*form.file.errors, error]
        return render_template("scopes/import.html", **page), 400
    if form.confirm.data == "1":
        try:
            result = services.import_scope_csv(acc, text)
        except DomainError as exc:
            form.form_errors.append(exc.message)
            return render_template("scopes/import.html", **page), exc.status
        if result.ok:
            commit()
            flash(_("%(n)d lines imported.", n=len(result.rows)), "success")
            return redirect(url_for(".show", accreditation_id=accreditation_id))
    else:
        result = services.parse_scope_csv(acc, text)
    return render_template("scopes/import_preview.html", **page, result=result, csv_text=text,
                           previews=list(zip(result.lines, result.summaries, strict=True))), \
        200 if result.ok else 400

