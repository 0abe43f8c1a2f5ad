"""The decision journey in a real browser, on the demo data of the ``nab`` body: the decision
Sam — who led the calibration laboratory's reported special assessment and also holds the
decision-maker role — opens the queue and tries to record its decision himself: refused
(rule 1); the independent decision maker records it; the CAB sees it on its accreditation and
downloads its current schedule of accreditation as a PDF."""

from __future__ import annotations

from tests.e2e.test_assessments import sign_out
from tests.e2e.test_foundation import sign_in

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `browser` fixture then skips (or fails under REQUIRE_BROWSER=1)
    Page = expect = None

PASSWORD = "Accreditor-demo-2026"
DECIDER, SAM = "Dana Decider (NAB)", "Sam Assessor (NAB)"
RATIONALE = "Report and findings reviewed; the open findings are followed within their deadlines."


def open_the_queue_and_decide(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Decisions",
                                                             exact=True).click()
    row = page.get_by_test_id("queue-row").filter(has_text="Precision Metrology")
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Decide").click()
    expect(page.get_by_role("heading", name="Record a decision")).to_be_visible()
    expect(page.get_by_test_id("recommendation")).to_contain_text("Maintain")


def test_a_team_member_is_refused_and_an_independent_decision_maker_decides(
        page: Page, live_server):
    # Sam, who led the assessment, also holds the decision-maker role: refused (rule 1).
    sign_in(page, "assessor@nab.example.org", PASSWORD)
    open_the_queue_and_decide(page)
    expect(page.get_by_test_id("maker_ids").get_by_label(SAM)).to_be_checked()
    page.get_by_label("Rationale").fill(RATIONALE)
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_test_id("refusals")).to_contain_text("rule 1")
    expect(page.get_by_test_id("refusals")).to_contain_text("Sam Assessor")
    sign_out(page)

    # The independent decision maker records it.
    sign_in(page, "decider@nab.example.org", PASSWORD)
    open_the_queue_and_decide(page)
    expect(page.get_by_test_id("maker_ids").get_by_label(DECIDER)).to_be_checked()
    page.get_by_label("Rationale").fill(RATIONALE)
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("status")).to_contain_text("Decision recorded")
    expect(page.get_by_text(RATIONALE)).to_be_visible()
    sign_out(page)

    # The CAB sees it on its accreditation.
    sign_in(page, "cab@nab.example.org", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Our accreditation",
                                                             exact=True).click()
    page.get_by_role("link", name="ISO/IEC 17025 – Calibration laboratories").first.click()
    expect(page.get_by_text(RATIONALE)).to_be_visible()

    # … and downloads its schedule of accreditation (rendered by the job after the commit).
    page.get_by_test_id("schedules").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Schedule of accreditation")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("pdf-schedule").get_by_role("link").click()
    pdf = download.value
    assert pdf.suggested_filename.endswith(".pdf")
    with open(pdf.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"
