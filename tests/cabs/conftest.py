"""People and CABs for the staff CAB workspace tests (tenant ``alpha``; ``bravo`` is the other)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accreditor.core.audit import AuditEvent
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db


@pytest.fixture
def manager_a(tenant_a, make_user):
    return make_user(tenant_a, "manager@alpha.example.org", [Role.manager], name="Mona Manager")


@pytest.fixture
def assessor_a(tenant_a, make_user):
    return make_user(tenant_a, "assessor@alpha.example.org", [Role.assessor], name="Asa Assessor")


@pytest.fixture
def decider_a(tenant_a, make_user):
    return make_user(tenant_a, "decider@alpha.example.org", [Role.decision_maker],
                     name="Dana Decider")


@pytest.fixture
def acme(tenant_a):
    from tests.factories import create_cab

    return create_cab(tenant_a, "Acme Calibration Ltd", locations=(("A", "Head office"),))


@pytest.fixture
def audit_actions(tenant_a):
    """``audit_actions(cab_id=None)``: the tenant's audit actions, oldest first."""

    def _actions(cab_id: int | None = None) -> list[str]:
        db.session.expire_all()
        with tenant_scope(tenant_a):
            stmt = select(AuditEvent.action).order_by(AuditEvent.seq)
            if cab_id is not None:
                stmt = stmt.where(AuditEvent.subject_cab_id == cab_id)
            return list(db.session.execute(stmt).scalars())

    return _actions
