"""Platform administration at ``/admin``: tenants, the development outbox, failed jobs."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from accreditor.core.db import commit
from accreditor.core.errors import DomainError
from accreditor.core.jobs import FailedJob, failed_rq_jobs
from accreditor.core.mail import OutboxMessage, delivery_status, mail_max_attempts
from accreditor.core.permissions import require_platform_admin
from accreditor.extensions import db
from accreditor.tenants import services
from accreditor.tenants.forms import TenantForm
from accreditor.tenants.models import Tenant

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50


@bp.get("/")
@require_platform_admin
def index():
    tenants = db.session.execute(select(Tenant).order_by(Tenant.name)).scalars().all()
    return render_template("admin/index.html", tenants=tenants)


@bp.route("/tenants/new", methods=["GET", "POST"])
@require_platform_admin
def new_tenant():
    form = TenantForm()
    if form.validate_on_submit():
        try:
            tenant = services.create_tenant(
                slug=form.slug.data, name=form.name.data, country=form.country.data,
                default_locale=form.default_locale.data, admin_email=form.admin_email.data,
                admin_name=form.admin_name.data,
            )
        except DomainError as exc:
            getattr(form, exc.field or "slug").errors.append(exc.message)
        else:
            commit()
            flash(_("%(name)s created; its first administrator has been invited.",
                    name=tenant.name), "success")
            return redirect(url_for(".index"))
    return render_template("admin/new_tenant.html", form=form)


@bp.get("/outbox")
@require_platform_admin
def outbox():
    page = max(1, request.args.get("page", 1, type=int))
    total = db.session.execute(select(func.count(OutboxMessage.id))).scalar_one()
    messages = db.session.execute(
        select(OutboxMessage).order_by(OutboxMessage.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).scalars().all()
    return render_template("admin/outbox.html", messages=messages, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), status=delivery_status,
                           max_attempts=mail_max_attempts())


@bp.get("/outbox/<int:message_id>")
@require_platform_admin
def outbox_message(message_id: int):
    msg = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.id == message_id)
    ).scalar_one_or_none()
    if msg is None:
        return render_template("errors/error.html", status=404, title=_("Page not found"),
                               message=_("No such message.")), 404
    return render_template("admin/outbox_message.html", msg=msg, status=delivery_status(msg))


@bp.get("/jobs")
@require_platform_admin
def jobs():
    local = db.session.execute(
        select(FailedJob).order_by(FailedJob.id.desc()).limit(PAGE_SIZE)
    ).scalars().all()
    rq_failed, rq_error = [], None
    if current_app.config.get("REDIS_URL"):
        try:
            rq_failed = failed_rq_jobs(PAGE_SIZE)
        except Exception as exc:  # show the admin that Redis is unreachable instead of a 500
            rq_error = f"{type(exc).__name__}: {exc}"
    return render_template("admin/jobs.html", local=local, rq_failed=rq_failed, rq_error=rq_error)
