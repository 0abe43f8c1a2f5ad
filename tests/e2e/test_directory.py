"""The public directory in a real browser, on the demo data, as a member of the public (never
signed in): search every AB's directory by scope words, filter by programme, open a CAB's page,
and verify its accreditation on a past date with the form on that page — then the same search
page on a phone, its filters folded above the results (no JavaScript needed)."""

from __future__ import annotations

import re
from datetime import date

from dateutil.relativedelta import relativedelta

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `browser` fixture then skips (or fails under REQUIRE_BROWSER=1)
    Page = expect = None

KESTREL = "Kestrel Calibration Services (NAB)"
CALIBRATION = re.compile(r"^Calibration laboratories \(ISO.IEC 17025\) \(\d+\)$")  # "." for "/" (a selector delimiter)


def test_the_public_searches_filters_opens_a_body_and_verifies_a_past_date(page: Page,
                                                                           live_server):
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Directory",
                                                             exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory of accredited bodies")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()  # nobody signed in

    # Scope words find bodies of both demo ABs and of two programmes.
    page.get_by_label("Search accredited bodies").fill("pressure")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_test_id("total")).to_contain_text("match “pressure”")
    hits = page.get_by_test_id("hit")
    expect(hits.filter(has_text="Lifting & Pressure Inspection Co (NAB)")).to_have_count(1)
    expect(hits.filter(has_text="Gulf Accreditation Centre (demo)").first).to_be_visible()
    expect(hits.filter(has_text=KESTREL)).to_have_count(1)

    # Filter by programme: a link with its count; the inspection bodies go.
    link = page.get_by_test_id("filters").get_by_role("link", name=CALIBRATION)
    count = int(re.search(r"\((\d+)\)$", link.inner_text()).group(1))
    link.click()
    expect(page).to_have_url(re.compile(r"q=pressure.*programme=calibration"))
    expect(page.get_by_test_id("active-filters")).to_contain_text(
        "Programme: Calibration laboratories")
    expect(hits).to_have_count(count)
    expect(hits.filter(has_text="Inspection")).to_have_count(0)
    expect(page.get_by_label("Search accredited bodies")).to_have_value("pressure")

    # The CAB's page: its status, AB, schedule and scope lines with their status.
    hits.filter(has_text=KESTREL).get_by_role("link", name=KESTREL).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(KESTREL)
    expect(page.get_by_test_id("details")).to_contain_text("National Accreditation Board")
    expect(page.get_by_test_id("schedule")).to_contain_text("Issue 4")
    expect(page.get_by_test_id("scope").get_by_test_id("line")).to_have_count(7)
    expect(page.get_by_test_id("history")).to_contain_text("Accredited (partially suspended)")

    # Verify it ten months ago: granted with five lines, extended by two four months later.
    past = date.today() - relativedelta(months=10)
    form = page.get_by_test_id("verify-form")
    form.get_by_label("Date").fill(past.isoformat())
    form.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/verify/\?number=0007&ab=nab&on=" + past.isoformat()))
    answer = page.get_by_test_id("answer")
    expect(answer).to_contain_text("Yes.")
    expect(answer).to_contain_text(f"On {past.isoformat()}, Kestrel Calibration Services (NAB)")
    lines = page.get_by_test_id("verified-lines").locator("tbody tr")
    expect(lines).to_have_count(5)
    expect(lines.first).to_contain_text("Pressure gauges and transducers (hydraulic)")


def test_on_a_phone_without_javascript_the_directory_is_reached_searched_and_filtered(
        browser, live_server):
    """A phone with JavaScript off: the Directory link is in the bar (not in the collapsed
    menu, which needs JavaScript to open), the search form works, and the filters fold in a
    <details> above the results."""
    context = browser.new_context(base_url=live_server, locale="en-GB", java_script_enabled=False,
                                  viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/")
        expect(page.get_by_role("button", name="Toggle navigation")).to_be_visible()  # a phone
        bar = page.get_by_role("navigation", name="Main")
        expect(bar.get_by_role("link", name="Verify", exact=True)).to_be_visible()
        bar.get_by_role("link", name="Directory", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Directory of accredited bodies")
        page.get_by_label("Search accredited bodies").fill("pressure")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.get_by_test_id("total")).to_contain_text("match “pressure”")
        folded = page.get_by_test_id("filters-folded")
        expect(folded).to_be_visible()
        expect(page.get_by_test_id("filters")).to_be_hidden()  # the side column: wide screens
        calibration = folded.get_by_role("link", name=CALIBRATION)
        expect(calibration).to_be_hidden()  # folded
        folded.locator("summary").click()
        calibration.click()
        expect(page.get_by_test_id("active-filters")).to_contain_text(
            "Calibration laboratories")
        expect(page.get_by_test_id("filters-folded").locator("summary")).to_contain_text(
            "1 active")
    finally:
        context.close()
