"""A CAB's record: create and edit, contacts, locations, the tabs, history and permissions."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from accreditor.cabs.models import Cab, CabContact, CabLocation
from accreditor.core.audit import AuditEvent
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation
from tests.auth.helpers import field_error, flashes, table_row, text, words
from tests.cabs.helpers import granted
from tests.factories import (
    CAL_LINE,
    create_accreditation,
    create_cab,
    create_cab_user,
    create_member,
)

NEW_CAB = {"legal_name": "Delta Calibration Ltd", "trading_names": "Delta Cal\nDeltaLab",
           "registration_number": "01234567", "country": "gb", "website": "delta.example.org",
           "related_bodies": "Delta Holdings plc (owner)", "consultants_used": "",
           "manager_id": ""}


def cabs_named(tenant, legal_name: str) -> list[Cab]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.execute(select(Cab).where(Cab.legal_name == legal_name)).scalars())


def locations_of(tenant, cab) -> dict[str, CabLocation]:
    db.session.expire_all()
    with tenant_scope(tenant):
        rows = db.session.execute(select(CabLocation).where(CabLocation.cab_id == cab.id))
        return {loc.code: loc for loc in rows.scalars()}


def contacts_of(tenant, cab) -> dict[str, CabContact]:
    db.session.expire_all()
    with tenant_scope(tenant):
        rows = db.session.execute(select(CabContact).where(CabContact.cab_id == cab.id))
        return {c.name: c for c in rows.scalars()}


# -- create and edit --------------------------------------------------------------------------


def test_a_manager_adds_a_cab_and_lands_on_its_page(
    client, tenant_a, manager_a, login_as, audit_actions
):
    login_as(manager_a)
    resp = client.post("/alpha/cabs/new", data={**NEW_CAB, "manager_id": str(manager_a.id)})
    assert resp.status_code == 302
    (cab,) = cabs_named(tenant_a, "Delta Calibration Ltd")
    assert resp.headers["Location"].endswith(f"/alpha/cabs/{cab.id}")
    assert cab.trading_names == ["Delta Cal", "DeltaLab"]
    assert (cab.country, cab.website, cab.manager_id) == ("GB", "https://delta.example.org",
                                                          manager_a.id)
    page = client.get(resp.headers["Location"])
    assert "Delta Calibration Ltd added." in flashes(page)
    seen = words(page)
    for shown in ("Delta Cal", "DeltaLab", "01234567", "https://delta.example.org",
                  "Delta Holdings plc (owner)", "Mona Manager"):
        assert shown in seen
    assert audit_actions(cab.id) == ["cab.created"]


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"legal_name": "  "}, "legal_name", "The legal name is required."),
    ({"country": "United Kingdom"}, "country", "Give the two-letter ISO country code, e.g. GB."),
    ({"legal_name": "acme calibration ltd"}, "legal_name",
     "A CAB with this legal name already exists in this country."),
])
def test_creating_a_cab_shows_the_problem_beside_the_field(
    client, tenant_a, manager_a, acme, login_as, audit_actions, change, field, message
):
    login_as(manager_a)
    before = audit_actions()
    resp = client.post("/alpha/cabs/new", data={**NEW_CAB, **change})
    assert resp.status_code == 200
    assert field_error(resp, field) == message
    assert 'aria-invalid="true"' in resp.get_data(as_text=True)
    assert cabs_named(tenant_a, "Delta Calibration Ltd") == []
    assert audit_actions() == before  # nothing half-saved


def test_the_same_legal_name_in_another_country_is_a_different_cab(
    client, tenant_a, manager_a, acme, login_as
):
    login_as(manager_a)
    resp = client.post("/alpha/cabs/new",
                       data={**NEW_CAB, "legal_name": "Acme Calibration Ltd", "country": "IE"})
    assert resp.status_code == 302
    assert {c.country for c in cabs_named(tenant_a, "Acme Calibration Ltd")} == {"GB", "IE"}


def test_the_manager_must_be_one_of_the_tenants_staff(
    client, tenant_a, tenant_b, manager_a, acme, login_as
):
    outsider = create_member(tenant_b, "boss@bravo.example.org", [Role.manager],
                             name="Bravo Boss")
    cab_user = create_cab_user(tenant_a, acme, "cabuser@acme.example.org", name="Carl Cabuser")
    login_as(manager_a)
    form = client.get("/alpha/cabs/new").get_data(as_text=True)
    assert "Mona Manager" in form
    assert "Bravo Boss" not in form and "Carl Cabuser" not in form
    for user in (outsider, cab_user):
        resp = client.post("/alpha/cabs/new", data={**NEW_CAB, "manager_id": str(user.id)})
        assert resp.status_code == 200
        assert field_error(resp, "manager_id") == "Not a valid choice."
    assert cabs_named(tenant_a, "Delta Calibration Ltd") == []


def test_a_manager_edits_the_details_and_the_change_is_audited(
    client, tenant_a, manager_a, acme, login_as
):
    login_as(manager_a)
    form = client.get(f"/alpha/cabs/{acme.id}/edit")
    assert "Acme Calibration Ltd" in text(form)
    resp = client.post(f"/alpha/cabs/{acme.id}/edit", data={
        **NEW_CAB, "legal_name": "Acme Calibration Ltd", "trading_names": "Acme Cal",
        "manager_id": str(manager_a.id)})
    assert resp.status_code == 302
    assert "Details saved." in flashes(client.get(resp.headers["Location"]))
    (cab,) = cabs_named(tenant_a, "Acme Calibration Ltd")
    assert cab.trading_names == ["Acme Cal"] and cab.manager_id == manager_a.id
    with tenant_scope(tenant_a):
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "cab.updated")).scalar_one()
    assert event.subject_cab_id == acme.id
    assert event.changes["trading_names"] == [[], ["Acme Cal"]]
    assert event.changes["manager_id"] == [None, manager_a.id]

    again = client.post(f"/alpha/cabs/{acme.id}/edit", data={
        **NEW_CAB, "legal_name": "Acme Calibration Ltd", "trading_names": "Acme Cal",
        "manager_id": str(manager_a.id)})
    assert "Nothing changed." in flashes(client.get(again.headers["Location"]))


def test_editing_into_another_cabs_name_is_refused(client, tenant_a, manager_a, acme, login_as):
    create_cab(tenant_a, "Other Lab Ltd")
    login_as(manager_a)
    resp = client.post(f"/alpha/cabs/{acme.id}/edit",
                       data={**NEW_CAB, "legal_name": "OTHER LAB LTD"})
    assert field_error(resp, "legal_name") == (
        "A CAB with this legal name already exists in this country.")
    assert cabs_named(tenant_a, "Acme Calibration Ltd") != []
    bad_country = client.post(f"/alpha/cabs/{acme.id}/edit",
                              data={**NEW_CAB, "legal_name": "Acme", "country": "United Kingdom"})
    assert field_error(bad_country, "country") == "Give the two-letter ISO country code, e.g. GB."


# -- contacts ---------------------------------------------------------------------------------


def test_contacts_are_added_edited_and_removed_with_audit_events(
    client, tenant_a, manager_a, acme, login_as, audit_actions
):
    login_as(manager_a)
    resp = client.post(f"/alpha/cabs/{acme.id}/contacts", data={
        "name": "Quinn Quality", "position": "Quality manager", "email": "quinn@acme.example.org",
        "phone": "+44 20 7946 0000", "is_public": "y"})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert "Contact Quinn Quality added." in flashes(page)
    row = table_row(page, "Quinn Quality")
    assert "Quality manager" in row and "quinn@acme.example.org" in row and "yes" in row

    contact = contacts_of(tenant_a, acme)["Quinn Quality"]
    url = f"/alpha/cabs/{acme.id}/contacts/{contact.id}"
    assert "quinn@acme.example.org" in text(client.get(url))
    blank = client.post(url, data={"name": "", "email": "quinn@acme.example.org"})
    assert field_error(blank, "name") == "Give the contact's name."
    bad_email = client.post(url, data={"name": "Quinn", "email": "not-an-address"})
    assert field_error(bad_email, "email") != ""
    resp = client.post(url, data={"name": "Quinn Quality", "position": "Technical manager",
                                  "email": "quinn@acme.example.org"})
    assert "Contact saved." in flashes(client.get(resp.headers["Location"]))
    updated = contacts_of(tenant_a, acme)["Quinn Quality"]
    assert updated.position == "Technical manager" and updated.is_public is False

    resp = client.post(f"{url}/remove")
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert "Contact Quinn Quality removed." in flashes(page)
    assert "Quinn Quality" not in table_row(page, "No contacts recorded.")
    assert contacts_of(tenant_a, acme) == {}
    assert audit_actions(acme.id)[-3:] == ["cab.contact_added", "cab.contact_updated",
                                           "cab.contact_removed"]


def test_a_contact_needs_a_name(client, tenant_a, manager_a, acme, login_as):
    login_as(manager_a)
    resp = client.post(f"/alpha/cabs/{acme.id}/contacts", data={"name": " ", "email": ""})
    assert resp.status_code == 200
    assert field_error(resp, "name") == "Give the contact's name."
    assert contacts_of(tenant_a, acme) == {}


def test_a_contact_of_another_cab_is_not_found_under_this_cab(
    client, tenant_a, manager_a, acme, login_as
):
    other = create_cab(tenant_a, "Other Lab Ltd")
    login_as(manager_a)
    client.post(f"/alpha/cabs/{other.id}/contacts", data={"name": "Olive Other"})
    contact = contacts_of(tenant_a, other)["Olive Other"]
    assert client.get(f"/alpha/cabs/{acme.id}/contacts/{contact.id}").status_code == 404
    assert client.post(f"/alpha/cabs/{acme.id}/contacts/{contact.id}/remove").status_code == 404
    assert "Olive Other" in contacts_of(tenant_a, other)


# -- locations --------------------------------------------------------------------------------


LOCATION = {"code": "b", "name": "North laboratory", "address": "2 Mill Lane\nLeeds",
            "country": "GB", "activities": "Pressure calibration", "kind": "permanent",
            "is_critical": "y", "is_active": "y"}


def test_a_manager_adds_and_edits_a_location(client, tenant_a, manager_a, acme, login_as,
                                             audit_actions):
    login_as(manager_a)
    page = client.get(f"/alpha/cabs/{acme.id}/locations")
    assert "Head office" in table_row(page, "Head office")
    resp = client.post(f"/alpha/cabs/{acme.id}/locations", data=LOCATION)
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert "Location B – North laboratory added." in flashes(page)
    row = table_row(page, "North laboratory")
    assert "B" in row and "Leeds" in row and "critical" in row and "permanent" in row
    loc = locations_of(tenant_a, acme)["B"]
    assert loc.address == "2 Mill Lane\nLeeds" and loc.is_critical and loc.is_active

    url = f"/alpha/cabs/{acme.id}/locations/{loc.id}/edit"
    assert "North laboratory" in text(client.get(url))
    resp = client.post(url, data={**LOCATION, "kind": "mobile", "is_critical": "",
                                  "is_active": ""})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert "Location saved." in flashes(page)
    row = table_row(page, "North laboratory")
    assert "mobile" in row and "inactive" in row and "critical" not in row
    assert audit_actions(acme.id)[-2:] == ["cab.location_added", "cab.location_updated"]


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"code": "a"}, "code", "Location code A is already used by this CAB."),
    ({"code": "P"}, "code", "P and O are reserved (permanent lab / on site)."),
    ({"code": "o"}, "code", "P and O are reserved (permanent lab / on site)."),
    ({"code": "B 2"}, "code", "Use 1 to 10 letters or digits, e.g. A or LAB2."),
    ({"address": ""}, "address", "The address is required."),
    ({"country": "United Kingdom"}, "country", "Give the two-letter ISO country code, e.g. GB."),
])
def test_a_bad_location_is_refused_beside_the_field(client, tenant_a, manager_a, acme, login_as,
                                                     change, field, message):
    login_as(manager_a)
    resp = client.post(f"/alpha/cabs/{acme.id}/locations", data={**LOCATION, **change})
    assert resp.status_code == 200
    assert field_error(resp, field) == message
    assert set(locations_of(tenant_a, acme)) == {"A"}
    assert "Head office" in table_row(resp, "Head office")  # the page still shows the list


def test_renaming_a_location_to_a_used_code_is_refused(client, tenant_a, manager_a, login_as):
    cab = create_cab(tenant_a, "Two Sites Ltd", locations=(("A", "Main"), ("B", "Annex")))
    login_as(manager_a)
    annex = locations_of(tenant_a, cab)["B"]
    resp = client.post(f"/alpha/cabs/{cab.id}/locations/{annex.id}/edit",
                       data={**LOCATION, "code": "A"})
    assert field_error(resp, "code") == "Location code A is already used by this CAB."


# -- the tabs ---------------------------------------------------------------------------------


def _active_tab(resp) -> str:
    body = resp.get_data(as_text=True)
    nav = body.split('aria-label="Sections of this CAB record"', 1)[1].split("</nav>", 1)[0]
    (label,) = re.findall(r'class="nav-link active"[^>]*aria-current="page">([^<]+)</a>', nav)
    return label.replace("&amp;", "&")


def test_each_tab_shows_its_own_content(client, tenant_a, assessor_a, acme, login_as):
    from accreditor.applications import services as applications
    from accreditor.applications.models import ApplicationType
    from accreditor.core.db import commit
    from accreditor.refdata.services import programme_by_code

    create_accreditation(tenant_a, acme, "17025-C", lines=[CAL_LINE, CAL_LINE])
    with tenant_scope(tenant_a):
        cab = db.session.execute(select(Cab).where(Cab.id == acme.id)).scalar_one()
        applications.start_application(cab, type=ApplicationType.initial,
                                       programme=programme_by_code("17025-T"),
                                       summary="Testing of pressure gauges")
        commit()
    login_as(assessor_a)
    base = f"/alpha/cabs/{acme.id}"

    details = client.get(base)
    assert _active_tab(details) == "Details" and "Contacts" in words(details)

    locations = client.get(f"{base}/locations")
    assert _active_tab(locations) == "Locations" and "Head office" in words(locations)

    accs = client.get(f"{base}/accreditations")
    assert _active_tab(accs) == "Accreditations & scopes"
    c_row = table_row(accs, "17025-C")
    assert "not yet reserved" in c_row and "applicant" in c_row and "2 applied for" in c_row
    # The accreditation the CAB's draft application opened stays with the CAB until submitted.
    assert "17025-T" not in words(accs)

    apps = client.get(f"{base}/applications")
    assert _active_tab(apps) == "Applications"
    assert "Initial accreditation" not in words(apps)  # a draft stays with the CAB

    history = client.get(f"{base}/history")
    assert _active_tab(history) == "History"
    assert "cab.created" in words(history)
    assert "application.started" not in words(history)  # the draft is still the CAB's own


def test_the_accreditations_tab_shows_grant_cycle_number_and_ib_type(
    client, tenant_a, manager_a, acme, login_as
):
    acc = granted(tenant_a, acme)
    create_accreditation(tenant_a, acme, "17020", ib_type="B")
    login_as(manager_a)
    resp = client.get(f"/alpha/cabs/{acme.id}/accreditations")
    with tenant_scope(tenant_a):
        acc = db.session.execute(select(Accreditation).where(Accreditation.id == acc.id)
                                 ).scalar_one()
    row = table_row(resp, "17025-C")
    assert acc.number and acc.number in row
    assert "accredited" in row and "2025-01-15" in row and "1 accredited" in row
    assert acc.cycle_end_on.isoformat() in row
    assert "Type B" in table_row(resp, "17020")
    body = resp.get_data(as_text=True)
    # linked to the scope page of each accreditation
    assert f'href="/alpha/accreditations/{acc.id}"' in body


def _work_links(acc_id: int) -> dict[str, str]:
    return {"Programme": f"/alpha/programme/{acc_id}",
            "Witnessing": f"/alpha/witnesses/accreditation/{acc_id}",
            "Plan an assessment": f"/alpha/assessments/new?accreditation_id={acc_id}"}


def test_a_manager_reaches_programme_witnessing_and_planning_from_a_live_accreditation(
    client, tenant_a, manager_a, acme, login_as
):
    ended = granted(tenant_a, acme, withdraw=True)
    live = granted(tenant_a, acme)
    login_as(manager_a)
    resp = client.get(f"/alpha/cabs/{acme.id}/accreditations")
    body = resp.get_data(as_text=True)
    for label, href in _work_links(live.id).items():
        assert re.search(rf'<a href="{re.escape(html.escape(href))}">{label}<', body), label
        assert client.get(href).status_code == 200, href
    for href in _work_links(ended.id).values():  # a withdrawn accreditation: no work to plan
        assert html.escape(href) not in body


def test_a_decision_maker_gets_programme_and_witnessing_but_not_planning(
    client, tenant_a, decider_a, acme, login_as
):
    acc = granted(tenant_a, acme)
    login_as(decider_a)
    body = client.get(f"/alpha/cabs/{acme.id}/accreditations").get_data(as_text=True)
    links = _work_links(acc.id)
    assert f'href="{links["Programme"]}"' in body and f'href="{links["Witnessing"]}"' in body
    assert "Plan an assessment" not in body
    assert "/alpha/assessments/new" not in body
    assert client.get(links["Plan an assessment"]).status_code == 403


def test_staff_open_an_accreditation_from_the_cab_record(
    client, tenant_a, manager_a, acme, login_as, audit_actions
):
    from accreditor.refdata.services import programme_by_code

    with tenant_scope(tenant_a):
        programme_id = programme_by_code("17020").id
    login_as(manager_a)
    resp = client.post(f"/alpha/cabs/{acme.id}/accreditations",
                       data={"programme": str(programme_id), "ib_type": "A"})
    assert resp.status_code == 302
    with tenant_scope(tenant_a):
        acc = db.session.execute(select(Accreditation).where(Accreditation.cab_id == acme.id)
                                 ).scalar_one()
    assert (acc.status, acc.ib_type, acc.number) == ("applicant", "A", None)
    # next stop: the new accreditation's scope page (the CAB's tab until that page exists)
    assert resp.headers["Location"].endswith(
        (f"/alpha/accreditations/{acc.id}", f"/alpha/cabs/{acme.id}/accreditations"))
    assert audit_actions(acme.id)[-1] == "accreditation.opened"

    again = client.post(f"/alpha/cabs/{acme.id}/accreditations",
                        data={"programme": str(programme_id)})
    assert again.status_code == 200
    assert "already has an accreditation for" in field_error(again, "programme")
    nothing = client.post(f"/alpha/cabs/{acme.id}/accreditations", data={"programme": ""})
    assert field_error(nothing, "programme") == "Choose a programme."


def test_the_history_tab_lists_this_cabs_events_newest_first_in_pages(
    app, client, tenant_a, manager_a, acme, login_as, monkeypatch
):
    login_as(manager_a)
    for code in "BCDE":
        client.post(f"/alpha/cabs/{acme.id}/locations", data={**LOCATION, "code": code})
    monkeypatch.setitem(app.config, "AUDIT_PAGE_SIZE", 4)
    first = client.get(f"/alpha/cabs/{acme.id}/history")
    body = words(first)
    assert body.count("cab.location_added") == 4
    assert body.index("code: None → E") < body.index("code: None → B")  # newest first
    assert "cab.created" not in body and "Newest" not in body
    older = re.search(r'href="([^"]*/history\?before=\d+)"', first.get_data(as_text=True))
    assert older, "an Older link"
    second = client.get(html.unescape(older.group(1)))
    body = words(second)
    assert "code: None → A" in body and "cab.created" in body
    assert "code: None → B" not in body
    assert "Newest" in body and "Older" not in body


def test_the_history_shows_only_events_about_this_cab(client, tenant_a, manager_a, acme,
                                                      login_as):
    other = create_cab(tenant_a, "Other Lab Ltd", locations=(("Z", "Far away"),))
    login_as(manager_a)
    body = words(client.get(f"/alpha/cabs/{acme.id}/history"))
    assert "Far away" not in body and "Other Lab Ltd" not in body
    assert "Acme Calibration Ltd" in body and "Head office" in body
    assert "Far away" in words(client.get(f"/alpha/cabs/{other.id}/history"))


# -- permissions and isolation ----------------------------------------------------------------


def test_an_assessor_reads_every_tab_but_cannot_change_anything(
    client, tenant_a, assessor_a, decider_a, acme, login_as, audit_actions
):
    from accreditor.cabs import services
    from accreditor.core.db import commit

    loc_id = locations_of(tenant_a, acme)["A"].id
    with tenant_scope(tenant_a):
        cab = db.session.execute(select(Cab).where(Cab.id == acme.id)).scalar_one()
        contact_id = services.add_contact(cab, name="Quinn Quality").id
        commit()
    before = audit_actions()
    for user in (assessor_a, decider_a):
        login_as(user)
        base = f"/alpha/cabs/{acme.id}"
        for tab in ("", "/locations", "/accreditations", "/applications", "/history"):
            resp = client.get(base + tab)
            assert resp.status_code == 200, tab
            assert "Edit details" not in words(resp) and "Invite a CAB user" not in words(resp)
        assert "Add contact" not in words(client.get(base))
        assert "Add location" not in words(client.get(f"{base}/locations"))
        assert "Open accreditation" not in words(client.get(f"{base}/accreditations"))
        for method, url in (("GET", "/alpha/cabs/new"), ("POST", "/alpha/cabs/new"),
                            ("GET", f"{base}/edit"), ("POST", f"{base}/edit"),
                            ("POST", f"{base}/contacts"),
                            ("GET", f"{base}/contacts/{contact_id}"),
                            ("POST", f"{base}/contacts/{contact_id}"),
                            ("POST", f"{base}/contacts/{contact_id}/remove"),
                            ("POST", f"{base}/locations"),
                            ("GET", f"{base}/locations/{loc_id}/edit"),
                            ("POST", f"{base}/locations/{loc_id}/edit"),
                            ("POST", f"{base}/accreditations")):
            assert client.open(url, method=method, data=NEW_CAB).status_code == 403, url
    assert audit_actions() == before


def test_only_an_admin_sees_the_invite_link_with_the_cab_preselected(
    client, tenant_a, admin_a, manager_a, acme, login_as
):
    login_as(manager_a)
    assert "Invite a CAB user" not in words(client.get(f"/alpha/cabs/{acme.id}"))
    login_as(admin_a)
    page = client.get(f"/alpha/cabs/{acme.id}")
    link = f'href="/alpha/settings/users/invite?cab_id={acme.id}"'
    assert link in page.get_data(as_text=True)
    invite = client.get(f"/alpha/settings/users/invite?cab_id={acme.id}").get_data(as_text=True)
    assert f'<option selected value="{acme.id}">Acme Calibration Ltd</option>' in invite


def test_another_tenants_cab_is_not_found(client, tenant_a, tenant_b, manager_a, login_as):
    theirs = create_cab(tenant_b, "Theirs Ltd")
    loc = locations_of(tenant_b, theirs)["A"]
    login_as(manager_a)
    base = f"/alpha/cabs/{theirs.id}"
    for method, url in (("GET", base), ("GET", f"{base}/edit"), ("POST", f"{base}/edit"),
                        ("GET", f"{base}/locations"), ("POST", f"{base}/locations"),
                        ("GET", f"{base}/locations/{loc.id}/edit"),
                        ("GET", f"{base}/accreditations"), ("GET", f"{base}/applications"),
                        ("GET", f"{base}/history"), ("POST", f"{base}/contacts")):
        resp = client.open(url, method=method, data=LOCATION)
        assert resp.status_code == 404, url
        assert "Theirs Ltd" not in resp.get_data(as_text=True)
    assert set(locations_of(tenant_b, theirs)) == {"A"}


def test_a_location_of_another_cab_is_not_found_under_this_cab(
    client, tenant_a, manager_a, acme, login_as
):
    other = create_cab(tenant_a, "Other Lab Ltd", locations=(("Z", "Elsewhere"),))
    loc = locations_of(tenant_a, other)["Z"]
    login_as(manager_a)
    assert client.get(f"/alpha/cabs/{acme.id}/locations/{loc.id}/edit").status_code == 404


# -- query counts -----------------------------------------------------------------------------


def test_the_accreditations_tab_runs_the_same_number_of_queries_for_2_and_10(
    client, tenant_a, manager_a, acme, login_as, count_queries
):
    login_as(manager_a)
    url = f"/alpha/cabs/{acme.id}/accreditations"

    def measure() -> int:
        client.get(url)
        with count_queries() as q:
            resp = client.get(url)
        assert resp.status_code == 200
        return q.count, resp

    granted(tenant_a, acme, withdraw=True)
    create_accreditation(tenant_a, acme, "17020", lines=())
    small, resp = measure()
    assert words(resp).count("voluntarily withdrawn") == 1
    for _ in range(7):
        granted(tenant_a, acme, withdraw=True)
    create_accreditation(tenant_a, acme, "17025-C", lines=[CAL_LINE])
    large, resp = measure()
    assert words(resp).count("voluntarily withdrawn") == 8
    assert words(resp).count("1 withdrawn") == 8
    # the links of the two live accreditations (17020, 17025-C) cost no statement of their own
    assert resp.get_data(as_text=True).count("/alpha/assessments/new?accreditation_id=") == 2
    print(f"QUERYCOUNT {url} {small} {large}")
    assert small == large
    assert large <= 8


@pytest.mark.parametrize("tab", ["", "/locations", "/applications", "/history", "/edit"])
def test_the_other_tabs_run_a_fixed_number_of_queries(
    client, tenant_a, manager_a, acme, login_as, count_queries, tab
):
    from accreditor.cabs import services
    from accreditor.core.db import commit

    login_as(manager_a)
    url = f"/alpha/cabs/{acme.id}{tab}"

    def grow(start: int, n: int) -> None:
        with tenant_scope(tenant_a):
            cab = db.session.execute(select(Cab).where(Cab.id == acme.id)).scalar_one()
            for i in range(start, start + n):
                services.add_contact(cab, name=f"Contact {i}")
                services.add_location(cab, code=f"L{i}", name=f"Site {i}", address="Road",
                                      country="GB")
            commit()

    def measure() -> int:
        client.get(url)
        with count_queries() as q:
            assert client.get(url).status_code == 200
        return q.count

    grow(0, 2)
    small = measure()
    grow(2, 18)
    assert small == measure()
    assert small <= 6  # sign-in work (4) + the CAB + one more


def test_the_assessments_tab_lists_the_cabs_assessments_in_a_fixed_number_of_queries(
    client, tenant_a, manager_a, acme, login_as, count_queries
):
    from datetime import date, timedelta

    from accreditor.assessments import services as assessment_services
    from accreditor.core.db import commit
    from tests.factories import CAL_LINE, create_accreditation

    acc = create_accreditation(tenant_a, acme, "17025-C", lines=[CAL_LINE])
    other = create_cab(tenant_a, "Other Lab Ltd")
    other_acc = create_accreditation(tenant_a, other, "17025-C", lines=[CAL_LINE])

    def plan(acc_id: int, n: int, first: int) -> None:
        with tenant_scope(tenant_a):
            a = db.session.execute(select(Accreditation).where(Accreditation.id == acc_id)
                                   ).scalar_one()
            for i in range(first, first + n):
                day = date.today() + timedelta(days=10 + i)
                assessment_services.create_assessment(a, "surveillance", "onsite", day, day)
            commit()

    plan(other_acc.id, 1, 0)
    login_as(manager_a)
    url = f"/alpha/cabs/{acme.id}/assessments"

    def measure():
        client.get(url)
        with count_queries() as q:
            resp = client.get(url)
        assert resp.status_code == 200
        return q.count, resp

    plan(acc.id, 2, 0)
    small, resp = measure()
    assert words(resp).count("Surveillance") == 2  # not the other CAB's
    plan(acc.id, 58, 2)
    large, resp = measure()
    assert "Page 1 of 2" in words(resp) and words(resp).count("Surveillance") == 50
    assert small == large <= 7
