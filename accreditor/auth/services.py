"""Use cases for accounts: log in (throttled), reset a password, invite, change roles."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from accreditor.auth.models import LoginThrottle, Membership, User, normalise_email
from accreditor.auth.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, DomainError, ValidationFailed
from accreditor.core.mail import send_mail
from accreditor.core.permissions import STAFF_ROLES, Role
from accreditor.core.tenancy import ALL_TENANTS
from accreditor.core.web import external_url
from accreditor.extensions import db
from accreditor.tenants.models import Tenant


class InvalidCredentials(DomainError):
    status = 400
    code = "invalid_credentials"


class LoginThrottled(DomainError):
    status = 429
    code = "login_throttled"

    def __init__(self, seconds: int):
        minutes = max(1, -(-seconds // 60))
        super().__init__(
            _("Too many failed sign-in attempts. Wait %(m)d minute(s) and try again, or reset "
              "your password.", m=minutes)
        )
        self.seconds = seconds


class TokenError(DomainError):
    code = "invalid_token"


# -- throttling -------------------------------------------------------------------------------


def _throttle_rows(keys: list[str]) -> dict[str, LoginThrottle]:
    rows = db.session.execute(
        select(LoginThrottle).where(LoginThrottle.key.in_(keys)).with_for_update()
    ).scalars()
    return {r.key: r for r in rows}


def _throttle_keys(email: str, ip: str | None) -> list[str]:
    return [f"acct:{normalise_email(email)[:320]}", f"ip:{ip or '-'}"]


def check_throttle(email: str, ip: str | None) -> None:
    """Refuse before any hashing while the account or the client IP is locked."""
    now = utcnow()
    for row in _throttle_rows(_throttle_keys(email, ip)).values():
        if row.locked_until and row.locked_until > now:
            raise LoginThrottled(int((row.locked_until - now).total_seconds()) + 1)


def _register_failure(email: str, ip: str | None) -> None:
    cfg = current_app.config
    now = utcnow()
    window = timedelta(seconds=cfg["LOGIN_FAILURE_WINDOW_SECONDS"])
    keys = _throttle_keys(email, ip)
    rows = _throttle_rows(keys)
    limits = {keys[0]: cfg["LOGIN_MAX_FAILURES"], keys[1]: cfg["LOGIN_MAX_FAILURES_PER_IP"]}
    for key in keys:
        row = rows.get(key) or _create_throttle_row(key)
        if row.first_failure_at is None or (
            now - row.first_failure_at > window and not (row.locked_until and row.locked_until > now)
        ):
            row.failures, row.first_failure_at = 0, now
        row.failures += 1
        over = row.failures - limits[key]
        if over >= 0:
            seconds = min(cfg["LOGIN_LOCK_SECONDS"] * (2**over), cfg["LOGIN_LOCK_MAX_SECONDS"])
            row.locked_until = now + timedelta(seconds=seconds)
    db.session.flush()


def _create_throttle_row(key: str) -> LoginThrottle:
    """Insert the counter row; if a concurrent request inserted it first, lock and use theirs."""
    try:
        with db.session.begin_nested():
            row = LoginThrottle(key=key, failures=0)
            db.session.add(row)
        return row
    except IntegrityError:
        return db.session.execute(
            select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
        ).scalar_one()


def _clear_account_failures(email: str) -> None:
    row = _throttle_rows(_throttle_keys(email, None)[:1]).get(f"acct:{normalise_email(email)}")
    if row is not None:
        db.session.delete(row)


def user_names(ids) -> dict[int, str]:
    """{user id: name} for the given ids (None and repeats ignored), in one statement."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def find_user(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()


def authenticate(email: str, password: str, *, ip: str | None) -> User:
    """Return the user for good credentials.

    Raises LoginThrottled (before hashing) while locked, InvalidCredentials otherwise — the same
    message for a wrong password, an unknown e-mail or a disabled account.
    """
    check_throttle(email, ip)
    user = find_user(email)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        _register_failure(email, ip)
        raise InvalidCredentials(_("The e-mail address or password is not correct."))
    _clear_account_failures(email)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record("auth.login", user, platform=True, actor=audit.Actor(user.id, user.email))
    return user


def confirm_password(user: User, password: str, *, ip: str | None) -> bool:
    """Re-check a signed-in user's password (e.g. before changing it).

    Throttled like sign-in and before any hashing: a stolen session must not allow guessing
    the password, nor starving the workers with argon2 verifications. Raises LoginThrottled.
    """
    check_throttle(user.email, ip)
    if verify_password(user.password_hash, password):
        return True
    _register_failure(user.email, ip)
    return False


def log_out(user: User) -> None:
    """End every session of the user (the cookie's session token stops matching)."""
    user.rotate_session_token()
    audit.record("auth.logout", user, platform=True, actor=audit.Actor(user.id, user.email))


def active_memberships(user: User) -> list[Membership]:
    """All tenants the user may enter (login-time lookup, outside any tenant scope)."""
    return list(
        db.session.execute(
            select(Membership)
            .join(Tenant, Tenant.id == Membership.tenant_id)
            .where(Membership.user_id == user.id, Membership.is_active, Tenant.is_active)
            .options(contains_eager(Membership.tenant))
            .order_by(Tenant.name)
            .execution_options(**{ALL_TENANTS: True})
        ).scalars()
    )


def membership_in(user: User, tenant: Tenant) -> Membership | None:
    return db.session.execute(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.tenant_id == tenant.id,
            Membership.is_active,
        )
    ).scalar_one_or_none()


# -- single-use, expiring tokens ------------------------------------------------------------


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"accreditor.{purpose}")


def _fingerprint(user: User) -> str:
    """Changes whenever the password is set or sessions are revoked: spent tokens stop working."""
    raw = f"{user.password_hash or '-'}|{user.session_token}".encode()
    return hashlib.sha256(raw).hexdigest()[:24]


def make_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({"uid": user.id, "fp": _fingerprint(user)})


def user_for_token(token: str, purpose: str, max_age: int) -> User:
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError(_("This link has expired. Ask for a new one."), code="token_expired") from exc
    except BadSignature as exc:
        raise TokenError(_("This link is not valid."), code="token_invalid") from exc
    user = db.session.execute(select(User).where(User.id == data.get("uid"))).scalar_one_or_none()
    if user is None or data.get("fp") != _fingerprint(user):
        if purpose == "invite" and user is not None and user.password_hash is not None:
            raise TokenError(_("This invitation has already been accepted. Sign in instead."),
                             code="token_used")
        raise TokenError(_("This link has already been used. Ask for a new one."), code="token_used")
    return user


def request_password_reset(email: str) -> None:
    """E-mail a reset link if the account exists; the caller shows the same text either way."""
    user = find_user(email)
    if user is None or not user.is_active_account:
        return
    token = make_token(user, "reset")
    send_mail(
        user.email,
        _("Reset your Accreditor password"),
        "password_reset",
        user=user,
        link=external_url("auth.reset_password", token=token),
        hours=current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600,
    )
    audit.record("auth.password_reset_requested", user, platform=True,
                 actor=audit.Actor(None, "anonymous"))


def set_password(user: User, password: str, *, action: str = "auth.password_changed") -> None:
    """Set a new password after the policy check; every existing session ends."""
    problems = password_problems(password, user_inputs=(user.email, user.name))
    if problems:
        raise ValidationFailed(problems[0], field="password")
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.rotate_session_token()
    audit.record(action, user, platform=True, actor=audit.Actor(user.id, user.email))


def reset_password(token: str, password: str) -> User:
    user = user_for_token(token, "reset", current_app.config["PASSWORD_RESET_MAX_AGE"])
    set_password(user, password, action="auth.password_reset")
    return user


def accept_invitation(token: str, *, name: str, password: str) -> User:
    user = user_for_token(token, "invite", current_app.config["INVITE_MAX_AGE"])
    if user.password_hash is not None:
        raise TokenError(_("This invitation has already been accepted. Sign in instead."),
                         code="token_used")
    if name.strip():
        user.name = name.strip()
    set_password(user, password, action="auth.invitation_accepted")
    return user


# -- memberships ------------------------------------------------------------------------------


def invite_user(
    tenant: Tenant, *, email: str, name: str, roles: list[Role], cab_id: int | None = None
) -> Membership:
    """Give a person a membership with ``roles``; new people get an e-mailed invitation link.

    Refuses (Conflict on ``email``) when the person is already a member of this tenant. Whether
    the person has an account elsewhere is not revealed: the admin sees the same result.
    """
    email = normalise_email(email)
    check_roles(roles, cab_id)
    user = find_user(email)
    if user is not None:
        existing = db.session.execute(
            select(Membership).where(Membership.user_id == user.id)
        ).scalar_one_or_none()
        if existing is not None:
            raise Conflict(_("%(email)s is already a member of %(ab)s.", email=email, ab=tenant.name),
                           field="email")
    else:
        user = User(email=email, name=name.strip() or email)
        db.session.add(user)
        db.session.flush()
        audit.record("user.created", user, changes=audit.snapshot(user, ("email", "name")))
    membership = Membership(user=user, tenant_id=tenant.id, cab_id=cab_id)
    membership.set_roles(roles)
    db.session.add(membership)
    db.session.flush()
    audit.record(
        "membership.invited",
        membership,
        changes={"email": [None, email], "roles": [None, sorted(r.value for r in roles)]},
    )
    if user.password_hash is None:
        link = external_url("auth.accept_invitation", token=make_token(user, "invite"))
        send_mail(email, _("You are invited to %(ab)s on Accreditor", ab=tenant.name), "invitation",
                  user=user, tenant=tenant, link=link, roles=[str(r.label) for r in sorted(roles)],
                  days=current_app.config["INVITE_MAX_AGE"] // 86400)
    else:
        send_mail(email, _("You now have access to %(ab)s on Accreditor", ab=tenant.name),
                  "membership_added", user=user, tenant=tenant,
                  link=external_url("auth.login"),
                  roles=[str(r.label) for r in sorted(roles)])
    return membership


def resend_invitation(membership: Membership) -> None:
    user = membership.user
    if user.password_hash is not None:
        raise Conflict(_("This person has already accepted the invitation."))
    link = external_url("auth.accept_invitation", token=make_token(user, "invite"))
    send_mail(user.email, _("You are invited to %(ab)s on Accreditor", ab=membership.tenant.name),
              "invitation", user=user, tenant=membership.tenant, link=link,
              roles=[str(r.label) for r in sorted(membership.roles)],
              days=current_app.config["INVITE_MAX_AGE"] // 86400)
    audit.record("membership.invitation_resent", membership)


def check_roles(roles, cab_id: int | None) -> None:
    """At least one role; a CAB user is bound to one CAB and holds no AB staff role
    (impartiality: the body being accredited has no say inside the accreditation body)."""
    if not roles:
        raise ValidationFailed(_("Choose at least one role."), field="roles")
    if Role.cab_user in roles:
        if set(roles) & STAFF_ROLES:
            raise ValidationFailed(_("A CAB user cannot also hold an accreditation body role."),
                                   field="roles")
        if cab_id is None:
            raise ValidationFailed(_("Choose the CAB this user belongs to."), field="cab_id")
        from accreditor.cabs.models import Cab

        if db.session.execute(select(Cab.id).where(Cab.id == cab_id)).first() is None:
            raise ValidationFailed(_("Choose the CAB this user belongs to."), field="cab_id")


def update_membership(
    membership: Membership, *, actor: User, roles: list[Role], is_active: bool
) -> None:
    """Change roles or (de)activate; an admin cannot remove their own admin role or access."""
    check_roles(roles, membership.cab_id)
    if membership.user_id == actor.id and (Role.admin not in roles or not is_active):
        raise Conflict(_("You cannot remove your own administrator access."), field="roles")
    before = {"roles": sorted(r.value for r in membership.roles), "is_active": membership.is_active}
    membership.set_roles(roles)
    membership.is_active = is_active
    after = {"roles": sorted(r.value for r in membership.roles), "is_active": is_active}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        db.session.flush()
        audit.record("membership.updated", membership, changes=changes)

