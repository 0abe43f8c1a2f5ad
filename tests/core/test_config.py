"""Configuration: environment overrides, and refusing to run without a real secret."""

from __future__ import annotations

import pytest

from accreditor import create_app
from accreditor.config import Config, ConfigError, from_environment

PUBLIC = "https://accreditor.example.org"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in ("SECRET_KEY", "ACCREDITOR_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set to a real secret"):
        create_app({"ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_refuses_a_short_secret_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "too-short")
    with pytest.raises(ConfigError):
        create_app({"ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_starts_with_a_real_secret_and_secure_cookies(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("ACCREDITOR_BASE_URL", PUBLIC + "/")
    app = create_app({"ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["BASE_URL"] == PUBLIC  # read from the environment, trailing slash dropped
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["MAX_CONTENT_LENGTH"] > 0


def test_development_runs_with_the_builtin_key_but_without_secure_cookies():
    app = create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["BASE_URL"] == "http://127.0.0.1:5000"  # `make run` needs no variable


def test_production_refuses_to_start_without_base_url(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    with pytest.raises(ConfigError, match="BASE_URL is not set. Set the ACCREDITOR_BASE_URL"):
        create_app({"ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_refuses_a_plain_http_base_url(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("ACCREDITOR_BASE_URL", "http://accreditor.example.org")
    with pytest.raises(ConfigError, match="must start with https:// in production"):
        create_app({"ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


@pytest.mark.parametrize("value", ["accreditor.example.org", "https://", "ftp://x.example.org",
                                   "https://x.example.org/?next=1", "https://x.example.org:port"])
def test_a_base_url_that_is_not_an_absolute_address_is_refused_everywhere(value):
    with pytest.raises(ConfigError, match="is not an absolute http\\(s\\) address"):
        create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "BASE_URL": value})


def test_unknown_environment_name_is_refused():
    with pytest.raises(RuntimeError, match="ACCREDITOR_ENV must be one of"):
        create_app({"ENV": "staging"})


def test_environment_overrides_are_typed_like_the_defaults():
    env = {
        "DATABASE_URL": "postgres://u@db:5432/acc",
        "REDIS_URL": "redis://r:6379/0",
        "SECRET_KEY": "k" * 40,
        "ACCREDITOR_IDLE_TIMEOUT_MINUTES": "20",
        "ACCREDITOR_HSTS": "false",
        "ACCREDITOR_JOBS_RETRY_INTERVALS": "[1, 2]",
        "ACCREDITOR_MAIL_SERVER": "smtp.example.org",
    }
    out = from_environment(Config, env)
    assert out["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db:5432/acc"
    assert out["REDIS_URL"] == "redis://r:6379/0"
    assert out["IDLE_TIMEOUT_MINUTES"] == 20
    assert out["HSTS"] is False
    assert out["JOBS_RETRY_INTERVALS"] == [1, 2]
    assert out["MAIL_SERVER"] == "smtp.example.org"
