"""Small readers for what a person sees on a page, and for the database after a request."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from accreditor.auth.models import Membership, User
from accreditor.core.audit import AuditEvent
from accreditor.core.tenancy import ALL_TENANTS, tenant_scope
from accreditor.extensions import db
from tests.factories import PASSWORD

WRONG_CREDENTIALS = "The e-mail address or password is not correct."
THROTTLED = "Too many failed sign-in attempts."
NEW_PASSWORD = "Quiet-Harbour-Lantern-77"


def text(resp) -> str:
    """The page as text, entities decoded (“it's” rather than “it&#39;s”)."""
    return html.unescape(resp.get_data(as_text=True))


def _clean(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def field_error(resp, field_id: str) -> str:
    """The error text rendered beside one form field ('' when there is none)."""
    m = re.search(rf'<div id="{re.escape(field_id)}-errors"[^>]*>(.*?)</div>',
                  resp.get_data(as_text=True), re.S)
    return _clean(m.group(1)) if m else ""


def form_error(resp) -> str:
    """The error shown above a form (not tied to one field)."""
    m = re.search(r'<div class="alert alert-danger" role="alert">(.*?)</div>',
                  resp.get_data(as_text=True), re.S)
    return _clean(m.group(1)) if m else ""


def flashes(resp) -> list[str]:
    return [_clean(m) for m in re.findall(r'<div class="alert alert-[a-z]+" role="status">(.*?)</div>',
                                          resp.get_data(as_text=True), re.S)]


def table_row(resp, needle: str) -> str:
    """The text of the table row that contains ``needle``."""
    for row in re.findall(r"<tr>(.*?)</tr>", resp.get_data(as_text=True), re.S):
        if needle in html.unescape(row):
            return _clean(row)
    raise AssertionError(f"no table row containing {needle!r}")


def sign_in(client, email: str, password: str = PASSWORD, **kwargs):
    return client.post("/login", data={"email": email, "password": password}, **kwargs)


def user_by_email(email: str) -> User | None:
    db.session.expire_all()
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def users_with_email(email: str) -> int:
    db.session.expire_all()
    return len(db.session.execute(select(User).where(User.email == email)).scalars().all())


def membership_of(user: User, tenant) -> Membership | None:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(
            select(Membership).where(Membership.user_id == user.id)
        ).scalar_one_or_none()


def roles_of(user: User, tenant) -> set[str]:
    m = membership_of(user, tenant)
    return {r.value for r in m.roles} if m else set()


def audit_events(action: str | None = None, *, tenant=None, platform: bool = False):
    """Audit events, oldest first: of one tenant's chain, the platform chain, or all."""
    db.session.expire_all()
    stmt = select(AuditEvent).order_by(AuditEvent.id).execution_options(**{ALL_TENANTS: True})
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if tenant is not None:
        stmt = stmt.where(AuditEvent.tenant_id == tenant.id)
    elif platform:
        stmt = stmt.where(AuditEvent.tenant_id.is_(None))
    return db.session.execute(stmt).scalars().all()


def checked(resp, name: str) -> set[str]:
    """Values of the ticked checkboxes called ``name``."""
    out = set()
    for attrs in re.findall(r"<input ([^>]*)>", resp.get_data(as_text=True)):
        if f'name="{name}"' in attrs and re.search(r"(^|\s)checked(\s|$)", attrs):
            out.add(re.search(r'value="([^"]*)"', attrs).group(1))
    return out


def input_value(resp, name: str) -> str | None:
    """The value an ``<input name=…>`` shows."""
    for attrs in re.findall(r"<input ([^>]*)>", resp.get_data(as_text=True)):
        if f'name="{name}"' in attrs:
            m = re.search(r'value="([^"]*)"', attrs)
            return html.unescape(m.group(1)) if m else None
    raise AssertionError(f"no input named {name!r}")


def words(resp) -> str:
    """The page as a reader sees it: tags removed, whitespace collapsed."""
    return _clean(resp.get_data(as_text=True))
