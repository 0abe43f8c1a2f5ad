"""Objects of this area in a tenant, for the every-route isolation walk (tests/core/test_tenancy.py)."""

from __future__ import annotations


def tenant_objects(tenant, cab, acc, assessment, assessor, marker: str, ids: dict) -> dict:
    """Build one object of every kind this area's routes take, in ``tenant`` (names carry
    ``marker``); return their ids by URL argument name.

    The routes take ``schedule_id`` (the decisions area's schedule version): render its PDFs
    so the walk asks for documents that really exist in the other tenant."""
    from accreditor.certificates.services import render_version
    from accreditor.core.db import commit
    from accreditor.core.tenancy import tenant_scope

    with tenant_scope(tenant):
        render_version(ids["schedule_id"])
        commit()
    return {}
