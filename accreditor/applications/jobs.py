"""Scheduled work for applications: lapse those past the tenant's validity period (rule 38)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from accreditor.applications import services
from accreditor.core.jobs import job, periodic
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.tenants.models import Tenant


@periodic
@job
def lapse_overdue_applications(today_iso: str | None = None) -> int:
    """Lapse every open application whose validity has run out (``lapses_on`` on or before
    today). Safe to run twice: lapsed applications are no longer open."""
    today = date.fromisoformat(today_iso) if today_iso else date.today()
    lapsed = 0
    tenants = db.session.execute(select(Tenant).where(Tenant.is_active)).scalars().all()
    for tenant in tenants:
        with tenant_scope(tenant):
            for app in services.overdue_applications(today):
                services.lapse_application(app, on=today)
                lapsed += 1
    return lapsed
