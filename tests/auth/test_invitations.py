"""Inviting people into a tenant, and accepting the invitation."""

from __future__ import annotations

import pytest

from accreditor.auth.passwords import verify_password
from accreditor.core.permissions import Role
from tests.auth.helpers import (
    NEW_PASSWORD,
    audit_events,
    field_error,
    flashes,
    membership_of,
    roles_of,
    sign_in,
    text,
    user_by_email,
    users_with_email,
)
from tests.conftest import extract_link

NEW = "nina.new@example.org"


def invite(client, email=NEW, name="Nina New", roles=("assessor", "manager"), **kw):
    return client.post("/alpha/settings/users/invite",
                       data={"email": email, "name": name, "roles": list(roles)}, **kw)


@pytest.fixture
def invitation_link(client, admin_a, login_as, outbox):
    login_as(admin_a)
    invite(client)
    [mail] = outbox(NEW)
    return extract_link(mail.text_body, "/invite/")


def accept(client, link, name="Nina Newton", password=NEW_PASSWORD, confirm=None):
    return client.post(link, data={"name": name, "password": password,
                                   "confirm": password if confirm is None else confirm})


def test_inviting_a_new_person_creates_an_account_without_password_and_mails_a_link(
    client, admin_a, tenant_a, login_as, outbox
):
    login_as(admin_a)
    resp = invite(client, email="Nina.New@Example.org", follow_redirects=True)
    assert resp.request.path == "/alpha/settings/users"
    assert "Invitation sent to nina.new@example.org." in flashes(resp)

    user = user_by_email(NEW)
    assert user.name == "Nina New"
    assert user.password_hash is None
    assert roles_of(user, tenant_a) == {"assessor", "manager"}

    [mail] = outbox()
    assert mail.to == NEW
    assert mail.subject == "You are invited to Alpha Accreditation Service on Accreditor"
    assert "Hello Nina New," in mail.text_body
    assert "Assessor" in mail.text_body and "Accreditation manager" in mail.text_body
    assert "expires in 7 days" in mail.text_body
    link = extract_link(mail.text_body, "/invite/")
    assert link in mail.html_body
    assert mail.tenant_slug == "alpha"

    [created] = audit_events("user.created", tenant=tenant_a)
    [invited] = audit_events("membership.invited", tenant=tenant_a)
    assert created.actor_label == invited.actor_label == "admin@alpha.example.org"
    assert invited.changes == {"email": [None, NEW], "roles": [None, ["assessor", "manager"]]}


def test_the_invited_person_shows_as_invited_until_they_accept(client, invitation_link):
    row = text(client.get("/alpha/settings/users"))
    assert "Nina New" in row and "invited" in row


def test_following_the_invitation_sets_name_and_password_and_signs_in(
    other_client, invitation_link, tenant_a
):
    page = other_client.get(invitation_link)
    assert f"Set a password for {NEW} to finish creating your account." in text(page)

    resp = accept(other_client, invitation_link)
    assert resp.location == "/alpha/"
    home = other_client.get("/alpha/")
    assert "Welcome, Nina Newton. Your account is ready." in flashes(home)
    assert "Signed in as Nina Newton" in text(home)

    user = user_by_email(NEW)
    assert user.name == "Nina Newton"
    assert verify_password(user.password_hash, NEW_PASSWORD)
    [event] = audit_events("auth.invitation_accepted")
    assert event.object_id == str(user.id)


def test_an_invitation_link_works_only_once(other_client, invitation_link, app):
    accept(other_client, invitation_link)
    after = user_by_email(NEW).password_hash

    stranger = app.test_client()
    page = stranger.get(invitation_link)
    assert page.status_code == 400
    assert "This invitation has already been accepted. Sign in instead." in text(page)
    assert "password-reset link" not in text(page)
    post = accept(stranger, invitation_link, name="Mallory", password="Another-Lovely-Phrase-88")
    assert post.status_code == 400
    user = user_by_email(NEW)
    assert (user.name, user.password_hash) == ("Nina Newton", after)
    assert stranger.get("/alpha/").status_code == 302


def test_a_weak_password_on_the_invitation_page_is_refused_beside_the_field(
    other_client, invitation_link
):
    resp = accept(other_client, invitation_link, password="Short-pw-1")
    assert resp.status_code == 200
    assert field_error(resp, "password") == "Use at least 12 characters."
    assert user_by_email(NEW).password_hash is None


def test_an_invited_person_cannot_sign_in_before_accepting(other_client, invitation_link):
    resp = sign_in(other_client, NEW, "")
    assert resp.status_code == 200
    assert sign_in(other_client, NEW, "Anything-Long-Enough-1").status_code == 200


@pytest.mark.parametrize("email", ["admin@alpha.example.org", "ADMIN@Alpha.example.org"])
def test_inviting_someone_who_is_already_a_member_is_refused_beside_the_email(
    client, admin_a, tenant_a, login_as, outbox, email
):
    login_as(admin_a)
    resp = invite(client, email=email, roles=["assessor"])
    assert resp.status_code == 200
    assert field_error(resp, "email") == (
        "admin@alpha.example.org is already a member of Alpha Accreditation Service.")
    assert users_with_email("admin@alpha.example.org") == 1
    assert roles_of(admin_a, tenant_a) == {"admin"}
    assert outbox() == []
    assert audit_events("membership.invited") == []


def test_inviting_a_person_from_another_body_gives_access_without_a_second_account(
    client, admin_a, admin_b, tenant_a, tenant_b, login_as, outbox
):
    login_as(admin_a)
    resp = invite(client, email="Admin@Bravo.example.org", name="Someone Else",
                  roles=["assessor"], follow_redirects=True)
    assert "Invitation sent to admin@bravo.example.org." in flashes(resp)

    assert users_with_email("admin@bravo.example.org") == 1
    assert user_by_email("admin@bravo.example.org").name == "Boris Bravo-Admin"
    assert roles_of(admin_b, tenant_a) == {"assessor"}
    assert roles_of(admin_b, tenant_b) == {"admin"}

    [mail] = outbox()
    assert mail.to == "admin@bravo.example.org"
    assert mail.subject == "You now have access to Alpha Accreditation Service on Accreditor"
    assert "/invite/" not in mail.text_body
    assert "http://localhost/login" in mail.text_body
    assert [e.action for e in audit_events(tenant=tenant_a)][-1] == "membership.invited"
    assert audit_events("user.created") == []

    client.post("/logout")
    landing = sign_in(client, "admin@bravo.example.org", follow_redirects=True)
    assert landing.request.path == "/choose-tenant"
    assert "Alpha Accreditation Service" in text(landing)


def test_an_invitation_needs_at_least_one_role(client, admin_a, login_as, outbox):
    login_as(admin_a)
    resp = invite(client, roles=[])
    assert field_error(resp, "roles") == "Choose at least one role."
    assert user_by_email(NEW) is None
    assert outbox() == []


def test_an_invitation_can_be_sent_again_and_the_new_link_works(
    client, other_client, invitation_link, tenant_a, outbox
):
    membership = membership_of(user_by_email(NEW), tenant_a)
    resp = client.post(f"/alpha/settings/users/{membership.id}/resend", follow_redirects=True)
    assert f"Invitation sent again to {NEW}." in flashes(resp)
    second = extract_link(outbox(NEW)[-1].text_body, "/invite/")
    assert accept(other_client, second).location == "/alpha/"
    assert [e.action for e in audit_events(tenant=tenant_a)][-1] == "membership.invitation_resent"


@pytest.mark.parametrize("role", [Role.manager, Role.assessor, Role.decision_maker, Role.cab_user])
def test_people_without_the_admin_role_may_not_invite(client, tenant_a, make_user, login_as, role):
    login_as(make_user(tenant_a, "staff@alpha.example.org", [role]))
    page = client.get("/alpha/settings/users/invite")
    assert page.status_code == 403
    assert "Your role does not allow this action." in text(page)
    post = invite(client)
    assert post.status_code == 403
    assert user_by_email(NEW) is None


def test_an_anonymous_visitor_is_sent_to_sign_in_before_inviting(client, admin_a):
    resp = client.get("/alpha/settings/users/invite")
    assert resp.status_code == 302
    assert resp.location.startswith("/login?next=")
    assert invite(client).location.startswith("/login")
    assert user_by_email(NEW) is None


def test_the_invitation_mail_escapes_names_in_html_but_not_in_plain_text(
    client, admin_a, login_as, outbox
):
    login_as(admin_a)
    invite(client, name="Zoë <b>O'Hara</b> & Co")
    [mail] = outbox()
    assert "Hello Zoë <b>O'Hara</b> & Co," in mail.text_body
    assert "<b>O'Hara</b>" not in mail.html_body
    assert "Zoë &lt;b&gt;O&#39;Hara&lt;/b&gt; &amp; Co" in mail.html_body
    assert "Alpha Accreditation Service" in mail.html_body


def test_invitation_links_use_base_url_whatever_host_the_admin_used(
    app, client, admin_a, outbox, monkeypatch
):
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    monkeypatch.setitem(app.config, "BASE_URL", "https://accreditor.example.org")
    forged = {"Host": "attacker.example"}
    assert sign_in(client, admin_a.email, headers=forged).status_code == 302
    resp = invite(client, headers=forged)
    assert resp.status_code == 302
    [mail] = outbox(NEW)
    assert "attacker.example" not in mail.text_body + mail.html_body
    assert "https://accreditor.example.org/invite/" in mail.text_body
