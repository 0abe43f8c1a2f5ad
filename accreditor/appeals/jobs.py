"""Daily work on appeals' deadlines (rule 23), run by ``flask jobs tick`` (cron or RQ scheduler).

For every active tenant, an appeal whose acknowledgement (``ack_due_on``, while lodged) or
stage-1 outcome (``outcome_due_on``, while acknowledged or under review) is past due gets one
notice to the tenant's managers per appeal, kind and due date. Safe to run twice: each notice is
an ``appeal_notices`` row (unique per appeal, kind and due date).
"""

from __future__ import annotations

import logging
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from accreditor.appeals import services
from accreditor.appeals.models import Appeal, AppealNotice, AppealStatus
from accreditor.core import audit
from accreditor.core.jobs import for_each_tenant, job, periodic
from accreditor.core.mail import send_mail
from accreditor.extensions import db

ACK, OUTCOME = "acknowledgement", "outcome"
log = logging.getLogger(__name__)


@periodic
@job
def appeal_deadlines(today_iso: str | None = None) -> dict:
    """Overdue notices for every active tenant (idempotent). Each tenant commits on its own; a
    failing tenant is logged, the others still run, and the job then fails (to be retried)."""
    today = date.fromisoformat(today_iso) if today_iso else date.today()
    done = for_each_tenant("appeal deadlines", lambda: run_for_tenant(today))
    return {"notices": sum(sent for _slug, sent in done)}


def run_for_tenant(today: date) -> int:
    appeals = list(db.session.execute(
        select(Appeal).where(services.overdue_condition(today)).order_by(Appeal.id)).scalars())
    if not appeals:
        return 0
    done = set(db.session.execute(
        select(AppealNotice.appeal_id, AppealNotice.kind, AppealNotice.due_on)
        .where(AppealNotice.appeal_id.in_([a.id for a in appeals]))).all())
    emails = services.manager_emails()
    sent = 0
    for appeal in appeals:
        if appeal.status == AppealStatus.lodged:
            kind, due = ACK, appeal.ack_due_on
        else:
            kind, due = OUTCOME, appeal.outcome_due_on
        if (appeal.id, kind, due) in done:
            continue
        what = _("acknowledgement") if kind == ACK else _("outcome")
        for email in emails:
            send_mail(email, _("Overdue: %(what)s of %(ref)s was due %(d)s", what=what,
                               ref=appeal.reference, d=due.isoformat()),
                      "appeal_overdue", appeal=appeal, what=what, due_on=due,
                      days_late=(today - due).days, link=services.staff_link(appeal))
        notice = AppealNotice(appeal_id=appeal.id, cab_id=appeal.cab_id, kind=kind, due_on=due,
                              sent_on=today, recipients=len(emails))
        db.session.add(notice)
        db.session.flush()
        audit.record("appeal.overdue_notice", appeal,
                     changes={"kind": [None, kind], "due_on": [None, due],
                              "recipients": [None, len(emails)]})
        sent += 1
    return sent
