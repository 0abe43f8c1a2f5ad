"""What each programme's schedule and the certificate say (DOMAIN.md §3, rule 20), read from the
layout before anything is drawn."""

from __future__ import annotations

import pytest

from accreditor.certificates.layout import certificate_layout, schedule_layout

BASE = {
    "ab": {"name": "Alpha Accreditation Service", "address": "2 Pine Trees\nStaines TW18 3HR",
           "website": "https://alpha.example.org", "email": "info@alpha.example.org"},
    "cab": {"legal_name": "Precision Metrology Ltd", "trading_names": ["PML"],
            "address": "Unit 4\nOxford OX1 2AB",
            "contact": {"name": "Quinn Quality", "email": "q@pml.example", "phone": "01865"}},
    "locations": [{"code": "A", "name": "Head office", "address": "Unit 4\nOxford",
                   "activities": "", "is_active": True},
                  {"code": "B", "name": "Annex", "address": "Mill Road", "activities": "",
                   "is_active": True}],
    "number": "0331", "status": "accredited", "issue_no": 7, "issued_on": "2026-07-07",
    "initial_grant_on": "2021-03-01", "cycle_end_on": "2031-03-01",
    "verify_url": "http://localhost/alpha/directory/0331",
}


def details(scope_type: str, standard: str, edition: str, **kw) -> dict:
    return {**BASE, "programme": {"scope_type": scope_type, "standard": standard, "name": "x"},
            "standard": standard, "edition": edition, "standard_label": f"{standard}:{edition}",
            **kw}


def line(i: int, fields: dict, status: str = "accredited") -> dict:
    return {"id": i, "position": i, "status": status, "summary": "", "fields": fields}


CAL = {"discipline": "PRES", "quantity": "Pressure gauges", "range_min": "0", "range_max": "700",
       "range_unit": "bar", "cmc": "0.025", "cmc_unit": "%", "cmc_term": "+ 0.25L",
       "remarks": "Dead-weight tester", "location": "A"}


def test_calibration_schedule_reads_like_a_ukas_cmc_schedule(app):
    d = details("calibration", "ISO/IEC 17025", "2017",
                terms={"calibration_discipline": {"PRES": "Pressure", "MASS": "Mass"}})
    lay = schedule_layout(d, [line(1, CAL), line(2, {**CAL, "discipline": "MASS"}),
                              line(3, {**CAL, "quantity": "Barometers"})])
    assert lay.title == "Schedule of Accreditation issued by Alpha Accreditation Service"
    assert lay.accredited_to == "Accredited to ISO/IEC 17025:2017"
    assert lay.number == "0331" and lay.issue_line.startswith("Issue No: 007")
    assert "07 July 2026" in lay.issue_line
    assert [c.label for c in lay.locations.columns] == ["Location details", "Activity",
                                                         "Location code"]
    assert [r.cells[2] for r in lay.locations.rows] == ["A", "B"]
    assert "at the locations specified below" in lay.statements[0]
    table = lay.sections[0].table
    assert [c.label for c in table.columns] == [
        "Measured quantity, instrument or gauge", "Range",
        "CMC expressed as expanded uncertainty (k = 2)", "Remarks", "Location code"]
    # Grouped by discipline, in order of first appearance: PRESSURE (lines 1, 3) then MASS.
    assert [(r.group, r.cells[0]) for r in table.rows] == [
        (True, "PRESSURE"), (False, "Pressure gauges"), (False, "Barometers"),
        (True, "MASS"), (False, "Pressure gauges")]
    assert table.rows[1].cells[1:] == ["0 bar to 700 bar", "0.025 % + 0.25L",
                                       "Dead-weight tester", "A"]
    assert abs(table.width - 180) < 0.01
    assert lay.banners == []


def test_site_codes_add_the_ukas_site_activity_row(app):
    d = details("calibration", "ISO/IEC 17025", "2017", locations=BASE["locations"][:1])
    lay = schedule_layout(d, [line(1, {**CAL, "location": "O"})])
    assert [r.cells[2] for r in lay.locations.rows] == ["A", "O"]
    assert "customers' premises" in lay.locations.rows[1].cells[0]


def test_one_location_says_at_the_above_address_only(app):
    d = details("calibration", "ISO/IEC 17025", "2017", locations=BASE["locations"][:1])
    lay = schedule_layout(d, [line(1, CAL)])
    assert lay.statements == ["Calibration performed at the above address only."]


def test_testing_schedule_has_the_ukas_testing_columns(app):
    d = details("testing", "ISO/IEC 17025", "2017",
                terms={"testing_field": {"CHEM": "Chemical"}})
    lay = schedule_layout(d, [line(1, {"field": "CHEM", "product": "Drinking water",
                                       "test": "pH", "range": "pH 2 to 12",
                                       "method": "APHA 4500-H+ B", "location": "P"})])
    table = lay.sections[0].table
    assert [c.label for c in table.columns] == [
        "Materials/Products tested", "Type of test/Properties measured/Range of measurement",
        "Standard specifications/Equipment/Techniques used", "Location code"]
    assert table.rows[0].cells == ["CHEMICAL"]
    assert table.rows[1].cells == ["Drinking water", "pH\npH 2 to 12", "APHA 4500-H+ B", "P"]


def test_inspection_schedule_states_the_body_type(app):
    d = details("inspection", "ISO/IEC 17020", "2012", ib_type="A",
                terms={"inspection_field": {"LIFT": "Lifting equipment"},
                       "inspection_stage": {"IS": "In-service"}})
    lay = schedule_layout(d, [line(1, {"field": "LIFT", "stage": ["IS"], "range": "Cranes",
                                       "method": "LOLER 1998", "location": "A"})])
    assert "Inspection body type A (ISO/IEC 17020)." in lay.statements
    assert lay.sections[0].table.rows[0].cells == ["Lifting equipment", "In-service", "Cranes",
                                                   "LOLER 1998", "A"]
    assert lay.accredited_to == "Accredited to ISO/IEC 17020:2012"


def test_ms_schedule_lists_iaf_codes_with_titles_per_standard(app):
    d = details("ms_certification", "ISO/IEC 17021-1", "2015",
                terms={"iaf_code": {"28": "Construction", "34": "Engineering services"}},
                ms_titles={"ISO 9001:2015": "Quality management systems — Requirements"})
    lay = schedule_layout(d, [line(1, {"standard": "ISO 9001:2015", "iaf_codes": ["28", "34"],
                                       "nace": "43.2"}),
                              line(2, {"standard": "ISO 14001:2015", "iaf_codes": ["28"]},
                                   status="suspended")])
    assert [s.heading for s in lay.sections] == [
        "ISO 9001:2015 — Quality management systems — Requirements", "ISO 14001:2015"]
    rows = lay.sections[0].table.rows
    assert rows[0].cells == ["IAF 28", "Construction (restricted to NACE 43.2)"]
    assert rows[1].cells[0] == "IAF 34"
    assert lay.sections[1].table.rows[0].cells[0] == "SUSPENDED – IAF 28"


def test_person_certification_schedule_names_scheme_owner_and_levels(app):
    d = details("person_certification", "ISO/IEC 17024", "2012")
    lay = schedule_layout(d, [line(1, {"scheme": "NDT personnel", "scheme_owner": "PCN",
                                       "normative_document": "ISO 9712:2021",
                                       "levels": "UT, RT levels 1–3", "exam_sites": "Leeds"})])
    table = lay.sections[0].table
    assert [c.label for c in table.columns][:3] == ["Certification scheme", "Scheme owner",
                                                    "Normative document"]
    assert table.rows[0].cells == ["NDT personnel", "PCN", "ISO 9712:2021", "UT, RT levels 1–3",
                                   "Leeds"]


def test_suspended_lines_are_marked_and_the_schedule_says_partially_suspended(app):
    d = details("calibration", "ISO/IEC 17025", "2017", status="partially_suspended")
    lay = schedule_layout(d, [line(1, CAL), line(2, CAL, status="suspended")])
    rows = [r for r in lay.sections[0].table.rows if not r.group]
    assert [(r.suspended, r.cells[0]) for r in rows] == [
        (False, "Pressure gauges"), (True, "SUSPENDED – Pressure gauges")]
    assert len(lay.banners) == 1 and "PARTIALLY SUSPENDED" in lay.banners[0]


def test_a_suspended_location_is_marked_in_the_location_table(app):
    d = details("calibration", "ISO/IEC 17025", "2017", suspended_locations=["B"])
    lay = schedule_layout(d, [line(1, CAL)])
    assert [r.suspended for r in lay.locations.rows] == [False, True]
    assert lay.locations.rows[1].cells[0].startswith("SUSPENDED – Annex")


@pytest.mark.parametrize(("status", "word"), [("suspended", "SUSPENDED"),
                                              ("withdrawn", "WITHDRAWN"),
                                              ("inactive", "INACTIVE")])
def test_a_fully_suspended_withdrawn_or_inactive_accreditation_says_so(app, status, word):
    lay = schedule_layout(details("calibration", "ISO/IEC 17025", "2017", status=status),
                          [line(1, CAL)])
    assert word in lay.banners[0]
    assert word in certificate_layout(details("calibration", "ISO/IEC 17025", "2017",
                                              status=status)).banners[0]


def test_certificate_names_standard_edition_dates_and_the_schedule(app):
    d = details("calibration", "ISO/IEC 17025", "2017", expiry_on="2030-12-31")
    cert = certificate_layout(d)
    assert cert.title == "Certificate of Accreditation"
    assert cert.cab_name == "Precision Metrology Ltd"
    assert cert.cab_lines[:3] == ["trading as PML", "Unit 4", "Oxford OX1 2AB"]
    assert cert.accredited_as == [
        "ISO/IEC 17025:2017",
        "General requirements for the competence of testing and calibration laboratories",
        "as a calibration laboratory"]
    facts = dict(cert.facts)
    assert facts["Accreditation number"] == "0331"
    assert facts["Initial accreditation"] == "01 March 2021"
    assert facts["Effective date of this issue"] == "07 July 2026"
    assert facts["Expiry date"] == "31 December 2030"
    assert "valid only with the current schedule of accreditation" in cert.validity
    assert cert.verify_url == "http://localhost/alpha/directory/0331"
    assert cert.banners == []


def test_certificate_without_expiry_shows_the_cycle_end_and_a_partial_suspension(app):
    d = details("inspection", "ISO/IEC 17020", "2012", ib_type="C",
                status="partially_suspended")
    cert = certificate_layout(d)
    facts = dict(cert.facts)
    assert "Expiry date" not in facts
    assert facts["Current accreditation cycle ends"] == "01 March 2031"
    assert cert.accredited_as[-1] == "as an inspection body of type C"
    assert cert.banners and "SUSPENDED" in cert.banners[0]
