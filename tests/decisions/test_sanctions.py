"""Sanctions and the rest of the decision workflow: suspension extension and reinstatement tied
to a suspension (rule 18), resignation (rule 39), inactive status (rule 22), transition
deadlines (rule 29), follow-up hand-over. Each rule has a test that shows it refusing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.errors import Conflict, ValidationFailed
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions import jobs, requests
from accreditor.decisions.models import CabRequest, Decision
from accreditor.decisions.services import DecisionRefused
from accreditor.extensions import db
from accreditor.findings.models import Finding, SanctionProposal
from accreditor.refdata.models import Programme, StandardEdition
from accreditor.scopes.models import ScopeItem
from tests.decisions.conftest import TODAY, acc_of, decide, reported


def more_lines(world, tenant, n: int = 2) -> list[int]:
    """Accredited lines added to the world's scope; returns every line id."""
    with tenant_scope(tenant):
        for k in range(n):
            db.session.add(ScopeItem(cab_id=world.cab.id, accreditation_id=world.acc.id,
                                     position=10 + k, status="accredited",
                                     fields={"discipline": "TEMP", "location": "B"},
                                     summary=f"Thermometers {k}"))
        commit()
        return list(db.session.execute(select(ScopeItem.id).where(
            ScopeItem.accreditation_id == world.acc.id).order_by(ScopeItem.id)).scalars())


def status_of(world, tenant) -> str:
    db.session.expire_all()  # jobs run in a session of their own
    with tenant_scope(tenant):
        return acc_of(world).status


def suspend(world, maker, **kw):
    data = {"input_ids": [], "suspension_type": "imposed", "extent": "full"}
    data.update(kw)
    return decide(world, maker, "suspend", **data)


# -- suspension extension (rule 18) --------------------------------------------------------------


def test_a_suspension_is_extended_up_to_the_extended_maximum_and_not_beyond(world, decider,
                                                                           tenant_a):
    s = suspend(world, decider)
    limit = s.effective_on + relativedelta(months=9)
    with pytest.raises(DecisionRefused) as exc:
        decide(world, decider, "extend_suspension", input_ids=[], suspension_id=s.id,
               max_end_on=limit + timedelta(days=1))
    assert [r.code for r in exc.value.refusals] == ["beyond_extended_maximum"]
    assert "rule 18" in str(exc.value)
    e = decide(world, decider, "extend_suspension", input_ids=[], suspension_id=s.id,
               max_end_on=limit)
    assert (e.kind, e.suspension_id, e.max_end_on, e.schedule_issue) == (
        "extend_suspension", s.id, limit, None)
    # A second extension must move the maximum later.
    with pytest.raises(DecisionRefused) as exc:
        decide(world, decider, "extend_suspension", input_ids=[], suspension_id=s.id,
               max_end_on=limit - timedelta(days=1))
    assert [r.code for r in exc.value.refusals] == ["not_later"]


def test_an_extension_needs_a_current_suspension_and_a_new_maximum(world, decider):
    s = suspend(world, decider, suspension_type="financial")
    with pytest.raises(ValidationFailed) as exc:
        decide(world, decider, "extend_suspension", input_ids=[], suspension_id=s.id)
    assert exc.value.field == "max_end_on"
    reported(world, recommendation="reinstate")
    decide(world, decider, "reinstate", suspension_id=s.id)
    with pytest.raises(ValidationFailed) as exc:
        decide(world, decider, "extend_suspension", input_ids=[], suspension_id=s.id,
               max_end_on=s.max_end_on + timedelta(days=30))
    assert exc.value.field == "suspension_id"


def test_the_rule_18_job_runs_on_the_extended_maximum(world, decider, outbox):
    s = suspend(world, decider)
    e = decide(world, decider, "extend_suspension", input_ids=[], suspension_id=s.id,
               max_end_on=s.max_end_on + relativedelta(months=3))
    assert jobs.suspension_deadlines(s.max_end_on.isoformat()) == 0
    assert jobs.suspension_deadlines((e.max_end_on - timedelta(days=1)).isoformat()) == 0
    assert jobs.suspension_deadlines(e.max_end_on.isoformat()) == 1
    assert jobs.suspension_deadlines(e.max_end_on.isoformat()) == 0
    mails = [m for m in outbox(world.manager.email) if "reached its maximum" in m.subject]
    assert len(mails) == 1 and f"Suspension {s.id} " in mails[0].subject


def test_a_flagged_suspension_extended_is_flagged_again_on_its_new_maximum(world, decider):
    s = suspend(world, decider)
    assert jobs.suspension_deadlines(s.max_end_on.isoformat()) == 1
    e = decide(world, decider, "extend_suspension", input_ids=[], suspension_id=s.id,
               max_end_on=s.max_end_on + relativedelta(months=2))
    assert jobs.suspension_deadlines(e.max_end_on.isoformat()) == 1


# -- reinstatement tied to the suspension it lifts -------------------------------------------


def test_a_reinstatement_lifts_the_lines_of_the_suspension_it_names(world, decider, tenant_a):
    ids = more_lines(world, tenant_a)
    first = suspend(world, decider, extent="partial", item_ids=ids[:1])
    second = suspend(world, decider, extent="partial", item_ids=ids[1:2])
    reported(world, recommendation="reinstate")
    with pytest.raises(ValidationFailed) as exc:  # two current suspensions: say which
        decide(world, decider, "reinstate")
    assert exc.value.field == "suspension_id"
    with pytest.raises(ValidationFailed):  # a line of the other suspension
        decide(world, decider, "reinstate", suspension_id=first.id,
               item_ids=ids[1:2])
    r = decide(world, decider, "reinstate", suspension_id=first.id)
    assert r.suspension_id == first.id
    with tenant_scope(tenant_a):
        statuses = dict(db.session.execute(select(ScopeItem.id, ScopeItem.status).where(
            ScopeItem.id.in_(ids))).all())
    assert statuses == {ids[0]: "accredited", ids[1]: "suspended", ids[2]: "accredited"}
    # The first is closed: it cannot be lifted again; the second still can, by default.
    with pytest.raises(ValidationFailed):
        decide(world, decider, "reinstate", suspension_id=first.id)
    assert decide(world, decider, "reinstate").suspension_id == second.id


# -- resignation (rule 39) -------------------------------------------------------------------


def request(world, tenant, **kw):
    data = {"kind": "resignation", "reason": "We close the laboratory.", "extent": "full",
            "effective_on": TODAY + timedelta(days=90)}
    data.update(kw)
    with tenant_scope(tenant):
        req = requests.submit_request(acc_of(world), **data)
        commit()
        return req.id


def load_request(tenant, req_id) -> CabRequest:
    return db.session.execute(select(CabRequest).where(CabRequest.id == req_id)).scalar_one()


def test_a_resignation_needs_the_notice_period(world, tenant_a):
    with pytest.raises(ValidationFailed) as exc:
        request(world, tenant_a, effective_on=TODAY + timedelta(days=89))
    assert exc.value.field == "effective_on" and "rule 39" in exc.value.message
    assert request(world, tenant_a)


def test_an_accepted_resignation_withdraws_on_its_date_once(world, decider, tenant_a, outbox):
    req_id = request(world, tenant_a)
    on = TODAY + timedelta(days=90)
    with tenant_scope(tenant_a):
        assert requests.accept_resignation(load_request(tenant_a, req_id),
                                           maker_ids=[decider.id], rationale=None) is None
        commit()
    assert status_of(world, tenant_a) == "accredited"
    assert jobs.resignations_due((on - timedelta(days=1)).isoformat()) == 0
    assert jobs.resignations_due(on.isoformat()) == 1
    assert jobs.resignations_due(on.isoformat()) == 0
    assert status_of(world, tenant_a) == "voluntarily_withdrawn"
    with tenant_scope(tenant_a):
        d = db.session.execute(select(Decision).where(Decision.kind == "withdraw")).scalar_one()
        assert (d.effective_on, d.cab_request_id) == (on, req_id)
        assert load_request(tenant_a, req_id).status == "carried_out"
    assert any("accepted" in m.subject for m in outbox(world.cab_user.email))


def test_a_partial_resignation_withdraws_only_the_lines_named(world, decider, tenant_a):
    ids = more_lines(world, tenant_a)
    with pytest.raises(ValidationFailed) as exc:
        request(world, tenant_a, extent="partial", item_ids=[])
    assert exc.value.field == "item_ids"
    req_id = request(world, tenant_a, extent="partial", item_ids=ids[:1])
    with tenant_scope(tenant_a):
        requests.accept_resignation(load_request(tenant_a, req_id), maker_ids=[decider.id],
                                    rationale="Accepted.")
        commit()
    jobs.resignations_due((TODAY + timedelta(days=90)).isoformat())
    with tenant_scope(tenant_a):
        statuses = dict(db.session.execute(select(ScopeItem.id, ScopeItem.status).where(
            ScopeItem.id.in_(ids))).all())
        assert acc_of(world).status == "accredited"
    assert statuses == {ids[0]: "withdrawn", ids[1]: "accredited", ids[2]: "accredited"}


def test_a_partial_resignation_of_every_line_left_is_a_resignation(world, decider, tenant_a):
    ids = more_lines(world, tenant_a)
    req_id = request(world, tenant_a, extent="partial", item_ids=ids)
    with tenant_scope(tenant_a):
        requests.accept_resignation(load_request(tenant_a, req_id), maker_ids=[decider.id],
                                    rationale="Accepted.")
        commit()
    jobs.resignations_due((TODAY + timedelta(days=90)).isoformat())
    # Not "withdrawn" (what an imposed withdrawal says): the body resigned.
    assert status_of(world, tenant_a) == "voluntarily_withdrawn"


def test_a_certification_body_states_client_protection_before_acceptance(world, decider,
                                                                        tenant_a):
    with tenant_scope(tenant_a):
        acc_of(world).programme_id = db.session.execute(select(Programme.id).where(
            Programme.code == "17021-1")).scalar_one()
        commit()
    req_id = request(world, tenant_a)
    with tenant_scope(tenant_a), pytest.raises(Conflict) as exc:
        requests.accept_resignation(load_request(tenant_a, req_id), maker_ids=[decider.id],
                                    rationale=None)
    assert exc.value.code == "client_protection_missing" and "IAF MD 2" in exc.value.message
    db.session.rollback()
    with tenant_scope(tenant_a):
        requests.add_protection(load_request(tenant_a, req_id),
                                client_protection="Clients transferred to CB X under IAF MD 2.")
        requests.accept_resignation(load_request(tenant_a, req_id), maker_ids=[decider.id],
                                    rationale=None)
        commit()
        assert load_request(tenant_a, req_id).status == "accepted"


def test_the_cab_withdraws_its_request_before_it_takes_effect(world, decider, tenant_a):
    req_id = request(world, tenant_a)
    with tenant_scope(tenant_a):
        requests.accept_resignation(load_request(tenant_a, req_id), maker_ids=[decider.id],
                                    rationale=None)
        requests.withdraw_request(load_request(tenant_a, req_id))
        commit()
    assert jobs.resignations_due((TODAY + timedelta(days=120)).isoformat()) == 0
    assert status_of(world, tenant_a) == "accredited"
    with tenant_scope(tenant_a), pytest.raises(Conflict):
        requests.withdraw_request(load_request(tenant_a, req_id))


def test_acceptance_applies_rule_1_to_the_accepting_makers(world, tenant_a):
    from tests.decisions.test_views import make_decision_maker

    reported(world)  # a report awaiting a decision: its team does not decide
    make_decision_maker(tenant_a, world.lead)
    req_id = request(world, tenant_a)
    with tenant_scope(tenant_a), pytest.raises(DecisionRefused) as exc:
        requests.accept_resignation(load_request(tenant_a, req_id), maker_ids=[world.lead.id],
                                    rationale=None)
    assert [r.rule for r in exc.value.refusals] == ["1"]


# -- inactive status (rule 22) ---------------------------------------------------------------


def go_inactive(world, decider, tenant):
    req_id = request(world, tenant, kind="inactive", reason="No work for a year.")
    with tenant_scope(tenant):
        d = requests.approve_request(load_request(tenant, req_id), maker_ids=[decider.id],
                                     rationale="Approved on the CAB's written request.")
        commit()
        return d


def test_inactive_status_only_on_the_cabs_written_request(world, decider, tenant_a):
    with pytest.raises(DecisionRefused) as exc:
        decide(world, decider, "inactive", input_ids=[])
    assert [r.code for r in exc.value.refusals] == ["not_requested"]
    d = go_inactive(world, decider, tenant_a)
    assert (d.kind, d.schedule_issue) == ("inactive", 1)
    assert status_of(world, tenant_a) == "inactive"


def test_a_long_inactive_accreditation_gets_a_withdrawal_proposal_once(world, decider,
                                                                       tenant_a, outbox):
    d = go_inactive(world, decider, tenant_a)
    cap = d.effective_on + relativedelta(months=12)
    assert jobs.inactive_cap((cap - timedelta(days=1)).isoformat()) == 0
    assert jobs.inactive_cap(cap.isoformat()) == 1
    assert jobs.inactive_cap((cap + timedelta(days=1)).isoformat()) == 0
    with tenant_scope(tenant_a):
        p = db.session.execute(select(SanctionProposal)).scalar_one()
        assert (p.kind, p.source, p.finding_id, p.status) == (
            "withdrawal", "inactive_cap", None, "proposed")
    assert any("Proposed withdrawal" in m.subject for m in outbox(world.manager.email))
    # Reactivation ends it and answers the proposal.
    r = decide(world, decider, "reactivate", input_ids=[])
    assert r.schedule_issue == 2
    assert status_of(world, tenant_a) == "accredited"
    with tenant_scope(tenant_a):
        assert db.session.execute(select(SanctionProposal.status)).scalar_one() == "dismissed"


def test_reactivation_needs_an_inactive_accreditation(world, decider):
    with pytest.raises(DecisionRefused) as exc:
        decide(world, decider, "reactivate", input_ids=[])
    assert [r.code for r in exc.value.refusals] == ["not_inactive"]


def test_a_suspended_accreditation_cannot_ask_for_inactive_status(world, decider, tenant_a):
    suspend(world, decider)
    with pytest.raises(Conflict) as exc:
        request(world, tenant_a, kind="inactive", reason="Quiet year.")
    assert exc.value.code == "not_active"


# -- transition deadlines (rule 29) ----------------------------------------------------------


def test_an_accreditation_past_its_editions_transition_deadline_gets_one_proposal(
        world, tenant_a):
    with tenant_scope(tenant_a):
        acc = acc_of(world)
        old = db.session.execute(select(StandardEdition).where(
            StandardEdition.programme_id == acc.programme_id,
            StandardEdition.edition == "2005")).scalar_one()
        acc.edition_id = old.id  # still on the old edition; 2017 is current
        commit()
        old_id = old.id
    deadline = TODAY - timedelta(days=1)
    # No deadline set: nothing.
    assert jobs.transition_deadlines(TODAY.isoformat()) == 0
    with tenant_scope(tenant_a):
        db.session.execute(StandardEdition.__table__.update().where(
            StandardEdition.id == old_id).values(transition_deadline=deadline))
        commit()
    assert jobs.transition_deadlines(deadline.isoformat()) == 0  # not yet passed
    assert jobs.transition_deadlines(TODAY.isoformat()) == 1
    assert jobs.transition_deadlines((TODAY + timedelta(days=3)).isoformat()) == 0
    with tenant_scope(tenant_a):
        p = db.session.execute(select(SanctionProposal)).scalar_one()
        assert (p.kind, p.source, p.due_on) == ("suspension", "transition_deadline", deadline)


def test_an_accreditation_on_the_current_edition_is_not_proposed(world, tenant_a):
    with tenant_scope(tenant_a):
        acc = acc_of(world)
        db.session.execute(StandardEdition.__table__.update().where(
            StandardEdition.id == acc.edition_id).values(
            transition_deadline=TODAY - timedelta(days=10)))
        commit()
    # Its own edition is the current one: no newer edition to move to.
    assert jobs.transition_deadlines(TODAY.isoformat()) == 0


# -- follow-up -------------------------------------------------------------------------------


def test_a_follow_up_decision_hands_the_open_findings_to_the_new_assessment(world, decider,
                                                                          tenant_a):
    f = world.raise_finding("major")
    world.issue()
    reported(world, recommendation="further_assessment")
    decide(world, decider, "follow_up")
    with tenant_scope(tenant_a):
        finding = db.session.execute(select(Finding).where(Finding.id == f.id)).scalar_one()
        from accreditor.assessments.models import Assessment

        follow = db.session.execute(select(Assessment.id).where(
            Assessment.type == "follow_up")).scalar_one()
        assert finding.followed_up_in_id == follow
        assert "follow-up" in finding.follow_up_reason


def test_an_accepted_resignation_is_carried_out_after_its_maker_lost_the_role(
        world, decider, tenant_a):
    """The makers' eligibility was checked when they accepted; the job records their decision
    on its date even if one has since left the decision-maker role (not a daily failure)."""
    from accreditor.auth.models import Membership
    from accreditor.core.permissions import Role

    req_id = request(world, tenant_a)
    on = TODAY + timedelta(days=90)
    with tenant_scope(tenant_a):
        requests.accept_resignation(load_request(tenant_a, req_id), maker_ids=[decider.id],
                                    rationale=None)
        db.session.execute(select(Membership).where(
            Membership.user_id == decider.id)).scalar_one().set_roles([Role.assessor])
        commit()
    assert jobs.resignations_due(on.isoformat()) == 1
    assert status_of(world, tenant_a) == "voluntarily_withdrawn"
    with tenant_scope(tenant_a):
        assert load_request(tenant_a, req_id).status == "carried_out"


def test_a_suspension_at_its_maximum_proposes_the_withdrawal_of_its_lines_once(
        world, decider, tenant_a, client, login_as, outbox):
    ids = more_lines(world, tenant_a)
    s = suspend(world, decider, extent="partial", item_ids=ids[:1])
    assert jobs.suspension_deadlines(s.max_end_on.isoformat()) == 1
    assert jobs.suspension_deadlines(s.max_end_on.isoformat()) == 0
    with tenant_scope(tenant_a):
        p = db.session.execute(select(SanctionProposal)).scalar_one()
        assert (p.kind, p.source, p.status, p.due_on, p.scope_item_ids, p.finding_id) == (
            "withdrawal", "suspension_max", "proposed", s.max_end_on, ids[:1], None)
    # One mail (the job's own), not a second one for the proposal.
    assert len([m for m in outbox(world.manager.email) if "maximum" in m.subject]) == 1
    login_as(world.manager)
    body = client.get(f"/{tenant_a.slug}/findings/dashboard").get_data(as_text=True)
    assert "Suspension reached its maximum (rule 18)" in body
    # Extended and reached again: one more proposal, for the new maximum.
    e = decide(world, decider, "extend_suspension", input_ids=[], suspension_id=s.id,
               max_end_on=s.max_end_on + relativedelta(months=2))
    assert jobs.suspension_deadlines(e.max_end_on.isoformat()) == 1
    with tenant_scope(tenant_a):
        assert [p.due_on for p in db.session.execute(select(SanctionProposal).order_by(
            SanctionProposal.id)).scalars()] == [s.max_end_on, e.max_end_on]
    # Reducing the lines still suspended settles both.
    decide(world, decider, "reduce", input_ids=[], item_ids=ids[:1])
    with tenant_scope(tenant_a):
        assert {p.status for p in db.session.execute(select(SanctionProposal)).scalars()} == {
            "decided"}
