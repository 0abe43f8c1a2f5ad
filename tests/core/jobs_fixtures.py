"""Job functions for the jobs tests (importable by dotted path, as RQ needs)."""

from flask import current_app
from sqlalchemy import select

from accreditor.core.jobs import job
from accreditor.extensions import db
from accreditor.tenants.models import Tenant

CALLS: list[tuple] = []


@job
def rename_tenant(tenant_id: int, name: str) -> None:
    tenant = db.session.execute(select(Tenant).where(Tenant.id == tenant_id)).scalar_one()
    tenant.name = name
    CALLS.append(("rename_tenant", tenant_id, name))


@job
def always_fails(counter_key: str) -> None:
    CALLS.append(("always_fails", counter_key))
    if current_app.config.get("REDIS_URL"):
        from accreditor.core.jobs import redis_connection

        redis_connection().incr(counter_key)
    raise RuntimeError("this job always fails")
