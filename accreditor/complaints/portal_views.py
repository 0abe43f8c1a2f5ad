"""CAB portal: complaints the AB referred to the CAB (rule 25), and the CAB's answer
(under /<tenant>/portal/complaints).

A CAB user sees only complaints about their own CAB (the CabScoped filter) that were referred
to it — never one still being received, one about the AB, or one investigated without referral.
The complainant's name and contact details are shown only if the complainant consented to share
them; internal notes, the investigation and the AB's decision are never shown here. Only pure
CAB users get in (``cab_user_only``: AB staff get 403); another CAB's complaint is a 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from accreditor.complaints import forms, services
from accreditor.complaints.models import Complaint, ComplaintStatus
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, show_error
from accreditor.extensions import db
from accreditor.portal.views import cab_user_only

bp = Blueprint("cab_complaints", __name__, url_prefix="/portal/complaints")
PAGE_SIZE = 50


@bp.context_processor
def _labels() -> dict:
    return forms.labels()


def _referred():
    return select(Complaint).where(Complaint.referred_at.is_not(None))


def _load(complaint_id) -> Complaint:
    try:
        ident = int(complaint_id)
    except (TypeError, ValueError):
        abort(404)
    c = db.session.execute(_referred().where(Complaint.id == ident)).scalar_one_or_none()
    if c is None:
        abort(404)
    return c


@bp.get("/")
@cab_user_only
def index():
    stmt = _referred()
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    complaints = db.session.execute(
        stmt.order_by(Complaint.referred_at.desc(), Complaint.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).scalars().all()
    return render_template("portal/complaints/index.html", complaints=complaints, total=total,
                           page=page, pages=pages)


def _page(c: Complaint, form, status: int = 200, message: str | None = None):
    awaiting = c.status == ComplaintStatus.referred and c.cab_responded_at is None
    return render_template("portal/complaints/show.html", c=c, form=form if awaiting else None,
                           awaiting=awaiting, message=message), status


@bp.get("/<int:complaint_id>")
@cab_user_only
def show(complaint_id):
    return _page(_load(complaint_id), forms.CabResponseForm(formdata=None))


@bp.post("/<int:complaint_id>/respond")
@cab_user_only
def respond(complaint_id):
    c = _load(complaint_id)
    form = forms.CabResponseForm()
    if not form.validate_on_submit():
        return _page(c, form, 400)
    try:
        services.respond_as_cab(c, text=form.text.data)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc)
        return _page(_load(complaint_id), form, exc.status, exc.message)
    commit()
    flash(_("Your answer has been sent to the accreditation body."), "success")
    return redirect(url_for(".show", complaint_id=complaint_id))
