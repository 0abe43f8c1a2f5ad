"""The application journey in a real browser, on the demo data of the ``gac`` body: the CAB user
of Precision Metrology (which holds only a calibration accreditation) starts an initial
application for testing, adds a requested scope line, attaches a PDF and submits it with the
declaration; the manager opens it, sees the line and the document, and accepts it, which
reserves the accreditation number. (The ``nab`` demo data is left to the other journeys.)"""

from __future__ import annotations

import re

from tests.e2e.test_assessments import sign_out
from tests.e2e.test_foundation import sign_in

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `browser` fixture then skips (or fails under REQUIRE_BROWSER=1)
    Page = expect = None

PASSWORD = "Accreditor-demo-2026"
CAB_USER = "cab@gac.example.org"
MANAGER = "manager@gac.example.org"
CAB = "Precision Metrology Ltd (GAC)"
TESTING = "ISO/IEC 17025 – Testing laboratories"
CALIBRATION = "ISO/IEC 17025 – Calibration laboratories"
SUMMARY = "Initial accreditation for effluent testing in our main laboratory."
TEST = "Chemical oxygen demand"
METHOD = "ISO 15705:2002"
PDF = {"name": "method.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}


def test_the_cab_applies_and_the_manager_accepts(page: Page, live_server):
    # The CAB user opens its portal: a calibration accreditation, nothing for testing yet.
    sign_in(page, CAB_USER, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Our accreditation",
                                                             exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CAB)
    accreditations = page.get_by_role("table", name=f"Accreditations of {CAB}")
    expect(accreditations.get_by_role("row").filter(has_text=CALIBRATION)).to_have_count(1)
    expect(accreditations.get_by_role("row").filter(has_text=TESTING)).to_have_count(0)

    # Start an initial application for the testing programme.
    page.get_by_role("link", name="Start an application").click()
    expect(page.get_by_role("heading", name="Start an application")).to_be_visible()
    page.get_by_label("Type of application").select_option(label="Initial accreditation")
    page.get_by_label("Programme (initial applications)").select_option(label=TESTING)
    page.get_by_label("What you are asking for").fill(SUMMARY)
    page.get_by_role("checkbox", name="A – Main laboratory").check()
    page.get_by_role("button", name="Start the application").click()

    expect(page.get_by_role("status")).to_have_text(
        "Application started. Add what it needs, then submit it.")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Initial accreditation · application")
    expect(heading.get_by_test_id("status")).to_have_text("Draft")
    application_id = re.search(r"/portal/applications/(\d+)", page.url).group(1)
    lines = page.get_by_role("table", name="Requested scope lines")
    expect(lines).to_have_count(0)
    expect(page.get_by_text("No lines yet. Add the first one below.")).to_be_visible()

    # Add a requested scope line.
    line_form = page.get_by_role("region", name="Add a requested line")
    line_form.get_by_label("Field of testing").select_option(label="Chemical")
    line_form.get_by_label("Materials / products tested").fill("Industrial effluents")
    line_form.get_by_label("Type of test / property measured").fill(TEST)
    line_form.get_by_label("Method (standard and edition, or in-house method id)").fill(METHOD)
    line_form.get_by_label("Range / limits").fill("10 to 1000 mg/L")
    line_form.get_by_label("Location code").select_option(label="A – Main laboratory")
    line_form.get_by_role("button", name="Add the line").click()

    expect(page.get_by_role("status")).to_have_text("Scope line added.")
    line = lines.get_by_role("row").filter(has_text=TEST)
    expect(line).to_have_count(1)
    expect(line).to_contain_text(METHOD)
    expect(line).to_contain_text("applied")

    # Attach a PDF: it is listed under Documents.
    expect(page.get_by_text("No documents attached yet.")).to_be_visible()
    page.get_by_label("Document", exact=True).set_input_files(PDF)
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_have_text("method.pdf attached to the application.")
    documents = page.get_by_test_id("documents")
    expect(documents.get_by_role("row").filter(has_text="method.pdf")).to_have_count(1)

    # Submit with the declaration: the application is with the AB and no longer editable.
    page.get_by_role("checkbox", name=re.compile(r"^We declare that the information")).check()
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        "Application submitted to the accreditation body.")
    expect(heading.get_by_test_id("status")).to_have_text("Submitted")
    expect(page.get_by_role("button", name="Add the line")).to_have_count(0)
    expect(page.get_by_role("button", name="Upload")).to_have_count(0)
    expect(documents.get_by_role("row").filter(has_text="method.pdf")).to_have_count(1)
    sign_out(page)

    # The manager finds it under Applications.
    sign_in(page, MANAGER, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Applications",
                                                             exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Applications")
    row = page.get_by_role("table", name="Applications from CABs").get_by_role("row").filter(
        has_text=CAB)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(TESTING)
    expect(row.get_by_test_id("status")).to_have_text("Submitted")
    row.get_by_role("link", name=application_id, exact=True).click()

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(f"Application {application_id} · Initial accreditation")
    expect(heading.get_by_test_id("status")).to_have_text("Submitted")
    expect(page.get_by_test_id("cab-link")).to_have_text(CAB)
    expect(page.get_by_text(SUMMARY)).to_be_visible()
    line = page.get_by_role("table", name="Requested scope lines").get_by_role("row").filter(
        has_text=TEST)
    expect(line).to_contain_text(METHOD)
    expect(page.get_by_test_id("documents").get_by_role("row").filter(
        has_text="method.pdf")).to_have_count(1)
    expect(page.get_by_test_id("accreditation-number")).to_have_text("not yet assigned")

    # Accept: the flash names the accreditation number just reserved, and the page shows it.
    page.get_by_role("button", name="Accept", exact=True).click()
    flash = page.get_by_role("status")
    expect(flash).to_have_text(
        re.compile(r"^Application accepted\. Accreditation number \S+ is reserved\.$"))
    number = re.search(r"Accreditation number (\S+) is reserved", flash.inner_text()).group(1)
    expect(page.get_by_test_id("accreditation-number")).to_have_text(number)
    expect(heading.get_by_test_id("status")).to_have_text("Accepted")
    expect(page.get_by_role("button", name="Accept", exact=True)).to_have_count(0)
