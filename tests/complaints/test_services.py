"""The complaint workflow: the transition table, rule 25 (referral to the CAB first unless a
reason is recorded; approval by someone not involved), due dates, notices, and the audit trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from accreditor.cabs.models import Cab
from accreditor.complaints import services
from accreditor.complaints.models import TRANSITIONS, ComplaintEntry, ComplaintStatus
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from accreditor.core.tenancy import tenant_scope
from accreditor.core.workdays import add_working_days
from accreditor.extensions import db

S = ComplaintStatus


def actions(cw, c) -> list[str]:
    with tenant_scope(cw.tenant):
        return list(db.session.execute(
            select(AuditEvent.action).where(AuditEvent.object_type == "Complaint",
                                            AuditEvent.object_id == str(c.id))
            .order_by(AuditEvent.seq)).scalars())


# -- due dates ------------------------------------------------------------------------------------


def test_due_dates_follow_the_tenant_settings(cw):
    friday = date(2026, 11, 27)
    c = cw.file(received_on=friday, event_on=friday - timedelta(days=1), today=friday)
    assert c.ack_due_on == add_working_days(friday, 5) == date(2026, 12, 4)
    assert c.resolution_due_on == friday + timedelta(days=90)
    c = cw.step(c.id, services.acknowledge)
    c = cw.step(c.id, services.refer_to_cab, today=date(2026, 12, 1))
    assert c.cab_response_due_on == date(2026, 12, 1) + timedelta(days=90)


def test_overdue_flags_each_late_step(cw):
    c = cw.file()
    assert c.overdue_steps(c.ack_due_on) == []
    assert c.overdue_steps(c.ack_due_on + timedelta(days=1)) == [("acknowledgement", c.ack_due_on)]
    c = cw.step(c.id, services.acknowledge)
    c = cw.step(c.id, services.refer_to_cab)
    late = c.cab_response_due_on + timedelta(days=1)
    assert ("cab_response", c.cab_response_due_on) in c.overdue_steps(late)
    assert ("resolution", c.resolution_due_on) in c.overdue_steps(late)
    c = cw.step(c.id, services.respond_as_cab, text="Fixed.")
    assert [s for s, _d in c.overdue_steps(late)] == ["resolution"]


# -- the whole path ---------------------------------------------------------------------------------


def test_the_full_path_is_audited_and_ends_with_the_formal_notice(cw, outbox):
    c = cw.to_proposed(cw.file())
    c = cw.step(c.id, services.approve_decision, approved_by_id=cw.decider.id)
    c = cw.step(c.id, services.close_complaint)
    assert c.status == S.closed and c.closed_at is not None
    assert actions(cw, c) == [
        "complaint.received", "complaint.acknowledged", "complaint.referred",
        "complaint.cab_responded", "complaint.investigation_started",
        "complaint.decision_proposed", "complaint.decision_approved", "complaint.closed"]
    subjects = [m.subject for m in outbox("carla@example.net")]
    assert subjects[-1] == f"Complaint {c.reference}: our decision"
    notice = outbox("carla@example.net")[-1].text_body
    assert "Partly upheld" in notice and "the CAB corrected it" in notice
    assert "Follow up at the next surveillance." in notice
    # The CAB's users were asked to answer; the handler heard of the answer
    assert [m.subject for m in outbox(cw.w.cab_user.email)] == [
        f"Complaint {c.reference} referred to you"]


def test_free_text_stays_out_of_the_audit_trail(cw):
    """Decision text, actions, rejection reasons and withdrawal notes may name people: they stay
    on the complaint and its thread (which can be erased), not in the immutable audit log."""
    secrets = {"decision": "Mr Jones at the lab admitted the error to Carla.",
               "actions": "Ask Mrs Smith to re-issue certificate 123.",
               "reject": "Carla's neighbour, Bob Brown, made this complaint before.",
               "withdraw": "Carla phoned from her mobile 07700 900123 to withdraw."}
    decided = cw.to_investigation(cw.file())
    cw.step(decided.id, services.propose_decision, outcome="upheld",
            decision_text=secrets["decision"], actions=secrets["actions"])
    rejected = cw.step(cw.file().id, services.reject_complaint, reason=secrets["reject"])
    withdrawn = cw.step(cw.file().id, services.withdraw_complaint, note=secrets["withdraw"])
    with tenant_scope(cw.tenant):
        events = {e.action: e.changes for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.object_type == "Complaint",
                                     AuditEvent.object_id.in_(
                                         [str(decided.id), str(rejected.id),
                                          str(withdrawn.id)]))).scalars()}
        thread = " ".join(b or "" for b in db.session.execute(select(ComplaintEntry.body).where(
            ComplaintEntry.complaint_id.in_([rejected.id, withdrawn.id]))).scalars())
    assert {"complaint.decision_proposed", "complaint.rejected",
            "complaint.withdrawn"} <= set(events)
    assert events["complaint.withdrawn"]["status"][1] == "withdrawn"  # the step is recorded
    logged = str(events)
    for text in secrets.values():
        assert text not in logged
    assert secrets["reject"] in thread and secrets["withdraw"] in thread


def test_a_complaint_about_the_ab_goes_straight_to_investigation(cw):
    c = cw.file(subject="ab")
    c = cw.step(c.id, services.acknowledge)
    with tenant_scope(cw.tenant), pytest.raises(Conflict):
        services.refer_to_cab(cw.load(c.id))
    db.session.rollback()
    c = cw.step(c.id, services.start_investigation, investigator_id=cw.w.outsider.id)
    assert c.status == S.investigating and c.referral_skipped_reason is None


# -- rule 25: the CAB first --------------------------------------------------------------------------


def test_skipping_the_referral_without_a_reason_is_refused(cw):
    c = cw.step(cw.file().id, services.acknowledge)
    with tenant_scope(cw.tenant), pytest.raises(ValidationFailed) as exc:
        services.start_investigation(cw.load(c.id), investigator_id=cw.w.outsider.id,
                                     skip_referral_reason="  ")
    assert exc.value.field == "skip_referral_reason" and "rule 25" in exc.value.message
    db.session.rollback()
    assert cw.load(c.id).status == S.acknowledged


def test_skipping_the_referral_with_a_reason_is_recorded(cw):
    c = cw.step(cw.file().id, services.acknowledge)
    c = cw.step(c.id, services.start_investigation, investigator_id=cw.w.outsider.id,
                skip_referral_reason="The complaint alleges fraud by the CAB's director.")
    assert c.status == S.investigating and c.referred_at is None
    assert c.referral_skipped_reason.startswith("The complaint alleges fraud")


def test_the_investigation_waits_for_the_cabs_answer_or_its_due_date(cw):
    c = cw.step(cw.file().id, services.acknowledge)
    c = cw.step(c.id, services.refer_to_cab)
    with tenant_scope(cw.tenant), pytest.raises(Conflict) as exc:
        services.start_investigation(cw.load(c.id), investigator_id=cw.w.outsider.id)
    assert "has until" in exc.value.message
    db.session.rollback()
    after_due = cw.load(c.id).cab_response_due_on + timedelta(days=1)
    c = cw.step(c.id, services.start_investigation, investigator_id=cw.w.outsider.id,
                today=after_due)
    assert c.status == S.investigating


def test_the_investigator_must_be_staff(cw):
    c = cw.step(cw.file(subject="ab").id, services.acknowledge)
    with tenant_scope(cw.tenant), pytest.raises(ValidationFailed) as exc:
        services.start_investigation(cw.load(c.id), investigator_id=cw.w.cab_user.id)
    assert exc.value.field == "investigator_id"


# -- rule 25: approval by someone not involved ---------------------------------------------------------


def _approve(cw, c, user):
    with tenant_scope(cw.tenant):
        services.approve_decision(cw.load(c.id), approved_by_id=user.id)
        commit()


def test_the_investigator_cannot_approve(cw):
    c = cw.to_proposed(cw.file(), investigator=cw.w.outsider)
    with pytest.raises(PermissionDenied) as exc:
        _approve(cw, c, cw.w.outsider)
    assert "you investigated this complaint" in exc.value.message
    assert "rule 25" in exc.value.message
    db.session.rollback()
    assert cw.load(c.id).status == S.decision_proposed


@pytest.mark.parametrize("member", ["lead", "assessor", "expert", "observer"])
def test_a_member_of_an_assessment_team_of_the_cab_cannot_approve(cw, member):
    c = cw.to_proposed(cw.file())
    with pytest.raises(PermissionDenied) as exc:
        _approve(cw, c, getattr(cw.w, member))
    assert "assessment team of this CAB" in exc.value.message and "rule 25" in exc.value.message
    db.session.rollback()
    assert cw.load(c.id).status == S.decision_proposed


def test_a_team_member_of_another_cab_may_approve(cw):
    """The other CAB's lead is on no team of this CAB."""
    c = cw.to_proposed(cw.file())
    _approve(cw, c, cw.other.lead)
    assert cw.load(c.id).status == S.decision_approved


def test_a_team_member_from_before_the_cycle_may_approve(cw):
    from accreditor.assessments.models import Assessment

    c = cw.to_proposed(cw.file())
    with tenant_scope(cw.tenant):
        a = db.session.execute(select(Assessment).where(
            Assessment.id == cw.w.assessment.id)).scalar_one()
        a.planned_start_on = date.today() - timedelta(days=6 * 365)
        a.planned_end_on = date.today() - timedelta(days=6 * 365 - 2)
        commit()
    _approve(cw, c, cw.w.lead)
    assert cw.load(c.id).status == S.decision_approved


def test_the_case_manager_of_the_cab_cannot_approve(cw):
    c = cw.to_proposed(cw.file())
    with tenant_scope(cw.tenant):
        db.session.execute(select(Cab).where(Cab.id == cw.w.cab.id)).scalar_one().manager_id = \
            cw.decider.id
        commit()
    with pytest.raises(PermissionDenied) as exc:
        _approve(cw, c, cw.decider)
    assert "case manager" in exc.value.message
    db.session.rollback()


def test_an_independent_decision_maker_approves(cw):
    c = cw.to_proposed(cw.file())
    _approve(cw, c, cw.decider)
    c = cw.load(c.id)
    assert c.status == S.decision_approved and c.approved_by_id == cw.decider.id


def test_an_approver_may_send_the_decision_back_with_a_reason(cw):
    c = cw.to_proposed(cw.file())
    with tenant_scope(cw.tenant), pytest.raises(ValidationFailed):
        services.return_to_investigation(cw.load(c.id), reason="")
    db.session.rollback()
    c = cw.step(c.id, services.return_to_investigation, reason="Ask the complainant for the "
                "certificate number.")
    assert c.status == S.investigating


# -- the transition table ----------------------------------------------------------------------------


def test_the_transition_table_has_no_way_out_of_a_final_state():
    for final in (S.closed, S.rejected, S.withdrawn):
        assert TRANSITIONS[final] == frozenset()
    assert S.closed in TRANSITIONS[S.decision_approved]
    assert S.closed not in TRANSITIONS[S.decision_proposed]


# name → (call(complaint, cw), the states it runs in, the state it leads to)
LATER = date.today() + timedelta(days=365)  # past any CAB answer date
USE_CASES = {
    "acknowledge": (lambda c, cw: services.acknowledge(c), {S.received}, S.acknowledged),
    "refer": (lambda c, cw: services.refer_to_cab(c), {S.acknowledged}, S.referred),
    "investigate": (lambda c, cw: services.start_investigation(
        c, investigator_id=cw.w.outsider.id, skip_referral_reason="r", today=LATER),
        {S.acknowledged, S.referred}, S.investigating),
    "propose": (lambda c, cw: services.propose_decision(c, outcome="upheld", decision_text="d"),
                {S.investigating}, S.decision_proposed),
    "approve": (lambda c, cw: services.approve_decision(c, approved_by_id=cw.decider.id),
                {S.decision_proposed}, S.decision_approved),
    "return": (lambda c, cw: services.return_to_investigation(c, reason="r"),
               {S.decision_proposed}, S.investigating),
    "close": (lambda c, cw: services.close_complaint(c), {S.decision_approved}, S.closed),
    "reject": (lambda c, cw: services.reject_complaint(c, reason="r"),
               {S.received, S.acknowledged}, S.rejected),
    "withdraw": (lambda c, cw: services.withdraw_complaint(c, note="n"),
                 {s for s in S if s not in (S.closed, S.rejected, S.withdrawn)}, S.withdrawn),
}


def test_every_use_case_outside_its_states_is_refused_with_409(cw, in_each_state):
    refused = 0
    for name, (call, allowed, _to) in USE_CASES.items():
        for state, c in in_each_state.items():
            if state in allowed:
                continue
            with tenant_scope(cw.tenant):
                loaded = cw.load(c.id)
                with pytest.raises(InvalidTransition) as exc:
                    call(loaded, cw)
                assert exc.value.status == 409, (name, state)
                db.session.rollback()
            assert cw.load(c.id).status == state.value, (name, state)
            refused += 1
    assert refused > 50


def test_every_use_case_runs_in_each_of_its_states(cw, in_each_state):
    """The other half of the table: each use case succeeds wherever it is said to run (a
    withdrawal after the approved decision included)."""
    ran = 0
    for name, (call, allowed, to) in USE_CASES.items():
        assert to in {t for s in allowed for t in TRANSITIONS[s]}, name
        for state in allowed:
            with tenant_scope(cw.tenant):
                loaded = cw.load(in_each_state[state].id)
                call(loaded, cw)
                db.session.flush()
                assert loaded.status == to.value, (name, state)
                db.session.rollback()
            assert cw.load(in_each_state[state].id).status == state.value
            ran += 1
    assert ran == sum(len(allowed) for _c, allowed, _t in USE_CASES.values())


def test_the_complainant_may_withdraw_after_the_decision_is_approved(cw, in_each_state, outbox):
    c = cw.step(in_each_state[S.decision_approved].id, services.withdraw_complaint,
                note="Told us by phone they no longer want the decision.")
    assert c.status == S.withdrawn
    assert outbox("carla@example.net")[-1].subject == f"Complaint {c.reference} withdrawn"


def test_notes_and_updates_are_kept_in_the_thread(cw, outbox):
    c = cw.file()
    cw.step(c.id, services.add_note, body="Called the complainant.")
    cw.step(c.id, services.send_update, body="We are still looking into it.")
    with tenant_scope(cw.tenant):
        kinds = [(e.kind, e.body) for e in db.session.execute(
            select(ComplaintEntry).where(ComplaintEntry.complaint_id == c.id)
            .order_by(ComplaintEntry.id)).scalars()]
    assert kinds == [("step", None), ("note", "Called the complainant."),
                     ("update", "We are still looking into it.")]
    assert outbox("carla@example.net")[-1].subject == f"Complaint {c.reference}: progress"
    assert "We are still looking into it." in outbox("carla@example.net")[-1].text_body
    assert "Called the complainant." not in "".join(m.text_body for m in outbox())


def test_rejection_needs_a_reason_and_tells_the_complainant(cw, outbox):
    c = cw.file()
    with tenant_scope(cw.tenant), pytest.raises(ValidationFailed):
        services.reject_complaint(cw.load(c.id), reason=" ")
    db.session.rollback()
    cw.step(c.id, services.reject_complaint, reason="It is about a product, not accreditation.")
    assert "It is about a product" in outbox("carla@example.net")[-1].text_body
