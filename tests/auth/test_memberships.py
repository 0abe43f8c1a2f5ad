"""An admin changes a member's roles or access; never their own admin access."""

from __future__ import annotations

import pytest

from accreditor.core.permissions import Role
from accreditor.extensions import db
from tests.auth.helpers import (
    audit_events,
    checked,
    field_error,
    flashes,
    membership_of,
    roles_of,
    sign_in,
    text,
)


@pytest.fixture
def assessor(tenant_a, make_user):
    return make_user(tenant_a, "ava@alpha.example.org", [Role.assessor], name="Ava Assessor")


def edit(client, membership, roles, active=True, **kw):
    data = {"roles": list(roles)}
    if active:
        data["is_active"] = "y"
    return client.post(f"/alpha/settings/users/{membership.id}", data=data, **kw)


def test_the_edit_page_shows_the_current_roles(client, admin_a, assessor, tenant_a, login_as):
    login_as(admin_a)
    m = membership_of(assessor, tenant_a)
    resp = client.get(f"/alpha/settings/users/{m.id}")
    assert "Ava Assessor" in text(resp) and "ava@alpha.example.org" in text(resp)
    assert checked(resp, "roles") == {"assessor"}
    assert checked(resp, "is_active") == {"y"}


def test_an_admin_changes_a_members_roles(client, admin_a, assessor, tenant_a, login_as):
    login_as(admin_a)
    m = membership_of(assessor, tenant_a)
    resp = edit(client, m, ["assessor", "decision_maker"], follow_redirects=True)
    assert "Access for Ava Assessor updated." in flashes(resp)
    assert roles_of(assessor, tenant_a) == {"assessor", "decision_maker"}
    [event] = audit_events("membership.updated", tenant=tenant_a)
    assert event.actor_label == "admin@alpha.example.org"
    assert event.changes == {"roles": [["assessor"], ["assessor", "decision_maker"]]}


def test_saving_without_changes_writes_no_audit_event(client, admin_a, assessor, tenant_a, login_as):
    login_as(admin_a)
    edit(client, membership_of(assessor, tenant_a), ["assessor"])
    assert audit_events("membership.updated") == []


def test_a_disabled_member_no_longer_reaches_the_bodys_pages(
    client, other_client, admin_a, assessor, tenant_a, login_as
):
    sign_in(other_client, "ava@alpha.example.org")
    assert other_client.get("/alpha/").status_code == 200

    login_as(admin_a)
    edit(client, membership_of(assessor, tenant_a), ["assessor"], active=False)
    assert membership_of(assessor, tenant_a).is_active is False
    [event] = audit_events("membership.updated", tenant=tenant_a)
    assert event.changes == {"is_active": [True, False]}
    assert "disabled" in text(client.get("/alpha/settings/users"))

    resp = other_client.get("/alpha/")
    assert resp.status_code == 404
    assert "There is nothing here, or you do not have access." in text(resp)


def test_an_admin_cannot_remove_their_own_admin_role(client, admin_a, tenant_a, login_as):
    login_as(admin_a)
    own = membership_of(admin_a, tenant_a)
    resp = edit(client, own, ["manager"])
    assert resp.status_code == 200
    assert field_error(resp, "roles") == "You cannot remove your own administrator access."
    assert roles_of(admin_a, tenant_a) == {"admin"}
    assert audit_events("membership.updated") == []


def test_an_admin_cannot_disable_their_own_access(client, admin_a, tenant_a, login_as):
    login_as(admin_a)
    resp = edit(client, membership_of(admin_a, tenant_a), ["admin"], active=False)
    assert field_error(resp, "roles") == "You cannot remove your own administrator access."
    assert membership_of(admin_a, tenant_a).is_active is True
    assert client.get("/alpha/settings").status_code == 200


def test_a_member_needs_at_least_one_role(client, admin_a, assessor, tenant_a, login_as):
    login_as(admin_a)
    resp = edit(client, membership_of(assessor, tenant_a), [])
    assert field_error(resp, "roles") == "Choose at least one role."
    assert roles_of(assessor, tenant_a) == {"assessor"}


def test_another_bodys_membership_is_not_found(client, admin_a, admin_b, tenant_b, login_as):
    login_as(admin_a)
    theirs = membership_of(admin_b, tenant_b)
    assert client.get(f"/alpha/settings/users/{theirs.id}").status_code == 404
    resp = edit(client, theirs, ["assessor"])
    assert resp.status_code == 404
    assert roles_of(admin_b, tenant_b) == {"admin"}


def test_a_non_admin_may_not_change_memberships(client, assessor, admin_a, tenant_a, login_as):
    login_as(assessor)
    target = membership_of(admin_a, tenant_a)
    resp = edit(client, target, ["assessor"])
    assert resp.status_code == 403
    assert roles_of(admin_a, tenant_a) == {"admin"}


def test_a_member_disabled_while_signed_in_is_shut_out_at_once(
    client, assessor, tenant_a, login_as
):
    login_as(assessor)
    assert client.get("/alpha/").status_code == 200
    membership_of(assessor, tenant_a).is_active = False
    db.session.commit()
    resp = client.get("/alpha/")
    assert resp.status_code == 404
    assert "There is nothing here, or you do not have access." in text(resp)
