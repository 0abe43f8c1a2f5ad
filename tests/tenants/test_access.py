"""Who reaches a tenant's pages: 404 for strangers, 403 for members without the right role."""

from __future__ import annotations

import pytest

from accreditor.core.permissions import Role
from accreditor.extensions import db
from tests.auth.helpers import text

ADMIN_PAGES = ["/alpha/settings", "/alpha/settings/users", "/alpha/settings/users/invite",
               "/alpha/audit"]


def test_an_unknown_tenant_is_not_found_for_anyone(client, admin_a, login_as):
    anonymous = client.get("/no-such-body/")
    assert anonymous.status_code == 404
    assert "Page not found" in text(anonymous)
    login_as(admin_a)
    signed_in = client.get("/no-such-body/settings")
    assert signed_in.status_code == 404
    assert "There is nothing here, or you do not have access." in text(signed_in)


@pytest.mark.parametrize("path", ["/alpha/", *ADMIN_PAGES])
def test_a_person_without_membership_gets_not_found_never_forbidden(
    client, admin_a, admin_b, login_as, path
):
    login_as(admin_b)
    resp = client.get(path)
    assert resp.status_code == 404
    page = text(resp)
    assert "There is nothing here, or you do not have access." in page
    assert "Alpha Accreditation Service" not in page


@pytest.mark.parametrize("role", [Role.manager, Role.assessor, Role.decision_maker, Role.cab_user])
@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_a_member_without_the_admin_role_is_forbidden_from_admin_pages(
    client, tenant_a, make_user, login_as, role, path
):
    login_as(make_user(tenant_a, "member@alpha.example.org", [role]))
    resp = client.get(path)
    assert resp.status_code == 403
    assert "Your role does not allow this action." in text(resp)


def test_a_member_without_the_admin_role_sees_home_without_admin_links(
    client, tenant_a, make_user, login_as
):
    login_as(make_user(tenant_a, "member@alpha.example.org", [Role.assessor], name="Max Member"))
    page = text(client.get("/alpha/"))
    assert "Signed in as Max Member" in page
    assert "Policy settings" not in page and 'href="/alpha/audit"' not in page


def test_an_admin_sees_the_administration_links(client, admin_a, login_as):
    login_as(admin_a)
    page = text(client.get("/alpha/"))
    for link in ADMIN_PAGES:
        assert f'href="{link}"' in page


@pytest.mark.parametrize("path", ["/alpha/", *ADMIN_PAGES])
def test_anonymous_visitors_are_sent_to_sign_in(client, tenant_a, path):
    resp = client.get(path)
    assert resp.status_code == 302
    assert resp.location.startswith("/login?next=")


def test_a_deactivated_tenant_is_not_found_even_for_its_admin(client, admin_a, tenant_a, login_as):
    login_as(admin_a)
    tenant_a.is_active = False
    db.session.commit()
    assert client.get("/alpha/").status_code == 404
    assert client.get("/alpha/settings").status_code == 404
