"""Daily work on decisions: suspensions that reached their maximum (rule 18).

A suspension lasts at most ``max_suspension_months`` (``Decision.max_end_on``). When that date
passes and lines the decision suspended are still suspended (no reinstatement, reduction or
withdrawal since), the decision is flagged once (audited) and the case manager — or, with none
named, the managers — is told that a withdrawal or reduction decision is required. Safe to run
twice: the flag is set once.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from accreditor.core import audit
from accreditor.core.db import commit
from accreditor.core.jobs import job, periodic
from accreditor.core.mail import send_mail
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import Decision, DecisionKind
from accreditor.extensions import db
from accreditor.scopes.models import ItemStatus, ScopeEvent, ScopeItem
from accreditor.tenants.models import Tenant


def overdue_suspensions(today: date) -> list[Decision]:
    """Suspension decisions that reached their maximum, not yet flagged, under which a line is
    still suspended: the line's latest suspension is this decision's (a line suspended again
    later runs on the later decision's maximum)."""
    latest = (select(ScopeEvent.scope_item_id, func.max(ScopeEvent.id).label("event_id"))
              .where(ScopeEvent.to_status == ItemStatus.suspended.value)
              .group_by(ScopeEvent.scope_item_id).subquery())
    still_under = (select(ScopeEvent.decision_id)
                   .join(latest, latest.c.event_id == ScopeEvent.id)
                   .join(ScopeItem, ScopeItem.id == ScopeEvent.scope_item_id)
                   .where(ScopeItem.status == ItemStatus.suspended.value))
    return list(db.session.execute(select(Decision).where(
        Decision.kind == DecisionKind.suspend.value, Decision.max_end_on <= today,
        Decision.max_end_flagged_on.is_(None), Decision.id.in_(still_under))
        .order_by(Decision.max_end_on, Decision.id)).scalars())


@periodic
@job
def suspension_deadlines(today_iso: str | None = None) -> int:
    """Flag suspensions past their maximum, per active tenant (idempotent)."""
    from accreditor.findings.services import manager_emails

    today = date.fromisoformat(today_iso) if today_iso else date.today()
    flagged = 0
    for tenant in db.session.execute(select(Tenant).where(Tenant.is_active)).scalars().all():
        with tenant_scope(tenant):
            for decision in overdue_suspensions(today):
                decision.max_end_flagged_on = today
                changes = audit.diff(decision)
                db.session.flush()
                audit.record("decision.suspension_max_reached", decision, changes=changes)
                for email in manager_emails(decision.cab_id):
                    send_mail(email, _("Suspension %(n)s reached its maximum on %(d)s: a "
                                       "withdrawal or reduction decision is required",
                                       n=decision.id, d=decision.max_end_on.isoformat()),
                              "suspension_max_reached", decision=decision)
                flagged += 1
            commit()
    return flagged
