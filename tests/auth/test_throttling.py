"""Login throttling: refused before any hashing, per account and per client address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import accreditor.auth.services as auth_services
from accreditor.auth.models import LoginThrottle
from accreditor.core.db import utcnow
from accreditor.extensions import db
from tests.auth.helpers import THROTTLED, WRONG_CREDENTIALS, audit_events, form_error, sign_in
from tests.factories import PASSWORD

WRONG = "Not-The-Right-Password-1"


def fail_five_times(client, email: str, *, same_ip: str | None = None):
    """Five wrong passwords for ``email``, each from a different address unless ``same_ip``."""
    for i in range(5):
        ip = same_ip or f"198.51.100.{i + 1}"
        resp = sign_in(client, email, WRONG, environ_base={"REMOTE_ADDR": ip})
        assert form_error(resp) == WRONG_CREDENTIALS, i


def test_after_five_failures_the_right_password_is_refused_without_hashing(
    client, admin_a, verify_calls
):
    fail_five_times(client, "admin@alpha.example.org")
    verify_calls.clear()
    resp = sign_in(client, "admin@alpha.example.org", PASSWORD,
                   environ_base={"REMOTE_ADDR": "203.0.113.50"})
    assert resp.status_code == 429
    assert form_error(resp).startswith(THROTTLED)
    assert "Wait 1 minute(s) and try again, or reset your password." in form_error(resp)
    assert verify_calls == []
    assert client.get("/alpha/").status_code == 302  # still signed out
    assert audit_events("auth.login") == []


def test_the_account_lock_applies_to_the_address_however_it_is_typed(client, admin_a):
    fail_five_times(client, "admin@alpha.example.org")
    resp = sign_in(client, " ADMIN@Alpha.Example.org", PASSWORD,
                   environ_base={"REMOTE_ADDR": "203.0.113.51"})
    assert resp.status_code == 429


def test_four_failures_do_not_lock_the_account(client, admin_a):
    for i in range(4):
        sign_in(client, "admin@alpha.example.org", WRONG, environ_base={"REMOTE_ADDR": f"10.1.0.{i}"})
    resp = sign_in(client, "admin@alpha.example.org", PASSWORD, follow_redirects=True)
    assert resp.request.path == "/alpha/"


def test_a_successful_sign_in_clears_the_account_failure_count(client, admin_a, login_as):
    for i in range(4):
        sign_in(client, "admin@alpha.example.org", WRONG, environ_base={"REMOTE_ADDR": f"10.2.0.{i}"})
    login_as(admin_a)
    client.post("/logout")
    for i in range(4):
        resp = sign_in(client, "admin@alpha.example.org", WRONG,
                       environ_base={"REMOTE_ADDR": f"10.3.0.{i}"})
        assert form_error(resp) == WRONG_CREDENTIALS


def test_one_address_trying_many_accounts_is_throttled(client, admin_a, verify_calls):
    for i in range(5):
        sign_in(client, f"guess{i}@alpha.example.org", WRONG,
                environ_base={"REMOTE_ADDR": "192.0.2.66"})
    verify_calls.clear()
    blocked = sign_in(client, "admin@alpha.example.org", PASSWORD,
                      environ_base={"REMOTE_ADDR": "192.0.2.66"})
    assert blocked.status_code == 429
    assert form_error(blocked).startswith(THROTTLED)
    assert verify_calls == []
    # The account itself is not locked: its owner signs in from elsewhere.
    elsewhere = sign_in(client, "admin@alpha.example.org", PASSWORD,
                        environ_base={"REMOTE_ADDR": "192.0.2.99"}, follow_redirects=True)
    assert elsewhere.request.path == "/alpha/"


@pytest.mark.parametrize("email", ["admin@alpha.example.org", "ghost@alpha.example.org"])
def test_unknown_and_known_addresses_are_throttled_alike(client, admin_a, email):
    fail_five_times(client, email)
    resp = sign_in(client, email, PASSWORD, environ_base={"REMOTE_ADDR": "203.0.113.77"})
    assert resp.status_code == 429
    assert form_error(resp) == (
        "Too many failed sign-in attempts. Wait 1 minute(s) and try again, or reset your password."
    )


def test_the_lock_expires_and_the_right_password_then_works(client, admin_a, monkeypatch):
    fail_five_times(client, "admin@alpha.example.org", same_ip="203.0.113.9")
    start = utcnow()
    monkeypatch.setattr(auth_services, "utcnow", lambda: start + timedelta(seconds=30))
    still = sign_in(client, "admin@alpha.example.org", PASSWORD,
                    environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert still.status_code == 429

    monkeypatch.setattr(auth_services, "utcnow", lambda: start + timedelta(minutes=2))
    resp = sign_in(client, "admin@alpha.example.org", PASSWORD,
                   environ_base={"REMOTE_ADDR": "203.0.113.9"}, follow_redirects=True)
    assert resp.request.path == "/alpha/"
    assert len(audit_events("auth.login")) == 1


def test_an_expired_lock_in_the_database_no_longer_refuses(client, admin_a):
    fail_five_times(client, "admin@alpha.example.org")
    db.session.expire_all()
    row = db.session.execute(
        select(LoginThrottle).where(LoginThrottle.key == "acct:admin@alpha.example.org")
    ).scalar_one()
    assert row.failures == 5 and row.locked_until > utcnow()
    row.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    resp = sign_in(client, "admin@alpha.example.org", PASSWORD, follow_redirects=True)
    assert resp.request.path == "/alpha/"


def test_failing_again_after_a_lock_doubles_the_wait(client, admin_a, monkeypatch):
    fail_five_times(client, "ghost@alpha.example.org")
    start = utcnow()
    monkeypatch.setattr(auth_services, "utcnow", lambda: start + timedelta(seconds=61))
    first = sign_in(client, "ghost@alpha.example.org", WRONG,
                    environ_base={"REMOTE_ADDR": "198.51.100.200"})
    assert form_error(first) == WRONG_CREDENTIALS  # the 60-second lock is over ...
    monkeypatch.setattr(auth_services, "utcnow", lambda: start + timedelta(seconds=62))
    refused = sign_in(client, "ghost@alpha.example.org", WRONG,
                      environ_base={"REMOTE_ADDR": "198.51.100.201"})
    assert refused.status_code == 429
    assert "Wait 2 minute(s)" in form_error(refused)  # ... but the sixth failure locks for 120 s
