"""An AB admin edits the tenant's policy values: saved and audited, or refused beside the field."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.tenants.models import TenantPolicy, policy_fields
from tests.auth.helpers import audit_events, field_error, flashes, input_value, text


def policy(tenant) -> TenantPolicy:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(select(TenantPolicy)).scalar_one()


def form_data(tenant, **changes) -> dict:
    current = policy(tenant)
    return {**{f: getattr(current, f) for f in policy_fields()}, **changes}


@pytest.fixture
def admin(client, admin_a, login_as):
    login_as(admin_a)
    return admin_a


def test_the_settings_page_shows_the_current_values(client, admin, tenant_a):
    resp = client.get("/alpha/settings")
    assert "Policy settings" in text(resp)
    assert input_value(resp, "response_due_days") == "30"
    assert input_value(resp, "cycle_length_months") == "60"
    assert input_value(resp, "accreditation_number_format") == "{seq:04d}"


def test_an_admin_changes_a_value_and_it_is_saved_and_audited(client, admin, tenant_a, tenant_b):
    resp = client.post("/alpha/settings", data=form_data(tenant_a, response_due_days=45),
                       follow_redirects=True)
    assert resp.request.path == "/alpha/settings"
    assert "Settings saved." in flashes(resp)
    assert policy(tenant_a).response_due_days == 45
    assert policy(tenant_b).response_due_days == 30

    [event] = audit_events("tenant.policy_updated", tenant=tenant_a)
    assert event.changes == {"response_due_days": [30, 45]}
    assert event.actor_label == "admin@alpha.example.org"


def test_several_values_are_audited_in_one_event(client, admin, tenant_a):
    client.post("/alpha/settings", data=form_data(
        tenant_a, grading_scheme="ukas", accreditation_number_format="AB-{programme}-{seq:05d}",
        consultancy_lookback_years=0))
    saved = policy(tenant_a)
    assert (saved.grading_scheme, saved.accreditation_number_format,
            saved.consultancy_lookback_years) == ("ukas", "AB-{programme}-{seq:05d}", 0)
    [event] = audit_events("tenant.policy_updated")
    assert event.changes == {
        "grading_scheme": ["anab", "ukas"],
        "accreditation_number_format": ["{seq:04d}", "AB-{programme}-{seq:05d}"],
        "consultancy_lookback_years": [2, 0],
    }


def test_saving_unchanged_values_says_so_and_writes_no_event(client, admin, tenant_a):
    resp = client.post("/alpha/settings", data=form_data(tenant_a), follow_redirects=True)
    assert "Nothing changed." in flashes(resp)
    assert audit_events("tenant.policy_updated") == []


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"cycle_length_months": 61}, "cycle_length_months", "Number must be between 12 and 60."),
        ({"max_suspension_months": 10}, "max_suspension_months", "Number must be between 1 and 9."),
        ({"evidence_due_days": 20}, "evidence_due_days",
         "Evidence cannot be due before the response."),
        ({"response_due_days": 100}, "evidence_due_days",
         "Evidence cannot be due before the response."),
        ({"accreditation_number_format": "{foo}"}, "accreditation_number_format",
         "Unknown field(s): foo. Use {seq}, {programme}, {programme_seq}, {year}."),
        ({"accreditation_number_format": "ABC"}, "accreditation_number_format",
         "The format must contain {seq} so numbers are unique."),
        ({"accreditation_number_format": "{seq:zz}"}, "accreditation_number_format",
         "Not a valid format:"),
        ({"accreditation_number_format": "AB-{seq"}, "accreditation_number_format",
         "Not a valid format:"),
        ({"grading_scheme": "stars"}, "grading_scheme", "Not a valid choice."),
    ],
)
def test_invalid_values_are_refused_beside_the_field_and_nothing_changes(
    client, admin, tenant_a, changes, field, message
):
    before = {f: getattr(policy(tenant_a), f) for f in policy_fields()}
    # A valid change rides along: it must not be half-saved either.
    data = form_data(tenant_a, application_validity_months=30, **changes)
    resp = client.post("/alpha/settings", data=data)
    assert resp.status_code == 200
    assert field_error(resp, field).startswith(message), field_error(resp, field)
    assert {f: getattr(policy(tenant_a), f) for f in policy_fields()} == before
    assert audit_events("tenant.policy_updated") == []
