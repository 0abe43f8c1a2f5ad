"""The foundation journey in a real browser: sign in, switch body, invite, read the outbox,
accept the invitation. Assertions are on what the person sees, not on URLs alone."""

from __future__ import annotations

import re

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `browser` fixture then skips (or fails under REQUIRE_BROWSER=1)
    Page = expect = None

NAB = "National Accreditation Board (demo)"
GAC = "Gulf Accreditation Centre (demo)"
INVITEE_EMAIL = "nora.newcomer@e2e.example.org"
INVITEE_NAME = "Nora Newcomer"
INVITEE_PASSWORD = "Quartz-Lantern-Meadow-81"


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_switch_body_invite_and_accept_through_the_outbox(page: Page, live_server,
                                                                  journey_admin):
    # Sign in: a member of two bodies is asked which one.
    sign_in(page, journey_admin.email, journey_admin.password)
    expect(page.get_by_role("heading", name="Choose an accreditation body")).to_be_visible()
    bodies = page.locator(".list-group-item")
    expect(bodies).to_have_count(2)
    expect(bodies.filter(has_text=NAB)).to_contain_text("AB administrator")
    expect(bodies.filter(has_text=GAC)).to_contain_text("AB administrator")
    expect(page.get_by_role("link", name="Platform administration")).to_be_visible()

    bodies.filter(has_text=NAB).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(NAB)
    expect(page.get_by_text(f"Signed in as {journey_admin.name}")).to_be_visible()
    expect(page.locator(".navbar-brand")).to_have_text(NAB)

    # Switch to the other body through the navigation bar.
    page.get_by_test_id("switch-tenant").click()
    expect(page.get_by_role("heading", name="Choose an accreditation body")).to_be_visible()
    page.locator(".list-group-item").filter(has_text=GAC).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(GAC)
    expect(page.locator(".navbar-brand")).to_have_text(GAC)
    expect(page.locator("footer")).to_contain_text(f"Signed in to {GAC} as AB administrator")
    expect(page.get_by_text(NAB)).to_have_count(0)

    # Users → Invite a user.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users",
                                                             exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Users"))).to_be_visible()
    users = page.get_by_role("table")
    expect(users.get_by_role("row").filter(has_text="admin@gac.example.org")).to_contain_text(
        "active")
    expect(users.get_by_role("row").filter(has_text=INVITEE_EMAIL)).to_have_count(0)
    page.get_by_role("link", name="Invite a user").click()
    expect(page.get_by_role("heading", name=f"Invite a user to {GAC}")).to_be_visible()
    page.get_by_label("E-mail", exact=True).fill(INVITEE_EMAIL.upper())  # stored lower-cased
    page.get_by_label("Name", exact=True).fill(INVITEE_NAME)
    page.get_by_role("checkbox", name="Assessor", exact=True).check()
    page.get_by_role("button", name="Send invitation").click()

    expect(page.get_by_role("status")).to_have_text(f"Invitation sent to {INVITEE_EMAIL}.")
    expect(page.get_by_role("heading", name=re.compile(r"^Users"))).to_be_visible()
    row = page.get_by_role("table").get_by_role("row").filter(has_text=INVITEE_EMAIL)
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").nth(0)).to_have_text(INVITEE_NAME)
    expect(row.get_by_role("cell").nth(2)).to_have_text("Assessor")
    expect(row.get_by_role("cell").nth(3)).to_have_text("invited")
    expect(row.get_by_role("button", name="Resend invitation")).to_be_visible()

    # The platform outbox holds the invitation.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Platform",
                                                             exact=True).click()
    expect(page.get_by_role("heading", name="Accreditation bodies")).to_be_visible()
    page.get_by_role("link", name="Outbox (sent e-mail)").click()
    expect(page).to_have_url(live_server + "/admin/outbox")
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
    subject = f"You are invited to {GAC} on Accreditor"
    mail_row = page.get_by_role("row").filter(has_text=INVITEE_EMAIL)
    expect(mail_row).to_have_count(1)
    expect(mail_row.get_by_role("cell").nth(2)).to_have_text(subject)
    expect(mail_row.get_by_role("cell").nth(3)).to_have_text("gac")
    mail_row.get_by_role("link", name=subject).click()

    expect(page.get_by_role("heading", name=subject)).to_be_visible()
    expect(page.locator("dd").first).to_have_text(INVITEE_EMAIL)
    body = page.get_by_test_id("mail-text")
    expect(body).to_contain_text(f"Hello {INVITEE_NAME},")
    expect(body).to_contain_text(f"You have been invited to {GAC} on Accreditor with the "
                                 "role(s): Assessor.")
    expect(body).to_contain_text("To accept, set your password here:")
    link = re.search(r"(http://\S+/invite/\S+)", body.inner_text())
    assert link, body.inner_text()
    link = link.group(1)
    assert link.startswith(live_server + "/invite/"), link  # BASE_URL (the live server)

    # Sign out, then accept the invitation as the new person.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have been signed out.")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    page.goto(link)
    expect(page.get_by_role("heading", name="Welcome to Accreditor")).to_be_visible()
    expect(page.get_by_text(f"Set a password for {INVITEE_EMAIL}")).to_be_visible()
    expect(page.get_by_label("Your name")).to_have_value(INVITEE_NAME)
    page.get_by_label("New password", exact=True).fill(INVITEE_PASSWORD)
    page.get_by_label("Repeat the new password", exact=True).fill(INVITEE_PASSWORD)
    page.get_by_role("button", name="Create my account").click()

    expect(page.get_by_role("status")).to_have_text(
        f"Welcome, {INVITEE_NAME}. Your account is ready.")
    expect(page.get_by_role("heading", level=1)).to_have_text(GAC)
    expect(page.get_by_text(f"Signed in as {INVITEE_NAME}")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name=INVITEE_NAME)).to_be_visible()
    expect(nav.get_by_role("link", name="Users", exact=True)).to_have_count(0)  # not an admin

    # The link works once.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have been signed out.")
    page.goto(link)
    expect(page.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(
        "This invitation has already been accepted. Sign in instead.")


def test_wrong_password_shows_the_generic_error(page: Page, live_server):
    sign_in(page, "admin@nab.example.org", "Not-The-Right-Password-1")
    expect(page.get_by_role("alert")).to_have_text(
        "The e-mail address or password is not correct.")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("E-mail", exact=True)).to_have_value("admin@nab.example.org")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
