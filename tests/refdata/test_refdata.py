"""Reference lists: seeded once for the platform, extended per tenant without touching others."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accreditor.core.db import commit
from accreditor.core.permissions import Role
from accreditor.core.tenancy import CrossTenantWrite, tenant_scope
from accreditor.extensions import db
from accreditor.refdata import services
from accreditor.refdata.models import RefTerm, TermKind
from tests.factories import create_cab, create_member


def test_the_platform_lists_hold_the_39_iaf_codes_and_five_programmes(tenant_a):
    with tenant_scope(tenant_a):
        iaf = services.terms(TermKind.iaf_code)
        assert sorted(int(c) for c in iaf) == list(range(1, 40))
        assert iaf["28"].name == "Construction" and iaf["28"].is_critical
        assert {p.code for p in services.programmes()} >= {"17020", "17021-1", "17024", "17025-T",
                                                          "17025-C"}
        assert services.terms(TermKind.food_chain)["CI"].group == "Food and feed processing"


def test_loading_reference_data_twice_adds_nothing(runner):
    before = db.session.execute(select(func.count(RefTerm.id))
                                .execution_options(all_tenants=True)).scalar_one()
    result = runner.invoke(args=["refdata", "load"])
    assert result.exit_code == 0, result.output
    assert "0 new rows" in result.output
    after = db.session.execute(select(func.count(RefTerm.id))
                               .execution_options(all_tenants=True)).scalar_one()
    assert before == after


def test_a_tenants_additions_are_invisible_to_other_tenants(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        services.add_term(TermKind.testing_field, code="RAD", name="Radiological")
        commit()
        assert "RAD" in services.terms(TermKind.testing_field)
    with tenant_scope(tenant_b):
        assert "RAD" not in services.terms(TermKind.testing_field)


def test_a_tenant_regroups_iaf_codes_for_itself_only(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        services.set_term_grouping(TermKind.iaf_code, "34", group="Engineering", is_critical=True)
        commit()
        term = services.terms(TermKind.iaf_code)["34"]
        assert (term.group, term.is_critical) == ("Engineering", True)
    with tenant_scope(tenant_b):
        term = services.terms(TermKind.iaf_code)["34"]
        assert (term.group, term.is_critical) == ("Construction", False)


def test_a_tenant_cannot_change_a_platform_row(tenant_a):
    with tenant_scope(tenant_a):
        platform_row = services.terms(TermKind.iaf_code)["1"]
        platform_row.name = "Hijacked"
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
    db.session.rollback()


def test_iaf_codes_cannot_be_added(tenant_a):
    from accreditor.core.errors import ValidationFailed

    with tenant_scope(tenant_a), pytest.raises(ValidationFailed, match="IAF ID 1"):
        services.add_term(TermKind.iaf_code, code="40", name="Made up")


def test_an_admin_adds_iso_15189_as_data_and_it_takes_testing_scope_lines(
        tenant_a, admin_a, client, login_as):
    login_as(admin_a)
    resp = client.post("/alpha/settings/reference/programmes", data={
        "code": "15189", "name": "Medical laboratories", "standard": "ISO 15189",
        "edition": "2022", "scope_type": "testing", "number_code": "MED"})
    assert resp.status_code == 302
    page = client.get("/alpha/settings/reference/").get_data(as_text=True)
    assert "Medical laboratories" in page and "ISO 15189" in page

    from accreditor.scopes import services as scopes

    cab = create_cab(tenant_a, "City Hospital Laboratory")
    with tenant_scope(tenant_a):
        programme = services.programme_by_code("15189")
        acc = scopes.create_accreditation(cab, programme)
        item = scopes.add_scope_item(acc, {
            "field": "BIOLOGICAL", "product": "Human serum", "test": "Glucose",
            "method": "SOP-CHEM-012 (hexokinase)", "location": "A"})
        commit()
        assert item.fields["product"] == "Human serum"
        assert "Glucose" in item.summary


def test_reference_pages_for_staff_and_forms_for_admins(tenant_a, admin_a, client, login_as):
    assessor = create_member(tenant_a, "assessor@alpha.example.org", [Role.assessor])
    login_as(assessor)
    page = client.get("/alpha/settings/reference/iaf_code").get_data(as_text=True)
    assert "Construction" in page and "41–43" in page
    assert client.post("/alpha/settings/reference/testing_field",
                       data={"code": "X", "name": "Y"}).status_code == 403
    login_as(admin_a)
    resp = client.post("/alpha/settings/reference/testing_field", data={"code": "", "name": ""})
    assert resp.status_code == 400
    assert "This field is required" in resp.get_data(as_text=True)
    resp = client.post("/alpha/settings/reference/iaf_code/28/grouping",
                       data={"group": "Building", "is_critical": "y"})
    assert resp.status_code == 302
    assert "Building" in client.get("/alpha/settings/reference/iaf_code").get_data(as_text=True)
    assert client.get("/alpha/settings/reference/not-a-kind").status_code == 404
