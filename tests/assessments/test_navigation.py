"""The Assessments menu: staff reach every planning page from it, by role; the CAB's portal
links only its own assessments."""

from __future__ import annotations

from accreditor.core.permissions import Role
from tests.factories import create_cab, create_cab_user, create_member

STAFF_LINKS = ["/alpha/assessments/", "/alpha/programme/", "/alpha/calendar/",
               "/alpha/witnesses/", "/alpha/assessors/"]


def menu(client) -> str:
    body = client.get("/alpha/").get_data(as_text=True)
    return body.split('<nav', 1)[1].split("</nav>", 1)[0]


def test_managers_get_the_planning_pages_but_not_the_personal_ones(client, login_as, tenant_a):
    login_as(create_member(tenant_a, "m@alpha.example.org", [Role.manager]))
    nav = menu(client)
    for link in STAFF_LINKS:
        assert f'href="{link}"' in nav, link
        assert client.get(link).status_code == 200, link
    assert "/alpha/calendar/mine" not in nav and "/alpha/assessors/me" not in nav
    assert "/alpha/assessments/estimator" not in nav  # admins only


def test_assessors_also_get_their_assignments_and_register_entry(client, login_as, tenant_a):
    login_as(create_member(tenant_a, "a@alpha.example.org", [Role.assessor]))
    nav = menu(client)
    assert 'href="/alpha/calendar/mine"' in nav and 'href="/alpha/assessors/me"' in nav


def test_admins_get_the_estimator(client, login_as, tenant_a, admin_a):
    login_as(admin_a)
    assert 'href="/alpha/assessments/estimator"' in menu(client)


def test_cab_users_get_their_portal_assessments_only(client, login_as, tenant_a):
    cab = create_cab(tenant_a, "Precision Metrology Ltd")
    login_as(create_cab_user(tenant_a, cab, "q@precision.example.org"))
    nav = menu(client)
    assert 'href="/alpha/portal/assessments/"' in nav
    for link in STAFF_LINKS:
        assert f'href="{link}"' not in nav, link
