"""What the accreditation page shows: the header, the typed scope table and its filter."""

from __future__ import annotations

from datetime import date

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.scopes import services
from tests.factories import CAL_LINE, create_accreditation
from tests.scopes.helpers import (
    TEST_LINE,
    lines,
    load,
    page,
    scope_headings,
    scope_item_ids,
    scope_rows,
    words,
)


def test_the_header_names_the_cab_programme_standard_number_status_and_dates(
    client, tenant_a, admin_a, login_as, cab, cal_acc
):
    with tenant_scope(tenant_a):
        services.grant(load(tenant_a, cal_acc.id), effective_on=date(2024, 1, 10))
        commit()
    login_as(admin_a)
    resp = client.get(page(cal_acc.id))
    assert resp.status_code == 200
    assert f'<a href="/alpha/cabs/{cab.id}">Precision Calibration Ltd</a>' in \
        resp.get_data(as_text=True)
    assert ("CAB Precision Calibration Ltd Programme Calibration laboratories (17025-C) "
            "Standard ISO/IEC 17025:2017 Accreditation number 0001 Status Accredited "
            "Initial grant 2024-01-10 Current cycle 2024-01-10 – 2029-01-10 Expiry none"
            ) in words(resp)


def test_calibration_columns_come_from_the_line_schema(client, admin_a, login_as, cal_acc):
    login_as(admin_a)
    resp = client.get(page(cal_acc.id))
    assert scope_headings(resp) == [
        "#", "Discipline", "Measured quantity / instrument", "Range from", "Range to",
        "Range unit", "CMC (expanded uncertainty, k = 2)", "CMC unit", "CMC range-dependent term",
        "Remarks (method, reference standard)", "Location code", "Status", "Actions"]
    assert scope_rows(resp)[0][:-1] == [
        "1", "Pressure", "Pressure gauges (hydraulic)", "0", "700", "bar", "0.025", "%", "",
        "By comparison with a dead-weight tester", "A", "requested"]


def test_management_system_codes_are_shown_with_their_names(client, tenant_a, admin_a,
                                                            login_as, cab):
    acc_id = create_accreditation(tenant_a, cab, "17021-1", lines=[
        {"standard": "ISO 9001:2015", "iaf_codes": "28; 34", "nace": "43.2"},
        {"standard": "ISO 22000:2018", "food_chain": "CI; G"},
    ]).id
    login_as(admin_a)
    resp = client.get(page(acc_id))
    assert scope_headings(resp)[1:6] == [
        "Management system standard", "IAF codes", "Food-chain categories (ISO/TS 22003-1)",
        "MD 9 technical areas", "NACE restriction"]
    first, second = scope_rows(resp)
    assert first[1:6] == ["ISO 9001:2015", "28 – Construction; 34 – Engineering services", "",
                          "", "43.2"]
    assert second[3] == ("CI – Processing of perishable animal products; "
                         "G – Transport and storage services")


def test_testing_and_inspection_lists_show_names(client, tenant_a, admin_a, login_as, cab):
    testing = create_accreditation(tenant_a, cab, "17025-T", lines=[TEST_LINE]).id
    inspection = create_accreditation(tenant_a, cab, "17020", lines=[{
        "field": "Lifting equipment", "stage": "Initial; In-service / periodic",
        "range": "Cranes", "method": "LOLER 1998"}]).id
    login_as(admin_a)
    assert scope_rows(client.get(page(testing)))[0][1] == "Chemical"
    row = scope_rows(client.get(page(inspection)))[0]
    assert row[1:3] == ["Lifting equipment", "Initial; In-service / periodic"]


def test_the_status_filter_lists_only_lines_with_that_status(client, tenant_a, admin_a,
                                                              login_as, cab):
    acc_id = create_accreditation(tenant_a, cab, "17025-C", lines=[
        {**CAL_LINE, "quantity": f"Gauge {n}"} for n in range(3)]).id
    one, two, three = (i.id for i in lines(tenant_a, acc_id))
    with tenant_scope(tenant_a):
        services.grant(load(tenant_a, acc_id), effective_on=date(2024, 1, 10), item_ids=[one, two])
        services.suspend(load(tenant_a, acc_id), item_ids=[two], effective_on=date(2024, 6, 1))
        commit()
    login_as(admin_a)
    resp = client.get(page(acc_id))
    assert "All (3) requested (1) accredited (1) suspended (1)" in words(resp)
    assert scope_item_ids(resp) == [one, two, three]
    assert scope_item_ids(client.get(page(acc_id, "?status=applied"))) == [three]
    assert scope_item_ids(client.get(page(acc_id, "?status=accredited"))) == [one]
    assert scope_item_ids(client.get(page(acc_id, "?status=nonsense"))) == [one, two, three]
    assert "No lines with this status." in words(client.get(page(acc_id, "?status=withdrawn")))
    # the requested line can still be edited; the decided ones cannot
    body = resp.get_data(as_text=True)
    assert f"/lines/{three}/edit" in body
    assert f"/lines/{one}/edit" not in body and f"/lines/{two}/edit" not in body
