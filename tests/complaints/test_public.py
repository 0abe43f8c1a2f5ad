"""The public complaint form: no login, only public information about CABs, a reference and a
receipt, the honeypot, size limits, and the per-IP rate limit."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from accreditor.complaints.models import Complaint, ComplaintStatus
from accreditor.core.audit import AuditEvent
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from tests.complaints.conftest import count_complaints, form_data, fresh_ip, post_public
from tests.factories import create_cab


def test_anyone_can_open_the_form_and_it_lists_accredited_cabs_by_name_and_number(cw, client):
    applicant = create_cab(cw.tenant, "Applicant Only Ltd")
    resp = client.get("/alpha/complaints/new")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    with tenant_scope(cw.tenant):
        from accreditor.scopes.models import Accreditation
        number = db.session.execute(select(Accreditation.number).where(
            Accreditation.id == cw.w.acc.id)).scalar_one()
    assert number and f"Precision Metrology Ltd ({number})" in body
    assert "Other Metrology Ltd" in body
    assert applicant.legal_name not in body  # not accredited: not offered
    assert "1 Test Street" not in body and "quality@lab" not in body  # nothing non-public


def test_a_complaint_gets_a_reference_a_receipt_and_due_dates(cw, client, outbox):
    resp = post_public(client, cw, form_data(cw))
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    year = date.today().year
    assert f"Its reference is C-{year}-0001" in page
    post_public(client, cw, form_data(cw, subject="ab", cab_id=""))
    with tenant_scope(cw.tenant):
        first, second = db.session.execute(select(Complaint).order_by(Complaint.id)).scalars()
        assert (first.reference, second.reference) == (f"C-{year}-0001", f"C-{year}-0002")
        assert first.status == ComplaintStatus.received and first.cab_id == cw.w.cab.id
        assert second.cab_id is None and second.subject == "ab"
        assert first.ack_due_on > first.received_on
        assert first.resolution_due_on == first.received_on + timedelta(days=90)
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "complaint.received").order_by(AuditEvent.id)).scalars().first()
    # The audit trail carries no personal data
    assert "Carla" not in str(event.changes) and "carla@" not in str(event.changes)
    [receipt] = outbox("carla@example.net")[:1]
    assert receipt.subject == f"Complaint C-{year}-0001 received"
    assert "C-" in receipt.text_body and "acknowledge it by" in receipt.text_body


def test_a_cab_that_is_not_accredited_cannot_be_named(cw, client):
    applicant = create_cab(cw.tenant, "Applicant Only Ltd")
    resp = post_public(client, cw, form_data(cw, cab_id=str(applicant.id)))
    assert resp.status_code == 400
    assert "Choose the accredited body the complaint is about." in resp.get_data(as_text=True)
    assert count_complaints(cw.tenant) == 0


@pytest.mark.parametrize("cab_id", ["abc", "1.5", " "])
def test_a_cab_id_that_is_not_a_number_is_refused_beside_the_field(cw, client, cab_id):
    resp = post_public(client, cw, form_data(cw, cab_id=cab_id))
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert 'id="cab_id-errors"' in body
    assert "Choose the accredited body the complaint is about." in body
    assert count_complaints(cw.tenant) == 0


def test_the_honeypot_is_hidden_from_people_and_screen_readers(cw, client):
    body = client.get("/alpha/complaints/new").get_data(as_text=True)
    start = body.index('<div class="d-none" aria-hidden="true">')
    assert 'name="website"' in body[start:start + 400]
    assert 'tabindex="-1"' in body[start:start + 400]


def test_a_filled_honeypot_is_answered_as_accepted_but_nothing_is_stored(cw, client, outbox,
                                                                          caplog):
    with caplog.at_level(logging.WARNING, logger="accreditor.complaints.views"):
        resp = post_public(client, cw, form_data(cw, website="http://spam.example"))
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/alpha/complaints/received")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "your complaint has been received" in page
    assert count_complaints(cw.tenant) == 0
    assert outbox("carla@example.net") == []
    assert "honeypot" in caplog.text


def test_a_body_of_20001_characters_is_refused_beside_the_field_and_nothing_saved(cw, client,
                                                                                 outbox):
    resp = post_public(client, cw, form_data(cw, what_happened="x" * 20_001))
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert 'id="what_happened-errors"' in body
    assert "Keep this under 20000 characters." in body
    assert count_complaints(cw.tenant) == 0 and outbox() == []
    resp = post_public(client, cw, form_data(cw, what_happened="x" * 20_000))
    assert resp.status_code == 302 and count_complaints(cw.tenant) == 1


def test_other_fields_are_bounded_too(cw, client):
    resp = post_public(client, cw, form_data(cw, complainant_name="n" * 201,
                                             desired_outcome="o" * 5_001))
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert 'id="complainant_name-errors"' in body and 'id="desired_outcome-errors"' in body
    assert count_complaints(cw.tenant) == 0


def test_an_event_in_the_future_is_refused_beside_the_date(cw, client):
    resp = post_public(client, cw, form_data(
        cw, event_on=(date.today() + timedelta(days=2)).isoformat()))
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert 'id="event_on-errors"' in body and "The event cannot be in the future." in body
    assert count_complaints(cw.tenant) == 0


def test_an_event_more_than_ten_years_ago_is_refused_beside_the_date(cw, client):
    too_old = date.today() - relativedelta(years=10) - timedelta(days=1)
    resp = post_public(client, cw, form_data(cw, event_on=too_old.isoformat()))
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert 'id="event_on-errors"' in body and "within the last 10 years" in body
    assert count_complaints(cw.tenant) == 0
    oldest = date.today() - relativedelta(years=10)
    assert post_public(client, cw, form_data(cw, event_on=oldest.isoformat())
                       ).status_code == 302


def test_the_tenth_post_in_a_minute_from_one_address_is_refused_with_429(cw, client):
    ip = fresh_ip()
    for _ in range(9):
        assert post_public(client, cw, form_data(cw), ip=ip).status_code == 302
    resp = post_public(client, cw, form_data(cw), ip=ip)
    assert resp.status_code == 429
    assert "Too many complaints sent from your connection" in resp.get_data(as_text=True)
    assert count_complaints(cw.tenant) == 9
    # Another address is still served, and reading the form is never limited
    assert post_public(client, cw, form_data(cw), ip=fresh_ip()).status_code == 302
    assert client.get("/alpha/complaints/new",
                      environ_base={"REMOTE_ADDR": ip}).status_code == 200


def test_the_form_keeps_its_csrf_protection(app, cw, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = post_public(client, cw, form_data(cw))
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert resp.status_code == 400
    assert count_complaints(cw.tenant) == 0


def test_the_public_pages_of_an_unknown_tenant_are_404(client):
    assert client.get("/nobody/complaints/new").status_code == 404
