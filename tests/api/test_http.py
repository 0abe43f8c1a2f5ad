"""Caching (ETag/Last-Modified, 304, Cache-Control), CORS, rate limiting and the number of SQL
statements per request of the public API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import published_lab
from tests.directory.conftest import (
    TODAY,
    accredited,
    item_ids,
    months_ago,
    suspend,
    withdraw,
)

LIST = "/api/v1/accreditations"


# -- revalidation ---------------------------------------------------------------------------------


def test_an_entry_revalidates_by_etag_without_reading_its_lines(api, tenant_a, count_queries):
    acc = published_lab(tenant_a, 300, number="E-300")
    url = f"/api/v1/alpha/accreditations/{acc.number}"
    first = api(url)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    with count_queries() as full:
        api(url)
    with count_queries() as q:
        again = api(url, 304, headers={"If-None-Match": etag})
    assert again.headers["ETag"] == etag and again.data == b""
    assert q.count < full.count  # the lines and history were not read
    assert not any("directory_lines" in s for s in q.statements)
    api(url, 304, headers={"If-None-Match": f'"other", {etag}'})
    api(url, 200, headers={"If-None-Match": '"stale"'})


def test_an_entry_is_not_revalidated_by_date_alone(api, tenant_a):
    """Renaming the AB changes the answer without a newer publication date: If-Modified-Since
    alone must not answer 304 with the old name (the ETag does tell)."""
    from sqlalchemy import update

    from accreditor.core.db import commit
    from accreditor.extensions import db
    from accreditor.tenants.models import Tenant

    acc = accredited(tenant_a)
    url = f"/api/v1/alpha/accreditations/{acc.number}"
    first = api(url)
    last_modified, etag = first.headers["Last-Modified"], first.headers["ETag"]
    api(url, 304, headers={"If-None-Match": etag})
    db.session.execute(update(Tenant).where(Tenant.id == tenant_a.id).values(
        name="Alpha National Accreditation"))
    commit()
    renamed = api(url, 200, headers={"If-Modified-Since": last_modified})
    assert renamed.get_json()["tenant_name"] == "Alpha National Accreditation"
    assert renamed.headers["Last-Modified"] == last_modified  # still the publication's date
    api(url, 200, headers={"If-None-Match": etag})


def test_a_change_gives_a_new_etag(api, tenant_a):
    acc = accredited(tenant_a)
    url = f"/api/v1/alpha/accreditations/{acc.number}"
    etag = api(url).headers["ETag"]
    suspend(tenant_a, acc.id, item_ids(tenant_a, acc.id)[:1])
    changed = api(url, 200, headers={"If-None-Match": etag})
    assert changed.headers["ETag"] != etag
    assert changed.get_json()["status"] == "partially_suspended"


def test_the_list_revalidates_by_etag_only(api, tenant_a):
    published_lab(tenant_a, 1, number="L-1")
    first = api(LIST)
    assert "Last-Modified" in first.headers
    api(LIST, 304, headers={"If-None-Match": first.headers["ETag"]})
    # An entry leaving the list has no newer date among what is left: dates are not enough.
    api(LIST, 200, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    published_lab(tenant_a, 1, number="L-2")
    api(LIST, 200, headers={"If-None-Match": first.headers["ETag"]})


def test_a_verification_revalidates_by_etag_only(api, tenant_a):
    """When the listing ends (no publish: the day passes) ``url`` turns null: a copy dated
    after the publication must not be confirmed by If-Modified-Since."""
    from sqlalchemy import update

    from accreditor.core.db import commit
    from accreditor.core.tenancy import tenant_scope
    from accreditor.directory.models import DirectoryEntry
    from accreditor.extensions import db

    acc = accredited(tenant_a, granted_on=months_ago(40))
    withdraw(tenant_a, acc.id, months_ago(2))  # still listed
    url = f"/api/v1/alpha/verify/{acc.number}"
    past = {"on": months_ago(3).isoformat()}
    first = api(url, query_string=past)
    assert first.get_json()["url"] and "Last-Modified" in first.headers
    api(url, 304, query_string=past, headers={"If-None-Match": first.headers["ETag"]})
    with tenant_scope(tenant_a):
        db.session.execute(update(DirectoryEntry).where(
            DirectoryEntry.accreditation_id == acc.id).values(
            visible_until=TODAY - timedelta(days=1)))
        commit()
    later = api(url, 200, query_string=past,
                headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert later.get_json()["url"] is None
    api(url, 200, query_string=past, headers={"If-None-Match": first.headers["ETag"]})


def test_errors_are_not_cached_publicly(api, tenant_a):
    for resp in (api("/api/v1/alpha/accreditations/none", 404),
                 api(LIST, 400, query_string={"page": -1})):
        assert resp.headers["Cache-Control"] == "no-store"
        assert "ETag" not in resp.headers


def test_head_answers_like_get_without_a_body(api, tenant_a):
    acc = accredited(tenant_a)
    resp = api(f"/api/v1/alpha/accreditations/{acc.number}", method="HEAD")
    assert resp.headers["ETag"] and resp.data == b""


def test_csrf_protection_does_not_get_in_the_way(api, app, tenant_a):
    acc = accredited(tenant_a)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        api(f"/api/v1/alpha/accreditations/{acc.number}")
        error = api(LIST, 405, method="POST").get_json()["error"]  # not a CSRF refusal
        assert error["code"] == "method_not_allowed"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# -- CORS -------------------------------------------------------------------------------------------


def test_cors_is_open_for_reads_without_credentials(api, client, tenant_a):
    acc = accredited(tenant_a)
    origin = {"Origin": "https://example.net"}
    for resp in (api(LIST, headers=origin),
                 api(f"/api/v1/alpha/accreditations/{acc.number}", headers=origin),
                 api("/api/v1/alpha/accreditations/none", 404, headers=origin),
                 api(LIST, 400, query_string={"page": -1}, headers=origin)):
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in resp.headers
        assert "ETag" in resp.headers["Access-Control-Expose-Headers"]
    preflight = client.options(LIST, headers={
        **origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]


def test_cors_is_not_opened_outside_the_api(client, tenant_a):
    assert "Access-Control-Allow-Origin" not in client.get("/verify/").headers


# -- rate limit --------------------------------------------------------------------------------------


@pytest.fixture
def three_per_minute(app):
    from accreditor.extensions import limiter

    limiter.reset()
    app.config["API_RATE_LIMIT"] = "3 per minute"
    yield
    app.config["API_RATE_LIMIT"] = "120 per minute"
    limiter.reset()


def test_requests_are_rate_limited_per_address_across_the_api(api, client, tenant_a,
                                                              three_per_minute):
    api(LIST)
    api("/api/v1/alpha/accreditations/none", 404)
    client.options(LIST)  # preflights are free
    api("/api/v1/alpha/verify/none", 404)
    resp = api(LIST, 429)
    error = resp.get_json()["error"]
    assert error["code"] == "rate_limited" and error["message"]
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Cache-Control"] == "no-store"
    api("/api/v1/alpha/accreditations/x", 429)
    other = api(LIST, environ_base={"REMOTE_ADDR": "10.9.9.9"})  # another address
    assert other.status_code == 200


@pytest.fixture
def two_verifications_per_minute(app):
    from accreditor.extensions import limiter

    limiter.reset()
    app.config["VERIFY_RATE_LIMIT"] = "2 per minute"
    yield
    app.config["VERIFY_RATE_LIMIT"] = "60 per minute"
    limiter.reset()


def test_verifications_share_one_budget_across_the_page_and_the_api(
        api, client, tenant_a, two_verifications_per_minute):
    acc = accredited(tenant_a)
    assert client.get("/verify/", query_string={"number": acc.number}).status_code == 200
    assert client.get("/verify/", query_string={"number": "none"}).status_code == 404
    resp = api(f"/api/v1/alpha/verify/{acc.number}", 429)
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) >= 1
    api(f"/api/v1/alpha/accreditations/{acc.number}")  # not a verification: its own budget
    assert client.get("/verify/", query_string={"number": acc.number}).status_code == 429
    other = {"REMOTE_ADDR": "10.9.9.8"}
    api(f"/api/v1/alpha/verify/{acc.number}", environ_base=other)
    assert client.get("/verify/", query_string={"number": acc.number},
                      environ_base=other).status_code == 200
    assert client.get("/verify/", query_string={"number": acc.number},
                      environ_base=other).status_code == 429


# -- statements per request ------------------------------------------------------------------------


def _statements(api, count_queries, url: str, **kwargs) -> int:
    api(url, **kwargs)  # warm (first-request caches)
    with count_queries() as q:
        api(url, **kwargs)
    return q.count


def test_the_list_runs_the_same_statements_for_2_and_12_accreditations(api, tenant_a, tenant_b,
                                                                       count_queries):
    published_lab(tenant_a, 1, number="S-0")
    published_lab(tenant_b, 1, number="S-1")
    small = _statements(api, count_queries, LIST, query_string={"per_page": 50})
    filtered_small = _statements(api, count_queries, LIST,
                                 query_string={"q": "lab", "programme": "calibration"})
    for i in range(2, 12):
        published_lab(tenant_a if i % 2 else tenant_b, 1, number=f"S-{i}")
    assert len(api(LIST, query_string={"per_page": 50}).get_json()["items"]) == 12
    assert _statements(api, count_queries, LIST, query_string={"per_page": 50}) == small
    assert _statements(api, count_queries, LIST, query_string={
        "q": "lab", "programme": "calibration"}) == filtered_small


def test_an_entry_runs_the_same_statements_for_5_and_300_lines(api, tenant_a, count_queries):
    small = published_lab(tenant_a, 5, number="C-5")
    large = published_lab(tenant_a, 300, number="C-300")
    counts = [_statements(api, count_queries, f"/api/v1/alpha/accreditations/{acc.number}")
              for acc in (small, large)]
    assert counts[0] == counts[1] <= 6, counts
    body = api(f"/api/v1/alpha/accreditations/{large.number}").get_json()
    assert len(body["scope"]) == 300 and body["lines_total"] == 300


def test_a_verification_runs_the_same_statements_for_5_and_300_lines(api, tenant_a,
                                                                     count_queries):
    small = published_lab(tenant_a, 5, number="V-5")
    large = published_lab(tenant_a, 300, number="V-300")
    counts = [_statements(api, count_queries, f"/api/v1/alpha/verify/{acc.number}")
              for acc in (small, large)]
    assert counts[0] == counts[1], counts
    assert len(api(f"/api/v1/alpha/verify/{large.number}").get_json()["scope"]) == 300
