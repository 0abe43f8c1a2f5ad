"""Test data builders. They go through the real services where a rule applies, and commit."""

from __future__ import annotations

import factory
from sqlalchemy import select

from accreditor.auth.models import Membership, User
from accreditor.auth.passwords import hash_password
from accreditor.core.db import commit, utcnow
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.tenants.models import Tenant
from accreditor.tenants.services import create_tenant as create_tenant_service

PASSWORD = "Tessellated-Marmot-Orbit-42"


class UserFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    name = factory.Sequence(lambda n: f"Person {n}")
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))
    password_changed_at = factory.LazyFunction(utcnow)


def create_tenant(slug: str, name: str | None = None, country: str = "GB") -> Tenant:
    tenant = create_tenant_service(slug=slug, name=name or slug.title(), country=country)
    commit()
    return tenant


def create_member(tenant: Tenant, email: str | None = None, roles=(Role.admin,), *,
                  name: str | None = None, password: str | None = PASSWORD,
                  is_platform_admin: bool = False) -> User:
    """A user with an active membership in ``tenant`` (existing users get a new membership)."""
    user = None
    if email:
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        kwargs = {"email": email} if email else {}
        if name:
            kwargs["name"] = name
        user = UserFactory(
            password_hash=hash_password(password) if password else None,
            is_platform_admin=is_platform_admin,
            **kwargs,
        )
    with tenant_scope(tenant):
        m = Membership(user=user, tenant_id=tenant.id)
        m.set_roles(list(roles))
        db.session.add(m)
        commit()
    return user


def create_platform_admin(email: str = "root@platform.example.org") -> User:
    user = UserFactory(email=email, name="Platform Root", is_platform_admin=True)
    commit()
    return user
