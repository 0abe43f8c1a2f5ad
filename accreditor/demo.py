"""``flask demo``: idempotent demo data for two accreditation bodies, one user per role in each.

Later capabilities extend :func:`load_demo` with their own demo records (CABs, programmes …).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from accreditor.auth.models import Membership, User
from accreditor.auth.passwords import hash_password
from accreditor.core import audit
from accreditor.core.db import commit, utcnow
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.tenants.models import Tenant
from accreditor.tenants.services import create_tenant

DEMO_PASSWORD = "Accreditor-demo-2026"  # noqa: S105 - printed for the demo on purpose

TENANTS = [
    ("nab", "National Accreditation Board (demo)", "GB"),
    ("gac", "Gulf Accreditation Centre (demo)", "AE"),
]
ROLE_USERS = [
    (Role.admin, "admin", "Ada Admin"),
    (Role.manager, "manager", "Maya Manager"),
    (Role.assessor, "assessor", "Sam Assessor"),
    (Role.decision_maker, "decider", "Dana Decider"),
    (Role.cab_user, "cab", "Carl CAB-User"),
]
PLATFORM_ADMIN = ("platform@accreditor.example.org", "Pat Platform")
FREELANCER = ("freelance@assessors.example.org", "Freya Freelance")


def demo_logins() -> list[tuple[str, str, str]]:
    """(tenant, role, e-mail) for every demo login, in the order the README lists them."""
    rows = [("-", "platform admin", PLATFORM_ADMIN[0])]
    for slug, _name, _c in TENANTS:
        rows += [(slug, role.value, f"{local}@{slug}.example.org") for role, local, _n in ROLE_USERS]
    rows.append(("nab + gac", "assessor (two tenants)", FREELANCER[0]))
    return rows


def _user(email: str, name: str, *, platform_admin: bool = False) -> User:
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        user = User(email=email, name=name, is_platform_admin=platform_admin,
                    password_hash=hash_password(DEMO_PASSWORD), password_changed_at=utcnow())
        db.session.add(user)
        db.session.flush()
        audit.record("user.created", user, platform=True,
                     changes=audit.snapshot(user, ("email", "name")))
    return user


def _member(tenant: Tenant, user: User, roles: list[Role]) -> None:
    with tenant_scope(tenant):
        existing = db.session.execute(
            select(Membership).where(Membership.user_id == user.id)
        ).scalar_one_or_none()
        if existing is None:
            m = Membership(user=user, tenant_id=tenant.id)
            m.set_roles(roles)
            db.session.add(m)
            db.session.flush()
            audit.record("membership.created", m,
                         changes={"email": [None, user.email],
                                  "roles": [None, sorted(r.value for r in roles)]})


def load_demo() -> None:
    from accreditor.demo_assessments import load_assessment_demo
    from accreditor.demo_decisions import load_decisions_demo
    from accreditor.demo_findings import load_findings_demo
    from accreditor.demo_lifecycle import load_lifecycle_demo
    from accreditor.demo_scopes import load_scope_demo
    from accreditor.directory import services as directory
    from accreditor.refdata.services import load_platform_refdata

    load_platform_refdata()
    _user(*PLATFORM_ADMIN, platform_admin=True)
    freelancer = _user(*FREELANCER)
    for slug, name, country in TENANTS:
        tenant = db.session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
        if tenant is None:
            tenant = create_tenant(slug=slug, name=name, country=country)
        for role, local, person in ROLE_USERS:
            _member(tenant, _user(f"{local}@{slug}.example.org", f"{person} ({slug.upper()})"),
                    [role])
        _member(tenant, freelancer, [Role.assessor])
        with tenant_scope(tenant):
            load_scope_demo(tenant)
            load_assessment_demo(tenant)
            load_findings_demo(tenant)
            load_decisions_demo(tenant)
            load_lifecycle_demo(tenant)
            # Every accreditation with a schedule appears in the public directory (rule 26).
            directory.rebuild()


@click.command("demo")
@with_appcontext
def demo_command():
    """Load demo data (safe to run again) and print the demo logins."""
    load_demo()
    commit()
    click.echo("Demo data ready. Every demo login uses the password: " + DEMO_PASSWORD)
    for tenant, role, email in demo_logins():
        click.echo(f"  {tenant:<10} {role:<24} {email}")
