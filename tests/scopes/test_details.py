"""Accreditation details: the inspection body type before a 17020 grant (rule 32), the expiry
date within the cycle (rule 12), a cycle of at most five years (rule 7), the edition."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.errors import ValidationFailed
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.refdata.models import Programme, StandardEdition
from accreditor.scopes import services
from tests.factories import create_accreditation
from tests.scopes.helpers import field_error, flashes, lines, load, page, words

IB_LINE = {"field": "LIFTING-EQUIPMENT", "stage": "In-service / periodic",
           "range": "Cranes and hoists up to 50 t", "method": "LOLER 1998; procedure INS-LE-01",
           "location": "A"}


def edition_id(tenant, acc_id: int, edition: str | None = None) -> int:
    with tenant_scope(tenant):
        acc = load(tenant, acc_id)
        if edition is None:
            return acc.edition_id
        return db.session.execute(
            select(StandardEdition.id).where(StandardEdition.programme_id == acc.programme_id,
                                             StandardEdition.edition == edition)
        ).scalar_one()


@pytest.fixture
def inspection(tenant_a, cab):
    return create_accreditation(tenant_a, cab, "17020", lines=[IB_LINE]).id


@pytest.fixture
def granted(tenant_a, cal_acc):
    """The calibration accreditation granted on 2024-01-10 (cycle to 2029-01-10)."""
    with tenant_scope(tenant_a):
        services.grant(load(tenant_a, cal_acc.id), effective_on=date(2024, 1, 10))
        commit()
    return cal_acc.id


def test_a_17020_grant_without_an_ib_type_is_refused_naming_the_type(tenant_a, inspection):
    with tenant_scope(tenant_a):
        with pytest.raises(ValidationFailed) as refused:
            services.grant(load(tenant_a, inspection), effective_on=date(2024, 1, 10))
        db.session.rollback()
        acc = load(tenant_a, inspection)
        assert (acc.status, acc.number, acc.initial_grant_on) == ("applicant", None, None)
    assert refused.value.field == "ib_type" and refused.value.code == "ib_type_required"
    assert refused.value.message == (
        "An inspection body cannot be granted accreditation before its type (A, B or C) is "
        "recorded (ISO/IEC 17020, ILAC P15).")
    assert {i.status for i in lines(tenant_a, inspection)} == {"applied"}


def test_after_recording_type_a_on_the_edit_page_the_17020_grant_succeeds(
    client, tenant_a, manager_a, login_as, inspection
):
    login_as(manager_a)
    show = words(client.get(page(inspection)))
    assert "Inspection body type not recorded — required before the grant" in show
    form = client.get(page(inspection, "/edit")).get_data(as_text=True)
    assert 'name="ib_type"' in form and "Type A – independent third-party inspection body" in form

    resp = client.post(page(inspection, "/edit"),
                       data={"ib_type": "A", "edition_id": edition_id(tenant_a, inspection)})
    assert resp.status_code == 302
    assert flashes(client.get(resp.location)) == ["Accreditation details saved."]
    assert "Inspection body type Type A" in words(client.get(page(inspection)))

    with tenant_scope(tenant_a):
        services.grant(load(tenant_a, inspection), effective_on=date(2024, 1, 10))
        commit()
        acc = load(tenant_a, inspection)
        assert (acc.status, acc.ib_type, acc.number) == ("accredited", "A", "0001")
        assert (acc.cycle_start_on, acc.cycle_end_on) == (date(2024, 1, 10), date(2029, 1, 10))


def test_an_ib_type_other_than_a_b_or_c_is_refused(tenant_a, inspection):
    with tenant_scope(tenant_a), pytest.raises(ValidationFailed) as refused:
        services.update_accreditation(load(tenant_a, inspection), ib_type="D", expiry_on=None)
    assert refused.value.message == "The inspection body type is A, B or C."


def test_the_ib_type_is_asked_only_for_programmes_that_need_it(client, admin_a, login_as,
                                                               cal_acc):
    login_as(admin_a)
    form = client.get(page(cal_acc.id, "/edit")).get_data(as_text=True)
    assert 'name="ib_type"' not in form
    assert "Inspection body type" not in words(client.get(page(cal_acc.id)))


def test_before_the_grant_there_is_no_cycle_and_no_expiry(client, tenant_a, admin_a, login_as,
                                                          cal_acc):
    login_as(admin_a)
    form = client.get(page(cal_acc.id, "/edit"))
    assert 'name="cycle_end_on"' not in form.get_data(as_text=True)
    resp = client.post(page(cal_acc.id, "/edit"),
                       data={"expiry_on": "2026-01-01",
                             "edition_id": edition_id(tenant_a, cal_acc.id)})
    assert resp.status_code == 400
    assert field_error(resp, "expiry_on").startswith(
        "An expiry date can be set once the accreditation cycle has started")


def test_an_expiry_after_the_cycle_end_is_refused(client, tenant_a, admin_a, login_as, granted):
    login_as(admin_a)
    ed = edition_id(tenant_a, granted)
    resp = client.post(page(granted, "/edit"), data={"expiry_on": "2029-01-11", "edition_id": ed})
    assert resp.status_code == 400
    assert field_error(resp, "expiry_on") == \
        "The expiry date cannot be after the end of the cycle (2029-01-10)."
    with tenant_scope(tenant_a):
        assert load(tenant_a, granted).expiry_on is None

    ok = client.post(page(granted, "/edit"), data={"expiry_on": "2029-01-10", "edition_id": ed})
    assert ok.status_code == 302
    assert "Expiry 2029-01-10" in words(client.get(ok.location))


def test_the_service_refuses_an_expiry_after_the_cycle_end(tenant_a, granted):
    with tenant_scope(tenant_a), pytest.raises(ValidationFailed) as refused:
        services.update_accreditation(load(tenant_a, granted), ib_type=None,
                                      expiry_on=date(2030, 1, 1))
    assert refused.value.field == "expiry_on"


def test_a_cycle_longer_than_five_years_is_refused(client, tenant_a, admin_a, login_as, granted):
    login_as(admin_a)
    resp = client.post(page(granted, "/edit"),
                       data={"cycle_start_on": "2024-01-10", "cycle_end_on": "2029-01-11",
                             "edition_id": edition_id(tenant_a, granted)})
    assert resp.status_code == 400
    assert field_error(resp, "cycle_end_on") == \
        "An accreditation cycle is at most five years (ISO/IEC 17011 7.9.1)."
    with tenant_scope(tenant_a):
        assert load(tenant_a, granted).cycle_end_on == date(2029, 1, 10)
        with pytest.raises(ValidationFailed):
            services.update_accreditation(load(tenant_a, granted), ib_type=None, expiry_on=None,
                                          cycle_start_on=date(2024, 1, 10),
                                          cycle_end_on=date(2030, 1, 10))


def test_a_shorter_cycle_and_an_expiry_within_it_are_saved(client, tenant_a, admin_a, login_as,
                                                           granted):
    login_as(admin_a)
    resp = client.post(page(granted, "/edit"),
                       data={"cycle_start_on": "2024-01-10", "cycle_end_on": "2028-01-09",
                             "expiry_on": "2028-01-09",
                             "edition_id": edition_id(tenant_a, granted)})
    assert resp.status_code == 302
    assert "Current cycle 2024-01-10 – 2028-01-09 Expiry 2028-01-09" in \
        words(client.get(resp.location))


def test_the_edition_can_be_changed_to_another_edition_of_the_same_standard_only(
    client, tenant_a, admin_a, login_as, cal_acc
):
    login_as(admin_a)
    old = edition_id(tenant_a, cal_acc.id, "2005")
    resp = client.post(page(cal_acc.id, "/edit"), data={"edition_id": old})
    assert resp.status_code == 302
    assert "ISO/IEC 17025:2005 superseded edition" in words(client.get(page(cal_acc.id)))

    with tenant_scope(tenant_a):
        other = db.session.execute(
            select(StandardEdition.id).join(Programme, Programme.id == StandardEdition.programme_id)
            .where(Programme.code == "17020")
        ).scalar_one()
        with pytest.raises(ValidationFailed) as refused:
            services.update_accreditation(load(tenant_a, cal_acc.id), ib_type=None,
                                          expiry_on=None, edition_id=other)
    assert refused.value.message == "Choose an edition of this programme's standard."


def test_saving_without_changes_says_so(client, tenant_a, admin_a, login_as, cal_acc):
    login_as(admin_a)
    resp = client.post(page(cal_acc.id, "/edit"),
                       data={"edition_id": edition_id(tenant_a, cal_acc.id)})
    assert flashes(client.get(resp.location)) == ["Nothing changed."]
