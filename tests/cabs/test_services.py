"""Rules of the CAB services that the pages rely on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accreditor.cabs import services
from accreditor.cabs.models import Cab, CabContact
from accreditor.core.errors import Conflict, ValidationFailed
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from tests.factories import create_cab, create_cab_user, create_member


def _cab(tenant, cab_id: int) -> Cab:
    return db.session.execute(select(Cab).where(Cab.id == cab_id)).scalar_one()


def test_legal_names_are_unique_per_country_whatever_the_case(tenant_a, acme):
    with tenant_scope(tenant_a), pytest.raises(Conflict) as exc:
        services.create_cab(legal_name="ACME CALIBRATION LTD", country="gb")
    assert exc.value.field == "legal_name"


def test_a_cab_cannot_be_renamed_to_another_cabs_name(tenant_a, acme):
    other = create_cab(tenant_a, "Other Lab Ltd")
    with tenant_scope(tenant_a):
        cab = _cab(tenant_a, other.id)
        with pytest.raises(Conflict):
            services.update_cab(cab, legal_name="Acme Calibration Ltd")
        # keeping its own name, or moving to a country where the name is free, is fine
        assert services.update_cab(cab, legal_name="Other Lab Ltd", country="GB") == {}
        assert services.update_cab(cab, legal_name="Acme Calibration Ltd", country="IE")


def test_a_cab_needs_a_legal_name_and_a_country(tenant_a):
    with tenant_scope(tenant_a):
        with pytest.raises(ValidationFailed) as exc:
            services.create_cab(legal_name="No Country Ltd")
        assert exc.value.field == "country"
        with pytest.raises(ValidationFailed) as exc:
            services.create_cab(country="GB")
        assert exc.value.field == "legal_name"


def test_the_manager_must_be_active_staff_of_this_tenant(tenant_a, tenant_b, manager_a, acme):
    outsider = create_member(tenant_b, "boss@bravo.example.org", [Role.manager])
    cab_user = create_cab_user(tenant_a, acme, "cabuser@acme.example.org")
    with tenant_scope(tenant_a):
        for user in (outsider, cab_user):
            with pytest.raises(ValidationFailed) as exc:
                services.create_cab(legal_name="New Ltd", country="GB", manager_id=user.id)
            assert exc.value.field == "manager_id"
        cab = services.create_cab(legal_name="New Ltd", country="GB", manager_id=manager_a.id)
        assert cab.manager_id == manager_a.id
        with pytest.raises(ValidationFailed):
            services.update_cab(cab, manager_id=outsider.id)


def test_updating_a_contact_cannot_blank_its_name(tenant_a, acme):
    with tenant_scope(tenant_a):
        contact = services.add_contact(_cab(tenant_a, acme.id), name="  Quinn  ",
                                       email=" q@acme.example.org ")
        assert (contact.name, contact.email) == ("Quinn", "q@acme.example.org")
        with pytest.raises(ValidationFailed) as exc:
            services.update_contact(contact, name="   ")
        assert exc.value.field == "name"
        assert services.update_contact(contact, phone="123") == {"phone": [None, "123"]}
        assert db.session.execute(select(CabContact.name)).scalar_one() == "Quinn"
