"""Creating a tenant (an accreditation body): from /admin and from the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.tenants.models import Tenant, TenantPolicy
from tests.auth.helpers import (
    NEW_PASSWORD,
    audit_events,
    field_error,
    flashes,
    roles_of,
    sign_in,
    text,
    user_by_email,
)
from tests.conftest import extract_link
from tests.factories import create_platform_admin

FORM = {
    "slug": "ukas",
    "name": "United Kingdom Accreditation Service",
    "country": "gb",
    "default_locale": "en",
    "admin_email": "Chief@UKAS.example.org",
    "admin_name": "Chris Chief",
}


@pytest.fixture
def platform_admin(client):
    root = create_platform_admin()
    resp = sign_in(client, root.email)
    assert resp.status_code == 302
    return root


def tenant(slug: str) -> Tenant | None:
    db.session.expire_all()
    return db.session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()


def tenant_count() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count(Tenant.id))).scalar_one()


def test_a_platform_admin_lands_on_the_platform_pages(app, platform_admin):
    browser = app.test_client()
    landing = sign_in(browser, platform_admin.email, follow_redirects=True)
    assert landing.request.path == "/admin/"
    assert "Accreditation bodies" in text(landing)


def test_a_platform_admin_creates_a_tenant_with_default_policy_and_invites_its_admin(
    client, app, platform_admin, outbox
):
    resp = client.post("/admin/tenants/new", data=FORM, follow_redirects=True)
    assert resp.request.path == "/admin/"
    assert ("United Kingdom Accreditation Service created; its first administrator has been "
            "invited.") in flashes(resp)
    assert "/ukas/" in text(resp)

    ukas = tenant("ukas")
    assert (ukas.name, ukas.country, ukas.default_locale, ukas.is_active) == (
        "United Kingdom Accreditation Service", "GB", "en", True)
    with tenant_scope(ukas):
        policy = db.session.execute(select(TenantPolicy)).scalar_one()
    assert (policy.cycle_length_months, policy.response_due_days, policy.grading_scheme) == (
        60, 30, "anab")

    chief = user_by_email("chief@ukas.example.org")
    assert chief.name == "Chris Chief" and chief.password_hash is None
    assert roles_of(chief, ukas) == {"admin"}
    [mail] = outbox()
    assert mail.to == "chief@ukas.example.org"
    assert mail.subject == "You are invited to United Kingdom Accreditation Service on Accreditor"
    assert "AB administrator" in mail.text_body

    [platform_event] = audit_events("tenant.created", platform=True)
    assert platform_event.actor_label == platform_admin.email
    assert platform_event.changes["slug"] == [None, "ukas"]
    tenant_chain = [e.action for e in audit_events(tenant=ukas)]
    assert tenant_chain == ["tenant.created", "user.created", "membership.invited"]
    assert [e.seq for e in audit_events(tenant=ukas)] == [1, 2, 3]

    # The invited administrator can accept and run the new body.
    invitee = app.test_client()
    link = extract_link(mail.text_body, "/invite/")
    invitee.post(link, data={"name": "Chris Chief", "password": NEW_PASSWORD,
                             "confirm": NEW_PASSWORD})
    settings = invitee.get("/ukas/settings")
    assert settings.status_code == 200
    assert "Policy settings" in text(settings)


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("admin", "“admin” is reserved by the platform. Choose another."),
        ("api", "“api” is reserved by the platform. Choose another."),
        ("login", "“login” is reserved by the platform. Choose another."),
        ("healthz", "“healthz” is reserved by the platform. Choose another."),
        ("directory", "“directory” is reserved by the platform. Choose another."),
        ("verify", "“verify” is reserved by the platform. Choose another."),
        ("static", "“static” is reserved by the platform. Choose another."),
        ("Admin", "“admin” is reserved by the platform. Choose another."),
        ("A B", "Use 3 to 40 lower-case letters, digits and hyphens, starting with a letter."),
        ("-abc", "Use 3 to 40 lower-case letters, digits and hyphens, starting with a letter."),
        ("9lives", "Use 3 to 40 lower-case letters, digits and hyphens, starting with a letter."),
        ("abc-", "Use 3 to 40 lower-case letters, digits and hyphens, starting with a letter."),
        ("ab_c", "Use 3 to 40 lower-case letters, digits and hyphens, starting with a letter."),
        ("x", "Field must be between 3 and 40 characters long."),
    ],
)
def test_reserved_or_malformed_slugs_are_refused_beside_the_field(
    client, platform_admin, outbox, slug, message
):
    before = tenant_count()
    resp = client.post("/admin/tenants/new", data={**FORM, "slug": slug})
    assert resp.status_code == 200
    assert field_error(resp, "slug") == message
    assert tenant_count() == before
    assert user_by_email("chief@ukas.example.org") is None
    assert outbox() == []
    assert audit_events("tenant.created") == []


def test_a_slug_already_taken_is_refused_beside_the_field(client, tenant_a, platform_admin, outbox):
    before = tenant_count()
    resp = client.post("/admin/tenants/new", data={**FORM, "slug": "Alpha"})
    assert field_error(resp, "slug") == "The slug “alpha” is already taken."
    assert tenant_count() == before
    assert tenant("alpha").name == "Alpha Accreditation Service"
    assert outbox() == []


def test_a_bad_country_code_is_refused_beside_the_field(client, platform_admin):
    resp = client.post("/admin/tenants/new", data={**FORM, "country": "1X"})
    assert field_error(resp, "country") == "Give the two-letter ISO country code, e.g. GB."
    assert tenant("ukas") is None


def test_people_who_are_not_platform_admins_may_not_create_tenants(client, admin_a, login_as):
    login_as(admin_a)
    page = client.get("/admin/tenants/new")
    assert page.status_code == 403
    assert "Your role does not allow this action." in text(page)
    assert client.post("/admin/tenants/new", data=FORM).status_code == 403
    assert tenant("ukas") is None


def test_anonymous_visitors_are_sent_to_sign_in(client):
    resp = client.get("/admin/tenants/new")
    assert resp.status_code == 302
    assert resp.location.startswith("/login")
    assert client.post("/admin/tenants/new", data=FORM).location.startswith("/login")
    assert tenant("ukas") is None


def test_the_cli_creates_a_tenant_and_invites_its_admin(runner, outbox):
    result = runner.invoke(args=[
        "tenants", "create", "--slug", "ukas", "--name", "UKAS", "--country", "gb",
        "--admin-email", "chief@ukas.example.org",
    ])
    assert result.exit_code == 0, result.output
    ukas = tenant("ukas")
    assert f"created tenant ukas (id {ukas.id})" in result.output
    assert (ukas.name, ukas.country) == ("UKAS", "GB")
    assert roles_of(user_by_email("chief@ukas.example.org"), ukas) == {"admin"}
    assert [m.to for m in outbox()] == ["chief@ukas.example.org"]
    assert [e.actor_label for e in audit_events("tenant.created", platform=True)] == ["system"]


def test_the_cli_refuses_a_reserved_slug_with_the_reason(runner):
    before = tenant_count()
    result = runner.invoke(args=["tenants", "create", "--slug", "admin", "--name", "X",
                                 "--country", "GB"])
    assert result.exit_code != 0
    assert "“admin” is reserved by the platform. Choose another." in result.output
    assert tenant_count() == before


def test_the_cli_lists_tenants(runner, tenant_a, tenant_b):
    result = runner.invoke(args=["tenants", "list"])
    assert result.exit_code == 0
    assert "alpha" in result.output and "Bravo Accreditation Bureau" in result.output
