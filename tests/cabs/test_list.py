"""The CAB list: filters that narrow the rows, pagination, and a fixed number of queries."""

from __future__ import annotations

import pytest

from accreditor.core.permissions import Role
from tests.auth.helpers import table_row, words
from tests.cabs.helpers import granted, row_names
from tests.factories import create_accreditation, create_cab, create_cab_user, create_member


@pytest.fixture
def three_cabs(tenant_a, manager_a):
    """Acme (GB, managed by Mona, 17020 applicant), Beta (DE, trading as Betalab, 17025-C
    accredited) and Gamma (FR, 17025-C applicant and 17020 applicant)."""
    acme = create_cab(tenant_a, "Acme Inspection Ltd", manager_id=manager_a.id)
    beta = create_cab(tenant_a, "Beta Kalibrierung GmbH", country="DE",
                      trading_names=["Betalab", "Beta Kal", "Zürich Prüflabor"])
    gamma = create_cab(tenant_a, "Gamma Métrologie SA", country="FR")
    create_accreditation(tenant_a, acme, "17020", ib_type="A")
    granted(tenant_a, beta)
    create_accreditation(tenant_a, gamma, "17025-C")
    create_accreditation(tenant_a, gamma, "17020")
    return acme, beta, gamma


def test_the_list_shows_name_country_accreditations_and_manager(
    client, manager_a, three_cabs, login_as
):
    login_as(manager_a)
    resp = client.get("/alpha/cabs/")
    assert resp.status_code == 200
    assert "Conformity assessment bodies (3)" in words(resp)
    assert row_names(resp) == ["Acme Inspection Ltd", "Beta Kalibrierung GmbH",
                               "Gamma Métrologie SA"]
    acme = table_row(resp, "Acme Inspection Ltd")
    assert "GB" in acme and "17020" in acme and "applicant" in acme and "Mona Manager" in acme
    beta = table_row(resp, "Beta Kalibrierung GmbH")
    assert "DE" in beta and "17025-C" in beta and "accredited" in beta and "Betalab" in beta
    # the number reserved at the grant is shown with the programme
    assert any(ch.isdigit() for ch in beta.split("17025-C", 1)[1].split("accredited")[0])
    gamma = table_row(resp, "Gamma Métrologie SA")
    assert "17025-C" in gamma and "17020" in gamma and "none" in gamma  # no manager


@pytest.mark.parametrize(("query", "expected"), [
    ("programme=17025-C", ["Beta Kalibrierung GmbH", "Gamma Métrologie SA"]),
    ("programme=17020", ["Acme Inspection Ltd", "Gamma Métrologie SA"]),
    ("status=accredited", ["Beta Kalibrierung GmbH"]),
    ("status=applicant", ["Acme Inspection Ltd", "Gamma Métrologie SA"]),
    ("programme=17025-C&status=applicant", ["Gamma Métrologie SA"]),
    ("country=DE", ["Beta Kalibrierung GmbH"]),
    ("manager=none", ["Beta Kalibrierung GmbH", "Gamma Métrologie SA"]),
    ("q=betalab", ["Beta Kalibrierung GmbH"]),  # a trading name, any case
    ("q=ACME", ["Acme Inspection Ltd"]),
    ("q=métrologie", ["Gamma Métrologie SA"]),
    ("q=prüflabor", ["Beta Kalibrierung GmbH"]),  # non-ASCII inside the JSON list
    ("q=%25", []),  # a literal percent sign matches nothing, not everything
    ("country=FR&q=beta", []),
])
def test_each_filter_narrows_the_rows(client, manager_a, three_cabs, login_as, query, expected):
    login_as(manager_a)
    resp = client.get(f"/alpha/cabs/?{query}")
    assert resp.status_code == 200
    assert row_names(resp) == expected
    if not expected:
        assert "No CABs match these filters." in words(resp)


def test_the_manager_filter_lists_staff_and_narrows_to_their_cabs(
    client, tenant_a, manager_a, assessor_a, three_cabs, login_as
):
    cab_user = create_cab_user(tenant_a, three_cabs[0], "cabuser@acme.example.org",
                               name="Carl Cabuser")
    login_as(manager_a)
    resp = client.get("/alpha/cabs/")
    body = resp.get_data(as_text=True)
    manager_select = body.split('name="manager"', 1)[1].split("</select>", 1)[0]
    assert "Mona Manager" in manager_select and "Asa Assessor" in manager_select
    assert "Carl Cabuser" not in manager_select and cab_user.email not in body

    resp = client.get(f"/alpha/cabs/?manager={manager_a.id}")
    assert row_names(resp) == ["Acme Inspection Ltd"]
    assert f'<option selected value="{manager_a.id}">' in resp.get_data(as_text=True)


def test_an_unknown_filter_value_is_ignored_with_a_message(client, manager_a, three_cabs,
                                                           login_as):
    login_as(manager_a)
    resp = client.get("/alpha/cabs/?status=bogus&country=DE")
    assert resp.status_code == 200
    assert row_names(resp) == ["Beta Kalibrierung GmbH"]
    assert "Not a valid choice" in words(resp)


def test_the_list_pages_by_50_and_keeps_the_filters_in_the_links(
    client, tenant_a, manager_a, login_as
):
    for i in range(53):
        create_cab(tenant_a, f"Lab {i:02d} Ltd", country="NL", locations=())
    create_cab(tenant_a, "Elsewhere Ltd", country="BE", locations=())
    login_as(manager_a)

    first = client.get("/alpha/cabs/?country=NL")
    assert "Conformity assessment bodies (53)" in words(first)
    assert len(row_names(first)) == 50 and row_names(first)[0] == "Lab 00 Ltd"
    assert "Page 1 of 2" in words(first)
    body = first.get_data(as_text=True)
    assert 'href="/alpha/cabs/?page=2&amp;country=NL"' in body

    second = client.get("/alpha/cabs/?page=2&country=NL")
    assert row_names(second) == ["Lab 50 Ltd", "Lab 51 Ltd", "Lab 52 Ltd"]
    assert "Page 2 of 2" in words(second)
    # the filter form shows the filter in use (a GET form: the address is shareable)
    assert '<option selected value="NL">' in second.get_data(as_text=True)

    beyond = client.get("/alpha/cabs/?page=99&country=NL")
    assert row_names(beyond) == row_names(second)


def _add_cabs(tenant, manager, start: int, n: int) -> None:
    for i in range(start, start + n):
        cab = create_cab(tenant, f"Counted {i:03d} Ltd", locations=(),
                         manager_id=manager.id if i % 2 else None)
        create_accreditation(tenant, cab, "17025-C")
        if i % 3 == 0:
            create_accreditation(tenant, cab, "17020")


def test_the_list_runs_the_same_number_of_queries_for_5_and_50_cabs(
    client, tenant_a, manager_a, login_as, count_queries
):
    login_as(manager_a)

    def measure(path: str) -> int:
        client.get(path)  # warm up
        with count_queries() as q:
            resp = client.get(path)
        assert resp.status_code == 200
        return q.count, resp

    _add_cabs(tenant_a, manager_a, 0, 5)
    small, resp = measure("/alpha/cabs/")
    assert len(row_names(resp)) == 5
    small_filtered, _ = measure("/alpha/cabs/?programme=17025-C&q=counted")
    _add_cabs(tenant_a, manager_a, 5, 45)
    large, resp = measure("/alpha/cabs/")
    assert len(row_names(resp)) == 50
    large_filtered, _ = measure("/alpha/cabs/?programme=17025-C&q=counted")
    print(f"QUERYCOUNT /alpha/cabs/ {small} {large} (filtered {small_filtered} "
          f"{large_filtered})")
    assert small == large
    assert small_filtered == large_filtered
    # user, tenant, membership (+ roles), then staff, programmes, countries, count, page
    # (with managers joined), the page's accreditations
    assert large <= 10


def test_every_staff_role_reads_the_list_but_only_admins_and_managers_see_add(
    client, tenant_a, admin_a, manager_a, assessor_a, decider_a, login_as
):
    for user, can_add in ((admin_a, True), (manager_a, True), (assessor_a, False),
                          (decider_a, False)):
        login_as(user)
        resp = client.get("/alpha/cabs/")
        assert resp.status_code == 200
        assert ("Add a CAB" in words(resp)) is can_add


def test_a_cab_user_cannot_see_the_staff_list(client, tenant_a, acme, login_as):
    cab_user = create_cab_user(tenant_a, acme, "cabuser@acme.example.org")
    login_as(cab_user)
    assert client.get("/alpha/cabs/").status_code == 403
    assert client.get(f"/alpha/cabs/{acme.id}").status_code == 403
    assert client.get(f"/alpha/cabs/{acme.id}/history").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, tenant_a):
    resp = client.get("/alpha/cabs/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_another_tenants_cabs_never_appear(client, tenant_a, tenant_b, manager_a, login_as):
    create_cab(tenant_a, "Ours Ltd")
    create_cab(tenant_b, "Theirs Ltd")
    create_member(tenant_b, "someone@bravo.example.org", [Role.manager], name="Bravo Person")
    login_as(manager_a)
    resp = client.get("/alpha/cabs/")
    assert row_names(resp) == ["Ours Ltd"]
    assert "Theirs Ltd" not in resp.get_data(as_text=True)
    assert "Bravo Person" not in resp.get_data(as_text=True)
    assert row_names(client.get("/alpha/cabs/?q=theirs")) == []
