"""An AB admin edits the tenant's policy values: saved and audited, or refused beside the field."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from accreditor.core.errors import ValidationFailed
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.tenants.models import TenantPolicy, policy_fields
from accreditor.tenants.policy import POLICY_RANGES, POLICY_SECTIONS
from accreditor.tenants.services import update_policy
from tests.auth.helpers import audit_events, field_error, flashes, input_value, text


def policy(tenant) -> TenantPolicy:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(select(TenantPolicy)).scalar_one()


def form_data(tenant, **changes) -> dict:
    """The settings form as a browser posts it: every field, unticked boxes left out."""
    current = policy(tenant)
    data = {**{f: getattr(current, f) for f in policy_fields()}, **changes}
    return {k: v for k, v in data.items() if v is not False}


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
        ({"cycle_length_months": 61}, "cycle_length_months",
         "Give 12 to 60 months: an accreditation cycle is at most 5 years (ISO/IEC 17011 7.9.1)."),
        ({"onsite_interval_max_months": 25}, "onsite_interval_max_months",
         "Give 1 to 24 months: the longest gap between on-site assessments can never exceed 24 "
         "months (ISO/IEC 17011 7.9.3)."),
        ({"response_due_days": -5}, "response_due_days", "Give 1 to 365 days."),
        ({"objection_window_days": -1}, "objection_window_days", "Give 1 to 60 days."),
        ({"consultancy_lookback_years": -1}, "consultancy_lookback_years", "Give 0 to 10 years."),
        ({"witness_code_cycle_years": 11}, "witness_code_cycle_years",
         "Give 1 to 10 years: every code is witnessed at least every 10 years (IAF MD 17)."),
        ({"max_suspension_months": 10}, "max_suspension_months",
         "Give 1 to 9 months: a suspension lasts at most 9 months."),
        ({"surveillance_interval_months": 24, "cycle_length_months": 24},
         "surveillance_interval_months",
         "A surveillance must fall inside the 24-month cycle: give fewer months."),
        ({"response_due_days": "soon"}, "response_due_days", "Not a valid integer value."),
        ({"witness_due_soon_days": ""}, "witness_due_soon_days", "Give a whole number."),
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


# -- every field, every range --------------------------------------------------------------------


def test_the_page_has_a_field_for_every_policy_value_in_its_section(client, admin):
    page = client.get("/alpha/settings").get_data(as_text=True)
    shown = re.findall(r'<(?:input|select)[^>]* name="([a-z_]+)"', page)
    assert sorted(set(shown) - {"csrf_token"}) == sorted(policy_fields())
    listed = [name for _, names in POLICY_SECTIONS for name in names]
    assert sorted(listed) == sorted(policy_fields()), "each field in exactly one section"
    assert "<legend" in page and "Accreditation cycle and programme" in page


def test_every_value_changed_at_once_is_one_audit_event_with_old_and_new(client, admin, tenant_a):
    new = {"cycle_length_months": 48, "first_surveillance_months": 6,
           "surveillance_interval_months": 9, "onsite_interval_max_months": 18,
           "response_due_days": 20, "evidence_due_days": 60, "grading_scheme": "ilac_g20",
           "accreditation_number_format": "{programme}-{seq:03d}",
           "application_validity_months": 18, "consultancy_lookback_years": 3,
           "employment_lookback_years": 4, "max_suspension_months": 6,
           "directory_retention_months": 24, "objection_window_days": 14,
           "onsite_monitoring_interval_months": 24, "witness_code_cycle_years": 4,
           "witness_due_soon_days": 60, "finding_reminder_days": "14,3",
           "finding_escalation_grace_days": 45, "decision_committee_size": 2,
           "light_surveillance_decisions": True, "max_suspension_extended_months": 8,
           "resignation_notice_days": 60, "inactive_max_months": 6, "appeal_window_months": 2,
           "appeal_ack_working_days": 3, "appeal_outcome_working_days": 15,
           "appeal_second_stage_months": 4, "nc_appealable": True,
           "complaint_ack_working_days": 4, "complaint_cab_response_days": 60,
           "complaint_resolution_days": 120}
    assert sorted(new) == sorted(policy_fields())
    old = {f: getattr(policy(tenant_a), f) for f in policy_fields()}
    resp = client.post("/alpha/settings", data=new, follow_redirects=True)
    assert "Settings saved." in flashes(resp)
    assert {f: getattr(policy(tenant_a), f) for f in policy_fields()} == new
    [event] = audit_events("tenant.policy_updated", tenant=tenant_a)
    assert event.changes == {f: [old[f], new[f]] for f in new}
    page = client.get("/alpha/settings")  # the page shows the saved values
    for f, value in new.items():
        if f == "grading_scheme":
            continue
        if value is True:  # a ticked box
            assert re.search(rf'<input[^>]*checked[^>]*name="{f}"|<input[^>]*name="{f}"[^>]*checked',
                             page.text), f
        else:
            assert input_value(page, f) == str(value)


BOUNDS = [(name, rng.lo, rng.hi) for name, rng in POLICY_RANGES.items()]


@pytest.mark.parametrize(("name", "lo", "hi"), BOUNDS, ids=[b[0] for b in BOUNDS])
def test_each_range_refuses_one_below_and_one_above_on_the_page(
    client, admin, tenant_a, name, lo, hi
):
    message = str(POLICY_RANGES[name].message)
    for value in (lo - 1, hi + 1):
        resp = client.post("/alpha/settings", data=form_data(tenant_a, **{name: value}))
        assert resp.status_code == 200
        assert field_error(resp, name) == message, (name, value)
        assert getattr(policy(tenant_a), name) != value
    assert audit_events("tenant.policy_updated") == []


def _fits(name: str, value: int) -> dict:
    """Companion values so that ``value`` passes the cross-field rules."""
    if name == "evidence_due_days":
        return {"response_due_days": min(value, 30)}
    if name == "response_due_days":
        return {"evidence_due_days": max(value, 90)}
    if name == "cycle_length_months":
        return {"first_surveillance_months": min(value - 1, 12),
                "surveillance_interval_months": min(value - 1, 12)}
    if name == "max_suspension_extended_months":
        return {"max_suspension_months": min(value, 3)}
    return {}


@pytest.mark.parametrize(("name", "lo", "hi"), BOUNDS, ids=[b[0] for b in BOUNDS])
def test_the_service_refuses_out_of_range_values_and_accepts_the_bounds(
    tenant_a, name, lo, hi
):
    with tenant_scope(tenant_a):
        current = db.session.execute(select(TenantPolicy)).scalar_one()
        for value in (lo - 1, hi + 1, -1):
            if lo <= value <= hi:
                continue
            with pytest.raises(ValidationFailed) as exc:
                update_policy(current, **{name: value})
            assert exc.value.field == name
            assert exc.value.message == str(POLICY_RANGES[name].message)
        assert getattr(current, name) not in (lo - 1, hi + 1)
        for value in (lo, hi):
            update_policy(current, **{name: value, **_fits(name, value)})
            assert getattr(current, name) == value


def test_the_on_site_interval_can_never_be_set_above_24_months(tenant_a):
    with tenant_scope(tenant_a):
        current = db.session.execute(select(TenantPolicy)).scalar_one()
        with pytest.raises(ValidationFailed, match="never exceed 24 months"):
            update_policy(current, onsite_interval_max_months=25)
        with pytest.raises(ValidationFailed, match="at most 5 years"):
            update_policy(current, cycle_length_months=72)
        assert (current.onsite_interval_max_months, current.cycle_length_months) == (24, 60)


def test_the_first_surveillance_must_fall_inside_the_cycle(client, admin, tenant_a):
    resp = client.post("/alpha/settings", data=form_data(
        tenant_a, cycle_length_months=24, first_surveillance_months=24))
    assert field_error(resp, "first_surveillance_months") == (
        "A surveillance must fall inside the 24-month cycle: give fewer months.")
    assert policy(tenant_a).cycle_length_months == 60


# -- who may change the policy ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.manager, Role.assessor, Role.decision_maker, Role.cab_user])
def test_a_member_without_the_admin_role_cannot_change_the_policy(
    client, tenant_a, make_user, login_as, role
):
    login_as(make_user(tenant_a, "member@alpha.example.org", [role]))
    resp = client.post("/alpha/settings", data=form_data(tenant_a, response_due_days=45))
    assert resp.status_code == 403
    assert "Your role does not allow this action." in text(resp)
    assert policy(tenant_a).response_due_days == 30
    assert audit_events("tenant.policy_updated") == []


def test_another_bodys_admin_gets_not_found_and_changes_nothing(
    client, admin_a, admin_b, tenant_a, tenant_b, login_as
):
    login_as(admin_b)
    resp = client.post("/alpha/settings", data=form_data(tenant_a, response_due_days=45))
    assert resp.status_code == 404
    assert "Alpha Accreditation Service" not in text(resp)
    assert policy(tenant_a).response_due_days == 30
    assert policy(tenant_b).response_due_days == 30
    assert audit_events("tenant.policy_updated") == []


def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_changes(client, tenant_a):
    resp = client.post("/alpha/settings", data=form_data(tenant_a, response_due_days=45))
    assert resp.status_code == 302
    assert resp.location.startswith("/login?next=")
    assert policy(tenant_a).response_due_days == 30


def test_the_settings_page_runs_a_fixed_number_of_queries(client, admin, assert_max_queries):
    with assert_max_queries(6):
        assert client.get("/alpha/settings").status_code == 200


@pytest.mark.parametrize("text", ["soon", "0", "7,91", "1,2,3,4,5,6", ""])
def test_reminder_days_refuse_anything_but_a_short_list_of_days(client, admin, tenant_a, text):
    resp = client.post("/alpha/settings", data=form_data(tenant_a, finding_reminder_days=text))
    assert resp.status_code == 200
    assert field_error(resp, "finding_reminder_days")
    assert policy(tenant_a).finding_reminder_days == "7,1"


def test_reminder_days_are_saved_largest_first_once_each(client, admin, tenant_a):
    client.post("/alpha/settings", data=form_data(tenant_a, finding_reminder_days="1; 14, 7, 7"))
    assert policy(tenant_a).finding_reminder_days == "14,7,1"


def test_an_extended_suspension_shorter_than_the_longest_suspension_is_refused(
        client, admin, tenant_a):
    resp = client.post("/alpha/settings", data=form_data(
        tenant_a, max_suspension_months=6, max_suspension_extended_months=4))
    assert resp.status_code == 200
    assert "An extended suspension cannot be shorter than the longest suspension." in resp.text
    assert policy(tenant_a).max_suspension_extended_months == 9
