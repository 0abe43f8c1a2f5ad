"""The staff list and the portal's scope page run the same number of SQL statements with few
and with many rows (P1)."""

from __future__ import annotations

from sqlalchemy import select

from accreditor.applications import services
from accreditor.applications.models import ApplicationType
from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.refdata.services import programme_by_code
from accreditor.scopes import services as scopes
from accreditor.scopes.models import Accreditation
from tests.factories import CAL_LINE, create_accreditation, create_cab

STAFF_INDEX_BOUND = 7
SCOPE_PAGE_BOUND = 13  # + decisions, schedule issues (each paginated: page + count) and requests


def _measure(client, count_queries, url: str) -> int:
    client.get(url)  # warm up (first request after sign-in)
    with count_queries() as q:
        resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return q.count


def _add_applications(tenant, n: int, start_at: int) -> None:
    for i in range(start_at, start_at + n):
        cab = create_cab(tenant, f"Lab number {i}")
        with tenant_scope(tenant):
            app = services.start_application(cab, type=ApplicationType.initial,
                                             programme=programme_by_code("17025-C"),
                                             summary=f"application {i}")
            services.add_requested_line(app, CAL_LINE)
            services.submit_application(app, declaration=True)
            commit()


def test_the_staff_list_query_count_does_not_grow(client, login_as, manager, tenant_a,
                                                  count_queries):
    login_as(manager)
    _add_applications(tenant_a, 3, 0)
    small = _measure(client, count_queries, "/alpha/applications/")
    _add_applications(tenant_a, 60, 3)  # more than a page of 50
    large = _measure(client, count_queries, "/alpha/applications/")
    filtered = _measure(client, count_queries, "/alpha/applications/?status=submitted&page=2")
    print(f"QUERYCOUNT /applications/ {small} {large} {filtered}")
    assert small == large == filtered
    assert large <= STAFF_INDEX_BOUND


def test_the_portal_scope_page_query_count_does_not_grow(client, login_as, lab, lab_user,
                                                         tenant_a, count_queries):
    acc = create_accreditation(tenant_a, lab, "17025-C", lines=[CAL_LINE] * 3)
    login_as(lab_user)
    url = f"/alpha/portal/accreditations/{acc.id}"
    small = _measure(client, count_queries, url)
    with tenant_scope(tenant_a):
        accreditation = db.session.execute(
            select(Accreditation).where(Accreditation.id == acc.id)).scalar_one()
        accreditation.programme = programme_by_code("17025-C")
        ctx = scopes.validation_context(accreditation)
        for i in range(150):
            scopes.add_scope_item(accreditation, {**CAL_LINE, "quantity": f"Gauge {i}"}, ctx=ctx)
        commit()
    large = _measure(client, count_queries, url)
    second_page = _measure(client, count_queries, url + "?page=2")
    print(f"QUERYCOUNT /portal/accreditations/<id> {small} {large} {second_page}")
    assert small == large == second_page
    assert large <= SCOPE_PAGE_BOUND
