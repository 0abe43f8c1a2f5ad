"""The findings journey in a real browser, on the demo data of the ``nab`` body: the CAB user of
Precision Metrology answers its overdue major finding with an evidence file, the lead assessor
rejects the answer with a reason, the CAB answers again with new evidence, the lead accepts and
the finding closes — both sides see the whole thread."""

from __future__ import annotations

import re

from tests.e2e.test_assessments import sign_out
from tests.e2e.test_foundation import sign_in

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `browser` fixture then skips (or fails under REQUIRE_BROWSER=1)
    Page = expect = None

PASSWORD = "Accreditor-demo-2026"
CAB_USER = "cab@nab.example.org"
LEAD = "assessor@nab.example.org"
REASON = "The recall list does not cover hired equipment; show that it does."


def pdf(name: str) -> dict:
    return {"name": name, "mimeType": "application/pdf",
            "buffer": b"%PDF-1.4\n% " + name.encode() + b"\n%%EOF\n"}


def answer(page: Page, corrective_action: str, evidence: str) -> None:
    form = page.get_by_test_id("response-form")
    form.get_by_label("Corrective actions completed (type 2)").check()
    form.get_by_label("Correction", exact=True).fill(
        "Gauge RG-7 withdrawn; the 14 calibrations re-done with a calibrated reference.")
    form.get_by_label("Extent and root-cause analysis").fill(
        "All reference equipment checked: no other lapse. The recall list was kept by hand.")
    form.get_by_label("Corrective action (plan)").fill(corrective_action)
    form.get_by_label("Implementation evidence").set_input_files(pdf(evidence))
    form.get_by_role("button", name="Send the answer").click()
    expect(page.get_by_role("status")).to_contain_text("Your answer was sent")


def review(page: Page, finding_id: str, *, accept: bool, note: str = "") -> None:
    sign_in(page, LEAD, PASSWORD)
    page.goto(f"/nab/findings/{finding_id}")
    form = page.get_by_test_id("review-form")
    form.get_by_label("Review note").fill(note)
    form.get_by_role("button", name="Accept the answer" if accept else
                     "Reject, with the note").click()


def test_the_cab_answers_the_lead_rejects_then_accepts_and_the_finding_closes(
        page: Page, live_server):
    # The CAB user finds its overdue major finding in the portal.
    sign_in(page, CAB_USER, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Findings",
                                                             exact=True).click()
    rows = page.get_by_test_id("findings").get_by_role("row").filter(has_text="Overdue")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Major nonconformity")
    rows.get_by_role("link").first.click()
    finding_id = re.search(r"/portal/findings/(\d+)", page.url).group(1)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Finding")

    # First answer, with an evidence file.
    answer(page, "A recall system with a monthly review by the quality manager.",
           "recall-list-v1.pdf")
    expect(page.get_by_test_id("round")).to_have_count(1)
    expect(page.get_by_role("link", name="recall-list-v1.pdf")).to_be_visible()
    sign_out(page)

    # The lead assessor rejects it with a reason.
    review(page, finding_id, accept=False, note=REASON)
    expect(page.get_by_role("status")).to_contain_text("Answer rejected")
    expect(page.get_by_test_id("review-1")).to_contain_text("Rejected")
    sign_out(page)

    # The CAB sees the reason and answers again.
    sign_in(page, CAB_USER, PASSWORD)
    page.goto(f"/nab/portal/findings/{finding_id}")
    expect(page.get_by_text(REASON)).to_be_visible()
    expect(page.get_by_role("heading", name="Answer again")).to_be_visible()
    answer(page, "The recall system now covers owned and hired equipment.",
           "recall-list-v2.pdf")
    expect(page.get_by_test_id("round")).to_have_count(2)
    sign_out(page)

    # The lead accepts: the finding is closed, the thread keeps both rounds.
    review(page, finding_id, accept=True, note="Evidence reviewed: hired equipment included.")
    expect(page.get_by_role("status")).to_contain_text("Answer accepted.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Closed")
    expect(page.get_by_role("link", name="recall-list-v1.pdf")).to_be_visible()
    expect(page.get_by_role("link", name="recall-list-v2.pdf")).to_be_visible()
    sign_out(page)

    sign_in(page, CAB_USER, PASSWORD)
    page.goto(f"/nab/portal/findings/{finding_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Closed")
    expect(page.get_by_test_id("response-form")).to_have_count(0)
