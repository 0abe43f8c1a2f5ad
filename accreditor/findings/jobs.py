"""Daily work on findings' deadlines (rule 17), run by ``flask jobs tick`` (cron or RQ scheduler).

For every active tenant:

* **reminders** — the CAB's users are e-mailed before the date they work towards (the response
  due date until the first answer, then the evidence due date), at each of the tenant's
  ``finding_reminder_days`` (e.g. 7 and 1 days before). When the job missed a day, only the
  tightest reminder reached is sent;
* **overdue** — a finding past that date while it is the CAB's turn is marked overdue (audited
  once) and the case manager (or, with none named, the managers) is told once per due date;
* **escalation** — a finding still open ``finding_escalation_grace_days`` after its evidence due
  date gets a proposed sanction for the case manager: a suspension of the affected scope for an
  accredited CAB, a refusal for an applicant.

Safe to run twice on the same day: each notice is a ``finding_notices`` row (unique per finding,
kind, due date and threshold), each proposal unique per finding and source, and the overdue mark
is set once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from accreditor.cabs.models import Cab
from accreditor.core import audit
from accreditor.core.jobs import for_each_tenant, job, periodic
from accreditor.core.mail import send_mail
from accreditor.extensions import db
from accreditor.findings import services
from accreditor.findings.models import ANSWERABLE, Finding, FindingNotice, ProposalSource
from accreditor.scopes.models import LIVE_STATUSES, Accreditation
from accreditor.tenants.models import TenantPolicy
from accreditor.tenants.policy import parse_reminder_days

REMINDER, OVERDUE = "reminder", "overdue"
log = logging.getLogger(__name__)


def _live():
    """Findings of live accreditations only: nothing is chased on a withdrawn, refused, lapsed
    or expired one."""
    return Finding.accreditation_id.in_(select(Accreditation.id).where(
        Accreditation.status.in_([s.value for s in LIVE_STATUSES])))


@dataclass
class DeadlineRun:
    reminders: int = 0
    overdue: int = 0
    proposals: int = 0
    tenants: list[str] = field(default_factory=list)


@periodic
@job
def finding_deadlines(today_iso: str | None = None) -> dict:
    """Reminders, overdue marks and escalations for every active tenant (idempotent). Each
    tenant is committed on its own: one tenant's failure is logged and does not hold back the
    others; the job then fails (and is retried) once all have had their turn."""
    today = date.fromisoformat(today_iso) if today_iso else date.today()
    run = DeadlineRun()
    done = for_each_tenant("finding deadlines", lambda: run_for_tenant(today, run))
    run.tenants = [slug for slug, _ in done]
    return run.__dict__


def run_for_tenant(today: date, run: DeadlineRun) -> None:
    policy = TenantPolicy.current()
    days = parse_reminder_days(policy.finding_reminder_days) or [7, 1]
    _reminders(today, days, run)
    _overdue(today, run)
    _escalate(today, policy.finding_escalation_grace_days, run)


def _sent(finding_ids: list[int], kind: str) -> set[tuple[int, date, int]]:
    if not finding_ids:
        return set()
    return set(db.session.execute(
        select(FindingNotice.finding_id, FindingNotice.due_on, FindingNotice.days_before)
        .where(FindingNotice.finding_id.in_(finding_ids), FindingNotice.kind == kind)).all())


def _notice(finding: Finding, kind: str, due: date, days_before: int, today: date,
            recipients: int) -> None:
    db.session.add(FindingNotice(finding_id=finding.id, cab_id=finding.cab_id, kind=kind,
                                 due_on=due, days_before=days_before, sent_on=today,
                                 recipients=recipients))


def _reminders(today: date, days: list[int], run: DeadlineRun) -> None:
    from accreditor.cabs.services import cab_user_emails

    due = services.due_column()
    horizon = today + timedelta(days=max(days))
    findings = list(db.session.execute(
        select(Finding).where(Finding.status.in_(ANSWERABLE), due >= today, due <= horizon,
                              _live())
        .order_by(Finding.cab_id, Finding.id)).scalars())
    sent = _sent([f.id for f in findings], REMINDER)
    emails: dict[int, list[str]] = {}
    for finding in findings:
        due_on = finding.due_on()
        left = (due_on - today).days
        reached = [d for d in days if left <= d]
        if not reached:
            continue
        tightest = min(reached)
        if (finding.id, due_on, tightest) in sent:
            continue
        if finding.cab_id not in emails:
            emails[finding.cab_id] = cab_user_emails(finding.cab_id)
        what = (_("response") if finding.status == "open" and finding.round == 0
                else _("implementation evidence"))
        for email in emails[finding.cab_id]:
            send_mail(email, _("Reminder: finding %(ref)s — %(what)s due %(due)s",
                               ref=finding.reference, what=what, due=due_on.isoformat()),
                      "finding_reminder", finding=finding, due_on=due_on, days_left=left,
                      what=what, link=services.cab_link(finding))
        _notice(finding, REMINDER, due_on, tightest, today, len(emails[finding.cab_id]))
        run.reminders += 1


def _overdue(today: date, run: DeadlineRun) -> None:
    findings = list(db.session.execute(
        select(Finding).where(services.overdue_condition(today), _live())
        .order_by(Finding.cab_id, Finding.id)).scalars())
    sent = _sent([f.id for f in findings], OVERDUE)
    managers: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    for finding in findings:
        if finding.overdue_since is None:
            finding.overdue_since = today
            changes = audit.diff(finding)
            db.session.flush()
            audit.record("finding.overdue", finding, changes=changes)
        due_on = finding.due_on()
        if (finding.id, due_on, 0) in sent:
            continue
        if finding.cab_id not in managers:
            managers[finding.cab_id] = services.manager_emails(finding.cab_id)
            names[finding.cab_id] = db.session.execute(
                select(Cab.legal_name).where(Cab.id == finding.cab_id)).scalar_one()
        for email in managers[finding.cab_id]:
            send_mail(email, _("Overdue: finding %(ref)s was due %(due)s",
                               ref=finding.reference, due=due_on.isoformat()),
                      "finding_overdue", finding=finding, due_on=due_on,
                      days_late=(today - due_on).days, cab_name=names[finding.cab_id],
                      link=services.staff_link(finding))
        _notice(finding, OVERDUE, due_on, 0, today, len(managers[finding.cab_id]))
        run.overdue += 1


def _escalate(today: date, grace_days: int, run: DeadlineRun) -> None:
    cutoff = today - timedelta(days=grace_days)
    findings = db.session.execute(
        select(Finding).where(Finding.status.in_(ANSWERABLE), Finding.evidence_due_on < cutoff,
                              _live())
        .order_by(Finding.id)).scalars().all()
    for finding in findings:
        if services._propose(finding, ProposalSource.overdue_finding, today) is not None:
            run.proposals += 1
