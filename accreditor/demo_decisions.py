"""Demo decisions (used by ``flask demo``; idempotent per tenant: nothing is added once the tenant
has decisions).

The demo's history (accreditations granted years ago, surveillances held since) predates the
platform: each closed assessment's recommendation gets the decision taken on it then, recorded
from the paper file (the scope changes themselves were loaded with the scope history), and each
live accreditation its current schedule as issue 1. Reports still awaiting a decision — the
calibration laboratory's special assessment with its open findings — stay in the queue for the
demo's decision maker (``decider@…``). Sam (``assessor@…``), who leads that assessment, also
holds the decision-maker role (as AB staff often do): he is refused as its decision maker
(rule 1).
"""

from __future__ import annotations

from sqlalchemy import select

from accreditor.assessments.models import Assessment, AssessmentStatus
from accreditor.auth.models import User
from accreditor.core import audit
from accreditor.decisions.models import Decision, DecisionInput, DecisionMaker, ScheduleVersion
from accreditor.decisions.services import FROM_RECOMMENDATION, issue_schedule
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation

PAPER_FILE = ("Recorded from the paper file: the report, the findings' status and the team's "
              "recommendation were reviewed by a decision maker independent of the team.")


def load_decisions_demo(tenant) -> None:
    if db.session.execute(select(Decision.id).limit(1)).first() is not None:
        return
    decider = db.session.execute(select(User).where(
        User.email == f"decider@{tenant.slug}.example.org")).scalar_one_or_none()
    if decider is None:
        return
    _sam_also_decides(tenant)
    held = db.session.execute(select(Assessment).where(
        Assessment.status == AssessmentStatus.closed.value,
        Assessment.recommendation.is_not(None)).order_by(Assessment.planned_start_on)).scalars()
    for a in held:
        kind = FROM_RECOMMENDATION.get(a.recommendation)
        if kind is None:
            continue
        d = Decision(cab_id=a.cab_id, accreditation_id=a.accreditation_id, kind=kind.value,
                     rationale=PAPER_FILE, effective_on=a.closed_at.date(), assessment_id=a.id,
                     decided_at=a.closed_at)
        db.session.add(d)
        db.session.flush()
        db.session.add_all([
            DecisionMaker(decision_id=d.id, cab_id=a.cab_id, user_id=decider.id),
            DecisionInput(decision_id=d.id, cab_id=a.cab_id, assessment_id=a.id)])
        db.session.flush()
        audit.record("decision.history_recorded", d, changes=audit.snapshot(
            d, ("kind", "effective_on", "assessment_id")))
    for acc in db.session.execute(select(Accreditation).where(
            Accreditation.initial_grant_on.is_not(None)).order_by(Accreditation.id)).scalars():
        if db.session.execute(select(ScheduleVersion.id).where(
                ScheduleVersion.accreditation_id == acc.id).limit(1)).first() is None:
            issue_schedule(acc, None)


def _sam_also_decides(tenant) -> None:
    from sqlalchemy.orm import selectinload

    from accreditor.auth.models import Membership
    from accreditor.core.permissions import Role

    m = db.session.execute(select(Membership).join(User, User.id == Membership.user_id).where(
        User.email == f"assessor@{tenant.slug}.example.org")
        .options(selectinload(Membership.role_rows))).scalar_one_or_none()
    if m is None or Role.decision_maker in m.roles:
        return
    before = sorted(r.value for r in m.roles)
    m.set_roles([*m.roles, Role.decision_maker])
    db.session.flush()
    audit.record("membership.updated", m, changes={
        "roles": [before, sorted(r.value for r in m.roles)]})
