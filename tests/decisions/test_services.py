"""Recording decisions: each refusal names its rule; a decision changes the scope, the status,
the cycle and the schedule issue, and tells the CAB."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from accreditor.assessments.models import InterestDeclaration, TeamAssignment
from accreditor.core.db import commit, utcnow
from accreditor.core.errors import ValidationFailed
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import ScheduleVersion
from accreditor.decisions.services import DecisionRefused, issue_schedule
from accreditor.extensions import db
from accreditor.findings.models import SanctionProposal
from accreditor.scopes.models import ScopeEvent, ScopeItem
from accreditor.tenants import services as tenant_services
from accreditor.tenants.models import TenantPolicy
from tests.decisions.conftest import TODAY, acc_of, decide, reported
from tests.factories import create_member


def applied_line(world, tenant) -> int:
    """A line asked for in an extension (as an accepted application leaves it)."""
    with tenant_scope(tenant):
        item = ScopeItem(cab_id=world.cab.id, accreditation_id=world.acc.id, position=9,
                         status="applied", fields={"discipline": "TEMP", "location": "A"},
                         summary="Thermometers, -40 to 150 °C")
        db.session.add(item)
        commit()
        return item.id


def refusal_rules(exc) -> list[str]:
    return [r.rule for r in exc.value.refusals]


def test_a_team_member_of_a_cited_assessment_cannot_decide_even_an_observer(
        world, decider, tenant_a):
    reported(world)
    with tenant_scope(tenant_a):
        member = db.session.execute(select(TeamAssignment).where(
            TeamAssignment.user_id == world.observer.id)).scalar_one()
        assert member.role == "observer"
        from accreditor.auth.models import Membership

        m = db.session.execute(select(Membership).where(
            Membership.user_id == world.observer.id)).scalar_one()
        m.set_roles([Role.assessor, Role.decision_maker])
        commit()
    with pytest.raises(DecisionRefused, match=r"rule 1\)") as exc:
        decide(world, world.observer, "maintain")
    assert refusal_rules(exc) == ["1"]


def test_a_consultant_never_decides(world, decider, tenant_a):
    reported(world)
    with tenant_scope(tenant_a):
        db.session.add(InterestDeclaration(
            user_id=decider.id, kind="consultancy", organisation="Another lab",
            started_on=TODAY - timedelta(days=900), ended_on=TODAY - timedelta(days=200)))
        commit()
    with pytest.raises(DecisionRefused, match=r"rule 2\)") as exc:
        decide(world, decider, "maintain")
    assert refusal_rules(exc) == ["2"]


def test_an_extension_is_refused_while_a_finding_is_open(world, decider, tenant_a):
    f = world.raise_finding("major")
    world.issue()
    reported(world, recommendation="extend")
    applied_line(world, tenant_a)
    with pytest.raises(DecisionRefused, match=r"rule 13\)") as exc:
        decide(world, decider, "extend")
    assert refusal_rules(exc) == ["13"]
    assert f.reference in str(exc.value.message)


def test_a_partial_suspension_names_a_line_and_has_a_type(world, decider, tenant_a):
    with pytest.raises(ValidationFailed) as exc:
        decide(world, decider, "suspend", input_ids=[], extent="partial")
    assert exc.value.field == "suspension_type"
    with pytest.raises(ValidationFailed) as exc:
        decide(world, decider, "suspend", input_ids=[], suspension_type="imposed")
    assert exc.value.field == "extent"
    with pytest.raises(DecisionRefused, match=r"rule 19\)"):
        decide(world, decider, "suspend", input_ids=[], suspension_type="imposed",
               extent="partial")


def test_a_suspension_keeps_the_cycle_and_a_new_schedule_issue_follows(world, decider,
                                                                       tenant_a):
    with tenant_scope(tenant_a):
        before = acc_of(world).cycle_end_on
    d = decide(world, decider, "suspend", input_ids=[], suspension_type="imposed",
               extent="full")
    with tenant_scope(tenant_a):
        acc = acc_of(world)
        assert (acc.status, acc.cycle_end_on) == ("suspended", before)  # rule 8
        assert d.max_end_on == TODAY + relativedelta(months=3)  # max_suspension_months
        versions = db.session.execute(select(ScheduleVersion)).scalars().all()
        assert [(v.issue_no, v.status) for v in versions] == [(1, "suspended")]
        assert d.schedule_issue == 1
        events = db.session.execute(select(ScopeEvent).where(
            ScopeEvent.decision_id == d.id)).scalars().all()
        assert [e.to_status for e in events] == ["suspended"]


def test_an_extension_while_fully_suspended_is_refused(world, decider):
    decide(world, decider, "suspend", input_ids=[], suspension_type="voluntary", extent="full")
    applied_line(world, world.tenant)
    reported(world, recommendation="extend")
    with pytest.raises(DecisionRefused, match=r"rule 21\)") as exc:
        decide(world, decider, "extend")
    assert "21" in refusal_rules(exc)


def test_the_initial_grant_starts_the_cycle_and_issues_schedule_1(applicant, decider, outbox,
                                                                  tenant_a):
    reported(applicant, recommendation="grant")
    d = decide(applicant, decider, "grant")
    with tenant_scope(tenant_a):
        acc = acc_of(applicant)
        assert (acc.status, acc.cycle_start_on, acc.initial_grant_on) == (
            "accredited", TODAY, TODAY)
        assert acc.number
        statuses = db.session.execute(select(ScopeItem.status).where(
            ScopeItem.accreditation_id == acc.id)).scalars().all()
        assert statuses == ["accredited"]
    assert d.schedule_issue == 1
    [msg] = outbox(applicant.cab_user.email)
    assert "grant" in msg.subject and "Schedule of accreditation: issue 1." in msg.text_body


def test_a_refusal_closes_the_application(applicant, decider, tenant_a):
    reported(applicant, recommendation="refuse")
    d = decide(applicant, decider, "refuse")
    with tenant_scope(tenant_a):
        assert acc_of(applicant).status == "refused"
    assert d.schedule_issue is None


def test_a_suspension_decision_settles_the_proposed_sanction(world, decider, tenant_a):
    with tenant_scope(tenant_a):
        tenant_services.update_policy(TenantPolicy.current(), grading_scheme="ilac_g20")
        commit()
    world.raise_finding("cat1")
    decide(world, decider, "suspend", input_ids=[], suspension_type="imposed", extent="partial",
           item_ids=world.item_ids[:1])
    with tenant_scope(tenant_a):
        assert db.session.execute(select(SanctionProposal.status)).scalar_one() == "decided"


def test_a_decision_on_a_reassessment_starts_the_next_cycle(world, decider, tenant_a):
    reported(world, recommendation="maintain", type_="reassessment")
    with tenant_scope(tenant_a):
        issue_schedule(acc_of(world), None)  # issue 1, showing the first cycle's end
        commit()
    d = decide(world, decider, "maintain")
    with tenant_scope(tenant_a):
        acc = acc_of(world)
        assert acc.cycle_start_on == TODAY
        assert acc.cycle_end_on.year - acc.cycle_start_on.year == 5
        end = acc.cycle_end_on
    # The certificate shows the cycle's end: the schedule is issued again (rule 28).
    assert d.schedule_issue is not None
    with tenant_scope(tenant_a):
        version = db.session.execute(select(ScheduleVersion).where(
            ScheduleVersion.issue_no == d.schedule_issue)).scalar_one()
        assert version.details["cycle_end_on"] == end.isoformat()
    # Citing the same reassessment again does not start yet another cycle, nor issue.
    again = decide(world, decider, "maintain", assessment_id=None, effective_on=TODAY)
    with tenant_scope(tenant_a):
        assert acc_of(world).cycle_end_on == end
    assert again.schedule_issue is None


def test_a_decision_cannot_take_effect_in_the_future(world, decider):
    reported(world)
    with pytest.raises(ValidationFailed) as exc:
        decide(world, decider, "maintain", effective_on=TODAY + timedelta(days=1))
    assert exc.value.field == "effective_on"


def test_a_committee_needs_its_members(world, decider, tenant_a):
    reported(world)
    with tenant_scope(tenant_a):
        tenant_services.update_policy(TenantPolicy.current(), decision_committee_size=2)
        commit()
    with pytest.raises(ValidationFailed) as exc:
        decide(world, decider, "maintain")
    assert exc.value.field == "maker_ids"
    other = create_member(tenant_a, "second@alpha.example.org", [Role.decision_maker])
    d = decide(world, decider, "maintain", maker_ids=[decider.id, other.id])
    assert d.kind == "maintain"


def test_a_suspension_past_its_maximum_is_flagged_once_for_the_manager(world, decider, outbox,
                                                                       tenant_a):
    from accreditor.decisions.jobs import suspension_deadlines

    d = decide(world, decider, "suspend", input_ids=[], suspension_type="imposed",
               extent="full")
    assert suspension_deadlines((d.max_end_on - timedelta(days=1)).isoformat()) == 0
    reached = d.max_end_on.isoformat()
    assert suspension_deadlines(reached) == 1
    assert suspension_deadlines(reached) == 0
    subjects = [m.subject for m in outbox(world.manager.email)]
    assert len([s for s in subjects if "reached its maximum" in s]) == 1


def test_a_reinstated_suspension_is_not_flagged(world, decider, tenant_a):
    from accreditor.decisions.jobs import suspension_deadlines

    d = decide(world, decider, "suspend", input_ids=[], suspension_type="financial",
               extent="full")
    with tenant_scope(tenant_a):
        from accreditor.scopes import services as scope_services

        scope_services.reinstate(acc_of(world), item_ids=world.item_ids,
                                 effective_on=TODAY + timedelta(days=5))
        commit()
    assert suspension_deadlines((d.max_end_on + timedelta(days=1)).isoformat()) == 0


def test_requiring_a_follow_up_plans_a_draft_follow_up_assessment(world, decider, tenant_a):
    from accreditor.assessments.models import Assessment

    reported(world, recommendation="further_assessment")
    decide(world, decider, "follow_up")
    with tenant_scope(tenant_a):
        [follow] = db.session.execute(select(Assessment).where(
            Assessment.type == "follow_up")).scalars().all()
        assert (follow.status, follow.accreditation_id, follow.location_codes) == (
            "draft", world.acc.id, ["A"])
        assert follow.planned_start_on > TODAY
        from accreditor.decisions import services

        assert services.queue() == []  # the recommendation is answered


def test_rule_1_covers_the_reports_awaiting_a_decision_even_when_not_cited(world, decider,
                                                                           tenant_a):
    from accreditor.auth.models import Membership

    reported(world, recommendation="suspend")
    with tenant_scope(tenant_a):
        m = db.session.execute(select(Membership).where(
            Membership.user_id == world.lead.id)).scalar_one()
        m.set_roles([Role.assessor, Role.decision_maker])
        commit()
    with pytest.raises(DecisionRefused, match=r"rule 1\)"):
        decide(world, world.lead, "withdraw", input_ids=[])


def test_refusing_some_requested_lines_keeps_the_application_open(applicant, decider, tenant_a):
    with tenant_scope(tenant_a):
        extra = ScopeItem(cab_id=applicant.cab.id, accreditation_id=applicant.acc.id,
                          position=9, status="applied", fields={"discipline": "TEMP"},
                          summary="Thermometers")
        db.session.add(extra)
        commit()
        extra_id = extra.id
    reported(applicant, recommendation="refuse")
    decide(applicant, decider, "refuse", item_ids=[extra_id])
    with tenant_scope(tenant_a):
        assert acc_of(applicant).status == "applicant"
        assert db.session.execute(select(ScopeItem.status).where(
            ScopeItem.id == extra_id)).scalar_one() == "refused"


def test_a_partial_suspension_settles_only_the_proposals_it_covers(world, decider, tenant_a):
    with tenant_scope(tenant_a):
        tenant_services.update_policy(TenantPolicy.current(), grading_scheme="ilac_g20")
        commit()
    with tenant_scope(tenant_a):
        other = ScopeItem(cab_id=world.cab.id, accreditation_id=world.acc.id, position=9,
                          status="accredited", fields={"discipline": "TEMP", "location": "A"},
                          summary="Thermometers")
        db.session.add(other)
        commit()
        other_id = other.id
    world.raise_finding("cat1", item_ids=[other_id])
    decide(world, decider, "suspend", input_ids=[], suspension_type="imposed", extent="partial",
           item_ids=world.item_ids[:1])
    with tenant_scope(tenant_a):
        assert db.session.execute(select(SanctionProposal.status)).scalar_one() == "proposed"


def test_a_line_suspended_again_runs_on_the_later_maximum(world, decider, tenant_a):
    from accreditor.decisions.jobs import suspension_deadlines

    first = decide(world, decider, "suspend", input_ids=[], suspension_type="imposed",
                   extent="full", effective_on=TODAY - timedelta(days=200))
    with tenant_scope(tenant_a):
        from accreditor.scopes import services as scope_services

        scope_services.reinstate(acc_of(world), item_ids=world.item_ids,
                                 effective_on=TODAY - timedelta(days=150))
        commit()
    decide(world, decider, "suspend", input_ids=[], suspension_type="voluntary", extent="full")
    assert suspension_deadlines((first.max_end_on + timedelta(days=1)).isoformat()) == 0


def test_a_17020_grant_without_ib_type_is_refused_rule_32(tenant_a, decider):
    from tests.factories import create_accreditation, create_cab
    from tests.scopes.test_details import IB_LINE

    cab = create_cab(tenant_a, "Crane Inspection Ltd", locations=(("A", "Head office"),))
    acc = create_accreditation(tenant_a, cab, "17020", lines=[IB_LINE])
    with tenant_scope(tenant_a):
        from accreditor.assessments import services as assessment_services
        from accreditor.scopes.models import Accreditation

        a = assessment_services.create_assessment(
            db.session.execute(select(Accreditation).where(Accreditation.id == acc.id))
            .scalar_one(), "initial", "onsite", TODAY - timedelta(days=20),
            TODAY - timedelta(days=19), ["A"])
        a.status, a.recommendation = "report_issued", "grant"
        commit()
        from accreditor.decisions import services

        with pytest.raises(DecisionRefused, match=r"rule 32\)"):
            services.record_decision(
                db.session.execute(select(Accreditation).where(Accreditation.id == acc.id))
                .scalar_one(), kind="grant", rationale="Reviewed.", effective_on=TODAY,
                maker_ids=[decider.id], input_ids=[a.id], assessment_id=a.id)


def test_a_reinstatement_decision_lifts_the_suspension_and_issues_the_next_schedule(
        world, decider, tenant_a):
    decide(world, decider, "suspend", input_ids=[], suspension_type="voluntary", extent="full")
    reported(world, recommendation="reinstate")
    d = decide(world, decider, "reinstate")
    with tenant_scope(tenant_a):
        assert acc_of(world).status == "accredited"
    assert d.schedule_issue == 2


def test_a_reinstatement_is_refused_when_the_last_onsite_visit_is_stale_rule_10(
        world, decider, tenant_a):
    from tests.findings.conftest import load_assessment

    decide(world, decider, "suspend", input_ids=[], suspension_type="imposed", extent="full")
    reported(world, recommendation="reinstate")
    with tenant_scope(tenant_a):
        a = load_assessment(world.assessment.id)
        a.planned_start_on = TODAY - timedelta(days=900)
        a.planned_end_on = TODAY - timedelta(days=899)
        commit()
    with pytest.raises(DecisionRefused, match=r"rule 10\)|Rule 10") as exc:
        decide(world, decider, "reinstate")
    assert "10" in refusal_rules(exc)
    with tenant_scope(tenant_a):
        assert acc_of(world).status == "suspended"


def test_a_partial_suspension_by_location_needs_a_location_of_the_cab(world, decider, tenant_a):
    with pytest.raises(ValidationFailed) as exc:
        decide(world, decider, "suspend", input_ids=[], suspension_type="imposed",
               extent="partial", location_codes=["Z"])
    assert exc.value.field == "location_codes"
    d = decide(world, decider, "suspend", input_ids=[], suspension_type="imposed",
               extent="partial", location_codes=["A"])
    with tenant_scope(tenant_a):
        assert acc_of(world).status == "suspended"  # its one line is performed at A
    assert d.location_codes == ["A"]


def test_an_extension_grants_only_lines_the_ab_has_accepted(world, decider, tenant_a):
    from accreditor.applications import services as applications
    from accreditor.applications.models import Application, ApplicationType
    from accreditor.refdata.services import programme_by_code

    with tenant_scope(tenant_a):
        app = applications.start_application(
            world.cab, type=ApplicationType.extension, programme=programme_by_code("17025-C"),
            accreditation=acc_of(world), summary="More pressure ranges.")
        commit()
        app_id = app.id
    with tenant_scope(tenant_a):
        received = db.session.execute(select(Application).where(
            Application.id == app_id)).scalar_one()
        received.status, received.submitted_at = "submitted", utcnow()  # not accepted
        line = ScopeItem(cab_id=world.cab.id, accreditation_id=world.acc.id, position=9,
                         status="applied", application_id=app_id,
                         fields={"discipline": "PRES", "location": "A"}, summary="Not accepted")
        db.session.add(line)
        commit()
        line_id = line.id
    reported(world, recommendation="extend")
    with pytest.raises(ValidationFailed) as exc:
        decide(world, decider, "extend", item_ids=[line_id])
    assert exc.value.field == "items"
