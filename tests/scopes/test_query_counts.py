"""The accreditation page runs the same SQL statements with 10 lines as with 2,000: one page of
lines (LIMIT/OFFSET), one count by status, each reference list once, one page of history."""

from __future__ import annotations

from datetime import date

import pytest

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import ScopeEvent, ScopeItem
from tests.factories import CAL_LINE, MS_LINE, create_accreditation
from tests.scopes.helpers import load, page, scope_item_ids, words

# Beyond the sign-in work of every tenant page (user, tenant, membership, roles): the
# accreditation with CAB, programme and edition (1), the count by status (1), one page of lines
# (1), the reference lists the columns name (1 for calibration, 3 for MS), the history (1),
# the decisions and the schedule issues (2).
BOUND = {"17025-C": 14, "17021-1": 16}  # + paginated decisions, schedules and CAB requests


def grow(tenant, acc_id: int, n: int, raw: dict) -> None:
    """Add ``n`` granted lines in bulk (a tenth suspended), each with its history events."""
    with tenant_scope(tenant):
        acc = load(tenant, acc_id)
        start = len(db.session.execute(
            db.select(ScopeItem.id).where(ScopeItem.accreditation_id == acc_id)).all())
        items = [ScopeItem(cab_id=acc.cab_id, accreditation_id=acc_id, position=start + i + 1,
                           status="suspended" if i % 10 == 0 else "accredited", fields=dict(raw),
                           summary=f"line {start + i + 1}") for i in range(n)]
        db.session.add_all(items)
        db.session.flush()
        events = [ScopeEvent(cab_id=acc.cab_id, accreditation_id=acc_id, scope_item_id=item.id,
                             from_status="applied", to_status="accredited",
                             effective_on=date(2024, 1, 10), reason_code="grant")
                  for item in items]
        events += [ScopeEvent(cab_id=acc.cab_id, accreditation_id=acc_id, scope_item_id=item.id,
                              from_status="accredited", to_status="suspended",
                              effective_on=date(2024, 6, 1), reason_code="imposed")
                   for item in items if item.status == "suspended"]
        db.session.add_all(events)
        acc.status = "partially_suspended"
        commit()


@pytest.mark.parametrize(("programme", "raw"), [("17025-C", CAL_LINE), ("17021-1", MS_LINE)])
@pytest.mark.parametrize("query", ["", "?page=2", "?status=suspended", "/history",
                                   "/as-of?on=2024-07-01", "/export.csv"])
def test_the_accreditation_pages_run_as_many_statements_for_2000_lines_as_for_10(
    client, tenant_a, admin_a, login_as, count_queries, cab, programme, raw, query
):
    acc_id = create_accreditation(tenant_a, cab, programme).id
    login_as(admin_a)
    url = page(acc_id, query)

    def measure() -> int:
        client.get(url)  # warm up
        with count_queries() as q:
            resp = client.get(url)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
        return q.count

    grow(tenant_a, acc_id, 10, raw)
    small = measure()
    grow(tenant_a, acc_id, 1990, raw)
    large = measure()
    print(f"QUERYCOUNT {programme} show{query} {small} {large}")
    assert small == large, f"{small} statements with 10 lines, {large} with 2,000"
    if query in ("", "?page=2", "?status=suspended"):
        assert large <= BOUND[programme]


def test_the_page_shows_100_lines_at_a_time(client, tenant_a, admin_a, login_as, cab):
    acc_id = create_accreditation(tenant_a, cab, "17025-C").id
    grow(tenant_a, acc_id, 250, CAL_LINE)
    login_as(admin_a)
    first = client.get(page(acc_id))
    assert len(scope_item_ids(first)) == 100
    assert "Page 1 of 3" in words(first) and "Scope (250)" in words(first)
    last = client.get(page(acc_id, "?page=3"))
    assert len(scope_item_ids(last)) == 50
    beyond = client.get(page(acc_id, "?page=99"))  # clamps to the last page
    assert "Page 3 of 3" in words(beyond)

    suspended = client.get(page(acc_id, "?status=suspended"))
    assert "Scope (25)" in words(suspended) and len(scope_item_ids(suspended)) == 25
    assert "Accredited — partially suspended" in words(suspended)
    assert f'href="/alpha/accreditations/{acc_id}?page=2"' in first.get_data(as_text=True)
