"""The cache of public directory answers (``accreditor.directory.cache``): a repeated anonymous
search is answered without the database, a publish shows at once (the generation moves only
when its transaction commits), signed-in users and other queries never get someone else's
page, revalidation still works on a cached API answer, a failing cache is bypassed, and with
Redis the generation is shared between processes."""

from __future__ import annotations

import os

import pytest

from accreditor.cabs.models import Cab
from accreditor.core.tenancy import tenant_scope
from accreditor.directory import cache as directory_cache
from accreditor.directory import services
from accreditor.extensions import cache, db
from tests.directory.conftest import accredited, item_ids, load_acc, page, suspend
from tests.directory.test_search_pages import hits

REDIS_URL = os.environ.get("REDIS_URL")


@pytest.fixture
def directory_cache_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "DIRECTORY_CACHE_SECONDS", 60)
    with app.app_context():
        cache.clear()
    monkeypatch.setitem(directory_cache._local, "generation", "0")
    yield
    with app.app_context():
        cache.clear()


def test_a_repeated_anonymous_search_runs_no_sql(directory_cache_on, tenant_a, client,
                                                 count_queries):
    accredited(tenant_a)
    first = page(client, "/directory/?q=pressure")
    with count_queries() as q:
        again = page(client, "/directory/?q=pressure")
    assert q.count == 0, q.statements
    assert again == first
    assert hits(again) == ["Precision Metrology Ltd"]


def test_a_publish_shows_at_once(directory_cache_on, tenant_a, client):
    acc = accredited(tenant_a)
    assert "Suspended" not in page(client, "/directory/?q=precision")
    api = client.get("/api/v1/accreditations?q=precision").get_json()
    assert api["items"][0]["status"] == "accredited"

    suspend(tenant_a, acc.id, None)

    body = page(client, "/directory/?q=precision")
    assert "Suspended" in body
    assert client.get("/api/v1/accreditations?q=precision").get_json()["items"][0][
        "status"] == "suspended"
    accredited(tenant_a, legal_name="Precision Dynamics Ltd")
    assert hits(page(client, "/alpha/directory/?q=precision")) == [
        "Precision Dynamics Ltd", "Precision Metrology Ltd"]


def test_a_rolled_back_publish_leaves_the_generation(directory_cache_on, tenant_a, app):
    acc = accredited(tenant_a)
    with app.app_context():
        before = directory_cache.generation()
        with tenant_scope(tenant_a):
            acc = load_acc(acc.id)
            db.session.get(Cab, acc.cab_id).legal_name = "Renamed Then Rolled Back Ltd"
            assert services.publish_outcome(acc).entry is not None
            db.session.rollback()
        assert directory_cache.generation() == before
        suspend(tenant_a, acc.id, item_ids(tenant_a, acc.id)[:1])
        assert directory_cache.generation() != before


def test_other_queries_and_signed_in_users_get_their_own_page(directory_cache_on, tenant_a,
                                                              client, admin_a, login_as):
    accredited(tenant_a)
    accredited(tenant_a, legal_name="Kestrel Calibration Services")
    assert hits(page(client, "/directory/?q=precision")) == ["Precision Metrology Ltd"]
    assert hits(page(client, "/directory/?q=kestrel")) == ["Kestrel Calibration Services"]
    assert page(client, "/directory/?q=precision&programme=nonsense", 400)
    assert "Sign out" not in page(client, "/directory/")  # the anonymous page, now cached
    login_as(admin_a)
    body = page(client, "/directory/")
    assert admin_a.name in body and "Sign out" in body, "rendered for the signed-in user"


def test_a_cached_api_list_still_revalidates(directory_cache_on, tenant_a, client):
    accredited(tenant_a)
    first = client.get("/api/v1/accreditations?q=pressure")
    etag = first.headers["ETag"]
    again = client.get("/api/v1/accreditations?q=pressure", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert client.get("/api/v1/accreditations?q=pressure").get_data() == first.get_data()


def test_a_failing_cache_is_bypassed_never_a_500(directory_cache_on, tenant_a, client,
                                                 monkeypatch, caplog):
    accredited(tenant_a)

    def broken(*_a, **_k):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "set", broken)
    assert hits(page(client, "/directory/?q=pressure")) == ["Precision Metrology Ltd"]
    assert client.get("/api/v1/accreditations?q=pressure").status_code == 200
    assert "directory cache unavailable" in caplog.text


def test_off_means_every_search_reads_the_database(tenant_a, client, count_queries):
    accredited(tenant_a)
    page(client, "/directory/?q=pressure")
    with count_queries() as q:
        page(client, "/directory/?q=pressure")
    assert q.count > 0


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL not set (CI sets it)")
@pytest.mark.redis
def test_with_redis_a_publish_in_one_process_is_seen_by_the_others(tenant_a, app, client,
                                                                    monkeypatch):
    """Two workers share Redis: the page one cached is dropped when the other publishes (the
    generation is a Redis key; this process's memory plays no part)."""
    from redis import Redis

    conn = Redis.from_url(REDIS_URL)
    conn.ping()  # REDIS_URL set but unreachable is a failure, not a skip
    monkeypatch.setitem(app.config, "DIRECTORY_CACHE_SECONDS", 60)
    monkeypatch.setitem(app.config, "CACHE_TYPE", "RedisCache")
    cache.init_app(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": REDIS_URL,
                                "CACHE_KEY_PREFIX": "accreditor-test:"})
    try:
        acc = accredited(tenant_a)
        assert "Suspended" not in page(client, "/directory/?q=precision")
        assert conn.keys("accreditor-test:directory:page:*"), "the page is in Redis"
        # Another process publishes: only Redis tells this one.
        monkeypatch.setitem(directory_cache._local, "generation", "ignored")
        suspend(tenant_a, acc.id, None)
        assert conn.get("accreditor-test:directory:generation")
        assert "Suspended" in page(client, "/directory/?q=precision")
    finally:
        for key in conn.scan_iter("accreditor-test:*"):
            conn.delete(key)
        cache.init_app(app, config={"CACHE_TYPE": "SimpleCache"})
