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


# -- CABs, accreditations, scopes ---------------------------------------------------------------


def create_cab(tenant: Tenant, legal_name: str = "Acme Testing Ltd", country: str = "GB",
               locations=(("A", "Head office"),), **values):
    """A CAB with locations (code, name) in ``tenant``."""
    from accreditor.cabs import services as cab_services

    with tenant_scope(tenant):
        cab = cab_services.create_cab(legal_name=legal_name, country=country, **values)
        for code, name in locations:
            cab_services.add_location(cab, code=code, name=name, address="1 Test Street, Town",
                                      country=country)
        commit()
    return cab


def create_cab_user(tenant: Tenant, cab, email: str, **kw) -> User:
    user = create_member(tenant, email, [Role.cab_user], **kw)
    with tenant_scope(tenant):
        m = db.session.execute(select(Membership).where(Membership.user_id == user.id)).scalar_one()
        m.cab_id = cab.id
        commit()
    return user


def create_accreditation(tenant: Tenant, cab, programme_code: str = "17025-C", lines=(),
                         ib_type: str | None = None):
    """An applicant accreditation with requested ``lines`` (raw field dicts)."""
    from accreditor.refdata.services import programme_by_code
    from accreditor.scopes import services as scope_services

    with tenant_scope(tenant):
        programme = programme_by_code(programme_code)
        acc = scope_services.create_accreditation(cab, programme, ib_type=ib_type)
        ctx = scope_services.validation_context(acc)
        for raw in lines:
            scope_services.add_scope_item(acc, raw, ctx=ctx)
        commit()
    return acc


CAL_LINE = {"discipline": "PRES", "quantity": "Pressure gauges (hydraulic)", "range_min": "0",
            "range_max": "700", "range_unit": "bar", "cmc": "0.025", "cmc_unit": "%",
            "remarks": "By comparison with a dead-weight tester", "location": "A"}
MASS_LINE = {**CAL_LINE, "discipline": "MASS", "quantity": "Weights", "range_unit": "g",
             "cmc_unit": "mg", "cmc": "0.1"}
MS_LINE = {"standard": "ISO 9001:2015", "iaf_codes": "28; 34"}
