"""The users page: members with roles and status, in a bounded number of queries."""

from __future__ import annotations

from accreditor.core.permissions import Role
from accreditor.extensions import db
from tests.auth.helpers import membership_of, table_row, text, words


def test_the_users_page_lists_members_with_roles_and_status(
    client, admin_a, admin_b, tenant_a, make_user, login_as
):
    make_user(tenant_a, "ivy@alpha.example.org", [Role.assessor, Role.manager],
              name="Ivy Invited", password=None)
    dora = make_user(tenant_a, "dora@alpha.example.org", [Role.cab_user], name="Dora Disabled")
    membership_of(dora, tenant_a).is_active = False
    db.session.commit()
    login_as(admin_a)

    resp = client.get("/alpha/settings/users")
    assert "Users (3)" in words(resp)
    alice = table_row(resp, "admin@alpha.example.org")
    assert "Alice Admin" in alice and "AB administrator" in alice and "active" in alice
    ivy = table_row(resp, "ivy@alpha.example.org")
    assert "Accreditation manager" in ivy and "Assessor" in ivy
    assert "invited" in ivy and "Resend invitation" in ivy
    dora_row = table_row(resp, "dora@alpha.example.org")
    assert "CAB user" in dora_row and "disabled" in dora_row
    assert "Resend invitation" not in alice
    assert "admin@bravo.example.org" not in text(resp)


def test_the_users_page_issues_the_same_number_of_queries_for_3_and_30_members(
    client, admin_a, tenant_a, make_user, login_as, count_queries
):
    for i in range(2):
        make_user(tenant_a, f"m{i}@alpha.example.org", [Role.assessor, Role.manager])
    login_as(admin_a)
    client.get("/alpha/settings/users")  # warm up
    with count_queries() as three:
        resp = client.get("/alpha/settings/users")
    assert "Users (3)" in words(resp)

    for i in range(2, 29):
        make_user(tenant_a, f"m{i}@alpha.example.org", [Role.assessor],
                  password=None if i % 2 else "Tessellated-Marmot-Orbit-42")
    with count_queries() as thirty:
        resp = client.get("/alpha/settings/users")
    assert "Users (30)" in words(resp)
    assert "m28@alpha.example.org" in text(resp)
    assert thirty.count == three.count, "\n".join(thirty.statements)
