"""Configuration: class defaults, then environment variables, then the mapping given to create_app.

Environment names: ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``, and ``ACCREDITOR_<KEY>`` for any
key below (e.g. ``ACCREDITOR_IDLE_TIMEOUT_MINUTES=20``). ``ACCREDITOR_ENV`` is ``production``
(default), ``development`` or ``testing``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

INSECURE_SECRET = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused outside dev/test


class Config:
    ENV = "production"
    SECRET_KEY = INSECURE_SECRET
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'accreditor.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL: str | None = None

    # Sessions and cookies (see docs/security.md)
    # __Host- prefix: Secure, path /, no Domain — the browser refuses it from subdomains.
    SESSION_COOKIE_NAME = "__Host-accreditor_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = 12 * 3600  # absolute limit, seconds
    IDLE_TIMEOUT_MINUTES = 30
    ABSOLUTE_TIMEOUT_HOURS = 12
    REMEMBER_COOKIE_DURATION = 0
    PREFERRED_URL_SCHEME = "https"
    MAX_CONTENT_LENGTH = 26 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    HSTS = True

    # Passwords and login throttling
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MIN_SCORE = 3  # zxcvbn 0-4
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536  # KiB
    ARGON2_PARALLELISM = 4
    LOGIN_MAX_FAILURES = 5  # per account (the e-mail typed, known or not)
    LOGIN_MAX_FAILURES_PER_IP = 5  # raise for offices behind one NAT address
    LOGIN_LOCK_SECONDS = 60  # doubles with each further failure
    LOGIN_LOCK_MAX_SECONDS = 15 * 60
    LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
    PASSWORD_RESET_MAX_AGE = 3600
    INVITE_MAX_AGE = 7 * 24 * 3600

    # Render the certificate and schedule PDFs of each new schedule issue (a job after the
    # commit). The test suite turns it off except where PDFs are under test (it costs ~0.3 s per
    # issue); never turn it off in a deployment.
    RENDER_PDFS = True

    # Rate limits of public forms and the public API (Flask-Limiter). Storage: memory (one
    # process) unless set; with REDIS_URL set and this empty, Redis (shared by every worker).
    RATELIMIT_STORAGE_URI = ""
    RATELIMIT_ENABLED = True
    # Public complaint form: posts per IP (Flask-Limiter syntax)
    COMPLAINT_RATE_LIMIT = "9 per minute"
    # Public verification page (/verify): lookups per IP
    VERIFY_RATE_LIMIT = "60 per minute"
    # Public JSON API (/api/v1/...): requests per IP
    API_RATE_LIMIT = "120 per minute"
    # Public directory search pages (/directory/, /<tenant>/directory/): searches per IP
    SEARCH_RATE_LIMIT = "120 per minute"

    # Regenerate the open-data exports (CSV / JSON Lines of the directory) by a job after every
    # publish. The test suite turns it off except where exports are under test.
    DIRECTORY_EXPORTS = True

    # Public directory answers (search pages, API list) are cached this many seconds at most,
    # and until the next publish (accreditor.directory.cache); 0 turns the cache off. Storage:
    # Redis with REDIS_URL, else the process's memory (CACHE_* are Flask-Caching's settings and
    # override that choice).
    DIRECTORY_CACHE_SECONDS = 60
    CACHE_DEFAULT_TIMEOUT = 60
    CACHE_KEY_PREFIX = "accreditor:"
    CACHE_THRESHOLD = 500  # entries kept in memory (SimpleCache), each one page of results

    # Behind a reverse proxy: how many proxies to trust for X-Forwarded-For/-Proto/-Host
    # (0 = not behind a proxy). Without it every client has the proxy's IP (login throttling!).
    PROXY_FIX = 0

    # The public address every link in e-mail is built from (never the request's Host header).
    # Production refuses to start without it (https only); see check_base_url.
    BASE_URL = ""

    # Mail
    MAIL_BACKEND = "outbox"  # or "smtp"
    MAIL_FROM = "Accreditor <no-reply@accreditor.local>"
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_MAX_ATTEMPTS = 10  # delivery attempts before a message is marked failed

    # Jobs
    JOBS_MAX_ATTEMPTS = 3
    JOBS_RETRY_INTERVALS = [10, 60, 300]
    JOBS_TIMEOUT = 600
    JOBS_FAILURE_TTL = 30 * 24 * 3600
    JOBS_RESULT_TTL = 24 * 3600
    WORKER_TTL = 60  # seconds; a killed worker's job is found after this (RELIABILITY P10)
    WORKER_MAINTENANCE_INTERVAL = 30
    JOBS_RAISE = False

    # Uploaded files (see accreditor/core/storage.py and accreditor/documents/)
    # Local storage directory, outside static/; empty means <instance>/files.
    STORAGE_DIR = str(INSTANCE_DIR / "files")
    UPLOAD_MAX_BYTES = 25 * 1024 * 1024  # per file; MAX_CONTENT_LENGTH must exceed it
    # Detected by content, never by name: pdf png jpeg docx xlsx csv txt.
    UPLOAD_ALLOWED_TYPES = ["pdf", "png", "jpeg", "docx", "xlsx", "csv", "txt"]
    UPLOAD_ZIP_MAX_UNCOMPRESSED = 100 * 1024 * 1024  # DOCX/XLSX: declared total, checked first
    UPLOAD_ZIP_MAX_ENTRIES = 2000
    # Virus scanning hook: "package.module:callable" (see core.storage.Scanner), or empty.
    SCANNER = ""

    # i18n / UI
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "translations")
    LANGUAGES = ["en"]
    BOOTSTRAP_SERVE_LOCAL = True
    LOG_JSON = True
    LOG_LEVEL = "INFO"
    AUDIT_PAGE_SIZE = 50


class DevelopmentConfig(Config):
    ENV = "development"
    SESSION_COOKIE_NAME = "accreditor_session"
    SESSION_COOKIE_SECURE = False
    PREFERRED_URL_SCHEME = "http"
    HSTS = False
    LOG_JSON = False
    JOBS_RAISE = False
    BASE_URL = "http://127.0.0.1:5000"  # `make run`


class TestingConfig(Config):
    ENV = "testing"
    SESSION_COOKIE_NAME = "accreditor_session"
    TESTING = True
    RATELIMIT_STORAGE_URI = "memory://"  # per app; a test that needs Redis sets it
    SESSION_COOKIE_SECURE = False
    PREFERRED_URL_SCHEME = "http"
    HSTS = False
    WTF_CSRF_ENABLED = False
    BASE_URL = "http://localhost"  # the test client's default host
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    PASSWORD_MIN_SCORE = 3
    JOBS_RAISE = True
    JOBS_RETRY_INTERVALS = [0]
    LOG_JSON = False
    LOG_LEVEL = "WARNING"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    DIRECTORY_EXPORTS = False  # the `directory_exports` fixture turns it on
    DIRECTORY_CACHE_SECONDS = 0  # the `directory_cache` fixture turns it on
    SEARCH_RATE_LIMIT = "100000 per minute"  # the suite searches a lot; one test lowers it


CONFIGS = {"production": Config, "development": DevelopmentConfig, "testing": TestingConfig}


def _coerce(raw: str, current):
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, list | dict):
        return json.loads(raw)
    return raw


def from_environment(base: type[Config], environ=os.environ) -> dict:
    """Settings taken from the environment, typed like the class defaults."""
    out: dict = {}
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        if environ.get(name):
            key = "SQLALCHEMY_DATABASE_URI" if name == "DATABASE_URL" else name
            out[key] = environ[name]
    for env_key, raw in environ.items():
        if env_key.startswith("ACCREDITOR_") and env_key != "ACCREDITOR_ENV":
            key = env_key.removeprefix("ACCREDITOR_")
            out[key] = _coerce(raw, getattr(base, key, ""))
    uri = out.get("SQLALCHEMY_DATABASE_URI", "")
    if uri.startswith("postgres://"):
        out["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.removeprefix("postgres://")
    elif uri.startswith("postgresql://"):
        out["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    return out


class ConfigError(RuntimeError):
    pass


def check_secrets(config) -> None:
    """Refuse to start outside development and testing without a real SECRET_KEY, and anywhere
    without a usable BASE_URL."""
    if config["ENV"] not in ("development", "testing"):
        key = config.get("SECRET_KEY") or ""
        if key == INSECURE_SECRET or len(key) < 32:
            raise ConfigError(
                "SECRET_KEY is not set to a real secret. Set the SECRET_KEY environment variable "
                "to a random string of at least 32 characters (e.g. `python -c \"import secrets; "
                "print(secrets.token_urlsafe(48))\"`), or set ACCREDITOR_ENV=development for a "
                "local run."
            )
    check_base_url(config)


def check_base_url(config) -> None:
    """Every link in e-mail is built from BASE_URL, never from the request's Host header (which a
    client can forge). Refuse to start without a usable one; production needs https."""
    raw = (config.get("BASE_URL") or "").strip()
    production = config["ENV"] not in ("development", "testing")
    example = "e.g. ACCREDITOR_BASE_URL=https://accreditor.example.org"
    if not raw:
        raise ConfigError(
            "BASE_URL is not set. Set the ACCREDITOR_BASE_URL environment variable to the public "
            f"address users reach the site at ({example}): every link in e-mail (password "
            "resets, invitations, notices) is built from it, never from the request's Host."
        )
    try:
        parts = urlsplit(raw)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            f"BASE_URL {raw!r} is not an absolute http(s) address without query or fragment "
            f"({example})."
        )
    if production and parts.scheme != "https":
        raise ConfigError(
            f"BASE_URL {raw!r} must start with https:// in production: e-mailed links carry "
            f"sign-in tokens ({example})."
        )
    config["BASE_URL"] = raw.rstrip("/")
