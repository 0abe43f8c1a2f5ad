"""Login, logout, tenant choice, password reset and invitation acceptance."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from accreditor.auth import services
from accreditor.auth.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
)
from accreditor.auth.models import User
from accreditor.core.db import commit, utcnow
from accreditor.core.errors import ValidationFailed
from accreditor.extensions import db, login_manager

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Cookie value is ``<id>:<session_token>``; a rotated token logs the cookie out."""
    uid, _, token = (user_id or "").partition(":")
    if not uid.isdigit() or not token:
        return None
    user = db.session.execute(select(User).where(User.id == int(uid))).scalar_one_or_none()
    if user is None or user.session_token != token or not user.is_active:
        return None
    return user


def enforce_session_timeouts() -> None:
    """Idle and absolute limits for signed-in sessions (before every request)."""
    if not current_user.is_authenticated:
        return
    now = utcnow().timestamp()
    cfg = current_app.config
    idle = cfg["IDLE_TIMEOUT_MINUTES"] * 60
    absolute = cfg["ABSOLUTE_TIMEOUT_HOURS"] * 3600
    last_seen = session.get("last_seen", now)
    auth_at = session.get("auth_at", now)
    if now - last_seen > idle or now - auth_at > absolute:
        logout_user()
        session.clear()
        flash(_("Your session expired. Please sign in again."), "warning")
        return
    session["last_seen"] = now


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _start_session(user: User) -> None:
    session.clear()  # a fresh session (and CSRF token) at login: no fixation
    login_user(user)
    # A browser-session cookie (not "permanent"): closing the browser ends it. The idle and
    # absolute limits are enforced server-side (enforce_session_timeouts) and every session of
    # a user can be revoked by rotating the session token.
    now = utcnow().timestamp()
    session["auth_at"] = session["last_seen"] = now


def landing_for(user: User):
    memberships = services.active_memberships(user)
    if len(memberships) == 1:
        return redirect(url_for("tenant.home", tenant_slug=memberships[0].tenant.slug))
    if not memberships and user.is_platform_admin:
        return redirect(url_for("admin.index"))
    return redirect(url_for("auth.choose_tenant"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return landing_for(current_user)
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                form.email.data, form.password.data, ip=request.remote_addr
            )
        except (services.InvalidCredentials, services.LoginThrottled) as exc:
            commit()  # keep the failure count even though sign-in failed
            form.form_errors.append(exc.message)
            status = exc.status if isinstance(exc, services.LoginThrottled) else 200
        else:
            commit()
            _start_session(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("auth.after_login"))
    return render_template("auth/login.html", form=form), status


@bp.get("/after-login")
@login_required
def after_login():
    return landing_for(current_user)


@bp.post("/logout")
@login_required
def logout():
    services.log_out(current_user._get_current_object())
    commit()
    logout_user()
    session.clear()
    flash(_("You have been signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/choose-tenant")
@login_required
def choose_tenant():
    memberships = services.active_memberships(current_user)
    return render_template("auth/choose_tenant.html", memberships=memberships)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        commit()
        flash(_("If an account exists for that address, we have sent it a link to reset the "
                "password. The link works once and expires in an hour."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        services.user_for_token(token, "reset", current_app.config["PASSWORD_RESET_MAX_AGE"])
    except services.TokenError as exc:
        return render_template("auth/token_problem.html", message=exc.message), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except ValidationFailed as exc:
            form.password.errors.append(exc.message)
        else:
            commit()
            logout_user()
            session.clear()
            flash(_("Your password has been changed. Sign in with the new password."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    try:
        user = services.user_for_token(token, "invite", current_app.config["INVITE_MAX_AGE"])
        if user.password_hash is not None:
            raise services.TokenError(_("This invitation has already been accepted. Sign in instead."))
    except services.TokenError as exc:
        return render_template("auth/token_problem.html", message=exc.message,
                               purpose="invite"), 400
    form = AcceptInvitationForm(name=user.name)
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(token, name=form.name.data, password=form.password.data)
        except ValidationFailed as exc:
            form.password.errors.append(exc.message)
        else:
            commit()
            _start_session(user)
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.name), "success")
            return landing_for(user)
    return render_template("auth/accept_invitation.html", form=form, user=user)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            confirmed = services.confirm_password(user, form.current.data, ip=request.remote_addr)
        except services.LoginThrottled as exc:
            form.current.errors.append(exc.message)
            status = exc.status
        else:
            if not confirmed:
                commit()  # keep the failure count, as at sign-in
                form.current.errors.append(_("The current password is not correct."))
            else:
                try:
                    services.set_password(user, form.password.data)
                except ValidationFailed as exc:
                    form.password.errors.append(exc.message)
                else:
                    commit()
                    _start_session(user)  # other sessions ended; this one continues
                    flash(_("Your password has been changed."), "success")
                    return redirect(url_for("auth.after_login"))
    return render_template("auth/change_password.html", form=form), status


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # Sessions are not bound to the client IP: staff and CAB users move between networks.
    # Revocation is server-side (session token), so "basic" protection is enough.
    login_manager.session_protection = "basic"
    app.permanent_session_lifetime = timedelta(hours=app.config["ABSOLUTE_TIMEOUT_HOURS"])
    app.before_request(enforce_session_timeouts)
