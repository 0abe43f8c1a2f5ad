"""The password policy, wherever a password is chosen; and changing one's own password."""

from __future__ import annotations

import pytest

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
from tests.factories import PASSWORD

REFUSED = [
    ("Short-pw-1", "Use at least 12 characters."),
    ("qwerty123456", "This password is on a list of commonly used passwords. Choose another."),
    ("QWERTY123456", "This password is on a list of commonly used passwords. Choose another."),
    ("aaaaaaaaaaaaaaaa", "This password is too weak:"),
    ("admin@alpha.example.org", "This password is too weak: It is too easy to guess."),  # own e-mail
]


def change_password(client, password: str, *, current: str = PASSWORD, confirm: str | None = None):
    return client.post("/account/password", data={
        "current": current, "password": password,
        "confirm": password if confirm is None else confirm,
    })


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_a_weak_new_password_is_refused_beside_the_field_and_nothing_changes(
    client, admin_a, login_as, password, message
):
    login_as(admin_a)
    before = user_by_email("admin@alpha.example.org").password_hash
    resp = change_password(client, password)
    assert resp.status_code == 200
    assert field_error(resp, "password").startswith(message)
    assert user_by_email("admin@alpha.example.org").password_hash == before
    assert audit_events("auth.password_changed") == []


def test_long_unicode_passwords_are_accepted_and_never_truncated(client, admin_a, login_as):
    login_as(admin_a)
    phrase = "Über-Straße naïve café 😀 " * 6 + "end-A"
    resp = change_password(client, phrase)
    assert resp.status_code == 302
    stored = user_by_email("admin@alpha.example.org").password_hash
    assert verify_password(stored, phrase)
    assert not verify_password(stored, phrase[:-1] + "B")


def test_the_two_new_passwords_must_match(client, admin_a, login_as):
    login_as(admin_a)
    resp = change_password(client, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert field_error(resp, "confirm") == "The two passwords differ."


def test_a_wrong_current_password_is_shown_beside_that_field(client, admin_a, login_as):
    login_as(admin_a)
    before = user_by_email("admin@alpha.example.org").password_hash
    resp = change_password(client, NEW_PASSWORD, current="Not-My-Password-99")
    assert resp.status_code == 200
    assert field_error(resp, "current") == "The current password is not correct."
    assert user_by_email("admin@alpha.example.org").password_hash == before


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(
    client, other_client, admin_a, login_as
):
    login_as(admin_a)
    sign_in(other_client, "admin@alpha.example.org")
    assert other_client.get("/alpha/").status_code == 200

    resp = change_password(client, NEW_PASSWORD)
    followed = client.get(resp.location, follow_redirects=True)
    assert followed.request.path == "/alpha/"
    assert "Your password has been changed." in flashes(followed)

    other = other_client.get("/alpha/")
    assert other.status_code == 302 and other.location.startswith("/login")
    assert client.get("/alpha/settings").status_code == 200

    client.post("/logout")
    assert "correct" in text(sign_in(client, "admin@alpha.example.org", PASSWORD))
    assert sign_in(client, "admin@alpha.example.org", NEW_PASSWORD).status_code == 302
    [event] = audit_events("auth.password_changed", platform=True)
    assert event.actor_label == "admin@alpha.example.org"
    assert "password_hash" not in event.changes


def test_the_change_password_page_needs_a_signed_in_person(client):
    resp = client.get("/account/password")
    assert resp.status_code == 302
    assert resp.location.startswith("/login")


def test_guessing_the_current_password_is_throttled_like_sign_in(
    client, admin_a, login_as, verify_calls
):
    login_as(admin_a)
    before = user_by_email("admin@alpha.example.org").password_hash
    for _ in range(5):
        resp = change_password(client, NEW_PASSWORD, current="Not-My-Password-99")
        assert field_error(resp, "current") == "The current password is not correct."
    verify_calls.clear()
    resp = change_password(client, NEW_PASSWORD)  # the right current password, too late
    assert resp.status_code == 429
    assert field_error(resp, "current").startswith("Too many failed sign-in attempts.")
    assert verify_calls == []
    assert user_by_email("admin@alpha.example.org").password_hash == before
