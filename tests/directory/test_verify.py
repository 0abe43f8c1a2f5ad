"""``/verify``: was this body accredited for this on that date? Answered from the scope history
of published accreditations, for any AB, without login."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import ScopeEvent, ScopeItem
from tests.directory.conftest import (
    GRANTED,
    TODAY,
    accredited,
    big,
    item_ids,
    months_ago,
    suspend,
    withdraw,
)
from tests.factories import CAL_LINE, create_accreditation, create_cab


def verify(client, status: int = 200, **params) -> str:
    resp = client.get("/verify/", query_string=params)
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
    return resp.get_data(as_text=True)


def test_the_answer_follows_the_scope_history(tenant_a, client):
    acc = accredited(tenant_a)  # 3 lines, granted GRANTED
    suspend(tenant_a, acc.id, item_ids(tenant_a, acc.id)[:1], on=TODAY - timedelta(days=30))
    today = verify(client, number=acc.number)
    assert "Yes." in today and "for the 2 activities" in today
    assert "Pressure gauges type 1" not in today  # suspended now
    before = verify(client, number=acc.number, on=(TODAY - timedelta(days=60)).isoformat())
    assert "for the 3 activities" in before and "Pressure gauges type 1" in before
    never = verify(client, number=acc.number, on=(GRANTED - timedelta(days=1)).isoformat())
    assert "No." in never and 'data-testid="verified-lines"' not in never


def test_a_withdrawal_past_its_listing_is_still_answered_for_earlier_dates(tenant_a, client):
    acc = accredited(tenant_a, granted_on=months_ago(40))
    withdraw(tenant_a, acc.id, months_ago(13))
    assert client.get(f"/alpha/directory/{acc.number}").status_code == 404  # rule 27
    then = verify(client, number=acc.number, on=months_ago(14).isoformat())
    assert "Yes." in then and "for the 3 activities" in then
    assert "No." in verify(client, number=acc.number)


def test_an_unknown_or_unpublished_number_is_not_found(tenant_a, client):
    body = verify(client, 404, number="9999")
    assert "No published accreditation has the number 9999" in body
    unpublished = accredited(tenant_a, legal_name="Never Published Ltd", publish=False)
    assert "Never Published Ltd" not in verify(client, 404, number=unpublished.number)
    applicant = create_accreditation(tenant_a, create_cab(tenant_a, "Applicant Ltd"), "17025-C",
                                     lines=[CAL_LINE])
    assert applicant.number is None or "Applicant Ltd" not in verify(
        client, 404, number=applicant.number)


def test_the_same_number_at_two_abs_asks_which_one(tenant_a, tenant_b, client):
    ours = accredited(tenant_a, legal_name="Alpha Lab Ltd")
    theirs = accredited(tenant_b, legal_name="Bravo Lab Ltd")
    assert ours.number == theirs.number  # each AB numbers its own accreditations
    body = verify(client, number=ours.number)
    assert 'data-testid="ambiguous"' in body
    assert "Alpha Lab Ltd" not in body and "Bravo Lab Ltd" not in body
    chosen = verify(client, number=ours.number, ab=tenant_b.slug)
    assert "Bravo Lab Ltd" in chosen and "Yes." in chosen


@pytest.mark.parametrize("on, message", [
    ("31/12/2025", "Give the date as YYYY-MM-DD"),
    ("2025-02-30", "Give the date as YYYY-MM-DD"),
    ((TODAY + timedelta(days=1)).isoformat(), "Only a date up to today"),
])
def test_a_bad_date_is_refused_beside_the_field(tenant_a, client, on, message):
    acc = accredited(tenant_a)
    body = verify(client, 400, number=acc.number, on=on)
    assert message in body and 'id="on-error"' in body


@pytest.mark.parametrize("number", ["x" * 5000, "' OR 1=1 --", '"*() OR NEAR:', "%"])
def test_odd_input_is_a_clean_not_found(client, number):
    assert "No published accreditation" in verify(client, 404, number=number)


def test_the_page_runs_the_same_statements_for_5_and_2000_lines(tenant_a, client,
                                                              count_queries):
    def statements(n: int, number: str) -> int:
        acc = big(tenant_a, n, legal_name=f"Lab {n}", number=number)
        with tenant_scope(tenant_a):
            from accreditor.directory import services

            ids = db.session.execute(select(ScopeItem.id).where(
                ScopeItem.accreditation_id == acc.id)).scalars().all()
            db.session.execute(insert(ScopeEvent), [
                {"tenant_id": tenant_a.id, "cab_id": acc.cab_id, "accreditation_id": acc.id,
                 "scope_item_id": i, "from_status": "applied", "to_status": "accredited",
                 "effective_on": GRANTED, "reason_code": "grant"} for i in ids])
            services.publish(db.session.get(type(acc), acc.id))
            commit()
        verify(client, number=number)
        with count_queries() as q:
            body = verify(client, number=number)
        assert f"for the {n} activities" in body
        return q.count

    assert statements(5, "V-5") == statements(2000, "V-2000")


def test_lookups_are_rate_limited_per_address(app, client):
    from accreditor.extensions import limiter

    limiter.reset()
    app.config["VERIFY_RATE_LIMIT"] = "3 per minute"
    try:
        for _ in range(3):
            verify(client, 404, number="1234")
        assert client.get("/verify/", query_string={"number": "1234"}).status_code == 429
        other = client.get("/verify/", query_string={"number": "1234"},
                           environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert other.status_code == 404  # another address is not held back
    finally:
        app.config["VERIFY_RATE_LIMIT"] = "60 per minute"
        limiter.reset()


def test_a_nul_byte_is_a_clean_not_found(client):
    assert "No published accreditation" in verify(client, 404, number="12\x0034")
