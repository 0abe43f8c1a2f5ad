"""The daily job: one reminder to the handler per overdue step and due date, however often it
runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from accreditor.complaints import services
from accreditor.complaints.jobs import complaint_deadlines
from accreditor.complaints.models import ComplaintNotice
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db


def overdue_mail(outbox, to):
    return [m.subject for m in outbox(to) if m.subject.startswith("Overdue")]


def test_nothing_is_sent_before_a_due_date_passes(cw, outbox):
    c = cw.file()
    complaint_deadlines(c.ack_due_on.isoformat())
    assert overdue_mail(outbox, cw.w.manager.email) == []


def test_a_late_acknowledgement_reminds_the_managers_once(cw, outbox):
    c = cw.file()
    late = c.ack_due_on + timedelta(days=1)
    run = complaint_deadlines(late.isoformat())
    assert run["reminders"] == 1
    complaint_deadlines(late.isoformat())
    complaint_deadlines((late + timedelta(days=3)).isoformat())
    assert overdue_mail(outbox, cw.w.manager.email) == [
        f"Overdue: complaint {c.reference} — acknowledgement was due {c.ack_due_on}"]
    with tenant_scope(cw.tenant):
        assert len(db.session.execute(select(ComplaintNotice)).all()) == 1


def test_the_investigator_is_reminded_of_the_resolution_date(cw, outbox):
    c = cw.to_investigation(cw.file(), investigator=cw.w.outsider)
    late = c.resolution_due_on + timedelta(days=2)
    complaint_deadlines(late.isoformat())
    complaint_deadlines(late.isoformat())
    assert overdue_mail(outbox, cw.w.outsider.email) == [
        f"Overdue: complaint {c.reference} — resolution was due {c.resolution_due_on}"]


def test_a_late_cab_answer_reminds_the_handler(cw, outbox):
    c = cw.step(cw.file().id, services.acknowledge)
    c = cw.step(c.id, services.refer_to_cab)
    late = c.cab_response_due_on + timedelta(days=1)
    run = complaint_deadlines(late.isoformat())
    assert run["reminders"] == 2  # the CAB's answer and (90 days too) the resolution
    assert complaint_deadlines(late.isoformat())["reminders"] == 0
    assert any("the CAB's answer was due" in s
               for s in overdue_mail(outbox, cw.w.manager.email))


def test_closed_complaints_are_not_chased(cw, outbox):
    c = cw.step(cw.file().id, services.reject_complaint, reason="Not ours.")
    complaint_deadlines((c.resolution_due_on + timedelta(days=5)).isoformat())
    assert overdue_mail(outbox, cw.w.manager.email) == []
