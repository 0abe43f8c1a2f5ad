"""What a CAB user sees and does in the portal: starting, completing, submitting, withdrawing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accreditor.applications.models import Application
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation, ScopeItem
from tests.applications.conftest import (
    history_statuses,
    id_from,
    line_data,
    load_application,
    status_shown,
)
from tests.auth.helpers import audit_events, field_error, flashes, form_error, text, words
from tests.factories import CAL_LINE, create_accreditation, create_member


def requested_count(tenant, application_id: int) -> int:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(
            select(func.count(ScopeItem.id)).where(ScopeItem.application_id == application_id)
        ).scalar_one()


def test_the_portal_shows_the_cab_its_locations_and_accreditations(
    client, tenant_a, lab, lab_user, login_as
):
    create_accreditation(tenant_a, lab, "17025-C", lines=[CAL_LINE])
    login_as(lab_user)
    page = words(client.get("/alpha/portal/"))
    assert "Precision Calibration Ltd" in page
    assert "Main lab" in page and "Mobile unit" in page
    assert "ISO/IEC 17025 – Calibration laboratories" in page
    assert "applicant" in page
    assert "No applications yet." in page


def test_a_cab_user_starts_an_initial_application_and_lands_on_its_page(
    client, tenant_a, lab_user, login_as, start
):
    login_as(lab_user)
    application_id = start(summary="Pressure up to 700 bar")
    resp = client.get(f"/alpha/portal/applications/{application_id}")
    assert resp.status_code == 200
    page = words(resp)
    assert "Initial accreditation" in page
    assert status_shown(resp) == "Draft"
    assert "Pressure up to 700 bar" in text(resp)
    assert history_statuses(resp) == ["Draft"]
    app = load_application(tenant_a, application_id)
    assert app.location_codes == "A"
    # The overview lists it, and the initial application opened an applicant accreditation.
    overview = words(client.get("/alpha/portal/"))
    assert "Initial accreditation" in overview and "Draft" in overview


def test_an_initial_application_needs_a_programme(client, lab_user, login_as):
    login_as(lab_user)
    resp = client.post("/alpha/portal/applications/new", data={"type": "initial", "programme": ""})
    assert resp.status_code == 400
    assert field_error(resp, "programme") == "Choose the programme you apply for."


def test_an_extension_needs_a_current_accreditation(client, lab_user, login_as):
    login_as(lab_user)
    resp = client.post("/alpha/portal/applications/new",
                       data={"type": "extension", "accreditation": "12345"})
    assert resp.status_code == 400
    assert field_error(resp, "accreditation") == "Choose the accreditation this application is about."


def test_a_second_initial_application_for_the_same_programme_is_refused(
    client, lab_user, login_as, start, programme_id
):
    login_as(lab_user)
    start()
    resp = client.post("/alpha/portal/applications/new",
                       data={"type": "initial", "programme": str(programme_id)})
    assert resp.status_code == 400
    assert "already has an accreditation for Calibration laboratories" in field_error(
        resp, "programme")


def test_a_requested_line_is_added_and_a_bad_one_is_refused_beside_its_field(
    client, tenant_a, lab_user, login_as, start
):
    login_as(lab_user)
    application_id = start()
    resp = client.post(f"/alpha/portal/applications/{application_id}/lines",
                       data=line_data(CAL_LINE))
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert "Scope line added." in flashes(page)
    assert "Pressure gauges (hydraulic)" in text(page)
    assert requested_count(tenant_a, application_id) == 1

    bad = client.post(f"/alpha/portal/applications/{application_id}/lines",
                      data=line_data({**CAL_LINE, "cmc": "0", "quantity": "Bad gauges"}))
    assert bad.status_code == 400
    assert field_error(bad, "cmc") == "The CMC must be greater than zero."
    assert field_error(bad, "quantity") == ""
    # What the user typed stays in the form, and nothing was saved.
    assert 'value="Bad gauges"' in bad.get_data(as_text=True)
    assert requested_count(tenant_a, application_id) == 1


def test_a_requested_line_can_be_removed_while_the_application_is_a_draft(
    client, tenant_a, lab_user, login_as, start
):
    login_as(lab_user)
    application_id = start()
    client.post(f"/alpha/portal/applications/{application_id}/lines", data=line_data(CAL_LINE))
    with tenant_scope(tenant_a):
        item_id = db.session.execute(
            select(ScopeItem.id).where(ScopeItem.application_id == application_id)).scalar_one()
    resp = client.post(f"/alpha/portal/applications/{application_id}/lines/{item_id}/delete")
    assert resp.status_code == 302
    assert requested_count(tenant_a, application_id) == 0


def test_only_the_applications_own_lines_can_be_removed(
    client, tenant_a, lab, lab_user, login_as, start
):
    """A line of the same CAB that belongs to no application (or another one) is not found."""
    acc = create_accreditation(tenant_a, lab, "17025-T", lines=[
        {"field": "Chemical", "product": "Water", "test": "pH", "method": "ISO 10523",
         "location": "A"}])
    with tenant_scope(tenant_a):
        stray_id = db.session.execute(
            select(ScopeItem.id).where(ScopeItem.accreditation_id == acc.id)).scalar_one()
    login_as(lab_user)
    application_id = start()
    resp = client.post(f"/alpha/portal/applications/{application_id}/lines/{stray_id}/delete")
    assert resp.status_code == 404
    with tenant_scope(tenant_a):
        assert db.session.execute(
            select(ScopeItem.id).where(ScopeItem.id == stray_id)).scalar_one_or_none()


def test_submitting_needs_the_declaration_and_at_least_one_line(
    client, tenant_a, lab_user, login_as, start
):
    login_as(lab_user)
    application_id = start()
    no_lines = client.post(f"/alpha/portal/applications/{application_id}/submit",
                           data={"declaration": "y"})
    assert no_lines.status_code == 400
    assert "Add at least one requested scope line" in form_error(no_lines)

    client.post(f"/alpha/portal/applications/{application_id}/lines", data=line_data(CAL_LINE))
    no_declaration = client.post(f"/alpha/portal/applications/{application_id}/submit", data={})
    assert no_declaration.status_code == 400
    assert "Confirm the declaration" in field_error(no_declaration, "declaration")
    assert load_application(tenant_a, application_id).status == "draft"

    resp = client.post(f"/alpha/portal/applications/{application_id}/submit",
                       data={"declaration": "y"})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert "Application submitted to the accreditation body." in flashes(page)
    assert status_shown(page) == "Submitted"
    app = load_application(tenant_a, application_id)
    assert app.declaration_accepted and app.declared_by_id == lab_user.id
    # The lapse date is shown once submitted.
    assert f"Lapses on {app.lapses_on.isoformat()}" in words(page)
    assert history_statuses(page) == ["Draft", "Submitted"]


def test_the_lapse_date_is_not_shown_before_submission(client, lab_user, login_as, start):
    login_as(lab_user)
    application_id = start()
    assert "Lapses on" not in words(client.get(f"/alpha/portal/applications/{application_id}"))


def submitted(client, start) -> int:
    application_id = start()
    client.post(f"/alpha/portal/applications/{application_id}/lines", data=line_data(CAL_LINE))
    resp = client.post(f"/alpha/portal/applications/{application_id}/submit",
                       data={"declaration": "y"})
    assert resp.status_code == 302
    return application_id


@pytest.mark.parametrize("action, data", [
    ("edit", {"summary": "Changed after submission"}),
    ("lines", line_data(CAL_LINE)),
    ("submit", {"declaration": "y"}),
])
def test_a_cab_user_cannot_change_an_application_after_submitting_it(
    client, tenant_a, lab_user, login_as, start, action, data
):
    login_as(lab_user)
    application_id = submitted(client, start)
    page = client.get(f"/alpha/portal/applications/{application_id}")
    assert "Add the line" not in text(page) and ">Save<" not in text(page)
    resp = client.post(f"/alpha/portal/applications/{application_id}/{action}", data=data)
    assert resp.status_code == 403
    assert "This application is with the accreditation body now." in text(resp)
    assert requested_count(tenant_a, application_id) == 1
    assert load_application(tenant_a, application_id).summary != "Changed after submission"


def test_removing_a_line_after_submission_is_refused(client, tenant_a, lab_user, login_as, start):
    login_as(lab_user)
    application_id = submitted(client, start)
    with tenant_scope(tenant_a):
        item_id = db.session.execute(
            select(ScopeItem.id).where(ScopeItem.application_id == application_id)).scalar_one()
    resp = client.post(f"/alpha/portal/applications/{application_id}/lines/{item_id}/delete")
    assert resp.status_code == 403
    assert requested_count(tenant_a, application_id) == 1


def test_a_draft_summary_and_locations_can_be_edited(client, tenant_a, lab_user, login_as, start):
    login_as(lab_user)
    application_id = start()
    resp = client.post(f"/alpha/portal/applications/{application_id}/edit",
                       data={"summary": "Now also vacuum", "location_codes": ["A", "B"]})
    assert resp.status_code == 302
    app = load_application(tenant_a, application_id)
    assert (app.summary, app.location_codes) == ("Now also vacuum", "A, B")


def test_a_cab_user_withdraws_a_submitted_application(
    client, tenant_a, lab_user, login_as, start
):
    login_as(lab_user)
    application_id = submitted(client, start)
    resp = client.post(f"/alpha/portal/applications/{application_id}/withdraw")
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert "Application withdrawn." in flashes(page)
    assert status_shown(page) == "Withdrawn"
    assert history_statuses(page) == ["Draft", "Submitted", "Withdrawn"]
    assert "Withdraw the application" not in text(page)
    app = load_application(tenant_a, application_id)
    with tenant_scope(tenant_a):
        acc = db.session.execute(
            select(Accreditation).where(Accreditation.id == app.accreditation_id)).scalar_one()
        lines = db.session.execute(
            select(ScopeItem.status).where(ScopeItem.application_id == application_id)).scalars()
        assert acc.status == "voluntarily_withdrawn"
        assert set(lines) == {"refused"}
    withdrawn = audit_events("application.withdrawn", tenant=tenant_a)
    assert [(e.object_id, e.changes["status"]) for e in withdrawn] == [
        (str(application_id), ["submitted", "withdrawn"])]
    # Withdrawn is final.
    again = client.post(f"/alpha/portal/applications/{application_id}/withdraw")
    assert again.status_code == 409


def test_a_draft_is_discarded_and_the_cab_can_start_again(
    client, tenant_a, lab_user, login_as, start
):
    login_as(lab_user)
    application_id = start()
    client.post(f"/alpha/portal/applications/{application_id}/lines", data=line_data(CAL_LINE))
    resp = client.post(f"/alpha/portal/applications/{application_id}/withdraw")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/alpha/portal/")
    assert "Draft application discarded." in flashes(client.get("/alpha/portal/"))
    assert client.get(f"/alpha/portal/applications/{application_id}").status_code == 404
    db.session.expire_all()
    with tenant_scope(tenant_a):
        assert db.session.execute(select(func.count(Application.id))).scalar_one() == 0
        assert db.session.execute(select(func.count(Accreditation.id))).scalar_one() == 0
    assert [e.object_id for e in audit_events("application.discarded", tenant=tenant_a)] == [
        str(application_id)]
    start()  # the programme is free again


def test_staff_cannot_use_the_portal(client, tenant_a, manager, login_as):
    login_as(manager)
    assert client.get("/alpha/portal/").status_code == 403
    assert client.get("/alpha/portal/applications/new").status_code == 403


def test_a_staff_member_who_is_also_a_cab_user_cannot_use_the_portal(
    client, tenant_a, lab, login_as
):
    """Only a pure CAB user is confined to one CAB, so only they may use the portal."""
    user = create_member(tenant_a, "both@alpha.example.org", [Role.manager, Role.cab_user])
    login_as(user)
    assert client.get("/alpha/portal/").status_code == 403


def test_the_accreditation_page_is_read_only_and_paginated(
    client, tenant_a, lab, lab_user, login_as
):
    lines = [{**CAL_LINE, "quantity": f"Gauge model {i:03d}"} for i in range(105)]
    acc = create_accreditation(tenant_a, lab, "17025-C", lines=lines)
    login_as(lab_user)
    first = client.get(f"/alpha/portal/accreditations/{acc.id}")
    assert first.status_code == 200
    page = text(first)
    assert "Gauge model 000" in page and "Gauge model 099" in page
    assert "Gauge model 100" not in page
    assert "Pressure" in page  # the discipline by name, not its code
    assert "applied" in page  # each line's status
    assert "105 lines" in words(first)
    assert "<form" not in page.split('id="scope"')[1].split("</table>")[0]
    second = text(client.get(f"/alpha/portal/accreditations/{acc.id}?page=2"))
    assert "Gauge model 100" in second and "Gauge model 104" in second


def test_a_reduction_names_the_current_lines_it_concerns(
    client, tenant_a, lab_user, login_as, accredited
):
    login_as(lab_user)
    new_page = client.get("/alpha/portal/applications/new")
    assert "Accreditation (all other types)" in text(new_page)
    resp = client.post("/alpha/portal/applications/new",
                       data={"type": "reduction", "accreditation": str(accredited),
                             "summary": "We stop calibrating vacuum gauges."})
    assert resp.status_code == 302
    application_id = id_from(resp)
    page = client.get(f"/alpha/portal/applications/{application_id}")
    assert "Scope lines concerned" in text(page)
    assert "Vacuum gauges" in text(page)
    assert "Add the line" not in text(page)  # a reduction requests no new lines

    resp = client.post(f"/alpha/portal/applications/{application_id}/submit",
                       data={"declaration": "y"})
    assert resp.status_code == 400
    assert form_error(resp) == "Choose the scope lines this application concerns."

    with tenant_scope(tenant_a):
        vacuum = db.session.execute(select(ScopeItem.id).where(
            ScopeItem.accreditation_id == accredited,
            ScopeItem.summary.contains("Vacuum"))).scalar_one()
    resp = client.post(f"/alpha/portal/applications/{application_id}/edit",
                       data={"summary": "We stop calibrating vacuum gauges.",
                             "target_item_ids": [str(vacuum)]})
    assert resp.status_code == 302
    resp = client.post(f"/alpha/portal/applications/{application_id}/submit",
                       data={"declaration": "y"})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert status_shown(page) == "Submitted"
    concerned = text(page).split("Existing scope lines concerned")[-1]
    assert "Vacuum gauges" in concerned and "hydraulic" not in concerned.split("</table>")[0]


def test_the_cabs_accreditation_manager_hears_of_submission_and_withdrawal(
    client, tenant_a, lab, lab_user, manager, login_as, start, outbox
):
    from accreditor.cabs import services as cab_services
    from accreditor.cabs.models import Cab
    from accreditor.core.db import commit

    with tenant_scope(tenant_a):
        cab = db.session.execute(select(Cab).where(Cab.id == lab.id)).scalar_one()
        cab_services.update_cab(cab, manager_id=manager.id)
        commit()
    login_as(lab_user)
    application_id = submitted(client, start)
    client.post(f"/alpha/portal/applications/{application_id}/withdraw")
    mails = outbox("manager@alpha.example.org")
    assert [m.subject for m in mails] == [
        "Application submitted by Precision Calibration Ltd",
        "Precision Calibration Ltd withdrew its application"]
    assert f"/alpha/applications/{application_id}" in mails[0].text_body
