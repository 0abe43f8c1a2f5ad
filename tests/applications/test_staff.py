"""The AB's side of an application: the list, the page, information requests, accept, refuse —
and what the CAB sees of each step."""

from __future__ import annotations

import pytest

from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation
from tests.applications.conftest import (
    history_statuses,
    line_data,
    load_application,
    number_shown,
    status_shown,
)
from tests.auth.helpers import audit_events, field_error, flashes, text, words
from tests.factories import CAL_LINE, create_cab, create_cab_user, create_member


@pytest.fixture
def submitted(client, login_as, lab_user, start):
    """An initial calibration application with one line, submitted by the lab's CAB user."""
    login_as(lab_user)
    application_id = start()
    client.post(f"/alpha/portal/applications/{application_id}/lines", data=line_data(CAL_LINE))
    resp = client.post(f"/alpha/portal/applications/{application_id}/submit",
                       data={"declaration": "y"})
    assert resp.status_code == 302
    return application_id


def test_staff_see_submitted_applications_in_the_list(
    client, login_as, submitted, assessor, tenant_a
):
    login_as(assessor)
    resp = client.get("/alpha/applications/")
    assert resp.status_code == 200
    page = words(resp)
    assert "Precision Calibration Ltd" in page
    assert "Initial accreditation" in page and "Submitted" in page
    app = load_application(tenant_a, submitted)
    assert app.lapses_on.isoformat() in page
    assert app.submitted_at.strftime("%Y-%m-%d") in page


def test_the_list_filters_by_status_type_and_programme(
    client, login_as, submitted, manager, tenant_a, programme_id
):
    login_as(manager)
    assert "Precision Calibration Ltd" in words(client.get("/alpha/applications/?status=submitted"))
    assert "Precision Calibration Ltd" not in words(client.get("/alpha/applications/?status=accepted"))
    assert "Precision Calibration Ltd" in words(client.get("/alpha/applications/?type=initial"))
    assert "Precision Calibration Ltd" not in words(client.get("/alpha/applications/?type=reduction"))
    assert "Precision Calibration Ltd" in words(
        client.get(f"/alpha/applications/?programme={programme_id}"))
    other = client.get(f"/alpha/applications/?programme={programme_id + 1}")
    assert "Precision Calibration Ltd" not in words(other)
    assert "No applications match." in words(other)


def test_the_staff_page_links_to_the_cab_and_shows_the_requested_lines(
    client, login_as, submitted, assessor, lab
):
    login_as(assessor)
    resp = client.get(f"/alpha/applications/{submitted}")
    assert resp.status_code == 200
    assert f'href="/alpha/cabs/{lab.id}"' in resp.get_data(as_text=True)
    page = text(resp)
    assert "Pressure gauges (hydraulic)" in page
    # An assessor reads but does not act.
    assert "Send the request" not in page and ">Accept<" not in page


@pytest.mark.parametrize("action, data", [
    ("request-info", {"question": "Send your uncertainty budget."}),
    ("accept", {}),
    ("refuse", {"reason": "Out of our scope."}),
])
@pytest.mark.parametrize("role", [Role.assessor, Role.decision_maker])
def test_only_admins_and_managers_act(client, login_as, submitted, tenant_a, role, action, data):
    login_as(create_member(tenant_a, f"{role.value}@alpha.example.org", [role]))
    resp = client.post(f"/alpha/applications/{submitted}/{action}", data=data)
    assert resp.status_code == 403
    assert load_application(tenant_a, submitted).status == "submitted"


def test_information_request_answer_and_acceptance_as_both_sides_see_them(
    client, login_as, submitted, manager, lab_user, tenant_a, outbox
):
    # Staff ask for more information.
    login_as(manager)
    resp = client.post(f"/alpha/applications/{submitted}/request-info",
                       data={"question": "Please send your uncertainty budget for 700 bar."})
    assert resp.status_code == 302
    staff_page = client.get(resp.headers["Location"])
    assert "Information requested; the CAB has been told." in flashes(staff_page)
    assert "Waiting for the CAB to answer: Please send your uncertainty budget" in words(staff_page)
    mails = outbox("quality@precision.example.org")
    assert mails[-1].subject == "More information is needed for your application"
    assert "Please send your uncertainty budget for 700 bar." in mails[-1].text_body
    assert f"/alpha/portal/applications/{submitted}" in mails[-1].text_body

    # The CAB sees the question on its page and answers.
    login_as(lab_user)
    cab_page = client.get(f"/alpha/portal/applications/{submitted}")
    assert status_shown(cab_page) == "Information requested"
    assert "The accreditation body asks for more information" in words(cab_page)
    assert "Please send your uncertainty budget for 700 bar." in text(cab_page)
    empty = client.post(f"/alpha/portal/applications/{submitted}/answer", data={"answer": " "})
    assert empty.status_code == 400
    assert field_error(empty, "answer") == "Write your answer."
    resp = client.post(f"/alpha/portal/applications/{submitted}/answer",
                       data={"answer": "Budget attached: 0.025 % at k = 2."})
    assert resp.status_code == 302
    assert status_shown(client.get(resp.headers["Location"])) == "Submitted"

    # Staff accept: the flash names the reserved accreditation number.
    login_as(manager)
    staff_page = client.get(f"/alpha/applications/{submitted}")
    assert "Budget attached: 0.025 % at k = 2." in text(staff_page)
    resp = client.post(f"/alpha/applications/{submitted}/accept", data={"note": "Welcome."})
    assert resp.status_code == 302
    staff_page = client.get(resp.headers["Location"])
    app = load_application(tenant_a, submitted)
    with tenant_scope(tenant_a):
        number = db.session.get(Accreditation, app.accreditation_id).number
    assert number
    assert f"Application accepted. Accreditation number {number} is reserved." in flashes(
        staff_page)
    assert number_shown(staff_page) == number
    assert outbox("quality@precision.example.org")[-1].subject == \
        "Your application has been accepted"
    # Accepting an initial application proposes its programme (drafts for the manager).
    from sqlalchemy import select

    from accreditor.assessments.models import Assessment

    with tenant_scope(tenant_a):
        proposed = db.session.execute(
            select(Assessment).where(Assessment.accreditation_id == app.accreditation_id)
            .order_by(Assessment.planned_start_on)).scalars().all()
    assert [a.type for a in proposed][:2] == ["document_review", "initial"]
    assert proposed[-1].type == "reassessment"
    assert all(a.status == "draft" and a.from_programme for a in proposed)

    # The CAB sees the number too, and the same history in the same order.
    login_as(lab_user)
    cab_page = client.get(f"/alpha/portal/applications/{submitted}")
    assert number_shown(cab_page) == number
    assert number in words(client.get("/alpha/portal/"))
    expected = ["Draft", "Submitted", "Information requested", "Submitted", "Accepted"]
    assert history_statuses(cab_page) == expected
    login_as(manager)
    assert history_statuses(client.get(f"/alpha/applications/{submitted}")) == expected


def test_a_request_for_information_needs_a_question(client, login_as, submitted, manager,
                                                    tenant_a):
    login_as(manager)
    resp = client.post(f"/alpha/applications/{submitted}/request-info", data={"question": ""})
    assert resp.status_code == 400
    assert field_error(resp, "question") == "Say what information is needed."
    assert load_application(tenant_a, submitted).status == "submitted"


def test_refusing_needs_reasons_and_the_cab_sees_them(
    client, login_as, submitted, manager, lab_user, tenant_a, outbox
):
    login_as(manager)
    resp = client.post(f"/alpha/applications/{submitted}/refuse", data={"reason": "  "})
    assert resp.status_code == 400
    assert field_error(resp, "reason") == "Give the reasons for refusing."
    assert load_application(tenant_a, submitted).status == "submitted"

    resp = client.post(f"/alpha/applications/{submitted}/refuse",
                       data={"reason": "Pressure calibration is outside our accreditation scheme."})
    assert resp.status_code == 302
    assert status_shown(client.get(resp.headers["Location"])) == "Refused"
    assert outbox("quality@precision.example.org")[-1].subject == \
        "Your application has been refused"
    login_as(lab_user)
    cab_page = client.get(f"/alpha/portal/applications/{submitted}")
    assert status_shown(cab_page) == "Refused"
    assert "Pressure calibration is outside our accreditation scheme." in text(cab_page)
    app = load_application(tenant_a, submitted)
    with tenant_scope(tenant_a):
        assert db.session.get(Accreditation, app.accreditation_id).status == "refused"
    assert [(e.object_id, e.changes["status"])
            for e in audit_events("application.refused", tenant=tenant_a)] == [
        (str(submitted), ["submitted", "refused"])]


def test_an_accepted_application_cannot_be_refused(client, login_as, submitted, manager,
                                                   tenant_a):
    login_as(manager)
    client.post(f"/alpha/applications/{submitted}/accept", data={})
    resp = client.post(f"/alpha/applications/{submitted}/refuse", data={"reason": "Too late."})
    assert resp.status_code == 409
    assert "An application that is accepted cannot become refused." in text(resp)
    app = load_application(tenant_a, submitted)
    assert (app.status, app.decision_reason) == ("accepted", None)


def test_a_draft_stays_with_the_cab_until_submitted(client, login_as, lab_user, start, manager):
    login_as(lab_user)
    application_id = start()
    login_as(manager)
    assert client.get(f"/alpha/applications/{application_id}").status_code == 404
    assert client.post(f"/alpha/applications/{application_id}/accept", data={}).status_code == 404
    assert f"/alpha/applications/{application_id}" not in text(client.get("/alpha/applications/"))


# -- who may see what ----------------------------------------------------------------------------


PORTAL_PAGES = ["", "/edit", "/lines", "/submit", "/answer", "/withdraw"]


def test_a_cab_user_cannot_open_another_cabs_application(
    client, login_as, submitted, other_cab_user, tenant_a
):
    login_as(other_cab_user)
    for suffix in PORTAL_PAGES:
        url = f"/alpha/portal/applications/{submitted}{suffix}"
        resp = client.post(url, data={"declaration": "y"}) if suffix else client.get(url)
        assert resp.status_code == 404, url
        assert "Precision Calibration" not in text(resp)
    app = load_application(tenant_a, submitted)
    assert client.get(f"/alpha/portal/accreditations/{app.accreditation_id}").status_code == 404
    # The staff pages are not for CAB users at all.
    assert client.get(f"/alpha/applications/{submitted}").status_code == 403
    assert client.get("/alpha/applications/").status_code == 403
    assert app.status == "submitted"


def test_a_cab_user_does_not_see_other_cabs_applications_in_the_portal(
    client, login_as, submitted, other_cab_user
):
    login_as(other_cab_user)
    page = words(client.get("/alpha/portal/"))
    assert "Other Testing House" in page
    assert "Precision Calibration" not in page and "Initial accreditation" not in page


def test_staff_of_another_tenant_get_not_found(client, login_as, submitted, tenant_b):
    outsider = create_member(tenant_b, "manager@bravo.example.org", [Role.admin, Role.manager])
    login_as(outsider)
    for url in ("/alpha/applications/", f"/alpha/applications/{submitted}"):
        assert client.get(url).status_code == 404
    assert client.post(f"/alpha/applications/{submitted}/accept").status_code == 404
    # Their own tenant's list does not show it either, and its id is not found there.
    assert "Precision Calibration" not in words(client.get("/bravo/applications/"))
    assert client.get(f"/bravo/applications/{submitted}").status_code == 404


def test_a_cab_user_of_another_tenant_gets_not_found(client, login_as, submitted, tenant_b):
    cab_b = create_cab(tenant_b, "Bravo Lab")
    user_b = create_cab_user(tenant_b, cab_b, "lab@bravo.example.org")
    login_as(user_b)
    assert client.get(f"/alpha/portal/applications/{submitted}").status_code == 404
    assert client.get(f"/bravo/portal/applications/{submitted}").status_code == 404


# -- the audit trail ----------------------------------------------------------------------------


def test_every_state_change_writes_an_audit_event(
    client, login_as, submitted, manager, lab_user, tenant_a
):
    login_as(manager)
    client.post(f"/alpha/applications/{submitted}/request-info", data={"question": "Why?"})
    login_as(lab_user)
    client.post(f"/alpha/portal/applications/{submitted}/answer", data={"answer": "Because."})
    login_as(manager)
    client.post(f"/alpha/applications/{submitted}/accept", data={})
    events = [e for e in audit_events(tenant=tenant_a)
              if e.object_type == "Application" and e.object_id == str(submitted)]
    assert [(e.action, e.changes.get("status")) for e in events] == [
        ("application.started", None),
        ("application.submitted", ["draft", "submitted"]),
        ("application.info_requested", ["submitted", "info_requested"]),
        ("application.submitted", ["info_requested", "submitted"]),
        ("application.accepted", ["submitted", "accepted"]),
    ]
    assert [e.actor_label for e in events] == [
        "quality@precision.example.org", "quality@precision.example.org",
        "manager@alpha.example.org", "quality@precision.example.org",
        "manager@alpha.example.org"]
    assert audit_events("accreditation.number_reserved", tenant=tenant_a)
