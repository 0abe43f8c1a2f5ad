"""``insert_rows``: many rows in one statement, with the flush guard's tenancy rules."""

from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.tenancy import CrossTenantWrite, insert_rows, tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import ScopeEvent
from tests.factories import CAL_LINE, create_accreditation, create_cab


def _rows(acc, n: int, **extra) -> list[dict]:
    from datetime import date

    from accreditor.scopes.models import ScopeItem

    with tenant_scope(acc.tenant_id):
        item_id = db.session.execute(select(ScopeItem.id).where(
            ScopeItem.accreditation_id == acc.id)).scalar_one()
    return [{"cab_id": acc.cab_id, "accreditation_id": acc.id, "scope_item_id": item_id,
             "from_status": "applied", "to_status": "accredited", "effective_on": date.today(),
             "reason_code": "grant", **extra} for _ in range(n)]


def test_rows_get_the_current_tenant_in_one_statement(tenant_a, count_queries):
    cab = create_cab(tenant_a)
    acc = create_accreditation(tenant_a, cab, lines=[CAL_LINE])
    rows = _rows(acc, 50)
    with tenant_scope(tenant_a):
        with count_queries() as q:
            insert_rows(ScopeEvent, rows)
        assert q.count == 1
        commit()
        tenants = db.session.execute(select(ScopeEvent.tenant_id).where(
            ScopeEvent.accreditation_id == acc.id)).scalars().all()
    assert tenants == [tenant_a.id] * 50


def test_rows_outside_a_tenant_or_of_another_tenant_are_refused(tenant_a, tenant_b):
    cab = create_cab(tenant_a)
    acc = create_accreditation(tenant_a, cab, lines=[CAL_LINE])
    with pytest.raises(CrossTenantWrite):
        insert_rows(ScopeEvent, _rows(acc, 1))
    with tenant_scope(tenant_a), pytest.raises(CrossTenantWrite):
        insert_rows(ScopeEvent, _rows(acc, 1, tenant_id=tenant_b.id))


def test_a_cab_user_cannot_write_rows_of_another_cab(tenant_a):
    cab = create_cab(tenant_a)
    other = create_cab(tenant_a, "Other Lab Ltd")
    acc = create_accreditation(tenant_a, cab, lines=[CAL_LINE])
    rows = _rows(acc, 1)
    with tenant_scope(tenant_a):
        g.cab_id = other.id  # what tenant resolution sets for a CAB user
        try:
            with pytest.raises(CrossTenantWrite):
                insert_rows(ScopeEvent, rows)
        finally:
            g.pop("cab_id")
