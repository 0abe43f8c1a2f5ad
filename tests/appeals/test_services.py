"""Appeal rules (23, 24), the stages, deadlines in working days, independence of the handler and
the panel, and the audit trail — through the services, as the system."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from accreditor.appeals import services
from accreditor.appeals.models import Appeal, AppealKind, AppealStatus
from accreditor.assessments.models import TeamAssignment
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.errors import Conflict, ValidationFailed
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import Decision, ScheduleVersion
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation, ScopeItem
from tests.appeals.conftest import (
    issued_nc,
    load_appeal,
    lodge,
    notified_days_ago,
    set_policy,
    step,
    to_review,
)
from tests.factories import create_member

S = AppealStatus
FRIDAY = date(2026, 1, 9)


# -- lodging (rules 23, 24) ----------------------------------------------------------------------


def test_an_appeal_lodged_in_time_gets_a_reference_and_an_acknowledgement_date(world, decision):
    appeal = lodge(world, decision.id)
    assert appeal.kind == "appeal" and appeal.status == "lodged"
    assert appeal.reference == f"A-{date.today().year}-0001"
    second = lodge(world, issued_nc(world).id, finding=True)
    assert second.reference == f"A-{date.today().year}-0002"


def test_an_appeal_after_the_window_is_refused(world, decision):
    notified_days_ago(world, decision.id, 40)  # the window is one month
    with pytest.raises(Conflict, match="Rule 23: .* within 1 month") as exc:
        lodge(world, decision.id)
    assert exc.value.code == "appeal_window_closed"
    db.session.rollback()
    with tenant_scope(world.tenant):
        assert db.session.execute(select(func.count(Appeal.id))).scalar_one() == 0


def test_the_window_is_the_tenants_setting(world, decision):
    notified_days_ago(world, decision.id, 40)
    set_policy(world, appeal_window_months=2)
    assert lodge(world, decision.id).status == "lodged"


def test_the_window_of_a_nonconformity_runs_from_its_issue(world):
    finding = issued_nc(world)
    later = finding.issued_at.date() + relativedelta(months=1) + timedelta(days=1)
    with pytest.raises(Conflict, match="Rule 23"):
        lodge(world, finding.id, finding=True, today=later)


def test_an_nc_appeal_is_refused_when_ncs_are_not_appealable_and_a_challenge_is_offered(world):
    finding = issued_nc(world)
    with pytest.raises(Conflict, match="Rule 24") as exc:
        lodge(world, finding.id, finding=True, kind="appeal")
    assert exc.value.code == "nc_not_appealable"
    db.session.rollback()
    challenge = lodge(world, finding.id, finding=True)
    assert challenge.kind == AppealKind.challenge


def test_an_nc_appeal_is_allowed_when_ncs_are_appealable(world):
    set_policy(world, nc_appealable=True)
    finding = issued_nc(world)
    appeal = lodge(world, finding.id, finding=True, kind="appeal")
    assert appeal.kind == AppealKind.appeal
    with pytest.raises(Conflict, match="Rule 24"):
        lodge(world, finding.id, finding=True, kind="challenge")


def test_a_decision_is_never_challenged(world, decision):
    with pytest.raises(Conflict, match="Rule 24"):
        lodge(world, decision.id, kind="challenge")


def test_one_open_appeal_per_subject(world, decision):
    first = lodge(world, decision.id)
    with pytest.raises(Conflict, match=f"Rule 23: appeal {first.reference} .* still open"):
        lodge(world, decision.id)


def test_a_withdrawn_appeal_cannot_be_re_raised(world, decision):
    appeal = lodge(world, decision.id)
    step(world, appeal.id, services.withdraw_appeal, reason="We settled it with the manager.")
    assert load_appeal(world, appeal.id).status == "withdrawn"
    with pytest.raises(Conflict, match="withdrawn appeal cannot be re-raised") as exc:
        lodge(world, decision.id)
    assert exc.value.code == "appeal_withdrawn_before"


def test_a_decided_appeal_is_not_lodged_again_but_goes_to_the_panel(world, decision, handler):
    appeal = lodge(world, decision.id)
    to_review(world, appeal.id, handler.id)
    step(world, appeal.id, services.record_outcome, outcome="upheld", reasons="Sound.")
    step(world, appeal.id, services.close_appeal)  # closed, the window still open
    with pytest.raises(Conflict, match=f"Rule 23: appeal {appeal.reference} .* stage-2 panel "
                                       "review") as exc:
        lodge(world, decision.id)
    assert exc.value.code == "appeal_decided_before"
    db.session.rollback()
    with tenant_scope(world.tenant):
        assert db.session.execute(select(func.count(Appeal.id))).scalar_one() == 1


def test_the_numbering_continues_after_appeals_numbered_before_the_counter(world, decision):
    """Appeals lodged before the locked counter existed are not numbered again."""
    from accreditor.scopes.models import NumberCounter

    first = lodge(world, decision.id)
    with tenant_scope(world.tenant):
        db.session.execute(select(NumberCounter).where(
            NumberCounter.key == f"appeal-{date.today().year}")).scalar_one()
        db.session.query(NumberCounter).filter(
            NumberCounter.key == f"appeal-{date.today().year}").delete()
        commit()
    second = lodge(world, issued_nc(world).id, finding=True)
    assert first.reference.endswith("-0001") and second.reference.endswith("-0002")


def test_grounds_are_required_and_bounded(world, decision):
    with pytest.raises(ValidationFailed) as exc:
        lodge(world, decision.id, grounds="   ")
    assert exc.value.field == "grounds"
    with pytest.raises(ValidationFailed):
        lodge(world, decision.id, grounds="x" * 20_001)


# -- deadlines in working days ----------------------------------------------------------------------


def test_acknowledgement_and_outcome_are_due_in_working_days(world, decision):
    appeal = lodge(world, decision.id, today=FRIDAY)
    assert appeal.ack_due_on == date(2026, 1, 13)  # Friday + 2 working days = Tuesday
    step(world, appeal.id, services.acknowledge_appeal, today=FRIDAY)
    assert load_appeal(world, appeal.id).outcome_due_on == date(2026, 1, 27)  # + 12
    assert not load_appeal(world, appeal.id).overdue_on(date(2026, 1, 27))
    assert load_appeal(world, appeal.id).overdue_on(date(2026, 1, 28))


def test_the_acknowledgement_is_overdue_after_its_date(world, decision):
    appeal = lodge(world, decision.id, today=FRIDAY)
    assert not appeal.overdue_on(date(2026, 1, 13))
    assert appeal.ack_overdue_on(date(2026, 1, 14))


# -- independence of the handler (rule 23) ----------------------------------------------------------


def test_the_handler_who_took_the_decision_is_refused(world, decision, decider):
    appeal = lodge(world, decision.id)
    step(world, appeal.id, services.acknowledge_appeal)
    with pytest.raises(Conflict, match="Rule 23: the handler .* took the appealed decision"):
        step(world, appeal.id, services.assign_handler, handler_id=decider.id)


def _staff_on_team(world, role: str, email: str):
    """A manager who was also on the assessment's team in ``role``."""
    user = create_member(world.tenant, email, [Role.manager, Role.assessor], name=f"Team {role}")
    with tenant_scope(world.tenant):
        db.session.add(TeamAssignment(assessment_id=world.assessment.id, cab_id=world.cab.id,
                                      user_id=user.id, role=role))
        commit()
    return user


@pytest.mark.parametrize("role", ["lead", "observer", "technical_expert"])
def test_a_handler_on_the_team_of_a_cited_assessment_is_refused(world, decider, role):
    member = _staff_on_team(world, role, f"{role}-mgr@alpha.example.org")
    from tests.decisions.conftest import decide, reported

    reported(world)
    decision = decide(world, decider, "maintain")
    appeal = lodge(world, decision.id)
    step(world, appeal.id, services.acknowledge_appeal)
    with pytest.raises(Conflict, match=rf"Rule 23: .*was on the team \({role.replace('_', ' ')}\)"):
        step(world, appeal.id, services.assign_handler, handler_id=member.id)


def test_a_handler_on_the_team_that_raised_the_nonconformity_is_refused(world):
    member = _staff_on_team(world, "observer", "obs-mgr@alpha.example.org")
    finding = issued_nc(world)
    appeal = lodge(world, finding.id, finding=True)
    step(world, appeal.id, services.acknowledge_appeal)
    with pytest.raises(Conflict, match="Rule 23"):
        step(world, appeal.id, services.assign_handler, handler_id=member.id)


def test_an_independent_handler_is_named_and_told(world, decision, handler, outbox):
    appeal = lodge(world, decision.id)
    to_review(world, appeal.id, handler.id)
    after = load_appeal(world, appeal.id)
    assert after.status == "under_review" and after.handler_id == handler.id
    assert any(appeal.reference in m.subject for m in outbox(handler.email))


def test_the_handler_choices_leave_out_the_involved_and_say_why(world, decision, decider,
                                                                handler):
    appeal = lodge(world, decision.id)
    with tenant_scope(world.tenant):
        eligible, ineligible = services.candidates(load_appeal(world, appeal.id))
    assert handler.id in [uid for uid, _n in eligible]
    why = {uid: reason for uid, _n, reason in ineligible}
    assert why[decider.id] == "took the appealed decision"
    assert decider.id not in [uid for uid, _n in eligible]


# -- the outcome leaves the decision in force (rule 23) ------------------------------------------------


def _scope_state(world):
    db.session.expire_all()
    with tenant_scope(world.tenant):
        return (
            db.session.execute(select(Decision.id, Decision.kind, Decision.effective_on,
                                      Decision.rationale, Decision.schedule_issue)
                               .order_by(Decision.id)).all(),
            db.session.execute(select(ScopeItem.id, ScopeItem.status).order_by(ScopeItem.id)
                               ).all(),
            db.session.execute(select(Accreditation.status)
                               .where(Accreditation.id == world.acc.id)).scalar_one(),
            db.session.execute(select(func.count(ScheduleVersion.id))).scalar_one(),
        )


def test_an_overturned_outcome_changes_neither_the_decision_nor_the_scope(world, decision,
                                                                         handler, outbox):
    before = _scope_state(world)
    appeal = lodge(world, decision.id)
    to_review(world, appeal.id, handler.id)
    step(world, appeal.id, services.record_outcome, outcome="overturned",
         reasons="The records were complete.")
    after = load_appeal(world, appeal.id)
    assert after.status == "decided" and after.outcome == "overturned"
    assert _scope_state(world) == before
    assert any("Outcome" in m.subject for m in outbox(world.cab_user.email))


def test_an_outcome_needs_its_reasons_and_a_known_result(world, decision, handler):
    appeal = lodge(world, decision.id)
    to_review(world, appeal.id, handler.id)
    with pytest.raises(ValidationFailed) as exc:
        step(world, appeal.id, services.record_outcome, outcome="upheld", reasons=" ")
    assert exc.value.field == "reasons"
    db.session.rollback()
    with pytest.raises(ValidationFailed) as exc:
        step(world, appeal.id, services.record_outcome, outcome="maybe", reasons="x")
    assert exc.value.field == "outcome"


def test_an_appeal_cannot_be_withdrawn_after_its_outcome(world, decision, handler):
    appeal = lodge(world, decision.id)
    to_review(world, appeal.id, handler.id)
    step(world, appeal.id, services.record_outcome, outcome="upheld", reasons="Sound.")
    with pytest.raises(Conflict, match="can no longer be withdrawn"):
        step(world, appeal.id, services.withdraw_appeal, reason="Too late")


# -- stage 2 ------------------------------------------------------------------------------------------


def _decided(world, decision, handler, *, today=None) -> Appeal:
    appeal = lodge(world, decision.id)
    to_review(world, appeal.id, handler.id)
    step(world, appeal.id, services.record_outcome, outcome="upheld", reasons="Sound.",
         today=today)
    return load_appeal(world, appeal.id)


def test_a_panel_review_after_three_months_is_refused(world, decision, handler):
    outcome_on = date.today()
    appeal = _decided(world, decision, handler, today=outcome_on)
    late = outcome_on + relativedelta(months=3) + timedelta(days=1)
    with pytest.raises(Conflict, match="within 3 month") as exc:
        step(world, appeal.id, services.request_review, reason="Unfair.", today=late)
    assert exc.value.code == "review_window_closed"
    db.session.rollback()
    step(world, appeal.id, services.request_review, reason="Unfair.",
         today=outcome_on + relativedelta(months=3))
    assert load_appeal(world, appeal.id).status == "review_requested"


def test_a_closed_appeal_may_still_go_to_the_panel_once(world, decision, handler):
    appeal = _decided(world, decision, handler)
    step(world, appeal.id, services.close_appeal)
    step(world, appeal.id, services.request_review, reason="Unfair.")
    with pytest.raises(Conflict):
        step(world, appeal.id, services.request_review, reason="Again.")


def _managers(world, n: int):
    return [create_member(world.tenant, f"panel{i}@alpha.example.org", [Role.manager],
                          name=f"Panel {i}") for i in range(n)]


def test_the_panel_excludes_the_stage_one_handler_and_the_decision_makers(world, decision,
                                                                           decider, handler):
    appeal = _decided(world, decision, handler)
    step(world, appeal.id, services.request_review, reason="Unfair.")
    a, b, c = _managers(world, 3)
    with pytest.raises(Conflict, match="Rule 23: a panel member .* handled stage 1"):
        step(world, appeal.id, services.appoint_panel, chair_id=handler.id,
             member_ids=[a.id, b.id])
    db.session.rollback()
    with pytest.raises(Conflict, match="Rule 23: a panel member .* took the appealed decision"):
        step(world, appeal.id, services.appoint_panel, chair_id=a.id,
             member_ids=[b.id, decider.id])
    db.session.rollback()
    with pytest.raises(ValidationFailed, match="exactly 2"):
        step(world, appeal.id, services.appoint_panel, chair_id=a.id, member_ids=[b.id])
    db.session.rollback()
    step(world, appeal.id, services.appoint_panel, chair_id=a.id, member_ids=[b.id, c.id])
    assert load_appeal(world, appeal.id).status == "panel_review"
    step(world, appeal.id, services.record_panel_outcome, outcome="partly_upheld",
         reasons="The suspension stands for line 2 only.")
    final = load_appeal(world, appeal.id)
    assert final.status == "closed" and final.panel_outcome == "partly_upheld"


def test_the_panel_excludes_a_handler_replaced_during_stage_one(world, decision, handler):
    appeal = lodge(world, decision.id)
    to_review(world, appeal.id, handler.id)
    a, b, c, d = _managers(world, 4)
    step(world, appeal.id, services.assign_handler, handler_id=a.id)  # handler is replaced
    step(world, appeal.id, services.record_outcome, outcome="upheld", reasons="Sound.")
    step(world, appeal.id, services.request_review, reason="Unfair.")
    with tenant_scope(world.tenant):
        _eligible, ineligible = services.candidates(load_appeal(world, appeal.id), panel=True)
    assert (handler.id, handler.name, "handled stage 1 of this appeal") in ineligible
    with pytest.raises(Conflict, match="Rule 23: a panel member .* handled stage 1"):
        step(world, appeal.id, services.appoint_panel, chair_id=handler.id,
             member_ids=[b.id, c.id])
    db.session.rollback()
    step(world, appeal.id, services.appoint_panel, chair_id=b.id, member_ids=[c.id, d.id])
    assert load_appeal(world, appeal.id).status == "panel_review"


# -- the audit trail ------------------------------------------------------------------------------------


def test_every_transition_is_audited(world, decision, handler):
    appeal = _decided(world, decision, handler)
    step(world, appeal.id, services.close_appeal)
    step(world, appeal.id, services.request_review, reason="Unfair.")
    a, b, c = _managers(world, 3)
    step(world, appeal.id, services.appoint_panel, chair_id=a.id, member_ids=[b.id, c.id])
    step(world, appeal.id, services.record_panel_outcome, outcome="upheld", reasons="Sound.")
    other = lodge(world, issued_nc(world).id, finding=True)
    step(world, other.id, services.withdraw_appeal, reason="Settled.")
    with tenant_scope(world.tenant):
        actions = db.session.execute(
            select(AuditEvent.action).where(AuditEvent.object_type == "Appeal")
            .order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["appeal.lodged", "appeal.acknowledged", "appeal.handler_assigned",
                       "appeal.decided", "appeal.closed", "appeal.review_requested",
                       "appeal.panel_appointed", "appeal.panel_members",
                       "appeal.panel_decided", "appeal.lodged", "appeal.withdrawn"]


def test_a_step_out_of_turn_is_refused(world, decision, handler):
    appeal = lodge(world, decision.id)
    with pytest.raises(Conflict):
        step(world, appeal.id, services.assign_handler, handler_id=handler.id)
    db.session.rollback()
    with pytest.raises(Conflict):
        step(world, appeal.id, services.close_appeal)
    assert load_appeal(world, appeal.id).status == S.lodged
