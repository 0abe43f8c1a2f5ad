"""Objects of this area in a tenant, for the every-route isolation walk (tests/core/test_tenancy.py)."""

from __future__ import annotations

from datetime import date, timedelta

from accreditor.core.db import commit, utcnow
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db


def tenant_objects(tenant, cab, acc, assessment, assessor, marker: str, ids: dict) -> dict:
    """Build one object of every kind this area's routes take, in ``tenant`` (names carry
    ``marker``); return their ids by URL argument name."""
    from accreditor.appeals.models import Appeal

    today = date.today()
    with tenant_scope(tenant):
        appeal = Appeal(
            cab_id=cab.id, accreditation_id=acc.id, year=today.year, seq=1,
            reference=f"A-{today.year}-0001", kind="appeal", decision_id=ids["decision_id"],
            grounds=f"{marker} grounds", status="acknowledged", lodged_by_id=assessor.id,
            notified_on=today, window_ends_on=today + timedelta(days=30),
            ack_due_on=today + timedelta(days=2), acknowledged_at=utcnow(),
            outcome_due_on=today + timedelta(days=14), review_reason=f"{marker} review")
        db.session.add(appeal)
        commit()
    return {"appeal_id": appeal.id}
