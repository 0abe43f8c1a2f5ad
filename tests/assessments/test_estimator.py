"""The person-day estimator (DOMAIN.md §6): the breakdown from the defaults, the tenant's own
factors, and the checks on the settings page's values."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from accreditor.assessments import estimator, services, witness
from accreditor.assessments.models import Assessment, Witness
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.errors import ValidationFailed
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation, ScopeItem
from accreditor.tenants.models import TenantPolicy
from tests.assessments.assessment_helpers import END, START, cal_setup, new_assessment
from tests.factories import CAL_LINE, MASS_LINE, MS_LINE, create_accreditation, create_cab


def policy() -> TenantPolicy:
    return db.session.execute(select(TenantPolicy)).scalar_one()


def get(assessment_id: int) -> Assessment:
    return db.session.execute(select(Assessment).where(Assessment.id == assessment_id)
                              ).scalar_one()


def breakdown(estimate) -> dict[str, Decimal]:
    return {label: days for label, days in estimate.lines}


def defaults_raw() -> dict[str, str]:
    return {k: str(v) for k, v in estimator.flat_values(None).items()}


def test_the_default_estimate_adds_up_and_names_its_factors(tenant_a):
    _cab, acc, ids = cal_setup(tenant_a, lines=[CAL_LINE, MASS_LINE,
                                                {**CAL_LINE, "quantity": "Other gauges"}])
    a = new_assessment(tenant_a, acc, sample=ids, type="initial")
    with tenant_scope(tenant_a):
        a = get(a.id)
        a.location_codes = ["A", "B"]
        db.session.add(Witness(cab_id=a.cab_id, accreditation_id=acc.id, assessment_id=a.id,
                               activity="calibration", cab_personnel="J. Smith", extent="full",
                               mode="onsite", witnessed_on=date(2026, 1, 1)))
        db.session.flush()
        est = estimator.estimate_days(a)
    lines = breakdown(est)
    # initial: 2 office + 3 site; PRES and MASS = 2 areas × 0.5; 1 extra location × 0.5;
    # 1 witness × 1.75; close-out 0.75
    assert lines["Base office days (initial)"] == Decimal("2.0")
    assert lines["Technical areas in the sample: 2 × 0.5"] == Decimal("1.0")
    assert lines["Locations beyond the first: 1 × 0.5"] == Decimal("0.5")
    assert lines["Witnessed activities: 1 × 1.75"] == Decimal("1.75")
    assert est.days == Decimal("9.00") and est.units == ["MASS", "PRES"]
    assert not est.customised


def test_iaf_codes_of_one_cluster_count_as_one_technical_area(tenant_a):
    cab = create_cab(tenant_a, "Certify Ltd")
    acc = create_accreditation(tenant_a, cab, "17021-1", lines=[MS_LINE])  # IAF 28 and 34
    with tenant_scope(tenant_a):
        ids = db.session.execute(select(ScopeItem.id).where(
            ScopeItem.accreditation_id == acc.id)).scalars().all()
    a = new_assessment(tenant_a, acc, sample=ids)
    with tenant_scope(tenant_a):
        est = estimator.estimate_days(get(a.id))
    assert est.units == ["Construction"]


def test_the_tenants_factors_and_the_remote_multiplier_are_used(tenant_a):
    _cab, acc, ids = cal_setup(tenant_a)
    with tenant_scope(tenant_a):
        raw = defaults_raw() | {"base_site_surveillance": "2", "unit_calibration": "1",
                                "remote_site_factor": "0.5"}
        estimator.update_effort_factors(policy(), raw)
        commit()
    a = new_assessment(tenant_a, acc, sample=ids, mode="remote",
                       remote_justification="Crisis", ict_risk_note="Video")
    with tenant_scope(tenant_a):
        a = get(a.id)
        est = estimator.estimate_days(a)
        # 1 office + (2 site + 1 area × 1) × 0.5 + 0.5 close-out = 3.00
        assert est.days == Decimal("3.00") and est.customised
        assert breakdown(est)["Site days remote: 3.0 × 0.5"] == Decimal("-1.50")
        assert a.estimated_days == Decimal("3.00")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("unit_testing", "-0.5", "between 0 and 100"),
    ("per_witness", "101", "between 0 and 100"),
    ("per_location", "abc", "between 0 and 100"),
    ("per_location", "0.125", "two decimals"),
    ("hybrid_site_factor", "0", "multiplier"),
    ("remote_site_factor", "3.5", "multiplier"),
])
def test_bad_factor_values_are_refused_naming_the_field(tenant_a, field, value, message):
    with tenant_scope(tenant_a):
        with pytest.raises(ValidationFailed) as exc:
            estimator.update_effort_factors(policy(), defaults_raw() | {field: value})
        assert exc.value.field == field and message in exc.value.message
        assert policy().effort_factors is None


def test_a_type_without_any_effort_is_refused(tenant_a):
    with tenant_scope(tenant_a), pytest.raises(ValidationFailed) as exc:
        estimator.update_effort_factors(policy(), defaults_raw() | {
            "base_office_witness": "0", "base_site_witness": "0"})
    assert exc.value.field == "base_office_witness"


def test_changes_are_audited_and_the_defaults_are_not_stored(tenant_a):
    with tenant_scope(tenant_a):
        p = policy()
        assert estimator.update_effort_factors(p, defaults_raw()) == {}
        assert p.effort_factors is None
        changes = estimator.update_effort_factors(p, defaults_raw() | {"per_location": "0,75"})
        assert changes == {"per_location": ["0.50", "0.75"]}
        assert p.effort_factors["per_location"] == 0.75
        estimator.update_effort_factors(p, None)
        assert p.effort_factors is None
        events = db.session.execute(select(AuditEvent.changes).where(
            AuditEvent.action == "tenant.effort_factors_updated").order_by(AuditEvent.seq)
        ).scalars().all()
    assert events == [{"per_location": ["0.50", "0.75"]}, {"per_location": ["0.75", "0.50"]}]


def test_an_estimate_is_recorded_again_only_while_the_plan_can_change(tenant_a):
    _cab, acc, ids = cal_setup(tenant_a)
    a = new_assessment(tenant_a, acc, sample=ids, start=START, end=END)
    with tenant_scope(tenant_a):
        a = get(a.id)
        before = a.estimated_days
        estimator.update_effort_factors(policy(), defaults_raw() | {"unit_calibration": "2"})
        assert a.estimated_days == before  # stored estimates are not rewritten
        services.record_estimate(a)
        assert a.estimated_days == before + Decimal("1.5")
        a.status = "plan_approved"
        with pytest.raises(services.Conflict):
            services.record_estimate(a)


def ms_witness_data(assessment_id: int, **kw) -> dict:
    return {"activity": "ms_audit", "client_name": "Bricks & Mortar plc",
            "audit_type": "surveillance", "standard": "ISO 9001:2015", "iaf_code": "28",
            "cab_personnel": "J. Auditor (lead)", "extent": "full", "mode": "onsite",
            "witnessed_on": date.today() - timedelta(days=3), "place": "Leeds site",
            "outcome": "satisfactory", "assessment_id": str(assessment_id), **kw}


def estimate_events(assessment_id: int) -> list[dict]:
    return db.session.execute(select(AuditEvent.changes).where(
        AuditEvent.action == "assessment.estimate_updated",
        AuditEvent.object_type == "Assessment", AuditEvent.object_id == str(assessment_id))
        .order_by(AuditEvent.seq)).scalars().all()


def test_a_witness_assessment_counts_at_least_one_witnessed_activity(tenant_a):
    cab = create_cab(tenant_a, "Certify Ltd")
    acc = create_accreditation(tenant_a, cab, "17021-1", lines=[MS_LINE])
    a = new_assessment(tenant_a, acc, type="witness")
    with tenant_scope(tenant_a):
        est = estimator.estimate_days(get(a.id))
        # 0.25 coordination + 1 planned witness × 1.75 (0.5 office + 1.0 site + 0.25 close-out:
        # the UKAS witnessed assessment, DOMAIN.md §6)
        assert breakdown(est)["Witnessed activities: 1 × 1.75 (a witness assessment plans at "
                              "least one; none recorded yet)"] == Decimal("1.75")
        assert est.days == Decimal("2.00") and get(a.id).estimated_days == Decimal("2.00")
    # Other types count only the witnesses recorded.
    visit = new_assessment(tenant_a, acc, type="surveillance")
    with tenant_scope(tenant_a):
        assert breakdown(estimator.estimate_days(get(visit.id)))[
            "Witnessed activities: 0 × 1.75"] == Decimal("0")


def test_linking_witness_records_records_the_estimate_again_while_the_plan_can_change(
        tenant_a):
    cab = create_cab(tenant_a, "Certify Ltd")
    acc = create_accreditation(tenant_a, cab, "17021-1", lines=[MS_LINE])
    a = new_assessment(tenant_a, acc, type="witness")
    b = new_assessment(tenant_a, acc, type="witness")

    def load_acc() -> Accreditation:
        return db.session.execute(select(Accreditation).where(Accreditation.id == acc.id)
                                  ).scalar_one()

    with tenant_scope(tenant_a):
        witness.record_witness(load_acc(), **ms_witness_data(a.id))
        assert get(a.id).estimated_days == Decimal("2.00")  # 1 recorded = the 1 planned
        assert estimate_events(a.id) == []
        second = witness.record_witness(load_acc(), **ms_witness_data(a.id, iaf_code="34"))
        commit()
        assert get(a.id).estimated_days == Decimal("3.75")  # 2 × 1.75
        assert estimate_events(a.id) == [{"estimated_days": ["2.00", "3.75"]}]
        # Relinked to the other witness assessment: the first one's count drops again.
        witness.update_witness(second, load_acc(), **ms_witness_data(b.id, iaf_code="34"))
        commit()
        assert get(a.id).estimated_days == Decimal("2.00")
        assert estimate_events(a.id)[-1] == {"estimated_days": ["3.75", "2.00"]}
        # Once the plan is approved its estimate is on record.
        get(b.id).status = "plan_approved"
        witness.record_witness(load_acc(), **ms_witness_data(b.id, iaf_code="28"))
        commit()
        assert get(b.id).estimated_days == Decimal("2.00") and estimate_events(b.id) == []
        assert estimator.estimate_days(get(b.id)).days == Decimal("3.75")
