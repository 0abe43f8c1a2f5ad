"""``/api/v1/accreditations`` (search) and ``/api/v1/<tenant>/accreditations/<number>`` (one
entry): what the public reads, what it never reads, and refusals. Every answer is validated
against the OpenAPI document (the ``api`` fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import ScheduleVersion
from accreditor.extensions import db
from tests.api.conftest import published_lab
from tests.directory.conftest import (
    GRANTED,
    TODAY,
    accredited,
    item_ids,
    months_ago,
    suspend,
    withdraw,
)

LIST = "/api/v1/accreditations"


def numbers(resp) -> list[str]:
    return [item["accreditation_number"] for item in resp.get_json()["items"]]


# -- search -----------------------------------------------------------------------------------------


def test_the_search_lists_every_abs_published_accreditations(api, tenant_a, tenant_b):
    ours = accredited(tenant_a, legal_name="Alpha Metrology Ltd")
    theirs = published_lab(tenant_b, 2, number="B-77.01", legal_name="Bravo Lab Ltd")
    accredited(tenant_a, legal_name="Unpublished Ltd", publish=False)
    body = api(LIST).get_json()
    assert body["total"] == 2 and body["page"] == 1 and body["per_page"] == 20
    by_name = {item["cab_name"]: item for item in body["items"]}
    assert set(by_name) == {"Alpha Metrology Ltd", "Bravo Lab Ltd"}
    alpha = by_name["Alpha Metrology Ltd"]
    assert alpha == {
        "tenant": "alpha", "tenant_name": "Alpha Accreditation Service",
        "accreditation_number": ours.number, "cab_name": "Alpha Metrology Ltd",
        "trading_names": ["PML Calibration"], "programme": "calibration",
        "programme_code": "17025-C", "standard": alpha["standard"], "edition": "2017",
        "status": "accredited", "country": "GB",
        "url": f"http://localhost/alpha/directory/{ours.number}"}
    assert "17025" in alpha["standard"]
    assert by_name["Bravo Lab Ltd"]["url"] == "http://localhost/bravo/directory/B-77.01"
    assert numbers(api(LIST, query_string={"tenant": "bravo"})) == [theirs.number]
    assert numbers(api(LIST, query_string={"q": "bravo"})) == ["B-77.01"]
    assert api(LIST, query_string={"programme": "ms_certification"}).get_json()["total"] == 0
    assert api(LIST, query_string={"programme": "calibration", "country": "gb"}
               ).get_json()["total"] == 2
    assert api(LIST, query_string={"status": "suspended"}).get_json()["items"] == []


def test_pages_of_results(api, tenant_a):
    for i in range(3):
        published_lab(tenant_a, 1, number=f"P-{i}", legal_name=f"Paged Lab {i}")
    first = api(LIST, query_string={"per_page": 2}).get_json()
    assert first["total"] == 3 and first["pages"] == 2 and len(first["items"]) == 2
    second = api(LIST, query_string={"per_page": 2, "page": 2}).get_json()
    assert len(second["items"]) == 1
    assert {i["accreditation_number"] for i in first["items"] + second["items"]} == {
        "P-0", "P-1", "P-2"}
    assert api(LIST, query_string={"page": 50}).get_json()["items"] == []


@pytest.mark.parametrize("q", [
    "x" * 5000,
    '" * ( ) OR NEAR :',
    'pressure" OR "1"="1',
    "NEAR(a b) * :",
    "'; DROP TABLE directory_entries; --",
    "' OR 1=1 --",
    "%_\\",
    "a\x00b",
])
def test_odd_queries_are_answered_never_a_500(api, tenant_a, q):
    published_lab(tenant_a, 1, number="Q-1")
    body = api(LIST, query_string={"q": q}).get_json()
    assert body["total"] == len(body["items"])


def test_per_page_is_clamped_to_100(api, tenant_a, monkeypatch):
    """More entries than the cap (lowered to 3 here: 101 entries would be slow to publish), so
    the clamp shows in the items returned, not only in the number echoed."""
    from accreditor.directory import search

    assert search.MAX_PER_PAGE == 100
    monkeypatch.setattr(search, "MAX_PER_PAGE", 3)
    for i in range(5):
        published_lab(tenant_a, 1, number=f"P-{i}")
    body = api(LIST, query_string={"per_page": 100000}).get_json()
    assert body["per_page"] == 3 and len(body["items"]) == 3
    assert body["total"] == 5 and body["pages"] == 2
    one = api(LIST, query_string={"per_page": 0}).get_json()
    assert one["per_page"] == 1 and len(one["items"]) == 1


def test_a_broad_search_says_its_total_is_a_lower_bound(api, tenant_a, monkeypatch):
    """Past the counting cap (lowered to 3 here) the list says ``total_exact: false``."""
    from accreditor.directory import search

    monkeypatch.setattr(search, "COUNT_CAP", 3)
    for i in range(5):
        published_lab(tenant_a, 1, number=f"B-{i}", legal_name=f"Broad Lab {i}")
    body = api(LIST, query_string={"q": "broad"}).get_json()
    assert body["total_exact"] is False and body["total"] == 3
    narrow = api(LIST, query_string={"q": "B-1"}).get_json()
    assert narrow["total_exact"] is True and narrow["total"] == 1


@pytest.mark.parametrize("params, bad", [
    ({"page": -1}, "page"),
    ({"page": 0}, "page"),
    ({"page": "two"}, "page"),
    ({"per_page": "many"}, "per_page"),
    ({"programme": "astrology"}, "programme"),
    ({"status": "great"}, "status"),
    ({"country": "GBR"}, "country"),
    ({"sort": "random"}, "sort"),
])
def test_bad_parameters_are_a_400_naming_them(api, params, bad):
    error = api(LIST, 400, query_string=params).get_json()["error"]
    assert error["code"] == "invalid_parameter"
    assert bad in error["details"] and error["details"][bad]
    assert bad in error["message"]


def test_several_bad_parameters_are_named_together(api):
    error = api(LIST, 400, query_string={"page": -1, "programme": "x"}).get_json()["error"]
    assert set(error["details"]) == {"page", "programme"}


def test_an_inactive_ab_is_not_listed(api, tenant_a, tenant_b):
    published_lab(tenant_a, 1, number="A-1")
    published_lab(tenant_b, 1, number="B-1")
    tenant_b.is_active = False
    db.session.add(tenant_b)
    commit()
    assert numbers(api(LIST)) == ["A-1"]
    api("/api/v1/bravo/accreditations/B-1", 404)


# -- one accreditation ----------------------------------------------------------------------------


def test_an_entry_with_its_scope_history_and_schedule(api, tenant_a):
    acc = accredited(tenant_a)  # 3 lines
    ids = item_ids(tenant_a, acc.id)
    suspend(tenant_a, acc.id, ids[:1])
    resp = api(f"/api/v1/alpha/accreditations/{acc.number}")
    body = resp.get_json()
    assert body["accreditation_number"] == acc.number and body["tenant"] == "alpha"
    assert body["cab_name"] == "Precision Metrology Ltd"
    assert body["trading_names"] == ["PML Calibration"]
    assert [loc["name"] for loc in body["locations"]] == ["Head office", "Annex"]
    assert [c["name"] for c in body["contacts"]] == ["Pat Public"]  # not the internal one
    assert body["status"] == "partially_suspended" and body["partially_suspended"] is True
    assert body["sanction_type"] == "imposed"
    assert (body["lines_total"], body["lines_suspended"]) == (3, 1)
    assert body["initial_grant_on"] == GRANTED.isoformat()
    assert body["status_since"] == TODAY.isoformat()
    assert [(line["position"], line["status"]) for line in body["scope"]] == [
        (1, "suspended"), (2, "accredited"), (3, "accredited")]
    assert body["scope"][1]["fields"]["quantity"] == "Pressure gauges type 2"
    assert body["scope"][1]["summary"]
    assert [(e["from_status"], e["to_status"], e["sanction_type"]) for e in body["history"]] == [
        (None, "accredited", None), ("accredited", "partially_suspended", "imposed")]
    assert body["schedule"]["issue_number"] == 2
    assert body["schedule"]["issue_date"] == TODAY.isoformat()
    assert body["schedule"]["pdf_url"] is None  # not rendered (yet)
    assert body["url"] == f"http://localhost/alpha/directory/{acc.number}"
    assert body["verify_url"] == f"http://localhost/api/v1/alpha/verify/{acc.number}"
    text = resp.get_data(as_text=True)
    for secret in ("SECRET-RATIONALE", "Ivy Internal", "ivy@pml.example.org"):
        assert secret not in text


def test_the_schedule_pdf_url_once_rendered(api, client, tenant_a):
    from accreditor.certificates import services as certificates

    acc = accredited(tenant_a)
    with tenant_scope(tenant_a):
        version = db.session.execute(select(ScheduleVersion).where(
            ScheduleVersion.accreditation_id == acc.id)).scalar_one()
        certificates.issue_documents(version)
        certificates.render_version(version.id)
        commit()
    schedule = api(f"/api/v1/alpha/accreditations/{acc.number}").get_json()["schedule"]
    assert schedule["pdf_url"] == f"http://localhost/alpha/directory/{acc.number}/schedule.pdf"
    assert schedule["certificate_pdf_url"].endswith("/certificate.pdf")
    pdf = client.get(schedule["pdf_url"].removeprefix("http://localhost"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_another_abs_number_under_this_slug_is_not_found(api, tenant_a, tenant_b):
    theirs = published_lab(tenant_b, 2, number="B-77.01", legal_name="Bravo Lab Ltd")
    resp = api(f"/api/v1/alpha/accreditations/{theirs.number}", 404)
    assert resp.get_json()["error"]["code"] == "not_found"
    assert "Bravo" not in resp.get_data(as_text=True)
    api(f"/api/v1/alpha/verify/{theirs.number}", 404)
    assert api(f"/api/v1/bravo/accreditations/{theirs.number}").get_json()["cab_name"] == \
        "Bravo Lab Ltd"


@pytest.mark.parametrize("url", [
    "/api/v1/alpha/accreditations/no-such-number",
    "/api/v1/nobody/accreditations/0001.01",
    "/api/v1/alpha/accreditations/" + "x" * 5000,
    "/api/v1/alpha/accreditations/' OR 1=1 --",
    "/api/v1/alpha/accreditations/%00",
])
def test_unknown_is_a_json_404(api, tenant_a, url):
    assert api(url, 404).get_json()["error"]["code"] == "not_found"


def test_an_inactive_abs_entry_is_not_found(api, tenant_a):
    acc = published_lab(tenant_a, 2, number="A-2")
    api(f"/api/v1/alpha/accreditations/{acc.number}")
    tenant_a.is_active = False
    db.session.add(tenant_a)
    commit()
    api(f"/api/v1/alpha/accreditations/{acc.number}", 404)
    api(f"/api/v1/alpha/verify/{acc.number}", 404)


def test_withdrawn_13_months_ago_is_gone_but_still_verifiable(api, tenant_a):
    acc = accredited(tenant_a, granted_on=months_ago(40))
    withdraw(tenant_a, acc.id, months_ago(13))
    assert api(LIST).get_json()["total"] == 0
    assert api(LIST, query_string={"status": "withdrawn"}).get_json()["total"] == 0
    api(f"/api/v1/alpha/accreditations/{acc.number}", 404)
    then = api(f"/api/v1/alpha/verify/{acc.number}",
               query_string={"on": months_ago(14).isoformat()}).get_json()
    assert then["accredited"] is True and len(then["scope"]) == 3
    assert then["status"] == "accredited" and then["url"] is None
    now = api(f"/api/v1/alpha/verify/{acc.number}").get_json()
    assert now["accredited"] is False and now["status"] == "withdrawn" and now["scope"] == []


def test_withdrawn_last_month_is_still_listed_marked(api, tenant_a):
    acc = accredited(tenant_a, granted_on=months_ago(40))
    withdraw(tenant_a, acc.id, months_ago(1))
    item = api(LIST).get_json()["items"][0]
    assert item["status"] == "withdrawn"
    body = api(f"/api/v1/alpha/accreditations/{acc.number}").get_json()
    assert body["status"] == "withdrawn" and body["ended_on"] == months_ago(1).isoformat()
    assert body["visible_until"] is not None
    assert {line["status"] for line in body["scope"]} == {"withdrawn"}


def test_unknown_api_addresses_and_methods_answer_in_the_error_shape(api):
    assert api("/api/v1/nothing-here", 404).get_json()["error"]["code"] == "not_found"
    assert api("/api/v2/accreditations", 404).get_json()["error"]["code"] == "not_found"
    resp = api(LIST, 405, method="POST")
    assert resp.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in resp.headers["Allow"]
    api("/api/v1/alpha/verify/1", 405, method="DELETE")
