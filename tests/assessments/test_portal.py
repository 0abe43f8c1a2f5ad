"""The CAB portal's assessment pages: a CAB user sees the plan and team of its own shared
assessments (never drafts, internal notes, the risk consideration or another CAB's rows) and may
object to a proposed team member, with a reason, while the objection window is open (rule 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from accreditor.assessments import services, team
from accreditor.assessments.models import (
    Assessment,
    AssessmentItem,
    AuthorisationRole,
    ObjectionStatus,
    TeamAssignment,
    TeamObjection,
)
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit, utcnow
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import ScopeItem
from tests.assessments.assessment_helpers import (
    ASSESSOR,
    LEAD,
    START,
    TODAY,
    assessor,
    cal_setup,
    load,
    new_assessment,
)
from tests.auth.helpers import field_error, flashes, form_error, text
from tests.factories import CAL_LINE, MASS_LINE, create_cab_user, create_member

NOTES_MARKER = "INTERNAL-NOTES-MARKER-7731"
RISK_MARKER = "RISK-CONSIDERATION-MARKER-5120"
ICT_MARKER = "ICT-RISK-MARKER-4410"


def propose(tenant, assessment, members):
    with tenant_scope(tenant):
        a = db.session.execute(select(Assessment).where(Assessment.id == assessment.id)
                               ).scalar_one()
        team.propose_team(a, members)
        commit()
    return a


@pytest.fixture
def world(tenant_a):
    """A calibration lab with a proposed assessment (lead + assessor from another
    organisation), its CAB user and the CAB's case manager."""
    cab, acc, ids = cal_setup(tenant_a, lines=[CAL_LINE, MASS_LINE])
    lead = assessor(tenant_a, "lead@alpha.example.org", name="Lena Lead",
                    role=AuthorisationRole.lead_assessor, organisation="NAB")
    tech = assessor(tenant_a, "tom@partners.example.org", name="Tom Technical",
                    organisation="Metrology Partners GmbH")
    outsider = assessor(tenant_a, "otto@alpha.example.org", name="Otto Outsider")
    manager = create_member(tenant_a, "manager@alpha.example.org", [Role.manager],
                            name="Mia Manager")
    with tenant_scope(tenant_a):
        cab.manager_id = manager.id
        commit()
    a = new_assessment(tenant_a, acc, sample=ids, internal_notes=NOTES_MARKER)
    with tenant_scope(tenant_a):
        a = load(tenant_a, Assessment, a.id)
        services.record_risk_consideration(a, RISK_MARKER)
        commit()
    propose(tenant_a, a, [(lead.id, LEAD), (tech.id, ASSESSOR)])
    cab_user = create_cab_user(tenant_a, cab, "quality@precision.example.org",
                               name="Quinn Quality")
    return {"cab": cab, "acc": acc, "ids": ids, "lead": lead, "tech": tech,
            "outsider": outsider, "manager": manager, "assessment": a, "cab_user": cab_user}


@pytest.fixture
def other_cab(tenant_a):
    """Another CAB of the same tenant with a proposed assessment of its own."""
    cab, acc, ids = cal_setup(tenant_a, legal_name="Rival Calibration plc")
    lead = assessor(tenant_a, "rlead@alpha.example.org", name="Rita Rival-Lead",
                    role=AuthorisationRole.lead_assessor)
    a = new_assessment(tenant_a, acc, sample=ids, start=START + timedelta(days=20),
                       end=START + timedelta(days=21))
    propose(tenant_a, a, [(lead.id, LEAD)])
    with tenant_scope(tenant_a):
        db.session.add(TeamObjection(cab_id=cab.id, assessment_id=a.id, user_id=lead.id,
                                     reason="RIVAL-OBJECTION-MARKER"))
        commit()
    return {"cab": cab, "assessment": a}


def url(assessment_id: int | None = None, suffix: str = "") -> str:
    base = "/alpha/portal/assessments/"
    return base if assessment_id is None else f"{base}{assessment_id}{suffix}"


def objections(tenant, assessment_id: int) -> list[TeamObjection]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.execute(
            select(TeamObjection).where(TeamObjection.assessment_id == assessment_id)
            .order_by(TeamObjection.id)).scalars())


# -- the list -----------------------------------------------------------------------------------


def test_the_list_shows_own_shared_assessments_but_not_drafts_or_other_cabs(
        client, login_as, tenant_a, world, other_cab):
    draft = new_assessment(tenant_a, world["acc"], start=START + timedelta(days=90),
                           end=START + timedelta(days=91))
    login_as(world["cab_user"])
    resp = client.get(url())
    assert resp.status_code == 200
    page = text(resp)
    assert START.isoformat() in page
    assert "Surveillance" in page and "On-site" in page and "Team proposed" in page
    assert "Lena Lead" in page
    assert (START + timedelta(days=90)).isoformat() not in page, "a draft is not shared"
    assert f"/portal/assessments/{draft.id}" not in page
    assert "Rita Rival-Lead" not in page
    assert f"/portal/assessments/{other_cab['assessment'].id}" not in page


def test_a_cancelled_assessment_is_listed_only_if_its_team_had_been_proposed(
        client, login_as, tenant_a, world):
    never_shared = new_assessment(tenant_a, world["acc"], start=START + timedelta(days=200),
                                  end=START + timedelta(days=201))
    with tenant_scope(tenant_a):
        for ident in (world["assessment"].id, never_shared.id):
            services.cancel_assessment(load(tenant_a, Assessment, ident), "Lab moved")
        commit()
    login_as(world["cab_user"])
    page = text(client.get(url()))
    assert "Cancelled" in page and START.isoformat() in page
    assert (START + timedelta(days=200)).isoformat() not in page
    detail = client.get(url(world["assessment"].id))
    assert detail.status_code == 200 and "Cancelled" in text(detail)
    assert client.get(url(never_shared.id)).status_code == 404


def test_the_list_runs_a_bounded_number_of_queries(client, login_as, tenant_a, world,
                                                   assert_max_queries, count_queries):
    def add(n: int) -> None:
        with tenant_scope(tenant_a):
            for i in range(n):
                a = Assessment(cab_id=world["cab"].id, accreditation_id=world["acc"].id,
                               type="surveillance", mode="onsite", status="team_confirmed",
                               planned_start_on=START + timedelta(days=3 * i + 5),
                               planned_end_on=START + timedelta(days=3 * i + 6),
                               team_notified_at=world["assessment"].team_notified_at)
                db.session.add(a)
                db.session.flush()
                db.session.add(TeamAssignment(cab_id=a.cab_id, assessment_id=a.id,
                                              user_id=world["lead"].id, role="lead"))
            commit()

    login_as(world["cab_user"])
    add(1)
    with count_queries() as small:
        resp = client.get(url())
    assert resp.status_code == 200 and text(resp).count("Lena Lead") == 2
    add(28)
    with assert_max_queries(small.count):
        resp = client.get(url())
    assert text(resp).count("Lena Lead") == 30
    assert small.count <= 10, small.statements


# -- the plan -----------------------------------------------------------------------------------


def test_the_plan_shows_dates_locations_sample_agenda_and_the_team_with_organisations(
        client, login_as, tenant_a, world):
    with tenant_scope(tenant_a):
        services.update_agenda(load(tenant_a, Assessment, world["assessment"].id),
                               "Day 1: opening meeting at 09:00")
        commit()
    login_as(world["cab_user"])
    resp = client.get(url(world["assessment"].id))
    assert resp.status_code == 200
    page = text(resp)
    assert f"{START.isoformat()} – {(START + timedelta(days=2)).isoformat()}" in page
    assert "A – Head office" in page
    assert "Day 1: opening meeting at 09:00" in page
    assert "Pressure gauges (hydraulic)" in page and "Weights" in page
    assert "Lena Lead" in page and "Lead assessor" in page and "NAB" in page
    assert "Tom Technical" in page and "Metrology Partners GmbH" in page
    assert f"until {world['assessment'].objection_window_ends_on.isoformat()}" in page
    assert 'data-testid="objection-form"' in page


def test_the_cab_never_sees_internal_notes_risk_or_the_ict_risk_note(
        client, login_as, tenant_a, world):
    remote = new_assessment(tenant_a, world["acc"], mode="remote", sample=world["ids"],
                            start=START + timedelta(days=30), end=START + timedelta(days=30),
                            remote_justification="Records are held electronically",
                            ict_risk_note=ICT_MARKER, internal_notes=NOTES_MARKER)
    propose(tenant_a, remote, [(world["lead"].id, LEAD)])
    login_as(world["cab_user"])
    for ident in (world["assessment"].id, remote.id):
        page = text(client.get(url(ident)))
        assert NOTES_MARKER not in page
        assert RISK_MARKER not in page
        assert ICT_MARKER not in page
    page = text(client.get(url(remote.id)))
    assert "Remote" in page and "Records are held electronically" in page
    listing = text(client.get(url()))
    assert NOTES_MARKER not in listing and RISK_MARKER not in listing


def test_another_cabs_assessment_and_a_draft_are_not_found(client, login_as, tenant_a, world,
                                                           other_cab):
    draft = new_assessment(tenant_a, world["acc"], start=START + timedelta(days=90),
                           end=START + timedelta(days=91))
    login_as(world["cab_user"])
    assert client.get(url(other_cab["assessment"].id)).status_code == 404
    assert client.get(url(draft.id)).status_code == 404
    resp = client.post(url(other_cab["assessment"].id, "/objections"),
                       data={"user_id": str(world["lead"].id), "reason": "No"})
    assert resp.status_code == 404
    assert "RIVAL-OBJECTION-MARKER" not in text(client.get(url(world["assessment"].id)))


def test_another_tenants_cab_user_gets_404(client, login_as, tenant_a, tenant_b, world):
    from tests.factories import create_cab

    b_cab = create_cab(tenant_b, "Bravo Lab Ltd")
    b_user = create_cab_user(tenant_b, b_cab, "lab@bravo.example.org")
    login_as(b_user)
    assert client.get(f"/bravo/portal/assessments/{world['assessment'].id}").status_code == 404
    assert client.get(url(world["assessment"].id)).status_code == 404


def test_staff_are_turned_away_and_anonymous_users_sent_to_sign_in(client, login_as, world):
    login_as(world["manager"])
    assert client.get(url()).status_code == 403
    assert client.get(url(world["assessment"].id)).status_code == 403
    client.post("/logout")
    resp = client.get(url(world["assessment"].id))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_the_plan_page_runs_a_bounded_number_of_queries(client, login_as, tenant_a, world,
                                                        count_queries, assert_max_queries):
    login_as(world["cab_user"])
    with count_queries() as small:
        assert client.get(url(world["assessment"].id)).status_code == 200
    # More sampled lines, team members and objections: the same number of queries.
    extra = [assessor(tenant_a, f"obs{i}@alpha.example.org", name=f"Olive Observer {i}")
             for i in range(4)]
    with tenant_scope(tenant_a):
        acc = world["acc"]
        items = [ScopeItem(cab_id=acc.cab_id, accreditation_id=acc.id, position=10 + i,
                           status="applied", fields={}, summary=f"Gauge type {i}")
                 for i in range(25)]
        db.session.add_all(items)
        db.session.flush()
        for item in items:
            db.session.add(AssessmentItem(cab_id=acc.cab_id, assessment_id=world["assessment"].id,
                                          scope_item_id=item.id))
        for person in extra:
            db.session.add(TeamAssignment(cab_id=acc.cab_id,
                                          assessment_id=world["assessment"].id,
                                          user_id=person.id, role="observer"))
            db.session.add(TeamObjection(cab_id=acc.cab_id, assessment_id=world["assessment"].id,
                                         user_id=person.id, reason="Worked for a competitor"))
        commit()
    with assert_max_queries(small.count):
        resp = client.get(url(world["assessment"].id))
    assert "Gauge type 24" in text(resp) and "Olive Observer 3" in text(resp)


# -- objections (rule 4) ------------------------------------------------------------------------


def test_an_objection_inside_the_window_reaches_the_manager_and_the_audit_trail(
        client, login_as, tenant_a, world, outbox):
    login_as(world["cab_user"])
    resp = client.post(url(world["assessment"].id, "/objections"),
                       data={"user_id": str(world["tech"].id),
                             "reason": "Tom audited our competitor last year"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/portal/assessments/{world['assessment'].id}"
                                             "#objections")
    page = client.get(resp.headers["Location"])
    assert any("objection was sent" in f for f in flashes(page))
    assert "Tom audited our competitor last year" in text(page)
    [row] = objections(tenant_a, world["assessment"].id)
    assert (row.user_id, row.status, row.raised_by_id) == (
        world["tech"].id, ObjectionStatus.open.value, world["cab_user"].id)
    mail = outbox("manager@alpha.example.org")[-1]
    assert "Tom Technical" in mail.text_body and "Tom audited our competitor" in mail.text_body
    with tenant_scope(tenant_a):
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "assessment.objection_raised")
        ).scalar_one()
    assert event.actor_id == world["cab_user"].id and event.object_id == str(row.id)


def test_an_objection_after_the_window_closed_is_refused_with_the_reason(
        client, login_as, tenant_a, world):
    with tenant_scope(tenant_a):
        load(tenant_a, Assessment, world["assessment"].id).objection_window_ends_on = (
            TODAY - timedelta(days=1))
        commit()
    login_as(world["cab_user"])
    page = text(client.get(url(world["assessment"].id)))
    assert "The objection window closed on" in page
    assert 'data-testid="objection-form"' not in page
    resp = client.post(url(world["assessment"].id, "/objections"),
                       data={"user_id": str(world["tech"].id), "reason": "Too late?"})
    assert resp.status_code == 409
    assert "objection window has closed" in form_error(resp)
    assert objections(tenant_a, world["assessment"].id) == []


def test_an_objection_to_someone_not_on_the_team_is_refused_beside_the_field(
        client, login_as, tenant_a, world):
    login_as(world["cab_user"])
    resp = client.post(url(world["assessment"].id, "/objections"),
                       data={"user_id": str(world["outsider"].id), "reason": "Unknown person"})
    assert resp.status_code == 400
    assert field_error(resp, "user_id") == "This person is not on the proposed team."
    assert "Unknown person" in text(resp), "the reason typed is kept"
    assert objections(tenant_a, world["assessment"].id) == []


def test_an_objection_needs_a_reason_and_a_member(client, login_as, tenant_a, world):
    login_as(world["cab_user"])
    resp = client.post(url(world["assessment"].id, "/objections"),
                       data={"user_id": str(world["tech"].id), "reason": "  "})
    assert resp.status_code == 400
    assert "Give the reason for the objection." in field_error(resp, "reason")
    resp = client.post(url(world["assessment"].id, "/objections"),
                       data={"user_id": "", "reason": "Conflict of interest"})
    assert resp.status_code == 400
    assert "Choose the team member" in field_error(resp, "user_id")
    assert objections(tenant_a, world["assessment"].id) == []


def test_a_second_open_objection_to_the_same_person_is_refused(client, login_as, tenant_a,
                                                               world):
    login_as(world["cab_user"])
    data = {"user_id": str(world["tech"].id), "reason": "Conflict of interest"}
    assert client.post(url(world["assessment"].id, "/objections"), data=data).status_code == 302
    resp = client.post(url(world["assessment"].id, "/objections"), data=data)
    assert resp.status_code == 409
    assert "already an open objection" in form_error(resp)
    assert len(objections(tenant_a, world["assessment"].id)) == 1


def test_a_cancelled_assessment_takes_no_objection_even_inside_the_window(
        client, login_as, tenant_a, world):
    with tenant_scope(tenant_a):
        services.cancel_assessment(load(tenant_a, Assessment, world["assessment"].id),
                                   "Lab closed")
        commit()
    login_as(world["cab_user"])
    assert 'data-testid="objection-form"' not in text(client.get(url(world["assessment"].id)))
    resp = client.post(url(world["assessment"].id, "/objections"),
                       data={"user_id": str(world["tech"].id), "reason": "Conflict"})
    assert resp.status_code == 409
    assert "cancelled" in form_error(resp)
    assert objections(tenant_a, world["assessment"].id) == []


def test_the_cab_sees_how_its_objection_was_resolved_and_gets_a_working_link(
        client, login_as, tenant_a, world, outbox, app):
    login_as(world["cab_user"])
    client.post(url(world["assessment"].id, "/objections"),
                data={"user_id": str(world["tech"].id), "reason": "Conflict of interest"})
    [row] = objections(tenant_a, world["assessment"].id)
    login_as(world["manager"])
    with app.test_request_context(), tenant_scope(tenant_a):
        from flask_login import login_user

        login_user(world["manager"])
        team.resolve_objection(row, False, "Tom has not worked with your competitor since 2019")
        commit()
    mail = outbox("quality@precision.example.org")[-1]
    assert f"/alpha/portal/assessments/{world['assessment'].id}" in mail.text_body
    login_as(world["cab_user"])
    page = text(client.get(url(world["assessment"].id)))
    assert "not upheld" in page
    assert "Tom has not worked with your competitor since 2019" in page
    assert "Mia Manager" not in page, "who decided inside the AB is not shown"


def test_print_links_follow_what_the_cab_may_open(app, client, login_as, tenant_a, world):
    """The plan is printable once shared; the report link appears only once it is issued."""
    login_as(world["cab_user"])
    a_id = world["assessment"].id
    page = text(client.get(url(a_id)))
    with app.test_request_context():
        from flask import url_for

        plan = url_for("tenant.assessment_print.portal_plan", tenant_slug="alpha",
                       assessment_id=a_id)
        report = url_for("tenant.assessment_print.portal_report", tenant_slug="alpha",
                         assessment_id=a_id)
    assert f'href="{plan}" data-testid="print-plan"' in page
    assert 'data-testid="print-report"' not in page
    assert client.get(report).status_code == 404
    with tenant_scope(tenant_a):
        a = load(tenant_a, Assessment, a_id)
        a.status, a.report_issued_at = "report_issued", utcnow()
        a.report_summary = "Competence demonstrated for the sampled lines."
        commit()
    page = text(client.get(url(a_id)))
    assert f'href="{report}" data-testid="print-report"' in page
    assert client.get(report).status_code == 200
