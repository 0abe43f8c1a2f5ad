"""CSV import (checked in full before anything is written), export and the template."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pytest

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.scopes import services
from tests.factories import CAL_LINE, create_accreditation, create_cab
from tests.scopes.helpers import (
    field_error,
    flashes,
    form_error,
    line_count,
    lines,
    load,
    page,
    table_rows,
    text,
    words,
)

CAL_COLUMNS = ["discipline", "quantity", "range_min", "range_max", "range_unit", "cmc",
               "cmc_unit", "cmc_term", "remarks", "location"]


def cal_rows(n: int) -> list[dict]:
    """``n`` valid calibration rows with the awkward values real schedules have."""
    variants = [
        CAL_LINE,
        {**CAL_LINE, "discipline": "DIM", "quantity": "Gauge blocks", "range_min": "0.5",
         "range_max": "100", "range_unit": "mm", "cmc": "0.05", "cmc_unit": "µm",
         "cmc_term": "+ 0.5L", "remarks": "L in m, mechanical comparator"},
        {**CAL_LINE, "quantity": "Pressure gauges (pneumatic)", "range_min": "-0.95",
         "range_max": "20", "remarks": "=cmd|' /C calc'!A0", "location": "B"},
        {**CAL_LINE, "discipline": "RES", "quantity": "DC resistance, measure",
         "range_min": "1", "range_max": "100", "range_unit": "MΩ", "cmc": "25",
         "cmc_unit": "ppm", "remarks": "8.5-digit DMM", "location": "P"},
    ]
    return [{**variants[i % len(variants)], "quantity": f"{variants[i % 4]['quantity']} #{i + 1}"}
            for i in range(n)]


def to_csv(rows: list[dict], columns=CAL_COLUMNS) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def upload(client, acc_id: int, content: bytes | str, filename: str = "scope.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(page(acc_id, "/import"), data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def confirm(client, acc_id: int, preview):
    """Press "Import N lines" on a preview page: post its hidden CSV text back."""
    body = preview.get_data(as_text=True)
    m = re.search(r'<textarea id="csv_text_confirm" name="csv_text" hidden>(.*?)</textarea>',
                  body, re.S)
    assert m, "the preview has no import button"
    return client.post(page(acc_id, "/import"),
                       data={"csv_text": html.unescape(m.group(1)), "confirm": "1"})


@pytest.fixture
def empty_cal(tenant_a, cab):
    return create_accreditation(tenant_a, cab, "17025-C").id


def test_a_500_row_file_with_a_bad_cmc_on_row_317_is_refused_naming_line_318_and_cmc(
    client, tenant_a, admin_a, login_as, empty_cal
):
    rows = cal_rows(500)
    rows[316]["cmc"] = "-0.5"  # the 317th row; the header is line 1, so CSV line 318
    login_as(admin_a)
    preview = upload(client, empty_cal, to_csv(rows))
    assert preview.status_code == 400
    assert table_rows(preview, "import-errors") == [
        ["318", "cmc", "The CMC must be greater than zero."]]
    assert "1 problem found. Nothing has been imported" in words(preview)
    assert "Import 500 lines" not in words(preview) and "csv_text_confirm" not in text(preview)
    valid = table_rows(preview, "import-rows")
    assert len(valid) == 499 and "318" not in [r[0] for r in valid]
    assert valid[0] == ["2", "Pressure · Pressure gauges (hydraulic) #1 · 0 to 700 bar · "
                             "CMC 0.025 % · By comparison with a dead-weight tester"]
    assert line_count(tenant_a, empty_cal) == 0


def test_a_confirmed_import_that_has_become_invalid_imports_nothing(
    client, tenant_a, admin_a, login_as, empty_cal
):
    rows = cal_rows(3)
    rows[2]["cmc"] = "0"
    login_as(admin_a)
    resp = client.post(page(empty_cal, "/import"), data={"csv_text": to_csv(rows), "confirm": "1"})
    assert resp.status_code == 400
    assert table_rows(resp, "import-errors") == [["4", "cmc", "The CMC must be greater than zero."]]
    assert line_count(tenant_a, empty_cal) == 0


def test_a_valid_500_row_file_is_previewed_then_imported_on_confirmation(
    client, tenant_a, admin_a, login_as, empty_cal
):
    login_as(admin_a)
    preview = upload(client, empty_cal, to_csv(cal_rows(500)))
    assert preview.status_code == 200
    assert "All 500 lines are valid and ready to import." in words(preview)
    assert len(table_rows(preview, "import-rows")) == 500
    assert line_count(tenant_a, empty_cal) == 0  # a preview writes nothing

    done = confirm(client, empty_cal, preview)
    assert done.status_code == 302 and done.location == page(empty_cal)
    assert flashes(client.get(done.location)) == ["500 lines imported."]
    imported = lines(tenant_a, empty_cal)
    assert len(imported) == 500
    assert [i.position for i in imported] == list(range(1, 501))
    assert {i.status for i in imported} == {"applied"}
    assert imported[1].fields["cmc_term"] == "+ 0.5L"
    assert imported[2].fields["range_min"] == "-0.95"


def test_export_then_import_round_trips(client, tenant_a, admin_a, login_as, empty_cal):
    login_as(admin_a)
    confirm(client, empty_cal, upload(client, empty_cal, to_csv(cal_rows(40))))
    exported = client.get(page(empty_cal, "/export.csv"))
    assert exported.status_code == 200
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert exported.headers["Content-Disposition"] == \
        f'attachment; filename="scope-draft-{empty_cal}.csv"'
    first = exported.get_data(as_text=True)
    assert first.startswith("\ufeff" + ",".join(CAL_COLUMNS) + ",status\r\n")
    # A text cell a spreadsheet would run as a formula is quoted; a negative number is not.
    assert "'+ 0.5L" in first and "'=cmd|" in first and ",-0.95," in first

    other_cab = create_cab(tenant_a, "Second Site Calibration Ltd",
                           locations=(("A", "Lab"), ("B", "Electrical lab")))
    second = create_accreditation(tenant_a, other_cab, "17025-C").id
    preview = upload(client, second, exported.data, "exported.csv")
    assert preview.status_code == 200, table_rows(preview, "import-errors")
    confirm(client, second, preview)

    again = client.get(page(second, "/export.csv")).get_data(as_text=True)
    assert again == first
    assert [i.fields for i in lines(tenant_a, second)] == \
        [i.fields for i in lines(tenant_a, empty_cal)]
    assert lines(tenant_a, second)[2].fields["remarks"] == "=cmd|' /C calc'!A0"


def test_management_system_lines_round_trip_with_their_code_lists(
    client, tenant_a, admin_a, login_as, cab
):
    acc_id = create_accreditation(tenant_a, cab, "17021-1").id
    text_ = ("standard,iaf_codes,food_chain,md9_areas,nace\n"
             "ISO 9001:2015,IAF 28; 34,,,\n"
             "ISO 22000:2018,,CI;CIV;G,,\n"
             "ISO 13485:2016,,,NA|IVD,\n")
    login_as(admin_a)
    confirm(client, acc_id, upload(client, acc_id, text_))
    assert [i.summary for i in lines(tenant_a, acc_id)] == [
        "ISO 9001:2015 · IAF 28, 34", "ISO 22000:2018 · Categories CI, CIV, G",
        "ISO 13485:2016 · Non-active medical devices, In vitro diagnostic medical devices"]
    exported = client.get(page(acc_id, "/export.csv")).get_data(as_text=True)
    assert exported.splitlines()[1:] == [
        "ISO 9001:2015,28; 34,,,,applied", "ISO 22000:2018,,CI; CIV; G,,,applied",
        "ISO 13485:2016,,,NA; IVD,,applied"]


def test_line_numbers_count_blank_lines_as_a_spreadsheet_shows_them(
    tenant_a, empty_cal
):
    rows = cal_rows(3)
    rows[2]["cmc"] = "0"
    text_ = to_csv(rows[:2]) + "\r\n\r\n" + to_csv(rows[2:]).split("\r\n", 1)[1]
    with tenant_scope(tenant_a):
        result = services.parse_scope_csv(load(tenant_a, empty_cal), text_)
    assert result.errors == [(6, "cmc", "The CMC must be greater than zero.")]
    assert result.lines == [2, 3]


def test_a_row_with_more_values_than_columns_is_reported(tenant_a, empty_cal):
    text_ = to_csv(cal_rows(1)) + "PRES,Gauges,0,700,bar,0,025,%,,,A\r\n"
    with tenant_scope(tenant_a):
        result = services.parse_scope_csv(load(tenant_a, empty_cal), text_)
    assert result.errors == [(3, "-", "This row has 11 values but the header has 10 columns; "
                                      "put values that contain a comma in double quotes.")]


def test_a_file_with_a_missing_or_unknown_column_is_refused_on_line_1(
    client, admin_a, login_as, empty_cal
):
    login_as(admin_a)
    missing = upload(client, empty_cal, "discipline,quantity\nPRES,Gauges\n")
    assert table_rows(missing, "import-errors")[0][:2] == [
        "1", "range_min, range_max, range_unit, cmc, cmc_unit, location"]
    unknown = upload(client, empty_cal, to_csv(cal_rows(1), CAL_COLUMNS + ["colour"]))
    assert table_rows(unknown, "import-errors") == [[
        "1", "colour", "Unknown column(s). Expected columns: " + ", ".join(CAL_COLUMNS) + "."]]


def test_a_file_that_is_not_utf8_gets_a_clear_message(client, tenant_a, admin_a, login_as,
                                                      empty_cal):
    login_as(admin_a)
    latin1 = to_csv([{**CAL_LINE, "cmc_unit": "µm", "discipline": "DIM", "range_unit": "mm"}])
    resp = upload(client, empty_cal, latin1.encode("latin-1"))
    assert resp.status_code == 400
    assert field_error(resp, "file").startswith("The file is not UTF-8 text")
    assert "save it as “CSV UTF-8”" in field_error(resp, "file")
    assert line_count(tenant_a, empty_cal) == 0


def test_a_utf8_file_with_a_byte_order_mark_is_read(client, admin_a, login_as, empty_cal):
    login_as(admin_a)
    resp = upload(client, empty_cal, "\ufeff" + to_csv(cal_rows(2)))
    assert resp.status_code == 200
    assert "All 2 lines are valid" in words(resp)


def test_a_file_over_5_mb_is_refused(client, tenant_a, admin_a, login_as, empty_cal):
    login_as(admin_a)
    big = to_csv(cal_rows(1)) + ("x" * 80 + "\n") * (5 * 1024 * 1024 // 81 + 10)
    resp = upload(client, empty_cal, big)
    assert resp.status_code == 400
    assert field_error(resp, "file") == \
        "The file is larger than 5 MB; split it into several imports."
    assert line_count(tenant_a, empty_cal) == 0


def test_pasted_csv_is_previewed_like_a_file(client, admin_a, login_as, empty_cal):
    login_as(admin_a)
    resp = client.post(page(empty_cal, "/import"), data={"csv_text": to_csv(cal_rows(3))})
    assert resp.status_code == 200
    assert "All 3 lines are valid and ready to import." in words(resp)


def test_an_empty_submission_asks_for_a_file(client, admin_a, login_as, empty_cal):
    login_as(admin_a)
    resp = client.post(page(empty_cal, "/import"), data={"csv_text": ""})
    assert resp.status_code == 400
    assert field_error(resp, "file") == "Choose a CSV file or paste the CSV text."


def test_the_import_page_lists_the_expected_columns_and_offers_a_template(
    client, admin_a, login_as, empty_cal
):
    login_as(admin_a)
    body = words(client.get(page(empty_cal, "/import")))
    assert "cmc CMC (expanded uncertainty, k = 2) yes a number" in body
    assert "cmc_term CMC range-dependent term no" in body
    template = client.get(page(empty_cal, "/template.csv"))
    assert template.headers["Content-Disposition"] == \
        'attachment; filename="scope-template-17025-C.csv"'
    assert template.get_data(as_text=True) == "\ufeff" + ",".join(CAL_COLUMNS) + "\r\n"


def test_lines_cannot_be_imported_after_the_grant(client, tenant_a, admin_a, login_as,
                                                  cal_acc):
    with tenant_scope(tenant_a):
        services.grant(load(tenant_a, cal_acc.id), effective_on=date(2024, 1, 10))
        commit()
    login_as(admin_a)
    assert "Lines are imported before the grant" in words(client.get(page(cal_acc.id, "/import")))
    resp = client.post(page(cal_acc.id, "/import"),
                       data={"csv_text": to_csv(cal_rows(2)), "confirm": "1"})
    assert resp.status_code == 409
    assert form_error(resp) == ("Lines are imported before the grant; after it, extensions go "
                                "through an application.")
    assert line_count(tenant_a, cal_acc.id) == 1


@pytest.fixture
def enable_csrf(app):
    """``enable_csrf()`` turns on production's CSRF check (which parses the form before the
    view runs) for the rest of the test."""
    yield lambda: app.config.update(WTF_CSRF_ENABLED=True)
    app.config["WTF_CSRF_ENABLED"] = False


def test_a_large_pasted_csv_passes_the_csrf_check_under_the_import_size_limit(
    client, tenant_a, admin_a, login_as, empty_cal, enable_csrf
):
    """The import form is multipart; its paste box is a text part, which Flask limits to 500 KB
    app-wide and the CSRF check reads before the view runs. The import page raises the limit
    to its own 5 MB first; other pages keep the app-wide limit."""
    login_as(admin_a)
    enable_csrf()
    remarks = "Comparison with a dead-weight tester, EURAMET cg-17, in the main laboratory. " * 2
    big = to_csv([{**row, "remarks": remarks} for row in cal_rows(3000)])
    assert len(big.encode()) > 600_000
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get(page(empty_cal, "/import")).get_data(as_text=True)).group(1)
    preview = client.post(page(empty_cal, "/import"), data={"csrf_token": token, "csv_text": big},
                          content_type="multipart/form-data")
    assert preview.status_code == 200, preview.get_data(as_text=True)[:500]
    assert "All 3000 lines are valid and ready to import." in words(preview)
    done = client.post(page(empty_cal, "/import"),
                       data={"csrf_token": token, "csv_text": big, "confirm": "1"})
    assert done.status_code == 302, done.get_data(as_text=True)[:500]
    assert line_count(tenant_a, empty_cal) == 3000

    elsewhere = client.post(page(empty_cal, "/edit"), data={"csrf_token": token, "expiry_on": big},
                            content_type="multipart/form-data")
    assert elsewhere.status_code == 413
