"""Bad scope lines are refused with the reason beside the field, through the form and the
service alike, and nothing is saved (DOMAIN.md rules 30, 31, 33)."""

from __future__ import annotations

import pytest

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.scopes import services
from tests.factories import CAL_LINE, MS_LINE, create_accreditation
from tests.scopes.helpers import TEST_LINE, field_error, flashes, line_count, lines, load, page

# (programme, the line as entered, field that must show the error, words of the error)
BAD_LINES = {
    "calibration without CMC": (
        "17025-C", {**CAL_LINE, "cmc": ""}, "cmc", "This field is required."),
    "calibration with CMC 0": (
        "17025-C", {**CAL_LINE, "cmc": "0"}, "cmc", "The CMC must be greater than zero."),
    "calibration with CMC -1": (
        "17025-C", {**CAL_LINE, "cmc": "-1"}, "cmc", "The CMC must be greater than zero."),
    "calibration with a CMC that is not a number": (
        "17025-C", {**CAL_LINE, "cmc": "0,025"}, "cmc", "Give a number, e.g. 0.25."),
    "pressure range in kg": (
        "17025-C", {**CAL_LINE, "range_unit": "kg"}, "range_unit",
        "“kg” is not a unit of Pressure (use one of: Pa, kPa, MPa, hPa, mbar, bar, psi, mmHg, "
        "inH2O)."),
    "pressure CMC in kg": (
        "17025-C", {**CAL_LINE, "cmc_unit": "kg"}, "cmc_unit", "“kg” is not a unit of Pressure"),
    "range upside down": (
        "17025-C", {**CAL_LINE, "range_min": "700", "range_max": "0"}, "range_max",
        "The upper end of the range is below the lower end."),
    "ISO 9001 with IAF code 40": (
        "17021-1", {**MS_LINE, "iaf_codes": ["28", "40"]}, "iaf_codes",
        "IAF codes run from 1 to 39; not valid: 40."),
    "ISO 9001 with IAF code 0": (
        "17021-1", {**MS_LINE, "iaf_codes": ["0"]}, "iaf_codes",
        "IAF codes run from 1 to 39; not valid: 0."),
    "ISO 9001 without IAF codes": (
        "17021-1", {"standard": "ISO 9001:2015"}, "iaf_codes",
        "ISO 9001:2015 lines need at least one IAF code."),
    "ISO 22000 with an IAF code": (
        "17021-1", {"standard": "ISO 22000:2018", "iaf_codes": ["3"], "food_chain": ["CI"]},
        "iaf_codes", "ISO 22000:2018 lines do not take these codes."),
    "ISO 13485 without MD 9 area": (
        "17021-1", {"standard": "ISO 13485:2016"}, "md9_areas",
        "ISO 13485:2016 lines need at least one MD 9 technical area."),
    "testing line without method": (
        "17025-T", {**TEST_LINE, "method": ""}, "method", "This field is required."),
    "unknown location code": (
        "17025-T", {**TEST_LINE, "location": "Z"}, "location",
        "Unknown location code “Z” (known: A, B, O, P)."),
    "calibration at an unknown location": (
        "17025-C", {**CAL_LINE, "location": "C"}, "location",
        "Unknown location code “C” (known: A, B, O, P)."),
}


@pytest.fixture
def accreditations(tenant_a, cab):
    """One applicant accreditation per programme the cases use, each with no lines yet."""
    return {code: create_accreditation(tenant_a, cab, code).id
            for code in ("17025-C", "17025-T", "17021-1")}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_bad_line_entered_in_the_form_shows_the_reason_beside_the_field_and_saves_nothing(
    client, tenant_a, admin_a, login_as, accreditations, case
):
    programme, raw, field, message = BAD_LINES[case]
    acc_id = accreditations[programme]
    login_as(admin_a)
    resp = client.post(page(acc_id, "/lines/new"), data=raw)
    assert resp.status_code == 400
    assert message in field_error(resp, field)
    assert line_count(tenant_a, acc_id) == 0


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_bad_line_given_to_the_service_is_refused_with_the_same_reason(
    tenant_a, accreditations, case
):
    programme, raw, field, message = BAD_LINES[case]
    acc_id = accreditations[programme]
    with tenant_scope(tenant_a):
        acc = load(tenant_a, acc_id)
        with pytest.raises(services.ScopeLineInvalid) as refused:
            services.add_scope_item(acc, raw)
        commit()
    assert message in refused.value.errors[field]
    assert line_count(tenant_a, acc_id) == 0


def test_the_form_keeps_what_was_typed_when_a_line_is_refused(
    client, admin_a, login_as, accreditations
):
    login_as(admin_a)
    resp = client.post(page(accreditations["17025-C"], "/lines/new"),
                       data={**CAL_LINE, "cmc": "-1"})
    body = resp.get_data(as_text=True)
    assert 'value="Pressure gauges (hydraulic)"' in body
    assert '<option selected value="PRES">' in body
    assert 'aria-invalid="true"' in body and 'aria-describedby="cmc-help cmc-errors"' in body


def test_an_iso_22000_line_with_food_chain_category_ci_is_saved(
    client, tenant_a, admin_a, login_as, accreditations
):
    login_as(admin_a)
    acc_id = accreditations["17021-1"]
    resp = client.post(page(acc_id, "/lines/new"),
                       data={"standard": "ISO 22000:2018", "food_chain": ["CI"]})
    assert resp.status_code == 302
    assert flashes(client.get(resp.location)) == ["Line 1 added to the requested scope."]
    [line] = lines(tenant_a, acc_id)
    assert line.fields == {"standard": "ISO 22000:2018", "iaf_codes": [], "food_chain": ["CI"],
                           "md9_areas": []}
    assert line.status == "applied"
    assert line.summary == "ISO 22000:2018 · Categories CI"


def test_the_service_saves_an_iso_22000_line_with_category_ci(tenant_a, accreditations):
    acc_id = accreditations["17021-1"]
    with tenant_scope(tenant_a):
        item = services.add_scope_item(load(tenant_a, acc_id),
                                       {"standard": "ISO 22000:2018", "food_chain": "CI"})
        commit()
    assert item.fields["food_chain"] == ["CI"]
    assert line_count(tenant_a, acc_id) == 1


def test_a_valid_calibration_line_is_saved_and_shown_in_the_scope_table(
    client, tenant_a, admin_a, login_as, accreditations
):
    login_as(admin_a)
    acc_id = accreditations["17025-C"]
    resp = client.post(page(acc_id, "/lines/new"),
                       data={**CAL_LINE, "cmc_term": "+ 0.25L", "location": "P"})
    assert resp.status_code == 302
    [line] = lines(tenant_a, acc_id)
    assert line.fields["cmc"] == "0.025" and line.fields["location"] == "P"
    show = client.get(resp.location).get_data(as_text=True)
    assert "Pressure gauges (hydraulic)" in show and "+ 0.25L" in show


def test_save_and_add_another_returns_to_an_empty_form(client, admin_a, login_as,
                                                       accreditations):
    login_as(admin_a)
    acc_id = accreditations["17025-T"]
    resp = client.post(page(acc_id, "/lines/new"), data={**TEST_LINE, "next": "another"})
    assert resp.status_code == 302
    assert resp.location == page(acc_id, "/lines/new")


def test_a_requested_line_can_be_corrected_and_removed_before_the_grant(
    client, tenant_a, admin_a, login_as, cal_acc
):
    login_as(admin_a)
    [line] = lines(tenant_a, cal_acc.id)
    edit_url = page(cal_acc.id, f"/lines/{line.id}/edit")
    form = client.get(edit_url).get_data(as_text=True)
    assert 'value="Pressure gauges (hydraulic)"' in form  # pre-filled from the line

    refused = client.post(edit_url, data={**CAL_LINE, "cmc": "0"})
    assert refused.status_code == 400
    assert field_error(refused, "cmc") == "The CMC must be greater than zero."
    assert lines(tenant_a, cal_acc.id)[0].fields["cmc"] == "0.025"

    saved = client.post(edit_url, data={**CAL_LINE, "cmc": "0.02"})
    assert saved.status_code == 302
    assert flashes(client.get(saved.location)) == ["Line 1 saved."]
    assert lines(tenant_a, cal_acc.id)[0].fields["cmc"] == "0.02"

    removed = client.post(page(cal_acc.id, f"/lines/{line.id}/delete"))
    assert removed.status_code == 302
    assert flashes(client.get(removed.location)) == ["Line 1 removed from the requested scope."]
    assert line_count(tenant_a, cal_acc.id) == 0


def test_an_ms_line_form_offers_the_standards_and_code_lists(client, admin_a, login_as,
                                                             accreditations):
    login_as(admin_a)
    body = client.get(page(accreditations["17021-1"], "/lines/new")).get_data(as_text=True)
    assert '<option value="ISO 9001:2015">ISO 9001:2015 – Quality management systems</option>' \
        in body
    assert 'name="iaf_codes" type="checkbox" value="28"' in body
    assert "28 – Construction" in body
    assert 'name="food_chain" type="checkbox" value="CI"' in body
    assert 'name="md9_areas" type="checkbox" value="IVD"' in body
