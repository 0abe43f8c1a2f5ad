"""Objects of this area in a tenant, for the every-route isolation walk (tests/core/test_tenancy.py)."""

from __future__ import annotations

from datetime import date, timedelta

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope


def tenant_objects(tenant, cab, acc, assessment, assessor, marker: str, ids: dict) -> dict:
    """Build one object of every kind this area's routes take, in ``tenant`` (names carry
    ``marker``); return their ids by URL argument name.

    The complaint is about ``cab`` and referred to it (so the portal would show it to that CAB's
    users), with the complainant's consent, and carries the marker in every text. It is built
    directly: ``cab`` need not be accredited here (the public form's rule)."""
    from accreditor.complaints import services
    from accreditor.complaints.models import Complaint, ComplaintStatus
    from accreditor.extensions import db

    today = date.today()
    with tenant_scope(tenant):
        c = Complaint(reference=services._next_reference(today.year), subject="cab",
                      cab_id=cab.id, channel="email", complainant_name=f"{marker} complainant",
                      complainant_email="someone@example.net", consent_to_share=True,
                      what_happened=f"{marker} complaint text", event_on=today,
                      desired_outcome=f"{marker} outcome", status=ComplaintStatus.received,
                      received_on=today, ack_due_on=today + timedelta(days=7),
                      resolution_due_on=today + timedelta(days=90))
        db.session.add(c)
        db.session.flush()
        services.acknowledge(c)
        services.refer_to_cab(c)
        services.add_note(c, body=f"{marker} internal note")
        commit()
    return {"complaint_id": c.id}
