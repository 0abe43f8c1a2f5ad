"""Daily reminders of complaints' overdue steps, run by ``flask jobs tick`` (cron or RQ
scheduler).

For every active tenant, each open complaint with a step past its due date — acknowledgement
(``complaint_ack_working_days`` working days after receipt), the CAB's answer to a referral
(``complaint_cab_response_days``), resolution (``complaint_resolution_days`` after receipt) — gets
one e-mail to its handler (the investigator while investigating, else the handler, else the
tenant's managers) per step and due date. Each reminder is a ``complaint_notices`` row (unique per
complaint, step and due date), so running the job twice sends nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from accreditor.complaints import services
from accreditor.complaints.models import Complaint, ComplaintNotice
from accreditor.core import audit
from accreditor.core.jobs import for_each_tenant, job, periodic
from accreditor.core.mail import send_mail
from accreditor.extensions import db

log = logging.getLogger(__name__)


@dataclass
class ReminderRun:
    reminders: int = 0
    tenants: list[str] = field(default_factory=list)


def step_labels() -> dict[str, str]:
    return {"acknowledgement": _("acknowledgement"), "cab_response": _("the CAB's answer"),
            "resolution": _("resolution")}


@periodic
@job
def complaint_deadlines(today_iso: str | None = None) -> dict:
    """Overdue reminders for every active tenant (idempotent); each tenant committed on its own,
    one tenant's failure logged without holding back the others."""
    today = date.fromisoformat(today_iso) if today_iso else date.today()
    run = ReminderRun()
    done = for_each_tenant("complaint reminders", lambda: run_for_tenant(today, run))
    run.tenants = [slug for slug, _ in done]
    return run.__dict__


def run_for_tenant(today: date, run: ReminderRun) -> None:
    complaints = db.session.execute(
        select(Complaint).where(services.overdue_condition(today)).order_by(Complaint.id)
    ).scalars().all()
    if not complaints:
        return
    sent = set(db.session.execute(
        select(ComplaintNotice.complaint_id, ComplaintNotice.step, ComplaintNotice.due_on)
        .where(ComplaintNotice.complaint_id.in_([c.id for c in complaints]))).all())
    labels = step_labels()
    for c in complaints:
        for step, due_on in c.overdue_steps(today):
            if (c.id, step, due_on) in sent:
                continue
            recipients = services.handler_emails(c)
            for email in recipients:
                send_mail(email, _("Overdue: complaint %(ref)s — %(step)s was due %(d)s",
                                   ref=c.reference, step=labels[step], d=due_on.isoformat()),
                          "complaint_staff", complaint=c, link=services.staff_link(c),
                          paragraphs=[_("The %(step)s of complaint %(ref)s was due on %(d)s and "
                                        "is %(n)d day(s) late.", step=labels[step],
                                        ref=c.reference, d=due_on.isoformat(),
                                        n=(today - due_on).days)])
            notice = ComplaintNotice(complaint_id=c.id, step=step, due_on=due_on, sent_on=today,
                                     recipients=len(recipients))
            db.session.add(notice)
            db.session.flush()
            audit.record("complaint.overdue_reminder", c,
                         changes={"step": [None, step], "due_on": [None, due_on],
                                  "recipients": [None, len(recipients)]})
            run.reminders += 1
