"""Sessions: revoked at logout, timed out when idle, carried in a locked-down cookie."""

from __future__ import annotations

import pytest

from accreditor import create_app
from accreditor.core.web import configure_logging
from tests.auth.helpers import audit_events, flashes, sign_in

COOKIE = "accreditor_session"


def set_cookie_header(resp, name: str = COOKIE) -> str:
    [header] = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    return header


def test_logging_out_revokes_every_copy_of_the_session_cookie(app, client, admin_a, login_as):
    login_as(admin_a)
    stolen = client.get_cookie(COOKIE).value

    thief = app.test_client()
    thief.set_cookie(COOKIE, stolen)
    assert thief.get("/alpha/").status_code == 200  # the copy works while the session lives

    resp = client.post("/logout", follow_redirects=True)
    assert resp.request.path == "/login"
    assert "You have been signed out." in flashes(resp)

    replay = app.test_client()
    replay.set_cookie(COOKIE, stolen)
    again = replay.get("/alpha/")
    assert again.status_code == 302
    assert again.location.startswith("/login")
    assert client.get("/alpha/").status_code == 302
    [event] = audit_events("auth.logout", platform=True)
    assert event.actor_label == "admin@alpha.example.org"


def test_signing_in_starts_a_fresh_session(client, admin_a):
    client.get("/login")
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    sign_in(client, "admin@alpha.example.org")
    with client.session_transaction() as s:
        assert "planted" not in s


def test_a_mere_link_to_logout_does_not_sign_anyone_out(client, admin_a, login_as):
    login_as(admin_a)
    resp = client.get("/logout", follow_redirects=True)
    assert resp.status_code in (404, 405)
    assert client.get("/alpha/").status_code == 200


def test_a_session_idle_for_longer_than_the_limit_is_signed_out(app, client, admin_a, login_as):
    login_as(admin_a)
    idle = app.config["IDLE_TIMEOUT_MINUTES"] * 60
    with client.session_transaction() as s:
        s["last_seen"] -= idle + 60
    resp = client.get("/alpha/", follow_redirects=True)
    assert resp.request.path == "/login"
    assert "Your session expired. Please sign in again." in flashes(resp)
    assert client.get("/alpha/").status_code == 302


def test_a_session_used_within_the_idle_limit_stays_signed_in(app, client, admin_a, login_as):
    login_as(admin_a)
    idle = app.config["IDLE_TIMEOUT_MINUTES"] * 60
    with client.session_transaction() as s:
        s["last_seen"] -= idle - 60
    resp = client.get("/alpha/")
    assert resp.status_code == 200
    assert "Signed in as Alice Admin" in resp.get_data(as_text=True)


def test_a_shorter_configured_idle_limit_is_honoured(app, client, admin_a, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "IDLE_TIMEOUT_MINUTES", 5)
    login_as(admin_a)
    with client.session_transaction() as s:
        s["last_seen"] -= 6 * 60
    resp = client.get("/alpha/settings", follow_redirects=True)
    assert "Your session expired. Please sign in again." in flashes(resp)


def test_a_session_older_than_the_absolute_limit_is_signed_out_even_if_busy(
    app, client, admin_a, login_as
):
    login_as(admin_a)
    with client.session_transaction() as s:
        s["auth_at"] -= app.config["ABSOLUTE_TIMEOUT_HOURS"] * 3600 + 60
    resp = client.get("/alpha/", follow_redirects=True)
    assert resp.request.path == "/login"
    assert "Your session expired. Please sign in again." in flashes(resp)


def test_the_session_cookie_is_http_only_and_same_site_lax(client, admin_a):
    resp = sign_in(client, "admin@alpha.example.org")
    header = set_cookie_header(resp)
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_signed_in_pages_are_not_cached(client, admin_a, login_as):
    login_as(admin_a)
    assert client.get("/alpha/").headers["Cache-Control"] == "no-store"


@pytest.fixture
def production_app(app, tmp_path):
    prod = create_app({
        "ENV": "production",
        "SECRET_KEY": "x" * 40,
        "BASE_URL": "https://accreditor.example.org",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.db'}",
        "REDIS_URL": None,
    })
    yield prod
    configure_logging(app)  # create_app reconfigured the shared loggers for production


def test_in_production_the_session_cookie_is_also_secure(production_app):
    assert production_app.config["SESSION_COOKIE_SECURE"] is True
    assert production_app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert production_app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    resp = production_app.test_client().get("/login", base_url="https://localhost")
    header = set_cookie_header(resp, "__Host-" + COOKIE)  # __Host- prefix in production
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert "Path=/" in header and "Domain" not in header
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_production_refuses_to_start_without_a_real_secret_key(tmp_path):
    from accreditor.config import ConfigError

    with pytest.raises(ConfigError, match="SECRET_KEY is not set to a real secret"):
        create_app({"ENV": "production", "SECRET_KEY": "short",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"})


def test_a_forged_logout_without_csrf_token_is_refused(app, client, admin_a, login_as, monkeypatch):
    login_as(admin_a)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    resp = client.post("/logout")
    assert resp.status_code == 400
    assert "Nothing was changed." in resp.get_data(as_text=True)
    assert client.get("/alpha/").status_code == 200
