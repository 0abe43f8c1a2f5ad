"""The daily job: an overdue acknowledgement or outcome is notified to the managers once per
appeal and due date (idempotent)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from accreditor.appeals import jobs, services
from accreditor.appeals.models import AppealNotice
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from tests.appeals.conftest import load_appeal, lodge, step


def _overdue_mails(outbox, email):
    return [m for m in outbox(email) if m.subject.startswith("Overdue")]


def test_overdue_acknowledgement_and_outcome_are_notified_once(world, decision, outbox):
    appeal = lodge(world, decision.id)
    ack_due = appeal.ack_due_on
    assert jobs.appeal_deadlines(ack_due.isoformat())["notices"] == 0  # due today: not late
    late = (ack_due + timedelta(days=1)).isoformat()
    assert jobs.appeal_deadlines(late)["notices"] == 1
    assert jobs.appeal_deadlines(late)["notices"] == 0  # run twice: nothing more
    assert jobs.appeal_deadlines((ack_due + timedelta(days=3)).isoformat())["notices"] == 0
    mails = _overdue_mails(outbox, world.manager.email)
    assert len(mails) == 1 and "acknowledgement" in mails[0].subject
    assert appeal.reference in mails[0].subject
    step(world, appeal.id, services.acknowledge_appeal)
    outcome_due = load_appeal(world, appeal.id).outcome_due_on
    later = (outcome_due + timedelta(days=1)).isoformat()
    assert jobs.appeal_deadlines(later)["notices"] == 1
    assert jobs.appeal_deadlines(later)["notices"] == 0
    assert len(_overdue_mails(outbox, world.manager.email)) == 2
    with tenant_scope(world.tenant):
        kinds = db.session.execute(select(AppealNotice.kind).order_by(AppealNotice.id)
                                   ).scalars().all()
    assert kinds == ["acknowledgement", "outcome"]


def test_a_withdrawn_appeal_is_not_chased(world, decision, outbox):
    appeal = lodge(world, decision.id)
    step(world, appeal.id, services.withdraw_appeal, reason="Settled.")
    assert jobs.appeal_deadlines((appeal.ack_due_on + timedelta(days=5)).isoformat()
                                 )["notices"] == 0
    assert _overdue_mails(outbox, world.manager.email) == []
