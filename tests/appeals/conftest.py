"""A laboratory with a decision recorded on its reported assessment (the decisions' world), a
second independent manager who may handle appeals, and helpers to lodge and move appeals as
the system."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from accreditor.appeals import services
from accreditor.appeals.models import Appeal
from accreditor.core.db import commit, utcnow
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import Decision
from accreditor.extensions import db
from accreditor.findings.models import Finding
from accreditor.tenants.models import TenantPolicy
from tests.decisions.conftest import decide, reported
from tests.factories import create_member
from tests.findings.conftest import build_world

GROUNDS = "The team misread our calibration records; the decision rests on that error."


@pytest.fixture
def world(tenant_a):
    return build_world(tenant_a)


@pytest.fixture
def decider(tenant_a):
    return create_member(tenant_a, "decider@alpha.example.org", [Role.decision_maker],
                         name="Dora Decider")


@pytest.fixture
def handler(tenant_a):
    """A senior manager involved in nothing."""
    return create_member(tenant_a, "senior@alpha.example.org", [Role.manager],
                         name="Hal Handler")


@pytest.fixture
def decision(world, decider) -> Decision:
    reported(world)
    return decide(world, decider, "maintain")


def load_decision(world, decision_id: int) -> Decision:
    db.session.expire_all()
    with tenant_scope(world.tenant):
        return db.session.execute(select(Decision).where(Decision.id == decision_id)
                                  ).scalar_one()


def load_appeal(world, appeal_id: int) -> Appeal:
    db.session.expire_all()
    with tenant_scope(world.tenant):
        return db.session.execute(select(Appeal).where(Appeal.id == appeal_id)).scalar_one()


def set_policy(world, **values) -> None:
    with tenant_scope(world.tenant):
        policy = TenantPolicy.current()
        for k, v in values.items():
            setattr(policy, k, v)
        commit()


def notified_days_ago(world, decision_id: int, days: int) -> None:
    with tenant_scope(world.tenant):
        d = db.session.execute(select(Decision).where(Decision.id == decision_id)).scalar_one()
        d.decided_at = utcnow() - timedelta(days=days)
        commit()


def lodge(world, subject_id: int, *, finding: bool = False, today: date | None = None,
          **kw) -> Appeal:
    with tenant_scope(world.tenant):
        subject = services.load_subject(**({"finding_id": subject_id} if finding else
                                           {"decision_id": subject_id}))
        data = {"grounds": GROUNDS, "lodged_by_id": world.cab_user.id}
        data.update(kw)
        appeal = services.lodge_appeal(subject, today=today, **data)
        commit()
        return appeal


def step(world, appeal_id: int, fn, **kw):
    """Run one service on the appeal as the system, and commit."""
    db.session.expire_all()
    with tenant_scope(world.tenant):
        appeal = db.session.execute(select(Appeal).where(Appeal.id == appeal_id)).scalar_one()
        result = fn(appeal, **kw)
        commit()
        return result


def to_review(world, appeal_id: int, handler_id: int) -> None:
    step(world, appeal_id, services.acknowledge_appeal)
    step(world, appeal_id, services.assign_handler, handler_id=handler_id)


def issued_nc(world) -> Finding:
    """An issued major nonconformity of the world's assessment (set back in progress first if
    a decision fixture already reported it: test setup only)."""
    from tests.findings.conftest import load_assessment

    with tenant_scope(world.tenant):
        load_assessment(world.assessment.id).status = "in_progress"
        commit()
    f = world.raise_finding("major")
    world.issue()
    return world.load(f.id)
