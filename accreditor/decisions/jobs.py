"""Daily work on decisions (each idempotent, per active tenant, run by ``flask jobs tick``):

* ``suspension_deadlines`` — suspensions that reached their maximum (rule 18);
* ``resignations_due`` — accepted resignations carried out on their date (rule 39);
* ``inactive_cap`` — withdrawal proposed for an accreditation inactive too long (rule 22);
* ``transition_deadlines`` — suspension proposed for an accreditation still on an edition past
  its transition deadline (rule 29).

Proposals are findings' ``SanctionProposal`` rows without a finding (the findings dashboard
lists them), unique per accreditation, source and date.

Suspensions:

A suspension lasts at most ``max_suspension_months`` (``Decision.max_end_on``). When that date
passes and lines the decision suspended are still suspended (no reinstatement, reduction or
withdrawal since), the decision is flagged once (audited), the case manager — or, with none
named, the managers — is told that a withdrawal or reduction decision is required, and a
withdrawal of the lines still under it is proposed (source ``suspension_max``, on the findings
dashboard). Safe to run twice: the flag is set once, the proposal made once per maximum.
"""

from __future__ import annotations

import logging
from datetime import date

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from accreditor.core import audit
from accreditor.core.db import commit
from accreditor.core.errors import DomainError
from accreditor.core.jobs import for_each_tenant, job, periodic
from accreditor.core.mail import send_mail
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import (
    CabRequest,
    Decision,
    DecisionKind,
    RequestKind,
    RequestStatus,
)
from accreditor.extensions import db
from accreditor.findings.models import ProposalKind, ProposalSource, SanctionProposal
from accreditor.refdata.models import StandardEdition
from accreditor.scopes.models import Accreditation, AccreditationStatus
from accreditor.tenants.models import Tenant, TenantPolicy

log = logging.getLogger(__name__)


def overdue_suspensions(today: date) -> list[Decision]:
    """The maxima reached and not yet flagged of suspensions under which a line is still
    suspended. A suspension's maximum is held by its latest row: the suspension itself, or its
    latest extension (``extend_suspension``, rule 18), so an extended suspension is flagged on
    its new maximum — once more if it was flagged on the old one. Returns the holders."""
    from accreditor.decisions.services import _still_under_stmt

    under = _still_under_stmt().subquery()
    current = select(under.c.decision_id)
    root = case((Decision.kind == DecisionKind.suspend.value, Decision.id),
                else_=Decision.suspension_id)
    holders = (select(func.max(Decision.id)).where(
        Decision.kind.in_([DecisionKind.suspend.value, DecisionKind.extend_suspension.value]),
        root.in_(current)).group_by(root))
    return list(db.session.execute(select(Decision).where(
        Decision.id.in_(holders), Decision.max_end_on <= today,
        Decision.max_end_flagged_on.is_(None))
        .order_by(Decision.max_end_on, Decision.id)).scalars())


def _tenants():
    return db.session.execute(select(Tenant).where(Tenant.is_active).order_by(Tenant.id)
                              ).scalars().all()


@periodic
@job
def suspension_deadlines(today_iso: str | None = None) -> int:
    """Flag suspensions past their maximum, per active tenant (idempotent)."""
    from accreditor.findings.services import manager_emails

    today = date.fromisoformat(today_iso) if today_iso else date.today()

    def flag() -> int:
        flagged = 0
        for decision in overdue_suspensions(today):
            suspension = decision if decision.suspension_id is None else \
                db.session.get(Decision, decision.suspension_id)
            decision.max_end_flagged_on = today
            changes = audit.diff(decision)
            db.session.flush()
            audit.record("decision.suspension_max_reached", decision, changes=changes)
            _propose_withdrawal(suspension, decision, today)
            for email in manager_emails(decision.cab_id):
                send_mail(email, _("Suspension %(n)s reached its maximum on %(d)s: a "
                                   "withdrawal or reduction decision is required",
                                   n=suspension.id, d=decision.max_end_on.isoformat()),
                          "suspension_max_reached", decision=decision,
                          suspension=suspension)
            flagged += 1
        return flagged

    return sum(n for _slug, n in for_each_tenant("suspension deadlines", flag))


def _propose_withdrawal(suspension: Decision, holder: Decision, today: date) -> None:
    """Rule 18: the withdrawal (or reduction) of the lines still under the suspension, as a
    proposal the findings dashboard lists — once per suspension and maximum (the mail above
    says the same, so the proposal sends none). A reduction or withdrawal of those lines
    settles it (``decisions.services._settle_proposals``)."""
    from accreditor.decisions.services import _still_under_stmt

    under = _still_under_stmt(suspension.accreditation_id).subquery()
    items = sorted(db.session.execute(select(under.c.scope_item_id).where(
        under.c.decision_id == suspension.id)).scalars())
    acc = db.session.get(Accreditation, suspension.accreditation_id)
    propose(acc, kind=ProposalKind.withdrawal, source=ProposalSource.suspension_max,
            due_on=holder.max_end_on, effective_on=today, scope_item_ids=items, notify=False,
            reason=_("Suspension %(n)s (since %(s)s) reached its maximum on %(d)s with %(c)d "
                     "line(s) still suspended (rule 18): withdraw or reduce them.",
                     n=suspension.id, s=suspension.effective_on.isoformat(),
                     d=holder.max_end_on.isoformat(), c=len(items)))


# -- resignations on their date (rule 39) --------------------------------------------------------


@periodic
@job
def resignations_due(today_iso: str | None = None) -> int:
    """Carry out accepted resignations whose effective date has come: the ``withdraw``
    decision is recorded in the names of the decision makers who accepted it (idempotent: a
    request is carried out once; one that fails is logged and retried the next day)."""
    from accreditor.decisions import requests

    today = date.fromisoformat(today_iso) if today_iso else date.today()
    done = 0
    for tenant in _tenants():
        with tenant_scope(tenant):
            ids = db.session.execute(select(CabRequest.id).where(
                CabRequest.kind == RequestKind.resignation.value,
                CabRequest.status == RequestStatus.accepted.value,
                CabRequest.effective_on <= today).order_by(CabRequest.id)).scalars().all()
            for req_id in ids:
                try:
                    req = db.session.get(CabRequest, req_id)
                    requests.carry_out_resignation(req, today=today)
                    commit()
                    done += 1
                except DomainError:
                    db.session.rollback()
                    log.exception("resignation %s could not be carried out", req_id)
    return done


# -- proposals about a whole accreditation (rules 22, 29) ---------------------------------------


def propose(acc: Accreditation, *, kind: ProposalKind, source: ProposalSource, due_on: date,
            reason: str, effective_on: date, scope_item_ids: list[int] | None = None,
            notify: bool = True) -> SanctionProposal | None:
    """A proposed sanction for the case manager, once per accreditation, source and date
    (``scope_item_ids`` empty: the whole scope; ``notify``: mail the managers)."""
    from accreditor.core.web import external_url
    from accreditor.findings.services import manager_emails

    if db.session.execute(select(SanctionProposal.id).where(
            SanctionProposal.accreditation_id == acc.id, SanctionProposal.finding_id.is_(None),
            SanctionProposal.source == source.value, SanctionProposal.due_on == due_on)
            .limit(1)).first() is not None:
        return None
    proposal = SanctionProposal(cab_id=acc.cab_id, accreditation_id=acc.id, finding_id=None,
                                kind=kind.value, source=source.value,
                                scope_item_ids=list(scope_item_ids or []),
                                effective_on=effective_on, due_on=due_on, reason=reason)
    db.session.add(proposal)
    db.session.flush()
    audit.record("sanction_proposal.created", proposal, changes=audit.snapshot(
        proposal, ("kind", "source", "accreditation_id", "due_on", "effective_on", "reason",
                   "scope_item_ids")))
    if not notify:
        return proposal
    link = external_url("tenant.scopes.show", accreditation_id=acc.id)
    for email in manager_emails(acc.cab_id):
        send_mail(email, _("Proposed %(k)s: accreditation %(n)s", k=kind.value,
                           n=acc.number or acc.id), "sanction_proposed_accreditation",
                  proposal=proposal, accreditation=acc, link=link)
    return proposal


def inactive_too_long(today: date) -> list[tuple[Accreditation, date]]:
    """Inactive accreditations with the date their inactive status began (the latest
    ``inactive`` decision), inactive for ``inactive_max_months`` or more."""
    months = TenantPolicy.current().inactive_max_months
    since = (select(Decision.accreditation_id, func.max(Decision.effective_on).label("since"))
             .where(Decision.kind == DecisionKind.inactive.value)
             .group_by(Decision.accreditation_id).subquery())
    rows = db.session.execute(
        select(Accreditation, since.c.since).join(since, since.c.accreditation_id ==
                                                  Accreditation.id)
        .where(Accreditation.status == AccreditationStatus.inactive.value)
        .order_by(Accreditation.id)).all()
    return [(acc, on) for acc, on in rows if on + relativedelta(months=months) <= today]


@periodic
@job
def inactive_cap(today_iso: str | None = None) -> int:
    """Rule 22: propose the withdrawal of an accreditation inactive for ``inactive_max_months``
    (once per inactive period)."""
    today = date.fromisoformat(today_iso) if today_iso else date.today()

    def propose_all() -> int:
        made = 0
        months = TenantPolicy.current().inactive_max_months
        for acc, since in inactive_too_long(today):
            due = since + relativedelta(months=months)
            if propose(acc, kind=ProposalKind.withdrawal, source=ProposalSource.inactive_cap,
                       due_on=due, effective_on=today, reason=_(
                           "Inactive since %(s)s: the %(m)d months an accreditation may "
                           "stay inactive ended on %(d)s (rule 22). Withdraw it, or "
                           "reactivate it.", s=since.isoformat(), m=months,
                           d=due.isoformat())):
                made += 1
        return made

    return sum(n for _slug, n in for_each_tenant("inactive cap", propose_all))


def missed_transitions(today: date) -> list[tuple[Accreditation, StandardEdition]]:
    """Accreditations with accredited lines still on an edition whose transition deadline has
    passed while a current edition of the programme exists (rule 29)."""
    newer = aliased(StandardEdition)
    has_newer = select(newer.id).where(newer.programme_id == StandardEdition.programme_id,
                                       newer.id != StandardEdition.id,
                                       newer.is_current).exists()
    return [tuple(r) for r in db.session.execute(
        select(Accreditation, StandardEdition)
        .join(StandardEdition, StandardEdition.id == Accreditation.edition_id)
        .where(Accreditation.status.in_([AccreditationStatus.accredited.value,
                                         AccreditationStatus.partially_suspended.value,
                                         AccreditationStatus.inactive.value]),
               StandardEdition.transition_deadline.is_not(None),
               StandardEdition.transition_deadline < today, has_newer)
        .order_by(Accreditation.id)).all()]


@periodic
@job
def transition_deadlines(today_iso: str | None = None) -> int:
    """Rule 29: propose the suspension of the affected scope (the whole scope on the old
    edition) of each accreditation still on an edition past its transition deadline — once per
    accreditation and deadline."""
    today = date.fromisoformat(today_iso) if today_iso else date.today()

    def propose_all() -> int:
        made = 0
        for acc, edition in missed_transitions(today):
            if propose(acc, kind=ProposalKind.suspension,
                       source=ProposalSource.transition_deadline,
                       due_on=edition.transition_deadline, effective_on=today, reason=_(
                           "Still accredited to edition %(e)s, whose transition deadline "
                           "was %(d)s (rule 29): suspend the affected scope until the "
                           "transition is assessed, or withdraw it.", e=edition.edition,
                           d=edition.transition_deadline.isoformat())):
                made += 1
        return made

    return sum(n for _slug, n in for_each_tenant("transition deadlines", propose_all))
