"""Cross-cutting web behaviour: health, error pages, CSRF, security headers, request ids."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accreditor.auth.models import User
from accreditor.core.audit import AuditEvent
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db


def test_healthz_reports_the_database_and_in_process_jobs(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"] == {"ok": True, "configured": False, "jobs": "in-process"}


def test_healthz_is_503_when_redis_is_unreachable(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    resp = client.get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_unknown_tenant_slug_is_a_friendly_404(client):
    resp = client.get("/no-such-body/settings")
    assert resp.status_code == 404
    assert "Page not found" in resp.get_data(as_text=True)


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, admin_a, login_as,
                                                                 monkeypatch):
    login_as(admin_a)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    resp = client.post("/alpha/settings/users/invite",
                       data={"email": "new@alpha.example.org", "name": "New", "roles": ["assessor"]})
    assert resp.status_code == 400
    assert "Your form expired" in resp.get_data(as_text=True)
    assert db.session.execute(
        select(User).where(User.email == "new@alpha.example.org")
    ).first() is None


def test_post_with_a_valid_csrf_token_goes_through(app, client, admin_a, login_as, monkeypatch):
    import re

    login_as(admin_a)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page = client.get("/alpha/settings/users/invite").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post("/alpha/settings/users/invite",
                       data={"csrf_token": token, "email": "new@alpha.example.org", "name": "New",
                             "roles": ["assessor"]})
    assert resp.status_code == 302


def test_an_unexpected_error_shows_a_generic_page_with_a_reference(app, client, monkeypatch):
    def boom():
        raise ZeroDivisionError("secret internals")

    monkeypatch.setitem(app.view_functions, "core.index", boom)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    resp = client.get("/", headers={"X-Request-ID": "req-12345678"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "Something went wrong" in body
    assert "req-12345678" in body
    assert "ZeroDivisionError" not in body and "secret internals" not in body
    assert "Traceback" not in body


@pytest.mark.parametrize("path", ["/login", "/healthz"])
def test_security_headers_on_every_response(client, path):
    resp = client.get(path)
    csp = resp.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert len(resp.headers["X-Request-ID"]) >= 8


def test_authenticated_pages_are_not_cached(client, admin_a, login_as):
    login_as(admin_a)
    assert client.get("/alpha/").headers["Cache-Control"] == "no-store"


def test_pages_load_no_asset_from_another_host(client, admin_a, login_as):
    login_as(admin_a)
    body = client.get("/alpha/").get_data(as_text=True)
    assert "cdn." not in body and "https://" not in body.split("<body")[0]
    assert "/bootstrap/static/" in body


def test_audit_events_carry_the_request_id_ip_and_actor(client, admin_a, login_as, tenant_a):
    login_as(admin_a)
    client.post("/alpha/settings/users/invite",
                data={"email": "x@alpha.example.org", "name": "X", "roles": ["assessor"]},
                headers={"X-Request-ID": "invite-req-0001"},
                environ_base={"REMOTE_ADDR": "203.0.113.9"})
    with tenant_scope(tenant_a):
        ev = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "membership.invited")
        ).scalar_one()
    assert ev.request_id == "invite-req-0001"
    assert ev.ip == "203.0.113.9"
    assert ev.actor_id == admin_a.id and ev.actor_label == admin_a.email


@pytest.mark.parametrize("path", ["/password/reset/SECRET-TOKEN-123", "/invite/SECRET-TOKEN-123",
                                  "/feeds/SECRET-TOKEN-123.ics"])
def test_urls_carrying_a_token_are_logged_without_it(client, caplog, path):
    import logging

    with caplog.at_level(logging.INFO, logger="accreditor.request"):
        client.get(path)
    logged = [r for r in caplog.records if r.name == "accreditor.request"]
    assert logged, "the request was logged"
    assert all("SECRET-TOKEN-123" not in str(getattr(r, "path", "")) for r in logged)
    assert all("SECRET-TOKEN-123" not in r.getMessage() for r in logged)
    assert "<token>" in logged[-1].path
