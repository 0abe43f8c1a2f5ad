"""Signing in: where people land, what a failure says, and that failures cost the same."""

from __future__ import annotations

from accreditor.core.permissions import Role
from accreditor.extensions import db
from tests.auth.helpers import (
    WRONG_CREDENTIALS,
    audit_events,
    form_error,
    membership_of,
    sign_in,
    text,
)
from tests.factories import PASSWORD


def test_a_member_of_one_body_lands_on_its_home_page(client, admin_a):
    resp = sign_in(client, "admin@alpha.example.org", follow_redirects=True)
    assert resp.request.path == "/alpha/"
    page = text(resp)
    assert "Signed in as Alice Admin" in page
    assert "Alpha Accreditation Service" in page


def test_the_email_address_is_matched_whatever_its_case(client, admin_a):
    resp = sign_in(client, "  Admin@ALPHA.example.org ", follow_redirects=True)
    assert resp.request.path == "/alpha/"


def test_a_member_of_several_bodies_chooses_one_after_signing_in(
    client, tenant_a, tenant_b, make_user
):
    make_user(tenant_a, "freelance@example.org", [Role.assessor], name="Fay Freelance")
    make_user(tenant_b, "freelance@example.org", [Role.assessor])
    resp = sign_in(client, "freelance@example.org", follow_redirects=True)
    assert resp.request.path == "/choose-tenant"
    page = text(resp)
    assert "Choose an accreditation body" in page
    assert 'href="/alpha/"' in page and 'href="/bravo/"' in page


def test_a_successful_sign_in_is_audited_and_stamped(client, admin_a):
    sign_in(client, "admin@alpha.example.org")
    events = audit_events("auth.login", platform=True)
    assert [(e.actor_label, e.object_id) for e in events] == [
        ("admin@alpha.example.org", str(admin_a.id))
    ]
    db.session.refresh(admin_a)
    assert admin_a.last_login_at is not None


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client, admin_a):
    wrong = sign_in(client, "admin@alpha.example.org", "Not-The-Right-Password-1")
    unknown = sign_in(client, "nobody@alpha.example.org", "Not-The-Right-Password-1")
    assert wrong.status_code == unknown.status_code == 200
    assert form_error(wrong) == form_error(unknown) == WRONG_CREDENTIALS
    assert "Sign in" in text(wrong)
    assert audit_events("auth.login") == []


def test_a_wrong_password_and_an_unknown_email_each_run_exactly_one_argon2_verification(
    client, admin_a, verify_calls
):
    sign_in(client, "admin@alpha.example.org", "Not-The-Right-Password-1")
    assert len(verify_calls) == 1
    sign_in(client, "nobody@alpha.example.org", "Not-The-Right-Password-1")
    assert len(verify_calls) == 2
    assert verify_calls[0] != verify_calls[1]  # the unknown e-mail is checked against a dummy


def test_an_account_without_a_password_yet_runs_one_verification_and_is_refused(
    client, tenant_a, make_user, verify_calls
):
    make_user(tenant_a, "invited@alpha.example.org", [Role.assessor], password=None)
    resp = sign_in(client, "invited@alpha.example.org", "Anything-At-All-123")
    assert form_error(resp) == WRONG_CREDENTIALS
    assert len(verify_calls) == 1


def test_a_disabled_account_cannot_sign_in_even_with_the_right_password(client, admin_a):
    admin_a.is_active_account = False
    db.session.commit()
    resp = sign_in(client, "admin@alpha.example.org", PASSWORD)
    assert form_error(resp) == WRONG_CREDENTIALS
    assert client.get("/alpha/").status_code == 302
    assert audit_events("auth.login") == []


def test_disabling_an_account_ends_its_open_session(client, admin_a, login_as):
    login_as(admin_a)
    assert client.get("/alpha/").status_code == 200
    admin_a.is_active_account = False
    db.session.commit()
    resp = client.get("/alpha/")
    assert resp.status_code == 302
    assert resp.location.startswith("/login")


def test_a_person_whose_only_membership_is_disabled_reaches_no_body(
    client, admin_a, tenant_a, make_user
):
    member = make_user(tenant_a, "gone@alpha.example.org", [Role.assessor])
    membership_of(member, tenant_a).is_active = False
    db.session.commit()
    resp = sign_in(client, "gone@alpha.example.org", follow_redirects=True)
    assert resp.request.path == "/choose-tenant"
    assert "You do not have access to any accreditation body yet." in text(resp)
    home = client.get("/alpha/")
    assert home.status_code == 404
    assert "Page not found" in text(home)


def test_sign_in_follows_a_local_next_address_but_never_an_external_one(client, admin_a):
    local = client.post("/login?next=/alpha/settings",
                        data={"email": "admin@alpha.example.org", "password": PASSWORD})
    assert local.location == "/alpha/settings"
    client.post("/logout")
    for target in ("https://evil.example.com/", "//evil.example.com/", "javascript:alert(1)",
                   "/\\evil.example.com", "%2F%2Fevil.example.com", "/\t/evil.example.com"):
        resp = client.post(f"/login?next={target}",
                           data={"email": "admin@alpha.example.org", "password": PASSWORD})
        assert resp.status_code == 302
        assert resp.location.startswith("/"), target
        assert not resp.location.startswith(("//", "/\\")), target
        client.post("/logout")


def test_a_signed_in_person_visiting_the_login_page_goes_to_their_body(client, admin_a, login_as):
    login_as(admin_a)
    resp = client.get("/login", follow_redirects=True)
    assert resp.request.path == "/alpha/"


def test_the_login_form_refuses_a_post_without_its_csrf_token(app, client, admin_a, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    resp = sign_in(client, "admin@alpha.example.org")
    assert resp.status_code == 400
    assert "The form was missing its security token" in text(resp)
    assert audit_events("auth.login") == []
