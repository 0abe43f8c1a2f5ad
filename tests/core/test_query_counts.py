"""Main pages run a bounded number of SQL statements, the same at N and 10N rows (P1)."""

from __future__ import annotations

import pytest

from accreditor.core import audit
from accreditor.core.db import commit
from accreditor.core.mail import OutboxMessage
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from tests.factories import create_member, create_tenant

# Bound per page, beyond the sign-in work every request does (user load + tenant + membership).
PAGES = {
    "/alpha/": 6,
    "/alpha/settings": 6,
    "/alpha/settings/users": 8,
    "/alpha/audit": 6,
    "/choose-tenant": 5,
    "/admin/": 4,
    "/admin/outbox": 5,
}


def _grow(tenant, n: int) -> None:
    """Add n members, n audit events, n outbox messages and n/5 tenants."""
    for i in range(n):
        create_member(tenant, f"member{i}-{n}@alpha.example.org", [Role.assessor])
    with tenant_scope(tenant):
        for _ in range(n):
            audit.record("test.filler", tenant)
    for i in range(n):
        db.session.add(OutboxMessage(to=f"x{i}@example.org", subject="s", text_body="t",
                                     html_body="h"))
    for i in range(max(1, n // 5)):
        create_tenant(f"extra-{n}-{i}")
    commit()


@pytest.mark.parametrize("path", sorted(PAGES))
def test_page_query_count_does_not_grow_with_data(path, client, tenant_a, login_as, count_queries):
    user = create_member(tenant_a, "counter@alpha.example.org", list(Role))
    user.is_platform_admin = True
    commit()
    login_as(user)

    def measure() -> int:
        client.get(path)  # warm caches (e.g. the first request of a login)
        with count_queries() as q:
            resp = client.get(path)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        return q.count

    _grow(tenant_a, 3)
    small = measure()
    _grow(tenant_a, 30)
    large = measure()
    print(f"QUERYCOUNT {path} {small} {large}")
    assert small == large, f"{path}: {small} queries with few rows, {large} with many"
    assert large <= PAGES[path], f"{path}: {large} queries > bound {PAGES[path]}"
