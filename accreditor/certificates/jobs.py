"""Rendering the PDFs of a schedule version after the transaction that issued it commits.

In-process without Redis (right after the commit), on RQ's ``default`` queue with ``REDIS_URL``.
Idempotent: a kind already rendered is skipped, so a retry or a second delivery writes nothing.
"""

from __future__ import annotations

from accreditor.core.jobs import job
from accreditor.core.tenancy import tenant_scope


@job
def render_documents(tenant_id: int, version_id: int) -> int:
    """Render the schedule and the certificate of ``version_id``; returns how many were
    written (0 on a re-run)."""
    from accreditor.certificates import services

    with tenant_scope(tenant_id):
        return len(services.render_version(version_id))
