"""The tenant URL space ``/<tenant_slug>/…``: resolution, home, settings, users and audit log."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

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
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, selectinload
from wtforms.fields.choices import SelectChoice

from accreditor.auth import services as auth_services
from accreditor.auth.forms import InviteForm, MembershipForm
from accreditor.auth.models import Membership, User
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.errors import DomainError
from accreditor.core.permissions import Role, require_role
from accreditor.core.tenancy import get_scoped_or_404, set_current_tenant
from accreditor.extensions import db, login_manager
from accreditor.tenants import services
from accreditor.tenants.forms import AuditFilterForm, IdentityForm, PolicyForm
from accreditor.tenants.models import Tenant, TenantPolicy, policy_fields
from accreditor.tenants.policy import POLICY_SECTIONS

bp = Blueprint("tenant", __name__, url_prefix="/<tenant_slug>")


@bp.url_value_preprocessor
def pull_tenant_slug(endpoint, values):
    g.tenant_slug = (values or {}).pop("tenant_slug", None)


@bp.url_defaults
def add_tenant_slug(endpoint, values):
    if "tenant_slug" in values or g.get("tenant") is None:
        return
    if current_app.url_map.is_endpoint_expecting(endpoint, "tenant_slug"):
        values["tenant_slug"] = g.tenant.slug


@bp.before_request
def resolve_tenant():
    """Once per request: the tenant from the URL, then the user's membership in it.

    Unknown or inactive tenant → 404. Anonymous → sign-in. Signed in without an active
    membership → 404 (the tenant's pages are not revealed to outsiders).
    """
    slug = g.get("tenant_slug") or ""
    tenant = db.session.execute(
        select(Tenant).where(Tenant.slug == slug, Tenant.is_active)
    ).scalar_one_or_none()
    if tenant is None:
        abort(404)
    set_current_tenant(tenant)
    g.membership = None
    view = current_app.view_functions.get(request.endpoint or "")
    if current_user.is_authenticated:
        g.membership = auth_services.membership_in(current_user, tenant)
    if getattr(view, "is_public", False):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if g.membership is None:
        set_current_tenant(None)  # the 404 page must not show whose pages these are
        abort(404)
    if g.membership.has_any_role(Role.cab_user) and not g.membership.is_staff:
        # Confine a CAB user to their CAB: every CabScoped query now filters on it.
        g.cab_id = g.membership.cab_id or 0
    return None


@bp.get("/")
def home():
    return render_template("tenants/home.html")


# -- settings ---------------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@require_role(Role.admin)
def settings():
    policy = TenantPolicy.current()
    form = PolicyForm(obj=policy)
    if form.validate_on_submit():
        values = {f: getattr(form, f).data for f in policy_fields()}
        try:
            changes = services.update_policy(policy, **values)
        except DomainError as exc:
            target = getattr(form, exc.field or "", None) or form.accreditation_number_format
            target.errors.append(exc.message)
        else:
            commit()
            flash(_("Settings saved.") if changes else _("Nothing changed."), "success")
            return redirect(url_for(".settings"))
    return render_template("tenants/settings.html", form=form, sections=POLICY_SECTIONS)


@bp.route("/settings/identity", methods=["GET", "POST"])
@require_role(Role.admin)
def identity():
    """The AB's address, website, e-mail and logo on its certificates and schedules."""
    from accreditor.certificates.identity import update_identity

    form = IdentityForm(obj=g.tenant)
    if form.validate_on_submit():
        try:
            changes = update_identity(g.tenant, public_address=form.public_address.data,
                                      website=form.website.data,
                                      public_email=form.public_email.data,
                                      logo=form.logo.data)
        except DomainError as exc:
            getattr(form, exc.field or "logo", form.logo).errors.append(exc.message)
        else:
            commit()
            flash(_("Identity saved.") if changes else _("Nothing changed."), "success")
            return redirect(url_for(".settings"))
    status = 400 if form.errors else 200
    return render_template("certificates/identity.html", form=form), status


PAGE_SIZE = 50


@bp.get("/settings/users")
@require_role(Role.admin)
def users():
    page = max(1, request.args.get("page", 1, type=int))
    base = select(Membership).join(Membership.user)
    total = db.session.execute(
        select(func.count()).select_from(base.subquery())
    ).scalar_one()
    members = db.session.execute(
        base.options(contains_eager(Membership.user), selectinload(Membership.role_rows))
        .order_by(User.name, User.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).scalars().all()
    return render_template("tenants/users.html", members=members, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), total=total)


@bp.route("/settings/users/invite", methods=["GET", "POST"])
@require_role(Role.admin)
def invite():
    from accreditor.cabs.models import Cab

    form = InviteForm()
    cabs = db.session.execute(select(Cab.id, Cab.legal_name).order_by(Cab.legal_name)).all()
    form.cab_id.choices = [SelectChoice("", _("— not a CAB user —"))] + [
        SelectChoice(str(cid), name) for cid, name in cabs]
    if request.method == "GET" and request.args.get("cab_id", type=int):
        form.cab_id.data = request.args.get("cab_id", type=int)
        form.roles.data = [Role.cab_user.value]
    if form.validate_on_submit():
        try:
            auth_services.invite_user(
                g.tenant, email=form.email.data, name=form.name.data,
                roles=[Role(r) for r in form.roles.data], cab_id=form.cab_id.data,
            )
        except DomainError as exc:
            getattr(form, exc.field or "email").errors.append(exc.message)
        else:
            commit()
            flash(_("Invitation sent to %(email)s.", email=form.email.data.lower()), "success")
            return redirect(url_for(".users"))
    return render_template("tenants/invite.html", form=form)


def _load_membership(membership_id: int) -> Membership:
    return get_scoped_or_404(
        Membership, membership_id, selectinload(Membership.user),
        selectinload(Membership.role_rows), selectinload(Membership.tenant),
    )


@bp.route("/settings/users/<int:membership_id>", methods=["GET", "POST"])
@require_role(Role.admin)
def membership(membership_id: int):
    m = _load_membership(membership_id)
    form = MembershipForm()
    if request.method == "GET":
        form.roles.data = sorted(r.value for r in m.roles)
        form.is_active.data = m.is_active
    if form.validate_on_submit():
        try:
            auth_services.update_membership(
                m, actor=current_user, roles=[Role(r) for r in form.roles.data],
                is_active=form.is_active.data,
            )
        except DomainError as exc:
            form.roles.errors.append(exc.message)
        else:
            name = m.user.name
            commit()
            flash(_("Access for %(name)s updated.", name=name), "success")
            return redirect(url_for(".users"))
    return render_template("tenants/membership.html", form=form, m=m)


@bp.post("/settings/users/<int:membership_id>/resend")
@require_role(Role.admin)
def resend_invitation(membership_id: int):
    m = _load_membership(membership_id)
    try:
        auth_services.resend_invitation(m)
    except DomainError as exc:
        flash(exc.message, "warning")
    else:
        email = m.user.email
        commit()
        flash(_("Invitation sent again to %(email)s.", email=email), "success")
    return redirect(url_for(".users"))


# -- audit log --------------------------------------------------------------------------------


@bp.get("/audit")
@require_role(Role.admin)
def audit_log():
    form = AuditFilterForm(request.args)
    stmt = select(AuditEvent)
    if form.validate():
        if form.action.data:
            stmt = stmt.where(AuditEvent.action.startswith(form.action.data.strip()))
        if form.actor.data:
            stmt = stmt.where(AuditEvent.actor_label == form.actor.data.strip().lower())
        if form.object_type.data:
            stmt = stmt.where(AuditEvent.object_type == form.object_type.data.strip())
        if form.since.data:
            stmt = stmt.where(AuditEvent.created_at >= datetime.combine(form.since.data, time(), UTC))
        if form.until.data:
            end = datetime.combine(form.until.data, time(), UTC) + timedelta(days=1)
            stmt = stmt.where(AuditEvent.created_at < end)
    before = request.args.get("before", type=int)
    if before:
        stmt = stmt.where(AuditEvent.seq < before)
    size = current_app.config["AUDIT_PAGE_SIZE"]
    events = db.session.execute(
        stmt.order_by(AuditEvent.seq.desc()).limit(size + 1)
    ).scalars().all()
    has_more = len(events) > size
    events = events[:size]
    args = {k: v for k, v in request.args.items() if k != "before"}
    older = url_for(".audit_log", before=events[-1].seq, **args) if has_more else None
    newest = url_for(".audit_log", **args) if before else None
    return render_template("tenants/audit.html", form=form, events=events, older=older,
                           newest=newest)
