"""``/api/v1/<tenant>/verify/<number>?on=``: the answer from scope history, and bad dates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import published_lab
from tests.directory.conftest import GRANTED, TODAY, accredited, item_ids, suspend


def test_the_answer_follows_the_scope_history(api, tenant_a):
    acc = accredited(tenant_a)  # 3 lines, granted GRANTED
    suspend(tenant_a, acc.id, item_ids(tenant_a, acc.id)[:1], on=TODAY - timedelta(days=30))
    url = f"/api/v1/alpha/verify/{acc.number}"
    today = api(url).get_json()
    assert today["on"] == TODAY.isoformat() and today["accredited"] is True
    assert today["status"] == "partially_suspended"
    assert [line["position"] for line in today["scope"]] == [2, 3]
    assert {line["status"] for line in today["scope"]} == {"accredited"}
    assert today["scope"][0]["fields"]["quantity"] == "Pressure gauges type 2"
    assert today["cab_name"] == "Precision Metrology Ltd" and today["tenant"] == "alpha"
    assert today["url"] == f"http://localhost/alpha/directory/{acc.number}"
    before = api(url, query_string={"on": (TODAY - timedelta(days=60)).isoformat()}).get_json()
    assert [line["position"] for line in before["scope"]] == [1, 2, 3]
    assert before["status"] == "accredited"
    never = api(url, query_string={"on": (GRANTED - timedelta(days=1)).isoformat()}).get_json()
    assert never["accredited"] is False and never["scope"] == [] and never["status"] is None


@pytest.mark.parametrize("on", ["31/12/2025", "2025-02-30", "2025-W01-1", "20250101",
                                "yesterday", "2025-01-01' OR '1'='1", "x" * 5000])
def test_an_invalid_date_is_a_400_naming_on(api, tenant_a, on):
    acc = accredited(tenant_a)
    error = api(f"/api/v1/alpha/verify/{acc.number}", 400,
                query_string={"on": on}).get_json()["error"]
    assert error["code"] == "invalid_parameter"
    assert "YYYY-MM-DD" in error["details"]["on"]


def test_a_future_date_is_a_400(api, tenant_a):
    acc = accredited(tenant_a)
    error = api(f"/api/v1/alpha/verify/{acc.number}", 400,
                query_string={"on": (TODAY + timedelta(days=1)).isoformat()}).get_json()["error"]
    assert error["details"]["on"] == "Only a date up to today can be verified."


@pytest.mark.parametrize("number", ["9999", "x" * 5000, "' OR 1=1 --", '"*() OR NEAR:', "%25"])
def test_unknown_numbers_are_a_clean_404(api, tenant_a, number):
    accredited(tenant_a)
    assert api(f"/api/v1/alpha/verify/{number}", 404).get_json()["error"]["code"] == \
        "not_found"


def test_an_unpublished_accreditation_is_not_found(api, tenant_a):
    acc = accredited(tenant_a, legal_name="Never Published Ltd", publish=False)
    resp = api(f"/api/v1/alpha/verify/{acc.number}", 404)
    assert "Never Published" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("on", ["20250101", "2025-W01-1", "2025-001"])
def test_the_page_and_the_api_read_dates_alike(api, client, tenant_a, on):
    """One parser: forms ``date.fromisoformat`` also takes are refused by the page too, with
    the message beside the field."""
    acc = accredited(tenant_a)
    page = client.get("/verify/", query_string={"number": acc.number, "on": on})
    assert page.status_code == 400
    assert "Give the date as YYYY-MM-DD" in page.get_data(as_text=True)
    api(f"/api/v1/alpha/verify/{acc.number}", 400, query_string={"on": on})


def test_a_number_with_a_slash_is_served_by_the_api_and_the_page(api, client, tenant_a):
    """ENAC-style numbers ("3424/LC4325") hold a slash: the entry page, the API entry and the
    API verification all answer for them."""
    published_lab(tenant_a, 2, number="3424/LC4325")
    body = api(f"/api/v1/{tenant_a.slug}/accreditations/3424/LC4325").get_json()
    assert body["accreditation_number"] == "3424/LC4325"
    answer = api(f"/api/v1/{tenant_a.slug}/verify/3424/LC4325").get_json()
    assert answer["accredited"] is True and len(answer["scope"]) == 2
    page = client.get(f"/{tenant_a.slug}/directory/3424/LC4325")
    assert page.status_code == 200 and "3424/LC4325" in page.get_data(as_text=True)
    assert client.get(f"/{tenant_a.slug}/directory/3424/LC4326").status_code == 404
