"""Who may read and change accreditations and scope lines, and what stays fixed after the grant."""

from __future__ import annotations

from datetime import date

import pytest

from accreditor.core.db import commit
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.scopes import services
from tests.factories import CAL_LINE, create_accreditation, create_cab, create_cab_user
from tests.scopes.helpers import (
    field_error,
    flashes,
    form_error,
    line_count,
    lines,
    load,
    page,
    words,
)

READ_PAGES = ["", "/history", "/as-of", "/as-of?on=2024-07-01", "/export.csv", "/template.csv"]
EDIT_PAGES = ["/edit", "/lines/new", "/import"]  # GET and POST


def all_urls(acc_id: int, item_id: int) -> list[tuple[str, str]]:
    urls = [("GET", page(acc_id, p)) for p in READ_PAGES]
    urls += [(m, page(acc_id, p)) for p in EDIT_PAGES for m in ("GET", "POST")]
    urls += [("GET", page(acc_id, f"/lines/{item_id}/edit")),
             ("POST", page(acc_id, f"/lines/{item_id}/edit")),
             ("POST", page(acc_id, f"/lines/{item_id}/delete"))]
    return urls


@pytest.fixture
def line_id(tenant_a, cal_acc) -> int:
    return lines(tenant_a, cal_acc.id)[0].id


@pytest.mark.parametrize("role", [Role.assessor, Role.decision_maker])
def test_assessors_and_decision_makers_read_but_cannot_edit(
    client, tenant_a, make_user, login_as, cal_acc, line_id, role
):
    login_as(make_user(tenant_a, "reader@alpha.example.org", [role]))
    for path in READ_PAGES:
        assert client.get(page(cal_acc.id, path)).status_code == 200, path
    show = client.get(page(cal_acc.id)).get_data(as_text=True)
    assert "Edit details" not in show and "/lines/new" not in show and "Remove" not in show
    for method, url in all_urls(cal_acc.id, line_id)[len(READ_PAGES):]:
        resp = client.open(url, method=method, data={**CAL_LINE, "cmc": "9"})
        assert resp.status_code == 403, (method, url)
        assert "Your role does not allow this action." in words(resp)
    assert lines(tenant_a, cal_acc.id)[0].fields["cmc"] == "0.025"
    assert line_count(tenant_a, cal_acc.id) == 1


def test_a_manager_edits(client, tenant_a, manager_a, login_as, cal_acc, line_id):
    login_as(manager_a)
    for path in EDIT_PAGES + [f"/lines/{line_id}/edit"]:
        assert client.get(page(cal_acc.id, path)).status_code == 200, path
    resp = client.post(page(cal_acc.id, f"/lines/{line_id}/edit"), data={**CAL_LINE, "cmc": "9"})
    assert resp.status_code == 302
    assert lines(tenant_a, cal_acc.id)[0].fields["cmc"] == "9"


def test_a_cab_user_is_forbidden_from_the_staff_pages_even_for_their_own_cab(
    client, tenant_a, login_as, cab, cal_acc, line_id
):
    login_as(create_cab_user(tenant_a, cab, "quality@precision.example.org"))
    for method, url in all_urls(cal_acc.id, line_id):
        resp = client.open(url, method=method, data=CAL_LINE)
        assert resp.status_code == 403, (method, url)
        assert "Pressure gauges" not in resp.get_data(as_text=True)
    assert line_count(tenant_a, cal_acc.id) == 1


def test_another_bodys_accreditation_is_not_found(client, tenant_b, admin_a, login_as,
                                                  make_user):
    b_cab = create_cab(tenant_b, "Bravo Metrology Ltd")
    b_acc = create_accreditation(tenant_b, b_cab, "17025-C", lines=[CAL_LINE]).id
    b_line = lines(tenant_b, b_acc)[0].id
    login_as(admin_a)
    for method, url in all_urls(b_acc, b_line):
        resp = client.open(url, method=method, data=CAL_LINE)
        assert resp.status_code == 404, (method, url)
        assert "Bravo Metrology" not in resp.get_data(as_text=True)
        # Under the other body's address the user, not a member there, gets 404 as well.
        resp = client.open(url.replace("/alpha/", "/bravo/"), method=method, data=CAL_LINE)
        assert resp.status_code == 404, (method, url)
    assert line_count(tenant_b, b_acc) == 1
    assert lines(tenant_b, b_acc)[0].fields["cmc"] == "0.025"


def test_a_line_of_another_accreditation_in_the_url_is_not_found(
    client, tenant_a, admin_a, login_as, cab, cal_acc, line_id
):
    other_acc = create_accreditation(tenant_a, create_cab(tenant_a, "Other Lab Ltd"), "17025-C",
                                     lines=[CAL_LINE]).id
    login_as(admin_a)
    assert client.get(page(other_acc, f"/lines/{line_id}/edit")).status_code == 404
    assert client.post(page(other_acc, f"/lines/{line_id}/edit"),
                       data={**CAL_LINE, "cmc": "9"}).status_code == 404
    assert client.post(page(other_acc, f"/lines/{line_id}/delete")).status_code == 404
    assert client.get(page(cal_acc.id, "/lines/999999/edit")).status_code == 404
    assert line_count(tenant_a, cal_acc.id) == 1
    assert lines(tenant_a, cal_acc.id)[0].fields["cmc"] == "0.025"


def test_the_service_refuses_a_line_of_another_accreditation(tenant_a, cab, cal_acc, line_id):
    from accreditor.core.errors import NotFound

    other_acc = create_accreditation(tenant_a, create_cab(tenant_a, "Other Lab Ltd"),
                                     "17025-C").id
    item = lines(tenant_a, cal_acc.id)[0]
    with tenant_scope(tenant_a), pytest.raises(NotFound):
        services.update_scope_item(item, load(tenant_a, other_acc), CAL_LINE)


def test_anonymous_visitors_are_sent_to_sign_in(client, cal_acc):
    resp = client.get(page(cal_acc.id))
    assert resp.status_code == 302 and resp.location.startswith("/login?next=")


# -- after the grant ----------------------------------------------------------------------------


@pytest.fixture
def granted(tenant_a, cal_acc, line_id):
    with tenant_scope(tenant_a):
        services.grant(load(tenant_a, cal_acc.id), effective_on=date(2024, 1, 10))
        commit()
    return cal_acc.id


def test_a_granted_line_cannot_be_edited_and_the_page_says_why(
    client, tenant_a, admin_a, login_as, granted, line_id
):
    login_as(admin_a)
    show = client.get(page(granted)).get_data(as_text=True)
    assert f"/lines/{line_id}/edit" not in show and "Add a line" not in show
    form = client.get(page(granted, f"/lines/{line_id}/edit"))
    assert ("This line is accredited; lines change after the grant only through a decision."
            in words(form))
    assert "Save line" not in words(form)

    resp = client.post(page(granted, f"/lines/{line_id}/edit"), data={**CAL_LINE, "cmc": "9"})
    assert resp.status_code == 409
    assert form_error(resp) == \
        "This line is accredited; lines change after the grant only through a decision."
    assert field_error(resp, "cmc") == ""
    assert lines(tenant_a, granted)[0].fields["cmc"] == "0.025"


def test_a_granted_line_cannot_be_removed(client, tenant_a, admin_a, login_as, granted, line_id):
    login_as(admin_a)
    resp = client.post(page(granted, f"/lines/{line_id}/delete"))
    assert resp.status_code == 302
    assert flashes(client.get(resp.location)) == [
        "This line is accredited; lines change after the grant only through a decision."]
    assert [i.status for i in lines(tenant_a, granted)] == ["accredited"]


def test_no_line_is_added_outside_an_application_after_the_grant(
    client, tenant_a, admin_a, login_as, granted
):
    login_as(admin_a)
    assert "Lines are added before the grant" in words(client.get(page(granted, "/lines/new")))
    resp = client.post(page(granted, "/lines/new"), data={**CAL_LINE, "quantity": "New gauges"})
    assert resp.status_code == 409
    assert form_error(resp) == ("Lines are added before the grant; after it, an extension goes "
                                "through an application.")
    assert line_count(tenant_a, granted) == 1


def test_an_extension_application_still_adds_requested_lines_after_the_grant(tenant_a, granted):
    from accreditor.applications import services as applications
    from accreditor.applications.models import ApplicationType

    with tenant_scope(tenant_a):
        acc = load(tenant_a, granted)
        app = applications.start_application(acc.cab, type=ApplicationType.extension,
                                             programme=acc.programme, accreditation=acc,
                                             summary="More gauges")
        item = services.add_scope_item(acc, {**CAL_LINE, "quantity": "More gauges"},
                                       application_id=app.id)
        commit()
    assert item.status == "applied"
    assert line_count(tenant_a, granted) == 2
