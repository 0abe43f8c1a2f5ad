"""The tenant's audit log page: its own events only, filters, keyset paging, bounded SQL."""

from __future__ import annotations

import re

import pytest

from accreditor.core import audit
from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from tests.auth.helpers import text

ALICE = audit.Actor(None, "admin@alpha.example.org")
BOB = audit.Actor(None, "bob@alpha.example.org")


def record(tenant, n: int, action: str = "test.event", actor: audit.Actor = ALICE) -> None:
    with tenant_scope(tenant):
        for i in range(n):
            audit.record(action, object_type="Thing", object_id=i, actor=actor,
                         changes={"n": [None, i]})
        commit()


def actions_shown(resp) -> list[str]:
    return re.findall(r"<td><code>([^<]+)</code></td>", resp.get_data(as_text=True))


def seqs_shown(resp) -> list[int]:
    return [int(s) for s in re.findall(r"<tr>\s*<td>(\d+)</td>", resp.get_data(as_text=True))]


def actors_shown(resp) -> list[str]:
    return re.findall(r"</time></td>\s*<td>([^<]*)</td>", resp.get_data(as_text=True))


def older_link(resp) -> str | None:
    m = re.search(r'<a class="page-link" href="([^"]+)">Older</a>', resp.get_data(as_text=True))
    return m.group(1).replace("&amp;", "&") if m else None


@pytest.fixture
def admin(client, admin_a, login_as):
    login_as(admin_a)
    return admin_a


def test_the_log_shows_this_tenants_events_and_never_another_tenants(
    client, admin, tenant_a, tenant_b
):
    record(tenant_a, 2, "alpha.something_done")
    record(tenant_b, 3, "bravo.secret_done", audit.Actor(None, "admin@bravo.example.org"))
    resp = client.get("/alpha/audit")
    assert resp.status_code == 200
    shown = actions_shown(resp)
    assert shown == ["alpha.something_done", "alpha.something_done", "tenant.created"]
    page = text(resp)
    assert "bravo" not in page.lower()
    assert "auth.login" not in shown  # platform events are not part of a tenant's log
    assert "n: None → 1" in page


def test_the_log_filters_by_action_prefix(client, admin, tenant_a):
    record(tenant_a, 2, "membership.updated")
    record(tenant_a, 1, "tenant.policy_updated")
    by_prefix = client.get("/alpha/audit?action=membership.")
    assert actions_shown(by_prefix) == ["membership.updated", "membership.updated"]
    exact = client.get("/alpha/audit?action=tenant.policy_updated")
    assert actions_shown(exact) == ["tenant.policy_updated"]
    nothing = client.get("/alpha/audit?action=nothing.like.this")
    assert actions_shown(nothing) == []
    assert "No events match." in text(nothing)


def test_the_log_filters_by_actor_email_in_any_case(client, admin, tenant_a):
    record(tenant_a, 2, "by.alice", ALICE)
    record(tenant_a, 3, "by.bob", BOB)
    resp = client.get("/alpha/audit?actor=Bob@Alpha.example.org")
    assert actions_shown(resp) == ["by.bob"] * 3
    assert actors_shown(resp) == ["bob@alpha.example.org"] * 3


def test_a_malformed_date_filter_is_explained_and_filters_nothing(client, admin, tenant_a):
    record(tenant_a, 1, "some.event")
    resp = client.get("/alpha/audit?since=yesterday")
    assert resp.status_code == 200
    assert "Not a valid date value." in text(resp)
    assert actions_shown(resp) == ["some.event", "tenant.created"]


def test_the_log_filters_by_date(client, admin, tenant_a):
    record(tenant_a, 1, "today.event")
    assert "today.event" in actions_shown(client.get("/alpha/audit?since=2000-01-01"))
    assert actions_shown(client.get("/alpha/audit?until=2000-01-01")) == []


def test_older_events_are_reached_page_by_page(app, client, admin, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_PAGE_SIZE", 3)
    record(tenant_a, 7)  # with tenant.created: seq 1..8
    resp = client.get("/alpha/audit")
    pages = [seqs_shown(resp)]
    while (link := older_link(resp)) is not None:
        resp = client.get(link)
        assert "Newest" in text(resp)
        pages.append(seqs_shown(resp))
    assert pages == [[8, 7, 6], [5, 4, 3], [2, 1]]


def test_paging_keeps_the_filter(app, client, admin, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_PAGE_SIZE", 2)
    record(tenant_a, 3, "kept.event")
    record(tenant_a, 3, "other.event")
    first = client.get("/alpha/audit?action=kept.")
    link = older_link(first)
    assert "action=kept." in link
    second = client.get(link)
    assert actions_shown(first) == ["kept.event", "kept.event"]
    assert actions_shown(second) == ["kept.event"]
    assert older_link(second) is None


def test_the_log_page_issues_the_same_number_of_queries_for_few_and_many_events(
    client, admin, tenant_a, count_queries
):
    record(tenant_a, 4)
    client.get("/alpha/audit")  # warm up
    with count_queries() as few:
        client.get("/alpha/audit")
    record(tenant_a, 40)
    with count_queries() as many:
        resp = client.get("/alpha/audit")
    assert len(seqs_shown(resp)) == 45
    assert many.count == few.count, "\n".join(many.statements)
