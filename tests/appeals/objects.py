"""Objects of this area in a tenant, for the every-route isolation walk (tests/core/test_tenancy.py)."""

from __future__ import annotations


def tenant_objects(tenant, cab, acc, assessment, assessor, marker: str, ids: dict) -> dict:
    """Build one object of every kind this area's routes take, in ``tenant`` (names carry
    ``marker``); return their ids by URL argument name."""
    return {}
