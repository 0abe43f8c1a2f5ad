"""The team-objection journey in a real browser, on the demo data: the CAB sees the proposed
plan and team in its portal and objects to a member; the manager finds the objection on the
assessment and dismisses it; the CAB reads the resolution. Never the AB's internal notes."""

from __future__ import annotations

import re

from tests.e2e.test_foundation import sign_in

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `browser` fixture then skips (or fails under REQUIRE_BROWSER=1)
    Page = expect = None

PASSWORD = "Accreditor-demo-2026"
REASON = "Tariq's company trained our competitor's staff last spring."
RESOLUTION = "His company sells training only; no link with your competitor's calibrations."


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have been signed out.")


def test_the_cab_objects_to_a_member_and_the_manager_decides(page: Page, live_server):
    # The CAB user of Precision Metrology opens the portal's assessments.
    sign_in(page, "cab@nab.example.org", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assessments",
                                                             exact=True).click()
    rows = page.get_by_role("row").filter(has_text="Team proposed")
    expect(rows).to_have_count(1)
    rows.get_by_role("link").first.click()

    team = page.get_by_test_id("team")
    expect(team).to_contain_text("Sam Assessor (NAB)")
    expect(team.get_by_role("row").filter(has_text="Tariq Technical")).to_contain_text(
        "Pressure & Thermal Consultants Ltd")
    expect(page.get_by_test_id("objection-window")).to_contain_text("You may object")
    expect(page.get_by_text("Proposed by the programme planner")).to_have_count(0)  # internal

    form = page.get_by_test_id("objection-form")
    form.get_by_label("Team member").select_option(label="Tariq Technical (NAB) (Technical expert)")
    form.get_by_label("Your reason").fill(REASON)
    form.get_by_role("button", name="Send the objection").click()
    objection = page.get_by_test_id("objection")
    expect(objection).to_contain_text("awaiting the accreditation body's decision")
    expect(objection).to_contain_text(REASON)
    assessment_url = page.url.split("#")[0]
    assessment_id = re.search(r"/portal/assessments/(\d+)", assessment_url).group(1)
    sign_out(page)

    # The manager opens the assessment's team from the Assessments menu.
    sign_in(page, "manager@nab.example.org", PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Assessments", exact=True).click()  # a Bootstrap dropdown
    nav.get_by_role("link", name="All assessments").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Assessments")
    page.goto(f"/nab/assessments/{assessment_id}?tab=team")
    card = page.get_by_test_id("objection")
    expect(card).to_contain_text(REASON)
    card.get_by_label("Outcome").select_option("dismissed")
    card.get_by_label("Resolution (the CAB is told)").fill(RESOLUTION)
    card.get_by_role("button", name="Decide the objection").click()
    expect(page.get_by_test_id("objection")).to_contain_text(RESOLUTION)
    sign_out(page)

    # The CAB reads the decision.
    sign_in(page, "cab@nab.example.org", PASSWORD)
    page.goto(assessment_url)
    expect(page.get_by_test_id("objection")).to_contain_text("not upheld")
    expect(page.get_by_test_id("resolution")).to_contain_text(RESOLUTION)
