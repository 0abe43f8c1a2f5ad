"""Assessment services: planning rules (rule 36, rule 9's on-site flag, live accreditations),
the sample, objections recorded by staff (rule 4), reopening a team, actual days, the offered
next steps, the candidates screen and the history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from accreditor.assessments import services, team
from accreditor.assessments.models import (
    Assessment,
    AssessorAuthorisation,
    AuthorisationRole,
    AuthorisationStatus,
    TeamAssignment,
)
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.errors import Conflict, ValidationFailed
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import ScopeItem
from tests.assessments.assessment_helpers import (
    ASSESSOR,
    END,
    LEAD,
    START,
    TODAY,
    assessor,
    authorise,
    cal_setup,
    declare,
    new_assessment,
)
from tests.factories import CAL_LINE, MASS_LINE, create_member


@pytest.fixture
def world(tenant_a):
    cab, acc, ids = cal_setup(tenant_a, lines=[CAL_LINE, MASS_LINE])
    lead = assessor(tenant_a, "lead@alpha.example.org", name="Lena Lead",
                    role=AuthorisationRole.lead_assessor)
    a = new_assessment(tenant_a, acc, sample=ids)
    return {"cab": cab, "acc": acc, "ids": ids, "lead": lead, "assessment": a}


def get(assessment_id: int) -> Assessment:
    return db.session.execute(select(Assessment).where(Assessment.id == assessment_id)
                              ).scalar_one()


def approved(tenant, world) -> Assessment:
    with tenant_scope(tenant):
        a = get(world["assessment"].id)
        team.propose_team(a, [(world["lead"].id, LEAD)])
        team.waive_objection_window(a, "Accepted in writing")
        team.confirm_team(a)
        services.record_risk_consideration(a, "Residual risk low")
        services.approve_plan(a)
        commit()
    return a


def actions(a) -> dict[str, list[str]]:
    return {x["action"]: x["blocked"] for x in services.next_actions(a)}


# -- planning -----------------------------------------------------------------------------------


def test_no_assessment_is_planned_for_a_withdrawn_accreditation(tenant_a, world):
    with tenant_scope(tenant_a):
        acc = db.session.merge(world["acc"])
        acc.status = "withdrawn"
        with pytest.raises(Conflict) as exc:
            services.create_assessment(acc, "surveillance", "onsite", START, END, ["A"])
    assert "withdrawn" in exc.value.message


@pytest.mark.parametrize(("mode", "kw", "field"), [
    ("remote", {}, "remote_justification"),
    ("hybrid", {"remote_justification": "Travel ban"}, "ict_risk_note"),
    ("onsite", {"onsite_not_applicable": True, "onsite_not_applicable_reason": "x"},
     "onsite_not_applicable"),
    ("remote", {"remote_justification": "Crisis", "ict_risk_note": "Tested",
                "onsite_not_applicable": True}, "onsite_not_applicable_reason"),
])
def test_remote_and_onsite_not_applicable_need_their_reasons(tenant_a, world, mode, kw, field):
    with tenant_scope(tenant_a), pytest.raises(ValidationFailed) as exc:
        services.create_assessment(world["acc"], "surveillance", mode, START, END, ["A"], **kw)
    assert exc.value.field == field


def test_a_remote_assessment_counts_as_onsite_only_when_onsite_is_not_applicable(tenant_a,
                                                                                 world):
    with tenant_scope(tenant_a):
        remote = services.create_assessment(
            world["acc"], "surveillance", "remote", START, END, [],
            remote_justification="Pandemic", ict_risk_note="Video link")
        crisis = services.create_assessment(
            world["acc"], "surveillance", "remote", START, END, [],
            remote_justification="Pandemic", ict_risk_note="Video link",
            onsite_not_applicable=True, onsite_not_applicable_reason="Borders closed")
    assert not remote.counts_as_onsite and crisis.counts_as_onsite


def test_an_unknown_location_is_refused(tenant_a, world):
    with tenant_scope(tenant_a), pytest.raises(ValidationFailed) as exc:
        services.create_assessment(world["acc"], "surveillance", "onsite", START, END, ["Z"])
    assert exc.value.field == "location_codes" and "Z" in exc.value.message


def test_the_plan_no_longer_changes_once_approved(tenant_a, world):
    a = approved(tenant_a, world)
    with tenant_scope(tenant_a):
        a = get(a.id)
        for call in (lambda: services.update_assessment(a, planned_end_on=END + timedelta(1)),
                     lambda: services.set_sample(a, []),
                     lambda: services.record_risk_consideration(a, "again"),
                     lambda: team.add_member(a, world["lead"].id, ASSESSOR)):
            with pytest.raises(Conflict):
                call()
        services.update_internal_notes(a, "Still possible")  # notes are kept at any stage
        assert a.internal_notes == "Still possible"


def test_moving_the_dates_of_a_proposed_team_checks_availability_again(tenant_a, world):
    later = START + timedelta(days=30)
    other = new_assessment(tenant_a, world["acc"], start=later, end=later + timedelta(days=1))
    with tenant_scope(tenant_a):
        team.add_member(get(other.id), world["lead"].id, LEAD)
        a = get(world["assessment"].id)
        team.propose_team(a, [(world["lead"].id, LEAD)])
        with pytest.raises(Conflict) as exc:
            services.update_assessment(a, planned_start_on=later, planned_end_on=later)
        assert "already on assessment" in exc.value.message
        assert a.planned_start_on == START


# -- the sample ---------------------------------------------------------------------------------


def test_a_partial_page_changes_only_the_lines_it_showed(tenant_a, world):
    pressure, weights = world["ids"]
    with tenant_scope(tenant_a):
        a = get(world["assessment"].id)
        result = services.set_sample(a, [], only_ids=[weights])
        assert result == {"added": [], "removed": [weights]}
        assert services.sample_ids(a) == {pressure}
        with pytest.raises(ValidationFailed):  # a checked line that the page did not show
            services.set_sample(a, [weights], only_ids=[pressure])
        services.set_sample(a, [weights], only_ids=[weights], location_codes=["A", "B"])
        assert services.sample_ids(a) == {pressure, weights}
        assert a.location_codes == ["A", "B"]


def test_sample_all_takes_requested_and_accredited_lines_but_not_suspended_ones(tenant_a,
                                                                                world):
    with tenant_scope(tenant_a):
        acc = world["acc"]
        extra = [ScopeItem(cab_id=acc.cab_id, accreditation_id=acc.id, position=10 + i,
                           status=status, fields=dict(CAL_LINE), summary=status)
                 for i, status in enumerate(("accredited", "suspended", "withdrawn"))]
        db.session.add_all(extra)
        db.session.flush()
        a = get(world["assessment"].id)
        services.set_sample(a, [])
        services.sample_all(a)
        assert services.sample_ids(a) == set(world["ids"]) | {extra[0].id}
        with pytest.raises(ValidationFailed):
            services.set_sample(a, [extra[1].id])


def test_the_estimate_follows_the_sample(tenant_a, world):
    with tenant_scope(tenant_a):
        a = get(world["assessment"].id)
        assert str(a.estimated_days) == "4.00"  # 1 + 1.5 + 2 disciplines × 0.5 + 0.5 close-out
        services.set_sample(a, world["ids"][:1])
        assert str(a.estimated_days) == "3.50"
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "assessment.sample_changed").order_by(AuditEvent.seq.desc())
        ).scalars().first()
        assert event.changes["estimated_days"] == ["4.00", "3.50"]  # kept for calibration
        codes = list(a.location_codes)
        services.update_assessment(a, location_codes=["A"] if len(codes) > 1 else ["A", "B"])
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "assessment.updated").order_by(AuditEvent.seq.desc())
        ).scalars().first()
        assert event.changes["estimated_days"][0] == "3.50"
        assert event.changes["estimated_days"][1] != "3.50"


# -- objections and the team ---------------------------------------------------------------------


def test_an_objection_recorded_after_the_window_blocks_the_start_until_decided(tenant_a, world):
    a = approved(tenant_a, world)
    with tenant_scope(tenant_a):
        a = get(a.id)
        with pytest.raises(Conflict):  # the CAB's own portal route is closed after the window
            team.raise_objection(a, world["lead"].id, "Late")
        objection = team.record_objection(a, world["lead"].id, "Letter of 3 March")
        with pytest.raises(Conflict):
            team.record_objection(a, world["lead"].id, "Again")
        assert "A CAB objection is unresolved (rule 4)." in actions(a)["start"]
        with pytest.raises(Conflict) as exc:
            services.start_assessment(a)
        assert exc.value.code == "objection_open"
        team.resolve_objection(objection, False, "Not a ground")
        services.start_assessment(a)
        assert a.status == "in_progress"
        with pytest.raises(Conflict):  # no objections once started
            team.record_objection(a, world["lead"].id, "Too late")


def test_an_authorisation_withdrawn_after_approval_refuses_the_start(tenant_a, world):
    a = approved(tenant_a, world)
    with tenant_scope(tenant_a):
        a = get(a.id)
        auth = db.session.execute(select(AssessorAuthorisation).where(
            AssessorAuthorisation.user_id == world["lead"].id)).scalar_one()
        auth.status = AuthorisationStatus.withdrawn.value  # as the register's withdrawal does
        auth.approved_at = None
        commit()
        reason = "Lena Lead holds no current lead assessor authorisation"
        assert any(reason in r for r in actions(a)["start"])
        with pytest.raises(Conflict) as exc:
            services.start_assessment(a)
        assert exc.value.code == "team_refused" and reason in exc.value.message
        assert a.status == "plan_approved"
        # Authorised again, the lead starts it: the assessment is not a double booking of itself.
        authorise(world["lead"], role=AuthorisationRole.lead_assessor)
        assert actions(a)["start"] == []
        services.start_assessment(a)
        assert a.status == "in_progress"


def test_a_double_booking_made_after_approval_refuses_the_start(tenant_a, world):
    a = approved(tenant_a, world)
    other = new_assessment(tenant_a, world["acc"], start=END, end=END + timedelta(days=1))
    with tenant_scope(tenant_a):
        # Booked elsewhere behind the planner's back (e.g. a team imported from another system).
        db.session.add(TeamAssignment(cab_id=world["cab"].id, assessment_id=other.id,
                                      user_id=world["lead"].id, role=LEAD.value))
        commit()
        a = get(a.id)
        with pytest.raises(Conflict) as exc:
            services.start_assessment(a)
        assert f"already on assessment #{other.id}" in exc.value.message
        assert a.status == "plan_approved"


def test_an_objection_names_a_team_member_and_a_reason(tenant_a, world):
    other = assessor(tenant_a, "other@alpha.example.org")
    a = approved(tenant_a, world)
    with tenant_scope(tenant_a):
        a = get(a.id)
        with pytest.raises(ValidationFailed):
            team.record_objection(a, world["lead"].id, "  ")
        with pytest.raises(ValidationFailed):
            team.record_objection(a, other.id, "Not on the team")


def test_an_upheld_objection_on_an_approved_plan_goes_back_to_draft(tenant_a, world):
    a = approved(tenant_a, world)
    with tenant_scope(tenant_a):
        a = get(a.id)
        objection = team.record_objection(a, world["lead"].id, "Conflict")
        team.resolve_objection(objection, True, "Replaced")
        assert a.status == "draft"
        assert db.session.execute(select(TeamAssignment)).scalars().all() == []
        moves = db.session.execute(select(AuditEvent.action).where(
            AuditEvent.object_id == str(a.id), AuditEvent.object_type == "Assessment")
            .order_by(AuditEvent.seq)).scalars().all()
        assert moves[-3:] == ["assessment.member_removed_on_objection",
                              "assessment.team_proposed", "assessment.draft"]


def test_the_manager_is_mailed_the_cabs_objection_with_its_reason(tenant_a, world, outbox):
    create_member(tenant_a, "manager@alpha.example.org", [Role.manager], name="Mia")
    with tenant_scope(tenant_a):
        a = get(world["assessment"].id)
        team.propose_team(a, [(world["lead"].id, LEAD)])
        team.raise_objection(a, world["lead"].id, "She consulted for our parent")
        commit()
    mail = outbox("manager@alpha.example.org")[-1]
    assert "objects to a proposed team member" in mail.subject
    assert "She consulted for our parent" in mail.text_body and "Lena Lead" in mail.text_body
    assert f"/alpha/assessments/{a.id}" in mail.text_body


def test_reopening_needs_a_reason_and_a_proposed_or_later_team(tenant_a, world):
    with tenant_scope(tenant_a):
        a = get(world["assessment"].id)
        with pytest.raises(Conflict):
            team.reopen_team(a, "Why")  # a draft is open already
    a = approved(tenant_a, world)
    with tenant_scope(tenant_a):
        a = get(a.id)
        with pytest.raises(ValidationFailed):
            team.reopen_team(a, "")
        team.reopen_team(a, "The lead broke a leg")
        assert a.status == "draft"
        team.add_member(a, assessor(tenant_a, "two@alpha.example.org").id, ASSESSOR)


# -- actual days, next steps, history -------------------------------------------------------------


def test_actual_days_once_started_and_as_a_number(tenant_a, world):
    a = approved(tenant_a, world)
    with tenant_scope(tenant_a):
        a = get(a.id)
        with pytest.raises(Conflict):
            services.record_actual_days(a, "2")
        services.start_assessment(a)
        for bad in ("-1", "abc", "NaN", "10000"):
            with pytest.raises(ValidationFailed):
                services.record_actual_days(a, bad)
        services.record_actual_days(a, "4.25")
        assert str(a.actual_days) == "4.25"


def test_the_next_steps_name_what_blocks_them(tenant_a, world):
    plain = assessor(tenant_a, "plain@alpha.example.org", name="Paul Plain")
    with tenant_scope(tenant_a):
        a = get(world["assessment"].id)
        assert any("needs a lead" in r for r in actions(a)["propose"])
        team.add_member(a, plain.id, ASSESSOR)
        team.add_member(a, world["lead"].id, LEAD)
        assert actions(a)["propose"] == []
        assert set(actions(a)) == {"propose", "cancel"}
        team.propose_team(a)
        blocked = actions(a)["confirm"]
        assert any("may object until" in r for r in blocked)
        assert "reopen" in actions(a)
        team.waive_objection_window(a, "ok")
        team.confirm_team(a)
        assert actions(a)["approve"] == ["No risk consideration recorded (rule 40)."]
        services.set_sample(a, [])
        assert "No scope lines sampled (rule 5)." in actions(a)["approve"]


def test_the_history_holds_the_assessment_and_its_objections_only(tenant_a, world):
    a = approved(tenant_a, world)
    other = new_assessment(tenant_a, world["acc"], start=START + timedelta(40),
                           end=END + timedelta(40))
    with tenant_scope(tenant_a):
        a = get(a.id)
        objection = team.record_objection(a, world["lead"].id, "Conflict")
        events = db.session.execute(services.history_stmt(a)).scalars().all()
        kinds = {(e.object_type, e.object_id) for e in events}
        assert kinds == {("Assessment", str(a.id)), ("TeamObjection", str(objection.id))}
        assert str(other.id) not in {e.object_id for e in events if e.object_type == "Assessment"}


# -- candidates ---------------------------------------------------------------------------------


def test_candidates_are_screened_in_one_pass(tenant_a, world, count_queries):
    a_id = world["assessment"].id
    pres = assessor(tenant_a, "pres@alpha.example.org", name="Pia Pressure",
                    area_kind="calibration_discipline", areas=["PRES"])
    near = assessor(tenant_a, "near@alpha.example.org", name="Nora Near")
    declare(tenant_a, near, cab=world["cab"], started_on=START - relativedelta(years=1),
            ended_on=None)
    assessor(tenant_a, "stale@alpha.example.org", name="Stan Stale",
                     role=AuthorisationRole.lead_assessor,
                     monitored_on=START - relativedelta(months=40))
    assessor(tenant_a, "gone@alpha.example.org", name="Gwen Gone", valid_to=TODAY)
    assessor(tenant_a, "wait@alpha.example.org", name="Will Wait",
             status=AuthorisationStatus.proposed)
    assessor(tenant_a, "other@alpha.example.org", name="Otto Other", programme="17025-T")
    with tenant_scope(tenant_a):
        a = get(a_id)
        team.add_member(a, world["lead"].id, LEAD)
        with count_queries() as q:
            found = {c.name: c for c in team.candidates(a)}
    assert set(found) == {"Pia Pressure", "Nora Near", "Stan Stale"}
    assert found["Pia Pressure"].covers == 1 and found["Nora Near"].covers == 2
    assert [p.code for p in found["Nora Near"].problems] == ["conflict_of_interest"]
    assert not found["Stan Stale"].lead_monitoring_ok and "lead" in found["Stan Stale"].team_roles
    assert found["Pia Pressure"].team_roles == ["assessor", "technical_expert", "observer"]
    assert found["Pia Pressure"].areas == ["PRES"]
    assert q.count <= 14
    assert pres.id not in {uid for uid, _r in team.members_of(a)}
