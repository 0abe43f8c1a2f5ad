"""The scope as it stood on a date, the accreditation status derived from the lines, and the
scope history on the accreditation page."""

from __future__ import annotations

from datetime import date

import pytest

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.scopes import services
from tests.factories import CAL_LINE, create_accreditation
from tests.scopes.helpers import (
    field_error,
    lines,
    load,
    page,
    scope_item_ids,
    scope_rows,
    words,
)

GRANT, SUSPEND, REINSTATE, REDUCE = (date(2024, 1, 10), date(2024, 6, 1), date(2024, 9, 1),
                                     date(2025, 2, 1))


@pytest.fixture
def story(tenant_a, cab):
    """Four lines granted on 2024-01-10; lines 1 and 2 suspended on 2024-06-01; line 1
    reinstated on 2024-09-01; line 3 removed (reduction) on 2025-02-01. Returns the
    accreditation id, the line ids and the status after each step."""
    acc_id = create_accreditation(
        tenant_a, cab, "17025-C",
        lines=[{**CAL_LINE, "quantity": f"Gauge set {n}"} for n in range(1, 5)]).id
    one, two, three, four = (i.id for i in lines(tenant_a, acc_id))
    statuses = []
    steps = [
        lambda acc: services.grant(acc, effective_on=GRANT),
        lambda acc: services.suspend(acc, item_ids=[one, two], effective_on=SUSPEND,
                                     reason="Reference standard overdue for calibration"),
        lambda acc: services.reinstate(acc, item_ids=[one], effective_on=REINSTATE),
        lambda acc: services.reduce(acc, item_ids=[three], effective_on=REDUCE),
    ]
    for step in steps:
        with tenant_scope(tenant_a):
            acc = load(tenant_a, acc_id)
            step(acc)
            commit()
            statuses.append(load(tenant_a, acc_id).status)
    return acc_id, (one, two, three, four), statuses


def test_the_status_follows_the_lines_through_suspension_reinstatement_and_reduction(story):
    _, _, statuses = story
    assert statuses == ["accredited", "partially_suspended", "partially_suspended",
                        "partially_suspended"]


def test_reinstating_the_last_suspended_line_makes_it_fully_accredited_again(tenant_a, story):
    acc_id, (_, two, _, _), _ = story
    with tenant_scope(tenant_a):
        services.reinstate(load(tenant_a, acc_id), item_ids=[two], effective_on=date(2025, 3, 1))
        commit()
        assert load(tenant_a, acc_id).status == "accredited"


@pytest.mark.parametrize(("on", "expected"), [
    (date(2024, 1, 9), ()),  # the day before the grant
    (GRANT, ("one", "two", "three", "four")),  # effective on the day itself
    (date(2024, 3, 1), ("one", "two", "three", "four")),
    (date(2024, 7, 1), ("three", "four")),
    (date(2024, 10, 1), ("one", "three", "four")),
    (date(2025, 3, 1), ("one", "four")),
])
def test_scope_as_of_gives_exactly_the_lines_accredited_that_day(tenant_a, story, on, expected):
    acc_id, ids, _ = story
    by_name = dict(zip(("one", "two", "three", "four"), ids, strict=True))
    with tenant_scope(tenant_a):
        items = services.scope_as_of(load(tenant_a, acc_id), on)
    assert [i.id for i in items] == [by_name[n] for n in expected]


def test_the_as_of_page_shows_the_lines_of_that_date_with_their_status_today(
    client, admin_a, login_as, story
):
    acc_id, (one, two, three, four), _ = story
    login_as(admin_a)
    resp = client.get(page(acc_id, "/as-of?on=2024-07-01"))
    assert resp.status_code == 200
    assert "Scope as it stood on 2024-07-01" in words(resp)
    assert "2 lines were accredited on that date." in words(resp)
    assert scope_item_ids(resp) == [three, four]
    assert [r[-1] for r in scope_rows(resp)] == ["removed (reduced)", "accredited"]

    later = client.get(page(acc_id, "/as-of?on=2025-03-01"))
    assert scope_item_ids(later) == [one, four]
    assert "Gauge set 1" in words(later) and "Gauge set 2" not in words(later)


@pytest.mark.parametrize("bad", ["2024-13-01", "yesterday", ""])
def test_an_invalid_as_of_date_is_a_form_error_not_a_crash(client, admin_a, login_as, story,
                                                            bad):
    acc_id, _, _ = story
    login_as(admin_a)
    resp = client.get(page(acc_id, f"/as-of?on={bad}"))
    assert resp.status_code == 400
    assert field_error(resp, "on") in ("Not a valid date value.", "Give a date (YYYY-MM-DD).")
    assert "accredited on that date" not in words(resp)


def test_the_as_of_page_without_a_date_asks_for_one(client, admin_a, login_as, story):
    acc_id, _, _ = story
    login_as(admin_a)
    resp = client.get(page(acc_id, "/as-of"))
    assert resp.status_code == 200
    assert "Scope on a past date" in words(resp) and field_error(resp, "on") == ""


def test_the_accreditation_page_shows_the_partial_suspension_and_the_history(
    client, admin_a, login_as, story
):
    acc_id, (one, two, three, four), _ = story
    login_as(admin_a)
    resp = client.get(page(acc_id))
    body = words(resp)
    assert "Accredited — partially suspended" in body
    assert "Partially suspended: 1 of the 3 lines in the scope are suspended" in body
    assert [r[-2] for r in scope_rows(resp)] == ["accredited", "suspended", "removed (reduced)",
                                                "accredited"]
    history = body[body.index("Scope history"):]
    # newest first: the reduction, the reinstatement, the two suspensions, four grants
    assert history.index("2025-02-01") < history.index("2024-09-01") \
        < history.index("2024-06-01") < history.index("2024-01-10")
    assert "accredited → suspended imposed — Reference standard overdue for calibration" \
        in history
    assert "Show all history" not in body  # 8 events, fewer than 50

    suspended_only = client.get(page(acc_id, "?status=suspended"))
    assert scope_item_ids(suspended_only) == [two]


def test_more_than_50_history_entries_link_to_the_full_history(
    client, tenant_a, admin_a, login_as, cab
):
    acc_id = create_accreditation(
        tenant_a, cab, "17025-C",
        lines=[{**CAL_LINE, "quantity": f"Gauge {n}"} for n in range(30)]).id
    ids = [i.id for i in lines(tenant_a, acc_id)]
    with tenant_scope(tenant_a):
        services.grant(load(tenant_a, acc_id), effective_on=GRANT)
        services.suspend(load(tenant_a, acc_id), item_ids=ids, effective_on=SUSPEND)
        commit()
    login_as(admin_a)
    show = client.get(page(acc_id))
    assert "Show all history" in words(show)
    assert words(show).count("accredited → suspended") == 30
    assert words(show).count("requested → accredited") == 20  # 50 newest of 60
    full = client.get(page(acc_id, "/history"))
    assert full.status_code == 200
    assert "Scope history (60)" in words(full)
    assert words(full).count("requested → accredited") == 30
