"""Password reset by e-mailed link: same answer for every address, single use, expiring."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner

from accreditor.auth.passwords import verify_password
from tests.auth.helpers import (
    NEW_PASSWORD,
    audit_events,
    field_error,
    flashes,
    sign_in,
    text,
    user_by_email,
)
from tests.conftest import extract_link
from tests.factories import PASSWORD

SENT = ("If an account exists for that address, we have sent it a link to reset the password. "
        "The link works once and expires in an hour.")


def ask_for_reset(client, email: str):
    return client.post("/password/forgot", data={"email": email}, follow_redirects=True)


@pytest.fixture
def reset_link(client, admin_a, outbox):
    ask_for_reset(client, "admin@alpha.example.org")
    [mail] = outbox("admin@alpha.example.org")
    return extract_link(mail.text_body, "/password/reset/")


def choose(client, link: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(link, data={"password": password,
                                   "confirm": password if confirm is None else confirm})


def test_known_and_unknown_addresses_see_the_same_message(client, admin_a, outbox):
    known = ask_for_reset(client, "Admin@Alpha.example.org")
    unknown = ask_for_reset(client, "nobody@alpha.example.org")
    assert known.request.path == unknown.request.path == "/login"
    assert flashes(known) == flashes(unknown) == [SENT]
    assert [m.to for m in outbox()] == ["admin@alpha.example.org"]


def test_the_reset_mail_carries_a_link_and_says_how_long_it_works(client, admin_a, outbox):
    ask_for_reset(client, "admin@alpha.example.org")
    [mail] = outbox()
    assert mail.subject == "Reset your Accreditor password"
    assert "Hello Alice Admin," in mail.text_body
    assert "expires in 1 hour(s)" in mail.text_body
    link = extract_link(mail.text_body, "/password/reset/")
    assert link in mail.html_body
    assert mail.sent_at is not None  # delivered (to the outbox) after the commit
    [event] = audit_events("auth.password_reset_requested", platform=True)
    assert event.object_id == str(admin_a.id)


def test_a_disabled_account_gets_no_reset_mail(client, admin_a, outbox):
    from accreditor.extensions import db

    admin_a.is_active_account = False
    db.session.commit()
    resp = ask_for_reset(client, "admin@alpha.example.org")
    assert flashes(resp) == [SENT]
    assert outbox() == []


def test_the_link_sets_a_new_password_and_the_old_one_stops_working(client, reset_link):
    page = client.get(reset_link)
    assert "Choose a new password" in text(page)
    resp = choose(client, reset_link)
    assert resp.location == "/login"
    assert "Your password has been changed. Sign in with the new password." in flashes(
        client.get("/login"))
    assert verify_password(user_by_email("admin@alpha.example.org").password_hash, NEW_PASSWORD)
    assert sign_in(client, "admin@alpha.example.org", PASSWORD).status_code == 200
    assert sign_in(client, "admin@alpha.example.org", NEW_PASSWORD).status_code == 302
    [event] = audit_events("auth.password_reset", platform=True)
    assert event.actor_label == "admin@alpha.example.org"


def test_a_used_link_cannot_be_used_again(client, reset_link):
    choose(client, reset_link)
    after_first = user_by_email("admin@alpha.example.org").password_hash

    again = client.get(reset_link)
    assert again.status_code == 400
    assert "This link has already been used. Ask for a new one." in text(again)
    post = choose(client, reset_link, "Another-Lovely-Passphrase-88")
    assert post.status_code == 400
    assert "already been used" in text(post)
    assert user_by_email("admin@alpha.example.org").password_hash == after_first
    assert len(audit_events("auth.password_reset")) == 1


def test_using_one_reset_link_spends_every_earlier_one(client, admin_a, outbox):
    ask_for_reset(client, "admin@alpha.example.org")
    ask_for_reset(client, "admin@alpha.example.org")
    first, second = (extract_link(m.text_body, "/password/reset/") for m in outbox())
    assert choose(client, second).status_code == 302
    assert "already been used" in text(client.get(first))


def test_an_expired_link_is_refused_and_the_password_stays(client, reset_link, monkeypatch):
    before = user_by_email("admin@alpha.example.org").password_hash
    two_hours_later = int(time.time()) + 2 * 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: two_hours_later)
    page = client.get(reset_link)
    assert page.status_code == 400
    assert "This link has expired. Ask for a new one." in text(page)
    post = choose(client, reset_link)
    assert post.status_code == 400
    assert user_by_email("admin@alpha.example.org").password_hash == before
    assert audit_events("auth.password_reset") == []


def test_a_tampered_link_is_refused(client, reset_link):
    resp = client.get(reset_link[:-3] + "xyz")
    assert resp.status_code == 400
    assert "This link is not valid." in text(resp)


def test_a_weak_password_is_refused_beside_the_field_and_the_link_still_works(
    client, reset_link
):
    before = user_by_email("admin@alpha.example.org").password_hash
    resp = choose(client, reset_link, "qwerty123456")
    assert resp.status_code == 200
    assert field_error(resp, "password") == (
        "This password is on a list of commonly used passwords. Choose another.")
    assert user_by_email("admin@alpha.example.org").password_hash == before
    assert choose(client, reset_link).status_code == 302


def test_resetting_the_password_signs_out_every_existing_session(
    client, other_client, reset_link
):
    sign_in(other_client, "admin@alpha.example.org")
    assert other_client.get("/alpha/").status_code == 200
    choose(client, reset_link)
    resp = other_client.get("/alpha/")
    assert resp.status_code == 302
    assert resp.location.startswith("/login")


PUBLIC = "https://accreditor.example.org"


@pytest.fixture
def public_address(app, monkeypatch):
    """The app answers any Host (no SERVER_NAME, as behind a catch-all proxy) and its public
    address is PUBLIC."""
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    monkeypatch.setitem(app.config, "BASE_URL", PUBLIC)


def test_a_forged_host_header_does_not_reach_the_reset_link(client, admin_a, outbox,
                                                            public_address):
    resp = client.post("/password/forgot", data={"email": "admin@alpha.example.org"},
                       headers={"Host": "evil.example"})
    assert resp.status_code == 302
    [mail] = outbox()
    assert "evil.example" not in mail.text_body + mail.html_body
    link = re.search(r"https?://\S+/password/reset/\S+", mail.text_body).group(0)
    assert link.startswith(PUBLIC + "/password/reset/"), link
    assert link in mail.html_body
    # The link works on the public address.
    page = client.get(link.removeprefix(PUBLIC), headers={"Host": "accreditor.example.org"})
    assert "Choose a new password" in text(page)


def test_links_keep_a_path_prefix_of_base_url(client, admin_a, outbox, app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", PUBLIC + "/accreditor")
    ask_for_reset(client, "admin@alpha.example.org")
    [mail] = outbox()
    assert PUBLIC + "/accreditor/password/reset/" in mail.text_body
