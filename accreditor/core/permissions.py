"""Roles and the decorators that gate views on them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import StrEnum

from flask import abort, g
from flask_babel import lazy_gettext as _l
from flask_login import current_user


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    assessor = "assessor"
    decision_maker = "decision_maker"
    cab_user = "cab_user"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.admin: _l("AB administrator"),
    Role.manager: _l("Accreditation manager"),
    Role.assessor: _l("Assessor"),
    Role.decision_maker: _l("Decision maker"),
    Role.cab_user: _l("CAB user"),
}

# Roles held by the accreditation body's own people (as opposed to CAB users).
STAFF_ROLES = frozenset({Role.admin, Role.manager, Role.assessor, Role.decision_maker})


def has_role(*roles: Role) -> bool:
    """True when the current user's membership in the current tenant holds any of ``roles``."""
    membership = g.get("membership")
    return membership is not None and membership.has_any_role(*roles)


def staff_only_or_404() -> None:
    """``before_request`` hook of the staff-only blueprints: CAB users (and anyone without a
    membership) get 404 on staff URLs, like another tenant's objects — their view is the
    portal."""
    membership = g.get("membership")
    if membership is None or not membership.is_staff:
        abort(404)


def require_role(*roles: Role) -> Callable:
    """View decorator: 403 unless the current membership holds one of ``roles``.

    Tenant resolution has already turned non-members into 404s, so reaching here means the
    user belongs to the tenant and simply lacks the right.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def require_platform_admin(view: Callable) -> Callable:
    """View decorator for ``/admin``: login redirect for anonymous users, 403 for others."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        from accreditor.extensions import login_manager

        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_platform_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def public_endpoint(view: Callable) -> Callable:
    """Mark a view under ``/<tenant>/`` as readable without login (public directory pages)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def acting_user():
    """The signed-in user of the current request, or None (CLI, jobs, demo loading)."""
    from flask import has_request_context

    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None
