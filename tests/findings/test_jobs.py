"""The daily deadline job (rule 17): reminders before due dates, overdue marks and notices to the
manager, escalation proposals after the grace period — each once, however often it runs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from accreditor.cabs.models import Cab
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.jobs import enqueue_after_commit
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.findings.jobs import finding_deadlines
from accreditor.findings.models import SanctionProposal
from accreditor.tenants import services as tenant_services
from accreditor.tenants.models import TenantPolicy
from tests.core.test_jobs import _burst, needs_redis, rq_app  # noqa: F401 - fixture
from tests.factories import create_member
from tests.findings.conftest import build_world, load_finding

T0 = date(2026, 12, 3)


def run(day: date) -> dict:
    return finding_deadlines(day.isoformat())


def subjects(outbox, to) -> list[str]:
    return [m.subject for m in outbox(to)]


def reminders(outbox, world) -> list[str]:
    return [s for s in subjects(outbox, world.cab_user.email) if s.startswith("Reminder")]


@pytest.fixture
def issued(world):
    f = world.raise_finding("major")
    world.issue(today=T0)  # response due T0+30, evidence due T0+90
    return f


def test_the_cab_is_reminded_7_days_and_1_day_before_once_each(world, issued, outbox):
    run(T0 + timedelta(days=22))
    assert reminders(outbox, world) == []
    run(T0 + timedelta(days=23))
    run(T0 + timedelta(days=23))  # the same day again: nothing more
    assert reminders(outbox, world) == [
        f"Reminder: finding {issued.reference} — response due {T0 + timedelta(days=30)}"]
    run(T0 + timedelta(days=26))
    assert len(reminders(outbox, world)) == 1
    run(T0 + timedelta(days=29))
    run(T0 + timedelta(days=29))
    assert len(reminders(outbox, world)) == 2
    [msg] = outbox(world.cab_user.email)[-1:]
    assert "in 1 day(s)" in msg.text_body and "/alpha/portal/findings/" in msg.text_body
    assert "<a href=" in msg.html_body


def test_a_job_that_missed_days_sends_only_the_tightest_reminder(world, issued, outbox):
    run(T0 + timedelta(days=30))  # due today; the 7-day reminder was never sent
    assert reminders(outbox, world) == [
        f"Reminder: finding {issued.reference} — response due {T0 + timedelta(days=30)}"]
    assert "is due today" in outbox(world.cab_user.email)[-1].text_body


def test_after_an_answer_the_reminders_are_about_the_evidence(world, issued, outbox):
    world.respond(issued, response_type="plan_only", files=[])
    world.review(issued, True)
    run(T0 + timedelta(days=29))
    assert reminders(outbox, world) == []  # the response is in: nothing due on day 30
    run(T0 + timedelta(days=85))
    assert reminders(outbox, world) == [
        f"Reminder: finding {issued.reference} — implementation evidence due "
        f"{T0 + timedelta(days=90)}"]


def test_an_overdue_finding_is_marked_once_and_the_manager_told_once(world, issued, outbox):
    late = T0 + timedelta(days=31)
    run(late)
    run(late)
    run(late + timedelta(days=1))
    f = world.load(issued.id)
    assert f.overdue_since == late
    assert subjects(outbox, world.manager.email) == [
        f"Overdue: finding {issued.reference} was due {T0 + timedelta(days=30)}"]
    assert "Precision Metrology Ltd" in outbox(world.manager.email)[0].text_body
    with tenant_scope(world.tenant):
        events = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "finding.overdue")).scalars().all()
    assert len(events) == 1


def test_a_finding_under_review_is_not_overdue(world, issued, outbox):
    world.respond(issued)
    run(T0 + timedelta(days=200))
    assert [s for s in subjects(outbox, world.manager.email) if s.startswith("Overdue")] == []
    assert world.load(issued.id).overdue_since is None
    with tenant_scope(world.tenant):
        assert db.session.execute(select(SanctionProposal)).scalars().all() == []


def test_after_the_grace_period_a_suspension_is_proposed_once(world, issued, outbox):
    evidence_due = T0 + timedelta(days=90)
    run(evidence_due + timedelta(days=30))  # grace 30 days: not yet
    with tenant_scope(world.tenant):
        assert db.session.execute(select(SanctionProposal)).scalars().all() == []
    run(evidence_due + timedelta(days=31))
    run(evidence_due + timedelta(days=31))
    with tenant_scope(world.tenant):
        [p] = db.session.execute(select(SanctionProposal)).scalars().all()
    assert (p.kind, p.source, p.status, p.scope_item_ids) == (
        "suspension", "overdue_finding", "proposed", world.item_ids[:1])
    assert f"Proposed suspension: finding {issued.reference}" in subjects(
        outbox, world.manager.email)


def set_policy(world, **values) -> None:
    with tenant_scope(world.tenant):
        tenant_services.update_policy(TenantPolicy.current(), **values)
        commit()


def proposals(world) -> list[SanctionProposal]:
    db.session.expire_all()
    with tenant_scope(world.tenant):
        return db.session.execute(select(SanctionProposal)).scalars().all()


def test_the_cabs_case_manager_alone_is_told_of_the_overdue_finding_and_the_proposal(
        world, issued, outbox, tenant_a):
    other = create_member(tenant_a, "other-manager@alpha.example.org", [Role.manager],
                          name="Max Other")
    with tenant_scope(tenant_a):
        db.session.execute(select(Cab).where(Cab.id == world.cab.id)).scalar_one().manager_id = (
            world.manager.id)
        commit()
    run(T0 + timedelta(days=31))  # the answer is overdue
    run(T0 + timedelta(days=90 + 31))  # and the evidence, past the grace period
    assert [p.kind for p in proposals(world)] == ["suspension"]
    assert subjects(outbox, world.manager.email) == [
        f"Overdue: finding {issued.reference} was due {T0 + timedelta(days=30)}",
        f"Proposed suspension: finding {issued.reference}"]
    assert [s for s in subjects(outbox, other.email)
            if s.startswith(("Overdue", "Proposed"))] == []


def test_reminders_follow_the_tenants_reminder_days(world, issued, outbox):
    set_policy(world, finding_reminder_days="14,3")
    subject = f"Reminder: finding {issued.reference} — response due {T0 + timedelta(days=30)}"
    run(T0 + timedelta(days=15))  # 15 days before: not yet
    assert reminders(outbox, world) == []
    run(T0 + timedelta(days=16))  # 14 days before
    assert reminders(outbox, world) == [subject]
    assert "in 14 day(s)" in outbox(world.cab_user.email)[-1].text_body
    run(T0 + timedelta(days=23))  # 7 days before: not one of this tenant's days
    assert reminders(outbox, world) == [subject]
    run(T0 + timedelta(days=27))  # 3 days before
    assert reminders(outbox, world) == [subject, subject]
    assert "in 3 day(s)" in outbox(world.cab_user.email)[-1].text_body
    run(T0 + timedelta(days=29))  # 1 day before: not one of this tenant's days
    assert len(reminders(outbox, world)) == 2


def test_the_tenants_grace_period_sets_when_a_sanction_is_proposed(world, issued):
    set_policy(world, finding_escalation_grace_days=45)
    evidence_due = T0 + timedelta(days=90)
    run(evidence_due + timedelta(days=31))  # past the default 30 days, not this tenant's 45
    assert proposals(world) == []
    run(evidence_due + timedelta(days=45))
    assert proposals(world) == []
    run(evidence_due + timedelta(days=46))
    assert [(p.source, p.due_on) for p in proposals(world)] == [
        ("overdue_finding", evidence_due)]


def test_an_applicant_gets_a_refusal_proposed(tenant_a, outbox):
    world = build_world(tenant_a, accredited=False)
    f = world.raise_finding("major")
    world.issue(today=T0)
    run(T0 + timedelta(days=90 + 31))
    with tenant_scope(tenant_a):
        [p] = db.session.execute(select(SanctionProposal)).scalars().all()
    assert (p.kind, p.finding_id) == ("refusal", f.id)


def test_another_tenants_findings_are_handled_in_their_own_tenant(tenant_a, tenant_b, outbox):
    a = build_world(tenant_a)
    b = build_world(tenant_b, prefix="b-")
    for w in (a, b):
        w.raise_finding("major")
        w.issue(today=T0)
    result = run(T0 + timedelta(days=23))
    assert result["reminders"] == 2
    assert len(reminders(outbox, a)) == 1 and len(reminders(outbox, b)) == 1
    assert "/bravo/portal/findings/" in outbox(b.cab_user.email)[-1].text_body


@needs_redis
@pytest.mark.redis
def test_the_daily_job_runs_through_rq_and_its_mail_is_delivered_once(rq_app, world, outbox):  # noqa: F811
    f = world.raise_finding("major")
    world.issue(today=T0)
    _burst("mail")  # the "report issued" message
    for _ in range(2):  # the tick queues it twice on the same day
        enqueue_after_commit(finding_deadlines, (T0 + timedelta(days=23)).isoformat())
        commit()
        _burst("default")
        _burst("mail")
    db.session.expire_all()
    sent = [m for m in outbox(world.cab_user.email) if m.subject.startswith("Reminder")]
    assert [m.subject for m in sent] == [
        f"Reminder: finding {f.reference} — response due {T0 + timedelta(days=30)}"]
    assert sent[0].sent_at is not None


def test_an_extension_withdraws_the_escalation_and_a_new_lapse_escalates_again(world, issued):
    from accreditor.findings import services

    run(T0 + timedelta(days=90 + 31))
    with tenant_scope(world.tenant):
        services.extend_due_dates(load_finding(world.tenant, issued.id), response_due_on=None,
                                  evidence_due_on=T0 + timedelta(days=150),
                                  reason="Supplier delay agreed with the CAB.")
        commit()
        assert db.session.execute(select(SanctionProposal.status)).scalar_one() == "dismissed"
    assert world.load(issued.id).overdue_since is None
    run(T0 + timedelta(days=150 + 31))
    with tenant_scope(world.tenant):
        statuses = db.session.execute(select(SanctionProposal.status)
                                      .order_by(SanctionProposal.id)).scalars().all()
    assert statuses == ["dismissed", "proposed"]


def test_nothing_is_chased_on_a_withdrawn_accreditation(world, issued, outbox):
    from accreditor.scopes.models import Accreditation

    with tenant_scope(world.tenant):
        db.session.execute(select(Accreditation).where(Accreditation.id == world.acc.id)
                           ).scalar_one().status = "withdrawn"
        commit()
    result = run(T0 + timedelta(days=200))
    assert (result["reminders"], result["overdue"], result["proposals"]) == (0, 0, 0)
    assert world.load(issued.id).overdue_since is None


def test_one_tenant_failing_does_not_hold_back_the_others(tenant_a, tenant_b, outbox,
                                                          monkeypatch):
    from accreditor.findings import jobs

    a = build_world(tenant_a)
    b = build_world(tenant_b, prefix="b-")
    for w in (a, b):
        w.raise_finding("major")
        w.issue(today=T0)
    real = jobs.run_for_tenant

    def failing_for_alpha(today, run_):
        from flask import g

        if g.tenant.slug == "alpha":
            raise RuntimeError("template broken")
        real(today, run_)

    monkeypatch.setattr(jobs, "run_for_tenant", failing_for_alpha)
    with pytest.raises(RuntimeError, match="alpha"):
        run(T0 + timedelta(days=23))
    assert reminders(outbox, a) == []
    assert len(reminders(outbox, b)) == 1
