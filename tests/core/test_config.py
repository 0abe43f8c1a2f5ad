"""Configuration: environment overrides, and refusing to run without a real secret."""

from __future__ import annotations

import pytest

from accreditor import create_app
from accreditor.config import Config, ConfigError, from_environment


def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set to a real secret"):
        create_app({"ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_refuses_a_short_secret_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "too-short")
    with pytest.raises(ConfigError):
        create_app({"ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_starts_with_a_real_secret_and_secure_cookies(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    app = create_app({"ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["MAX_CONTENT_LENGTH"] > 0


def test_development_runs_with_the_builtin_key_but_without_secure_cookies():
    app = create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is False


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
